"""A small HTML tree, which is all the check needs to read pages, emails and feed content.

libxml2 parses (through render.tree, the module that owns lxml); the tree here is plain Python
objects with parent links, which the contrast rule walks up and down many times.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from ..render.tree import HtmlElement, parse_document, parse_fragment, xpath


class Node:
    """An element: its tag, attributes, children (elements and text) and parent."""

    __slots__ = ("tag", "attrs", "children", "parent", "classes")

    def __init__(self, tag: str, attrs: dict[str, str], parent: Node | None) -> None:
        self.tag = tag
        self.attrs = attrs
        self.children: list[Node | str] = []
        self.parent = parent
        # Read by every selector the contrast rule tries: split once.
        self.classes = frozenset(attrs["class"].split()) if "class" in attrs else _NO_CLASSES

    def iter(self, *tags: str) -> Iterator[Node]:
        """Yield every element below this one (of *tags*, if given), in document order."""
        # A stack rather than nested generators: an email has thousands of elements, a dozen deep.
        stack = [iter(self.children)]
        while stack:
            for child in stack[-1]:
                if isinstance(child, Node):
                    if not tags or child.tag in tags:
                        yield child
                    stack.append(iter(child.children))
                    break
            else:
                stack.pop()

    def text(self) -> str:
        """Return all the text below this element."""
        return "".join(child if isinstance(child, str) else child.text() for child in self.children)


_NO_CLASSES: frozenset[str] = frozenset()


class Document(Node):
    """The "#root" of a parsed page: its elements listed once, in document order and by tag, so that
    the many rules that look for some tag over the whole page each read a list instead of a walk."""

    __slots__ = ("_order", "_by_tag")

    def __init__(self) -> None:
        super().__init__("#root", {}, None)
        self._order: list[Node] | None = None
        self._by_tag: dict[str, list[Node]] = {}

    def iter(self, *tags: str) -> Iterator[Node]:
        if self._order is None:
            self._order = list(super().iter())
            for node in self._order:
                self._by_tag.setdefault(node.tag, []).append(node)
        if not tags:
            return iter(self._order)
        if len(tags) == 1:
            return iter(self._by_tag.get(tags[0], ()))
        return (node for node in self._order if node.tag in tags)


_URL_ATTRIBUTES = ("href", "src", "poster", "cite", "background", "action")


def parse_html(text: str) -> Document:
    """Parse HTML (a whole document, or a fragment such as a post's body) into a tree under a "#root" node."""
    root = Document()
    start = text.lstrip()[:9].lower()
    if start.startswith(("<!doctype", "<html")):
        document = parse_document(text)
        if document is not None:
            _adopt(root, document)
    else:
        holder = parse_fragment(text)
        if holder.text:
            root.children.append(holder.text)
        _add_children(root, holder)
    return root


@dataclass(frozen=True)
class Flat:
    """A fragment read only for its words, its images and the attributes of the elements that carry
    a URL, in document order: all a feed item's rules need, at a fraction of the cost of a tree."""

    text: str
    images: int
    linked: tuple[dict[str, str], ...]


# Elements with an attribute that node_urls reads a URL from; found by libxml2 rather than a walk.
_LINKED = xpath("descendant::*[" + " or ".join(f"@{name}" for name in (*_URL_ATTRIBUTES, "srcset", "style")) + "]")
_IMAGES = xpath("descendant::img")


def parse_flat(text: str) -> Flat:
    """Parse an HTML fragment into its text, its number of images and its URL-carrying elements."""
    holder = parse_fragment(text)
    linked = tuple(dict(element.items()) for element in _LINKED(holder))
    return Flat(holder.text_content(), len(_IMAGES(holder)), linked)


def _adopt(parent: Node, element: HtmlElement) -> None:
    # Written for speed (a check builds hundreds of thousands of nodes): items() rather than the
    # attrib proxy, the class compared rather than isinstance.
    node = Node(element.tag, dict(element.items()), parent)
    parent.children.append(node)
    if element.text:
        node.children.append(element.text)
    _add_children(node, element)


def _add_children(node: Node, element: HtmlElement) -> None:
    children = node.children
    for child in element:
        if child.tag.__class__ is str:  # comments and processing instructions are left out, not their tails
            _adopt(node, child)
        tail = child.tail
        if tail:
            children.append(tail)


def srcset_urls(value: str) -> list[str]:
    """List the URLs of a srcset attribute's candidates."""
    return [candidate.split()[0] for candidate in value.split(",") if candidate.split()]


_CSS_URL = re.compile(r"""url\(\s*(['"]?)(.*?)\1\s*\)""")


def node_urls(node: Node) -> list[tuple[str, str]]:
    """List (attribute, URL) for every URL an element carries, srcset candidates and CSS url() included."""
    return attribute_urls(node.attrs)


def attribute_urls(attrs: dict[str, str]) -> list[tuple[str, str]]:
    """List (attribute, URL) for every URL in an element's *attrs*."""
    if not attrs:
        return []
    urls: list[tuple[str, str]] = [(name, attrs[name]) for name in _URL_ATTRIBUTES if name in attrs]
    if "srcset" in attrs:
        urls += [("srcset", url) for url in srcset_urls(attrs["srcset"])]
    style = attrs.get("style", "")
    if "url(" in style:
        urls += [("style", match.group(2)) for match in _CSS_URL.finditer(style)]
    return urls
