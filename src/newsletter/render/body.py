"""A rendered body as the rest of the package holds it: its HTML and its outline. Kept apart from
markdown.py so that reading the build cache, and the commands that only read it, load no renderer."""

from __future__ import annotations

import math
from dataclasses import dataclass

WORDS_PER_MINUTE = 230


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
    # Every <img> src, raw HTML ones too, each once: what emails measure under static/.
    image_sources: tuple[str, ...] = ()

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
