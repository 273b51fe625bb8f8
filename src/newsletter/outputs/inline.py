"""Move an email's CSS onto its elements, with premailer or css-inline, the only module that imports either.

premailer is slow to start: importing it and parsing the stylesheet the first time take a third of
a second, most of a one-post rebuild. A build that will inline a few emails starts a WarmPremailer
first, a process that does that while the build does everything before its emails, and passes it
to whatever inlines them.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import multiprocessing
import os
import signal
from collections.abc import Iterator
from multiprocessing.connection import Connection
from typing import Any

from ..config import Config
from ..errors import BuildError

PREMAILER = "premailer"
CSS_INLINE = "css-inline"
# premailer sizes its cache of parsed CSS from this when first imported. Its default of 128
# entries is too few: every email's many style attributes push the stylesheet out of it, so the
# stylesheet would be parsed again for each email.
_CACHE_SIZE_VARIABLE = "PREMAILER_CACHE_MAXSIZE"
_CACHE_SIZE = "8192"


def inliner(config: Config) -> str:
    """The CSS inliner the newsletter asks for: premailer unless [email] inliner says otherwise."""
    return config.email.inliner if config.email is not None else PREMAILER


def inline(html: str, name: str = PREMAILER, warm: WarmPremailer | None = None) -> str:
    """Move the email's CSS onto its elements; rules that cannot move (media queries) stay in <style>.

    premailer's work goes to *warm* when it serves this process.
    """
    if name == CSS_INLINE:
        return _css_inline(html)
    if warm is not None and warm.serves_this_process():
        return warm.inline(html)
    return _premailer(html)


def starts_slowly(name: str, warm: WarmPremailer | None) -> bool:
    """Whether the first email this process inlines also pays for loading and warming up the inliner."""
    return name == PREMAILER and (warm is None or not warm.serves_this_process())


@functools.cache
def _premailer_class() -> Any:
    # Imported on first use, because importing it takes longer than a no-op build. The cache size
    # is set for the import only: the environment that programs run later inherit stays as it was.
    before = os.environ.get(_CACHE_SIZE_VARIABLE)
    os.environ.setdefault(_CACHE_SIZE_VARIABLE, _CACHE_SIZE)
    try:
        from premailer import Premailer
    finally:
        if before is None:
            os.environ.pop(_CACHE_SIZE_VARIABLE, None)
    return Premailer


def _premailer(html: str) -> str:
    premailer = _premailer_class()(
        html,
        cssutils_logging_level=logging.CRITICAL,
        disable_validation=True,
        allow_network=False,
        remove_classes=False,
        strip_important=False,
        preserve_internal_links=True,
        keep_style_tags=False,
        # Our stylesheet floats no image, and this step parses every image's style with cssutils'
        # validation on (whatever disable_validation says), which costs a tenth of a second the
        # first time: most of an edit's rebuild.
        align_floating_images=False,
    )
    inlined: str = premailer.transform()
    return inlined


def _css_inline(html: str) -> str:
    try:
        import css_inline
    except ImportError:
        raise BuildError("[email] inliner = \"css-inline\" needs the css-inline package: "
                         "pip install 'newsletter[fast]'") from None
    # The whole <style> stays: css-inline keeps media queries (dark mode, phones) only that way.
    inlined: str = css_inline.CSSInliner(keep_style_tags=True, load_remote_stylesheets=False).inline(html)
    return inlined


# -- premailer warmed up ahead of need -------------------------------------------------------------

# Elements the default email stylesheet styles: inlining them once fills premailer's caches of
# parsed declarations, as the first real email would.
_WARMING_BODY = ("<h1>a</h1><h2>a</h2><h3>a</h3><p>a <strong>b</strong> <em>c</em> <a href=\"#\">d</a> "
                 "<code>e</code> <del>f</del></p><ul><li>a</li></ul><ol><li>b</li></ol>"
                 "<blockquote><p>q</p></blockquote><pre><code>x</code></pre><table><thead><tr><th>h</th>"
                 "</tr></thead><tbody><tr><td>d</td></tr></tbody></table><figure><img src=\"a.png\" "
                 "alt=\"a\"><figcaption>c</figcaption></figure><hr>")


class WarmPremailer:
    """A process that imports premailer and parses the email stylesheet as soon as it starts,
    then inlines the pages it is sent by the process that started it."""

    # Longer than any email takes; past it the process is presumed stuck and the page inlined here.
    PATIENCE_SECONDS = 60

    def __init__(self, config: Config) -> None:
        self.owner = os.getpid()
        context = multiprocessing.get_context("fork")
        self.connection, theirs = context.Pipe()
        self.process = context.Process(target=_serve_premailer, args=(theirs, self.connection, config),
                                       daemon=True)
        self.process.start()
        theirs.close()
        self.working = True

    def serves_this_process(self) -> bool:
        """Whether this process started it: a process forked from that one must not share its pipe."""
        return self.owner == os.getpid()

    def inline(self, html: str) -> str:
        """The page inlined there, or here should that process fail or be stuck."""
        inlined = None
        if self.working:
            try:
                self.connection.send(html)
                if self.connection.poll(self.PATIENCE_SECONDS):
                    inlined = self.connection.recv()
                else:
                    self.working = False
            except (OSError, EOFError):
                self.working = False
        # Not inlined there (it failed, or premailer raised): here, where any error is reported.
        return inlined if inlined is not None else _premailer(html)

    def stop(self) -> None:
        self.connection.close()
        self.process.terminate()
        self.process.join()


def _serve_premailer(connection: Connection, theirs: Connection, config: Config) -> None:
    # With the builder's end closed here, the builder's exit (even killed) ends recv() below; its
    # Ctrl-C is its own to handle.
    theirs.close()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Should this fail, the first real email warms premailer up instead, and reports the error.
    with contextlib.suppress(Exception):
        _premailer(f"<html><head><style>\n{_email_css(config)}\n</style></head><body class=\"body\">"
                   f"{_WARMING_BODY}</body></html>")
    while True:
        try:
            html = connection.recv()
        except (EOFError, OSError):
            return
        try:
            inlined: str | None = _premailer(html)
        except Exception:  # noqa: BLE001 - the caller inlines the page itself and reports the error
            inlined = None
        connection.send(inlined)


def _email_css(config: Config) -> str:
    """The email stylesheet, rendered as the emails will have it."""
    from ..render.inputs import template_folders

    source = next(folder / "email.css" for folder in template_folders(config) if (folder / "email.css").is_file())
    text = source.read_text(encoding="utf-8")
    if "{{" not in text and "{%" not in text and "{#" not in text:
        # Nothing to render (the shipped sheet): its text is its rendering, and Jinja need not be loaded
        # here, a tenth of a second that the first email would wait for.
        return text
    # Imported here: a build starts this process before it loads its own renderers.
    from ..render.templates import make_environment, render_template

    return render_template(make_environment(config), "email.css")


def uses_premailer(config: Config) -> bool:
    """Whether the newsletter's emails are inlined with premailer."""
    return inliner(config) == PREMAILER


@contextlib.contextmanager
def warm_premailer(config: Config) -> Iterator[WarmPremailer | None]:
    """A premailer process started now for the emails inlined while this lasts, stopped after.

    Gives None when the newsletter uses another inliner.
    """
    if inliner(config) != PREMAILER:
        yield None
        return
    warm = WarmPremailer(config)
    try:
        yield warm
    finally:
        warm.stop()
