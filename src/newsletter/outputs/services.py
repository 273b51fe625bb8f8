"""The merge tags of the email services whose editors take the built HTML: ``[email] merge_tags``.

With a service named, the built email/<slug>.html and .txt carry that service's own tags where
a merge field or the unsubscribe link would hold the sample reader's values, so that the service
fills them in for each of its subscribers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Service:
    """How one email service writes a subscriber's field, a fallback and its unsubscribe link."""

    unsubscribe: str
    # A column of ours (lower case) to the service's expression for it, and the expression of any
    # other column.
    known: dict[str, str]
    column: Callable[[str], str]
    # The service's tag for an expression with a fallback, and for an expression alone (most
    # services write it the Liquid and Go-template way, between double braces).
    with_fallback: Callable[[str, str], str]
    tag: Callable[[str], str] = lambda expression: f"{{{{ {expression} }}}}"

    def field(self, name: str, fallback: str) -> str:
        """The tag that stands for the column *name*, showing *fallback* when a subscriber has none."""
        expression = self.known.get(name) or self.column(name)
        return self.with_fallback(expression, fallback) if fallback else self.tag(expression)


def _unquoted(text: str) -> str:
    # A fallback goes inside a quoted string in some services' syntax: it may not end it early.
    return text.replace('"', "").replace("'", "")


SERVICES: dict[str, Service] = {
    "mailchimp": Service(
        unsubscribe="*|UNSUB|*",
        known={"name": "FNAME", "email": "EMAIL"},
        column=lambda name: name.upper()[:10],
        tag=lambda expression: f"*|{expression}|*",
        with_fallback=lambda expression, fallback:
            f"*|IF:{expression}|**|{expression}|**|ELSE:|*{fallback}*|END:IF|*",
    ),
    "kit": Service(
        unsubscribe="{{ unsubscribe_url }}",
        known={"name": "subscriber.first_name", "email": "subscriber.email_address"},
        column=lambda name: f"subscriber.{name}",
        with_fallback=lambda expression, fallback: f'{{{{ {expression} | default: "{_unquoted(fallback)}" }}}}',
    ),
    "buttondown": Service(
        unsubscribe="{{ unsubscribe_url }}",
        known={"name": "subscriber.metadata.first_name", "email": "subscriber.email"},
        column=lambda name: f"subscriber.metadata.{name}",
        with_fallback=lambda expression, fallback:
            f"{{% if {expression} %}}{{{{ {expression} }}}}{{% else %}}{fallback}{{% endif %}}",
    ),
    "listmonk": Service(
        unsubscribe="{{ UnsubscribeURL }}",
        known={"name": ".Subscriber.FirstName", "email": ".Subscriber.Email"},
        column=lambda name: f".Subscriber.Attribs.{name}",
        with_fallback=lambda expression, fallback:
            f"{{{{ if {expression} }}}}{{{{ {expression} }}}}{{{{ else }}}}{fallback}{{{{ end }}}}",
    ),
    "brevo": Service(
        unsubscribe="{{ unsubscribe }}",
        known={"name": "contact.FIRSTNAME", "email": "contact.EMAIL"},
        column=lambda name: f"contact.{name.upper()}",
        # Brevo's filters follow the variable with no space around the bar or the colon.
        with_fallback=lambda expression, fallback: f"{{{{ {expression}|default:'{_unquoted(fallback)}' }}}}",
    ),
    "mailerlite": Service(
        unsubscribe="{$unsubscribe}",
        known={"name": "name", "email": "email"},
        column=lambda name: name,
        tag=lambda expression: f"{{${expression}}}",
        with_fallback=lambda expression, fallback: f"{{${expression}|default('{_unquoted(fallback)}')}}",
    ),
}
