"""`newsletter preview --host`: any address but a loopback one warns that drafts become visible."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import urllib.request

import pytest

from smtp_server import free_port


def _preview(root, host: str) -> tuple[str, str]:
    """Start the preview in a process of its own on *host*, fetch a page, stop it; return (stdout, stderr)."""
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "newsletter", "--dir", str(root), "preview", "--no-open",
                                "--host", host, "--port", str(port)], env=dict(os.environ, PYTHONUNBUFFERED="1"),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    said: list[str] = []
    ready = threading.Event()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            said.append(line)
            if line.startswith("Previewing at "):
                ready.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        if not ready.wait(120):
            pytest.fail(f"the preview did not start: {''.join(said)}")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=30) as response:
            assert response.status == 200
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(60)
        reader.join(10)
    assert process.stderr is not None
    return "".join(said), process.stderr.read()


@pytest.fixture
def letter(newsletter):
    newsletter.post("2025-04-01-day-two", 'title: "Day Two"\ndate: 2025-04-01')
    return newsletter


def test_listening_on_every_address_warns_that_drafts_are_visible(letter):
    out, err = _preview(letter.root, "0.0.0.0")
    assert "Previewing at " in out
    assert err.startswith("warning: --host 0.0.0.0: the preview, drafts and scheduled issues included, is "
                          "visible to every machine that can reach this one on the network")


def test_the_loopback_address_does_not_warn(letter):
    out, err = _preview(letter.root, "127.0.0.1")
    assert "Previewing at " in out
    assert "warning" not in err
