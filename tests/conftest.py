"""Shared fixtures: a small newsletter in a temporary folder, and the CLI runner."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from newsletter.cli import main

REPO = Path(__file__).resolve().parents[1]

CONFIG = """\
[site]
title = "Test Letter"
url = "https://example.com/letter/"
description = "A newsletter for tests"
timezone = "Europe/Prague"
author = "Tess Tester"
"""


@dataclass
class Newsletter:
    """A newsletter folder under tmp_path with helpers to add posts and run commands."""

    root: Path

    def write(self, relative: str, text: str) -> Path:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    def post(self, name: str, front: str, body: str = "Some text.\n") -> Path:
        """Write posts/<name>.md with the given front matter lines (without the fences)."""
        front = textwrap.dedent(front).strip("\n")
        return self.write(f"posts/{name}.md", f"---\n{front}\n---\n\n{textwrap.dedent(body)}")

    def run(self, *args: str) -> Result:
        return CliRunner().invoke(main, ["--dir", str(self.root), *args], catch_exceptions=False)

    @property
    def dist(self) -> Path:
        return self.root / "dist"

    def snapshot(self) -> dict[str, bytes]:
        """Every file under dist/ by relative path, to compare builds."""
        if not self.dist.exists():
            return {}
        return {p.relative_to(self.dist).as_posix(): p.read_bytes()
                for p in sorted(self.dist.rglob("*")) if p.is_file()}


@pytest.fixture
def newsletter(tmp_path: Path) -> Newsletter:
    letter = Newsletter(tmp_path / "letter")
    letter.write("newsletter.toml", CONFIG)
    return letter


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true",
                     help="Rewrite tests/golden/*/expected from the current build instead of comparing.")


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))
