"""Grounding properties over every evidence sentence of eval/seed.jsonl (verbatim sentences of seeds/).

The property, for an answer made of evidence sentences as a model might write them:

- **Stated sentences are credited.** A sentence that a passage states (an evidence sentence; two of them one
  after the other; two of them joined into one sentence with "and" or ";") is credited to a passage that
  states it: it carries a citation whose quote is the document's text at its offsets and stands on the
  evidence sentence (holds most of it, or is a phrase of it the model quoted), and no citation of a passage
  that does not state it. This holds however the model wrote it: exactly; with typographic variants (’ or ',
  “” or "", no-break spaces, "3 000", "3,000", "3000" or a narrow space); citing the right passage, the wrong
  one (the citation moves to the passage that states it and is counted in `recited`), or none.
- **Changed sentences are not.** The same sentence with one number or one name changed (to one the document
  states elsewhere, the likeliest mix-up, or to one it never states) is unsupported and carries no citation,
  whatever it cites; so is a joined sentence one of whose halves is changed so.

It is checked at two levels: `ground()` on passages cut from the seed document around each evidence sentence
(every sentence, every variant), and end to end for a sample of questions, through `QA` over an embedded Chroma
index of seeds/ answering with the openai backend, whose scripted model (tests/fake_openai.py, over HTTP)
replies with the question's evidence sentences. End to end, an answer whose every sentence grounding credited
may still be refused afterwards by the pipeline's relevance check (`qa.answer.pipeline.addresses`); such cases are
reported as expected failures naming the question, not counted as grounding failures.
"""

from __future__ import annotations

import functools
import re
import shutil
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from qa import QA, Settings
from qa.answer.grounding import Grounded, ground
from qa.evaluation.questions import Question, doc_names, load_questions, sample
from qa.index.embedders import Embedder
from qa.records import Answer, Passage
from tests.fake_openai import FakeOpenAI, assert_grounded, serve
from tests.records import make_passage

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "seeds"
QUESTIONS = load_questions(ROOT / "eval" / "seed.jsonl")
_MARKER = re.compile(r"\[\d+\]")


def read(doc_id: str) -> str:
    return (DOCS / f"{doc_id}.txt").read_text(encoding="utf-8")


@dataclass(frozen=True)
class Evidence:
    """An evidence sentence and where it stands in its document."""

    doc_id: str
    text: str
    start: int

    @property
    def end(self) -> int:
        return self.start + len(self.text)


def all_evidence() -> list[Evidence]:
    """Every distinct evidence sentence of the set, in order, located in its document."""
    found: dict[str, Evidence] = {}
    for q in QUESTIONS:
        for sentence in q.evidence:
            [doc_id] = q.doc_ids
            found.setdefault(sentence, Evidence(doc_id, sentence, read(doc_id).index(sentence)))
    return list(found.values())


EVIDENCE = all_evidence()


# --- how a model may write a sentence ----------------------------------------------------------------------

_NUMBER = re.compile(r"(?<![\w.])\d{1,3}(?: \d{3})+(?!\d)|(?<![\w.])\d+(?=st|nd|rd|th|\b)")


STRAIGHT = str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"'})


def curly_quotes(text: str) -> str:
    """Straight quote marks made typographic: ' as ’, and "..." as “...”."""
    return re.sub(r'"([^"]*)"', r"“\1”", text.replace("'", "’"))


TYPOGRAPHY: dict[str, Callable[[str], str]] = {
    "exact": lambda t: t,
    "straight quotes": lambda t: t.translate(STRAIGHT),
    "no-break spaces": lambda t: t.replace(" ", "\u00a0"),
    "thousands with commas": lambda t: _NUMBER.sub(lambda m: m.group().replace(" ", ","), t),
    "thousands run together": lambda t: _NUMBER.sub(lambda m: m.group().replace(" ", ""), t),
    "thousands with narrow spaces": lambda t: _NUMBER.sub(lambda m: m.group().replace(" ", "\u202f"), t),
}


