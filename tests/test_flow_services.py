"""The service directory (flows/content/services.yml) and the "Services and help" flow."""

from __future__ import annotations

import re
from typing import Any

import pytest

from bot import PROJECT_ROOT
from bot.i18n import Catalogs
from bot.sessions import ConversationState
from flows.base import Contact, Reply, Text, Turn
from flows.services import DEFAULT_PATH, ServiceDirectory, ServicesFlow
from nlu import BuiltinNLU, resolve_city

LANGUAGES = ("en", "ar", "fr", "ha")
NEEDS = ("health", "mhpss", "protection", "basic_needs", "return", "refugee")
ARABIC = re.compile(r"[\u0600-\u06ff]")
FAKE_PHONE = re.compile(r"\+218 91 000 0\d{3}")


@pytest.fixture(scope="session")
def nlu() -> BuiltinNLU:
    return BuiltinNLU.load()


@pytest.fixture(scope="session")
def directory() -> ServiceDirectory:
    return ServiceDirectory.load()


@pytest.fixture(scope="session")
def catalogs() -> Catalogs:
    return Catalogs(PROJECT_ROOT / "locales", LANGUAGES, "en")


@pytest.fixture
def flow(directory: ServiceDirectory) -> ServicesFlow:
    return ServicesFlow(directory)


class Chat:
    """One person talking to the services flow, turn by turn, without the router."""

    def __init__(self, flow: ServicesFlow, nlu: BuiltinNLU, language: str = "en") -> None:
        self.flow = flow
        self.nlu = nlu
        self.state = ConversationState(language=language)

    def turn(self, text: str, command: str | None = None) -> Turn:
        return Turn(
            contact=Contact(1, "sms", "+218910000999", "migrant"),
            state=self.state,
            text=text,
            parse=self.nlu.parse_sync(text),
            default_language="en",
            enabled_languages=LANGUAGES,
            command=command,
        )

    async def start(self, text: str, command: str | None = None) -> Turn:
        turn = self.turn(text, command)
        await self.flow.start(turn)
        return turn

    async def send(self, text: str) -> tuple[bool, Turn]:
        turn = self.turn(text)
        return await self.flow.handle(turn), turn


def keys(turn: Turn) -> list[str]:
    return [reply.key for reply in turn.replies]


def entries(turn: Turn) -> list[dict[str, Any]]:
    return [dict(reply.values) for reply in turn.replies if reply.key == "services.entry"]


def render(catalogs: Catalogs, reply: Reply, language: str) -> str:
    values = {
        name: catalogs.text(language, value.key) if isinstance(value, Text) else value
        for name, value in reply.values.items()
    }
    return catalogs.text(language, reply.key, count=reply.count, **values)


# -- the directory ---------------------------------------------------------------------------


def test_directory_is_marked_sample(directory: ServiceDirectory) -> None:
    assert directory.sample is True
    raw = DEFAULT_PATH.read_text(encoding="utf-8")
    assert "sample_data: true" in raw
    assert "SAMPLE DATA" in raw


def test_directory_shape(directory: ServiceDirectory) -> None:
    assert directory.needs == NEEDS
    assert 25 <= len(directory.services) <= 40
    assert len({service.id for service in directory.services}) == len(directory.services)
    assert directory.problems() == []


@pytest.mark.parametrize("need", NEEDS)
def test_every_need_has_entries_in_tripoli(directory: ServiceDirectory, need: str) -> None:
    found = directory.find(need, "Tripoli")
    assert found
    assert all(need in service.needs and "Tripoli" in service.cities for service in found)


def test_unknown_city_gives_none(directory: ServiceDirectory) -> None:
    for need in NEEDS:
        assert directory.find(need, "Atlantis") == []
    # A Libyan city the bot recognises but where nothing is listed.
    assert resolve_city("Khoms") == "Khoms"
    assert directory.find("health", "Khoms") == []
    assert directory.elsewhere("health", "Khoms")


def test_cities_are_canonical_and_cover_the_mission(directory: ServiceDirectory) -> None:
    cities = directory.cities
    assert len(cities) >= 8
    for city in cities:
        assert resolve_city(city) == city
    for city in ("Zwara", "Bani Waleed", "Sebha", "Algatroun", "Tripoli"):
        mrrm = [s for s in directory.find("basic_needs", city) if s.id.startswith("mrrm-")]
        assert mrrm, city


