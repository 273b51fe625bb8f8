"""What every command promises: help with an example, exit codes, no tracebacks."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from newsletter.cli import main

README = Path(__file__).resolve().parents[1] / "README.md"


def _commands() -> list[str]:
    return sorted(main.commands)


@pytest.mark.parametrize("command", _commands())
def test_every_command_has_help_with_an_example(command):
    result = CliRunner().invoke(main, [command, "--help"])
    assert result.exit_code == 0
    assert "Example:" in result.output
    assert f"newsletter {command}" in result.output


@pytest.mark.parametrize("command", _commands())
def test_every_command_is_documented_in_the_readme(command):
    assert f"newsletter {command}" in README.read_text()


def test_bad_usage_exits_2():
    result = CliRunner().invoke(main, ["build", "--no-such-option"])
    assert result.exit_code == 2


def test_bad_now_is_a_usage_error(newsletter):
    result = newsletter.run("build", "--now", "yesterday")
    assert result.exit_code == 2
    assert "yesterday" in result.output


def test_version():
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0 and "newsletter" in result.output
