"""The body of an issue as its page and email show it: its snippets around it (laid out by
templates/snippet.html, the same in web and email), and its footnote links labelled in the site's language."""

from __future__ import annotations

import re

from ..render.templates import Environment, Markup, language, render_template
from ..site import Entry, Site

# The label Markdown rendering gives a footnote's way back (render/html.py), the same in every language
# so that a rendered body can be cached once for all of them.
_BACKREF_LABEL = re.compile(r'aria-label="Back to reference (\d+)"')


def _label_backrefs(html: str, env: Environment) -> str:
    words = language(env).gettext("Back to reference %(number)s")
    return _BACKREF_LABEL.sub(lambda found: f'aria-label="{Markup.escape(words % {"number": found.group(1)})}"',
                              html)


def body_with_snippets(site: Site, env: Environment, entry: Entry, body: str | None = None) -> str:
    """The issue's body HTML with its snippets before ('top') and after it, its footnotes' links labelled.

    *body* is the body's HTML to use (the email's keeps its merge fields); the web's by default.
    """
    top: list[str] = []
    bottom: list[str] = []
    for snippet in site.snippets_of(entry.post):
        html = render_template(env, "snippet.html", snippet=snippet,
                               body=Markup(site.snippet_bodies[snippet.name].html))
        (top if snippet.position == "top" else bottom).append(html)
    return "".join([*top, _label_backrefs(entry.body.html if body is None else body, env), *bottom])
