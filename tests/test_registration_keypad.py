"""The registration flow asked by keypad (Turn.keypad), run without a channel or a database:
a fake case service keeps what the flow would store."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest

from bot import PROJECT_ROOT
from bot.i18n import Catalogs
from bot.sessions import ConversationState
from flows.base import Contact, OpenHandoff, Turn
from flows.registration import (
    KEYPAD_COUNTRIES,
    KEYPAD_PROMPTS,
    NAME_PLACEHOLDER,
    RegistrationFlow,
    country_name,
    vocabulary,
)
from nlu.types import FALLBACK_INTENT, ParseResult

CALLER = "+218912345678"
LANGUAGES = ("en", "ar", "fr", "ha", "ti", "am")


@dataclass
class Case:
    reference: str
    existing: bool
    id: int = 7


class FakeCases:
    """The case service's register: remembers each call; a phone seen before is `existing`."""

    def __init__(self) -> None:
        self.stored: list[dict[str, Any]] = []

    async def register(self, **fields: Any) -> Case:
        existing = any(s["answers"]["phone"] == fields["answers"]["phone"] for s in self.stored)
        self.stored.append(fields)
        return Case("LY-ABC234", existing)

    async def by_reference(self, reference: str) -> Any:
        return None

    async def by_phone(self, phone: str) -> list[Any]:
        return []

    async def collected_today(self, collected_by: int) -> list[tuple[str, str]]:
        return []


class Call:
    """One caller answering the keypad registration, turn by turn."""

    def __init__(self, flow: RegistrationFlow, cases: FakeCases, language: str = "en") -> None:
        self.flow = flow
        self.cases = cases
        self.state = ConversationState(language=language)

    def turn(self, keys: str) -> Turn:
        return Turn(
            contact=Contact(5, "voice", CALLER, "migrant"),
            state=self.state,
            text=keys,
            parse=ParseResult(keys, "en", 0.0, "Zyyy", FALLBACK_INTENT, 0.0),
            default_language="en",
            enabled_languages=("en",),
            registrations=self.cases,
            keypad=True,
        )

    async def start(self) -> Turn:
        turn = self.turn("")
        await self.flow.start(turn)
        return turn

    async def press(self, keys: str) -> Turn:
        turn = self.turn(keys)
        assert await self.flow.handle(turn), keys
        return turn


def keys(turn: Turn) -> list[str]:
    return [reply.key for reply in turn.replies]


@pytest.fixture
def flow() -> RegistrationFlow:
    return RegistrationFlow()


async def test_a_keypad_registration_stores_the_case_for_review(flow: RegistrationFlow) -> None:
    cases = FakeCases()
    call = Call(flow, cases, "fr")
    assert keys(await call.start()) == ["voice.registration.consent"]
    assert call.state.data == {}  # nothing before consent
    countries = await call.press("1")
    [question] = countries.replies
    assert question.key == "voice.registration.country"
    common = vocabulary().common_countries[:KEYPAD_COUNTRIES]
    assert [(o.number, o.label, o.recording) for o in question.options[:-1]] == [
        (str(i), country_name(code, "fr"), f"country.{code}") for i, code in enumerate(common, 1)
    ]
    other = question.options[-1]
    assert (other.number, other.key) == (str(len(common) + 1), "voice.registration.country_other")
    assert keys(await call.press("1")) == ["voice.registration.age"]
    assert keys(await call.press("1980")) == ["voice.registration.people"]
    assert keys(await call.press("2")) == ["voice.registration.detained"]
    assert keys(await call.press("1")) == ["voice.registration.name"]
    assert cases.stored == []
    done = await call.press("")  # the recording is the channel's: the flow stores a placeholder
    assert keys(done) == ["voice.registration.done", "voice.registration.review"]
    assert done.signals == [] and call.state.flow is None and call.state.data == {}
    [stored] = cases.stored
    age = date.today().year - 1980
    assert stored == {
        "answers": {
            "country": common[0],
            "age": age,
            "birth_year": 1980,
            "family": [{"relation": "", "age": None}, {"relation": "", "age": None}],
            "detained": True,
            "name": NAME_PLACEHOLDER,
            "phone": CALLER,
        },
        "contact_id": 5,
        "collected_by": None,
        "priority": "high",
        "vulnerabilities": ["detained"],
        "needs_review": True,
        "language": "fr",
        "channel": "voice",
    }


async def test_keys_that_answer_nothing_are_left_to_the_channel(flow: RegistrationFlow) -> None:
    call = Call(flow, FakeCases())
    await call.start()
    for wrong in ("7", "", "12"):
        turn = call.turn(wrong)
        assert not await flow.handle(turn) and turn.replies == []
    await call.press("1")
    turn = call.turn(str(KEYPAD_COUNTRIES + 2))
    assert not await flow.handle(turn)
    await call.press("2")
    for wrong in ("999", "0"):  # an age no one has
        assert not await flow.handle(call.turn(wrong))
    await call.press("34")
    assert not await flow.handle(call.turn("21"))  # more people than a case takes
    await call.press("0")
    assert not await flow.handle(call.turn("3"))
    assert call.state.step == "detained"
    repeated = call.turn("")
    await flow.repeat_question(repeated)
    assert keys(repeated) == ["voice.registration.detained"]


async def test_without_consent_nothing_is_kept(flow: RegistrationFlow) -> None:
    cases = FakeCases()
    call = Call(flow, cases)
    await call.start()
    refused = await call.press("2")
    assert keys(refused) == ["voice.registration.no_consent"]
    assert call.state.flow is None and call.state.data == {} and cases.stored == []


async def test_another_country_goes_to_a_person(flow: RegistrationFlow) -> None:
    call = Call(flow, FakeCases())
    await call.start()
    await call.press("1")
    other = await call.press(str(KEYPAD_COUNTRIES + 1))
    assert keys(other) == ["voice.registration.other_country"]
    assert [type(s) for s in other.signals] == [OpenHandoff] and call.state.flow is None


async def test_a_second_registration_from_the_same_phone_is_the_existing_case(
    flow: RegistrationFlow,
) -> None:
    cases = FakeCases()
    for expected in (["voice.registration.done", "voice.registration.review"],
                     ["voice.registration.existing"]):  # fmt: skip
        call = Call(flow, cases)
        await call.start()
        for answer in ("1", "2", "30", "0", "2"):
            await call.press(answer)
        assert keys(await call.press("")) == expected
    first, second = cases.stored
    assert first == second and first["priority"] == "normal"


def test_every_catalog_has_every_keypad_prompt() -> None:
    catalogs = Catalogs(PROJECT_ROOT / "locales", LANGUAGES, "en")
    for language in LANGUAGES:
        missing = [key for key in KEYPAD_PROMPTS if not catalogs.has(language, key)]
        assert not missing, (language, missing)
