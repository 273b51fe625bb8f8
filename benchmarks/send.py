"""Send one issue to N generated subscribers through a loopback SMTP server; print msg/s and memory.

    python benchmarks/send.py --subscribers 10000 --runs 3

The server is aiosmtpd on 127.0.0.1 in its own process, counting messages and throwing them
away. By default it reads DATA in large chunks: stock aiosmtpd reads a message line by line and
spends about 2 ms of CPU on each, more than the sender does, so it would measure itself
(--server stock shows that). Each run sends in a fresh process exactly as `newsletter send` does
(journal fsync'd per recipient, manifest written at the end), with no rate limit. The summary is
the median of the runs: messages a second, the sender's peak memory (max RSS), how much that grew
from the first message to the last (flat memory: the same for 1,000 or 100,000 recipients), and
the CPU each side spends per message. Nothing here is a test: the figures depend on the machine,
its disk and whatever else runs on it.
"""

from __future__ import annotations

import argparse
import json
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
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
ISSUE = "rejekts-2025-day-two"


def _serve(port: int, bulk: bool, ready: Any, stop: Any, report: Any) -> None:
    """Run aiosmtpd on 127.0.0.1:port until told to stop; report its CPU seconds and message count."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import SMTP

    count = 0

    class Sink:
        async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
            nonlocal count
            count += 1
            return "250 OK"

    class BulkSMTP(SMTP):
        """aiosmtpd reading DATA in large chunks instead of line by line (its own loop costs ~2 ms a message)."""

        async def smtp_DATA(self, arg: str) -> None:
            nonlocal count
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
            count += 1
            self._set_post_data_state()
            await self.push("250 OK")

    class BulkController(Controller):
        def factory(self):  # type: ignore[no-untyped-def]
            return BulkSMTP(self.handler, **self.SMTP_kwargs)

    controller = (BulkController if bulk else Controller)(Sink(), hostname="127.0.0.1", port=port)
    controller.start()
    started = time.process_time()
    ready.set()
    stop.wait()
    controller.stop()
    report.send((time.process_time() - started, count))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _make_newsletter(folder: Path, port: int, subscribers: int) -> None:
    shutil.copytree(REPO / "posts", folder / "posts")
    if (REPO / "static").is_dir():
        shutil.copytree(REPO / "static", folder / "static")
    config = (REPO / "newsletter.toml").read_text(encoding="utf-8")
    config += f'\n[smtp]\nhost = "127.0.0.1"\nport = {port}\nsecurity = "none"\nrate = 1000000\n'
    (folder / "newsletter.toml").write_text(config, encoding="utf-8")
    with open(folder / "subscribers.csv", "w", encoding="utf-8") as handle:
        handle.write("email,name\n")
        for number in range(subscribers):
            handle.write(f"reader{number:06d}@example.com,Reader {number}\n")


def _child(folder: Path) -> None:
    """One run: plan and send the issue; print seconds, messages and RSS before sending as JSON."""
    from newsletter.send import execute_plan, plan_send, smtp_transport

    plan = plan_send(folder, ISSUE)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    transport = smtp_transport(plan)
    loop_peak = [before]

    def progress(report: Any) -> None:
        if report.done == report.total:  # the last message: the loop's peak, before the manifest is written
            loop_peak[0] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    started, cpu = time.perf_counter(), time.process_time()
    results = execute_plan(plan, lambda issue: transport, progress=progress)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    print(json.dumps({"seconds": seconds, "cpu": cpu, "messages": sum(r.sent for r in results),
                      "complete": all(r.complete for r in results), "rss_before_kib": before,
                      "rss_loop_kib": loop_peak[0]}))


def _run_once(folder: Path) -> tuple[float, float, float, float]:
    for leftover in ("manifest.json", ".newsletter"):
        path = folder / leftover
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
    env = dict(os.environ, NEWSLETTER_TOKEN_SECRET="benchmark-secret")
    process = subprocess.Popen([sys.executable, __file__, "--child", str(folder)], stdout=subprocess.PIPE,
                               env=env, text=True)
    assert process.stdout is not None
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"the send failed (exit {process.returncode})")
    report = json.loads(output.strip().splitlines()[-1])
    if not report["complete"]:
        raise SystemExit("the send did not finish")
    peak_mib = usage.ru_maxrss / 1024  # KiB on Linux
    growth_mib = (report["rss_loop_kib"] - report["rss_before_kib"]) / 1024
    return (report["messages"] / report["seconds"], peak_mib, growth_mib,
            report["cpu"] / report["messages"] * 1000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscribers", type=int, default=10_000, help="how many recipients (default 10,000)")
    parser.add_argument("--runs", type=int, default=3, help="runs to take the median of (default 3)")
    parser.add_argument("--server", choices=("bulk", "stock"), default="bulk",
                        help="aiosmtpd reading DATA in chunks (default), or stock aiosmtpd, whose "
                             "line-by-line DATA loop is slower than the sender")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child)
        return

    port = _free_port()
    ready, stop = multiprocessing.Event(), multiprocessing.Event()
    report, report_in = multiprocessing.Pipe(duplex=False)
    server = multiprocessing.Process(target=_serve, args=(port, args.server == "bulk", ready, stop, report_in),
                                     daemon=True)
    server.start()
    if not ready.wait(10):
        raise SystemExit("the SMTP server did not start")
    try:
        with tempfile.TemporaryDirectory(prefix="newsletter-send-bench-") as temp:
            folder = Path(temp) / "letter"
            folder.mkdir()
            _make_newsletter(folder, port, args.subscribers)
            rates, peaks, growths, cpus = [], [], [], []
            for run in range(1, args.runs + 1):
                rate, peak, growth, cpu = _run_once(folder)
                rates.append(rate)
                peaks.append(peak)
                growths.append(growth)
                cpus.append(cpu)
                print(f"run {run}: {rate:7.0f} msg/s   peak {peak:6.1f} MiB   grew {growth:5.1f} MiB from first to last message   "
                      f"sender CPU {cpu:.2f} ms/msg", flush=True)
    finally:
        stop.set()
        server.join(10)
    server_cpu, served = report.recv() if report.poll(5) else (0.0, 0)
    print(f"\n{args.subscribers:,} recipients, {args.server} aiosmtpd, median of {args.runs} runs: "
          f"{statistics.median(rates):.0f} msg/s, peak memory {statistics.median(peaks):.1f} MiB "
          f"(grew {statistics.median(growths):.1f} MiB from first to last message)")
    if served:
        print(f"CPU per message: sender {statistics.median(cpus):.2f} ms, server {server_cpu / served * 1000:.2f} ms "
              f"(the machine has {os.cpu_count()} cores; load average now {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
