"""Check the [email] and [smtp] settings a send needs, and read their secrets from the environment.

Each error names the line of newsletter.toml to fix. Secrets are only ever read from environment
variables, never from a file.
"""

from __future__ import annotations

import os
from datetime import datetime

from ..config import Config, find_key_line
from ..errors import SendError
from .listserver import list_secret

LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


def _config_line(config: Config, section: str, *keys: str) -> str:
    """'newsletter.toml:LINE' of the first of *keys* set in [section], else of the section itself."""
    try:
        text = config.path.read_text(encoding="utf-8-sig")
    except OSError:
        return config.path.name
    lines = [find_key_line(text, key, section) for key in keys] + [find_key_line(text, section)]
    line = next((number for number in lines if number), None)
    return f"{config.path.name}:{line}" if line else config.path.name


def check_email_settings(config: Config) -> str:
    """Check [email] can be used to send; return the token secret ('' when {token} is not used)."""
    if config.lists is not None and config.lists.url:
        return list_secret(config)  # the list server's unsubscribe links need its secret
    email = config.email
    if email is None or not (email.unsubscribe_url or email.unsubscribe_mailto):
        where = _config_line(config, "email") if email is not None else config.path.name
        raise SendError(f"{where}: email: set unsubscribe_url or unsubscribe_mailto in [email] before "
                        "sending; every message must offer a way to unsubscribe")
    if "{token}" not in email.unsubscribe_url:
        return ""
    secret = os.environ.get(email.token_secret_env, "")
    if not secret:
        raise SendError(f"{_config_line(config, 'email', 'unsubscribe_url')}: email.unsubscribe_url: uses "
                        f"{{token}} but the environment variable {email.token_secret_env} is not set; export "
                        "it with the secret your unsubscribe endpoint uses to check tokens")
    return secret


def check_smtp_settings(config: Config) -> str:
    """Check [smtp] is usable; return the password from its environment variable ('' without a username)."""
    smtp = config.smtp
    if smtp is None:
        raise SendError(f"{config.path.name}: [smtp]: is required to send; add host, port, security "
                        "and username (see the README)")
    if smtp.security == "none" and smtp.host.strip("[]").lower() not in LOCAL_HOSTS:
        raise SendError(f"{_config_line(config, 'smtp', 'security')}: smtp.security: \"none\" sends the "
                        f"password and messages unencrypted, so it is only allowed for localhost, not "
                        f"{smtp.host!r}; use \"starttls\" or \"ssl\"")
    if not smtp.username:
        return ""
    password = os.environ.get(smtp.password_env, "")
    if not password:
        where = _config_line(config, "smtp", "password_env", "username")
        raise SendError(f"{where}: smtp.password_env: the environment "
                        f"variable {smtp.password_env} is not set; export it with the SMTP password for "
                        f"{smtp.username} (it is never read from a file)")
    return password


def before_start(config: Config, when: datetime) -> bool:
    """Whether an issue dated *when* is before ``[send] since`` (in the site's time zone): never sent."""
    since = config.send.since
    return since is not None and when.astimezone(config.site.tz).date() < since


def since_line(config: Config) -> str:
    """'newsletter.toml:LINE' of ``[send] since``, for messages that point at it."""
    return _config_line(config, "send", "since")
