"""The Jinja environments: the newsletter's templates, and the preview's own pages.

The only module that imports Jinja and MarkupSafe; the others name ``Environment`` and ``Markup``
from here.
"""

from __future__ import annotations

import traceback
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from ..config import Config
from ..errors import Problem, TemplateError
from ..files import write_atomically
from ..layout import CACHE_DIR, TEMPLATES_DIR
from ..posts import slugify, tag_slug
from ..sources import scan
from .i18n import Language, language_of, template_helpers
from .inputs import builtin_templates, template_folders
from .text import display_width

Environment = jinja2.Environment
__all__ = ["Environment", "Markup", "builtin_templates", "language", "make_environment", "render_template",
           "ui_environment"]


def make_environment(config: Config) -> jinja2.Environment:
    """A strict, autoescaping environment; the newsletter's own templates/ override the built-in ones."""
    folders = template_folders(config)
    if len(folders) > 1:
        scan(config.root, TEMPLATES_DIR)  # a template may not be a link to a file outside the folder
    loaders: list[jinja2.BaseLoader] = [jinja2.FileSystemLoader(folder) for folder in folders]
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        autoescape=jinja2.select_autoescape(["html", "xml", "xsl"], default_for_string=True),
        extensions=["jinja2.ext.i18n"],
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        bytecode_cache=_CompiledTemplates(config.root / CACHE_DIR / "templates"),
    )
    env.filters["isodate"] = lambda value: value.isoformat()
    env.filters["slug"] = slugify
    env.filters["tag_slug"] = tag_slug
    env.filters["display_width"] = display_width
    _speak(env, language_of(config))
    return env


def _speak(env: jinja2.Environment, spoken: Language) -> None:
    """Give the templates the site's language: {% trans %}, dates, numbers, lang and dir."""
    env.install_gettext_translations(spoken.translations, newstyle=True)  # type: ignore[attr-defined]
    env.filters.update(template_helpers(spoken))
    env.globals["text_direction"] = spoken.direction
    env.globals["site_language"] = spoken


def language(env: jinja2.Environment) -> Language:
    """The language an environment made by make_environment speaks."""
    spoken = env.globals["site_language"]
    assert isinstance(spoken, Language)
    return spoken


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


def _template_location(error: BaseException) -> tuple[str, int | None]:
    """File and line of the innermost template frame in a rendering error's traceback."""
    frames = [frame for frame in traceback.extract_tb(error.__traceback__)
              if frame.filename and not frame.filename.endswith(".py")]
    if frames:
        return frames[-1].filename, frames[-1].lineno
    return "template", None


def _located(path: str, line: int | None, message: str) -> TemplateError:
    return TemplateError(problems=[Problem(path, message, line)])


def render_template(env: jinja2.Environment, name: str, **context: Any) -> str:
    """Render one template; any template mistake becomes a TemplateError naming file and line."""
    try:
        return env.get_template(name).render(**context)
    except jinja2.TemplateSyntaxError as error:
        raise _located(error.filename or name, error.lineno, error.message or "syntax error") from None
    except jinja2.TemplateNotFound as error:
        raise TemplateError(f"template {error.name!r} not found in templates/ or the built-in templates") from None
    except jinja2.UndefinedError as error:
        raise _located(*_template_location(error), f"{error.message}; check the variable's name (see the "
                       "built-in templates for what each page gets)") from None
    except jinja2.TemplateError as error:
        raise _located(*_template_location(error), str(error)) from None


def ui_environment(folder: Path, spoken: Language | None = None, **filters: Any) -> Environment:
    """A strict, autoescaping environment for pages of the tool's own (the preview's), with *filters*,
    in the newsletter's language when *spoken* is given (else English)."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(folder), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                             extensions=["jinja2.ext.i18n"])
    if spoken is None:
        env.install_null_translations(newstyle=True)  # type: ignore[attr-defined]
        env.filters["status_name"] = str
        env.globals.update(ui_language="en", text_direction="ltr")
    else:
        _speak(env, spoken)
        env.globals["ui_language"] = spoken.code
    env.filters.update(filters)
    return env
