"""dist/ is always a whole build: edits by hand are undone, and a build killed at any point is mended."""

from __future__ import annotations


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
