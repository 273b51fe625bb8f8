"""`newsletter check`: each rule on a post that breaks it and on a clean post that doesn't."""

from __future__ import annotations

import json
import os
import re
import shutil
import struct
from datetime import UTC, datetime
from pathlib import Path

import pytest

from newsletter.check import (
    RULES,
    RULES_BY_ID,
    Report,
    apply_ignores,
    check_newsletter,
    contrast_ratio,
    finding,
    parse_colour,
    rules_markdown,
)
from newsletter.render.templates import builtin_templates

REPO = Path(__file__).resolve().parents[1]

NOW = datetime(2025, 7, 15, 12, 0, tzinfo=UTC)
EMAIL = """
[email]
from = "Tess Tester <news@example.com>"
unsubscribe_mailto = "leave@example.com"
"""
CLEAN = "posts/2025-03-03-clean.md"
CLEAN_FRONT = """\
title: "Pipelines, alerts and one good talk"
date: 2025-03-03 09:00
summary: "What counting flakes and quieting the pager taught two teams this month."
tags: [ci]
"""
CLEAN_BODY = """\
This month I spent time with a team whose pipeline had become a slot machine,
and with another whose pager never stopped ringing. Both got better by counting
first and changing habits second. Below is what worked for them, a chart of the
flake rate we ended up with, and the small loop that found the worst tests.

<img src="static/chart.png" alt="Flake rate falling from twenty to three percent" width="480">

## Counting flakes

For two weeks every failed job was labelled real or flaky. The
[notes on alerts](#quiet-pagers) are below, and every issue about CI is on the
[CI tag page](tags/ci/).

### The loop

```
for i in $(seq 1 50); do pytest -x -q || exit 1; done
```

## Quiet pagers

Page on symptoms, not causes, as the
[chapter on monitoring distributed systems](https://sre.google/sre-book/monitoring-distributed-systems/)
explains better than I can.
"""


def png(width: int, height: int = 10, size: int = 0) -> bytes:
    """The start of a PNG file (enough for its header to give the size), padded to *size* bytes."""
    head = b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + struct.pack(">II", width, height)
    return head + b"\x00" * max(33 - len(head), size - len(head))


@pytest.fixture
def letter(newsletter):
    """A newsletter with unsubscribe set up and one clean post."""
    newsletter.write("newsletter.toml", (newsletter.root / "newsletter.toml").read_text() + EMAIL)
    (newsletter.root / "static").mkdir()
    (newsletter.root / "static/chart.png").write_bytes(png(480))
    newsletter.post("2025-03-03-clean", CLEAN_FRONT, CLEAN_BODY)
    return newsletter


def check(letter, **options) -> Report:
    return check_newsletter(letter.root, now=NOW, **options)


def bad_post(letter, body: str, front: str = "", name: str = "2025-04-01-bad") -> str:
    """Write a post that is fine apart from *body* and extra *front* matter; return its path."""
    lines = ['title: "A bad issue"', "date: 2025-04-01 09:00",
             'summary: "Something in here breaks in an inbox or a feed reader."', front.strip("\n")]
    letter.post(name, "\n".join(line for line in lines if line), body)
    return f"posts/{name}.md"


def line_of(letter, path: str, needle: str) -> int:
    """The line of the file where *needle* first appears, counted from 1."""
    lines = (letter.root / path).read_text().split("\n")
    return next(number for number, line in enumerate(lines, start=1) if needle in line)


def lines(report: Report, path: str, rule: str) -> list[int | None]:
    return [finding.line for finding in report.findings if finding.path == path and finding.rule == rule]


def messages(report: Report, rule: str) -> list[str]:
    return [finding.message for finding in report.findings if finding.rule == rule]


def assert_clean(report: Report) -> None:
    assert [str(finding) for finding in report.findings if finding.path == CLEAN] == []


# --- the clean post and the report -----------------------------------------------------------


def test_clean_post_passes_strict(letter):
    report = check(letter)
    assert report.findings == ()
    assert not report.failed(strict=True)
    assert report.to_text(strict=True) == "No problems found (1 issue checked)."


def test_text_format_is_one_line_per_finding_sorted_by_file(letter):
    later = bad_post(letter, "Slides are [here](https://example.com/talk).\n", name="2025-04-02-zz")
    earlier = bad_post(letter, "Intro.\n\n#### Too deep\n", name="2025-04-01-aa")
    letter.post("2025-03-01-bare", 'title: "Bare"\ndate: 2025-03-01', "No summary in this one.\n")
    report = check(letter)
    assert report.to_text().split("\n") == [
        "posts/2025-03-01-bare.md: warning: summary-missing: no summary: the archive, feeds and inbox preview "
        "show the first paragraph instead; add 'summary: ...' (a sentence or two)",
        f"{earlier}:{line_of(letter, earlier, '####')}: warning: heading-skip: heading level skips from h1 to "
        "h4 ('Too deep'); screen reader users navigate by level: use ## here",
        f"{later}:{line_of(letter, later, '[here]')}: warning: link-text: link text 'here' says nothing out of "
        "context (screen readers list links on their own): describe where it goes",
        "0 errors, 3 warnings (4 issues checked).",
    ]
    assert report.failed(strict=False) is False
    assert report.failed(strict=True) is True
    assert report.to_text(strict=True).endswith("(4 issues checked); --strict counts warnings as errors.")


