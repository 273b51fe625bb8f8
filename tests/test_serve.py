"""The preview server without a browser: path resolution, the answers to requests, rebuilds, watching."""

from __future__ import annotations

import _thread
import html
import http.client
import json
import os
import re
import socket
import tempfile
import threading
import time
from pathlib import Path

import pytest

from newsletter.check import check_newsletter
from newsletter.errors import ConfigError
from newsletter.outputs.email import GMAIL_CLIP_BYTES
from newsletter.preview import Preview, run_preview
from newsletter.preview.emailview import email_document, force_dark, force_inverted, mark_gmail_clip
from newsletter.preview.routes import resolve
from newsletter.preview.server import HostCheck, ServeError, start_preview


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """A built-looking folder, with a secret file beside it that must never be served."""
    folder = tmp_path / "build"
    (folder / "issue").mkdir(parents=True)
    (folder / "issue" / "index.html").write_text("<p>issue</p>")
    (folder / "index.html").write_text("<p>home</p>")
    (folder / "a file.txt").write_text("spaces")
    (folder / ".newsletter-build").write_text("marker")
    (tmp_path / "secret.txt").write_text("top secret")
    return folder


def test_resolve_finds_files_and_folder_indexes(site):
    assert resolve(site, "/") == (site / "index.html").resolve()
    assert resolve(site, "/issue/") == (site / "issue" / "index.html").resolve()
    assert resolve(site, "/a%20file.txt") == (site / "a file.txt").resolve()
    # A folder without its slash would break the page's relative links; the server redirects it.
    assert resolve(site, "/issue") is None
    assert resolve(site, "/missing.html") is None


@pytest.mark.parametrize("path", [
    "/../secret.txt",
    "/issue/../../secret.txt",
    "/%2e%2e/secret.txt",
    "/%2E%2E/secret.txt",
    "/..%2fsecret.txt",
    "/%2e%2e%2fsecret.txt",
    "/issue/%2e%2e/%2e%2e/secret.txt",
    "/..\\secret.txt",
    "/..%5csecret.txt",
    "//etc/passwd",
    "/%2fetc/passwd",
    "/%2Fetc%2Fpasswd",
    "etc/passwd",
    "/index.html%00.txt",
    "/index.html\x00",
    "/%ff%fe",
    "/.newsletter-build",
    "/./index.html",
])
def test_resolve_refuses_to_leave_the_folder(site, path):
    assert resolve(site, path) is None


def test_resolve_refuses_symlinks_that_point_outside(site, tmp_path):
    (site / "escape.txt").symlink_to(tmp_path / "secret.txt")
    (site / "escape-dir").symlink_to(tmp_path, target_is_directory=True)
    (site / "inside.html").symlink_to(site / "index.html")
    assert resolve(site, "/escape.txt") is None
    assert resolve(site, "/escape-dir/secret.txt") is None
    assert resolve(site, "/inside.html") == (site / "index.html").resolve()


# ---------------------------------------------------------------------------------------------
# Answers from a Preview of a small newsletter, no sockets


@pytest.fixture
def letter(newsletter):
    newsletter.post("2025-03-01-first", 'title: "First issue"\ndate: 2025-03-01', "Hello **first** readers.\n")
    newsletter.post("2025-04-01-second", 'title: "Second issue"\ndate: 2025-04-01', "The second one.\n")
    newsletter.post("2025-05-01-wip", 'title: "Work in progress"\ndate: 2025-05-01\ndraft: true')
    newsletter.post("2099-01-01-future", 'title: "From the future"\ndate: 2099-01-01')
    return newsletter


@pytest.fixture
def preview(letter):
    preview = Preview(letter.root)
    preview.rebuild()
    checked(preview)  # the check of the build wakes pages too: let it finish first
    yield preview
    preview.close()


def text(response) -> str:
    return response.body.decode("utf-8")


