"""The console in Arabic and French: every console text is translated, placeholders match,
no template shows English outside the translation functions, pages follow the operator's
choice (right to left in Arabic), and the sign-in page follows the browser."""

from __future__ import annotations

import re
import sys
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest
from babel.messages.pofile import read_po
from jinja2 import Environment
from sqlalchemy import select

from bot import PROJECT_ROOT
from bot.accounts import AccountError
from bot.config import Settings
from bot.console import i18n
from bot.console.web import CONSOLE_DIR, templates
from bot.runtime import Runtime
from bot.storage.models import AuditEvent
from tests.console_support import create_operator, csrf_from, rest_ask_for_person, sign_in

sys.path.insert(0, str(PROJECT_ROOT / "scripts"))
import console_messages

LOCALES = PROJECT_ROOT / "locales"
TEMPLATES = sorted((CONSOLE_DIR / "templates").glob("*.html"))
PLACEHOLDER = re.compile(r"%\((\w+)\)s")
# a word of English: two Latin letters or more
LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
ENTITY = re.compile(r"&[a-z]+;|&#\d+;")
# attributes a macro writes into the tag it is called in (`aria-invalid="true"`)
MACRO_ATTRIBUTE = re.compile(r'(?<![\w-])(?!(?:title|placeholder|alt|aria-label)=)[\w-]+="[^"]*"?')
# attributes a person reads (or hears from a screen reader)
READ_ATTRIBUTES = ("title", "placeholder", "alt", "aria-label")
# Examples of what to type, not words: left as they are in every language.
EXAMPLES = {"whatsapp", "+218…", "en,ar", "LY-7K3M9Q"}


def _key(message_id: str | tuple[str, ...] | list[str]) -> str | tuple[str, ...]:
    return message_id if isinstance(message_id, str) else tuple(message_id)


def _po(language: str) -> dict[str | tuple[str, ...], tuple[str, ...]]:
    with (LOCALES / language / "LC_MESSAGES" / "console.po").open("rb") as handle:
        catalog = read_po(handle, locale=language, domain="console")
    entries: dict[str | tuple[str, ...], tuple[str, ...]] = {}
    for message in catalog:
        if message.id:
            assert not message.fuzzy, f"{language}: {message.id!r} is fuzzy"
            forms = message.string if isinstance(message.string, tuple) else (message.string,)
            entries[_key(message.id)] = tuple(str(form or "") for form in forms)
    return entries


@pytest.fixture(scope="module")
def extracted() -> list[str | tuple[str, ...]]:
    return [_key(message.id) for message in console_messages.extract() if message.id]


# -- the catalogs ------------------------------------------------------------------------------
def test_the_console_has_its_own_domain_beside_the_bots() -> None:
    assert i18n.DOMAIN == "console"
    for language in ("ar", "fr"):
        assert (LOCALES / language / "LC_MESSAGES" / "console.po").is_file()
        assert (LOCALES / language / "LC_MESSAGES" / "messages.po").is_file()


@pytest.mark.parametrize("language", ["ar", "fr"])
def test_every_console_text_is_translated(
    language: str, extracted: list[str | tuple[str, ...]]
) -> None:
    assert len(extracted) > 300  # templates and Python both extracted
    entries = _po(language)
    missing = [message for message in extracted if message not in entries]
    assert not missing, f"{language} console.po misses {missing} (run scripts/console_messages.py)"
    empty = [message for message, forms in entries.items() if not all(f.strip() for f in forms)]
    assert not empty, f"{language} has untranslated console texts {empty}"
    stale = [message for message in entries if message not in extracted]
    assert not stale, f"{language} console.po has texts the console no longer shows: {stale}"


@pytest.mark.parametrize("language", ["ar", "fr"])
def test_placeholders_match(language: str) -> None:
    for message, forms in _po(language).items():
        ids = message if isinstance(message, tuple) else (message,)
        wanted = set().union(*(set(PLACEHOLDER.findall(text)) for text in ids))
        for form in forms:
            found = set(PLACEHOLDER.findall(form))
            if isinstance(message, tuple):  # "one"/"two" forms may say the number in words
                assert found - {"count"} == wanted - {"count"}, (language, message, form)
            else:
                assert found == wanted, (language, message, form)
            # a stray % would break the page (templates format every text with %)
            assert "%" not in PLACEHOLDER.sub("", form).replace("%%", ""), (language, form)


def test_plurals_have_every_form_of_the_language() -> None:
    # CLDR's forms, as Babel reads them: Arabic has six, French three (one, many, other)
    for language, count in (("ar", 6), ("fr", 3)):
        plurals = [forms for message, forms in _po(language).items() if isinstance(message, tuple)]
        assert plurals and all(len(forms) == count for forms in plurals), language