def test_json_format_carries_the_same_findings(letter):
    bad = bad_post(letter, "Read [more](no-such-issue/).\n")
    report = check(letter)
    data = json.loads(report.to_json(strict=False))
    assert data["errors"] == 1 and data["warnings"] == 1 and data["ok"] is False and data["issues"] == 2
    line = line_of(letter, bad, "no-such-issue")
    assert data["findings"] == [
        {"path": bad, "line": line, "severity": "error", "rule": "link-broken",
         "message": "link 'no-such-issue/' points at nothing: no issue, tag page or static file "
                    "'no-such-issue/'; check the slug or the file name"},
        {"path": bad, "line": line, "severity": "warning", "rule": "link-text",
         "message": "link text 'more' says nothing out of context (screen readers list links on their "
                    "own): describe where it goes"},
    ]
    assert [f"{item['path']}:{item['line']}" for item in data["findings"]] == \
        [f"{finding.path}:{finding.line}" for finding in report.findings]


def test_warnings_fail_only_with_strict():
    warning = finding("posts/a.md", 3, "summary-missing", "no summary")
    error = finding("posts/a.md", 4, "link-broken", "nothing there")
    assert not Report((warning,), 1).failed() and Report((warning,), 1).failed(strict=True)
    assert Report((error,), 1).failed() and Report((error, warning), 1).failed(strict=False)
    assert json.loads(Report((warning,), 1).to_json(strict=True))["ok"] is False


# --- ignoring rules ---------------------------------------------------------------------------


def test_ignored_rules_are_dropped_for_the_site_or_one_post(letter):
    bad = bad_post(letter, "Read [more](https://example.com/x).\n")
    assert lines(check(letter), bad, "link-text")
    assert lines(check(letter, ignore=["link-text"]), bad, "link-text") == []

    findings = [finding(bad, 3, "link-text", "vague"), finding(CLEAN, 5, "link-text", "vague"),
                finding(bad, 1, "front-matter", "bad date")]
    kept = apply_ignores(findings, [], {bad: ("link-text", "front-matter"), CLEAN: ()})
    # front-matter stops the build, so it cannot be switched off.
    assert kept == [finding(CLEAN, 5, "link-text", "vague"), finding(bad, 1, "front-matter", "bad date")]


def test_rule_check_ignore(letter):
    report = check(letter, ignore=["contrats"])
    assert lines(report, "newsletter.toml", "check-ignore") == [None]
    assert messages(report, "check-ignore") == ["[check] ignore: unknown rule 'contrats' (did you mean 'contrast'?)"]
    kept = apply_ignores([], [], {CLEAN: ("image-widht",)})
    assert kept == [finding(CLEAN, None, "check-ignore", "check: unknown rule 'image-widht' (did you mean "
                                                          "'image-width'?)")]
    assert check(letter, ignore=["contrast"]).findings == ()


# --- loading ----------------------------------------------------------------------------------


def test_rule_config(letter):
    letter.write("newsletter.toml", (letter.root / "newsletter.toml").read_text().replace("title =", "titel ="))
    report = check(letter)
    assert [str(finding) for finding in report.findings] == [
        "newsletter.toml:1: error: config: site.title: is required",
        "newsletter.toml:2: error: config: site.titel: unknown key (did you mean 'title'?); known keys: "
        "title, url, description, language, timezone, author, icon, page_size",
    ]
    assert report.failed() and report.issues == 0
    assert_clean(report)


def test_rule_front_matter(letter):
    bad = bad_post(letter, "Text.\n", front="tittle: Oops")
    report = check(letter)
    assert lines(report, bad, "front-matter") == [line_of(letter, bad, "tittle")]
    assert "did you mean 'title'?" in messages(report, "front-matter")[0]
    assert report.failed()
    assert_clean(report)


def test_rule_source(letter, tmp_path):
    (letter.root / "static").mkdir(exist_ok=True)
    os.symlink("/proc/self/environ", letter.root / "static" / "env.txt")
    os.mkfifo(letter.root / "posts" / "2025-04-02-pipe.md")
    report = check(letter)
    found = sorted((finding.path, finding.rule) for finding in report.findings)
    assert found == [("posts/2025-04-02-pipe.md", "source"), ("static/env.txt", "source")]
    assert "outside the newsletter folder" in " ".join(messages(report, "source"))
    assert report.failed()


def test_rule_load_warning(letter):
    bad = bad_post(letter, "Fine text.\n\nA bell \x07 rings here.\n")
    report = check(letter)
    assert lines(report, bad, "load-warning") == [line_of(letter, bad, "A bell")]
    assert_clean(report)


def test_rule_template(letter):
    letter.write("templates/email.html", "<html><body>\n{{ entry.nope }}\n</body></html>\n")
    report = check(letter)
    assert [(f.path, f.line, f.rule) for f in report.findings] == [("templates/email.html", 2, "template")]
    assert report.failed()


def test_rule_build(newsletter, monkeypatch):
    # A newsletter with nothing published dates its feeds from SOURCE_DATE_EPOCH.
    newsletter.post("2025-03-03-draft", 'title: "Draft"\ndate: 2025-03-03\nsummary: "Not yet."\ndraft: true',
                    "Not yet ready to go out, but it has words in it.\n")
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "yesterday")
    report = check_newsletter(newsletter.root, now=NOW)
    assert [(f.path, f.rule) for f in report.findings if f.rule == "build"] == [(".", "build")]
    assert "SOURCE_DATE_EPOCH" in messages(report, "build")[0]
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    assert messages(check_newsletter(newsletter.root, now=NOW), "build") == []


# --- front matter -----------------------------------------------------------------------------


def test_rule_summary_missing(letter):
    letter.post("2025-04-01-bare", 'title: "No summary"\ndate: 2025-04-01', "Just a first paragraph.\n")
    report = check(letter)
    assert lines(report, "posts/2025-04-01-bare.md", "summary-missing") == [None]
    assert_clean(report)


