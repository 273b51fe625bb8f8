"""The benchmark scripts keep working: a small smoke run of each (the figures are not checked)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def test_build_benchmark_smoke_run(tmp_path):
    result = subprocess.run(
        [sys.executable, str(BENCHMARKS / "build.py"), "--posts", "12", "--runs", "1", "--no-others",
         "--inliners", "premailer", "--keep", str(tmp_path / "corpus")],
        capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    for scenario in ("cold", "no-op rebuild", "one post edited", "one post added"):
        assert f"newsletter (premailer) {scenario}" in result.stdout
    assert len(list((tmp_path / "corpus/newsletter/posts").glob("*.md"))) == 12


def test_send_benchmark_smoke_run():
    result = subprocess.run([sys.executable, str(BENCHMARKS / "send.py"), "--subscribers", "40", "--runs", "1"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "msg/s" in result.stdout


def test_preview_benchmark_smoke_run():
    result = subprocess.run([sys.executable, str(BENCHMARKS / "preview.py"), "--posts", "8", "--edits", "1",
                             "--runs", "1", "--no-hugo"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    for line in ("preview: start cold", "preview: start warm", "save → email served", "save → web page served",
                 "build cold", "check cold", "check warm", "check, one post edited", "status, every issue sent",
                 "check cold / build cold, run by run"):
        assert line in result.stdout


def test_lists_benchmark_smoke_run():
    result = subprocess.run([sys.executable, str(BENCHMARKS / "lists.py"), "--subscribers", "300", "--requests", "20"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    for line in ("POST /subscribe: 20 requests", "POST /unsubscribe (one-click): 20 requests",
                 "GET /api/subscribers: 280 rows"):
        assert line in result.stdout


def test_bounces_benchmark_smoke_run():
    result = subprocess.run([sys.executable, str(BENCHMARKS / "bounces.py"), "--subscribers", "60", "--reports", "50",
                             "--runs", "1"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "refused addresses tried: 0; in bounced.csv: 2" in result.stdout
    assert "second run changed nothing: yes" in result.stdout
