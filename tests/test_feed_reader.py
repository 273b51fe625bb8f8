"""Real feed readers pull the feeds over HTTP (rss2email into a mailbox, the reader library, newsboat):
each issue arrives once, through edits, new and back-dated issues and changes of the feed limit."""

from __future__ import annotations

import email
import email.policy
import functools
import http.server
import mailbox
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest

from newsletter.build.engine import build

SITE = "https://example.com/letter/"
FIRST_BUILD = datetime(2025, 5, 1, 12, 0, tzinfo=UTC)
SECOND_BUILD = datetime(2025, 5, 8, 12, 0, tzinfo=UTC)
URL = re.compile(r"https?://[^\s<>()\[\]\"']+")


def _r2e() -> str:
    """The rss2email command installed beside this Python (the test extra installs it)."""
    beside = Path(sys.executable).parent / "r2e"
    found = str(beside) if beside.exists() else shutil.which("r2e")
    assert found, "rss2email's 'r2e' command is missing: pip install -e '.[test]'"
    return found


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Serve dist/ as a static host would, always sending the current files."""

    def send_head(self):  # type: ignore[no-untyped-def]
        # Two builds can fall within one second, so a file's mtime cannot tell them apart.
        del self.headers["If-Modified-Since"]
        return super().send_head()

    def send_header(self, keyword: str, value: str) -> None:
        # Nor can a reader that keeps the Last-Modified of its last fetch (newsboat does): send none.
        if keyword.lower() != "last-modified":
            super().send_header(keyword, value)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def server(newsletter) -> Iterator[str]:  # type: ignore[no-untyped-def]
    newsletter.dist.mkdir(parents=True, exist_ok=True)
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Handler, directory=newsletter.dist))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


class Reader:
    """rss2email with its config, state and maildir under a temporary home."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.config = home / "config" / "rss2email.cfg"
        self.data = home / "data" / "rss2email.json"
        self.maildir = home / "Maildir"
        for folder in (self.config.parent, self.data.parent, home / "run", self.maildir):
            folder.mkdir(parents=True)
        self.config.write_text(
            "[DEFAULT]\n"
            "to = reader@example.com\n"
            "email-protocol = maildir\n"
            f"maildir-path = {self.maildir}\n"
            "maildir-mailbox = INBOX\n"
            # As RSS-to-email subscribers get it: the full issue as HTML, not the summary.
            "html-mail = True\n")
        # Nothing may touch the real home, and 127.0.0.1 must not go through a proxy.
        self.env = {key: value for key, value in os.environ.items() if "proxy" not in key.lower()}
        self.env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / "config"), XDG_DATA_HOME=str(home / "data"),
                        XDG_RUNTIME_DIR=str(home / "run"), NO_PROXY="*")

    def __call__(self, *args: str) -> None:
        result = subprocess.run([_r2e(), "-c", str(self.config), "-d", str(self.data), *args], env=self.env,
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, f"r2e {' '.join(args)}:\n{result.stdout}\n{result.stderr}"

    def messages(self) -> dict[str, EmailMessage]:
        box = mailbox.Maildir(self.maildir / "INBOX", factory=None, create=False)
        return {key: email.message_from_bytes(box.get_bytes(key), policy=email.policy.default)
                for key in box.keys()}


def _body(message: EmailMessage) -> str:
    return "\n".join(part.get_content() for part in message.walk() if not part.is_multipart())


def _write_issues(newsletter) -> None:  # type: ignore[no-untyped-def]
    newsletter.post("2025-04-01-day-one", 'title: "Rejekts — Day One"\ndate: 2025-04-01 09:00\ntags: [kubernetes]', """\
        The keynote, then [day two](day-two/), and a [footnote reference](#notes).

        ![The hall](static/hall.png)

        ## Notes {#notes}

        See [the archive](/) for more.
        """)
    newsletter.post("2025-04-02-day-two", "title: Rejekts — Day Two\ndate: 2025-04-02", """\
        Day two: [back to day one](../day-one/).
        """)


def test_rss2email_gets_each_issue_once_with_links_to_the_site(newsletter, server, tmp_path):
    _write_issues(newsletter)
    build(newsletter.root, now=FIRST_BUILD)
    reader = Reader(tmp_path / "home")
    reader("add", "atom", server + "feed.xml")
    reader("add", "rss", server + "rss.xml")
    reader("run")
    first = reader.messages()
    by_feed = sorted((m["X-RSS-Feed"], m["X-RSS-URL"]) for m in first.values())
    assert by_feed == sorted((server + feed, SITE + slug + "/") for feed in ("feed.xml", "rss.xml")
                             for slug in ("day-one", "day-two"))

    # A new issue is published; an old one is re-titled, rewritten and re-tagged meanwhile.
    newsletter.post("2025-04-01-day-one", 'title: "Rejekts — Day One (revised)"\ndate: 2025-04-01 09:00\n'
                    "tags: [conferences]", "A rewritten report. See [day two](day-two/).\n")
    newsletter.post("2025-05-05-day-three", "title: Rejekts — Day Three\ndate: 2025-05-05", """\
        The last day, with a link to [day one](day-one/) and [a talk](https://kubernetes.io/blog/).
        """)
    build(newsletter.root, now=SECOND_BUILD)
    reader("run")
    everything = reader.messages()
    new = [message for key, message in everything.items() if key not in first]
    assert sorted((m["X-RSS-Feed"], m["X-RSS-URL"]) for m in new) == [
        (server + "feed.xml", SITE + "day-three/"), (server + "rss.xml", SITE + "day-three/")]
    assert all("Rejekts — Day Three" in m["Subject"] for m in new)

    # Running again brings nothing new.
    reader("run")
    assert reader.messages().keys() == everything.keys()

    # Every link a subscriber can follow leads to the site, never to where the feed was fetched.
    for message in everything.values():
        body = _body(message)
        assert "127.0.0.1" not in body
        links = URL.findall(body)
        assert links, body
        for link in links:
            assert link.startswith(SITE) or link.startswith("https://kubernetes.io/"), link
    for message in new:
        day_three = _body(message)
        assert f'href="{SITE}day-one/"' in day_three and 'href="https://kubernetes.io/blog/"' in day_three


# --- the reader library (PyPI 'reader'), following the three feeds through edits and back-dated issues ---

def _issue(newsletter, number: int, day: str, title: str = "", tags: str = "[notes]",  # type: ignore[no-untyped-def]
           body: str = "Some text.\n") -> str:
    newsletter.post(f"{day}-issue-{number}", f"title: {title or f'Issue {number}'}\ndate: {day}\ntags: {tags}", body)
    return f"{SITE}issue-{number}/"


def _set_limit(newsletter, limit: int) -> None:  # type: ignore[no-untyped-def]
    config = newsletter.root / "newsletter.toml"
    config.write_text(config.read_text().split("\n[feeds]")[0] + f"\n[feeds]\nlimit = {limit}\n")


def test_the_reader_library_gets_each_issue_once_through_edits_and_back_dated_issues(
        newsletter, server, tmp_path, monkeypatch):
    from reader import make_reader

    monkeypatch.setenv("NO_PROXY", "*")
    for key in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(key, raising=False)
    _set_limit(newsletter, 5)
    links = [_issue(newsletter, n, f"2025-01-{n:02d}") for n in range(1, 29)]  # 25 go to archive page 1
    now = datetime(2025, 3, 1, 12, tzinfo=UTC)
    build(newsletter.root, now=now)
    feeds = [server + name for name in ("feed.xml", "rss.xml", "feed.json")]
    reader = make_reader(str(tmp_path / "reader.sqlite"))
    try:
        for url in feeds:
            reader.add_feed(url)

        def update() -> dict[str, list[str]]:
            """Fetch every feed; return the links of the entries that are new (unread) in each."""
            # Every time, not on reader's own schedule (hourly at most by default).
            for result in reader.update_feeds_iter(scheduled=False):
                assert not isinstance(result.value, Exception), result.value
            unread: dict[str, list[str]] = {}
            for url in feeds:
                entries = list(reader.get_entries(feed=url))
                assert len({e.link for e in entries}) == len(entries), f"{url}: an issue twice"
                unread[url] = sorted(e.link for e in entries if not e.read)
                for entry in entries:
                    reader.mark_entry_as_read(entry)
            return unread

        first = update()
        assert all(len(found) >= 5 for found in first.values()), first
        # Issues 26-28 wait for the next archive page, with the newest five: 24-28.
        assert first == {url: sorted(links[23:]) for url in feeds}

        steps = [
            # An issue in the feed re-titled, rewritten and re-tagged: nothing new.
            ("edit", lambda: _issue(newsletter, 28, "2025-01-28", "Issue 28, revised", "[other]", "New words.\n"),
             []),
            # A new issue, then one back-dated among the archived ones: each arrives once.
            ("new", lambda: _issue(newsletter, 29, "2025-02-20"), [f"{SITE}issue-29/"]),
            ("back-dated", lambda: _issue(newsletter, 30, "2025-01-03"), [f"{SITE}issue-30/"]),
            # Fewer issues in the feed, then as many as before: the ones coming back are not new.
            ("limit 2", lambda: _set_limit(newsletter, 2), []),
            ("limit 5", lambda: _set_limit(newsletter, 5), []),
            # More than ever: older issues the reader never had arrive, once each.
            ("limit 7", lambda: _set_limit(newsletter, 7), [f"{SITE}issue-23/"]),
            # An archived issue edited: not new either.
            ("archived edit", lambda: _issue(newsletter, 2, "2025-01-02", "Issue 2, corrected"), []),
        ]
        for first_number in (31, 38, 45):  # enough new issues, seven at a time, to fill archive page 2
            numbers = range(first_number, first_number + 7)
            steps.append((f"issues {first_number}-", functools.partial(
                lambda numbers: [_issue(newsletter, n, f"2025-02-{n - 29:02d}") for n in numbers], numbers),
                sorted(f"{SITE}issue-{n}/" for n in numbers)))
        for name, change, expected in steps:
            change()
            now += timedelta(hours=1)
            build(newsletter.root, now=now)
            assert update() == {url: expected for url in feeds}, name
        assert (newsletter.dist / "feed/archive/2.xml").is_file()
    finally:
        reader.close()


# --- newsboat (Debian), the same story -------------------------------------------------------------------

NEWSBOAT = "/usr/bin/newsboat"


class Newsboat:
    """newsboat with its URL list, config and cache under a temporary home, reloaded from the command line."""

    def __init__(self, home: Path, feeds: list[str]) -> None:
        home.mkdir(parents=True)
        self.home, self.cache = home, home / "cache.db"
        (home / "urls").write_text("".join(f"{url}\n" for url in feeds))
        (home / "config").write_text("")
        self.env = {key: value for key, value in os.environ.items() if "proxy" not in key.lower()}
        self.env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / "config.d"), XDG_DATA_HOME=str(home / "data"),
                        no_proxy="*", NO_PROXY="*")

    def reload(self) -> None:
        result = subprocess.run([NEWSBOAT, "-u", str(self.home / "urls"), "-c", str(self.cache), "-C",
                                 str(self.home / "config"), "-x", "reload"], env=self.env, capture_output=True,
                                text=True, timeout=120)
        assert result.returncode == 0, result.stdout + result.stderr

    def items(self) -> list[tuple[str, str, int]]:
        """Every item newsboat keeps: (feed URL, link, unread)."""
        with sqlite3.connect(self.cache) as db:
            return [tuple(row) for row in db.execute("SELECT feedurl, url, unread FROM rss_item")]

    def read_everything(self) -> None:
        """What a subscriber does after looking at the new items."""
        with sqlite3.connect(self.cache) as db:
            db.execute("UPDATE rss_item SET unread = 0")


