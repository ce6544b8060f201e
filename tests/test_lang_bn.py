"""Bengali (issue 15), in Bengali script and in Latin letters as Bangladeshis in Libya often
write it: whole conversations through the REST endpoint, language identification on short
messages (Latin-letter Bengali against English and Hausa), the danger lexicon and the voice line.
The phrases here are written for these tests, not taken from any held-out set."""

from __future__ import annotations

from datetime import date

import httpx
import pytest
from sqlalchemy import select

from bot.channels.voice.prompts import VOICE_PROFILES, load_voice_profiles
from bot.runtime import Runtime
from bot.storage.models import Registration
from flows.registration import document_answer, named_field, sex_statement, vocabulary
from nlu import BuiltinNLU
from nlu.danger import default_detector
from tests.rest_chat import say, texts
from tests.test_channel_voice import Caller, Line, heard
from tests.test_channel_voice import open_line as open_line  # the voice line's fixture

# "bn" in Bengali script, "bn@Latn" in Latin letters: both are the language bn.
WRITINGS = ["script", "latin"]

OPEN = {"script": "আসসালামু আলাইকুম ভাই কেমন আছেন", "latin": "assalamualaikum bhai kemon achen"}
GO_HOME = {"script": "আমি দেশে ফিরে যেতে চাই", "latin": "ami bari jete chai"}
YES = {"script": "হ্যাঁ", "latin": "ji"}
DANGER = {
    "script": "আমার ভাইয়ের অনেক রক্ত পড়ছে তাড়াতাড়ি আসেন",
    "latin": "amar bhai er onek rokto porche taratari ashen",
}

# One to six words, Bengali's own words (আমি / আমার / চাই / নাই / করেন / ভাই).
SHORT = {
    "script": [
        "সাহায্য দরকার",
        "ভাই একটু সাহায্য করেন",
        "আমি ত্রিপলিতে আছি",
        "আমার শরীর খারাপ",
        "হাতে টাকা নাই",
        "দুই দিন খাই নাই",
        "বাংলাদেশ যাইতে চাই",
        "আমার ভাই জেলে",
        "ধন্যবাদ ভাই",
        "একজন মানুষের সাথে কথা বলব",
    ],
    "latin": [
        "ami desh e jabo",
        "amar passport nai",
        "amake ektu sahajjo koren",
        "ami tripoli te achi",
        "amar shorir valo na",
        "hate taka nai",
        "amar bhai jail e ase",
        "onek dhonnobad bhai",
        "manusher sathe kotha bolbo",
        "kafil amar beton dey na",
        "ami bangladeshi",
        "amar case er ki khobor",
    ],
}
# English and Hausa of the same length are not taken for Bengali in Latin letters.
NOT_BENGALI = {
    "en": ["i want to go home", "my passport is lost", "please help me", "where is the clinic"],
    "ha": ["ina son komawa gida", "don allah ku taimake ni", "ina asibiti yake", "na gode sosai"],
}


@pytest.mark.parametrize("writing", WRITINGS)
async def test_greeting_menu_and_going_home(
    client: httpx.AsyncClient, runtime: Runtime, writing: str
) -> None:
    t = runtime.catalogs.text
    sender = f"bn-{writing}"
    replies = await say(client, sender, OPEN[writing])
    assert texts(replies)[:2] == [t("bn", "welcome.first"), t("bn", "menu.main")]
    menu = replies[1]
    assert menu["buttons"][0]["title"] == "1. " + t("bn", "menu.option.return")
    assert menu["metadata"]["direction"] == "ltr"
    replies = await say(client, sender, GO_HOME[writing])
    assert texts(replies) == [
        t("bn", "registration.intro.1"),
        t("bn", "registration.intro.2"),
        t("bn", "registration.consent"),
    ]
    replies = await say(client, sender, YES[writing])
    assert texts(replies)[-1] == t("bn", "registration.ask_name")


