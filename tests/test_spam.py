"""The example newsletter's emails as SpamAssassin scores them, with its local rules (no network)."""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from example import copy_example
from newsletter.build.engine import build

REPO = Path(__file__).resolve().parents[1]
MAX_SCORE = 0.5


def _spamassassin() -> str:
    found = shutil.which("spamassassin")
    if not found:
        pytest.fail("spamassassin is missing: install Debian's spamassassin package (./scripts/test does)")
    return found


def test_every_example_issue_scores_low_with_spamassassin(tmp_path):
    program = _spamassassin()
    copy_example(tmp_path)
    build(tmp_path, now=datetime(2026, 1, 1, tzinfo=UTC))
    messages = sorted((tmp_path / "dist" / "email").glob("*.eml"))
    assert messages
    scores = {}
    for message in messages:
        report = subprocess.run([program, "-L", "-t"], input=message.read_bytes(), capture_output=True,
                                timeout=300, check=True).stdout.decode("utf-8", "replace")
        status = re.search(r"^X-Spam-Status: \w+, score=(-?[\d.]+)[^\n]*(?:\n\s+[^\n]*)*", report, re.MULTILINE)
        assert status is not None, report[:500]
        scores[message.name] = (float(status.group(1)), " ".join(status.group(0).split()))
    assert {name: detail for name, (score, detail) in scores.items() if score > MAX_SCORE} == {}
