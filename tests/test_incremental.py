"""Incremental and parallel builds give exactly what a cold build gives, and touch only what changed."""

from __future__ import annotations

import gc
import shutil
import struct
import zlib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from newsletter.build import phases as build_module
from newsletter.build.cache import BuildCache, HeldCache
from newsletter.build.engine import Target, build
from newsletter.errors import TemplateError
from newsletter.outputs import feed_items, inline

NOW = datetime(2025, 6, 1, tzinfo=UTC)


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _cold(root: Path, tmp_path: Path) -> dict[str, bytes]:
    """A build of a copy of *root* with no cache and no earlier output."""
    copy = tmp_path / "cold-copy"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(root, copy, ignore=shutil.ignore_patterns("dist", ".newsletter"))
    build(copy, now=NOW, jobs=1)
    return _files(copy / "dist")


def _post(newsletter, day: int, title: str, body: str = "Body text.\n", tags: str = "[notes]") -> Path:
    return newsletter.post(f"2025-04-{day:02d}-post-{day}", f'title: "{title}"\ndate: 2025-04-{day:02d}\ntags: {tags}',
                           body)


def test_a_series_of_edits_gives_what_a_cold_build_gives(newsletter, tmp_path):
    root = newsletter.root
    newsletter.write("newsletter.toml", (root / "newsletter.toml").read_text() + "page_size = 2\n")
    for day in range(1, 8):
        _post(newsletter, day, f"Post {day}", f"Body of post {day} with [a link](post-{day - 1}/).\n")
    newsletter.write("static/a.txt", "first")

    steps = [
        lambda: _post(newsletter, 3, "Post 3, re-titled"),
        lambda: _post(newsletter, 5, "Post 5", "A new body.\n", tags="[other, notes]"),
        lambda: (root / "posts/2025-04-02-post-2.md").rename(root / "posts/2025-04-02-renamed.md"),
        lambda: (root / "posts/2025-04-04-post-4.md").unlink(),
        lambda: _post(newsletter, 9, "A newer post"),
        lambda: newsletter.write("static/a.txt", "second, longer"),
        lambda: newsletter.write("static/b/c.txt", "new static file"),
        lambda: (root / "static/a.txt").unlink(),
        lambda: newsletter.write("templates/list.html", "{% for entry in entries %}{{ entry.post.title }}\n{% endfor %}"),
        lambda: (root / "templates/list.html").unlink(),
        lambda: newsletter.write("newsletter.toml", (root / "newsletter.toml").read_text().replace("page_size = 2",
                                                                                                 "page_size = 3")),
        lambda: _post(newsletter, 6, "Now a draft", tags="[notes]\ndraft: true"),
    ]
    build(root, now=NOW, jobs=1)
    for number, step in enumerate(steps):
        step()
        build(root, now=NOW, jobs=1)
        assert _files(newsletter.dist) == _cold(root, tmp_path), f"after step {number}"


def test_a_no_op_rebuild_writes_nothing(newsletter):
    for day in range(1, 4):
        _post(newsletter, day, f"Post {day}")
    build(newsletter.root, now=NOW, jobs=1)
    before = {p: (p.stat().st_mtime_ns, p.stat().st_ino) for p in newsletter.dist.rglob("*") if p.is_file()}
    result = build(newsletter.root, now=NOW, jobs=1)
    after = {p: (p.stat().st_mtime_ns, p.stat().st_ino) for p in newsletter.dist.rglob("*") if p.is_file()}
    assert result.made == 0
    assert before == after


