"""The whole subscription round trip as a reader and a writer live it, with every part real.

Chromium (JavaScript off) fills the form on a page of the built site; the list server
(`newsletter lists serve`) answers; its confirmation email arrives at aiosmtpd; the link in it is
followed; `newsletter send` reads the list from the server and delivers; the one-click POST from the
message's List-Unsubscribe header removes the reader, and the next send does not mail them.
"""

from __future__ import annotations

import time
import urllib.request

import pytest

from browser import chromium
from list_server import API_TOKEN, SECRET, ListServer, link_in, lists_config
from smtp_server import SmtpServer, free_port

PHONE = {"width": 375, "height": 740}


def _mail_to(smtp, address: str, count: int = 1, timeout: float = 10.0) -> list:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [m for m in smtp.recorder.messages() if m["To"].addresses[0].addr_spec == address]
        if len(found) >= count:
            return found
        time.sleep(0.05)
    raise AssertionError(f"no {count} emails to {address}")


@pytest.fixture
def setup(newsletter, monkeypatch):
    monkeypatch.setenv("NEWSLETTER_LISTS_SECRET", SECRET)
    monkeypatch.setenv("NEWSLETTER_LISTS_API_TOKEN", API_TOKEN)
    with SmtpServer() as smtp:
        port = free_port()
        newsletter.write("newsletter.toml", newsletter.root.joinpath("newsletter.toml").read_text()
                         + lists_config(smtp.port, port)
                         + f'\n[subscribers]\nsource = "http://127.0.0.1:{port}/"\n')
        newsletter.post("2025-04-01-day-one", 'title: "Day One"\ndate: 2025-04-01 09:00', "Hello {subscriber.name}.\n")
        assert newsletter.run("build").exit_code == 0
        with ListServer(newsletter.root, port) as server:
            yield newsletter, server, smtp


@pytest.mark.browser
def test_a_reader_subscribes_on_the_site_gets_an_issue_and_leaves_with_one_click(setup):
    letter, server, smtp = setup
    with chromium() as browser:
        context = browser.new_context(viewport=PHONE, java_script_enabled=False)
        page = context.new_page()
        page.goto((letter.dist / "day-one" / "index.html").as_uri())
        page.fill("input[name=email]", "reader@example.com")
        page.fill("input[name=name]", "Rea Der")
        page.click("button[type=submit]")
        page.wait_for_load_state()
        assert page.url == server.url + "subscribe"
        assert page.text_content("h1") == "Check your inbox"
        assert page.text_content(".masthead-title") == "Test Letter"  # the site's look
        assert page.evaluate("document.documentElement.scrollWidth") <= 375

        confirm = link_in(_mail_to(smtp, "reader@example.com")[0].get_content(), "confirm")
        page.goto(confirm)
        assert page.text_content("h1") == "You are subscribed"
        context.close()

    assert server.rows()[0][:4] == ("reader@example.com", "Rea Der", "active", "form")
    assert server.rows()[0][6] == "https://example.com/letter/day-one/"  # the page the form was on

    result = letter.run("send", "--yes")
    assert result.exit_code == 0, result.output
    issue = [m for m in _mail_to(smtp, "reader@example.com", 3) if m["Subject"] == "Day One"]
    assert len(issue) == 1 and "Hello Rea Der." in issue[0].get_body(("plain",)).get_content()

    target = issue[0]["List-Unsubscribe"].strip("<>")
    assert issue[0]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    request = urllib.request.Request(target, data=b"List-Unsubscribe=One-Click", method="POST",
                                     headers={"Content-Type": "application/x-www-form-urlencoded"})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200 and response.url == target  # answered in place: no redirect

    letter.post("2025-04-08-day-two", 'title: "Day Two"\ndate: 2025-04-08 09:00')
    before = len(smtp.recorder.messages())
    result = letter.run("send", "--yes")
    assert result.exit_code == 0 and "Nothing to send" not in result.output
    assert [m for m in smtp.recorder.messages()[before:] if m["To"].addresses[0].addr_spec == "reader@example.com"] == []


@pytest.mark.browser
def test_the_form_fits_a_phone_in_light_and_dark(setup):
    letter, _, _ = setup
    with chromium() as browser:
        colours = {}
        for scheme in ("light", "dark"):
            page = browser.new_page(viewport=PHONE, color_scheme=scheme)
            for path in (letter.dist / "index.html", letter.dist / "day-one" / "index.html"):
                page.goto(path.as_uri())
                assert page.is_visible("form.subscribe input[name=email]")
                assert not page.is_visible("input[name=website]") or page.evaluate(
                    "document.querySelector('input[name=website]').getBoundingClientRect().right < 0")
                assert page.evaluate("document.documentElement.scrollWidth") <= 375, (path, scheme)
            colours[scheme] = page.evaluate("getComputedStyle(document.querySelector('form.subscribe')).backgroundColor")
            page.close()
        assert colours["light"] != colours["dark"]


def test_without_lists_url_the_site_has_no_form(newsletter):
    newsletter.post("2025-04-01-day-one", 'title: "Day One"\ndate: 2025-04-01 09:00')
    assert newsletter.run("build").exit_code == 0
    assert "<form" not in (newsletter.dist / "day-one" / "index.html").read_text()
    assert "<form" not in (newsletter.dist / "index.html").read_text()
