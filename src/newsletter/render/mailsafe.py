"""Take out of an issue's HTML what mail clients block or what could run code, and say what went.

Scripts, forms, embedded objects, event handlers and ``javascript:`` links are removed; an
iframe becomes a link to its page, a task list's checkbox a ☑ or ☐, and an image without alt
text gets an empty one. What was changed comes back as data, for whoever warns about it to word
(outputs.email.mail_safety_warnings).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from .tree import URL_ATTRIBUTES, Fragment, HtmlElement, new_element, xpath

_EVENT_ATTRIBUTE = re.compile(r"^on", re.IGNORECASE)
_SCRIPT_SCHEMES = ("javascript:", "vbscript:")
_REMOVED_IN_MAIL = ("script", "form", "object", "embed", "noscript", "button", "select", "textarea")
# Elements with a URL attribute or an event handler, whatever their tag.
_LINKED_OR_HANDLED = xpath("descendant::*[@*[starts-with(name(), 'on') or {}]]".format(
    " or ".join(f"name() = '{name}'" for name in URL_ATTRIBUTES)))
# The other elements that may change (lxml gives HTML tag names in lower case).
_SUSPECT_TAGS = ("img", "iframe", "input", *_REMOVED_IN_MAIL)


class Removal(StrEnum):
    """What kind of thing was taken out of the HTML."""

    ELEMENT = "element"  # the element with all it held
    IFRAME = "iframe"  # replaced by a link to the page it showed
    EVENT_HANDLER = "event handler"  # an on... attribute
    SCRIPT_LINK = "script link"  # a URL attribute holding javascript: or vbscript:


@dataclass(frozen=True)
class Removed:
    """One thing taken out of an issue's HTML because mail clients block it.

    *tag* is the element removed, or the one that carried the attribute; *attribute* names the
    attribute removed (``onclick``, ``href``); *scheme* is a script link's scheme as it was written
    (``JavaScript``).
    """

    kind: Removal
    tag: str
    attribute: str = ""
    scheme: str = ""


@dataclass(frozen=True)
class MailChanges:
    """What make_safe changed, each in the order of the document."""

    removed: tuple[Removed, ...]
    # The src of each <img> that had no alt attribute and was given an empty one.
    alt_added: tuple[str, ...]


def make_safe(fragment: Fragment) -> MailChanges:
    """Remove from *fragment*, in place, what mail clients block or that could run code."""
    root = fragment.root
    removed: list[Removed] = []
    alt_added: list[str] = []
    for element in _suspects(root):
        tag = element.tag.lower()
        removed.extend(_remove_scripts(element, tag))
        if tag == "img" and element.get("alt") is None:
            # Without alt, clients that block images show the file name; an empty alt shows nothing.
            element.set("alt", "")
            alt_added.append(element.get("src", ""))
        elif tag == "iframe":
            element.getparent().replace(element, _link_for_iframe(element))
            removed.append(Removed(Removal.IFRAME, tag))
        elif tag == "input" and element.get("type") == "checkbox":
            _mark_checkbox(element)
        elif tag in _REMOVED_IN_MAIL or tag == "input":
            element.drop_tree()
            removed.append(Removed(Removal.ELEMENT, tag))
    return MailChanges(tuple(removed), tuple(alt_added))


def _suspects(root: HtmlElement) -> list[HtmlElement]:
    """The elements that may change, in document order."""
    suspects = _LINKED_OR_HANDLED(root)
    found = set(suspects)
    tagged = [element for element in root.iter(*_SUSPECT_TAGS) if element not in found]
    if tagged:  # an <img> with no src, a task list's boxes: merged in document order, as notes follow it
        chosen = {*suspects, *tagged}
        suspects = [element for element in root.iter() if element in chosen]
    return suspects


def _remove_scripts(element: HtmlElement, tag: str) -> list[Removed]:
    """Remove the element's event handlers and script links."""
    removed = []
    for name in list(element.attrib):
        value = element.get(name, "")
        if _EVENT_ATTRIBUTE.match(name):
            del element.attrib[name]
            removed.append(Removed(Removal.EVENT_HANDLER, tag, name))
        elif name in URL_ATTRIBUTES and value.strip().lower().startswith(_SCRIPT_SCHEMES):
            del element.attrib[name]
            removed.append(Removed(Removal.SCRIPT_LINK, tag, name, value.split(":")[0]))
    return removed


def _link_for_iframe(iframe: HtmlElement) -> HtmlElement:
    src = iframe.get("src", "")
    link = new_element("a", href=src)
    link.text = iframe.get("title") or src
    paragraph = new_element("p")
    paragraph.append(link)
    paragraph.tail = iframe.tail
    return paragraph


def _mark_checkbox(box: HtmlElement) -> None:
    """Replace a checkbox with the mark of its state, which any mail client shows."""
    mark = "☑" if box.get("checked") is not None else "☐"
    parent = box.getparent()
    previous = box.getprevious()
    text = mark + (box.tail or " ")
    if previous is not None:
        previous.tail = (previous.tail or "") + text
    else:
        parent.text = (parent.text or "") + text
    parent.remove(box)
