"""Turn an issue's HTML into the plain-text part of its email: wrapped paragraphs, numbered links.

The only module that imports wcwidth, which tells how many terminal columns a character takes.
"""

from __future__ import annotations

import functools
import re

from wcwidth import wcswidth

from .tree import Fragment, HtmlElement
from .urls import absolute_url

_BLOCK_TAGS = {"p", "div", "section", "figure", "figcaption", "table", "blockquote", "pre", "ul", "ol",
               "h1", "h2", "h3", "h4", "h5", "h6", "hr", "dl", "dt", "dd", "header", "footer", "article"}
WIDTH = 72
# Footnote markers are superscript numbers, unlike the [n] of link references.
_SUPERSCRIPT = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


def display_width(text: str) -> int:
    """How many terminal columns *text* takes: two for a wide character (CJK, most emoji), none for
    a combining mark."""
    width = wcswidth(text)
    # wcswidth gives -1 for a control character; counting characters is then the better guess.
    return width if width >= 0 else len(text)


def footnote_marker(number: str) -> str:
    """The marker of footnote *number* in running text: '²' for 2."""
    return number.translate(_SUPERSCRIPT)


def _flat(text: str | None) -> str:
    """Source line breaks inside running text are spaces; only <br> breaks a line."""
    return (text or "").replace("\n", " ")


class _TextWriter:
    """Write an element tree out as plain text, noting each link it numbers."""

    def __init__(self, base_url: str) -> None:
        self.numbers: dict[str, int] = {}  # link URL to its number, in the order first seen
        self.base_url = base_url

    @property
    def links(self) -> list[str]:
        return list(self.numbers)

    def link_number(self, href: str) -> int:
        return self.numbers.setdefault(href, len(self.numbers) + 1)

    def inline(self, element: HtmlElement) -> str:
        """Text of an element's inline content, links as 'text [n]'."""
        parts = [_flat(element.text)]
        for child in element:
            parts.append(self.inline_child(child))
            parts.append(_flat(child.tail))
        return "".join(parts)

    def inline_child(self, child: HtmlElement) -> str:
        if not isinstance(child.tag, str):
            return ""
        tag = child.tag.lower()
        classes = child.get("class") or ""
        if tag == "br":
            return "\n"
        if tag == "img":
            alt = child.get("alt", "").strip()
            return f"[image: {alt}]" if alt else "[image]"
        if tag == "a" and "footnote-backref" in classes:
            return ""
        if tag == "a" and child.get("href") and not child.get("href", "").startswith("#"):
            text = self.inline(child).strip()
            href = absolute_url(child.get("href", ""), self.base_url)
            return href if text == href or not text else f"{text} [{self.link_number(href)}]"
        if tag == "sup" and "footnote-ref" in classes:
            return footnote_marker(child.text_content().strip("[]"))
        if tag in ("del", "s", "strike"):
            # Struck-out words stay, marked: dropping the marks would say the opposite.
            return f"~~{self.inline(child)}~~"
        if tag in _BLOCK_TAGS or tag in ("li", "tr"):
            return "\n" + self.inline(child) + "\n"
        return self.inline(child)

    def blocks(self, element: HtmlElement, indent: str = "") -> list[str]:
        """Render an element's content as paragraphs; runs of inline content make one paragraph."""
        out: list[str] = []
        run = [_flat(element.text)]

        def flush() -> None:
            text = "".join(run)
            if text.strip():
                out.append(self.wrap(text, indent))
            run.clear()

        for child in element:
            if isinstance(child.tag, str) and (child.tag.lower() in _BLOCK_TAGS or child.tag.lower() == "img"
                                               and element.tag in ("figure", "div", "section")):
                flush()
                out.extend(self.block(child, indent))
            else:
                run.append(self.inline_child(child))
            run.append(_flat(child.tail))
        flush()
        return out

    def wrap(self, text: str, indent: str = "", first: str | None = None) -> str:
        lines: list[str] = []
        for piece in text.split("\n"):
            words = piece.split()
            if words:
                lines.append(fill(words, WIDTH, first if first is not None and not lines else indent, indent))
        return "\n".join(lines)

    def block(self, element: HtmlElement, indent: str) -> list[str]:
        tag = element.tag.lower()
        if tag in ("h1", "h2"):
            text = " ".join(self.inline(element).split())
            return [f"{indent}{text}\n{indent}{('=' if tag == 'h1' else '-') * display_width(text)}"]
        if tag in ("h3", "h4", "h5", "h6"):
            return [f"{indent}{'#' * int(tag[1])} {' '.join(self.inline(element).split())}"]
        if tag == "pre":
            code = element.text_content().rstrip("\n")
            return ["\n".join(f"{indent}    {line}" if line else "" for line in code.split("\n"))]
        if tag in ("ul", "ol"):
            items = []
            for number, item in enumerate(element.findall("li"), start=1):
                marker = f"{number}. " if tag == "ol" else "- "
                items.append(self.list_item(item, indent, marker))
            return ["\n".join(items)]
        if tag == "blockquote":
            inner = self.blocks(element)
            return ["\n".join(f"{indent}> {line}".rstrip() for line in "\n\n".join(inner).split("\n"))]
        if tag == "hr":
            return [f"{indent}---"]
        if tag == "table":
            return [self.table(element, indent)]
        if tag == "section" and "footnotes" in (element.get("class") or ""):
            return self.footnotes(element, indent)
        if tag in ("div", "section", "figure", "article", "header", "footer", "dl"):
            return self.blocks(element, indent)
        if tag in ("style", "script", "head", "title"):
            return []
        if tag == "img":
            return [indent + self.inline_child(element)]
        text = self.inline(element)
        return [self.wrap(text, indent)] if text.strip() else []

    def table(self, element: HtmlElement, indent: str) -> str:
        """Lay a table out in columns padded to their widest cell, aligned as its cells say."""
        rows = [[(" ".join(self.inline(cell).split()), _alignment(cell)) for cell in row if isinstance(cell.tag, str)]
                for row in element.iter("tr")]
        rows = [row for row in rows if row]
        header_rows = len(element.findall("./thead/tr"))
        if not rows:
            return ""
        columns = max(len(row) for row in rows)
        widths = [max((display_width(row[index][0]) for row in rows if index < len(row)), default=0)
                  for index in range(columns)]
        lines = [indent + " | ".join(_pad(text, widths[index], align)
                                     for index, (text, align) in enumerate(row)).rstrip() for row in rows]
        if header_rows:
            lines.insert(header_rows, indent + "-|-".join("-" * width for width in widths))
        return "\n".join(lines)

    def footnotes(self, element: HtmlElement, indent: str) -> list[str]:
        """The footnotes, each after its superscript marker, below a short rule."""
        notes = []
        for number, item in enumerate(element.iter("li"), start=1):
            marker = footnote_marker(str(number)) + " "
            notes.append("\n".join(self.blocks(item, indent + " " * display_width(marker)))
                         .replace(indent + " " * display_width(marker), indent + marker, 1))
        return [f"{indent}---", *notes] if notes else []

    def list_item(self, item: HtmlElement, indent: str, marker: str) -> str:
        inner_indent = indent + " " * len(marker)
        nested_tags = ("ul", "ol", "p", "pre", "blockquote", "div")
        has_blocks = any(isinstance(c.tag, str) and c.tag.lower() in nested_tags for c in item)
        if not has_blocks:
            return self.wrap(self.inline(item), inner_indent, first=indent + marker)
        paragraphs = self.blocks(item, inner_indent)
        if not paragraphs:
            return indent + marker.rstrip()
        first = paragraphs[0]
        paragraphs[0] = indent + marker + first[len(inner_indent):]
        return "\n".join(paragraphs)


