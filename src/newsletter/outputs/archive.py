"""Which issues each RFC 5005 archive page of the feed holds, so that a full page never changes.

Pages fill in the order issues are first published, not by date: a page takes the oldest
``ARCHIVE_PAGE_SIZE`` issues that are in no page yet, and only once there are that many, so
feed.xml holds every issue that is not in a full page. Which issues fill each page is kept in
``feed-archive.json`` beside ``newsletter.toml``; without that file (a fresh clone) the pages fill
in date order, which gives the same pages unless an issue was back-dated. An issue published
later with an older date (back-dated) is not slipped into a full page: it waits in feed.xml and
goes into the next page to fill. ``[feeds] limit`` only says how many of the newest issues
feed.xml holds at least; it never moves an issue between pages.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import BuildError
from ..files import write_atomically
from ..layout import FEED_ARCHIVE_NAME
from ..site import Entry, Site

# The number of issues in a full page. Pages already in feed-archive.json keep the size they
# were filled with; a different size applies only to pages filled from then on.
ARCHIVE_PAGE_SIZE = 25


@dataclass(frozen=True)
class Archive:
    """The feed's issues split between full archive pages and the current feed document."""

    pages: tuple[tuple[str, ...], ...]  # each page's issue ids, in the order the pages filled
    entries: tuple[tuple[Entry, ...], ...]  # each page's published issues, oldest first
    current: tuple[Entry, ...]  # what feed.xml, rss.xml and feed.json hold, newest first


def record_path(site: Site) -> Path:
    return site.config.root / FEED_ARCHIVE_NAME


def read_pages(path: Path) -> tuple[tuple[str, ...], ...]:
    """The pages recorded in *path*; none when there is no such file."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return ()
    except (OSError, UnicodeDecodeError) as error:
        raise BuildError(f"{path.name}: cannot be read ({error}); restore it from git") from None
    try:
        data = json.loads(text)
        pages = data["pages"]
        if not isinstance(pages, list) or not all(
                isinstance(page, list) and all(isinstance(item, str) for item in page) for page in pages):
            raise TypeError
    except (ValueError, KeyError, TypeError):
        raise BuildError(f"{path.name}: expected {{\"pages\": [[issue ids], ...]}} as the build writes it; "
                         "restore it from git") from None
    return tuple(tuple(page) for page in pages)


def plan_archive(published: Sequence[Entry], recorded: Sequence[Sequence[str]], limit: int,
                 size: int = ARCHIVE_PAGE_SIZE) -> Archive:
    """Split the *published* issues (newest first) between the *recorded* pages, new full pages and feed.xml."""
    by_id = {entry.id: entry for entry in published}
    pages = [tuple(page) for page in recorded]
    placed = {issue for page in pages for issue in page}
    waiting = [entry for entry in reversed(published) if entry.id not in placed]
    while len(waiting) >= size:
        pages.append(tuple(entry.id for entry in waiting[:size]))
        waiting = waiting[size:]
    # An issue that was deleted or unpublished leaves its page; the others stay where they are.
    entries = tuple(tuple(by_id[issue] for issue in page if issue in by_id) for page in pages)
    newest = {entry.id for entry in published[:limit]} | {entry.id for entry in waiting}
    current = tuple(entry for entry in published if entry.id in newest)
    return Archive(tuple(pages), entries, current)


def record_text(archive: Archive) -> str:
    """The contents of feed-archive.json for *archive*: one issue id a line, a page a list."""
    return json.dumps({"pages": [list(page) for page in archive.pages]}, ensure_ascii=False, indent=1) + "\n"


def save_pages(site: Site, archive: Archive) -> bool:
    """Write feed-archive.json when the build filled a new page; return whether it wrote."""
    path = record_path(site)
    text = record_text(archive)
    if not archive.pages and not path.exists():
        return False
    try:
        if path.read_text(encoding="utf-8") == text:
            return False
    except (OSError, UnicodeDecodeError):
        pass
    write_atomically(path, text.encode("utf-8"))
    return True


def archive_of(site: Site, size: int = ARCHIVE_PAGE_SIZE) -> Archive:
    """The site's feed archive: the pages in feed-archive.json, and any page its new issues fill."""
    return plan_archive(site.published, read_pages(record_path(site)), site.config.feeds.limit, size)
