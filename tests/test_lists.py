"""The list server as a user meets it: a real `newsletter lists serve` on 127.0.0.1, mail through aiosmtpd."""

from __future__ import annotations

import json
import time

import pytest

from list_server import API_TOKEN, SECRET, ListServer, link_in, lists_config, path_of
from newsletter.lists.tokens import Signer
from smtp_server import SmtpServer, free_port


@pytest.fixture(autouse=True)
def list_secrets(monkeypatch):
    """The secrets in this process too, for the commands run in it (import, export)."""
    monkeypatch.setenv("NEWSLETTER_LISTS_SECRET", SECRET)
    monkeypatch.setenv("NEWSLETTER_LISTS_API_TOKEN", API_TOKEN)


@pytest.fixture
def smtp():
    with SmtpServer() as server:
        yield server


def _wait_for_mail(smtp, count: int, timeout: float = 10.0) -> list:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        messages = smtp.recorder.messages()
        if len(messages) >= count:
            return messages
        time.sleep(0.05)
    raise AssertionError(f"expected {count} emails, got {len(smtp.recorder.messages())}")


def _server(newsletter, smtp, **lists) -> ListServer:
    port = free_port()
    newsletter.write("newsletter.toml", newsletter.root.joinpath("newsletter.toml").read_text()
                     + lists_config(smtp.port, port, **lists))
    return ListServer(newsletter.root, port)


@pytest.fixture
def server(newsletter, smtp):
    with _server(newsletter, smtp) as running:
        yield running


