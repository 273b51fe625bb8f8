"""Posts: front matter, dates, slugs, text clean-up, and the one-line errors for every kind of bad post."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from newsletter.config import load_config
from newsletter.errors import PostError
from newsletter.posts import load_posts, read_post, tag_slug

UTC = UTC
NAME = "2025-04-01-day-two"
FILE = f"posts/{NAME}.md"


def write_raw(newsletter, name: str, text: str | bytes):
    """Write posts/<name>.md exactly as given (no dedent, no newline translation)."""
    path = newsletter.root / "posts" / f"{name}.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return path


def read(newsletter, text: str | bytes, name: str = NAME):
    """Read one post; return it with its errors and warnings as the lines a user sees."""
    path = write_raw(newsletter, name, text)
    post, errors, warnings = read_post(path, load_config(newsletter.root))
    return post, [str(e) for e in errors], [str(w) for w in warnings]


def one_error(newsletter, text: str | bytes, name: str = NAME) -> str:
    post, errors, _ = read(newsletter, text, name)
    assert post is None
    assert len(errors) == 1, errors
    return errors[0]


def set_timezone(newsletter, zone: str) -> None:
    path = newsletter.root / "newsletter.toml"
    path.write_text(re.sub(r'(?m)^timezone = .*$', f'timezone = "{zone}"', path.read_text()))


# --- what loads -------------------------------------------------------------------------------------

def test_yaml_front_matter_with_every_field(newsletter):
    post, errors, warnings = read(newsletter, """\
---
title: "Rejekts 2025 — Day Two"
date: 2025-04-01 09:30
summary: Talks about platform teams.
tags: [kubernetes, Conferences, conferences]
slug: rejekts-day-two
draft: true
author: Jana Novak
image: static/hall.jpg
preheader: Day two of Rejekts
updated: 2025-04-02
---

# Heading

Text.
""")
    assert errors == [] and warnings == []
    assert post.title == "Rejekts 2025 — Day Two"
    assert post.date == datetime(2025, 4, 1, 7, 30, tzinfo=UTC)
    assert post.updated == datetime(2025, 4, 1, 22, 0, tzinfo=UTC)
    assert (post.summary, post.author, post.image, post.preheader) == (
        "Talks about platform teams.", "Jana Novak", "static/hall.jpg", "Day two of Rejekts")
    assert post.tags == ("kubernetes", "Conferences")
    assert post.slug == "rejekts-day-two"
    assert post.draft is True
    assert post.body.strip() == "# Heading\n\nText."
    assert post.display_path == FILE


def test_toml_front_matter(newsletter):
    post, errors, _ = read(newsletter, """\
+++
title = "Day two"
date = 2025-04-01T09:30:00-04:00
tags = ["kubernetes"]
draft = false
+++

