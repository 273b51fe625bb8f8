"""Run the check: load and render the newsletter in memory, as ``newsletter build`` would (drafts and
scheduled issues included, since those are the ones about to ship), write nothing, and call every
registered rule's function at its stage."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from ..build.engine import gather, load_site
from ..config import Config
from ..errors import ConfigError, NewsletterError, PostError, SourceError, TemplateError
from ..layout import DEFAULT_OUT
from .context import Issue, Run
from .feeds import new_items
from .findings import Finding, Report, Scope, checks, order
from .loading import build_problems, config_problems, post_problems, source_problems, template_problems
from .rules import apply_ignores


def check_newsletter(root: Path, *, now: datetime | None = None, dist: Path | None = None,
                     ignore: Iterable[str] = ()) -> Report:
    """Load and render the newsletter in *root* in memory and report every problem found.

    *dist* is the last build, whose feeds the new ones are compared with (default root/dist);
    *ignore* adds rule ids to switch off, on top of ``[check] ignore`` in newsletter.toml.
    """
    try:
        site = load_site(root, now=now, drafts=True, scheduled=True)
    except ConfigError as error:
        return Report(tuple(sorted(config_problems(root, error), key=order)), 0)
    except PostError as error:
        return Report(tuple(sorted(post_problems(root, error), key=order)), 0)
    except SourceError as error:
        return Report(tuple(sorted(source_problems(root, error), key=order)), 0)
    run = Run(site, dist if dist is not None else root / DEFAULT_OUT)
    findings = _run_checks(run)
    findings = apply_ignores(findings, [*_config_ignores(site.config), *ignore],
                             {entry.post.display_path: entry.post.check_ignore for entry in site.entries},
                             config_text=run.config_text)
    return Report(tuple(sorted(set(findings), key=order)), len(site.entries))


def _run_checks(run: Run) -> list[Finding]:
    """Call the rules' functions: on the site and each issue as written, then on what the build would write."""
    try:
        run.config_text = run.site.config.path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError):
        run.config_text = ""
    findings: list[Finding] = []
    # The site's checks come first: the loader's warnings are read before anything else renders.
    for check in checks(Scope.SITE):
        findings += check.function(run)
    issue_checks = checks(Scope.ISSUE)
    for entry in run.site.entries:
        issue = Issue(run, entry)
        for check in issue_checks:
            findings += check.function(run, issue)
        run.image_lines[issue.path] = {image.src: image.line for image in issue.images}
    try:
        outputs, _ = gather(run.site)
    except TemplateError as error:
        return findings + template_problems(run.root, error)
    except NewsletterError as error:
        return findings + build_problems(run.root, error)
    run.outputs = {str(output.path): output.data for output in outputs}
    run.output_sources = {str(output.path): output.source for output in outputs if output.source}
    for check in checks(Scope.BUILT_SITE):
        findings += check.function(run)
    built_checks = checks(Scope.BUILT_ISSUE)
    for entry in run.site.entries:
        issue = Issue(run, entry)
        for check in built_checks:
            findings += check.function(run, issue)
    item_checks = checks(Scope.FEED_ITEM)
    for item in new_items(run):
        for check in item_checks:
            findings += check.function(run, item)
    return findings


def _config_ignores(config: Config) -> tuple[str, ...]:
    """Return ``[check] ignore`` from newsletter.toml, however config.py comes to carry it."""
    section = config.check
    value = section.get("ignore", ()) if isinstance(section, dict) else getattr(section, "ignore", ())
    return tuple(value or ())
