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


# --- what the journal reads: damage is named, never counted --------------------------------------

from newsletter.errors import ManifestError  # noqa: E402
from newsletter.send.journal import Journal  # noqa: E402

START = b'{"type":"start","run":"r1","slug":"day-two","id":"x","recipients":3}\n'
SENT = b'{"type":"sent","to":"ann@example.com"}\n'


def _journal(tmp_path, data: bytes) -> Journal:
    path = Journal.path_for(tmp_path, "k")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return Journal(path, tmp_path)


def test_a_line_that_is_not_utf8_is_named_and_the_file_left_as_it_was(tmp_path):
    data = START + b'{"type":"sent","to":"b\xffb@example.com"}\n' + SENT
    journal = _journal(tmp_path, data)
    with pytest.raises(ManifestError) as caught:
        journal.open()
    assert str(caught.value) == (".newsletter/journal/k.jsonl:2: damaged journal line (not UTF-8); delete or "
                                 "correct that line and run again (only the recipient it was about could then "
                                 "get the issue twice)")
    assert journal.path.read_bytes() == data


def test_a_torn_last_line_that_is_not_utf8_is_cut_off_exactly(tmp_path):
    journal = _journal(tmp_path, START + SENT + b'{"type":"sent","to":"\xc3')
    state = journal.open()
    journal.close()
    assert journal.path.read_bytes() == START + SENT  # no NUL bytes, nothing of the torn line
    assert state.count("sent") == 1


@pytest.mark.parametrize("line, what", [
    (b'[1, 2]', 'not an object with a "type"'),
    (b'"sent"', 'not an object with a "type"'),
    (b'{"type": 5, "to": "ann@example.com"}', 'not an object with a "type"'),
    (b'{"type": "sent"}', '"to" is not an address'),
    (b'{"type": "sent", "to": 5}', '"to" is not an address'),
    (b'{"type": "sent", "to": " ann@example.com"}', '"to" is not an address'),
    (b'{"type": "failed", "to": "ann@example.com", "reply": ["550"]}', "reply is not text"),
    (b'{"type": "start", "run": 7}', "run is not text"),
    (b'{"type": "start", "run": "r", "recipients": "3"}', "recipients is not a whole number"),
    (b'{"type": "complete", "sent_at": {}}', "sent_at is not text"),
    (b'[' * 100_000, "not JSON"),
])
def test_a_record_of_the_wrong_shape_is_an_error_naming_its_line(tmp_path, line, what):
    journal = _journal(tmp_path, START + line + b"\n" + SENT)
    with pytest.raises(ManifestError, match=rf"^\.newsletter/journal/k\.jsonl:2: damaged journal line \({what}\)"):
        journal.read()


def test_records_of_an_unknown_type_are_skipped_and_counted_nowhere(tmp_path):
    state = _journal(tmp_path, START + b'{"type":"bounced","to":"bob@example.com"}\n' + SENT).read()
    assert state.states == {"ann@example.com": "sent"}


def test_a_resume_over_a_damaged_journal_is_one_clear_error_and_sends_nothing(newsletter, server, monkeypatch):
    letter = _letter(newsletter, server, monkeypatch, 'id: "urn:uuid:3"')
    _kill_before(letter, server, READERS[2])
    (path,) = [p for p in (letter.root / ".newsletter/journal").glob("*.jsonl") if "." not in p.stem]
    lines = path.read_bytes().split(b"\n")
    path.write_bytes(b"\n".join([*lines[:2], b'{"type":"sent","to":21}', *lines[2:]]))
    before = len(server.recorder.received)

    result = letter.run("send", "--yes")
    status = letter.run("status")

    assert result.exit_code == 1 and status.exit_code == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert errors == [f"error: .newsletter/journal/{path.name}:3: damaged journal line (\"to\" is not an "
                      "address); delete or correct that line and run again (only the recipient it was "
                      "about could then get the issue twice)"]
    assert "Traceback" not in result.output + status.output
    assert len(server.recorder.received) == before
