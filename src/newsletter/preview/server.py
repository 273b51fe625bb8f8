"""The preview server: a `Preview` served over HTTP and rebuilt as its sources change, until Ctrl-C.

One process, a few threads: the HTTP server (the standard library's ThreadingHTTPServer) serves
the last good build and the pages under ``/_preview/``; the watchers and the builder of
`watch.Watcher` rebuild after each burst of changes, which wakes the pages that long-poll.

The server answers only requests addressed to its own names (a web page that points its DNS
name at 127.0.0.1 must not read the drafts), holds at most a fixed number of connections at a
time and closes those that stay idle.
"""

from __future__ import annotations

import ipaddress
import signal
import socket
import threading
import webbrowser
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from ..config import PREVIEW_HOST, PREVIEW_PORT, load_config, suggest
from ..errors import NewsletterError
from ..layout import CONFIG_NAME
from .app import Preview
from .routes import PREFIX, Response
from .state import Report, quiet
from .watch import WATCHED_FOLDERS, Watcher

# Each open page keeps one request waiting (the long poll) and loads a few more at a time.
MAX_CONNECTIONS = 64
# A connection that sends or takes nothing for this long is closed.
IDLE_SECONDS = 15.0
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")


class ServeError(NewsletterError):
    """The preview server cannot start: the port is taken, the host unknown, or the issue not there."""


def _address(name: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(name.removeprefix("[").removesuffix("]"))
    except ValueError:
        return None


@dataclass(frozen=True)
class HostCheck:
    """The Host headers the preview answers to: its own names, each with its port."""

    names: frozenset[str]
    port: int
    any_address: bool = False

    @classmethod
    def serving(cls, host: str, port: int) -> HostCheck:
        """Accept the loopback names and the --host *host*, on *port*.

        A server listening on every interface is also reached by any of the machine's addresses;
        an address, unlike a name, cannot be pointed elsewhere by a web page's DNS.
        """
        given = f"[{host}]" if ":" in host else host
        address = _address(host)
        everywhere = not host or (address is not None and address.is_unspecified)
        return cls(frozenset({*LOOPBACK_NAMES, given.lower()} - {""}), port, everywhere)

    def accepts(self, header: str) -> bool:
        """Tell whether a request with this Host header is meant for the preview."""
        header = header.strip().lower()
        if header.startswith("["):
            end = header.find("]") + 1
            name, rest = header[:end], header[end:]
            if not end or (rest and not rest.startswith(":")):
                return False
            port = rest[1:] if rest else None
        else:
            name, colon, after = header.partition(":")
            port = after if colon else None
        # Browsers leave out the port only when it is the default one.
        if port != str(self.port) and not (port is None and self.port == 80):
            return False
        return name in self.names or (self.any_address and _address(name) is not None)


class _Handler(BaseHTTPRequestHandler):
    server_version = "newsletter-preview"
    server: _Server

    def do_GET(self) -> None:
        self._answer(with_body=True)

    def do_HEAD(self) -> None:
        self._answer(with_body=False)

    def _answer(self, with_body: bool) -> None:
        hosts = self.headers.get_all("Host") or []
        if len(hosts) != 1:
            response = Response(HTTPStatus.BAD_REQUEST, b"A request needs one Host header.\n",
                                "text/plain; charset=utf-8")
        elif not self.server.hosts.accepts(hosts[0]):
            response = self.server.misdirected
        else:
            response = self.server.preview.respond(self.path)
        try:
            self.send_response(response.status)
            self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(len(response.body)))
            self.send_header("Cache-Control", "no-store")
            self.send_header("X-Content-Type-Options", "nosniff")
            if response.location:
                self.send_header("Location", response.location)
            self.end_headers()
            if with_body:
                self.wfile.write(response.body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the page went away (reloaded or closed) before its answer came

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the terminal shows builds and errors, not every request


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # The default backlog of 5 makes a browser that opens a page's connections all at once wait a
    # second for those past the sixth.
    request_queue_size = MAX_CONNECTIONS

    def __init__(self, address: tuple[str, int], family: socket.AddressFamily, preview: Preview, *,
                 connections: int, idle_seconds: float) -> None:
        self.address_family = family
        self.preview = preview
        self.idle_seconds = idle_seconds
        self._slots = threading.BoundedSemaphore(connections)
        super().__init__(address, _Handler)
        port = self.server_address[1]
        self.hosts = HostCheck.serving(address[0], port)
        self.misdirected = Response(HTTPStatus.MISDIRECTED_REQUEST,
                                    f"This preview answers only to its own host names, such as "
                                    f"{LOOPBACK_NAMES[0]}:{port}.\n".encode(), "text/plain; charset=utf-8")

    def get_request(self) -> tuple[socket.socket, Any]:
        request, client_address = super().get_request()
        # Reading the request and writing the answer both give up after this long without progress.
        request.settimeout(self.idle_seconds)
        return request, client_address

    def process_request(self, request: Any, client_address: Any) -> None:
        # Past the limit a connection is closed at once rather than given a thread of its own.
        if not self._slots.acquire(blocking=False):
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()


def _bind(host: str, port: int, preview: Preview, connections: int, idle_seconds: float) -> _Server:
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0][0]
    except socket.gaierror:
        raise ServeError(f"--host {host}: not a known host name or address; the default is {PREVIEW_HOST}") from None
    try:
        return _Server((host, port), family, preview, connections=connections, idle_seconds=idle_seconds)
    except PermissionError:
        raise ServeError(f"port {port}: not allowed to listen on it; choose a port above 1023 "
                         "with --port") from None
    except OSError as error:
        if error.errno in (48, 98, 10048):  # EADDRINUSE on macOS, Linux, Windows
            raise ServeError(f"port {port} on {host} is already in use; stop whatever uses it or choose "
                             f"another with --port {port + 1 if port else PREVIEW_PORT}") from None
        raise ServeError(f"cannot listen on {host}:{port}: {error.strerror}") from None


