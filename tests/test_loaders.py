"""Tests for qa.ingest.loaders: real files in tmp_path, no mocks."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from fpdf import FPDF
from fpdf.enums import EncryptionMethod

from qa.errors import IngestError
from qa.ingest.loaders import SUPPORTED, discover, load
from qa.records import Document

MB = 1024 * 1024
SEED = Path(__file__).resolve().parents[1] / "seeds" / "north-korean-troops-in-kursk.txt"
SUPPORTED_MSG = "(supported: .docx, .epub, .html, .htm, .md, .markdown, .pdf, .pptx, .txt)"


def write(path: Path, data: bytes | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def reason_of(path: Path, max_bytes: int = 50 * MB) -> str:
    with pytest.raises(IngestError) as info:
        load(path, max_bytes)
    assert info.value.path == str(path)
    assert "\n" not in info.value.reason
    return info.value.reason


def make_pdf(pages: list[str], user_password: str | None = None) -> bytes:
    pdf = FPDF()
    pdf.set_font("helvetica", size=12)
    for text in pages:
        pdf.add_page()
        if text:
            pdf.multi_cell(0, 10, text)
    if user_password is not None:
        pdf.set_encryption(owner_password="owner", user_password=user_password, encryption_method=EncryptionMethod.RC4)
    return bytes(pdf.output())


# --- plain text and markdown -------------------------------------------------------------------------


KINDS = {".txt": "text", ".md": "markdown", ".markdown": "markdown", ".html": "html", ".htm": "html", ".pdf": "pdf"}
PACKAGES = {".docx": "Word document", ".pptx": "PowerPoint file", ".epub": "EPUB book"}  # zip packages


def test_supported_extensions_are_discovered_in_any_case_and_each_reaches_its_reader(tmp_path: Path) -> None:
    assert KINDS.keys() | PACKAGES.keys() == SUPPORTED
    for ext in SUPPORTED:
        data = make_pdf([PAGE1]) if ext == ".pdf" else "<p>Not a zip archive, but text.</p>"
        write(tmp_path / f"lower{ext}", data)
        write(tmp_path / f"upper{ext.upper()}", data)
    files, failed, skipped = discover([tmp_path])
    assert (failed, skipped) == ([], [])
    assert len(files) == 2 * len(SUPPORTED)
    for path in files:
        ext = path.suffix.lower()
        if ext in PACKAGES:  # read by the package's own reader, which says what it expected
            assert reason_of(path).startswith(f"not a readable {PACKAGES[ext]} (not a zip archive"), path
        else:
            assert load(path, MB).kind == KINDS[ext], path


def test_txt_round_trip_keeps_everything_but_line_endings(tmp_path: Path) -> None:
    raw = "\ufeffline one\r\nline two\rline three\n\n  café — 😀 naïve Ωμέγα \t\n".encode()
    path = write(tmp_path / "notes.txt", raw)
    doc = load(path, 50 * MB)
    assert doc.kind == "text"
    assert doc.path == str(path)
    assert doc.page_starts == ()
    assert doc.text == "\ufeffline one\nline two\nline three\n\n  café — 😀 naïve Ωμέγα \t\n"
    assert doc.text.startswith("\ufeff")  # BOM kept, so offsets match the file's characters
    assert doc.text == raw.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")


def test_txt_without_cr_is_exactly_the_file(tmp_path: Path) -> None:
    raw = "\n\n  leading blank lines\n\ttabs\tkept  \ntrailing spaces   \n\n\n"
    path = write(tmp_path / "plain.txt", raw)
    text = load(path, 50 * MB).text
    assert text == raw
    assert text[text.index("tabs") - 1] == "\t"


@pytest.mark.parametrize("name", ["readme.md", "guide.markdown", "UPPER.MD"])
def test_markdown_is_kept_verbatim(tmp_path: Path, name: str) -> None:
    raw = "# Title\r\n\r\nSome *emphasis* and a [link](http://x).\r\n\r\n- item\r\n"
    doc = load(write(tmp_path / name, raw), 50 * MB)
    assert doc.kind == "markdown"
    assert doc.text == "# Title\n\nSome *emphasis* and a [link](http://x).\n\n- item\n"


def test_seed_article_round_trips(tmp_path: Path) -> None:
    raw = SEED.read_bytes()
    assert b"\r" not in raw
    doc = load(SEED, 50 * MB)
    assert doc.kind == "text"
    assert doc.text == raw.decode("utf-8")
    at = doc.text.index("Moscow has appointed")
    assert doc.text[at:].startswith("Moscow has appointed")


# --- HTML ---------------------------------------------------------------------------------------------

PAGE = """<!DOCTYPE html>
<html><head>
  <title>  The   Report </title>
  <meta charset="utf-8"><link rel="stylesheet" href="x.css">
  <style>body { color: red; } .secret-css {}</style>
  <script>var secretScript = "do not index";</script>
