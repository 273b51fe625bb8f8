"""The example newsletter's pages and emails in a real browser at phone width."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from browser import chromium
from newsletter.build.engine import build

REPO = Path(__file__).resolve().parents[1]
PHONE = {"width": 375, "height": 740}


@pytest.fixture(scope="module")
def example_dist(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("example")
    for name in ("newsletter.toml", "posts", "static"):
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, root / name)
        else:
            shutil.copy(source, root / name)
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
