"""Hugo page bundles: posts/<name>/index.md with the files it shows beside it, built and checked."""

from __future__ import annotations

import json
import os
import re
import shutil
import struct
import zlib
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urljoin

import feedparser

from browser import chromium
from newsletter.build.engine import build
from newsletter.preview import Preview

NOW = datetime(2025, 6, 1, tzinfo=UTC)
SITE = "https://example.com/letter/"

SECTION = """\
+++
title = "Posts"
+++
"""

DAY_ONE = """\
+++
title = "Rejekts day one"
date = 2025-03-31T18:00:00+02:00
description = "Talks from the first day."
categories = ["conferences"]
images = ["chart.png"]
+++

The first day had more talks than chairs, so we counted them.

![Talks per hour](chart.png)

The [slides](./slides/day-one.pdf) are beside the post too.
"""

DAY_TWO = """\
---
title: "Rejekts day two"
date: 2025-04-01
description: "No pictures today."
---

The second day, in words only.
"""

FLAT = """\
---
title: "A flat post"
date: 2025-04-02
description: "Written before the move."
---

Plain text from a single file.
"""


def png(width: int, height: int, colour: bytes = b"\xc0\x30\x30") -> bytes:
    """A real PNG of one colour, which browsers and image readers accept."""
    raw = b"".join(b"\x00" + colour * width for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw))
            + chunk(b"IEND", b""))


def hugo_letter(newsletter) -> Path:
    """A Hugo content/posts/ folder as it is copied in: two bundles (one with an image) and a flat post."""
    config = newsletter.root / "newsletter.toml"
    config.write_text(config.read_text() + '\n[posts]\nforeign_keys = "ignore"\n')
    newsletter.write("posts/_index.md", SECTION)
    newsletter.write("posts/2025-03-31-rejekts-day-one/index.md", DAY_ONE)
    (newsletter.root / "posts/2025-03-31-rejekts-day-one/chart.png").write_bytes(png(40, 20))
    newsletter.write("posts/2025-03-31-rejekts-day-one/slides/day-one.pdf", "%PDF-1.4 slides\n")
    newsletter.write("posts/2025-03-31-rejekts-day-one/notes.md", "Speaker notes, a Hugo page resource.\n")
    newsletter.write("posts/rejekts-day-two/index.md", DAY_TWO)
    newsletter.write("posts/moved-from-hugo.md", FLAT)
    return newsletter.root


def built(newsletter) -> dict[str, bytes]:
    result = newsletter.run("build", "--now", NOW.isoformat())
    assert result.exit_code == 0, result.output
    return newsletter.snapshot()


def test_bundles_and_a_flat_post_build_with_the_bundle_files_beside_the_issue_page(newsletter):
    hugo_letter(newsletter)
    files = built(newsletter)
    # Slugs come from the folder's name as from a file's: without its date.
    assert {"rejekts-day-one/index.html", "rejekts-day-two/index.html", "moved-from-hugo/index.html"} <= set(files)
    assert files["rejekts-day-one/chart.png"] == png(40, 20)
    assert files["rejekts-day-one/slides/day-one.pdf"] == b"%PDF-1.4 slides\n"
    # Neither Hugo's section page nor a Markdown resource is an issue, and Markdown is not published.
    assert not any(path.startswith(("index/", "notes/", "posts/")) or path.endswith(".md") for path in files)
    archive = files["index.html"].decode()
    issues = re.findall(r'<h2><a href="([a-z0-9-]+/)">([^<]+)</a></h2>', archive)
    assert issues == [("moved-from-hugo/", "A flat post"), ("rejekts-day-two/", "Rejekts day two"),
                      ("rejekts-day-one/", "Rejekts day one")]


