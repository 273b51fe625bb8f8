"""What a check reports: rules, findings, the report, and the registry that ties each rule to its code.

A rule exists only by decorating the function that computes it with ``@rule(id, severity,
description, scope=...)``: the decorator records the rule for the README's table and stamps the
rule's id on every (path, line, message) the function yields, so the table and the code that checks
it cannot drift apart. ``rules.py`` puts the registered rules in the README's order.
"""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from functools import wraps
from typing import NamedTuple, ParamSpec

from ..errors import Problem, Severity

P = ParamSpec("P")


ERROR = Severity.ERROR
WARNING = Severity.WARNING


class Scope(StrEnum):
    """When the runner calls a rule's function, and with what."""

    LOADER = "loader"  # not run by the runner: the entry point reports it when loading or building fails
    BUILD = "build"  # once, with the warnings the build's units returned: the build finds these itself
    SITE = "site"  # once, with the loaded site
    ISSUE = "issue"  # for each issue, with its source and rendered body
    BUILT_SITE = "built site"  # once, with everything the build would write
    BUILT_ISSUE = "built issue"  # for each issue, with its email and the pages it links to
    FEED_ITEM = "feed item"  # for each item of the new feeds that is a published issue


@dataclass(frozen=True)
class Rule:
    """One thing the check looks for; its id is what an ignore list names."""

    id: str
    severity: Severity
    description: str


class Hit(NamedTuple):
    """Where a rule's function found a problem, and what it is; the registry adds the rule."""

    path: str
    line: int | None
    message: str


def finding(path: str, line: int | None, rule_id: str, message: str) -> Problem:
    """A finding of a registered rule: a problem carrying the rule's id and severity."""
    return Problem(path, message, line, rule=rule_id, severity=_REGISTERED[rule_id].rule.severity)


@dataclass(frozen=True)
class Report:
    """Every finding, sorted by file and line, and how many issues were checked."""

    findings: tuple[Problem, ...]
    issues: int

    @property
    def errors(self) -> int:
        return sum(1 for finding in self.findings if finding.severity == ERROR)

    @property
    def warnings(self) -> int:
        return sum(1 for finding in self.findings if finding.severity == WARNING)

    def failed(self, strict: bool = False) -> bool:
        """Say whether the check should exit non-zero: any error, or with *strict* any warning too."""
        return bool(self.errors or (strict and self.warnings))

    def summary(self, strict: bool = False) -> str:
        """Count the errors and warnings in one sentence."""
        checked = f"{self.issues} issue{'s' if self.issues != 1 else ''} checked"
        if not self.findings:
            return f"No problems found ({checked})."
        counts = f"{plural(self.errors, 'error')}, {plural(self.warnings, 'warning')} ({checked})"
        if strict and self.warnings and not self.errors:
            counts += "; --strict counts warnings as errors"
        return counts + "."

    def to_text(self, strict: bool = False) -> str:
        """Render one line per finding and the summary."""
        return "\n".join([*(str(finding) for finding in self.findings), self.summary(strict)])

    def to_json(self, strict: bool = False) -> str:
        """Render the findings and counts as JSON, for CI."""
        data = {
            "findings": [finding.as_dict() for finding in self.findings],
            "errors": self.errors,
            "warnings": self.warnings,
            "issues": self.issues,
            "strict": strict,
            "ok": not self.failed(strict),
        }
        return json.dumps(data, ensure_ascii=False, indent=2)


def plural(count: int, word: str) -> str:
    """Write *count* and *word*, with an s when there is not exactly one."""
    return f"{count} {word}{'s' if count != 1 else ''}"


def order(finding: Problem) -> tuple[str, int, str, str]:
    """Sort findings by file, line, rule and message."""
    return str(finding.path), finding.line or 0, finding.rule or "", finding.message


# --- the registry -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    """A function that computes findings of one rule, and when the runner calls it."""

    rule: str
    scope: Scope
    function: Callable[..., list[Problem]]


@dataclass(frozen=True)
class _Registered:
    rule: Rule
    module: str
    ignorable: bool


_REGISTERED: dict[str, _Registered] = {}
_CHECKS: list[Check] = []


def rule(rule_id: str, severity: Severity, description: str, *, scope: Scope,
         ignorable: bool = True) -> Callable[[Callable[P, Iterable[Hit]]], Callable[P, list[Problem]]]:
    """Register a rule with the function that computes it; the function then returns its findings.

    *ignorable* is False for rules that stop the build itself, which an ignore list cannot hide.
    """
    if rule_id in _REGISTERED:
        raise ValueError(f"rule {rule_id!r} is registered twice; use @extends for another part of it")

    def register(function: Callable[P, Iterable[Hit]]) -> Callable[P, list[Problem]]:
        _REGISTERED[rule_id] = _Registered(Rule(rule_id, severity, description), function.__module__, ignorable)
        return _stamped(rule_id, scope, function)

    return register


def extends(rule_id: str, *, scope: Scope) -> Callable[[Callable[P, Iterable[Hit]]], Callable[P, list[Problem]]]:
    """Register another function computing findings of a rule registered with ``@rule``."""
    if rule_id not in _REGISTERED:
        raise ValueError(f"rule {rule_id!r} must be registered with @rule before it is extended")

    def register(function: Callable[P, Iterable[Hit]]) -> Callable[P, list[Problem]]:
        return _stamped(rule_id, scope, function)

    return register


def _stamped(rule_id: str, scope: Scope, function: Callable[P, Iterable[Hit]]) -> Callable[P, list[Problem]]:
    @wraps(function)
    def findings(*args: P.args, **kwargs: P.kwargs) -> list[Problem]:
        return [finding(hit.path, hit.line, rule_id, hit.message) for hit in function(*args, **kwargs)]

    _CHECKS.append(Check(rule_id, scope, findings))
    return findings


_RULES_MODULE = f"{__package__}.rules"


def _registered() -> dict[str, _Registered]:
    """Every rule, its modules loaded on first use (rules.py imports each one of them)."""
    # Asked for each issue checked: one look in sys.modules once the rules are loaded.
    if _RULES_MODULE not in sys.modules:
        importlib.import_module(_RULES_MODULE)
    return _REGISTERED


def checks(scope: Scope) -> list[Check]:
    """List the functions the runner calls in *scope*, in the order they were registered."""
    _registered()
    return [check for check in _CHECKS if check.scope == scope]


def registered_rules(module: str) -> list[Rule]:
    """List the rules registered by functions of *module*, in the order they were defined."""
    return [registered.rule for registered in _registered().values() if registered.module == module]


def registered_ids() -> list[str]:
    """List the id of every registered rule."""
    return list(_registered())


def is_ignorable(rule_id: str) -> bool:
    """Say whether an ignore list may switch off *rule_id*."""
    registered = _registered().get(rule_id)
    return registered is None or registered.ignorable
