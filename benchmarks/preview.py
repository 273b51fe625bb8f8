"""Time the writer's loop on a generated corpus: preview start and save → new sentence served, check, status.

    python benchmarks/preview.py --posts 100 1000 --edits 5

For each size it starts `newsletter preview --no-open` (cold: no .newsletter/; warm: a second
start), appends a new sentence to one post several times and times each save until the sentence
is served in /email/<slug>.html and on /<slug>/. With Hugo installed (Debian's `hugo`), it does
the same with `hugo server` on the same posts and prints the ratio. Then it times `newsletter
check` cold (each run just after a cold `newsletter build`, and the ratio of the two) and warm,
and `newsletter status` with every issue recorded as sent. With --saves N,
the warm preview is saved N more times and its memory (all its processes) read before and after.
Medians and ranges; nothing here is a test, the figures depend on the machine.
"""

from __future__ import annotations

import argparse
import functools
import json
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import corpus  # noqa: E402
import memory  # noqa: E402

NEWSLETTER = [sys.executable, "-m", "newsletter"]
TIMEOUT = 3600.0  # a cold start at 10,000 posts on a slow machine takes more than ten minutes


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def fetch(url: str) -> bytes:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return bytes(response.read())
    except OSError:
        return b""


def wait_for(condition: Callable[[], bool], limit: float = TIMEOUT) -> float:
    """Seconds until *condition* holds, polling every few milliseconds."""
    started = time.perf_counter()
    while not condition():
        if time.perf_counter() - started > limit:
            raise TimeoutError("gave up waiting")
        time.sleep(0.005)
    return time.perf_counter() - started


def summary(label: str, seconds: list[float]) -> str:
    if not seconds:
        return f"  {label:<44} -"
    return (f"  {label:<44} {statistics.median(seconds):7.3f} s  "
            f"({min(seconds):.3f}–{max(seconds):.3f}, {len(seconds)} runs)")


class Server:
    """A preview server (ours or Hugo's) started in its own process and stopped at the end."""

    def __init__(self, command: list[str], cwd: Path, ready_url: str) -> None:
        self.started = time.perf_counter()
        self.process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.startup = wait_for(lambda: fetch(ready_url) != b"")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def serves(url: str, sentence: str) -> bool:
    """Whether *url* serves *sentence* now."""
    return sentence.encode() in fetch(url)


def _pause() -> None:
    time.sleep(0.3)  # let the server settle before the next save


def time_edits(post: Path, urls: list[str], edits: int,
               idle: Callable[[], None] = _pause) -> dict[str, list[float]]:
    """Append a new sentence to *post* *edits* times; time each save until every URL serves it.

    *idle* returns when the server is done with the save before, so that each save is timed alone.
    """
    text = post.read_text(encoding="utf-8")
    times: dict[str, list[float]] = {url: [] for url in urls}
    for number in range(edits):
        idle()
        sentence = f"Benchmark sentence number {number} {time.time_ns()}."
        post.write_text(text + f"\n{sentence}\n", encoding="utf-8")
        saved = time.perf_counter()
        for url in urls:
            wait_for(functools.partial(serves, url, sentence))
            times[url].append(time.perf_counter() - saved)
    post.write_text(text, encoding="utf-8")
    return times


def settled(base: str) -> None:
    """Wait until the preview has checked its last whole build, so that no build or check is under way."""

    def checked() -> bool:
        answer = fetch(f"{base}_preview/poll?since=-1")
        state = json.loads(answer) if answer else {}
        return bool(state.get("checked")) and not state.get("partial")

    wait_for(checked)


def memory_over_saves(server: Server, post: Path, base: str, slug: str, saves: int) -> memory.Growth:
    """Save *post* *saves* times, each until served; read the preview's memory before, during and after."""
    pid = server.process.pid
    settled(base)
    before = memory.read(pid)
    sampler = memory.Sampler(pid, 0.25)
    sampler.start()
    try:
        time_edits(post, [f"{base}email/{slug}.html"], saves)
        settled(base)
    finally:
        sampled = sampler.stop()
    after = memory.read(pid)
    return memory.Growth(before, after, max((before, after, sampled or after), key=lambda reading: reading.kib))


def ours(folder: Path, edits: int, saves: int = 0) -> tuple[dict[str, list[float]], memory.Growth | None]:
    results: dict[str, list[float]] = {"start cold": [], "start warm": []}
    growth = None
    post = sorted((folder / "posts").glob("*.md"))[-1]
    slug = re.sub(r"^\d{4}-\d{2}-\d{2}-", "", post.stem)
    for start in ("start cold", "start warm"):
        port = free_port()
        base = f"http://127.0.0.1:{port}/"
        server = Server([*NEWSLETTER, "preview", "--no-open", "--port", str(port)], folder, base + "_preview/")
        results[start].append(server.startup)
        try:
            if start == "start warm":
                # Each save on a preview done with the one before: its whole build and its check.
                timed = time_edits(post, [f"{base}email/{slug}.html", f"{base}{slug}/"], edits,
                                   functools.partial(settled, base))
                results["save → email served"], results["save → web page served"] = timed.values()
                if saves:
                    growth = memory_over_saves(server, post, base, slug, saves)
        finally:
            server.stop()
    return results, growth