def test_serves_the_build_with_the_reload_script_added(preview):
    response = preview.respond("/second/")
    assert response.status == 200
    assert response.content_type == "text/html; charset=utf-8"
    assert "Second issue" in text(response)
    assert ('<script src="/_preview/static/live.js" data-build="1" data-partial="" data-saved="" data-failed="The '
            'last rebuild failed &#8212; still showing the last good build"></script></body>') in text(response)
    css = preview.respond("/assets/style.css")
    assert css.status == 200 and css.content_type.startswith("text/css")
    assert b"live.js" not in css.body


def test_the_built_files_have_no_reload_script(preview, letter):
    folder = preview.state.build.folder
    assert folder.is_dir() and folder.is_relative_to(letter.root / ".newsletter" / "preview")
    pages = list(folder.rglob("*.html"))
    assert len(pages) > 5
    assert not [page for page in pages if b"_preview" in page.read_bytes()]
    assert not letter.dist.exists()  # the preview never touches the user's dist/


def test_a_normal_build_has_no_reload_script(letter):
    result = letter.run("build", "--drafts")
    assert result.exit_code == 0, result.output
    files = letter.snapshot()
    assert any(name.endswith(".html") for name in files)
    assert not [name for name, data in files.items() if b"live.js" in data or b"_preview" in data]


def test_unknown_and_unsafe_paths_are_404(preview):
    for path in ("/nothing-here", "/../newsletter.toml", "/%2e%2e/newsletter.toml", "/..%2fnewsletter.toml",
                 "//etc/passwd", "/posts/2025-03-01-first.md", "/.newsletter-build", "/index.html%00",
                 "/_preview/nobody/", "/_preview/second/nothing", "/_preview/static/../issue.html",
                 "/_preview/static/%2e%2e/issue.html", "/_preview/static/..%2f..%2fbase.html"):
        response = preview.respond(path)
        assert response.status == 404, path
        assert "Nothing here" in text(response), path


def test_folders_without_their_slash_are_redirected(preview):
    assert preview.respond("/second").location == "/second/"
    assert preview.respond("/_preview").location == "/_preview/"
    assert preview.respond("/_preview/second").location == "/_preview/second/"


def test_the_list_shows_every_status(preview, letter):
    letter.write("manifest.json", json.dumps({"issues": {"first": {
        "id": "tag:example.com,2025-03-01:/letter/first", "subject": "First issue",
        "sent_at": "2025-03-01T10:00:00+01:00", "sha256": "0" * 64, "recipients": {"sent": 3, "failed": 0}}}}))
    page = text(preview.respond("/_preview/"))
    rows = {title: page[page.index(title):page.index("</tr>", page.index(title))]
            for title in ("First issue", "Second issue", "Work in progress", "From the future")}
    assert ">sent<" in rows["First issue"]
    assert ">published<" in rows["Second issue"]
    assert ">draft<" in rows["Work in progress"]
    assert ">scheduled<" in rows["From the future"]


def test_a_broken_manifest_is_shown_and_nothing_counts_as_sent(preview, letter):
    letter.write("manifest.json", '{"issues": ')
    page = text(preview.respond("/_preview/"))
    assert "manifest.json:1: not valid JSON" in page
    assert ">sent<" not in page


def test_drafts_can_be_left_out(letter):
    preview = Preview(letter.root, drafts=False)
    try:
        preview.rebuild()
        assert [issue.slug for issue in preview.state.build.issues] == ["future", "second", "first"]
    finally:
        preview.close()


