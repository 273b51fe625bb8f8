"""A title of 2,000 characters without a space: every header line of the built .eml and of each
message `newsletter send` delivers (to a real SMTP server) stays within RFC 5322's 998 bytes, and
every RFC 2047 encoded word within 75 characters."""

from __future__ import annotations

import email
import re
from email import policy

import pytest

from smtp_server import TOKEN_SECRET, SmtpServer, send_config

ENCODED_WORD = re.compile(rb"=\?[^?]+\?[bq]\?[^?]*\?=", re.IGNORECASE)
TITLES = {
    "ascii": "A" * 1999 + "Z",
    "non-ascii": "Ž" * 1000 + "日本" * 499 + "🎉" * 2,
}


@pytest.fixture
def server():
    with SmtpServer() as running:
        yield running


def _write(newsletter, server, title: str) -> None:
    base = (newsletter.root / "newsletter.toml").read_text()
    newsletter.write("newsletter.toml", base + send_config(server.port, unsubscribed=""))
    (newsletter.root / "subscribers.csv").write_text("email,name\nann@example.com,Ann\n", encoding="utf-8")
    newsletter.post("2025-04-01-day-two", f'title: "{title}"\ndate: 2025-04-01 09:00')


def _check_head(raw: bytes, title: str) -> None:
    head = raw.split(b"\r\n\r\n", 1)[0]
    lines = head.split(b"\r\n")
    assert max(len(line) for line in lines) <= 998
    words = ENCODED_WORD.findall(head)
    assert words and max(len(word) for word in words) <= 75
    # The Subject folds into lines a mail client reads comfortably, not only within the hard limit.
    folded = head.split(b"\r\nSubject: ", 1)[1].split(b"\r\nDate:", 1)[0].split(b"\r\n")
    assert max(len(b"Subject: " + folded[0]), *(len(line) for line in folded[1:])) <= 78
    message = email.message_from_bytes(raw, policy=policy.default)
    assert message.defects == [] and message["Subject"].defects == ()
    assert message["Subject"] == title


@pytest.mark.parametrize("kind", sorted(TITLES))
def test_a_long_title_without_spaces_folds_in_the_built_and_the_sent_message(newsletter, server, kind,
                                                                              monkeypatch):
    title = TITLES[kind]
    monkeypatch.setenv("NEWSLETTER_TOKEN_SECRET", TOKEN_SECRET)
    _write(newsletter, server, title)
    result = newsletter.run("build")
    assert result.exit_code == 0, result.output
    _check_head((newsletter.dist / "email/day-two.eml").read_bytes(), title)

    result = newsletter.run("send", "--yes")
    assert result.exit_code == 0, result.output
    (received,) = server.recorder.received
    _check_head(received.data, title)
