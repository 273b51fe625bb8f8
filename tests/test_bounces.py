"""Bounces and complaints remembered: SMTP refusals during a send, and reports read later from a
Maildir or a real IMAP server (Dovecot on 127.0.0.1), against a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import csv
import json
import mailbox
import os
import shutil
import signal
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
from imapclient import DELETED, IMAPClient

import bounce_samples as samples
from imap_server import PASSWORD, USER, ImapServer
from newsletter.send.failures import PermanentFailure
from newsletter.send.suppression import Suppression, SuppressionKind, SuppressionList
from smtp_server import TOKEN_SECRET, SmtpServer, send_config

SLUG = "day-two"
READERS = [f"reader{number:02d}@example.org" for number in range(12)]


@pytest.fixture
def server():
    with SmtpServer() as running:
        yield running


@pytest.fixture
def letter(newsletter, server, monkeypatch):
    """A newsletter of twelve readers and one issue, sending to the test server."""
    monkeypatch.setenv("NEWSLETTER_TOKEN_SECRET", TOKEN_SECRET)
    newsletter.base_config = (newsletter.root / "newsletter.toml").read_text() + send_config(server.port)
    newsletter.write("newsletter.toml", newsletter.base_config)
    newsletter.write("subscribers.csv", "email,name\n" + "".join(f"{a},Reader\n" for a in READERS))
    newsletter.write("unsubscribed.txt", "# asked to leave\n")
    newsletter.post("2025-04-01-day-two", 'title: "Day Two"\ndate: 2025-04-01 09:00')
    return newsletter


def _rows(letter) -> list[dict[str, str]]:
    with open(letter.root / "bounced.csv", newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _attempts(server) -> list[str]:
    attempts: list[str] = []
    server.recorder.on_rcpt = lambda address: attempts.append(address.lower())
    return attempts


# ----- refusals during a send


def test_addresses_refused_for_good_are_suppressed_and_never_tried_again(letter, server):
    recorder = server.recorder
    recorder.rcpt_replies = {READERS[1]: ["550 5.1.1 <reader01@example.org>: no such user"],
                             READERS[2]: ["553 mailbox name not allowed"],
                             READERS[3]: ["554 5.7.1 rejected by policy: listed on a blocklist"]}
    recorder.data_replies = {READERS[4]: ["550 5.1.1 mailbox unknown, found after DATA"]}

    first = letter.run("send", "--yes")

    assert first.exit_code == 0, first.output
    assert "reader01@example.org: refused by the server: 550 5.1.1" in first.output
    rows = _rows(letter)
    assert [(row["email"], row["kind"]) for row in rows] == [
        (READERS[1], "refused"), (READERS[2], "refused"), (READERS[4], "refused")]
    assert rows[0]["reason"] == "550 5.1.1 <reader01@example.org>: no such user"
    assert datetime.fromisoformat(rows[0]["date"]).tzinfo is not None
    # A refusal by policy says nothing about the address: it stays on the list.
    assert READERS[3] not in {row["email"] for row in rows}

    letter.post("2025-04-08-day-three", 'title: "Day Three"\ndate: 2025-04-08 09:00')
    attempts = _attempts(server)
    second = letter.run("send", "--yes")

    assert second.exit_code == 0, second.output
    assert "Sent day-three to 9 recipients" in second.output
    assert sorted(attempts) == sorted(set(READERS) - {READERS[1], READERS[2], READERS[4]})
    assert json.loads((letter.root / "manifest.json").read_text())["issues"]["day-three"]["recipients"] == {
        "sent": 9, "failed": 0}


def test_a_send_killed_just_after_a_refusal_loses_nothing(letter, server):
    refused, next_one = READERS[4], READERS[5]
    server.recorder.rcpt_replies = {refused: ["550 5.1.1 no such user"]}
    process = subprocess.Popen([sys.executable, "-m", "newsletter", "--dir", str(letter.root), "send", "--yes"],
                               env=dict(os.environ), stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def kill(address: str) -> None:
        if address.lower() == next_one:  # the refusal has been dealt with; the next message not yet sent
            process.send_signal(signal.SIGKILL)

    server.recorder.on_rcpt = kill
    process.communicate(timeout=60)
    assert process.returncode == -signal.SIGKILL
    server.recorder.on_rcpt = None
    assert [row["email"] for row in _rows(letter)] == [refused]

    attempts = _attempts(server)
    result = letter.run("send", "--yes")

    assert result.exit_code == 0, result.output
    assert refused not in attempts
    assert server.recorder.rcpt_counts() == dict.fromkeys(set(READERS) - {refused}, 1)


def test_a_row_torn_by_a_kill_is_cut_off_before_the_next_is_appended(tmp_path):
    path = tmp_path / "bounced.csv"
    path.write_text("email,date,kind,reason\nkept@example.org,2025-04-01T10:00:00+00:00,refused,550 gone\n"
                    "torn@exam", encoding="utf-8")
    suppressed = SuppressionList(path, tmp_path)
    assert suppressed.addresses() == {"kept@example.org"}

    added = suppressed.add([Suppression("new@example.org", SuppressionKind.BOUNCED, "550 5.1.1\r\nno such user"),
                            Suppression("KEPT@example.org", SuppressionKind.BOUNCED, "again")])

    assert [entry.email for entry in added] == ["new@example.org"]
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "email,date,kind,reason" and len(lines) == 3
    assert lines[2].startswith("new@example.org,") and lines[2].endswith(",bounced,550 5.1.1 no such user")
    assert SuppressionList(path, tmp_path).addresses() == {"kept@example.org", "new@example.org"}


def test_a_bad_row_in_the_suppression_list_stops_the_send_naming_the_line(letter, server):
    letter.write("bounced.csv", "email,date,kind,reason\nok@example.org,,refused,x\nnot an address,,refused,x\n")
    result = letter.run("send", "--yes")
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "error: bounced.csv:3: email: 'not an address' is not an address like 'jana@example.com'; fix or delete the row"]
    assert server.recorder.received == []


@pytest.mark.parametrize(("reply", "suppresses"), [
    ("550 5.1.1 no such user", True), ("550 no such user here", True), ("551 user not local", True),
    ("553 5.1.3 bad address syntax", True), ("550 5.2.1 mailbox disabled", True),
    ("552 5.2.2 mailbox full", False), ("554 5.7.1 message rejected as spam", False),
    ("550 5.7.1 sender blocked by policy", False), ("554 transaction failed", False),
    ("552 5.3.4 message too big", False)])
def test_only_refusals_about_the_address_suppress_it(reply, suppresses):
    assert PermanentFailure(reply).about_address is suppresses


# ----- delivery reports in a Maildir


def _sent_ids(server) -> dict[str, str]:
    """The Message-ID each reader's copy carried, as the server received it."""
    return {message["To"].addresses[0].addr_spec: message["Message-ID"] for message in server.recorder.messages()}


