"""`qa.text.lines`: which lines of a Markdown or text document are prose, and which lines a writer broke inside a
sentence. Read through `qa.text.sentences.units`, as every caller reads them."""

from __future__ import annotations

from qa.text.sentences import units


def said(text: str) -> list[tuple[str, str]]:
    return [(u.kind, text[u.start : u.end]) for u in units(text)]


# --- HTML in Markdown ---------------------------------------------------------------------------------------

YAML = (
    "### `server.close()`\n\n<!-- YAML\nadded: v0.1.90\nchanges:\n  - version: v19.0.0\n"
    "    description: The server now closes idle connections\n-->\n\nStops the server from accepting new connections.\n"
)


def test_an_html_comment_is_data_never_prose() -> None:
    found = said(YAML)
    assert ("prose", "Stops the server from accepting new connections.") in found
    inside = [(kind, piece) for kind, piece in found if "v0.1.90" in piece or "idle connections" in piece]
    assert inside == [("code", "added: v0.1.90"), ("code", "description: The server now closes idle connections")]
    assert all(kind == "code" for kind, piece in found if piece.startswith(("<!--", "-->", "changes")))


def test_a_passage_that_starts_inside_an_html_comment_reads_it_as_data() -> None:
    text = YAML[YAML.index("changes:") :]
    found = said(text)
    assert [kind for kind, piece in found if "closes idle" in piece] == ["code"]
    assert found[-1] == ("prose", "Stops the server from accepting new connections.")


def test_an_arrow_at_a_line_end_is_not_the_end_of_a_comment() -> None:
    text = "Open the window (Start -->\nAccessories) and change the setting.\n\nThen restart. It works."
    assert said(text)[-2:] == [("prose", "Then restart."), ("prose", "It works.")]


def test_raw_html_is_read_as_markup_to_the_next_blank_line() -> None:
    text = (
        "<table>\n<tr>\n<th>Current</th>\n</tr>\n<tr>\n<td>\n<a href='#21.1.0'>21.1.0</a><br/>\n</td>\n</tr>\n"
        "</table>\n\nThe releases above are current.\n"
    )
    found = said(text)
    assert found[-1] == ("prose", "The releases above are current.")
    assert {kind for kind, _ in found[:-1]} == {"mark", "code"}
    assert ("mark", "<tr>") in found and ("code", "<th>Current</th>") in found


# --- sentences broken at a phrase (semantic line breaks) -------------------------------------------------------


def test_a_sentence_broken_at_a_phrase_is_one_sentence() -> None:
    text = (
        "If the `inputEncoding` is not\nprovided, `otherPublicKey` is expected to be a `Buffer`.\n\n"
        "Servers must\nimplement handlers for the `'newSession'` event. Clients may not.\n"
    )
    assert [piece for kind, piece in said(text)] == [
        "If the `inputEncoding` is not\nprovided, `otherPublicKey` is expected to be a `Buffer`.",
        "Servers must\nimplement handlers for the `'newSession'` event.",
        "Clients may not.",
    ]


def test_short_lines_that_never_end_a_sentence_stay_apart() -> None:
    contents = (
        "Copy operations\ncopytree example\nrmtree example\n- Archiving example with the platform's format\n"
        "- Archiving example with a custom format of your own\n"
    )
    assert [piece for _, piece in said(contents)][:3] == ["Copy operations", "copytree example", "rmtree example"]


def test_a_definition_under_its_term_is_not_joined_to_it() -> None:
    names = "exslt - main header file\nexsltexports - macros for marking symbols as exportable/importable.\n"
    assert [piece for _, piece in said(names)] == names.split("\n")[:2]
    text = "distribution root\n   the top-level directory of your source tree; where setup.py exists.\n"
    assert [piece for _, piece in said(text)] == [
        "distribution root",
        "the top-level directory of your source tree; where setup.py exists.",
    ]


def test_code_broken_over_lines_is_not_read_as_a_sentence_broken_at_a_phrase() -> None:
    text = "static int\nimport_spam(void) is declared first, before the other functions of the module.\n"
    assert next(piece for _, piece in said(text)) == "static int"