def test_every_entry_has_all_languages(directory: ServiceDirectory) -> None:
    for service in directory.services:
        for field in ("name", "days", "contact"):
            texts = getattr(service, field)
            for language in LANGUAGES:
                assert texts.get(language, "").strip(), (service.id, field, language)
            assert ARABIC.search(service.name["ar"]), service.id
            assert ARABIC.search(service.days["ar"]), service.id
            assert len(texts["en"]) <= 60, (service.id, field)


def test_contacts_are_fake_numbers(directory: ServiceDirectory) -> None:
    if not directory.sample:
        pytest.skip("real data: numbers are checked by staff")
    for service in directory.services:
        for language in LANGUAGES:
            contact = service.contact[language]
            numbers = re.findall(r"\+?\d[\d ]{6,}\d", contact)
            assert numbers, service.id
            assert all(FAKE_PHONE.fullmatch(number) for number in numbers), contact


def test_local_entries_come_first(directory: ServiceDirectory) -> None:
    found = directory.find("mhpss", "Sebha")
    assert [len(s.cities) == 1 for s in found] == sorted(
        (len(s.cities) == 1 for s in found), reverse=True
    )


@pytest.mark.parametrize(
    ("text", "need"),
    [
        ("where is the clinic", "health"),
        ("wen nl9a sbitar", "health"),
        ("je cherche un médecin", "health"),
        ("ina son ganin likita", "health"),
        ("أين المستشفى", "health"),
        ("وين نلقى طبيب نفسي", "mhpss"),
        ("I need a counsellor", "mhpss"),
        ("we need blankets and food", "basic_needs"),
        ("ina bukatar bargo", "basic_needs"),
        ("bghit makla", "basic_needs"),
        ("how do I register with UNHCR", "refugee"),
        ("demande d'asile", "refugee"),
        ("retour volontaire", "return"),
        ("trafficking", "protection"),
        ("hello", None),
        ("clinic and food", None),  # a tie is not a choice
    ],
)
def test_need_keywords(directory: ServiceDirectory, text: str, need: str | None) -> None:
    assert directory.need_in(text) == need


def test_missing_language_falls_back_to_english() -> None:
    directory = ServiceDirectory.from_dict(
        {
            "sample_data": False,
            "needs": {"health": {"keywords": {"en": ["clinic"]}}},
            "services": [
                {
                    "id": "x",
                    "need": "health",
                    "cities": ["Tripoli"],
                    "name": {"en": "Clinic", "fr": "Clinique"},
                    "days": {"en": "Mondays"},
                    "contact": {"en": "Call +218 91 000 0999"},
                }
            ],
        }
    )
    service = directory.services[0]
    assert directory.sample is False
    assert service.text("name", "fr") == "Clinique"
    assert service.text("name", "ha") == "Clinic"
    assert service.text("days", "ar") == "Mondays"
    assert any("missing in ar" in problem for problem in directory.problems())


def test_unknown_need_is_rejected() -> None:
    with pytest.raises(ValueError, match="needs"):
        ServiceDirectory.from_dict(
            {
                "needs": {"health": {}},
                "services": [
                    {
                        "id": "x",
                        "need": "legal",
                        "cities": ["Tripoli"],
                        "name": {"en": "a"},
                        "days": {"en": "b"},
                        "contact": {"en": "c"},
                    }
                ],
            }
        )


# -- the flow --------------------------------------------------------------------------------


async def test_clinic_in_sabha_answers_in_one_turn(
    flow: ServicesFlow, nlu: BuiltinNLU, directory: ServiceDirectory
) -> None:
    chat = Chat(flow, nlu)
    turn = await chat.start("where is the clinic in Sabha")
    assert chat.state.flow == "services"
    assert chat.state.step == "more"
    assert chat.state.data == {"need": "health", "city": "Sebha"}
    assert keys(turn)[0] == "services.result_header"
    header = turn.replies[0].values
    assert header["need"] == Text("services.need.health")
    assert header["city"] == "Sebha"
    shown = entries(turn)
    expected = directory.find("health", "Sebha")
    assert 1 <= len(shown) <= 3
    assert [e["name"] for e in shown] == [s.name["en"] for s in expected[:3]]
    assert keys(turn)[-2:] == ["services.sample_notice", "services.more"]


