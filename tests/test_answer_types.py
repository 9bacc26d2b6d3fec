"""Questions that ask for a command or a piece of code: how they are read, what holds one, and how the
extractive scorer uses that (a preference, never a reason to refuse); numbers in lines of code; and a "why"
answered by a reason that refers back to the sentence before it."""

from __future__ import annotations

import pytest

from qa.answer.asking import asked_nouns, without_source, yes_no
from qa.answer.extractive import candidates, score
from qa.answer.kinds import PREFERRED_ONLY, answer_type, has_code, has_command, has_type, new_names
from qa.index.embedders import MiniLMEmbedder
from qa.records import Passage
from tests.records import make_passage


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("What command creates a new Cargo project?", "command"),
        ("Which cargo command builds the project?", "command"),
        ("What is the command to run the tests?", "command"),
        ("How do I install the toolchain?", "command"),
        ("Which keyword makes a variable mutable?", "code"),
        ("What method changes the listener limit?", "code"),
        ("Which property sets the default for all emitters?", "code"),
        ("Which Russian general commands the North Korean troops?", "person"),  # "commands" the verb
        ("Which general commands the troops?", "person"),
        ("How many listeners can be registered?", "count"),
        ("How do plants make energy?", None),
        ("What is the default width of a PrettyPrinter?", "default"),
        ("What’s the default port?", "default"),
        ("What compression level does the command line interface use by default?", "default"),
        ("What is the numeric value of the interpolation depth limit?", "count"),
        # a clause of its own before the question: the main clause asks
        ("When -n is not given, how long must the total run take?", "measure"),
        ("When the interpreter is started with -c, what is sys.argv[0] set to?", None),
        ("When the Rhine took a right turn what did it create?", None),
        ("When was the heatwave in which Hopetoun recorded its highest temperature?", "date"),  # a relative clause
        ("In Britain, which city is the largest?", "place"),
        # "when does ...?": under what condition as often as at what time
        ("When does SequenceMatcher mark an item as popular?", "condition"),
        ("When did the Warsaw Uprising begin?", "date"),
    ],
)
def test_answer_type_reads_requests_for_code(question: str, kind: str | None) -> None:
    assert answer_type(question) == kind


@pytest.mark.parametrize(
    "text",
    [
        "$ cargo new hello_cargo",
        "Run `cargo new hello_cargo` in a terminal.",
        "let mut x = 5;",
        "Then, run the following:\n\n```console\n$ cargo build",
    ],
)
def test_commands(text: str) -> None:
    assert has_command(text)
    assert has_code(text)


@pytest.mark.parametrize(
    "text",
    [
        "The first command creates a new directory and project called hello_cargo.",
        "Add `mut` in front of the name.",  # code, but a single word is not a command
        "Call emitter.setMaxListeners(n) to change it.",
        "Pass --release to build with optimisations.",
    ],
)
def test_code_that_is_not_a_command(text: str) -> None:
    assert has_code(text)
    assert not has_command(text)


@pytest.mark.parametrize(
    "text",
    [
        "You can make them mutable by adding mut in front of the variable name.",
        "The iPhone and eBay were launched in the U.S. in 1995 (or so).",
        "Putin replied: “The images are a serious thing.”",
    ],
)
def test_prose_holds_no_code(text: str) -> None:
    assert not has_code(text)
    assert not has_command(text)


def test_has_type_dispatches_to_the_kinds_that_only_rank() -> None:
    assert {"command", "code", "reason", "default", "who"} == PREFERRED_ONLY
    assert has_type("command", "$ cargo run", "What command runs it?")
    assert not has_type("command", "Cargo runs it.", "What command runs it?")
    assert has_type("code", "Add `mut`.", "Which keyword?")


@pytest.mark.parametrize(
    ("text", "holds"),
    [
        ("width (default `80`) specifies the desired maximum number of characters per line.", True),
        ("By default, when you execute the CLI, the default compression level is 6.", True),
        ("If sort_dicts is false (the default), dictionaries are displayed with their keys in insertion order.", True),
        ("The default is 'strict'.", True),
        ("Construct PrettyPrinter objects explicitly if you need to adjust the width constraint.", False),  # no default
        ("The default can be changed with an argument.", False),  # a default, but no value
        ("By default:\n>>> pprint(data, width=80)", False),  # a value only in a line of code
    ],
)
def test_a_default_asked_for_is_a_value_stated_as_the_default(text: str, holds: bool) -> None:
    assert has_type("default", text, "What is the default width?") is holds