def test_editing_one_post_rewrites_only_the_files_that_change(newsletter):
    for day in range(1, 6):
        _post(newsletter, day, f"Post {day}", tags=f"[t{day}]")
    build(newsletter.root, now=NOW, jobs=1)
    before = _files(newsletter.dist)
    stamps = {p: p.stat().st_mtime_ns for p in newsletter.dist.rglob("*") if p.is_file()}
    _post(newsletter, 1, "Post 1", "The oldest post gets a new body.\n", tags="[t1]")
    build(newsletter.root, now=NOW, jobs=1)
    after = _files(newsletter.dist)
    changed = {path for path in after if before.get(path) != after[path]}
    assert "post-1/index.html" in changed and "email/post-1.html" in changed
    assert "post-5/index.html" not in changed and "email/post-5.html" not in changed
    rewritten = {p.relative_to(newsletter.dist).as_posix() for p in newsletter.dist.rglob("*")
                 if p.is_file() and stamps.get(p) != p.stat().st_mtime_ns}
    assert rewritten <= changed | {".newsletter-build"}


def test_a_fresh_build_after_one_edit_prepares_the_feed_html_of_that_issue_alone(newsletter, monkeypatch):
    for day in range(1, 6):
        _post(newsletter, day, f"Post {day}", f"Body of post {day}, with [a link](/post-1/).\n")
    build(newsletter.root, now=NOW, jobs=1)
    kept = sorted((newsletter.root / ".newsletter/cache/bodies").iterdir())
    prepared: list[str] = []
    real = feed_items._feed_html
    monkeypatch.setattr(feed_items, "_feed_html", lambda entry, url: prepared.append(entry.slug) or real(entry, url))
    feed_items._MADE.clear()  # as in a new process
    _post(newsletter, 3, "Post 3", "A new body for post 3.\n")
    build(newsletter.root, now=NOW, jobs=1)
    assert prepared == ["post-3"]
    assert "A new body for post 3." in (newsletter.dist / "feed.xml").read_text()
    # The edited post's old body and feed HTML went with its old version.
    assert len(list((newsletter.root / ".newsletter/cache/bodies").iterdir())) == len(kept)


def test_the_cache_can_be_deleted_at_any_time(newsletter):
    _post(newsletter, 1, "Post 1")
    build(newsletter.root, now=NOW, jobs=1)
    first = _files(newsletter.dist)
    shutil.rmtree(newsletter.root / ".newsletter")
    build(newsletter.root, now=NOW, jobs=1)
    assert _files(newsletter.dist) == first


def test_a_corrupt_cache_is_ignored(newsletter):
    _post(newsletter, 1, "Post 1")
    build(newsletter.root, now=NOW, jobs=1)
    first = _files(newsletter.dist)
    (newsletter.root / ".newsletter/cache/state.json").write_bytes(b"not JSON")
    build(newsletter.root, now=NOW, jobs=1)
    assert _files(newsletter.dist) == first


def test_a_deleted_output_folder_is_rebuilt_whole(newsletter):
    _post(newsletter, 1, "Post 1")
    build(newsletter.root, now=NOW, jobs=1)
    first = _files(newsletter.dist)
    shutil.rmtree(newsletter.dist)
    build(newsletter.root, now=NOW, jobs=1)
    assert _files(newsletter.dist) == first


def test_a_failed_incremental_build_changes_nothing(newsletter):
    for day in range(1, 4):
        _post(newsletter, day, f"Post {day}")
    build(newsletter.root, now=NOW, jobs=1)
    before = _files(newsletter.dist)
    _post(newsletter, 2, "Post 2 edited")
    newsletter.write("templates/email.html", "{{ entry.no_such_thing }}")
    result = newsletter.run("build", "--now", "2025-06-01T00:00+00:00")
    assert result.exit_code == 1
    assert _files(newsletter.dist) == before
    (newsletter.root / "templates/email.html").unlink()
    build(newsletter.root, now=NOW, jobs=1)
    assert _files(newsletter.dist)["post-2/index.html"] != before["post-2/index.html"]


