"""Tigrinya and Amharic (issue 15): whole conversations through the REST endpoint, language
identification between the two (one Ethiopic script) on short messages, and the danger
lexicon. The phrases here are written for these tests, not taken from any held-out set."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select

from bot.runtime import Runtime
from bot.storage.models import Registration
from flows.registration import document_answer, named_field, sex_statement, vocabulary
from nlu import BuiltinNLU
from nlu.danger import default_detector
from tests.rest_chat import say, texts

LANGUAGES = ["ti", "am"]

OPEN = {"ti": "ሰላም ከመይ ኣለኹም", "am": "ሰላም እንዴት ናችሁ"}
GO_HOME = {"ti": "ናብ ዓደይ ክምለስ እደሊ", "am": "ወደ ሀገሬ መመለስ እፈልጋለሁ"}
YES = {"ti": "እወ", "am": "አዎ"}
DANGER = {"ti": "ዓርከይ ብዙሕ ደም ይፈሶ ኣሎ ሓግዙና", "am": "ጓደኛዬ ብዙ ደም እየፈሰሰው ነው እርዱን"}
NATIVE = {"ti": "ትግርኛ", "am": "አማርኛ"}

# One to six words, each language's own words: Tigrinya እየ / ኣሎኹ / ኣይ…ን / ብኽብረትካ / ሓገዝ,
# Amharic ነኝ / አለሁ / እባክህ / እርዳታ.
SHORT = {
    "ti": [
        "ሓገዝ እደሊ",
        "ብኽብረትካ ሓግዘኒ",
        "ኣብ ትሪፖሊ ኣሎኹ",
        "ሕሙም እየ",
        "ገንዘብ የብለይን",
        "ምግቢ ኣይረኸብኩን",
        "ናብ ኤርትራ ክምለስ እደሊ",
        "ሓወይ ተኣሲሩ ኣሎ",
        "የቐንየለይ",
        "ምስ ሰብ ክዛረብ እደሊ",
    ],
    "am": [
        "እርዳታ እፈልጋለሁ",
        "እባክህ እርዳኝ",
        "ትሪፖሊ ውስጥ አለሁ",
        "ታምሜአለሁ",
        "ገንዘብ የለኝም",
        "ምግብ አላገኘሁም",
        "ወደ ኢትዮጵያ መመለስ እፈልጋለሁ",
        "ወንድሜ ታስሯል",
        "አመሰግናለሁ",
        "ከሰው ጋር መነጋገር እፈልጋለሁ",
    ],
}


@pytest.mark.parametrize("language", LANGUAGES)
async def test_greeting_menu_and_going_home(
    client: httpx.AsyncClient, runtime: Runtime, language: str
) -> None:
    t = runtime.catalogs.text
    sender = f"ethi-{language}"
    replies = await say(client, sender, OPEN[language])
    assert texts(replies)[:2] == [t(language, "welcome.first"), t(language, "menu.main")]
    menu = replies[1]
    assert menu["buttons"][0]["title"] == "1. " + t(language, "menu.option.return")
    assert menu["metadata"]["direction"] == "ltr"
    replies = await say(client, sender, GO_HOME[language])
    assert texts(replies) == [
        t(language, "registration.intro.1"),
        t(language, "registration.intro.2"),
        t(language, "registration.consent"),
    ]
    replies = await say(client, sender, YES[language])
    assert texts(replies)[-1] == t(language, "registration.ask_name")


@pytest.mark.parametrize("language", LANGUAGES)
async def test_going_home_as_a_first_message(
    client: httpx.AsyncClient, runtime: Runtime, language: str
) -> None:
    t = runtime.catalogs.text
    replies = await say(client, f"ethi-home-{language}", GO_HOME[language])
    assert texts(replies) == [
        t(language, "welcome.first"),
        t(language, "registration.intro.1"),
        t(language, "registration.intro.2"),
        t(language, "registration.consent"),
    ]


@pytest.mark.parametrize("language", LANGUAGES)
async def test_an_emergency_is_answered_in_that_language(
    client: httpx.AsyncClient, runtime: Runtime, language: str
) -> None:
    t = runtime.catalogs.text
    sender = f"ethi-sos-{language}"
    replies = await say(client, sender, DANGER[language])
    assert texts(replies) == [
        t(language, "safety.emergency"),
        t(language, "handoff.position", position=1)
        + "\n"
        + t(language, "handoff.no_emergency_numbers"),
    ]
    contact = await runtime.store.contact_for("rest", sender)
    case = await runtime.handoffs.active_for(contact.id)
    assert case is not None and case.priority == "emergency" and case.language == language


async def test_the_language_menu_names_each_language_in_its_own_script(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    await say(client, "ethi-menu", "hello")
    replies = await say(client, "ethi-menu", "language")
    buttons = {b["payload"]: b["title"] for b in replies[0]["buttons"]}
    languages = runtime.catalogs.languages
    for language in LANGUAGES:
        digit = str(languages.index(language) + 1)
        assert buttons[digit] == f"{digit}. {NATIVE[language]}"
        assert runtime.catalogs.info(language).native_name == NATIVE[language]
    # choosing Tigrinya by its digit switches the conversation to Tigrinya
    replies = await say(client, "ethi-menu", str(languages.index("ti") + 1))
    t = runtime.catalogs.text
    assert texts(replies) == [t("ti", "language.changed"), t("ti", "menu.main")]


@pytest.fixture(scope="module")
def nlu() -> BuiltinNLU:
    return BuiltinNLU.load()


@pytest.mark.parametrize("language", LANGUAGES)
def test_tigrinya_and_amharic_told_apart_on_short_messages(nlu: BuiltinNLU, language: str) -> None:
    for text in SHORT[language]:
        assert nlu.parse_sync(text).language == language, text
    # the other language's session does not keep a sentence of two words or more
    other = "am" if language == "ti" else "ti"
    for text in SHORT[language]:
        if len(text.split()) >= 2:
            assert nlu.parse_sync(text, language_hint=other).language == language, text


def test_one_word_in_the_same_script_keeps_the_session_language(nlu: BuiltinNLU) -> None:
    # "ሰላም" is written in both: the session decides, as for "ok" in Latin letters
    assert nlu.parse_sync("ሰላም", language_hint="ti").language == "ti"
    assert nlu.parse_sync("ሰላም", language_hint="am").language == "am"


@pytest.mark.parametrize(
    ("text", "level"),
    [
        (DANGER["ti"], "emergency"),
        ("ጀልባ ትጥሕል ኣላ ማይ ይኣቱ", "emergency"),
        ("ገዛ ይነድድ ኣሎ ሰባት ኣብ ውሽጢ ኣለዉ", "emergency"),
        ("ትማሊ ደም ፈሲስዎ ሕጂ ድሓን ኣሎ", "none"),
        ("ሓወይ ኣብ ቤት ማእሰርቲ ተኣሲሩ", "urgent"),
        (GO_HOME["ti"], "none"),
        (DANGER["am"], "emergency"),
        ("ጀልባው እየሰጠመ ነው ውሃ እየገባ ነው", "emergency"),
        ("ሊገድሉን ነው አሁን እርዱን", "emergency"),
        ("ትናንት ደም ፈሰሰው አሁን ደህና ነው", "none"),
        ("ፖሊስ ወንድሜን አሰሩት", "urgent"),
        (GO_HOME["am"], "none"),
    ],
)
def test_danger_lexicon_in_tigrinya_and_amharic(text: str, level: str) -> None:
    assert default_detector().detect(text).level == level


@pytest.mark.parametrize(
    ("text", "document", "field", "sex"),
    [
        ("ፓስፖርት ኣለኒ", "valid", "document", None),
        ("ግዜኡ ዝሓለፎ እዩ", "expired", None, None),
        ("ፓስፖርት የብለይን", "none", "document", None),
        ("ጠፊኡኒ", "lost", None, None),
        ("ከተማይ ቀይሩ", None, "city", None),
        ("ቁጽሪ ፓስፖርት ጌጋ እዩ", None, "passport_number", None),
        ("ኣነ ሰበይቲ እየ", None, None, "female"),
        ("ጊዜው ያለፈበት ነው", "expired", None, None),
        ("ፓስፖርት የለኝም", "none", "document", None),
        ("ጠፋብኝ", "lost", None, None),
        ("ስሜን ቀይሩ", None, None, None),  # "ስሜን" is a form the list does not hold
        ("ስሜ ስህተት ነው", None, "name", None),
        ("እኔ ወንድ ነኝ", None, None, "male"),
    ],
)
def test_registration_words_in_tigrinya_and_amharic(
    text: str, document: str | None, field: str | None, sex: str | None
) -> None:
    vocab = vocabulary()
    assert document_answer(text, vocab) == document
    assert named_field(text, vocab) == field
    assert sex_statement(text, vocab) == sex


# A whole registration answered in words, as people write, not by digits.
ANSWERS = {
    "ti": {
        "name": "ሳባ ተስፋይ",
        "country": "ኤርትራ",
        "age": "25",
        "sex": "ሰበይቲ",
        "phone": "0912345678",
        "city": "ትሪፖሊ",
        "detained": "ኣይፋል",
        "document": "ፓስፖርት የብለይን",
        "family": "በይነይ",
    },
    "am": {
        "name": "ሄለን ታደሰ",
        "country": "ኢትዮጵያ",
        "age": "25",
        "sex": "ሴት",
        "phone": "0912345678",
        "city": "ትሪፖሊ",
        "detained": "አይ",
        "document": "ፓስፖርት የለኝም",
        "family": "ብቻዬን",
    },
}


@pytest.mark.parametrize("language", LANGUAGES)
async def test_a_whole_registration_in_words(
    client: httpx.AsyncClient, runtime: Runtime, language: str
) -> None:
    t = runtime.catalogs.text
    sender = f"ethi-reg-{language}"
    answers = ANSWERS[language]
    await say(client, sender, GO_HOME[language])
    assert texts(await say(client, sender, YES[language]))[-1] == t(
        language, "registration.ask_name"
    )
    asked = [
        texts(await say(client, sender, answers[step]))[-1]
        for step in ("name", "country", "age", "sex", "phone", "city", "detained", "document")
    ]
    assert asked == [
        t(language, key)
        for key in (
            "registration.ask_country",
            "registration.ask_age",
            "registration.ask_sex",
            "registration.ask_phone",
            "registration.ask_city",
            "registration.ask_detained",
            "registration.ask_document",
            "registration.ask_family",
        )
    ]
    replies = texts(await say(client, sender, answers["family"]))
    while replies[-1] != t(language, "registration.confirm"):  # the vulnerability questions
        replies = texts(await say(client, sender, "2"))
    assert answers["name"] in replies[0]
    done = texts(await say(client, sender, YES[language]))
    assert done[0].startswith(t(language, "registration.done", reference="LY-")[:12])
    async with runtime.db.session() as session:
        [row] = list(await session.scalars(select(Registration)))
    expected_country = {"ti": "ER", "am": "ET"}[language]
    assert (row.country, row.city, row.document) == (expected_country, "Tripoli", "none")


@pytest.mark.parametrize(
    ("text", "need"),
    [
        ("ኣብ ትሪፖሊ ክሊኒክ ኣሎ ዶ", "health"),
        ("መግቢ ኣበይ ክረክብ እኽእል", "basic_needs"),
        ("ስደተኛ እየ ዑቕባ እደሊ", "refugee"),
        ("ምግብ የት አገኛለሁ", "basic_needs"),
        ("የአእምሮ ጤና ምክር እፈልጋለሁ", "mhpss"),
        ("ሆስፒታል የት ነው", "health"),
    ],
)
def test_service_needs_named_in_tigrinya_and_amharic(text: str, need: str) -> None:
    from flows.services import ServiceDirectory

    directory = ServiceDirectory.load()
    assert directory.need_in(text) == need
    assert directory.city_name("Tripoli", "ti") == directory.city_name("Tripoli", "am") == "ትሪፖሊ"
