"""feed.json against JSON Feed 1.1 (https://www.jsonfeed.org/version/1.1/), checked by rules written from
the spec here, since no validator for it runs offline: every field's type, what is required, what is
not allowed, dates in RFC 3339 and absolute URLs."""

from __future__ import annotations

import json
import re
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from newsletter.build.engine import build

VERSION = "https://jsonfeed.org/version/1.1"
NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")  # the common shape of an RFC 5646 tag

# The spec's fields and their types; a key outside these must start with "_" (an extension).
FEED_FIELDS: dict[str, type | tuple[type, ...]] = {
    "version": str, "title": str, "home_page_url": str, "feed_url": str, "description": str,
    "user_comment": str, "next_url": str, "icon": str, "favicon": str, "authors": list, "language": str,
    "expired": bool, "hubs": list, "items": list,
}
ITEM_FIELDS: dict[str, type | tuple[type, ...]] = {
    "id": str, "url": str, "external_url": str, "title": str, "content_html": str, "content_text": str,
    "summary": str, "image": str, "banner_image": str, "date_published": str, "date_modified": str,
    "authors": list, "tags": list, "language": str, "attachments": list,
}
AUTHOR_FIELDS = {"name": str, "url": str, "avatar": str}
HUB_FIELDS = {"type": str, "url": str}
ATTACHMENT_FIELDS: dict[str, type | tuple[type, ...]] = {
    "url": str, "mime_type": str, "title": str, "size_in_bytes": (int, float), "duration_in_seconds": (int, float),
}
URL_FIELDS = {"home_page_url", "feed_url", "next_url", "icon", "favicon", "url", "external_url", "image",
              "banner_image", "avatar"}


def _fields(where: str, data: Any, fields: dict[str, Any], required: tuple[str, ...]) -> list[str]:
    if not isinstance(data, dict):
        return [f"{where}: expected an object, got {type(data).__name__}"]
    problems = [f"{where}: '{key}' is required" for key in required if key not in data]
    for key, value in data.items():
        if key.startswith("_"):
            continue
        if key not in fields:
            problems.append(f"{where}: '{key}' is not a JSON Feed 1.1 field (extensions start with '_')")
        elif isinstance(value, bool) and fields[key] is not bool or not isinstance(value, fields[key]):
            problems.append(f"{where}: '{key}' has the wrong type ({type(value).__name__})")
        elif key in URL_FIELDS and not _absolute(value):
            problems.append(f"{where}: '{key}' is not an absolute URL: {value!r}")
    return problems


def _absolute(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc) and " " not in url and url.isascii()


def _authors(where: str, authors: Any) -> list[str]:
    if not isinstance(authors, list) or not authors:
        return [f"{where}: 'authors' must be a non-empty array"]
    problems = []
    for number, author in enumerate(authors):
        problems += _fields(f"{where}.authors[{number}]", author, AUTHOR_FIELDS, ())
        if isinstance(author, dict) and not set(author) & set(AUTHOR_FIELDS):
            problems.append(f"{where}.authors[{number}]: needs a name, url or avatar")
    return problems


def _item(where: str, item: Any) -> list[str]:
    problems = _fields(where, item, ITEM_FIELDS, ("id",))
    if not isinstance(item, dict):
        return problems
    if "content_html" not in item and "content_text" not in item:
        problems.append(f"{where}: one of 'content_html' and 'content_text' is required")
    for key in ("date_published", "date_modified"):
        if isinstance(item.get(key), str) and not RFC3339.match(item[key]):
            problems.append(f"{where}: '{key}' is not an RFC 3339 date: {item[key]!r}")
    if RFC3339.match(str(item.get("date_published"))) and RFC3339.match(str(item.get("date_modified"))):
        published, modified = (datetime.fromisoformat(item[key]) for key in ("date_published", "date_modified"))
        if modified < published:
            problems.append(f"{where}: modified before it was published")
    if "authors" in item:
        problems += _authors(where, item["authors"])
    if "tags" in item and not all(isinstance(tag, str) for tag in item["tags"]):
        problems.append(f"{where}: 'tags' must hold strings")
    if isinstance(item.get("language"), str) and not LANGUAGE.match(item["language"]):
        problems.append(f"{where}: 'language' is not a language tag")
    for number, attachment in enumerate(item.get("attachments") or []):
        problems += _fields(f"{where}.attachments[{number}]", attachment, ATTACHMENT_FIELDS, ("url", "mime_type"))
    return problems