def test_subscribe_confirm_and_one_click_unsubscribe(server, smtp):
    reply = server.subscribe("Jana.Novak@Example.com", "Jana Novák", "https://example.com/letter/day-two/")
    assert reply.status == 200 and "Check your inbox" in reply.text
    assert "set-cookie" not in reply.headers
    confirmation = _wait_for_mail(smtp, 1)[0]
    assert confirmation["To"].addresses[0].addr_spec == "Jana.Novak@example.com"
    assert "Confirm your subscription to Test Letter" in confirmation["Subject"]
    body = confirmation.get_content()
    assert "jana" not in link_in(body, "confirm").lower()  # no address in clear
    assert server.api_subscribers() == []  # not before confirming

    confirmed = server.get(path_of(link_in(body, "confirm")))
    assert confirmed.status == 200 and "You are subscribed" in confirmed.text
    assert server.api_subscribers() == ["Jana.Novak@example.com,Jana Novák"]
    email, name, status, consent, requested, confirmed_at, page, wording = server.rows()[0]
    assert (status, consent, page) == ("active", "form", "https://example.com/letter/day-two/")
    assert requested <= confirmed_at and wording.startswith("Get each new issue by email.")

    welcome = _wait_for_mail(smtp, 2)[1]
    assert welcome["Subject"] == "Welcome to Test Letter"
    header = welcome["List-Unsubscribe"]
    assert welcome["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    target = header.strip("<>")
    assert "jana" not in target.lower() and target == link_in(welcome.get_content(), "unsubscribe")

    page = server.get(path_of(target))
    assert page.status == 200 and "<button" in page.text and "Unsubscribe" in page.text
    assert server.api_subscribers() == ["Jana.Novak@example.com,Jana Novák"]  # showing the page changes nothing
    gone = server.post_form(path_of(target), {"List-Unsubscribe": "One-Click"})
    assert gone.status == 200 and "You are unsubscribed" in gone.text
    assert "location" not in gone.headers and "set-cookie" not in gone.headers
    assert server.api_subscribers() == []
    assert server.post_form(path_of(target), {"List-Unsubscribe": "One-Click"}).status == 200  # again: still fine


def test_the_answer_is_the_same_whether_or_not_the_address_is_known(server, smtp):
    first = server.subscribe("known@example.com")
    _wait_for_mail(smtp, 1)
    server.get(path_of(link_in(smtp.recorder.messages()[0].get_content(), "confirm")))
    again = server.subscribe("known@example.com")
    new = server.subscribe("new@example.com")
    assert first.status == again.status == new.status == 200
    assert first.body == again.body == new.body


def test_a_multipart_one_click_post_unsubscribes_too(server, smtp):
    server.subscribe("multi@example.com")
    server.get(path_of(link_in(_wait_for_mail(smtp, 1)[0].get_content(), "confirm")))
    target = _wait_for_mail(smtp, 2)[1]["List-Unsubscribe"].strip("<>")
    body = (b'--XyZ\r\nContent-Disposition: form-data; name="List-Unsubscribe"\r\n\r\nOne-Click\r\n--XyZ--\r\n')
    reply = server.request("POST", path_of(target), body, {"Content-Type": "multipart/form-data; boundary=XyZ"})
    assert reply.status == 200 and server.api_subscribers() == []


HOSTILE_ADDRESSES = [
    "not-an-address", "jana@localhost", "jana@[127.0.0.1]", '"jana novak"@example.com',
    "jana@example.com\r\nBcc: everyone@example.com", "jana@example.com, other@example.com",
    "<script>@example.com", "a" * 250 + "@example.com", "",
]


@pytest.mark.parametrize("address", HOSTILE_ADDRESSES)
def test_a_bad_address_is_refused_and_nothing_is_stored(server, smtp, address):
    reply = server.subscribe(address, "Jana")
    assert reply.status == 400
    assert "go back and correct it" in reply.text
    assert "<script>" not in reply.text
    assert server.rows() == [] and smtp.recorder.messages() == []


@pytest.mark.parametrize("name", ["Jana\r\nBcc: everyone@example.com", "Jana\nX-Evil: 1", "Jana\x00", "J" * 101])
def test_header_injection_in_the_name_is_refused(server, smtp, name):
    reply = server.subscribe("jana@example.com", name)
    assert reply.status == 400
    assert server.rows() == [] and smtp.recorder.messages() == []


@pytest.mark.parametrize("spoil, status", [
    (lambda s: s.request("POST", "/subscribe", b"email=" + b"a" * 20_000 + b"@example.com",
                         {"Content-Type": "application/x-www-form-urlencoded"}), 413),
    (lambda s: s.request("POST", "/subscribe", json.dumps({"email": "jana@example.com"}).encode(),
                         {"Content-Type": "application/json"}), 415),
    (lambda s: s.subscribe("jana@example.com", page="javascript:alert(1)"), 400),
    (lambda s: s.request("POST", "/subscribe", b"email=%ff%fe@example.com",
                         {"Content-Type": "application/x-www-form-urlencoded"}), 400),
    (lambda s: s.request("POST", "/api/suppressions", b"[]" * 600_000, {"Authorization": f"Bearer {API_TOKEN}"}), 413),
], ids=["oversized", "not-a-form", "hostile-page", "not-utf8", "oversized-api"])
def test_bad_bodies_get_a_clear_4xx_and_nothing_is_stored(server, smtp, spoil, status):
    reply = spoil(server)
    assert reply.status == status
    assert server.rows() == [] and smtp.recorder.messages() == []


def test_the_honeypot_answers_as_usual_and_stores_nothing(server, smtp):
    reply = server.post_form("/subscribe", {"email": "bot@example.com", "website": "http://spam.example/"})
    assert reply.status == 200 and "Check your inbox" in reply.text
    assert server.rows() == [] and smtp.recorder.messages() == []


def _pending_token(server, smtp, issued: float) -> tuple[str, str]:
    server.subscribe("tok@example.com")
    link = link_in(_wait_for_mail(smtp, 1)[0].get_content(), "confirm")
    token = link.rsplit("/", 1)[1]
    row, _, nonce, _ = token.split(".")
    return link, Signer(SECRET, 48 * 3600).confirm_token(int(row), nonce, issued)


def test_forged_expired_and_reused_confirmation_links_are_refused(server, smtp):
    link, expired = _pending_token(server, smtp, time.time() - 49 * 3600)
    token = link.rsplit("/", 1)[1]
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    other_row = token.split(".", 1)[1]
    for bad, status in [(forged, 400), ("2." + other_row, 400), (expired, 410), ("nonsense", 400),
                        (Signer("another-secret-0123456789", 3600).confirm_token(1, "abcdefghij", time.time()), 400)]:
        reply = server.get(f"/confirm/{bad}")
        assert reply.status == status, bad
        assert server.rows()[0][2] == "pending"
    assert server.get(path_of(link)).status == 200
    reused = server.get(path_of(link))
    assert reused.status == 410 and "already used" in reused.text
    assert [row[2] for row in server.rows()] == ["active"]


def test_unsubscribe_links_that_are_not_ours_are_refused(server, smtp):
    for token, status in [("short", 400), ("A" * 43, 404), ("A" * 42 + "%0A", 400)]:
        assert server.get(f"/unsubscribe/{token}").status == status
        assert server.post_form(f"/unsubscribe/{token}", {"List-Unsubscribe": "One-Click"}).status == status
    server.subscribe("keep@example.com")
    server.get(path_of(link_in(_wait_for_mail(smtp, 1)[0].get_content(), "confirm")))
    target = _wait_for_mail(smtp, 2)[1]["List-Unsubscribe"].strip("<>")
    assert server.post_form(path_of(target), {"List-Unsubscribe": "Yes"}).status == 400
    assert server.request("POST", path_of(target)).status == 415
    assert server.api_subscribers() == ["keep@example.com,"]


def test_the_api_needs_the_bearer_token(server):
    assert server.get("/api/subscribers").status == 401
    assert server.get("/api/subscribers", Authorization="Bearer wrong").status == 401
    assert server.get("/api/subscribers", Authorization=f"Basic {API_TOKEN}").status == 401
    assert server.request("POST", "/api/suppressions", b'{"suppressions": []}').status == 401


def test_reported_bounces_and_complaints_are_never_listed_again(server, newsletter):
    newsletter.write("old.csv", "email,name\nbounce@example.com,B\ncomplain@example.com,C\nstay@example.com,S\n")
    assert newsletter.run("lists", "import", str(newsletter.root / "old.csv")).exit_code == 0
    body = json.dumps({"suppressions": [{"email": "Bounce@example.com", "reason": "bounce"},
                                        {"email": "complain@example.com", "reason": "complaint"},
                                        {"email": "stranger@example.com", "reason": "bounce"}]}).encode()
    reply = server.request("POST", "/api/suppressions", body, {"Authorization": f"Bearer {API_TOKEN}"})
    assert reply.status == 200 and json.loads(reply.body) == {"suppressed": 2, "received": 3}
    assert server.api_subscribers() == ["stay@example.com,S"]
    assert [row[2] for row in server.rows()] == ["bounced", "complained", "active"]
    assert server.subscribe("bounce@example.com").status == 200
    assert [row[2] for row in server.rows()] == ["bounced", "complained", "active"]  # a suppression holds
    bad = server.request("POST", "/api/suppressions", b'{"nope": 1}', {"Authorization": f"Bearer {API_TOKEN}"})
    assert bad.status == 400


def test_requests_from_one_address_are_limited(newsletter, smtp):
    with _server(newsletter, smtp, per_ip_per_hour=3, per_address_per_day=2) as server:
        assert [server.subscribe("same@example.com").status for _ in range(3)] == [200, 200, 200]
        refused = server.subscribe("other@example.com")
        assert refused.status == 429 and "try again" in refused.text
        time.sleep(0.5)
        assert len(smtp.recorder.messages()) == 2  # two confirmation emails per address a day
        assert len(server.rows()) == 1


def test_serve_without_its_secrets_is_one_clear_error(newsletter, smtp, monkeypatch):
    newsletter.write("newsletter.toml", newsletter.root.joinpath("newsletter.toml").read_text()
                     + lists_config(smtp.port, free_port()))
    monkeypatch.delenv("NEWSLETTER_LISTS_SECRET", raising=False)
    result = newsletter.run("lists", "serve")
    assert result.exit_code == 1
    assert result.output.splitlines()[-1].startswith("error: newsletter.toml: [lists]: the environment variable "
                                                     "NEWSLETTER_LISTS_SECRET is not set")
    assert not (newsletter.root / "lists.sqlite3").exists()


def test_the_preview_shows_the_list_emails(newsletter):
    import email
    import http.client
    from email import policy

    from newsletter.preview.server import start_preview

    newsletter.write("newsletter.toml", newsletter.root.joinpath("newsletter.toml").read_text()
                     + lists_config(2525, 8025, form_wording="Issues by email, about monthly."))
    newsletter.post("2025-04-01-day-one", 'title: "Day One"\ndate: 2025-04-01 09:00')
    with start_preview(newsletter.root, port=0) as preview:
        port = int(preview.url.rsplit(":", 1)[1].strip("/"))
        for which, subject, text in [("confirm", "Confirm your subscription to Test Letter",
                                      "You agreed to: Issues by email, about monthly."),
                                     ("welcome", "Welcome to Test Letter", "To unsubscribe at any time: "
                                      "http://127.0.0.1:8025/unsubscribe/SAMPLE-TOKEN")]:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            connection.request("GET", f"/_preview/lists/{which}.eml")
            response = connection.getresponse()
            assert response.status == 200
            message = email.message_from_bytes(response.read(), policy=policy.default)
            assert message["Subject"] == subject and text in message.get_content()


@pytest.mark.parametrize("name", ["Jana Nováková, Ph.D. " * 4 + "x", "Jana Novak, PhD", 'Jo "Q" <x@y>', ""])
def test_list_emails_carry_any_name_and_a_long_title_safely(newsletter, name):
    import email
    from email import policy

    from newsletter.config import load_config
    from newsletter.lists.mailer import compose

    newsletter.write("newsletter.toml", newsletter.root.joinpath("newsletter.toml").read_text()
                     + lists_config(2525, 8025))
    title = "Potvrďte odběr newsletteru — dlouhý název, který se nevejde na jeden řádek"
    raw = compose(load_config(newsletter.root), (name, "jana@example.com"), title, "Ahoj\n", "TOKEN")
    message = email.message_from_bytes(raw, policy=policy.default)
    assert (message["To"].addresses[0].display_name, message["To"].addresses[0].addr_spec) == (name, "jana@example.com")
    assert message["Subject"] == title and message.get_content().strip() == "Ahoj"
    assert message["List-Unsubscribe"] == "<http://127.0.0.1:8025/unsubscribe/TOKEN>"
    head = raw.split(b"\r\n\r\n")[0].split(b"\r\n")
    assert [line for line in head if line.startswith(b"Subject")][0].isascii() and all(len(line) <= 78 for line in head
                                                                                       if not line.startswith(b"To"))