def typographic_variants(sentence: str) -> dict[str, str]:
    """The sentence as each typographic variant writes it; variants that change nothing are left out."""
    out: dict[str, str] = {}
    for name, write in TYPOGRAPHY.items():
        text = write(sentence)
        if name == "exact" or text != sentence:
            out.setdefault(name, text)
    return out


def body(sentence: str) -> str:
    """The sentence without its closing full stop (closing quote marks stay)."""
    return re.sub(r"[.!?…]([”’\"']*)$", r"\1", sentence.rstrip())


def cite(sentence: str, numbers: list[int]) -> str:
    """The sentence with its markers, as models write them: "It is so [1].", "“It is so.” [1]" """
    marks = "".join(f"[{n}]" for n in dict.fromkeys(numbers))
    text = sentence.rstrip()
    if not marks:
        return text
    return f"{text[:-1]} {marks}{text[-1]}" if re.search(r"[.!?…]$", text) else f"{text} {marks}"


def lowered_start(sentence: str, document: str) -> str:
    """The sentence as the second half of a joined one: its first word in lower case when the document writes
    that word in lower case somewhere (an ordinary word, not a name)."""
    first = re.match(r"[“\"']?(\w+)", sentence)
    if first and re.search(rf"\b{re.escape(first.group(1).lower())}\b", document):
        at = first.start(1)
        return sentence[:at] + sentence[at].lower() + sentence[at + 1 :]
    return sentence


def joined(first: str, second: str, joint: str, document: str, marks: tuple[list[int], list[int]]) -> str:
    """Two sentences as one: "A [1] and b [2]." or "A [1]; b [2]." """
    return f"{cite(body(first), marks[0])}{joint}{cite(lowered_start(second, document), marks[1])}"


# --- changing one number or one name -------------------------------------------------------------------------

NUMERALS = "zero one two three four five six seven eight nine ten eleven twelve".split()
_NUMERAL = re.compile(rf"\b({'|'.join(NUMERALS[2:])})\b")
INVENTED_NAMES = ("Belgorod", "Shoigu", "Tbilisi", "Lavrov")


@functools.cache
def names_of(document: str) -> list[str]:
    """The names of a document as a reader finds them: words it writes capitalised in mid-sentence (or in
    capitals) and never in lower case."""
    found: dict[str, None] = {}
    for m in re.finditer(r"\b[A-Z][\w-]*", document):
        word, before = m.group(), document[: m.start()].rstrip(" “\"'‘")
        opens_sentence = not before or before[-1] in ".!?:\n"
        in_lower_case = re.search(rf"\b{re.escape(word.lower())}\b", document)
        if len(word) > 1 and not in_lower_case and (word.isupper() or not opens_sentence):
            found[word] = None
    return list(found)


def _same_name(a: str, b: str) -> bool:
    return a[:5].lower() == b[:5].lower()


def _word(text: str) -> str:
    return rf"(?<![\w-]){re.escape(text)}(?![\w-])"


def name_changes(sentence: str, document: str) -> dict[str, str]:
    """The sentence with one of its names changed: to the name of the document standing nearest to it that
    it does not state (the likeliest mix-up), and to one the document never states."""
    at = document.index(sentence)
    names = [n for n in names_of(document) if re.search(_word(n), sentence)]
    others = [n for n in names_of(document) if not any(_same_name(n, m) for m in names)]
    nearest = sorted(others, key=lambda n: min(abs(m.start() - at) for m in re.finditer(_word(n), document)))
    invented = [n for n in INVENTED_NAMES if n not in document]
    out: dict[str, str] = {}
    for name in names:
        for kind, new in (("a name of the document", nearest[0]), ("a name it never states", invented[0])):
            out[f"{name} -> {new} ({kind})"] = re.sub(_word(name), new, sentence, count=1)
    return out


