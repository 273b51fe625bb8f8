"""`newsletter send` and `newsletter status` against a real SMTP server (aiosmtpd on 127.0.0.1)."""

from __future__ import annotations

import email
import hashlib
import hmac
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
from email import policy
from pathlib import Path

import pytest

from newsletter.build.phases import load_site
from newsletter.outputs.email import render_email
from newsletter.render.templates import make_environment
from smtp_server import TOKEN_SECRET, SmtpServer, send_config

SUBSCRIBERS = (
    'email,name,city\n'
    'ann@example.com,Ann,Brno\n'
    '"bob@example.com","Bob\r\nBcc: evil@example.com",Praha\n'
    'ANN@example.com,Ann again,Olomouc\n'
    'carol@example.com,<Carol & Co>,Ostrava\n'
    'gone@example.com,Gone,Plzen\n'
)
MAILED = {"ann@example.com", "bob@example.com", "carol@example.com"}
SLUG = "day-two"
BODY = """\
Hello {subscriber.name} from {subscriber.city}.

.a line that starts with a dot
"""


@pytest.fixture
def server():
    with SmtpServer() as running:
        yield running


@pytest.fixture
def letter(newsletter, server, monkeypatch):
    """A newsletter with three mailable subscribers and one issue, sending to the test server."""
    monkeypatch.setenv("NEWSLETTER_TOKEN_SECRET", TOKEN_SECRET)
    monkeypatch.delenv("NEWSLETTER_SMTP_PASSWORD", raising=False)
    newsletter.base_config = (newsletter.root / "newsletter.toml").read_text()
    newsletter.write("newsletter.toml", newsletter.base_config + send_config(server.port))
    (newsletter.root / "subscribers.csv").write_text(SUBSCRIBERS, encoding="utf-8", newline="")
    newsletter.write("unsubscribed.txt", "# asked to leave\nGONE@example.com\n")
    newsletter.post("2025-04-01-day-two", 'title: "Day Two\\r\\nBcc: x@example.com"\ndate: 2025-04-01 09:00', BODY)
    return newsletter


def _configure(letter, server, **options) -> None:
    letter.write("newsletter.toml", letter.base_config + send_config(server.port, **options))


def _manifest(letter) -> dict:
    return json.loads((letter.root / "manifest.json").read_text())


def _header_names(raw: bytes) -> list[str]:
    head = raw.split(b"\r\n\r\n", 1)[0].decode("ascii")
    return [line.split(":", 1)[0] for line in head.split("\r\n") if line and line[0] not in " \t"]


def _token(address: str) -> str:
    return hmac.new(TOKEN_SECRET.encode(), address.lower().encode(), hashlib.sha256).hexdigest()


