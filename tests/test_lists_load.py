"""The list server under load and faults: many clients at once, and a SIGKILL in the middle of writes."""

from __future__ import annotations

import http.client
import random
import signal
import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from list_server import SECRET, ListServer, lists_config
from newsletter.lists.tokens import Signer
from smtp_server import SmtpServer, free_port


@pytest.fixture
def smtp():
    with SmtpServer() as server:
        yield server


def _server(newsletter, smtp) -> ListServer:
    port = free_port()
    newsletter.write("newsletter.toml", newsletter.root.joinpath("newsletter.toml").read_text()
                     + lists_config(smtp.port, port, welcome=False))
    return ListServer(newsletter.root, port)


def test_500_requests_from_20_clients_give_no_error_and_no_duplicate_row(newsletter, smtp):
    addresses = [f"reader{n}@example.com" for n in range(250)]
    # Every address twice, once in another case, in a random order: concurrent requests for one address.
    requests = addresses + [address.upper().replace("@EXAMPLE.COM", "@example.com") for address in addresses]
    random.Random(17).shuffle(requests)
    with _server(newsletter, smtp) as server, ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(pool.map(lambda address: server.subscribe(address).status, requests))
        assert statuses == [200] * 500
        with sqlite3.connect(server.database) as db:
            assert db.execute("SELECT count(*), count(DISTINCT email_key) FROM subscribers").fetchone() == (250, 250)
            assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    log = (newsletter.root / "server.log").read_text()
    assert "Traceback" not in log and "ERROR" not in log


def test_a_server_killed_during_writes_loses_no_confirmed_subscriber(newsletter, smtp):
    server = _server(newsletter, smtp).start()
    try:
        with ThreadPoolExecutor(max_workers=10) as pool:
            assert set(pool.map(lambda n: server.subscribe(f"early{n}@example.com").status, range(400))) == {200}
        with sqlite3.connect(server.database) as db:
            pending = db.execute("SELECT id, email, confirm_nonce FROM subscribers").fetchall()
        signer = Signer(SECRET, 3600)
        confirmed: list[str] = []
        lock = threading.Lock()

        def confirm(row: tuple[int, str, str]) -> None:
            try:
                reply = server.get(f"/confirm/{signer.confirm_token(row[0], row[2], time.time())}")
            except (OSError, http.client.HTTPException):
                return  # the server died before answering: this one may or may not have been stored
            if reply.status == 200:
                with lock:
                    confirmed.append(row[1])

        def keep_subscribing(n: int) -> None:
            try:
                server.subscribe(f"late{n}@example.com")
            except (OSError, http.client.HTTPException):
                pass

        def kill_when_half_done() -> None:
            while len(confirmed) < 150:
                time.sleep(0.005)
            server.kill(signal.SIGKILL)

        killer = threading.Thread(target=kill_when_half_done)
        killer.start()
        with ThreadPoolExecutor(max_workers=10) as pool:
            list(pool.map(confirm, pending))
            list(pool.map(keep_subscribing, range(200)))
        killer.join(timeout=60)
        assert server.process is not None and server.process.returncode == -signal.SIGKILL
        assert 150 <= len(confirmed) < 400

        server.start()  # on the same database
        with sqlite3.connect(server.database) as db:
            assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        listed = set(server.api_subscribers())
        assert {f"{address}," for address in confirmed} <= listed
        assert server.subscribe("after@example.com").status == 200
    finally:
        server.kill()