class PreviewServer:
    """A running preview: the last good build served over HTTP, rebuilt as the sources change."""

    def __init__(self, preview: Preview, server: _Server) -> None:
        self.preview = preview
        self._server = server
        self._watcher = Watcher(preview.root, preview.rebuild, preview.report)
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="preview-http", daemon=True)

    @property
    def url(self) -> str:
        """The server's root URL, with the port it really got."""
        host, port = self._server.server_address[:2]
        host = host.decode() if isinstance(host, bytes) else host
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{port}/"

    def page_url(self, slug: str | None = None) -> str:
        """Give the URL of one issue's preview, or of the list of issues; an unknown slug is a ServeError."""
        if not slug:
            return self.url + PREFIX.lstrip("/")
        build = self.preview.state.build
        if build is not None and build.issue(slug) is None:
            known = [issue.slug for issue in build.issues]
            hint = suggest(slug, known) or f"; issues: {', '.join(known) or 'none'}"
            raise ServeError(f"no issue with the slug {slug!r}{hint}")
        return f"{self.url}{PREFIX.lstrip('/')}{slug}/"

    def start(self) -> None:
        """Watch, build once, then serve."""
        self._watcher.start()
        self.preview.rebuild()
        self._thread.start()

    def close(self) -> None:
        """Stop watching and serving, and remove the temporary builds."""
        self._watcher.close()
        if self._thread.is_alive():
            self._server.shutdown()
        self.preview.close()  # answers the pages still waiting, then removes the builds
        self._server.server_close()

    def serve_until_interrupted(self) -> None:
        """Block until Ctrl-C (or a polite kill), so that the caller can clean up."""
        def interrupt(_signal: int, _frame: Any) -> None:
            raise KeyboardInterrupt

        # Signal handlers can only be set from the main thread; elsewhere Ctrl-C is the caller's.
        in_main = threading.current_thread() is threading.main_thread()
        previous = signal.signal(signal.SIGTERM, interrupt) if in_main else None
        try:
            while self._thread.is_alive():
                self._thread.join(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            if in_main:
                signal.signal(signal.SIGTERM, previous)


@contextmanager
def start_preview(root: Path, *, host: str = PREVIEW_HOST, port: int = PREVIEW_PORT, drafts: bool = True,
                  report: Report = quiet, connections: int = MAX_CONNECTIONS,
                  idle_seconds: float = IDLE_SECONDS) -> Iterator[PreviewServer]:
    """Build, serve and watch *root* until the block ends; port 0 picks a free port."""
    preview = Preview(root, drafts=drafts, report=report)
    try:
        server = PreviewServer(preview, _bind(host, port, preview, connections, idle_seconds))
    except BaseException:
        preview.close()
        raise
    try:
        server.start()
        yield server
    finally:
        server.close()


def run_preview(root: Path, *, slug: str | None = None, host: str = PREVIEW_HOST, port: int = PREVIEW_PORT,
                drafts: bool = True, open_browser: bool = True, report: Report = quiet) -> None:
    """Serve a live preview of *root* until Ctrl-C, reporting what happens through *report*."""
    if not (root / CONFIG_NAME).is_file():
        load_config(root)  # raises the ConfigError that says what to do
    with start_preview(root, host=host, port=port, drafts=drafts, report=report) as server:
        url = server.page_url(slug)
        report(f"Previewing at {url}")
        report(f"Watching {', '.join(f'{name}/' for name in WATCHED_FOLDERS)} and {CONFIG_NAME}; "
               "press Ctrl-C to stop.")
        if open_browser:
            webbrowser.open(url)
        server.serve_until_interrupted()
        report("Stopping.")