def test_a_cache_held_between_builds_gives_what_a_cold_build_gives(newsletter, tmp_path, monkeypatch):
    """The preview holds its build cache between builds instead of reading it back; a failed build,
    or a cache deleted or rewritten behind its back, has it read the folder again."""
    root = newsletter.root
    for day in range(1, 5):
        _post(newsletter, day, f"Post {day}")
    held = HeldCache()
    build(root, now=NOW, jobs=1, held=held)
    reads: list[Path] = []
    real_load = BuildCache._load

    def counted(cache: BuildCache, namespace: str):
        if cache.folder == root / ".newsletter/cache":  # not the cold copies' builds
            reads.append(cache.folder)
        return real_load(cache, namespace)

    monkeypatch.setattr(BuildCache, "_load", counted)

    _post(newsletter, 2, "Post 2, edited", "A new body.\n")
    build(root, now=NOW, jobs=1, held=held)
    assert reads == []  # taken from memory
    assert _files(newsletter.dist) == _cold(root, tmp_path)

    _post(newsletter, 3, "Post 3, edited")
    newsletter.write("templates/email.html", "{{ entry.no_such_thing }}")
    with pytest.raises(TemplateError):
        build(root, now=NOW, jobs=1, held=held)
    (root / "templates/email.html").unlink()
    build(root, now=NOW, jobs=1, held=held)
    assert len(reads) == 1  # the failed build may have changed what was held
    assert _files(newsletter.dist) == _cold(root, tmp_path)

    shutil.rmtree(root / ".newsletter")
    _post(newsletter, 4, "Post 4, edited")
    build(root, now=NOW, jobs=1, held=held)
    assert _files(newsletter.dist) == _cold(root, tmp_path)

    (root / ".newsletter/cache/state.json").write_bytes(b"not JSON")
    _post(newsletter, 1, "Post 1, edited")
    build(root, now=NOW, jobs=1, held=held)
    assert len(reads) == 3
    assert _files(newsletter.dist) == _cold(root, tmp_path)


def test_saves_built_in_two_parts_give_what_a_cold_build_gives(newsletter, tmp_path):
    """The preview's builds put a saved issue's page and email in place before planning the rest:
    through edits that move it, rename it or come two at a time, each build ends as a cold one would."""
    root = newsletter.root
    for day in range(1, 7):
        _post(newsletter, day, f"Post {day}", tags="[notes]" if day % 2 else "[other]")

    def target(folder: Path) -> Target:
        return Target(folder / "preview", folder / ".newsletter/preview-cache", drafts=True, scheduled=True)

    def cold() -> dict[str, bytes]:
        copy = tmp_path / "cold-copy"
        shutil.rmtree(copy, ignore_errors=True)
        shutil.copytree(root, copy, ignore=shutil.ignore_patterns("dist", ".newsletter", "preview"))
        build(copy, now=NOW, jobs=1, target=target(copy))
        return _files(copy / "preview")

    held = HeldCache()
    build(root, now=NOW, jobs=1, target=target(root), held=held)
    steps = [  # the slugs saved, the edit, a text the first saved issue's email shows after it
        ("post-3", lambda: _post(newsletter, 3, "Post 3", "A new sentence.\n", tags="[notes]"), "A new sentence."),
        ("post-4", lambda: _post(newsletter, 4, "Post 4, re-titled", tags="[other]"), "Post 4, re-titled"),
        ("moved", lambda: newsletter.post("2025-04-02-post-2", 'title: "Post 2"\ndate: 2025-04-20\nslug: moved'),
         "April 20, 2025"),
        ("post-5 post-6", lambda: (_post(newsletter, 5, "Post 5", "Edited.\n", tags="[notes]"),
                                   _post(newsletter, 6, "Post 6", "Edited too.\n", tags="[other]")), "Edited."),
        ("post-9", lambda: _post(newsletter, 9, "A new post", "Brand new.\n"), "Brand new."),
    ]
    for slugs, step, shown in steps:
        before = set(_files(root / "preview"))
        step()
        seen = []
        build(root, now=NOW, jobs=1, target=target(root), held=held,
              early=lambda first: seen.append((first, (root / f"preview/email/{first.saved[0]}.html").read_text(),
                                               set(_files(root / "preview")))))
        [(first, email, in_place)] = seen
        assert first.saved == tuple(slugs.split())
        assert shown in email  # in place before the rest of the build was planned
        assert before <= in_place  # and the rest of the last build still there
        assert len(first.built) == len(list((root / "posts").glob("*.md")))
        assert _files(root / "preview") == cold(), f"after saving {slugs}"


