"""The list server's settings: [lists] of newsletter.toml, and its secrets from the environment.

Secrets are read here and nowhere else, and never shown: not in a repr, not in a log line.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from ..config import Config, ListsConfig
from ..errors import ListsError
from .tokens import Signer

MIN_SECRET = 16


@dataclass(frozen=True)
class ListSettings:
    """Everything the server needs that is not a request."""

    config: Config
    lists: ListsConfig
    database: Path
    signer: Signer
    api_token: str = field(repr=False)

    @property
    def base_url(self) -> str:
        return self.lists.url


def _secret(config: Config, variable: str, what: str) -> str:
    value = os.environ.get(variable, "")
    if len(value) < MIN_SECRET:
        state = "is not set" if not value else f"is shorter than {MIN_SECRET} characters"
        raise ListsError(f"{config.path.name}: [lists]: the environment variable {variable} {state}; export it "
                         f"with {what} (for example the output of 'python -c \"import secrets; "
                         "print(secrets.token_urlsafe(32))\"')")
    return value


def database_path(config: Config) -> Path:
    """Where the list database lives: [lists] database, relative to the newsletter folder."""
    lists = config.lists or ListsConfig()
    return config.root / lists.database


def load_settings(config: Config, *, need_api_token: bool = True) -> ListSettings:
    """Check [lists] and read the secrets; a ListsError naming what to set when something is missing."""
    lists = config.lists
    if lists is None or not lists.url:
        raise ListsError(f"{config.path.name}: [lists]: set url to the address the list server is reached at, "
                         "like 'https://lists.example.com/' (see the README's 'Subscriptions' section)")
    secret = _secret(config, lists.secret_env, "the secret that signs confirmation and unsubscribe links")
    api_token = _secret(config, lists.api_token_env, "the token 'newsletter send' uses to read the list") \
        if need_api_token else ""
    return ListSettings(config, lists, database_path(config), Signer(secret, lists.confirm_hours * 3600), api_token)
