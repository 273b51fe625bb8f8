"""Just enough CSS for the contrast rule: inline declarations, simple selectors and the rules of the
email's dark-mode ``@media`` blocks."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

from .colours import parse_colour
from .tree import HtmlElement, classes

_COLOUR_TOKEN = re.compile(r"#[0-9a-fA-F]{3,8}\b|rgba?\([^)]*\)|\b[a-zA-Z]+\b")


@lru_cache(maxsize=4096)
def declarations(style: str) -> Mapping[str, tuple[str, bool]]:
    """Parse CSS declarations into property → (value, !important); later ones win as in CSS.

    Kept per style text: an inlined email repeats the same few styles on every paragraph.
    """
    result: dict[str, tuple[str, bool]] = {}
    for declaration in style.split(";"):
        name, _, value = declaration.partition(":")
        name, value = name.strip().lower(), value.strip()
        if not name or not value:
            continue
        important = bool(re.search(r"!\s*important\s*$", value, re.IGNORECASE))
        value = re.sub(r"!\s*important\s*$", "", value, flags=re.IGNORECASE).strip()
        if important or not result.get(name, ("", False))[1]:
            result[name] = (value, important)
    return result


def background(declarations: Mapping[str, tuple[str, bool]]) -> tuple[str, bool] | None:
    """Return the background colour declared, from background-color or the colour in a background."""
    if "background-color" in declarations:
        return declarations["background-color"]
    if "background" in declarations:
        value, important = declarations["background"]
        for token in _COLOUR_TOKEN.findall(value):
            if parse_colour(token) is not None:
                return token, important
    return None


@dataclass(frozen=True)
class Selector:
    """A selector of simple compounds (tag, .class, #id) joined by descendant combinators."""

    parts: tuple[tuple[str, frozenset[str], str], ...]
    specificity: tuple[int, int, int]

    @staticmethod
    def parse(text: str) -> Selector | None:
        """Read a selector; None for one this does not understand, which is then never applied."""
        parts = []
        for compound in text.split():
            match = re.fullmatch(r"([a-zA-Z][a-zA-Z0-9]*|\*)?((?:[.#][-\w]+)*)", compound)
            if not match:
                return None  # pseudo-classes, attributes, other combinators: not understood, not applied
            extras = re.findall(r"[.#][-\w]+", match.group(2))
            classes = frozenset(extra[1:] for extra in extras if extra[0] == ".")
            ident = next((extra[1:] for extra in extras if extra[0] == "#"), "")
            parts.append(((match.group(1) or "*").lower(), classes, ident))
        if not parts:
            return None
        specificity = (sum(1 for part in parts if part[2]), sum(len(part[1]) for part in parts),
                       sum(1 for part in parts if part[0] != "*"))
        return Selector(tuple(parts), specificity)

    @staticmethod
    def _matches_one(part: tuple[str, frozenset[str], str], element: HtmlElement) -> bool:
        tag, wanted, ident = part
        return (tag in ("*", element.tag)) and wanted <= classes(element) and (not ident or element.get("id") == ident)

    def matches(self, element: HtmlElement) -> bool:
        """Say whether the selector selects *element*."""
        if not self._matches_one(self.parts[-1], element):
            return False
        ancestor = element.getparent()
        for part in reversed(self.parts[:-1]):
            while ancestor is not None and not self._matches_one(part, ancestor):
                ancestor = ancestor.getparent()
            if ancestor is None:
                return False
            ancestor = ancestor.getparent()
        return True


@dataclass(frozen=True)
class CssRule:
    """A rule of a style sheet; *order* is its place in the sheet, the last tie-breaker."""

    selector: Selector
    declarations: Mapping[str, tuple[str, bool]]
    order: int


@lru_cache(maxsize=8)
def sheet_dark_rules(sheets: tuple[str, ...]) -> tuple[CssRule, ...]:
    """The rules inside the dark-mode ``@media`` blocks of *sheets*: every email of a build has the same."""
    rules: list[CssRule] = []
    for sheet in sheets:
        css = re.sub(r"/\*.*?\*/", "", sheet, flags=re.DOTALL)
        for match in re.finditer(r"@media[^{]*prefers-color-scheme\s*:\s*dark[^{]*\{", css):
            depth, start, end = 1, match.end(), match.end()
            while end < len(css) and depth:
                depth += {"{": 1, "}": -1}.get(css[end], 0)
                end += 1
            for rule in re.finditer(r"([^{}]+)\{([^{}]*)\}", css[start : end - 1]):
                parsed = declarations(rule.group(2))
                for text in rule.group(1).split(","):
                    selector = Selector.parse(text.strip())
                    if selector is not None:
                        rules.append(CssRule(selector, parsed, len(rules)))
    return tuple(rules)
