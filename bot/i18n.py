"""Localized text: gettext catalogs in locales/<lang>/LC_MESSAGES/messages.po, read with Babel.

Messages are looked up by key (e.g. ``menu.main``); every language, English included, holds the
text a person reads. Catalogs are compiled in memory at start-up, so editing a .po file and
restarting is all a translator needs.
"""

from __future__ import annotations

import io
import logging
import re
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import Translations

log = logging.getLogger(__name__)

DOMAIN = "messages"
_FIELD = re.compile(r"\{([a-zA-Z_][a-zA-Z0-9_]*)\}")
# First strong character decides how a bidi display lays out a line.
_RTL_MARK = "\u200f"
# FIRST STRONG ISOLATE … POP DIRECTIONAL ISOLATE: the run between them is laid out on its own,
# so "+218 91 000 0105" inside Arabic does not become "0105 000 91 218+".
FSI, PDI = "\u2068", "\u2069"
_LTR_CHARS = "0-9A-Za-z\u00c0-\u024f\u1e00-\u1eff\u0660-\u0669\u06f0-\u06f9"
# a number, phone number, reference, date or Latin name: letters and digits, with the
# separators found inside them ("+218 91", "LY-2026-0001", "15/03/1996", "Amina Bello")
_LTR_RUN = re.compile(
    rf"\+?[{_LTR_CHARS}](?:[{_LTR_CHARS}]|(?: +|[,\-/.:_@#'+?=&%~])(?=[+{_LTR_CHARS}]))*"
)
# left as they are: runs already isolated, and links (a mark inside or next to a link can
# break it in an SMS app; a link starts with Latin letters, so it keeps its order anyway)
_UNTOUCHED = re.compile(f"({FSI}[^{PDI}]*{PDI}|https?://[^\\s{FSI}{PDI}]+)")


def is_rtl_letter(char: str) -> bool:
    return "\u0590" <= char <= "\u08ff" or "\ufb1d" <= char <= "\ufefc"


def isolate_runs(text: str) -> str:
    """`text` with each left-to-right run (numbers, phone numbers, references, dates, Latin
    names) wrapped in FSI…PDI, for display inside right-to-left text. Runs already isolated
    are left as they are, so isolating twice changes nothing; so are links."""
    parts = _UNTOUCHED.split(text)
    for index in range(0, len(parts), 2):  # even parts lie outside isolates and links
        parts[index] = _LTR_RUN.sub(lambda run: FSI + run.group() + PDI, parts[index])
    return "".join(parts)


def isolate_in_rtl(text: str) -> str:
    """Text someone typed (an operator's reply): its runs isolated if it has right-to-left
    letters, unchanged otherwise."""
    return isolate_runs(text) if any(is_rtl_letter(char) for char in text) else text


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@dataclass(frozen=True, slots=True)
class LanguageInfo:
    code: str
    native_name: str
    direction: str  # "ltr" | "rtl"


class Catalogs:
    """All enabled languages' catalogs and their formatting rules."""

    def __init__(self, locales_dir: Path, languages: Iterable[str], default_language: str) -> None:
        self.locales_dir = locales_dir
        self.default_language = default_language
        self._translations: dict[str, Translations] = {}
        self._keys: dict[str, set[str]] = {}
        self._info: dict[str, LanguageInfo] = {}
        for code in languages:
            po_path = locales_dir / code / "LC_MESSAGES" / f"{DOMAIN}.po"
            if not po_path.exists():
                log.error("no catalog for enabled language %s at %s", code, po_path)
                continue
            self._load(code, po_path)
        if default_language not in self._translations:
            raise ValueError(f"default language {default_language!r} has no catalog")

    def _load(self, code: str, po_path: Path) -> None:
        with po_path.open("rb") as handle:
            catalog = read_po(handle, locale=code, domain=DOMAIN)
        buffer = io.BytesIO()
        write_mo(buffer, catalog, use_fuzzy=False)
        buffer.seek(0)
        self._translations[code] = Translations(fp=buffer, domain=DOMAIN)
        self._keys[code] = {
            _message_key(m.id) for m in catalog if m.id and m.string and not m.fuzzy
        }
        locale = Locale.parse(code)
        name = locale.get_display_name(code) or code
        self._info[code] = LanguageInfo(
            code=code,
            native_name=name[:1].upper() + name[1:],
            direction="rtl" if locale.character_order == "right-to-left" else "ltr",
        )

    # -- what exists ---------------------------------------------------------------------
    @property
    def languages(self) -> list[str]:
        return list(self._translations)

    def info(self, code: str) -> LanguageInfo:
        return self._info[code]

    def supports(self, code: str | None) -> bool:
        return code is not None and code in self._translations

    def has(self, language: str, key: str) -> bool:
        return key in self._keys.get(language, set())

    # -- rendering -----------------------------------------------------------------------
    def text(self, language: str, key: str, count: int | None = None, **values: Any) -> str:
        """The message `key` in `language`, with `{placeholders}` filled in."""
        lang = language if language in self._translations else self.default_language
        if not self.has(lang, key):
            log.warning("message %s missing in %s; using %s", key, lang, self.default_language)
            lang = self.default_language
        translations = self._translations[lang]
        if count is None:
            template = translations.gettext(key)
        else:
            template = translations.ngettext(key, key + ".plural", count)
            values.setdefault("count", count)
        formatted = {name: self.format_value(lang, value) for name, value in values.items()}
        try:
            result = template.format_map(_Defaulting(formatted))
        except (ValueError, IndexError):  # a broken translation must not silence the bot
            log.error("message %s in %s has a broken placeholder", key, lang)
            result = template
        if self.direction(lang) == "rtl":  # its values' runs and the template's own ("091 …")
            result = isolate_runs(result)
        return self.directed(lang, result)

    def format_value(self, language: str, value: Any) -> str:
        if isinstance(value, bool) or value is None:
            return str(value)
        if isinstance(value, int | float | Decimal):
            return format_decimal(value, locale=language)
        if isinstance(value, datetime):
            return format_datetime(value, format="medium", locale=language)
        if isinstance(value, date):
            return format_date(value, format="long", locale=language)
        return str(value)

    def directed(self, language: str, text: str) -> str:
        """Right-to-left text starts with a right-to-left mark when its first letter is not."""
        if self._info[language].direction != "rtl" or not text:
            return text
        for char in text:
            if char.isalpha():
                if is_rtl_letter(char):
                    return text
                return _RTL_MARK + text
        return _RTL_MARK + text

    def direction(self, language: str) -> str:
        return self._info[language].direction if language in self._info else "ltr"


class _Defaulting(dict[str, str]):
    """Leaves an unknown placeholder visible instead of raising."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def _message_key(message_id: str | list[str] | tuple[str, ...]) -> str:
    """A message's key: its id, or the singular id of a plural message."""
    return message_id if isinstance(message_id, str) else message_id[0]


def catalog_entries(po_path: Path) -> Mapping[str, Any]:
    """Key → message (str, or tuple of plural forms) of one .po file; used by tests and tools."""
    with po_path.open("rb") as handle:
        catalog = read_po(handle)
    entries: dict[str, Any] = {}
    for message in catalog:
        if not message.id:
            continue
        entries[_message_key(message.id)] = message.string
    return entries
