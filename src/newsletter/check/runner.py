"""Run the check: bring the check's own build up to date through the engine (drafts and scheduled
issues included, since those are the ones about to ship), then call every registered rule's function
at its stage. dist/ is never written; findings of issues and feed items that did not change since the
last check are taken from the memo."""

from __future__ import annotations

import dataclasses
import html
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from pathlib import Path

from ..build.cache import BuildCache, BuildRecord
from ..build.engine import Target
from ..build.engine import build as build_site
from ..build.keys import code_digest
from ..build.records import open_site
from ..config import Config
from ..errors import ConfigError, NewsletterError, PostError, Problem, SourceError, TemplateError
from ..layout import CHECK_DIR, DEFAULT_OUT
from ..outputs.units import digest
from ..site import Site
from .context import Issue, Run
from .feeds import NewItem, feed_documents, items_in
from .findings import Check, Report, Scope, checks, order
from .links import resolve
from .loading import build_problems, config_problems, post_problems, source_problems, template_problems
from .memo import IssueMemo, Memo
from .pool import IssueChecks

# Where a body names another page: enough to key an issue's findings on the pages it links to.
_URLS = re.compile(r"""\s(?:href|src)=["']([^"']*)["']""")


def check_target(root: Path) -> Target:
    """The check's own build folder and cache under .newsletter/: drafts and scheduled posts included."""
    folder = root / CHECK_DIR
    return Target(folder / "site", folder / "cache", drafts=True, scheduled=True)


class _BuiltFiles(Mapping[str, bytes]):
    """The files of the check's build by path, read when a rule first asks for one."""

    def __init__(self, folder: Path, paths: Iterable[str]) -> None:
        self.folder = folder
        self.paths = sorted(paths)
        self._known = set(self.paths)
        self._read: dict[str, bytes] = {}

    def __getitem__(self, path: str) -> bytes:
        if path not in self._known:
            raise KeyError(path)
        if path not in self._read:
            self._read[path] = (self.folder / path).read_bytes()
        return self._read[path]

    def __contains__(self, path: object) -> bool:
        return path in self._known

    def __iter__(self) -> Iterator[str]:
        return iter(self.paths)

    def __len__(self) -> int:
        return len(self.paths)


def check_newsletter(root: Path, *, now: datetime | None = None, dist: Path | None = None,
                     ignore: Iterable[str] = (), jobs: int | None = None) -> Report:
    """Check the newsletter in *root* and report every problem found; write nothing outside .newsletter/.

    *dist* is the last build, whose feeds the new ones are compared with (default root/dist);
    *ignore* adds rule ids to switch off, on top of ``[check] ignore`` in newsletter.toml;
    *jobs* is the number of processes that build and check (default: one per core).
    """
    target = check_target(root)
    failed: list[Problem] = []
    built: tuple[Problem, ...] = ()
    loaded: tuple[Site, BuildCache] | None = None
    try:
        result = build_site(root, target=target, now=now, jobs=jobs)
        built, loaded = result.warnings, result.loaded
    except TemplateError as error:
        failed = template_problems(root, error)
    except (ConfigError, PostError, SourceError) as error:
        return _load_failed(root, error)
    except NewsletterError as error:
        failed = build_problems(root, error)
    return check_built(root, target, built, now=now, dist=dist, ignore=ignore, failed=failed, jobs=jobs,
                       loaded=loaded)


def check_built(root: Path, target: Target, built: Iterable[Problem], *, now: datetime | None = None,
                dist: Path | None = None, ignore: Iterable[str] = (), failed: Iterable[Problem] = (),
                jobs: int | None = None, loaded: tuple[Site, BuildCache] | None = None) -> Report:
    """Check what a build of *root* into *target* made, given the warnings it returned (*built*).

    The preview checks its own build this way; *failed* are the findings of a build that failed.
    *jobs* is the number of processes that check issues (default: one per core). *loaded* is the
    site and cache the build loaded, if it did; else they are read again.
    """
    # The rules load here, after the build: their imports need not hold up its premailer's start.
    from .rules import apply_ignores

    failed = list(failed)
    try:
        site, cache = loaded if loaded is not None and not failed else open_site(
            root, now=now, drafts=target.drafts, scheduled=target.scheduled, cache=target.cache)
    except (ConfigError, PostError, SourceError) as error:
        return _load_failed(root, error)
    run = Run(site, dist if dist is not None else root / DEFAULT_OUT)
    memo = Memo.load(target.cache, code_digest())
    run.dist_feeds = memo.dist_feeds
    record = cache.record if not failed else None
    if record is not None:
        run.outputs = _BuiltFiles(target.out, record.hashes)
        run.output_sources = {path: source.real for path, source in site.static_sources.items()}
    findings = [*failed, *_run_checks(run, record, memo, jobs or os.cpu_count() or 1)]
    built = tuple(built)
    for check in checks(Scope.BUILD):
        findings += check.function(run, built)
    memo.dist_feeds = {key: run.dist_feeds[key] for key in sorted(run.dist_feeds_used)}
    memo.save()
    findings = apply_ignores(findings, [*_config_ignores(site.config), *ignore],
                             {entry.post.display_path: entry.post.check_ignore for entry in site.entries},
                             config_text=run.config_text)
    return Report(tuple(sorted(set(findings), key=order)), len(site.entries))