def test_the_issue_page_shows_text_headers_size_and_warnings(letter):
    letter.post("2025-04-02-pictures", 'title: "Pictures"\ndate: 2025-04-02', "![](static/a.png)\n")
    preview = Preview(letter.root)
    try:
        preview.rebuild()
        page = text(preview.respond("/_preview/pictures/?view=text&width=phone&scheme=dark"))
    finally:
        preview.close()
    assert 'data-view="text" data-width="phone" data-scheme="dark"' in page
    assert '<iframe id="phone"' in page and '<iframe id="desktop"' in page
    assert "email.html?scheme=dark" in page
    assert "Pictures\n========" in page  # the plain-text part
    assert "<th>Subject</th><td>Pictures</td>" in page
    assert "<th>To</th><td>Sample Reader &lt;sample.reader@example.com&gt;</td>" in page
    assert "<th>List-Unsubscribe</th>" not in page  # this newsletter configures no unsubscribe
    assert "text/html (quoted-printable," in page
    assert "to spare before Gmail clips it" in page
    assert "image-alt" in page and "has no alt text" in page


def checked(preview, timeout: float = 60.0):
    """Wait until the check of the served build has run; return the state."""
    deadline = time.monotonic() + timeout
    state = preview.state
    while not (state.build and state.build.checked) and time.monotonic() < deadline:
        state = preview.wait(state.epoch, 1.0)
    assert state.build and state.build.checked, "the preview never checked its build"
    return state


def test_the_panel_shows_what_check_finds_for_the_issue(letter):
    name = "posts/2025-04-02-pictures.md"
    letter.post("2025-04-02-pictures", 'title: "Pictures"\ndate: 2025-04-02',
                "![](static/a.png)\n\nRead more [here](https://example.org/).\n")
    preview = Preview(letter.root)
    try:
        preview.rebuild()
        state = checked(preview)
        page = text(preview.respond("/_preview/pictures/"))
    finally:
        preview.close()
    expected = [finding for finding in check_newsletter(letter.root).findings if finding.path == name]
    assert {finding.rule for finding in expected} >= {"image-alt", "link-text"}
    shown = state.build.issue("pictures").findings
    assert shown == tuple(f"line {f.line}: {f.severity}: {f.rule}: {f.message}" if f.line
                          else f"{f.severity}: {f.rule}: {f.message}" for f in expected)
    assert 'id="preview-findings" data-checked="1"' in page and "Checking" not in page
    assert all(line in html.unescape(page) for line in shown)


def test_the_email_frame_is_the_message_as_sent_with_local_links(preview):
    response = preview.respond("/_preview/second/email.html")
    html = text(response)
    assert "Second issue" in html
    assert 'href="/second/"' in html  # "view in browser" opens the local build, not the live site
    assert "{unsubscribe_url}" not in html  # placeholders filled as for a subscriber
    assert "live.js" not in html  # the page around the frames reloads them


def test_dark_mode_forces_the_dark_rules_on():
    html = ("<html><head><style>a{color:blue}@media (prefers-color-scheme: dark){a{color:white}}"
            "@media screen and (prefers-color-scheme:light){a{color:black}}</style></head>"
            "<body><p>(prefers-color-scheme: dark) in prose stays</p></body></html>")
    dark = force_dark(html)
    assert "@media (min-width: 0px){a{color:white}}" in dark
    assert "@media screen and (max-width: -1px){a{color:black}}" in dark
    assert "<p>(prefers-color-scheme: dark) in prose stays</p>" in dark
    inverted = force_inverted(html)
    assert "filter: invert(1) hue-rotate(180deg)" in inverted
    assert inverted.index("invert(1)") < inverted.index("</head>")


def test_email_document_applies_the_chosen_scheme():
    html = ("<!DOCTYPE html><html><head><style>@media (prefers-color-scheme: dark){a{color:#fff}}</style></head>"
            '<body><a href="https://example.com/letter/x/">x</a></body></html>')
    assert "(min-width: 0px)" in email_document(html, "https://example.com/letter/", "dark")
    assert "invert(1)" in email_document(html, "https://example.com/letter/", "inverted")
    light = email_document(html, "https://example.com/letter/", "light")
    assert "prefers-color-scheme: dark" in light and 'href="/x/"' in light and '<base target="_blank">' in light