def test_a_condition_or_a_date_answers_when_does() -> None:
    question = "When does SequenceMatcher mark an item as popular?"
    assert has_type("condition", "If an item's duplicates are more than 1% of the sequence, it is popular.", question)
    assert has_type("condition", "Since 2009 items are marked as popular.", question)
    assert not has_type("condition", "Popular items are treated as junk.", question)


@pytest.mark.parametrize(
    ("question", "nouns"),
    [
        ("What exit status does python -m json.tool return?", ["status"]),
        ("Which operating system call or device does it read from?", ["call", "device"]),
        ("What is the worst-case time complexity of sorted()?", ["complexity"]),
        ("What is the maximum number of case blocks allowed?", ["blocks"]),
        ("When the input is invalid, what exit code does it return?", ["code"]),
        ("Which environment variables let a user choose the directory?", []),  # a category: TMPDIR, TEMP
        ("What suffix identifies a release candidate?", []),  # written as code: "rcN"
        ("What happens to the heat?", []),  # a verb
        ("Which weekday counts as the first day of the week?", ["weekday"]),
        ("Which colours does the page use?", ["colours"]),
        ("What caused the delay?", []),
        ("What is Python?", []),
    ],
)
def test_the_noun_a_question_asks_for(question: str, nouns: list[str]) -> None:
    assert asked_nouns(question) == nouns


@pytest.mark.parametrize(
    ("question", "asks"),
    [
        ("Is copy.deepcopy() thread-safe?", True),
        ("Can I put a time limit on atexit handlers?", True),
        ("If several records have the same key, does sorting keep their order?", True),
        ("My call returned nothing. Is that an error?", True),
        ("Doesn't the queue block?", True),
        ("My recv call returned zero bytes. What does that mean?", False),
        ("Who signed it, and was it legal?", False),
        ("What is the default width?", False),
    ],
)
def test_yes_no_questions_open_on_a_verb(question: str, asks: bool) -> None:
    assert yes_no(question) is asks


def test_a_number_in_a_line_of_code_is_no_count_or_measure_but_one_in_inline_code_is() -> None:
    asked = "How many times does timeit() run the statement by default?"
    assert not has_type("count", ">>> Timer('a, b = b, a', 'a=1; b=2').timeit()", asked)
    assert not has_type("count", "$ echo '{1.2:3.4}' | python -m json.tool", "What exit status does it return?")
    assert not has_type("measure", "$ python -m gzip --level 9 data.txt", "How long is the wait?")
    assert has_type("count", "The loop runs a number of times, defaulting to one million.", asked)
    assert has_type("measure", "The buffer defaults to `8192` bytes.", "What buffer size in bytes?")
    assert has_type("count", "Run it:\n$ timeit -n 5\nIt repeats the loop 3 times.", asked)  # prose beside code


def test_new_names_are_the_capitalised_runs_the_question_does_not_give() -> None:
    sentence = "The Kremlin said Minister Yunus-bek Yevkurov oversees the DPRK troops in North Korea."
    assert new_names(sentence, "Who oversees the DPRK troops?") == [
        "Kremlin",
        "Minister Yunus-bek Yevkurov",
        "North Korea",
    ]
    assert new_names(sentence, "Did Minister Yunus-bek Yevkurov of the Kremlin visit North Korea?") == ["DPRK"]
    assert has_type("who", sentence, "Who oversees the DPRK troops?")
    assert not has_type("who", "The troops arrived in the east.", "Who oversees the troops?")


@pytest.fixture(scope="module")
def minilm() -> MiniLMEmbedder:
    return MiniLMEmbedder()


def passage(text: str) -> Passage:
    return make_passage(1, "doc", "doc.md", 0, len(text), text)


