"""What kind of thing a question asks for, and whether a sentence holds one: pure functions on text.

The extractive backend refuses when the sentence that best matches a question holds nothing of the kind
asked for ("on what date ...?" answered by a sentence with no date, "how much is X paying?" by one with no
sum of money, "what are the names of the generals?" by one that names nobody). Questions whose kind is
open ("what did Putin say?") are never judged on kind. A question asking for a command or a piece of code
("which keyword ...?") prefers a sentence or line holding code, one asking why prefers a sentence that
gives a reason ("because", "so that", "this keeps ..."), and one asking for a default ("what is the default
width ...?") a sentence that states one ("width (default `80`) ..."), and one asking who a sentence that names
someone, but none is refused for want of one: text from a PDF or a page may have lost the marks that tell code from
prose, a reason can be given without a marker, a default without the word, and "who" answered by a group
("representatives appointed by governments").
"""

from __future__ import annotations

import re

from qa.text.lines import looks_like_code
from qa.text.words import DIGIT_RUN, words

_MONTHS = (
    "january|february|march|april|may|june|july|august|september|october|november|december|"
    "jan|feb|mar|apr|jun|jul|aug|sept?|oct|nov|dec"
)
_DAYS = "monday|tuesday|wednesday|thursday|friday|saturday|sunday|yesterday|today|tomorrow"
_NUMBER_WORDS = (
    "one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|"
    "seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundreds?|thousands?|"
    "millions?|billions?|dozens?|half|several|few"
)
_PEOPLE_NOUNS = (
    "general|official|minister|president|leader|person|people|man|woman|men|women|spokes\\w+|commander|ceo|"
    "author|player|king|queen|officer|director|founder|soldier|politician|journalist|reporter|scientist|"
    "artist|singer|actor|actress|chairman|head|chief|manager|coach|inventor|writer|judge|senator|governor|"
    "mayor|ambassador"
)
_PEOPLE_ASKED = (  # "which general ...?", "what official ...?"
    "general|official|minister|president|leader|person|man|woman|spokes\\w+|commander|ceo|author|king|queen|"
    "officer|director|founder|politician|journalist|senator|governor|mayor|ambassador|judge|chairman|chief"
)
_PLACE_KINDS = "country|countries|city|cities|town|towns|region|state|province|capital|continent|village|nations?"

_CODE_NOUNS = (
    "keyword|function|method|macro|flag|attribute|operator|trait|parameter|argument|property|properties|option|"
    "event|syntax|module|class|classes|exception|variable|constant|decorator|separators?|suffix|suffixes"
)
_DETERMINERS = "the|a|an|his|her|its|their|this|that|these|those|our|my|your"
_BUILD_VERBS = "run|install|create|start|build|compile|initiali[sz]e|set up|generate"