def number_changes(sentence: str, document: str) -> dict[str, str]:
    """The sentence with one of its numbers changed: to a number the document states elsewhere (of the
    closest length), and to one it never states; numerals to the next one."""
    mine = [m.group() for m in _NUMBER.finditer(sentence)]
    elsewhere = [n for n in dict.fromkeys(m.group() for m in _NUMBER.finditer(document)) if n not in mine]
    out: dict[str, str] = {}
    for number in mine:
        near = min(elsewhere, key=lambda n: abs(len(n) - len(number)))
        digits = number.replace(" ", "")
        bumped = str(int(digits) + 10 ** (len(digits) - 1))
        for kind, new in (("a number of the document", near), ("a number it never states", bumped)):
            out[f"{number} -> {new} ({kind})"] = re.sub(rf"(?<!\d){number}(?!\d)", new, sentence, count=1)
    for numeral in dict.fromkeys(_NUMERAL.findall(sentence)):
        new = NUMERALS[NUMERALS.index(numeral) + 1]
        out[f"{numeral} -> {new}"] = re.sub(rf"\b{numeral}\b", new, sentence, count=1)
    return out


@functools.cache
def changes(sentence: str, document: str) -> dict[str, str]:
    return {**number_changes(sentence, document), **name_changes(sentence, document)}


# --- passages cut from the document around an evidence sentence ----------------------------------------------


def lines_of(text: str) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in re.finditer(r"[^\n]*\S[^\n]*", text)]


def window(doc_id: str, text: str, lines: list[tuple[int, int]], first: int, last: int) -> Passage:
    start, end = lines[first][0], lines[last][1]
    return make_passage(0, doc_id, f"{doc_id}.txt", start, end, text[start:end])


def passages_around(evidence: list[Evidence], text: str | None = None) -> list[Passage]:
    """Passages as retrieval might give them: for each evidence sentence the lines around it (the line before,
    its own, the line after), then two other stretches of the document holding none of them, numbered 1..n in an
    order that depends on where the evidence stands."""
    doc_id = evidence[0].doc_id
    text = read(doc_id) if text is None else text  # another writing of the document, of the same length
    lines = lines_of(text)
    own: list[Passage] = []
    for e in evidence:
        at = next(i for i, (s, end) in enumerate(lines) if s <= e.start < end)
        p = window(doc_id, text, lines, max(0, at - 1), min(len(lines) - 1, at + 1))
        if p not in own:
            own.append(p)
    clear = [
        window(doc_id, text, lines, i, min(i + 2, len(lines) - 1))
        for i in range(0, len(lines), 3)
        if not any(lines[i][0] < p.end and p.start < lines[min(i + 2, len(lines) - 1)][1] for p in own)
    ]
    others = [clear[0], clear[-1]] if len(clear) > 1 else clear
    shift = evidence[0].start % (len(others) + 1)
    ordered = others[:shift] + own + others[shift:]
    return [replace(p, n=i) for i, p in enumerate(ordered, 1)]


def holding(passages: list[Passage], e: Evidence) -> list[int]:
    return [p.n for p in passages if p.start <= e.start and e.end <= p.end]


def wrong(passages: list[Passage], evidence: list[Evidence]) -> int:
    """A passage holding none of the evidence."""
    return next(p.n for p in passages if not any(p.start < e.end and e.start < p.end for e in evidence))


# --- the checks ----------------------------------------------------------------------------------------------


def covers(start: int, end: int, e: Evidence) -> bool:
    """Whether a quote at start..end stands on the evidence sentence: it holds most of it (a reader's sentence
    may be a little longer or shorter than the set's), or it is a part of it (a phrase the model quoted)."""
    return min(end, e.end) - max(start, e.start) >= 0.8 * len(e.text) or e.start <= start < end <= e.end


