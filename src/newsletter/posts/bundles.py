"""Hugo page bundles: a folder ``posts/<name>/`` holding the post as ``index.md`` and the files it shows.

The files beside ``index.md`` (images, a PDF, anything but Markdown) are published next to the
issue's web page, ``<slug>/chart.png``, so that the post can name them as Hugo lets it, by their
path inside the folder (``![Chart](chart.png)``). Markdown files beside ``index.md`` are Hugo's
page resources: neither posts nor published. A folder with only ``_index.md`` (Hugo's branch
bundle, a section) is not a bundle.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..errors import Problem
from ..layout import POSTS_DIR
from ..sources import Source

BUNDLE_PAGE = "index.md"
# The issue's own web page lives at <slug>/index.html: a bundle file of that name would replace it.
_TAKEN = frozenset({"index.html"})


def is_bundle_page(relative: str) -> bool:
    """Say whether *relative* (from the newsletter folder) is a bundle's post: ``posts/<name>/index.md``."""
    parts = relative.split("/")
    return len(parts) == 3 and parts[0] == POSTS_DIR and parts[2] == BUNDLE_PAGE


def bundle_of(relative: str) -> str:
    """The folder of the bundle whose post is *relative* (``posts/chart``), or '' for a post file."""
    return relative.rsplit("/", 1)[0] if is_bundle_page(relative) else ""


def files_by_bundle(scanned: Sequence[Source]) -> dict[str, dict[str, Source]]:
    """The files each bundle publishes, by bundle folder, then by their path inside it."""
    folders = {bundle_of(source.relative) for source in scanned if is_bundle_page(source.relative)}
    found: dict[str, dict[str, Source]] = {}
    for source in scanned:
        parts = source.relative.split("/")
        folder = "/".join(parts[:2])
        if len(parts) < 3 or folder not in folders or source.relative.endswith(".md"):
            continue
        found.setdefault(folder, {})["/".join(parts[2:])] = source
    return found


def bundle_problems(scanned: Sequence[Source]) -> list[Problem]:
    """An error for each bundle file that would take the place of a file the build writes itself."""
    return [Problem(source.relative, f"a file named {name} beside index.md would replace the issue's own "
                    "web page; rename it")
            for files in files_by_bundle(scanned).values() for name, source in files.items() if name in _TAKEN]
