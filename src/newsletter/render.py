"""Jinja environment and the web pages: each issue, the archive and tag pages, as Output values."""

from __future__ import annotations

import sys
import traceback
from functools import lru_cache, partial
from importlib import metadata
from pathlib import Path, PurePosixPath
from typing import Any

import jinja2
from markupsafe import Markup

from .cache import CACHE_DIR, write_atomically
from .config import Config
from .errors import TemplateError
from .markdown import code_css
from .markup import page_relative_url, rewrite_urls
from .posts import slugify
from .sources import scan
from .site import (ATOM_PATH, JSON_PATH, RSS_PATH, Entry, Output, Site, Tag, Unit, digest, tag_feed_path,
                   unit_of)

TEMPLATES_DIR = "templates"
STYLESHEET = PurePosixPath("assets/style.css")


def builtin_templates() -> Path:
    """The default templates: packaged beside the code in a wheel, at the repo's top in a checkout."""
    packaged = Path(__file__).parent / "templates"
    return packaged if packaged.is_dir() else Path(__file__).resolve().parents[2] / "templates"


def make_environment(config: Config) -> jinja2.Environment:
    """A strict, autoescaping environment; the newsletter's own templates/ override the built-in ones."""
    loaders: list[jinja2.BaseLoader] = []
    own = config.root / TEMPLATES_DIR
    if own.is_dir() and own.resolve() != builtin_templates().resolve():
        scan(config.root, TEMPLATES_DIR)  # a template may not be a link to a file outside the folder
        loaders.append(jinja2.FileSystemLoader(own))
    loaders.append(jinja2.FileSystemLoader(builtin_templates()))
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        autoescape=jinja2.select_autoescape(["html", "xml"], default_for_string=True),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        bytecode_cache=_CompiledTemplates(config.root / CACHE_DIR / "templates"),
    )
    env.filters["isodate"] = lambda value: value.isoformat()
    env.filters["slug"] = slugify
    env.filters["longdate"] = lambda value: f"{value:%B} {value.day}, {value:%Y}"
    return env


class _CompiledTemplates(jinja2.BytecodeCache):
    """Templates compiled once and kept between builds; Jinja recompiles any whose source changed.

    Compiling the templates takes longer than the rest of a one-post rebuild's rendering.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            bucket.bytecode_from_string((self.folder / f"{bucket.key}.code").read_bytes())
        except OSError:
            return

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            write_atomically(self.folder / f"{bucket.key}.code", bucket.bytecode_to_string(), durable=False)
        except OSError:
            pass  # a cache that cannot be written only costs time


def _template_location(error: BaseException) -> str:
    """'file:line' of the innermost template frame in a rendering error's traceback."""
    frames = [frame for frame in traceback.extract_tb(error.__traceback__)
              if frame.filename and not frame.filename.endswith(".py")]
    if frames:
        return f"{frames[-1].filename}:{frames[-1].lineno}"
    return "template"


def render_template(env: jinja2.Environment, name: str, **context: Any) -> str:
    """Render one template; any template mistake becomes a TemplateError naming file and line."""
    try:
        return env.get_template(name).render(**context)
    except jinja2.TemplateSyntaxError as error:
        raise TemplateError(f"{error.filename or name}:{error.lineno}: {error.message}") from None
    except jinja2.TemplateNotFound as error:
        raise TemplateError(f"template {error.name!r} not found in templates/ or the built-in templates") from None
    except jinja2.UndefinedError as error:
        raise TemplateError(f"{_template_location(error)}: {error.message}; check the variable's "
                            "name (see the built-in templates for what each page gets)") from None
    except jinja2.TemplateError as error:
        raise TemplateError(f"{_template_location(error)}: {error}") from None


def _page(path: str) -> PurePosixPath:
    """The index.html of a folder URL like 'tags/ci/' ('' is the site's root)."""
    return PurePosixPath(path) / "index.html" if path else PurePosixPath("index.html")


def _root(path: str) -> str:
    """Relative prefix from a folder URL back to the site's root."""
    return "../" * len(PurePosixPath(path).parts) if path else ""


def feed_links(site: Site, tag: Tag | None = None) -> list[dict[str, str]]:
    """The feeds a page advertises for autodiscovery: the site's three, and a tag page's own."""
    title = site.config.site.title
    links = [
        {"type": "application/atom+xml", "title": f"{title} (Atom)", "href": site.url_for(str(ATOM_PATH))},
        {"type": "application/rss+xml", "title": f"{title} (RSS)", "href": site.url_for(str(RSS_PATH))},
        {"type": "application/feed+json", "title": f"{title} (JSON Feed)", "href": site.url_for(str(JSON_PATH))},
    ]
    if tag is not None:
        links.append({"type": "application/atom+xml", "title": f"{title}: {tag.name} (Atom)",
                      "href": site.url_for(str(tag_feed_path(tag.slug)))})
    return links


