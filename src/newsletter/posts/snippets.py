"""Read snippets/*.md: blocks of Markdown shown in every issue's web page and email.

A snippet's front matter is optional. ``position: top`` puts it before the issue's body (the
default is after it, in file-name order); ``layout: card`` lays it out as a card with a title,
dates, a price and a button linking to ``link``, its Markdown as the card's text. A post leaves
snippets out with ``snippets: false``, or names the ones it shows with ``snippets: [courses]``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import Config, find_key_line, suggest
from ..errors import PostError, Problem
from ..layout import SNIPPETS_DIR
from ..sources import Source, scan
from .model import Post, clean_text, one_line

LAYOUTS = ("text", "card")
POSITIONS = ("bottom", "top")
_TEXT_KEYS = ("title", "dates", "price", "button", "link")
SNIPPET_KEYS = ("layout", "position", *_TEXT_KEYS)
_CARD_NEEDS = ("title", "button", "link")


@dataclass(frozen=True)
class Snippet:
    """One snippet as written: where it goes, how it is laid out, its Markdown."""

    name: str
    display_path: str
    body: str
    body_line: int
    digest: str
    layout: str = "text"
    position: str = "bottom"
    title: str = ""
    dates: str = ""
    price: str = ""
    button: str = ""
    link: str = ""


def _key_lines(path: Path, body_line: int) -> Callable[[str], int | None]:
    """Where each front-matter key of a snippet is set, as a line of the file."""
    front = "\n".join(path.read_text(encoding="utf-8-sig").splitlines()[: max(body_line - 1, 0)])
    return lambda key: find_key_line(front, key)


def _values(meta: dict[str, Any], display: str, problems: list[Problem],
            line_of: Callable[[str], int | None]) -> dict[str, str]:
    values: dict[str, str] = {}
    for key, value in meta.items():
        if key not in SNIPPET_KEYS:
            problems.append(Problem(display, f"unknown key{suggest(str(key), SNIPPET_KEYS)}; known keys: "
                                             f"{', '.join(SNIPPET_KEYS)}", line_of(str(key)), str(key)))
        elif not isinstance(value, str):
            problems.append(Problem(display, f"expected text, got {value!r}; put it in quotes", line_of(key), key))
        else:
            values[key] = one_line(clean_text(value)[0])
    for key, choices in (("layout", LAYOUTS), ("position", POSITIONS)):
        if key in values and values[key] not in choices:
            problems.append(Problem(display, f"expected one of {', '.join(choices)}, got {values[key]!r}",
                                    line_of(key), key))
    if values.get("layout") == "card":
        for key in _CARD_NEEDS:
            if key not in meta or (key in values and not values[key]):  # a value not text is said above
                # A missing key has no line of its own: the line that asked for a card needs it.
                problems.append(Problem(display, f"a card needs '{key}: ...' in the front matter",
                                        line_of(key) or line_of("layout"), key))
    return values


def read_snippet(path: Path, config: Config) -> tuple[Snippet | None, list[Problem]]:
    """Read one snippet file; return it (None if invalid) and its problems."""
    display = path.relative_to(config.root).as_posix()
    from .reader import read_front_matter  # the YAML reader loads only when there are snippets

    meta, body, body_line, problems = read_front_matter(path, config)
    if problems:
        return None, problems
    values = _values(meta, display, problems, _key_lines(path, body_line))
    if problems:
        return None, problems
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return Snippet(path.stem, display, clean_text(body)[0], body_line, digest, **values), []


def load_snippets(config: Config, scanned: Sequence[Source] | None, posts: Sequence[Post]) -> tuple[Snippet, ...]:
    """Every snippet in snippets/, by file name; raise ``PostError`` for bad ones and unknown names in posts."""
    if scanned is None:
        scanned = scan(config.root, SNIPPETS_DIR, suffix=".md", recursive=False,
                       private=config.private_files)
    snippets: list[Snippet] = []
    problems: list[Problem] = []
    for source in scanned:
        if not source.relative.endswith(".md") or source.relative.count("/") != 1:
            continue
        snippet, said = read_snippet(config.root / source.relative, config)
        problems.extend(said)
        if snippet is not None:
            snippets.append(snippet)
    names = [snippet.name for snippet in snippets]
    for post in posts:
        for name in post.snippets or ():
            if name not in names and not problems:
                shipped = ", ".join(names) or "none"
                line = find_key_line(post.source.read_text(encoding="utf-8-sig"), "snippets")
                problems.append(Problem(post.display_path, f"no snippet '{name}'{suggest(name, names)}; "
                                        f"snippets/ has: {shipped}", line, "snippets"))
    if problems:
        raise PostError(problems=problems)
    return tuple(snippets)


def chosen(snippets: tuple[Snippet, ...], post: Post) -> tuple[Snippet, ...]:
    """The snippets *post* shows, in file-name order."""
    if post.snippets is None:
        return snippets
    return tuple(snippet for snippet in snippets if snippet.name in post.snippets)