# (kind, how a question asking for it reads, case ignored), first match wins
_QUESTION_PATTERNS = [
    (
        "money",
        r"^\s*how much\b.*\b(pay|paid|paying|cost|costs|spend|spent|spending|earn|earned|worth|price|charge|fund|"
        r"funding|budget|owe|owed)\b|^\s*what (was|is) the (price|cost|budget|value)\b",
    ),
    (
        "count",
        r"\bhow many\b|^\s*(how much|what (number|percentage|amount|proportion|share))\b|"
        r"\b(maximum|minimum|largest|smallest|highest|lowest) number of\b|\b(exit|return|status) (status|code)\b|"
        r"\bversion number\b|\bnumeric(al)? value\b",
    ),
    (
        "measure",
        r"^\s*how (long|old|far|big|large|tall|high|deep|wide|heavy|fast|often)\b|"
        r"\bin (bytes|kilobytes|megabytes|kib|mib|bits|seconds|milliseconds|minutes|hours|days|characters|pixels)\b",
    ),
    # "when does it ...?" asks as often under what condition as at what time: a date or a condition answers it
    ("condition", r"^\s*when\s+(does|do|is|are|can|should|must|will|would|may|might)\b"),
    ("date", r"^\s*when\b|^\s*((on|in|by|since|until) )?(what|which) (year|date|day|month|decade|century)\b"),
    (
        "person",
        rf"\bnames? of (the |a |an |this |that )?(\w+ ){{0,3}}({_PEOPLE_NOUNS})s?\b|"
        rf"^\s*(which|what) (\w+ ){{0,2}}({_PEOPLE_ASKED})s?\b",
    ),
    ("name", r"\bnames? of\b|\bwhat is (his|her|their|its) name\b"),
    ("place", rf"^\s*((in|at|from|to) )?(what|which) (\w+ )?({_PLACE_KINDS})\b"),
    (
        "command",
        rf"\b(what|which)\s+(\w+\s+)?commands?\b(?!\s+({_DETERMINERS})\b)|\bwhat is the command\b|"
        rf"^\s*how (do|can|should|would) (i|you|we|one) ({_BUILD_VERBS})\b|"
        r"\bwhat (do|should|can) (i|you|we) (type|run|enter)\b",
    ),
    # "what is the default width of ...?", "which level does it use by default?": a value, stated as the default
    (
        "default",
        r"^\s*(what|which)\b.*\b(by default|default value)\b|^\s*what(['’]s| is| are| was) (the |its )?default\b",
    ),
    ("code", rf"\b(what|which)\s+(\w+\s+){{0,2}}({_CODE_NOUNS})s?\b"),
    # "why", or a cause asked for ("what makes ...?", "how can that be?")
    ("reason", r"^\s*why\b|^\s*what (makes|causes|could cause)\b(?! up\b)|\bhow can that be\b"),
    ("who", r"^\s*(who|whom|whose)\b"),
    ("where", r"^\s*where\b"),
]
_QUESTIONS = [(kind, re.compile(pattern, re.I)) for kind, pattern in _QUESTION_PATTERNS]
# A question that opens on a clause of its own ("When the interpreter is started with -c, what is sys.argv[0]
# set to?", "If ..., which ...?") asks what its main clause asks: the clause ends at a comma before a question
# word, or right before a question word and its verb ("When the Rhine took a right turn what did it create?")
_WH = r"(?:what|which|who|whom|whose|how|where|why|when)\b"
AUX = r"(?:did|does|do|is|are|was|were|can|could|will|would|should|must|has|have|had|may|might)\b"  # verbs that ask
_LEADING_CLAUSE = re.compile(
    r"^\s*(?:when|whenever|if|unless|while|once|after|before|since|although|though|given|with|without|"
    rf"according to|in|on|at|for|from|by|under|during|among)\b[^?]*?(?:,\s*(?={_WH})|\s+(?={_WH}\s+{AUX}))",
    re.I,
)
# nouns that name a class of things whose members are called by their own names ("which exception ...?" is
# answered by "IndexError", "which city ...?" by "Beijing")
CATEGORY_NOUNS = rf"{_CODE_NOUNS}|{_PEOPLE_NOUNS}|{_PLACE_KINDS}|year|month|day|date|decade|century|time|command"
# kinds that rank sentences but never refuse ("who ...?" may be answered by a group: "representatives appointed by
# governments", "the courts of member states")
PREFERRED_ONLY = frozenset({"command", "code", "reason", "default", "who"})
_REASON = re.compile(
    r"\b(because|so that|in order to|due to|as a result|otherwise|the reason|caused by|"
    r"(this|which|that|it) ((will|would|can|may) )?(means?|makes?|keeps?|prevents?|ensures?|avoids?|allows?|lets?|"
    r"is why))\b|"
    r"(^|[,;]\s*)since\b|\bto (keep|avoid|prevent|ensure|allow|make)\b",
    re.I,
)

_INLINE_CODE = re.compile(r"`([^`\n]+)`")
_DEFAULT = re.compile(r"\bdefault(s|ing)?\b", re.I)
# a value written out: a number, true/false/none, a quoted string or inline code
_LITERAL = re.compile(
    rf"{DIGIT_RUN}|\b(true|false|none|null)\b|`[^`\n]+`|(^|[\s(\[=:])['\"‘“][^'\"‘’“”\n]*['\"’”]", re.I
)
_CODE_TOKEN = re.compile(r"\b[a-z]\w*_\w+\b|\b[a-z]{2,}[A-Z]\w*\b|\b[A-Za-z_][\w.]*\([^()\s]*\)|\w::\w|--[a-z][\w-]+")