@pytest.mark.parametrize(
    ("question", "text", "best", "topic_only"),
    [
        (
            "What command creates a new Cargo project?",
            "Then, on any operating system, run the following:\n\n```console\n$ cargo new hello_cargo\n```\n\n"
            "The first command creates a new directory and project called hello_cargo.",
            "$ cargo new hello_cargo",
            "The first command",
        ),
        (
            "What is the default width of a pretty printer?",
            "Construct PrettyPrinter objects explicitly if you need to adjust the width of a pretty printer.\n\n"
            "indent (default `1`) specifies the amount of indentation added for each nesting level.\n\n"
            "width (default `80`) specifies the desired maximum number of characters per line in the output.",
            "width (default `80`) specifies",
            "Construct",
        ),
    ],
)
def test_a_sentence_holding_what_is_asked_for_beats_one_sharing_only_topic_words(
    minilm: MiniLMEmbedder, question: str, text: str, best: str, topic_only: str
) -> None:
    ranked = score(question, [passage(text)], minilm)
    assert ranked[0].text.startswith(best)
    about = next(c for c in ranked if c.text.startswith(topic_only))
    assert not about.typed and about.score < ranked[0].score - 0.03  # not even quoted as the runner-up


def test_code_asked_for_but_lost_in_the_text_is_no_reason_to_refuse(minilm: MiniLMEmbedder) -> None:
    text = "Variables are immutable by default. You can make them mutable by adding mut in front of the name."
    ranked = score("Which keyword makes a variable mutable?", [passage(text)], minilm)
    assert ranked[0].text.startswith("You can make them mutable")
    assert all(c.typed for c in ranked)  # no sentence holds code, so none is judged on it


def test_who_is_answered_by_a_group_when_no_sentence_names_anyone(minilm: MiniLMEmbedder) -> None:
    text = "The panel meets every year. The panel is made up of representatives appointed by governments."
    ranked = score("Who is on the panel?", [passage(text)], minilm)
    assert ranked[0].text.startswith("The panel is made up of representatives") and ranked[0].typed
    named = text + " Its chair, Hoesung Lee, speaks for the panel."
    ranked = score("Who speaks for the panel?", [passage(named)], minilm)
    assert "Hoesung Lee" in ranked[0].text  # a name still wins when a sentence gives one


def test_a_reason_that_refers_back_is_quoted_with_what_it_refers_to(minilm: MiniLMEmbedder) -> None:
    text = (
        "The timer runs the statement many times. By default, the timer turns off garbage collection during the "
        "timing. The advantage of this approach is that it makes independent timings more comparable. The "
        "collector can be turned on again in the setup string."
    )
    ranked = score("Why does the timer turn off garbage collection during the timing?", [passage(text)], minilm)
    assert ranked[0].text == (
        "By default, the timer turns off garbage collection during the timing. The advantage of this approach is "
        "that it makes independent timings more comparable."
    )
    alone = "The advantage of this approach is that it makes independent timings more comparable."
    assert alone in [c.text for c in candidates([passage(text)])]  # not a "why": it also stands alone
    assert alone not in [c.text for c in candidates([passage(text)], refer_back=True)]


@pytest.mark.parametrize(
    ("question", "read"),
    [
        (
            "According to the argparse tutorial, what value does an optional argument get when it is not given?",
            "what value does an optional argument get when it is not given?",
        ),
        (
            "What's the longest a line should be, according to the tutorial's coding style advice?",
            "What's the longest a line should be?",
        ),
        ("According to the documentation, is copy.deepcopy() thread-safe?", "is copy.deepcopy() thread-safe?"),
        ("According to HUR, how many soldiers arrived?", "According to HUR, how many soldiers arrived?"),  # a source
        ("According to the tutorial?", "According to the tutorial?"),  # nothing would be left
    ],
)
def test_words_naming_only_the_document_to_look_in_are_not_read(question: str, read: str) -> None:
    assert without_source(question) == read


def test_a_page_that_names_itself_does_not_answer_for_naming_it(minilm: MiniLMEmbedder) -> None:
    intro = (
        "This tutorial is intended to be a gentle introduction to argparse, the recommended command-line parsing "
        "module in the Python standard library."
    )
    answer = (
        "Note that by default, if an optional argument isn't used, the relevant variable, in this case "
        "args.verbosity, is given None as a value, which is the reason it fails the truth test of the if statement."
    )
    found = [
        make_passage(1, "doc", "doc.md", 0, len(intro), intro),
        make_passage(3, "doc", "doc.md", 900, 900 + len(answer), answer),
    ]
    question = (
        "According to the argparse tutorial, what value does an optional argument get when it is not given on the "
        "command line?"
    )
    assert score(question, found, minilm)[0].text == answer
