"""Rules on the feeds: items with no content or a date to come, and ids that changed since the last
build, which would deliver an issue to every subscriber again. Feeds are read with ElementTree, so
feedgen stays in the module that writes them."""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from pathlib import Path
from urllib.parse import urlsplit

from ..layout import ARCHIVE_DIR, ATOM_PATH
from ..site import Entry
from .context import Run, display
from .findings import ERROR, WARNING, Hit, Scope, extends, rule
from .links import relative_links
from .source import Source
from .tree import Flat, parse_flat

_ATOM = "{http://www.w3.org/2005/Atom}"


@dataclass(frozen=True)
class FeedItem:
    """An entry of an Atom feed, as much of it as the rules read."""

    id: str
    link: str
    title: str
    content: str | None
    summary: str
    published: str
    updated: str


class NewItem:
    """An item of the feeds the build would write, with the issue it links to; its content is parsed once."""

    def __init__(self, run: Run, entry: Entry, item: FeedItem) -> None:
        self.run = run
        self.entry = entry
        self.item = item
        self.path = entry.post.display_path

    @cached_property
    def source(self) -> Source:
        return self.run.source(self.entry.post)

    @cached_property
    def body(self) -> Flat:
        return parse_flat(self.item.content or "")


def atom_items(data: bytes) -> list[FeedItem]:
    """Read the entries of an Atom document; raise ElementTree.ParseError when it is not XML."""
    root = ElementTree.fromstring(data)
    items = []
    for entry in root.iter(f"{_ATOM}entry"):
        link = next((element.get("href", "") for element in entry.iter(f"{_ATOM}link")
                     if element.get("rel", "alternate") == "alternate"), "")
        content = entry.find(f"{_ATOM}content")
        items.append(FeedItem(
            id=(entry.findtext(f"{_ATOM}id") or "").strip(), link=link,
            title=(entry.findtext(f"{_ATOM}title") or "").strip(),
            content=content.text or "" if content is not None else None,
            summary=(entry.findtext(f"{_ATOM}summary") or "").strip(),
            published=(entry.findtext(f"{_ATOM}published") or "").strip(),
            updated=(entry.findtext(f"{_ATOM}updated") or "").strip(),
        ))
    return items


def feed_documents(paths: Iterable[str]) -> list[str]:
    """Pick feed.xml and the archive documents, the Atom files that hold every published issue."""
    archive = ARCHIVE_DIR.as_posix() + "/"
    return [path for path in paths if path == ATOM_PATH.as_posix() or (
        path.startswith(archive) and path.endswith(".xml") and "/" not in path[len(archive):])]


def items_in(run: Run, document: str) -> Iterator[NewItem]:
    """Yield the items of one feed document of the build that are published issues."""
    by_url = run.published_by_url
    for item in atom_items(run.outputs[document]):
        entry = by_url.get(item.link)
        if entry is not None:
            yield NewItem(run, entry, item)


def new_items(run: Run) -> Iterator[NewItem]:
    """Yield the items of the feeds the build would write that are published issues."""
    for document in feed_documents(run.outputs):
        yield from items_in(run, document)


def _slug_of(link: str) -> str:
    parts = [part for part in urlsplit(link).path.split("/") if part]
    return parts[-1] if parts else ""


def _last_build(run: Run) -> tuple[list[tuple[str, FeedItem]], list[Hit]]:
    """Read the items of the last build's feeds, each with where it is, and say which could not be read."""
    previous: list[tuple[str, FeedItem]] = []
    unreadable: list[Hit] = []
    archive = run.dist.joinpath(*ARCHIVE_DIR.parts)
    for file in [run.dist / ATOM_PATH, *sorted(archive.glob("*.xml"))]:
        if not file.is_file():
            continue
        location = display(run.root, file)
        try:
            previous.extend((location, item) for item in _known_items(run, file))
        except (OSError, ElementTree.ParseError) as error:
            unreadable.append(Hit(location, None, f"the last build's feed cannot be read ({error}), "
                                  "so ids cannot be compared; rebuild it from the commit that was published"))
    return previous, unreadable


