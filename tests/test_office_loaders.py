"""Word, PowerPoint and EPUB files, built by the tests themselves (python-docx, python-pptx, zipfile): their text
in reading order, the units it reads as, slides and chapters as pages in hits and citations, offsets that
round-trip, unreadable files refused on one line, and uploads through the HTTP service and the app."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from pathlib import Path

import docx
import httpx
import pytest
from pptx import Presentation
from pptx.util import Inches

from qa import QA, Settings
from qa.errors import IngestError
from qa.ingest.loaders import SUPPORTED, load
from qa.records import page_name
from qa.server.app import create_app, running
from qa.text.sentences import units
from tests.conftest import MakeQA, MemoEmbedder
from ui.library import UPLOAD_TYPES, add_uploads
from ui.pipeline import Pipeline

pytestmark = pytest.mark.embedded_only  # the loaders are what is tested, not the store

MB = 1024 * 1024
SLIDE_FACT = "The Fresnel lens let a lighthouse beam reach sailors far out at sea."
SLIDE_QUESTION = "What did the Fresnel lens let a lighthouse beam do?"
CHAPTER_FACT = "Hermit crabs move into larger shells as they grow."
CHAPTER_QUESTION = "What do hermit crabs move into as they grow?"


# --- fixture files ------------------------------------------------------------------------------------------


def make_docx() -> bytes:
    document = docx.Document()
    document.add_heading("Sourdough at home", 1)
    document.add_paragraph("A starter is a culture of wild yeast kept alive with flour and water.")
    document.add_paragraph("Feed it twice a day", style="List Bullet")
    document.add_paragraph("Keep it at room temperature", style="List Bullet")
    document.add_paragraph("Mix the dough", style="List Number")
    document.add_paragraph("Bake at 250 degrees", style="List Number")
    table = document.add_table(rows=2, cols=2)
    for (row, col), value in {(0, 0): "Flour", (0, 1): "500 g", (1, 0): "Water", (1, 1): "350 g"}.items():
        table.cell(row, col).text = value
    paragraph = document.add_paragraph("Rest the loaf\tone hour ")
    paragraph.add_run("before").add_break()
    paragraph.add_run("slicing it.")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


DOCX_TEXT = (
    "Sourdough at home\n\n"
    "A starter is a culture of wild yeast kept alive with flour and water.\n\n"
    "• Feed it twice a day\n• Keep it at room temperature\n1. Mix the dough\n2. Bake at 250 degrees\n\n"
    "Flour\t500 g\nWater\t350 g\n\n"
    "Rest the loaf one hour before\nslicing it."
)


def make_pptx() -> bytes:
    deck = Presentation()
    first = deck.slides.add_slide(deck.slide_layouts[1])
    low = first.shapes.add_textbox(Inches(1), Inches(6.5), Inches(6), Inches(0.5))  # added first, shown last
    low.text_frame.text = "Footer line at the bottom"
    first.shapes.title.text = "Tide pools"
    body = first.placeholders[1].text_frame
    body.text = "Sea anemones live in tide pools"
    body.add_paragraph().text = "Starfish live there too"
    first.notes_slide.notes_text_frame.text = "Say that tide pools form between high and low tide."
    deck.slides.add_slide(deck.slide_layouts[6])  # a slide with no text still counts
    third = deck.slides.add_slide(deck.slide_layouts[5])
    third.shapes.title.text = "Lighthouses"
    box = third.shapes.add_textbox(Inches(1), Inches(2), Inches(8), Inches(1))
    box.text_frame.text = SLIDE_FACT
    grid = third.shapes.add_table(2, 2, Inches(1), Inches(4), Inches(6), Inches(1)).table
    for (row, col), value in {(0, 0): "Lens", (0, 1): "Range", (1, 0): "Fresnel", (1, 1): "20 miles"}.items():
        grid.cell(row, col).text = value
    out = io.BytesIO()
    deck.save(out)
    return out.getvalue()


SLIDES = [
    "Tide pools\n\nSea anemones live in tide pools\n\nStarfish live there too\n\nFooter line at the bottom\n\n"
    "Say that tide pools form between high and low tide.",
    "",
    f"Lighthouses\n\n{SLIDE_FACT}\n\nLens\tRange\nFresnel\t20 miles",
]


def chapter(heading: str, body: str) -> str:
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE html>\n<html xmlns="http://www.w3.org/1999/xhtml">'
        f"<head><title>The Shore Book</title></head><body><h1>{heading}</h1>{body}</body></html>"
    )


def make_epub(extra: dict[str, str] | None = None, container: bool = True) -> bytes:
    """Three spine documents listed in another order in the manifest: a cover without text, two chapters."""
    files = {
        "OEBPS/content.opf": '<?xml version="1.0"?><package xmlns="http://www.idpf.org/2007/opf" version="3.0">'
        '<manifest><item id="two" href="text/two.xhtml" media-type="application/xhtml+xml"/>'
        '<item id="one" href="text/chapter%20one.xhtml" media-type="application/xhtml+xml"/>'
        '<item id="cover" href="cover.xhtml" media-type="application/xhtml+xml"/></manifest>'
        '<spine><itemref idref="cover"/><itemref idref="one"/><itemref idref="two"/></spine></package>',
        "OEBPS/cover.xhtml": chapter("", '<img src="cover.png" alt=""/>').replace("<h1></h1>", ""),
        "OEBPS/text/chapter one.xhtml": chapter(
            "Chapter One: Rocks", "<p>Barnacles filter plankton from the water.</p><ul><li>low</li><li>high</li></ul>"
        ),
        "OEBPS/text/two.xhtml": chapter("Chapter Two: Shells", f"<p>{CHAPTER_FACT}</p>"),
        **(extra or {}),
    }
    if container:
        files["META-INF/container.xml"] = (
            '<?xml version="1.0"?><container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">'
            '<rootfiles><rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/>'
            "</rootfiles></container>"
        )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("mimetype", "application/epub+zip", compress_type=zipfile.ZIP_STORED)
        for name, content in files.items():
            archive.writestr(name, content)
    return out.getvalue()


CHAPTERS = [
    "Chapter One: Rocks\n\nBarnacles filter plankton from the water.\n\nlow\nhigh",
    f"Chapter Two: Shells\n\n{CHAPTER_FACT}",
]


def write(folder: Path, name: str, data: bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(data)
    return path


# --- text, order and units ----------------------------------------------------------------------------------


def test_the_new_types_are_supported_everywhere() -> None:
    assert {".docx", ".pptx", ".epub"} <= SUPPORTED
    assert {"docx", "pptx", "epub"} <= set(UPLOAD_TYPES)  # the app's uploader takes its list from the loaders


def test_docx_reads_headings_paragraphs_lists_and_tables_in_order(tmp_path: Path) -> None:
    loaded = load(write(tmp_path, "bread.docx", make_docx()), 50 * MB)
    assert (loaded.kind, loaded.page_starts) == ("docx", ())
    assert loaded.text == DOCX_TEXT
    found = [(u.kind, loaded.text[u.start : u.end]) for u in units(loaded.text)]
    assert found[:2] == [("prose", "Sourdough at home"), ("prose", found[1][1])]  # the heading is a unit alone
    assert [t for k, t in found if k == "item"] == [
        "• Feed it twice a day",
        "• Keep it at room temperature",
        "1. Mix the dough",
        "2. Bake at 250 degrees",
    ]
    assert [t for k, t in found if k == "cell"] == ["Flour", "500 g", "Water", "350 g"]


def test_docx_numbering_restarts_nests_and_follows_the_list_format(tmp_path: Path) -> None:
    document = docx.Document()
    numbering = document.part.numbering_part.element
    numbering.append(
        numbering.makeelement(
            "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}abstractNum",
            {"{http://schemas.openxmlformats.org/wordprocessingml/2006/main}abstractNumId": "77"},
        )
    )
    abstract = numbering[-1]
    for level, fmt, text in ((0, "upperRoman", "%1."), (1, "lowerLetter", "%2)")):
        lvl = docx.oxml.parse_xml(
            '<w:lvl xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" '
            f'w:ilvl="{level}"><w:start w:val="1"/><w:numFmt w:val="{fmt}"/><w:lvlText w:val="{text}"/></w:lvl>'
        )
        abstract.append(lvl)
    numbering.append(
        docx.oxml.parse_xml(
            '<w:num xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" w:numId="78">'
            '<w:abstractNumId w:val="77"/></w:num>'
        )
    )
    for level, words in ((0, "Plan"), (1, "Buy flour"), (1, "Buy salt"), (0, "Bake"), (1, "Preheat")):
        paragraph = document.add_paragraph(words)
        paragraph._p.get_or_add_pPr().append(
            docx.oxml.parse_xml(
                '<w:numPr xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
                f'<w:ilvl w:val="{level}"/><w:numId w:val="78"/></w:numPr>'
            )
        )
    out = io.BytesIO()
    document.save(out)
    text = load(write(tmp_path, "plan.docx", out.getvalue()), 50 * MB).text
    assert text == "I. Plan\n  a) Buy flour\n  b) Buy salt\nII. Bake\n  a) Preheat"


def test_pptx_slides_are_pages_in_reading_order_with_notes_last(tmp_path: Path) -> None:
    loaded = load(write(tmp_path, "deck.pptx", make_pptx()), 50 * MB)
    assert loaded.kind == "pptx"
    assert loaded.text == "\n\n".join(SLIDES)
    assert loaded.page_starts == (0, len(SLIDES[0]) + 2, len(SLIDES[0]) + 4)
    assert loaded.text[loaded.page_starts[2] :].startswith("Lighthouses")
    found = [(u.kind, loaded.text[u.start : u.end]) for u in units(loaded.text)]
    assert ("prose", "Sea anemones live in tide pools") in found  # bullet points are never run together
    assert ("prose", "Starfish live there too") in found
    assert [t for k, t in found if k == "cell"] == ["Lens", "Range", "Fresnel", "20 miles"]


def test_epub_chapters_follow_the_spine_and_are_pages(tmp_path: Path) -> None:
    loaded = load(write(tmp_path, "shore.epub", make_epub()), 50 * MB)
    assert loaded.kind == "epub"
    assert loaded.text == "\n\n".join(CHAPTERS)  # no cover (no text), no <title> (a reader never sees it)
    assert loaded.page_starts == (0, len(CHAPTERS[0]) + 2)
    found = [(u.kind, loaded.text[u.start : u.end]) for u in units(loaded.text)]
    assert found[0] == ("prose", "Chapter One: Rocks")


# --- unreadable files ---------------------------------------------------------------------------------------


def zip_of(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return out.getvalue()


ENCRYPTION = (
    '<encryption xmlns="urn:oasis:names:tc:opendocument:xmlns:container" '
    'xmlns:enc="http://www.w3.org/2001/04/xmlenc#"><enc:EncryptedData>'
    '<enc:EncryptionMethod Algorithm="{}"/><enc:CipherData><enc:CipherReference URI="{}"/>'
    "</enc:CipherData></enc:EncryptedData></encryption>"
)
BROKEN = {
    "text.docx": (b"Just some text saved with the wrong name.\n", "not a readable Word document (not a zip archive"),
    "truncated.docx": (make_docx()[:3000], "not a readable Word document"),
    "legacy.docx": (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600), "password-protected or in the .doc format"),
    "other.pptx": (make_docx(), "not a readable PowerPoint file"),
    "empty-zip.pptx": (zip_of({"hello.txt": b"hi"}), "not a readable PowerPoint file"),
    "drm.epub": (
        make_epub({"META-INF/encryption.xml": ENCRYPTION.format("http://www.w3.org/2001/04/xmlenc#aes128-cbc", "x")}),
        "the EPUB is encrypted (DRM)",
    ),
    "adobe.epub": (make_epub({"META-INF/rights.xml": "<rights/>"}), "the EPUB is encrypted (DRM)"),
    "no-container.epub": (make_epub(container=False), "it has no META-INF/container.xml"),
    "bomb.epub": (zip_of({"zeros.xhtml": bytes(3 * MB)}), "unpacks to 3.0 MB, over 10 times the file size limit"),
    "corrupt.epub": (make_epub()[:-40], "not a readable EPUB book (not a zip archive"),
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_an_unreadable_file_gets_one_clear_line(tmp_path: Path, name: str) -> None:
    data, expected = BROKEN[name]
    path = write(tmp_path, name, data)
    with pytest.raises(IngestError) as info:
        load(path, int(0.25 * MB))
    assert expected in info.value.reason and "\n" not in info.value.reason
    assert info.value.path == str(path)


def test_a_fonts_only_obfuscated_epub_is_no_drm(tmp_path: Path) -> None:
    font = {"META-INF/encryption.xml": ENCRYPTION.format("http://www.idpf.org/2008/embedding", "OEBPS/f.otf")}
    assert load(write(tmp_path, "fonts.epub", make_epub(font)), 50 * MB).text == "\n\n".join(CHAPTERS)


def test_failures_lose_nothing_stored_and_the_rest_is_ingested(make_qa: MakeQA, tmp_path: Path) -> None:
    qa = make_qa(backend="extractive")
    deck = write(tmp_path / "docs", "deck.pptx", make_pptx())
    assert qa.ingest([deck]).ok
    before = qa.documents()
    deck.write_bytes(b"now plain text, not a deck\n")  # the stored version must survive this
    for name in ("text.docx", "drm.epub"):
        write(tmp_path / "docs", name, BROKEN[name][0])
    write(tmp_path / "docs", "bread.docx", make_docx())
    write(tmp_path / "docs", "shore.epub", make_epub())
    report = qa.ingest([tmp_path / "docs"])
    assert sorted(Path(s).name for s in report.added) == ["bread.docx", "shore.epub"]
    assert sorted(Path(s).name for s, _ in report.failed) == ["deck.pptx", "drm.epub", "text.docx"]
    assert all("\n" not in reason for _, reason in report.failed)
    (kept,) = [d for d in qa.documents() if d.doc_id == before[0].doc_id]
    assert kept == before[0] and qa.document(kept.doc_id).text == "\n\n".join(SLIDES)


# --- pages in hits and citations, offsets -------------------------------------------------------------------


@pytest.fixture
def office_qa(make_qa: MakeQA, tmp_path: Path) -> QA:
    """The three fixture files ingested in small chunks: a hit's page is the page its chunk starts on, as for
    PDFs (tests/test_store_contract.py), so a chunk must not start a slide or chapter early."""
    qa = make_qa(backend="extractive", chunk_tokens=24, chunk_overlap=0)
    folder = tmp_path / "office"
    for name, data in (("bread.docx", make_docx()), ("deck.pptx", make_pptx()), ("shore.epub", make_epub())):
        write(folder, name, data)
    report = qa.ingest([folder])
    assert len(report.added) == 3 and not report.failed
    return qa


def test_offsets_round_trip_and_hits_carry_slide_and_chapter(office_qa: QA) -> None:
    expected = {"deck.pptx": "\n\n".join(SLIDES), "shore.epub": "\n\n".join(CHAPTERS)}
    documents = {Path(d.source).name: office_qa.document(d.doc_id) for d in office_qa.documents()}
    assert documents["bread.docx"].text == DOCX_TEXT and documents["bread.docx"].page_starts == ()
    for name in ("deck.pptx", "shore.epub"):
        assert documents[name].text == expected[name]
    pages = {
        "Fresnel lens lighthouse beam sailors": ("deck.pptx", 3),
        "sea anemones tide pools": ("deck.pptx", 1),
        "hermit crabs larger shells": ("shore.epub", 2),
        "barnacles filter plankton": ("shore.epub", 1),
        "sourdough starter wild yeast": ("bread.docx", None),
    }
    for query, (name, page) in pages.items():
        hits = office_qa.search(query, k=10)
        for hit in hits:
            assert office_qa.document(hit.doc_id).text[hit.start : hit.end] == hit.text
            assert office_qa.document(hit.doc_id).page_at(hit.start) == hit.page
        top = hits[0]
        assert (Path(top.source).name, top.page) == (name, page), query


@pytest.mark.parametrize(
    ("question", "name", "page", "fact"),
    [(SLIDE_QUESTION, "deck.pptx", 3, SLIDE_FACT), (CHAPTER_QUESTION, "shore.epub", 2, CHAPTER_FACT)],
)
def test_the_extractive_answer_cites_the_slide_or_chapter(
    office_qa: QA, question: str, name: str, page: int, fact: str
) -> None:
    answer = office_qa.ask(question)
    assert not answer.refused and answer.citations
    citation = answer.citations[0]
    assert (Path(citation.source).name, citation.page) == (name, page)
    assert office_qa.document(citation.doc_id).text[citation.start : citation.end] == citation.quote
    assert citation.quote == fact


# --- uploads ------------------------------------------------------------------------------------------------


@pytest.fixture
def served(make_qa: MakeQA) -> Iterator[httpx.Client]:
    qa = make_qa(backend="extractive", chunk_tokens=24, chunk_overlap=0)  # see office_qa
    with running(create_app(qa)) as url, httpx.Client(base_url=url, timeout=60) as http:
        yield http


def test_upload_through_the_http_service(served: httpx.Client) -> None:
    files = [
        ("files", ("deck.pptx", make_pptx())),
        ("files", ("bread.docx", make_docx())),
        ("files", ("shore.epub", make_epub())),
        ("files", ("text.docx", BROKEN["text.docx"][0])),
    ]
    report = served.post("/v1/documents", files=files).json()
    assert sorted(Path(s).name for s in report["added"]) == ["bread.docx", "deck.pptx", "shore.epub"]
    ((source, reason),) = [(f["source"], f["reason"]) for f in report["failed"]]
    assert Path(source).name == "text.docx" and "not a readable Word document" in reason
    answer = served.post("/v1/ask", json={"question": SLIDE_QUESTION}).json()
    citation = answer["citations"][0]
    assert (Path(citation["source"]).name, citation["page"], citation["quote"]) == ("deck.pptx", 3, SLIDE_FACT)


def test_upload_through_the_app(tmp_path: Path, embedder: MemoEmbedder) -> None:
    pipeline = Pipeline(QA(Settings(home=tmp_path / "home", collection="office-ui"), embedder=embedder))
    report = add_uploads(pipeline, [("shore.epub", make_epub()), ("drm.epub", BROKEN["drm.epub"][0])])
    assert [Path(s).name for s in report.added] == ["shore.epub"]
    assert [(Path(s).name, "DRM" in r) for s, r in report.failed] == [("drm.epub", True)]
    assert not (tmp_path / "home" / "uploads" / "office-ui" / "drm.epub").exists()  # a file that failed is not kept


def test_a_citation_carries_the_slide_of_its_quote_whatever_the_chunk(make_qa: MakeQA, tmp_path: Path) -> None:
    qa = make_qa(backend="extractive")  # default chunks: the whole deck is one chunk, starting on slide 1
    assert qa.ingest([write(tmp_path, "deck.pptx", make_pptx())]).ok
    citation = qa.ask(SLIDE_QUESTION).citations[0]
    assert citation.quote == SLIDE_FACT
    assert citation.page == 3


def test_pages_are_named_as_the_document_names_them() -> None:
    assert page_name("talks/deck.pptx", 3) == "slide 3"
    assert page_name("books/shore.EPUB", 2) == "chapter 2"
    assert page_name("report.pdf", 4) == "page 4"
    assert page_name("notes.txt", None) == ""
