"""The page that explains the feeds to people: linked from every page instead of the raw feeds, readable
in a browser from a web server and from file://, and the stylesheet that dresses the feeds themselves."""

from __future__ import annotations

import functools
import http.server
import threading
from datetime import UTC, datetime
from pathlib import Path

import lxml.html
import pytest
from lxml import etree

from browser import chromium
from newsletter.build.engine import build

SITE = "https://example.com/letter/"
NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
FEEDS = [SITE + "feed.xml", SITE + "rss.xml", SITE + "feed.json"]


@pytest.fixture
def site(newsletter):  # type: ignore[no-untyped-def]
    newsletter.post("2025-04-01-templates", 'title: Templates\ndate: 2025-04-01\nsummary: "AT&T, <b> and &lt;"\n'
                    "tags: [C++, Kubernetes]")
    newsletter.post("2025-04-02-pods", "title: Pods\ndate: 2025-04-02\ntags: [Kubernetes]")
    newsletter.post("2025-04-03-secret", "title: Secret\ndate: 2025-04-03\ndraft: true\ntags: [Hidden]")
    build(newsletter.root, now=NOW)
    return newsletter


def _page(path: Path) -> lxml.html.HtmlElement:
    return lxml.html.fromstring(path.read_bytes())


def test_the_feeds_page_gives_every_feed_address_in_words(site):
    page = _page(site.dist / "feeds/index.html")
    addresses = [code.text for code in page.cssselect("code.feed-address")]
    assert addresses == [*FEEDS, SITE + "tags/c-plus-plus/feed.xml", SITE + "tags/kubernetes/feed.xml"]
    assert [h.text_content() for h in page.cssselect(".feed-list h2")] == ["Atom", "RSS", "JSON Feed"]
    assert page.cssselect("#tag-c-plus-plus h3 a")[0].get("href") == "../tags/c-plus-plus/"
    text = " ".join(page.text_content().split())
    assert "copy one of these addresses" in text and "Hidden" not in text
    for target in FEEDS + [SITE + "tags/kubernetes/feed.xml"]:
        assert (site.dist / target.removeprefix(SITE)).is_file()


def test_pages_send_people_to_the_feeds_page_and_readers_to_the_feeds(site):
    for path in ["index.html", "templates/index.html", "tags/kubernetes/index.html", "feeds/index.html"]:
        page = _page(site.dist / path)
        links = [a.get("href") for a in page.iter("a")]
        assert not [link for link in links if link.endswith((".xml", ".json"))], path
        footer = page.cssselect(".site-footer a")[0]
        assert footer.text == "Follow in a feed reader" and footer.get("href").endswith("feeds/")
        assert (site.dist / path).parent.joinpath(footer.get("href"), "index.html").resolve() == \
            (site.dist / "feeds/index.html").resolve()
        assert [link.get("href") for link in page.xpath("//link[@rel='alternate']")][:3] == FEEDS
    tag_page = _page(site.dist / "tags/kubernetes/index.html")
    assert tag_page.cssselect(".list-feed a")[0].get("href") == "../../feeds/#tag-kubernetes"
    assert not _page(site.root / "dist/tags/hidden/index.html").cssselect(".list-feed") if (
        site.dist / "tags/hidden").exists() else True


def test_the_feed_stylesheet_decodes_rss_summaries_without_disable_output_escaping(site):
    xsl = site.dist / "feed.xsl"
    # Firefox ignores disable-output-escaping and would show "AT&amp;T": the stylesheet decodes instead.
    assert etree.parse(str(xsl)).xpath("//*[@disable-output-escaping]") == []
    html = str(etree.XSLT(etree.parse(str(xsl)))(etree.parse(str(site.dist / "rss.xml"))))
    summaries = [p.text_content() for p in lxml.html.fromstring(html).cssselect(".summary")]
    assert "AT&T, <b> and &lt;" in summaries


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.mark.browser
def test_the_feeds_page_reads_well_in_chromium_from_a_server_and_from_file(site, tmp_path):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=site.dist))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    urls = {"server": f"http://127.0.0.1:{server.server_address[1]}/feeds/",
            "file": (site.dist / "feeds/index.html").as_uri()}
    try:
        with chromium() as browser:
            for width in (1024, 375):
                page = browser.new_page(viewport={"width": width, "height": 900})  # type: ignore[attr-defined]
                for how, url in urls.items():
                    page.goto(url)
                    page.screenshot(path=str(tmp_path / f"feeds-{how}-{width}.png"), full_page=True)
                    assert page.locator("h1").inner_text() == "Follow Test Letter in a feed reader"
                    for address in FEEDS:
                        box = page.locator("code.feed-address", has_text=address).first
                        assert box.is_visible()
                        bounds = box.bounding_box()
                        assert bounds is not None and bounds["x"] >= 0 and bounds["x"] + bounds["width"] <= width
                    # Styled (the stylesheet loaded from a relative path), readable, no sideways scrolling.
                    size = page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)")
                    assert size >= 16
                    assert page.evaluate("document.documentElement.scrollWidth") <= width
                    assert page.evaluate("getComputedStyle(document.querySelector('.feed-address')).fontFamily") \
                        .startswith("ui-monospace")
                    if how == "server":  # from file://, every folder link of the site opens a listing
                        page.goto(url.replace("/feeds/", "/"))
                        page.click("text=Follow in a feed reader")
                        assert page.locator("h1").inner_text() == "Follow Test Letter in a feed reader"
                page.close()
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    assert len(list(tmp_path.glob("feeds-*.png"))) == 4
