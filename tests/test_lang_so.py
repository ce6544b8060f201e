"""Somali (issue 15): whole conversations through the REST endpoint, language identification of
short Somali messages against English and Hausa (all three in Latin letters), the danger lexicon
and the registration's answer words. The phrases here are written for these tests, not taken
from the training data or any held-out set."""

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

OPEN = "asc walaalayaal sidee tihiin maanta"
GO_HOME = "waxaan doonayaa in aan dalkeyga dib ugu laabto"
YES = "haa"
DANGER = "saaxiibkey dhiig badan ayaa ka socda na caawiya"
NATIVE = "Soomaali"

# One to six words, each with a Somali word English and Hausa do not have: waxaan, ayaan, ma,
# -kayga, -aa verbs, u baahanahay.
SHORT = [
    "caawimaad ayaan u baahanahay",
    "fadlan i caawiya",
    "waxaan joogaa Tarabulus",
    "aad ayaan u xanuunsanahay",
    "lacag ma haysto",
    "cunto weli ma helin",
    "waxaan rabaa inaan guriga tago",
    "walaalkey waa la xiray",
    "mahadsanid walaalo",
    "qof ila hadla fadlan",
    "kiiskeyga maxaa ka jira",
    "baasaboorkeygii waa lumay",
]


async def test_greeting_menu_and_going_home(client: httpx.AsyncClient, runtime: Runtime) -> None:
    t = runtime.catalogs.text
    sender = "somali"
    replies = await say(client, sender, OPEN)
    assert texts(replies)[:2] == [t("so", "welcome.first"), t("so", "menu.main")]
    menu = replies[1]
    assert menu["buttons"][0]["title"] == "1. " + t("so", "menu.option.return")
    assert menu["metadata"]["direction"] == "ltr"
    replies = await say(client, sender, GO_HOME)
    assert texts(replies) == [
        t("so", "registration.intro.1"),
        t("so", "registration.intro.2"),
        t("so", "registration.consent"),
    ]
    replies = await say(client, sender, YES)
    assert texts(replies)[-1] == t("so", "registration.ask_name")


async def test_going_home_as_a_first_message(client: httpx.AsyncClient, runtime: Runtime) -> None:
    t = runtime.catalogs.text
    replies = await say(client, "somali-home", GO_HOME)
    assert texts(replies) == [
        t("so", "welcome.first"),
        t("so", "registration.intro.1"),
        t("so", "registration.intro.2"),
        t("so", "registration.consent"),
    ]


