"""The table of rules: every registered rule in the README's order, switching rules off, and the
README's "Check" section rendered from the table."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from ..config import find_key_line, suggest
from ..errors import Problem
from ..layout import CONFIG_NAME
from . import accessibility, contrast, email, feeds, images, links, loading, names, posts, privacy, setup
from .findings import WARNING, Hit, Rule, Scope, is_ignorable, registered_ids, registered_rules, rule


@rule("check-ignore", WARNING, "an ignore list names a rule that does not exist", scope=Scope.LOADER,
      ignorable=False)
def unknown_ignores(site_ignore: tuple[str, ...], post_ignores: dict[str, tuple[str, ...]],
                    config_text: str) -> Iterator[Hit]:
    """Report rule ids in ``[check] ignore`` or a post's ``check:`` that name no rule."""
    known = registered_ids()
    for rule_id in site_ignore:
        if rule_id not in known:
            yield Hit(CONFIG_NAME, find_key_line(config_text, "ignore", "check"),
                      f"[check] ignore: unknown rule {rule_id!r}{suggest(rule_id, known)}")
    for path, rule_ids in post_ignores.items():
        for rule_id in rule_ids:
            if rule_id not in known:
                yield Hit(path, None, f"check: unknown rule {rule_id!r}{suggest(rule_id, known)}")


# The README groups rules by what they look at, module by module, each in the order it defines them.
_TABLE = (loading.__name__, posts.__name__, links.__name__, images.__name__, names.__name__, email.__name__,
          feeds.__name__, accessibility.__name__, contrast.__name__, privacy.__name__, setup.__name__,
          __name__)
RULES: tuple[Rule, ...] = tuple(rule for module in _TABLE for rule in registered_rules(module))
RULES_BY_ID = {rule.id: rule for rule in RULES}
if len(RULES) != len(registered_ids()):
    raise RuntimeError(f"rules registered outside the table's modules: {set(registered_ids()) - set(RULES_BY_ID)}")
# These stop the build itself: hiding them would only move the failure to `newsletter build`.
NOT_IGNORABLE = frozenset(rule.id for rule in RULES if not is_ignorable(rule.id))


def apply_ignores(findings: Iterable[Problem], site_ignore: Iterable[str],
                  post_ignores: dict[str, tuple[str, ...]], *, config_text: str = "") -> list[Problem]:
    """Drop findings switched off for the site or for their post; report unknown rule ids."""
    site_ignore = tuple(site_ignore)
    kept = [finding for finding in findings
            if finding.rule in NOT_IGNORABLE
            or (finding.rule not in site_ignore and finding.rule not in post_ignores.get(str(finding.path), ()))]
    return kept + unknown_ignores(site_ignore, post_ignores, config_text)


_EXAMPLE = ("posts/2025-04-01-rejekts-2025-day-two.md:18: warning: image-width: "
            "image 'https://cdn.example.org/chart.png' has no width in the email and ...")


def rules_markdown() -> str:
    """Render the README's "Check" section: how to run the check and one table row per rule."""
    rows = "\n".join(f"| `{rule.id}` | {rule.severity} | {rule.description} |" for rule in RULES)
    locked = [f"`{rule_id}`" for rule_id in sorted(NOT_IGNORABLE - {"check-ignore"})]
    locked_text = ", ".join(locked[:-1]) + " and " + locked[-1]
    return f"""\
## Check

`newsletter check` builds the newsletter, drafts and scheduled issues included, into a folder of its
own under `.newsletter/check/` (never `dist/`), with the same incremental engine as `newsletter build`,
and reports what would break in inboxes and feed readers, one line per problem:

```
{_EXAMPLE}
```

It exits 1 when there are errors (with `--strict`, warnings count too) and 0 otherwise;
`--format json` prints the same findings as JSON for CI. It compares feed ids with the last build
in `dist/`, so run it before `newsletter build`. It keeps its findings per issue, so a second run
checks again only the issues whose post, email or linked pages changed. Switch a rule off for the
whole newsletter in `newsletter.toml`, or for one post in its front matter:

```toml
[check]
ignore = ["image-heavy", "code-width"]
```

```yaml
check: [image-width]
```

The same lists switch off the matching warnings of `newsletter build`, which names the rule
of each warning it prints. {locked_text} stop the build itself and cannot be switched off.

| rule | severity | what it catches |
| --- | --- | --- |
{rows}
"""

