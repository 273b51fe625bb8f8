"""dist/ is always a whole build: edits by hand are undone, and a build killed at any point is mended."""

from __future__ import annotations

import os
import pickle
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
KILLS = 9


def _letter(newsletter) -> dict[str, bytes]:
    for day in range(1, 4):
        newsletter.post(f"2025-04-0{day}-day-{day}", f"title: Day {day}\ndate: 2025-04-0{day}\ntags: [talks]")
    newsletter.write("static/logo.txt", "logo")
    assert newsletter.run("build").exit_code == 0
    return newsletter.snapshot()


def test_outputs_deleted_or_edited_in_dist_are_restored_by_the_next_build(newsletter):
    built = _letter(newsletter)
    (newsletter.dist / "day-2/index.html").unlink()
    (newsletter.dist / "email/day-1.txt").write_text("edited by hand")
    (newsletter.dist / "static/logo.txt").write_text("a different logo!")
    (newsletter.dist / "tags/talks/feed.xml").write_bytes(b"")
    result = newsletter.run("build")
    assert result.exit_code == 0, result.output
    assert newsletter.snapshot() == built
    assert "4 remade" in result.output


def test_an_edit_in_dist_is_restored_when_an_input_changed_too(newsletter):
    built = _letter(newsletter)
    (newsletter.dist / "feed.json").write_text("{}")
    newsletter.write("static/more.txt", "more")
    assert newsletter.run("build").exit_code == 0
    after = newsletter.snapshot()
    assert after["feed.json"] == built["feed.json"] and after["static/more.txt"] == b"more"


class _Planted:
    """Unpickling this runs a shell command that leaves a file behind."""

    def __init__(self, witness: Path) -> None:
        self.witness = witness

    def __reduce__(self):
        return os.system, (f"touch {self.witness}",)


def test_a_planted_pickle_in_the_cache_never_runs(newsletter, tmp_path):
    built = _letter(newsletter)
    cache = newsletter.root / ".newsletter/cache"
    witness = tmp_path / "ran"
    planted = pickle.dumps(_Planted(witness))
    for name in ("quick.pickle", "state.pickle", "quick.json", "state.json"):
        (cache / name).write_bytes(planted)
    newsletter.write("static/logo.txt", "new logo")
    result = newsletter.run("build")
    assert result.exit_code == 0, result.output
    assert not witness.exists()
    after = newsletter.snapshot()
    assert after == {**built, "static/logo.txt": b"new logo", ".newsletter-build": after[".newsletter-build"]}


@pytest.mark.parametrize("damage", [
    b"", b"{", b"[1, 2]", b'{"\\u0000": "os.system", "command": "true"}', b'{"\\u0000": "Post", "nonsense": 1}',
    b'{"\\u0000": "datetime", "v": "2025-01-01T00:00", "zone": "../../etc/passwd", "fold": 0}',
    b"\xff\xfe not text", b"[" * 100_000,
])
def test_a_cache_that_does_not_read_back_is_dropped_and_rebuilt(newsletter, damage):
    built = _letter(newsletter)
    cache = newsletter.root / ".newsletter/cache"
    for name in ("quick.json", "state.json"):
        (cache / name).write_bytes(damage)
    result = newsletter.run("build")
    assert result.exit_code == 0, result.output
    assert newsletter.snapshot() == built
    assert "remade" in result.output
    assert "nothing changed" in newsletter.run("build").output


def _inputs(newsletter, version: str) -> None:
    """Two versions of one newsletter: B edits a post, adds one, drops one and changes a static file."""
    for day in range(1, 6):
        newsletter.post(f"2025-04-0{day}-day-{day}", f"title: Day {day}\ndate: 2025-04-0{day}\ntags: [talks]",
                        f"Talk {day}.\n\n" * 40)
    newsletter.write("static/logo.txt", "logo")
    if version == "B":
        newsletter.post("2025-04-02-day-2", "title: Day 2, revised\ndate: 2025-04-02\ntags: [talks, new]",
                        "Revised.\n\n" * 50)
        newsletter.post("2025-04-06-day-6", "title: Day 6\ndate: 2025-04-06", "New day.\n")
        (newsletter.root / "posts/2025-04-05-day-5.md").unlink()
        newsletter.write("static/logo.txt", "a new logo")
    else:
        (newsletter.root / "posts/2025-04-06-day-6.md").unlink(missing_ok=True)


def _build(newsletter) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "newsletter", "--dir", str(newsletter.root), "build"],
                          capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(SRC)}, check=False)


def _staging(newsletter) -> bool:
    return any(newsletter.root.glob(".dist.new-*"))


def _unfinished(newsletter) -> bool:
    try:
        return (newsletter.dist / ".newsletter-build").read_bytes().startswith(b"unfinished")
    except OSError:
        return False


def _start_build(newsletter) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "newsletter", "--dir", str(newsletter.root), "build"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "PYTHONPATH": str(SRC)})


def _when(build: subprocess.Popen[bytes], condition) -> float:
    """Wait until *condition* holds or the build ends; the time it took."""
    started = time.monotonic()
    while build.poll() is None and not condition():
        time.sleep(0.001)
    return time.monotonic() - started


def test_a_build_killed_at_any_point_leaves_the_old_build_or_the_new_one(newsletter, tmp_path):
    """Kills land anywhere from the start of the build to its end, many while it makes and moves files."""
    rng = random.Random(19)
    _inputs(newsletter, "A")
    assert _build(newsletter).returncode == 0
    old = newsletter.snapshot()
    saved = tmp_path / "saved"
    shutil.copytree(newsletter.dist, saved / "dist")
    shutil.copytree(newsletter.root / ".newsletter", saved / "state")

    def restore() -> None:
        for name, kept in (("dist", newsletter.dist), ("state", newsletter.root / ".newsletter")):
            shutil.rmtree(kept)
            shutil.copytree(saved / name, kept)

    _inputs(newsletter, "B")
    build = _start_build(newsletter)
    to_staging = _when(build, lambda: _staging(newsletter))
    making = _when(build, lambda: False)
    assert build.returncode == 0
    new = newsletter.snapshot()
    assert new != old
    seen = set()
    for kill in range(KILLS):
        restore()
        assert newsletter.snapshot() == old
        build = _start_build(newsletter)
        if kill % 3 == 0:  # anywhere, from the start
            time.sleep(rng.uniform(0, to_staging + making))
        elif kill % 3 == 1:  # while it makes and stages the outputs
            _when(build, lambda: _staging(newsletter))
            time.sleep(rng.uniform(0, making))
        else:  # while it moves them into place
            _when(build, lambda: _unfinished(newsletter))
            time.sleep(rng.uniform(0, 0.005))
        build.kill()
        build.wait()
        left = newsletter.snapshot()
        unfinished = left.get(".newsletter-build", b"").startswith(b"unfinished")
        seen.add("old" if left == old else "new" if left == new else "unfinished" if unfinished else "mixed")
        assert left in (old, new) or unfinished, sorted(
            name for name in set(left) | set(new) if left.get(name) != new.get(name))
        again = _build(newsletter)
        assert again.returncode == 0, again.stderr
        assert newsletter.snapshot() == new
        assert not list(newsletter.root.glob(".dist.*")), "a staging folder was left behind"
    assert "unfinished" in seen or "new" in seen, "no kill landed while files were moved in"
