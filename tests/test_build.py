"""The whole build: golden output, determinism, atomicity and the safety of paths."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from newsletter.build.engine import build

GOLDEN = Path(__file__).parent / "golden" / "small"
FIXED_NOW = datetime(2025, 6, 1, tzinfo=UTC)


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_golden_build(tmp_path, update_golden):
    """A small newsletter builds to exactly the checked-in output (update: pytest --update-golden)."""
    root = tmp_path / "gazette"
    shutil.copytree(GOLDEN / "input", root)
    build(root, now=FIXED_NOW)
    actual = _files(root / "dist")
    expected_dir = GOLDEN / "expected"
    if update_golden:
        shutil.rmtree(expected_dir, ignore_errors=True)
        shutil.copytree(root / "dist", expected_dir)
        pytest.skip("golden output rewritten")
    expected = _files(expected_dir)
    assert sorted(actual) == sorted(expected)
    for name, data in expected.items():
        assert actual[name].decode("utf-8", "replace") == data.decode("utf-8", "replace"), name


def test_two_builds_are_byte_identical(tmp_path):
    root = tmp_path / "gazette"
    shutil.copytree(GOLDEN / "input", root)
    build(root, out=tmp_path / "one", now=FIXED_NOW)
    build(root, out=tmp_path / "two", now=FIXED_NOW)
    assert _files(tmp_path / "one") == _files(tmp_path / "two")


def test_build_writes_every_kind_of_page(newsletter):
    newsletter.post("2025-04-01-day-two", "title: Day two\ndate: 2025-04-01\ntags: [k8s, Conferences]")
    newsletter.write("static/img/photo.jpg", "not really a jpeg")
    result = newsletter.run("build")
    assert result.exit_code == 0, result.output
    files = newsletter.snapshot()
    for path in ("index.html", "day-two/index.html", "tags/k8s/index.html", "tags/conferences/index.html",
                 "email/day-two.html", "email/day-two.txt", "email/day-two.eml", "static/img/photo.jpg",
                 "assets/style.css"):
        assert path in files, path
    assert files["static/img/photo.jpg"] == b"not really a jpeg"
    assert "Built 1 issue" in result.output


def test_archive_is_paginated_newest_first(newsletter):
    newsletter.write("newsletter.toml", (newsletter.root / "newsletter.toml").read_text() + "page_size = 2\n")
    for day in range(1, 6):
        newsletter.post(f"2025-04-0{day}-issue-{day}", f"title: Issue {day}\ndate: 2025-04-0{day}")
    assert newsletter.run("build").exit_code == 0
    first = (newsletter.dist / "index.html").read_text()
    assert first.index("Issue 5") < first.index("Issue 4") and "Issue 3" not in first
    assert "page/2/" in first
    third = (newsletter.dist / "page/3/index.html").read_text()
    assert "Issue 1" in third and "Issue 2" not in third


def test_drafts_and_scheduled_posts(newsletter):
    newsletter.post("2025-04-01-public", "title: Public\ndate: 2025-04-01")
    newsletter.post("2025-04-02-secret", "title: Secret\ndate: 2025-04-02\ndraft: true")
    newsletter.post("2099-01-01-future", "title: Future\ndate: 2099-01-01 09:00")
    assert newsletter.run("build").exit_code == 0
    files = newsletter.snapshot()
    assert "public/index.html" in files
    assert "secret/index.html" not in files and "future/index.html" not in files
    assert newsletter.run("build", "--drafts").exit_code == 0
    assert "secret/index.html" in newsletter.snapshot()
    assert newsletter.run("build", "--now", "2099-01-01T09:00").exit_code == 0
    assert "future/index.html" in newsletter.snapshot()
    assert newsletter.run("build", "--now", "2099-01-01T08:59").exit_code == 0
    assert "future/index.html" not in newsletter.snapshot()


def test_a_failed_build_leaves_the_previous_output_untouched(newsletter):
    newsletter.post("2025-04-01-good", "title: Good\ndate: 2025-04-01")
    assert newsletter.run("build").exit_code == 0
    before = newsletter.snapshot()
    newsletter.write("templates/post.html", "{{ no_such_variable }}")
    result = newsletter.run("build")
    assert result.exit_code == 1
    assert newsletter.snapshot() == before
    assert not [p for p in newsletter.root.iterdir() if p.name.startswith(".dist.")]


def test_template_typo_names_the_template_and_line(newsletter):
    newsletter.post("2025-04-01-good", "title: Good\ndate: 2025-04-01")
    newsletter.write("templates/post.html", "line one\n{{ entry.post.tittle }}\n")
    result = newsletter.run("build")
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert "templates/post.html:2:" in result.stderr and "tittle" in result.stderr


def test_template_syntax_error_names_the_line(newsletter):
    newsletter.post("2025-04-01-good", "title: Good\ndate: 2025-04-01")
    newsletter.write("templates/list.html", "ok\n{% if %}\n")
    result = newsletter.run("build")
    assert result.exit_code == 1
    assert "templates/list.html:2:" in result.stderr


def test_own_templates_override_the_built_in_ones_file_by_file(newsletter):
    newsletter.post("2025-04-01-good", "title: Good\ndate: 2025-04-01")
    newsletter.write("templates/list.html", "<p>custom archive of {{ entries | length }}</p>\n")
    assert newsletter.run("build").exit_code == 0
    assert (newsletter.dist / "index.html").read_text() == "<p>custom archive of 1</p>\n"
    assert "<!DOCTYPE html>" in (newsletter.dist / "good/index.html").read_text()


def test_templates_autoescape_front_matter(newsletter):
    newsletter.post("2025-04-01-xss", "title: \"<script>alert(1)</script>\"\ndate: 2025-04-01")
    assert newsletter.run("build").exit_code == 0
    page = (newsletter.dist / "xss/index.html").read_text()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_refuses_to_replace_a_folder_it_did_not_make(newsletter):
    newsletter.post("2025-04-01-good", "title: Good\ndate: 2025-04-01")
    newsletter.write("dist/precious.txt", "keep me")
    result = newsletter.run("build")
    assert result.exit_code == 1
    assert "was not made by 'newsletter build'" in result.stderr
    assert (newsletter.dist / "precious.txt").read_text() == "keep me"


def test_refuses_the_newsletter_folder_itself_as_output(newsletter):
    newsletter.post("2025-04-01-good", "title: Good\ndate: 2025-04-01")
    result = newsletter.run("build", "--out", str(newsletter.root))
    assert result.exit_code == 1
    assert (newsletter.root / "posts").is_dir()


def test_a_traversing_slug_is_refused_and_nothing_is_written(newsletter, tmp_path):
    newsletter.post("2025-04-01-evil", "title: Evil\ndate: 2025-04-01\nslug: ../../x")
    result = newsletter.run("build")
    assert result.exit_code == 1
    assert "posts/2025-04-01-evil.md:4: slug:" in result.stderr
    assert not newsletter.dist.exists()
    assert not (tmp_path / "x").exists() and not (newsletter.root.parent.parent / "x").exists()


def test_out_option_and_summary_line(newsletter, tmp_path):
    newsletter.post("2025-04-01-good", "title: Good\ndate: 2025-04-01")
    result = newsletter.run("build", "--out", str(tmp_path / "site"))
    assert result.exit_code == 0
    assert (tmp_path / "site/good/index.html").exists()
    assert "Built 1 issue (" in result.output and " s" in result.output


def test_web_page_basics(newsletter):
    newsletter.post("2025-04-01-good", "title: Good news\ndate: 2025-04-01\nsummary: All is well.\n"
                    "image: static/card.png")
    assert newsletter.run("build").exit_code == 0
    page = (newsletter.dist / "good/index.html").read_text()
    assert page.startswith("<!DOCTYPE html>\n<html lang=\"en\" dir=\"ltr\">")
    assert '<meta charset="utf-8">' in page and 'name="viewport"' in page
    assert '<link rel="canonical" href="https://example.com/letter/good/">' in page
    assert '<meta property="og:title" content="Good news">' in page
    assert '<meta property="og:image" content="https://example.com/letter/static/card.png">' in page
    assert 'type="application/atom+xml"' in page and 'type="application/rss+xml"' in page
    assert "prefers-color-scheme: dark" in (newsletter.dist / "assets/style.css").read_text()


def test_links_in_posts_are_page_relative_on_the_web(newsletter):
    newsletter.post("2025-04-01-good", "title: Good\ndate: 2025-04-01",
                    "[other](other/) ![pic](/static/p.png) [out](https://a.org/) [here](#x)\n")
    assert newsletter.run("build").exit_code == 0
    page = (newsletter.dist / "good/index.html").read_text()
    assert 'href="../other/"' in page and 'src="../static/p.png"' in page
    assert 'href="https://a.org/"' in page and 'href="#x"' in page


def test_a_located_error_keeps_its_file_and_line_across_processes():
    import pickle

    from newsletter.errors import Problem, TemplateError

    error = TemplateError(problems=[Problem("templates/email.html", "'nope' is undefined", 12)])
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is TemplateError and copy.problems == error.problems
    assert str(copy) == "templates/email.html:12: 'nope' is undefined"
