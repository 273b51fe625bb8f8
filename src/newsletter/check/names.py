"""Rules on the names of files in ``static/`` that links, feeds and emails carry."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import PurePosixPath
from urllib.parse import quote

from ..posts import slugify
from ..render.urls import needs_encoding
from .context import Run
from .findings import WARNING, Hit, Scope, rule


@rule("static-name", WARNING, "a file in `static/` whose name a URL must percent-encode (spaces, accents, "
                              "`#`, `?`, `%`)", scope=Scope.SITE)
def static_name(run: Run) -> Iterator[Hit]:
    """Report static files whose names cannot go into a URL as they are."""
    for path in sorted(run.site.static_files):
        if needs_encoding(path):
            odd = sorted({char for char in path if needs_encoding(char)})
            yield Hit(path, None, f"the name has characters a URL must percent-encode "
                      f"({' '.join(repr(char) for char in odd)}): a link to it must read {quote(path)!r}; "
                      f"rename it to {_plain_name(path)!r} to keep links simple")


def _plain_name(path: str) -> str:
    """The path with each name made of letters, digits and hyphens, its suffix kept."""
    parts = PurePosixPath(path).parts
    folders = [slugify(part) or "file" for part in parts[1:-1]]
    name = PurePosixPath(parts[-1])
    suffix = name.suffix if not needs_encoding(name.suffix) else ""
    return "/".join([parts[0], *folders, (slugify(name.stem) or "file") + suffix.lower()])
