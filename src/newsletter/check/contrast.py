"""The ``contrast`` rule: paint every run of the email's text in light and dark mode, as a mail client
would from inline styles and the dark-mode style sheet, and flag what is below WCAG AA."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache

from ..layout import TEMPLATES_DIR
from ..render.templates import builtin_templates
from .colours import Colour, contrast_ratio, hex_colour, known_colour, over, parse_colour
from .context import Issue, Run, display
from .css import CssRule, background, declarations, sheet_dark_rules
from .findings import WARNING, Hit, Scope, rule
from .tree import HtmlElement, is_element, text_of

AA_NORMAL, AA_LARGE = 4.5, 3.0
_HEADING_SIZES = {"h1": 2.0, "h2": 1.5, "h3": 1.17, "h4": 1.0, "h5": 0.83, "h6": 0.67}
_BOLD_TAGS = frozenset({"b", "strong", "th", *_HEADING_SIZES})
_HIDDEN_TAGS = frozenset({"head", "style", "script", "title", "template"})
_BLOCK_TAGS = frozenset({"p", "li", "pre", "td", "th", "blockquote", "figcaption", "dd", "dt", "div",
                         *_HEADING_SIZES})
_DEFAULT_LINK = known_colour("#0000ee")
_BLACK, _WHITE = known_colour("#000000"), known_colour("#ffffff")


def _font_size(value: str | None, parent: float, tag: str) -> float:
    """Return the size in px of text in *tag* with font-size *value*, inside text of size *parent*."""
    if value:
        match = re.fullmatch(r"([\d.]+)(px|pt|em|rem|%)", value.strip().lower())
        if match:
            number, unit = float(match.group(1)), match.group(2)
            return {"px": number, "pt": number * 4 / 3, "em": number * parent, "rem": number * 16,
                    "%": number * parent / 100}[unit]
    return parent * _HEADING_SIZES.get(tag, 1.0)


@dataclass(frozen=True, eq=False)
class _Paint:
    """What a piece of text looks like in one mode: its colour, its background, whether it is large.

    A painter makes one of each (_Painter.paint_of), so that a paint is told by its identity: it is
    in the key of every element the painter paints, and hashing its fields each time would cost more.
    """

    colour: Colour
    background: Colour
    size: float
    bold: bool

    @property
    def large(self) -> bool:
        # WCAG "large text": 18 pt (24 px), or 14 pt (18.66 px) when bold.
        return self.size >= 24 or (self.bold and self.size >= 18.66)


@dataclass(frozen=True)
class _LowContrast:
    """A run of text below WCAG AA in one mode, and where it is."""

    mode: str
    paint: _Paint
    ratio: float
    element: HtmlElement  # that holds the text
    after: HtmlElement | None  # the child whose tail the text is; None for the element's own text
    text: str


def _text_before(ancestor: HtmlElement, element: HtmlElement, after: HtmlElement | None) -> str:
    """Return the text of *ancestor* that comes before the text of *element* after child *after*."""
    parts: list[str] = []

    def walk(current: HtmlElement) -> bool:
        if current is element and after is None:
            return True
        if current.text:
            parts.append(current.text)
        for child in current:
            if is_element(child) and walk(child):
                return True
            if current is element and child is after:
                return True
            if child.tail:
                parts.append(child.tail)
        return False

    walk(ancestor)
    return "".join(parts)


def _block_of(element: HtmlElement) -> HtmlElement:
    """Return the paragraph, list item, cell or other block *element* is in."""
    while element.tag not in _BLOCK_TAGS:
        parent = element.getparent()
        if parent is None:
            break
        element = parent
    return element


Declarations = Mapping[str, tuple[str, bool]]


class _Painter:
    """Paint an email's elements in light and dark mode, as a mail client with its style sheet would.

    Every email of a build has the same style sheet and most of the same elements (the template's,
    and paragraphs, links and code styled alike), so how an element looks is kept by what decides
    it: its parent's paint, its style, and the chain of tags, classes and ids above it (all that the
    sheet's selectors read). A painter serves every email with the same sheet.
    """

    def __init__(self, rules: tuple[CssRule, ...]) -> None:
        # The dark rules that set each property, by the tag their selector's last part names ('*' for
        # any): an element is matched only against the few rules that could select it.
        self.setting: dict[tuple[str, str], list[tuple[CssRule, tuple[str, bool]]]] = {}
        for css_rule in rules:
            for prop in ("background", "color"):
                declared = (background(css_rule.declarations) if prop == "background"
                            else css_rule.declarations.get(prop))
                if declared is not None:
                    key = (prop, css_rule.selector.parts[-1][0])
                    self.setting.setdefault(key, []).append((css_rule, declared))
        self._chains: dict[tuple[int, str, str, str], int] = {}
        self._painted: dict[tuple[object, ...], _Paint] = {}
        self._below: dict[tuple[_Paint, _Paint], tuple[tuple[str, _Paint, float], ...]] = {}
        self._paints: dict[tuple[Colour, Colour, float, bool], _Paint] = {}
        self.start = self.paint_of(_BLACK, _WHITE, 16.0, False)  # black on white, 16 px

    def paint_of(self, colour: Colour, background_colour: Colour, size: float, bold: bool) -> _Paint:
        """Return the painter's one paint of these colours, size and weight."""
        key = (colour, background_colour, size, bold)
        found = self._paints.get(key)
        if found is None:
            found = self._paints[key] = _Paint(*key)
        return found

    def chain(self, parent: int, element: HtmlElement) -> int:
        """A number for *element*'s chain of tags, classes and ids up to the root: equal chains, equal matches."""
        key = (parent, element.tag, element.get("class", ""), element.get("id", ""))
        found = self._chains.get(key)
        if found is None:
            found = self._chains[key] = len(self._chains) + 1
        return found

    def dark_value(self, element: HtmlElement, prop: str, inline: tuple[str, bool] | None) -> str | None:
        """Return the value the dark-mode sheet gives *prop* on *element*, if it beats the inline one."""
        best: tuple[tuple[int, tuple[int, int, int], int], str] | None = None
        for css_rule, declared in (*self.setting.get((prop, element.tag), ()), *self.setting.get((prop, "*"), ())):
            if not css_rule.selector.matches(element):
                continue
            # An !important sheet rule beats an inline style; a plain one loses to it.
            if not declared[1] and inline is not None:
                continue
            rank = (int(declared[1]), css_rule.selector.specificity, css_rule.order)
            if best is None or rank > best[0]:
                best = (rank, declared[0])
        return best[1] if best is not None else None

    def pick(self, element: HtmlElement, inline: Declarations, prop: str, dark: bool) -> str | None:
        """Return the value of *prop* on *element*: the winning sheet rule's in dark mode, else the inline one."""
        value = background(inline) if prop == "background" else inline.get(prop)
        if dark:
            chosen = self.dark_value(element, prop, value)
            if chosen is not None:
                return chosen
        if value is not None:
            return value[0]
        if prop == "background":
            return element.get("bgcolor") or None
        return None

    def paint(self, element: HtmlElement, chain: int, parent: _Paint, style: str, dark: bool) -> _Paint:
        """Work out how *element*'s text looks, from its parent's paint and its own styles."""
        key = (chain, parent, style, element.get("bgcolor"), dark)
        known = self._painted.get(key)
        if known is None:
            known = self._painted[key] = self._paint(element, parent, declarations(style), dark)
        return known

    def _paint(self, element: HtmlElement, parent: _Paint, inline: Declarations, dark: bool) -> _Paint:
        background_colour = parent.background
        declared = self.pick(element, inline, "background", dark)
        colour_value = parse_colour(declared) if declared else None
        if colour_value is not None and colour_value[3] > 0:
            background_colour = over(colour_value, parent.background)
        colour = parent.colour
        declared = self.pick(element, inline, "color", dark)
        parsed = parse_colour(declared) if declared else None
        if parsed is not None:
            colour = parsed
        elif element.tag == "a" and declared is None:
            colour = _DEFAULT_LINK
        weight = inline.get("font-weight", ("", False))[0].lower()
        bold = parent.bold or element.tag in _BOLD_TAGS
        if weight:
            bold = weight in ("bold", "bolder") or (weight.isdigit() and int(weight) >= 600)
        size = _font_size(inline.get("font-size", ("", False))[0], parent.size, element.tag)
        return self.paint_of(colour, background_colour, size, bold)

    def below(self, light: _Paint, dark: _Paint) -> tuple[tuple[str, _Paint, float], ...]:
        """The modes in which text painted *light* and *dark* is below WCAG AA, with its ratio."""
        known = self._below.get((light, dark))
        if known is None:
            found = []
            for mode, current in (("light", light), ("dark", dark)):
                ratio = contrast_ratio(over(current.colour, current.background), current.background)
                if ratio < (AA_LARGE if current.large else AA_NORMAL):
                    found.append((mode, current, ratio))
            known = self._below[(light, dark)] = tuple(found)
        return known

    def visit(self, element: HtmlElement, chain: int, light: _Paint, dark: _Paint,
              found: list[_LowContrast]) -> None:
        """Check the text in *element* and below, in a parent painted *light* and *dark*, unless it is never
        shown."""
        style = element.get("style", "")
        if element.tag in _HIDDEN_TAGS or (style and declarations(style).get("display", ("", False))[0].lower()
                                           == "none"):
            return
        linked = self.chain(chain, element)
        light = self.paint(element, linked, light, style, False)
        dark = self.paint(element, linked, dark, style, True)
        below = self.below(light, dark)  # for the text in the element itself, not in its children
        if below and element.text and not element.text.isspace():
            found += _lows(below, element, None, element.text)
        for child in element:
            if is_element(child):
                self.visit(child, linked, light, dark, found)
            if below and child.tail and not child.tail.isspace():
                found += _lows(below, element, child, child.tail)