def test_translations_keep_the_markup_of_the_english() -> None:
    tag = re.compile(r"</?[a-z]+[^>]*>")
    for language in ("ar", "fr"):
        for message, forms in _po(language).items():
            english = message[0] if isinstance(message, tuple) else message
            for form in forms:
                assert sorted(tag.findall(form)) == sorted(tag.findall(english)), (language, form)


# -- no English left in the templates ----------------------------------------------------------
class _VisibleText(HTMLParser):
    """Text nodes and read attributes of a piece of HTML; not <code>, not dir=ltr runs."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.found: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for name in READ_ATTRIBUTES:
            if values.get(name):
                self.found.append(str(values[name]))
        if tag in ("code", "script", "style") and tag not in ("input", "br", "meta", "link"):
            self._skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("code", "script", "style") and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.found.append(data)


def untranslated(source: str, environment: Environment | None = None) -> list[str]:
    """English a template shows outside {% trans %} and _(): the words in its HTML text and
    read attributes (title, placeholder, alt, aria-label) between Jinja's tags."""
    environment = environment or templates.env
    html: list[str] = []
    depth = 0  # inside {% trans %} … {% endtrans %}
    previous: list[str] = []
    for _, kind, value in environment.lex(source):
        if kind == "name" and previous[-1:] == ["block_begin"]:
            if value == "trans":
                depth += 1
            elif value == "endtrans":
                depth -= 1
        if kind == "data" and not depth:
            html.append(value)
        elif kind in ("variable_begin", "block_begin") and not depth:
            html.append("\x00")  # an expression stands between two pieces of text
        if kind != "whitespace":
            previous.append(kind)
    parser = _VisibleText()
    parser.feed("".join(html))
    parser.close()
    words: list[str] = []
    for text in parser.found:
        for piece in MACRO_ATTRIBUTE.sub(" ", ENTITY.sub(" ", text)).split("\x00"):
            piece = piece.strip()
            if piece and piece not in EXAMPLES and LATIN_WORD.search(piece):
                words.append(piece)
    return words


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda path: path.name)
def test_no_template_shows_english_outside_the_translation_functions(template: Path) -> None:
    found = untranslated(template.read_text(encoding="utf-8"))
    assert not found, f"{template.name} shows untranslated text: {found}"


@pytest.mark.parametrize(
    ("source", "found"),
    [
        ("<h1>Queue</h1>", ["Queue"]),
        ('<input placeholder="your name">', ["your name"]),
        ('<button title="Close it">{{ _("Close") }}</button>', ["Close it"]),
        ("<td>{{ x }} min</td>", ["min"]),
        ("<h1>{{ _('Queue') }}</h1>", []),
        ("<p>{% trans %}Plain <strong>English</strong>{% endtrans %}</p>", []),
        ("<p><code>ONCALL_CHANNEL</code> — {{ n }}</p>", []),
        ('<input placeholder="+218…">', []),
        ('{% macro m() %} aria-invalid="true"{% endmacro %}', []),
        ('{% macro m() %} title="Not read"{% endmacro %}', ['title="Not read"']),
    ],
)
def test_the_template_check_finds_inline_english(source: str, found: list[str]) -> None:
    assert untranslated(source) == found


# -- pages in the operator's language ----------------------------------------------------------
def test_dates_use_the_console_language() -> None:
    from datetime import UTC, datetime

    moment = datetime(2026, 3, 5, 10, 4, tzinfo=UTC)
    assert i18n.when_formatter("Africa/Tripoli", "en")(moment) == "05 Mar, 12:04"
    assert i18n.when_formatter("Africa/Tripoli", "fr")(moment) == "05 mars, 12:04"
    assert i18n.when_formatter("Africa/Tripoli", "ar")(moment) == "05 مارس, 12:04"
    assert i18n.when_formatter("Africa/Tripoli", "ar")(moment, "%Y-%m-%d") == "2026-03-05"


@pytest.mark.parametrize(
    ("header", "language"),
    [
        ("ar-LY,ar;q=0.9,en;q=0.8", "ar"),
        ("fr-FR,fr;q=0.9", "fr"),
        ("de-DE,de;q=0.9", "en"),
        ("de, fr;q=0.5, ar;q=0.7", "ar"),
        ("", "en"),
        ("ar;q=0", "en"),
    ],
)
def test_accept_language_picks_a_console_language(header: str, language: str) -> None:
    assert i18n.from_accept_language(header, "en") == language


async def test_the_sign_in_page_follows_the_browser(client: httpx.AsyncClient) -> None:
    arabic = await client.get("/console/login", headers={"accept-language": "ar-LY,ar;q=0.9"})
    assert '<html lang="ar" dir="rtl">' in arabic.text
    assert "تسجيل الدخول" in arabic.text
    french = await client.get("/console/login", headers={"accept-language": "fr-FR"})
    assert '<html lang="fr" dir="ltr">' in french.text and "Se connecter" in french.text
    english = await client.get("/console/login", headers={"accept-language": "de-DE"})
    assert '<html lang="en" dir="ltr">' in english.text and ">Sign in</h1>" in english.text


