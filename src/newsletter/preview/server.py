"""Preview server: build into a temporary folder, serve it with a preview UI, rebuild and reload on change.

One process, a few threads:

- the HTTP server (the standard library's ThreadingHTTPServer) serves the last good build and
  the pages under ``/_preview/``;
- two watchers (watchfiles) report changes: the newsletter folder itself, not recursively
  (``newsletter.toml``, ``manifest.json``, the folders below appearing or going), and ``posts/``,
  ``templates/`` and ``static/`` recursively;
- a builder thread gathers a burst of changes, builds into a fresh folder and swaps the state
  (build and error) in one assignment, then bumps an epoch that open pages long-poll on.

The reload script is added to HTML as it is served, never to the files of a build. A failed
rebuild keeps the last good build on the air and shows its error on every open page.
"""

from __future__ import annotations

import email
import email.policy
import json
import mimetypes
import queue
import re
import shutil
import signal
import socket
import tempfile
import threading
import time
import traceback
import webbrowser
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import jinja2
import watchfiles

from ..build.engine import gather, load_site, write_tree
from ..config import PREVIEW_HOST, PREVIEW_PORT, load_config, suggest
from ..errors import NewsletterError
from ..layout import CONFIG_NAME, MANIFEST_NAME, POSTS_DIR
from ..outputs.email import GMAIL_CLIP_BYTES
from ..render.templates import builtin_templates
from ..render.tree import rewrite_urls
from ..send.manifest import SentIssue, load_manifest

PREFIX = "/_preview/"
WATCHED_FOLDERS = (POSTS_DIR, "templates", "static")
WATCHED_FILES = (CONFIG_NAME, MANIFEST_NAME)
# A page's long poll is answered after this long even when nothing changed, so that a browser or
# proxy never gives up on it first.
POLL_SECONDS = 25.0
# Editors write a file in several steps (truncate, write, rename); changes closer together than
# this are one save.
SETTLE_SECONDS = 0.02
WIDTHS = {"both": "Both", "desktop": "Desktop · 600 px", "phone": "Phone · 375 px"}
SCHEMES = {"light": "Light", "dark": "Dark", "inverted": "Forced dark"}
VIEWS = {"email": "Email", "text": "Plain text", "headers": "Headers"}

Report = Callable[..., None]


class ServeError(NewsletterError):
    """The preview server cannot start: the port is taken, the host unknown, or the issue not there."""


# ---------------------------------------------------------------------------------------------
# Builds and state


@dataclass(frozen=True)
class Issue:
    """One issue as the preview lists it."""

    slug: str
    title: str
    date: datetime
    status: str
    source: str
    preheader: str
    size: int
    warnings: tuple[str, ...]


@dataclass(frozen=True)
class Build:
    """A finished build in its own folder."""

    number: int
    folder: Path
    site_title: str
    site_url: str
    issues: tuple[Issue, ...]
    warnings: tuple[str, ...]
    seconds: float

    def issue(self, slug: str) -> Issue | None:
        """The issue with this slug, if the build has it."""
        return next((issue for issue in self.issues if issue.slug == slug), None)


@dataclass(frozen=True)
class State:
    """What the server shows: the last good build, and the error of the last rebuild if it failed."""

    epoch: int = 0
    build: Build | None = None
    error: str = ""

    def to_json(self) -> bytes:
        """What a waiting page is told: the epoch, the build it should show, and any error."""
        build = self.build.number if self.build else None
        return json.dumps({"epoch": self.epoch, "build": build, "error": self.error}).encode("utf-8")


def _quiet(*_args: Any, **_kwargs: Any) -> None:
    pass


def _part(message: EmailMessage, subtype: str) -> str:
    """One part's text with plain newlines (the message carries CRLF, as mail does)."""
    part = message.get_body((subtype,))
    return part.get_content().replace("\r\n", "\n") if part is not None else ""


def _parse_message(data: bytes) -> EmailMessage:
    """A built .eml as the standard library reads a received message."""
    message = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


