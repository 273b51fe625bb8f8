"""A right-to-left newsletter (Arabic) in Chromium: pages and emails read from the right, never scroll sideways."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from browser import chromium
from example import copy_example
from newsletter.build.engine import build

REPO = Path(__file__).resolve().parents[1]

# Direction of the text the reader reads, and where its heading sits in its column.
MEASURE = """(selectors) => {
  const [column, heading] = selectors.map(s => document.querySelector(s));
  const box = element => element.getBoundingClientRect();
  return {page: document.documentElement.scrollWidth, direction: getComputedStyle(heading).direction,
          columnLeft: box(column).left, columnRight: box(column).right,
          headingRight: box(heading).right, headingLeft: box(heading).left,
          headingTextRight: (() => { const r = document.createRange(); r.selectNodeContents(heading);
                                      return r.getBoundingClientRect().right; })(),
          headingTextLeft: (() => { const r = document.createRange(); r.selectNodeContents(heading);
                                     return r.getBoundingClientRect().left; })()};
}"""


@pytest.fixture(scope="module")
def arabic(tmp_path_factory) -> Path:
    root = copy_example(tmp_path_factory.mktemp("ar") / "letter")
    config = root / "newsletter.toml"
    config.write_text(re.sub(r'(?m)^language = .*$', 'language = "ar"', config.read_text()))
    # A short post in Arabic, so that there is right-to-left text to lay out.
    (root / "posts" / "2025-08-01-arabic.md").write_text(
        "---\ntitle: ملاحظات من المؤتمر\ndate: 2025-08-01\ntags: [conferences]\n---\n\n"
        "كان اليوم الثاني من المؤتمر مليئا بالمحادثات عن المنصات وطرق النشر الآمنة.\n", encoding="utf-8")
    result = build(root, now=datetime(2026, 1, 1, tzinfo=UTC))
    assert any("no built-in translation for 'ar'" in str(warning) for warning in result.warnings)
    return root / "dist"


def test_arabic_pages_and_emails_carry_rtl(arabic):
    page = (arabic / "arabic" / "index.html").read_text()
    assert '<html lang="ar" dir="rtl">' in page
    email = (arabic / "email" / "arabic.html").read_text()
    assert 'class="wrapper" lang="ar" dir="rtl"' in email and 'class="container" lang="ar" dir="rtl"' in email
    assert "1 أغسطس 2025" in page  # the date as Babel writes it in Arabic


@pytest.mark.browser
def test_arabic_renders_right_to_left_without_sideways_scrolling(arabic):
    targets = [(arabic / "arabic" / "index.html", ["main", "h1"]),
               (arabic / "rejekts-2025-day-two" / "index.html", ["main", "h1"]),
               (arabic / "index.html", ["main", "h1"]),
               (arabic / "email" / "arabic.html", [".content", ".title"]),
               (arabic / "email" / "rejekts-2025-day-two.html", [".content", ".title"])]
    with chromium() as browser:
        for width in (375, 600):
            for scheme in ("light", "dark"):
                page = browser.new_page(viewport={"width": width, "height": 800}, color_scheme=scheme)
                for path, selectors in targets:
                    page.goto(path.as_uri())
                    seen = page.evaluate(MEASURE, selectors)
                    where = f"{path.relative_to(arabic)} at {width} px, {scheme}"
                    assert seen["page"] <= width, f"{where} scrolls sideways ({seen['page']} px)"
                    assert seen["direction"] == "rtl", where
                    # The heading's text hugs the right edge of its column, as Arabic is read.
                    assert seen["columnRight"] - seen["headingTextRight"] < 40, (where, seen)
                    assert seen["headingTextLeft"] - seen["columnLeft"] >= 0, (where, seen)
                page.close()
