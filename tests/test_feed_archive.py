"""RFC 5005 archives: full pages that never change whatever is published later, walked like a crawler."""

from __future__ import annotations

import json
import random
from datetime import UTC, date, datetime, timedelta

import feedparser
import pytest
from lxml import etree

from newsletter import __version__
from newsletter.build.engine import build
from newsletter.build.phases import load_site
from newsletter.check import check_newsletter
from newsletter.outputs.archive import ARCHIVE_PAGE_SIZE, archive_of, save_pages
from newsletter.outputs.feeds import feed_outputs

SITE = "https://example.com/letter/"
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
NS = {"a": "http://www.w3.org/2005/Atom", "fh": "http://purl.org/syndication/history/1.0"}
STRICT = etree.XMLParser(recover=False, resolve_entities=False, no_network=True)
FIRST_DAY = date(2024, 1, 1)


def _set_limit(newsletter, limit: int) -> None:  # type: ignore[no-untyped-def]
    config = newsletter.root / "newsletter.toml"
    text = config.read_text().split("\n[feeds]")[0]
    config.write_text(text + f"\n[feeds]\nlimit = {limit}\n")


def _publish(newsletter, number: int) -> str:  # type: ignore[no-untyped-def]
    """Write issue *number* (its date: a day per issue from FIRST_DAY); return its feed id."""
    day = FIRST_DAY + timedelta(days=number)
    newsletter.post(f"{day}-issue-{number:03d}", f"title: Issue {number}\ndate: {day}\nsummary: Issue {number}.")
    return f"tag:example.com,{day}:/letter/issue-{number:03d}"


def _documents(newsletter) -> dict[str, bytes]:  # type: ignore[no-untyped-def]
    """What the build would publish now, noting the pages it fills, as `newsletter build` does."""
    site = load_site(newsletter.root, now=NOW)
    save_pages(site, archive_of(site))
    return {str(o.path): o.data for o in feed_outputs(site) if o.source is None and str(o.path).startswith("feed")}


def _links(root: etree._Element) -> dict[str, str]:
    return {link.get("rel"): link.get("href") for link in root.findall("a:link", NS)}


def _ids(data: bytes) -> list[str]:
    parsed = feedparser.parse(data)
    assert not parsed.bozo, parsed.get("bozo_exception")
    return [entry.id for entry in parsed.entries]


class Crawler:
    """An RFC 5005 client: reads feed.xml, then follows prev-archive until a page it has seen."""

    def __init__(self) -> None:
        self.pages: dict[str, bytes] = {}
        self.items: set[str] = set()

    def walk(self, documents: dict[str, bytes]) -> None:
        path = "feed.xml"
        while path and path not in self.pages:
            data = documents[path]
            root = etree.fromstring(data, STRICT)
            links = _links(root)
            if path != "feed.xml":
                assert root.find("fh:archive", NS) is not None and links["current"] == SITE + "feed.xml"
                number = int(path.removeprefix("feed/archive/").removesuffix(".xml"))
                assert links["next-archive"] == f"{SITE}feed/archive/{number + 1}.xml"
                self.pages[path] = data
            self.items.update(_ids(data))
            path = links.get("prev-archive", "").removeprefix(SITE)


