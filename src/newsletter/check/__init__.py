"""``newsletter check``: find what breaks in inboxes and feed readers, before it ships.

Each problem is an ``errors.Problem`` found by one rule in ``RULES``, the single list of what is checked; each rule
is registered with the function that computes it, and the README's "Check" section is rendered from
the list by ``rules_markdown``.
"""

from __future__ import annotations

from .colours import contrast_ratio, parse_colour, relative_luminance
from .findings import ERROR, WARNING, Report, Rule, Severity, finding
from .rules import NOT_IGNORABLE, RULES, RULES_BY_ID, apply_ignores, rules_markdown
from .runner import check_newsletter

__all__ = [
    "ERROR", "NOT_IGNORABLE", "RULES", "RULES_BY_ID", "WARNING", "Report", "Rule", "Severity", "finding",
    "apply_ignores", "check_newsletter", "contrast_ratio", "parse_colour", "relative_luminance", "rules_markdown",
]
