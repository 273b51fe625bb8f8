"""Render what the list server shows and mails, from the newsletter's templates (templates/lists/).

Pages carry the site's own stylesheet inline, so that they look like the site wherever the server
runs, and load nothing from elsewhere. Pages and emails speak the site's language: the templates
through {% trans %}, the server's sentences through ``Pages.gettext``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..config import Config
from ..render.i18n import SOURCE_LANGUAGE
from ..render.templates import Environment, Markup, language, make_environment, render_template


@dataclass(frozen=True)
class Page:
    """A page to answer with: its HTTP status and HTML."""

    status: int
    html: str


class Pages:
    """The templates, loaded once for the life of the server."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.env: Environment = make_environment(config)
        self.css = Markup(render_template(self.env, "style.css", code_css_light="", code_css_dark=""))
        self._made: dict[tuple[int, str, str, str], Page] = {}
        self.language = language(self.env)

    def gettext(self, message: str) -> str:
        """*message* in the site's language."""
        return self.language.gettext(message)

    @property
    def english(self) -> bool:
        """Whether the site speaks English (then English-only details may be shown as they are)."""
        return self.language.locale.language == SOURCE_LANGUAGE

    @property
    def wording(self) -> str:
        """What a reader agrees to by subscribing: [lists] form_wording, else the built-in sentence."""
        lists = self.config.lists
        return lists.form_wording if lists and lists.form_wording else self.gettext(
            "Get each new issue by email. You can unsubscribe at any time with the link in every email.")

    def page(self, status: int, kind: str, title: str, message: str, **context: Any) -> Page:
        """A page in the site's look: *kind* picks what it shows below the message (a form, a link)."""
        if context:
            return self._render(status, kind, title, message, **context)
        # Most answers are the same page every time (thanks, refusals): made once, then reused.
        key = (status, kind, title, message)
        made = self._made.get(key)
        if made is None:
            made = self._render(status, kind, title, message)
            if len(self._made) < 256:  # refusals quote what was wrong: keep a few, never grow with input
                self._made[key] = made
        return made

    def _render(self, status: int, kind: str, title: str, message: str, **context: Any) -> Page:
        html = render_template(self.env, "lists/page.html", site=self.config.site, css=self.css, kind=kind,
                               title=title, message=message, **{"action": "", **context})
        return Page(status, html)

    def mail_text(self, template: str, **context: Any) -> str:
        """The plain-text body of a confirmation or welcome email (templates/lists/<name>.txt)."""
        return render_template(self.env, f"lists/{template}.txt", site=self.config.site, **context)
