"""newsletter.toml: what loads, and the one-line messages a user sees for every mistake in it."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from newsletter.cli import main
from newsletter.config import find_key_line, load_config, suggest
from newsletter.errors import ConfigError

DESIGN_EXAMPLE = """\
[site]
title = "Ship It Weekly"
url = "https://example.com/newsletter/"   # absolute
description = "Notes from conferences and the trenches"
language = "en"
timezone = "Europe/Prague"
author = "Jana Novak"

[email]
from = "Jana Novak <news@example.com>"
reply_to = "jana@example.com"
unsubscribe_url = "https://example.com/unsubscribe?email={email}"
unsubscribe_mailto = "unsubscribe@example.com"

[smtp]
host = "smtp.example.com"
port = 587
security = "starttls"
username = "news@example.com"
password_env = "NEWSLETTER_SMTP_PASSWORD"
rate = 10

[subscribers]
file = "subscribers.csv"
unsubscribed = "unsubscribed.txt"

[feeds]
limit = 20
"""

SITE = '[site]\ntitle = "T"\nurl = "https://example.com/"\n'


def _write(root: Path, text: str | bytes) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    path = root / "newsletter.toml"
    path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return path


def problems(root: Path, text: str | bytes) -> list[str]:
    """The lines of the error that loading *text* as newsletter.toml raises."""
    path = _write(root, text)
    with pytest.raises(ConfigError) as caught:
        load_config(root)
    lines = str(caught.value).splitlines()
    assert all(line.startswith(f"{path}") for line in lines), lines
    return [line.removeprefix(str(path)) for line in lines]


def test_the_design_example_loads_as_written(tmp_path):
    _write(tmp_path, DESIGN_EXAMPLE)
    config = load_config(tmp_path)
    assert config.path == tmp_path / "newsletter.toml"
    assert (config.site.title, config.site.url, config.site.author) == (
        "Ship It Weekly", "https://example.com/newsletter/", "Jana Novak")
    assert config.site.tz.key == "Europe/Prague"
    assert config.email.from_ == "Jana Novak <news@example.com>"
    assert config.email.unsubscribe_url == "https://example.com/unsubscribe?email={email}"
    assert (config.smtp.host, config.smtp.port, config.smtp.security, config.smtp.rate) == (
        "smtp.example.com", 587, "starttls", 10.0)
    assert config.subscribers.unsubscribed == "unsubscribed.txt"
    assert config.feeds.limit == 20


def test_only_site_is_needed_and_the_url_gets_a_trailing_slash(tmp_path):
    _write(tmp_path, '[site]\ntitle = "T"\nurl = "https://example.com/news"\n')
    config = load_config(tmp_path)
    assert config.site.url == "https://example.com/news/"
    assert config.site.timezone == "UTC"
    assert config.email is None and config.smtp is None and config.subscribers is None
    assert config.feeds.limit == 20


def test_a_missing_file_says_to_run_init(tmp_path):
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path)
    message = str(caught.value)
    assert message.startswith(f"{tmp_path / 'newsletter.toml'}: not found")
    assert "run 'newsletter init'" in message


@pytest.mark.parametrize("text, line", [
    ('[site]\ntitle = "T\nurl = "https://example.com/"\n', 2),            # unclosed string
    ('[site]\ntitle = "T"\nurl "https://example.com/"\n', 3),             # no '='
    ('[site]\ntitle = "T"\nurl = "https://example.com/"\ntitle = "U"\n', 4),  # key set twice
    (SITE + "[feeds\nlimit = 3\n", 4),                                    # unclosed header
])
def test_toml_that_does_not_parse_names_its_line(tmp_path, text, line):
    [message] = problems(tmp_path, text)
    assert message.startswith(f":{line}: not valid TOML: ")
    assert "(at line" not in message


def test_site_section_is_required(tmp_path):
    assert problems(tmp_path, "[feeds]\nlimit = 5\n") == [": [site]: is required"]


def test_every_missing_required_key_is_named(tmp_path):
    text = '[site]\ndescription = "x"\n\n[email]\nreply_to = "a@example.com"\n\n[smtp]\nport = 25\n'
    assert problems(tmp_path, text) == [
        ":1: site.title: is required",
        ":1: site.url: is required",
        ":4: email.from: is required",
        ":7: smtp.host: is required",
    ]


def test_unknown_key_suggests_the_near_one_with_its_line(tmp_path):
    text = '# my newsletter\n[site]\ntittle = "T"\nurl = "https://example.com/"\n'
    found = problems(tmp_path, text)
    assert found[0].startswith(":3: site.tittle: unknown key (did you mean 'title'?); known keys: title, url,")
    assert found[1:] == [":2: site.title: is required"]


def test_unknown_key_with_nothing_near_lists_the_known_ones(tmp_path):
    [message] = problems(tmp_path, SITE + "[feeds]\nlimit = 5\nzebra = 1\n")
    assert message == ":6: feeds.zebra: unknown key; known keys: limit"


def test_unknown_section_suggests_the_near_one_with_its_line(tmp_path):
    [message] = problems(tmp_path, SITE + '\n[smpt]\nhost = "smtp.example.com"\n')
    assert message == (":5: [smpt]: unknown section (did you mean 'smtp'?); "
                       "known sections: site, email, smtp, subscribers, send, feeds, check, lists, posts, bounces")


def test_an_unknown_sub_table_is_reported_at_its_header(tmp_path):
    [message] = problems(tmp_path, SITE + "\n[site.extra]\nx = 1\n")
    assert message.startswith(":5: site.extra: unknown key")


@pytest.mark.parametrize("text, expected", [
    ('site = "Ship It"\n', ":1: site: expected a table like [name]"),
    (SITE + "[[feeds]]\nlimit = 1\n", ":4: feeds: expected a table like [name]"),
])
def test_a_section_that_is_not_a_table(tmp_path, text, expected):
    assert problems(tmp_path, text) == [expected]


def test_all_problems_are_reported_at_once(tmp_path):
    text = """\