def assert_credited(g: Grounded, evidence: list[Evidence], written: str, document: str | None = None) -> None:
    """Every sentence of the answer is credited to passages that state `evidence`, with verbatim quotes."""
    document = read(evidence[0].doc_id) if document is None else document
    assert g.unsupported == (), (written, g)
    assert g.citations, (written, g)
    for c in g.citations:
        assert document[c.start : c.end] == c.quote, c
        assert any(covers(c.start, c.end, e) for e in evidence), (written, c.quote)
    for e in evidence:
        assert any(covers(c.start, c.end, e) for c in g.citations), (written, e.text, g.citations)
    assert {int(n) for n in re.findall(r"\[(\d+)\]", g.text)} == {c.n for c in g.citations}, g.text


def assert_not_credited(g: Grounded, written: str) -> None:
    assert g.citations == (), (written, g.citations)
    assert len(g.unsupported) == 1 and not _MARKER.search(g.text), (written, g)


MARKINGS = ("right marker", "wrong marker", "no marker")


def markers(marking: str, passages: list[Passage], evidence: list[Evidence]) -> tuple[list[int], list[int]]:
    """The markers of each half of an answer (the second is empty for a single sentence)."""
    if marking == "no marker":
        return [], []
    if marking == "wrong marker":
        bad = wrong(passages, evidence)
        return [bad], [bad] if len(evidence) > 1 else []
    return holding(passages, evidence[0])[:1], holding(passages, evidence[-1])[:1] if len(evidence) > 1 else []


SINGLE = [(e, t, m) for e in EVIDENCE for t in typographic_variants(e.text) for m in MARKINGS]
PAIRS = [(a, b) for a, b in zip(EVIDENCE, EVIDENCE[1:] + EVIDENCE[:1], strict=True) if a.text != b.text]
JOINTS = {"and": " and ", "semicolon": "; "}


def test_every_evidence_sentence_is_in_its_document_and_each_variant_is_tried() -> None:
    assert len(EVIDENCE) >= 10
    for e in EVIDENCE:
        assert read(e.doc_id)[e.start : e.end] == e.text
        assert len(passages_around([e])) >= 3 and holding(passages_around([e]), e)
    tried = {t for e in EVIDENCE for t in typographic_variants(e.text)}
    assert tried == set(TYPOGRAPHY)  # the set has curly quotes and thousands: every variant changes something
    assert any(curly_quotes(e.text.translate(STRAIGHT)) != e.text.translate(STRAIGHT) for e in EVIDENCE)
    assert sum(len(changes(e.text, read(e.doc_id))) for e in EVIDENCE) >= 3 * len(EVIDENCE)


@pytest.mark.parametrize(("e", "typography", "marking"), SINGLE, ids=lambda v: getattr(v, "text", v)[:40])
def test_a_stated_sentence_is_credited_to_the_passage_stating_it(e: Evidence, typography: str, marking: str) -> None:
    passages = passages_around([e])
    written = cite(TYPOGRAPHY[typography](e.text), markers(marking, passages, [e])[0])
    g = ground(written, passages)
    assert_credited(g, [e], written)
    assert g.recited == (marking == "wrong marker"), g


@pytest.mark.parametrize("marking", MARKINGS)
@pytest.mark.parametrize("e", EVIDENCE, ids=lambda e: e.text[:40])
def test_a_sentence_with_curly_quotes_is_credited_in_a_document_with_straight_ones(e: Evidence, marking: str) -> None:
    document = read(e.doc_id).translate(STRAIGHT)
    passages = passages_around([e], document)
    written = cite(curly_quotes(e.text.translate(STRAIGHT)), markers(marking, passages, [e])[0])
    g = ground(written, passages)
    assert_credited(g, [e], written, document)
    assert g.recited == (marking == "wrong marker"), g