@pytest.mark.parametrize("writing", WRITINGS)
async def test_going_home_as_a_first_message(
    client: httpx.AsyncClient, runtime: Runtime, writing: str
) -> None:
    t = runtime.catalogs.text
    replies = await say(client, f"bn-home-{writing}", GO_HOME[writing])
    assert texts(replies) == [
        t("bn", "welcome.first"),
        t("bn", "registration.intro.1"),
        t("bn", "registration.intro.2"),
        t("bn", "registration.consent"),
    ]


@pytest.mark.parametrize("writing", WRITINGS)
async def test_an_emergency_is_answered_in_bengali(
    client: httpx.AsyncClient, runtime: Runtime, writing: str
) -> None:
    t = runtime.catalogs.text
    sender = f"bn-sos-{writing}"
    replies = await say(client, sender, DANGER[writing])
    assert texts(replies) == [
        t("bn", "safety.emergency"),
        t("bn", "handoff.position", position=1) + "\n" + t("bn", "handoff.no_emergency_numbers"),
    ]
    contact = await runtime.store.contact_for("rest", sender)
    case = await runtime.handoffs.active_for(contact.id)
    assert case is not None and case.priority == "emergency" and case.language == "bn"


async def test_the_language_menu_names_bengali_in_its_own_script(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    await say(client, "bn-menu", "hello")
    replies = await say(client, "bn-menu", "language")
    buttons = {b["payload"]: b["title"] for b in replies[0]["buttons"]}
    languages = runtime.catalogs.languages
    digit = str(languages.index("bn") + 1)
    assert buttons[digit] == f"{digit}. বাংলা"
    assert runtime.catalogs.info("bn").native_name == "বাংলা"
    replies = await say(client, "bn-menu", digit)
    t = runtime.catalogs.text
    assert texts(replies) == [t("bn", "language.changed"), t("bn", "menu.main")]


@pytest.fixture(scope="module")
def nlu() -> BuiltinNLU:
    return BuiltinNLU.load()


@pytest.mark.parametrize("writing", WRITINGS)
def test_short_bengali_messages_are_bengali(nlu: BuiltinNLU, writing: str) -> None:
    script = "Beng" if writing == "script" else "Latn"
    for text in SHORT[writing]:
        result = nlu.parse_sync(text)
        assert (result.language, result.script) == ("bn", script), text
    # An English or Hausa session does not keep a Bengali sentence of two words or more.
    for hint in ("en", "ha"):
        for text in SHORT[writing]:
            if len(text.split()) >= 2:
                assert nlu.parse_sync(text, language_hint=hint).language == "bn", (hint, text)


@pytest.mark.parametrize("language", sorted(NOT_BENGALI))
def test_english_and_hausa_are_not_taken_for_latin_bengali(nlu: BuiltinNLU, language: str) -> None:
    for text in NOT_BENGALI[language]:
        assert nlu.parse_sync(text).language == language, text
        assert nlu.parse_sync(text, language_hint="bn").language == language, text


def test_latin_bengali_is_its_own_class_reported_as_bengali(nlu: BuiltinNLU) -> None:
    guess = nlu.identify_language("ami deshe firte chai")
    assert (guess.language, guess.variant, guess.script) == ("bn", "bn", "Latn")


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("আমি দেশে ফিরে যেতে চাই", "register_return"),
        ("ami bari jete chai", "register_return"),
        ("আমার জ্বর ডাক্তার লাগবে", "health"),
        ("amar jor doctor lagbe", "health"),
        ("খাবার নাই কয়দিন ধরে", "basic_needs"),
        ("khabar nai koydin dhore", "basic_needs"),
        ("কাফিল বেতন দেয় না", "protection"),
        ("একজন মানুষের সাথে কথা বলতে চাই", "talk_to_human"),
        ("amar case er ki khobor", "case_status"),
    ],
)
def test_bengali_intents(nlu: BuiltinNLU, text: str, intent: str) -> None:
    assert nlu.parse_sync(text).intent == intent, text


