"""The console in the operator's language: English, Arabic or French.

Console texts live in their own gettext domain, `console` (locales/<lang>/LC_MESSAGES/console.po),
beside the bot's `messages`: the English text is the message id, so English needs no catalog.
Catalogs are compiled in memory when first used, like the bot's (bot/i18n.py). Templates use
Jinja's i18n extension (`{% trans %}`, `_()`), installed per request with the operator's
language; Python code marks texts with `N_` and the page translates them when it renders.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

from bot.accounts import CONSOLE_LANGUAGES
from bot.resources import package_path
from bot.storage.models import as_utc

DOMAIN = "console"
RTL = frozenset({"ar"})
# the languages' own names: what an operator looks for in the language menu
NATIVE_NAMES = {"en": "English", "ar": "العربية", "fr": "Français"}

# strftime patterns the templates pass to when() → the CLDR patterns Babel formats with
# (month names in the operator's language; digits stay Western, as Libyan forms write them)
_PATTERNS = {
    "%d %b, %H:%M": "dd MMM, HH:mm",
    "%Y-%m-%d %H:%M": "yyyy-MM-dd HH:mm",
    "%Y-%m-%d": "yyyy-MM-dd",
    "%Y-%m-%d %H:%M:%S": "yyyy-MM-dd HH:mm:ss",
}
# Babel locales for dates ("05 ديسمبر, 13:04", "05 déc., 13:04"): digits stay Western, as in
# the rest of the console
_DATE_LOCALES = {"en": "en_GB", "ar": "ar_LY", "fr": "fr_FR"}


def N_(text: str) -> str:  # noqa: N802 — the gettext convention, found by the extractor
    """Marks `text` for the console catalog; it is translated when the page is rendered."""
    return text


def locales_dir() -> Path:
    return package_path("locales")


@lru_cache(maxsize=8)
def translations(language: str) -> NullTranslations:
    """The console catalog of `language`; English (and anything unknown) is the message ids."""
    if language == "en" or language not in CONSOLE_LANGUAGES:
        return NullTranslations()
    po_path = locales_dir() / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    with po_path.open("rb") as handle:
        catalog = read_po(handle, locale=language, domain=DOMAIN)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return Translations(fp=buffer, domain=DOMAIN)


def gettext(language: str) -> Callable[[str], str]:
    return translations(language).gettext


def supported(code: str | None) -> str | None:
    code = (code or "").strip().lower()
    return code if code in CONSOLE_LANGUAGES else None


def direction(language: str) -> str:
    return "rtl" if language in RTL else "ltr"


def from_accept_language(header: str | None, default: str) -> str:
    """The browser's preferred console language (Accept-Language), for pages before sign-in."""
    choices: list[tuple[float, int, str]] = []
    for index, part in enumerate((header or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        code = supported(tag.split("-")[0])
        if code and quality > 0:
            choices.append((-quality, index, code))
    return min(choices)[2] if choices else default


def when_formatter(timezone: str, language: str) -> Callable[..., str]:
    """`when(moment)` for templates: a stored UTC time in the operators' time zone, with the
    month's name in the console's language."""
    zone = ZoneInfo(timezone)
    locale = _DATE_LOCALES.get(language, "en_GB")

    def when(moment: datetime | None, pattern: str = "%d %b, %H:%M") -> str:
        if moment is None:
            return ""
        local = as_utc(moment).astimezone(zone)
        cldr = _PATTERNS.get(pattern)
        if cldr is None:
            return local.strftime(pattern)
        return str(format_datetime(local, cldr, tzinfo=zone, locale=locale))

    return when


def country_name(code: str | None, language: str) -> str:
    """A nationality's name in the console's language (CLDR's names, through Babel)."""
    if not code:
        return ""
    name = Locale.parse(_DATE_LOCALES.get(language, "en_GB")).territories.get(code.upper())
    return str(name) if name else code


def day_label(day: date, language: str) -> str:
    """A day on a chart's axis: "05 Dec", "05 déc.", "05 ديسمبر"."""
    return str(format_date(day, "dd MMM", locale=_DATE_LOCALES.get(language, "en_GB")))


def language_choices(codes: Iterable[str] = CONSOLE_LANGUAGES) -> list[tuple[str, str]]:
    return [(code, NATIVE_NAMES[code]) for code in codes]


# The values records hold and the console shows (priorities, statuses, stages, roles, …): the
# English shown is the value with spaces ("callback_done" → "callback done"). Listed here so
# the extractor puts every one in the catalog.
VOCABULARY = (
    # case priorities, statuses and the queue's status filter
    N_("emergency"), N_("urgent"), N_("normal"), N_("high"), N_("medium"),
    N_("open"), N_("claimed"), N_("snoozed"), N_("closed"), N_("waiting"),
    # why a case was opened (bot/engine.py, flows/*, the danger categories of flows/safety.py)
    N_("requested"), N_("relay"), N_("call"), N_("callback"), N_("disclosure"),
    N_("refugee counselling"), N_("registration without consent"), N_("account"), N_("code"),
    N_("self harm"), N_("gbv"), N_("trafficking"), N_("protection"), N_("detention"),
    # case outcomes
    N_("resolved"), N_("referred"), N_("registered"), N_("callback done"), N_("no response"),
    N_("duplicate"), N_("other"),
    # console and contact roles
    N_("operator"), N_("supervisor"), N_("admin"), N_("migrant"), N_("mobilizer"),
    # message delivery
    N_("queued"), N_("sent"), N_("delivered"), N_("failed"), N_("undeliverable"), N_("held"),
    N_("received"), N_("read"), N_("processed"), N_("answered"), N_("sending"),
    N_("broadcast"),
    # people and their registrations
    N_("female"), N_("male"), N_("unknown"), N_("not registered"),
    N_("screening"), N_("document issued"), N_("fit to travel"), N_("flight scheduled"),
    N_("travelled"),
    N_("valid"), N_("expired"), N_("none"), N_("lost"),
    N_("pregnant"), N_("disability"), N_("unaccompanied"), N_("violence"), N_("single parent"),
    N_("detained"), N_("child"), N_("elderly"), N_("large household"),
    # a registration's fields, in its history and beside a form's errors
    N_("full name"), N_("country"), N_("nationality"), N_("age"), N_("birth year"), N_("sex"),
    N_("phone"), N_("city"), N_("detention place"), N_("document"), N_("passport number"),
    N_("priority"), N_("needs review"), N_("vulnerabilities"), N_("stage"), N_("flight date"),
    N_("date from"), N_("date to"), N_("reference"), N_("name"), N_("form"), N_("segment"),
    # Libya's cities as the bot knows them (bot/registrations: canonical_cities)
    N_("Tripoli"), N_("Misrata"), N_("Benghazi"), N_("Sebha"), N_("Zwara"), N_("Azzawya"),
    N_("Sabratha"), N_("Bani Waleed"), N_("Sirt"), N_("Tobruk"), N_("Albayda"), N_("Derna"),
    N_("Alkufra"), N_("Ghat"), N_("Algatroun"), N_("Ghadamis"), N_("Azzintan"), N_("Ghiryan"),
    N_("Murzuq"), N_("Brak-Alshati"), N_("Ajdabiya"), N_("Khoms"), N_("Zliten"), N_("Tarhuna"),
    N_("Ubari"), N_("Janzour"), N_("Tajoura"),
    # who did something, when it was not an operator (the audit trail)
    N_("bot"), N_("system"), N_("cli"), N_("contact"), N_("retention"),
    # canned replies' titles (bot/handoffs/canned.py, TITLES)
    N_("Greeting"), N_("Ask where they are"), N_("Ask if they are safe now"),
    N_("How return registration works"), N_("Office hours"), N_("Medical referral"),
    N_("We will call you back"), N_("Closing"),
    # a secret setting on the settings page (bot/shown_settings.py)
    N_("(set)"), N_("(not set)"),
    # channels (their console labels)
    N_("web chat"), N_("REST API"), N_("Telegram"), N_("SMS"), N_("WhatsApp"),
    N_("WhatsApp (Cloud API)"), N_("voice call"), N_("terminal"),
)  # fmt: skip


# What console.js writes into a page (bot/console/static/console.js); the page hands them over
# translated, in <body data-strings>.
JS_STRINGS = (
    N_("live"), N_("reconnecting…"), N_("not live"), N_("Take"), N_("No cases here."),
    N_("the person"), N_("nobody"), N_("No notes."), N_("%(name)s is typing…"), N_("Someone"),
    N_("escalated"), N_("%(minutes)s min"),
    # calls.js
    N_("%(minutes)s min %(seconds)s s"), N_("Take this call"),
    # studio.js
    N_("%(recorded)s of %(total)s recorded (%(percent)s%%)"),
    N_("Every prompt is recorded: callers can choose this language on the voice line."),
    N_("Finish the other recording first."),
    N_("The microphone is not available: upload a file instead."),
    N_("Listen back, then keep it or redo it."), N_("Recording…"), N_("Saving…"),
    N_("Not kept (HTTP %(status)s)."), N_("Recorded"), N_("just now"),
    N_("Kept: callers hear it from now on."), N_("Not kept: the connection failed. Try again."),
    N_("This browser cannot record: upload a file instead."),
    # the voice studio's sections (bot/channels/voice/studio.py SECTIONS)
    N_("Every call"), N_("Registration"), N_("Services"), N_("Case status"),
    N_("Operators and messages"), N_("Digits and letters"), N_("Kinds of help"),
    N_("Case stages"), N_("Countries"), N_("Cities"), N_("Services in the directory"),
)  # fmt: skip


def js_strings(language: str) -> dict[str, str]:
    """English → this language, for console.js: its own texts and the values it shows."""
    if language == "en":
        return {}
    translate = gettext(language)
    texts = [*JS_STRINGS, *VOCABULARY]
    return {text: translate(text) for text in texts if translate(text) != text}


def term_translator(language: str) -> Callable[[object], str]:
    """`term(value)` for templates: a stored value in the operator's language."""
    translate = gettext(language)

    def term(value: object) -> str:
        if value is None or value == "":
            return ""
        return translate(str(value).replace("_", " "))

    return term