def test_send_mails_each_subscriber_once_with_safe_headers(letter, server):
    result = letter.run("send", "--yes")

    assert result.exit_code == 0, result.output
    recorder = server.recorder
    assert recorder.rcpt_counts() == {address: 1 for address in MAILED}
    message_ids = set()
    for received in recorder.received:
        (address,) = received.rcpt_tos
        assert received.mail_from == "news@example.com"
        assert _header_names(received.data) == [
            "From", "To", "Subject", "Date", "Message-ID", "List-Id", "List-Unsubscribe",
            "List-Unsubscribe-Post",
            "MIME-Version", "Content-Type"]
        message = received.message
        assert [a.addr_spec for a in message["To"].addresses] == [address]
        assert message["Subject"] == "Day Two Bcc: x@example.com"
        assert message["Bcc"] is None and message["Cc"] is None
        assert message["Date"].datetime is not None
        message_ids.add(message["Message-ID"])
        # On the wire, not only once decoded: providers read these headers as they are.
        url = f"https://example.com/unsubscribe?email={address}&token={_token(address)}"
        assert f"<{url}>".encode() in received.data
        assert b"<mailto:unsubscribe@example.com?subject=unsubscribe>" in received.data
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        text = message.get_body(("plain",)).get_content().replace("\r\n", "\n")
        html = message.get_body(("html",)).get_content()
        assert "\n.a line that starts with a dot\n" in text
        assert url.replace("&", "&amp;") in html or url in html
        if address == "carol@example.com":
            assert "Hello <Carol & Co> from Ostrava." in text
            assert "Hello &lt;Carol &amp; Co&gt; from Ostrava." in html
        if address == "bob@example.com":
            assert message["To"].addresses[0].display_name == "Bob Bcc: evil@example.com"
    assert len(message_ids) == 3

    site = load_site(letter.root)
    entry = next(e for e in site.entries if e.slug == SLUG)
    sha = hashlib.sha256(render_email(site, entry, make_environment(site.config)).built_html.encode()).hexdigest()
    text = (letter.root / "manifest.json").read_text()
    data = json.loads(text)
    assert text == json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    record = data["issues"][SLUG]
    assert record["id"] == entry.id
    assert record["subject"] == "Day Two Bcc: x@example.com"
    assert record["recipients"] == {"sent": 3, "failed": 0}
    assert record["sha256"] == sha
    assert record["sent_at"].startswith("20")
    assert "Recorded day-two in manifest.json (3 sent)" in result.stdout
    assert not (letter.root / ".newsletter/send.lock").exists()
    assert list((letter.root / ".newsletter/journal").glob("*.jsonl")) == list(
        (letter.root / ".newsletter/journal").glob("*.done.jsonl"))


def test_an_issue_is_sent_once_unless_resent(letter, server):
    assert letter.run("send", "--yes").exit_code == 0
    first = _manifest(letter)

    again = letter.run("send", "--yes")
    assert again.exit_code == 0
    assert "Nothing to send" in again.stdout
    refused = letter.run("send", SLUG, "--yes")
    assert refused.exit_code == 1
    assert refused.stderr.startswith("error: manifest.json: day-two: was sent on ")
    assert "--resend" in refused.stderr
    assert len(server.recorder.received) == 3
    assert _manifest(letter) == first

    resent = letter.run("send", SLUG, "--resend", "--yes")
    assert resent.exit_code == 0, resent.output
    assert server.recorder.rcpt_counts() == {address: 2 for address in MAILED}


def test_a_send_stopped_before_the_manifest_was_written_is_recorded_by_the_next(letter, server):
    first = letter.run("send", "--yes")
    assert first.exit_code == 0, first.output
    recorded = (letter.root / "manifest.json").read_bytes()
    (archived,) = (letter.root / ".newsletter/journal").glob("*.done.jsonl")
    pending = archived.with_name(archived.name.split(".")[0] + ".jsonl")
    archived.rename(pending)
    (letter.root / "manifest.json").unlink()
    assert "send interrupted after 3 recipients" in letter.run("status").stdout

    again = letter.run("send", "--yes")

    assert again.exit_code == 0, again.output
    assert "Nothing to send" in again.stdout
    assert (letter.root / "manifest.json").read_bytes() == recorded
    assert archived.exists() and not pending.exists()
    assert len(server.recorder.received) == 3


def test_mailto_only_has_no_one_click_header(letter, server):
    _configure(letter, server, unsubscribe_url="")
    assert letter.run("send", "--yes").exit_code == 0
    for message in server.recorder.messages():
        assert message["List-Unsubscribe"] == "<mailto:unsubscribe@example.com?subject=unsubscribe>"
        assert message["List-Unsubscribe-Post"] is None


def test_dry_run_writes_every_message_and_records_nothing(letter, server):
    _configure(letter, server, username="news@example.com")  # no password needed to rehearse
    result = letter.run("send", "--dry-run")

    assert result.exit_code == 0, result.output
    files = sorted((letter.root / ".newsletter/dry-run" / SLUG).glob("*.eml"))
    assert len(files) == 3
    recipients = {email.message_from_bytes(f.read_bytes(), policy=policy.default)["To"].addresses[0].addr_spec
                  for f in files}
    assert recipients == MAILED
    assert server.recorder.received == []
    assert not (letter.root / "manifest.json").exists()
    assert not list((letter.root / ".newsletter").glob("journal/*"))
    assert letter.run("send", "--dry-run").exit_code == 0  # and again: nothing was recorded
    assert len(list((letter.root / ".newsletter/dry-run" / SLUG).glob("*.eml"))) == 3


