"""The subscriber list stays out of git: `init` ignores it, and `check` reports a list that git tracks
(with a real git repository; the rules' own tests are in test_check.py)."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from click.testing import CliRunner

from newsletter.cli import main

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")


def git(root, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, check=True)
    return done.stdout


def make_repo(tmp_path):
    """A newsletter made by `init`, with a subscriber list, an unsubscribe list and a journal, in git."""
    root = tmp_path / "letter"
    assert CliRunner().invoke(main, ["init", str(root), "--title", "Mine", "--url", "https://mine.example/"]
                              ).exit_code == 0
    with (root / "newsletter.toml").open("a") as config:
        config.write('\n[subscribers]\nfile = "subscribers.csv"\nunsubscribed = "unsubscribed.txt"\n')
    (root / "subscribers.csv").write_text("email,name\nann@example.com,Ann\n")
    (root / "unsubscribed.txt").write_text("gone@example.com\n")
    (root / ".newsletter/journal").mkdir(parents=True)
    (root / ".newsletter/journal/welcome.jsonl").write_text('{"type":"sent","to":"ann@example.com"}\n')
    git(root, "init", "-q")
    return root


@pytest.fixture
def repo(tmp_path):
    return make_repo(tmp_path)


def run_check(root):
    return CliRunner().invoke(main, ["--dir", str(root), "check"])


def test_init_keeps_the_list_the_unsubscribes_and_the_journal_out_ofgit(repo):
    git(repo, "add", "-A")
    staged = git(repo, "ls-files").split()
    assert "newsletter.toml" in staged and ".gitignore" in staged
    assert not {"subscribers.csv", "unsubscribed.txt"} & set(staged)
    assert not [name for name in staged if name.startswith(".newsletter/")]
    result = run_check(repo)
    assert "subscribers-" not in result.output


def test_outside_a_repository_the_rules_find_nothing(repo):
    shutil.rmtree(repo / ".git")
    (repo / ".gitignore").unlink()
    assert "subscribers-" not in run_check(repo).output
