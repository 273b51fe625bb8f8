"""Rules on newsletter.toml as a send will need it: values `newsletter init` left to fill in, and the
secret that signs unsubscribe tokens, which lives in the environment rather than in the file."""

from __future__ import annotations

import os
from collections.abc import Iterator

from ..config import PLACEHOLDER_URL, find_key_line
from ..layout import CONFIG_NAME
from .context import Run
from .findings import ERROR, WARNING, Hit, Scope, rule


@rule("setup-placeholder", ERROR, "a value `newsletter init` left to fill in: the placeholder site URL, "
                                  "an empty author", scope=Scope.SITE)
def placeholders(run: Run) -> Iterator[Hit]:
    """Report the site URL and author that still hold what `newsletter init` wrote."""
    site = run.site.config.site
    if site.url == PLACEHOLDER_URL:
        yield Hit(CONFIG_NAME, find_key_line(run.config_text, "url", "site"),
                  f"site.url: is still the placeholder {PLACEHOLDER_URL}; every link in emails and feeds "
                  "would point there. Set the address where the site will be published")
    author_line = find_key_line(run.config_text, "author", "site")
    if author_line and not site.author.strip():
        yield Hit(CONFIG_NAME, author_line, "site.author: is empty; feeds and emails name an author, so "
                                            "write yours (or remove the line)")


@rule("token-secret", WARNING, "`unsubscribe_url` uses `{token}` but the secret that signs it is not in the "
                               "environment, so `newsletter send` would refuse", scope=Scope.SITE)
def token_secret(run: Run) -> Iterator[Hit]:
    """Report a {token} in the unsubscribe URL whose secret's environment variable is unset."""
    email = run.site.config.email
    if email is None or "{token}" not in email.unsubscribe_url or os.environ.get(email.token_secret_env):
        return
    yield Hit(CONFIG_NAME, find_key_line(run.config_text, "unsubscribe_url", "email"),
              f"email.unsubscribe_url: uses {{token}} but the environment variable {email.token_secret_env} "
              "is not set; `newsletter send` refuses without it. Export it where you send (a CI secret), "
              "with the secret your unsubscribe endpoint checks tokens with")
