"""The tags/ page: every tag with its number of issues, linked from the archive."""

from __future__ import annotations

import re
import shutil


def tag_lines(html: str) -> list[str]:
    """Each tag on the page as its reader sees it: 'name count'."""
    items = re.findall(r'<li><a href="\.\./([^"]+)">([^<]+)</a> <span class="tag-count">([^<]+)</span></li>', html)
    return [f"{href} {name} {count}" for href, name, count in items]


def test_the_tags_page_lists_each_tag_with_its_count(newsletter):
    newsletter.post("2025-04-01-one", "title: One\ndate: 2025-04-01\ntags: [k8s, Conferences]")
    newsletter.post("2025-04-02-two", "title: Two\ndate: 2025-04-02\ntags: [k8s]")
    result = newsletter.run("build")
    assert result.exit_code == 0, result.output
    page = (newsletter.dist / "tags" / "index.html").read_text()
    assert tag_lines(page) == ["tags/conferences/ Conferences 1 issue", "tags/k8s/ k8s 2 issues"]
    archive = (newsletter.dist / "index.html").read_text()
    assert '<a href="tags/">All tags</a>' in archive
    tagged = (newsletter.dist / "tags" / "k8s" / "index.html").read_text()
    assert '<a href="../../tags/">All tags</a>' in tagged


def test_no_tags_no_page_and_no_link(newsletter):
    newsletter.post("2025-04-01-one", "title: One\ndate: 2025-04-01")
    assert newsletter.run("build").exit_code == 0
    assert not (newsletter.dist / "tags").exists()
    assert "All tags" not in (newsletter.dist / "index.html").read_text()


def test_retagging_a_post_updates_the_page_as_a_cold_build_would(newsletter, tmp_path):
    post = newsletter.post("2025-04-01-one", "title: One\ndate: 2025-04-01\ntags: [k8s]")
    assert newsletter.run("build").exit_code == 0
    post.write_text(post.read_text().replace("[k8s]", "[k8s, ci]"))
    assert newsletter.run("build").exit_code == 0
    warm = newsletter.snapshot()
    assert tag_lines(warm["tags/index.html"].decode()) == ["tags/ci/ ci 1 issue", "tags/k8s/ k8s 1 issue"]
    shutil.rmtree(newsletter.root / ".newsletter")
    shutil.rmtree(newsletter.dist)
    assert newsletter.run("build").exit_code == 0
    assert newsletter.snapshot() == warm


def test_tags_in_other_scripts_get_readable_pages_named_in_latin_letters(newsletter):
    newsletter.post("2025-04-01-one", "title: One\ndate: 2025-04-01\ntags: [日本, кошки, Straße]")
    newsletter.post("2025-04-02-two", "title: Two\ndate: 2025-04-02\ntags: [Кошки]")
    result = newsletter.run("build")
    assert result.exit_code == 0, result.output
    page = (newsletter.dist / "tags" / "index.html").read_text()
    assert tag_lines(page) == ["tags/koshki/ Кошки 2 issues", "tags/riben/ 日本 1 issue",  # named as the newest post writes it
                               "tags/strae/ Straße 1 issue"]   # a Latin tag keeps the page it always had
    cats = (newsletter.dist / "tags" / "koshki" / "index.html").read_text()
    assert "кошки" in cats.lower() and "One" in cats and "Two" in cats
    assert (newsletter.dist / "tags" / "riben" / "feed.xml").is_file()
    post = (newsletter.dist / "one" / "index.html").read_text()
    assert '<a href="../tags/riben/">日本</a>' in post
    first = newsletter.snapshot()
    assert newsletter.run("build").exit_code == 0
    assert newsletter.snapshot() == first


def test_a_transliterated_tag_that_meets_a_latin_one_is_an_error_naming_both(newsletter):
    newsletter.post("2025-04-01-one", "title: One\ndate: 2025-04-01\ntags: [koshki, кошки]")
    result = newsletter.run("build")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "tags 'koshki' and 'кошки' would share the page tags/koshki/" in result.stderr
