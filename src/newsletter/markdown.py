"""Turn a post's Markdown into an HTML fragment; the only module that imports markdown-it-py and Pygments.

CommonMark plus tables, strikethrough, footnotes, task lists and heading ids. Fenced code is
highlighted with Pygments CSS classes; the email stage inlines those classes' styles.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict
from mdit_py_plugins.anchors import anchors_plugin
from mdit_py_plugins.footnote import footnote_plugin
from mdit_py_plugins.tasklists import tasklists_plugin
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexer import Lexer
from pygments.lexers import get_lexer_by_name
from pygments.util import ClassNotFound

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
_CLASS_FORMATTER = HtmlFormatter(nowrap=True)
_INLINE_FORMATTER = HtmlFormatter(style=CODE_STYLE_LIGHT, noclasses=True, nowrap=True)


def _highlight(code: str, lang: str, _attrs: str) -> str:
    lexer = _lexer(lang) if lang else None
    if lexer is None:
        return ""
    spans = highlight(code, lexer, _CLASS_FORMATTER)
    return f'<pre class="highlight"><code class="language-{lang}">{spans}</code></pre>\n'


def highlight_inline(code: str, lang: str) -> str | None:
    """Highlight code with inline styles, for mail clients that ignore <style>; None if *lang* is unknown."""
    lexer = _lexer(lang)
    return None if lexer is None else highlight(code, lexer, _INLINE_FORMATTER)


def _caption_figures(state) -> None:  # type: ignore[no-untyped-def]
    """Render a paragraph holding only a titled image as <figure> with the title as caption."""
    tokens = state.tokens
    for index in range(len(tokens) - 2):
        opening, inline, closing = tokens[index : index + 3]
        if opening.type != "paragraph_open" or closing.type != "paragraph_close":
            continue
        children = [child for child in inline.children or [] if child.type != "softbreak"]
        if len(children) != 1 or children[0].type != "image" or not children[0].attrGet("title"):
            continue
        image = children[0]
        image.meta["caption"] = image.attrGet("title")
        del image.attrs["title"]
        opening.tag = closing.tag = "figure"


def _render_image(renderer: RendererHTML, tokens: list[Token], idx: int, options: OptionsDict,
                  env: EnvType) -> str:
    token = tokens[idx]
    html = renderer.image(tokens, idx, options, env)
    caption = token.meta.get("caption")
    if caption:
        html += f"<figcaption>{renderer.renderInline(_caption_tokens(caption), options, env)}</figcaption>"
    return html


def _caption_tokens(caption: str) -> list[Token]:
    token = Token("text", "", 0)
    token.content = caption
    return [token]


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    md = (
        MarkdownIt("commonmark", {"html": True, "highlight": _highlight})
        .enable(["table", "strikethrough"])
        .use(footnote_plugin)
        .use(tasklists_plugin)
        .use(anchors_plugin, min_level=2, max_level=4)
    )
    md.core.ruler.push("caption_figures", _caption_figures)
    md.add_render_rule("image", _render_image)
    return md


def _plain_text(inline: Token) -> str:
    parts = []
    for child in inline.children or []:
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
        elif child.type == "image":
            parts.append(child.content)
    return "".join(parts).strip()


def render_markdown(text: str, first_line: int = 1) -> RenderedBody:
    """Render Markdown to an HTML fragment; *first_line* is the body's line in its file."""
    md = _parser()
    env: dict = {}
    tokens = md.parse(text, env)
    words = 0
    first_paragraph = ""
    images: list[Image] = []
    for index, token in enumerate(tokens):
        if token.type == "inline":
            for child in token.children or []:
                if child.type in ("text", "code_inline"):
                    words += len(child.content.split())
                elif child.type == "image":
                    line = first_line + (token.map[0] if token.map else 0)
                    images.append(Image(str(child.attrGet("src") or ""), child.content, line))
            previous = tokens[index - 1] if index else None
            if not first_paragraph and previous is not None and previous.type == "paragraph_open" \
                    and previous.level == 0:
                first_paragraph = _plain_text(token)
        elif token.type in ("fence", "code_block"):
            words += len(token.content.split())
    html = md.renderer.render(tokens, md.options, env)
    return RenderedBody(html, Outline(first_paragraph, words, tuple(images)))


def code_css(selector: str = ".highlight") -> tuple[str, str]:
    """Return the Pygments CSS for code blocks: (light, dark)."""
    light = HtmlFormatter(style=CODE_STYLE_LIGHT).get_style_defs(selector)
    dark = HtmlFormatter(style=CODE_STYLE_DARK).get_style_defs(selector)
    return light, dark