def test_bengali_entities(nlu: BuiltinNLU) -> None:
    found = {(e.entity, e.value) for e in nlu.parse_sync("আমি ত্রিপলিতে আছি, বাংলাদেশে যাবো").entities}
    assert {("city", "Tripoli"), ("country", "BD")} <= found
    found = {(e.entity, e.value) for e in nlu.parse_sync("amra pach jon misrata te achi").entities}
    assert {("city", "Misrata"), ("number", "5")} <= found

    # Bengali digits, month names and number words, in both scripts
    def value(text: str, name: str) -> str:
        entity = nlu.parse_sync(text).entity(name)
        assert entity is not None, (text, name)
        return entity.value

    assert value("আমার জন্ম ১২ মার্চ ১৯৯৫", "date") == "1995-03-12"
    assert value("amar boyos pochish", "number") == "25"
    assert value("আমার বয়স পঁচিশ", "number") == "25"
    assert value("আমার নম্বর ০৯১২৩৪৫৬৭৮", "phone") == "+218912345678"


def test_dates_in_replies_use_bengali_month_names(runtime: Runtime) -> None:
    assert "মার্চ" in runtime.catalogs.format_value("bn", date(2026, 3, 5))


@pytest.mark.parametrize(
    ("text", "level"),
    [
        (DANGER["script"], "emergency"),
        (DANGER["latin"], "emergency"),
        ("নৌকায় পানি ঢুকছে আমরা ডুবে যাচ্ছি", "emergency"),
        ("boat e pani dhukche engine bondho", "emergency"),
        ("ঘরে আগুন লাগছে বাচ্চারা ভিতরে", "emergency"),
        ("ওরা বলছে টাকা না দিলে মেরে ফেলবে", "urgent"),  # a threat with a condition
        ("ora amader marche ekhon", "emergency"),
        ("আমি আর বাঁচতে চাই না", "emergency"),
        ("গতকাল রক্ত পড়ছিল এখন ভালো আছে", "none"),
        ("gotokal rokto porchilo ekhon valo ache", "none"),
        ("আমার ভাইকে পুলিশ ধরে নিয়ে গেছে", "urgent"),
        ("amake sijn e rakhse", "urgent"),
        ("কাফিল আমার পাসপোর্ট রেখে দিছে", "urgent"),
        ("দুই বছর আগে আমাকে ধর্ষণ করেছে", "urgent"),
        (GO_HOME["script"], "none"),
        (GO_HOME["latin"], "none"),
        ("রক্ত পরীক্ষা করাতে চাই", "none"),
    ],
)
def test_danger_lexicon_in_bengali(text: str, level: str) -> None:
    assert default_detector().detect(text).level == level


@pytest.mark.parametrize(
    ("text", "document", "field", "sex"),
    [
        ("পাসপোর্ট আছে", "valid", "document", None),
        ("মেয়াদ শেষ", "expired", None, None),
        ("পাসপোর্ট নাই", "none", "document", None),
        ("হারিয়ে গেছে", "lost", None, None),
        ("শহর বদলান", None, "city", None),
        ("আমি মহিলা", None, None, "female"),
        ("passport nai", "none", "document", None),
        ("meyad shesh", "expired", None, None),
        ("amar nam vul", None, "name", None),
        ("ami purush", None, None, "male"),
    ],
)
def test_registration_words_in_bengali(
    text: str, document: str | None, field: str | None, sex: str | None
) -> None:
    vocab = vocabulary()
    assert document_answer(text, vocab) == document
    assert named_field(text, vocab) == field
    assert sex_statement(text, vocab) == sex


# A whole registration answered in words, in each writing.
ANSWERS = {
    "script": {
        "name": "রহিমা খাতুন",
        "country": "বাংলাদেশ",
        "age": "২৫",
        "sex": "মহিলা",
        "phone": "0912345678",
        "city": "ত্রিপলি",
        "detained": "না",
        "document": "পাসপোর্ট নাই",
        "family": "একা",
    },
    "latin": {
        "name": "Rahim Uddin",
        "country": "bangladesh",
        "age": "30",
        "sex": "purush",
        "phone": "0923456789",
        "city": "tripoli",
        "detained": "na",
        "document": "passport nai",
        "family": "ami eka",
    },
}


