"""Time whole builds of a generated corpus: newsletter (both inliners) beside Hugo and Pelican.

    python benchmarks/build.py --posts 1000 --runs 3

Each scenario runs as a separate process, several times; the table shows the median wall time,
the range, the peak memory (summed PSS of all its processes) and the ratio to Hugo and Pelican where they are installed
(Hugo from Debian's `hugo` package, Pelican from PyPI: `pip install pelican markdown`, or set
--pelican to its executable). Nothing here is a test: the figures depend on the machine.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import corpus  # noqa: E402
import memory  # noqa: E402

# Inline Pelican's own theme CSS into every article, with the options newsletter gives premailer.
PREMAILER_STEP = """
import os, sys, pathlib, logging
os.environ["PREMAILER_CACHE_MAXSIZE"] = "8192"
from premailer import Premailer
output = pathlib.Path(sys.argv[1])
css = [path.read_text() for path in sorted((output / "theme" / "css").glob("*.css"))]
for page in output.glob("issue-*.html"):
    Premailer(page.read_text(), css_text=css, allow_network=False, disable_validation=True,
              cssutils_logging_level=logging.CRITICAL).transform()
"""


@dataclass
class Timing:
    seconds: list[float]
    peak_mib: float

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    def __str__(self) -> str:
        low, high = min(self.seconds), max(self.seconds)
        return f"{self.median:8.2f} s  ({low:.2f}–{high:.2f})  {self.peak_mib:7.0f} MiB"


def run(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> tuple[float, float]:
    """Run one process; return its wall time and its peak memory in MiB, all its processes together."""
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    # Forked workers share most of their pages with the parent: ru_maxrss (the largest single
    # process) would leave them out, and summing their RSS would count the shared pages again.
    sampler = memory.Sampler(process.pid, alone=False)
    sampler.start()
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    sampler.stop()
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        error = process.stderr.read().decode() if process.stderr else ""
        raise SystemExit(f"{' '.join(command)} failed in {cwd}:\n{error}")
    if process.stderr:
        process.stderr.close()
    # Without /proc (or for a run too short to sample) the largest single process is what is known.
    return elapsed, max(sampler.peak_kib, usage.ru_maxrss) / 1024


class Aside:
    """Where a cold run's previous output goes: moved out of the way, deleted only at the very end.

    Deleting thousands of files just before a timed run slows the run itself: ext4 without a
    journal (as here) skips inodes freed in the last minutes when it allocates new ones, and walks
    its inode tables to do so. Each tool would pay for the benchmark's cleanup, in proportion to
    how many files it writes, and the next tool for this one's.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.count = 0

    def move(self, *paths: Path) -> None:
        for path in paths:
            if path.exists():
                self.count += 1
                self.folder.mkdir(parents=True, exist_ok=True)
                path.rename(self.folder / f"{self.count}-{path.name}")


def measure(label: str, runs: int, prepare, command: list[str], cwd: Path, env=None) -> Timing:  # type: ignore[no-untyped-def]
    seconds, peaks = [], []
    for number in range(runs):
        prepare(number)
        elapsed, peak = run(command, cwd, env)
        seconds.append(elapsed)
        peaks.append(peak)
    timing = Timing(seconds, max(peaks))
    print(f"  {label:<42} {timing}", flush=True)
    return timing


