"""premailer and css-inline give emails that render the same, element for element, in Chromium."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from browser import chromium
from newsletter.build.engine import build

REPO = Path(__file__).resolve().parents[1]
PROPERTIES = ["color", "background-color", "font-family", "font-size", "font-weight", "font-style",
              "line-height", "text-align", "text-decoration-line", "padding-top", "padding-left",
              "margin-top", "margin-bottom", "border-top-width", "border-left-style", "display", "width",
              "max-width", "white-space", "overflow-wrap", "word-break", "border-top-color", "table-layout"]
STYLES = """(properties) => [...document.body.querySelectorAll('*')].map(element => {
    const style = getComputedStyle(element);
    return [element.tagName, ...properties.map(name => style.getPropertyValue(name))].join(' | ');
})"""


def _example(tmp_path: Path, inliner: str) -> Path:
    root = tmp_path / inliner
    root.mkdir()
    for name in ("posts", "static"):
        shutil.copytree(REPO / name, root / name)
    # Wide tables, long commands, code in headings and table headers, every heading level.
    shutil.copy(REPO / "tests" / "data" / "torture.md", root / "posts" / "2025-08-01-torture.md")
    config = (REPO / "newsletter.toml").read_text()
    (root / "newsletter.toml").write_text(config.replace("[email]\n", f'[email]\ninliner = "{inliner}"\n'))
    build(root, now=datetime(2026, 1, 1, tzinfo=UTC), jobs=1)
    return root / "dist" / "email"


@pytest.mark.browser
def test_both_inliners_give_the_same_computed_styles(tmp_path):
    premailer = _example(tmp_path, "premailer")
    css_inline = _example(tmp_path, "css-inline")
    issues = sorted(path.name for path in premailer.glob("*.html"))
    assert "torture.html" in issues and issues == sorted(path.name for path in css_inline.glob("*.html"))
    with chromium() as browser:
        for scheme in ("light", "dark"):
            for width in (600, 375):
                page = browser.new_page(viewport={"width": width, "height": 800}, color_scheme=scheme)
                for name in issues:
                    page.goto((premailer / name).as_uri())
                    expected = page.evaluate(STYLES, PROPERTIES)
                    page.goto((css_inline / name).as_uri())
                    actual = page.evaluate(STYLES, PROPERTIES)
                    assert len(actual) == len(expected), name
                    differing = [(e, a) for e, a in zip(expected, actual) if e != a]
                    assert differing == [], f"{name} at {width} px, {scheme}: {differing[:3]}"
                page.close()


def test_both_inliners_keep_the_outlook_dark_mode_rules(tmp_path):
    for inliner in ("premailer", "css-inline"):
        html = (_example(tmp_path, inliner) / "torture.html").read_text()
        assert "[data-ogsc] h2" in html and "[data-ogsb] code" in html, inliner
