"""Hostile or odd input: nothing a writer puts in a post or the config cuts the output or crashes a command."""

from __future__ import annotations

import errno
import json
import subprocess
from pathlib import Path

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


# --- one-line errors, never a traceback --------------------------------------------------------


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\x85"])
def test_a_line_separator_in_a_title_stays_out_of_the_subject(newsletter, separator):
    newsletter.post("2025-04-01-day", f'title: "Day{separator}two"\ndate: 2025-04-01')
    result = newsletter.run("build")
    assert result.exit_code == 0, result.output
    eml = (newsletter.dist / "email/day.eml").read_text(encoding="utf-8")
    assert "Subject: Day two\n" in eml


@pytest.mark.parametrize("setting, value, message", [
    ("[email]\nfrom", '"Jana\\u2028Novak <news@example.com>"', "email.from: must be a single line"),
    ("[email]\nfrom", '"Jana\\u0085Novak <news@example.com>"', "email.from: must be a single line"),
    ("[email]\nreply_to", '"a@example.com\\u2029"', "email.reply_to: must be a single line"),
    ("[site]\nurl", '"https://example.com/\\u0007x/"', "site.url: must not hold control characters (U+0007)"),
])
def test_config_text_with_line_breaks_or_control_characters_is_refused(newsletter, setting, value, message):
    section, key = setting.split("\n")
    text = (newsletter.root / "newsletter.toml").read_text(encoding="utf-8")
    if section == "[site]":
        text = text.replace('url = "https://example.com/letter/"', f"{key} = {value}")
    else:
        text += f'{section}\nfrom = "News <news@example.com>"\n' if key != "from" else f"{section}\n"
        text += f"{key} = {value}\n"
    newsletter.write("newsletter.toml", text)
    newsletter.post("2025-04-01-day", "title: Day\ndate: 2025-04-01")
    outcome = run_limited(newsletter.root, "build")
    assert outcome.one_line_error, outcome.text
    assert message in outcome.err and "newsletter.toml:" in outcome.err


def test_toml_nested_a_thousand_deep_is_a_one_line_error(newsletter):
    config = newsletter.root / "newsletter.toml"
    config.write_text(config.read_text() + "[feeds]\nlimit = " + "[" * 1000 + "]" * 1000 + "\n")
    outcome = run_limited(newsletter.root, "build")
    assert outcome.one_line_error, outcome.text[-2000:]
    assert "newsletter.toml: values are nested too deep to read" in outcome.err
    config.write_text(config.read_text().split("[feeds]")[0])
    newsletter.write("posts/2025-04-01-deep.md", "+++\ntitle = \"Deep\"\ndate = 2025-04-01\nx = "
                     + "[" * 1000 + "]" * 1000 + "\n+++\nBody\n")
    outcome = run_limited(newsletter.root, "build")
    assert outcome.one_line_error, outcome.text[-2000:]
    assert "posts/2025-04-01-deep.md:2: front matter values are nested too deep to read" in outcome.err


def test_new_with_a_very_long_title_makes_a_short_file_name(newsletter):
    title = "word " * 60
    result = newsletter.run("new", title, "--date", "2025-04-01")
    assert result.exit_code == 0, result.output
    path = newsletter.root / result.output.strip()
    assert path.name == "2025-04-01-" + "-".join(["word"] * 12) + ".md"
    assert path.read_text(encoding="utf-8").startswith(f'---\ntitle: "{title}"')


def test_a_slug_or_tag_too_long_for_a_file_name_names_the_post_and_line(newsletter):
    newsletter.post("2025-04-01-long", f"title: Long\ndate: 2025-04-01\nslug: {'a' * 300}")
    newsletter.post("2025-04-02-tag", f"title: Tag\ndate: 2025-04-02\ntags: [ok, {'b' * 300}]")
    outcome = run_limited(newsletter.root, "build")
    assert outcome.one_line_error, outcome.text
    assert "posts/2025-04-01-long.md:4: slug: the slug is 300 characters long" in outcome.err
    assert "posts/2025-04-02-tag.md:4: tags: tag 'bbbb" in outcome.err and "is too long" in outcome.err
    assert ".dist.new" not in outcome.err


