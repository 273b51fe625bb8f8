"""The Atom, RSS and JSON feeds: parsed strictly, checked item by item, stable across edits and builds."""

from __future__ import annotations

import functools
import http.server
import json
import re
import threading
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import urljoin, urlsplit
from zoneinfo import ZoneInfo

import feedparser
import lxml.html
import pytest
from lxml import etree

from newsletter import __version__
from newsletter.build.engine import build

SITE = "https://example.com/letter/"
PRAGUE = ZoneInfo("Europe/Prague")
NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
NS = {
    "a": "http://www.w3.org/2005/Atom",
    "content": "http://purl.org/rss/1.0/modules/content/",
    "media": "http://search.yahoo.com/mrss/",
    "dc": "http://purl.org/dc/elements/1.1/",
    "fh": "http://purl.org/syndication/history/1.0",
}
PHOTO = bytes(range(256)) * 7  # 1792 bytes: the enclosure must report exactly this
STRICT = etree.XMLParser(recover=False, resolve_entities=False, no_network=True)
RFC822 = re.compile(r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
                    r"\d{4} \d{2}:\d{2}:\d{2} [+-]\d{4}$")
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
# A raw C0 control (other than tab and newlines) or a character reference to one.
CONTROL = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f]|&#(0*([0-8]|1[1-2]|1[4-9]|2\d|3[01])|x0*(0?[0-8bBcCeEfF]|1[0-9a-fA-F]));")

DAY_ONE_BODY = """\
The keynote was about [day two](day-two/) and [the archive](/) and a footnote.[^1]

![The hall](static/photo.jpg "Hall A")

<div style="color: red" onclick="steal()">Inline <span style="font-weight:bold">styled</span> text</div>
<script>alert("x")</script>

<img src="../static/photo.jpg" srcset="static/photo.jpg 1x, //cdn.example.org/photo@2x.jpg 2x" alt="Hall">

See the [first section](#keynote) or [elsewhere](https://kubernetes.io/docs/).

## Keynote

Code with a CDATA end `]]>` inside:

```yaml
end: "]]>"
```

[^1]: The footnote.
"""


def _write_posts(newsletter) -> None:  # type: ignore[no-untyped-def]
    (newsletter.root / "static").mkdir(parents=True)
    (newsletter.root / "static/photo.jpg").write_bytes(PHOTO)
    newsletter.post("2025-04-01-day-one", """\
        title: "Rejekts — Day One & <More>"
        date: 2025-04-01 09:30
        summary: "Talks about GitOps & eBPF, <b> is not a tag here."
        tags: [Kubernetes, Platform Engineering]
        image: static/photo.jpg
        """, DAY_ONE_BODY)
    newsletter.post("2025-04-02-day-two", """\
        title: Rejekts — Day Two
        date: 2025-04-02
        updated: 2025-04-05 10:00
        author: Guest Writer
        tags: [Kubernetes]
        """, "Day two began with coffee.\n\nThen the talks.\n")
    newsletter.post("2025-04-03-teaser", """\
        title: A teaser
        date: 2025-04-03 18:00
        summary: Only this summary goes into feeds.
        feed: summary
        """, "The secret full text of the teaser.\n")
    newsletter.post("2025-04-04-draft", """\
        title: Not ready
        date: 2025-04-04
        draft: true
        tags: [Secret]
        """)
    newsletter.post("2025-07-01-future", """\
        title: Scheduled for July
        date: 2025-07-01
        tags: [Secret]
        """)


EXPECTED = [  # newest first: (slug, title, date, updated, summary)
    ("teaser", "A teaser", datetime(2025, 4, 3, 18, 0, tzinfo=PRAGUE), datetime(2025, 4, 3, 18, 0, tzinfo=PRAGUE),
     "Only this summary goes into feeds."),
    ("day-two", "Rejekts — Day Two", datetime(2025, 4, 2, tzinfo=PRAGUE), datetime(2025, 4, 5, 10, 0, tzinfo=PRAGUE),
     "Day two began with coffee."),
    ("day-one", "Rejekts — Day One & <More>", datetime(2025, 4, 1, 9, 30, tzinfo=PRAGUE),
     datetime(2025, 4, 1, 9, 30, tzinfo=PRAGUE), "Talks about GitOps & eBPF, <b> is not a tag here."),
]


def _tag_id(slug: str, day: datetime) -> str:
    return f"tag:example.com,{day:%Y-%m-%d}:/letter/{slug}"


