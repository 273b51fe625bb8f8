"""Talk to the list server (`newsletter lists serve`): its unsubscribe links, its list, its suppressions.

The unsubscribe token is an HMAC of the lower-cased address under the list server's secret: a
send computes it for each recipient, the server keeps it beside each address to find the row, and
the URL carries no address. Reading the list and reporting bounces use the standard library's
HTTP client with the server's bearer token.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from collections.abc import Iterable
from typing import TYPE_CHECKING
from urllib.parse import urljoin

from ..config import Config
from ..errors import SendError, SubscriberError

if TYPE_CHECKING:
    import urllib.request

# Part of what is signed, so that a token made for one purpose never passes for another.
_UNSUBSCRIBE_PURPOSE = b"unsubscribe\0"
_TIMEOUT = 60.0


def list_unsubscribe_token(secret: str, address: str) -> str:
    """The list server's unsubscribe token for *address*: 43 URL-safe characters, the address not in it."""
    digest = hmac.new(secret.encode("utf-8"), _UNSUBSCRIBE_PURPOSE + address.lower().encode("utf-8"),
                      hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def list_secret(config: Config) -> str:
    """The list server's signing secret from the environment; a SendError naming the variable when unset."""
    assert config.lists is not None
    secret = os.environ.get(config.lists.secret_env, "")
    if not secret:
        raise SendError(f"{config.path.name}: lists.url: unsubscribe links point at the list server, but the "
                        f"environment variable {config.lists.secret_env} is not set; export it with the list "
                        "server's secret")
    return secret


def _api_token(config: Config) -> str:
    assert config.subscribers is not None
    name = config.subscribers.source_token_env
    token = os.environ.get(name, "")
    if not token:
        raise SubscriberError(f"{config.path.name}: subscribers.source: the environment variable {name} is not "
                              "set; export it with the list server's API token")
    return token


def _request(config: Config, path: str, body: bytes | None = None) -> urllib.request.Request:
    # The HTTP client (and ssl under it) is loaded only to talk to the server: the tokens above are
    # made on every send and `status` reads the settings, neither of which needs it.
    import urllib.request

    assert config.subscribers is not None
    base = config.subscribers.source if config.subscribers.source.endswith("/") else config.subscribers.source + "/"
    headers = {"Authorization": f"Bearer {_api_token(config)}", "User-Agent": "newsletter"}
    if body is not None:
        headers["Content-Type"] = "application/json"
    return urllib.request.Request(urljoin(base, path), data=body, headers=headers)


def _fetch(config: Config, request: urllib.request.Request) -> bytes:
    import urllib.error
    import urllib.request  # as in _request

    where = request.full_url
    try:
        with urllib.request.urlopen(request, timeout=_TIMEOUT) as response:  # noqa: S310 - http(s) only, checked
            return bytes(response.read())
    except urllib.error.HTTPError as error:
        hint = " (check the API token)" if error.code in (401, 403) else ""
        raise SubscriberError(f"{config.path.name}: subscribers.source: {where} answered {error.code} "
                              f"{error.reason}{hint}") from None
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise SubscriberError(f"{config.path.name}: subscribers.source: cannot reach {where}: {reason}") from None


def fetch_subscribers_csv(config: Config) -> str:
    """The active subscribers as CSV text (email,name) from the list server named in [subscribers] source."""
    data = _fetch(config, _request(config, "api/subscribers"))
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise SubscriberError(f"{config.path.name}: subscribers.source: the list server sent text that is "
                              "not UTF-8") from None


def report_suppressions(config: Config, addresses: Iterable[str], reason: str) -> int:
    """Tell the list server never to mail *addresses* again (reason 'bounce' or 'complaint'); how many it knew."""
    entries = [{"email": address, "reason": reason} for address in addresses]
    if not entries:
        return 0
    body = json.dumps({"suppressions": entries}).encode("utf-8")
    answer = json.loads(_fetch(config, _request(config, "api/suppressions", body)))
    return int(answer.get("suppressed", 0))
