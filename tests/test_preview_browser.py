"""`newsletter preview` in headless Chromium: the example newsletter served live, edited on disk.

Run by hand, this file also writes the README's screenshot and measures save-to-reload time:

    python tests/test_preview_browser.py screenshot docs/preview.png
    python tests/test_preview_browser.py measure 10
"""

from __future__ import annotations

import re
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import expect

from browser import chromium
from newsletter.preview.server import PreviewServer, start_preview

REPO = Path(__file__).resolve().parents[1]
SLUG = "rejekts-2025-day-two"
POST = "posts/2025-04-01-rejekts-2025-day-two.md"
TITLE = "Rejekts 2025 — Day Two"
WINDOW = {"width": 1440, "height": 1000}


def copy_example(root: Path) -> Path:
    """The repository's example newsletter (config, posts, pictures) in a folder of its own."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "newsletter.toml", root / "newsletter.toml")
    for name in ("posts", "static"):
        shutil.copytree(REPO / name, root / name)
    return root


@contextmanager
def example_preview(root: Path) -> Iterator[PreviewServer]:
    """The example newsletter copied to *root*, previewed on a free port of 127.0.0.1."""
    with start_preview(copy_example(root), port=0) as server:
        yield server


def retitle(root: Path, old: str, new: str) -> None:
    """Change the example issue's title on disk, as an editor saving the file would."""
    post = root / POST
    post.write_text(post.read_text(encoding="utf-8").replace(f'title: "{old}"', f'title: "{new}"', 1),
                    encoding="utf-8")


@pytest.mark.browser
def test_preview_of_an_issue_follows_the_post_on_disk(tmp_path):
    root = tmp_path / "letter"
    with example_preview(root) as server, chromium() as browser:
        page = browser.new_page(viewport=WINDOW)
        page.goto(server.page_url(SLUG))
        desktop = page.frame_locator("iframe#desktop")
        phone = page.frame_locator("iframe#phone")
        assert desktop.locator("h1").inner_text() == TITLE
        assert phone.locator("h1").inner_text() == TITLE

        page.get_by_role("button", name="Phone · 375 px").click()
        assert page.locator("iframe#desktop").is_hidden()
        frame = page.frame(name="phone")
        width, scrolled = frame.evaluate("[innerWidth, document.documentElement.scrollWidth]")
        assert width == 375
        assert scrolled <= 375, f"the email scrolls sideways at 375 px ({scrolled} px wide)"
        assert page.locator('[data-fit-for="phone"]').inner_text() == "fits, no sideways scrolling"

        page.get_by_role("button", name="Dark", exact=True).click()
        page.wait_for_function("""() => {
            const doc = document.querySelector('iframe#phone').contentDocument;
            return doc && doc.readyState === 'complete' && doc.body &&
                getComputedStyle(doc.body).backgroundColor === 'rgb(17, 19, 21)';
        }""", timeout=15000)
        assert "scheme=dark" in page.url
        page.screenshot(path=tmp_path / "preview-dark-phone.png", full_page=True)
        page.get_by_role("button", name="Forced dark").click()
        page.wait_for_function("""() => {
            const doc = document.querySelector('iframe#phone').contentDocument;
            return doc && doc.readyState === 'complete' &&
                getComputedStyle(doc.documentElement).filter.includes('invert(1)');
        }""", timeout=15000)
        page.get_by_role("button", name="Dark", exact=True).click()

        page.get_by_role("button", name="Plain text").click()
        plain = page.locator("#plain-text")
        assert plain.is_visible() and plain.inner_text().startswith(f"{TITLE}\n=====")
        page.screenshot(path=tmp_path / "preview-plain-text.png")

        # Saved on disk; nothing is done in the browser.
        retitle(root, TITLE, "Rejekts 2025 — Day Two, Revised")
        expect(page.locator("#issue-title")).to_have_text("Rejekts 2025 — Day Two, Revised", timeout=15000)
        assert page.locator("#plain-text").inner_text().startswith("Rejekts 2025 — Day Two, Revised\n")
        assert "view=text" in page.url and "scheme=dark" in page.url  # the reload kept the view
        page.get_by_role("button", name="Email").click()
        assert phone.locator("h1").inner_text() == "Rejekts 2025 — Day Two, Revised"
        page.screenshot(path=tmp_path / "preview.png")


