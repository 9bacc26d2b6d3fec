"""The extractive backend's judgement: what a question asks for, whether a sentence holds it, how well a
sentence's words meet the question's, and the refusals that follow on the seed article; and its answers on
small documentation pages, where a sentence is read as a reader sees it and an announcement is answered with
what it announces."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from qa import QA
from qa.answer.extractive import alignment
from qa.answer.kinds import answer_type, has_type, people, places
from qa.answer.reading import announces, following
from qa.index.embedders import MiniLMEmbedder
from qa.text.sentences import units
from tests.conftest import SEED, MakeQA
from tests.fake_openai import assert_grounded

pytestmark = pytest.mark.embedded_only  # the store is not what is tested here


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("How much is Russia paying North Korea for its soldiers?", "money"),
        ("How many generals has North Korea sent?", "count"),
        ("At how many separate sites are the troops drilled?", "count"),
        ("How long are the troops trained?", "measure"),
        ("When did HUR say so?", "date"),
        ("On what date did the parliament ratify the agreement?", "date"),
        ("What are the names of the three generals?", "person"),
        ("Which Russian general commands the troops?", "person"),
        ("What is the name of the river?", "name"),
        ("In which city was the summit held?", "place"),
        ("Which NATO countries sent instructors?", "place"),
        ("Who did Moscow appoint?", "who"),
        ("Where are the bases?", "where"),
        ("Why did Moscow deny it?", "reason"),
        ("What is the maximum number of generals allowed at one base?", "count"),
        ("What exit status does the tool return on bad input?", "count"),
        ("What buffer size in bytes does the reader use?", "measure"),
        ("Which module should I use for secure random tokens?", "code"),
        ("Which exception does the parser raise on bad input?", "code"),
        ("Which environment variables set the temporary directory?", "code"),
        ("What did Putin say about the images?", None),
        ("What helps scientists to date fossils?", None),
        ("What makes SimpleQueue.put() safe to call from destructors?", "reason"),
        ("The ratio is 0.25 one way and 0.5 the other. How can that be?", "reason"),
        ("What makes up a UUID?", None),
        ("What is made by make_archive()?", None),
    ],
)
def test_answer_type_reads_what_the_question_asks_for(question: str, kind: str | None) -> None:
    assert answer_type(question) == kind


def test_a_date_is_not_a_count_and_a_count_is_not_money() -> None:
    registered = "Ukrainian spies registered soldiers in Russia’s Kursk region on Wednesday, the 23rd of October."
    assert not has_type("count", registered, "How many soldiers did the spies register?")
    assert has_type("date", registered, "On what date did the spies register them?")
    assert has_type("count", "Some 12 000 soldiers are in Russia.", "How many soldiers are in Russia?")
    assert not has_type("money", "Some 12 000 soldiers are in Russia.", "How much is Russia paying?")
    assert has_type("money", "Russia pays $2,000 a month per soldier.", "How much is Russia paying?")


def test_people_and_places_are_told_from_other_names() -> None:
    appointed = "Moscow has appointed Russian Deputy Defence Minister Yunus-bek Yevkurov to oversee the training."
    assert "Yunus-bek Yevkurov" in " ".join(people(appointed, "Which official oversees the training?"))
    three = "HUR said that some 12 000 North Korean soldiers, including three generals, are already in Russia."
    assert people(three, "What are the names of the North Korean generals?") == []
    assert places("The US had seen reports of North Korean troops in Kursk.", "In which region?") == ["Kursk"]
    assert places("Putin spoke of DPRK troops at the BRICS summit.", "In which city was the BRICS summit?") == []
    assert has_type(None, "Anything at all.", "What did he say?")


@pytest.fixture(scope="module")
def minilm() -> MiniLMEmbedder:
    return MiniLMEmbedder()


def test_encode_gives_the_embed_vector_and_one_row_per_wordpiece(minilm: MiniLMEmbedder) -> None:
    texts = ["Who oversees the training?", "", "word " * 600]
    encoded = minilm.encode(texts)
    for one, vector in zip(encoded, minilm.embed(texts), strict=True):
        assert np.allclose(one.vector, vector, atol=1e-5)
        assert len(one.words) == one.tokens.shape[0]
    assert encoded[0].words == ("Who", "oversees", "the", "training", "?")
    assert encoded[1].tokens.shape == (0, MiniLMEmbedder.dim)
    assert encoded[2].tokens.shape[0] == 600  # past 256 wordpieces: read in windows, every word kept


def test_alignment_meets_paraphrase_better_than_a_sentence_on_something_else(minilm: MiniLMEmbedder) -> None:
    question, on_topic, off_topic = minilm.encode(
        [
            "Who was put in charge of preparing the North Korean forces?",
            "Moscow has appointed Yevkurov to oversee the training and adaptation of DPRK troops.",
            "The images are a serious thing.",
        ]
    )
    assert alignment(question, on_topic) > alignment(question, off_topic) + 0.1
    nothing_asked = minilm.encode(["What is it?"])[0]
    assert alignment(nothing_asked, off_topic) == 1.0


@pytest.fixture
def seed_qa(make_qa: MakeQA, seed_folder: Path) -> QA:
    qa = make_qa(backend="extractive")
    qa.ingest([seed_folder])
    return qa


def test_the_odds_an_answer_needs_are_a_setting(make_qa: MakeQA, seed_folder: Path) -> None:
    question = "Who oversees the training of the North Korean troops?"
    usual = make_qa(backend="extractive")
    usual.ingest([seed_folder])
    assert not usual.ask(question).refused
    assert make_qa(backend="extractive", min_odds=1.0).ask(question).refused  # no sentence is that sure


def test_strict_asks_the_extractive_backend_for_higher_odds(seed_qa: QA) -> None:
    """Its answers are all quoted, so under --strict it answers only when it is surer: a question it answers at
    middling odds (with a sentence about the Kremlin's right to cooperate, not the pledge) is refused, a sure one
    is not."""
    middling = "What do Moscow and Pyongyang pledge to each other if one of them is attacked?"
    assert not seed_qa.ask(middling).refused
    assert seed_qa.ask(middling, strict=True).refused
    sure = seed_qa.ask("Who oversees the training of the North Korean troops?", strict=True)
    assert not sure.refused and "Yevkurov" in sure.text


@pytest.mark.parametrize(
    "question",
    [
        "On what date did the Russian Parliament ratify the partnership agreement with North Korea?",
        "How much is Russia paying North Korea for sending its soldiers?",
        "What are the names of the three North Korean generals in Russia?",
        "How many North Korean soldiers did Ukrainian intelligence register in the Kursk region?",
    ],
)
def test_a_question_the_article_almost_answers_is_refused(seed_qa: QA, question: str) -> None:
    answer = seed_qa.ask(question)
    assert_grounded(seed_qa, answer)
    assert answer.refused, answer.text


@pytest.mark.parametrize(
    ("question", "gold"),
    [
        ("On what date did Ukrainian spies register the soldiers in the Kursk region?", "23rd of October"),
        ("How many generals has North Korea sent to Russia?", "three generals"),
        ("Which official oversees the training of the DPRK troops?", "Yevkurov"),
    ],
)
def test_the_same_kinds_of_question_are_answered_when_the_article_says(seed_qa: QA, question: str, gold: str) -> None:
    answer = seed_qa.ask(question)
    assert_grounded(seed_qa, answer)
    assert not answer.refused
    assert any(gold in c.quote for c in answer.citations), answer.text


# --- documentation pages: sentences as a reader sees them, answers rather than announcements ------------

CARGO_HTML = """<!DOCTYPE html>
<html lang="en"><head><title>Hello, Cargo! - The Rust Programming Language</title></head><body><main>
<h2>Creating a Project with Cargo</h2>
<p>Let’s create a new project using Cargo and look at how it differs from our original “Hello, world!”
project. Navigate back to your <em>projects</em> directory (or wherever you decided to store your code).
Then, on any operating system, run the following:</p>
<pre><code class="language-console">$ cargo new hello_cargo
$ cd hello_cargo
</code></pre>
<p>The first command creates a new directory and project called <em>hello_cargo</em>. We’ve named our
project <em>hello_cargo</em>, and Cargo creates its files in a directory of the same name.</p>
</main></body></html>
"""

OWNERSHIP_HTML = """<html><head><title>What Is Ownership? - The Rust Programming Language</title></head><body>
<h1>What Is Ownership?</h1>
<p><em>Ownership</em> is a set of rules that govern how a Rust program manages memory. All programs have to
manage the way they use a computer’s memory while running.</p>
<h3>Ownership Rules</h3>
<p>First, let’s take a look at the ownership rules. Keep these rules in mind as we work through the
examples that illustrate them:</p>
<ul>
<li>Each value in Rust has an <em>owner</em>.</li>
<li>There can only be one owner at a time.</li>
<li>When the owner goes out of scope, the value will be dropped.</li>
</ul>
</body></html>
"""

VARIABLES_HTML = """<html><head><title>Variables and Mutability</title></head><body>
<h1>Variables and Mutability</h1>
<p>Variables are immutable by default. Although variables are immutable by default, you can make them
mutable by adding <code>mut</code> in front of the variable name, like this:</p>
<pre><code class="language-rust">    let mut x = 5;
    x = 6;
</code></pre>
<p>Adding <code>mut</code> also conveys intent to future readers of the code.</p>
</body></html>
"""

EVENTS_MD = """# Events

Much of the Node.js core API is built around an idiomatic asynchronous
event-driven architecture in which certain kinds of objects (called "emitters")
emit named events that cause `Function` objects ("listeners") to be called.

## `events.defaultMaxListeners`

By default, a maximum of `10` listeners can be registered for any single
event. This limit can be changed for individual `EventEmitter` instances
using the `emitter.setMaxListeners(n)` method. When more listeners are added,
a warning is printed to stderr.
"""


@pytest.fixture
def docs_qa(make_qa: MakeQA, tmp_path: Path) -> QA:
    """The seed article and four small documentation pages, each in the format it came in."""
    folder = tmp_path / "docs"
    folder.mkdir()
    shutil.copyfile(SEED, folder / SEED.name)
    for name, text in [
        ("ch01-03-hello-cargo.html", CARGO_HTML),
        ("ch04-01-what-is-ownership.html", OWNERSHIP_HTML),
        ("ch03-01-variables-and-mutability.html", VARIABLES_HTML),
        ("events.md", EVENTS_MD),
    ]:
        (folder / name).write_text(text, encoding="utf-8")
    qa = make_qa(backend="extractive")
    qa.ingest([folder])
    return qa


def quotes_of(qa: QA, question: str) -> list[str]:
    answer = qa.ask(question)
    assert_grounded(qa, answer)
    assert not answer.refused, answer.text
    return [c.quote for c in answer.citations]


def test_a_command_is_answered_with_the_command_not_a_sentence_about_it(docs_qa: QA) -> None:
    quotes = quotes_of(docs_qa, "What command creates a new Cargo project?")
    assert any("cargo new hello_cargo" in q for q in quotes), quotes
    assert not any(q.startswith("The first command") for q in quotes), quotes


def test_a_lead_in_is_answered_with_the_list_it_announces(docs_qa: QA) -> None:
    quotes = quotes_of(docs_qa, "What are the ownership rules?")
    rules = ["Each value in Rust has an owner.", "one owner at a time", "the value will be dropped"]
    assert all(rule in quotes[0] for rule in rules), quotes
    assert quotes[0].startswith("First, let’s take a look at the ownership rules.")


def test_a_hard_wrapped_markdown_sentence_is_quoted_to_its_end(docs_qa: QA) -> None:
    quotes = quotes_of(docs_qa, "By default, how many listeners before Node warns?")
    assert "By default, a maximum of `10` listeners can be registered for any single\nevent." in quotes, quotes


def test_a_keyword_answer_carries_no_code_from_the_page(docs_qa: QA) -> None:
    quotes = quotes_of(docs_qa, "Which keyword makes a variable mutable?")
    assert any("adding `mut` in front of the variable name" in q for q in quotes), quotes
    assert not any("let mut x" in q or "```" in q for q in quotes), quotes


def test_a_quotation_of_two_sentences_is_quoted_whole(docs_qa: QA) -> None:
    quotes = quotes_of(docs_qa, "What did Putin say about the satellite images?")
    whole = "“The images are a serious thing. If there are images, they reflect something.”"
    assert any(q.endswith(whole) for q in quotes), quotes


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        ("First, let’s take a look at the ownership rules.", True),
        ("Then, on any operating system, run the following:", True),
        ("The steps are as follows.", True),
        ("Use the following three steps to set it up.", True),
        ("In the following year, the treaty was signed.", False),
        ("“Let’s see how this process goes”, Putin said.", False),
        ("The first command creates a new directory.", False),
    ],
)
def test_announces(sentence: str, expected: bool) -> None:
    assert announces(sentence) is expected


def test_what_follows_an_announcement_is_its_list_or_snippet_not_long_code_or_the_next_section() -> None:
    text = (
        "Let’s look at the rules. Keep them in mind:\n\n- One owner.\n- One at a time.\n\n"
        "Run this:\n\n```\n$ cargo run\n```\n\n## Next\n\nMore text."
    )
    found = units(text)
    lead = next(i for i, u in enumerate(found) if text[u.start : u.end] == "Let’s look at the rules.")
    assert text[found[lead].start : found[following(found, lead, text)].end].endswith("- One at a time.")
    run = next(i for i, u in enumerate(found) if text[u.start : u.end] == "Run this:")
    assert text[found[run].start : found[following(found, run, text)].end] == "Run this:\n\n```\n$ cargo run"
    longer = "Run this:\n\n```\n$ cargo build\n$ cargo test\n$ cargo doc\n$ cargo run\n```\n"
    assert following(units(longer), 0, longer) == 0  # a program, not a snippet: its lines are candidates alone
    example = "You can make them mutable by adding `mut`, like this:\n\n```\nlet mut x = 5;\n```\n"
    assert following(units(example), 0, example) == 0  # an example of what the sentence already says
    headed = "They are as follows:\n\n## Rules\n\nOne owner."
    assert following(units(headed), 0, headed) == 0  # a heading starts something else


CODECS_HTML = """<html><head><title>codecs: Codec registry and base classes</title></head><body>
<h1>Standard Encodings</h1>
<p>Python comes with a number of codecs built-in. The following table lists the codecs by name, together
with a few common aliases, and the languages for which the encoding is likely used.</p>
<table class="docutils">
<thead><tr class="row-odd"><th class="head"><p>Codec</p></th><th class="head"><p>Aliases</p></th>
<th class="head"><p>Languages</p></th></tr></thead>
<tbody>
<tr class="row-even"><td><p>cp1257</p></td>
<td><p>windows-1257</p></td>
<td><p>Baltic languages</p></td>
</tr>
<tr class="row-odd"><td><p>cp1258</p></td>
<td><p>windows-1258</p></td>
<td><p>Vietnamese</p></td>
</tr>
<tr class="row-even"><td><p>euc_jp</p></td>
<td><p>eucjp, ujis, u-jis</p></td>
<td><p>Japanese</p></td>
</tr>
</tbody></table>
<p>The codecs module defines a set of base classes which define the interfaces for working with codec
objects, and can also be used as the basis for custom codec implementations.</p>
</body></html>
"""


def test_a_table_row_named_by_one_cell_answers_with_the_whole_row(make_qa: MakeQA, tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "codecs.html").write_text(CODECS_HTML, encoding="utf-8")
    qa = make_qa(backend="extractive")
    qa.ingest([tmp_path / "docs"])
    text = qa.store.document(qa.documents()[0].doc_id).text
    assert "cp1258\twindows-1258\tVietnamese\n" in text  # a Sphinx table: paragraphs inside cells, one line a row
    quotes = quotes_of(qa, "For which language is the cp1258 codec used?")
    assert quotes[0] == "cp1258\twindows-1258\tVietnamese", quotes


KETTLE_HTML = """<html><head><title>Kitchen FAQ</title></head><body>
<h1>Kitchen FAQ</h1>
<h3>How do I stop the kettle from scaling up?<a class="headerlink" href="#scale">¶</a></h3>
<p>Use the <code>descale</code> tablets. Drop one into a full kettle once a month and boil it twice.</p>
<h3>Can I fill the kettle from the garden tap?<a class="headerlink" href="#tap">¶</a></h3>
<p>Kettles in old farmhouses were often filled from the garden tap. That habit is unsafe, because garden hoses
can leach lead into the water that stands in them. Fill the kettle from the kitchen tap.</p>
</body></html>
"""


@pytest.fixture
def kitchen_qa(make_qa: MakeQA, tmp_path: Path) -> QA:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "kitchen.html").write_text(KETTLE_HTML, encoding="utf-8")
    qa = make_qa(backend="extractive")
    qa.ingest([tmp_path / "docs"])
    return qa


def test_a_question_heading_is_answered_with_what_follows_it(kitchen_qa: QA) -> None:
    quotes = quotes_of(kitchen_qa, "What should I use to keep my kettle from scaling up?")
    assert quotes[0].startswith("How do I stop the kettle from scaling up?"), quotes
    assert "Use the `descale` tablets." in quotes[0], quotes


def test_a_why_question_is_answered_with_the_reason_not_the_premise(kitchen_qa: QA) -> None:
    quotes = quotes_of(kitchen_qa, "Why is filling kettles from the garden tap unsafe?")
    assert "because garden hoses" in quotes[0], quotes


def test_a_section_number_is_not_a_count() -> None:
    assert not has_type("count", "8.10. Enriching Exceptions with Notes", "How many notes can it hold?")
    assert has_type("count", "An exception can hold 8 notes.", "How many notes can it hold?")
    assert not has_type("measure", "3.2. Buffers", "What buffer size in bytes does it use?")
    assert has_type("measure", "2.5 seconds is the default.", "How long is the wait in seconds?")


@pytest.mark.parametrize(
    ("sentence", "gives"),
    [
        ("That habit is unsafe, because hoses leach lead.", True),
        ("This will keep os.open() from shadowing the built-in open().", True),
        ("Since the cache is shared, writes take a lock.", True),
        ("The lock has been held since 2020.", False),
        ("Kettles were often filled from the garden tap.", False),
    ],
)
def test_a_reason_is_told_from_a_statement(sentence: str, gives: bool) -> None:
    assert has_type("reason", sentence, "Why?") is gives


def test_a_sentence_two_documents_share_is_quoted_once(make_qa: MakeQA, tmp_path: Path) -> None:
    # a library page and its copy in a tutorial say the same sentence: quoting both adds nothing
    (tmp_path / "docs").mkdir()
    shared = "If the heap is empty, IndexError is raised."
    (tmp_path / "docs" / "heapq.txt").write_text(
        f"The heappop function pops and returns the smallest item from the heap. {shared}\n", encoding="utf-8"
    )
    (tmp_path / "docs" / "tutorial.txt").write_text(
        f"Heaps are lists kept in heap order. Popping takes the smallest item. {shared}\n", encoding="utf-8"
    )
    qa = make_qa(backend="extractive")
    qa.ingest([tmp_path / "docs"])
    quotes = quotes_of(qa, "Which exception does heappop raise when the heap is empty?")
    assert quotes[0] == shared and quotes.count(shared) == 1, quotes