</head>
<body>
  <h1>Main heading</h1>
  <p>Hello <b>world</b>! A <a href="/x">link</a>, <em>emphasis</em>, <span>span</span> and
     <code>code()</code>     stay     on one line.</p>
  <!-- a comment that must not appear -->
  <div>first div</div><div>second div</div>
  <ul><li>apple</li><li>banana</li></ul>
  <p>Fish &amp; chips &lt;cheap&gt; caf&eacute; &#8212; &#x41;&copy;</p>
  <table><tr><td>r1c1</td><td>r1c2</td></tr><tr><td>r2c1</td><td>r2c2</td></tr></table>
  line a<br>line b
  <noscript>enable javascript</noscript>
  <template><p>template text</p></template>
  <svg><title>svg title</title><text>svg text</text></svg>
  <script type="text/javascript">alert("bodyScript")</script>
</body></html>
"""


def test_html_visible_text(tmp_path: Path) -> None:
    doc = load(write(tmp_path / "page.html", PAGE), 50 * MB)
    assert doc.kind == "html"
    assert doc.page_starts == ()
    lines = doc.text.split("\n")
    assert lines[0] == "The Report"
    assert "Main heading" in lines
    assert "Hello world! A link, emphasis, span and `code()` stay on one line." in lines
    assert "Fish & chips <cheap> café — A©" in lines
    assert lines.index("second div") == lines.index("first div") + 1
    assert lines.index("banana") == lines.index("apple") + 1
    assert "r1c1\tr1c2" in lines and "r2c1\tr2c2" in lines  # a tab between cells, as a browser copies them
    assert lines.index("line b") == lines.index("line a") + 1
    for hidden in (
        "secret",
        "color",
        "do not index",
        "comment",
        "javascript",
        "template text",
        "svg",
        "bodyScript",
        "DOCTYPE",
        "charset",
    ):
        assert hidden not in doc.text


def test_html_layout_rules(tmp_path: Path) -> None:
    text = load(write(tmp_path / "page.html", PAGE), 50 * MB).text
    assert text == text.strip()
    assert "\n\n\n" not in text
    assert "  " not in text
    assert all("\t" not in line or line.count("\t") == 1 for line in text.split("\n"))  # only between cells
    assert all(line == line.strip() for line in text.split("\n"))
    # paragraphs are separated by one blank line
    assert "Main heading\n\nHello world!" in text


CODE_PAGE = """<html><body>
<p>Run the following:</p>
<pre><code class="language-console">$ cargo new hello_cargo
$ cd hello_cargo
</code></pre>
<p>Make it mutable with <code>mut</code>:</p>
<div class="listing"><pre><pre class="playground"><code class="language-rust">fn main() {
    let mut x = <span class="number">5</span>;   <script>hidden()</script>

    x = 6;
}</code></pre></pre></div>
<pre>plain   preformatted</pre>
</body></html>
"""


def test_html_code_is_marked_as_markdown_writes_it(tmp_path: Path) -> None:
    text = load(write(tmp_path / "code.html", CODE_PAGE), 50 * MB).text
    assert text == (
        "Run the following:\n\n```console\n$ cargo new hello_cargo\n$ cd hello_cargo\n```\n\n"
        "Make it mutable with `mut`:\n\n"
        "```rust\nfn main() {\n    let mut x = 5;\n\n    x = 6;\n}\n```\n\n"
        "```\nplain   preformatted\n```"
    )


def test_html_code_inside_a_paragraph_keeps_its_spaces_collapsed(tmp_path: Path) -> None:
    markup = "<p>Call <code>emitter.setMaxListeners(n)</code>   or <code> </code>nothing.</p>"
    assert load(write(tmp_path / "x.html", markup), 50 * MB).text == "Call `emitter.setMaxListeners(n)` or nothing."


def test_html_inline_tags_do_not_break_lines(tmp_path: Path) -> None:
    doc = load(write(tmp_path / "x.htm", "<p>Hello <b>world</b>!</p>"), 50 * MB)
    assert doc.kind == "html"
    assert doc.text == "Hello world!"


def test_html_unclosed_head_keeps_body(tmp_path: Path) -> None:
    # html.parser nests <body> inside an unclosed <head>; the body text must survive
    markup = "<html><head><title>T</title><body><p>body text</p><p>more</p></body></html>"
    assert load(write(tmp_path / "x.html", markup), 50 * MB).text == "T\n\nbody text\n\nmore"


def test_html_without_visible_text_is_empty(tmp_path: Path) -> None:
    path = write(tmp_path / "x.html", "<html><head><script>var a = 1;</script></head><body> </body></html>")
    assert reason_of(path) == "empty file, nothing to index"


# --- PDF ----------------------------------------------------------------------------------------------

PAGE1 = "Alpha page one. The quick brown fox."
PAGE3 = "Gamma page three.\nSecond line of page three."


def test_pdf_pages_and_offsets(tmp_path: Path) -> None:
    path = write(tmp_path / "doc.pdf", make_pdf([PAGE1, "", PAGE3]))
    doc = load(path, 50 * MB)
    assert doc.kind == "pdf"
    assert len(doc.page_starts) == 3
    assert doc.page_starts[0] == 0
    assert list(doc.page_starts) == sorted(doc.page_starts)
    assert doc.text[doc.page_starts[0] :].startswith(PAGE1)
    assert doc.text[doc.page_starts[2] :].startswith(PAGE3)
    # the blank page 2 keeps its slot, so page numbers stay true
    assert doc.text[doc.page_starts[1] : doc.page_starts[2]].strip() == ""
    assert doc.text == PAGE1 + "\n\n" + "" + "\n\n" + PAGE3
    stored = Document(doc_id="d", source=doc.path, text=doc.text, chunks=1, page_starts=doc.page_starts)
    assert stored.page_at(doc.text.index("quick")) == 1
    assert stored.page_at(doc.text.index("Second line")) == 3


def test_pdf_every_page_at_its_offset(tmp_path: Path) -> None:
    pages = [f"Page number {i} says hello." for i in range(1, 6)]
    doc = load(write(tmp_path / "five.pdf", make_pdf(pages)), 50 * MB)
    assert len(doc.page_starts) == 5
    for start, page in zip(doc.page_starts, pages, strict=True):
        assert doc.text[start : start + len(page)] == page
    assert "\r" not in doc.text


def test_pdf_text_never_holds_a_nul(tmp_path: Path) -> None:
    """pypdf gives a NUL for a glyph it cannot map: it becomes a space, so no chunk holds one, and offsets
    still point into the text."""
    doc = load(write(tmp_path / "nul.pdf", make_pdf(["Glaciers are\x00slow rivers of ice."])), 50 * MB)
    assert doc.text == "Glaciers are slow rivers of ice."


def test_pypdf_warnings_name_their_file(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """pypdf's own warnings are bare lines ("incorrect startxref pointer(3)"); each now comes after the name of
    the file it is about, and none is printed without it."""
    good = make_pdf([PAGE1])
    start = good.rindex(b"startxref\n") + len(b"startxref\n")
    end = good.index(b"\n", start)
    broken = write(tmp_path / "bad xref.pdf", good[:start] + str(int(good[start:end]) + 7).encode() + good[end:])
    with caplog.at_level(logging.WARNING):
        doc = load(broken, 50 * MB)
    assert doc.text == PAGE1  # read all the same
    lines = [record.getMessage() for record in caplog.records]
    assert any("startxref" in line for line in lines), lines
    assert all(line.startswith(f"{broken}: ") for line in lines), lines
    assert {record.name for record in caplog.records} == {"qa.ingest.pdf_text"}


MALFORMED: dict[str, Callable[[], bytes]] = {
    "random-bytes": lambda: os.urandom(4096),
    "truncated": lambda: make_pdf([PAGE1, PAGE3])[:300],
    "cut-in-half": lambda: make_pdf([PAGE1, PAGE3])[: len(make_pdf([PAGE1, PAGE3])) // 2],
    "header-only": lambda: b"%PDF-1.4\n",
    "text-named-pdf": lambda: b"this is plain text, not a PDF at all\n",
}


@pytest.mark.parametrize("kind", sorted(MALFORMED))
def test_malformed_pdf(tmp_path: Path, kind: str) -> None:
    reason = reason_of(write(tmp_path / "broken.pdf", MALFORMED[kind]()))
    assert reason.startswith("not a readable PDF (")
    assert reason.endswith(")")


def test_pdf_with_only_blank_pages(tmp_path: Path) -> None:
    reason = reason_of(write(tmp_path / "scan.pdf", make_pdf(["", ""])))
    assert reason == "no extractable text in the PDF (scanned images? run OCR first)"


def test_encrypted_pdf(tmp_path: Path) -> None:
    path = write(tmp_path / "locked.pdf", make_pdf([PAGE1], user_password="secret"))
    assert reason_of(path) == "the PDF is encrypted; decrypt it first"


def test_pdf_encrypted_with_empty_password_opens(tmp_path: Path) -> None:
    doc = load(write(tmp_path / "open.pdf", make_pdf([PAGE1], user_password="")), 50 * MB)
    assert doc.text == PAGE1


# --- errors -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["empty.txt", "empty.md", "empty.html", "empty.pdf"])
def test_empty_file(tmp_path: Path, name: str) -> None:
    assert reason_of(write(tmp_path / name, b"")) == "empty file, nothing to index"


@pytest.mark.parametrize("name", ["blank.txt", "blank.markdown", "blank.htm"])
def test_whitespace_only_file(tmp_path: Path, name: str) -> None:
    assert reason_of(write(tmp_path / name, " \r\n\t \n\n   ")) == "empty file, nothing to index"


@pytest.mark.parametrize("name", ["data.txt", "data.md", "data.html"])
def test_binary_file(tmp_path: Path, name: str) -> None:
    path = write(tmp_path / name, b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    assert reason_of(path) == "binary file, not text"


@pytest.mark.parametrize("name", ["late.txt", "late.md", "late.html"])
def test_a_nul_byte_past_the_first_8_kb_is_refused_too(tmp_path: Path, name: str) -> None:
    """A NUL far into a text file used to be indexed: the file is refused as binary, with where the NUL is."""
    prose = "Plain text that looks fine at first.\n" * 300  # 11,100 bytes
    path = write(tmp_path / name, prose.encode() + b"hidden\x00byte\n" + prose.encode())
    assert reason_of(path) == f"binary file, not text (a NUL byte at offset {len(prose) + 6})"


def test_invalid_utf8(tmp_path: Path) -> None:
    path = write(tmp_path / "latin1.txt", b"caf\xe9")
    assert reason_of(path) == "not valid UTF-8 (byte 0xe9 at offset 3); re-save it as UTF-8"


def test_invalid_utf8_html(tmp_path: Path) -> None:
    path = write(tmp_path / "latin1.html", b"<p>ok</p>" + b"\n<p>na\xefve</p>")
    assert reason_of(path) == "not valid UTF-8 (byte 0xef at offset 15); re-save it as UTF-8"


def test_file_too_large(tmp_path: Path) -> None:
    path = write(tmp_path / "big.txt", "x" * 11)
    reason = reason_of(path, max_bytes=10)
    assert reason.startswith("file is too large (")
    assert reason.endswith("raise it with --max-file-mb / QA_MAX_FILE_MB)")
    assert load(path, max_bytes=11).text == "x" * 11


def test_file_too_large_is_checked_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "huge.pdf"
    with path.open("wb") as fh:  # sparse: big on stat, nothing to read
        fh.truncate(200 * MB)
    assert reason_of(path, max_bytes=50 * MB) == (
        "file is too large (200 MB; the limit is 50 MB; raise it with --max-file-mb / QA_MAX_FILE_MB)"
    )


def test_unreadable_file(tmp_path: Path) -> None:
    link = tmp_path / "dangling.txt"
    link.symlink_to(tmp_path / "gone.txt")
    assert reason_of(link) == "cannot read the file (No such file or directory)"


def test_folder_named_like_a_file(tmp_path: Path) -> None:
    folder = tmp_path / "folder.txt"
    folder.mkdir()
    assert reason_of(folder) == "not a regular file"


def test_load_rejects_unsupported_extension(tmp_path: Path) -> None:
    path = write(tmp_path / "photo.png", b"not really")
    assert reason_of(path) == f"unsupported file type .png {SUPPORTED_MSG}"


# --- discover -----------------------------------------------------------------------------------------


def test_discover(tmp_path: Path) -> None:
    root = tmp_path / "docs"
    for rel in ["b.txt", "a.md", "sub/c.html", "sub/deeper/d.pdf", "sub/e.markdown", "z.htm"]:
        write(root / rel, "content")
    write(root / "image.png", b"\x89PNG")
    write(root / "sub" / "notes", "no extension")
    write(root / ".hidden.txt", "secret")
    write(root / ".git" / "config.txt", "secret")
    write(root / "sub" / ".cache" / "x.md", "secret")
    explicit_bad = write(tmp_path / "sheet.xlsx", b"PK")
    single = write(tmp_path / "single.txt", "one")
    missing = tmp_path / "nope"

    files, failed, skipped = discover(
        [root, str(missing), explicit_bad, single, root, str(single), root / "sub" / ".." / "a.md"]
    )

    assert files == [
        root / "a.md",
        root / "b.txt",
        root / "sub" / "c.html",
        root / "sub" / "deeper" / "d.pdf",
        root / "sub" / "e.markdown",
        root / "z.htm",
        single,
    ]
    assert failed == [
        (str(missing), "no such file or directory"),
        (str(explicit_bad), f"unsupported file type .xlsx {SUPPORTED_MSG}"),
    ]
    assert skipped == [
        (str(root / "image.png"), f"unsupported file type .png {SUPPORTED_MSG}"),
        (str(root / "sub" / "notes"), f"unsupported file type (no extension) {SUPPORTED_MSG}"),
    ]
    assert not any(part.startswith(".") for f in files for part in f.relative_to(tmp_path).parts)


def test_discover_then_load_every_file(tmp_path: Path) -> None:
    write(tmp_path / "one.txt", "first file")
    write(tmp_path / "two.md", "# second")
    write(tmp_path / "three.pdf", make_pdf([PAGE1]))
    files, failed, skipped = discover([tmp_path])
    assert (failed, skipped) == ([], [])
    loaded = {Path(d.path).name: d for d in (load(f, MB) for f in files)}
    assert loaded["one.txt"].text == "first file"
    assert loaded["two.md"].kind == "markdown"
    assert loaded["three.pdf"].text == PAGE1
    assert [f.name for f in files] == ["one.txt", "three.pdf", "two.md"]


def test_discover_empty_folder(tmp_path: Path) -> None:
    assert discover([tmp_path]) == ([], [], [])
