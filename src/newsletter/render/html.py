"""Finish the HTML a Markdown renderer made, and the mail-safety step as the checker still calls it.

Finishing gathers footnotes, gives headings ids, highlights code, captions figures and marks
task lists (see finish_markdown_html).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from .tree import MAX_DEPTH, HtmlElement, nested_too_deep, new_element, parse_fragment, serialize

# check/ imports these from here; they live in urls.py now.

_HEADING_TAGS = ("h2", "h3", "h4")


class TooDeep(ValueError):
    """The HTML nests deeper than a page, an email and a feed can carry whole."""

    def __init__(self) -> None:
        super().__init__(f"the body nests elements more than {MAX_DEPTH} levels deep (quotes, lists or HTML "
                         "tags inside one another); flatten it")


@dataclass(frozen=True)
class MarkdownHtml:
    """A rendered Markdown body, finished, with what lists and checks need to know about it."""

    html: str
    first_paragraph: str
    word_count: int
    image_sources: tuple[str, ...]


def finish_markdown_html(html: str, slugify: Callable[[str], str],
                         highlight: Callable[[str, str], str | None]) -> MarkdownHtml:
    """Finish a Markdown renderer's HTML for the web.

    Footnotes are gathered into a numbered list at the end, with links both ways; h2–h4 get
    unique ids from *slugify*; fenced code is highlighted with *highlight*; a paragraph holding
    just a titled image becomes a <figure> captioned with the title; task list items get the
    classes the templates expect.
    """
    root = parse_fragment(html)
    if nested_too_deep(root):
        raise TooDeep
    taken = set(root.xpath("descendant::*/@id"))
    backrefs = _gather_footnotes(root, taken)
    paragraphs = list(root.iter("p"))
    # Footnote numbers stick to the word before them; each back-link arrow stands alone.
    word_count = len(root.text_content().split()) - backrefs
    first_paragraph = next((_plain_text(p) for p in paragraphs if p.getparent() is root), "")
    for heading in root.iter(*_HEADING_TAGS):
        if not heading.get("id"):
            heading.set("id", _unique_id(slugify(heading.text_content()), taken))
    for paragraph in paragraphs:
        _caption_figure(paragraph)
    for box in root.iter("input"):
        _mark_task_item(box)
    image_sources = tuple(dict.fromkeys(image.get("src", "") for image in root.iter("img")))
    return MarkdownHtml(_highlighted(root, highlight), first_paragraph, word_count, image_sources)


def _unique_id(base: str, taken: set[str], first_copy: int = 1) -> str:
    """*base*, or base-N with the first free N from *first_copy* on; noted in *taken*."""
    unique, number = base, first_copy
    while unique in taken:
        unique, number = f"{base}-{number}", number + 1
    taken.add(unique)
    return unique


def _gather_footnotes(root: HtmlElement, taken: set[str]) -> int:
    """Move footnote definitions, where they were written, into one list at the end, as GitHub shows them.

    References become ``<sup class="footnote-ref"><a href="#fn-N" id="fnref-N">N</a></sup>``;
    each note ends with a link back to its first reference. Returns how many back links it made.
    """
    definitions = root.xpath("descendant::div[@class='footnote-definition']")
    if not definitions:
        return 0
    numbers: dict[str, str] = {}
    for reference in root.xpath("descendant::sup[@class='footnote-reference']/a"):
        name, number = reference.get("href", "").removeprefix("#"), (reference.text or "").strip()
        numbers.setdefault(name, number)
        reference.getparent().set("class", "footnote-ref")
        reference.set("href", f"#fn-{number}")
        # GitHub's ids: the second reference to note 1 is fnref-1-2.
        reference.set("id", _unique_id(f"fnref-{number}", taken, first_copy=2))
    notes = new_element("ol")
    items: list[tuple[int, HtmlElement]] = []
    backrefs = 0
    for definition in definitions:
        label = definition.find("sup")
        number = numbers.get(definition.get("id", ""), label.text_content().strip() if label is not None else "")
        if label is not None:
            definition.remove(label)
        item = new_element("li", id=_unique_id(f"fn-{number}", taken))
        item.text = (definition.text or "").strip() or None
        item.extend(list(definition))
        if definition.get("id", "") in numbers:
            backref = new_element("a", href=f"#fnref-{number}", **{"class": "footnote-backref",
                                        "aria-label": f"Back to reference {number}"})
            # The text variant: some phones draw a bare ↩ as a coloured emoji.
            backref.text = "↩\ufe0e"
            last = item[-1] if len(item) else None
            holder = last if last is not None and last.tag == "p" else item
            if len(holder):
                holder[-1].tail = (holder[-1].tail or "").rstrip() + " "
            else:
                holder.text = (holder.text or "").rstrip() + " "
            holder.append(backref)
            backrefs += 1
        definition.getparent().remove(definition)
        items.append((int(number) if number.isdigit() else len(definitions) + 1, item))
    # In the order of the numbers, which is the order they are first cited in: an <ol> counts.
    notes.extend(item for _, item in sorted(items, key=lambda pair: pair[0]))
    section = new_element("section", **{"class": "footnotes"})
    section.append(notes)
    root.append(section)
    return backrefs


def _plain_text(element: HtmlElement) -> str:
    """An element's text as one line, images as their alt text, without footnote marks."""
    parts = [element.text or ""]
    for child in element:
        if child.tag == "img":
            parts.append(child.get("alt", ""))
        elif isinstance(child.tag, str) and "footnote-" not in (child.get("class") or ""):
            parts.append(_plain_text(child))
        parts.append(child.tail or "")
    return " ".join("".join(parts).split())