def _lows(below: tuple[tuple[str, _Paint, float], ...], element: HtmlElement, after: HtmlElement | None,
          text: str) -> list[_LowContrast]:
    return [_LowContrast(mode, paint, ratio, element, after, text.strip()) for mode, paint, ratio in below]


@lru_cache(maxsize=4)
def _painter(sheets: tuple[str, ...]) -> _Painter:
    return _Painter(sheet_dark_rules(sheets))


def low_contrast(document: HtmlElement) -> list[_LowContrast]:
    """Find every run of visible text whose colour on its background is below WCAG AA, light and dark."""
    painter = _painter(tuple(text_of(style) for style in document.iter("style")))
    found: list[_LowContrast] = []
    painter.visit(document, 0, painter.start, painter.start, found)
    return found


def _line(issue: Issue, first: _LowContrast, in_code: bool) -> int | None:
    """Return the line of the post that wrote the first text of a group."""
    block = _block_of(first.element)
    text = text_of(block)
    if in_code:
        start = issue.source.line_of(text.split("\n")[0])
        return start + _text_before(block, first.element, first.after).count("\n") if start else None
    if block.tag in ("th", "td"):
        # A table's cells are on the lines of its rows, which start with a bar.
        words = " ".join(text.split()[:3])
        for number, line in enumerate(issue.source.body.split("\n"), start=issue.post.body_line):
            if line.lstrip().startswith("|") and words in line:
                return number
    return issue.source.text_line(text)