def _report(sample, address: str, ids: dict[str, str], number: int) -> bytes:
    return sample(address, samples.original_headers(address, ids[address]), f"<report{number}@mx.example.net>")


def _maildir(path: Path, reports: list[bytes]) -> mailbox.Maildir:
    box = mailbox.Maildir(path, create=True)
    for report in reports:
        box.add(report)
    return box


def _bounce_reports(ids: dict[str, str]) -> dict[str, bytes]:
    """Every kind of report, each about another reader, keyed by the reader."""
    kinds = [*samples.HARD.values(), *samples.SOFT.values(), samples.arf_complaint, samples.vacation_reply]
    return {READERS[number]: _report(kind, READERS[number], ids, number) for number, kind in enumerate(kinds)}


def test_reports_in_a_maildir_suppress_hard_bounces_and_unsubscribe_complaints(letter, server, tmp_path):
    assert letter.run("send", "--yes").exit_code == 0
    reports = _bounce_reports(_sent_ids(server))
    box = _maildir(tmp_path / "bounces", list(reports.values()))

    result = letter.run("bounces", "--maildir", str(tmp_path / "bounces"))

    assert result.exit_code == 0, result.output
    assert "Read 9 new messages from" in result.output
    assert "5 hard bounces, 2 soft bounces, 1 complaint." in result.output
    assert "Added 5 addresses to bounced.csv; no send mails them again." in result.output
    assert "note: 1 message in" in result.output and "is not a delivery report or complaint" in result.output
    rows = _rows(letter)
    assert {row["email"]: row["kind"] for row in rows} == dict.fromkeys(READERS[:5], "bounced")
    assert "550 5.1.10 RESOLVER.ADR.RecipientNotFound" in rows[3]["reason"]
    assert (letter.root / "unsubscribed.txt").read_text().splitlines()[-1] == READERS[7]
    assert len(box) == 9  # nothing is deleted unless [bounces] delete says so

    status = letter.run("status")
    assert "5 bounced, 2 soft-bounced, 1 complained" in status.output

    before = {name: (letter.root / name).read_bytes() for name in ("bounced.csv", "unsubscribed.txt",
                                                                   ".newsletter/bounces.json")}
    again = letter.run("bounces", "--maildir", str(tmp_path / "bounces"))
    assert "Read 1 new message from" in again.output and "(8 processed before)" in again.output
    assert {name: (letter.root / name).read_bytes() for name in before} == before

    letter.post("2025-04-08-day-three", 'title: "Day Three"\ndate: 2025-04-08 09:00')
    attempts = _attempts(server)
    assert letter.run("send", "--yes").exit_code == 0
    assert sorted(attempts) == sorted(set(READERS) - set(READERS[:5]) - {READERS[7]})


