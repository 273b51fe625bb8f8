"""The list server in the site's language: a real `newsletter lists serve` in Czech, its emails through aiosmtpd."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from list_server import API_TOKEN, SECRET, ListServer, link_in, lists_config, path_of
from smtp_server import SmtpServer, free_port
from test_i18n import _english_patterns, _visible_text


@pytest.fixture(autouse=True)
def list_secrets(monkeypatch):
    monkeypatch.setenv("NEWSLETTER_LISTS_SECRET", SECRET)
    monkeypatch.setenv("NEWSLETTER_LISTS_API_TOKEN", API_TOKEN)


@pytest.fixture
def smtp():
    with SmtpServer() as server:
        yield server


def _mail(smtp, count: int) -> list:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if len(messages := smtp.recorder.messages()) >= count:
            return messages
        time.sleep(0.05)
    raise AssertionError(f"expected {count} emails, got {len(smtp.recorder.messages())}")


def _speaking(newsletter, language: str, smtp_port: int) -> ListServer:
    port = free_port()
    config = newsletter.root / "newsletter.toml"
    config.write_text(config.read_text().replace("[site]\n", f'[site]\nlanguage = "{language}"\n')
                      + lists_config(smtp_port, port))
    return ListServer(newsletter.root, port)


def _english_in(text: str, where: Path, suffix: str = ".html") -> list[str]:
    """The English catalogue's strings a reader would see in *text* (a page, or an email's text)."""
    saved = where.with_suffix(suffix)
    saved.write_text(text, encoding="utf-8")
    seen = _visible_text(saved)
    return [string for string, pattern in _english_patterns().items() if pattern.search(seen)]


def test_the_czech_list_server_speaks_czech_from_form_to_unsubscribe(newsletter, smtp, tmp_path):
    with _speaking(newsletter, "cs", smtp.port) as server:
        newsletter.post("2025-04-01-one", "title: Jedna\ndate: 2025-04-01", "Slovo.\n")
        assert newsletter.run("build").exit_code == 0
        form = (newsletter.dist / "one" / "index.html").read_text()
        assert "Odebírat e-mailem" in form and "Odběr můžete kdykoli zrušit" in form

        thanks = server.subscribe("jana@example.com", "Jana Nováková")
        assert thanks.status == 200 and '<html lang="cs" dir="ltr">' in thanks.text
        assert "<h1>Podívejte se do schránky</h1>" in thanks.text
        confirmation = _mail(smtp, 1)[0]
        assert confirmation["Subject"] == "Potvrďte odběr Test Letter"
        body = confirmation.get_content()
        assert body.startswith("Dobrý den, Jana Nováková,\r\n\r\nněkdo, nejspíš vy, požádal o zasílání Test Letter")
        words = " ".join(body.split())   # the paragraphs are wrapped at 72 columns
        assert "do 48 hodin:" in words and "Souhlasili jste s tímto: Každé nové vydání e-mailem." in words

        confirmed = server.get(path_of(link_in(body, "confirm")))
        assert confirmed.status == 200 and "Odběr je potvrzen" in confirmed.text
        welcome = _mail(smtp, 2)[1]
        assert welcome["Subject"] == "Vítejte u Test Letter"
        target = welcome["List-Unsubscribe"].strip("<>")
        unsubscribe = server.get(path_of(target))
        assert ">Odhlásit odběr</button>" in unsubscribe.text
        gone = server.post_form(path_of(target), {"List-Unsubscribe": "One-Click"})
        assert "Odběr je zrušen" in gone.text
        wrong = server.subscribe("not-an-address")
        assert wrong.status == 400 and "To není platná e-mailová adresa. Vraťte se prosím zpět" in wrong.text
        expired = server.get("/confirm/1.1.abcdefgh." + "A" * 43)

    shown = {"form": form, "thanks": thanks.text, "confirmed": confirmed.text, "unsubscribe": unsubscribe.text,
             "gone": gone.text, "wrong": wrong.text, "forged": expired.text}
    left = {name: found for name, text in shown.items() if (found := _english_in(text, tmp_path / name))}
    for name, message in (("confirmation", confirmation), ("welcome", welcome)):
        text = f"{message['Subject']}\n{message.get_content()}"
        if found := _english_in(text, tmp_path / name, ".txt"):
            left[name] = found
    assert left == {}
    # The record of consent holds the words the reader was shown.
    assert server.rows()[0][7] == "Každé nové vydání e-mailem. Odběr můžete kdykoli zrušit odkazem, který je " \
                                  "v každém e-mailu."


def test_the_english_server_still_explains_a_bad_address(newsletter, smtp):
    with _speaking(newsletter, "en", smtp.port) as server:
        reply = server.subscribe("jana@@example.com")
    assert reply.status == 400
    assert "That is not a valid email address. (" in reply.text and "Please go back and correct it." in reply.text


def test_a_right_to_left_site_gets_right_to_left_list_pages(newsletter):
    from newsletter.config import load_config
    from newsletter.lists.pages import Pages

    config = newsletter.root / "newsletter.toml"
    config.write_text(config.read_text().replace("[site]\n", '[site]\nlanguage = "ar"\n')
                      + lists_config(2525, 8025))
    page = Pages(load_config(newsletter.root)).page(200, "done", "title", "message")
    assert '<html lang="ar" dir="rtl">' in page.html