def test_rule_merge_fallback(letter):
    bad = bad_post(letter, "Hi {subscriber.name|there}.\n\nGreetings to {subscriber.city} and {subscriber.name}.\n")
    report = check(letter)
    line = line_of(letter, bad, "Greetings")
    assert lines(report, bad, "merge-fallback") == [line, line]
    assert any("{subscriber.city} has no fallback" in message for message in messages(report, "merge-fallback"))
    assert_clean(report)


def test_rule_subject_long(letter):
    title = "An issue whose title goes on and on about everything that happened at the conference today"
    letter.post("2025-04-01-long", f'date: 2025-04-01\nsummary: "All of it."\ntitle: "{title}"', "Text.\n")
    report = check(letter)
    assert lines(report, "posts/2025-04-01-long.md", "subject-long") == [4]
    assert f"{len(title)} characters" in messages(report, "subject-long")[0]
    assert_clean(report)


def test_rule_preheader_repeats_title(letter):
    bad = bad_post(letter, "Text.\n", front='preheader: "A bad issue: and then some"')
    summary_only = "posts/2025-04-02-same.md"
    letter.post("2025-04-02-same", 'title: "Same"\ndate: 2025-04-02\nsummary: "SAME!"', "Text.\n")
    report = check(letter)
    assert lines(report, bad, "preheader-repeats-title") == [line_of(letter, bad, "preheader:")]
    assert lines(report, summary_only, "preheader-repeats-title") == [4]
    assert_clean(report)


# --- links ------------------------------------------------------------------------------------


def test_rule_link_broken(letter):
    bad = bad_post(letter, """\
Yesterday's [notes](no-such-issue/) and the [tag](tags/nothing/).

![A photo that is not there](static/missing.png)

Jump to [the end](#the-end) or to [a heading elsewhere](clean/#nowhere).
""", front="image: static/gone.png")
    report = check(letter)
    assert lines(report, bad, "link-broken") == [
        line_of(letter, bad, "image:"), line_of(letter, bad, "no-such-issue"), line_of(letter, bad, "tags/nothing"),
        line_of(letter, bad, "missing.png"), line_of(letter, bad, "#the-end"), line_of(letter, bad, "#nowhere"),
    ]
    assert sorted(messages(report, "link-broken")) == [
        "image: link 'static/gone.png' points at nothing: no issue, tag page or static file 'static/gone.png'; "
        "check the slug or the file name",
        "link '#the-end' points at no anchor in this issue",
        "link 'clean/#nowhere': clean/ has no #nowhere",
        "link 'no-such-issue/' points at nothing: no issue, tag page or static file 'no-such-issue/'; "
        "check the slug or the file name",
        "link 'static/missing.png' points at nothing: no issue, tag page or static file 'static/missing.png'; "
        "check the slug or the file name",
        "link 'tags/nothing/' points at nothing: no issue, tag page or static file 'tags/nothing/'; "
        "check the slug or the file name",
    ]
    assert report.failed()
    assert_clean(report)


def test_rule_link_unpublished(letter):
    letter.post("2025-05-01-soon", 'title: "Soon"\ndate: 2025-05-01\nsummary: "Not out."\ndraft: true',
                "Coming soon, with plenty of words to read when it is ready.\n")
    bad = bad_post(letter, "The [next issue](soon/) is almost ready.\n")
    report = check(letter)
    assert lines(report, bad, "link-unpublished") == [line_of(letter, bad, "soon/")]
    assert "draft" in messages(report, "link-unpublished")[0]
    assert lines(report, bad, "link-broken") == []
    assert_clean(report)


def test_rule_link_relative(letter):
    (letter.root / "static/paper.png").write_bytes(png(40))
    bad = bad_post(letter, "Intro.\n\n<table background=\"static/paper.png\"><tr><td>Boxed</td></tr></table>\n")
    report = check(letter)
    line = line_of(letter, bad, "background=")
    assert lines(report, bad, "link-relative") == [line, line]
    assert sorted(message.split(" is relative in the ")[1].split(",")[0] for message in
                  messages(report, "link-relative")) == ["email", "feed"]
    assert report.failed()
    assert_clean(report)


def test_rule_image_http(letter):
    bad = bad_post(letter, "Look:\n\n![A photo of the hall](http://images.example.org/hall.jpg)\n")
    report = check(letter)
    assert lines(report, bad, "image-http") == [line_of(letter, bad, "http://images")]
    assert_clean(report)


# --- images -----------------------------------------------------------------------------------


def test_rule_image_alt(letter):
    bad = bad_post(letter, "One:\n\n![](static/chart.png)\n\nTwo:\n\n<img src=\"static/chart.png\" width=\"480\">\n")
    report = check(letter)
    assert lines(report, bad, "image-alt") == [line_of(letter, bad, "![]("), line_of(letter, bad, "<img")]
    assert_clean(report)


def test_rule_image_format(letter):
    (letter.root / "static/diagram.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    bad = bad_post(letter, "The architecture:\n\n<img src=\"static/diagram.svg\" alt=\"Boxes\" width=\"400\">\n")
    report = check(letter)
    assert lines(report, bad, "image-format") == [line_of(letter, bad, "diagram.svg")]
    assert "SVG" in messages(report, "image-format")[0]
    assert report.failed()
    assert_clean(report)