def _known_items(run: Run, file: Path) -> list[FeedItem]:
    """The entries of one of the last build's feed documents, from the memo while the file is the same."""
    status = file.stat()
    key = f"{file}\0{status.st_size}\0{status.st_mtime_ns}"
    known = run.dist_feeds.get(key)
    if known is None:
        known = run.dist_feeds[key] = [(item.id, item.link, item.title) for item in atom_items(file.read_bytes())]
    run.dist_feeds_used.add(key)
    return [FeedItem(id=entry_id, link=link, title=title, content=None, summary="", published="", updated="")
            for entry_id, link, title in known]


@rule("feed-id-changed", ERROR, "an issue's feed id differs from the last build in `dist/`, so every "
                                "subscriber would get it again", scope=Scope.BUILT_SITE)
def feed_id_changed(run: Run) -> Iterator[Hit]:
    """Report issues whose feed id is not the one the last build in dist/ gave them."""
    previous, unreadable = _last_build(run)
    yield from unreadable
    if not previous:
        return
    published = run.site.published
    # The first issue with a URL, a slug or a title wins, as a search in the order of the site would.
    by_url: dict[str, Entry] = {}
    by_slug: dict[str, Entry] = {}
    by_title: dict[str, list[Entry]] = {}
    for entry in published:
        by_url.setdefault(entry.url, entry)
        by_slug.setdefault(entry.slug, entry)
        by_title.setdefault(entry.post.title, []).append(entry)
    matched = [(location, old, by_url.get(old.link) or by_slug.get(_slug_of(old.link)))
               for location, old in previous]
    taken = {entry.slug for _, _, entry in matched if entry is not None}
    for location, old, found in matched:
        if found is None and old.title:
            # A renamed slug loses the link: fall back to a title that only one other issue has.
            same = [entry for entry in by_title.get(old.title, []) if entry.slug not in taken]
            found = same[0] if len(same) == 1 else None
        if found is None or found.id == old.id:
            continue
        source = run.source(found.post)
        line = source.key_line("id") if found.post.id else source.key_line("date")
        yield Hit(found.post.display_path, line,
                  f"its feed id was {old.id!r} in {location} and is now {found.id!r}; feed readers and "
                  f"RSS-to-email services would deliver it to every subscriber again: add "
                  f"'id: \"{old.id}\"' to the front matter")


@rule("feed-empty-item", ERROR, "a feed item with no content", scope=Scope.FEED_ITEM)
def feed_empty_item(run: Run, new: NewItem) -> Iterator[Hit]:
    """Report a feed item with nothing to read, which RSS-to-email services would send empty."""
    item = new.item
    readable = " ".join(new.body.text.split()) if item.content is not None else item.summary
    if (not readable and not new.body.images) or (
            item.content is None and readable == item.title):
        yield Hit(new.path, new.source.key_line("feed") if new.entry.post.feed != "full" else None,
                  "the feed item has no content; RSS-to-email services would send an empty issue: "
                  "write the post, or give it a summary")


@rule("feed-future-date", WARNING, "a feed item dated in the future", scope=Scope.FEED_ITEM)
def feed_future_date(run: Run, new: NewItem) -> Iterator[Hit]:
    """Report a feed item published or updated later than now."""
    for name, value in (("published", new.item.published), ("updated", new.item.updated)):
        try:
            when = datetime.fromisoformat(value)
        except ValueError:
            continue
        if when.tzinfo is not None and when > run.site.now:
            key = "updated" if name == "updated" and new.entry.post.updated else "date"
            yield Hit(new.path, new.source.key_line(key),
                      f"the feed item's {name} date {value} is in the future; readers sort it above "
                      f"every newer issue until then: use the real time ('{key}:')")


@extends("link-relative", scope=Scope.FEED_ITEM)
def relative_in_feed(run: Run, new: NewItem) -> Iterator[Hit]:
    """Report links and images in a feed item that readers would resolve against their own address."""
    return relative_links(new.body.urls, new, "feed",
                          "where readers resolve it against their own address; write it relative to the "
                          "site's root or absolute")