@pytest.mark.parametrize("joint", JOINTS)
@pytest.mark.parametrize("typography", ["exact", "straight quotes", "thousands with commas"])
@pytest.mark.parametrize("marking", MARKINGS)
@pytest.mark.parametrize(("a", "b"), PAIRS, ids=lambda e: e.text[:30])
def test_two_stated_sentences_joined_into_one_are_each_credited(
    a: Evidence, b: Evidence, joint: str, typography: str, marking: str
) -> None:
    passages = passages_around([a, b])
    write = TYPOGRAPHY[typography]
    written = joined(write(a.text), write(b.text), JOINTS[joint], read(a.doc_id), markers(marking, passages, [a, b]))
    g = ground(written, passages)
    assert_credited(g, [a, b], written)
    assert g.recited == (marking == "wrong marker"), g


@pytest.mark.parametrize("marking", MARKINGS)
@pytest.mark.parametrize(("a", "b"), PAIRS, ids=lambda e: e.text[:30])
def test_two_stated_sentences_one_after_the_other_are_each_credited(a: Evidence, b: Evidence, marking: str) -> None:
    passages = passages_around([a, b])
    first, second = markers(marking, passages, [a, b])
    written = f"{cite(a.text, first)}{' ' if re.search(r'[.!?…][”’]*$', a.text) else chr(10)}{cite(b.text, second)}"
    g = ground(written, passages)
    assert_credited(g, [a, b], written)
    assert (g.recited >= 1) == (marking == "wrong marker"), g  # one or two sentences, as the reader cuts them


CHANGED = [(e, change, m) for e in EVIDENCE for change in changes(e.text, read(e.doc_id)) for m in MARKINGS]


@pytest.mark.parametrize(("e", "change", "marking"), CHANGED, ids=lambda v: getattr(v, "text", v)[:40])
def test_a_sentence_with_a_number_or_name_changed_is_not_credited(e: Evidence, change: str, marking: str) -> None:
    passages = passages_around([e])
    written = cite(changes(e.text, read(e.doc_id))[change], markers(marking, passages, [e])[0])
    assert_not_credited(ground(written, passages), written)


@pytest.mark.parametrize("marking", MARKINGS)
@pytest.mark.parametrize(("a", "b"), PAIRS, ids=lambda e: e.text[:30])
def test_a_joined_sentence_with_one_half_changed_is_not_credited(a: Evidence, b: Evidence, marking: str) -> None:
    passages = passages_around([a, b])
    document = read(a.doc_id)
    for change, changed in changes(b.text, document).items():
        written = joined(a.text, changed, " and ", document, markers(marking, passages, [a, b]))
        assert_not_credited(ground(written, passages), f"{change}: {written}")


# --- end to end: QA over an index of seeds/, answering through the scripted OpenAI-compatible model -----------

_HEADER = re.compile(r"^\[(\d+)\] .+$", re.M)
ANSWERABLE = sample([q for q in QUESTIONS if q.answerable], 12)
END_TO_END = [
    ("exact", "right marker"),
    ("straight quotes", "wrong marker"),
    ("no-break spaces", "no marker"),
    ("thousands with commas", "wrong marker"),
]


def prompt_passages(body: dict[str, Any]) -> dict[int, str]:
    """The numbered passages of a chat request's prompt (headers as `qa.answer.citations.label` writes them)."""
    user = str([m for m in body["messages"] if m["role"] == "user"][-1]["content"])
    heads = list(_HEADER.finditer(user))
    ends = [h.start() for h in heads[1:]] + [len(user)]
    return {int(h.group(1)): user[h.end() : end] for h, end in zip(heads, ends, strict=True)}