def test_rule_image_bytes(letter):
    (letter.root / "static/huge.png").write_bytes(png(500, size=1_200_000))
    bad = bad_post(letter, "<img src=\"static/huge.png\" alt=\"A very large photo\" width=\"500\">\n")
    report = check(letter)
    assert lines(report, "static/huge.png", "image-bytes") == [None]
    assert messages(report, "image-bytes")[0].startswith("1.1 MB is slow to load")
    assert messages(report, "image-bytes")[0].endswith(f"used by {bad}")
    assert_clean(report)


def test_rule_static_name(letter):
    (letter.root / "static/C# cheat sheet.png").write_bytes(png(400))
    report = check(letter)
    assert lines(report, "static/C# cheat sheet.png", "static-name") == [None]
    assert messages(report, "static-name") == [
        "the name has characters a URL must percent-encode (' ' '#'): a link to it must read "
        "'static/C%23%20cheat%20sheet.png'; rename it to 'static/c-cheat-sheet.png' to keep links simple"]
    assert_clean(report)


def test_rule_image_width(letter):
    (letter.root / "static/hall.png").write_bytes(png(1200, 600))
    bad = bad_post(letter, "The hall:\n\n![The main hall before the keynote](static/hall.png)\n\n"
                           "A chart: ![Signups per week](https://cdn.example.org/chart.png)\n")
    report = check(letter)
    # static/ images get their width in the build; one hosted elsewhere cannot be measured.
    assert lines(report, bad, "image-width") == [line_of(letter, bad, "cdn.example.org")]
    assert 'width="552"' in messages(report, "image-width")[0]
    assert_clean(report)


# --- email ------------------------------------------------------------------------------------


def test_rule_email_size(letter):
    bad = bad_post(letter, "A talk transcript. " + "word " * 22_000 + "\n")
    report = check(letter)
    assert lines(report, bad, "email-size") == [None]
    message = messages(report, "email-size")[0]
    assert re.match(r"the email is 1\d\d KB; Gmail clips messages over 102 KB", message)
    # The breakdown lists what takes the space, biggest first: here the text.
    assert re.search(r"\): text 1\d\d KB, ", message)
    assert_clean(report)


def test_rule_email_style_size(letter):
    css = (builtin_templates() / "email.css").read_text()
    rules = "\n".join(f"  .extra-{n} {{ color: #e6e6e6 !important; padding: 0 !important; }}" for n in range(400))
    letter.write("templates/email.css", css + "@media (prefers-color-scheme: dark) {\n" + rules + "\n}\n")
    report = check(letter)
    assert lines(report, "templates/email.css", "email-style-size") == [None]
    assert "Gmail ignores" in messages(report, "email-style-size")[0]
    letter.write("templates/email.css", css)
    assert messages(check(letter), "email-style-size") == []


def test_rule_email_removed(letter):
    bad = bad_post(letter, "Before.\n\n<script>track()</script>\n\nAfter.\n")
    report = check(letter)
    assert lines(report, bad, "email-removed") == [line_of(letter, bad, "<script>")]
    assert messages(report, "email-removed") == ["removed <script> from the email: mail clients block it"]
    assert_clean(report)


def test_rule_code_width(letter):
    long = "kubectl get pods --all-namespaces --field-selector=status.phase!=Running -o wide | sort"
    bad = bad_post(letter, f"Find them:\n\n```\nkubectl get pods\n{long}\n```\n")
    report = check(letter)
    assert lines(report, bad, "code-width") == [line_of(letter, bad, "--all-namespaces")]
    assert f"(the longest {len(long)})" in messages(report, "code-width")[0]
    assert_clean(report)


def test_rule_table_wide(letter):
    row = "| " + " | ".join(f"column{n}" for n in range(9)) + " |\n"
    bad = bad_post(letter, "Intro.\n\n" + row + "|" + "---|" * 9 + "\n" + row.replace("column", "value")
                   + "\nA narrow one:\n\n| a | b |\n|---|---|\n| 1 | 2 |\n")
    report = check(letter)
    assert lines(report, bad, "table-wide") == [line_of(letter, bad, "| column0")]
    assert "a table of 9 columns needs about" in messages(report, "table-wide")[0]
    assert_clean(report)


def test_rule_image_heavy(letter):
    bad = bad_post(letter, "Pictures!\n\n<img src=\"static/chart.png\" alt=\"Chart one\" width=\"480\">\n\n"
                           "<img src=\"static/chart.png\" alt=\"Chart two\" width=\"480\">\n")
    report = check(letter)
    assert lines(report, bad, "image-heavy") == [None]
    assert messages(report, "image-heavy")[0].startswith("mostly images: 2 images and 1 word of text")
    assert_clean(report)


def test_rule_unsubscribe_missing(letter):
    config = (letter.root / "newsletter.toml").read_text()
    letter.write("newsletter.toml", config.replace('unsubscribe_mailto = "leave@example.com"\n', ""))
    report = check(letter)
    assert lines(report, "newsletter.toml", "unsubscribe-missing") == [line_of(letter, "newsletter.toml", "[email]")]
    assert_clean(report)

    letter.write("newsletter.toml", config)
    letter.write("templates/email.html", (builtin_templates() / "email.html").read_text()
                 .replace('<a href="{{ unsubscribe_url }}">{% trans %}Unsubscribe{% endtrans %}</a>', "Reply to leave"))
    report = check(letter)
    assert [(f.path, f.line) for f in report.findings] == [("templates/email.html", None)]
    assert report.findings[0].rule == "unsubscribe-missing"


# --- feeds ------------------------------------------------------------------------------------


