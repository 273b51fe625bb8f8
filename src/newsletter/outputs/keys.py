"""Keys of units that are worked out without rendering anything: which snippets an issue shows, the
static files its email measures, the email's own key. `status` keys every sent issue's email this
way and renders only those whose key changed since the last build."""

from __future__ import annotations

import posixpath
from urllib.parse import unquote

from ..posts import Post
from ..render.urls import is_site_relative, site_path
from ..site import Entry, Site
from ..sources import Stamp
from .units import digest

# Gmail shows the first 102 KB of an email's HTML and hides the rest behind 'View entire message':
# the build warns past it and the preview marks where it falls.
GMAIL_CLIP_BYTES = 102 * 1024


def snippet_key(site: Site, post: Post) -> str:
    """Changes whenever a snippet the issue shows changes, or which ones it shows."""
    return digest(*(f"{snippet.name}:{snippet.digest}" for snippet in site.snippets_of(post)))


def snippet_images(site: Site, post: Post) -> list[str]:
    """The image sources of the snippets the issue shows."""
    return [src for snippet in site.snippets_of(post)
            for src in site.snippet_bodies[snippet.name].outline.image_sources]


def static_image(site: Site, src: str) -> tuple[str, Stamp | None] | None:
    """The path in the site a site-relative image src names ('static/a.png', 'slug/chart.png'), with
    its stamp when the build copies it there from static/ or a page bundle; None for an image
    hosted elsewhere."""
    if not is_site_relative(src):
        return None
    # Markdown writes 'static/chart 1.png' as 'static/chart%201.png'; the file has the plain name.
    local = posixpath.normpath(unquote(site_path(src).split("?")[0].split("#")[0]))
    copied = site.copied_file(local)
    return local, copied.stamp if copied is not None else None


def email_key(site: Site, entry: Entry, base_key: str) -> str:
    """The key of an issue's email: its post, its snippets, and the stamps of the images it measures."""
    sources = [*entry.outline.image_sources, *snippet_images(site, entry.post)]
    images = [image for src in sources if (image := static_image(site, src)) is not None]
    return digest(base_key, "email", entry.key, snippet_key(site, entry.post), *images,
                  static_image(site, entry.post.image.strip()))
