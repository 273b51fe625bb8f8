"""`newsletter init` and `newsletter new`."""

from __future__ import annotations

import re
from datetime import date

from click.testing import CliRunner

from newsletter.cli import main
from newsletter.config import load_config
from newsletter.posts import load_posts


def test_init_creates_a_newsletter_that_builds(tmp_path):
    runner = CliRunner()
    result = runner.invoke(main, ["init", str(tmp_path / "mine"), "--title", "Mine: “quoted”",
                                  "--url", "https://mine.example/"])
    assert result.exit_code == 0, result.output
    root = tmp_path / "mine"
    assert (root / "newsletter.toml").exists() and (root / ".gitignore").exists()
    assert "/dist/" in (root / ".gitignore").read_text()
    assert len(list((root / "posts").glob("*-welcome.md"))) == 1
    assert load_config(root).site.title == "Mine: “quoted”"
    built = runner.invoke(main, ["--dir", str(root), "build"])
    assert built.exit_code == 0, built.output
    assert (root / "dist/welcome/index.html").exists()


def test_init_refuses_an_existing_newsletter(newsletter):
    before = (newsletter.root / "newsletter.toml").read_text()
    result = CliRunner().invoke(main, ["init", str(newsletter.root)])
    assert result.exit_code == 1
    assert "newsletter.toml: already exists" in result.stderr
    assert (newsletter.root / "newsletter.toml").read_text() == before


def test_new_creates_a_dated_draft_and_prints_its_path(newsletter):
    result = newsletter.run("new", "Rejekts 2025 — Day Two: Ünïcode & more", "--date", "2025-04-01")
    assert result.exit_code == 0, result.output
    path = newsletter.root / "posts/2025-04-01-rejekts-2025-day-two-unicode-more.md"
    assert result.output.strip() == str(path)
    posts, warnings = load_posts(load_config(newsletter.root))
    assert [(p.title, p.slug, p.draft, p.date.date()) for p in posts] == [
        ("Rejekts 2025 — Day Two: Ünïcode & more", "rejekts-2025-day-two-unicode-more", True, date(2025, 4, 1))]
    assert warnings == []


def test_new_defaults_to_today(newsletter):
    result = newsletter.run("new", "Today")
    assert result.exit_code == 0
    assert re.search(rf"posts/{date.today().isoformat()}-today\.md$", result.output.strip())


def test_new_refuses_to_overwrite(newsletter):
    newsletter.run("new", "Same", "--date", "2025-04-01")
    path = newsletter.root / "posts/2025-04-01-same.md"
    path.write_text(path.read_text() + "\nMy precious words.\n")
    result = newsletter.run("new", "Same", "--date", "2025-04-01")
    assert result.exit_code == 1
    assert "already exists" in result.stderr
    assert "My precious words." in path.read_text()


def test_new_outside_a_newsletter_says_what_to_do(tmp_path):
    result = CliRunner().invoke(main, ["--dir", str(tmp_path), "new", "Lost"])
    assert result.exit_code == 1
    assert "newsletter.toml: not found; run 'newsletter init'" in result.stderr
    assert "Traceback" not in result.output


def test_new_with_a_title_without_letters(newsletter):
    result = newsletter.run("new", "—!—")
    assert result.exit_code == 1
    assert "letters or digits" in result.stderr