def _load_failed(root: Path, error: ConfigError | PostError | SourceError) -> Report:
    """The report when the newsletter does not load at all: what stops it, and nothing else."""
    if isinstance(error, ConfigError):
        found = config_problems(root, error)
    elif isinstance(error, PostError):
        found = post_problems(root, error)
    else:
        found = source_problems(root, error)
    return Report(tuple(sorted(found, key=order)), 0)


def _run_checks(run: Run, record: BuildRecord | None, memo: Memo, jobs: int) -> list[Problem]:
    """Call the rules' functions: the site's; each issue's (as written and as built) and the feed
    items', at once; then the built site's. Issues and items whose key did not change come from *memo*."""
    try:
        run.config_text = run.site.config.path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError):
        run.config_text = ""
    findings: list[Problem] = []
    # The site's checks come first: the loader's warnings are read before anything else renders.
    for check in checks(Scope.SITE):
        findings += check.function(run)
    shared = _shared_key(run, record)
    todo, pending, kept = _issues_to_check(run, record, memo, shared)
    findings += kept
    with IssueChecks(todo, record is not None, jobs) as checking:
        # While worker processes check the issues, this one checks the feeds' items.
        if record is not None:
            findings += _feed_findings(run, record, memo, shared)
        for issue, found, lines in checking:
            key, links = pending[issue.path]
            run.image_lines[issue.path] = lines
            memo.keep_issue(issue.path, IssueMemo(key, found, lines, issue.entry.key, links))
            findings += found
    if record is not None:
        # After the issues: a rule on the whole site reads the lines of their images.
        for check in checks(Scope.BUILT_SITE):
            findings += check.function(run)
    return findings


def _feed_findings(run: Run, record: BuildRecord, memo: Memo, shared: str) -> list[Problem]:
    """Check the items of every feed document; documents and items whose key did not change come from *memo*."""
    findings: list[Problem] = []
    item_checks = checks(Scope.FEED_ITEM)
    for document in feed_documents(record.hashes):
        # A feed document whose bytes did not change holds the same items: its findings stand.
        key = digest(shared, document, record.hashes[document])
        kept = memo.document(key)
        if kept is None:
            found: list[Problem] = []
            items: list[str] = []
            for item in items_in(run, document):
                item_key = digest(shared, "item", item.entry.key, *dataclasses.astuple(item.item))
                items.append(item_key)
                found += _item_findings(run, item, memo, item_key, item_checks)
            kept = tuple(found)
            memo.keep_document(key, kept, tuple(items))
        findings += kept
    return findings


def _item_findings(run: Run, item: NewItem, memo: Memo, key: str, item_checks: list[Check]) -> tuple[Problem, ...]:
    """The findings of one feed item: an edit changes a document's bytes but seldom more than one of its items."""
    kept = memo.item(key)
    if kept is None:
        kept = tuple(finding for check in item_checks for finding in check.function(run, item))
        memo.keep_item(key, kept)
    return kept


def _shared_key(run: Run, record: BuildRecord | None) -> str:
    """What every issue's findings may depend on: code, config, and what there is to link to."""
    paths = sorted(record.hashes) if record is not None else []
    statuses = sorted((entry.slug, str(entry.status)) for entry in run.site.entries)
    # Published issues are dated in the past; only an 'updated:' can be in the future, and that
    # is a finding (feed-future-date) until the time comes.
    ahead = sorted(entry.slug for entry in run.site.published if entry.updated > run.site.now)
    return digest(code_digest(), run.config_text, record is not None, *paths, *statuses, *ahead,
                  *sorted(run.site.static_files.items()))


def _links(run: Run, issue: Issue, memo: Memo) -> tuple[str, ...]:
    """The build paths the issue's body links to (kept in the memo while the post is unchanged)."""
    known = memo.links(issue.path, issue.entry.key)
    if known is not None:
        return known
    targets = {target[0] for url in _URLS.findall(issue.entry.body.html)
               if (target := resolve(run, html.unescape(url))) is not None}
    return tuple(sorted(targets))


def _issue_key(run: Run, issue: Issue, record: BuildRecord | None, links: tuple[str, ...], shared: str) -> str:
    """The key of an issue's findings: the post, its email, and the bytes of every page its links point at."""
    email = record.units.get(f"email/{issue.entry.slug}.html") if record is not None else None
    return digest(shared, issue.entry.key, email.key if email is not None else "",
                  *((path, record.hashes.get(path, "")) for path in links if record is not None))


def _issues_to_check(run: Run, record: BuildRecord | None, memo: Memo, shared: str
                     ) -> tuple[list[Issue], dict[str, tuple[str, tuple[str, ...]]], list[Problem]]:
    """List the issues to check, with the key and links of each by path, and the findings of the others:
    those *memo* holds, since nothing they were computed from changed."""
    findings: list[Problem] = []
    pending: dict[str, tuple[str, tuple[str, ...]]] = {}
    todo: list[Issue] = []
    for entry in run.site.entries:
        issue = Issue(run, entry)
        links = _links(run, issue, memo) if record is not None else ()
        key = _issue_key(run, issue, record, links, shared)
        kept = memo.issue(issue.path, key)
        if kept is not None:
            run.image_lines[issue.path] = kept.image_lines
            findings += kept.findings
        else:
            pending[issue.path] = (key, links)
            todo.append(issue)
    return todo, pending, findings


def _config_ignores(config: Config) -> tuple[str, ...]:
    """Return ``[check] ignore`` from newsletter.toml, however config.py comes to carry it."""
    section = config.check
    value = section.get("ignore", ()) if isinstance(section, dict) else getattr(section, "ignore", ())
    return tuple(value or ())