@rule("contrast", WARNING, "email text or link colours below WCAG AA contrast, in light or dark mode",
      scope=Scope.BUILT_ISSUE)
def check_contrast(run: Run, issue: Issue) -> Iterator[Hit]:
    """Report each mode, background and kind of text whose colours are below WCAG AA in the email.

    Text the post wrote is reported at the post; text the template wrote (the title, the footer)
    at the template, in words that are the same for every issue, so that it is reported once.
    """
    if issue.email_data is None:
        return
    found = low_contrast(issue.email)
    if not found:
        return
    body_text = " ".join(text_of(issue.body).split())
    template = _Template(run)
    # One finding per mode, background and kind of text: each is one colour scheme to fix.
    groups: dict[tuple[str, str, bool, str, int | None], list[_LowContrast]] = {}
    for low in found:
        block = _block_of(low.element)
        in_code = block.tag == "pre"
        place = None if in_code or " ".join(text_of(block).split()) in body_text else template.line(block)
        kind = block.tag if block.tag in _HEADING_SIZES or block.tag == "th" else ""
        groups.setdefault((low.mode, hex_colour(low.paint.background), in_code, kind, place), []).append(low)
    for (mode, background_hex, in_code, kind, place), lows in groups.items():
        from_template = place is not None
        colours: dict[str, str] = {}
        for low in lows:
            needed = AA_LARGE if low.paint.large else AA_NORMAL
            snippet = low.text if len(low.text) <= 24 else low.text[:23] + "…"
            shown = "" if from_template else f" ({snippet!r})"
            colours.setdefault(hex_colour(low.paint.colour),
                               f"{hex_colour(low.paint.colour)} {low.ratio:.1f}:1 of {needed:g}:1{shown}")
        where = "highlighted code" if in_code else f"text in <{kind}>" if kind else "text"
        message = (f"{mode} mode: {where} on {background_hex} is below WCAG AA contrast: "
                   f"{'; '.join(colours.values())}")
        if from_template:
            yield Hit(template.path, place or None, message + "; the template sets "
                      "these colours: change them in its style sheet")
        else:
            yield Hit(issue.path, _line(issue, lows[0], in_code), message)


class _Template:
    """The email template's source, to find the line that wrote a piece of the email."""

    def __init__(self, run: Run) -> None:
        own = run.root / TEMPLATES_DIR / "email.html"
        file = own if own.is_file() else builtin_templates() / "email.html"
        self.path = display(run.root, file)
        try:
            self.lines = file.read_text(encoding="utf-8").split("\n")
        except (OSError, UnicodeDecodeError):
            self.lines = []

    def line(self, block: HtmlElement) -> int:
        """The line that wrote *block*: by its words, else by its class or an ancestor's; 0 if unknown."""
        words = text_of(block).split()
        needles = [" ".join(words[:count]) for count in (6, 3) if len(words) >= count]
        element: HtmlElement | None = block
        while element is not None:
            needles += [f'class="{name}' for name in element.get("class", "").split()[:1]]
            element = element.getparent()
        for needle in needles:
            for number, text in enumerate(self.lines, start=1):
                if needle in text:
                    return number
        return 0