async def test_digits_path(flow: ServicesFlow, nlu: BuiltinNLU) -> None:
    chat = Chat(flow, nlu)
    turn = await chat.start("2")  # the main menu's "services": not a need
    assert keys(turn) == ["services.ask_need"]
    options = turn.replies[0].options
    assert [o.number for o in options] == ["1", "2", "3", "4", "5", "6"]
    assert [o.key for o in options] == [f"services.need.{need}" for need in NEEDS]
    assert chat.state.step == "need"

    handled, turn = await chat.send("4")
    assert handled
    assert keys(turn) == ["services.ask_city"]
    assert chat.state.data == {"need": "basic_needs"}

    handled, turn = await chat.send("trablus")
    assert handled
    assert keys(turn)[0] == "services.result_header"
    assert entries(turn)
    assert chat.state.data == {"need": "basic_needs", "city": "Tripoli"}

    # After the answer: another need by number, the same city.
    handled, turn = await chat.send("1")
    assert handled
    assert chat.state.data == {"need": "health", "city": "Tripoli"}
    assert turn.replies[0].values["need"] == Text("services.need.health")

    # Another city, the same need.
    handled, turn = await chat.send("Misurata")
    assert handled
    assert chat.state.data == {"need": "health", "city": "Misrata"}
    assert all("Misrata" in e["name"] for e in entries(turn))


async def test_invalid_city_is_reasked(flow: ServicesFlow, nlu: BuiltinNLU) -> None:
    chat = Chat(flow, nlu)
    await chat.start("i need food")
    assert chat.state.step == "city"
    handled, turn = await chat.send("blabla xyz")
    assert handled is False
    assert turn.replies == []
    await flow.reask(turn)
    assert keys(turn) == ["services.ask_city"]
    assert chat.state.data == {"need": "basic_needs"}


async def test_invalid_need_is_reasked(flow: ServicesFlow, nlu: BuiltinNLU) -> None:
    chat = Chat(flow, nlu)
    await chat.start("2")
    for text in ("9", "blabla xyz"):
        handled, turn = await chat.send(text)
        assert handled is False
        assert turn.replies == []
        await flow.reask(turn)
        assert keys(turn) == ["services.ask_need"]
        assert len(turn.replies[0].options) == 6


async def test_invalid_answer_after_result(flow: ServicesFlow, nlu: BuiltinNLU) -> None:
    chat = Chat(flow, nlu)
    await chat.start("where is the clinic in Sabha")
    handled, turn = await chat.send("qwerty")
    assert handled is False
    assert turn.replies == []
    await flow.reask(turn)
    assert keys(turn) == ["services.more"]


async def test_thanks_and_goodbye_after_result(flow: ServicesFlow, nlu: BuiltinNLU) -> None:
    chat = Chat(flow, nlu)
    await chat.start("where is the clinic in Sabha")
    handled, turn = await chat.send("thank you")
    assert handled
    assert keys(turn) == ["reply.thanks"]
    assert chat.state.step == "more"
    handled, turn = await chat.send("bye bye")
    assert handled
    assert keys(turn) == ["reply.goodbye"]
    assert chat.state.flow is None


async def test_city_first_then_need(flow: ServicesFlow, nlu: BuiltinNLU) -> None:
    chat = Chat(flow, nlu)
    turn = await chat.start("what help is there in Zwara")
    assert keys(turn) == ["services.ask_need"]
    assert chat.state.data == {"city": "Zwara"}
    handled, turn = await chat.send("1")
    assert handled
    assert keys(turn)[0] == "services.result_header"
    assert chat.state.data == {"city": "Zwara", "need": "health"}


async def test_nothing_in_city_shows_other_cities(
    flow: ServicesFlow, nlu: BuiltinNLU, directory: ServiceDirectory
) -> None:
    chat = Chat(flow, nlu)
    await chat.start("i need food")
    handled, turn = await chat.send("Ghadamis")
    assert handled
    assert keys(turn)[0] == "services.none"
    assert turn.replies[0].values == {"need": Text("services.need.basic_needs"), "city": "Ghadamis"}
    shown = entries(turn)
    assert [e["name"] for e in shown] == [
        s.name["en"] for s in directory.elsewhere("basic_needs", "Ghadamis")[:2]
    ]
    assert keys(turn)[-2:] == ["services.sample_notice", "services.more"]


