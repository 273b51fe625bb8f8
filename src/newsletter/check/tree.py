"""A small HTML tree built with the standard library's parser, which is all the check needs to read
pages, emails and feed content (lxml stays in the render modules that own it)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser

_VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param",
                   "source", "track", "wbr"})


class Node:
    """An element: its tag, attributes, children (elements and text) and parent."""

    __slots__ = ("tag", "attrs", "children", "parent")

    def __init__(self, tag: str, attrs: dict[str, str], parent: Node | None) -> None:
        self.tag = tag
        self.attrs = attrs
        self.children: list[Node | str] = []
        self.parent = parent

    def iter(self, *tags: str) -> Iterator[Node]:
        """Yield every element below this one (of *tags*, if given), in document order."""
        for child in self.children:
            if isinstance(child, Node):
                if not tags or child.tag in tags:
                    yield child
                yield from child.iter(*tags)

    def text(self) -> str:
        """Return all the text below this element."""
        return "".join(child if isinstance(child, str) else child.text() for child in self.children)

    @property
    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())


class TreeBuilder(HTMLParser):
    """Build a tree of Nodes; an end tag closes every element opened since its start tag."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#root", {}, None)
        self.current = self.root

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {name: value or "" for name, value in attrs}, self.current)
        self.current.children.append(node)
        if tag not in _VOID:
            self.current = node

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.current.children.append(Node(tag, {name: value or "" for name, value in attrs}, self.current))

    def handle_endtag(self, tag: str) -> None:
        node: Node | None = self.current
        while node is not None and node.tag != tag:
            node = node.parent
        if node is not None and node.parent is not None:
            self.current = node.parent

    def handle_data(self, data: str) -> None:
        self.current.children.append(data)


def parse_html(text: str) -> Node:
    """Parse HTML into a tree under a "#root" node."""
    builder = TreeBuilder()
    builder.feed(text)
    builder.close()
    return builder.root


def srcset_urls(value: str) -> list[str]:
    """List the URLs of a srcset attribute's candidates."""
    return [candidate.split()[0] for candidate in value.split(",") if candidate.split()]


_URL_ATTRIBUTES = ("href", "src", "poster", "cite", "background", "action")


def node_urls(node: Node) -> list[tuple[str, str]]:
    """List (attribute, URL) for every URL an element carries, srcset candidates and CSS url() included."""
    urls: list[tuple[str, str]] = [(name, node.attrs[name]) for name in _URL_ATTRIBUTES if name in node.attrs]
    urls += [("srcset", url) for url in srcset_urls(node.attrs.get("srcset", ""))]
    urls += [("style", match.group(2)) for match in re.finditer(r"""url\(\s*(['"]?)(.*?)\1\s*\)""",
                                                                 node.attrs.get("style", ""))]
    return urls