def _publication_order(seed: int, count: int) -> list[int]:
    """Issues 0..count-1 in the order they are published: mostly by date, some back-dated by weeks or months."""
    rng = random.Random(seed)
    order = list(range(count))
    for number in rng.sample(range(count), count // 5):
        order.remove(number)
        order.insert(min(count - 1, order.index(number - 1) + 1 + rng.randint(5, 60)) if number else
                     rng.randint(10, 60), number)
    return order


@pytest.mark.parametrize("seed", [1, 2])
def test_a_crawler_sees_every_issue_and_no_published_page_ever_changes(newsletter, seed):
    rng = random.Random(seed)
    order = _publication_order(seed, 120)
    assert order != sorted(order)
    published: list[str] = []
    archived: dict[str, bytes] = {}  # every archive page as first published
    crawler, step = Crawler(), 0
    limits = {4: 40, 9: 7, 14: 20}  # step -> a new [feeds] limit
    _set_limit(newsletter, 20)
    limit = 20
    while len(published) < len(order):
        for number in order[len(published): len(published) + rng.randint(1, 8)]:
            published.append(_publish(newsletter, number))
        if step in limits:
            limit = limits[step]
            _set_limit(newsletter, limit)
        step += 1
        documents = _documents(newsletter)
        pages = {path: data for path, data in documents.items() if path.startswith("feed/archive/")}
        for path, data in archived.items():
            assert pages.get(path) == data, f"step {step}: {path} changed after it was published"
        archived.update(pages)
        # Each issue is in one full page at most; any other is in feed.xml, which also keeps the newest.
        in_pages = [issue for data in pages.values() for issue in _ids(data)]
        assert len(in_pages) == len(set(in_pages))
        assert all(len(_ids(data)) == ARCHIVE_PAGE_SIZE for data in pages.values())
        current = _ids(documents["feed.xml"])
        assert set(published) - set(in_pages) <= set(current)
        assert len(current) >= min(limit, len(published))
        crawler.walk(documents)
        assert crawler.items == set(published), f"step {step}: the crawler misses issues"
    assert len(archived) == len(order) // ARCHIVE_PAGE_SIZE == 4
    for data in archived.values():
        assert __version__ not in data.decode()
        assert etree.fromstring(data, STRICT).findtext("a:generator", namespaces=NS) == "newsletter"


def test_a_back_dated_issue_waits_in_the_feed_and_fills_the_next_page(newsletter):
    _set_limit(newsletter, 5)
    ids = [_publish(newsletter, number) for number in range(0, 60, 2)]  # 30 issues, every other day
    before = _documents(newsletter)
    assert _ids(before["feed/archive/1.xml"]) == list(reversed(ids[:25]))
    late = _publish(newsletter, 11)  # dated among the issues of page 1
    after = _documents(newsletter)
    assert after["feed/archive/1.xml"] == before["feed/archive/1.xml"]
    assert "feed/archive/2.xml" not in after
    # Newest first by date: the back-dated issue comes last, after the five not yet in a page.
    assert _ids(after["feed.xml"]) == [*reversed(ids[25:]), late]
    more = [_publish(newsletter, number) for number in range(60, 79)]
    filled = _documents(newsletter)
    assert filled["feed/archive/1.xml"] == before["feed/archive/1.xml"]
    assert sorted(_ids(filled["feed/archive/2.xml"])) == sorted([*ids[25:], late, *more])
    assert _ids(filled["feed.xml"]) == list(reversed(more))[:5]


def test_the_build_notes_filled_pages_and_a_clone_without_the_note_builds_the_same(newsletter):
    _set_limit(newsletter, 3)
    for number in range(26):
        _publish(newsletter, number)
    record = newsletter.root / "feed-archive.json"
    check_newsletter(newsletter.root, now=NOW)
    assert not record.exists(), "the check must not write feed-archive.json"
    build(newsletter.root, now=NOW)
    pages = json.loads(record.read_text())["pages"]
    # The full page, then the one filling: the 26th issue.
    assert [len(page) for page in pages] == [ARCHIVE_PAGE_SIZE, 1]
    assert pages[0][0] == "tag:example.com,2024-01-01:/letter/issue-000"
    assert pages[1] == ["tag:example.com,2024-01-26:/letter/issue-025"]
    first = newsletter.snapshot()
    record.unlink()
    build(newsletter.root, now=NOW)  # a fresh clone: the pages fill in date order again
    assert newsletter.snapshot() == first and json.loads(record.read_text())["pages"] == pages


def test_no_archive_while_no_page_is_full(newsletter):
    ids = [_publish(newsletter, number) for number in range(24)]
    newsletter.post("2099-01-01-later", "title: Later\ndate: 2099-01-01")
    build(newsletter.root, now=NOW)
    assert not (newsletter.dist / "feed/archive").exists()
    assert b"prev-archive" not in (newsletter.dist / "feed.xml").read_bytes()
    # The order they were published in is noted all the same; the scheduled issue is not in it.
    assert json.loads((newsletter.root / "feed-archive.json").read_text()) == {"pages": [ids]}


def test_nothing_published_writes_no_record(newsletter):
    newsletter.post("2099-01-01-later", "title: Later\ndate: 2099-01-01")
    build(newsletter.root, now=NOW)
    assert not (newsletter.root / "feed-archive.json").exists()


def test_the_last_published_stay_in_the_feed_even_when_they_fill_a_page(newsletter):
    _set_limit(newsletter, 3)
    for number in range(0, 40, 2):
        _publish(newsletter, number)  # 20 issues, every other day
    _documents(newsletter)
    _publish(newsletter, 50)  # newest by date
    _documents(newsletter)
    # Five back-dated issues in one go: four fill the page, the fifth waits for the next; the feed
    # still shows the three last published and the newest.
    late = [_publish(newsletter, number) for number in (1, 3, 5, 7, 9)]
    documents = _documents(newsletter)
    assert set(late[:4]) <= set(_ids(documents["feed/archive/1.xml"]))
    assert _ids(documents["feed.xml"])[:1] == ["tag:example.com,2024-02-20:/letter/issue-050"]
    assert set(late[2:]) <= set(_ids(documents["feed.xml"]))


@pytest.mark.parametrize("text", ["{", '{"pages": [[1]]}', '{"page": []}'])
def test_a_damaged_record_is_an_error_naming_it(newsletter, text):
    _publish(newsletter, 1)
    (newsletter.root / "feed-archive.json").write_text(text)
    result = newsletter.run("build")
    assert result.exit_code == 1
    assert result.output.strip().splitlines()[-1].startswith("error: feed-archive.json: expected {\"pages\"")
    assert not newsletter.dist.exists()