async def test_no_sample_notice_for_real_data(nlu: BuiltinNLU) -> None:
    directory = ServiceDirectory.from_dict(
        {
            "sample_data": False,
            "needs": {need: {} for need in NEEDS},
            "services": [
                {
                    "id": "x",
                    "need": "health",
                    "cities": ["Tripoli"],
                    "name": {"en": "Clinic"},
                    "days": {"en": "Mondays"},
                    "contact": {"en": "Call"},
                }
            ],
        }
    )
    chat = Chat(ServicesFlow(directory), nlu)
    turn = await chat.start("I am sick, where is a doctor in Tripoli")
    assert "services.sample_notice" not in keys(turn)
    assert entries(turn) == [{"name": "Clinic", "days": "Mondays", "contact": "Call"}]


async def test_continue_resumes_where_it_was(flow: ServicesFlow, nlu: BuiltinNLU) -> None:
    chat = Chat(flow, nlu)
    await chat.start("2")
    await chat.send("1")
    assert chat.state.step == "city"
    chat.state.pause()
    assert chat.state.flow is None
    turn = await chat.start("continue", command="continue")
    assert chat.state.flow == "services"
    assert chat.state.step == "city"
    assert chat.state.data == {"need": "health"}
    assert keys(turn) == ["services.ask_city"]


@pytest.mark.parametrize(
    ("language", "text", "need", "city"),
    [
        ("en", "where is the clinic in Sabha", "health", "Sebha"),
        ("ar", "wen nl9a sbitar fi tripoli", "health", "Tripoli"),
        ("ar", "وين نلقى طبيب في سبها", "health", "Sebha"),
        ("fr", "je cherche un médecin à Tripoli", "health", "Tripoli"),
        ("fr", "où trouver des couvertures à Misrata", "basic_needs", "Misrata"),
        ("ha", "ina son abinci a Sabha", "basic_needs", "Sebha"),
        ("ha", "ina asibiti a Benghazi", "health", "Benghazi"),
    ],
)
async def test_four_languages(
    flow: ServicesFlow,
    nlu: BuiltinNLU,
    directory: ServiceDirectory,
    catalogs: Catalogs,
    language: str,
    text: str,
    need: str,
    city: str,
) -> None:
    chat = Chat(flow, nlu, language)
    turn = await chat.start(text)
    assert chat.state.data == {"need": need, "city": city}
    expected = directory.find(need, city)[:3]
    shown = entries(turn)
    assert shown == [
        {
            "name": s.name[language],
            "days": s.days[language],
            "contact": s.contact[language],
        }
        for s in expected
    ]
    header = render(catalogs, turn.replies[0], language)
    assert directory.city_name(city, language) in header
    assert catalogs.text(language, f"services.need.{need}") in header
    for reply in turn.replies:
        assert catalogs.has(language, reply.key), reply.key
        rendered = render(catalogs, reply, language)
        assert "{" not in rendered, rendered
        if language == "ar":
            assert ARABIC.search(rendered), rendered


@pytest.mark.parametrize(
    ("text", "needs"),
    [
        ("clinic and food", ["health", "basic_needs"]),
        ("my wife is sick we need a doctor and blankets", ["health", "basic_needs"]),
        ("where is the clinic", ["health"]),
        ("hello", []),
    ],
)
def test_every_need_a_message_names(
    directory: ServiceDirectory, text: str, needs: list[str]
) -> None:
    assert directory.needs_in(text) == needs


async def test_a_second_need_is_offered_after_the_answer(
    flow: ServicesFlow, nlu: BuiltinNLU, directory: ServiceDirectory
) -> None:
    """A doctor and blankets: the first need answered, the other one number away, and its
    number answers it (without offering it again)."""
    chat = Chat(flow, nlu)
    turn = await chat.start("we need a doctor and blankets in Sabha")
    assert chat.state.step == "more"
    also = [reply for reply in turn.replies if reply.key == "services.also_asked"]
    assert len(also) == 1
    [option] = also[0].options
    answered = turn.replies[0].values["need"]
    other = "basic_needs" if answered == Text("services.need.health") else "health"
    assert option.key == f"services.need.{other}"
    assert option.number == str(directory.needs.index(other) + 1)
    handled, second = await chat.send(option.number)
    assert handled
    assert second.replies[0].values["need"] == Text(f"services.need.{other}")
    assert "services.also_asked" not in keys(second)