Body text.
""")
    assert errors == []
    assert (post.title, post.tags, post.draft, post.slug) == ("Day two", ("kubernetes",), False, "day-two")
    assert post.date == datetime(2025, 4, 1, 13, 30, tzinfo=UTC)
    assert post.body.strip() == "Body text."


@pytest.mark.parametrize("fence, value, instant", [
    ("---", "2025-04-01", datetime(2025, 3, 31, 22, 0)),               # midnight, summer time (+02:00)
    ("---", "2025-01-15", datetime(2025, 1, 14, 23, 0)),               # midnight, winter time (+01:00)
    ("---", "2025-04-01 09:30", datetime(2025, 4, 1, 7, 30)),
    ("---", "2025-04-01 09:30:00", datetime(2025, 4, 1, 7, 30)),
    ("---", "2025-04-01T09:30:00", datetime(2025, 4, 1, 7, 30)),
    ("---", '"2025-04-01T09:30"', datetime(2025, 4, 1, 7, 30)),
    ("---", "2025-04-01T09:30:00+05:00", datetime(2025, 4, 1, 4, 30)),
    ("---", "2025-04-01T09:30:00Z", datetime(2025, 4, 1, 9, 30)),
    ("---", '"2025-04-01T09:30-07:00"', datetime(2025, 4, 1, 16, 30)),
    ("+++", "2025-04-01", datetime(2025, 3, 31, 22, 0)),
    ("+++", "2025-04-01T09:30:00", datetime(2025, 4, 1, 7, 30)),
    ("+++", "2025-04-01T09:30:00+05:00", datetime(2025, 4, 1, 4, 30)),
    ("+++", '"2025-04-01 09:30"', datetime(2025, 4, 1, 7, 30)),
])
def test_dates_become_the_right_utc_instant(newsletter, fence, value, instant):
    sep = ":" if fence == "---" else " ="
    post, errors, _ = read(newsletter, f'{fence}\ntitle{sep} "T"\ndate{sep} {value}\n{fence}\nText.\n')
    assert errors == []
    assert post.date.tzinfo is not None
    assert post.date.astimezone(UTC) == instant.replace(tzinfo=UTC)


def test_naive_dates_follow_the_configured_timezone(newsletter):
    text = "---\ntitle: T\ndate: 2025-04-01 09:00\n---\n"
    set_timezone(newsletter, "Asia/Tokyo")
    assert read(newsletter, text)[0].date.astimezone(UTC) == datetime(2025, 4, 1, 0, 0, tzinfo=UTC)
    set_timezone(newsletter, "America/New_York")
    assert read(newsletter, text)[0].date.astimezone(UTC) == datetime(2025, 4, 1, 13, 0, tzinfo=UTC)


def test_draft_and_scheduled_status(newsletter):
    post = read(newsletter, "---\ntitle: T\ndate: 2025-04-01 09:00\n---\n")[0]
    due = datetime(2025, 4, 1, 7, 0, tzinfo=UTC)
    assert post.draft is False
    assert post.status(due - timedelta(seconds=1)) == "scheduled"
    assert post.status(due) == "published"
    draft = read(newsletter, "---\ntitle: T\ndate: 2025-04-01 09:00\ndraft: true\n---\n")[0]
    assert draft.status(due + timedelta(days=365)) == "draft"


@pytest.mark.parametrize("name, slug_line, title, expected", [
    ("2025-04-01-day-two", "", "Anything", "day-two"),
    ("2025-04-01-day-two", "slug: rejekts-2025\n", "Anything", "rejekts-2025"),
    ("2025-04-01", "", "Žluťoučký kůň — Day 2!", "zlutoucky-kun-day-2"),
    ("Notes From KubeCon", "", "Anything", "notes-from-kubecon"),
    ("2025-04-01-Déjà_Vu", "", "Anything", "deja-vu"),
])
def test_where_the_slug_comes_from(newsletter, name, slug_line, title, expected):
    post, errors, _ = read(newsletter, f'---\ntitle: "{title}"\ndate: 2025-04-01\n{slug_line}---\n', name)
    assert errors == []
    assert post.slug == expected


def test_posts_load_oldest_first_with_their_warnings(newsletter):
    write_raw(newsletter, "b", "---\ntitle: B\ndate: 2025-05-01\n---\n")
    write_raw(newsletter, "a", "---\ntitle: A\ndate: 2025-06-01\n---\n")
    write_raw(newsletter, "c", "---\ntitle: C\ndate: 2025-04-01\n---\nBell\x07.\n")
    (newsletter.root / "posts" / "notes.txt").write_text("not a post")
    posts, warnings = load_posts(load_config(newsletter.root))
    assert [post.slug for post in posts] == ["c", "b", "a"]
    assert [str(w) for w in warnings] == ["posts/c.md:5: warning: load-warning: removed control characters that feeds and mail cannot carry"]


# --- encodings, line endings and line numbers -----------------------------------------------------

@pytest.mark.parametrize("bom", ["", "\ufeff"], ids=["no-bom", "bom"])
@pytest.mark.parametrize("newline", ["\n", "\r\n"], ids=["lf", "crlf"])
def test_bom_and_crlf(newsletter, bom, newline):
    lines = ["---", "title: Čau", "date: 2025-04-01", "---", "", "First line.", "Second line.", ""]
    post, errors, _ = read(newsletter, bom + newline.join(lines))
    assert errors == []
    assert post.title == "Čau"
    assert "\r" not in post.body and post.body.strip() == "First line.\nSecond line."
    broken = [*lines[:3], "tittle: typo", *lines[3:]]
    message = one_error(newsletter, bom + newline.join(broken))
    assert message.startswith(f"{FILE}:4: tittle: unknown key (did you mean 'title'?)")


@pytest.mark.parametrize("text", [
    "---\ntitle: T\ndate: 2025-04-01\n---\nBody\n\nMore\n",
    "---\ntitle: T\ndate: 2025-04-01\n---\n\nBody\n",
    "---\ntitle: T\ndate: 2025-04-01\n---\n\n\n\nBody\n",
    "---\n\ntitle: T\ndate: 2025-04-01\n---   \n\n    code\n",
    "+++\ntitle = 'T'\ndate = 2025-04-01\n+++\n\nBody\n",
    "---\ntitle: T\ndate: 2025-04-01\n---\n\nBody\n\n---\n\nAfter a rule\n",
])
def test_body_line_points_at_the_body_in_the_file(newsletter, text):
    """Warnings about the body (an image without alt, say) count lines from body_line."""
    post, errors, _ = read(newsletter, text)
    assert errors == []
    file_lines = text.split("\n")
    assert post.body.split("\n") == file_lines[post.body_line - 1:]


def test_a_key_inside_a_block_value_is_not_taken_for_the_key(newsletter):
    message = one_error(newsletter, "---\nsummary: |\n  date: in the text\ntitle: T\ndate: April 1\n---\n")
    assert message.startswith(f"{FILE}:5: date: ")


# --- one line per problem ---------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["April 1", "2025-13-01", "2025-02-30", "2025-02-30 10:00:00", "20250401",
                                   "[2025, 4, 1]", "yesterday at 9"])
def test_a_bad_date(newsletter, value):
    message = one_error(newsletter, f"---\ntitle: T\ndate: {value}\n---\n")
    assert message.startswith(f"{FILE}:3: date: expected YYYY-MM-DD or an ISO datetime like 2025-04-01 09:30, got ")


def test_a_bad_date_in_toml(newsletter):
    message = one_error(newsletter, '+++\ntitle = "T"\ndate = "April 1"\n+++\n')
    assert message == (f"{FILE}:3: date: expected YYYY-MM-DD or an ISO datetime like 2025-04-01 09:30, "
                       "got 'April 1'")


@pytest.mark.parametrize("front, expected", [
    ("date: 2025-04-01", ["1: title: is required; add 'title: ...' to the front matter"]),
    ("title: T", ["1: date: is required; add 'date: ...' to the front matter"]),
    ("title:\ndate: 2025-04-01", ["2: title: is required"]),
    ("title: ''\ndate: ''", ["2: title: is required", "3: date: is required"]),
    ("author: Jana", ["1: title: is required", "1: date: is required"]),
])
def test_a_missing_required_field(newsletter, front, expected):
    post, errors, _ = read(newsletter, f"---\n{front}\n---\nText\n")
    assert post is None
    assert len(errors) == len(expected)
    for error, start in zip(errors, expected):
        assert error.startswith(f"{FILE}:{start}")


@pytest.mark.parametrize("line, expected", [
    ("title: 42", "title: expected text, got 42; put it in quotes"),
    ("title: [a, b]", "title: expected text, got ['a', 'b']; put it in quotes"),
    ("summary: {a: 1}", "summary: expected text, got {'a': 1}; put it in quotes"),
    ("author: true", "author: expected text, got True; put it in quotes"),
    ("draft: maybe", "draft: expected true or false, got 'maybe'"),
    ("draft: 1", "draft: expected true or false, got 1"),
    ("tags: {kubernetes: 1}", "tags: expected a list of words, like [kubernetes, conferences]"),
    ("tags: [1, 2]", "tags: expected a list of words, like [kubernetes, conferences]"),
    ("tags: ['!!!']", "tags: tag '!!!' has no letters or digits to make a page name from"),
    ("updated: soon", "updated: expected YYYY-MM-DD or an ISO datetime like 2025-04-01 09:30, got 'soon'"),
    ("feed: both", "feed: expected one of full, summary, got 'both'"),
])
def test_a_mistyped_field(newsletter, line, expected):
    text = f"---\ndate: 2025-04-01\n{line}\n---\nText\n"
    if not line.startswith("title"):
        text = text.replace("---\n", "---\ntitle: T\n", 1)
    number = text.split("\n").index(line) + 1
    assert one_error(newsletter, text) == f"{FILE}:{number}: {expected}"


@pytest.mark.parametrize("fence, front", [
    ("---", "title: T\ndate: 2025-04-01 09:30\nupdated: 2025-03-31"),
    ("+++", 'title = "T"\ndate = 2025-04-01T09:30:00+02:00\nupdated = 2025-04-01T09:29:00+02:00'),
])
def test_updated_before_date_is_refused(newsletter, fence, front):
    message = one_error(newsletter, f"{fence}\n{front}\n{fence}\nText\n")
    assert message.startswith(f"{FILE}:4: updated: 2025-")
    assert "is before the issue's date 2025-04-01T09:30:00+02:00" in message
    assert "give a later time or remove it" in message


def test_updated_equal_to_date_is_accepted(newsletter):
    post, errors, _ = read(newsletter, "---\ntitle: T\ndate: 2025-04-01\nupdated: 2025-04-01\n---\nText\n")
    assert errors == [] and post is not None and post.updated == post.date


def test_an_unknown_key_suggests_the_near_one(newsletter):
    post, errors, _ = read(newsletter, "---\ndate: 2025-04-01\ntittle: Day two\n---\n")
    assert post is None
    assert errors[0].startswith(f"{FILE}:3: tittle: unknown key (did you mean 'title'?); known keys: title, date,")
    assert errors[1] == f"{FILE}:1: title: is required; add 'title: ...' to the front matter"


def test_an_unknown_key_with_nothing_near(newsletter):
    message = one_error(newsletter, "---\ntitle: T\ndate: 2025-04-01\ncolour: red\n---\n")
    assert message.startswith(f"{FILE}:4: colour: unknown key; known keys: title, date, summary")


@pytest.mark.parametrize("text, expected", [
    ("---\ntitle: T\ndate: 2025-04-01\nsummary: a: b\n---\n",
     "4: front matter is not valid YAML: mapping values are not allowed"),
    ("---\ntitle: T\n  date: 2025-04-01\n---\n", "3: front matter is not valid YAML: "),
    ("---\ntitle: T\ndate: 2025-04-01\ntags: [a, b\nsummary: x\n---\n",
     "4: front matter is not valid YAML: did not find expected ',' or ']' at line 5, while parsing a flow sequence "
     "that starts on this line"),
    ("---\n- title\n- date\n---\n", "2: front matter must be a set of 'key: value' lines"),
    ("---\ntitle: T\ndate: 2025-04-01\nsummary: Bad\x7f\n---\n",
     "4: front matter is not valid YAML: character U+007F is not allowed; delete it"),
    ('+++\ntitle = "T\ndate = 2025-04-01\n+++\n', "2: front matter is not valid TOML: "),
    ("+++\ntitle = 'T'\ndate = 2025-13-01\n+++\n", "3: front matter is not valid TOML: "),
    ("---\ntitle: T\ndate: 2025-04-01\n\nNo closing fence.\n", "1: front matter is not closed: add a line '---' after it"),
    ("+++\ntitle = 'T'\n", "1: front matter is not closed: add a line '+++' after it"),
    ("title: T\ndate: 2025-04-01\n", "1: no front matter: start the file with a '---' line"),
    ("", "1: no front matter: "),
])
def test_front_matter_that_does_not_parse(newsletter, text, expected):
    assert one_error(newsletter, text).startswith(f"{FILE}:{expected}")


def test_an_unterminated_quote_is_reported_where_it_opens(newsletter):
    text = '---\ntitle: "Day two\ndate: 2025-04-01\ntags: [a]\nsummary: x\nslug: y\n---\n\nBody.\n'
    message = one_error(newsletter, text)
    assert message.startswith(f"{FILE}:2: front matter is not valid YAML: ")
    assert "at line 7" in message and "quoted scalar that starts on this line" in message


def test_a_file_that_is_not_utf8_names_its_line(newsletter):
    text = "---\ntitle: Café\ndate: 2025-04-01\n---\n\nCafé au lait.\n".encode("cp1250")
    assert one_error(newsletter, text) == f"{FILE}:2: not UTF-8 text (byte 0xe9); re-save the file as UTF-8"


@pytest.mark.parametrize("slug", ["../../x", "Day-Two", "day_two", "day--two", "-day", "day/two", "day two", "42x/"])
def test_an_unsafe_slug_is_refused(newsletter, slug):
    message = one_error(newsletter, f'---\ntitle: T\ndate: 2025-04-01\nslug: "{slug}"\n---\n')
    assert message.startswith(f"{FILE}:4: slug: {slug!r} is not a safe slug: use lowercase letters, digits")


def test_a_slug_ending_in_a_newline_is_refused(newsletter):
    message = one_error(newsletter, '---\ntitle: T\ndate: 2025-04-01\nslug: "day-two\\n"\n---\n')
    assert message.startswith(f"{FILE}:4: slug: 'day-two\\n' is not a safe slug")


def test_a_slug_that_is_not_text_is_refused(newsletter):
    assert one_error(newsletter, "---\ntitle: T\ndate: 2025-04-01\nslug: [a]\n---\n").startswith(
        f"{FILE}:4: slug: ['a'] is not a safe slug")


@pytest.mark.parametrize("slug", ["email", "tags", "page", "static", "assets", "feed", "index"])
def test_a_reserved_slug_is_refused(newsletter, slug):
    message = one_error(newsletter, f"---\ntitle: T\ndate: 2025-04-01\n\nslug: {slug}\n---\n")
    assert message == f"{FILE}:5: slug: '{slug}' is reserved for the site's own pages; choose another slug"


def test_a_reserved_slug_from_the_file_name_is_refused(newsletter):
    message = one_error(newsletter, "---\ntitle: T\ndate: 2025-04-01\n---\n", name="2025-04-01-tags")
    assert message == ("posts/2025-04-01-tags.md:1: slug: 'tags' is reserved for the site's own pages; "
                       "choose another slug")


def test_no_slug_can_be_made(newsletter):
    message = one_error(newsletter, "---\ntitle: '!!!'\ndate: 2025-04-01\n---\n", name="2025-04-01")
    assert message == "posts/2025-04-01.md:2: title: cannot make a slug from the file name or title; add 'slug: some-name'"


def test_a_duplicate_slug_names_both_files(newsletter):
    write_raw(newsletter, "2025-04-01-day-two", "---\ntitle: A\ndate: 2025-04-01\n---\n")
    write_raw(newsletter, "2026-04-01-repeat", "---\ntitle: B\ndate: 2026-04-01\n\nslug: day-two\n---\n")
    with pytest.raises(PostError) as caught:
        load_posts(load_config(newsletter.root))
    assert str(caught.value) == ("posts/2026-04-01-repeat.md:5: slug: 'day-two' is already the slug of "
                                 "posts/2025-04-01-day-two.md; give one of them another 'slug:'")


def test_every_bad_post_is_reported_in_one_run(newsletter):
    write_raw(newsletter, "a", "---\ntitle: A\ndate: someday\n---\n")
    write_raw(newsletter, "b", "---\ntitle: B\ndate: 2025-04-01\ntittle: x\n---\n")
    write_raw(newsletter, "c", "---\ntitle: C\ndate: 2025-04-01\n---\n")
    write_raw(newsletter, "d", b"---\ntitle: D\ndate: 2025-04-01\n---\n\xff\n")
    write_raw(newsletter, "e", "---\ntitle: E\ndate: 2025-04-01\nslug: c\n---\n")
    with pytest.raises(PostError) as caught:
        load_posts(load_config(newsletter.root))
    lines = str(caught.value).splitlines()
    assert [line.split(": ", 1)[0] for line in lines] == ["posts/a.md:3", "posts/b.md:4", "posts/d.md:5",
                                                           "posts/e.md:4"]
    assert "slug: 'c' is already the slug of posts/c.md" in lines[3]
    assert [problem.line for problem in caught.value.problems] == [3, 4, 5, 4]


# --- cleaning text ----------------------------------------------------------------------------------

@pytest.mark.parametrize("escaped", ["\\x01", "\\x1b", "\\uFFFE", "\\uFFFF", "\\x0b"])
def test_control_characters_in_the_title_are_removed_with_a_warning(newsletter, escaped):
    post, errors, warnings = read(newsletter, f'---\ndate: 2025-04-01\ntitle: "Day{escaped} two"\n---\n')
    assert errors == []
    assert post.title == "Day two"
    assert warnings == [f"{FILE}:3: warning: load-warning: title: removed control characters that feeds and mail headers cannot carry"]


def test_raw_control_characters_in_front_matter_and_body_are_removed(newsletter):
    text = "---\ntitle: Day\x01 two\ndate: 2025-04-01\nsummary: \"Bell\\a here\"\n---\n\nOne\ttab.\nBad\x0c page\x1f\uffff.\n"
    post, errors, warnings = read(newsletter, text)
    assert errors == []
    assert (post.title, post.summary) == ("Day two", "Bell here")
    assert post.body.strip() == "One\ttab.\nBad page."
    assert warnings == [
        f"{FILE}:2: warning: load-warning: removed control characters that feeds and mail headers cannot carry",
        f"{FILE}:4: warning: load-warning: summary: removed control characters that feeds and mail headers cannot carry",
        f"{FILE}:8: warning: load-warning: removed control characters that feeds and mail cannot carry",
    ]


def test_newlines_in_one_line_fields_become_spaces(newsletter):
    post, errors, warnings = read(newsletter, """\
