"""Commands only when meant (issue 13), digits read the same on every answer path and CONTINUE
with nothing to resume (issue 16), disclosures answered: the router and the flows with the
trained NLU, without a database."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from bot.sessions import ConversationState
from flows import build_conversation
from flows.base import Contact, OpenHandoff, Turn
from flows.registration import STEPS, valid_name
from flows.router import Conversation
from nlu import BuiltinNLU

LANGUAGES = ("en", "ar", "fr", "ha")
ANSWERS_BEFORE_CITY = {
    "name": "Amina Bello",
    "country": "NG",
    "age": 30,
    "birth_year": 1995,
    "sex": "female",
    "phone": "+218912345678",
}


@dataclass
class NewCase:
    reference: str
    existing: bool
    id: int


class FakeCases:
    def __init__(self) -> None:
        self.registered: list[dict[str, Any]] = []

    async def register(self, **values: Any) -> NewCase:
        self.registered.append(values)
        return NewCase("LY-ABC123", False, 7)


class Talk:
    """One person talking to the whole conversation (router and flows), turn by turn."""

    def __init__(self, conversation: Conversation, nlu: BuiltinNLU, language: str) -> None:
        self.conversation, self.nlu = conversation, nlu
        self.state = ConversationState(language=language)
        self.cases = FakeCases()

    async def __call__(self, text: str) -> Turn:
        turn = Turn(
            contact=Contact(1, "rest", "tester", "migrant"),
            state=self.state,
            text=text,
            parse=self.nlu.parse_sync(text, self.state.language),
            default_language="en",
            enabled_languages=LANGUAGES,
            registrations=self.cases,  # type: ignore[arg-type]
        )
        await self.conversation.respond(turn)
        return turn

    def at(self, step: str, **answers: Any) -> Talk:
        """Put the person at a registration question, consent given."""
        self.state.enter("registration", step)
        self.state.data.update(consent=True, history=[], answers=dict(answers))
        return self


def keys(turn: Turn) -> list[str]:
    return [reply.key for reply in turn.replies]


def kinds(turn: Turn) -> list[str]:
    return [signal.kind for signal in turn.signals]


CONFIRMS = {"command.confirm_stop", "command.confirm_language", "erase.explain"}
COMMAND_REPLIES = CONFIRMS | {"stop.confirmed", "language.choose", "menu.main"}


def acted_on_command(turn: Turn) -> bool:
    """Opted out, erased, asked to confirm a command, or taken to the language or main menu."""
    return bool(set(kinds(turn)) & {"opt_out", "erase"} or set(keys(turn)) & COMMAND_REPLIES)


@pytest.fixture(scope="module")
def conversation() -> Conversation:
    return build_conversation(LANGUAGES)


@pytest.fixture
def talk(conversation: Conversation, builtin_nlu: BuiltinNLU) -> Any:
    return lambda language="en": Talk(conversation, builtin_nlu, language)


# -- a name, a place, an address or a story is never a command -------------------------------

NAMES = [  # names holding a word that means stop, delete or language somewhere
    ("en", "Stopford Mensah"),
    ("en", "Amina Stop"),
    ("en", "Delete Musa"),
    ("fr", "Fatou Arrêt"),
    ("fr", "Marie Langue"),
    ("ar", "زينب توقف"),
    ("ar", "محمد وقف"),
    ("ar", "Zainab wa9ef"),  # Arabizi
    ("ar", "Mohamed lougha"),
    ("ha", "Musa Daina"),
    ("ha", "Daina Bello"),
    ("ha", "Hauwa Harshe"),
]


@pytest.mark.parametrize("name", ["Mo7amed 3abdallah", "Zainab wa9ef", "5alid el Sa3di"])
def test_arabizi_names_are_valid_names(name: str) -> None:
    assert valid_name(name) == name


@pytest.mark.parametrize("text", ["Amina 12", "Musa 0912345678", "alert(1)", "Awa ٣"])
def test_numbers_are_no_names(text: str) -> None:
    assert valid_name(text) is None


@pytest.mark.parametrize(("language", "name"), NAMES)
async def test_a_name_with_a_command_word_is_the_name(talk: Any, language: str, name: str) -> None:
    person = talk(language).at("name")
    turn = await person(name)
    assert not acted_on_command(turn), (keys(turn), kinds(turn))
    assert person.state.flow == "registration" and person.state.step == "country"
    assert person.state.data["answers"]["name"] == name


async def test_the_reported_name_is_not_stop(talk: Any) -> None:
    """Issue 13: classified `stop` (0.90, as French) and the person was opted out."""
    person = talk("en").at("name")
    turn = await person("Zainab <script>alert(1)</script> Testname")
    assert not acted_on_command(turn), (keys(turn), kinds(turn))
    assert person.state.flow == "registration"
    assert keys(turn)[0] == "registration.invalid_name"  # a name has no digits: asked again


PLACES = [  # where someone is detained, as people write it
    ("en", "near the bus stop in Gargaresh"),
    ("fr", "à l'arrêt de bus de Gargaresh"),
    ("ar", "محطة وقف الحافلات في قرقارش"),
    ("ar", "9rib mel wa9fa mta3 el bus f Gargaresh"),
    ("ha", "a Gargaresh inda motoci ke daina tafiya"),
    ("ha", "Tarik al Sikka kusa da wurin tsayawar mota"),
]


@pytest.mark.parametrize(("language", "place"), PLACES)
async def test_an_address_with_a_command_word_is_the_answer(
    talk: Any, language: str, place: str
) -> None:
    person = talk(language).at("detention_place", **ANSWERS_BEFORE_CITY, city="Tripoli")
    person.state.data["answers"]["detained"] = True
    turn = await person(place)
    assert not acted_on_command(turn), (keys(turn), kinds(turn))
    assert person.state.data["answers"]["detention_place"] == place
    assert person.state.step == "document"


CITIES = [("en", "Sebha"), ("ar", "سبها"), ("fr", "Tripoli"), ("ha", "Misrata"), ("ar", "طرابلس")]


@pytest.mark.parametrize(("language", "city"), CITIES)
async def test_a_city_is_the_answer(talk: Any, language: str, city: str) -> None:
    person = talk(language).at("city", **ANSWERS_BEFORE_CITY)
    turn = await person(city)
    assert not acted_on_command(turn), (keys(turn), kinds(turn))
    assert person.state.data["answers"]["city"] in {"Sebha", "Tripoli", "Misrata"}


STORIES = [  # long messages that merely mention stopping, deleting or a language
    ("en", "my boss told me to stop coming to work, I need help going home"),
    ("en", "the police told us to stop at the checkpoint and took our phones, we want to go home"),
    ("en", "I stopped working because my leg is broken, where is a clinic"),
    ("en", "my friend changed his language to French at school, I want to register for return"),
    ("fr", "mon patron m'a dit d'arrêter de venir au travail, je veux rentrer chez moi"),
    ("ar", "الكفيل قال لي توقف عن العمل، نبي نرجع لبلادي"),
    ("ar", "el patron 9alli wa9ef el khedma, nbi nrawa7 lbladi"),
    ("ha", "maigida ya ce in daina zuwa aiki, ina so in koma gida"),
]


@pytest.mark.parametrize(("language", "story"), STORIES)
async def test_a_story_mentioning_stop_is_no_command(talk: Any, language: str, story: str) -> None:
    for where in ("menu", "city"):
        person = talk(language)
        if where == "city":
            person.at("city", **ANSWERS_BEFORE_CITY)
        turn = await person(story)
        assert not set(kinds(turn)) & {"opt_out", "erase"}, (where, kinds(turn))
        assert not set(keys(turn)) & CONFIRMS, (where, keys(turn))


# -- real commands still work everywhere ---------------------------------------------------

STOPS = [
    ("en", "STOP"),
    ("en", "stop"),
    ("en", "please stop sending me messages"),
    ("fr", "arrêt"),
    ("fr", "stop"),
    ("ar", "قف"),
    ("ar", "توقف"),
    ("ar", "wa9ef"),
    ("ha", "daina"),
    ("ha", "ku daina turo min sako"),
]
WHERE = ("menu", "name", "city", "family")


def place(person: Talk, where: str) -> Talk:
    if where == "name":
        return person.at("name")
    if where == "city":
        return person.at("city", **ANSWERS_BEFORE_CITY)
    if where == "family":
        return person.at("family", **ANSWERS_BEFORE_CITY, city="Sebha", detained=False)
    return person


@pytest.mark.parametrize(("language", "text"), STOPS)
async def test_stop_works_everywhere(talk: Any, language: str, text: str) -> None:
    for where in WHERE:
        turn = await place(talk(language), where)(text)
        assert kinds(turn) == ["opt_out"], (where, keys(turn))
        assert keys(turn) == ["stop.confirmed"]


ERASES = [
    ("en", "delete my data"),
    ("fr", "supprimer mes données"),
    ("ar", "امسح بياناتي"),
    ("ar", "imsa7 bayanati"),
    ("ha", "a goge bayanaina"),
]


@pytest.mark.parametrize(("language", "text"), ERASES)
async def test_erasure_is_asked_then_done_everywhere(talk: Any, language: str, text: str) -> None:
    for where in WHERE:
        person = place(talk(language), where)
        turn = await person(text)
        assert keys(turn) == ["erase.explain"] and not turn.signals, where
        turn = await person("1")
        assert kinds(turn) == ["erase"] and keys(turn) == ["erase.done"], where


MENUS = [("en", "menu"), ("en", "0"), ("ar", "٠"), ("ar", "القائمة"), ("fr", "menu"), ("ha", "0")]


@pytest.mark.parametrize(("language", "text"), MENUS)
async def test_menu_works_everywhere_but_the_family_size(
    talk: Any, language: str, text: str
) -> None:
    for where in ("menu", "name", "city"):
        turn = await place(talk(language), where)(text)
        assert keys(turn) == ["menu.main"], where


LANGUAGE_WORDS = [
    ("en", "language"),
    ("en", "change language"),
    ("fr", "langue"),
    ("ar", "اللغة"),
    ("ar", "lougha"),
    ("ha", "harshe"),
]


@pytest.mark.parametrize(("language", "text"), LANGUAGE_WORDS)
async def test_language_change_works_everywhere(talk: Any, language: str, text: str) -> None:
    for where in ("menu", "name", "city"):
        person = place(talk(language), where)
        turn = await person(text)
        assert keys(turn) == ["language.choose"], where
        if where != "menu":  # the registration waits to be resumed
            assert "registration" in person.state.paused


# -- likely but not sure: asked first; yes acts, no goes back to the question -----------------

LIKELY_STOP = {  # a name at the city question: no city, and it leans to STOP
    "en": "Amina Stop",
    "fr": "Fatou Arrêt",
    "ar": "زينب توقف",
    "ha": "Musa Daina",
}


@pytest.mark.parametrize("language", LANGUAGES)
async def test_a_likely_stop_is_asked_no_goes_back_to_the_question(
    talk: Any, language: str
) -> None:
    person = talk(language).at("city", **ANSWERS_BEFORE_CITY)
    turn = await person(LIKELY_STOP[language])
    assert keys(turn) == ["command.confirm_stop"] and not turn.signals
    assert [o.number for o in turn.replies[0].options] == ["1", "2"]
    turn = await person("2")
    assert keys(turn) == ["registration.ask_city"] and not turn.signals
    assert person.state.data["answers"] == ANSWERS_BEFORE_CITY  # nothing lost
    turn = await person("Sebha")  # and the question is answered as before
    assert person.state.data["answers"]["city"] == "Sebha"
    assert keys(turn) == ["registration.ask_detained"]


@pytest.mark.parametrize("language", LANGUAGES)
async def test_a_likely_stop_is_asked_yes_stops(talk: Any, language: str) -> None:
    person = talk(language).at("city", **ANSWERS_BEFORE_CITY)
    await person(LIKELY_STOP[language])
    turn = await person("1")
    assert kinds(turn) == ["opt_out"] and keys(turn) == ["stop.confirmed"]


async def test_a_likely_stop_outside_any_flow_is_asked(talk: Any) -> None:
    person = talk("en")
    turn = await person("Amina Stop")
    assert keys(turn) == ["command.confirm_stop"] and not turn.signals
    turn = await person("no")
    assert keys(turn) == ["menu.main"] and not turn.signals


async def test_a_likely_language_change_and_erasure_are_asked(talk: Any) -> None:
    person = talk("fr").at("city", **ANSWERS_BEFORE_CITY)
    assert keys(await person("Marie Langue")) == ["command.confirm_language"]
    assert keys(await person("non")) == ["registration.ask_city"]
    assert keys(await person("Marie Langue")) == ["command.confirm_language"]
    assert keys(await person("oui")) == ["language.choose"]
    person = talk("en").at("city", **ANSWERS_BEFORE_CITY)
    assert keys(await person("Delete Musa")) == ["erase.explain"]
    turn = await person("2")
    assert keys(turn) == ["erase.kept", "registration.ask_city"] and not turn.signals


async def test_another_answer_to_the_confirmation_answers_the_question(talk: Any) -> None:
    person = talk("en").at("city", **ANSWERS_BEFORE_CITY)
    await person("Amina Stop")
    turn = await person("Sebha")
    assert not turn.signals and keys(turn) == ["registration.ask_detained"]
    assert person.state.data["answers"]["city"] == "Sebha"


async def test_danger_during_a_confirmation_keeps_the_registration(talk: Any) -> None:
    person = talk("en").at("city", **ANSWERS_BEFORE_CITY)
    await person("Amina Stop")
    turn = await person("help my friend is bleeding")
    assert kinds(turn) == ["handoff"] and turn.signals[0].priority == "emergency"
    assert person.state.paused["registration"]["step"] == "city"


# -- digits: every answer path reads them as the commands do (issue 16 item 8) -----------------

ZEROS = ["0", "٠", "۰", "０"]  # ASCII, Arabic-Indic, Eastern Arabic-Indic (Persian), full-width


@pytest.mark.parametrize("zero", ZEROS)
async def test_zero_people_in_any_digits_is_an_answer_not_the_menu(talk: Any, zero: str) -> None:
    person = place(talk("ar"), "family")
    person.state.data["answers"]["document"] = "none"
    turn = await person(zero)
    assert "menu.main" not in keys(turn)
    assert person.state.flow == "registration"
    assert person.state.data["answers"]["family"] == 0


EVERY_ANSWER = {
    **ANSWERS_BEFORE_CITY,
    "city": "Sebha",
    "detained": False,
    "document": "none",
    "family": 0,
    "pregnant": False,
    "disability": False,
}


def answered_before(step: str) -> dict[str, Any]:
    order = [*STEPS, "birth_year"]
    return {
        name: value
        for name, value in EVERY_ANSWER.items()
        if order.index("age" if name == "birth_year" else name) < order.index(step)
    }


@pytest.mark.parametrize(
    ("step", "answer", "value"),
    [
        ("country", "١", "NG"),
        ("age", "٣٠", 30),
        ("sex", "١", "female"),
        ("phone", "٠٩١٢٣٤٥٦٧٨", "+218912345678"),
        ("detained", "٢", False),
        ("document", "٣", "none"),
        ("family", "٢", 2),
        ("pregnant", "۲", False),
        ("violence", "２", False),
    ],
)
async def test_arabic_indic_persian_and_full_width_digits_answer_every_question(
    talk: Any, step: str, answer: str, value: object
) -> None:
    person = talk("ar").at(step, **answered_before(step))
    await person(answer)
    assert person.state.data["answers"][step] == value


async def test_the_main_menu_and_the_summary_take_arabic_indic_digits(talk: Any) -> None:
    person = talk("ar")
    turn = await person("١")
    assert keys(turn)[-1] == "registration.consent"
    turn = await person("١")  # consent
    assert keys(turn) == ["registration.ask_name"]


# -- CONTINUE with nothing to resume (issue 16 item 9) ---------------------------------------


@pytest.mark.parametrize(
    ("language", "word"),
    [("en", "continue"), ("ar", "متابعة"), ("fr", "continuer"), ("ha", "ci gaba")],
)
async def test_continue_with_nothing_to_resume_shows_the_menu(
    talk: Any, language: str, word: str
) -> None:
    turn = await talk(language)(word)
    assert keys(turn) == ["command.nothing_to_continue", "menu.main"]


async def test_continue_resumes_what_waits(talk: Any) -> None:
    person = talk("en").at("city", **ANSWERS_BEFORE_CITY)
    await person("menu")
    turn = await person("continue")
    assert keys(turn) == ["registration.resume"]
    turn = await person("continue")  # "Continue" is option 1 of the resume question
    assert keys(turn) == ["registration.ask_city"]


# -- a disclosure is answered ---------------------------------------------------------------

BEFORE_VIOLENCE = {
    **ANSWERS_BEFORE_CITY,
    "sex": "male",
    "city": "Sebha",
    "detained": False,
    "document": "none",
    "family": 0,
    "disability": False,
}


@pytest.mark.parametrize("language", LANGUAGES)
async def test_a_disclosure_is_acknowledged_and_a_person_offered_now(
    talk: Any, language: str
) -> None:
    person = talk(language).at("violence", **BEFORE_VIOLENCE)
    turn = await person("1")
    assert keys(turn) == ["registration.disclosure_ack", "registration.disclosure_offer"]
    assert [o.number for o in turn.replies[-1].options] == ["1", "2"]
    assert not turn.signals
    turn = await person("1")  # a person now
    assert turn.signals == [OpenHandoff(reason="disclosure", priority="urgent")]
    assert keys(turn) == ["registration.disclosure_now"]
    assert person.state.flow is None and "registration" in person.state.paused
    turn = await person("continue")  # once the person has talked to someone
    assert keys(turn) == ["registration.resume"]
    assert keys(await person("1")) == ["registration.summary", "registration.confirm"]


@pytest.mark.parametrize("language", LANGUAGES)
async def test_a_disclosure_with_a_person_after_the_registration(talk: Any, language: str) -> None:
    person = talk(language).at("violence", **BEFORE_VIOLENCE)
    await person("1")
    turn = await person("2")  # after the registration
    assert keys(turn) == [
        "registration.disclosure_after",
        "registration.summary",
        "registration.confirm",
    ]
    assert not turn.signals
    turn = await person("1")  # confirm
    assert turn.signals == [OpenHandoff(reason="disclosure", priority="urgent", registration_id=7)]
    assert keys(turn)[-1] == "registration.disclosure_handoff"
    [registered] = person.cases.registered
    assert registered["priority"] == "high" and "violence" in registered["vulnerabilities"]


async def test_no_disclosure_goes_straight_on(talk: Any) -> None:
    person = talk("en").at("violence", **BEFORE_VIOLENCE)
    turn = await person("2")
    assert keys(turn) == ["registration.summary", "registration.confirm"]
    turn = await person("1")
    assert not turn.signals and "registration.disclosure_handoff" not in keys(turn)


@pytest.mark.parametrize("text", ["STOP", "stop", "arrêt", "توقف", "daina"])
async def test_stop_as_the_very_first_message_is_honoured(
    conversation: Conversation, builtin_nlu: BuiltinNLU, text: str
) -> None:
    person = Talk(conversation, builtin_nlu, "en")
    person.state.language = None
    turn = await person(text)
    assert "opt_out" in kinds(turn) and keys(turn) == ["stop.confirmed"]


async def test_a_likely_command_at_the_consent_question_goes_back_to_it(talk: Any) -> None:
    person = talk("en")
    await person("1")  # the registration: intro and consent
    assert keys(await person("Amina Stop")) == ["command.confirm_stop"]
    assert keys(await person("2")) == ["registration.consent"]
    assert keys(await person("yes")) == ["registration.ask_name"]


async def test_the_language_word_at_the_language_menu_shows_it_once(talk: Any) -> None:
    person = talk("en")
    assert keys(await person("language")) == ["language.choose"]
    assert keys(await person("language")) == ["language.choose"]
    turn = await person("3")
    assert keys(turn) == ["language.changed", "menu.main"] and person.state.language == "fr"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("STOP", ["stop.confirmed"]),
        ("menu", ["menu.main"]),
        ("language", ["language.choose"]),
        ("delete my data", ["erase.explain"]),
    ],
)
async def test_commands_work_in_the_services_and_case_status_flows(
    talk: Any, text: str, expected: list[str]
) -> None:
    for opening in (["2", "1"], ["3"]):  # services: health, then the city; case status
        person = talk("en")
        for message in opening:
            await person(message)
        assert person.state.flow in ("services", "case_status")
        assert keys(await person(text)) == expected, opening
