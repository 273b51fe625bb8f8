"""The example newsletter's pages and emails in a real browser at phone width."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from browser import chromium
from example import copy_example
from newsletter.build.engine import build

REPO = Path(__file__).resolve().parents[1]
PHONE = {"width": 375, "height": 740}


@pytest.fixture(scope="module")
def example_dist(tmp_path_factory) -> Path:
    root = copy_example(tmp_path_factory.mktemp("example"))
    build(root, now=datetime(2026, 1, 1, tzinfo=UTC))
    return root / "dist"


def _pages(dist: Path) -> list[Path]:
    issue = dist / "rejekts-2025-day-two" / "index.html"
    return [issue, dist / "email" / "rejekts-2025-day-two.html", dist / "index.html"]


@pytest.mark.browser
def test_no_horizontal_scrolling_at_375px(example_dist, tmp_path):
    with chromium() as browser:
        for scheme in ("light", "dark"):
            page = browser.new_page(viewport=PHONE, color_scheme=scheme)
            for path in _pages(example_dist):
                page.goto(path.as_uri())
                width = page.evaluate("document.documentElement.scrollWidth")
                assert width <= 375, f"{path} scrolls sideways at 375 px ({width} px wide, {scheme})"
                page.screenshot(path=tmp_path / f"{path.parent.name}-{path.stem}-{scheme}.png", full_page=True)
            page.close()


@pytest.mark.browser
def test_long_code_lines_scroll_inside_their_block(example_dist):
    with chromium() as browser:
        page = browser.new_page(viewport=PHONE)
        page.goto((example_dist / "rejekts-2025-day-two" / "index.html").as_uri())
        overflow = page.evaluate("getComputedStyle(document.querySelector('pre')).overflowX")
        assert overflow == "auto"


@pytest.mark.browser
def test_dark_scheme_changes_the_page_colours(example_dist):
    with chromium() as browser:
        colours = {}
        for scheme in ("light", "dark"):
            page = browser.new_page(viewport=PHONE, color_scheme=scheme)
            page.goto((example_dist / "rejekts-2025-day-two" / "index.html").as_uri())
            colours[scheme] = page.evaluate("getComputedStyle(document.body).backgroundColor")
            page.close()
        assert colours["light"] != colours["dark"]


# -- every email in every mode ------------------------------------------------------------------

PROBE = (Path(__file__).parent / "email_probe.js").read_text()
TORTURE = Path(__file__).parent / "data" / "torture.md"


def _example_with_torture(root: Path, inliner: str) -> Path:
    for name in ("posts", "static"):
        shutil.copytree(REPO / name, root / name)
    shutil.copy(TORTURE, root / "posts" / "2025-08-01-torture.md")
    config = (REPO / "newsletter.toml").read_text()
    (root / "newsletter.toml").write_text(config.replace("[email]\n", f'[email]\ninliner = "{inliner}"\n'))
    build(root, now=datetime(2026, 1, 1, tzinfo=UTC), jobs=1)
    return root / "dist"


@pytest.fixture(scope="module", params=["premailer", "css-inline"])
def torture_dist(request, tmp_path_factory) -> Path:
    return _example_with_torture(tmp_path_factory.mktemp(request.param), request.param)


@pytest.mark.browser
def test_every_email_fits_and_reads_at_both_widths_in_both_schemes(torture_dist):
    emails = sorted((torture_dist / "email").glob("*.html"))
    assert len(emails) == 5 and (torture_dist / "email" / "torture.html") in emails
    problems = []
    with chromium() as browser:
        for scheme in ("light", "dark"):
            for width in (375, 600):
                page = browser.new_page(viewport={"width": width, "height": 800}, color_scheme=scheme)
                for path in emails:
                    page.goto(path.as_uri())
                    found = page.evaluate(PROBE)
                    where = f"{path.name} at {width} px, {scheme}"
                    if found["width"] > width:
                        problems.append(f"{where}: {found['width']} px wide")
                    problems += [f"{where}: scrolls: {item}" for item in found["overflow"]]
                    problems += [f"{where}: low contrast: {item}" for item in found["low"]]
                page.close()
    assert problems == []


@pytest.mark.browser
def test_the_torture_email_has_its_table_headings_and_code_where_a_reader_sees_them(torture_dist):
    with chromium() as browser:
        page = browser.new_page(viewport=PHONE)
        page.goto((torture_dist / "email" / "torture.html").as_uri())
        sizes = page.evaluate("""() => ['h1.title', '.content h1:not(.title)', 'h2', 'h3', 'h4', 'h5', 'h6']
            .map(selector => parseFloat(getComputedStyle(document.querySelector(selector)).fontSize))""")
        assert sizes == sorted(sizes, reverse=True) and len(set(sizes)) == len(sizes), sizes
        columns = page.evaluate("document.querySelectorAll('.content table tr:first-child th').length")
        assert columns == 9
        white_space = page.evaluate("getComputedStyle(document.querySelector('pre')).whiteSpace")
        assert white_space == "pre-wrap"


def test_no_merge_field_reaches_a_web_page_or_feed(torture_dist):
    for path in torture_dist.rglob("*"):
        if path.is_file() and path.suffix in (".html", ".xml", ".json") and path.parent.name != "email":
            assert "{subscriber." not in path.read_text(encoding="utf-8"), path
    assert "Hi there, this issue" in (torture_dist / "torture" / "index.html").read_text()
    assert "Hi Sample Reader, this issue" in (torture_dist / "email" / "torture.html").read_text()


def test_footnote_links_in_the_email_lead_to_the_web_version(torture_dist):
    html = (torture_dist / "email" / "torture.html").read_text()
    assert 'href="https://example.com/newsletter/torture/#fn-1"' in html
    assert 'href="#' not in html


def test_every_built_email_is_one_message_that_parses_cleanly(torture_dist):
    import email
    import re
    from email import policy

    for eml in sorted((torture_dist / "email").glob("*.eml")):
        raw = eml.read_bytes()
        message = email.message_from_bytes(raw, policy=policy.default)
        assert message.defects == [] and all(part.defects == [] for part in message.walk()), eml.name
        assert all(not header.defects for _name, header in message.items()), eml.name
        head = raw.split(b"\r\n\r\n", 1)[0]
        assert all(len(word) <= 75 for word in re.findall(rb"=\?[^?]+\?[bq]\?[^?]*\?=", head, re.I)), eml.name
        html = message.get_body(("html",)).get_content().replace("\r\n", "\n")
        text = message.get_body(("plain",)).get_content().replace("\r\n", "\n")
        assert eml.with_suffix(".html").read_text(encoding="utf-8") == html, eml.name
        assert eml.with_suffix(".txt").read_text(encoding="utf-8") == text, eml.name
        assert "{unsubscribe_url}" not in html + text and "{subscriber." not in html + text, eml.name
