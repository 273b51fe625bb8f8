"""`newsletter lists import` and `lists export`: moving a CSV list in, and backups out."""

from __future__ import annotations

import csv
import io
import sqlite3

import pytest

from list_server import API_TOKEN, SECRET, lists_config
from newsletter.lists.store import Status


@pytest.fixture
def letter(newsletter, monkeypatch):
    monkeypatch.setenv("NEWSLETTER_LISTS_SECRET", SECRET)
    monkeypatch.setenv("NEWSLETTER_LISTS_API_TOKEN", API_TOKEN)
    newsletter.write("newsletter.toml", newsletter.root.joinpath("newsletter.toml").read_text()
                     + lists_config(2525, 8025))
    return newsletter


def _rows(letter) -> list[tuple]:
    with sqlite3.connect(letter.root / "lists.sqlite3") as db:
        return db.execute("SELECT email, name, status, consent, confirmed_at IS NOT NULL, source_page "
                          "FROM subscribers ORDER BY id").fetchall()


def test_import_marks_consent_as_imported_and_keeps_what_is_there(letter):
    letter.write("old.csv", "email,name,city\nann@example.com,Ann,Brno\nANN@example.com,Ann again,Brno\n"
                            "bob@example.com,,Praha\n")
    result = letter.run("lists", "import", str(letter.root / "old.csv"))
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "Imported 2 addresses (0 already on the list, 1 duplicate rows skipped)."
    assert _rows(letter) == [("ann@example.com", "Ann", "active", "imported", 1, "import of old.csv"),
                             ("bob@example.com", "", "active", "imported", 1, "import of old.csv")]
    letter.write("more.csv", "email\nbob@example.com\ncarol@example.com\n")
    assert "Imported 1 addresses (1 already on the list)." in letter.run("lists", "import", str(letter.root / "more.csv")).output
    assert len(_rows(letter)) == 3


@pytest.mark.parametrize("text, message", [
    ("email,name\nann@example.com,Ann\nnot-an-address,Bob\n", "old.csv:3: email: 'not-an-address' is not an address"),
    ("name\nAnn\n", "old.csv:1: the header row has no 'email' column"),
    ("email,name\nann@example.com,Ann,extra\n", "old.csv:2: has 3 fields, the header has 2"),
    (None, "old.csv: not found"),
], ids=["bad-address", "no-email-column", "extra-field", "missing"])
def test_a_bad_csv_is_one_clear_error_and_nothing_is_added(letter, text, message):
    if text is not None:
        letter.write("old.csv", text)
    result = letter.run("lists", "import", str(letter.root / "old.csv"))
    assert result.exit_code == 1
    assert message in result.output and "Traceback" not in result.output
    assert not (letter.root / "lists.sqlite3").exists() or _rows(letter) == []


def test_export_writes_every_row_with_its_consent_record(letter, tmp_path):
    letter.write("old.csv", 'email,name\nann@example.com,"Novak, Ann"\n')
    letter.run("lists", "import", str(letter.root / "old.csv"))
    result = letter.run("lists", "export", str(tmp_path / "backup.csv"))
    assert result.exit_code == 0 and "Wrote 1 rows" in result.output
    rows = list(csv.DictReader(io.StringIO((tmp_path / "backup.csv").read_text())))
    assert [(r["email"], r["name"], r["status"], r["consent"], r["source_page"]) for r in rows] == [
        ("ann@example.com", "Novak, Ann", "active", "imported", "import of old.csv")]

    assert letter.run("lists", "export", "--sqlite", str(tmp_path / "copy.sqlite3")).exit_code == 0
    with sqlite3.connect(tmp_path / "copy.sqlite3") as copy:
        assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert copy.execute("SELECT email, status FROM subscribers").fetchall() == [("ann@example.com", "active")]


def test_export_refuses_to_overwrite_the_database_or_to_run_without_one(letter):
    result = letter.run("lists", "export", str(letter.root / "out.csv"))
    assert result.exit_code == 1 and "no list database here yet" in result.output
    letter.write("old.csv", "email\nann@example.com\n")
    letter.run("lists", "import", str(letter.root / "old.csv"))
    result = letter.run("lists", "export", "--sqlite", str(letter.root / "lists.sqlite3"))
    assert result.exit_code == 1 and "is the database itself" in result.output
    assert len(_rows(letter)) == 1


