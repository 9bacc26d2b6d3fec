"""Pure rendering for the chat app: document and model text in, safe Markdown or HTML out.

Nothing here imports Streamlit or touches the index. Text that comes from documents (or from a model
quoting them) is escaped before it reaches Markdown or HTML, so a document cannot inject markup, links,
images or scripts into the page.
"""

from __future__ import annotations

import html
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import PurePath

from qa.records import Answer, Citation

# Every ASCII character that means something to Streamlit's Markdown (CommonMark, GFM, math, directives,
# emoji and icon shortcodes), written as a character reference: it shows as itself and parses as text.
_MARKDOWN_SPECIAL = re.compile(r"[\\`*_{}\[\]()#+\-.!|<>~$:&]")
_DOC_HEIGHT_REM = 22
_LEAD_PX = 48  # the highlighted quote lands this far below the top of the scrolled box


def escape_markdown(text: str) -> str:
    """`text` as Markdown that renders exactly as `text`, with no formatting, links, HTML or math."""
    return _MARKDOWN_SPECIAL.sub(lambda m: f"&#{ord(m.group())};", text)


def document_name(source: str) -> str:
    """The file name of a source path, as the library lists it."""
    return PurePath(source).name or source


def document_labels(sources: dict[str, str]) -> dict[str, str]:
    """A label for each document id (`sources` maps ids to sources): its file name, or its whole source when
    another document has the same file name."""
    names = {doc_id: document_name(source) for doc_id, source in sources.items()}
    shared = {name for name, count in Counter(names.values()).items() if count > 1}
    return {doc_id: sources[doc_id] if name in shared else name for doc_id, name in names.items()}


def scope_note(labels: list[str], shown: int = 3) -> str:
    """Which documents an answer was limited to: "only from a.md, b.md" (the first `shown`, then a count)."""
    more = f" and {len(labels) - shown} more" if len(labels) > shown else ""
    return "only from " + ", ".join(labels[:shown]) + more


def position(citation: Citation) -> str:
    """Where a quote stands in its document: "page 2, chars 699-863" ("slide 2", "chapter 2"; only for documents
    with pages), as every front end says it."""
    return citation.where(source=False)


def shorten(text: str, limit: int = 72) -> str:
    """One line of at most `limit` characters, cut at a word with an ellipsis."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    return flat[:limit].rsplit(" ", 1)[0].rstrip(",;:") + "…"


INSTRUCTIONS_NOTE = "⚠ contains instructions"


def citation_label(citation: Citation) -> str:
    """The expander label of one citation: number, the start of the quote, document and position, and a
    warning when the passage quoted from holds text addressed to the answering model."""
    quote = escape_markdown(shorten(citation.quote))
    label = f"**[{citation.n}]** “{quote}” — {escape_markdown(document_name(citation.source))} · {position(citation)}"
    return f"{label} · :orange[{INSTRUCTIONS_NOTE}]" if citation.contains_instructions else label


def answer_markdown(answer: Answer) -> str:
    """The answer as Markdown; each sentence no quote supports is highlighted and flagged."""
    text = answer.text
    spans = sorted(
        {(i, i + len(s)) for s in answer.unsupported if s and (i := text.find(s)) >= 0},
    )
    out, cursor = [], 0
    for start, end in spans:
        if start < cursor:
            continue
        out += [escape_markdown(text[cursor:start]), f":orange-background[⚠ {escape_markdown(text[start:end])}]"]
        cursor = end
    out.append(escape_markdown(text[cursor:]))
    return "".join(out)


def meta_line(answer: Answer) -> str:
    """Which brain answered: "extractive · no model · 0.45 s"."""
    seconds = answer.latency_ms / 1000
    took = f"{seconds:.2f} s" if seconds < 10 else f"{seconds:.0f} s"
    return " · ".join([answer.backend, answer.model or "no model", took])


def verdict_note(good: bool, correction: str | None, should_refuse: bool) -> str:
    """What the app says once an answer is rated (the correction escaped: it is the reader's own text)."""
    if good:
        return "Thanks: recorded as a good answer."
    if should_refuse:
        return "Thanks: recorded as a question the documents do not answer."
    if correction:
        return f"Thanks: recorded, with the right answer “{escape_markdown(shorten(correction))}”."
    return "Thanks: recorded as a poor answer. Add the right answer above if you know it."


@dataclass(frozen=True)
class Excerpt:
    """A quote with the text around it, as it stood in its document when the answer was given."""

    before: str
    quote: str
    after: str


def excerpt_around(text: str, start: int, end: int, radius: int = 280) -> Excerpt:
    """The quote `text[start:end]` with up to `radius` characters each side: whole lines where the lines
    fit, else cut at a space."""
    low, high = max(0, start - radius), min(len(text), end + radius)
    if low > 0:
        line = text.find("\n", low, start)
        low = line + 1 if line >= 0 else (text.find(" ", low, start) + 1 or low)
    if high < len(text):
        line, space = text.rfind("\n", end, high), text.rfind(" ", end, high)
        high = line if line >= 0 else space if space >= 0 else high
    before = ("… " if low > 0 else "") + text[low:start]
    after = text[end:high] + (" …" if high < len(text) else "")
    return Excerpt(before, text[start:end], after)


_STYLE = f"""<style>
.qa-doc {{ position: relative; max-height: {_DOC_HEIGHT_REM}rem; overflow-y: auto; white-space: pre-wrap;
  overflow-wrap: anywhere; line-height: 1.6; font-size: 0.92rem; padding: 0.75rem 1rem; border-radius: 0.5rem;
  border: 1px solid rgba(128, 128, 128, 0.35); background: rgba(128, 128, 128, 0.06); }}
.qa-passage {{ max-height: none; }}
.qa-doc mark {{ background: #ffe066; color: #111; padding: 0.05rem 0.15rem; border-radius: 0.2rem; }}
</style>"""


def excerpt_html(passage: Excerpt) -> str:
    """The excerpt with its quote highlighted, every character of document text escaped."""
    body = f"{html.escape(passage.before)}<mark>{html.escape(passage.quote)}</mark>{html.escape(passage.after)}"
    return f'{_STYLE}<div class="qa-doc qa-passage">{body}</div>'


def document_html(text: str, start: int, end: int, anchor: str) -> str:
    """The whole document in a scrollable box, the quote `text[start:end]` highlighted and scrolled to.

    `anchor` (letters, digits, dashes) names the box and the mark; the only script is the fixed one below,
    which scrolls the box (not the page) so the mark sits near its top.
    """
    if not re.fullmatch(r"[A-Za-z0-9-]+", anchor):
        raise ValueError(f"anchor {anchor!r} must be letters, digits and dashes")
    body = (
        f"{html.escape(text[:start])}<mark id='{anchor}-mark'>{html.escape(text[start:end])}</mark>"
        f"{html.escape(text[end:])}"
    )
    script = (  # scrolls now, and again whenever the box changes size (a narrower window rewraps the text)
        "<script>(function () {"
        f"var box = document.getElementById('{anchor}-doc'), mark = document.getElementById('{anchor}-mark');"
        "if (!box || !mark) { return; }"
        f"var go = function () {{ box.scrollTop = Math.max(0, mark.offsetTop - {_LEAD_PX}); }};"
        "go(); if (window.ResizeObserver) { new ResizeObserver(go).observe(box); }"
        "})();</script>"
    )
    return f'{_STYLE}<div class="qa-doc" id="{anchor}-doc">{body}</div>{script}'