class WebRenderer:
    """Render every web page of a site."""

    def __init__(self, site: Site, env: jinja2.Environment) -> None:
        self.site = site
        self.env = env
        self.feeds = feed_links(site)
        self.common = {"site": site.config.site, "stylesheet": str(STYLESHEET)}

    def page(self, template: str, path: str, **context: Any) -> Output:
        context.setdefault("feeds", self.feeds)
        html = render_template(self.env, template, root=_root(path), canonical=self.site.url_for(path),
                               **self.common, **context)
        return Output(_page(path), html.encode("utf-8"))

    def post_page(self, entry: Entry, newer: Entry | None, older: Entry | None) -> Output:
        depth = 1
        body = rewrite_urls(entry.body.html, lambda url: page_relative_url(url, depth))
        image = self.site.url_for(entry.post.image) if entry.post.image and "://" not in entry.post.image \
            else entry.post.image
        return self.page("post.html", entry.slug + "/", entry=entry, body=Markup(body), newer=newer,
                         older=older, image=image)

    def list_units(self, entries: tuple[Entry, ...], base: str, heading: str, tag: Tag | None,
                   base_key: str) -> list[Unit]:
        """The archive pages of *entries* under *base* ('' or 'tags/x/'), page_size issues each."""
        size = self.site.config.site.page_size
        chunks = [entries[start : start + size] for start in range(0, len(entries), size)] or [()]
        units = []
        feeds = feed_links(self.site, tag)
        for number, chunk in enumerate(chunks, start=1):
            path = base if number == 1 else f"{base}page/{number}/"
            newer = None if number == 1 else (base if number == 2 else f"{base}page/{number - 1}/")
            older = f"{base}page/{number + 1}/" if number < len(chunks) else None
            make = partial(self.page, "list.html", path, entries=chunk, heading=heading,
                           tag=tag.name if tag else "", feeds=feeds,
                           page_number=number, page_count=len(chunks), newer_page=newer, older_page=older)
            key = digest(base_key, "list", path, number, len(chunks), heading, *(entry.key for entry in chunk))
            units.append(unit_of(make, str(_page(path)), key))
        return units

    def stylesheet(self) -> Output:
        light, dark = code_css(".highlight")
        css = render_template(self.env, "style.css", code_css_light=light, code_css_dark=dark)
        return Output(STYLESHEET, css.encode("utf-8"))

    def units(self, base_key: str) -> list[Unit]:
        """Every web page as a unit; *base_key* covers the config, templates and code."""
        listed = self.site.listed
        position = {entry.slug: index for index, entry in enumerate(listed)}
        units = [unit_of(self.stylesheet, str(STYLESHEET), digest(base_key, "style"))]
        for entry in self.site.entries:
            index = position.get(entry.slug, -1)
            newer = listed[index - 1] if index > 0 else None
            older = listed[index + 1] if 0 <= index < len(listed) - 1 else None
            key = digest(base_key, "post", entry.key, newer.key if newer else "", older.key if older else "")
            units.append(unit_of(partial(self.post_page, entry, newer, older), f"{entry.slug}/index.html", key,
                                 heavy=True))
        units.extend(self.list_units(listed, "", "All issues", None, base_key))
        for tag in self.site.tags:
            units.extend(self.list_units(tag.entries, f"tags/{tag.slug}/", f"Tagged “{tag.name}”", tag, base_key))
        return units


def _same(output: Output) -> Output:
    return output


def static_units(site: Site) -> list[Unit]:
    """Every file under static/ that may be published, copied as it is; its key is the file's stamp."""
    units = []
    for relative, source in site.static_sources.items():
        output = Output(PurePosixPath(relative), source=source.real)
        units.append(unit_of(partial(_same, output), relative, digest(*source.stamp)))
    return units


def environment_digest(config: Config, env: jinja2.Environment) -> str:
    """A key over everything every output depends on: code, library versions, config, templates."""
    parts: list[object] = [code_digest(), config.path.read_bytes()]
    for loader in env.loader.loaders if isinstance(env.loader, jinja2.ChoiceLoader) else [env.loader]:
        for folder in getattr(loader, "searchpath", []):
            for path in sorted(Path(folder).rglob("*")):
                # The preview's own pages live beside the templates but never shape a build.
                if path.is_file() and "preview" not in path.relative_to(folder).parts[:1]:
                    parts += [path, path.read_bytes()]
    return digest(*parts)


@lru_cache(maxsize=1)
def code_digest() -> str:
    """A key over this package's code and the versions of the libraries that shape its outputs."""
    parts: list[object] = [sys.version_info[:2]]
    for name in ("pyromark", "Pygments", "premailer", "feedgen", "Jinja2", "lxml",
                 "css-inline"):
        try:
            parts.append(f"{name}={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            parts.append(f"{name}=-")
    for path in sorted(Path(__file__).parent.glob("*.py")):
        parts.append(path.read_bytes())
    return digest(*parts)