async def test_an_emergency_is_answered_in_somali(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    t = runtime.catalogs.text
    sender = "somali-sos"
    replies = await say(client, sender, DANGER)
    assert texts(replies) == [
        t("so", "safety.emergency"),
        t("so", "handoff.position", position=1) + "\n" + t("so", "handoff.no_emergency_numbers"),
    ]
    contact = await runtime.store.contact_for("rest", sender)
    case = await runtime.handoffs.active_for(contact.id)
    assert case is not None and case.priority == "emergency" and case.language == "so"


async def test_the_language_menu_names_somali_in_somali(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    await say(client, "somali-menu", "hello")
    replies = await say(client, "somali-menu", "language")
    buttons = {b["payload"]: b["title"] for b in replies[0]["buttons"]}
    digit = str(runtime.catalogs.languages.index("so") + 1)
    assert buttons[digit] == f"{digit}. {NATIVE}"
    assert runtime.catalogs.info("so").native_name == NATIVE
    replies = await say(client, "somali-menu", digit)
    t = runtime.catalogs.text
    assert texts(replies) == [t("so", "language.changed"), t("so", "menu.main")]


async def test_a_somali_word_for_language_opens_the_language_menu(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    await say(client, "somali-luqad", OPEN)
    replies = await say(client, "somali-luqad", "luuqad")
    assert replies[0]["text"].startswith(runtime.catalogs.text("so", "language.choose"))


@pytest.fixture(scope="module")
def nlu() -> BuiltinNLU:
    return BuiltinNLU.load()


@pytest.mark.parametrize("text", SHORT)
def test_short_somali_is_somali(nlu: BuiltinNLU, text: str) -> None:
    assert nlu.parse_sync(text).language == "so", text
    # an English or Hausa session does not keep a Somali sentence of two words or more
    for other in ("en", "ha"):
        assert nlu.parse_sync(text, language_hint=other).language == "so", (text, other)


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        (GO_HOME, "register_return"),
        ("xagee laga helaa dhakhtar", "health"),
        ("walaashay booliska ayaa xiray", "detention"),
        ("raashin iyo biyo ma haysanno", "basic_needs"),
        ("waxaan rabaa inaan qof la hadlo", "talk_to_human"),
    ],
)
def test_somali_intents(nlu: BuiltinNLU, text: str, intent: str) -> None:
    result = nlu.parse_sync(text)
    assert (result.language, result.intent) == ("so", intent)


@pytest.mark.parametrize(
    ("text", "level"),
    [
        (DANGER, "emergency"),
        ("doontii ayaa degaysa biyo ayaa soo galaya", "emergency"),
        ("guriga dab ayaa qabsaday carruur ayaa gudaha ku jira", "emergency"),
        ("rag hubeysan ayaa rasaas noogu furay", "emergency"),
        ("waxay rabaan inay i dilaan hadda", "emergency"),
        ("xaaskayga ayaa foolanaysa ilmuhu soo bixi waayay", "emergency"),
        ("nolosha waan ka daalay waxaan rabaa inaan is dilo", "emergency"),
        ("shalay dhiig ayaa ka socday hadda wuu fiican yahay", "none"),
        ("walaalkay booliska ayaa qabtay xabsi ayuu ku jiraa", "urgent"),
        ("shaqo bixiyaha ayaa baasaboorkayga haysta mushaharna ma bixiyo", "urgent"),
        ("sanad ka hor ayaa la i kufsaday", "urgent"),
        (GO_HOME, "none"),
        ("gaarigii waan iibiyay", "none"),
    ],
)
def test_danger_lexicon_in_somali(text: str, level: str) -> None:
    assert default_detector().detect(text).level == level


@pytest.mark.parametrize(
    ("text", "document", "field", "sex"),
    [
        ("baasaboor waan haystaa", "valid", "document", None),
        ("wuu dhacay", "expired", None, None),
        ("baasaboor ma haysto", "none", "document", None),
        ("waa la iga xaday", "lost", None, None),
        ("magaalada waa khalad", None, "city", None),
        ("lambarka baasaboorka beddel", None, "passport_number", None),
        ("waxaan ahay naag", None, None, "female"),
        ("anigu waa nin", None, None, "male"),
    ],
)
def test_registration_words_in_somali(
    text: str, document: str | None, field: str | None, sex: str | None
) -> None:
    vocab = vocabulary()
    assert document_answer(text, vocab) == document
    assert named_field(text, vocab) == field
    assert sex_statement(text, vocab) == sex


ANSWERS = {
    "name": "Hodan Cabdi",
    "country": "Soomaaliya",
    "age": "25",
    "sex": "naag",
    "phone": "0912345678",
    "city": "Tarabulus",
    "detained": "maya",
    "document": "baasaboor ma haysto",
    "family": "keligay",
}


async def test_a_whole_registration_in_somali_words(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    t = runtime.catalogs.text
    sender = "somali-reg"
    await say(client, sender, GO_HOME)
    assert texts(await say(client, sender, YES))[-1] == t("so", "registration.ask_name")
    asked = [
        texts(await say(client, sender, ANSWERS[step]))[-1]
        for step in ("name", "country", "age", "sex", "phone", "city", "detained", "document")
    ]
    assert asked == [
        t("so", key)
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
    replies = texts(await say(client, sender, ANSWERS["family"]))
    while replies[-1] != t("so", "registration.confirm"):  # the vulnerability questions
        replies = texts(await say(client, sender, "2"))
    assert ANSWERS["name"] in replies[0]
    done = texts(await say(client, sender, YES))
    assert done[0].startswith(t("so", "registration.done", reference="LY-")[:12])
    async with runtime.db.session() as session:
        [row] = list(await session.scalars(select(Registration)))
    assert (row.country, row.city, row.document) == ("SO", "Tripoli", "none")


@pytest.mark.parametrize(
    ("text", "need"),
    [
        ("isbitaal ma ku yaal Tarabulus", "health"),
        ("xagee laga helaa cunto", "basic_needs"),
        ("qaxooti baan ahay", "refugee"),
        ("la talin nafsi ah ayaan rabaa", "mhpss"),
    ],
)
def test_service_needs_named_in_somali(text: str, need: str) -> None:
    from flows.services import ServiceDirectory

    directory = ServiceDirectory.load()
    assert directory.need_in(text) == need
    assert directory.city_name("Tripoli", "so") == "Tarabulus"


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("labaatan iyo shan", 25),
        ("shan iyo labaatan", 25),
        ("toban iyo siddeed", 18),
        ("waxaan ahay soddon iyo laba jir", 32),
        ("afar", 4),
    ],
)
def test_somali_number_words_joined_by_iyo(text: str, value: int) -> None:
    from nlu.entities import get_extractor, parse_number

    assert parse_number(text, "so") == value
    assert "connectors" not in get_extractor().numbers  # a list of words, not a language