@pytest.fixture
def built(newsletter):  # type: ignore[no-untyped-def]
    _write_posts(newsletter)
    build(newsletter.root, now=NOW)
    return newsletter


def _parse(path: Path) -> tuple[etree._Element, feedparser.FeedParserDict]:
    data = path.read_bytes()
    root = etree.fromstring(data, STRICT)
    parsed = feedparser.parse(data)
    assert not parsed.bozo, f"{path.name}: {parsed.get('bozo_exception')}"
    return root, parsed


def _urls_in_html(fragment: str) -> list[str]:
    root = lxml.html.fragment_fromstring(fragment, create_parent="div")
    urls = []
    for element in root.iter():
        for name in ("href", "src"):
            if element.get(name) is not None:
                urls.append(element.get(name))
        if element.get("srcset"):
            urls.extend(part.split()[0] for part in element.get("srcset").split(","))
    return urls


def _assert_absolute(urls: list[str]) -> None:
    for url in urls:
        parts = urlsplit(url)
        assert parts.scheme in ("http", "https") and parts.netloc, f"relative URL in a feed: {url!r}"


def _assert_clean_content(fragment: str) -> None:
    assert "style=" not in fragment and "<script" not in fragment and "onclick" not in fragment
    assert "steal()" not in fragment
    _assert_absolute(_urls_in_html(fragment))


def test_atom_feed_carries_every_published_issue(built):
    root, parsed = _parse(built.dist / "feed.xml")
    entries = root.findall("a:entry", NS)
    assert [e.findtext("a:id", namespaces=NS) for e in entries] == \
        [_tag_id(slug, date) for slug, _, date, _, _ in EXPECTED]
    assert [e.id for e in parsed.entries] == [_tag_id(slug, date) for slug, _, date, _, _ in EXPECTED]
    for entry, raw, (slug, title, date, updated, summary) in zip(parsed.entries, entries, EXPECTED):
        assert entry.link == SITE + slug + "/"
        assert entry.title == title
        assert datetime.fromisoformat(entry.published) == date
        assert datetime.fromisoformat(entry.updated) == updated
        assert RFC3339.match(raw.findtext("a:published", namespaces=NS))
        assert RFC3339.match(raw.findtext("a:updated", namespaces=NS))
        assert entry.summary == summary and entry.summary_detail.type == "text/plain"
        assert raw.find("a:author/a:name", NS).text == ("Guest Writer" if slug == "day-two" else "Tess Tester")
        _assert_absolute([link.get("href") for link in raw.findall("a:link", NS)])

    teaser, day_two, day_one = entries
    assert teaser.find("a:content", NS) is None, "feed: summary publishes only the summary"
    assert "secret full text" not in (built.dist / "feed.xml").read_text()
    for raw in (day_two, day_one):
        assert raw.find("a:content", NS).get("type") == "html"
        _assert_clean_content(raw.findtext("a:content", namespaces=NS))
    content = day_one.findtext("a:content", namespaces=NS)
    assert len(_urls_in_html(content)) >= 10
    assert f'href="{SITE}day-two/"' in content and f'href="{SITE}"' in content
    assert f'src="{SITE}static/photo.jpg"' in content
    assert "https://cdn.example.org/photo@2x.jpg 2x" in content
    assert f'href="{SITE}day-one/#keynote"' in content and f'href="{SITE}day-one/#fn-1"' in content
    assert 'href="https://kubernetes.io/docs/"' in content
    assert "Inline <span>styled</span> text" in content
    assert 'end: "]]>"' in lxml.html.fromstring(content).text_content()
    assert [c.get("term") for c in day_one.findall("a:category", NS)] == ["Kubernetes", "Platform Engineering"]
    media = day_one.find("media:content", NS)
    assert media.attrib == {"url": f"{SITE}static/photo.jpg", "fileSize": str(len(PHOTO)),
                            "type": "image/jpeg", "medium": "image"}
    assert len([link for link in day_one.findall("a:link", NS) if link.get("rel", "alternate") == "alternate"]) == 1


