"""Time the list server with a full database: subscribe and one-click unsubscribe latency, streaming the list.

    python benchmarks/lists.py --subscribers 100000 --requests 1000

The server is `newsletter lists serve` (uvicorn) in its own process, as a user runs it, on a
database filled with --subscribers confirmed addresses; its confirmation emails go to an aiosmtpd
sink on 127.0.0.1. Requests come one at a time, each on a new connection, so the latencies are the
server's answer time plus a loopback connect: median and 95th percentile. Then the whole active
list is read from GET /api/subscribers while the server's resident memory is sampled every 10 ms:
the time, the rows, and how much the memory grew (flat: about the same for 1,000 rows or 100,000).
Nothing here is a test: the figures depend on the machine, its disk and whatever else runs on it.
"""

from __future__ import annotations

import argparse
import http.client
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

REPO = Path(__file__).resolve().parents[1]
SECRET = "benchmark-secret-0123456789abcdef"
TOKEN = "benchmark-api-token-0123456789"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _config(smtp_port: int, port: int) -> str:
    return f"""[site]
title = "Benchmark Letter"
url = "https://example.com/letter/"

[email]
from = "Bench <news@example.com>"

[smtp]
host = "127.0.0.1"
port = {smtp_port}
security = "none"

[lists]
url = "http://127.0.0.1:{port}/"
per_ip_per_hour = 100000000
"""


def _fill(root: Path, count: int) -> list[str]:
    """Put *count* confirmed addresses in the database, as an import would; return them."""
    sys.path.insert(0, str(REPO / "src"))
    from newsletter.lists.store import Store
    from newsletter.send.listserver import list_unsubscribe_token

    addresses = [f"reader{n}@example.com" for n in range(count)]
    store = Store(root / "lists.sqlite3", lambda address: list_unsubscribe_token(SECRET, address))
    try:
        for start in range(0, count, 10_000):
            store.add_imported([(a, f"Reader {a[6:-12]}") for a in addresses[start:start + 10_000]], "benchmark")
    finally:
        store.close()
    return addresses


def _rss(pid: int) -> int:
    """Resident memory of a process in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _request(port: int, method: str, path: str, body: bytes | None = None,
             headers: dict[str, str] | None = None) -> tuple[int, float]:
    start = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        response.read()
        return response.status, time.perf_counter() - start
    finally:
        connection.close()


def _summary(name: str, seconds: list[float]) -> str:
    ordered = sorted(seconds)
    p95 = ordered[max(0, int(len(ordered) * 0.95) - 1)]
    return (f"{name}: {len(seconds)} requests, median {statistics.median(ordered) * 1000:.1f} ms, "
            f"p95 {p95 * 1000:.1f} ms, max {ordered[-1] * 1000:.1f} ms")


def _stream(port: int, pid: int) -> str:
    """Read the whole list while sampling the server's memory."""
    peak = base = _rss(pid)
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _rss(pid))
            time.sleep(0.01)

    sampler = threading.Thread(target=sample)
    sampler.start()
    start = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    connection.request("GET", "/api/subscribers", headers={"Authorization": f"Bearer {TOKEN}"})
    response = connection.getresponse()
    lines = 0
    while chunk := response.read(65536):
        lines += chunk.count(b"\n")
    seconds = time.perf_counter() - start
    connection.close()
    done.set()
    sampler.join()
    return (f"GET /api/subscribers: {lines - 1} rows in {seconds:.2f} s; server memory {base / 1024:.0f} MiB "
            f"before, {peak / 1024:.0f} MiB at most while streaming (+{(peak - base) / 1024:.1f} MiB)")


def _in_process(root: Path, addresses: list[str], count: int, env: dict[str, str]) -> str:
    """The server's own share: the same requests handed to its service directly, without HTTP."""
    os.environ.update({k: env[k] for k in ("NEWSLETTER_LISTS_SECRET", "NEWSLETTER_LISTS_API_TOKEN")})
    from newsletter.config import load_config
    from newsletter.lists.server import open_service
    from newsletter.send.listserver import list_unsubscribe_token

    service = open_service(load_config(root))
    form = {"List-Unsubscribe": "One-Click"}
    try:
        subscribes, unsubscribes = [], []
        for n in range(count):
            start = time.perf_counter()
            service.subscribe({"email": f"direct{n}@example.com", "page": "https://example.com/letter/"}, "10.0.0.1")
            subscribes.append(time.perf_counter() - start)
        for address in addresses[1::max(1, len(addresses) // count)][:count]:
            token = list_unsubscribe_token(SECRET, address)
            start = time.perf_counter()
            service.unsubscribe(token, form)
            unsubscribes.append(time.perf_counter() - start)
    finally:
        service.mailer.stop()
        service.store.close()
    return (_summary("in process, subscribe", subscribes) + "\n"
            + _summary("in process, one-click unsubscribe", unsubscribes))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=1000, help="subscribe and unsubscribe requests each")
    args = parser.parse_args()
    from aiosmtpd.controller import Controller

    class Sink:
        async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
            return "250 OK"

    root = Path(tempfile.mkdtemp(prefix="lists-bench-"))
    smtp = Controller(Sink(), hostname="127.0.0.1", port=_free_port())
    smtp.start()
    port = _free_port()
    server = None
    try:
        (root / "newsletter.toml").write_text(_config(smtp.port, port))
        start = time.perf_counter()
        addresses = _fill(root, args.subscribers)
        print(f"database: {args.subscribers} confirmed subscribers in {time.perf_counter() - start:.1f} s")
        env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "NEWSLETTER_LISTS_SECRET": SECRET,
               "NEWSLETTER_LISTS_API_TOKEN": TOKEN}
        server = subprocess.Popen([sys.executable, "-m", "newsletter", "-C", str(root), "lists", "serve",
                                   "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while True:
            try:
                if _request(port, "GET", "/health")[0] == 200:
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        subscribes = []
        for n in range(args.requests):
            body = urlencode({"email": f"new{n}@example.com", "name": "New Reader",
                              "page": "https://example.com/letter/"}).encode()
            status, seconds = _request(port, "POST", "/subscribe", body, form)
            assert status == 200, status
            subscribes.append(seconds)
        print(_summary("POST /subscribe", subscribes))

        from newsletter.send.listserver import list_unsubscribe_token

        unsubscribes = []
        step = max(1, len(addresses) // args.requests)
        for address in addresses[::step][: args.requests]:
            path = f"/unsubscribe/{list_unsubscribe_token(SECRET, address)}"
            status, seconds = _request(port, "POST", path, b"List-Unsubscribe=One-Click", form)
            assert status == 200, status
            unsubscribes.append(seconds)
        print(_summary("POST /unsubscribe (one-click)", unsubscribes))
        print(_stream(port, server.pid))
        server.terminate()
        server.wait(timeout=30)
        server = None
        print(_in_process(root, addresses, args.requests, env))
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        smtp.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