---
title: "Day\\ntwo"
date: 2025-04-01
summary: |
  First line
  second line.
author: "Jana\\r\\nNovak"
---
Line one
line two
""")
    assert errors == [] and warnings == []
    assert (post.title, post.summary, post.author) == ("Day two", "First line second line.", "Jana Novak")
    assert post.body == "Line one\nline two\n"


# --- through the command line -----------------------------------------------------------------------

GOOD = "---\ntitle: Day two\ndate: 2025-04-01\ntags: [k8s]\n---\n\nHello from day two.\n"


@pytest.fixture
def built(newsletter):
    """A newsletter built once with a good post; returns the dist/ snapshot of that build."""
    write_raw(newsletter, NAME, GOOD)
    result = newsletter.run("build")
    assert result.exit_code == 0, result.output
    snapshot = newsletter.snapshot()
    assert "day-two/index.html" in snapshot
    return snapshot


@pytest.mark.parametrize("text, expected", [
    pytest.param(GOOD.encode("utf-8").replace(b"Hello", b"H\xe9llo"), "7: not UTF-8 text", id="not-utf8"),
    pytest.param(GOOD.replace("tags: [k8s]", "tags: [k8s"), "4: front matter is not valid YAML", id="bad-yaml"),
    pytest.param(GOOD.replace("title: Day two\n", ""), "1: title: is required", id="no-title"),
    pytest.param(GOOD.replace("date: 2025-04-01\n", ""), "1: date: is required", id="no-date"),
    pytest.param(GOOD.replace("title: Day two", "title: 2025"), "2: title: expected text, got 2025", id="title-type"),
    pytest.param(GOOD.replace("tags: [k8s]", "draft: perhaps"), "4: draft: expected true or false", id="draft-type"),
    pytest.param(GOOD.replace("2025-04-01", "1 April 2025"), "3: date: expected YYYY-MM-DD", id="bad-date"),
    pytest.param(GOOD.replace("2025-04-01", "2025-04-31"), "3: date: expected YYYY-MM-DD", id="impossible-date"),
    pytest.param(GOOD.replace("title:", "tittle:"), "2: tittle: unknown key (did you mean 'title'?)",
                 id="unknown-key"),
    pytest.param(GOOD.replace("tags: [k8s]", "slug: ../../x"), "4: slug: '../../x' is not a safe slug",
                 id="unsafe-slug"),
    pytest.param(GOOD.replace("tags: [k8s]", "slug: feed"), "4: slug: 'feed' is reserved", id="reserved-slug"),
    pytest.param(GOOD.replace("---\n\n", "\n"), "1: front matter is not closed", id="unclosed"),
    pytest.param('+++\ntitle = "Day two"\ndate = 2025-04-01\ntags = [k8s]\n+++\n', "4: front matter is not valid TOML",
                 id="bad-toml"),
])
def test_cli_build_reports_a_bad_post_and_keeps_dist(newsletter, built, text, expected):
    write_raw(newsletter, NAME, text)
    result = newsletter.run("build")
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert result.stderr.startswith(f"error: {FILE}:{expected}")
    if "tittle" not in expected:
        assert len(result.stderr.splitlines()) == 1, result.stderr
    assert newsletter.snapshot() == built


def test_cli_build_reports_a_duplicate_slug_and_keeps_dist(newsletter, built):
    write_raw(newsletter, "2025-05-01-again", "---\ntitle: Again\ndate: 2025-05-01\nslug: day-two\n---\n")
    result = newsletter.run("build")
    assert result.exit_code == 1
    assert result.stderr == ("error: posts/2025-05-01-again.md:4: slug: 'day-two' is already the slug of "
                             f"{FILE}; give one of them another 'slug:'\n")
    assert "Traceback" not in result.output
    assert newsletter.snapshot() == built


def test_cli_build_reports_every_bad_post_at_once(newsletter, built):
    write_raw(newsletter, NAME, GOOD.replace("2025-04-01", "soon"))
    write_raw(newsletter, "2025-05-01-other", "---\ntitle: Other\ndate: 2025-05-01\nslug: Other\n---\n")
    result = newsletter.run("build")
    assert result.exit_code == 1
    assert [line.split(": ")[1] for line in result.stderr.splitlines()] == [
        "posts/2025-04-01-day-two.md:3", "posts/2025-05-01-other.md:4"]
    assert newsletter.snapshot() == built


def test_cli_build_warns_about_removed_control_characters(newsletter):
    write_raw(newsletter, NAME, GOOD.replace("Day two", "Day\x02 two").replace("Hello", "Hel\x1blo"))
    result = newsletter.run("build")
    assert result.exit_code == 0, result.output
    assert f"{FILE}:2: warning: load-warning: removed control characters" in result.stderr
    assert f"{FILE}:7: warning: load-warning: removed control characters" in result.stderr
    page = (newsletter.dist / "day-two" / "index.html").read_text()
    assert "Day two" in page and "Hello from day two." in page
    assert "\x02" not in page and "\x1b" not in page


def test_cli_scheduled_posts_wait_for_now(newsletter):
    write_raw(newsletter, NAME, GOOD)
    write_raw(newsletter, "2099-01-01-future", "---\ntitle: Future\ndate: 2099-01-01 09:00\n---\n\nLater.\n")
    assert newsletter.run("build").exit_code == 0
    files = newsletter.snapshot()
    assert "day-two/index.html" in files and "future/index.html" not in files
    assert "Future" not in files["index.html"].decode()
    # 09:00 in Prague is 08:00 UTC in winter: one minute before, still scheduled; at that time, built.
    assert newsletter.run("build", "--now", "2099-01-01T07:59:00+00:00").exit_code == 0
    assert "future/index.html" not in newsletter.snapshot()
    result = newsletter.run("build", "--now", "2099-01-01T08:00:00+00:00")
    assert result.exit_code == 0 and "Built 2 issues" in result.output
    assert "future/index.html" in newsletter.snapshot()
    assert newsletter.run("build", "--now", "2099-01-01 08:59").exit_code == 0   # naive: the site's zone
    assert "future/index.html" not in newsletter.snapshot()


def test_cli_drafts_are_built_only_with_drafts(newsletter):
    write_raw(newsletter, NAME, GOOD.replace("tags: [k8s]", "draft: true"))
    assert newsletter.run("build").exit_code == 0
    assert "day-two/index.html" not in newsletter.snapshot()
    assert newsletter.run("build", "--drafts").exit_code == 0
    assert "day-two/index.html" in newsletter.snapshot()


# --- tags and their pages ---------------------------------------------------------------------------

@pytest.mark.parametrize("name, slug", [
    ("C", "c"), ("C++", "c-plus-plus"), ("C#", "c-sharp"), ("F#", "f-sharp"), ("R&D", "r-and-d"),
    ("Platform Engineering", "platform-engineering"), ("Žluťoučký kůň", "zlutoucky-kun"), ("@home", "at-home"),
])
def test_tag_slugs_spell_out_symbols(name, slug):
    assert tag_slug(name) == slug


def test_tags_that_differ_only_in_case_are_one_tag(newsletter):
    post, errors, _ = read(newsletter, "---\ntitle: T\ndate: 2025-04-01\ntags: [Kubernetes, kubernetes, C, C++]\n---\n")
    assert errors == [] and post.tags == ("Kubernetes", "C", "C++")


def test_two_tags_of_one_post_that_would_share_a_page(newsletter):
    message = one_error(newsletter, "---\ntitle: T\ndate: 2025-04-01\ntags: [Node.js, node js]\n---\n")
    assert message == (f"{FILE}:4: tags: tags 'Node.js' and 'node js' would share the page tags/node-js/; "
                       "spell them the same or rename one")


def test_tags_of_two_posts_that_would_share_a_page_name_both(newsletter):
    write_raw(newsletter, "2025-04-01-a", "---\ntitle: A\ndate: 2025-04-01\ntags: [Zürich, C]\n---\n")
    write_raw(newsletter, "2025-04-02-b", "---\ntitle: B\ndate: 2025-04-02\n\ntags: [zurich, C++]\n---\n")
    write_raw(newsletter, "2025-04-03-c", "---\ntitle: C\ndate: 2025-04-03\ntags: [ZURICH]\n---\n")
    with pytest.raises(PostError) as caught:
        load_posts(load_config(newsletter.root))
    assert [str(problem) for problem in caught.value.problems] == [
        "posts/2025-04-02-b.md:5: tags: tag 'zurich' would share the page tags/zurich/ with tag 'Zürich' of "
        "posts/2025-04-01-a.md; spell them the same or rename one",
    ]
