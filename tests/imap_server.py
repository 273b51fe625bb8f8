"""A real IMAP server for tests: Debian's Dovecot on 127.0.0.1, with a throw-away config and user.

Everything lives in a temporary folder: the config, a passwd-file with one user of its own, the
mail, the sockets and the log. Dovecot's login processes refuse to run as root, so under root
(CI) they run as the users Debian's package creates (dovenull, dovecot) and the mail belongs to
dovecot; under any other user everything runs as that user. Nothing outside the folder is read or
written, and the server listens on 127.0.0.1 only.
"""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

DOVECOT = "/usr/sbin/dovecot"
USER = "bounces"
PASSWORD = "imap-test-password"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _accounts() -> tuple[str, str, str, int, int]:
    """(internal user, its group, login user, mail uid, mail gid) for the user running the tests."""
    if os.geteuid() == 0:
        dovecot = pwd.getpwnam("dovecot")
        return "dovecot", grp.getgrgid(dovecot.pw_gid).gr_name, "dovenull", dovecot.pw_uid, dovecot.pw_gid
    me = pwd.getpwuid(os.geteuid())
    return me.pw_name, grp.getgrgid(me.pw_gid).gr_name, me.pw_name, me.pw_uid, me.pw_gid


_CONFIG = """\
base_dir = {folder}/run
state_dir = {folder}/state
instance_name = newsletter-test-{port}
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
default_internal_user = {internal}
default_internal_group = {group}
default_login_user = {login}
log_path = {folder}/dovecot.log
mail_location = maildir:~/Maildir
first_valid_uid = 1
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {folder}/passwd
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {folder}/passwd
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
"""


class ImapServer:
    """Dovecot on 127.0.0.1 and a free port, serving one user's Maildir; use as a context manager.

    *capability*, when given, is what the server says it can do once logged in, instead of
    Dovecot's own list: to play an older server.
    """

    def __init__(self, capability: str = "") -> None:
        self.capability = capability
        if not Path(DOVECOT).exists():
            pytest.fail(f"{DOVECOT} is missing: install Debian's dovecot-imapd package (./scripts/test does)")
        self.port = _free_port()
        # Not under pytest's tmp_path: Dovecot's unprivileged processes must be able to reach it.
        self.folder = Path(tempfile.mkdtemp(prefix="newsletter-imap-"))
        self.folder.chmod(0o755)
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def config(self) -> Path:
        return self.folder / "dovecot.conf"

    @property
    def maildir(self) -> Path:
        """The user's INBOX as a Maildir on disk (for looking, not for writing)."""
        return self.folder / "mail" / USER / "Maildir"

    def __enter__(self) -> ImapServer:
        internal, group, login, uid, gid = _accounts()
        mail = self.folder / "mail"
        mail.mkdir()
        os.chown(mail, uid, gid)
        (self.folder / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}:{uid}:{gid}::{mail / USER}\n")
        config = _CONFIG.format(folder=self.folder, port=self.port, internal=internal, group=group, login=login)
        if self.capability:
            config += f"protocol imap {{\n  imap_capability = {self.capability}\n}}\n"
        self.config.write_text(config)
        with open(self.folder / "dovecot.log", "ab") as output:
            self.process = subprocess.Popen([DOVECOT, "-F", "-c", str(self.config)], stdout=output,
                                            stderr=output)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"dovecot did not start: {self.log()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as probe:
                    if probe.recv(100).startswith(b"* OK"):
                        return self
            except OSError:
                time.sleep(0.1)
        self.__exit__()
        raise RuntimeError(f"dovecot did not answer on 127.0.0.1:{self.port}: {self.log()}")

    def log(self) -> str:
        path = self.folder / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def __exit__(self, *exc: object) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.folder, ignore_errors=True)