def test_the_gmail_clip_is_marked_where_it_cuts():
    paragraph = "<p>" + "word " * 40 + "</p>\n"
    html = "<html><head><title>t</title></head><body>" + paragraph * (GMAIL_CLIP_BYTES // len(paragraph) + 20)
    marked = mark_gmail_clip(html + "</body></html>")
    at = marked.index("Gmail clips the message here")
    assert GMAIL_CLIP_BYTES - len(paragraph) < len(marked[:at].encode()) < GMAIL_CLIP_BYTES + 400
    small = "<html><body><p>short</p></body></html>"
    assert mark_gmail_clip(small) == small


def test_a_long_issue_shows_the_clip_in_its_page_and_frame(letter):
    letter.post("2025-06-01-long", 'title: "Long"\ndate: 2025-06-01',
                "\n\n".join(f"Paragraph {n} " + "with many words " * 30 for n in range(300)))
    preview = Preview(letter.root)
    try:
        preview.rebuild()
        assert preview.state.build.issue("long").size > GMAIL_CLIP_BYTES
        assert "Gmail cuts it at the dashed line" in text(preview.respond("/_preview/long/"))
        assert "Gmail clips the message here" in text(preview.respond("/_preview/long/email.html"))
        assert "Gmail clips the message here" not in text(preview.respond("/_preview/second/email.html"))
    finally:
        preview.close()


def test_a_failed_rebuild_keeps_the_last_good_build_and_shows_the_error(preview, letter):
    good = preview.state.build
    letter.write("posts/2025-04-01-second.md", '---\ntitle: "Second issue\ndate: 2025-04-01\n---\n\nBroken.\n')
    state = preview.rebuild()
    assert state.build == good
    assert re.match(r"posts/2025-04-01-second\.md:\d+: front matter is not valid YAML", state.error)
    assert "Second issue" in text(preview.respond("/second/"))  # still the last good build
    page = text(preview.respond("/_preview/second/"))
    assert "The last rebuild failed — still showing build 1" in page
    assert html.escape(state.error, quote=False) in page
    poll = json.loads(preview.respond("/_preview/poll?since=-1").body)
    assert poll == {"epoch": 3, "build": 1, "checked": True, "partial": False, "saved": [],
                    "error": state.error}  # 2: the check of build 1

    letter.post("2025-04-01-second", 'title: "Second issue, fixed"\ndate: 2025-04-01')
    state = preview.rebuild()
    assert state.error == "" and state.build.number == 2
    assert "Second issue, fixed" in text(preview.respond("/second/"))
    assert state.build.folder == good.folder  # one folder, brought up to date in place


def test_a_second_preview_starts_warm_and_remakes_only_what_a_save_touches(letter):
    first = Preview(letter.root)
    try:
        first.rebuild()
    finally:
        first.close()
    again = Preview(letter.root)
    try:
        state = again.rebuild()
        assert state.build is not None and "Second issue" in text(again.respond("/second/"))
        assert state.build.made == 0  # nothing changed since the last preview: nothing remade
        letter.post("2025-04-01-second", 'title: "Second issue, edited"\ndate: 2025-04-01')
        state = again.rebuild()
        assert "Second issue, edited" in text(again.respond("/second/"))
        assert "Second issue, edited" in text(again.respond("/email/second.html"))
        assert 0 < state.build.made < 12  # the issue's page and email, lists and feeds; not "first"
    finally:
        again.close()


def test_before_a_first_good_build_every_page_shows_the_error(letter):
    letter.write("newsletter.toml", "[site]\ntitle = 'x'\n")
    preview = Preview(letter.root)
    try:
        state = preview.rebuild()
        assert state.build is None and "newsletter.toml" in state.error
        for path in ("/", "/second/", "/_preview/", "/_preview/second/"):
            response = preview.respond(path)
            assert response.status == 503
            assert "The newsletter does not build" in text(response) and "url" in text(response)
    finally:
        preview.close()


def test_waiting_pages_wake_on_a_new_build(preview):
    epoch = preview.state.epoch
    started = time.perf_counter()
    assert preview.wait(epoch, timeout=0.1).epoch == epoch
    assert time.perf_counter() - started >= 0.1
    assert preview.wait(epoch - 1, timeout=5).epoch == epoch  # a stale page is answered at once

    woken = []
    waiter = threading.Thread(target=lambda: woken.append(preview.wait(epoch, timeout=5)))
    waiter.start()
    time.sleep(0.05)
    preview.rebuild()
    waiter.join(5)
    assert woken and woken[0].epoch == epoch + 1 and woken[0].build.number == 2


# ---------------------------------------------------------------------------------------------
# The running server: sockets, watching, shutting down


def _get(url_host: str, port: int, path: str, method: str = "GET") -> tuple[int, bytes]:
    connection = http.client.HTTPConnection(url_host, port, timeout=5)
    connection.putrequest(method, path, skip_accept_encoding=True)  # the path goes out exactly as given
    connection.endheaders()
    response = connection.getresponse()
    return response.status, response.read()


def _wait_for(condition, seconds: float = 3.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


def test_the_server_answers_over_http_and_cleans_up(letter):
    with start_preview(letter.root, port=0) as server:
        host, port = "127.0.0.1", int(server.url.rsplit(":", 1)[1].strip("/"))
        assert server.url == f"http://127.0.0.1:{port}/"
        status, body = _get(host, port, "/second/")
        assert status == 200 and b"Second issue" in body
        assert _get(host, port, "/../newsletter.toml")[0] == 404
        assert _get(host, port, "/%2e%2e/%2e%2e/etc/passwd")[0] == 404
        assert _get(host, port, "/second/", "HEAD") == (200, b"")
        assert server.page_url("second") == f"{server.url}_preview/second/"
        with pytest.raises(ServeError, match="no issue with the slug 'secnd' .did you mean 'second'"):
            server.page_url("secnd")
        workspace = server.preview.workspace
        assert workspace.is_dir() and workspace.is_relative_to(letter.root)
    assert (workspace / "site" / "second" / "index.html").is_file()  # kept: the next start is warm
    with pytest.raises(OSError):
        socket.create_connection((host, port), timeout=1)


def _get_as(port: int, host_header: str | None, path: str = "/second/") -> tuple[int, bytes]:
    """GET *path* from 127.0.0.1 with this Host header (None: without one)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    connection.putrequest("GET", path, skip_host=True, skip_accept_encoding=True)
    if host_header is not None:
        connection.putheader("Host", host_header)
    connection.endheaders()
    response = connection.getresponse()
    return response.status, response.read()


def test_only_the_previews_own_host_names_are_answered(letter):
    # A page whose DNS name is pointed at 127.0.0.1 (DNS rebinding) sends its own name as Host.
    with start_preview(letter.root, port=0) as server:
        port = int(server.url.rsplit(":", 1)[1].strip("/"))
        for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"LocalHost:{port}", f"[::1]:{port}"):
            status, body = _get_as(port, host)
            assert status == 200 and b"Second issue" in body, host
        for host in (f"attacker.example:{port}", "attacker.example", f"127.0.0.1.attacker.example:{port}",
                     f"localhost:{port + 1}", "localhost", "127.0.0.1", f"[::1]x:{port}", f"::1:{port}", ""):
            status, body = _get_as(port, host)
            assert status == 421, host
            assert b"Second issue" not in body and b"own host names" in body, host
        started = time.perf_counter()
        assert _get_as(port, "attacker.example", "/_preview/poll?since=-1")[0] == 421
        assert _get_as(port, "attacker.example", "/_preview/second/email.html")[0] == 421
        assert time.perf_counter() - started < 2  # refused before any waiting
        assert _get_as(port, None)[0] == 400


def test_host_names_for_each_way_of_listening():
    loopback = HostCheck.serving("127.0.0.1", 8000)
    assert loopback.accepts("127.0.0.1:8000") and loopback.accepts("localhost:8000")
    assert loopback.accepts("[::1]:8000") and not loopback.accepts("192.168.1.5:8000")
    named = HostCheck.serving("letter.lan", 8000)
    assert named.accepts("letter.lan:8000") and named.accepts("LETTER.LAN:8000") and named.accepts("localhost:8000")
    assert not named.accepts("other.lan:8000")
    ipv6 = HostCheck.serving("::1", 8000)
    assert ipv6.accepts("[::1]:8000") and not ipv6.accepts("::1:8000")
    # Listening everywhere, the preview is reached by the machine's addresses, never by other names.
    everywhere = HostCheck.serving("0.0.0.0", 8000)
    assert everywhere.accepts("192.168.1.5:8000") and everywhere.accepts("[fe80::1]:8000")
    assert not everywhere.accepts("attacker.example:8000") and not everywhere.accepts("192.168.1.5:8001")
    assert HostCheck.serving("::", 8000).accepts("[2001:db8::7]:8000") and HostCheck.serving("", 8000).any_address
    assert not HostCheck.serving("", 80).accepts("")
    # Browsers leave out the default port.
    assert HostCheck.serving("127.0.0.1", 80).accepts("localhost")


def test_idle_connections_are_bounded_and_closed(letter):
    with start_preview(letter.root, port=0, connections=2, idle_seconds=1.0) as server:
        port = int(server.url.rsplit(":", 1)[1].strip("/"))
        checked(server.preview)  # the check's process has threads of its own to talk to it
        threads = threading.active_count()
        started = time.perf_counter()
        idle = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(8)]
        try:
            # Past the limit a connection gets no thread: it is closed at once.
            assert [sock.recv(1) for sock in idle[2:]] == [b""] * 6
            assert time.perf_counter() - started < 1.0
            assert threading.active_count() <= threads + 2
            with pytest.raises((http.client.RemoteDisconnected, ConnectionResetError)):
                _get("127.0.0.1", port, "/second/")
            # The two that hold a thread and send nothing are closed after the idle timeout.
            assert [sock.recv(1) for sock in idle[:2]] == [b"", b""]
            assert 0.9 < time.perf_counter() - started < 4
        finally:
            for sock in idle:
                sock.close()
        assert _wait_for(lambda: threading.active_count() <= threads)
        status, body = _get("127.0.0.1", port, "/second/")
        assert status == 200 and b"Second issue" in body


def test_a_taken_port_is_a_clear_error(letter):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ServeError, match=f"port {port} on 127.0.0.1 is already in use"):
            with start_preview(letter.root, port=port):
                pass


def test_saving_a_post_rebuilds_and_wakes_pages(letter):
    with start_preview(letter.root, port=0) as server:
        epoch = checked(server.preview).epoch
        letter.post("2025-04-01-second", 'title: "Second, edited"\ndate: 2025-04-01')
        state = server.preview.wait(epoch, timeout=3)
        assert state.epoch > epoch and state.build.issue("second").title == "Second, edited"


def test_config_saved_by_rename_and_new_folders_are_watched(letter):
    with start_preview(letter.root, port=0) as server:
        preview = server.preview
        # Editors often save by writing a new file and renaming it over the old one.
        replacement = letter.root / "newsletter.toml.new"
        replacement.write_text((letter.root / "newsletter.toml").read_text().replace("Test Letter", "Renamed"))
        os.replace(replacement, letter.root / "newsletter.toml")
        assert _wait_for(lambda: preview.state.build.site_title == "Renamed")
        # ... and again, now that the watched file is a new one.
        config = letter.root / "newsletter.toml"
        config.write_text(config.read_text().replace("Renamed", "Twice"))
        assert _wait_for(lambda: preview.state.build.site_title == "Twice")
        # A templates/ folder made while the preview runs is watched too.
        letter.write("templates/email.txt", "{{ entry.post.title }} in plain words\n")
        assert _wait_for(lambda: "in plain words" in text(preview.respond("/_preview/second/")))
        (letter.root / "templates" / "email.txt").write_text("{{ entry.post.title }} said again\n")
        assert _wait_for(lambda: "said again" in text(preview.respond("/_preview/second/")))


def test_ctrl_c_stops_the_preview(letter, tmp_path, monkeypatch):
    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    said = []

    def report(line: str, err: bool = False) -> None:
        said.append(line)
        if line.startswith("Previewing at "):
            threading.Timer(0.2, _thread.interrupt_main).start()  # as if Ctrl-C were pressed

    run_preview(letter.root, slug="second", port=0, open_browser=False, report=report)
    assert re.fullmatch(r"Built 4 issues in \d+\.\d\d s\.", said[0])
    assert re.fullmatch(r"Previewing at http://127\.0\.0\.1:\d+/_preview/second/", said[1])
    assert said[-1] == "Stopping."
    assert list(temp.iterdir()) == []


def test_ctrl_c_during_a_check_stops_the_preview_at_once(newsletter):
    # Enough issues that checking them all takes seconds: Ctrl-C must not wait for that.
    paragraph = "A sentence about **containers** with [a link](https://example.org/) and `code`. " * 6
    for number in range(1, 121):
        newsletter.post(f"2025-01-01-issue-{number}", f'title: "Issue {number}"\ndate: 2025-01-01T{number % 24:02d}:00',
                        "\n\n".join([paragraph] * 30) + "\n\n| a | b |\n|---|---|\n| 1 | 2 |\n")
    said = []
    pressed: list[float] = []

    def report(line: str, err: bool = False) -> None:
        said.append(line)
        if line.startswith("Previewing at "):
            # The check starts a moment after the build is served; press Ctrl-C while it runs.
            def press() -> None:
                pressed.append(time.perf_counter())
                _thread.interrupt_main()

            threading.Timer(1.5, press).start()

    run_preview(newsletter.root, port=0, open_browser=False, report=report)
    stopped = time.perf_counter() - pressed[0]
    assert said[-1] == "Stopping."
    assert stopped < 3, f"Ctrl-C took {stopped:.1f} s: the preview waited for its check"
    assert not any("Traceback" in line for line in said)


def test_the_preview_refuses_a_folder_without_a_newsletter_or_an_unknown_issue(letter, tmp_path):
    with pytest.raises(ConfigError, match="newsletter.toml: not found"):
        run_preview(tmp_path / "elsewhere", port=0, open_browser=False)
    with pytest.raises(ServeError, match="no issue with the slug 'third'; issues: future, wip, second, first"):
        run_preview(letter.root, slug="third", port=0, open_browser=False)


def test_a_save_serves_the_saved_issue_before_its_lists_and_feeds(letter):
    from newsletter.preview.builder import site_builder

    builder = site_builder(letter.root)
    try:
        builder(1)
        letter.post("2025-04-01-second", 'title: "Second, edited"\ndate: 2025-04-01', "New words.\n")
        seen = []

        def early(build):
            folder = build.folder
            seen.append((build, (folder / "email" / "second.html").read_text(), (folder / "second" / "index.html")
                         .read_text(), (folder / "index.html").read_text(), (folder / "feed.xml").read_text()))

        final = builder(2, early)
    finally:
        builder.close()
    [(partial, email, page, archive, feed)] = seen
    assert partial.partial and partial.saved == ("second",) and partial.number == 2
    assert "New words." in email and "Second, edited" in page  # the saved issue is in place first
    assert "Second, edited" not in archive and "Second, edited" not in feed  # the rest follows
    assert not final.partial and "Second, edited" in (final.folder / "index.html").read_text()
    assert "Second, edited" in (final.folder / "feed.xml").read_text()