[site]
url = "example.com/news"
timezone = "Europe/Prag"
tittle = "Ship It"

[smtp]
host = "smtp.example.com"
port = "587"
security = "tls"

[feeds]
limit = 0

[subscriber]
file = "s.csv"
"""
    found = problems(tmp_path, text)
    assert [message.split(":")[1] for message in found] == ["4", "1", "2", "3", "8", "9", "12", "14"]
    assert ":4: site.tittle: unknown key (did you mean 'title'?)" in found[0]
    assert found[1] == ":1: site.title: is required"
    assert found[2].startswith(":2: site.url: expected an absolute http(s) URL")
    assert found[3].startswith(":3: site.timezone: unknown time zone 'Europe/Prag'")
    assert found[4] == ":8: smtp.port: expected a whole number, got '587'"
    assert found[5] == ":9: smtp.security: expected one of starttls, ssl, none, got 'tls'"
    assert found[6] == ":12: feeds.limit: must be at least 1"
    assert found[7].startswith(":14: [subscriber]: unknown section (did you mean 'subscribers'?)")


@pytest.mark.parametrize("section, key, value, expected", [
    ("site", "title", "5", "expected a string, got 5"),
    ("site", "page_size", "true", "expected a whole number, got True"),
    ("site", "page_size", "2.5", "expected a whole number, got 2.5"),
    ("smtp", "port", '"587"', "expected a whole number, got '587'"),
    ("smtp", "rate", '"fast"', "expected a number, got 'fast'"),
    ("feeds", "limit", "[20]", "expected a whole number, got [20]"),
    ("subscribers", "file", "3", "expected a string, got 3"),
    ("email", "reply_to", "false", "expected a string, got False"),
])
def test_a_value_of_the_wrong_type(tmp_path, section, key, value, expected):
    text = '[site]\ntitle = "T"\nurl = "https://example.com/"\n[email]\nfrom = "a@example.com"\n' \
           '[smtp]\nhost = "h"\n[subscribers]\n[feeds]\n'
    text = text.replace(f"[{section}]\n", f"[{section}]\n{key} = {value}\n")
    if section == "site" and key == "title":
        text = text.replace('title = "T"\n', "")
    found = problems(tmp_path, text)
    line = text.splitlines().index(f"{key} = {value}") + 1
    assert found == [f":{line}: {section}.{key}: {expected}"]


@pytest.mark.parametrize("url, expected", [
    ("example.com/news/", "expected an absolute http(s) URL like 'https://example.com/news/', got 'example.com/news/'"),
    ("/news/", "expected an absolute http(s) URL"),
    ("ftp://example.com/news/", "expected an absolute http(s) URL"),
    ("https:///news/", "expected an absolute http(s) URL"),
    ("https://example.com/news/?utm=1", "must not have a query or fragment"),
    ("https://example.com/news/#top", "must not have a query or fragment"),
])
def test_a_bad_site_url(tmp_path, url, expected):
    [message] = problems(tmp_path, f'[site]\ntitle = "T"\nurl = "{url}"\n')
    assert message.startswith(f":3: site.url: {expected}")
    assert expected.startswith("must") or message.endswith(f"got {url!r}")


@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "Europe/Prag", "../../etc/passwd", ""])
def test_an_unknown_timezone(tmp_path, zone):
    found = problems(tmp_path, SITE + f'timezone = "{zone}"\n')
    assert found == [f":4: site.timezone: unknown time zone {zone!r}; use an IANA name like 'Europe/Prague'"]


@pytest.mark.parametrize("security, port", [("starttls", 587), ("ssl", 465), ("none", 25), ("none", 65535)])
def test_good_smtp_settings_load(tmp_path, security, port):
    _write(tmp_path, SITE + f'[smtp]\nhost = "localhost"\nport = {port}\nsecurity = "{security}"\n')
    smtp = load_config(tmp_path).smtp
    assert (smtp.security, smtp.port, smtp.password_env) == (security, port, "NEWSLETTER_SMTP_PASSWORD")


@pytest.mark.parametrize("security, port", [("ssl", 465), ("starttls", 587), ("none", 587)])
def test_the_smtp_port_follows_the_security_unless_given(tmp_path, security, port):
    _write(tmp_path, SITE + f'[smtp]\nhost = "smtp.example.com"\nsecurity = "{security}"\n')
    assert load_config(tmp_path).smtp.port == port
    _write(tmp_path, SITE + f'[smtp]\nhost = "smtp.example.com"\nport = 2525\nsecurity = "{security}"\n')
    assert load_config(tmp_path).smtp.port == 2525


@pytest.mark.parametrize("setting, expected", [
    ('security = "tls"', "smtp.security: expected one of starttls, ssl, none, got 'tls'"),
    ('security = "STARTTLS"', "smtp.security: expected one of starttls, ssl, none, got 'STARTTLS'"),
    ("port = 0", "smtp.port: expected a port number from 1 to 65535, got 0"),
    ("port = 65536", "smtp.port: expected a port number from 1 to 65535, got 65536"),
    ("port = -25", "smtp.port: expected a port number from 1 to 65535, got -25"),
    ("rate = 0", "smtp.rate: must be more than 0 messages per second"),
])
def test_bad_smtp_settings(tmp_path, setting, expected):
    assert problems(tmp_path, SITE + f'[smtp]\nhost = "h"\n{setting}\n') == [f":6: {expected}"]


@pytest.mark.parametrize("setting, expected", [
    ('from = "news at example.com"', ":5: email.from: expected an address like 'Jana Novak <news@example.com>'"),
    ('from = "a@example.com"\nunsubscribe_url = "http://example.com/u?e={email}"',
     ":6: email.unsubscribe_url: must be an https:// URL"),
    ('from = "a@example.com"\nreply_to = "x"\nbogus = 1', ":7: email.bogus: unknown key"),
])
def test_bad_email_settings(tmp_path, setting, expected):
    [message] = problems(tmp_path, SITE + f"[email]\n{setting}\n")
    assert message.startswith(expected)


@pytest.mark.parametrize("setting, expected", [
    ('title = "   "', ":2: site.title: must not be empty"),
    ('title = """Ship\nIt"""', ":2: site.title: must be a single line"),
    ('title = "T"\npage_size = 0', ":3: site.page_size: must be at least 1"),
])
def test_bad_site_values(tmp_path, setting, expected):
    assert problems(tmp_path, f'[site]\n{setting}\nurl = "https://example.com/"\n')[0] == expected


def test_a_mistyped_required_value_does_not_hide_other_problems(tmp_path):
    found = problems(tmp_path, '[site]\ntitle = 5\nurl = "https://example.com/"\ntimezone = "Nowhere/Land"\n')
    assert found == [":2: site.title: expected a string, got 5",
                     ":4: site.timezone: unknown time zone 'Nowhere/Land'; use an IANA name like 'Europe/Prague'"]


@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"])
@pytest.mark.parametrize("newline", [b"\n", b"\r\n"])
def test_bom_and_crlf_load_and_keep_line_numbers(tmp_path, bom, newline):
    good = bom + newline.join([b"[site]", b'title = "\xc5\xbdurnal"', b'url = "https://example.com/"', b""])
    _write(tmp_path, good)
    assert load_config(tmp_path).site.title == "Žurnal"
    bad = good + newline.join([b"tittle = 1", b""])
    assert problems(tmp_path, bad)[0].startswith(":4: site.tittle: unknown key (did you mean 'title'?)")


def test_a_file_that_is_not_utf8_names_its_line(tmp_path):
    [message] = problems(tmp_path, b'[site]\nurl = "https://example.com/"\ntitle = "Caf\xe9"\n')
    assert message.startswith(":3: not UTF-8 text")
    assert message.endswith("save it as UTF-8")


def test_suggest_and_find_key_line():
    assert suggest("tittle", ["title", "url"]) == " (did you mean 'title'?)"
    assert suggest("zebra", ["title", "url"]) == ""
    text = '[site]\ntitle = "T"\n\n[email]\n  "from" = "a@b"\n[[feeds]]\n'
    assert find_key_line(text, "from", "email") == 5
    assert find_key_line(text, "from", "site") is None
    assert find_key_line(text, "email") == 4
    assert find_key_line(text, "feeds") == 6


GOOD_POST = "---\ntitle: Day two\ndate: 2025-04-01\n---\n\nHello.\n"


@pytest.mark.parametrize("config, expected", [
    ('[site]\ntitle = "T"\ntittle = "T"\nurl = "https://example.com/"\n',
     ":3: site.tittle: unknown key (did you mean 'title'?)"),
    ('[site]\ntitle = "T"\nurl = "https://example.com/\n', ":3: not valid TOML"),
    ('[site]\ntitle = "T"\nurl = "https://example.com/"\ntimezone = "Mars/Base"\n',
     ":4: site.timezone: unknown time zone 'Mars/Base'"),
    ('[site]\ntitle = "T"\nurl = "https://example.com/"\n[smtp]\nhost = "h"\nport = 99999\n',
     ":6: smtp.port: expected a port number from 1 to 65535"),
    ('[site]\ntitle = "T"\nurl = "https://example.com/"\n[smtp]\nhost = "h"\nsecurity = "tls"\n',
     ":6: smtp.security: expected one of starttls, ssl, none"),
    ('[site]\ntitle = "T"\nurl = "news/"\n', ":3: site.url: expected an absolute http(s) URL"),
    ('[site]\ntitle = "T"\nurl = "https://example.com/"\n[feeds]\nlimit = "ten"\n',
     ":5: feeds.limit: expected a whole number, got 'ten'"),
])
def test_cli_build_with_a_bad_config_fails_cleanly_and_keeps_dist(newsletter, config, expected):
    newsletter.write("posts/2025-04-01-day-two.md", GOOD_POST)
    assert newsletter.run("build").exit_code == 0
    before = newsletter.snapshot()
    assert "day-two/index.html" in before
    newsletter.write("newsletter.toml", config)
    result = newsletter.run("build")
    assert result.exit_code == 1
    assert f"error: {newsletter.root / 'newsletter.toml'}{expected}" in result.stderr
    assert len(result.stderr.splitlines()) == 1
    assert "Traceback" not in result.output
    assert newsletter.snapshot() == before


def test_cli_build_without_a_config_says_to_run_init(tmp_path):
    result = CliRunner().invoke(main, ["--dir", str(tmp_path), "build"], catch_exceptions=False)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: {tmp_path / 'newsletter.toml'}: not found; run 'newsletter init'")
    assert "Traceback" not in result.output
    assert not (tmp_path / "dist").exists()


def test_send_section_takes_a_start_date_and_an_uncertain_policy(tmp_path):
    from datetime import date

    from newsletter.config import load_config

    (tmp_path / "newsletter.toml").write_text(SITE + '\n[send]\nsince = 2025-09-01\nuncertain = "resend"\n')
    config = load_config(tmp_path)
    assert config.send.since == date(2025, 9, 1) and config.send.uncertain == "resend"
    assert problems(tmp_path, SITE + '\n[send]\nsince = 2025-09-01T08:00:00\nuncertain = "maybe"\n') == [
        ":6: send.since: expected a date like 2025-09-01 (without quotes), got 2025-09-01T08:00:00",
        ":7: send.uncertain: expected \"skip\" or \"resend\", got 'maybe'"]
