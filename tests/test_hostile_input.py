"""Hostile or odd input: nothing a writer puts in a post or the config cuts the output or crashes a command."""

from __future__ import annotations

import json

import pytest

from limits import run_limited
from newsletter.render.tree import Fragment


def _built(newsletter, body: str) -> dict[str, str]:
    newsletter.post("2025-04-01-day", "title: Day\ndate: 2025-04-01", body)
    result = newsletter.run("build")
    assert result.exit_code == 0, result.output
    return {name: data.decode("utf-8") for name, data in newsletter.snapshot().items()
            if name.startswith(("email/", "day/", "feed", "rss"))}


def test_an_embed_removed_from_the_email_keeps_what_follows_it(newsletter):
    files = _built(newsletter, 'Before the clip.\n\n<embed src="clip.swf">\n\nAfter the clip.\n\n## Closing\n\nThe end.\n')
    for name in ("email/day.html", "email/day.txt", "feed.xml", "rss.xml", "day/index.html"):
        assert "After the clip." in files[name] and "The end." in files[name], name
    assert "The end." in json.loads(files["feed.json"])["items"][0]["content_html"]
    assert "<embed" not in files["email/day.html"]


def test_void_elements_libxml2_opens_hold_nothing():
    html = ('<p>a <embed src="x"> b <b>c</b> d</p><video><source src="v.mp4"><track src="t.vtt">after</video>'
            '<p>x<wbr>y</p><picture><source srcset="a.webp"><img src="b.png" alt="B"></picture>')
    root = Fragment(html).root
    for element in root.iter("embed", "source", "track", "wbr"):
        assert element.text is None and len(element) == 0
    assert [image.getparent().tag for image in root.iter("img")] == ["picture"]
    assert root.find("p").text_content() == "a  b c d"


_ALIAS_BOMB = "".join(
    f"{name}: &{name} [{', '.join([f'*{previous}'] * 9)}]\n"
    for previous, name in zip("abcdefgh", "bcdefghi")
)


@pytest.mark.parametrize("command", ["build", "check", "status"])
def test_a_yaml_alias_bomb_is_a_short_error_in_bounded_time_and_memory(newsletter, command):
    newsletter.post("2025-04-01-bomb", 'title: Bomb\ndate: 2025-04-01\na: &a ["lol", "lol", "lol", "lol", "lol"]\n'
                    f"{_ALIAS_BOMB}summary: *i\ntags: *i")
    outcome = run_limited(newsletter.root, command)
    assert outcome.one_line_error, outcome.err[-2000:]
    assert "summary: expected text, got [[" in outcome.text and "posts/2025-04-01-bomb.md:13:" in outcome.text
    assert max(len(line) for line in outcome.text.splitlines()) < 400


def test_messages_quote_long_values_cut_short(newsletter):
    newsletter.post("2025-04-01-long", f"title: Long\ndate: 2025-04-01\nslug: {'x' * 100_000}!")
    result = newsletter.run("build")
    assert result.exit_code == 1
    line = next(line for line in result.output.splitlines() if "slug:" in line)
    assert "is not a safe slug" in line and len(line) < 300


@pytest.mark.parametrize("body", [
    "<div>" * 300 + "deep" + "</div>" * 300 + "\n\nAfter.\n",
    "> " * 300 + "deep\n\nAfter.\n",
    "<div>" * 120 + "deep" + "</div>" * 120 + "\n\nAfter.\n",
])
@pytest.mark.parametrize("command", ["build", "check"])
def test_content_nested_too_deep_is_an_error_not_a_silent_loss(newsletter, command, body):
    newsletter.post("2025-04-01-deep", "title: Deep\ndate: 2025-04-01", body)
    outcome = run_limited(newsletter.root, command)
    assert outcome.one_line_error, outcome.text[-2000:]
    assert "posts/2025-04-01-deep.md:5:" in outcome.text and "more than 100 levels deep" in outcome.text


def test_content_nested_a_little_less_deep_is_built_whole(newsletter):
    files = _built(newsletter, "<div>" * 90 + "deep" + "</div>" * 90 + "\n\nAfter.\n")
    for name in ("email/day.html", "email/day.txt", "day/index.html", "feed.xml"):
        assert "deep" in files[name] and "After." in files[name], name
