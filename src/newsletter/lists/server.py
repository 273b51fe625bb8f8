"""Run the list server with uvicorn (the one module importing it), bound to 127.0.0.1 unless told otherwise.

Behind a TLS proxy on the same machine, the client address comes from the proxy's
X-Forwarded-For header, which is believed only from the addresses in *trusted_proxies*. The
access log is off: its lines would carry the tokens of confirmation and unsubscribe links.
"""

from __future__ import annotations

import errno
import socket

import uvicorn

from ..config import Config
from ..errors import ListsError
from ..send.settings import check_smtp_settings
from ..send.transports import SmtpTransport, Transport
from .app import build_app
from .mailer import Mailer
from .pages import Pages
from .service import ListService
from .settings import load_settings
from .store import Store


def _smtp(config: Config) -> tuple[Config, str]:
    if config.smtp is None:
        raise ListsError(f"{config.path.name}: [smtp]: the list server sends confirmation emails through it; add "
                         "host, port, security and username (see the README)")
    return config, check_smtp_settings(config)


def _check_port(host: str, port: int) -> None:
    """Fail with a clear message when the address is taken, before anything is opened."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise ListsError(f"--port {port}: already in use on {host}; pick another with --port") from None
            raise ListsError(f"--host {host}: cannot listen there: {error.strerror}") from None


def open_service(config: Config) -> ListService:
    """The service with its database, templates and mailer, ready to answer."""
    settings = load_settings(config)
    config, password = _smtp(config)
    smtp = config.smtp
    assert smtp is not None

    def transport() -> Transport:
        return SmtpTransport(smtp.host, smtp.port, smtp.security, smtp.username, password)

    store = Store(settings.database, settings.signer.unsubscribe_token)
    return ListService(settings, store, Pages(config), Mailer(config, transport))


def serve(config: Config, host: str = "127.0.0.1", port: int = 8025,
          trusted_proxies: str = "127.0.0.1") -> None:
    """Answer requests until stopped (Ctrl-C or SIGTERM), then finish the queued emails and close."""
    _check_port(host, port)
    service = open_service(config)
    try:
        uvicorn.run(build_app(service), host=host, port=port, proxy_headers=True,
                    forwarded_allow_ips=trusted_proxies, access_log=False, server_header=False,
                    log_level="info", timeout_graceful_shutdown=10)
    finally:
        service.mailer.stop()   # after the emails still queued
        service.store.close()
