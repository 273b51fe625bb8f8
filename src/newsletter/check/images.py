"""Rules on images: alt text, plain http, formats and widths mail clients mishandle, heavy files."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

from ..errors import Problem
from ..outputs.email import EMAIL_COLUMN_PX
from ..render.urls import is_site_relative
from .context import Issue, Run, display
from .findings import ERROR, WARNING, Hit, Scope, rule
from .links import resolve
from .tree import srcset_urls

IMAGE_MAX_BYTES = 1024 * 1024
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".webp", ".avif", ".svg", ".svgz", ".bmp", ".tif", ".tiff")
EMAIL_UNSUPPORTED_IMAGES = {".svg": "SVG", ".svgz": "SVG", ".webp": "WebP", ".avif": "AVIF"}


@rule("image-http", WARNING, "an image over plain `http:`, blocked or flagged by mail clients and browsers",
      scope=Scope.ISSUE)
def image_http(run: Run, issue: Issue) -> Iterator[Hit]:
    """Report images, srcset candidates included, loaded over plain http."""
    insecure_site = run.site.url.startswith("http:")
    for image in issue.images:
        for url in [image.src, *srcset_urls(image.element.get("srcset", ""))]:
            if url.strip().lower().startswith("http:") or (is_site_relative(url) and insecure_site):
                yield Hit(issue.path, image.line, f"image {url!r} is loaded over plain http; mail "
                          "clients and browsers block or flag it: use https")
                break


@rule("image-missing", WARNING, "the post's `image:` is not a file under `static/`, so feeds announce it "
                               "without its size", scope=Scope.BUILD)
def image_missing(run: Run, built: Sequence[Problem]) -> Iterator[Hit]:
    """Report what the build said about `image:` keys naming no file."""
    for problem in built:
        if problem.rule == "image-missing":
            message = f"{problem.field}: {problem.message}" if problem.field else problem.message
            yield Hit(display(run.root, problem.path), problem.line, message)


@rule("image-alt", WARNING, "an image with no or empty `alt` text", scope=Scope.ISSUE)
def image_alt(run: Run, issue: Issue) -> Iterator[Hit]:
    """Report images without alt text."""
    for image in issue.images:
        alt = image.element.get("alt")
        if alt is None or not alt.strip():
            what = "no alt text" if alt is None else "an empty alt text"
            yield Hit(issue.path, image.line, f"image {image.src!r} has {what}; describe it for readers "
                      "who cannot see it and for mail clients that block images")


@rule("image-format", ERROR, "an SVG, WebP or AVIF image in the email (Gmail and Outlook don't show them)",
      scope=Scope.BUILT_ISSUE)
def image_format(run: Run, issue: Issue) -> Iterator[Hit]:
    """Report images in the email in a format Gmail and Outlook don't show."""
    if issue.email_data is None:
        return
    for image in issue.email.iter("img"):
        src = image.get("src", "")
        kind = EMAIL_UNSUPPORTED_IMAGES.get(_suffix(src))
        if kind:
            yield Hit(issue.path, issue.email_image_lines.get(src), f"{kind} image {src!r}: Gmail and Outlook "
                      f"don't show {kind} in email; use PNG, JPEG or GIF")


@rule("image-bytes", WARNING, "an image in `static/` over 1 MB, slow to load on phones", scope=Scope.BUILT_SITE)
def image_bytes(run: Run) -> Iterator[Hit]:
    """Report static images too heavy for phones, and the posts that use them."""
    users: dict[str, list[str]] = {}
    for post_path, lines in run.image_lines.items():
        for src in lines:
            resolved = resolve(run, src)
            if resolved:
                users.setdefault(resolved[0], []).append(post_path)
    for path, source in sorted(run.output_sources.items()):
        if not path.startswith("static/") or PurePosixPath(path).suffix.lower() not in IMAGE_SUFFIXES:
            continue
        size = Path(source).stat().st_size
        if size > IMAGE_MAX_BYTES:
            used = sorted(set(users.get(path, [])))
            where = f"; used by {', '.join(used)}" if used else ""
            yield Hit(display(run.root, source), None,
                      f"{size / 1024 / 1024:.1f} MB is slow to load on phones and counts against data "
                      f"plans; resize or compress it to a few hundred KB{where}")


@rule("image-width", WARNING, "an image in the email without a `width` attribute (Outlook shows it at its "
                              "natural size)", scope=Scope.BUILT_ISSUE)
def image_width(run: Run, issue: Issue) -> Iterator[Hit]:
    """Report images in the email without a width."""
    if issue.email_data is None:
        return
    for image in issue.email.iter("img"):
        src = image.get("src", "")
        # The build gives static/ images their width; only images it cannot measure lack one.
        if not image.get("width", "").strip():
            yield Hit(issue.path, issue.email_image_lines.get(src),
                      f"image {src!r} has no width in the email and its size cannot be read from static/; "
                      f"Outlook shows it at its natural size: write it as <img src=\"...\" alt=\"...\" "
                      f"width=\"{EMAIL_COLUMN_PX}\"> or smaller")


def _suffix(url: str) -> str:
    if url.lower().startswith("data:image/svg"):
        return ".svg"
    return PurePosixPath(unquote(urlsplit(url).path)).suffix.lower()