def test_newsboat_gets_each_issue_once_through_edits_and_back_dated_issues(newsletter, server, tmp_path):
    if not Path(NEWSBOAT).exists():
        pytest.fail(f"{NEWSBOAT} is missing: install Debian's newsboat package (./scripts/test does)")
    _set_limit(newsletter, 5)
    links = [_issue(newsletter, n, f"2025-01-{n:02d}") for n in range(1, 29)]
    now = datetime(2025, 3, 1, 12, tzinfo=UTC)
    build(newsletter.root, now=now)
    feeds = [server + "feed.xml", server + "rss.xml"]
    # One newsboat a feed: newsboat keeps one item per id, whichever of its feeds it came from.
    boats = {url: Newsboat(tmp_path / f"newsboat-{number}", [url]) for number, url in enumerate(feeds)}

    def update() -> dict[str, list[str]]:
        unread = {}
        for url, boat in boats.items():
            boat.reload()
            items = boat.items()
            mine = [link for feed, link, _ in items if feed == url]
            assert len(mine) == len(items) == len(set(mine)), f"{url}: an issue twice"
            unread[url] = sorted(link for _, link, fresh in items if fresh)
            boat.read_everything()
        return unread

    assert update() == {url: sorted(links[23:]) for url in feeds}
    steps = [
        ("edit", lambda: _issue(newsletter, 28, "2025-01-28", "Issue 28, revised", "[other]", "New words.\n"), []),
        ("new", lambda: _issue(newsletter, 29, "2025-02-20"), [f"{SITE}issue-29/"]),
        ("back-dated", lambda: _issue(newsletter, 30, "2025-01-03"), [f"{SITE}issue-30/"]),
        ("limit 2, then 5", lambda: _set_limit(newsletter, 2), []),
        ("limit 5", lambda: _set_limit(newsletter, 5), []),
        # 21 at once, more than the limit: the newest five arrive, the others are on archive page 2.
        ("a page fills", lambda: [_issue(newsletter, n, f"2025-02-{n - 29:02d}") for n in range(31, 52)],
         sorted(f"{SITE}issue-{n}/" for n in range(47, 52))),
    ]
    for name, change, expected in steps:
        change()
        now += timedelta(hours=1)
        build(newsletter.root, now=now)
        assert update() == {url: expected for url in feeds}, name
    assert (newsletter.dist / "feed/archive/2.xml").is_file()