def test_to_sends_a_test_copy_only_there_and_records_nothing(letter, server):
    result = letter.run("send", SLUG, "--to", "me@example.com", "--to", "ann@example.com", "--yes")

    assert result.exit_code == 0, result.output
    assert server.recorder.rcpt_counts() == {"me@example.com": 1, "ann@example.com": 1}
    for message in server.recorder.messages():
        assert message["Subject"] == "[TEST] Day Two Bcc: x@example.com"
    ann = next(m for m in server.recorder.messages() if m["To"].addresses[0].addr_spec == "ann@example.com")
    assert "Hello Ann from Brno." in ann.get_body(("plain",)).get_content()
    assert not (letter.root / "manifest.json").exists()
    assert not list((letter.root / ".newsletter").glob("journal/*"))
    # The real send still goes to everyone.
    assert letter.run("send", "--yes").exit_code == 0
    assert server.recorder.rcpt_counts()["ann@example.com"] == 2


def test_to_takes_a_display_name_with_non_ascii_letters(letter, server):
    result = letter.run("send", SLUG, "--to", "Vojta Mareš <v@example.com>", "--to", "Anička <ann@example.com>",
                        "--yes")

    assert result.exit_code == 0, result.output
    assert "to v@example.com, ann@example.com" in result.stdout
    by_address = {m["To"].addresses[0].addr_spec: m for m in server.recorder.messages()}
    assert by_address["v@example.com"]["To"].addresses[0].display_name == "Vojta Mareš"
    assert "Hello Vojta Mareš from ." in by_address["v@example.com"].get_body(("plain",)).get_content()
    # On the list already: the name given wins, the other columns come from the list.
    ann = by_address["ann@example.com"]
    assert ann["To"].addresses[0].display_name == "Anička"
    assert "Hello Anička from Brno." in ann.get_body(("plain",)).get_content()
    raw = next(r.data for r in server.recorder.received if r.rcpt_tos == ("v@example.com",))
    assert raw.isascii()  # the name travels as an RFC 2047 encoded word


@pytest.mark.parametrize("given, message", [
    ("v@exämple.com", "'v@exämple.com' has a non-ASCII domain; write it as v@xn--exmple-cua.com"),
    ("vojta.mareš@example.com", "has non-ASCII characters before the @"),
    ("a@example.com, b@example.com", "is not one address like"),
    ("Vojta <v@example.com>\r\nBcc: evil@example.com", "has a line break or control character"),
])
def test_to_refuses_what_is_not_one_usable_address(letter, server, given, message):
    result = letter.run("send", SLUG, "--to", given, "--yes")
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith("error: --to: ") and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert server.recorder.received == []


def test_send_outside_a_newsletter_leaves_nothing_behind(tmp_path):
    from click.testing import CliRunner

    from newsletter.cli import main

    result = CliRunner().invoke(main, ["--dir", str(tmp_path), "send", "--yes"])
    assert result.exit_code == 1 and "newsletter.toml: not found" in result.output
    assert list(tmp_path.iterdir()) == []


def test_an_address_with_a_trailing_newline_is_refused(letter, server):
    result = letter.run("send", SLUG, "--to", "me@example.com\n", "--yes")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.stderr.startswith("error: ") and "is not an address" in result.stderr
    assert server.recorder.received == []


