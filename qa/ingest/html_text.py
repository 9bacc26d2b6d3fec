"""The visible text of an HTML page (also each EPUB chapter): a line per block, a blank line between paragraphs,
a tab between table cells, and code marked as Markdown marks it so that it is told from prose."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from qa.ingest.parts import newlines

if TYPE_CHECKING:
    from bs4.element import PageElement, Tag

    _Item = tuple[PageElement, bool] | str | int


def _tags(names: str) -> frozenset[str]:
    return frozenset(names.split())


# dropped subtrees, elements that end a line, elements that end a paragraph, table cells
_DROP = _tags("script style noscript template svg title meta link base iframe")
_LINE = _tags("div li tr dt dd caption figcaption summary legend option html body")
_PARA = _tags(
    "p h1 h2 h3 h4 h5 h6 blockquote pre table ul ol dl menu section article header footer main nav aside"
    " figure form fieldset address details hr"
)
_CELL = _tags("td th")
_SPACE = re.compile(r"[ \t\n\r\f]+")
_BREAKS = re.compile(r"[ \t]*\n[ \t\n]*")
_FENCE = "```"


def visible_text(markup: str, title: bool = True) -> str:
    """The visible text of a page: <title> first (unless `title` is false: a reader never sees an EPUB
    chapter's), a line per block, a blank line between paragraphs, a tab between table cells; code marked as
    Markdown marks it (inline `code`, a <pre> block fenced with ```), so that code is told from prose."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(markup.removeprefix("\ufeff"), "html.parser")
    title_tag = next((t for t in soup.find_all("title") if t.find_parent("svg") is None), None) if title else None
    head = _SPACE.sub(" ", title_tag.get_text()).strip() if title_tag is not None else ""
    body = _tidy(_html_join(soup))
    return "\n\n".join(part for part in (head, body) if part)


def _html_join(soup: Tag) -> str:
    """Walk the tree without recursion; ints on the stack are pending line breaks (1 line, 2 paragraph)."""
    from bs4.element import NavigableString, PreformattedString, Tag

    out: list[str] = []
    pending = 0
    stack: list[_Item] = [(c, False) for c in reversed(soup.contents)]
    while stack:
        item = stack.pop()
        if isinstance(item, int):
            pending = max(pending, item)
            continue
        if isinstance(item, str):
            piece = item
        else:
            node, pre = item
            if isinstance(node, Tag):
                _push_tag(stack, node, pre)
                continue
            if not isinstance(node, NavigableString) or isinstance(node, PreformattedString):
                continue
            piece = str(node) if pre else _SPACE.sub(" ", str(node))
        if not piece or (pending and not piece.strip()):
            continue
        if pending and out:
            out.append("\n" * pending)
        pending = 0
        out.append(piece)
    return "".join(out)


def _push_tag(stack: list[_Item], tag: Tag, pre: bool) -> None:
    """Schedule a tag's opening mark, children and closing mark (pushed in reverse)."""
    name = tag.name.lower()
    if name in _DROP:
        return
    if name == "br":
        stack.append("\n")
        return
    if name == "pre" and not pre:
        stack.extend([2, _fenced(tag), 2])
        return
    if name in _CELL and not pre:  # a row is one line: what a cell holds (paragraphs, breaks) is joined by spaces
        stack.extend(["\t", _BREAKS.sub(" ", _html_join(tag)).strip(), "\t"])
        return
    mark: str | int = 2 if name in _PARA else 1 if name in _LINE else "\t" if name in _CELL else ""
    if name == "code" and not pre and tag.get_text().strip():
        mark = "`"
    inner = pre or name == "textarea"
    stack.append(mark)
    stack.extend((c, inner) for c in reversed(tag.contents))
    stack.append(mark)


def _fenced(tag: Tag) -> str:
    """A <pre> block as a Markdown code fence, its lines as they stand (language from `language-x`)."""
    from bs4.element import NavigableString, PreformattedString, Tag

    def shown(piece: NavigableString) -> bool:
        parent = piece.parent
        while parent is not None and parent is not tag:
            if parent.name in _DROP:
                return False
            parent = parent.parent
        return not isinstance(piece, PreformattedString)

    pieces = [str(s) for s in tag.find_all(string=True) if isinstance(s, NavigableString) and shown(s)]
    code = tag.find("code")
    classes = code.get_attribute_list("class") if isinstance(code, Tag) else []
    language = next((c.removeprefix("language-") for c in classes if c and c.startswith("language-")), "")
    body = newlines("".join(pieces)).strip("\n")
    return f"{_FENCE}{language}\n{body}\n{_FENCE}"


def _tidy(text: str) -> str:
    """Collapse spaces, keep one tab between table cells, strip lines, keep at most one blank line in a
    row, trim the ends; lines of fenced code keep their indentation."""
    lines: list[str] = []
    fenced = False
    for raw in newlines(text).split("\n"):
        if raw.strip().startswith(_FENCE):
            fenced = not fenced if raw.strip() == _FENCE else True
            line = raw.strip()
        elif fenced:
            line = raw.rstrip()
        else:
            line = re.sub(r"[ \t]*\t[ \t]*", "\t", re.sub(r" +", " ", raw)).strip()
        if line or (lines and lines[-1]):
            lines.append(line)
    return "\n".join(lines).strip()