@pytest.mark.parametrize("writing", WRITINGS)
async def test_a_whole_registration_in_words(
    client: httpx.AsyncClient, runtime: Runtime, writing: str
) -> None:
    t = runtime.catalogs.text
    sender = f"bn-reg-{writing}"
    answers = ANSWERS[writing]
    await say(client, sender, GO_HOME[writing])
    assert texts(await say(client, sender, YES[writing]))[-1] == t("bn", "registration.ask_name")
    asked = [
        texts(await say(client, sender, answers[step]))[-1]
        for step in ("name", "country", "age", "sex", "phone", "city", "detained", "document")
    ]
    assert asked == [
        t("bn", key)
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
    while replies[-1] != t("bn", "registration.confirm"):  # the vulnerability questions
        replies = texts(await say(client, sender, "2"))
    assert answers["name"] in replies[0]
    done = texts(await say(client, sender, YES[writing]))
    assert done[0].startswith(t("bn", "registration.done", reference="LY-")[:12])
    async with runtime.db.session() as session:
        [row] = list(await session.scalars(select(Registration)))
    assert (row.country, row.city, row.document) == ("BD", "Tripoli", "none")


@pytest.mark.parametrize(
    ("text", "need"),
    [
        ("ত্রিপলিতে কোন ক্লিনিক আছে", "health"),
        ("খাবার কোথায় পাব", "basic_needs"),
        ("মানসিক চাপে আছি কারো সাথে কথা বলতে চাই", "mhpss"),
        ("hospital kothay", "health"),
    ],
)
def test_service_needs_named_in_bengali(text: str, need: str) -> None:
    from flows.services import ServiceDirectory

    directory = ServiceDirectory.load()
    assert directory.need_in(text) == need
    assert directory.city_name("Tripoli", "bn") == "ত্রিপলি"


def test_bengali_is_spoken_with_a_twilio_google_voice() -> None:
    profile = load_voice_profiles()["bn"]
    assert profile.voice == "Google.bn-IN-Standard-A" and profile.say_language == "bn-IN"
    assert profile.speech_language == "bn-BD"
    assert VOICE_PROFILES["bn"] == profile


async def test_a_caller_who_chooses_bengali_hears_bengali(open_line: Line) -> None:
    """The voice line speaks Bengali with Twilio's Google voice, as it does English, French and
    Arabic: offered on the language menu in Bengali, then every prompt in Bengali."""
    runtime, http = await open_line()
    caller = Caller(http)
    menu = await caller.dial()
    # The voice menu numbers the languages it offers: those Twilio speaks (and recorded ones).
    digit = [c for c in runtime.catalogs.languages if c in VOICE_PROFILES].index("bn") + 1
    assert heard(runtime, menu, "bn", "voice.language.choose", digit=digit)
    main = await caller.press(menu, str(digit))
    assert heard(runtime, main, "bn", "voice.welcome")
    assert heard(runtime, main, "bn", "voice.menu.main")
    says = [s for s in main.iter("Say")]
    assert says and all(s.attrib["voice"] == "Google.bn-IN-Standard-A" for s in says)
    assert caller.gather(main).attrib["language"] == "bn-BD"


def test_operators_have_canned_replies_in_bengali(runtime: Runtime) -> None:
    """The console's ready answers exist in Bengali, in Bengali script, beside the English."""
    from bot.handoffs.canned import canned_replies

    replies = canned_replies(runtime.catalogs, "bn", name="Sara", hours="9:00-17:00")
    assert replies and all(r.language == "bn" and r.direction == "ltr" for r in replies)
    for reply in replies:
        assert reply.text != reply.english
        assert any("\u0980" <= ch <= "\u09ff" for ch in reply.text), reply.name


async def test_the_web_chat_page_in_bengali(client: httpx.AsyncClient, runtime: Runtime) -> None:
    """A phone set to Bengali (or ?lang=bn) gets the web chat in Bengali."""
    t = runtime.catalogs.text
    for page in (
        await client.get("/chat", params={"lang": "bn"}),
        await client.get("/chat", headers={"accept-language": "bn-BD,bn;q=0.9,en;q=0.5"}),
    ):
        assert page.status_code == 200
        assert '<html lang="bn"' in page.text
        assert t("bn", "webchat.title") in page.text
        assert t("bn", "webchat.intro_danger") in page.text
