"""The preview's answers: a request's path and query in, a `Response` out, no socket involved.

Paths under ``/_preview/`` are the preview's own pages (rendered with Jinja; of the preview's
modules only this one imports jinja2), its static files and the long poll; every other path is a
file of the last good build. The reload script is added to HTML as it is served, never to the
files of a build.
"""

from __future__ import annotations

import html as markup
import mimetypes
import re
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from ..config import load_config
from ..errors import NewsletterError
from ..outputs.keys import GMAIL_CLIP_BYTES
from ..render.i18n import Language, language_of
from ..render.templates import Environment, builtin_templates, ui_environment
from ..send.manifest import SentIssue, load_manifest
from .emailview import N_, email_document, issue_page, part_text, read_message
from .state import Build, Builds, State

PREFIX = "/_preview/"
# A page's long poll is answered after this long even when nothing changed, so that a browser or
# proxy never gives up on it first.
POLL_SECONDS = 25.0
RELOAD_SCRIPT = ('<script src="/_preview/static/live.js" data-build="{build}" data-partial="{partial}" '
                 'data-saved="{saved}" data-failed="{failed}"></script>')
# The heading live.js puts over a page when a rebuild fails, in the newsletter's language.
REBUILD_FAILED = N_("The last rebuild failed — still showing the last good build")
_BODY_END = re.compile(rb"</body\s*>", re.IGNORECASE)
_TYPES = {".eml": "text/plain", ".xsl": "text/xml", ".json": "application/json", ".js": "text/javascript"}


@dataclass(frozen=True)
class Response:
    """An HTTP answer, built without any socket."""

    status: int
    body: bytes
    content_type: str = "text/html; charset=utf-8"
    location: str = ""

    @classmethod
    def redirect(cls, location: str) -> Response:
        """Redirect permanently to *location* on this server."""
        return cls(HTTPStatus.MOVED_PERMANENTLY, b"", "text/plain; charset=utf-8", location)


def resolve(folder: Path, url_path: str) -> Path | None:
    """Find the file under *folder* that a URL path names, or None when it names nothing servable there.

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


def content_type(path: Path) -> str:
    """Name a served file's type, with the charset for text."""
    kind = _TYPES.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return f"{kind}; charset=utf-8" if kind.startswith("text/") or kind.endswith(("json", "xml")) else kind


def inject_reload(html: bytes, build: Build | None, failed: str = REBUILD_FAILED) -> bytes:
    """Add the live-reload script to a page of *build* as it is served (before its last </body>).

    A page of a partial build (only the saved issues remade) says so, and which issues those are;
    *failed* is the heading shown over the page when a rebuild fails.
    """
    number, partial, saved = ("", "", "") if build is None else (build.number, "1" if build.partial else "",
                                                                 ",".join(build.saved))
    # Character references keep the script's bytes ASCII, right in a page of any encoding.
    script = RELOAD_SCRIPT.format(build=number, partial=partial, saved=saved,
                                  failed=markup.escape(failed)).encode("ascii", "xmlcharrefreplace")
    ends = list(_BODY_END.finditer(html))
    at = ends[-1].start() if ends else len(html)
    return html[:at] + script + html[at:]


def read_sent(root: Path) -> tuple[dict[str, SentIssue], str]:
    """Read what manifest.json says was sent, by slug; and its problem when it cannot be read."""
    try:
        manifest = load_manifest(root)
    except NewsletterError as error:
        return {}, str(error)
    return {issue.slug: issue for issue in manifest.issues}, ""