def test_parallel_builds_give_the_same_bytes(newsletter, tmp_path, monkeypatch):
    monkeypatch.setattr(build_module, "PARALLEL_MINIMUM", 2)
    for day in range(1, 9):
        _post(newsletter, day, f"Post {day}", f"Body {day}\n\n```python\nprint({day})\n```\n")
    build(newsletter.root, now=NOW, jobs=2)
    parallel = _files(newsletter.dist)
    assert parallel == _cold(newsletter.root, tmp_path)


@pytest.mark.parametrize("jobs", [1, 2])
def test_warnings_survive_incremental_builds(newsletter, monkeypatch, jobs):
    monkeypatch.setattr(build_module, "PARALLEL_MINIMUM", 1)
    _post(newsletter, 1, "Post 1", "<iframe src='https://v.example/x'></iframe>\n\n![](static/x.png)\n")
    first = build(newsletter.root, now=NOW, jobs=jobs).warnings
    again = build(newsletter.root, now=NOW, jobs=jobs).warnings
    assert first == again
    assert any("iframe" in w.message for w in again) and any("alt text" in w.message for w in again)


def test_nothing_changed_still_notices_a_scheduled_post_coming_due(newsletter):
    _post(newsletter, 1, "Post 1")
    newsletter.post("2025-07-01-later", 'title: "Later"\ndate: 2025-07-01 09:00')
    build(newsletter.root, now=NOW, jobs=1)
    assert not (newsletter.dist / "later/index.html").exists()
    assert build(newsletter.root, now=NOW, jobs=1).made == 0
    due = datetime(2025, 7, 1, 9, 0, tzinfo=UTC)
    build(newsletter.root, now=due, jobs=1)
    assert (newsletter.dist / "later/index.html").exists()
    build(newsletter.root, now=NOW, jobs=1)  # back in time: scheduled again
    assert not (newsletter.dist / "later/index.html").exists()


def test_nothing_changed_is_not_trusted_when_the_output_was_replaced(newsletter):
    _post(newsletter, 1, "Post 1")
    build(newsletter.root, now=NOW, jobs=1)
    first = _files(newsletter.dist)
    (newsletter.dist / "post-1/index.html").write_text("tampered")
    (newsletter.dist / ".newsletter-build").write_text("someone else\n")
    build(newsletter.root, now=NOW, jobs=1)
    assert _files(newsletter.dist) == first


def test_a_rebuild_inlines_its_email_in_a_premailer_process_warmed_in_advance(newsletter, tmp_path, monkeypatch):
    for day in range(1, 4):
        _post(newsletter, day, f"Post {day}")
    build(newsletter.root, now=NOW, jobs=2)
    inlined_there = []
    inline_there = inline.WarmPremailer.inline
    monkeypatch.setattr(inline.WarmPremailer, "inline",
                        lambda self, html: inlined_there.append(html) or inline_there(self, html))
    _post(newsletter, 2, "Post 2 edited", "Now with **bold**, `code`, a table:\n\n| a | b |\n| - | - |\n| 1 | 2 |\n")
    build(newsletter.root, now=NOW, jobs=2)
    assert len(inlined_there) == 1 and "Post 2 edited" in inlined_there[0]
    assert _files(newsletter.dist) == _cold(newsletter.root, tmp_path)


def _png(width: int) -> bytes:
    """A one-pixel-high grey PNG *width* pixels wide."""
    header = struct.pack(">IIBBBBB", width, 1, 8, 0, 0, 0, 0)
    pixels = zlib.compress(b"\0" + b"\x80" * width)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