@pytest.mark.parametrize("section, message", [
    ('[lists]\nurl = "http://lists.example.com/"\n', "lists.url: must be an https:// URL"),
    ('[lists]\nurl = "lists.example.com"\n', "lists.url: expected the list server's address"),
    ('[lists]\nurl = "https://lists.example.com/"\nconfirm_hours = 0\n', "lists.confirm_hours: must be at least 1"),
    ('[subscribers]\nsource = "http://lists.example.com/"\n', "subscribers.source: must be an https:// URL"),
], ids=["http", "not-a-url", "zero-hours", "http-source"])
def test_bad_list_settings_name_the_line(newsletter, section, message):
    newsletter.write("newsletter.toml", newsletter.root.joinpath("newsletter.toml").read_text() + section)
    result = newsletter.run("lists", "export", str(newsletter.root / "out.csv"))
    assert result.exit_code == 1
    assert message in result.output and "newsletter.toml:" in result.output


def test_the_list_as_csv_reads_back_as_it_was_stored(tmp_path):
    from newsletter.lists.store import Store, active_csv

    names = ["Ann", "Novak, Jana", 'Say "hi"', "", "Žluťoučký kůň", "=1+1", " spaced "]
    store = Store(tmp_path / "list.sqlite3", lambda address: f"token-{address}")
    store.add_imported([(f"a{n}@example.com", name) for n, name in enumerate(names)], "test")
    store.close()
    text = "email,name\r\n" + "".join(active_csv(tmp_path / "list.sqlite3", batch=3))
    assert list(csv.reader(io.StringIO(text, newline="")))[1:] == [[f"a{n}@example.com", name]
                                                                   for n, name in enumerate(names)]


def test_a_new_secret_makes_new_unsubscribe_tokens_and_retires_the_old(tmp_path):
    from newsletter.lists.store import Store
    from newsletter.send.listserver import list_unsubscribe_token

    old, new = "old-secret-0123456789", "new-secret-0123456789"
    store = Store(tmp_path / "list.sqlite3", lambda address: list_unsubscribe_token(old, address))
    store.add_imported([("ann@example.com", "Ann"), ("bob@example.com", "Bob")], "test")
    store.close()
    store = Store(tmp_path / "list.sqlite3", lambda address: list_unsubscribe_token(new, address))
    try:
        assert not store.unsubscribe(list_unsubscribe_token(old, "ann@example.com"))
        assert store.unsubscribe(list_unsubscribe_token(new, "ann@example.com"))
        assert store.count() == 2 and store.count(Status.ACTIVE) == 1
    finally:
        store.close()


def test_check_accepts_the_list_servers_unsubscribe_links_and_the_form(letter):
    letter.post("2025-04-01-day-one", 'title: "Day One"\ndate: 2025-04-01 09:00\nsummary: "The first day."',
                "A first day of talks, with notes on each of them and what to take home from it.\n")
    result = letter.run("check")
    assert "unsubscribe-missing" not in result.output
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("config, command, message", [
    ("", ("lists", "import", "x.csv"), "newsletter.toml: [lists]: set url to the address the list server is reached at"),
    ('[lists]\nurl = "http://127.0.0.1:8025/"\n', ("lists", "serve"),
     "newsletter.toml: [smtp]: the list server sends confirmation emails through it"),
], ids=["no-lists", "no-smtp"])
def test_missing_settings_are_one_clear_error(newsletter, monkeypatch, config, command, message):
    monkeypatch.setenv("NEWSLETTER_LISTS_SECRET", SECRET)
    monkeypatch.setenv("NEWSLETTER_LISTS_API_TOKEN", API_TOKEN)
    newsletter.write("newsletter.toml", newsletter.root.joinpath("newsletter.toml").read_text() + config)
    result = newsletter.run(*command)
    assert result.exit_code == 1 and message in result.output and "Traceback" not in result.output
    assert not (newsletter.root / "lists.sqlite3").exists()