def test_atom_feed_describes_itself(built):
    root, parsed = _parse(built.dist / "feed.xml")
    assert root.get("{http://www.w3.org/XML/1998/namespace}lang") == "en"
    assert parsed.feed.title == "Test Letter"
    assert parsed.feed.subtitle == "A newsletter for tests"
    assert parsed.feed.author_detail.name == "Tess Tester"
    links = {link.get("rel"): link.get("href") for link in root.findall("a:link", NS)}
    assert links == {"self": SITE + "feed.xml", "alternate": SITE}
    generator = root.find("a:generator", NS)
    assert generator.text == f"newsletter {__version__}" and not generator.attrib
    # The newest change among the items, not the time of the build (NOW is in June).
    assert datetime.fromisoformat(root.findtext("a:updated", namespaces=NS)) == \
        max(updated for *_, updated, _ in EXPECTED)
    assert root.find("a:icon", NS) is None, "no icon is configured"


def test_rss_feed_carries_the_same_items(built):
    root, parsed = _parse(built.dist / "rss.xml")
    channel = root.find("channel")
    items = channel.findall("item")
    assert [item.findtext("guid") for item in items] == [_tag_id(slug, date) for slug, _, date, _, _ in EXPECTED]
    assert all(item.find("guid").get("isPermaLink") == "false" for item in items)
    for entry, item, (slug, title, date, _updated, summary) in zip(parsed.entries, items, EXPECTED):
        assert entry.id == _tag_id(slug, date)
        assert entry.link == item.findtext("link") == SITE + slug + "/"
        assert entry.title == title
        pub_date = item.findtext("pubDate")
        assert RFC822.match(pub_date), pub_date
        assert parsedate_to_datetime(pub_date) == date
        # The description is HTML to readers: the plain summary arrives entity-encoded, never as markup.
        assert lxml.html.fromstring(f"<p>{item.findtext('description')}</p>").text_content() == summary
        assert "<b>" not in entry.summary
    teaser, day_two, day_one = items
    assert teaser.find("content:encoded", NS) is None
    for item in (day_two, day_one):
        _assert_clean_content(item.findtext("content:encoded", namespaces=NS))
    assert day_two.findtext("dc:creator", namespaces=NS) == "Guest Writer"
    assert [c.text for c in day_one.findall("category")] == ["Kubernetes", "Platform Engineering"]
    enclosure = day_one.find("enclosure")
    assert enclosure.attrib == {"url": f"{SITE}static/photo.jpg", "length": str(len(PHOTO)), "type": "image/jpeg"}
    assert day_one.find("media:content", NS).get("url") == f"{SITE}static/photo.jpg"

    assert channel.findtext("link") == SITE
    assert channel.find("{http://www.w3.org/2005/Atom}link").attrib == {
        "href": SITE + "rss.xml", "rel": "self", "type": "application/rss+xml"}
    assert channel.findtext("language") == "en"
    assert channel.findtext("generator") == f"newsletter {__version__}"
    last_build = channel.findtext("lastBuildDate")
    assert RFC822.match(last_build)
    assert parsedate_to_datetime(last_build) == max(updated for *_, updated, _ in EXPECTED)
    assert b"feedgen" not in (built.dist / "rss.xml").read_bytes()


def test_json_feed_carries_the_same_items(built):
    feed = json.loads((built.dist / "feed.json").read_bytes())
    assert feed["version"] == "https://jsonfeed.org/version/1.1"
    assert feed["feed_url"] == SITE + "feed.json" and feed["home_page_url"] == SITE
    assert feed["title"] == "Test Letter" and feed["language"] == "en"
    items = feed["items"]
    assert [item["id"] for item in items] == [_tag_id(slug, date) for slug, _, date, _, _ in EXPECTED]
    for item, (slug, title, date, updated, summary) in zip(items, EXPECTED):
        assert item["url"] == SITE + slug + "/"
        assert item["title"] == title and item["summary"] == summary
        assert RFC3339.match(item["date_published"]) and RFC3339.match(item["date_modified"])
        assert datetime.fromisoformat(item["date_published"]) == date
        assert datetime.fromisoformat(item["date_modified"]) == updated
    teaser, day_two, day_one = items
    assert "content_html" not in teaser and teaser["content_text"] == "Only this summary goes into feeds."
    _assert_clean_content(day_one["content_html"])
    # The same HTML in all three formats.
    atom = etree.fromstring((built.dist / "feed.xml").read_bytes(), STRICT)
    rss = etree.fromstring((built.dist / "rss.xml").read_bytes(), STRICT)
    assert day_one["content_html"] == atom.findall("a:entry", NS)[2].findtext("a:content", namespaces=NS) == \
        rss.findall("channel/item")[2].findtext("content:encoded", namespaces=NS)
    assert day_one["image"] == SITE + "static/photo.jpg"
    assert day_one["tags"] == ["Kubernetes", "Platform Engineering"]
    assert day_two["authors"] == [{"name": "Guest Writer"}]