def test_understood_reports_are_deleted_when_asked_and_the_rest_are_kept(letter, server, tmp_path):
    assert letter.run("send", "--yes").exit_code == 0
    reports = _bounce_reports(_sent_ids(server))
    box = _maildir(tmp_path / "bounces", list(reports.values()))
    letter.write("newsletter.toml", letter.base_config + '\n[bounces]\nmaildir = "../bounces"\ndelete = true\n')

    result = letter.run("bounces")

    assert result.exit_code == 0, result.output
    assert "Deleted 8 processed reports from ../bounces." in result.output
    (left,) = [box.get_bytes(key) for key in box.keys()]
    assert left == reports[READERS[8]]  # the out-of-office reply, untouched


def test_a_large_mailbox_is_read_in_several_processes_with_the_same_result(letter, tmp_path):
    shapes = [*samples.HARD.values(), samples.postfix_delayed, samples.arf_complaint, samples.vacation_reply]
    reports = []
    for number in range(480):  # above the size from which reports are parsed in worker processes
        address = f"many{number:03d}@example.org"
        original = samples.original_headers(address, f"<day-two.{number:020x}@example.com>")
        reports.append(shapes[number % len(shapes)](address, original, f"<many{number}@mx.example.net>"))
    _maildir(tmp_path / "box", reports)

    result = letter.run("bounces", "--maildir", str(tmp_path / "box"))

    assert result.exit_code == 0, result.output
    assert "Read 480 new messages" in result.output
    assert "300 hard bounces, 60 soft bounces, 60 complaints." in result.output
    assert {row["email"] for row in _rows(letter)} == {
        f"many{number:03d}@example.org" for number in range(480) if number % len(shapes) < 5}
    assert "300 bounced, 60 soft-bounced, 60 complained" in letter.run("status").output


def _issue_report(address: str, slug: str, number: int, sample=samples.postfix_delayed) -> bytes:
    message_id = f"<{slug}.{number:020x}@example.com>"
    return sample(address, samples.original_headers(address, message_id), f"<soft{number}@mx.example.net>")


def _sent_issues(letter, *slugs: str) -> None:
    issues = {slug: {"id": slug, "subject": slug, "sent_at": f"2025-04-{day + 1:02d}T09:00:00+00:00",
                     "sha256": "", "recipients": {"sent": 12, "failed": 0}} for day, slug in enumerate(slugs)}
    letter.write("manifest.json", json.dumps({"issues": issues}))