def test_rule_feed_id_changed(letter):
    bad = bad_post(letter, "Text that was published once and then edited.\n")
    assert letter.run("build").exit_code == 0
    assert check(letter).findings == ()
    # Moving the date changes the issue's id: subscribers would get it again.
    path = letter.root / bad
    path.write_text(path.read_text().replace("date: 2025-04-01 09:00", "date: 2025-04-02 09:00"))
    report = check(letter)
    assert lines(report, bad, "feed-id-changed") == [line_of(letter, bad, "date:")]
    message = messages(report, "feed-id-changed")[0]
    assert "'tag:example.com,2025-04-01:/letter/bad'" in message and "dist/feed.xml" in message
    assert report.failed()
    assert_clean(report)
    # Pinning the old id, as the message says, settles it.
    path.write_text(path.read_text().replace("date: 2025-04-02", 'id: "tag:example.com,2025-04-01:/letter/bad"\n'
                                                                  "date: 2025-04-02"))
    assert check(letter).findings == ()
    # A new slug changes the link too; the issue is still found by its title.
    path.write_text(path.read_text().replace('id: "tag:example.com,2025-04-01:/letter/bad"\n', "slug: worse\n"))
    report = check(letter)
    assert lines(report, bad, "feed-id-changed") == [line_of(letter, bad, "date:")]
    assert "is now 'tag:example.com,2025-04-02:/letter/worse'" in messages(report, "feed-id-changed")[0]


def test_rule_feed_id_changed_reads_archive_documents(letter):
    letter.write("newsletter.toml", (letter.root / "newsletter.toml").read_text() + "\n[feeds]\nlimit = 1\n")
    letter.post("2025-01-01-old", 'title: "Old"\ndate: 2025-01-01\nsummary: "From long ago."',
                "An old issue, only in the archive feed by now.\n")
    for day in range(2, 26):  # with these, the old issue is on a full archive page
        letter.post(f"2025-01-{day:02d}-filler-{day}", f'title: "Filler {day}"\ndate: 2025-01-{day:02d}')
    bad = "posts/2025-01-01-old.md"
    assert letter.run("build").exit_code == 0
    assert b"/letter/old" in (letter.dist / "feed/archive/1.xml").read_bytes()
    assert b"/letter/old" not in (letter.dist / "feed.xml").read_bytes()
    letter.write("newsletter.toml", (letter.root / "newsletter.toml").read_text()
                 .replace("https://example.com/letter/", "https://news.example.net/"))
    report = check(letter)
    assert lines(report, bad, "feed-id-changed") == [line_of(letter, bad, "date:")]
    assert messages(report, "feed-id-changed")[0].startswith(
        "its feed id was 'tag:example.com,2025-01-01:/letter/old' in dist/feed/archive/1.xml and is now "
        "'tag:news.example.net,2025-01-01:/old'")
    assert lines(report, CLEAN, "feed-id-changed") == [line_of(letter, CLEAN, "date:")]


def test_rule_feed_empty_item(letter):
    letter.post("2025-04-01-empty", 'title: "Empty"\ndate: 2025-04-01\nsummary: ""', "")
    report = check(letter)
    assert lines(report, "posts/2025-04-01-empty.md", "feed-empty-item") == [None]
    assert report.failed()
    assert_clean(report)


def test_rule_feed_future_date(letter):
    bad = bad_post(letter, "Text.\n", front="updated: 2099-01-01")
    report = check(letter)
    assert lines(report, bad, "feed-future-date") == [line_of(letter, bad, "updated:")]
    assert "updated date 2099-01-01" in messages(report, "feed-future-date")[0]
    assert_clean(report)


# --- accessibility ----------------------------------------------------------------------------


def test_rule_heading_skip(letter):
    bad = bad_post(letter, "Intro.\n\n## Talks\n\nText.\n\n#### Lightning talks\n\nMore.\n\n### Fine\n")
    report = check(letter)
    assert lines(report, bad, "heading-skip") == [line_of(letter, bad, "#### Lightning")]
    assert "from h2 to h4" in messages(report, "heading-skip")[0]
    assert_clean(report)


def test_rule_link_text(letter):
    bad = bad_post(letter, "Slides: [click here](https://example.com/slides).\n\nVideo: [](https://example.com/v).\n")
    report = check(letter)
    assert lines(report, bad, "link-text") == [line_of(letter, bad, "click here"), line_of(letter, bad, "Video")]
    assert_clean(report)


def test_rule_contrast(letter):
    bad = bad_post(letter, """\
Intro with enough words to read.

<p style="color:#aaaaaa">Pale grey text that is hard to read on white.</p>

<p style="color:#333333">Dark grey text that vanishes in dark mode.</p>
""")
    report = check(letter)
    assert lines(report, bad, "contrast") == [line_of(letter, bad, "Pale grey"), line_of(letter, bad, "Dark grey")]
    assert sorted(messages(report, "contrast")) == [
        "dark mode: text on #1c1f23 is below WCAG AA contrast: #333333 1.3:1 of 4.5:1 ('Dark grey text that van…')",
        "light mode: text on #ffffff is below WCAG AA contrast: #aaaaaa 2.3:1 of 4.5:1 ('Pale grey text that is …')",
    ]
    assert_clean(report)