def _caption_figure(paragraph: HtmlElement) -> None:
    children = list(paragraph)
    if len(children) != 1 or children[0].tag != "img" or not children[0].get("title"):
        return
    image = children[0]
    if (paragraph.text or "").strip() or (image.tail or "").strip():
        return
    caption = new_element("figcaption")
    caption.text = image.attrib.pop("title")
    paragraph.text = image.tail = None
    paragraph.tag = "figure"
    paragraph.append(caption)


def _mark_task_item(box: HtmlElement) -> None:
    if box.get("type") != "checkbox" or box.getprevious() is not None or (box.getparent().text or "").strip():
        return
    item = box.getparent()
    if item.tag == "p" and item.getparent() is not None and item.getparent().tag == "li":
        item = item.getparent()
    if item.tag != "li":
        return
    box.set("class", "task-list-item-checkbox")
    box.tail = " " + (box.tail or "").lstrip()
    item.set("class", "task-list-item")
    listing = item.getparent()
    if listing is not None:
        listing.set("class", "contains-task-list")


def _highlighted(root: HtmlElement, highlight: Callable[[str, str], str | None]) -> str:
    """Serialise *root* with its fenced code blocks (``code.language-x``) highlighted by *highlight*.

    Each block's text is swapped for a marker and the highlighted markup put in its place in the
    serialised HTML, which saves parsing every block's markup back into the tree. The marker is a
    private-use character; should the page hold it already, the next one is tried.
    """
    blocks: list[tuple[HtmlElement, str]] = []
    for code in root.xpath("descendant::pre/code[starts-with(@class, 'language-')]"):
        spans = highlight(code.text_content(), code.get("class").split()[0].removeprefix("language-"))
        if spans is not None:
            code.getparent().set("class", "highlight")
            for child in list(code):
                code.remove(child)
            blocks.append((code, spans))
    if not blocks:
        return serialize(root)
    for point in range(0xE000, 0xF900):
        marker = chr(point)
        for index, (code, _) in enumerate(blocks):
            code.text = f"{marker}{index}{marker}"
        html = serialize(root)
        if html.count(marker) == 2 * len(blocks):
            return re.sub(f"{marker}(\\d+){marker}", lambda found: blocks[int(found[1])][1], html)
    raise ValueError("no free private-use character to mark code blocks with")