@pytest.mark.browser
def test_a_failed_rebuild_shows_its_error_and_keeps_the_last_good_build(tmp_path):
    root = tmp_path / "letter"
    with example_preview(root) as server, chromium() as browser:
        page = browser.new_page(viewport=WINDOW)
        page.goto(server.page_url(SLUG))
        web = browser.new_page(viewport=WINDOW)
        web.goto(server.url + f"{SLUG}/")
        assert web.locator("h1").first.inner_text() == TITLE

        post = root / POST
        good = post.read_text(encoding="utf-8")
        post.write_text(good.replace("tags: [conferences, kubernetes, rejekts]", "tags: [conferences, kubernetes",
                                     1), encoding="utf-8")
        error = page.locator("#newsletter-preview-error")
        expect(error).to_be_visible(timeout=15000)
        message = error.locator("pre").inner_text()
        assert re.match(rf"{re.escape(POST)}:\d+: front matter is not valid YAML", message), message
        assert page.frame_locator("iframe#desktop").locator("h1").inner_text() == TITLE
        # The web page, open in another tab, shows the same error over the last good build.
        expect(web.locator("#newsletter-preview-error")).to_contain_text(POST, timeout=15000)
        page.screenshot(path=tmp_path / "preview-error.png")

        fresh = browser.new_page(viewport=WINDOW)
        fresh.goto(server.url + f"{SLUG}/")
        assert fresh.locator("h1").first.inner_text() == TITLE
        expect(fresh.locator("#newsletter-preview-error")).to_contain_text(POST, timeout=15000)

        post.write_text(good, encoding="utf-8")
        expect(error).to_be_hidden(timeout=15000)
        assert page.frame_locator("iframe#desktop").locator("h1").inner_text() == TITLE


# ---------------------------------------------------------------------------------------------
# By hand: the README's screenshot, and how long a save takes to show


def screenshot(target: Path) -> None:
    """Write the issue page of the example newsletter as the README shows it."""
    with tempfile.TemporaryDirectory() as folder, example_preview(Path(folder) / "letter") as server, \
            chromium() as browser:
        page = browser.new_page(viewport={"width": 1440, "height": 900}, device_scale_factor=1)
        page.goto(server.page_url(SLUG))
        page.wait_for_load_state("load")
        page.screenshot(path=target)
    print(f"wrote {target}")


def measure(runs: int) -> None:
    """Retitle the example issue *runs* times and print how long each took to show in the open page."""
    with tempfile.TemporaryDirectory() as folder, example_preview(Path(folder) / "letter") as server, \
            chromium() as browser:
        root = Path(folder) / "letter"
        page = browser.new_page(viewport=WINDOW)
        page.goto(server.page_url(SLUG) + "?view=text")
        shown, seen, builds, title = [], [], [], TITLE
        for run in range(runs):
            new = f"{TITLE} ({run + 1})"
            saved = time.time()
            retitle(root, title, new)
            expect(page.locator("#issue-title")).to_have_text(new, timeout=15000)
            seen.append(time.time() - saved)
            # When the reloaded page had its content parsed, by the browser's own clock (the same one).
            loaded = page.evaluate("performance.timeOrigin + "
                                   "performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd")
            shown.append(loaded / 1000 - saved)
            builds.append(server.preview.state.build.seconds)
            title = new
            time.sleep(0.3)
    print(f"{runs} saves of {POST}:")
    for name, values in (("save -> reloaded page ready", shown), ("save -> seen by the test", seen),
                         ("rebuild alone", builds)):
        print(f"  {name:28} median {statistics.median(values):.3f} s "
              f"(min {min(values):.3f}, max {max(values):.3f})")


if __name__ == "__main__":
    if sys.argv[1:2] == ["screenshot"]:
        screenshot(Path(sys.argv[2]))
    elif sys.argv[1:2] == ["measure"]:
        measure(int(sys.argv[2]) if len(sys.argv) > 2 else 10)
    else:
        sys.exit(__doc__)
