"""The newsletter's language: translated strings, dates and numbers for ``site.language``.

The only module that imports Babel. Catalogues are gettext ``.po`` files: the ones shipped in
``newsletter/locale/<language>.po`` and the newsletter's own ``locales/<language>.po``, whose
strings win over the shipped ones. Babel compiles them when a build first needs them (in memory,
from the text files), so a checkout, an editable install and a wheel all work the same and no
compiled file can fall out of step with its source.
"""

from __future__ import annotations

import gettext
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_time
from babel.messages.mofile import write_mo
from babel.messages.pofile import PoFileError, read_po
from babel.numbers import format_decimal

from ..config import Config, find_key_line
from ..errors import ConfigError, Problem
from .inputs import LOCALES_DIR, SHIPPED_DIR

SOURCE_LANGUAGE = "en"


def shipped_languages() -> tuple[str, ...]:
    """The languages whose every built-in string has a translation of ours."""
    return tuple(sorted(path.stem for path in SHIPPED_DIR.glob("*.po")))


@dataclass(frozen=True)
class Language:
    """What a build needs to speak one language: strings, formats, writing direction."""

    code: str
    locale: Locale
    translations: gettext.NullTranslations = field(repr=False)
    warnings: tuple[Problem, ...] = ()

    @property
    def direction(self) -> str:
        """'rtl' for languages written right to left, else 'ltr'."""
        return "rtl" if self.locale.text_direction == "rtl" else "ltr"

    def gettext(self, message: str) -> str:
        return self.translations.gettext(message)

    def ngettext(self, singular: str, plural: str, count: int) -> str:
        return self.translations.ngettext(singular, plural, count)

    def long_date(self, value: date | datetime) -> str:
        """A date as people of this language write it in prose: 'April 1, 2025', '1. dubna 2025'."""
        day = value.date() if isinstance(value, datetime) else value
        return format_date(day, format="long", locale=self.locale)

    def number(self, value: float) -> str:
        return format_decimal(value, locale=self.locale)

    def date_and_time(self, value: datetime) -> str:
        """A long date and the time of day: '1. dubna 2025 · 9:30'."""
        return f"{self.long_date(value)} · {format_time(value, format='short', locale=self.locale)}"

    def kilobytes(self, size: int) -> str:
        return f"{format_decimal(size / 1024, format='#,##0.0', locale=self.locale)} KB"

    def seconds(self, value: float) -> str:
        return f"{format_decimal(value, format='0.00', locale=self.locale)} s"

    def status(self, status: str) -> str:
        """The word for where an issue stands (draft, scheduled, published)."""
        names = {"draft": self.gettext("draft"), "scheduled": self.gettext("scheduled"),
                 "published": self.gettext("published")}
        return names.get(str(status), str(status))


def _compiled(path: Path, display: str, *, checked: bool = True) -> gettext.GNUTranslations:
    """A .po file compiled by Babel into translations; a broken file is an error naming its line.

    *checked*: whether to check that each translation has its original's placeholders.
    """
    try:
        with path.open("rb") as source:
            catalog = read_po(source, abort_invalid=True)
    except PoFileError as error:
        # Babel says "... on N", N counted from 0.
        match = re.fullmatch(r"(.*?)(?: on (\d+))?", str(error.args[0]), re.DOTALL)
        what, line = (match.group(1), int(match.group(2)) + 1 if match.group(2) else None) if match else ("", None)
        raise ConfigError(problems=[Problem(display, f"not a valid gettext catalogue: {what.lower()}; "
                                            "see the shipped catalogues for the form", line)]) from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(problems=[Problem(display, f"cannot be read as a UTF-8 catalogue: {error}")]) from None
    # A translation whose placeholders differ from the original's would fail in the middle of a build.
    problems = [Problem(display, f"{message.id!r}: {error}", message.lineno)
                for message, errors in (catalog.check() if checked else ()) for error in errors]
    if problems:
        raise ConfigError(problems=problems)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


def own_catalogue(config: Config, locale: Locale) -> Path | None:
    """The newsletter's own catalogue for *locale* ('locales/pt_BR.po', else 'locales/pt.po'), if any."""
    folder = config.root / LOCALES_DIR
    for name in (str(locale), locale.language):
        path = folder / f"{name}.po"
        if path.is_file():
            return path
    return None


def _parse(config: Config) -> Locale:
    code = config.site.language
    try:
        return Locale.parse(code.replace("-", "_"))
    except (UnknownLocaleError, ValueError, TypeError):
        line = find_key_line(config.path.read_text(encoding="utf-8-sig"), "language", "site") \
            if config.path.is_file() else None
        raise ConfigError(problems=[Problem(
            config.path, f"unknown language code {code!r}; use a code like {', '.join(shipped_languages())} "
            "(those have built-in translations) or any other BCP 47 code, such as 'pl' or 'pt-BR'",
            line, "site.language")]) from None


def _stamp(path: Path | None) -> tuple[str, int, int] | None:
    if path is None:
        return None
    status = path.stat()
    return str(path), status.st_mtime_ns, status.st_size


def language_of(config: Config) -> Language:
    """The language of *config*'s newsletter; raise ConfigError for a code no one can read."""
    locale = _parse(config)
    own = own_catalogue(config, locale)
    return _language(config, str(locale), config.site.language, _stamp(own))


@lru_cache(maxsize=8)
def _language(config: Config, locale_name: str, code: str, own: tuple[str, int, int] | None) -> Language:
    locale = Locale.parse(locale_name)
    warnings: list[Problem] = []
    shipped = SHIPPED_DIR / f"{locale.language}.po"
    translations: gettext.NullTranslations
    if shipped.is_file():
        # The tests check every shipped catalogue's placeholders; checking them on every build
        # would cost more than reading the file.
        translations = _compiled(shipped, f"newsletter/locale/{shipped.name}", checked=False)
    else:
        translations = gettext.NullTranslations()  # the strings in the source are English
        if own is None:
            warnings.append(Problem(config.path, f"no built-in translation for {code!r}: the site's own words "
                                    f"stay English (dates and numbers follow {code!r}); add "
                                    f"{LOCALES_DIR}/{locale.language}.po to translate them", None, "site.language"))
    if own is not None:
        path = Path(own[0])
        mine = _compiled(path, path.relative_to(config.root).as_posix())
        mine.add_fallback(translations)
        translations = mine
    return Language(code, locale, translations, tuple(warnings))


def template_helpers(language: Language) -> dict[str, Callable[..., str]]:
    """The filters templates format with: longdate, number, status_name."""
    return {"longdate": language.long_date, "number": language.number, "status_name": language.status}
