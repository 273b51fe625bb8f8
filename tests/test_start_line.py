"""Moving an existing blog in: `[send] since`, `send --mark-sent`, and a first send that refuses to
mail the whole back catalogue (against a real SMTP server, aiosmtpd on 127.0.0.1)."""

from __future__ import annotations

import json

import pytest

from smtp_server import TOKEN_SECRET, SmtpServer, send_config

OLD = ("2024-01-10-old-one", "2024-05-20-old-two", "2025-08-30-old-three")


@pytest.fixture
def server():
    with SmtpServer() as running:
        yield running


@pytest.fixture
def blog(newsletter, server, monkeypatch):
    """A newsletter moved in from a blog: three old posts and a new one, two subscribers, no manifest."""
    monkeypatch.setenv("NEWSLETTER_TOKEN_SECRET", TOKEN_SECRET)
    newsletter.base_config = (newsletter.root / "newsletter.toml").read_text() + send_config(server.port,
                                                                                             unsubscribed="")
    newsletter.write("newsletter.toml", newsletter.base_config)
    newsletter.write("subscribers.csv", "email,name\nann@example.com,Ann\nbob@example.com,Bob\n")
    for name in OLD:
        newsletter.post(name, f'title: "{name[11:]}"\ndate: {name[:10]}')
    newsletter.post("2025-09-02-new-start", 'title: "A new start"\ndate: 2025-09-02 08:00')
    return newsletter


def _manifest(letter) -> dict:
    return json.loads((letter.root / "manifest.json").read_text())["issues"]


def _status(letter) -> dict[str, str]:
    result = letter.run("status")
    assert result.exit_code == 0, result.output
    return {line.split()[2]: line for line in result.stdout.splitlines()}


def test_the_first_send_of_a_back_catalogue_refuses_even_with_yes(blog, server):
    result = blog.run("send", "--yes")

    assert result.exit_code == 1
    message = result.stderr.strip()
    assert message.startswith("error: manifest.json: not found, so this is the first send, and 4 published "
                              "issues are due: every subscriber would get all 4.")
    assert "'since = 2025-09-02' under [send] in newsletter.toml" in message
    assert "--mark-sent" in message and "--all-due" in message
    assert len(message.splitlines()) == 1
    assert server.recorder.received == []
    assert not (blog.root / "manifest.json").exists()
    assert not (blog.root / ".newsletter/journal").exists() or not any((blog.root / ".newsletter/journal").iterdir())


def test_since_sends_only_issues_from_that_day_and_status_says_so(blog, server):
    blog.write("newsletter.toml", blog.base_config + "\n[send]\nsince = 2025-09-01\n")
    before = _status(blog)
    for name in OLD:
        assert before[name[11:]].endswith("never sent (dated before [send] since)")
    assert before["new-start"].endswith("not sent")

    result = blog.run("send", "--yes")

    assert result.exit_code == 0, result.output
    assert set(_manifest(blog)) == {"new-start"}
    assert server.recorder.rcpt_counts() == {"ann@example.com": 1, "bob@example.com": 1}
    named = blog.run("send", "old-two", "--yes")
    assert named.exit_code == 1
    assert named.stderr.startswith("error: newsletter.toml:")
    assert "old-two is dated before 2025-09-01, so it is never sent" in named.stderr
    assert len(server.recorder.received) == 2
    assert blog.run("send", "--yes").stdout.startswith("Nothing to send")


def test_since_must_be_a_date(blog):
    blog.write("newsletter.toml", blog.base_config + '\n[send]\nsince = "September"\n')
    result = blog.run("send", "--yes")
    assert result.exit_code == 1
    assert "send.since: expected a date like 2025-09-01 (without quotes), got 'September'" in result.stderr


def test_mark_sent_records_issues_with_no_recipients_and_the_send_mails_only_the_rest(blog, server):
    marked = blog.run("send", "--mark-sent", "old-one", "old-two", "old-three")

    assert marked.exit_code == 0, marked.output
    assert "Marked old-one as sent without sending it." in marked.stdout
    issues = _manifest(blog)
    assert set(issues) == {"old-one", "old-two", "old-three"}
    for record in issues.values():
        assert record["recipients"] == {"sent": 0, "failed": 0}
        assert record["note"] == "marked as sent without sending (newsletter send --mark-sent)"
        assert len(record["sha256"]) == 64
    assert _status(blog)["old-one"].endswith(" without sending")
    assert server.recorder.received == []

    again = blog.run("send", "--mark-sent", "old-one")
    assert again.exit_code == 1 and "old-one: is recorded already" in again.stderr

    # The manifest exists now, so the one issue left goes out without --all-due.
    sent = blog.run("send", "--yes")
    assert sent.exit_code == 0, sent.output
    assert [m["Subject"] for m in server.recorder.messages()] == ["A new start"] * 2
    assert _manifest(blog)["new-start"]["recipients"] == {"sent": 2, "failed": 0}


def test_mark_sent_without_slugs_marks_every_issue_due(blog, server):
    blog.post("2099-01-01-future", 'title: "Future"\ndate: 2099-01-01')
    result = blog.run("send", "--mark-sent")
    assert result.exit_code == 0, result.output
    assert "Recorded 4 issues in manifest.json" in result.stdout
    assert set(_manifest(blog)) == {"old-one", "old-two", "old-three", "new-start"}
    assert blog.run("send", "--yes").stdout.startswith("Nothing to send")
    assert server.recorder.received == []


def test_mark_sent_refuses_drafts_unknown_slugs_and_other_options(blog):
    blog.post("2025-09-03-draft", 'title: "Draft"\ndate: 2025-09-03\ndraft: true')
    draft = blog.run("send", "--mark-sent", "draft")
    assert draft.exit_code == 1 and "is a draft" in draft.stderr
    unknown = blog.run("send", "--mark-sent", "old-on")
    assert unknown.exit_code == 1 and "did you mean 'old-one'" in unknown.stderr
    assert blog.run("send", "--mark-sent", "--dry-run").exit_code == 2
    assert blog.run("send", "old-one", "old-two", "--yes").exit_code == 2
    assert not (blog.root / "manifest.json").exists()


def test_all_due_sends_the_whole_back_catalogue_when_asked(blog, server):
    result = blog.run("send", "--yes", "--all-due")
    assert result.exit_code == 0, result.output
    assert len(_manifest(blog)) == 4
    assert server.recorder.rcpt_counts() == {"ann@example.com": 4, "bob@example.com": 4}


def test_a_first_send_of_one_issue_needs_nothing_more(blog, server):
    blog.write("newsletter.toml", blog.base_config)
    for name in OLD:
        (blog.root / f"posts/{name}.md").unlink()
    result = blog.run("send", "--yes")
    assert result.exit_code == 0, result.output
    assert set(_manifest(blog)) == {"new-start"}
