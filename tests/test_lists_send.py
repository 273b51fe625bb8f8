"""`newsletter send` with the list server: reads the list from it, links to its unsubscribe page, reports bounces."""

from __future__ import annotations

import pytest

from list_server import API_TOKEN, SECRET, ListServer, lists_config, path_of
from smtp_server import SmtpServer, free_port


@pytest.fixture
def smtp():
    with SmtpServer() as server:
        yield server


@pytest.fixture
def served(newsletter, smtp, monkeypatch):
    """A newsletter whose list lives in a running list server, three addresses imported into it."""
    monkeypatch.setenv("NEWSLETTER_LISTS_SECRET", SECRET)
    monkeypatch.setenv("NEWSLETTER_LISTS_API_TOKEN", API_TOKEN)
    port = free_port()
    newsletter.write("newsletter.toml", newsletter.root.joinpath("newsletter.toml").read_text()
                     + lists_config(smtp.port, port)
                     + f'\n[subscribers]\nsource = "http://127.0.0.1:{port}/"\n')
    newsletter.write("old.csv", "email,name\nann@example.com,Ann\nbob@example.com,Bob\ncarol@example.com,Carol\n")
    imported = newsletter.run("lists", "import", str(newsletter.root / "old.csv"))
    assert imported.exit_code == 0 and "Imported 3 addresses" in imported.output
    newsletter.post("2025-04-01-day-one", 'title: "Day One"\ndate: 2025-04-01 09:00', "Hello {subscriber.name}.\n")
    with ListServer(newsletter.root, port) as server:
        yield newsletter, server


def test_send_reads_the_list_links_the_server_and_reports_bounces(served, smtp):
    letter, server = served
    smtp.recorder.rcpt_replies["carol@example.com"] = ["550 5.1.1 no such mailbox"]
    result = letter.run("send", "--yes")
    assert "Reported 1 refused addresses to the list server (1 were on its list)." in result.output
    messages = {m["To"].addresses[0].addr_spec: m for m in smtp.recorder.messages()}
    assert set(messages) == {"ann@example.com", "bob@example.com"}
    ann = messages["ann@example.com"]
    assert "Hello Ann." in ann.get_body(("plain",)).get_content()
    target = ann["List-Unsubscribe"].strip("<>")
    assert target.startswith(server.url + "unsubscribe/") and "ann" not in target
    assert ann["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert target in ann.get_body(("plain",)).get_content()  # the footer link is the same
    assert server.post_form(path_of(target), {"List-Unsubscribe": "One-Click"}).status == 200
    assert server.api_subscribers() == ["bob@example.com,Bob"]

    letter.post("2025-04-08-day-two", 'title: "Day Two"\ndate: 2025-04-08 09:00')
    before = len(smtp.recorder.messages())
    assert letter.run("send", "--yes").exit_code == 0
    assert [m["To"].addresses[0].addr_spec for m in smtp.recorder.messages()[before:]] == ["bob@example.com"]


@pytest.mark.parametrize("token, expected", [
    ("wrong-token-0123456789", "answered 401 Unauthorized (check the API token)"),
    ("", "the environment variable NEWSLETTER_LISTS_API_TOKEN is not set"),
])
def test_send_without_the_right_api_token_stops_before_mailing(served, smtp, monkeypatch, token, expected):
    letter, _ = served
    monkeypatch.setenv("NEWSLETTER_LISTS_API_TOKEN", token)
    result = letter.run("send", "--yes")
    assert result.exit_code == 1 and expected in result.output
    assert smtp.recorder.messages() == [] and not (letter.root / "manifest.json").exists()