def test_drafts_and_scheduled_posts_are_never_sent(letter, server):
    letter.post("2025-04-02-draft", 'title: "Draft"\ndate: 2025-04-02\ndraft: true')
    letter.post("2099-01-01-future", 'title: "Future"\ndate: 2099-01-01')

    draft = letter.run("send", "draft", "--yes")
    assert draft.exit_code == 1
    assert draft.stderr.startswith("error: posts/2025-04-02-draft.md: is a draft")
    future = letter.run("send", "future", "--yes")
    assert future.exit_code == 1
    assert "is scheduled for 2099-01-01" in future.stderr
    assert server.recorder.received == []

    assert letter.run("send", "--yes").exit_code == 0
    assert set(_manifest(letter)["issues"]) == {SLUG}
    later = letter.run("send", "--yes", "--now", "2099-01-02T00:00+00:00")
    assert later.exit_code == 0, later.output
    assert set(_manifest(letter)["issues"]) == {SLUG, "future"}
    subjects = [m["Subject"] for m in server.recorder.messages()]
    assert subjects.count("Future") == 3 and "Draft" not in subjects


def test_issues_go_out_oldest_first(letter, server):
    letter.post("2025-03-01-earlier", 'title: "Earlier"\ndate: 2025-03-01')
    result = letter.run("send", "--yes", "--all-due")
    assert result.exit_code == 0, result.output
    assert result.stdout.index("Will send earlier") < result.stdout.index("Will send day-two")
    subjects = [m["Subject"] for m in server.recorder.messages()]
    assert subjects[:3] == ["Earlier"] * 3


def test_send_without_yes_and_without_a_terminal_refuses(letter, server):
    result = letter.run("send")
    assert result.exit_code == 1
    assert "pass --yes" in result.stderr
    assert "Will send day-two" in result.stdout and "to 3 recipients" in result.stdout
    assert server.recorder.received == []
    assert not (letter.root / "manifest.json").exists()


def _bad_csv(letter, server, monkeypatch):
    letter.write("subscribers.csv", "email,name\nann@example.com,Ann\nnot-an-address,Nope\n")
    return "error: subscribers.csv:3: email: 'not-an-address' is not an address"


def _missing_password(letter, server, monkeypatch):
    _configure(letter, server, username="news@example.com")
    return "smtp.password_env: the environment variable NEWSLETTER_SMTP_PASSWORD is not set"


def _bad_manifest(letter, server, monkeypatch):
    letter.write("manifest.json", '{\n  "issues": {,\n}\n')
    return "error: manifest.json:2: not valid JSON"


def _missing_token_secret(letter, server, monkeypatch):
    monkeypatch.delenv("NEWSLETTER_TOKEN_SECRET")
    return "email.unsubscribe_url: uses {token} but the environment variable NEWSLETTER_TOKEN_SECRET is not set"


def _no_unsubscribe(letter, server, monkeypatch):
    _configure(letter, server, unsubscribe_url="", unsubscribe_mailto="")
    return "email: set unsubscribe_url or unsubscribe_mailto"


def _plain_text_to_a_remote_host(letter, server, monkeypatch):
    _configure(letter, server, host="smtp.example.com")
    return "smtp.security: \"none\" sends the password and messages unencrypted"


def _unknown_merge_field(letter, server, monkeypatch):
    letter.post("2025-04-01-day-two", 'title: "Day Two"\ndate: 2025-04-01', "Hi {subscriber.nickname}!\n")
    return "error: posts/2025-04-01-day-two.md: {subscriber.nickname} is not a column of subscribers.csv"


@pytest.mark.parametrize("spoil", [_bad_csv, _missing_password, _bad_manifest, _missing_token_secret,
                                   _no_unsubscribe, _plain_text_to_a_remote_host, _unknown_merge_field])
def test_bad_input_is_one_clear_error_and_nothing_is_sent(letter, server, monkeypatch, spoil):
    expected = spoil(letter, server, monkeypatch)
    manifest_before = (letter.root / "manifest.json").read_bytes() if (letter.root / "manifest.json").exists() else None

    result = letter.run("send", "--yes")

    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert expected in lines[0]
    assert "Traceback" not in result.output
    assert server.recorder.received == []
    manifest_after = (letter.root / "manifest.json").read_bytes() if (letter.root / "manifest.json").exists() else None
    assert manifest_after == manifest_before
    assert not (letter.root / ".newsletter/send.lock").exists()


