"""`qa.text.sentences`: sentences as a reader sees them, on the text every loader produces (Markdown, plain text,
HTML, PDF). Each case is a small document written in each format, loaded with `qa.ingest.loaders.load`, and cut
with `units`; units are compared with their whitespace collapsed (PDF lines wrap where fpdf2 puts them)."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest
from fpdf import FPDF

from qa.ingest.loaders import load
from qa.text.sentences import sentence_spans, units

FORMATS = ["md", "txt", "html", "pdf"]
Block = tuple[str, str]  # ("p" a paragraph | "code" lines in a fixed-width font, text) for the PDF


def make_pdf(blocks: list[Block]) -> bytes:
    pdf = FPDF()
    pdf.add_page()
    for style, text in blocks:
        pdf.set_font("courier" if style == "code" else "helvetica", size=10 if style == "code" else 11)
        pdf.multi_cell(0, 6, text, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def read(tmp_path: Path, fmt: str, source: str | list[Block]) -> str:
    """The text the loader gives for `source` saved as a `fmt` file."""
    path = tmp_path / f"doc.{fmt}"
    path.write_bytes(make_pdf(source) if isinstance(source, list) else source.encode("utf-8"))
    return load(path, 10_000_000).text


def flat(piece: str) -> str:
    return " ".join(piece.split())


def pieces(text: str) -> list[str]:
    """The units of `text`, whitespace collapsed, after checking that each is an exact, trimmed span and
    that they come in order without overlapping."""
    found = units(text)
    for unit in found:
        assert text[unit.start : unit.end] == text[unit.start : unit.end].strip()
    assert all(a.end <= b.start for a, b in itertools.pairwise(found))
    assert [(u.start, u.end) for u in found] == sentence_spans(text)
    return [flat(text[u.start : u.end]) for u in found]


# --- hard-wrapped lines are one sentence ------------------------------------------------------------------

WRAPPED = (
    "By default, a maximum of 10 listeners can be registered for any single\n"
    "event. This limit can be changed for individual EventEmitter instances\n"
    "using the emitter.setMaxListeners(n) method. If this value is not a positive\n"
    "number, a RangeError is thrown."
)
WRAPPED_SOURCES: dict[str, str | list[Block]] = {
    "md": "## Default listeners\n\n" + WRAPPED.replace("10", "`10`") + "\n",
    "txt": "Default listeners\n\n" + WRAPPED + "\n",
    "html": f"<h2>Default listeners</h2>\n<p>{WRAPPED}</p>",
    "pdf": [("p", "Default listeners"), ("p", WRAPPED.replace("\n", " "))],
}


@pytest.mark.parametrize("fmt", FORMATS)
def test_hard_wrapped_lines_are_joined_into_one_sentence(tmp_path: Path, fmt: str) -> None:
    found = pieces(read(tmp_path, fmt, WRAPPED_SOURCES[fmt]))
    first = "By default, a maximum of 10 listeners can be registered for any single event."
    assert first in [p.replace("`", "") for p in found]
    limit = "This limit can be changed for individual EventEmitter instances"
    assert found[-2] == f"{limit} using the emitter.setMaxListeners(n) method."
    assert found[-1] == "If this value is not a positive number, a RangeError is thrown."
    assert found[0].lstrip("# ") == "Default listeners"  # a heading stays a unit of its own


def test_a_joined_sentence_keeps_its_line_break_at_its_offsets() -> None:
    text = "intro\n\n" + WRAPPED
    s, e = sentence_spans(text)[1]
    assert text[s:e] == "By default, a maximum of 10 listeners can be registered for any single\nevent."


def test_a_markdown_hard_line_break_is_kept() -> None:
    wrapped = "Roses are red and this line is long enough that it could have wrapped"
    assert len(pieces(f"{wrapped}\nviolets are blue.")) == 1
    assert len(pieces(f"{wrapped}  \nviolets are blue.")) == 2
    assert len(pieces(f"{wrapped}\\\nviolets are blue.")) == 2


def test_short_lines_and_finished_sentences_are_not_joined() -> None:
    poem = "Roses are red\nViolets are blue\nSugar is sweet"
    assert pieces(poem) == ["Roses are red", "Violets are blue", "Sugar is sweet"]
    assert pieces("A heading\nLine two. Three.") == ["A heading", "Line two.", "Three."]


FORMULA = (
    "Ozone is produced in the upper atmosphere when O\n2 combines with atomic oxygen made by the splitting of"
    " O\n2 by ultraviolet (UV) radiation. Trioxygen (O\n3) is very reactive; silica (SiO\n2) and alumina (Al\n2O\n3)"
    " are not."
)
FORMULA_SOURCES: dict[str, str | list[Block]] = {
    "md": FORMULA + "\n",
    "txt": FORMULA + "\n",
    "html": "<p>" + FORMULA.replace("\n", "<br>") + "</p>",
    "pdf": [("p", FORMULA)],
}


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_formula_cut_from_its_subscript_by_a_line_break_stays_in_its_sentence(tmp_path: Path, fmt: str) -> None:
    text = read(tmp_path, fmt, FORMULA_SOURCES[fmt])
    assert "O\n2" in text or fmt == "pdf"  # the loaders keep the break (fpdf2 may wrap elsewhere)
    assert pieces(text) == [
        "Ozone is produced in the upper atmosphere when O 2 combines with atomic oxygen made by the splitting of"
        " O 2 by ultraviolet (UV) radiation.",
        "Trioxygen (O 3) is very reactive; silica (SiO 2) and alumina (Al 2O 3) are not.",
    ]


def test_a_numbered_line_after_a_capital_is_still_a_list_item() -> None:
    text = "The steps for plan A\n1) Pour the water.\n2) Stir it well."
    assert pieces(text) == ["The steps for plan A", "1) Pour the water.", "2) Stir it well."]


# --- a lead-in, then a list -------------------------------------------------------------------------------

LEAD = "First, let's take a look at the ownership rules. Keep these rules in mind as we work through them:"
RULES = [
    "Each value in Rust has an owner.",
    "There can only be one owner at a time.",
    "When the owner goes out of scope, the value will be dropped.",
]
LIST_SOURCES: dict[str, str | list[Block]] = {
    "md": f"### Ownership Rules\n\n{LEAD}\n\n" + "".join(f"* {r}\n" for r in RULES),
    "txt": f"Ownership Rules\n\n{LEAD}\n" + "".join(f"{n}. {r}\n" for n, r in enumerate(RULES, 1)),
    "html": f"<h3>Ownership Rules</h3><p>{LEAD}</p><ul>" + "".join(f"<li>{r}</li>" for r in RULES) + "</ul>",
    "pdf": [("p", "Ownership Rules"), ("p", LEAD)] + [("p", f"- {r}") for r in RULES],
}


@pytest.mark.parametrize("fmt", FORMATS)
def test_list_items_are_units_of_their_own(tmp_path: Path, fmt: str) -> None:
    found = pieces(read(tmp_path, fmt, LIST_SOURCES[fmt]))
    items = [re.sub(r"^([-*]|\d\.) ", "", p) for p in found[-3:]]
    assert items == RULES
    assert found[1:3] == ["First, let's take a look at the ownership rules.", LEAD.split(". ", 1)[1]]


def test_a_list_item_wrapped_onto_the_next_line_is_one_unit() -> None:
    text = "Steps:\n\n- Install the toolchain with the installer that matches your system and\n  restart the shell.\n"
    text += "- Run it."
    assert pieces(text) == [
        "Steps:",
        "- Install the toolchain with the installer that matches your system and restart the shell.",
        "- Run it.",
    ]
    assert [u.kind for u in units(text)] == ["prose", "item", "item"]


def test_one_overlong_line_does_not_hide_how_wide_a_list_was_wrapped() -> None:
    # an API reference's option list, wrapped at 80 columns, with one line made long by a link no editor breaks
    link = "[`socket.setKeepAlive([enable][, initialDelay])`][`socket.setKeepAlive(enable, initialDelay)`]"
    text = (
        "* `options` {Object}\n"
        "  * `keepAlive` {boolean} If set to `true`, it enables keep-alive functionality\n"
        f"    on the socket, similarly to {link}.\n"
        "    **Default:** `false`.\n"
        "  * `requireHostHeader` {boolean} If set to `true`, it forces the server to\n"
        "    respond with a 400 (Bad Request) status code to any HTTP/1.1\n"
        "    request message that lacks a Host header.\n"
    )
    assert (
        "* `requireHostHeader` {boolean} If set to `true`, it forces the server to respond with a 400 (Bad "
        "Request) status code to any HTTP/1.1 request message that lacks a Host header." in pieces(text)
    )


def test_a_line_that_starts_with_a_link_is_joined_when_the_link_would_not_fit_before() -> None:
    # Markdown formatters move a whole link to the next line rather than break it
    text = (
        "Streams are described in depth, with examples of each kind, in the chapter of this\n"
        "guide on the subject. The exact rules on backpressure can be found\n"
        "[in the stream implementer's guide](https://example.org/api/stream.html#buffering).\n"
    )
    assert pieces(text)[-1] == " ".join(text.split("\n")[1:]).split(". ", 1)[1].strip()


def test_link_reference_definitions_are_not_sentences() -> None:
    text = 'See the [guide][g] for more.\n\n[g]: https://example.org/guide "Guide"\n[h]: #anchor\n'
    assert [(u.kind, text[u.start : u.end]) for u in units(text)] == [
        ("prose", "See the [guide][g] for more."),
        ("mark", '[g]: https://example.org/guide "Guide"'),
        ("mark", "[h]: #anchor"),
    ]


def test_a_line_underlined_with_equals_or_dashes_is_a_heading() -> None:
    text = "Release Notes\n=============\n\nFixes since v2.1\n----------------\n\n* Fixed a bug.\n"
    text += "\nA first line of a paragraph that is wrapped\nat its second line.\n---\n"
    kinds = [(u.kind, text[u.start : u.end]) for u in units(text) if u.kind != "mark"]
    assert kinds[:2] == [("heading", "Release Notes"), ("heading", "Fixes since v2.1")]
    assert all(kind != "heading" for kind, _ in kinds[2:])  # a rule after a paragraph of two lines: no heading


# --- code is never glued into prose -----------------------------------------------------------------------

INTRO = "Then, on any operating system, run the following:"
AFTER = "The first command creates a new directory and project called hello_cargo."
CODE_SOURCES: dict[str, str | list[Block]] = {
    "md": f"{INTRO}\n```console\n$ cargo new hello_cargo\n$ cd hello_cargo\n```\n{AFTER}\n",
    "txt": f"{INTRO}\n\n    cargo new hello_cargo\n    cd hello_cargo\n\n{AFTER}\n",
    "html": f"<p>{INTRO}</p><pre><code class='language-console'>$ cargo new hello_cargo\n$ cd hello_cargo\n"
    f"</code></pre><p>{AFTER.replace('hello_cargo', '<em>hello_cargo</em>')}</p>",
    "pdf": [("p", INTRO), ("code", "$ cargo new hello_cargo\n$ cd hello_cargo"), ("p", AFTER)],
}


@pytest.mark.parametrize("fmt", FORMATS)
def test_code_lines_are_units_and_never_joined_to_prose(tmp_path: Path, fmt: str) -> None:
    text = read(tmp_path, fmt, CODE_SOURCES[fmt])
    found = [u for u in units(text) if u.kind != "mark"]  # fences
    said = [flat(text[u.start : u.end]) for u in found]
    assert said[0] == INTRO and said[-1] == AFTER
    assert [s.lstrip("$ ") for s in said[1:-1]] == ["cargo new hello_cargo", "cd hello_cargo"]
    assert {u.kind for u in found[1:-1]} == {"code"}


def test_code_in_a_fence_is_code_even_when_it_reads_like_prose() -> None:
    text = "Run it:\n\n```\nThe value of x is: 5\nThe value of x is: 6 and this line is long enough to wrap\n```"
    assert [u.kind for u in units(text)] == ["prose", "mark", "code", "code", "mark"]


def test_a_passage_that_starts_inside_a_code_block_reads_its_lines_as_code() -> None:
    text = "    x = 6;\n}\n```\n\nWhen we run the program now, we get this output. It works."
    assert [u.kind for u in units(text)] == ["code", "code", "mark", "prose", "prose"]


def test_a_passage_that_starts_at_the_fence_closing_a_code_block_reads_what_follows_as_prose() -> None:
    text = "```\n\nThe module keeps the input file.\n\n```\nimport gzip\n```\n\nBy default, the level is 6."
    assert [u.kind for u in units(text)] == ["mark", "prose", "mark", "code", "mark", "prose"]
    opening = "```\nimport gzip\n```\n\nBy default, the level is 6."  # a fence with code right after it opens
    assert [u.kind for u in units(opening)] == ["mark", "code", "mark", "prose"]


def test_inline_code_stays_inside_its_sentence() -> None:
    text = "You can make them mutable by adding `mut` in front of the\nvariable name. Then `x = 6;` compiles."
    assert pieces(text) == [
        "You can make them mutable by adding `mut` in front of the variable name.",
        "Then `x = 6;` compiles.",
    ]


# --- quotations -------------------------------------------------------------------------------------------

QUOTE = '"The images are a serious thing. If there are images, they reflect something."'
REPLY = f"Asked about satellite images of the troops, Putin replied: {QUOTE} He said nothing more."
QUOTE_SOURCES: dict[str, str | list[Block]] = {
    "md": f"# Summit\n\n{REPLY[:70]}\n{REPLY[71:]}\n",
    "txt": REPLY + "\n",
    "html": f"<p>{REPLY}</p>",
    "pdf": [("p", REPLY)],
}


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_quotation_of_two_sentences_stays_whole(tmp_path: Path, fmt: str) -> None:
    found = pieces(read(tmp_path, fmt, QUOTE_SOURCES[fmt]))
    assert found[-2:] == [
        f"Asked about satellite images of the troops, Putin replied: {QUOTE}",
        "He said nothing more.",
    ]


def test_the_seed_article_quotes_whole() -> None:
    text = (Path(__file__).resolve().parents[1] / "seeds" / "north-korean-troops-in-kursk.txt").read_text("utf-8")
    found = pieces(text)
    assert "“The images are a serious thing. If there are images, they reflect something.”" in found
    assert "“Let’s see how this process goes”, Putin said." in found
    assert "Putin’s North Korean soldiers are now in a combat zone, says Kyiv" in found


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('He said "Stop." Then he left.', ['He said "Stop."', "Then he left."]),
        ("It was over (for now.) Then it began.", ["It was over (for now.)", "Then it began."]),
        ("She wrote: “Go. Now.” They went.", ["She wrote: “Go. Now.”", "They went."]),
        ("An open “quote. Never closed. Ends here.", ["An open “quote.", "Never closed.", "Ends here."]),
    ],
)
def test_closing_marks_stay_with_their_sentence(text: str, expected: list[str]) -> None:
    assert pieces(text) == expected


# --- abbreviations, decimals, tables ----------------------------------------------------------------------

ABBREVIATED = "Dr. Smith measured 5.5 km, e.g. on foot, for the U.S. Army in v0.3.5. Then he slept."
ABBREVIATED_SOURCES: dict[str, str | list[Block]] = {
    "md": ABBREVIATED.replace(" for the", "\nfor the"),
    "txt": ABBREVIATED,
    "html": f"<p>{ABBREVIATED}</p>",
    "pdf": [("p", ABBREVIATED)],
}


@pytest.mark.parametrize("fmt", FORMATS)
def test_abbreviations_and_decimals_do_not_end_a_sentence(tmp_path: Path, fmt: str) -> None:
    first, second = ABBREVIATED.split(" Then ")
    assert pieces(read(tmp_path, fmt, ABBREVIATED_SOURCES[fmt])) == [first, f"Then {second}"]


TABLE_MD = "| Command | What it does |\n| --- | --- |\n| `cargo build` | Builds the project. |\n"
TABLE_HTML = (
    "<table><tr><th>Command</th><th>What it does</th></tr>"
    "<tr><td><code>cargo build</code></td><td>Builds the project.</td></tr></table>"
)


TABLE_SPHINX = (  # cells that hold paragraphs, as Sphinx writes them: still one line a row
    "<table><thead><tr><th><p>Command</p></th><th><p>What it does</p></th></tr></thead><tbody>\n"
    "<tr><td><p><code>cargo build</code></p></td>\n<td><p>Builds the</p><p>project.</p></td>\n</tr></tbody></table>"
)


@pytest.mark.parametrize(("fmt", "source"), [("md", TABLE_MD), ("html", TABLE_HTML), ("html", TABLE_SPHINX)])
def test_table_cells_are_units_of_their_own(tmp_path: Path, fmt: str, source: str) -> None:
    text = read(tmp_path, fmt, source)
    cells = [flat(text[u.start : u.end]) for u in units(text) if u.kind == "cell"]
    assert cells == ["Command", "What it does", "`cargo build`", "Builds the project."]


def test_spans_of_a_slice_point_into_the_whole_text() -> None:
    text = "Skip this. Take this one, wrapped\nover two lines. Skip again."
    start, end = text.index("Take"), text.index(" Skip again")
    assert [text[s:e] for s, e in sentence_spans(text, start, end)] == ["Take this one, wrapped\nover two lines."]