@pytest.mark.parametrize("inside", ["static", "static/site", "posts/out", "templates"])
def test_an_output_folder_inside_an_input_folder_is_refused(newsletter, inside):
    newsletter.post("2025-04-01-day", "title: Day\ndate: 2025-04-01")
    newsletter.write("static/logo.txt", "logo")
    outcome = run_limited(newsletter.root, "build", "--out", str(newsletter.root / inside))
    assert outcome.one_line_error, outcome.text
    assert f"the output folder cannot be inside {inside.split('/')[0]}/" in outcome.err
    assert not (newsletter.root / inside / "index.html").exists()


def test_init_quotes_a_title_with_backslashes_and_quotes_and_refuses_a_newline(tmp_path):
    from conftest import Newsletter

    title = 'C:\\new\\today "quoted" Žluťoučký'
    letter = Newsletter(tmp_path / "letter")
    result = letter.run("init", str(letter.root), "--title", title)
    assert result.exit_code == 0, result.output
    assert letter.run("build").exit_code == 0
    index = (letter.dist / "index.html").read_text(encoding="utf-8")
    assert "C:\\new\\today &#34;quoted&#34;" in index or 'C:\\new\\today "quoted"' in index
    welcome = next((letter.dist / "email").glob("*.eml")).read_text(encoding="utf-8")
    assert "Welcome to C:\\new\\today" in welcome
    refused = Newsletter(tmp_path / "other").run("init", str(tmp_path / "other"), "--title", "One\nTwo")
    assert refused.exit_code == 1 and "--title must be one line" in refused.output
    assert not (tmp_path / "other" / "newsletter.toml").exists()


@pytest.fixture
def small_disk(newsletter):
    """A 256 KB file system mounted at the newsletter's .newsletter/ (root only), unmounted afterwards."""
    state = newsletter.root / ".newsletter"
    state.mkdir(parents=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(state)],
                             capture_output=True, check=False)
    if mounted.returncode != 0:
        pytest.skip("mounting a small file system needs root")
    yield state
    subprocess.run(["umount", "-l", str(state)], check=False)


def _fill(folder: Path) -> None:
    with (folder / "filler").open("wb", buffering=0) as stream:
        try:
            while True:
                stream.write(b"\0" * 1024)
        except OSError as error:
            assert error.errno == errno.ENOSPC


def test_a_full_disk_under_the_cache_fails_the_build_clearly_or_only_warns(newsletter, small_disk):
    newsletter.post("2025-04-01-day", "title: Day\ndate: 2025-04-01", "Some text.\n" * 2000)
    _fill(small_disk)
    outcome = run_limited(newsletter.root, "build")
    assert outcome.one_line_error, outcome.text[-2000:]
    assert "cannot write the build cache: No space left on device" in outcome.err
    assert not newsletter.dist.exists()
    (small_disk / "filler").unlink()
    assert run_limited(newsletter.root, "build").code == 0
    built = newsletter.snapshot()
    # Bodies are cached; now the record of the next build does not fit.
    newsletter.write("static/new.txt", "a new file")
    _fill(small_disk)
    outcome = run_limited(newsletter.root, "build")
    assert outcome.code == 0, outcome.text[-2000:]
    assert "warning:" in outcome.err and "cannot write the build cache: No space left on device" in outcome.err
    assert newsletter.snapshot() == {**built, "static/new.txt": b"a new file",
                                     ".newsletter-build": newsletter.snapshot()[".newsletter-build"]}
    (small_disk / "filler").unlink()
    newsletter.write("static/new.txt", "changed")
    assert run_limited(newsletter.root, "build").code == 0
    assert (newsletter.dist / "static/new.txt").read_text() == "changed"


@pytest.mark.parametrize("title", ['"\\u2028"', '"   "', '"\\u0007\\u2029"'])
def test_a_title_of_only_spaces_line_breaks_or_controls_is_an_error(newsletter, title):
    newsletter.post("2025-04-01-day", f"title: {title}\ndate: 2025-04-01")
    outcome = run_limited(newsletter.root, "build")
    assert outcome.one_line_error, outcome.text[-2000:]
    assert "posts/2025-04-01-day.md:2: title: has no text to show; write a title" in outcome.err