def test_drafts_and_scheduled_posts_stay_out_of_feeds(built):
    build(built.root, now=NOW, drafts=True)
    assert (built.dist / "draft/index.html").exists(), "the draft's page is built with --drafts"
    for name in ("feed.xml", "rss.xml", "feed.json"):
        text = (built.dist / name).read_text()
        assert "Not ready" not in text and "Scheduled for July" not in text
    assert not (built.dist / "tags/secret/feed.xml").exists()


def test_tag_feeds_hold_the_issues_with_that_tag(built):
    root, parsed = _parse(built.dist / "tags/kubernetes/feed.xml")
    assert [e.link for e in parsed.entries] == [SITE + "day-two/", SITE + "day-one/"]
    assert [e.id for e in parsed.entries] == [_tag_id("day-two", EXPECTED[1][2]), _tag_id("day-one", EXPECTED[2][2])]
    links = {link.get("rel"): link.get("href") for link in root.findall("a:link", NS)}
    assert links == {"self": SITE + "tags/kubernetes/feed.xml", "alternate": SITE + "tags/kubernetes/"}
    _root, parsed = _parse(built.dist / "tags/platform-engineering/feed.xml")
    assert [e.link for e in parsed.entries] == [SITE + "day-one/"]
    assert parsed.feed.title == "Test Letter: Platform Engineering"


def test_tags_that_differ_in_a_symbol_get_pages_and_feeds_of_their_own(newsletter):
    newsletter.post("2025-04-01-plain", "title: Plain C\ndate: 2025-04-01\ntags: [C]")
    newsletter.post("2025-04-02-plus", "title: Templates\ndate: 2025-04-02\ntags: [C++, C#]")
    build(newsletter.root, now=NOW)
    feeds = {slug: _parse(newsletter.dist / f"tags/{slug}/feed.xml")[1] for slug in ("c", "c-plus-plus", "c-sharp")}
    assert {slug: (parsed.feed.title, [e.title for e in parsed.entries]) for slug, parsed in feeds.items()} == {
        "c": ("Test Letter: C", ["Plain C"]),
        "c-plus-plus": ("Test Letter: C++", ["Templates"]),
        "c-sharp": ("Test Letter: C#", ["Templates"]),
    }
    page = lxml.html.fromstring((newsletter.dist / "plus/index.html").read_bytes())
    assert {a.text: a.get("href") for a in page.cssselect(".tags a")} == {
        "C++": "../tags/c-plus-plus/", "C#": "../tags/c-sharp/"}
    assert (newsletter.dist / "tags/c-plus-plus/index.html").is_file()


def _feed_files(snapshot: dict[str, bytes]) -> dict[str, bytes]:
    return {path: data for path, data in snapshot.items()
            if path.endswith(("feed.xml", "rss.xml", "feed.json", "feed.xsl")) or path.startswith("feed/")}


def test_feeds_are_byte_identical_across_builds_and_build_times(built):
    first = _feed_files(built.snapshot())
    assert set(first) >= {"feed.xml", "rss.xml", "feed.json", "feed.xsl", "tags/kubernetes/feed.xml"}
    build(built.root, now=NOW)
    assert _feed_files(built.snapshot()) == first
    build(built.root, now=NOW + timedelta(days=20))  # still before the scheduled post
    assert _feed_files(built.snapshot()) == first


def _ids(path: Path) -> dict[str, str]:
    """Item link -> id, from an Atom or RSS feed."""
    return {entry.link: entry.id for entry in feedparser.parse(path.read_bytes()).entries}


def test_ids_survive_edits_to_title_body_and_tags(built):
    before = {name: _ids(built.dist / name) for name in ("feed.xml", "rss.xml")}
    built.post("2025-04-01-day-one", """\
        title: "Rejekts — Day One (corrected)"
        date: 2025-04-01 09:30
        tags: [Conferences]
        """, "A rewritten body.\n")
    build(built.root, now=NOW)
    after = {name: _ids(built.dist / name) for name in ("feed.xml", "rss.xml")}
    assert after == before
    assert "Rejekts — Day One (corrected)" in (built.dist / "feed.xml").read_text()
    assert json.loads((built.dist / "feed.json").read_bytes())["items"][2]["id"] == before["feed.xml"][SITE + "day-one/"]


