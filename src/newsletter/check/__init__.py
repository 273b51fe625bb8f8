"""``newsletter check``: find what breaks in inboxes and feed readers, before it ships.

Each problem is an ``errors.Problem`` found by one rule in ``RULES``, the single list of what is checked; each rule
is registered with the function that computes it, and the README's "Check" section is rendered from
the list by ``rules_markdown``.

The names below load their modules when first asked for: the rules and what they read (templates,
colours, style sheets) load after the check's build has started, which gives premailer a head start.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .colours import contrast_ratio, parse_colour, relative_luminance
    from .findings import ERROR, WARNING, Report, Rule, Severity, finding
    from .rules import NOT_IGNORABLE, RULES, RULES_BY_ID, apply_ignores, rules_markdown
    from .runner import check_newsletter

_HOMES = {
    "contrast_ratio": "colours", "parse_colour": "colours", "relative_luminance": "colours",
    "ERROR": "findings", "WARNING": "findings", "Report": "findings", "Rule": "findings", "Severity": "findings",
    "finding": "findings", "NOT_IGNORABLE": "rules", "RULES": "rules", "RULES_BY_ID": "rules",
    "apply_ignores": "rules", "rules_markdown": "rules", "check_newsletter": "runner",
}

__all__ = [
    "ERROR", "NOT_IGNORABLE", "RULES", "RULES_BY_ID", "WARNING", "Report", "Rule", "Severity", "finding",
    "apply_ignores", "check_newsletter", "contrast_ratio", "parse_colour", "relative_luminance", "rules_markdown",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{home}"), name)
