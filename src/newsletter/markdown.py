"""Turn a post's Markdown into an HTML fragment; the only module that imports cmark-gfm and Pygments.

GitHub Flavored Markdown (CommonMark plus tables, strikethrough, task lists) with footnotes and
heading ids, rendered by cmark-gfm, GFM's reference implementation in C. Fenced code is
highlighted with Pygments CSS classes; the email stage inlines those classes' styles.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache

import cmarkgfm
from cmarkgfm.cmark import Options
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexer import Lexer
from pygments.lexers import get_lexer_by_name
from pygments.util import ClassNotFound

from .markup import finish_markdown_html

WORDS_PER_MINUTE = 230
CODE_STYLE_LIGHT = "default"
CODE_STYLE_DARK = "monokai"


@dataclass(frozen=True)
class Image:
    src: str
    alt: str
    line: int


@dataclass(frozen=True)
class Outline:
    """What lists, feeds and checks need to know about a body without its HTML."""

    first_paragraph: str
    word_count: int
    images: tuple[Image, ...]

    @property
    def reading_minutes(self) -> int:
        return max(1, math.ceil(self.word_count / WORDS_PER_MINUTE))


@dataclass(frozen=True)
class RenderedBody:
    """A post's body as HTML, with its outline."""

    html: str
    outline: Outline

    @property
    def first_paragraph(self) -> str:
        return self.outline.first_paragraph

    @property
    def word_count(self) -> int:
        return self.outline.word_count

    @property
    def images(self) -> tuple[Image, ...]:
        return self.outline.images

    @property
    def reading_minutes(self) -> int:
        return self.outline.reading_minutes


@lru_cache(maxsize=64)
def _lexer(lang: str) -> Lexer | None:
    try:
        return get_lexer_by_name(lang)
    except ClassNotFound:
        return None


# Made once: building a formatter computes its whole stylesheet.
_CLASS_FORMATTER = HtmlFormatter(style=CODE_STYLE_LIGHT, nowrap=True)


def _highlight(code: str, lang: str) -> str | None:
    lexer = _lexer(lang)
    return None if lexer is None else highlight(code, lexer, _CLASS_FORMATTER)


@lru_cache(maxsize=1)
def inline_code_styles() -> dict[str, str]:
    """The inline style for each token class of the highlighted code, for email (light scheme)."""
    styles = {}
    for line in _CLASS_FORMATTER.get_style_defs("").splitlines():
        rule = _CSS_RULE.match(line)
        if rule:
            styles[rule["name"]] = rule["style"]
    return styles


_CSS_RULE = re.compile(r"^\.(?P<name>[\w-]+) \{ (?P<style>[^}]*?) \}")


# Raw HTML is the writer's own, as in any static site generator; the email stage removes what
# mail clients block. Source positions give images their line numbers.
_OPTIONS = Options.CMARK_OPT_UNSAFE | Options.CMARK_OPT_FOOTNOTES | Options.CMARK_OPT_SOURCEPOS
_EXTENSIONS = ("table", "strikethrough", "tasklist")
_NOT_IN_IDS = re.compile(r"[^\w\- ]")


def heading_id(title: str) -> str:
    """The id GitHub gives a heading: lower case, spaces as hyphens, punctuation dropped."""
    return _NOT_IN_IDS.sub("", title.strip().lower().replace(" ", "-"))


def render_markdown(text: str, first_line: int = 1) -> RenderedBody:
    """Render Markdown to an HTML fragment; *first_line* is the body's line in its file."""
    html = cmarkgfm.markdown_to_html_with_extensions(text, options=_OPTIONS, extensions=list(_EXTENSIONS))
    finished = finish_markdown_html(html, heading_id, _highlight)
    # Images in raw HTML have no source position; check finds those in the text itself.
    images = tuple(Image(src, alt, first_line - 1 + line) for src, alt, line in finished.images if line)
    return RenderedBody(finished.html, Outline(finished.first_paragraph, finished.word_count, images))


def code_css(selector: str = ".highlight") -> tuple[str, str]:
    """Return the Pygments CSS for code blocks: (light, dark)."""
    light = HtmlFormatter(style=CODE_STYLE_LIGHT).get_style_defs(selector)
    dark = HtmlFormatter(style=CODE_STYLE_DARK).get_style_defs(selector)
    return light, dark