def test_a_pinned_id_survives_a_slug_change(newsletter):
    newsletter.post("2025-04-01-day-one", "title: Day One\ndate: 2025-04-01")
    build(newsletter.root, now=NOW)
    original = _ids(newsletter.dist / "feed.xml")[SITE + "day-one/"]

    newsletter.post("2025-04-01-day-one", f"title: Day One\ndate: 2025-04-01\nslug: rejekts-day-one\nid: '{original}'")
    build(newsletter.root, now=NOW)
    for name in ("feed.xml", "rss.xml"):
        assert _ids(newsletter.dist / name) == {SITE + "rejekts-day-one/": original}
    assert json.loads((newsletter.dist / "feed.json").read_bytes())["items"][0]["id"] == original

    # Without the pin the id follows the slug: that is what 'id:' is for.
    newsletter.post("2025-04-01-day-one", "title: Day One\ndate: 2025-04-01\nslug: rejekts-day-one")
    build(newsletter.root, now=NOW)
    assert _ids(newsletter.dist / "feed.xml")[SITE + "rejekts-day-one/"] != original


def test_feed_limit_and_icon(newsletter):
    newsletter.write("newsletter.toml", newsletter.root.joinpath("newsletter.toml").read_text()
                     + 'icon = "static/icon.png"\n\n[feeds]\nlimit = 3\n')
    newsletter.write("static/icon.png", "not really a png")
    for number in range(1, 27):
        day = datetime(2025, 3, 1, tzinfo=UTC) + timedelta(days=number)
        newsletter.post(f"{day:%Y-%m-%d}-issue-{number}", f"title: Issue {number}\ndate: {day:%Y-%m-%d}")
    build(newsletter.root, now=NOW)
    root, parsed = _parse(newsletter.dist / "feed.xml")
    # Issues 1-25 fill the first archive page; the feeds hold the newest three all the same.
    newest = ["Issue 26", "Issue 25", "Issue 24"]
    assert [e.title for e in parsed.entries] == newest
    assert [e.title for e in feedparser.parse((newsletter.dist / "rss.xml").read_bytes()).entries] == newest
    assert [i["title"] for i in json.loads((newsletter.dist / "feed.json").read_bytes())["items"]] == newest
    archive = {link.get("rel"): link.get("href") for link in root.findall("a:link", NS)}["prev-archive"]
    assert archive == SITE + "feed/archive/1.xml"
    _root, old = _parse(newsletter.dist / "feed/archive/1.xml")
    assert [e.title for e in old.entries] == [f"Issue {n}" for n in range(25, 0, -1)]
    assert root.findtext("a:icon", namespaces=NS) == SITE + "static/icon.png"
    assert root.findtext("a:logo", namespaces=NS) == SITE + "static/icon.png"
    rss = etree.fromstring((newsletter.dist / "rss.xml").read_bytes(), STRICT)
    assert rss.findtext("channel/image/url") == SITE + "static/icon.png"
    assert json.loads((newsletter.dist / "feed.json").read_bytes())["favicon"] == SITE + "static/icon.png"


# --- text XML cannot carry ----------------------------------------------------------------------

def test_control_characters_and_cdata_ends_do_not_break_any_feed(newsletter):
    newsletter.post("2025-04-01-nasty", """\
        title: "Bad \\x01 title ]]> \\x0b end"
        date: 2025-04-01
        summary: "Summary with \\x1f and ]]>"
        tags: ["tag\\x02"]
        """, "Body \x02 with ]]> and &#1; and &#0;\n\n<p>raw &#1; &#x1F; &#xFFFF; &#x0B; x</p>\n\n`]]>`\n")
    result = newsletter.run("build", "--now", NOW.isoformat())
    assert result.exit_code == 0, result.output
    paths = [newsletter.dist / name for name in ("feed.xml", "rss.xml", "tags/tag/feed.xml")]
    for path in paths:
        data = path.read_bytes()
        assert not CONTROL.search(data), path
        _root, parsed = _parse(path)
        entry = parsed.entries[0]
        assert entry.title == "Bad  title ]]>  end"
        if "content" in entry:
            text = lxml.html.fromstring(entry.content[0].value).text_content()
            assert "]]>" in text and "raw" in text
    data = (newsletter.dist / "feed.json").read_bytes()
    assert not CONTROL.search(data) and b"\\u00" not in data
    item = json.loads(data)["items"][0]
    assert item["title"] == "Bad  title ]]>  end" and item["summary"] == "Summary with  and ]]>"