def newsletter_scenarios(folder: Path, runs: int, inliner: str, newsletter: list[str], aside: Aside) -> dict[str, Timing]:
    config = folder / "newsletter.toml"
    original_config = config.read_text()
    if inliner != "premailer":
        config.write_text(original_config.replace("[email]\n", f'[email]\ninliner = "{inliner}"\n'))
    build = [*newsletter, "build"]
    posts = sorted((folder / "posts").glob("*.md"))
    edited = posts[len(posts) // 2]
    edited_text = edited.read_text()

    def cold(_: int) -> None:
        aside.move(folder / "dist", folder / ".newsletter")

    def nothing(_: int) -> None:
        pass

    def edit(number: int) -> None:
        edited.write_text(edited_text + f"\nAn afterthought, take {number}.\n")

    # The new post is the newest: every archive page shifts, as when a real issue is published.
    newest = datetime.strptime(posts[-1].name[:10], "%Y-%m-%d") + timedelta(days=1)
    extra = folder / "posts" / f"{newest:%Y-%m-%d}-extra.md"

    def add(number: int) -> None:
        extra.unlink(missing_ok=True)
        run(build, folder)
        extra.write_text(f'---\ntitle: "Extra {number}"\ndate: {newest:%Y-%m-%d}\n---\n\n{corpus.generate(1)[0].body}')

    results = {
        "cold": measure(f"newsletter ({inliner}) cold", runs, cold, build, folder),
        "no-op": measure(f"newsletter ({inliner}) no-op rebuild", runs, nothing, build, folder),
        "edit": measure(f"newsletter ({inliner}) one post edited", runs, edit, build, folder),
        "add": measure(f"newsletter ({inliner}) one post added", runs, add, build, folder),
    }
    extra.unlink(missing_ok=True)
    edited.write_text(edited_text)
    config.write_text(original_config)
    return results


def hugo_scenarios(folder: Path, runs: int, aside: Aside) -> dict[str, Timing]:
    hugo = ["hugo", "--quiet"]
    posts = sorted((folder / "content/posts").glob("*.md"))
    edited = posts[len(posts) // 2]
    text = edited.read_text()

    def cold(_: int) -> None:
        aside.move(folder / "public", folder / "resources")

    results = {"cold": measure("hugo cold", runs, cold, hugo, folder),
               "no-op": measure("hugo no-op rebuild", runs, lambda _: None, hugo, folder),
               "edit": measure("hugo one post edited", runs,
                               lambda n: edited.write_text(text + f"\nTake {n}.\n"), hugo, folder)}
    edited.write_text(text)
    return results


def pelican_scenarios(folder: Path, runs: int, pelican: str, aside: Aside) -> dict[str, Timing]:
    build = [pelican, "content", "-s", "pelicanconf.py", "-o", "output", "-q"]
    python = str(Path(pelican).with_name("python"))
    with_premailer = ["sh", "-c", f"{' '.join(build)} && {python} -c '{PREMAILER_STEP}' output"]

    def cold(_: int) -> None:
        aside.move(folder / "output", folder / "cache")

    return {"cold": measure("pelican cold", runs, cold, build, folder),
            "cold+premailer": measure("pelican cold + premailer on every article", runs, cold, with_premailer, folder)}


def ratio(ours: Timing | None, theirs: Timing | None) -> str:
    if ours is None or theirs is None:
        return "   n/a"
    return f"{ours.median / theirs.median:6.3f}×"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--posts", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--inliners", default="premailer,css-inline")
    parser.add_argument("--pelican", default=shutil.which("pelican") or "")
    parser.add_argument("--no-others", action="store_true", help="Time only newsletter.")
    parser.add_argument("--no-pelican", action="store_true", help="Leave Pelican out (it is slow at 10,000 posts).")
    parser.add_argument("--keep", type=Path, help="Generate the corpus here and keep it.")
    args = parser.parse_args()
    corpus.compile_package()

    newsletter = [sys.executable, "-m", "newsletter"]
    workdir = args.keep or Path(tempfile.mkdtemp(prefix="newsletter-bench-"))
    posts = corpus.generate(args.posts)
    shutil.rmtree(workdir, ignore_errors=True)
    corpus.write_newsletter(posts, workdir / "newsletter")
    corpus.write_hugo(posts, workdir / "hugo")
    corpus.write_pelican(posts, workdir / "pelican")
    print(f"{args.posts} posts, {args.runs} runs each, {os.cpu_count()} cores; median (min–max), peak memory of all processes (PSS)")

    aside = Aside(workdir / "old-outputs")
    ours = {name: newsletter_scenarios(workdir / "newsletter", args.runs, name, newsletter, aside)
            for name in args.inliners.split(",")}
    hugo = hugo_scenarios(workdir / "hugo", args.runs, aside) if shutil.which("hugo") and not args.no_others else {}
    pelican = (pelican_scenarios(workdir / "pelican", args.runs, args.pelican, aside)
               if args.pelican and not (args.no_others or args.no_pelican) else {})

    print("\nratios (ours / theirs, median wall time; lower is better)")
    for name, results in ours.items():
        print(f"  {name}: cold / hugo cold        {ratio(results['cold'], hugo.get('cold'))}")
        print(f"  {name}: cold / pelican+premailer {ratio(results['cold'], pelican.get('cold+premailer'))}")
        print(f"  {name}: edit / hugo edit        {ratio(results['edit'], hugo.get('edit'))}")
        print(f"  {name}: no-op / hugo no-op      {ratio(results['no-op'], hugo.get('no-op'))}")
        if hugo.get("cold"):
            print(f"  {name}: peak memory / hugo's    {results['cold'].peak_mib / hugo['cold'].peak_mib:6.3f}×")
    shutil.rmtree(aside.folder, ignore_errors=True)
    if not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