def test_errors_name_the_config_line(letter, server, monkeypatch):
    _configure(letter, server, username="news@example.com")
    result = letter.run("send", "--yes")
    text = (letter.root / "newsletter.toml").read_text().splitlines()
    line = next(n for n, t in enumerate(text, 1) if t.startswith("username"))
    assert result.stderr.startswith(f"error: newsletter.toml:{line}: smtp.password_env:")


def test_starttls_is_required_when_configured(letter, server):
    _configure(letter, server, security="starttls")
    result = letter.run("send", "--yes")
    assert result.exit_code == 1
    assert f"127.0.0.1:{server.port}: the server does not offer STARTTLS" in result.stderr
    assert server.recorder.received == []
    assert not (letter.root / "manifest.json").exists()


def test_starttls_with_a_trusted_certificate_sends_encrypted(letter, tmp_path, monkeypatch):
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("needs the openssl command to make a certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # the sender trusts exactly this certificate
    with SmtpServer(tls_context=context) as tls_server:
        _configure(letter, tls_server, security="starttls")
        result = letter.run("send", "--yes")
        assert result.exit_code == 0, result.output
        assert tls_server.recorder.rcpt_counts() == {address: 1 for address in MAILED}
        assert all(received.tls for received in tls_server.recorder.received)


def test_a_running_send_holds_the_lock(letter, server):
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        lock = letter.root / ".newsletter/send.lock"
        lock.parent.mkdir(parents=True)
        lock.write_text(json.dumps({"pid": sleeper.pid, "host": socket.gethostname(), "started": "now"}))
        result = letter.run("send", "--yes")
        assert result.exit_code == 1
        assert result.stderr.startswith(f"error: .newsletter/send.lock: another send is running (process {sleeper.pid}")
        assert server.recorder.received == []
        assert lock.exists()
    finally:
        sleeper.kill()
        sleeper.wait()


def test_a_stale_lock_is_taken_over(letter, server):
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead = int(finished.stdout)
    lock = letter.root / ".newsletter/send.lock"
    lock.parent.mkdir(parents=True)
    lock.write_text(json.dumps({"pid": dead, "host": socket.gethostname(), "started": "yesterday"}))

    result = letter.run("send", "--yes")

    assert result.exit_code == 0, result.output
    assert f"took over a stale lock left by process {dead}" in result.stderr
    assert server.recorder.rcpt_counts() == {address: 1 for address in MAILED}
    assert not lock.exists()


def test_status_shows_drafts_schedules_sends_and_edits(letter, server):
    letter.post("2025-04-02-draft", 'title: "Draft"\ndate: 2025-04-02\ndraft: true')
    letter.post("2099-01-01-future", 'title: "Future"\ndate: 2099-01-01 08:00')
    before = letter.run("status")
    assert before.exit_code == 0
    lines = {line.split()[2]: line for line in before.stdout.splitlines()}
    assert lines["day-two"].startswith("2025-04-01  published")
    assert lines["day-two"].endswith("not sent")
    assert lines["draft"].startswith("2025-04-02  draft")
    assert lines["future"].startswith("2099-01-01  scheduled") and "due 2099-01-01 08:00" in lines["future"]

    assert letter.run("send", "--yes").exit_code == 0
    sent = {line.split()[2]: line for line in letter.run("status").stdout.splitlines()}
    assert " sent 20" in sent["day-two"] and sent["day-two"].endswith("to 3")
    letter.post("2025-04-01-day-two", 'title: "Day Two"\ndate: 2025-04-01 09:00', BODY + "\nA late fix.\n")
    edited = {line.split()[2]: line for line in letter.run("status").stdout.splitlines()}
    assert edited["day-two"].endswith("to 3; edited since sent")


def test_status_reads_the_last_build_and_renders_only_what_changed_since(letter, server, monkeypatch):
    from newsletter.outputs import email as email_module

    assert letter.run("send", "--yes").exit_code == 0
    assert letter.run("build").exit_code == 0
    rendered: list[str] = []
    original = email_module.render_email
    monkeypatch.setattr(email_module, "render_email",
                        lambda site, entry, *rest: rendered.append(entry.slug) or original(site, entry, *rest))
    unchanged = {line.split()[2]: line for line in letter.run("status").stdout.splitlines()}
    assert unchanged["day-two"].endswith("to 3") and rendered == []  # the build's record says it all

    letter.post("2025-04-01-day-two", 'title: "Day Two"\ndate: 2025-04-01 09:00', BODY + "\nA late fix.\n")
    edited = {line.split()[2]: line for line in letter.run("status").stdout.splitlines()}
    assert edited["day-two"].endswith("to 3; edited since sent") and rendered == ["day-two"]
    assert letter.run("build").exit_code == 0
    rendered.clear()
    edited = {line.split()[2]: line for line in letter.run("status").stdout.splitlines()}
    assert edited["day-two"].endswith("to 3; edited since sent") and rendered == []


def test_python_dash_m_runs_the_cli(letter):
    result = subprocess.run([sys.executable, "-m", "newsletter", "--dir", str(letter.root), "status"],
                            capture_output=True, text=True, env=dict(os.environ))
    assert result.returncode == 0, result.stderr
    assert "day-two" in result.stdout


def test_the_ci_example_sends_with_secrets_one_run_at_a_time():
    yaml = pytest.importorskip("yaml")
    workflow = yaml.safe_load((Path(__file__).resolve().parents[1] / "examples/github-actions-send.yml").read_text())
    assert workflow["concurrency"] == {"group": "newsletter-send", "cancel-in-progress": False}
    assert workflow[True]["schedule"]  # YAML 1.1 reads the key 'on' as true
    steps = workflow["jobs"]["publish-and-send"]["steps"]
    runs = [step.get("run", "") for step in steps]
    send = next(step for step in steps if step.get("run") == "newsletter send --yes")
    assert send["env"]["NEWSLETTER_SMTP_PASSWORD"] == "${{ secrets.NEWSLETTER_SMTP_PASSWORD }}"
    assert runs.index("newsletter build") < runs.index("newsletter send --yes")
    assert steps[0]["with"]["ref"] == "${{ github.event.repository.default_branch }}"  # sees the latest manifest
    commit = next(step for step in steps if "git add manifest.json" in step.get("run", ""))
    assert commit["if"] == "always()"


def test_an_interrupted_send_resumes_and_names_the_uncertain_recipient(letter, server):
    journal = letter.root / ".newsletter/journal/day-two.jsonl"
    journal.parent.mkdir(parents=True)
    start = {"type": "start", "run": "abc", "slug": SLUG, "id": "x", "subject": "Day Two", "sha256": "0",
             "recipients": 3}
    journal.write_text(json.dumps(start) + "\n"
                       '{"type":"sending","to":"ann@example.com"}\n{"type":"sent","to":"ann@example.com"}\n'
                       '{"type":"sending","to":"bob@example.com"}\n{"type":"se')  # killed mid-write

    status = letter.run("status")
    assert "send interrupted after 2 recipients" in status.stdout
    result = letter.run("send", "--yes")

    assert result.exit_code == 0, result.output
    assert "(resuming: 2 of 3 already done)" in result.stdout
    assert "note: day-two: the email changed since this send started" in result.stderr
    assert server.recorder.rcpt_counts() == {"carol@example.com": 1}
    assert "warning: day-two: bob@example.com: uncertain" in result.stderr
    assert _manifest(letter)["issues"][SLUG]["recipients"] == {"sent": 2, "failed": 0, "uncertain": 1}
    assert not journal.exists()
