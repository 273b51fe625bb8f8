"""The list server for tests: `newsletter lists serve` as a real process on 127.0.0.1, and a small HTTP client."""

from __future__ import annotations

import http.client
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from smtp_server import free_port

SECRET = "list-secret-for-tests-0123456789"
API_TOKEN = "api-token-for-tests-0123456789"
SRC = Path(__file__).resolve().parents[1] / "src"


def lists_config(smtp_port: int, list_port: int, **lists: object) -> str:
    """newsletter.toml sections for a list server on *list_port* mailing through *smtp_port*."""
    settings = {"per_ip_per_hour": 100_000, **lists}
    lines = ["", "[email]", 'from = "Tess Tester <news@example.com>"', "",
             "[smtp]", 'host = "127.0.0.1"', f"port = {smtp_port}", 'security = "none"', "rate = 1000", "",
             "[lists]", f'url = "http://127.0.0.1:{list_port}/"']
    lines += [f"{key} = {_toml(value)}" for key, value in settings.items()]
    return "\n".join(lines) + "\n"


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value) if isinstance(value, int) else f'"{value}"'


def server_env(**extra: str) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(SRC), "NEWSLETTER_LISTS_SECRET": SECRET,
           "NEWSLETTER_LISTS_API_TOKEN": API_TOKEN}
    env.update(extra)
    return env


@dataclass
class Reply:
    status: int
    body: bytes
    headers: dict[str, str]

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")


@dataclass
class ListServer:
    """`newsletter -C ROOT lists serve --port PORT` in a subprocess; a context manager."""

    root: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @property
    def database(self) -> Path:
        return self.root / "lists.sqlite3"

    def start(self) -> ListServer:
        log = open(self.root / "server.log", "ab")  # noqa: SIM115 - kept open for the process's life
        self.process = subprocess.Popen(
            [sys.executable, "-m", "newsletter", "-C", str(self.root), "lists", "serve", "--port", str(self.port)],
            env=server_env(), stdout=log, stderr=log)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"the list server stopped: {(self.root / 'server.log').read_text()}")
            try:
                if self.get("/health").status == 200:
                    return self
            except OSError:
                time.sleep(0.1)
        raise AssertionError("the list server did not start within 30 s")

    def kill(self, sig: int = signal.SIGTERM) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(timeout=30)

    def __enter__(self) -> ListServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.kill()

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None) -> Reply:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            return Reply(response.status, response.read(), {k.lower(): v for k, v in response.getheaders()})
        finally:
            connection.close()

    def get(self, path: str, **headers: str) -> Reply:
        return self.request("GET", path, headers=headers)

    def post_form(self, path: str, fields: dict[str, str]) -> Reply:
        return self.request("POST", path, urlencode(fields).encode(),
                            {"Content-Type": "application/x-www-form-urlencoded"})

    def subscribe(self, email: str, name: str = "", page: str = "https://example.com/letter/") -> Reply:
        return self.post_form("/subscribe", {"email": email, "name": name, "page": page, "website": ""})

    def api_subscribers(self) -> list[str]:
        reply = self.get("/api/subscribers", Authorization=f"Bearer {API_TOKEN}")
        assert reply.status == 200, reply
        return reply.text.splitlines()[1:]

    def rows(self) -> list[tuple]:
        with sqlite3.connect(self.database) as db:
            return db.execute("SELECT email, name, status, consent, requested_at, confirmed_at, source_page, "
                              "wording FROM subscribers ORDER BY id").fetchall()


def path_of(url: str) -> str:
    return urlsplit(url).path


def link_in(text: str, kind: str) -> str:
    """The first http link to /<kind>/ in an email's text."""
    match = re.search(rf"http://127\.0\.0\.1:\d+/{kind}/\S+", text)
    assert match, text
    return match.group(0)