def test_rule_contrast_finds_the_line_in_a_code_block(letter):
    # The pale words are the tail of an element, in the block's third line.
    tail = bad_post(letter, """\
Intro with enough words to read.

<pre><code>first line of the block
second line, all dark
third line <span style="color: #dddddd"><b style="color: #000000">ok</b> pale tail</span>
</code></pre>
""", name="2025-04-01-tail")
    # The pale words are an element's own text, in the block's second line.
    own = bad_post(letter, """\
Intro with enough words to read.

<pre><code>another block
then <i style="color: #e0e0e0">pale words</i>
</code></pre>
""", name="2025-04-02-own")
    report = check(letter)
    assert lines(report, tail, "contrast") == [line_of(letter, tail, "third line")] * 2
    assert lines(report, own, "contrast") == [line_of(letter, own, "then <i")] * 2
    assert sorted(messages(report, "contrast")) == [
        f"{mode} mode: highlighted code on #f6f8fa is below WCAG AA contrast: {colour}"
        for mode in ("dark", "light")
        for colour in ("#dddddd 1.3:1 of 4.5:1 ('pale tail')", "#e0e0e0 1.2:1 of 4.5:1 ('pale words')")]


OLD_DARK_RULES = """
@media (prefers-color-scheme: dark) {
  .content, h1, h2, h3, h4, h5, h6, th { color: #e6e6e6 !important; }
}
"""


def test_rule_contrast_checks_code_in_every_heading_level_and_table_header(letter):
    css = (builtin_templates() / "email.css").read_text()
    # A dark sheet that lightens headings but leaves their code on its light background.
    letter.write("templates/email.css", css.replace("code { background-color: #2a2f36", "kbd { background-color: #2a2f36")
                 .replace("a code {", "a kbd {") + OLD_DARK_RULES)
    bad = bad_post(letter, "Intro.\n\n" + "".join(f"{'#' * level} Level {level} `code{level}`\n\n" for level in range(1, 7))
                   + "| `cell` | b |\n|---|---|\n| c | d |\n")
    report = check(letter)
    found = {message.split(" on ")[0] for message in messages(report, "contrast")}
    assert found == {f"dark mode: text in <h{level}>" for level in range(1, 7)} | {"dark mode: text in <th>"}
    assert lines(report, bad, "contrast") == sorted([line_of(letter, bad, f"Level {level}") for level in range(1, 7)]
                                                    + [line_of(letter, bad, "| `cell`")])


def test_rule_contrast_reports_a_template_problem_once_at_the_template(letter):
    html = (builtin_templates() / "email.html").read_text()
    letter.write("templates/email.html", html.replace('<td class="footer">', '<td class="footer" style="color:#bbbbbb">'))
    bad_post(letter, "One issue.\n", name="2025-04-01-one")
    bad_post(letter, "Another issue.\n", name="2025-04-02-two")
    report = check(letter)
    footer = [finding for finding in report.findings if finding.rule == "contrast"]
    line = html.split("\n").index('<td class="footer">') + 1
    # Once for the two issues, at the lines of the footer's two paragraphs.
    assert [(finding.path, finding.line) for finding in footer] == [("templates/email.html", line + 1),
                                                                    ("templates/email.html", line + 2)]
    assert all("the template sets these colours" in finding.message for finding in footer)


def test_contrast_ratio_follows_wcag():
    black, white = parse_colour("#000"), parse_colour("white")
    assert contrast_ratio(black, white) == pytest.approx(21.0)
    assert contrast_ratio(white, white) == pytest.approx(1.0)
    # The well-known edge: #777 on white just misses AA, #767676 just makes it.
    assert contrast_ratio(parse_colour("#777777"), white) == pytest.approx(4.48, abs=0.01)
    assert contrast_ratio(parse_colour("rgb(118, 118, 118)"), white) >= 4.5
    assert parse_colour("#0a58ca80")[3] == pytest.approx(128 / 255)
    assert parse_colour("not-a-colour") is None


# --- the repository's own newsletter ----------------------------------------------------------

# Genuine problems the example newsletter has; each goes away when what causes it is fixed.


def test_example_newsletter_checks_clean_with_strict(tmp_path, monkeypatch):
    monkeypatch.setenv("NEWSLETTER_TOKEN_SECRET", "as where it is sent from")  # its unsubscribe_url uses {token}
    root = tmp_path / "example"
    root.mkdir()
    shutil.copy(REPO / "newsletter.toml", root)
    shutil.copytree(REPO / "posts", root / "posts")
    shutil.copytree(REPO / "static", root / "static")
    report = check_newsletter(root, now=NOW)
    assert list(report.findings) == [], report.to_text()
    assert not report.failed(strict=True)
    assert report.issues == 6


# --- the rule table ---------------------------------------------------------------------------


def test_every_rule_has_a_test():
    untested = [rule.id for rule in RULES if f"test_rule_{rule.id.replace('-', '_')}" not in globals()]
    assert untested == []
    assert len(RULES_BY_ID) == len(RULES)
    assert all(rule.severity in ("error", "warning") and rule.description for rule in RULES)


def test_readme_lists_every_rule():
    readme = (REPO / "README.md").read_text()
    start = readme.find("\n## Check\n")
    assert start >= 0, "README.md has no '## Check' section; paste check.rules_markdown() into it"
    end = readme.find("\n## ", start + 1)
    section = readme[start + 1 : end if end >= 0 else len(readme)]
    assert section.strip() == rules_markdown().strip()


# --- check on the build engine: warm runs, edits, nothing written outside .newsletter/ ---------


def test_a_warm_check_reports_what_a_cold_one_does_and_remakes_nothing(letter, monkeypatch):
    from newsletter.check import pool

    bad_post(letter, "Some text with a [link](nowhere/).\n\n#### Too deep\n", name="2025-04-02-links")
    cold = check(letter)
    assert not letter.dist.exists()  # the check builds in .newsletter/check/, never in dist/
    assert (letter.root / ".newsletter" / "check" / "site" / "email").is_dir()
    computed: list[str] = []
    original = pool.checks
    monkeypatch.setattr(pool, "checks", lambda scope: computed.append(str(scope)) or original(scope))
    warm = check(letter)
    assert warm == cold and warm.findings
    assert "issue" not in computed and "built issue" not in computed  # every issue came from the memo


