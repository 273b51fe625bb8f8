"""Rework rendered HTML: make links absolute or page-relative, make it safe for mail, turn it into text.

The only module that imports lxml directly (premailer uses it too, in ``emails``).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import lxml.etree
import lxml.html
from lxml.html import HtmlElement

URL_ATTRIBUTES = ("href", "src", "poster", "cite")
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
_EVENT_ATTRIBUTE = re.compile(r"^on", re.IGNORECASE)
_REMOVED_IN_MAIL = ("script", "form", "object", "embed", "noscript", "button", "select", "textarea")
# Elements with a URL attribute (or, for make_mail_safe, an event handler), whatever their tag.
# Testing each element's attributes once beats a union of one path per attribute in libxml2.
_WITH_URLS = lxml.etree.XPath("descendant-or-self::*[@*[{}]]".format(
    " or ".join(f"name() = '{name}'" for name in (*URL_ATTRIBUTES, "srcset"))))
_LINKED_OR_HANDLED = lxml.etree.XPath("descendant::*[@*[starts-with(name(), 'on') or {}]]".format(
    " or ".join(f"name() = '{name}'" for name in URL_ATTRIBUTES)))
# The other elements make_mail_safe changes or removes (lxml gives HTML tag names in lower case).
_MAIL_SUSPECT_TAGS = ("img", "iframe", "input", *_REMOVED_IN_MAIL)
# A tag no HTML has, for elements to be replaced by their content.
_UNWRAPPED = "newsletter-unwrapped"


def is_site_relative(url: str) -> bool:
    """True for a link into the site itself, like ``static/a.png`` or ``/other-post/``."""
    url = url.strip()
    return bool(url) and not (url.startswith(("#", "//", "{")) or _SCHEME.match(url))


def site_path(url: str) -> str:
    """Normalise a site-relative link to a path from the site's root (``../static/a.png`` → ``static/a.png``)."""
    path = url.strip()
    while path.startswith(("/", "./", "../")):
        path = path.removeprefix("/").removeprefix("./").removeprefix("../")
    return path


def absolute_url(url: str, site_url: str) -> str:
    """Make a site-relative link absolute against *site_url*; leave every other link as it is."""
    return site_url + site_path(url) if is_site_relative(url) else url


def page_relative_url(url: str, depth: int) -> str:
    """Make a site-relative link relative to a page *depth* folders below the site's root."""
    return "../" * depth + site_path(url) if is_site_relative(url) else url


# lxml.html looks up a Python class for every element it hands out; one class for all is looked
# up in C, which makes walking a whole issue (as the plain-text part does) half again as fast.
_PARSER = lxml.html.HTMLParser()
_PARSER.set_element_class_lookup(lxml.etree.ElementDefaultClassLookup(
    element=lxml.html.HtmlElement, comment=lxml.html.HtmlComment, pi=lxml.html.HtmlProcessingInstruction))


# libxml2 ends the document at these (and drops what follows </html>); inside a fragment they mean
# nothing, and browsers ignore them there. Taken out of a comment or an attribute too, they cost
# nothing a reader sees.
_DOCUMENT_END_TAG = re.compile(r"</(?:body|html)\s*>", re.IGNORECASE)


def _fragment(html: str) -> HtmlElement:
    """Parse an HTML fragment into a <div> holding it; stray end tags cannot close the holder."""
    html = _DOCUMENT_END_TAG.sub("", html)
    document = lxml.etree.fromstring(f"<html><body>{html}</body></html>", _PARSER)
    body = document.find("body")
    if body is None:
        body = lxml.etree.SubElement(document, "body")
    body.tag = "div"
    return body


def _serialize(root: HtmlElement) -> str:
    # Serialise the wrapper and strip its tags, so text before the first child is kept.
    html = lxml.html.tostring(root, encoding="unicode", with_tail=False)
    return html[len("<div>") : -len("</div>")]


def _map_srcset(value: str, mapper: Callable[[str], str]) -> str:
    candidates = []
    for candidate in value.split(","):
        pieces = candidate.strip().split(None, 1)
        if pieces:
            pieces[0] = mapper(pieces[0])
            candidates.append(" ".join(pieces))
    return ", ".join(candidates)


def _rewrite(root: HtmlElement, mapper: Callable[[str], str]) -> None:
    for element in _WITH_URLS(root):
        for attribute in URL_ATTRIBUTES:
            value = element.get(attribute)
            if value is not None:
                element.set(attribute, mapper(value))
        srcset = element.get("srcset")
        if srcset is not None:
            element.set("srcset", _map_srcset(srcset, mapper))


