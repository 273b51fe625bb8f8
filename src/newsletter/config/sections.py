"""The sections of newsletter.toml as frozen dataclasses, and the choices some of their keys allow."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from pathlib import Path
from zoneinfo import ZoneInfo

from ..layout import CONFIG_NAME

PREVIEW_HOST = "127.0.0.1"
PREVIEW_PORT = 8000
# The site URL `newsletter init` writes when given none: a stand-in (the .example top-level domain
# is reserved for examples) that `newsletter check` reports until it is replaced.
PLACEHOLDER_URL = "https://your-site.example/newsletter/"


@dataclass(frozen=True)
class SiteConfig:
    title: str
    url: str
    description: str = ""
    language: str = "en"
    timezone: str = "UTC"
    author: str = ""
    icon: str = ""
    page_size: int = 10

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@dataclass(frozen=True)
class EmailConfig:
    from_: str
    reply_to: str = ""
    unsubscribe_url: str = ""
    unsubscribe_mailto: str = ""
    # The environment variable holding the secret that signs {token} in unsubscribe_url.
    token_secret_env: str = "NEWSLETTER_TOKEN_SECRET"
    inliner: str = "premailer"
    # An email service whose merge tags the built email carries instead of a sample's values.
    merge_tags: str = ""


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int = 587
    security: str = "starttls"
    username: str = ""
    password_env: str = "NEWSLETTER_SMTP_PASSWORD"
    rate: float = 10.0


@dataclass(frozen=True)
class SubscribersConfig:
    file: str = "subscribers.csv"
    unsubscribed: str = ""
    # A list server's address: the list is read from it instead of from `file`.
    source: str = ""
    source_token_env: str = "NEWSLETTER_LISTS_API_TOKEN"
    # Addresses never mailed again: refused for good by the server, bounced, or complained.
    bounced: str = "bounced.csv"


@dataclass(frozen=True)
class ListsConfig:
    """[lists]: the optional list server (subscribe form, double opt-in, one-click unsubscribe)."""

    url: str = ""
    database: str = "lists.sqlite3"
    secret_env: str = "NEWSLETTER_LISTS_SECRET"
    api_token_env: str = "NEWSLETTER_LISTS_API_TOKEN"
    form_wording: str = ""   # empty: the built-in sentence, in the site's language
    confirm_hours: int = 48
    welcome: bool = True
    per_ip_per_hour: int = 30
    per_address_per_day: int = 3


class UncertainPolicy(StrEnum):
    """What a resumed send does with recipients it handed a message to without hearing the answer."""

    SKIP = "skip"        # count them as probably delivered: nobody gets two copies, a few may get none
    RESEND = "resend"    # mail them again with the same Message-ID: nobody is missed, a few may get two


@dataclass(frozen=True)
class SendConfig:
    # Issues dated before this day are never sent (an imported back catalogue).
    since: date | None = None
    uncertain: str = UncertainPolicy.SKIP
    # Addresses never mailed again: refused for good by the server, bounced, or complained.
    bounced: str = "bounced.csv"


@dataclass(frozen=True)
class BouncesConfig:
    """Where `newsletter bounces` reads delivery reports: an IMAP mailbox, or a Maildir folder."""

    host: str = ""                 # else $NEWSLETTER_IMAP_HOST
    port: int = 993                # when not given: 993 for "ssl", 143 for "starttls" and "none"
    security: str = "ssl"
    username: str = ""             # else $NEWSLETTER_IMAP_USER
    password_env: str = "NEWSLETTER_IMAP_PASSWORD"
    mailbox: str = "INBOX"
    maildir: str = ""
    soft_limit: int = 3            # soft bounces on this many issues in a row suppress the address
    delete: bool = False           # delete the reports that were understood and recorded


@dataclass(frozen=True)
class FeedsConfig:
    limit: int = 20


@dataclass(frozen=True)
class CheckConfig:
    ignore: tuple[str, ...] = ()


@dataclass(frozen=True)
class PostsConfig:
    # "strict": other tools' front-matter keys are errors; "ignore": read as ours where they mean
    # the same, otherwise skipped.
    foreign_keys: str = "strict"


@dataclass(frozen=True)
class Config:
    root: Path
    site: SiteConfig
    email: EmailConfig | None = None
    smtp: SmtpConfig | None = None
    subscribers: SubscribersConfig | None = None
    send: SendConfig = SendConfig()
    feeds: FeedsConfig = FeedsConfig()
    check: CheckConfig = CheckConfig()
    lists: ListsConfig | None = None
    posts: PostsConfig = PostsConfig()
    bounces: BouncesConfig = BouncesConfig()

    @property
    def path(self) -> Path:
        return self.root / CONFIG_NAME

    @property
    def private_files(self) -> tuple[str, ...]:
        """Files that hold personal data and are never published, even through a link."""
        listed = self.subscribers or SubscribersConfig()
        database = self.lists.database if self.lists is not None else ""
        return (listed.file, listed.unsubscribed, listed.bounced, database)


_SECTIONS: dict[str, type] = {
    "site": SiteConfig,
    "email": EmailConfig,
    "smtp": SmtpConfig,
    "subscribers": SubscribersConfig,
    "send": SendConfig,
    "feeds": FeedsConfig,
    "check": CheckConfig,
    "lists": ListsConfig,
    "posts": PostsConfig,
    "bounces": BouncesConfig,
}
_REQUIRED_SECTIONS = {"site"}
_SECURITY_CHOICES = ("starttls", "ssl", "none")
_INLINERS = ("premailer", "css-inline")
_FOREIGN_KEY_MODES = ("strict", "ignore")
_MERGE_TAGS = ("mailchimp", "kit", "buttondown", "listmonk", "brevo", "mailerlite")
