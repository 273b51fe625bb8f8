"""Bounces at scale: a send where some recipients are refused for good, and `newsletter bounces` on a big Maildir.

    python benchmarks/bounces.py --subscribers 10000 --bounce-rate 0.03
    python benchmarks/bounces.py --only read --reports 10000 --runs 3

send: one issue goes to N generated subscribers through aiosmtpd on 127.0.0.1 (in its own process,
reading DATA in large chunks as benchmarks/send.py's does), which refuses a share of them at RCPT
with "550 5.1.1". Then a second issue goes out. It checks what the target asks: every good address
got exactly one copy of each issue, every refused one is in bounced.csv after the first send, and
the second send tried none of them; and prints each send's rate. Each send is the real command,
`newsletter send SLUG --yes`, in a process of its own.

read: a Maildir of N delivery reports (the Postfix, Exim, Gmail, Microsoft and Amazon SES shapes
of tests/bounce_samples.py, with some soft bounces, complaints and out-of-office replies mixed in)
is read by `newsletter bounces --maildir`, from a fresh state each run, then read again (which must
change nothing). Prints the median seconds of each. Nothing here is a test: the figures depend on
the machine and whatever else runs on it.
"""

from __future__ import annotations

import argparse
import hashlib
import multiprocessing
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
FIRST, SECOND = "rejekts-2025-day-two", "flaky-pipelines"


