"""Danger in whole conversations, in every language, through the engine: at first contact,
mid-registration, in the services flow, during a handoff, after STOP and out of hours; and the
one question asked when the detector is unsure. Runs on SQLite and on PostgreSQL + Redis."""

from __future__ import annotations

import itertools

import pytest

from bot.messages import InboundMessage
from bot.runtime import Runtime
from tests.conftest import RuntimeFactory

LANGUAGES = ["en", "ar", "fr", "ha"]
_ids = itertools.count()

OPEN = {"en": "hello", "ar": "السلام عليكم", "fr": "bonjour", "ha": "sannu"}
YES = {"en": "yes", "ar": "نعم", "fr": "oui", "ha": "ee"}
STOP = {"en": "STOP", "ar": "توقف", "fr": "arrête", "ha": "daina"}
ASK_PERSON = {
    "en": "i want to talk to a person",
    "ar": "أريد التحدث مع شخص",
    "fr": "je veux parler à une personne",
    "ha": "ina son magana da mutum",
}
# Immediate danger, in the language's variants (Pidgin, Libyan Arabic, Arabizi, …).
DANGER = {
    "en": "dem don stab my guy for road, blood dey comot well well",
    "ar": "الحوش شاعل والناس لسه جوه، ساعدونا",
    "fr": "le bateau coule, l'eau entre dans le bateau",
    "ha": "gobara ta tashi a gidan da muke kwana, mutane suna ciki",
}
ARABIZI_DANGER = "gaa3din yadurbu fina fi markaz el e7tijaz, sa3dona"
# May be an emergency: the detector is unsure and the classifier reads another intent, so the
# bot asks.
UNSURE = {
    "en": "we are in danger here, I want to go back home to my country",
    "ar": "نحنا في خطر هنا، نبي نرجع لبلادي",
    "fr": "nous sommes en danger ici, je veux rentrer dans mon pays",
    "ha": "muna cikin hatsari a nan, ina so in koma kasata",
}
NEVER_OPEN = "mon 00:00-00:00"  # an opening window of no length: operators never answer


async def say(runtime: Runtime, sender: str, text: str) -> list[str]:
    result = await runtime.engine.handle(
        InboundMessage(
            channel="rest", address=sender, text=text, provider_message_id=f"d{next(_ids)}"
        )
    )
    return [reply.text for reply in result.replies]


def t(runtime: Runtime, language: str, key: str, **values: object) -> str:
    return runtime.catalogs.text(language, key, **values)


async def case_of(runtime: Runtime, sender: str) -> tuple[str, str] | None:
    contact = await runtime.store.contact_for("rest", sender)
    case = await runtime.handoffs.active_for(contact.id)
    return None if case is None else (case.priority, case.reason)


def emergency_replies(runtime: Runtime, language: str) -> list[str]:
    return [
        t(runtime, language, "safety.emergency"),
        # no emergency number is configured here: the person is told so, none is invented
        t(runtime, language, "handoff.position", position=1)
        + "\n"
        + t(runtime, language, "handoff.no_emergency_numbers"),
    ]


@pytest.mark.parametrize("language", LANGUAGES)
async def test_danger_at_first_contact(runtime: Runtime, language: str) -> None:
    sender = f"first-{language}"
    replies = await say(runtime, sender, DANGER[language])
    # no welcome, no language menu, no main menu: the safety reply first
    assert replies == emergency_replies(runtime, language)
    assert await case_of(runtime, sender) == ("emergency", "emergency")


async def test_arabizi_violence_in_detention_is_an_emergency_like_everywhere(
    runtime: Runtime,
) -> None:
    await say(runtime, "arabizi", OPEN["ar"])
    replies = await say(runtime, "arabizi", ARABIZI_DANGER)
    assert replies == emergency_replies(runtime, "ar")
    assert await case_of(runtime, "arabizi") == ("emergency", "emergency")


@pytest.mark.parametrize("language", LANGUAGES)
async def test_danger_mid_registration(runtime: Runtime, language: str) -> None:
    sender = f"reg-{language}"
    await say(runtime, sender, OPEN[language])
    await say(runtime, sender, "1")
    await say(runtime, sender, YES[language])  # consent; now asked for a name
    replies = await say(runtime, sender, DANGER[language])
    assert replies == emergency_replies(runtime, language)
    assert await case_of(runtime, sender) == ("emergency", "emergency")
    contact = await runtime.store.contact_for("rest", sender)
    state = await runtime.sessions.load(contact.id)
    assert "registration" in state.paused  # kept to resume


@pytest.mark.parametrize("language", LANGUAGES)
async def test_danger_in_the_services_flow(runtime: Runtime, language: str) -> None:
    sender = f"svc-{language}"
    await say(runtime, sender, OPEN[language])
    await say(runtime, sender, "2")
    contact = await runtime.store.contact_for("rest", sender)
    assert (await runtime.sessions.load(contact.id)).flow == "services"
    replies = await say(runtime, sender, DANGER[language])
    assert replies == emergency_replies(runtime, language)
    assert await case_of(runtime, sender) == ("emergency", "emergency")


@pytest.mark.parametrize("language", LANGUAGES)
async def test_danger_during_a_handoff_raises_the_case(runtime: Runtime, language: str) -> None:
    sender = f"ho-{language}"
    await say(runtime, sender, OPEN[language])
    await say(runtime, sender, ASK_PERSON[language])
    assert await case_of(runtime, sender) == ("normal", "requested")
    replies = await say(runtime, sender, DANGER[language])
    assert replies == [
        t(runtime, language, "safety.emergency"),
        t(runtime, language, "handoff.no_emergency_numbers"),
    ]
    priority, _ = await case_of(runtime, sender) or ("", "")
    assert priority == "emergency"