def test_an_edit_is_checked_again_and_only_that_post(letter, monkeypatch):
    from newsletter.check import pool

    edited = bad_post(letter, "Fine text.\n", name="2025-04-02-edited")
    assert check(letter).findings == ()
    bad_post(letter, "Fine text.\n\n#### Too deep\n", name="2025-04-02-edited")
    computed: list[str] = []
    original = pool.checks
    monkeypatch.setattr(pool, "checks", lambda scope: computed.append(str(scope)) or original(scope))
    report = check(letter)
    assert [finding.rule for finding in report.findings if finding.path == edited] == ["heading-skip"]
    assert lines(report, edited, "heading-skip") == [line_of(letter, edited, "#### Too deep")]
    assert computed.count("issue") == 1  # the edited post alone; the clean one came from the memo


def test_a_damaged_memo_is_started_afresh(letter):
    bad_post(letter, "Text.\n\n#### Too deep\n", name="2025-04-02-deep")
    first = check(letter)
    memo = letter.root / ".newsletter" / "check" / "cache" / "findings.json"
    assert memo.is_file()
    memo.write_text("{not json")
    assert check(letter) == first


def test_a_link_breaks_when_the_page_it_points_at_changes(letter):
    linking = bad_post(letter, "See [the details](target/#details).\n", name="2025-04-02-linking")
    target = bad_post(letter, "## Details\n\nText.\n", name="2025-04-03-target")
    assert check(letter).findings == ()
    bad_post(letter, "## Other things\n\nText.\n", name="2025-04-03-target")
    report = check(letter)
    assert [finding.rule for finding in report.findings if finding.path == linking] == ["link-broken"]
    assert target  # the target's own findings stay empty
    assert [finding for finding in report.findings if finding.path == target] == []


def test_rule_image_missing(newsletter):
    """The build warns of an `image:` naming no file, check reports it, and ignore lists hide it in both."""
    post = newsletter.post("2025-04-01-one", "title: One\ndate: 2025-04-01\nimage: static/missing.jpg",
                           "A chart: ![](static/chart.png)\n")
    newsletter.write("static/chart.png", "not really a png")
    result = newsletter.run("build", "--now", NOW.isoformat())
    assert result.exit_code == 0
    warned = result.stderr.splitlines()
    assert "posts/2025-04-01-one.md:7: warning: image-alt: image 'static/chart.png' has no alt text; describe it " \
           "for readers who cannot see it" in warned
    assert "posts/2025-04-01-one.md:4: warning: image-missing: image: 'static/missing.jpg' is not a file under " \
           "static/; feeds announce the image without its size" in warned
    # check reports the build's own warning at the same place, under the same rule.
    report = check_newsletter(newsletter.root, now=NOW)
    assert [(f.path, f.line) for f in report.findings if f.rule == "image-missing"] == [("posts/2025-04-01-one.md", 4)]

    newsletter.write("newsletter.toml", (newsletter.root / "newsletter.toml").read_text() +
                     '\n[check]\nignore = ["image-alt"]\n')
    result = newsletter.run("build", "--now", NOW.isoformat())
    assert "image-alt" not in result.stderr and "image-missing" in result.stderr
    post.write_text(post.read_text().replace("image: static/missing.jpg", "image: static/missing.jpg\n"
                                             "check: [image-missing]"))
    result = newsletter.run("build", "--now", NOW.isoformat())
    assert result.exit_code == 0 and "warning" not in result.stderr
    assert not [f for f in check_newsletter(newsletter.root, now=NOW).findings if f.rule in ("image-alt", "image-missing")]


def test_many_issues_are_checked_in_worker_processes_with_the_same_findings(letter):
    for number in range(30):
        body = "Fine text.\n" if number % 3 else f"Text.\n\n#### Too deep {number}\n\n![](static/n{number}.png)\n"
        bad_post(letter, body, name=f"2025-03-{number % 28 + 1:02d}-issue-{number}")
    alone = check_newsletter(letter.root, now=NOW, jobs=1)
    shutil.rmtree(letter.root / ".newsletter")
    shared = check_newsletter(letter.root, now=NOW, jobs=2)
    assert shared == alone
    assert sum(1 for finding in shared.findings if finding.rule == "heading-skip") == 10


# --- the subscriber list and git (a real repository) -------------------------------------------

from test_privacy import git, make_repo, run_check  # noqa: E402


@pytest.fixture
def repo(tmp_path):
    return make_repo(tmp_path)


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_rule_subscribers_in_git(repo):
    git(repo, "add", "-f", "subscribers.csv")
    result = run_check(repo)
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if "subscribers-in-git" in line]
    line = (repo / "newsletter.toml").read_text().splitlines().index('file = "subscribers.csv"') + 1
    assert lines == [f"newsletter.toml:{line}: error: subscribers-in-git: subscribers.file: git tracks "
                     "'subscribers.csv', which holds subscribers' addresses; run 'git rm --cached "
                     "subscribers.csv', add it to .gitignore and commit (it stays in the history until that "
                     "is rewritten)"]

    git(repo, "rm", "-q", "--cached", "subscribers.csv")
    assert "subscribers-in-git" not in run_check(repo).output


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_rule_subscribers_not_ignored(repo):
    (repo / ".gitignore").write_text("/dist/\n/.newsletter/\n")
    result = run_check(repo)
    found = [line for line in result.output.splitlines() if "subscribers-not-ignored" in line]
    assert len(found) == 2
    assert "subscribers.file: 'subscribers.csv' is not in .gitignore" in found[0]
    assert "subscribers.unsubscribed: 'unsubscribed.txt' is not in .gitignore" in found[1]