def _alignment(cell: HtmlElement) -> str:
    """'left', 'right' or 'center', as the cell's style or align attribute says."""
    style = (cell.get("style") or "").replace(" ", "").lower()
    found = re.search(r"text-align:(left|right|center)", style)
    return found.group(1) if found else (cell.get("align") or "left").lower()


def _pad(text: str, width: int, align: str) -> str:
    room = max(width - display_width(text), 0)
    if align == "right":
        return " " * room + text
    if align == "center":
        return " " * (room // 2) + text + " " * (room - room // 2)
    return text + " " * room


def fill(words: list[str], width: int, first_indent: str, indent: str) -> str:
    """Lay *words* out greedily in lines of at most *width*; a longer word gets a line of its own.

    What textwrap.fill does without breaking words or hyphens, several times faster: plain text
    parts wrap every paragraph of every issue. Each line is one regular expression match.
    """
    text = " ".join(words)
    lines = []
    position, prefix = 0, first_indent
    while position < len(text):
        line = _line_pattern(width - len(prefix)).match(text, position)
        assert line is not None  # the second alternative matches any word
        lines.append(prefix + line.group(line.lastindex or 0))
        position, prefix = line.end(), indent
    return "\n".join(lines)


@functools.cache
def _line_pattern(room: int) -> re.Pattern[str]:
    # The most whole words that fit in *room* characters, else the next word alone; either eats
    # the space after it.
    return re.compile(rf"(.{{1,{max(room, 1)}}})(?: |$)|([^ ]+)(?: |$)")


def plain_text(fragment: Fragment, base_url: str) -> tuple[str, list[str]]:
    """Readable plain text of a parsed fragment; links become numbered references.

    Returns the text and the list of link URLs (made absolute against *base_url*), numbered
    from 1 in the order they appear.
    """
    writer = _TextWriter(base_url)
    paragraphs = writer.blocks(fragment.root)
    return "\n\n".join(p for p in paragraphs if p.strip()), writer.links


def html_to_text(html: str, base_url: str) -> tuple[str, list[str]]:
    """Turn an HTML fragment into readable plain text; links become numbered references."""
    return plain_text(Fragment(html), base_url)