async def test_an_operator_chooses_the_console_language(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    await create_operator(runtime, "salma", "operator", display_name="Salma")
    csrf = await sign_in(client, "salma", "correct horse battery 1")
    queue = await client.get("/console")
    assert '<html lang="en" dir="ltr">' in queue.text and ">Queue</h1>" in queue.text

    answer = await client.post(
        "/console/account/language", data={"language": "ar", "csrf_token": csrf}
    )
    assert answer.status_code == 303
    account = await client.get(answer.headers["location"])
    assert '<html lang="ar" dir="rtl">' in account.text
    assert "تم تغيير لغة لوحة التحكم." in account.text  # the notice, in Arabic
    queue = await client.get("/console")
    assert "<h1>قائمة الانتظار</h1>" in queue.text
    assert "لا توجد حالات هنا." in queue.text
    # the browser asking for French does not override the operator's choice
    queue = await client.get("/console", headers={"accept-language": "fr"})
    assert '<html lang="ar" dir="rtl">' in queue.text

    refused = await client.post(
        "/console/account/language", data={"language": "de", "csrf_token": csrf_from(queue.text)}
    )
    assert refused.status_code == 400
    back = await client.post(
        "/console/account/language", data={"language": "", "csrf_token": csrf_from(queue.text)}
    )
    assert back.status_code == 303
    queue = await client.get("/console")
    assert '<html lang="en" dir="ltr">' in queue.text  # the deployment's default again
    async with runtime.db.session() as session:
        choices = (
            await session.execute(
                select(AuditEvent.details)
                .where(AuditEvent.action == "operator.console_language")
                .order_by(AuditEvent.id)
            )
        ).scalars()
        assert [details["language"] for details in choices] == ["ar", None]


async def test_the_deployments_default_console_language(make_runtime: object) -> None:
    from server import create_app
    from tests.console_support import DEFAULT_PASSWORD

    runtime: Runtime = await make_runtime(console_language="fr")  # type: ignore[operator]
    await create_operator(runtime, "yanis", "operator")
    transport = httpx.ASGITransport(app=create_app(runtime=runtime))
    async with httpx.AsyncClient(transport=transport, base_url="http://console.test") as client:
        login = await client.get("/console/login")
        assert '<html lang="fr"' in login.text  # no Accept-Language: the deployment's choice
        await sign_in(client, "yanis", DEFAULT_PASSWORD)
        queue = await client.get("/console")
        assert "<h1>File d'attente</h1>" in queue.text


def test_every_value_the_console_shows_is_in_the_vocabulary() -> None:
    """A new stage, outcome, city or channel must be added to bot/console/i18n.py's
    VOCABULARY (and so to the catalogs), or the Arabic console would show it in English."""
    from bot.access import ROLES
    from bot.channels import CHANNEL_LABELS
    from bot.console.records import choices
    from bot.contacts import CONTACT_ROLES
    from bot.handoffs.canned import TITLES
    from bot.handoffs.casework import OUTCOMES, PRIORITIES, STATUS_VIEWS
    from bot.storage.models import HandoffStatus, MessageStatus
    from flows.safety import CATEGORIES

    vocabulary = set(i18n.VOCABULARY)
    forms = choices()
    values = [
        *ROLES, *CONTACT_ROLES, *CHANNEL_LABELS.values(), *OUTCOMES, *PRIORITIES, *STATUS_VIEWS,
        *(status.value for status in HandoffStatus), *CATEGORIES, *MessageStatus, *forms["stages"],
        *forms["priorities"], *forms["sexes"], *forms["documents"], *forms["flags"],
        *forms["cities"], *TITLES.values(),
    ]  # fmt: skip
    missing = sorted({value.replace("_", " ") for value in values} - vocabulary)
    assert not missing, f"add to VOCABULARY in bot/console/i18n.py: {missing}"


async def test_values_inside_translated_texts_stay_escaped(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    """Catalog texts are trusted markup; what fills their placeholders is not."""
    await create_operator(runtime, "nour", "operator")
    csrf = await sign_in(client, "nour", "correct horse battery 1")
    await client.post("/console/account/language", data={"language": "ar", "csrf_token": csrf})
    page = await client.post(
        "/console/account/tokens", data={"name": "<b>x</b>", "csrf_token": csrf}
    )
    assert "رمز جديد «&lt;b&gt;x&lt;/b&gt;»" in page.text
    assert "<b>x</b>" not in page.text


async def test_a_domains_refusal_reads_in_the_console_language(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    await create_operator(runtime, "rim", "operator")
    csrf = await sign_in(client, "rim", "correct horse battery 1")
    await client.post("/console/account/language", data={"language": "fr", "csrf_token": csrf})
    page = await client.post("/console/account/tokens", data={"name": "  ", "csrf_token": csrf})
    assert page.status_code == 400
    assert '<p class="error" role="alert">donnez un nom au jeton</p>' in page.text
    # the API keeps answering in English (scripts read it)
    assert str(AccountError("give the token a name")) == "give the token a name"


class _PageText(HTMLParser):
    """What a person reads on a rendered page: text and read attributes, leaving out code,
    scripts, and what the page marks as not in its language (lang="en", dir="ltr"/"auto":
    names, numbers, keys, what people wrote)."""

    VOID = frozenset({"input", "br", "meta", "link", "img", "hr", "rect", "line", "circle"})

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []
        self._stack: list[bool] = []  # per open element: is its content left out?

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        outside = bool(self._stack and self._stack[-1])
        skip = (
            outside
            or tag in ("code", "script", "style", "option", "title", "textarea")
            or values.get("lang") not in (None, "ar")
            or values.get("dir") in ("ltr", "auto")
            or "secret" in (values.get("class") or "")
            or values.get("id") == "address"  # an address, left to right by the style sheet
        )
        if not skip:
            self.found.extend(str(values[name]) for name in READ_ATTRIBUTES if values.get(name))
        if tag not in self.VOID:
            self._stack.append(skip)

    def handle_endtag(self, tag: str) -> None:
        if tag not in self.VOID and self._stack:
            self._stack.pop()

    def handle_data(self, data: str) -> None:
        if not (self._stack and self._stack[-1]):
            self.found.append(data)


# paths, links and file names ("/api/v1/openapi.json", "docs/configuration.md", "ONCALL_*")
PATH = re.compile(r"\S*[/.*]\S*")
LATIN_TOKEN = re.compile(r"[A-Za-z][A-Za-z_]+")  # "ONCALL_CHANNEL" is one token
# Words that stay Latin in the Arabic console: names of products and standards, settings, the
# people's language codes, and the test's own accounts.
LATIN_IN_ARABIC = {
    "SMS", "API", "REST", "CSV", "WhatsApp", "Telegram", "Cloud", "QR", "FreeOTP", "Aegis",
    "Google", "Authenticator", "Excel", "LibreOffice", "STOP", "ONCALL_CHANNEL",
    "ONCALL_CONTACTS", "Layla", "layla", "Twilio", "MP", "WAV", "M", "Ogg", "WebM",
    "placeholder",  # the studio's instructions show a prompt's {placeholder} as it is written
    *Settings(_env_file=None).enabled_languages,  # type: ignore[call-arg]
}  # fmt: skip


def without(names: list[str], text: str) -> str:
    for name in names:
        text = text.replace(name, " ")
    return text


async def test_every_page_reads_in_arabic(runtime: Runtime, client: httpx.AsyncClient) -> None:
    """An administrator's whole console in Arabic: every page renders, right to left, and
    shows no English word outside names, codes and what people wrote."""
    await create_operator(runtime, "layla", "admin", display_name="Layla")
    csrf = await sign_in(client, "layla", "correct horse battery 1")
    # first in English: a macro imported then must not keep English for later pages
    assert "No data in this period." in (await client.get("/console/reports")).text
    await client.post("/console/account/language", data={"language": "ar", "csrf_token": csrf})
    pages = [
        "/console", "/console/cases/new", "/console/account", "/console/second-factor",
        "/console/password", "/console/admin/operators", "/console/admin/mobilizers",
        "/console/admin/settings", "/console/audit", "/console/registrations",
        "/console/registrations/export", "/console/broadcasts", "/console/broadcasts/new",
        "/console/reports", "/console/calls", "/console/studio", "/console/studio/ha",
    ]  # fmt: skip
    await rest_ask_for_person(client, "arabic-reader", "ar")
    cases = (await client.get("/api/v1/cases")).json()
    pages.append(f"/console/cases/{cases[0]['id']}")
    # languages are named in their own language and script ("Hausa", "Français")
    names = [runtime.catalogs.info(code).native_name for code in runtime.catalogs.languages]
    english: dict[str, list[str]] = {}
    for path in pages:
        page = await client.get(path)
        assert page.status_code == 200, (path, page.text[:300])
        assert '<html lang="ar" dir="rtl">' in page.text, path
        parser = _PageText()
        parser.feed(page.text)
        words = {
            f"{word} in {text.strip()[:60]!r}"
            for text in parser.found
            for word in LATIN_TOKEN.findall(PATH.sub(" ", ENTITY.sub(" ", without(names, text))))
            if word not in LATIN_IN_ARABIC
        }
        if words:
            english[path] = sorted(words)
    assert not english, f"English on Arabic pages: {english}"