def scripted(q: Question, typography: str, marking: str, change: str | None = None) -> Callable[[Any], str]:
    """The model: it answers with the question's evidence sentences, written and marked as asked (the first
    one changed by `change`), citing the passage numbers of the prompt it is sent."""

    def reply(body: dict[str, Any]) -> str:
        passages = prompt_passages(body)
        bad = next(n for n, text in sorted(passages.items()) if not any(e in text for e in q.evidence))
        written = []
        for i, sentence in enumerate(q.evidence):
            right = [n for n, text in sorted(passages.items()) if sentence in text][:1]
            marks = {"right marker": right, "wrong marker": [bad], "no marker": []}[marking]
            text = (
                changes(sentence, read(q.doc_ids[0]))[change] if change and i == 0 else TYPOGRAPHY[typography](sentence)
            )
            written.append(cite(text, marks))
        return " ".join(written)

    return reply


@pytest.fixture(scope="module")
def server() -> Iterator[FakeOpenAI]:
    with serve() as fake:
        yield fake


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder, server: FakeOpenAI) -> QA:
    """A QA over an embedded Chroma index of seeds/, answering with the openai backend at the scripted model."""
    folder = tmp_path_factory.mktemp("grounding")
    shutil.copytree(DOCS, folder / "seeds")
    settings = Settings(
        home=folder / "home",
        collection="grounding-" + uuid.uuid4().hex[:12],
        backend="openai",
        openai_base_url=server.url,
        llm_model="fake-model",
        timeout=5.0,
    )
    qa = QA(settings, embedder=embedder)
    assert qa.ingest([folder / "seeds"]).added
    return qa


def answer_with(qa: QA, server: FakeOpenAI, q: Question, model: Callable[[Any], str]) -> tuple[Answer, str]:
    """The answer to `q`, and the document text (by the set's document id) its citations point into."""
    server.replies.clear()
    server.reply(model)
    asked = len(server.chats)
    answer = qa.ask(q.question)
    assert_grounded(qa, answer)
    assert len(server.chats) == asked + 1 and not server.replies, "the model was not asked"
    [doc_id] = [d for d, name in doc_names(qa.documents(), DOCS).items() if name == q.doc_ids[0]]
    return answer, qa.document(doc_id).text


@pytest.mark.parametrize(("typography", "marking"), END_TO_END)
@pytest.mark.parametrize("q", ANSWERABLE, ids=lambda q: q.id)
def test_end_to_end_the_answer_quotes_the_evidence_the_model_repeated(
    seeded: QA, server: FakeOpenAI, q: Question, typography: str, marking: str
) -> None:
    answer, document = answer_with(seeded, server, q, scripted(q, typography, marking))
    assert answer.unsupported == (), (q.id, answer)  # grounding credited every sentence
    assert not answer.refused, (q.id, answer)  # and the evidence addresses the question (qa.answer.pipeline.addresses)
    assert (answer.recited_citations >= 1) == (marking == "wrong marker"), (q.id, answer)
    evidence = [Evidence(q.doc_ids[0], e, document.index(e)) for e in q.evidence]
    for c in answer.citations:
        assert any(covers(c.start, c.end, e) for e in evidence), (q.id, c.quote)
    for e in evidence:
        assert any(covers(c.start, c.end, e) for c in answer.citations), (q.id, e.text, answer.citations)


CHANGED_END_TO_END = [
    (q, change, marking)
    for q in ANSWERABLE
    if len(q.evidence) == 1
    for change in list(number_changes(q.evidence[0], read(q.doc_ids[0])))[:1]
    + list(name_changes(q.evidence[0], read(q.doc_ids[0])))[:1]
    for marking in ("right marker", "wrong marker")
]


@pytest.mark.parametrize(("q", "change", "marking"), CHANGED_END_TO_END, ids=lambda v: getattr(v, "id", v))
def test_end_to_end_a_changed_sentence_is_refused(
    seeded: QA, server: FakeOpenAI, q: Question, change: str, marking: str
) -> None:
    answer, _ = answer_with(seeded, server, q, scripted(q, "exact", marking, change))
    changed = changes(q.evidence[0], read(q.doc_ids[0]))[change]
    assert answer.refused and answer.citations == (), (q.id, answer)
    assert answer.unsupported == (changed.strip(),), (q.id, answer)
