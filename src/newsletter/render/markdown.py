"""Turn a post's Markdown into an HTML fragment; the only module that imports pyromark and Pygments.

CommonMark with GitHub's tables, strikethrough, task lists and footnotes, parsed by
pulldown-cmark (through pyromark) and finished in one lxml pass: GitHub's heading ids and
footnote list, captioned figures. Fenced code is highlighted with Pygments CSS classes; the
email stage inlines those classes' styles.
"""

from __future__ import annotations

import re
from functools import lru_cache

import pyromark
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexer import Lexer
from pygments.lexers import get_lexer_by_name
from pygments.util import ClassNotFound

from ..errors import PostError, Problem
from .body import Image, Outline, RenderedBody
from .html import TooDeep, finish_markdown_html
from .merge import shield_fallback_bars, unshield_fallback_bars, without_merge_fields

CODE_STYLE_LIGHT = "default"
CODE_STYLE_DARK = "monokai"


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


_CSS_RULE = re.compile(r"^\.(?P<name>[\w-]+) \{ (?P<style>[^}]*?) \}")


@lru_cache(maxsize=1)
def inline_code_styles() -> dict[str, str]:
    """The inline style for each token class of the highlighted code, for email (light scheme)."""
    styles = {}
    for line in _CLASS_FORMATTER.get_style_defs("").splitlines():
        rule = _CSS_RULE.match(line)
        if rule:
            styles[rule["name"]] = rule["style"]
    return styles


# Raw HTML is the writer's own, as in any static site generator; the email stage removes what
# mail clients block.
_MARKDOWN = pyromark.Markdown(options=pyromark.Options.ENABLE_TABLES | pyromark.Options.ENABLE_STRIKETHROUGH
                              | pyromark.Options.ENABLE_TASKLISTS | pyromark.Options.ENABLE_FOOTNOTES)
_NOT_IN_IDS = re.compile(r"[^\w\- ]")


def heading_id(title: str) -> str:
    """The id GitHub gives a heading: lower case, spaces as hyphens, punctuation dropped."""
    return _NOT_IN_IDS.sub("", title.strip().lower().replace(" ", "-"))


def render_markdown(text: str, first_line: int = 1, path: str = "<post>") -> RenderedBody:
    """Render Markdown to an HTML fragment; *first_line* is the body's line in its file *path*."""
    try:
        html = unshield_fallback_bars(_MARKDOWN.html(shield_fallback_bars(text)))
        finished = finish_markdown_html(html, heading_id, _highlight)
    except TooDeep as error:
        raise PostError(problems=[Problem(path, str(error), first_line)]) from None
    images = _images(text, first_line) if "![" in text else ()
    # The first paragraph stands in for a summary on the web and in feeds: no merge fields there.
    outline = Outline(without_merge_fields(finished.first_paragraph), finished.word_count, images,
                      finished.image_sources)
    return RenderedBody(finished.html, outline)


def _images(text: str, first_line: int) -> tuple[Image, ...]:
    """The Markdown images of *text* with their alt text and file line (raw <img> tags are not here)."""
    images: list[Image] = []
    open_image: tuple[str, int] | None = None
    alt: list[str] = []
    for event, span in _MARKDOWN.events_with_range(text):
        if open_image is None:
            start = event.get("Start") if isinstance(event, dict) else None
            if isinstance(start, dict) and "Image" in start:
                open_image = (start["Image"]["dest_url"], span["start"])
                alt = []
        elif isinstance(event, dict) and ("Text" in event or "Code" in event):
            alt.append(str(event.get("Text") or event.get("Code") or ""))
        elif isinstance(event, dict) and event.get("End") == "Image":
            src, offset = open_image
            line = first_line + text.count("\n", 0, offset)
            images.append(Image(src, "".join(alt), line))
            open_image = None
    return tuple(images)


def code_css(selector: str = ".highlight") -> tuple[str, str]:
    """Return the Pygments CSS for code blocks: (light, dark)."""
    light = HtmlFormatter(style=CODE_STYLE_LIGHT).get_style_defs(selector)
    dark = HtmlFormatter(style=CODE_STYLE_DARK).get_style_defs(selector)
    return light, dark
