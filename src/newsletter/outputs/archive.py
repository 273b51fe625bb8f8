"""Which issues each RFC 5005 archive page of the feed holds, so that a full page never changes.

Pages fill in the order issues are first published, not by date: ``ARCHIVE_PAGE_SIZE`` issues
a page, and a page is published only once it is full, so feed.xml holds every issue that is not
in a full page. The order is kept in ``feed-archive.json`` beside ``newsletter.toml`` (the ids of
each full page, then of the page filling); without that file (a fresh clone) the issues are taken
in date order, which gives the same pages unless an issue was back-dated. An issue published
later with an older date (back-dated) is not slipped into a full page: it waits in feed.xml and
goes into the next page to fill. feed.xml holds the ``[feeds] limit`` newest issues by date, the
``limit`` last published (so that a reader that never reads the archive sees every new issue,
back-dated or not, even one that filled a page) and every issue in no full page; the limit never
moves an issue between pages.
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

    pages: tuple[tuple[str, ...], ...]  # each full page's issue ids, in the order the pages filled
    entries: tuple[tuple[Entry, ...], ...]  # each page's published issues, oldest first
    current: tuple[Entry, ...]  # what feed.xml, rss.xml and feed.json hold, newest first
    filling: tuple[str, ...] = ()  # the ids in no full page yet, in the order they were published


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
    """Split the *published* issues (newest first) between the *recorded* pages, new full pages and feed.xml.

    The record's last list, when it is shorter than *size*, is the page still filling: the issues
    in no full page, in the order they were published.
    """
    by_id = {entry.id: entry for entry in published}
    full = [tuple(page) for page in recorded]
    filling = list(full.pop()) if full and len(full[-1]) < size else []
    known = {issue for page in full for issue in page} | set(filling)
    # Not yet on a full page, so free to go: issues of the filling page that were deleted or unpublished.
    queue = [issue for issue in filling if issue in by_id]
    queue += [entry.id for entry in reversed(published) if entry.id not in known]
    while len(queue) >= size:
        full.append(tuple(queue[:size]))
        queue = queue[size:]
    # An issue that was deleted or unpublished leaves its full page; the others stay where they are.
    entries = tuple(tuple(by_id[issue] for issue in page if issue in by_id) for page in full)
    # The newest by date, and the last published (a back-dated issue is one): a reader that never
    # looks at the archive still finds each new issue in the feed, even one that filled a page.
    in_order = [entry.id for page in entries for entry in page] + queue
    shown = {entry.id for entry in published[:limit]} | set(in_order[-limit:]) | set(queue)
    current = tuple(entry for entry in published if entry.id in shown)
    return Archive(tuple(full), entries, current, tuple(queue))


def record_text(archive: Archive) -> str:
    """The contents of feed-archive.json: a list of issue ids per full page, then the page filling."""
    pages = [list(page) for page in archive.pages] + ([list(archive.filling)] if archive.filling else [])
    return json.dumps({"pages": pages}, ensure_ascii=False, indent=1) + "\n"


def save_pages(site: Site, archive: Archive) -> bool:
    """Write feed-archive.json when the build published an issue; return whether it wrote."""
    path = record_path(site)
    text = record_text(archive)
    if not (archive.pages or archive.filling) and not path.exists():
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