def test_soft_bounces_suppress_an_address_only_on_soft_limit_issues_in_a_row(letter, tmp_path):
    letter.write("newsletter.toml", letter.base_config + "\n[bounces]\nsoft_limit = 3\n")
    _sent_issues(letter, "one", "two", "three", "four")
    steady, patchy = READERS[0], READERS[1]
    # `patchy` did not bounce on "two": the run starts again after it.
    _maildir(tmp_path / "box", [_issue_report(steady, "one", 1), _issue_report(steady, "two", 2),
                                _issue_report(patchy, "one", 3), _issue_report(patchy, "three", 4),
                                _issue_report(patchy, "four", 5)])
    assert letter.run("bounces", "--maildir", str(tmp_path / "box")).exit_code == 0
    assert not (letter.root / "bounced.csv").exists()

    # The third issue in a row, reported late and out of order, is the one that counts.
    _maildir(tmp_path / "box", [_issue_report(steady, "three", 6, samples.gmail_mailbox_full)])
    result = letter.run("bounces", "--maildir", str(tmp_path / "box"))

    assert result.exit_code == 0, result.output
    (row,) = _rows(letter)
    assert (row["email"], row["kind"]) == (steady, "soft")
    assert row["reason"].startswith("soft bounces on 3 issues in a row; last: smtp; 552-5.2.2")


def test_a_complaint_without_an_unsubscribe_list_is_suppressed(letter, server, tmp_path):
    letter.write("newsletter.toml", letter.base_config.replace('unsubscribed = "unsubscribed.txt"\n', ""))
    assert letter.run("send", "--yes").exit_code == 0
    _maildir(tmp_path / "box", [_report(samples.arf_complaint, READERS[5], _sent_ids(server), 1)])
    assert letter.run("bounces", "--maildir", str(tmp_path / "box")).exit_code == 0
    assert [(row["email"], row["kind"], row["reason"]) for row in _rows(letter)] == [
        (READERS[5], "complaint", "complaint (abuse) via ExampleFBL/2.1")]


def test_a_complaint_that_hides_the_complainer_unsubscribes_whom_the_copy_was_sent_to(letter, server, tmp_path):
    assert letter.run("send", "--yes").exit_code == 0
    ids = _sent_ids(server)
    # One report names a made-up address; the other none at all. Only the Message-IDs are real.
    made_up = samples.hidden_complaint("redacted@example.org",
                                       samples.original_headers("redacted@example.org", ids[READERS[3]]), "<c1@cfl>")
    nameless = samples.hidden_complaint("", samples.original_headers("", ids[READERS[6]]), "<c2@cfl>")
    _maildir(tmp_path / "box", [made_up, nameless])

    result = letter.run("bounces", "--maildir", str(tmp_path / "box"))

    assert result.exit_code == 0, result.output
    assert "2 complaints." in result.output and "note:" not in result.output
    # Reports are read in the order of their Maildir names, which need not be the order they came in.
    assert sorted((letter.root / "unsubscribed.txt").read_text().splitlines()[1:]) == [READERS[3], READERS[6]]
    assert "2 complained" in letter.run("status").output
    attempts = _attempts(server)
    letter.post("2025-04-08-day-three", 'title: "Day Three"\ndate: 2025-04-08 09:00')
    assert letter.run("send", "--yes").exit_code == 0
    assert sorted(attempts) == sorted(set(READERS) - {READERS[3], READERS[6]})


def test_a_hidden_complaint_about_a_send_with_no_journal_is_left_for_a_person(letter, tmp_path):
    nameless = samples.hidden_complaint(
        "", samples.original_headers("", "<day-two.0123456789abcdef0123@example.com>"), "<c3@cfl>")
    _maildir(tmp_path / "box", [nameless])

    result = letter.run("bounces", "--maildir", str(tmp_path / "box"))

    assert result.exit_code == 0, result.output
    assert "note: 1 message in" in result.output
    assert (letter.root / "unsubscribed.txt").read_text() == "# asked to leave\n"


# ----- bad input


def test_reports_naming_no_real_address_are_left_and_remote_text_is_made_safe(letter, tmp_path):
    message_id = "<day-two.0123456789abcdef0123@example.com>"
    garbage = samples.postfix("not-an-address", samples.original_headers("x@example.org", message_id), "<r1@mx>")
    hostile = samples.postfix(READERS[0], samples.original_headers(READERS[0], message_id), "<r2@mx>")
    hostile = hostile.replace(b"Diagnostic-Code: smtp; 550", b"Diagnostic-Code: smtp; \x1b[2J550")
    _maildir(tmp_path / "box", [garbage, hostile])

    result = letter.run("bounces", "--maildir", str(tmp_path / "box"))

    assert result.exit_code == 0, result.output
    assert "note: 1 message in" in result.output
    (row,) = _rows(letter)
    assert row["email"] == READERS[0]
    assert row["reason"].startswith("smtp; [2J550 5.1.1") and "\x1b" not in result.output