@pytest.mark.parametrize("language", LANGUAGES)
async def test_danger_after_stop_is_still_answered(runtime: Runtime, language: str) -> None:
    sender = f"stop-{language}"
    await say(runtime, sender, OPEN[language])
    assert await say(runtime, sender, STOP[language]) == [t(runtime, language, "stop.confirmed")]
    replies = await say(runtime, sender, DANGER[language])
    assert replies[0] == t(runtime, language, "safety.emergency")
    assert await case_of(runtime, sender) == ("emergency", "emergency")


@pytest.mark.parametrize("language", LANGUAGES)
async def test_danger_out_of_hours_opens_an_emergency_case(
    make_runtime: RuntimeFactory, language: str
) -> None:
    runtime = await make_runtime(operator_hours=NEVER_OPEN)
    sender = f"night-{language}"
    await say(runtime, sender, OPEN[language])
    replies = await say(runtime, sender, DANGER[language])
    assert replies[0] == t(runtime, language, "safety.emergency")
    assert await case_of(runtime, sender) == ("emergency", "emergency")


@pytest.mark.parametrize("language", LANGUAGES)
async def test_unsure_asks_once_and_yes_opens_an_emergency(runtime: Runtime, language: str) -> None:
    sender = f"unsure-yes-{language}"
    await say(runtime, sender, OPEN[language])
    result = await runtime.engine.handle(
        InboundMessage(channel="rest", address=sender, text=UNSURE[language])
    )
    [question] = result.replies
    assert question.text == t(runtime, language, "safety.check")
    assert [b.payload for b in question.buttons] == ["1", "2"]
    assert await case_of(runtime, sender) is None
    replies = await say(runtime, sender, YES[language])  # a free-text yes
    assert replies == emergency_replies(runtime, language)
    assert await case_of(runtime, sender) == ("emergency", "emergency")


@pytest.mark.parametrize("language", LANGUAGES)
async def test_unsure_then_no_carries_on_with_the_registration(
    runtime: Runtime, language: str
) -> None:
    sender = f"unsure-no-{language}"
    await say(runtime, sender, OPEN[language])
    await say(runtime, sender, "1")
    await say(runtime, sender, YES[language])  # consent; now asked for a name
    assert await say(runtime, sender, UNSURE[language]) == [t(runtime, language, "safety.check")]
    replies = await say(runtime, sender, "2")
    assert replies[:2] == [
        t(runtime, language, "safety.check.no"),
        t(runtime, language, "registration.resume"),
    ]
    assert await case_of(runtime, sender) is None
    contact = await runtime.store.contact_for("rest", sender)
    assert (await runtime.sessions.load(contact.id)).flow == "registration"


async def test_unsure_then_no_answers_what_was_asked(runtime: Runtime) -> None:
    """No flow was going on: the question the message asked is taken up."""
    await say(runtime, "unsure-ask", OPEN["en"])
    asked = UNSURE["en"]
    assert await say(runtime, "unsure-ask", asked) == [t(runtime, "en", "safety.check")]
    replies = await say(runtime, "unsure-ask", "no")
    assert replies[0] == t(runtime, "en", "safety.check.no")
    assert t(runtime, "en", "registration.consent") in replies
    assert await case_of(runtime, "unsure-ask") is None


async def test_unsure_then_no_still_opens_the_urgent_case_it_reads_as(runtime: Runtime) -> None:
    """Maybe an emergency, surely a case for the protection team (a debt worked off under a
    lock): "no, not in danger right now" opens the urgent case instead of carrying on."""
    sender = "unsure-no-urgent"
    await say(runtime, sender, OPEN["en"])
    held = "we are trapped, the people who brought us say each one owes 2000 and we must work"
    assert await say(runtime, sender, held) == [t(runtime, "en", "safety.check")]
    assert await case_of(runtime, sender) is None
    replies = await say(runtime, sender, "2")
    assert replies[0] == t(runtime, "en", "safety.protection")
    assert await case_of(runtime, sender) == ("urgent", "protection")


async def test_the_question_left_for_the_menu_is_asked_again_on_continue(
    runtime: Runtime,
) -> None:
    await say(runtime, "unsure-menu", OPEN["en"])
    assert await say(runtime, "unsure-menu", UNSURE["en"]) == [t(runtime, "en", "safety.check")]
    assert await say(runtime, "unsure-menu", "0") == [t(runtime, "en", "menu.main")]
    assert await say(runtime, "unsure-menu", "continue") == [t(runtime, "en", "safety.check")]
    assert await case_of(runtime, "unsure-menu") is None
    replies = await say(runtime, "unsure-menu", "1")
    assert replies == emergency_replies(runtime, "en")


async def test_a_danger_message_never_gets_not_understood_or_the_menu(runtime: Runtime) -> None:
    for i, text in enumerate(("there is blood on the floor", "fire!!", "sos", "we are trapped")):
        await say(runtime, f"never-menu-{i}", OPEN["en"])
        replies = await say(runtime, f"never-menu-{i}", text)
        assert t(runtime, "en", "not_understood") not in replies
        assert t(runtime, "en", "menu.main") not in replies
        assert replies and replies[0] in (
            t(runtime, "en", "safety.check"),
            t(runtime, "en", "safety.emergency"),
        )
