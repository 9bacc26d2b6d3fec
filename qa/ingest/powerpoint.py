"""Read a PowerPoint file (.pptx) into plain text, slide by slide, with the offset where each slide starts."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

from qa.errors import IngestError
from qa.ingest.office import clean_block, join_parts_with_text, open_package, table_row, table_text
from qa.ingest.parts import short_reason


def pptx_text(source: str, data: bytes, max_bytes: int) -> tuple[str, tuple[int, ...]]:
    """Each slide's text frames and tables (top to bottom, left to right), then its notes; slide n starts at
    `starts[n - 1]`, so every hit carries its slide number as a PDF hit carries its page."""
    from pptx import Presentation

    open_package(source, data, "pptx", max_bytes).close()
    try:
        slides = ["\n\n".join(b for b in _slide_blocks(slide) if b) for slide in Presentation(io.BytesIO(data)).slides]
    except Exception as exc:  # python-pptx and lxml raise many types on malformed packages
        raise IngestError(source, f"not a readable PowerPoint file ({short_reason(exc)})") from None
    return join_parts_with_text(source, slides, "slides")


def _slide_blocks(slide: Any) -> Iterator[str]:
    yield from _shape_blocks(slide.shapes)
    if slide.has_notes_slide and slide.notes_slide.notes_text_frame is not None:
        yield from (clean_block(p.text) for p in slide.notes_slide.notes_text_frame.paragraphs)


def _shape_blocks(shapes: Any) -> Iterator[str]:
    """Every paragraph of a text frame as a block of its own (a slide's bullet points are short lines that
    must not be read as one sentence), every table as a block; groups are read through."""
    for shape in sorted(shapes, key=lambda s: (s.top or 0, s.left or 0)):
        if getattr(shape, "shapes", None) is not None:  # a group
            yield from _shape_blocks(shape.shapes)
        elif getattr(shape, "has_table", False):
            rows = shape.table.rows
            yield table_text([table_row(c.text for c in row.cells if not c.is_spanned) for row in rows])
        elif getattr(shape, "has_text_frame", False):
            yield from (clean_block(p.text) for p in shape.text_frame.paragraphs)