class Fragment:
    """An HTML fragment parsed once, reworked in place by several steps, serialised once."""

    def __init__(self, html: str) -> None:
        self.root = _fragment(html)

    def html(self) -> str:
        return _serialize(self.root)

    def rewrite_urls(self, mapper: Callable[[str], str]) -> Fragment:
        """Apply *mapper* to every href, src and srcset URL."""
        _rewrite(self.root, mapper)
        return self

    def size_images(self, width_of: Callable[[str], int | None]) -> Fragment:
        """Give every <img> without a width attribute the width *width_of* its src says (Outlook needs it)."""
        for image in self.root.iter("img"):
            if image.get("width") is None:
                width = width_of(image.get("src", ""))
                if width:
                    image.set("width", str(width))
        return self

    def without_styles(self) -> Fragment:
        """Drop inline ``style`` attributes and ``<style>`` elements, which feed readers strip or misapply."""
        lxml.etree.strip_elements(self.root, "style", with_tail=False)
        lxml.etree.strip_attributes(self.root, "style")
        return self

    def make_mail_safe(self) -> tuple[str, ...]:
        """Remove what mail clients block or that could run code; iframes become links.

        Returns a one-line note on each change worth telling the author.
        """
        return _make_mail_safe(self.root)

    def style_code(self, styles: Mapping[str, str]) -> Fragment:
        """Turn highlighted code's token classes into the inline *styles* they stand for.

        Mail clients ignore most <style> rules; the token's class list names its type and then
        its parent types, most specific last. A token with no style loses its <span>.
        """
        chosen: dict[str, str | None] = {}  # an issue's many tokens share a few class lists
        for span in self.root.xpath("descendant::pre/code//span[@class]"):
            classes = span.attrib.pop("class")
            if classes not in chosen:
                chosen[classes] = next((styles[name] for name in reversed(classes.split()) if name in styles), None)
            style = chosen[classes]
            if style:
                span.set("style", style)
            else:
                span.tag = _UNWRAPPED
        # One pass in libxml2 instead of a drop_tag in Python for each.
        lxml.etree.strip_tags(self.root, _UNWRAPPED)
        return self

    def text(self, base_url: str) -> tuple[str, list[str]]:
        """Readable plain text; links become numbered references, returned in order."""
        writer = _TextWriter(base_url)
        paragraphs = writer.blocks(self.root)
        return "\n\n".join(p for p in paragraphs if p.strip()), writer.links


def rewrite_urls(html: str, mapper: Callable[[str], str]) -> str:
    """Apply *mapper* to every href, src and srcset URL in an HTML fragment or document."""
    if html.lstrip().lower().startswith(("<!doctype", "<html")):
        document = lxml.html.document_fromstring(html)
        _rewrite(document, mapper)
        return lxml.html.tostring(document, encoding="unicode", doctype="<!DOCTYPE html>")
    root = _fragment(html)
    _rewrite(root, mapper)
    return _serialize(root)


@dataclass(frozen=True)
class MailSafety:
    html: str
    notes: tuple[str, ...]


def _link_for_iframe(iframe: HtmlElement) -> HtmlElement:
    src = iframe.get("src", "")
    link = lxml.html.Element("a", href=src)
    link.text = iframe.get("title") or src
    paragraph = lxml.html.Element("p")
    paragraph.append(link)
    paragraph.tail = iframe.tail
    return paragraph


def make_mail_safe(html: str) -> MailSafety:
    """Remove what mail clients block or that could run code; return the fragment and notes."""
    fragment = Fragment(html)
    notes = fragment.make_mail_safe()
    return MailSafety(fragment.html(), notes)


