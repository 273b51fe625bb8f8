"""Rules on what stops the load or the build itself: the config, unreadable sources, posts the loader
rejects or had to change, templates that fail and outputs that clash. The entry point reports most of
these when loading or building fails, with the functions here."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from ..errors import ConfigError, NewsletterError, PostError, Problem, SourceError, TemplateError
from ..layout import CONFIG_NAME
from .context import Run, display
from .findings import ERROR, WARNING, Hit, Scope, rule


def _problem_hit(root: Path, problem: Problem) -> Hit:
    message = f"{problem.field}: {problem.message}" if problem.field else problem.message
    return Hit(display(root, problem.path), problem.line, message)


def _hits(root: Path, error: NewsletterError, default_path: str) -> Iterator[Hit]:
    """The error's located problems; an error that names no file is put at *default_path*."""
    if error.problems:
        return (_problem_hit(root, problem) for problem in error.problems)
    return (Hit(default_path, None, line) for line in str(error).splitlines())


@rule("config", ERROR, "`newsletter.toml` is missing or invalid", scope=Scope.LOADER, ignorable=False)
def config_problems(root: Path, error: ConfigError) -> Iterator[Hit]:
    """Report what is wrong with newsletter.toml."""
    return _hits(root, error, CONFIG_NAME)


@rule("source", ERROR, "a file in `posts/`, `static/` or `templates/` that may not be read: a link outside "
                       "the newsletter folder or to a private file, a loop of links, a FIFO",
      scope=Scope.LOADER, ignorable=False)
def source_problems(root: Path, error: SourceError) -> Iterator[Hit]:
    """Report the files the loader refused to read."""
    return (_problem_hit(root, problem) for problem in error.problems)


@rule("front-matter", ERROR, "a post the loader rejects: bad YAML or TOML, unknown or missing keys, bad "
                             "dates, unsafe or clashing slugs", scope=Scope.LOADER, ignorable=False)
def post_problems(root: Path, error: PostError) -> Iterator[Hit]:
    """Report the posts the loader rejected."""
    return (_problem_hit(root, problem) for problem in error.problems)


@rule("load-warning", WARNING, "the loader had to change a post, e.g. remove control characters",
      scope=Scope.SITE)
def load_warnings(run: Run) -> Iterator[Hit]:
    """Report what the loader had to change; rendering adds warnings of its own that other rules cover."""
    return (_problem_hit(run.root, problem) for problem in run.site.load_warnings)


@rule("template", ERROR, "a template fails to render", scope=Scope.LOADER, ignorable=False)
def template_problems(root: Path, error: TemplateError) -> Iterator[Hit]:
    """Report a template that fails to render, at the template's file and line."""
    return _hits(root, error, "templates")


@rule("build", ERROR, "the build would fail, e.g. two outputs want the same path", scope=Scope.LOADER,
      ignorable=False)
def build_problems(root: Path, error: NewsletterError) -> Iterator[Hit]:
    """Report why the build would fail."""
    return _hits(root, error, ".")
