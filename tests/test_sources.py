"""Only regular files inside the newsletter folder are read or published: links, hidden and special files."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from newsletter.preview import Preview


@pytest.fixture
def letter(newsletter):
    newsletter.post("2025-03-01-first", 'title: "First issue"\ndate: 2025-03-01', "Hello readers.\n")
    (newsletter.root / "static").mkdir()
    (newsletter.root / "static" / "logo.png").write_bytes(b"\x89PNG logo")
    return newsletter


def _published(letter) -> set[str]:
    return {path for path in letter.snapshot() if not path.startswith(".")}


def _refused_everywhere(letter, name: str, message: str) -> None:
    """build, check and preview each stop with one line naming the file, and publish nothing."""
    result = letter.run("build")
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert lines[0].startswith(f"error: {name}: ") and message in lines[0], result.output
    assert all(line.startswith("error: ") for line in lines)
    assert "Traceback" not in result.output
    assert not letter.dist.exists()

    result = letter.run("check")
    assert result.exit_code == 1
    assert f"{name}: " in result.output and message in result.output and "Traceback" not in result.output

    preview = Preview(letter.root)
    try:
        state = preview.rebuild()
        assert state.build is None and state.error.startswith(f"{name}: ") and message in state.error
        assert preview.respond("/" + name).status == 503
    finally:
        preview.close()


def test_a_link_to_a_file_outside_the_folder_is_refused(letter, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("SMTP_PASSWORD=hunter2\n")
    os.symlink(secret, letter.root / "static" / "notes.txt")
    _refused_everywhere(letter, "static/notes.txt", "outside the newsletter folder")


def test_a_link_to_the_process_environment_is_refused(letter):
    os.symlink("/proc/self/environ", letter.root / "static" / "env.txt")
    _refused_everywhere(letter, "static/env.txt", "outside the newsletter folder")


def test_a_post_linked_to_dev_zero_is_refused(letter):
    os.symlink("/dev/zero", letter.root / "posts" / "2025-04-01-zero.md")
    _refused_everywhere(letter, "posts/2025-04-01-zero.md", "outside the newsletter folder")


def test_two_links_to_the_folder_itself_are_an_error_not_a_hang(letter):
    os.symlink(".", letter.root / "static" / "a")
    os.symlink(".", letter.root / "static" / "b")
    outcome: list[object] = []
    worker = threading.Thread(target=lambda: outcome.append(letter.run("build")), daemon=True)
    worker.start()
    worker.join(30)
    assert outcome, "the build did not end"
    _refused_everywhere(letter, "static/a", "a link back to a folder that holds it")


@pytest.mark.parametrize("where", ["static/pipe.png", "posts/2025-04-01-pipe.md"])
def test_a_fifo_is_refused(letter, where):
    os.mkfifo(letter.root / where)
    _refused_everywhere(letter, where, "not a regular file")


def test_a_link_to_the_subscriber_list_is_refused(letter):
    letter.write("subscribers.csv", "email,name\nann@example.org,Ann\n")
    os.symlink("../subscribers.csv", letter.root / "static" / "list.csv")
    _refused_everywhere(letter, "static/list.csv", "private")


def test_a_link_into_a_hidden_folder_is_refused(letter):
    letter.write(".newsletter/journal/first.jsonl", '{"to": "ann@example.org"}\n')
    os.symlink("../.newsletter/journal/first.jsonl", letter.root / "static" / "journal.txt")
    _refused_everywhere(letter, "static/journal.txt", "private")


def test_a_dangling_link_is_refused(letter):
    os.symlink("gone.png", letter.root / "static" / "chart.png")
    _refused_everywhere(letter, "static/chart.png", "does not exist")


def test_a_template_linked_outside_the_folder_is_refused(letter, tmp_path):
    outside = tmp_path / "post.html"
    outside.write_text("{{ 1 }}")
    (letter.root / "templates").mkdir()
    os.symlink(outside, letter.root / "templates" / "post.html")
    _refused_everywhere(letter, "templates/post.html", "outside the newsletter folder")


def test_hidden_files_and_folders_are_never_published(letter):
    letter.write("static/.aws/credentials", "[default]\naws_secret_access_key = x\n")
    letter.write("static/.env", "TOKEN=x\n")
    letter.write("static/img/.DS_Store", "x")
    letter.write("static/img/photo.png", "png")
    os.symlink("nowhere", letter.root / "posts" / ".#2025-03-01-first.md")  # an editor's lock file
    result = letter.run("build")
    assert result.exit_code == 0, result.output
    published = _published(letter)
    assert {"static/logo.png", "static/img/photo.png"} <= published
    assert not [path for path in published if "/." in path or path.startswith(".")]


def test_links_that_stay_inside_the_folder_are_followed(letter):
    letter.write("assets/banner.png", "banner")
    os.symlink("../assets/banner.png", letter.root / "static" / "banner.png")
    os.symlink("../assets", letter.root / "static" / "shared")
    result = letter.run("build")
    assert result.exit_code == 0, result.output
    assert (letter.dist / "static" / "banner.png").read_text() == "banner"
    assert (letter.dist / "static" / "shared" / "banner.png").read_text() == "banner"
    assert not (letter.dist / "static" / "banner.png").is_symlink()


def test_a_rebuild_notices_a_new_link_outside(letter, tmp_path):
    assert letter.run("build").exit_code == 0
    os.symlink("/proc/self/environ", letter.root / "static" / "env.txt")
    result = letter.run("build")
    assert result.exit_code == 1 and "static/env.txt: " in result.output
    assert not (letter.dist / "static" / "env.txt").exists()
    assert (letter.dist / "static" / "logo.png").exists()  # the last good build stays


def test_the_scan_lists_nothing_outside_for_a_folder_that_is_a_link(tmp_path: Path):
    from newsletter.errors import SourceError
    from newsletter.sources import scan

    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "a.txt").write_text("a")
    root = tmp_path / "letter"
    root.mkdir()
    os.symlink(outside, root / "static")
    with pytest.raises(SourceError, match="static: a link to something outside"):
        scan(root, "static")