class Routes:
    """The answer to every request for the builds of the newsletter in *root*."""

    def __init__(self, builds: Builds, root: Path, *, files: AbstractContextManager[object] | None = None) -> None:
        self.builds = builds
        self.root = root
        # Held while a request reads the build, which a rebuild's commit holds too: no half builds.
        self.files = files or nullcontext()
        self._ui_by_language: dict[Language | None, Environment] = {}

    def respond(self, target: str) -> Response:
        """Answer a GET for *target* (the request line's path and query)."""
        parts = urlsplit(target)
        path = parts.path or "/"
        query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
        if path == PREFIX + "poll":
            return self._respond(path, query, self.builds.state)  # waits long, and reads no file
        try:
            with self.files:
                return self._respond(path, query, self.builds.state)
        except FileNotFoundError:
            # A file the build listed is gone (a cold rebuild swapped the folder): the page this
            # gives reloads itself onto the current build.
            return self._not_found(self.builds.state, path)

    def _respond(self, path: str, query: dict[str, str], state: State) -> Response:
        if path == PREFIX.rstrip("/"):
            return Response.redirect(PREFIX)
        if path.startswith(PREFIX):
            return self._preview_route(path[len(PREFIX):], query, state)
        if state.build is None:
            return self._page("error.html", state, HTTPStatus.SERVICE_UNAVAILABLE, title=N_("Build failed"))
        found = resolve(state.build.folder, path)
        if found is None:
            if not path.endswith("/") and resolve(state.build.folder, path + "/") is not None:
                return Response.redirect(path + "/")
            return self._not_found(state, path)
        kind = content_type(found)
        data = found.read_bytes()
        if kind.startswith("text/html"):
            data = inject_reload(data, state.build, self._rebuild_failed())
        return Response(HTTPStatus.OK, data, kind)

    def _preview_route(self, rest: str, query: dict[str, str], state: State) -> Response:
        if rest == "poll":
            try:
                since = int(query.get("since", "-1"))
            except ValueError:
                since = -1
            answer = self.builds.wait(since, POLL_SECONDS)
            return Response(HTTPStatus.OK, answer.to_json(), "application/json")
        if rest.startswith("static/"):
            found = resolve(builtin_templates() / "preview" / "static", "/" + rest.removeprefix("static/"))
            if found is None:
                return self._not_found(state, PREFIX + rest)
            return Response(HTTPStatus.OK, found.read_bytes(), content_type(found))
        if rest in ("lists/confirm.eml", "lists/welcome.eml"):
            return self._list_email(rest.removeprefix("lists/").removesuffix(".eml"))
        if state.build is None:
            return self._page("error.html", state, HTTPStatus.SERVICE_UNAVAILABLE, title=N_("Build failed"))
        if rest == "":
            return self._page("list.html", state, title=N_("Issues"))
        slug, slash, page = rest.partition("/")
        issue = state.build.issue(slug)
        if issue is None:
            return self._not_found(state, PREFIX + rest)
        if not slash:
            return Response.redirect(f"{PREFIX}{slug}/")
        message = read_message(state.build.folder / "email" / f"{slug}.eml")
        if page == "":
            return self._page("issue.html", state, **issue_page(issue, message, query))
        if page == "email.html":
            scheme = query.get("scheme", "light")
            html = email_document(part_text(message, "html"), state.build.site_url, scheme)
            return Response(HTTPStatus.OK, html.encode("utf-8"), "text/html; charset=utf-8")
        return self._not_found(state, PREFIX + rest)

    def _list_email(self, which: str) -> Response:
        """The list server's confirmation or welcome email for a made-up reader, whole, as text."""
        from ..lists.mailer import sample_messages

        try:
            message = sample_messages(load_config(self.root))[which]
        except NewsletterError as error:
            return Response(HTTPStatus.INTERNAL_SERVER_ERROR, str(error).encode("utf-8"), "text/plain; charset=utf-8")
        return Response(HTTPStatus.OK, message, "text/plain; charset=utf-8")

    def _ui(self) -> Environment:
        """The preview's pages in the newsletter's language (English while its config is broken)."""
        try:
            spoken: Language | None = language_of(load_config(self.root))
        except NewsletterError:
            spoken = None
        env = self._ui_by_language.get(spoken)
        if env is None:
            helpers = {"kb": spoken.kilobytes, "longdate": spoken.date_and_time, "seconds": spoken.seconds} \
                if spoken else {"kb": lambda size: f"{size / 1024:.1f} KB", "seconds": lambda value: f"{value:.2f} s",
                                "longdate": lambda value: f"{value:%B} {value.day}, {value:%Y} · {value:%H:%M}"}
            env = self._ui_by_language[spoken] = ui_environment(builtin_templates() / "preview", spoken, **helpers)
        return env

    def _rebuild_failed(self) -> str:
        spoken = self._ui().globals.get("site_language")
        return spoken.gettext(REBUILD_FAILED) if isinstance(spoken, Language) else REBUILD_FAILED

    def _not_found(self, state: State, path: str) -> Response:
        return self._page("error.html", state, HTTPStatus.NOT_FOUND, title=N_("Not found"), missing=path)

    def _page(self, template: str, state: State, status: HTTPStatus = HTTPStatus.OK, **context: Any) -> Response:
        sent, manifest_problem = read_sent(self.root)
        html = self._ui().get_template(template).render(state=state, build=state.build, error=state.error,
                                                      sent=sent, manifest_problem=manifest_problem,
                                                      clip=GMAIL_CLIP_BYTES,
                                                      **{"missing": "", **context})
        return Response(status, inject_reload(html.encode("utf-8"), state.build, self._rebuild_failed()),
                        "text/html; charset=utf-8")