def hugo(folder: Path, edits: int) -> dict[str, list[float]]:
    port = free_port()
    base = f"http://127.0.0.1:{port}/"
    post = sorted((folder / "content" / "posts").glob("*.md"))[-1]
    server = Server(["hugo", "server", "--port", str(port), "--bind", "127.0.0.1", "--baseURL", base,
                     "--disableFastRender", "--quiet"], folder, base)
    try:
        timed = time_edits(post, [f"{base}posts/{post.stem}/"], edits)
    finally:
        server.stop()
    return {"start": [server.startup], "save → web page served": next(iter(timed.values()))}


def run(command: list[str], folder: Path) -> float:
    started = time.perf_counter()
    subprocess.run(command, cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def check_and_status(folder: Path, runs: int) -> dict[str, list[float]]:
    results: dict[str, list[float]] = {"build cold": [], "check cold": [], "check warm": [],
                                       "check, one post edited": [], "status, every issue sent": []}
    post = sorted((folder / "posts").glob("*.md"))[-1]
    text = post.read_text(encoding="utf-8")
    for number in range(runs):
        # A cold build just before each cold check: the two are compared run by run.
        shutil.rmtree(folder / ".newsletter", ignore_errors=True)
        shutil.rmtree(folder / "dist", ignore_errors=True)
        results["build cold"].append(run([*NEWSLETTER, "build"], folder))
        shutil.rmtree(folder / ".newsletter", ignore_errors=True)
        results["check cold"].append(run([*NEWSLETTER, "check"], folder))
        results["check warm"].append(run([*NEWSLETTER, "check"], folder))
        post.write_text(text + f"\nCheck take {number}.\n", encoding="utf-8")
        results["check, one post edited"].append(run([*NEWSLETTER, "check"], folder))
    post.write_text(text, encoding="utf-8")
    record_everything_sent(folder)
    run([*NEWSLETTER, "build"], folder)  # status compares with what the last build made
    for _ in range(runs):
        results["status, every issue sent"].append(run([*NEWSLETTER, "status"], folder))
    (folder / "manifest.json").unlink()
    return results


def record_everything_sent(folder: Path) -> None:
    """Write a manifest that records every published issue as sent to 100 subscribers."""
    from newsletter.build.phases import load_site
    from newsletter.send.manifest import Manifest, SentIssue, write_manifest

    site = load_site(folder)
    issues = tuple(SentIssue(entry.slug, entry.id, entry.post.title, "2026-01-01T00:00:00+00:00", "0" * 64, 100)
                   for entry in site.published)
    write_manifest(Manifest(folder / "manifest.json", issues))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--posts", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--edits", type=int, default=5, help="saves timed per preview")
    parser.add_argument("--runs", type=int, default=3, help="runs of check and status")
    parser.add_argument("--saves", type=int, default=0,
                        help="then save the post this many more times and report the preview's memory (0: skip)")
    parser.add_argument("--no-hugo", action="store_true", help="skip Hugo even when it is installed")
    args = parser.parse_args()
    corpus.compile_package()
    with tempfile.TemporaryDirectory(prefix="newsletter-bench-") as temp:
        for count in args.posts:
            workdir = Path(temp) / str(count)
            posts = corpus.generate(count, 7, 1600)
            corpus.write_newsletter(posts, workdir / "newsletter")
            print(f"{count} posts")
            mine, growth = ours(workdir / "newsletter", args.edits, args.saves)
            for label, seconds in mine.items():
                print(summary(f"newsletter preview: {label}", seconds))
            for line in growth.lines("preview", f"{args.saves} more saves") if growth else ():
                print(line)
            if shutil.which("hugo") and not args.no_hugo:
                corpus.write_hugo(posts, workdir / "hugo")
                theirs = hugo(workdir / "hugo", args.edits)
                for label, seconds in theirs.items():
                    print(summary(f"hugo server: {label}", seconds))
                ratio = statistics.median(mine["save → web page served"]) / statistics.median(
                    theirs["save → web page served"])
                print(f"  {'save → web page, ours / Hugo':<44} {ratio:7.2f}×")
            checked = check_and_status(workdir / "newsletter", args.runs)
            for label, seconds in checked.items():
                print(summary(f"newsletter {label}", seconds))
            ratios = [check / build for check, build in zip(checked["check cold"], checked["build cold"], strict=True)]
            print(f"  {'check cold / build cold, run by run':<44} {statistics.median(ratios):7.2f}×  "
                  f"({min(ratios):.2f}–{max(ratios):.2f})")
            sys.stdout.flush()


if __name__ == "__main__":
    main()