def test_the_web_page_shows_the_bundle_image(newsletter):
    hugo_letter(newsletter)
    built(newsletter)
    page = newsletter.dist / "rejekts-day-one" / "index.html"
    html = page.read_text()
    src = html.split('alt="Talks per hour"')[0].rsplit('src="', 1)[1].split('"')[0]
    assert urljoin(SITE + "rejekts-day-one/", src) == SITE + "rejekts-day-one/chart.png"
    with chromium() as browser:
        tab = browser.new_page()
        tab.goto(page.as_uri())
        width = tab.eval_on_selector('img[alt="Talks per hour"]', "img => img.complete && img.naturalWidth")
        link = tab.eval_on_selector('a:text("slides")', "a => a.href")
    assert width == 40
    assert link == (newsletter.dist / "rejekts-day-one" / "slides" / "day-one.pdf").as_uri()
    assert f'content="{SITE}rejekts-day-one/chart.png"' in html  # the social card, from Hugo's images


def test_the_email_and_the_feeds_point_at_the_copied_file(newsletter):
    hugo_letter(newsletter)
    files = built(newsletter)
    email = files["email/rejekts-day-one.html"].decode()
    assert f'<img src="{SITE}rejekts-day-one/chart.png" alt="Talks per hour" width="40"' in email
    assert f'href="{SITE}rejekts-day-one/slides/day-one.pdf"' in email
    assert f"{SITE}rejekts-day-one/slides/day-one.pdf" in files["email/rejekts-day-one.txt"].decode()
    feed = feedparser.parse(files["feed.xml"])
    assert not feed.bozo
    entry = next(item for item in feed.entries if item.title == "Rejekts day one")
    assert f'src="{SITE}rejekts-day-one/chart.png"' in entry.content[0].value
    rss = feedparser.parse(files["rss.xml"])
    item = next(item for item in rss.entries if item.title == "Rejekts day one")
    enclosure = next(link for link in item.links if link.rel == "enclosure")
    assert (enclosure.href, int(enclosure.length)) == (f"{SITE}rejekts-day-one/chart.png", len(png(40, 20)))
    items = json.loads(files["feed.json"])["items"]
    assert next(item for item in items if item["title"] == "Rejekts day one")["image"] == \
        f"{SITE}rejekts-day-one/chart.png"


def test_check_is_clean_and_a_second_build_is_byte_identical(newsletter):
    hugo_letter(newsletter)
    first = built(newsletter)
    result = newsletter.run("check")
    assert result.exit_code == 0, result.output
    for rule in ("link-broken", "link-relative", "image-width", "image-missing", "error:"):
        assert rule not in result.output, result.output
    shutil.rmtree(newsletter.root / ".newsletter")
    assert built(newsletter) == first
    assert built(newsletter) == first


def test_check_reports_a_bundle_image_that_is_named_but_absent(newsletter):
    hugo_letter(newsletter)
    newsletter.write("posts/rejekts-day-two/index.md", DAY_TWO + "\n![The hall](hall.png)\n")
    built(newsletter)
    result = newsletter.run("check")
    assert result.exit_code == 1
    assert ("posts/rejekts-day-two/index.md:9: error: link-broken: link 'hall.png' points at nothing: no file "
            "'hall.png' beside posts/rejekts-day-two/index.md") in result.output, result.output


def _cold(root: Path, tmp_path: Path) -> dict[str, bytes]:
    copy = tmp_path / "cold-copy"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(root, copy, ignore=shutil.ignore_patterns("dist", ".newsletter"))
    build(copy, now=NOW, jobs=1)
    return {p.relative_to(copy / "dist").as_posix(): p.read_bytes()
            for p in sorted((copy / "dist").rglob("*")) if p.is_file()}