def test_a_folder_that_is_not_a_maildir_is_an_error(letter, tmp_path):
    (tmp_path / "plain").mkdir()
    result = letter.run("bounces", "--maildir", str(tmp_path / "plain"))
    assert result.exit_code == 1
    assert "not a Maildir folder (it needs cur/ and new/ inside)" in result.output
    assert not (letter.root / ".newsletter/bounces.json").exists()


@pytest.mark.parametrize(("section", "env", "message"), [
    ("", {}, "newsletter.toml: [bounces]: set host (or export NEWSLETTER_IMAP_HOST) to read reports over IMAP"),
    ('host = "imap.example.com"\n', {}, "bounces.username: not set; set it or export NEWSLETTER_IMAP_USER"),
    ('host = "imap.example.com"\nusername = "bounces@example.com"\n', {},
     "bounces.password_env: the environment variable NEWSLETTER_IMAP_PASSWORD is not set"),
    ('host = "imap.example.com"\nsecurity = "none"\n', {"NEWSLETTER_IMAP_USER": "u", "NEWSLETTER_IMAP_PASSWORD": "p"},
     "bounces.security: \"none\" sends the password unencrypted"),
    ("soft_limit = 0\n", {}, "bounces.soft_limit: must be at least 1"),
])
def test_incomplete_imap_settings_are_errors(letter, monkeypatch, section, env, message):
    for name in ("NEWSLETTER_IMAP_HOST", "NEWSLETTER_IMAP_USER", "NEWSLETTER_IMAP_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    letter.write("newsletter.toml", letter.base_config + "\n[bounces]\n" + section)
    result = letter.run("bounces")
    assert result.exit_code == 1
    assert message in result.output
    assert len(result.output.strip().splitlines()) == 1


@pytest.mark.parametrize(("section", "port"), [
    ('security = "starttls"\n', 143),
    ('security = "none"\n', 143),
    ('security = "ssl"\n', 993),
    ("", 993),
    ('security = "starttls"\nport = 1143\n', 1143),
])
def test_the_imap_port_follows_the_security_unless_given(letter, monkeypatch, section, port):
    monkeypatch.setenv("NEWSLETTER_IMAP_PASSWORD", "p")
    # Nothing is expected to answer on 127.0.0.1 there: the error names the port that was tried.
    letter.write("newsletter.toml", letter.base_config + '\n[bounces]\nhost = "127.0.0.1"\nusername = "u"\n' + section)
    result = letter.run("bounces")
    assert result.exit_code == 1
    assert result.output.startswith(f"error: 127.0.0.1:{port}: ")
    assert len(result.output.strip().splitlines()) == 1


def test_a_bad_unsubscribe_list_stops_the_run_before_anything_is_written(letter, tmp_path):
    _maildir(tmp_path / "box", [samples.postfix(READERS[0], samples.original_headers(READERS[0], "<x@y>"), "<r@mx>")])
    letter.write("unsubscribed.txt", "fine@example.org\nnot an address\n")
    result = letter.run("bounces", "--maildir", str(tmp_path / "box"))
    assert result.exit_code == 1
    assert result.output.strip() == "error: unsubscribed.txt:2: 'not an address' is not an address like 'jana@example.com'"
    assert not (letter.root / "bounced.csv").exists()
    assert not (letter.root / ".newsletter/bounces.json").exists()


def test_a_damaged_ledger_is_an_error_that_says_what_to_do(letter, tmp_path):
    _maildir(tmp_path / "box", [])
    letter.write(".newsletter/bounces.json", "{not json")
    result = letter.run("bounces", "--maildir", str(tmp_path / "box"))
    assert result.exit_code == 1
    assert "error: .newsletter/bounces.json: damaged; move it aside" in result.output


def test_init_keeps_the_suppression_list_out_of_git(tmp_path):
    from click.testing import CliRunner

    from newsletter.cli import main

    assert CliRunner().invoke(main, ["init", str(tmp_path / "new")]).exit_code == 0
    assert "/bounced.csv" in (tmp_path / "new/.gitignore").read_text().splitlines()


# ----- a real IMAP server


@pytest.fixture
def imap():
    with ImapServer() as running:
        yield running


def _imap_client(imap: ImapServer) -> IMAPClient:
    client = IMAPClient("127.0.0.1", imap.port, ssl=False, timeout=10)
    client.login(USER, PASSWORD)
    client.select_folder("INBOX")
    return client


def test_reports_are_read_over_imap_and_only_understood_ones_deleted(letter, server, imap, monkeypatch):
    assert letter.run("send", "--yes").exit_code == 0
    reports = _bounce_reports(_sent_ids(server))
    with _imap_client(imap) as client:
        for report in reports.values():
            client.append("INBOX", report)
    monkeypatch.setenv("NEWSLETTER_IMAP_PASSWORD", PASSWORD)
    monkeypatch.delenv("NEWSLETTER_IMAP_HOST", raising=False)
    letter.write("newsletter.toml", letter.base_config + (
        f'\n[bounces]\nhost = "127.0.0.1"\nport = {imap.port}\nsecurity = "none"\nusername = "{USER}"\n'))

    first = letter.run("bounces")

    assert first.exit_code == 0, first.output + imap.log()
    assert "Read 9 new messages from INBOX on 127.0.0.1" in first.output
    assert {row["email"] for row in _rows(letter)} == set(READERS[:5])
    with _imap_client(imap) as client:
        assert len(client.search("ALL")) == 9
        assert client.search("SEEN") == []  # read without marking anything as read

    letter.write("newsletter.toml", (letter.root / "newsletter.toml").read_text() + "delete = true\n")
    before = (letter.root / ".newsletter/bounces.json").read_bytes()
    second = letter.run("bounces")

    assert second.exit_code == 0, second.output
    assert "Read 1 new message" in second.output and "(8 processed before)" in second.output
    assert "Deleted 8 processed reports" in second.output
    assert (letter.root / ".newsletter/bounces.json").read_bytes() == before
    with _imap_client(imap) as client:
        (uid,) = client.search("ALL")
        body = client.fetch([uid], ["BODY.PEEK[]"])[uid][b"BODY[]"]
    assert b"Subject: Automatic reply: Day Two" in body


def test_without_uidplus_reports_are_not_expunged_while_other_mail_is_marked_deleted(letter, server, monkeypatch):
    assert letter.run("send", "--yes").exit_code == 0
    reports = _bounce_reports(_sent_ids(server))
    # Dovecot's capabilities without UIDPLUS: an EXPUNGE here can only remove every marked message.
    with ImapServer(capability="IMAP4rev1 LITERAL+ SASL-IR LOGIN-REFERRALS ID ENABLE IDLE") as imap:
        with _imap_client(imap) as client:
            assert not client.has_capability("UIDPLUS")
            for report in reports.values():
                client.append("INBOX", report)
            client.append("INBOX", b"From: a@example.net\r\nSubject: keep me\r\n\r\nThe writer's own mail.\r\n")
            (mine,) = client.search(["SUBJECT", "keep me"])
            client.add_flags([mine], [DELETED])  # marked by the writer's mail client, not expunged yet
        monkeypatch.setenv("NEWSLETTER_IMAP_PASSWORD", PASSWORD)
        letter.write("newsletter.toml", letter.base_config + (
            f'\n[bounces]\nhost = "127.0.0.1"\nport = {imap.port}\nsecurity = "none"\nusername = "{USER}"\n'
            "delete = true\n"))

        first = letter.run("bounces")

        assert first.exit_code == 0, first.output + imap.log()
        assert "Deleted" not in first.output
        assert "note: marked 8 processed reports in INBOX on 127.0.0.1" in first.output
        with _imap_client(imap) as client:
            assert len(client.search("ALL")) == 10 and len(client.search("DELETED")) == 9
            client.remove_flags([mine], [DELETED])  # the writer changed their mind

        second = letter.run("bounces")

        assert second.exit_code == 0, second.output
        assert "Deleted 8 processed reports" in second.output and "note: marked" not in second.output
        with _imap_client(imap) as client:
            kept = client.fetch(client.search("ALL"), ["BODY.PEEK[HEADER.FIELDS (SUBJECT)]"])
        assert sorted(b" ".join(data[b"BODY[HEADER.FIELDS (SUBJECT)]"].split()) for data in kept.values()) == [
            b"Subject: Automatic reply: Day Two", b"Subject: keep me"]


def test_a_wrong_imap_password_is_a_one_line_error(letter, imap, monkeypatch):
    monkeypatch.setenv("NEWSLETTER_IMAP_PASSWORD", "wrong")
    letter.write("newsletter.toml", letter.base_config + (
        f'\n[bounces]\nhost = "127.0.0.1"\nport = {imap.port}\nsecurity = "none"\nusername = "{USER}"\n'))
    result = letter.run("bounces")
    assert result.exit_code == 1
    assert result.output.strip() == (f"error: 127.0.0.1:{imap.port}: the server refused the login for 'bounces'; "
                                     "check the user and the password")
    assert "wrong" not in result.output


def test_the_ci_example_keeps_the_suppression_list_between_runs_out_of_git():
    import yaml

    workflow = yaml.safe_load((Path(__file__).resolve().parents[1] / "examples/github-actions-send.yml").read_text())
    steps = workflow["jobs"]["publish-and-send"]["steps"]
    names = [step.get("name", "") for step in steps]
    send = names.index("Send the issues that are due")
    decrypt, encrypt = names.index("Decrypt the send state"), names.index("Encrypt the send state for the next run")
    restore = next(i for i, name in enumerate(names) if name.startswith("Restore the send state"))
    keep = names.index("Keep the send state")
    assert restore < decrypt < send < encrypt < keep
    assert "bounced.csv" in steps[encrypt]["run"] and ".newsletter/journal" in steps[encrypt]["run"]
    # Only the encrypted file goes into the cache, which other branches' workflows can restore.
    cached = [step["with"]["path"] for step in steps if str(step.get("uses", "")).startswith("actions/cache")]
    assert cached == ["send-state.enc", "send-state.enc"]
    assert all("secrets.NEWSLETTER_STATE_KEY" in steps[i]["env"]["STATE_KEY"] for i in (decrypt, encrypt))
    assert not any("git add" in step.get("run", "") and "bounced.csv" in step.get("run", "") for step in steps)


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")
def test_the_ci_examples_send_state_round_trips_and_reads_as_nothing_without_the_key(tmp_path):
    import yaml

    workflow = yaml.safe_load((Path(__file__).resolve().parents[1] / "examples/github-actions-send.yml").read_text())
    steps = {step.get("name", ""): step for step in workflow["jobs"]["publish-and-send"]["steps"]}
    encrypt, decrypt = steps["Encrypt the send state for the next run"]["run"], steps["Decrypt the send state"]["run"]
    (tmp_path / ".newsletter/journal").mkdir(parents=True)
    (tmp_path / ".newsletter/journal/issue.jsonl").write_text('{"type":"sent","to":"ann@example.com"}\n')
    (tmp_path / "bounced.csv").write_text("email,date,kind,reason\ngone@example.org,2025-04-01,refused,550\n")
    env = {**os.environ, "STATE_KEY": "a long passphrase from the secrets"}
    subprocess.run(["bash", "-e", "-c", encrypt], cwd=tmp_path, env=env, check=True)
    sealed = (tmp_path / "send-state.enc").read_bytes()
    assert b"ann@example.com" not in sealed and b"gone@example.org" not in sealed
    shutil.rmtree(tmp_path / ".newsletter")
    (tmp_path / "bounced.csv").unlink()
    wrong = subprocess.run(["bash", "-e", "-c", decrypt], cwd=tmp_path, env={**env, "STATE_KEY": "guess"},
                           capture_output=True)
    assert wrong.returncode != 0 and not (tmp_path / "bounced.csv").exists()
    subprocess.run(["bash", "-e", "-c", decrypt], cwd=tmp_path, env=env, check=True)
    assert "gone@example.org" in (tmp_path / "bounced.csv").read_text()
    assert "ann@example.com" in (tmp_path / ".newsletter/journal/issue.jsonl").read_text()