class Preview:
    """The newsletter's last good build, rebuilt on demand, and the answer to every request for it."""

    def __init__(self, root: Path, *, drafts: bool = True, report: Report = _quiet) -> None:
        self.root = root.absolute()
        self.drafts = drafts
        self.report = report
        self.workspace = Path(tempfile.mkdtemp(prefix="newsletter-preview-"))
        self._state = State()
        self._changed = threading.Condition()
        self._building = threading.Lock()
        self._closed = False
        self._builds = 0
        self._ui = jinja2.Environment(
            loader=jinja2.FileSystemLoader(builtin_templates() / "preview"),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self._ui.filters["kb"] = lambda size: f"{size / 1024:.1f} KB"
        self._ui.filters["longdate"] = lambda value: f"{value:%B} {value.day}, {value:%Y} · {value:%H:%M}"

    @property
    def state(self) -> State:
        """The current state; replaced whole, never changed in place, so it can be read at any time."""
        return self._state

    def rebuild(self) -> State:
        """Build afresh into a new folder; on success serve it, on failure keep the last good one."""
        with self._building:
            if self._closed:
                return self._state
            try:
                build = self._build()
            except NewsletterError as error:
                return self._publish(self._state.build, str(error))
            except Exception as error:  # a bug: show it and keep serving rather than die silently
                self.report(traceback.format_exc().rstrip(), err=True)
                return self._publish(self._state.build, f"internal error while building: "
                                                        f"{type(error).__name__}: {error}")
            return self._publish(build, "")

    def _build(self) -> Build:
        started = time.perf_counter()
        # Scheduled posts are always shown: the preview is where they are checked before their time.
        site = load_site(self.root, drafts=self.drafts, scheduled=True)
        outputs, warnings = gather(site)
        folder = self.workspace / f"build-{self._builds + 1}"
        write_tree(outputs, folder)
        self._builds += 1
        by_path = {output.path.as_posix(): output for output in outputs}
        issues = []
        shown = {entry.post.display_path for entry in site.entries}
        for entry in site.entries:
            # The same measure as the build's own warning about Gmail's clip.
            html = by_path.get(f"email/{entry.slug}.html")
            size = len(html.data) if html else 0
            own = tuple(str(warning) for warning in warnings if str(warning.path) == entry.post.display_path)
            issues.append(Issue(slug=entry.slug, title=entry.post.title, date=entry.post.date,
                                status=entry.status, source=entry.post.display_path,
                                preheader=entry.preheader, size=size, warnings=own))
        general = tuple(str(warning) for warning in warnings if str(warning.path) not in shown)
        return Build(number=self._builds, folder=folder, site_title=site.config.site.title,
                     site_url=site.config.site.url, issues=tuple(issues), warnings=general,
                     seconds=time.perf_counter() - started)

    def _publish(self, build: Build | None, error: str) -> State:
        with self._changed:
            previous = self._state
            self._state = State(epoch=previous.epoch + 1, build=build, error=error)
            self._changed.notify_all()
        if error:
            for line in error.splitlines():
                self.report(f"error: {line}", err=True)
            if build is not None:
                self.report(f"Still serving build {build.number}; fix the problem and save to rebuild.", err=True)
        elif build is not None:
            plural = "issue" if len(build.issues) == 1 else "issues"
            verb = "Built" if build.number == 1 else "Rebuilt"
            self.report(f"{verb} {len(build.issues)} {plural} in {build.seconds:.2f} s.")
        self._prune()
        return self._state

    def _prune(self) -> None:
        # Keep the previous build too: a request that began before the swap may still read from it.
        current = self._state.build
        keep = {f"build-{current.number}", f"build-{current.number - 1}"} if current else set()
        for folder in list(self.workspace.iterdir()):
            if folder.name not in keep:
                shutil.rmtree(folder, ignore_errors=True)

    def wait(self, since: int, timeout: float) -> State:
        """Return the state once its epoch differs from *since*, or after *timeout* seconds."""
        with self._changed:
            self._changed.wait_for(lambda: self._state.epoch != since or self._closed, timeout)
            return self._state

    def close(self) -> None:
        """Answer every waiting page and remove the temporary builds."""
        with self._changed:
            self._closed = True
            self._changed.notify_all()
        with self._building:
            shutil.rmtree(self.workspace, ignore_errors=True)

    # -----------------------------------------------------------------------------------------
    # Requests

    def respond(self, target: str) -> Response:
        """Answer a GET for *target* (the request line's path and query)."""
        parts = urlsplit(target)
        path = parts.path or "/"
        query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
        state = self._state
        try:
            return self._respond(path, query, state)
        except FileNotFoundError:
            # The build this request began with was pruned meanwhile; the page this gives reloads
            # itself onto the current build at once.
            return self._not_found(state, path)

    def _respond(self, path: str, query: dict[str, str], state: State) -> Response:
        if path == PREFIX.rstrip("/"):
            return Response.redirect(PREFIX)
        if path.startswith(PREFIX):
            return self._preview_route(path[len(PREFIX):], query, state)
        if state.build is None:
            return self._page("error.html", state, HTTPStatus.SERVICE_UNAVAILABLE, title="Build failed")
        found = resolve(state.build.folder, path)
        if found is None:
            if not path.endswith("/") and resolve(state.build.folder, path + "/") is not None:
                return Response.redirect(path + "/")
            return self._not_found(state, path)
        content_type = _content_type(found)
        data = found.read_bytes()
        if content_type.startswith("text/html"):
            data = inject_reload(data, state.build.number)
        return Response(HTTPStatus.OK, data, content_type)

    def _preview_route(self, rest: str, query: dict[str, str], state: State) -> Response:
        if rest == "poll":
            try:
                since = int(query.get("since", "-1"))
            except ValueError:
                since = -1
            answer = self.wait(since, POLL_SECONDS)
            return Response(HTTPStatus.OK, answer.to_json(), "application/json")
        if rest.startswith("static/"):
            found = resolve(builtin_templates() / "preview" / "static", "/" + rest.removeprefix("static/"))
            if found is None:
                return self._not_found(state, PREFIX + rest)
            return Response(HTTPStatus.OK, found.read_bytes(), _content_type(found))
        if state.build is None:
            return self._page("error.html", state, HTTPStatus.SERVICE_UNAVAILABLE, title="Build failed")
        if rest == "":
            return self._page("list.html", state, title="Issues")
        slug, slash, page = rest.partition("/")
        issue = state.build.issue(slug)
        if issue is None:
            return self._not_found(state, PREFIX + rest)
        if not slash:
            return Response.redirect(f"{PREFIX}{slug}/")
        message = _parse_message((state.build.folder / "email" / f"{slug}.eml").read_bytes())
        if page == "":
            return self._issue_page(state, issue, message, query)
        if page == "email.html":
            scheme = query.get("scheme", "light")
            html = email_document(_part(message, "html"), state.build.site_url, scheme)
            return Response(HTTPStatus.OK, html.encode("utf-8"), "text/html; charset=utf-8")
        return self._not_found(state, PREFIX + rest)

    def _issue_page(self, state: State, issue: Issue, message: EmailMessage, query: dict[str, str]) -> Response:
        def choice(name: str, options: dict[str, str]) -> str:
            value = query.get(name, "")
            return value if value in options else next(iter(options))

        text = _part(message, "plain")
        return self._page(
            "issue.html", state, title=issue.title, issue=issue,
            view=choice("view", VIEWS), width=choice("width", WIDTHS), scheme=choice("scheme", SCHEMES),
            views=VIEWS, widths=WIDTHS, schemes=SCHEMES,
            text=text, headers=[(name, str(value)) for name, value in message.items()],
            sender=str(message.get("From", "")),
            parts=_structure(message),
            eml=f"/email/{issue.slug}.eml", web=f"/{issue.slug}/",
        )

    def _sent(self) -> tuple[dict[str, SentIssue], str]:
        """What manifest.json says was sent, by slug; and its problem when it cannot be read."""
        try:
            manifest = load_manifest(self.root)
        except NewsletterError as error:
            return {}, str(error)
        return {issue.slug: issue for issue in manifest.issues}, ""

    def _not_found(self, state: State, path: str) -> Response:
        return self._page("error.html", state, HTTPStatus.NOT_FOUND, title="Not found", missing=path)

    def _page(self, template: str, state: State, status: HTTPStatus = HTTPStatus.OK, **context: Any) -> Response:
        sent, manifest_problem = self._sent()
        html = self._ui.get_template(template).render(state=state, build=state.build, error=state.error,
                                                      sent=sent, manifest_problem=manifest_problem,
                                                      clip=GMAIL_CLIP_BYTES,
                                                      **{"missing": "", **context})
        number = state.build.number if state.build else None
        return Response(status, inject_reload(html.encode("utf-8"), number), "text/html; charset=utf-8")


def _structure(message: EmailMessage) -> list[str]:
    """One line per MIME part: type, transfer encoding and size."""
    lines = []
    for part in message.walk():
        depth = 0 if part is message else 1
        if part.is_multipart():
            lines.append("  " * depth + part.get_content_type())
            continue
        payload = part.get_payload(decode=True) or b""
        encoding = part.get("Content-Transfer-Encoding", "7bit")
        lines.append("  " * depth + f"{part.get_content_type()} ({encoding}, {len(payload) / 1024:.1f} KB)")
    return lines


# ---------------------------------------------------------------------------------------------
# Pieces that need no server: path resolution, reload script, the email as a client shows it


@dataclass(frozen=True)
class Response:
    """An HTTP answer, built without any socket."""

    status: int
    body: bytes
    content_type: str = "text/html; charset=utf-8"
    location: str = ""

    @classmethod
    def redirect(cls, location: str) -> Response:
        """A permanent redirect to *location* on this server."""
        return cls(HTTPStatus.MOVED_PERMANENTLY, b"", "text/plain; charset=utf-8", location)


def resolve(folder: Path, url_path: str) -> Path | None:
    """The file under *folder* that a URL path names, or None when it names nothing servable there.

    Refuses anything that could leave the folder: ``..`` (also percent-encoded), absolute and
    empty segments, backslashes, NUL bytes, hidden names, and symlinks that point outside.
    A folder stands for its index.html, but only when the path ends with a slash.
    """
    try:
        text = unquote(url_path, errors="strict")
    except UnicodeDecodeError:
        return None
    if not text.startswith("/") or "\x00" in text or "\\" in text:
        return None
    segments = text[1:].split("/")
    is_folder = segments[-1] == ""
    if is_folder:
        segments = segments[:-1]
    if any(segment == "" or segment.startswith(".") for segment in segments):
        return None
    candidate = folder.joinpath(*segments)
    if is_folder:
        candidate = candidate / "index.html"
    try:
        base = folder.resolve(strict=True)
        real = candidate.resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    if not real.is_relative_to(base) or not real.is_file():
        return None
    return real


_TYPES = {".eml": "text/plain", ".xsl": "text/xml", ".json": "application/json", ".js": "text/javascript"}


def _content_type(path: Path) -> str:
    kind = _TYPES.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return f"{kind}; charset=utf-8" if kind.startswith("text/") or kind.endswith(("json", "xml")) else kind


RELOAD_SCRIPT = '<script src="/_preview/static/live.js" data-build="{build}"></script>'
_BODY_END = re.compile(rb"</body\s*>", re.IGNORECASE)


def inject_reload(html: bytes, build: int | None) -> bytes:
    """Add the live-reload script to a page of *build* as it is served (before its last </body>)."""
    script = RELOAD_SCRIPT.format(build="" if build is None else build).encode("ascii")
    ends = list(_BODY_END.finditer(html))
    at = ends[-1].start() if ends else len(html)
    return html[:at] + script + html[at:]


_STYLE_BLOCK = re.compile(r"(<style\b[^>]*>)(.*?)(</style\s*>)", re.IGNORECASE | re.DOTALL)
_SCHEME_FEATURE = re.compile(r"\(\s*prefers-color-scheme\s*:\s*(dark|light)\s*\)", re.IGNORECASE)
_HEAD_START = re.compile(r"<head\b[^>]*>", re.IGNORECASE)
_HEAD_END = re.compile(r"</head\s*>", re.IGNORECASE)
_CLOSING_TAG = re.compile(r"</[a-zA-Z][^>]*>")
# Gmail's app and some Outlook versions darken a message by inverting it, then turn pictures back.
_INVERTED_CSS = ("<style>html { filter: invert(1) hue-rotate(180deg); background: #fff; }\n"
                 "img, picture, video { filter: invert(1) hue-rotate(180deg); }</style>")
CLIP_MARKER = ('<div data-gmail-clip style="margin:24px 0;padding:8px 0;border-top:3px dashed #d1242f;'
               'color:#d1242f;font:bold 13px Arial,sans-serif;text-align:center;">'
               'Gmail clips the message here (102 KB) and shows “[Message clipped] View entire message”</div>')


def force_dark(html: str) -> str:
    """Turn an email's dark-mode media rules on (and light-only ones off), as a dark mail client does."""
    def flip(match: re.Match[str]) -> str:
        # (min-width: 0px) always holds and a negative max-width never does, in any media query.
        return "(min-width: 0px)" if match.group(1).lower() == "dark" else "(max-width: -1px)"

    return _STYLE_BLOCK.sub(lambda m: m.group(1) + _SCHEME_FEATURE.sub(flip, m.group(2)) + m.group(3), html)


def force_inverted(html: str) -> str:
    """Approximate a client that darkens any email by inverting its colours, pictures excepted."""
    match = _HEAD_END.search(html)
    at = match.start() if match else 0
    return html[:at] + _INVERTED_CSS + html[at:]


def mark_gmail_clip(html: str) -> str:
    """Show where Gmail cuts a message longer than 102 KB; shorter ones are returned as they are."""
    data = html.encode("utf-8")
    if len(data) <= GMAIL_CLIP_BYTES:
        return html
    kept = data[:GMAIL_CLIP_BYTES].decode("utf-8", errors="ignore")
    body = re.search(r"<body\b[^>]*>", kept, re.IGNORECASE)
    if body is None:
        return html
    # Mark it after the last element that ends before the cut, so that the marker sits between
    # two elements rather than inside one.
    ends = [match.end() for match in _CLOSING_TAG.finditer(kept, body.end())]
    at = ends[-1] if ends else body.end()
    return html[:at] + CLIP_MARKER + html[at:]


def email_document(html: str, site_url: str, scheme: str) -> str:
    """The email as the preview's frames show it: local links and pictures, the clip, the colour scheme."""
    html = mark_gmail_clip(html)
    # Links and pictures point at the live site, which may not have this issue (or exist) yet.
    html = rewrite_urls(html, lambda url: "/" + url[len(site_url):] if url.startswith(site_url) else url)
    head = _HEAD_START.search(html)
    if head is not None:
        html = html[:head.end()] + '<base target="_blank">' + html[head.end():]
    if scheme == "dark":
        html = force_dark(html)
    elif scheme == "inverted":
        html = force_inverted(html)
    return html


# ---------------------------------------------------------------------------------------------
# Watching


class _Either:
    """Set when any of its events is set; watchfiles only asks is_set()."""

    def __init__(self, *events: threading.Event) -> None:
        self.events = events

    def is_set(self) -> bool:
        return any(event.is_set() for event in self.events)


class Watcher:
    """Watch the newsletter's sources and rebuild the preview after each burst of changes."""

    def __init__(self, preview: Preview) -> None:
        self.preview = preview
        self.root = preview.root
        self.stop = threading.Event()
        self._refolder = threading.Event()
        self._changes: queue.Queue[set[tuple[watchfiles.Change, str]]] = queue.Queue()
        self._ready = {name: threading.Event() for name in ("root", "folders")}
        self._threads = [
            threading.Thread(target=self._guarded, args=(self._watch_root,), name="preview-watch-root", daemon=True),
            threading.Thread(target=self._guarded, args=(self._watch_folders,), name="preview-watch-folders",
                             daemon=True),
            threading.Thread(target=self._guarded, args=(self._rebuild_loop,), name="preview-builder", daemon=True),
        ]

    def start(self, timeout: float = 5.0) -> None:
        """Start watching; return once changes from now on will be seen."""
        for thread in self._threads:
            thread.start()
        for ready in self._ready.values():
            ready.wait(timeout)

    def close(self) -> None:
        """Stop watching; a build under way is finished first."""
        self.stop.set()
        for thread in self._threads:
            thread.join(timeout=10)

    def _guarded(self, work: Callable[[], None]) -> None:
        # Without this a watcher that cannot start (too many watches, a folder gone) would fail
        # silently and leave pages waiting for reloads that never come.
        try:
            work()
        except Exception as error:
            self.preview.report(f"error: cannot watch for changes any more ({type(error).__name__}: {error}); "
                                "restart the preview to get live reload back", err=True)
        finally:
            for ready in self._ready.values():
                ready.set()

    def _watch(self, paths: list[Path], ready: threading.Event, stop: Any, recursive: bool,
               keep: Callable[[watchfiles.Change, str], bool]) -> Iterator[set[tuple[watchfiles.Change, str]]]:
        # Changes are handed over 15 ms after the last one of a burst. The first empty yield (on
        # rust_timeout) tells that the watches are in place.
        for changes in watchfiles.watch(*paths, watch_filter=keep, debounce=400, step=15,
                                        rust_timeout=200, yield_on_timeout=True, stop_event=stop,
                                        recursive=recursive, raise_interrupt=False):
            ready.set()
            if changes:
                yield changes

    def _watch_root(self) -> None:
        names = {*WATCHED_FILES, *WATCHED_FOLDERS}

        def keep(change: watchfiles.Change, path: str) -> bool:
            return Path(path).name in names and Path(path).parent == self.root

        appear_or_go = (watchfiles.Change.added, watchfiles.Change.deleted)
        for changes in self._watch([self.root], self._ready["root"], self.stop, False, keep):
            if any(change in appear_or_go and Path(path).name in WATCHED_FOLDERS for change, path in changes):
                self._refolder.set()
            self._changes.put(changes)

    def _watch_folders(self) -> None:
        default = watchfiles.DefaultFilter()
        while not self.stop.is_set():
            self._refolder.clear()
            folders = [self.root / name for name in WATCHED_FOLDERS if (self.root / name).is_dir()]
            if not folders:
                self._ready["folders"].set()
                while not (self.stop.is_set() or self._refolder.wait(0.2)):
                    pass
                continue
            stop = _Either(self.stop, self._refolder)
            for changes in self._watch(folders, self._ready["folders"], stop, True, default):
                self._changes.put(changes)

    def _rebuild_loop(self) -> None:
        while not self.stop.is_set():
            try:
                self._changes.get(timeout=0.2)
            except queue.Empty:
                continue
            # Take the rest of the burst (both watchers may report the same save) before building.
            while True:
                try:
                    self._changes.get(timeout=SETTLE_SECONDS)
                except queue.Empty:
                    break
            if not self.stop.is_set():
                self.preview.rebuild()


# ---------------------------------------------------------------------------------------------
# The server


class _Handler(BaseHTTPRequestHandler):
    server_version = "newsletter-preview"
    server: _Server

    def do_GET(self) -> None:
        self._answer(with_body=True)

    def do_HEAD(self) -> None:
        self._answer(with_body=False)

    def _answer(self, with_body: bool) -> None:
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

    def __init__(self, address: tuple[str, int], family: socket.AddressFamily, preview: Preview) -> None:
        self.address_family = family
        self.preview = preview
        super().__init__(address, _Handler)


def _bind(host: str, port: int, preview: Preview) -> _Server:
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0][0]
    except socket.gaierror:
        raise ServeError(f"--host {host}: not a known host name or address; the default is {PREVIEW_HOST}") from None
    try:
        return _Server((host, port), family, preview)
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
        self._watcher = Watcher(preview)
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
        """The preview of one issue, or the list of issues; an unknown slug is a ServeError."""
        if not slug:
            return self.url + PREFIX.lstrip("/")
        build = self.preview.state.build
        if build is not None and build.issue(slug) is None:
            known = [issue.slug for issue in build.issues]
            hint = suggest(slug, known) or f"; issues: {', '.join(known) or 'none'}"
            raise ServeError(f"no issue with the slug {slug!r}{hint}")
        return f"{self.url}{PREFIX.lstrip('/')}{slug}/"

    def start(self) -> None:
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
                  report: Report = _quiet) -> Iterator[PreviewServer]:
    """Build, serve and watch *root* until the block ends; port 0 picks a free port."""
    preview = Preview(root, drafts=drafts, report=report)
    try:
        server = PreviewServer(preview, _bind(host, port, preview))
    except BaseException:
        preview.close()
        raise
    try:
        server.start()
        yield server
    finally:
        server.close()


def run_preview(root: Path, *, slug: str | None = None, host: str = PREVIEW_HOST, port: int = PREVIEW_PORT,
                drafts: bool = True, open_browser: bool = True, report: Report = _quiet) -> None:
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