_DATE = re.compile(
    rf"\b(1\d{{3}}|20\d{{2}}|\d{{1,4}}s|{_MONTHS}|{_DAYS})\b|\b\d{{1,2}}(st|nd|rd|th)\b|\bcentury\b", re.I
)
_CONDITION = re.compile(r"\b(if|when|whenever|once|unless|until|after|before|while|as soon as)\b", re.I)
_NUMBER = re.compile(rf"{DIGIT_RUN}|\b({_NUMBER_WORDS})\b", re.I)  # digits as they stand, or in words
_SECTION = re.compile(r"^\s*\d+(?:\.\d+)*\.\s+(?=[A-Z])")  # a heading's or item's number ("8.10. Enriching")
_MONEY = re.compile(
    r"[$€£¥₽]|\b(dollars?|euros?|pounds?|rubles?|roubles?|yuan|yen|won|francs?|rupees?|usd|eur|gbp)\b", re.I
)
_CAPITALISED = re.compile(
    r"\b[A-Z][\w’'-]*(?:\s+(?:[A-Z][\w’'-]*|(?:of|de|von|van|al|bin|la|le|du|del)\b(?=\s+[A-Z])))*"
)
_STARTERS = frozenset(
    "the a an if while when he she it they we i but and or so yet this that these those there here after "
    "before although though as since because on in at for with by from however meanwhile also then its his "
    "her their our my what which who where how".split()
)
_TITLE = re.compile(
    r"\b(mr|mrs|ms|dr|sir|lord|lady|minister|president|general|colonel|official|secretary|chancellor|premier|"
    r"senator|governor|mayor|king|queen|prince|princess|pope|judge|chief|director|chairman|ceo|leader|"
    r"commander|spokes\w+)\b",
    re.I,
)
_TITLE_BEFORE = re.compile(_TITLE.pattern + r"\.?\s+$", re.I)
_MONTH_OR_DAY = re.compile(rf"\b({_MONTHS}|{_DAYS})\b", re.I)
_DEMONYM = re.compile(r"(an|ese|ish|ch|i)$")  # "Russian", "Chinese", "British", "French", "Iraqi"
_LOCATIVE = re.compile(
    r"\b(in|at|from|to|near|across|outside|inside|into|of|throughout|within|between|and)\s+(the\s+)?$", re.I
)
_PLACE_NOUNS = frozenset(
    "region regions province city town village state county district valley river island islands coast sea "
    "ocean mountains mountain area border capital country republic oblast peninsula lake bay".split()
)
_LINKS = frozenset("and or is was are were has had have in on at of to from by with for as which who that".split())


def answer_type(question: str) -> str | None:
    """The kind of answer asked for: command, code, default, money, count, measure, condition, date, person,
    name, place, reason, who, where or None."""
    question = main_clause(question)
    for kind, pattern in _QUESTIONS:
        if pattern.search(question):
            return kind
    return None


def main_clause(question: str) -> str:
    """The question without a clause it opens on ("When the interpreter is started with -c, what is ...?" ->
    "what is ...?")."""
    return _LEADING_CLAUSE.sub("", question, count=1)


def has_type(kind: str | None, sentence: str, question: str) -> bool:
    """Whether `sentence` holds something of `kind` that the question itself does not already name."""
    if kind is None:
        return True
    if kind == "command":
        return has_command(sentence)
    if kind == "code":
        return has_code(sentence)
    if kind == "reason":
        return bool(_REASON.search(sentence))
    if kind == "default":
        return bool(_DEFAULT.search(sentence) and _LITERAL.search(_prose(sentence)))
    if kind == "money":
        return bool(_MONEY.search(sentence))
    if kind == "count":
        return _has_count(_prose(sentence))
    if kind == "measure":
        return bool(_NUMBER.search(_SECTION.sub("", _prose(sentence))))
    if kind == "date":
        return bool(_DATE.search(sentence))
    if kind == "condition":
        return bool(_DATE.search(sentence) or _CONDITION.search(sentence))
    if kind == "person":
        return bool(people(sentence, question))
    if kind == "place":
        return bool(places(sentence, question))
    return bool(new_names(sentence, question))  # name, who, where: any name the question lacks