# --- newsletter.toml as init left it, and the token secret ---------------------------------------


def test_rule_setup_placeholder(tmp_path):
    from click.testing import CliRunner

    from newsletter.cli import main

    root = tmp_path / "fresh"
    assert CliRunner().invoke(main, ["init", str(root), "--title", "Fresh"]).exit_code == 0
    config = (root / "newsletter.toml").read_text().splitlines()
    report = check_newsletter(root, now=NOW)
    found = [str(finding) for finding in report.findings if finding.rule == "setup-placeholder"]
    url_line = next(n for n, line in enumerate(config, 1) if line.startswith("url = "))
    author_line = config.index('author = ""') + 1
    assert found == [
        f"newsletter.toml:{url_line}: error: setup-placeholder: site.url: is still the placeholder "
        "https://your-site.example/newsletter/; every link in emails and feeds would point there. Set the address "
        "where the site will be published",
        f"newsletter.toml:{author_line}: error: setup-placeholder: site.author: is empty; feeds and emails name "
        "an author, so write yours (or remove the line)"]
    assert report.failed()

    text = (root / "newsletter.toml").read_text()
    (root / "newsletter.toml").write_text(text.replace("https://your-site.example/newsletter/", "https://fresh.example/")
                                          .replace('author = ""', 'author = "Fran Fresh"'))
    assert [f for f in check_newsletter(root, now=NOW).findings if f.rule == "setup-placeholder"] == []


def test_rule_token_secret(letter, monkeypatch):
    text = (letter.root / "newsletter.toml").read_text()
    letter.write("newsletter.toml", text.replace(
        'unsubscribe_mailto = "leave@example.com"',
        'unsubscribe_url = "https://example.com/leave?email={email}&token={token}"'))
    monkeypatch.delenv("NEWSLETTER_TOKEN_SECRET", raising=False)
    line = line_of(letter, "newsletter.toml", "unsubscribe_url")
    assert [str(f) for f in check(letter).findings if f.rule == "token-secret"] == [
        f"newsletter.toml:{line}: warning: token-secret: email.unsubscribe_url: uses {{token}} but the "
        "environment variable NEWSLETTER_TOKEN_SECRET is not set; `newsletter send` refuses without it. "
        "Export it where you send (a CI secret), with the secret your unsubscribe endpoint checks tokens with"]
    monkeypatch.setenv("NEWSLETTER_TOKEN_SECRET", "s3cret")
    assert check(letter).findings == ()


def test_an_edit_after_a_warm_check_checks_only_the_edited_feed_item_again(letter, monkeypatch):
    from newsletter.check import feeds

    for number in range(1, 4):
        letter.post(f"2025-05-0{number}-more-{number}", f'title: "More {number}"\ndate: 2025-05-0{number}',
                    f"Words of issue {number}, enough to be read.\n")
    check(letter)
    check(letter)  # warm: every document is unchanged, and its items' findings must stay kept
    parsed: list[str] = []
    original = feeds.parse_flat
    monkeypatch.setattr(feeds, "parse_flat", lambda text: parsed.append(text) or original(text))
    path = letter.root / "posts/2025-05-02-more-2.md"
    path.write_text(path.read_text().replace("Words of issue 2", "Edited words of issue 2"))
    check(letter)
    assert len(parsed) == 1 and "Edited words of issue 2" in parsed[0]


def test_the_last_builds_feeds_are_read_again_only_when_they_change(letter, monkeypatch):
    from newsletter.check import feeds

    bad = bad_post(letter, "Text that was published once and then edited.\n")
    assert letter.run("build").exit_code == 0
    assert check(letter).findings == ()
    parsed: list[int] = []
    original = feeds.atom_items
    monkeypatch.setattr(feeds, "atom_items", lambda data: parsed.append(len(data)) or original(data))
    path = letter.root / bad
    path.write_text(path.read_text().replace("date: 2025-04-01 09:00", "date: 2025-04-02 09:00"))
    report = check(letter)
    assert lines(report, bad, "feed-id-changed") == [line_of(letter, bad, "date:")]
    assert len(parsed) == 1  # the check's own new feed.xml; dist/feed.xml came from the memo
    # A new build in dist/ is read again, and the old id is gone from it.
    assert letter.run("build").exit_code == 0
    assert check(letter).findings == () and len(parsed) == 2  # dist/feed.xml again, nothing else


def test_a_url_a_build_left_relative_in_a_feed_item_is_reported_at_its_line(letter, monkeypatch):
    from newsletter.outputs import feed_items

    # Builds make every URL of a feed item absolute; this stands for one that failed to.
    real = feed_items._feed_html
    monkeypatch.setattr(feed_items, "_feed_html", lambda entry, url: re.sub(
        r"https://[^ ]*/static/a-2x\.png", "static/a-2x.png", real(entry, url)))
    bad = bad_post(letter, 'Intro.\n\n<img src="/static/a.png" srcset="/static/a-2x.png 2x" alt="A chart">\n')
    report = check(letter)
    found = [finding for finding in report.findings if finding.path == bad and "relative in the feed" in finding.message]
    assert [finding.line for finding in found] == [line_of(letter, bad, "srcset=")]
    assert "srcset='static/a-2x.png'" in found[0].message
