"""Where things are in a post's source: the line of a front matter key, a URL or a piece of text."""

from __future__ import annotations

import html
from urllib.parse import unquote

from ..config import find_key_line
from ..posts import Post


class Source:
    """A post's text, to find the line of a front matter key or of text in the body."""

    def __init__(self, post: Post) -> None:
        self.post = post
        try:
            text = post.source.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError):
            text = ""
        lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        closing = next((index for index in range(1, len(lines)) if lines[index].strip() in ("---", "+++")), 0)
        self.front = "\n".join(lines[1:closing])
        # A post from the build's cache carries no Markdown (its rendered body stands in for it).
        self.body = post.body or "\n".join(lines[post.body_line - 1:])

    def key_line(self, key: str) -> int | None:
        """Return the line of a top-level front matter key, if it is there."""
        found = find_key_line(self.front, key)
        return found + 1 if found else None

    def line_of(self, needle: str, occurrence: int = 0) -> int | None:
        """Return the line of the *occurrence*-th appearance of *needle* in the body."""
        if not needle:
            return None
        start = -1
        for _ in range(occurrence + 1):
            start = self.body.find(needle, start + 1)
            if start < 0:
                return None
        return self.post.body_line + self.body.count("\n", 0, start)

    def url_line(self, url: str, occurrence: int = 0) -> int | None:
        """Return the line where a link or image URL is written (Markdown may have re-encoded it)."""
        # A page bundle's post names its files by their path in its folder, not where the build copied them.
        written = url.removeprefix(f"{self.post.slug}/") if self.post.bundle else url
        for form in dict.fromkeys((url, unquote(url), html.unescape(url), url.split("#")[0], written)):
            line = self.line_of(form, occurrence) or self.line_of(form)
            if line:
                return line
        return None

    def heading_line(self, level: int, text: str) -> int | None:
        """Return the line of an ATX heading ('## Text') of *level* whose text starts like *text*."""
        first = text.split()[0] if text.split() else ""
        for number, line in enumerate(self.body.split("\n"), start=self.post.body_line):
            marks, _, rest = line.strip().partition(" ")
            if marks == "#" * level and first in rest:
                return number
        return self.text_line(text)

    def text_line(self, text: str) -> int | None:
        """Return the line where rendered *text* starts, searching for its first words."""
        first = next((line.strip() for line in text.split("\n") if line.strip()), "")
        words = first.split()
        for count in (8, 4, 2, 1):
            if len(words) >= count or count == 1:
                line = self.line_of(" ".join(words[:count]))
                if line:
                    return line
        return None
