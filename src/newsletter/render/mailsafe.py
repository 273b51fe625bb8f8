"""Keep of an issue's HTML only what is known to be safe in mail and feeds, and say what went.

An allow-list: elements, attributes and URL schemes not named here are taken out. Elements that
run code, take input, load other documents or show nothing outside a browser (scripts, forms,
embedded objects, SVG and MathML, <base>, <meta>, <link>, media) go with all they hold, their
attributes unremarked; other unknown elements lose their tags and keep their content. Event
handlers, attributes not listed and links whose scheme is not http(s), mailto or tel are
removed. An iframe becomes a link to its page, a task list's checkbox a ☑ or ☐, and an image
without alt text gets an empty one. What was changed comes back as data, for whoever warns
about it to word (outputs.email.mail_safety_warnings).

nh3 (ammonia) was weighed for this and left out: it returns only the cleaned string, not what it
took out, which the email's warnings and ``check`` report, and it would parse and serialise every
issue once more beside the tree the other steps share.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from .tree import Fragment, HtmlElement, new_element

_KEPT_TAGS = frozenset({
    "a", "abbr", "address", "article", "aside", "b", "bdi", "bdo", "big", "blockquote", "br", "caption",
    "center", "cite", "code", "col", "colgroup", "data", "dd", "del", "details", "dfn", "div", "dl", "dt",
    "em", "figcaption", "figure", "font", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hgroup",
    "hr", "i", "img", "ins", "kbd", "li", "main", "mark", "nav", "ol", "p", "pre", "q", "rp", "rt", "ruby",
    "s", "samp", "section", "small", "span", "strike", "strong", "style", "sub", "summary", "sup", "table",
    "tbody", "td", "tfoot", "th", "thead", "time", "tr", "tt", "u", "ul", "var", "wbr",
})
# Taken out with all they hold: they run code, take input, load or point at other documents,
# change how the rest is read, or show nothing in a mail client or feed reader.
_DROPPED_TAGS = frozenset({
    "applet", "audio", "base", "button", "canvas", "datalist", "dialog", "embed", "fieldset", "form", "frame",
    "frameset", "head", "input", "keygen", "link", "math", "meta", "noembed", "noframes", "noscript",
    "object", "option", "optgroup", "output", "param", "plaintext", "portal", "script", "select", "slot",
    "source", "svg", "template", "textarea", "title", "track", "video", "xmp",
})
_GLOBAL_ATTRIBUTES = frozenset({"id", "class", "style", "title", "lang", "dir", "align", "valign", "width",
                                "height", "role", "hidden", "translate", "bgcolor", "border"})
_ATTRIBUTE_PREFIXES = ("aria-", "data-")
_TAG_ATTRIBUTES: dict[str, frozenset[str]] = {tag: frozenset(names) for tag, names in {
    "a": ("href", "name", "target", "rel", "hreflang", "type"),
    "img": ("src", "srcset", "sizes", "alt", "loading", "decoding"),
    "blockquote": ("cite",), "q": ("cite",), "del": ("cite", "datetime"), "ins": ("cite", "datetime"),
    "time": ("datetime",), "data": ("value",), "details": ("open",), "font": ("color", "face", "size"),
    "ol": ("start", "reversed", "type"), "ul": ("type",), "li": ("value", "type"),
    "table": ("cellpadding", "cellspacing", "summary", "background"), "col": ("span",), "colgroup": ("span",),
    "td": ("colspan", "rowspan", "headers", "nowrap", "background"),
    "th": ("colspan", "rowspan", "headers", "scope", "abbr", "background"),
}.items()}
_URL_ATTRIBUTES = frozenset({"href", "src", "cite", "background"})
_SAFE_SCHEMES = frozenset({"http", "https", "mailto", "tel"})
_SCHEME = re.compile(r"([a-z][a-z0-9+.\-]*):")
# Browsers skip these anywhere in a URL, so "java\tscript:" is a javascript: link.
_IGNORED_IN_URLS = re.compile(r"[\x00-\x20\x7f]+")
# Pictures a mail client may show inline; never SVG, which can carry script.
_DATA_IMAGE = re.compile(r"data:image/(?:png|gif|jpeg|webp)[;,]")


class Removal(StrEnum):
    """What kind of thing was taken out of the HTML."""

    ELEMENT = "element"  # the element with all it held
    TAG = "tag"  # the element's tags; what it held is kept
    IFRAME = "iframe"  # replaced by a link to the page it showed
    EVENT_HANDLER = "event handler"  # an on... attribute
    SCRIPT_LINK = "script link"  # a URL attribute whose scheme is not http(s), mailto or tel
    ATTRIBUTE = "attribute"  # any other attribute not known to be safe


@dataclass(frozen=True)
class Removed:
    """One thing taken out of an issue's HTML because mail clients block it.

    *tag* is the element removed, or the one that carried the attribute; *attribute* names the
    attribute removed (``onclick``, ``href``); *scheme* is a removed link's scheme as it was
    written (``JavaScript``).
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
    """Keep in *fragment*, changed in place, only what is safe in mail and feeds; say what went."""
    removed: list[Removed] = []
    alt_added: list[str] = []
    gone: set[HtmlElement] = set()  # taken out with an element around them
    # What may need a change: elements not kept as they are, images (which may lack alt text), and
    # elements with an attribute other than those any element keeps. Most of an issue is paragraphs
    # and highlighted code, which need nothing.
    suspects = [element for element in fragment.root.iterdescendants("*") if element.tag not in _KEPT_TAGS
                or element.tag == "img" or not _GLOBAL_ATTRIBUTES.issuperset(element.keys())]
    for element in suspects:
        if element in gone:
            continue
        tag = element.tag.lower()
        if tag in _KEPT_TAGS:
            removed.extend(_clean_attributes(element, tag))
            if tag == "img" and element.get("alt") is None:
                # Without alt, clients that block images show the file name; an empty alt shows nothing.
                element.set("alt", "")
                alt_added.append(element.get("src", ""))
        elif tag == "input" and element.get("type") == "checkbox":
            _mark_checkbox(element)
        elif tag in _DROPPED_TAGS or tag == "iframe":
            gone.update(element.iter())
            if tag == "iframe":
                element.getparent().replace(element, _link_for_iframe(element))
                removed.append(Removed(Removal.IFRAME, tag))
            else:
                element.drop_tree()
                removed.append(Removed(Removal.ELEMENT, tag))
        else:
            element.drop_tag()
            removed.append(Removed(Removal.TAG, tag))
    return MailChanges(tuple(removed), tuple(alt_added))