def _make_mail_safe(root: HtmlElement) -> tuple[str, ...]:
    removed: list[str] = []
    notes: list[str] = []
    suspects = _LINKED_OR_HANDLED(root)
    found = set(suspects)
    tagged = [element for element in root.iter(*_MAIL_SUSPECT_TAGS) if element not in found]
    if tagged:  # an <img> with no src, a task list's boxes: merged in document order, as notes follow it
        chosen = {*suspects, *tagged}
        suspects = [element for element in root.iter() if element in chosen]
    for element in suspects:
        tag = element.tag.lower()
        for name in list(element.attrib):
            value = element.get(name, "")
            if _EVENT_ATTRIBUTE.match(name):
                del element.attrib[name]
                removed.append(f"{name} attribute on <{tag}>")
            elif name in URL_ATTRIBUTES and value.strip().lower().startswith(("javascript:", "vbscript:")):
                del element.attrib[name]
                removed.append(f"{value.split(':')[0]}: link on <{tag}>")
        if tag == "img" and element.get("alt") is None:
            # Without alt, clients that block images show the file name; an empty alt shows nothing.
            element.set("alt", "")
            notes.append(f"<img src={element.get('src', '')!r}> has no alt attribute; describe the image "
                         "with alt=\"...\" (an empty one was added)")
        elif tag == "iframe":
            element.getparent().replace(element, _link_for_iframe(element))
            removed.append("<iframe> (turned into a link)")
        elif tag == "input" and element.get("type") == "checkbox":
            mark = "☑" if element.get("checked") is not None else "☐"
            parent = element.getparent()
            previous = element.getprevious()
            text = mark + (element.tail or " ")
            if previous is not None:
                previous.tail = (previous.tail or "") + text
            else:
                parent.text = (parent.text or "") + text
            parent.remove(element)
        elif tag in _REMOVED_IN_MAIL or tag == "input":
            element.drop_tree()
            removed.append(f"<{tag}>")
    notes.extend(f"removed {what} from the email: mail clients block it" for what in removed)
    return tuple(notes)


# --- plain text -------------------------------------------------------------------------------

_BLOCK_TAGS = {"p", "div", "section", "figure", "figcaption", "table", "blockquote", "pre", "ul", "ol",
               "h1", "h2", "h3", "h4", "h5", "h6", "hr", "dl", "dt", "dd", "header", "footer", "article"}
WIDTH = 72


def _flat(text: str | None) -> str:
    """Source line breaks inside running text are spaces; only <br> breaks a line."""
    return (text or "").replace("\n", " ")


class _TextWriter:
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
            return f"[^{child.text_content().strip('[]')}]"
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
            return [f"{indent}{text}\n{indent}{('=' if tag == 'h1' else '-') * len(text)}"]
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
            rows = []
            for row in element.iter("tr"):
                cells = [" ".join(self.inline(cell).split()) for cell in row if isinstance(cell.tag, str)]
                rows.append(indent + " | ".join(cells))
            return ["\n".join(rows)]
        if tag in ("div", "section", "figure", "article", "header", "footer", "dl"):
            return self.blocks(element, indent)
        if tag in ("style", "script", "head", "title"):
            return []
        if tag == "img":
            return [indent + self.inline_child(element)]
        text = self.inline(element)
        return [self.wrap(text, indent)] if text.strip() else []

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


def html_to_text(html: str, base_url: str) -> tuple[str, list[str]]:
    """Turn an HTML fragment into readable plain text; links become numbered references.

    Returns the text and the list of link URLs, numbered from 1 in the order they appear.
    """
    return Fragment(html).text(base_url)


# --- HTML from Markdown -----------------------------------------------------------------------

_HEADING_TAGS = ("h2", "h3", "h4")


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
    root = _fragment(html)
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
    notes = lxml.html.Element("ol")
    items: list[tuple[int, HtmlElement]] = []
    backrefs = 0
    for definition in definitions:
        label = definition.find("sup")
        number = numbers.get(definition.get("id", ""), label.text_content().strip() if label is not None else "")
        if label is not None:
            definition.remove(label)
        item = lxml.html.Element("li", id=_unique_id(f"fn-{number}", taken))
        item.text = (definition.text or "").strip() or None
        item.extend(list(definition))
        if definition.get("id", "") in numbers:
            backref = lxml.html.Element("a", href=f"#fnref-{number}", **{"class": "footnote-backref",
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
    section = lxml.html.Element("section", **{"class": "footnotes"})
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
    caption = lxml.html.Element("figcaption")
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
        return _serialize(root)
    for point in range(0xE000, 0xF900):
        marker = chr(point)
        for index, (code, _) in enumerate(blocks):
            code.text = f"{marker}{index}{marker}"
        html = _serialize(root)
        if html.count(marker) == 2 * len(blocks):
            return re.sub(f"{marker}(\\d+){marker}", lambda found: blocks[int(found[1])][1], html)
    raise ValueError("no free private-use character to mark code blocks with")
