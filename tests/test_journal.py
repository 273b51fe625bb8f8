"""The send journal: keyed by the issue's permanent id, and strict about what it reads."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest

from smtp_server import TOKEN_SECRET, SmtpServer, send_config

READERS = [f"reader{number}@example.com" for number in range(5)]


@pytest.fixture
def server():
    with SmtpServer() as running:
        yield running


def _letter(newsletter, server, monkeypatch, front: str = ""):
    monkeypatch.setenv("NEWSLETTER_TOKEN_SECRET", TOKEN_SECRET)
    config = (newsletter.root / "newsletter.toml").read_text() + send_config(server.port, unsubscribed="")
    newsletter.write("newsletter.toml", config)
    newsletter.write("subscribers.csv", "email,name\n" + "".join(f"{a},Reader\n" for a in READERS))
    newsletter.post("2025-04-01-day-two", f'title: "Day Two"\ndate: 2025-04-01 09:00\n{front}')
    return newsletter


def _kill_before(letter, server, address: str) -> None:
    """Run `newsletter send` in its own process and SIGKILL it when it names *address* to the server."""
    process = subprocess.Popen([sys.executable, "-m", "newsletter", "--dir", str(letter.root), "send", "--yes"],
                               env=dict(os.environ), stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def on_rcpt(rcpt: str) -> None:
        if rcpt == address:
            process.send_signal(signal.SIGKILL)

    server.recorder.on_rcpt = on_rcpt
    _, errors = process.communicate(timeout=60)
    server.recorder.on_rcpt = None
    assert process.returncode == -signal.SIGKILL, errors.decode()


def test_a_slug_changed_between_a_stopped_send_and_its_resume_mails_nobody_twice(newsletter, server, monkeypatch):
    letter = _letter(newsletter, server, monkeypatch, 'id: "urn:uuid:6c0a1e4e-2f4b-4c39-9d7e-0d6e3c1c2a11"')
    _kill_before(letter, server, READERS[2])
    assert server.recorder.rcpt_counts() == {READERS[0]: 1, READERS[1]: 1}
    old = letter.root / "posts/2025-04-01-day-two.md"
    old.rename(old.with_name("2025-04-01-conference-day-two.md"))

    status = letter.run("status")
    assert "conference-day-two" in status.stdout and "send interrupted after 2 recipients" in status.stdout
    result = letter.run("send", "--yes")

    assert result.exit_code == 0, result.output
    assert "(resuming: 2 of 5 already done)" in result.stdout
    assert server.recorder.rcpt_counts() == {address: 1 for address in READERS}
    issues = json.loads((letter.root / "manifest.json").read_text())["issues"]
    assert list(issues) == ["conference-day-two"]
    assert issues["conference-day-two"]["id"] == "urn:uuid:6c0a1e4e-2f4b-4c39-9d7e-0d6e3c1c2a11"
    assert issues["conference-day-two"]["recipients"] == {"sent": 5, "failed": 0}


def test_a_journal_whose_issue_is_gone_is_left_alone_and_named(newsletter, server, monkeypatch):
    letter = _letter(newsletter, server, monkeypatch, 'id: "urn:uuid:1"')
    _kill_before(letter, server, READERS[2])
    letter.post("2025-04-01-day-two", 'title: "Day Two"\ndate: 2025-04-01 09:00\nid: "urn:uuid:2"')

    result = letter.run("send", "--yes")

    assert result.exit_code == 0, result.output
    assert "an unfinished send of an issue that no post has the id of any more" in result.stderr
    assert server.recorder.rcpt_counts() == {READERS[0]: 2, READERS[1]: 2, **{a: 1 for a in READERS[2:]}}
