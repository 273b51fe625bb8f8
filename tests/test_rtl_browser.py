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


# A short post in Arabic, so that there is right-to-left text to lay out: a quote, a list, a table.
ARABIC_POST = ("---\ntitle: ملاحظات من المؤتمر\ndate: 2025-08-01\ntags: [conferences]\n---\n\n"
               "كان اليوم الثاني من المؤتمر مليئا بالمحادثات عن المنصات وطرق النشر الآمنة.\n\n"
               "> النشر الآمن يبدأ من الاختبار.\n\n- المنصات\n- النشر\n\n| المحادثة | القاعة |\n|---|---|\n"
               "| المنصات | الأولى |\n")


def _arabic_build(folder: Path, inliner: str = "premailer") -> Path:
    root = copy_example(folder / "letter")
    config = root / "newsletter.toml"
    text = re.sub(r'(?m)^language = .*$', 'language = "ar"', config.read_text())
    config.write_text(text.replace("[email]\n", f'[email]\ninliner = "{inliner}"\n', 1))
    (root / "posts" / "2025-08-01-arabic.md").write_text(ARABIC_POST, encoding="utf-8")
    result = build(root, now=datetime(2026, 1, 1, tzinfo=UTC))
    assert any("no built-in translation for 'ar'" in str(warning) for warning in result.warnings)
    return root / "dist"


@pytest.fixture(scope="module")
def arabic(tmp_path_factory) -> Path:
    return _arabic_build(tmp_path_factory.mktemp("ar"))


@pytest.fixture(scope="module")
def arabic_css_inline(tmp_path_factory) -> Path:
    return _arabic_build(tmp_path_factory.mktemp("ar-css-inline"), "css-inline")


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


# Which side a quote's bar, a list's indent and a table cell's text are on, as the reader sees them.
SIDES = """() => {
  const box = element => element.getBoundingClientRect();
  const quote = document.querySelector('.content blockquote');
  const list = document.querySelector('.content ul');
  const item = list.querySelector('li');
  const cell = document.querySelector('.content td');
  const range = document.createRange(); range.selectNodeContents(cell);
  const style = getComputedStyle(quote);
  return {barRight: parseFloat(style.borderRightWidth), barLeft: parseFloat(style.borderLeftWidth),
          itemIndentRight: box(list).right - box(item).right, itemIndentLeft: box(item).left - box(list).left,
          cellTextRight: box(cell).right - range.getBoundingClientRect().right,
          cellTextLeft: range.getBoundingClientRect().left - box(cell).left};
}"""


@pytest.mark.browser
@pytest.mark.parametrize("inliner", ["premailer", "css-inline"])
def test_arabic_email_puts_quote_bars_indents_and_cells_on_the_right(arabic, arabic_css_inline, inliner):
    dist = arabic if inliner == "premailer" else arabic_css_inline
    english = (dist / "email" / "alerts-that-matter.html").read_text()
    assert "border-right:4px" in english.replace(" ", "")   # the example's own quotes, in an Arabic build
    with chromium() as browser:
        for width in (375, 600):
            page = browser.new_page(viewport={"width": width, "height": 800})
            page.goto((dist / "email" / "arabic.html").as_uri())
            seen = page.evaluate(SIDES)
            where = f"{inliner} at {width} px"
            assert (seen["barRight"], seen["barLeft"]) == (4, 0), (where, seen)
            assert (seen["itemIndentRight"], seen["itemIndentLeft"]) == (24, 0), (where, seen)
            assert seen["cellTextRight"] < 12 and seen["cellTextLeft"] > seen["cellTextRight"], (where, seen)
            page.close()


def test_a_left_to_right_email_keeps_its_bars_and_indents_on_the_left(tmp_path):
    root = copy_example(tmp_path / "letter")
    build(root, now=datetime(2026, 1, 1, tzinfo=UTC))
    email = "".join((root / "dist" / "email" / f"{slug}.html").read_text().replace(" ", "")
                    for slug in ("alerts-that-matter", "rejekts-2025-day-two"))
    assert "border-left:4pxsolid" in email and "border-right:4px" not in email
    assert "padding-left:24px" in email and "padding-right:24px" not in email
