"""Which approved WhatsApp template stands in for a message outside the 24-hour window.

A template is approved per language, so the deployer names one for each bot language:
- Cloud API: `WHATSAPP_TEMPLATES="en=hotline_message:en, ar=hotline_message:ar, ha=…"`, a
  template name and Meta's language code of its approved translation (the code may be left
  out when it is the bot language's own code: `ha=hotline_message`);
- Twilio: `TWILIO_WHATSAPP_TEMPLATES="en=HX…, ar=HX…"`, one content SID per language.
A person gets the template of their language; when none is configured for it, the default
language's (DEFAULT_LANGUAGE). The older single settings still count: WHATSAPP_TEMPLATE_NAME
with WHATSAPP_TEMPLATE_LANGUAGE (or TWILIO_WHATSAPP_TEMPLATE_SID) is the default language's
template; WHATSAPP_TEMPLATE_NAME alone is one name approved in every enabled language.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.config import Settings

log = logging.getLogger(__name__)

TWILIO_CHANNEL = "whatsapp"
CLOUD_CHANNEL = "whatsapp_cloud"

# Meta's codes: `ha`, `fil`, `en_GB`, `prs_AF` (developers.facebook.com, "Supported Languages")
META_LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}(_[A-Z]{2})?$")
META_TEMPLATE_NAME = re.compile(r"^[a-z0-9_]{1,512}$")  # lowercase, digits and underscores
CONTENT_SID = re.compile(r"^HX[0-9a-fA-F]{32}$")
BOT_LANGUAGE = re.compile(r"^[a-z]{2,3}$")


@dataclass(frozen=True, slots=True)
class Template:
    """An approved template: Meta's name and language code, or Twilio's content SID (`name`)
    with the bot language it is written in (`language`)."""

    name: str
    language: str

    def describe(self) -> str:
        return f"{self.name}:{self.language}"


def _entries(value: str, setting: str) -> list[tuple[str, str]]:
    """`lang=value` pairs separated by commas; raises ValueError naming the setting."""
    pairs: list[tuple[str, str]] = []
    for part in value.split(","):
        part = part.strip()
        if not part:
            continue
        language, sep, rest = part.partition("=")
        language, rest = language.strip().lower(), rest.strip()
        if not sep or not BOT_LANGUAGE.fullmatch(language) or not rest:
            raise ValueError(f'{setting}: expected "language=template", got "{part}"')
        if language in dict(pairs):
            raise ValueError(f"{setting}: {language} is given twice")
        pairs.append((language, rest))
    return pairs


def parse_cloud_templates(value: str) -> dict[str, Template]:
    """WHATSAPP_TEMPLATES: `lang=name:code` (or `lang=name`, Meta's code = the language)."""
    templates: dict[str, Template] = {}
    for language, rest in _entries(value, "WHATSAPP_TEMPLATES"):
        name, _, code = rest.partition(":")
        name, code = name.strip(), code.strip() or language
        if not META_TEMPLATE_NAME.fullmatch(name):
            raise ValueError(
                f'WHATSAPP_TEMPLATES: "{name}" is not a template name (lowercase, digits, _)'
            )
        if not META_LANGUAGE_CODE.fullmatch(code):
            raise ValueError(f'WHATSAPP_TEMPLATES: "{code}" is not a Meta language code')
        templates[language] = Template(name, code)
    return templates


def parse_twilio_templates(value: str) -> dict[str, Template]:
    """TWILIO_WHATSAPP_TEMPLATES: `lang=HX…` (a content SID per language)."""
    templates: dict[str, Template] = {}
    for language, sid in _entries(value, "TWILIO_WHATSAPP_TEMPLATES"):
        if not CONTENT_SID.fullmatch(sid):
            raise ValueError(f'TWILIO_WHATSAPP_TEMPLATES: "{sid}" is not a content SID (HX…)')
        templates[language] = Template(sid, language)
    return templates


def configured_templates(settings: Settings, channel: str) -> dict[str, Template]:
    """The channel's templates by bot language, the older single settings included."""
    table: dict[str, Template] = {}
    if channel == CLOUD_CHANNEL:
        name = settings.whatsapp_template_name
        if name and settings.whatsapp_template_language:
            table[settings.default_language] = Template(name, settings.whatsapp_template_language)
        elif name:  # one name, approved in every language (the earlier advice)
            table = {lang: Template(name, lang) for lang in settings.enabled_languages}
        table.update(settings.whatsapp_templates)
    elif channel == TWILIO_CHANNEL:
        sid = settings.twilio_whatsapp_template_sid
        if sid:
            table[settings.default_language] = Template(sid, settings.default_language)
        table.update(settings.twilio_whatsapp_templates)
    return table


def choose_template(
    templates: dict[str, Template],
    language: str | None,
    default_language: str,
    channel: str,
    *,
    quiet: bool = False,
) -> Template | None:
    """The template in `language`; else the default language's (logged unless `quiet`);
    None if neither is configured."""
    if language and language in templates:
        return templates[language]
    fallback = templates.get(default_language)
    if fallback is not None and language != default_language and not quiet:
        # a language code and a channel only: nothing that tells who the person is
        log.info(
            "whatsapp template: none configured for language %s on %s, the default "
            "language's (%s) is sent",
            language or "(unknown)",
            channel,
            default_language,
        )
    return fallback


def template_for(
    settings: Settings, channel: str, language: str | None, *, quiet: bool = False
) -> Template | None:
    """The template a person in `language` gets on `channel` (None: none configured)."""
    return choose_template(
        configured_templates(settings, channel),
        language,
        settings.default_language,
        channel,
        quiet=quiet,
    )