def test_a_missing_feed_image_is_a_warning(newsletter):
    newsletter.post("2025-04-01-one", "title: One\ndate: 2025-04-01\nimage: static/missing.jpg")
    result = newsletter.run("build", "--now", NOW.isoformat())
    assert result.exit_code == 0
    assert "posts/2025-04-01-one.md:4: warning: image-missing: image: 'static/missing.jpg' is not a file under static/" in result.output
    rss = etree.fromstring((newsletter.dist / "rss.xml").read_bytes(), STRICT)
    assert rss.find("channel/item/enclosure") is None
    assert rss.find("channel/item/media:content", NS).attrib == {
        "url": SITE + "static/missing.jpg", "type": "image/jpeg", "medium": "image"}



def test_a_scheme_relative_image_and_links_take_the_site_scheme_in_page_feeds_and_email(newsletter):
    newsletter.post("2025-04-01-one", "title: One\ndate: 2025-04-01\nimage: \"//cdn.example.org/card.png\"",
                    "See [the docs](//docs.example.org/guide) and ![a chart](//cdn.example.org/chart.png).\n")
    result = newsletter.run("build", "--now", NOW.isoformat())
    assert result.exit_code == 0 and "not a file under static/" not in result.output
    page = (newsletter.dist / "one/index.html").read_text()
    assert '<meta property="og:image" content="https://cdn.example.org/card.png">' in page
    assert "example.com/letter/cdn.example.org" not in page
    rss = etree.fromstring((newsletter.dist / "rss.xml").read_bytes(), STRICT)
    assert rss.find("channel/item/media:content", NS).attrib == {
        "url": "https://cdn.example.org/card.png", "type": "image/png", "medium": "image"}
    assert rss.find("channel/item/enclosure") is None
    item = json.loads((newsletter.dist / "feed.json").read_text())["items"][0]
    assert item["image"] == "https://cdn.example.org/card.png"
    assert 'href="https://docs.example.org/guide"' in item["content_html"]
    assert 'src="https://cdn.example.org/chart.png"' in item["content_html"]
    email = (newsletter.dist / "email/one.html").read_text()
    assert 'href="https://docs.example.org/guide"' in email and 'src="https://cdn.example.org/chart.png"' in email
    assert "https://docs.example.org/guide" in (newsletter.dist / "email/one.txt").read_text()

# --- the stylesheet -----------------------------------------------------------------------------

def _stylesheet_href(data: bytes) -> str:
    match = re.search(rb'<\?xml-stylesheet type="text/xsl" href="([^"]+)"\?>', data[:300])
    assert match, data[:300]
    return match.group(1).decode()


def test_feeds_point_browsers_at_a_stylesheet_that_makes_them_readable(built):
    xsl = built.dist / "feed.xsl"
    transform = etree.XSLT(etree.parse(str(xsl)))
    for name in ("feed.xml", "rss.xml", "tags/kubernetes/feed.xml"):
        path = built.dist / name
        target = (path.parent / _stylesheet_href(path.read_bytes())).resolve()
        assert target == xsl.resolve(), name
        page = lxml.html.fromstring(str(transform(etree.parse(str(path)))))
        text = " ".join(page.text_content().split())
        assert "Test Letter" in page.findtext(".//h1")
        assert "copy this URL into your feed reader" in text
        parsed = feedparser.parse(path.read_bytes())
        for entry in parsed.entries:
            assert entry.title in text
        assert [a.get("href") for a in page.iter("a") if a.text_content() in
                {e.title for e in parsed.entries}] == [e.link for e in parsed.entries]
    feed_page = " ".join(lxml.html.fromstring(str(transform(etree.parse(str(built.dist / "feed.xml")))))
                         .text_content().split())
    assert SITE + "feed.xml" in feed_page


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.mark.browser
def test_a_browser_shows_the_feed_as_a_page(built):
    from playwright.sync_api import sync_playwright

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=built.dist))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=[
                "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
            try:
                page = browser.new_page()
                for name in ("feed.xml", "rss.xml"):
                    page.goto(urljoin(base, name))
                    assert page.locator("h1").inner_text() == "Test Letter"
                    body = page.locator("body").inner_text()
                    assert "copy this URL into your feed reader" in body
                    assert SITE + name in body
                    assert "Rejekts — Day One & <More>" in body
                    assert "Talks about GitOps & eBPF, <b> is not a tag here." in body
            finally:
                browser.close()
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
