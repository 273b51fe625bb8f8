"""Snippets around an issue's body: laid out by templates/snippet.html, the same in web and email."""

from __future__ import annotations

from ..posts import Post
from ..render.templates import Environment, Markup, render_template
from ..site import Entry, Site
from .units import digest


def body_with_snippets(site: Site, env: Environment, entry: Entry) -> str:
    """The issue's body HTML with its snippets before ('top') and after it."""
    top: list[str] = []
    bottom: list[str] = []
    for snippet in site.snippets_of(entry.post):
        html = render_template(env, "snippet.html", snippet=snippet,
                               body=Markup(site.snippet_bodies[snippet.name].html))
        (top if snippet.position == "top" else bottom).append(html)
    return "".join([*top, entry.body.html, *bottom])


def snippet_key(site: Site, post: Post) -> str:
    """Changes whenever a snippet the issue shows changes, or which ones it shows."""
    return digest(*(f"{snippet.name}:{snippet.digest}" for snippet in site.snippets_of(post)))


def snippet_images(site: Site, post: Post) -> list[str]:
    """The image sources of the snippets the issue shows."""
    return [src for snippet in site.snippets_of(post)
            for src in site.snippet_bodies[snippet.name].outline.image_sources]