def has_command(text: str) -> bool:
    """A command: a line of code or at a shell prompt, or inline `code` of more than one word (`cargo new`)."""
    return any(looks_like_code(line) for line in text.split("\n")) or any(
        " " in m.group(1).strip() for m in _INLINE_CODE.finditer(text)
    )


def has_code(text: str) -> bool:
    """Code of any size: inline `code`, a line of code, or a token only code is written in (snake_case,
    camelCase, a call like `f()`, a path like `a::b`, a `--flag`)."""
    return bool(_INLINE_CODE.search(text) or _CODE_TOKEN.search(text)) or has_command(text)


_FENCED = re.compile(r"^[ \t>]*(```|~~~).*?(?:^[ \t>]*\1[^\n]*$|\Z)", re.M | re.S)


def _prose(text: str) -> str:
    """The text without its lines of code: a number in a line of code (`>>> f(a=1)`, `$ cmd --level 9`) is an
    argument of an example, not a count or a measure the text states (inline `code` stays: "defaults to `8192`");
    nor is one in a fenced block of code."""
    return "\n".join(line for line in _FENCED.sub("", text).split("\n") if not looks_like_code(line))


def _has_count(sentence: str) -> bool:
    """A number that is not part of a date ("the 23rd of October", "2024") or a section's number."""
    sentence = _SECTION.sub("", sentence)
    dates = [m.span() for m in _DATE.finditer(sentence)]
    return any(not any(a < e and s < b for s, e in dates) for a, b in (m.span() for m in _NUMBER.finditer(sentence)))


def _clean(name: str) -> str:
    """A capitalised run without the sentence-opening words caught in it ("The Kremlin" -> "Kremlin")."""
    parts = name.split()
    while parts and parts[0].lower() in _STARTERS:
        parts = parts[1:]
    return " ".join(parts)


def _new_name_matches(sentence: str, question: str) -> list[tuple[re.Match[str], str]]:
    """The runs of capitalised words in `sentence` (opening words like "The" cut off), each with its match, that
    hold a content word the question lacks."""
    asked = words(question)
    found = []
    for match in _CAPITALISED.finditer(sentence):
        name = _clean(match.group(0))
        named = words(name)
        if name and named and not named <= asked:
            found.append((match, name))
    return found


def new_names(sentence: str, question: str) -> list[str]:
    """The names `sentence` gives that are new to the question: its runs of capitalised words ("North Korea",
    "Minister Yevkurov") with a content word the question lacks."""
    return [name for _, name in _new_name_matches(sentence, question)]


def people(sentence: str, question: str) -> list[str]:
    """Names that look like a person's: two or more capitalised words not ending in an adjective of
    nationality ("North Korean"), or a name right after a title ("Minister Yevkurov")."""
    found = []
    for match, name in _new_name_matches(sentence, question):
        parts = name.split()
        if name.isupper() or _MONTH_OR_DAY.search(name):
            continue
        if (len(parts) >= 2 and not _DEMONYM.search(parts[-1].lower())) or _TITLE_BEFORE.search(
            sentence[: match.start()]
        ):
            found.append(name)
    return found


def places(sentence: str, question: str) -> list[str]:
    """Names used as places: after a preposition of place ("in Kursk", "from North Korea"), not followed by
    the noun they modify ("DPRK troops"), and not a person's title or a month or day."""
    found = []
    for match, name in _new_name_matches(sentence, question):
        if _MONTH_OR_DAY.search(name) or _TITLE.search(name):
            continue
        after = re.match(r"\s+([a-z]+)", sentence[match.end() :])
        if after and after.group(1) not in _PLACE_NOUNS and after.group(1) not in _LINKS:
            continue
        if _LOCATIVE.search(sentence[: match.start()]) or match.start() == 0:
            found.append(name)
    return found