def _clean_attributes(element: HtmlElement, tag: str) -> list[Removed]:
    """Remove the element's attributes that are not known to be safe, and links with unsafe schemes."""
    removed = []
    allowed = _TAG_ATTRIBUTES.get(tag, frozenset())
    for name in list(element.attrib):
        lowered = name.lower()
        if lowered.startswith("on"):
            found = Removed(Removal.EVENT_HANDLER, tag, name)
        elif not (lowered in allowed or lowered in _GLOBAL_ATTRIBUTES or lowered.startswith(_ATTRIBUTE_PREFIXES)):
            found = Removed(Removal.ATTRIBUTE, tag, name)
        elif lowered in _URL_ATTRIBUTES or lowered == "srcset":
            scheme = _unsafe_scheme(element.get(name, ""), tag == "img" and lowered == "src", lowered == "srcset")
            if scheme is None:
                continue
            found = Removed(Removal.SCRIPT_LINK, tag, name, scheme)
        else:
            continue
        del element.attrib[name]
        removed.append(found)
    return removed


def _unsafe_scheme(value: str, image: bool, srcset: bool) -> str | None:
    """The scheme of a URL (or of any URL in a srcset) that is not safe, as written; None if all are."""
    for url in (candidate.strip().split(" ")[0] for candidate in value.split(",")) if srcset else (value,):
        found = _SCHEME.match(_IGNORED_IN_URLS.sub("", url).lower())
        if found is None or found[1] in _SAFE_SCHEMES:
            continue
        if image and _DATA_IMAGE.match(_IGNORED_IN_URLS.sub("", url).lower()):
            continue
        return url.split(":")[0]
    return None


def _link_for_iframe(iframe: HtmlElement) -> HtmlElement:
    src = iframe.get("src", "")
    if _unsafe_scheme(src, image=False, srcset=False) is not None:
        src = ""
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