def test_editing_a_bundle_gives_what_a_cold_build_gives(newsletter, tmp_path):
    root = hugo_letter(newsletter)
    bundle = root / "posts/2025-03-31-rejekts-day-one"
    steps = [
        lambda: (bundle / "chart.png").write_bytes(png(60, 30, b"\x30\x30\xc0")),
        lambda: (bundle / "hall.png").write_bytes(png(10, 10)),
        lambda: newsletter.write("posts/2025-03-31-rejekts-day-one/index.md", DAY_ONE + "\n![Hall](hall.png)\n"),
        lambda: (bundle / "hall.png").unlink(),
        lambda: (bundle / "slides").rename(root / "posts/rejekts-day-two/slides"),
    ]
    build(root, now=NOW, jobs=1)
    for number, step in enumerate(steps):
        before = newsletter.snapshot()
        step()
        build(root, now=NOW, jobs=1)
        after = newsletter.snapshot()
        assert after != before, f"step {number} changed nothing"
        assert after == _cold(root, tmp_path), f"after step {number}"
    final = newsletter.snapshot()
    assert final["rejekts-day-one/chart.png"] == png(60, 30, b"\x30\x30\xc0")
    assert 'width="60"' in final["email/rejekts-day-one.html"].decode()
    assert "rejekts-day-one/hall.png" not in final and "rejekts-day-two/slides/day-one.pdf" in final
    # A Markdown resource is not published: removing it changes nothing.
    (bundle / "notes.md").unlink()
    build(root, now=NOW, jobs=1)
    assert newsletter.snapshot() == final


def test_a_slug_in_front_matter_names_the_bundle_issue(newsletter):
    hugo_letter(newsletter)
    newsletter.write("posts/2025-03-31-rejekts-day-one/index.md", DAY_ONE.replace(
        'images = ["chart.png"]', 'images = ["chart.png"]\nslug = "first-day"'))
    files = built(newsletter)
    assert "first-day/chart.png" in files and "rejekts-day-one/chart.png" not in files
    assert f'src="{SITE}first-day/chart.png"' in files["email/first-day.html"].decode()


def test_a_draft_bundle_publishes_none_of_its_files(newsletter):
    hugo_letter(newsletter)
    newsletter.write("posts/2025-03-31-rejekts-day-one/index.md", DAY_ONE.replace("+++\n\n", "draft = true\n+++\n\n"))
    files = built(newsletter)
    assert not any(path.startswith("rejekts-day-one/") for path in files)
    result = newsletter.run("build", "--drafts", "--now", NOW.isoformat())
    assert result.exit_code == 0 and (newsletter.dist / "rejekts-day-one" / "chart.png").exists()


def test_a_link_in_a_bundle_that_leaves_the_folder_is_refused(newsletter, tmp_path):
    hugo_letter(newsletter)
    secret = tmp_path / "secret.png"
    secret.write_bytes(png(5, 5))
    os.symlink(secret, newsletter.root / "posts/rejekts-day-two/photo.png")
    result = newsletter.run("build")
    assert result.exit_code == 1
    assert result.output.startswith("error: posts/rejekts-day-two/photo.png: a link to something outside the "
                                    "newsletter folder"), result.output
    assert "Traceback" not in result.output and not newsletter.dist.exists()


def test_a_bundle_file_that_would_replace_the_issue_page_is_an_error(newsletter):
    hugo_letter(newsletter)
    newsletter.write("posts/rejekts-day-two/index.html", "<p>an old export</p>")
    result = newsletter.run("build")
    assert result.exit_code == 1
    assert result.output.strip() == ("error: posts/rejekts-day-two/index.html: a file named index.html beside "
                                     "index.md would replace the issue's own web page; rename it"), result.output
    assert not newsletter.dist.exists()


def test_a_folder_without_index_md_is_not_a_post(newsletter):
    hugo_letter(newsletter)
    newsletter.write("posts/section/_index.md", SECTION)
    newsletter.write("posts/section/other.md", FLAT)
    (newsletter.root / "posts/section/pic.png").write_bytes(png(3, 3))
    files = built(newsletter)
    assert not any(path.startswith(("section/", "other/")) for path in files)


def test_the_preview_serves_the_bundle_image(newsletter):
    hugo_letter(newsletter)
    preview = Preview(newsletter.root)
    try:
        assert preview.rebuild().error == ""
        answer = preview.respond("/rejekts-day-one/chart.png")
        assert (answer.status, answer.body) == (200, png(40, 20))
    finally:
        preview.close()
