"""The example's course card in every issue, in Chromium: light and dark, 375 and 600 px, both inliners."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from browser import chromium
from example import copy_example
from newsletter.build.engine import build

REPO = Path(__file__).resolve().parents[1]

# Where the card is and how it fits: everything a reader needs inside the viewport's width.
MEASURE = """() => {
  const card = document.querySelector('.snippet-card');
  if (!card) return null;
  const box = element => element.getBoundingClientRect();
  const button = card.querySelector('.card-button');
  const styles = getComputedStyle(card);
  return {page: document.documentElement.scrollWidth, left: box(card).left, right: box(card).right,
          buttonRight: box(button).right, buttonHeight: box(button).height,
          title: card.querySelector('.card-title').textContent, background: styles.backgroundColor,
          price: card.querySelector('.card-price').getBoundingClientRect().height};
}"""


@pytest.fixture(scope="module")
def example_builds(tmp_path_factory) -> dict[str, Path]:
    builds = {}
    for inliner in ("premailer", "css-inline"):
        root = copy_example(tmp_path_factory.mktemp(inliner))
        config = root / "newsletter.toml"
        config.write_text(config.read_text().replace("[email]\n", f'[email]\ninliner = "{inliner}"\n'))
        build(root, now=datetime(2026, 1, 1, tzinfo=UTC))
        builds[inliner] = root / "dist"
    return builds


def _issues(dist: Path) -> list[Path]:
    emails = sorted((dist / "email").glob("*.html"))
    return [page for email in emails for page in (email, dist / email.stem / "index.html")]


@pytest.mark.browser
@pytest.mark.parametrize("inliner", ["premailer", "css-inline"])
def test_the_course_card_fits_every_issue(example_builds, inliner, tmp_path):
    dist = example_builds[inliner]
    pages = _issues(dist)
    assert len(pages) == 8
    with chromium() as browser:
        for width in (375, 600):
            backgrounds: dict[tuple[Path, str], str] = {}
            for scheme in ("light", "dark"):
                page = browser.new_page(viewport={"width": width, "height": 800}, color_scheme=scheme)
                for path in pages:
                    page.goto(path.as_uri())
                    seen = page.evaluate(MEASURE)
                    where = f"{path.relative_to(dist)} at {width} px, {scheme}"
                    assert seen is not None, f"no course card in {where}"
                    assert seen["title"].startswith("Kubernetes for the rest of us"), where
                    assert seen["page"] <= width, f"{where} scrolls sideways ({seen['page']} px)"
                    assert 0 <= seen["left"] and seen["right"] <= width, where
                    assert seen["buttonRight"] <= seen["right"], f"the button sticks out of the card in {where}"
                    # The price stays on one or two lines, never squeezed into a narrow column.
                    assert seen["price"] < 60, where
                    backgrounds[path, scheme] = seen["background"]
                    if path.parent.name == "email" and width == 375:
                        page.screenshot(path=tmp_path / f"{path.stem}-{scheme}.png", full_page=True)
                page.close()
            for path in pages:
                assert backgrounds[path, "light"] != backgrounds[path, "dark"], f"{path} has no dark card"