def test_an_image_replaced_under_static_is_measured_again_in_the_emails_that_show_it(newsletter, tmp_path):
    static = newsletter.root / "static"
    static.mkdir()
    (static / "photo.png").write_bytes(_png(800))
    (static / "raw.png").write_bytes(_png(500))
    _post(newsletter, 1, "Post 1", "![A photo](static/photo.png)\n")
    _post(newsletter, 2, "Post 2", 'Raw HTML:\n\n<img src="/static/raw.png" alt="raw">\n')
    _post(newsletter, 3, "Post 3", "No images here.\n")
    build(newsletter.root, now=NOW, jobs=1)
    assert 'width="552"' in (newsletter.dist / "email/post-1.html").read_text()
    untouched = (newsletter.dist / "email/post-3.html").stat().st_mtime_ns

    (static / "photo.png").write_bytes(_png(300))
    (static / "raw.png").write_bytes(_png(120))
    build(newsletter.root, now=NOW, jobs=1)
    assert 'width="300"' in (newsletter.dist / "email/post-1.html").read_text()
    assert 'width="120"' in (newsletter.dist / "email/post-2.html").read_text()
    assert _files(newsletter.dist) == _cold(newsletter.root, tmp_path)
    # Emails that show no image from static/ are not made again for it.
    assert (newsletter.dist / "email/post-3.html").stat().st_mtime_ns == untouched


def test_a_failed_rebuild_stops_its_premailer_process_and_restores_the_collector(newsletter, monkeypatch):
    _post(newsletter, 1, "Post 1")
    build(newsletter.root, now=NOW, jobs=2)
    started = []
    start = inline.WarmPremailer.__init__
    monkeypatch.setattr(inline.WarmPremailer, "__init__", lambda self, config: started.append(self) or start(self, config))
    _post(newsletter, 1, "Post 1 edited")
    newsletter.write("templates/email.html", "{{ entry.no_such_thing }}")
    with pytest.raises(Exception, match="no_such_thing"):
        build(newsletter.root, now=NOW, jobs=2)
    assert len(started) == 1 and not started[0].process.is_alive()
    assert gc.isenabled() and gc.get_freeze_count() == 0 and started[0].connection.closed


def test_a_build_stopped_while_moving_files_in_is_completed_by_the_next(newsletter, tmp_path, monkeypatch):
    from newsletter.build import tree

    for day in range(1, 6):
        _post(newsletter, day, f"Issue {day}")
    build(newsletter.root, jobs=1)
    _post(newsletter, 3, "Issue 3, edited", "A new body.\n")
    _post(newsletter, 7, "Issue 7")
    replaced = 0
    real_replace = tree.os.replace

    def stopping_replace(source: object, target: object) -> None:
        nonlocal replaced
        moving_in = Path(str(target)).parent.is_relative_to(newsletter.dist) and not str(target).endswith("build")
        replaced += moving_in
        if moving_in and replaced == 3:  # as if the build were killed between two renames into dist/
            raise KeyboardInterrupt
        real_replace(source, target)

    monkeypatch.setattr(tree.os, "replace", stopping_replace)
    with pytest.raises(KeyboardInterrupt):
        build(newsletter.root, jobs=1)
    monkeypatch.setattr(tree.os, "replace", real_replace)
    assert (newsletter.dist / ".newsletter-build").read_text().startswith("unfinished")

    result = build(newsletter.root, jobs=1)  # recognised as ours, and written whole again
    assert result.made > 0
    assert _files(newsletter.dist) == _cold(newsletter.root, tmp_path)
    assert not list(newsletter.root.glob(".dist.*"))


def test_staging_folders_left_by_killed_builds_are_removed(newsletter):
    _post(newsletter, 1, "Issue 1")
    left = newsletter.root / ".dist.new-999999999"
    (left / "email").mkdir(parents=True)
    (left / "email" / "x.html").write_text("half")
    build(newsletter.root, jobs=1)
    assert not left.exists()
    assert (newsletter.dist / "index.html").is_file()
