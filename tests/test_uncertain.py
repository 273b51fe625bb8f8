"""Uncertain recipients, in the open: a sender killed after handing a message over, and a server that
drops the connection after the final '.', under both `[send] uncertain` settings (real SMTP server)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest

from smtp_server import TOKEN_SECRET, Recorder, SmtpServer, send_config

SLUG = "day-two"
READERS = [f"reader{number}@example.com" for number in range(5)]
TARGET = READERS[2]


@pytest.fixture
def server():
    with SmtpServer() as running:
        yield running


def _letter(newsletter, server, policy: str | None, monkeypatch):
    monkeypatch.setenv("NEWSLETTER_TOKEN_SECRET", TOKEN_SECRET)
    config = (newsletter.root / "newsletter.toml").read_text() + send_config(server.port, unsubscribed="")
    if policy is not None:
        config += f'\n[send]\nuncertain = "{policy}"\n'
    newsletter.write("newsletter.toml", config)
    newsletter.write("subscribers.csv", "email,name\n" + "".join(f"{a},Reader\n" for a in READERS))
    newsletter.post("2025-04-01-day-two", 'title: "Day Two"\ndate: 2025-04-01 09:00')
    return newsletter


def _recipients(letter) -> dict:
    return json.loads((letter.root / "manifest.json").read_text())["issues"][SLUG]["recipients"]


def _message_ids(server, address: str) -> list[str]:
    return [received.message["Message-ID"] for received in server.recorder.received
            if received.rcpt_tos == (address,)]


def _status_line(letter) -> str:
    result = letter.run("status")
    assert result.exit_code == 0, result.output
    return next(line for line in result.stdout.splitlines() if f" {SLUG} " in line)


def test_a_lost_reply_is_uncertain_and_skipped_until_resend_uncertain(newsletter, server, monkeypatch):
    letter = _letter(newsletter, server, None, monkeypatch)
    server.recorder.drop_after_data = {TARGET}

    result = letter.run("send", "--yes")

    assert result.exit_code == 0, result.output
    assert server.recorder.rcpt_counts() == {address: 1 for address in READERS}
    assert (f"Uncertain: 1 recipient of {SLUG} got the whole message but no answer came from the server; "
            f"counted as probably delivered; 'newsletter send --resend-uncertain {SLUG}' mails them again."
            ) in result.stdout
    assert f"warning: {SLUG}: {TARGET}: uncertain (the connection to 127.0.0.1:{server.port} was lost after the " \
           "whole message was sent" in result.stderr
    assert _recipients(letter) == {"sent": 4, "failed": 0, "uncertain": 1}
    status = _status_line(letter)
    assert "to 4, 1 uncertain" in status and f"--resend-uncertain {SLUG}" in status
    sent_at = json.loads((letter.root / "manifest.json").read_text())["issues"][SLUG]["sent_at"]

    again = letter.run("send", "--resend-uncertain", "--yes")

    assert again.exit_code == 0, again.output
    assert "(resuming: 4 of 5 already done; 1 uncertain recipient mailed again)" in again.stdout
    counts = server.recorder.rcpt_counts()
    assert counts[TARGET] == 2 and all(counts[address] == 1 for address in READERS if address != TARGET)
    first, second = _message_ids(server, TARGET)
    assert first == second
    assert _recipients(letter) == {"sent": 5, "failed": 0}
    assert json.loads((letter.root / "manifest.json").read_text())["issues"][SLUG]["sent_at"] == sent_at
    assert "uncertain" not in _status_line(letter)
    assert letter.run("send", "--resend-uncertain", "--yes").stdout.startswith(
        "Nothing to send: no recipient is uncertain.")
    named = letter.run("send", SLUG, "--resend-uncertain", "--yes")
    assert named.exit_code == 1 and "no recipient of it is uncertain" in named.stderr


def test_a_lost_reply_is_mailed_again_at_once_with_resend(newsletter, server, monkeypatch):
    letter = _letter(newsletter, server, "resend", monkeypatch)
    server.recorder.drop_after_data = {TARGET}

    result = letter.run("send", "--yes")

    assert result.exit_code == 0, result.output
    counts = server.recorder.rcpt_counts()
    assert counts[TARGET] == 2 and sum(counts.values()) == 6
    first, second = _message_ids(server, TARGET)
    assert first == second  # a mailbox that got both folds them into one
    assert _recipients(letter) == {"sent": 5, "failed": 0}
    assert "Uncertain:" not in result.stdout


def test_a_connection_dropped_inside_data_ends_in_exactly_one_copy_with_resend(newsletter, server, monkeypatch):
    letter = _letter(newsletter, server, "resend", monkeypatch)
    server.recorder.drop_in_data = {TARGET}

    result = letter.run("send", "--yes")

    assert result.exit_code == 0, result.output
    assert server.recorder.rcpt_counts() == {address: 1 for address in READERS}
    assert _recipients(letter) == {"sent": 5, "failed": 0}


def _killed_in_data(letter, recorder: Recorder) -> None:
    """Run `newsletter send` in a process of its own and SIGKILL it once the server has TARGET's message."""
    process = subprocess.Popen([sys.executable, "-m", "newsletter", "--dir", str(letter.root), "send", "--yes"],
                               env=dict(os.environ), stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def on_message(received) -> None:
        if received.rcpt_tos == (TARGET,):
            process.send_signal(signal.SIGKILL)  # the server has the message; the sender never hears so

    recorder.on_message = on_message
    _, errors = process.communicate(timeout=60)
    recorder.on_message = None
    assert process.returncode == -signal.SIGKILL, errors.decode()


@pytest.mark.parametrize("policy, copies", [(None, 1), ("skip", 1), ("resend", 2)])
def test_a_sender_killed_after_the_hand_over_follows_the_policy_on_resume(newsletter, server, monkeypatch,
                                                                          policy, copies):
    letter = _letter(newsletter, server, policy, monkeypatch)
    _killed_in_data(letter, server.recorder)
    assert "send interrupted after 3 recipients, 1 of them uncertain" in _status_line(letter)

    result = letter.run("send", "--yes")

    assert result.exit_code == 0, result.output
    counts = server.recorder.rcpt_counts()
    assert counts[TARGET] == copies and all(counts[address] == 1 for address in READERS if address != TARGET)
    assert len(set(_message_ids(server, TARGET))) == 1
    if copies == 1:
        assert _recipients(letter) == {"sent": 4, "failed": 0, "uncertain": 1}
        assert f"Uncertain: 1 recipient of {SLUG}" in result.stdout
        assert f"warning: {SLUG}: {TARGET}: uncertain" in result.stderr
    else:
        assert "(resuming: 2 of 5 already done; 1 uncertain recipient mailed again)" in result.stdout
        assert _recipients(letter) == {"sent": 5, "failed": 0}
        assert "Uncertain:" not in result.stdout
