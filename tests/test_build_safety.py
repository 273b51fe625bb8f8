"""dist/ is always a whole build: edits by hand are undone, and a build killed at any point is mended."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import pytest


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
