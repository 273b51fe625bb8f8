"""The check reads pages, emails and feed content as libxml2 parsed them (through render.tree, the
module that owns lxml): the elements' own methods, and the few helpers here.

Comments and processing instructions are in lxml's trees too; is_element tells them apart.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from ..render.tree import HtmlElement, parse_document, parse_fragment, xpath

__all__ = ["Flat", "HtmlElement", "classes", "is_element", "parse_flat", "parse_html",
           "srcset_urls", "text_of", "urls_in"]


def is_element(node: HtmlElement) -> bool:
    """Say whether *node* is an element, not a comment or a processing instruction."""
    # The class compared rather than isinstance: a check asks this of hundreds of thousands of nodes.
    return node.tag.__class__ is str


def text_of(element: HtmlElement) -> str:
    """Return all the text below *element*, comments left out."""
    return str(element.text_content())


def classes(element: HtmlElement) -> frozenset[str]:
    """Return the element's classes."""
    value = element.get("class")
    return frozenset(value.split()) if value else _NO_CLASSES


_NO_CLASSES: frozenset[str] = frozenset()

_URL_ATTRIBUTES = ("href", "src", "poster", "cite", "background", "action")


def parse_html(text: str) -> HtmlElement:
    """Parse HTML: a whole document into its <html> element, a fragment (such as a post's body) into a
    <div> holding it."""
    start = text.lstrip()[:9].lower()
    if start.startswith(("<!doctype", "<html")):
        document = parse_document(text)
        if document is not None:
            return document
        text = ""
    return parse_fragment(text)


@dataclass(frozen=True)
class Flat:
    """A fragment read only for its words, its number of images and its URLs in document order: all a
    feed item's rules need, kept without the tree they were read from."""

    text: str
    images: int
    urls: tuple[tuple[str, str], ...]  # (attribute, URL), as urls_in lists them


# Elements with an attribute that _attribute_urls reads a URL from, found by libxml2 rather than a
# walk: each attribute's name looked up in one string (a test per name costs twice as much), and
# styles with a url(), the only place a style carries one.
_LINKED = xpath("descendant-or-self::*[@*[contains('|{}|', concat('|', name(), '|'))] or contains(@style, 'url(')]"
                .format("|".join((*_URL_ATTRIBUTES, "srcset"))))
_IMAGES = xpath("descendant::img")


def parse_flat(text: str) -> Flat:
    """Parse an HTML fragment into its text, its number of images and its URLs."""
    holder = parse_fragment(text)
    # text_of gives a plain string: lxml's own keeps its tree alive.
    return Flat(text_of(holder), len(_IMAGES(holder)), tuple(urls_in(holder)))


def srcset_urls(value: str) -> list[str]:
    """List the URLs of a srcset attribute's candidates."""
    return [candidate.split()[0] for candidate in value.split(",") if candidate.split()]


_CSS_URL = re.compile(r"""url\(\s*(['"]?)(.*?)\1\s*\)""")


def urls_in(root: HtmlElement) -> list[tuple[str, str]]:
    """List (attribute, URL) for every URL *root* and the elements under it carry, in document order."""
    return [url for element in _LINKED(root) for url in _attribute_urls(dict(element.items()))]


def _attribute_urls(attrs: Mapping[str, str]) -> list[tuple[str, str]]:
    """List (attribute, URL) for every URL in an element's *attrs*, srcset candidates and CSS url() included."""
    if not attrs:
        return []
    urls: list[tuple[str, str]] = [(name, attrs[name]) for name in _URL_ATTRIBUTES if name in attrs]
    if "srcset" in attrs:
        urls += [("srcset", url) for url in srcset_urls(attrs["srcset"])]
    style = attrs.get("style", "")
    if "url(" in style:
        urls += [("style", match.group(2)) for match in _CSS_URL.finditer(style)]
    return urls