def _serve(port: int, refused: set[str], ready: Any, stop: Any, report: Any) -> None:
    """aiosmtpd on 127.0.0.1:port refusing *refused* at RCPT; report RCPT attempts and deliveries per address."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import SMTP

    attempts: Counter[str] = Counter()
    delivered: Counter[str] = Counter()

    class Handler:
        async def handle_RCPT(self, server, session, envelope, address, options):  # type: ignore[no-untyped-def]
            attempts[address.lower()] += 1
            if address.lower() in refused:
                return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
            envelope.rcpt_tos.append(address)
            return "250 OK"

    class BulkSMTP(SMTP):
        async def smtp_DATA(self, arg: str) -> None:
            if not self.envelope.rcpt_tos:
                await self.push("503 Error: need RCPT command")
                return
            await self.push("354 End data with <CR><LF>.<CR><LF>")
            tail = b""
            while not tail.endswith(b"\r\n.\r\n"):
                chunk = await self._reader.read(1 << 16)
                if not chunk:
                    return
                tail = (tail + chunk)[-5:]
            for address in self.envelope.rcpt_tos:
                delivered[address.lower()] += 1
            self._set_post_data_state()
            await self.push("250 OK")

    class BulkController(Controller):
        def factory(self):  # type: ignore[no-untyped-def]
            return BulkSMTP(self.handler, **self.SMTP_kwargs)

    controller = BulkController(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    ready.set()
    stop.wait()
    controller.stop()
    report.send((dict(attempts), dict(delivered)))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _newsletter(folder: Path, extra: str) -> None:
    shutil.copytree(REPO / "posts", folder / "posts")
    if (REPO / "static").is_dir():
        shutil.copytree(REPO / "static", folder / "static")
    config = (REPO / "newsletter.toml").read_text(encoding="utf-8")
    (folder / "newsletter.toml").write_text(config + extra, encoding="utf-8")


def _cpu_of_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _cli(folder: Path, *args: str) -> tuple[float, str]:
    seconds, _, output = _timed_cli(folder, *args)
    return seconds, output


def _timed_cli(folder: Path, *args: str) -> tuple[float, float, str]:
    """Run `newsletter ARGS` in a process of its own; return its wall seconds, the CPU seconds of it
    and its workers together (a figure that depends less on what else the machine runs), its output."""
    env = dict(os.environ, NEWSLETTER_TOKEN_SECRET="benchmark-secret")
    started, cpu = time.perf_counter(), _cpu_of_children()
    result = subprocess.run([sys.executable, "-m", "newsletter", "--dir", str(folder), *args],
                            capture_output=True, text=True, env=env)
    seconds, cpu = time.perf_counter() - started, _cpu_of_children() - cpu
    if result.returncode != 0:
        raise SystemExit(f"newsletter {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
    return seconds, cpu, result.stdout


def _send_with_server(folder: Path, slug: str, refused: set[str], base: str) -> tuple[float, str, dict, dict]:
    port = _free_port()
    (folder / "newsletter.toml").write_text(
        base + f'\n[smtp]\nhost = "127.0.0.1"\nport = {port}\nsecurity = "none"\nrate = 1000000\n', encoding="utf-8")
    ready, stop = multiprocessing.Event(), multiprocessing.Event()
    report, report_in = multiprocessing.Pipe(duplex=False)
    server = multiprocessing.Process(target=_serve, args=(port, refused, ready, stop, report_in), daemon=True)
    server.start()
    if not ready.wait(10):
        raise SystemExit("the SMTP server did not start")
    try:
        seconds, output = _cli(folder, "send", slug, "--yes")
    finally:
        stop.set()
    attempts, delivered = report.recv()
    server.join(10)
    return seconds, output, attempts, delivered


def _suppressed(folder: Path) -> set[str]:
    lines = (folder / "bounced.csv").read_text(encoding="utf-8").splitlines()[1:]
    return {line.split(",", 1)[0].lower() for line in lines if line}


def run_send(subscribers: int, bounce_rate: float) -> bool:
    """Two sends to *subscribers*, a share refused for good; check the target and print the rates."""
    addresses = [f"reader{number:06d}@example.org" for number in range(subscribers)]
    step = max(1, round(1 / bounce_rate)) if bounce_rate > 0 else 0
    refused = {address for number, address in enumerate(addresses) if step and number % step == step // 2}
    good = set(addresses) - refused
    ok = True
    with tempfile.TemporaryDirectory(prefix="newsletter-bounce-bench-") as temp:
        folder = Path(temp) / "letter"
        folder.mkdir()
        _newsletter(folder, "")
        base = (folder / "newsletter.toml").read_text(encoding="utf-8")
        with open(folder / "subscribers.csv", "w", encoding="utf-8") as handle:
            handle.write("email,name\n" + "".join(f"{address},Reader\n" for address in addresses))
        for round_, slug in ((1, FIRST), (2, SECOND)):
            seconds, output, attempts, delivered = _send_with_server(folder, slug, refused, base)
            once = all(delivered.get(address) == 1 for address in good) and not set(delivered) - good
            tried_refused = sum(attempts.get(address, 0) for address in refused)
            suppressed = _suppressed(folder)
            print(f"send {round_} ({slug}): {subscribers:,} subscribers, {len(refused):,} refused for good: "
                  f"{sum(delivered.values()):,} delivered in {seconds:.1f} s ({sum(delivered.values()) / seconds:.0f} "
                  f"msg/s, the whole command); every good address exactly once: {'yes' if once else 'NO'}; "
                  f"refused addresses tried: {tried_refused:,}; in bounced.csv: {len(suppressed & refused):,}")
            for line in output.splitlines():
                if line.startswith("Sent "):
                    print(f"  {line}")
            expected_tries = len(refused) if round_ == 1 else 0
            ok = ok and once and tried_refused == expected_tries and suppressed == refused
    return ok


def _reports(count: int) -> list[bytes]:
    sys.path.insert(0, str(REPO / "tests"))
    import bounce_samples as samples

    shapes = [*samples.HARD.values()] * 18 + [*samples.SOFT.values()] * 3 + [samples.arf_complaint] * 2
    shapes += [samples.vacation_reply] * 2  # of every 100: 90 hard, 6 soft, 2 complaints, 2 not reports
    reports = []
    for number in range(count):
        address = f"reader{number:06d}@example.org"
        digest = hashlib.sha256(str(number).encode()).hexdigest()[:20]
        original = samples.original_headers(address, f"<{FIRST}.{digest}@example.com>")
        reports.append(shapes[number % len(shapes)](address, original, f"<report{number:06d}@mx.example.net>"))
    return reports


def run_read(count: int, runs: int) -> bool:
    """Time `newsletter bounces` on a Maildir of *count* reports: from a fresh state, and again."""
    import mailbox

    firsts, seconds_again, cpus = [], [], []
    ok = True
    with tempfile.TemporaryDirectory(prefix="newsletter-bounce-bench-") as temp:
        folder = Path(temp) / "letter"
        folder.mkdir()
        _newsletter(folder, '\n[subscribers]\nunsubscribed = "unsubscribed.txt"\n')
        box = mailbox.Maildir(Path(temp) / "Maildir", create=True)
        for report in _reports(count):
            box.add(report)
        for run in range(1, runs + 1):
            for leftover in ("bounced.csv", "unsubscribed.txt", ".newsletter/bounces.json"):
                (folder / leftover).unlink(missing_ok=True)
            first, cpu, output = _timed_cli(folder, "bounces", "--maildir", str(Path(temp) / "Maildir"))
            kept = {name: (folder / name).read_bytes() for name in ("bounced.csv", ".newsletter/bounces.json")}
            again, output_again = _cli(folder, "bounces", "--maildir", str(Path(temp) / "Maildir"))
            same = kept == {name: (folder / name).read_bytes() for name in kept}
            ok = ok and same and len(box) == count
            firsts.append(first)
            seconds_again.append(again)
            cpus.append(cpu)
            print(f"run {run}: first {first:5.1f} s ({cpu:.1f} s of CPU in all), again {again:5.1f} s, "
                  "second run changed nothing: "
                  f"{'yes' if same else 'NO'}; {output.splitlines()[0]}", flush=True)
    print(f"\n`newsletter bounces` on a Maildir of {count:,} reports, median of {runs} runs: "
          f"{statistics.median(firsts):.1f} s from a fresh state ({statistics.median(cpus):.1f} s of CPU over all "
          f"its processes), {statistics.median(seconds_again):.1f} s run again (load average now "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=("send", "read"), help="run one scenario (default: both)")
    parser.add_argument("--subscribers", type=int, default=10_000, help="subscribers in the send (default 10,000)")
    parser.add_argument("--bounce-rate", type=float, default=0.03, help="share refused for good (default 0.03)")
    parser.add_argument("--reports", type=int, default=10_000, help="reports in the Maildir (default 10,000)")
    parser.add_argument("--runs", type=int, default=3, help="runs of the read to take the median of (default 3)")
    args = parser.parse_args()
    ok = True
    if args.only in (None, "send"):
        ok = run_send(args.subscribers, args.bounce_rate) and ok
    if args.only in (None, "read"):
        ok = run_read(args.reports, args.runs) and ok
    if not ok:
        raise SystemExit("a check failed (see above)")


if __name__ == "__main__":
    main()
