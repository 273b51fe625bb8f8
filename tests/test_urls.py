"""URLs that feeds and emails carry: percent-encoded once, wherever a file name or a link goes, and the
check that flags a static/ name a URL cannot carry as it is."""

from __future__ import annotations

import json
import random
import string
import struct
from datetime import UTC, datetime
from urllib.parse import unquote, urlsplit

import feedparser
import lxml.html
import pytest
from lxml import etree

from newsletter.build.engine import build
from newsletter.check import check_newsletter
from newsletter.render.urls import absolute_url, encode_url, needs_encoding

SITE = "https://example.com/letter/"
NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
# What RFC 3986 allows in a URL, as the W3C feed validator and curl read it.
URI = set(string.ascii_letters + string.digits + "-._~:/?#[]@!$&'()*+,;=%")
NS = {"a": "http://www.w3.org/2005/Atom", "media": "http://search.yahoo.com/mrss/"}
def _png(width: int) -> bytes:
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + struct.pack(">II", width, 10) + b"\x00" * 13


NAMES = {"chart with space.png": _png(300), "obrázek.png": _png(320)}


@pytest.mark.parametrize("url, expected", [
    ("static/chart with space.png", SITE + "static/chart%20with%20space.png"),
    ("static/obrázek.png", SITE + "static/obr%C3%A1zek.png"),
    ("static/obr%C3%A1zek.png", SITE + "static/obr%C3%A1zek.png"),
    ("static/100%.png", SITE + "static/100%25.png"),
    ("../static/a b.png", SITE + "static/a%20b.png"),
    ("//cdn.example.org/ünï code.png", "https://cdn.example.org/%C3%BCn%C3%AF%20code.png"),
    ("https://příklad.cz/ž?q=a b#x", "https://xn--pklad-zsa96e.cz/%C5%BE?q=a%20b#x"),
    ("https://example.com/unsubscribe?email={email}", "https://example.com/unsubscribe?email={email}"),
    ("mailto:jana@example.com?subject=Hi there", "mailto:jana@example.com?subject=Hi%20there"),
    ("#keynote", "#keynote"),
])
def test_absolute_urls_are_percent_encoded(url, expected):
    assert absolute_url(url, SITE) == expected


def test_encoding_keeps_what_it_encodes_and_is_idempotent():
    rng = random.Random(5005)
    alphabet = string.ascii_letters + string.digits + " -._~/#?&=+%áčřž漢字😀\t\"<>^`{}|\\"
    for _ in range(2000):
        name = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 24)))
        encoded = encode_url(SITE + name)
        assert set(encoded) <= URI, encoded
        assert encode_url(encoded) == encoded
        if "%" not in name:
            assert unquote(encoded) == (SITE + name).strip()


@pytest.mark.parametrize("name, needs", [
    ("static/chart.png", False), ("static/2025/hall_a-1~.jpg", False), ("static/chart with space.png", True),
    ("static/obrázek.png", True), ("static/C#.png", True), ("static/100%.png", True), ("static/why?.png", True),
])
def test_which_names_need_encoding(name, needs):
    assert needs_encoding(name) is needs


@pytest.fixture
def odd_names(newsletter):  # type: ignore[no-untyped-def]
    for name, data in NAMES.items():
        newsletter.write(f"static/{name}", "")
        (newsletter.root / "static" / name).write_bytes(data)
    for day, name in enumerate(NAMES, start=1):
        newsletter.post(f"2025-04-0{day}-issue-{day}", f"title: Issue {day}\ndate: 2025-04-0{day}\nimage: static/{name}",
                        f"Look:\n\n<img src=\"static/{name}\" alt=\"A chart\">\n\n![Again](<static/{name}>)\n")
    build(newsletter.root, now=NOW)
    return newsletter


def _expected(name: str) -> str:
    return SITE + "static/" + encode_url(name)


def test_images_with_spaces_and_accents_are_encoded_in_every_feed_and_email(odd_names):
    dist = odd_names.dist
    by_title = {f"Issue {day}": name for day, name in enumerate(NAMES, start=1)}
    atom = etree.fromstring((dist / "feed.xml").read_bytes())
    for entry in atom.findall("a:entry", NS):
        name = by_title[entry.findtext("a:title", namespaces=NS)]
        assert entry.find("media:content", NS).get("url") == _expected(name)
        content = lxml.html.fragment_fromstring(entry.findtext("a:content", namespaces=NS), create_parent="div")
        assert [img.get("src") for img in content.iter("img")] == [_expected(name)] * 2
    rss = feedparser.parse((dist / "rss.xml").read_bytes())
    assert not rss.bozo
    for item in rss.entries:
        name = by_title[item.title]
        assert [(e.href, int(e.length)) for e in item.enclosures] == [(_expected(name), len(NAMES[name]))]
    for item in json.loads((dist / "feed.json").read_bytes())["items"]:
        assert item["image"] == _expected(by_title[item["title"]])
    for day, name in enumerate(NAMES, start=1):
        email = lxml.html.document_fromstring((dist / f"email/issue-{day}.html").read_bytes())
        # Both images found their file in static/: the email gives them its natural width.
        assert [(img.get("src"), img.get("width")) for img in email.iter("img")] == \
            [(_expected(name), str(300 + 20 * (day - 1)))] * 2
        assert set(_expected(name)) <= URI and urlsplit(_expected(name)).path.startswith("/letter/static/")
        assert (dist / "static" / name).read_bytes() == NAMES[name]


def test_check_flags_static_names_a_url_must_encode(odd_names):
    (odd_names.root / "static/plain-name.png").write_bytes(b"\x89PNG")
    report = check_newsletter(odd_names.root, now=NOW)
    found = {finding.path: finding.message for finding in report.findings if finding.rule == "static-name"}
    assert found == {
        "static/chart with space.png": (
            "the name has characters a URL must percent-encode (' '): a link to it must read "
            "'static/chart%20with%20space.png'; rename it to 'static/chart-with-space.png' to keep links simple"),
        "static/obrázek.png": (
            "the name has characters a URL must percent-encode ('á'): a link to it must read "
            "'static/obr%C3%A1zek.png'; rename it to 'static/obrazek.png' to keep links simple"),
    }
    assert all(finding.severity == "warning" for finding in report.findings if finding.rule == "static-name")