def json_feed_problems(data: Any, feed_url: str | None = None) -> list[str]:
    """Everything in *data* (a parsed feed.json) that JSON Feed 1.1 does not allow, one line each."""
    problems = _fields("feed", data, FEED_FIELDS, ("version", "title", "items"))
    if not isinstance(data, dict):
        return problems
    if data.get("version") != VERSION:
        problems.append(f"feed: 'version' must be {VERSION!r}")
    if feed_url is not None and data.get("feed_url") != feed_url:
        problems.append(f"feed: 'feed_url' is {data.get('feed_url')!r}, not where it lives ({feed_url})")
    if "authors" in data:
        problems += _authors("feed", data["authors"])
    if isinstance(data.get("language"), str) and not LANGUAGE.match(data["language"]):
        problems.append("feed: 'language' is not a language tag")
    for number, hub in enumerate(data.get("hubs") or []):
        problems += _fields(f"feed.hubs[{number}]", hub, HUB_FIELDS, ("type", "url"))
    items = data.get("items") if isinstance(data.get("items"), list) else []
    for number, item in enumerate(items):
        problems += _item(f"items[{number}]", item)
    ids = [item.get("id") for item in items if isinstance(item, dict)]
    if len(ids) != len(set(map(str, ids))):
        problems.append("feed: two items share an id")
    return problems


# --- the checker catches what it should (so that a clean result means something) ---------------------

GOOD = {"version": VERSION, "title": "T", "feed_url": "https://e.com/feed.json", "items": [
    {"id": "1", "content_html": "<p>x</p>", "date_published": "2025-04-01T09:00:00+02:00",
     "date_modified": "2025-04-01T09:00:00+02:00", "authors": [{"name": "A"}], "tags": ["a"],
     "image": "https://e.com/a%20b.png", "_extension": {"anything": 1}}]}


def _with(change: dict[str, Any], item: bool = False) -> dict[str, Any]:
    """GOOD with *change* made to the feed (or its item); None removes a key."""
    feed = json.loads(json.dumps(GOOD))
    target = feed["items"][0] if item else feed
    target.update(change)
    for key in [key for key, value in target.items() if value is None]:
        del target[key]
    return feed


@pytest.mark.parametrize("feed, problem", [
    (_with({"version": "https://jsonfeed.org/version/1"}), "'version' must be"),
    (_with({"title": None}), "'title' is required"),
    (_with({"author": {"name": "A"}}), "'author' is not a JSON Feed 1.1 field"),
    (_with({"expired": "no"}), "'expired' has the wrong type"),
    (_with({"authors": []}), "'authors' must be a non-empty array"),
    (_with({"id": 1}, item=True), "'id' has the wrong type"),
    (_with({"content_html": None}, item=True), "one of 'content_html' and 'content_text' is required"),
    (_with({"date_published": "2025-04-01"}, item=True), "not an RFC 3339 date"),
    (_with({"date_modified": "2025-03-31T09:00:00+02:00"}, item=True), "modified before it was published"),
    (_with({"image": "static/a b.png"}, item=True), "'image' is not an absolute URL"),
    (_with({"image": "https://e.com/a b.png"}, item=True), "'image' is not an absolute URL"),
    (_with({"tags": [1]}, item=True), "'tags' must hold strings"),
    (_with({"attachments": [{"url": "https://e.com/a.mp3"}]}, item=True), "'mime_type' is required"),
    (_with({"items": [GOOD["items"][0], GOOD["items"][0]]}), "two items share an id"),
])
def test_the_check_finds_what_the_spec_forbids(feed, problem):
    problems = json_feed_problems(feed)
    assert any(problem in line for line in problems), problems


def test_a_good_feed_passes():
    assert json_feed_problems(GOOD, "https://e.com/feed.json") == []


# --- our feeds ------------------------------------------------------------------------------------------

def test_feed_json_is_valid_json_feed_1_1(newsletter):
    newsletter.write("static/chart with space.png", "png")
    newsletter.write("static/obrázek.png", "png")
    newsletter.post("2025-04-01-one", 'title: "One & <two>"\ndate: 2025-04-01 09:30\nupdated: 2025-04-03\n'
                    "tags: [C++, Kubernetes]\nimage: static/chart with space.png", "Text with [a link](two/).\n")
    newsletter.post("2025-04-02-two", "title: Two\ndate: 2025-04-02\nimage: static/obrázek.png\nfeed: summary\n"
                    "summary: Only this.", "Body.\n")
    newsletter.post("2025-04-03-draft", "title: Draft\ndate: 2025-04-03\ndraft: true")
    build(newsletter.root, now=NOW)
    data = json.loads((newsletter.dist / "feed.json").read_bytes())
    assert json_feed_problems(data, "https://example.com/letter/feed.json") == []
    assert [item["title"] for item in data["items"]] == ["Two", "One & <two>"]
    assert data["items"][1]["image"] == "https://example.com/letter/static/chart%20with%20space.png"
    assert data["items"][0]["content_text"] == "Only this."


def test_the_example_newsletters_feed_json_is_valid(tmp_path):
    repo = Path(__file__).resolve().parents[1]
    root = tmp_path / "example"
    root.mkdir()
    shutil.copy(repo / "newsletter.toml", root)
    for name in ("posts", "static"):
        shutil.copytree(repo / name, root / name)
    build(root, now=NOW)
    data = json.loads((root / "dist/feed.json").read_bytes())
    assert json_feed_problems(data, data["home_page_url"] + "feed.json") == []
    assert data["items"]
