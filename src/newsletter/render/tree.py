"""Parse HTML into a tree, rework its URLs, images and styles in place, and serialise it again.

The only module that imports lxml (premailer uses it too, in ``outputs.inline``); the other
render modules work on the trees it makes through the elements' own methods and the helpers here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

import lxml.etree
import lxml.html
from lxml.html import HtmlElement

__all__ = ["MAX_DEPTH", "URL_ATTRIBUTES", "Fragment", "HtmlElement", "new_element", "nested_too_deep",
           "parse_document", "parse_fragment", "rewrite_urls", "serialize", "xpath"]

URL_ATTRIBUTES = ("href", "src", "poster", "cite")
# Elements with a URL attribute, whatever their tag. Testing each element's attributes once beats
# a union of one path per attribute in libxml2.
_WITH_URLS_XPATH = "descendant-or-self::*[@*[{}]]".format(
    " or ".join(f"name() = '{name}'" for name in (*URL_ATTRIBUTES, "srcset")))
# A tag no HTML has, for elements to be replaced by their content.
_UNWRAPPED = "newsletter-unwrapped"

# lxml.html looks up a Python class for every element it hands out; one class for all is looked
# up in C, which makes walking a whole issue (as the plain-text part does) half again as fast.
_PARSER = lxml.html.HTMLParser()
_PARSER.set_element_class_lookup(lxml.etree.ElementDefaultClassLookup(
    element=lxml.html.HtmlElement, comment=lxml.html.HtmlComment, pi=lxml.html.HtmlProcessingInstruction))

# libxml2 ends the document at these (and drops what follows </html>); inside a fragment they mean
# nothing, and browsers ignore them there. Taken out of a comment or an attribute too, they cost
# nothing a reader sees.
_DOCUMENT_END_TAG = re.compile(r"</(?:body|html)\s*>", re.IGNORECASE)
# HTML's void elements, which hold nothing. libxml2 knows only some of them: it opens <embed>,
# <source>, <track>, <wbr> and <keygen> as containers of all that follows, so that dropping one
# (as the email drops <embed>) would drop the rest of the issue with it.
# How deep a body's elements may nest. libxml2 drops, without a word, everything below its 256th
# level and all that follows; a page's or an email's template adds its own levels around the
# body, and premailer parses the email again with the same limit, so bodies stop well short of it.
MAX_DEPTH = 100
_TOO_DEEP = lxml.etree.XPath(f"boolean(descendant::*[ancestor::*[{MAX_DEPTH}]])")
_VOID_TAGS = ("area", "base", "br", "col", "embed", "hr", "img", "input", "keygen", "link", "meta", "param",
              "source", "track", "wbr")


def xpath(expression: str) -> Callable[[HtmlElement], list[HtmlElement]]:
    """Compile an XPath *expression* once, for a search made on many trees."""
    # Every expression here selects elements; lxml's own types allow for any XPath result.
    return lxml.etree.XPath(expression)  # type: ignore[return-value]


def new_element(tag: str, **attributes: str) -> HtmlElement:
    """A new HTML element, outside any tree, with *attributes* in the order given."""
    return lxml.html.Element(tag, **attributes)


def parse_fragment(html: str) -> HtmlElement:
    """Parse an HTML fragment into a <div> holding it; stray end tags cannot close the holder."""
    html = _DOCUMENT_END_TAG.sub("", html)
    document = lxml.etree.fromstring(f"<html><body>{html}</body></html>", _PARSER)
    body = document.find("body")
    if body is None:
        body = lxml.etree.SubElement(document, "body")
    body.tag = "div"
    _empty_void_elements(body)
    return body


def parse_document(html: str) -> HtmlElement | None:
    """Parse a whole HTML document into its <html> element; None when there is nothing to parse."""
    try:
        return lxml.etree.fromstring(html, _PARSER)
    except lxml.etree.ParserError:  # an empty document
        return None


def _empty_void_elements(root: HtmlElement) -> None:
    """Move what libxml2 put inside a void element out after it, where a browser has it."""
    for element in [found for found in root.iter(*_VOID_TAGS) if found.text or len(found)]:
        children = list(element)
        text, tail = element.text or "", element.tail or ""
        element.text = None
        if not children:
            element.tail = text + tail
            continue
        element.tail = text or None
        last = children[-1]
        last.tail = (last.tail or "") + tail or None
        parent = element.getparent()
        at = parent.index(element)
        for offset, child in enumerate(children, start=1):
            parent.insert(at + offset, child)


def nested_too_deep(root: HtmlElement) -> bool:
    """Whether elements under *root* nest more than MAX_DEPTH levels deep."""
    return bool(_TOO_DEEP(root))


def serialize(root: HtmlElement) -> str:
    """The HTML inside a holder made by parse_fragment."""
    # Serialise the holder and strip its tags, so text before the first child is kept.
    html: str = lxml.html.tostring(root, encoding="unicode", with_tail=False)
    return html[len("<div>") : -len("</div>")]


_WITH_URLS = xpath(_WITH_URLS_XPATH)


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
        self.root = parse_fragment(html)

    def html(self) -> str:
        return serialize(self.root)

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


def rewrite_urls(html: str, mapper: Callable[[str], str]) -> str:
    """Apply *mapper* to every href, src and srcset URL in an HTML fragment or document."""
    if html.lstrip().lower().startswith(("<!doctype", "<html")):
        document = lxml.html.document_fromstring(html)
        _rewrite(document, mapper)
        return lxml.html.tostring(document, encoding="unicode", doctype="<!DOCTYPE html>")
    root = parse_fragment(html)
    _rewrite(root, mapper)
    return serialize(root)
