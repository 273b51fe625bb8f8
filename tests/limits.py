"""Run the newsletter command in a child process under a time and memory limit, as a user would."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
SECONDS = 10  # of processor time: what the process spends, however loaded the machine is
WALL_SECONDS = 90  # of waiting, for a machine shared with other work
MEMORY_BYTES = 500 * 1024 * 1024


@dataclass(frozen=True)
class Outcome:
    code: int
    out: str
    err: str

    @property
    def one_line_error(self) -> bool:
        """Exit 1 with each problem on its own line (``error:`` ones on stderr, check's report on stdout)."""
        lines = [line for line in self.err.splitlines() if line.strip()]
        return (self.code == 1 and bool(lines or self.out) and "Traceback" not in self.err + self.out
                and all(line.startswith(("error:", "warning:")) for line in lines))

    @property
    def text(self) -> str:
        return self.out + self.err


def _limit() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_BYTES, MEMORY_BYTES))
    resource.setrlimit(resource.RLIMIT_CPU, (SECONDS, SECONDS))


def run_limited(root: Path, *args: str, seconds: float = WALL_SECONDS) -> Outcome:
    """Run ``newsletter --dir ROOT ARGS`` with 10 s of processor time and 500 MB; waiting *seconds* fails."""
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    done = subprocess.run([sys.executable, "-m", "newsletter", "--dir", str(root), *args], capture_output=True,
                          text=True, timeout=seconds, preexec_fn=_limit, env=env, check=False)
    return Outcome(done.returncode, done.stdout, done.stderr)
