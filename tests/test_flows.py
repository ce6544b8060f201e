"""Whole conversations through the REST endpoint, in every language: registration with
corrections, back, cancel and resume; safety triage mid-registration; case status; stop and
erasure; mobilizers. Runs on SQLite and on PostgreSQL + Redis."""

from __future__ import annotations

import itertools
import re

import httpx
import pytest
from sqlalchemy import func, select

from bot.runtime import Runtime
from bot.storage.models import AuditEvent, Contact, Registration
from tests.conftest import RuntimeFactory

_ids = itertools.count()
LANGUAGES = ["en", "ar", "fr", "ha"]

OPEN = {"en": "hello", "ar": "السلام عليكم", "fr": "bonjour", "ha": "sannu"}
YES = {"en": "yes", "ar": "نعم", "fr": "oui", "ha": "ee"}
NAMES = {"en": "Amina Bello", "ar": "آمنة محمد", "fr": "Aminata Traoré", "ha": "Hauwa Musa"}
CITIES = {"en": "Sabha", "ar": "سبها", "fr": "Sebha", "ha": "sabha"}
DANGER = {
    "en": "help my friend is bleeding",
    "ar": "صاحبي ينزف",
    "fr": "mon ami saigne beaucoup",
    "ha": "abokina yana zubar da jini",
}
CONTINUE = {"en": "continue", "ar": "متابعة", "fr": "continuer", "ha": "ci gaba"}
STOP = {"en": "STOP", "ar": "توقف", "fr": "arrête", "ha": "daina"}
ERASE = {
    "en": "delete my data",
    "ar": "امسح بياناتي",
    "fr": "supprimer mes données",
    "ha": "a goge bayanaina",
}


class Chat:
    def __init__(self, client: httpx.AsyncClient, runtime: Runtime, sender: str) -> None:
        self.client, self.runtime, self.sender = client, runtime, sender

    async def __call__(self, text: str) -> list[str]:
        response = await self.client.post(
            "/webhooks/rest/webhook",
            json={"sender": self.sender, "message": text, "metadata": {"message_id": next(_ids)}},
        )
        assert response.status_code == 200, response.text
        return [r["text"] for r in response.json()]


def t(runtime: Runtime, language: str, key: str, **values: object) -> str:
    return runtime.catalogs.text(language, key, **values)


async def registrations(runtime: Runtime) -> list[Registration]:
    async with runtime.db.session() as session:
        return list(await session.scalars(select(Registration).order_by(Registration.id)))


async def register(
    chat: Chat, language: str, name: str | None = None, phone: str = "0912345678"
) -> list[str]:
    """A whole registration by digits and short answers; returns the last replies."""
    await chat(OPEN[language])
    await chat("1")
    assert (await chat(YES[language]))[-1] == t(chat.runtime, language, "registration.ask_name")
    await chat(name or NAMES[language])
    await chat("1")  # Nigeria
    await chat("30")  # age
    await chat("1")  # woman
    await chat(phone)
    await chat(CITIES[language])
    await chat("2")  # not detained
    await chat("3")  # no passport
    await chat("0")  # travels alone  (0 here is an answer, not the menu: it is a number step)
    for _ in range(3):  # pregnant, disability, violence
        await chat("2")
    return await chat("1")  # confirm


@pytest.mark.parametrize("language", LANGUAGES)
async def test_full_registration(
    client: httpx.AsyncClient, runtime: Runtime, language: str
) -> None:
    chat = Chat(client, runtime, f"reg-{language}")
    await chat(OPEN[language])
    await chat("1")
    await chat(YES[language])
    await chat(NAMES[language])
    replies = await chat("1")
    assert replies == [t(runtime, language, "registration.ask_age")]
    assert (await chat("abc"))[0] == t(runtime, language, "registration.invalid_age")
    await chat("15/03/1996")
    await chat("1")
    await chat("0912345678")
    assert (await chat("Atlantis"))[0] == t(runtime, language, "registration.invalid_city")
    await chat(CITIES[language])
    await chat("2")
    await chat("1")  # valid passport
    await chat("AB123456")
    await chat("1")  # one family member
    await chat("son 4")
    await chat("1")  # pregnant: yes
    await chat("2")
    await chat("2")
    summary = await chat("2")  # single parent: no
    assert NAMES[language] in summary[0]
    assert "+218912345678" in summary[0]
    # the city as the person reads it: in Arabic script in Arabic, Latin letters otherwise
    assert ("سبها" in summary[0]) == (language == "ar") != ("Sebha" in summary[0])
    assert summary[-1] == t(runtime, language, "registration.confirm")
    done = await chat("1")
    reference = re.search(r"LY-[A-Z0-9]{6}", done[0])
    assert reference is not None
    assert done[0] == t(runtime, language, "registration.done", reference=reference.group())
    assert t(runtime, language, "registration.priority") in done  # pregnant: high priority
    [row] = await registrations(runtime)
    assert (row.reference, row.country, row.city, row.birth_year) == (
        reference.group(),
        "NG",
        "Sebha",
        1996,
    )
    assert row.priority == "high" and "pregnant" in row.vulnerabilities["flags"]
    assert row.phone == "+218912345678" and row.document == "valid"


async def test_values_given_early_are_used(client: httpx.AsyncClient, runtime: Runtime) -> None:
    chat = Chat(client, runtime, "early")
    await chat("I am Nasiru from Nigeria, I am in Sebha, I want to go home")
    replies = await chat("yes")
    assert replies == [t(runtime, "en", "registration.ask_age")]  # name and country known
    state = await runtime.sessions.load((await runtime.store.contact_for("rest", "early")).id)
    assert state.data["answers"] == {"name": "Nasiru", "country": "NG", "city": "Sebha"}


async def test_without_consent_nothing_personal_is_kept(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    chat = Chat(client, runtime, "noconsent")
    await chat("I am Nasiru from Nigeria and I want to go home")
    replies = await chat("no")
    assert replies == [t(runtime, "en", "registration.no_consent")]
    contact = await runtime.store.contact_for("rest", "noconsent")
    state = await runtime.sessions.load(contact.id)
    assert "Nasiru" not in state.to_json()
    assert await registrations(runtime) == []
    assert await chat("1") == [
        t(runtime, "en", "handoff.requested"),
        t(runtime, "en", "handoff.position", position=1),
    ]


MY_CITY = {
    "en": "my city is Misrata",
    "ar": "مدينتي مصراتة",
    "fr": "ma ville est Misrata",
    "ha": "garina Misrata",
}
BACK = {"en": "back", "ar": "رجوع", "fr": "retour", "ha": "koma baya"}
CANCEL = {"en": "cancel", "ar": "إلغاء", "fr": "annuler", "ha": "soke"}


@pytest.mark.parametrize("language", LANGUAGES)
async def test_back_correction_and_cancel(
    client: httpx.AsyncClient, runtime: Runtime, language: str
) -> None:
    chat = Chat(client, runtime, f"fix-{language}")
    await chat(OPEN[language])
    await chat("1")
    await chat(YES[language])
    await chat(NAMES[language])
    await chat("1")
    assert await chat(BACK[language]) == [
        t(runtime, language, "registration.back"),
        t(runtime, language, "registration.ask_country"),
    ]
    await chat("2")  # Niger
    await chat("30")
    await chat("1")
    await chat("0912345678")
    await chat("Tripoli")
    replies = await chat(MY_CITY[language])  # asked "detained?", answered with a correction
    assert replies[0] == t(runtime, language, "registration.corrected")
    contact = await runtime.store.contact_for("rest", f"fix-{language}")
    state = await runtime.sessions.load(contact.id)
    assert state.data["answers"]["city"] == "Misrata"
    assert state.data["answers"]["country"] == "NE"
    assert await chat(CANCEL[language]) == [t(runtime, language, "registration.cancelled")]
    assert await registrations(runtime) == []


@pytest.mark.parametrize("language", LANGUAGES)
async def test_emergency_in_the_middle_of_a_registration(
    client: httpx.AsyncClient, runtime: Runtime, language: str
) -> None:
    chat = Chat(client, runtime, f"sos-{language}")
    await chat(OPEN[language])
    await chat("1")
    await chat(YES[language])
    await chat(NAMES[language])
    replies = await chat(DANGER[language])
    assert replies == [
        t(runtime, language, "safety.emergency"),
        # no emergency number is configured here: the person is told so, none is invented
        t(runtime, language, "handoff.position", position=1)
        + "\n"
        + t(runtime, language, "handoff.no_emergency_numbers"),
    ]
    [handoff] = await runtime.store.open_handoffs()
    assert handoff.priority == "emergency" and handoff.language == language
    # with the operators the bot only says the message was passed on; when they close the
    # case it says so
    assert await chat(CONTINUE[language]) == [t(runtime, language, "handoff.passed_on", position=1)]
    await runtime.handoffs.close(handoff.id, None, "resolved")
    later = await client.get("/webhooks/rest/messages", params={"sender": f"sos-{language}"})
    assert [m["text"] for m in later.json()] == [t(runtime, language, "handoff.closed_resume")]
    # the registration waited; CONTINUE (in the person's language) offers to resume it
    replies = await chat(CONTINUE[language])
    assert replies[0] == t(runtime, language, "registration.resume")
    replies = await chat("1")
    assert replies == [t(runtime, language, "registration.ask_country")]


async def test_detention_answer_inside_registration_is_not_an_alarm(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    chat = Chat(client, runtime, "detained")
    await register_until_detained(chat)
    await chat("1")  # yes, detained
    replies = await chat("Tarik al Sikka detention centre")
    assert replies == [t(runtime, "en", "registration.ask_document")]
    assert await runtime.store.open_handoffs() == []


async def register_until_detained(chat: Chat) -> None:
    for text in ["hello", "1", "yes", "Musa Ali", "4", "40", "2", "0912345678", "Tripoli"]:
        await chat(text)


async def test_registering_twice_finds_the_existing_case(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    first = await register(Chat(client, runtime, "twice-a"), "en")
    again = await register(Chat(client, runtime, "twice-b"), "en")
    reference = re.search(r"LY-[A-Z0-9]{6}", first[0])
    assert reference is not None
    assert again == [t(runtime, "en", "registration.existing", reference=reference.group())]
    assert len(await registrations(runtime)) == 1


SKIP = {"en": "skip", "ar": "تخطي", "fr": "passer", "ha": "tsallake"}
NO_PHONE = {
    "en": "i don't have a phone",
    "ar": "ما عنديش تلفون",
    "fr": "je n'ai pas de téléphone",
    "ha": "ba ni da waya",
}


@pytest.mark.parametrize("language", LANGUAGES)
async def test_registering_with_no_phone(
    client: httpx.AsyncClient, runtime: Runtime, language: str
) -> None:
    """Someone with no number of their own is told how to go on, registers with none and is
    told they will be contacted where they write; another person of the same name with no
    phone is someone else, the same conversation again is the same person."""
    chat = Chat(client, runtime, f"nophone-{language}")
    await chat(OPEN[language])
    await chat("1")
    await chat(YES[language])
    for answer in (NAMES[language], "1", "30", "1"):
        await chat(answer)
    assert await chat("12 34") == [t(runtime, language, "registration.invalid_phone_or_none")]
    assert await chat(SKIP[language]) == [t(runtime, language, "registration.ask_city")]
    for answer in (CITIES[language], "2", "3", "0", "2", "2"):
        await chat(answer)
    summary = await chat("2")
    assert t(runtime, language, "registration.value.no_phone") in summary[0]
    done = await chat("1")
    assert done[-1] == t(runtime, language, "registration.next_steps_here")
    [row] = await registrations(runtime)
    assert not row.phone
    namesake = Chat(client, runtime, f"nophone2-{language}")
    other = await register(namesake, language, phone=NO_PHONE[language])
    assert other[-1] == t(runtime, language, "registration.next_steps_here")
    reference = re.search(r"LY-[A-Z0-9]{6}", done[0])
    assert reference is not None
    again = await register(chat, language, phone=SKIP[language])
    assert again == [t(runtime, language, "registration.existing", reference=reference.group())]
    assert len(await registrations(runtime)) == 2


@pytest.mark.parametrize("language", LANGUAGES)
async def test_resume_after_a_server_restart(make_runtime: RuntimeFactory, language: str) -> None:
    from bot.messages import InboundMessage

    first = await make_runtime()
    for text in [OPEN[language], "1", YES[language], NAMES[language], "1"]:
        await first.engine.handle(InboundMessage("rest", "restart", text))
    await first.close()
    second = await make_runtime()
    result = await second.engine.handle(InboundMessage("rest", "restart", "0"))
    result = await second.engine.handle(InboundMessage("rest", "restart", "1"))
    assert [r.text for r in result.replies] == [t(second, language, "registration.resume")]
    result = await second.engine.handle(InboundMessage("rest", "restart", "1"))
    assert [r.text for r in result.replies] == [t(second, language, "registration.ask_age")]


@pytest.mark.parametrize("language", LANGUAGES)
async def test_case_status_by_reference_with_check(
    client: httpx.AsyncClient, runtime: Runtime, language: str
) -> None:
    done = await register(Chat(client, runtime, f"case-{language}"), language)
    reference = re.search(r"LY-[A-Z0-9]{6}", done[0])
    assert reference is not None
    async with runtime.db.session() as session, session.begin():
        row = await session.scalar(select(Registration))
        assert row is not None
        row.stage = "screening"
        birth_year = row.birth_year
    chat = Chat(client, runtime, f"asker-{language}")
    await chat(OPEN[language])
    assert await chat("3") == [t(runtime, language, "case.ask_reference")]
    assert await chat(reference.group().lower()) == [t(runtime, language, "case.ask_birth_year")]
    assert await chat("1901") == [t(runtime, language, "case.ask_birth_year")]  # wrong, retry
    status = await chat(str(birth_year))
    stage = t(runtime, language, "case.stage.screening")
    assert status == [t(runtime, language, "case.status", reference=reference.group(), stage=stage)]


@pytest.mark.parametrize("language", LANGUAGES)
async def test_case_status_names_an_incomplete_or_unknown_reference(
    client: httpx.AsyncClient, runtime: Runtime, language: str
) -> None:
    """A reference written "LY-4455" is told it is not whole (not asked the same again); a
    whole reference that is nobody's is told it was not found, from the first message too."""
    chat = Chat(client, runtime, f"incomplete-{language}")
    await chat(OPEN[language])
    assert await chat("3") == [t(runtime, language, "case.ask_reference")]
    assert await chat("ly 4455") == [
        t(runtime, language, "case.incomplete_reference", reference="LY-4455")
    ]
    assert await chat("LY-7K3M9Q") == [t(runtime, language, "case.not_found")]
    other = Chat(client, runtime, f"unknown-{language}")
    await other(OPEN[language])
    await other("3")
    assert await other("pewa") == [t(runtime, language, "case.ask_reference")]


@pytest.mark.parametrize("language", LANGUAGES)
async def test_stop_in_every_language(
    client: httpx.AsyncClient, runtime: Runtime, language: str
) -> None:
    chat = Chat(client, runtime, f"stop-{language}")
    await chat(OPEN[language])
    assert await chat(STOP[language]) == [t(runtime, language, "stop.confirmed")]
    contact = await runtime.store.contact_for("rest", f"stop-{language}")
    assert contact.opted_out
    assert await chat(OPEN[language])  # still answered when they write


@pytest.mark.parametrize("language", LANGUAGES)
async def test_erasure_in_every_language(
    client: httpx.AsyncClient, runtime: Runtime, language: str
) -> None:
    chat = Chat(client, runtime, f"erase-{language}")
    await register(chat, language)
    assert await chat(ERASE[language]) == [t(runtime, language, "erase.explain")]
    assert await chat("1") == [t(runtime, language, "erase.done")]
    assert await registrations(runtime) == []
    async with runtime.db.session() as session:
        assert await session.scalar(select(func.count()).select_from(Contact)) == 0
        event = await session.scalar(
            select(AuditEvent).where(AuditEvent.action == "contact.erased")
        )
    assert event is not None and event.details["registrations"] == 1
    assert event.details["messages"] > 10
    # writing again starts as new
    assert (await chat(OPEN[language]))[0] == t(runtime, language, "welcome.first")


@pytest.mark.parametrize("language", LANGUAGES)
async def test_mobilizer_registers_several_people(
    client: httpx.AsyncClient, runtime: Runtime, language: str
) -> None:
    chat = Chat(client, runtime, "mobilizer")
    await chat(OPEN[language])
    contact = await runtime.store.contact_for("rest", "mobilizer")
    await runtime.store.set_role(contact.id, "mobilizer", actor="test")
    menu = await chat("0")
    assert t(runtime, language, "menu.main") == menu[0]
    assert (await chat("6"))[0] == t(runtime, language, "mobilizer.menu")
    references = []
    for index, name in enumerate(["Ibrahim Sani", "Fatima Sani"]):
        if index:
            assert await chat(YES[language]) == [t(runtime, language, "mobilizer.person_consent")]
        else:
            assert await chat("1") == [t(runtime, language, "mobilizer.person_consent")]
        await chat(YES[language])
        asked: list[str] = []
        for text in [name, "2", "25", "2" if index == 0 else "1", "0923456789", "Sebha", "2",
                     "3", "0", *(["2"] * (2 if index == 0 else 3))]:  # fmt: skip
            asked += await chat(text)
        # "Are you pregnant?" goes to the mobilizer about the person, not about themselves
        assert t(runtime, language, "registration.for_other_note") in asked
        replies = await chat("1")
        found = re.search(r"LY-[A-Z0-9]{6}", replies[0])
        assert found is not None
        references.append(found.group())
        assert replies[0] == t(
            runtime, language, "registration.done_for_other", reference=found.group()
        )
        assert replies[-1] == t(runtime, language, "mobilizer.next_person", reference=found.group())
    await chat("2")
    listing = await chat("3")
    assert listing[0] == t(runtime, language, "mobilizer.list_header")
    marks = "\u200f\u2068\u2069 \u202f\u00a0"  # direction marks and isolates, spaces
    assert [line.split(":")[0].strip(marks) for line in listing[1:]] == references
    rows = await registrations(runtime)
    assert all(r.collected_by_id == contact.id and r.contact_id is None for r in rows)


# -- issue 13: commands only when meant; disclosures answered ------------------------------------

NAME_WITH_COMMAND_WORD = {
    "en": "Zainab <script>alert(1)</script> Testname",  # was `stop` (0.90) and opted out
    "ar": "زينب توقف",
    "fr": "Fatou Arrêt",
    "ha": "Musa Daina",
}


async def opted_out(runtime: Runtime, sender: str) -> bool:
    return (await runtime.store.contact_for("rest", sender)).opted_out


@pytest.mark.parametrize("language", LANGUAGES)
async def test_a_name_is_never_taken_for_stop(
    client: httpx.AsyncClient, runtime: Runtime, language: str
) -> None:
    chat = Chat(client, runtime, f"name-stop-{language}")
    await chat(OPEN[language])
    await chat("1")
    await chat(YES[language])
    replies = await chat(NAME_WITH_COMMAND_WORD[language])
    assert not await opted_out(runtime, f"name-stop-{language}")
    if language == "en":  # digits are no part of a name: asked again, nothing else
        assert replies == [t(runtime, language, "registration.invalid_name")]
    else:
        assert replies[0] == t(runtime, language, "registration.ask_country")
    # the real command still works in the middle of the registration
    assert await chat(STOP[language]) == [t(runtime, language, "stop.confirmed")]
    assert await opted_out(runtime, f"name-stop-{language}")


async def test_a_story_that_mentions_stopping_does_not_opt_out(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    chat = Chat(client, runtime, "story")
    await chat(OPEN["en"])
    replies = await chat("my boss told me to stop coming to work, I need help going home")
    assert not await opted_out(runtime, "story")
    assert t(runtime, "en", "stop.confirmed") not in replies


async def test_a_whole_registration_in_arabic_indic_digits(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    """Issue 16 item 8: "٠" at the family size was the menu and the registration was lost."""
    chat = Chat(client, runtime, "arabic-digits")
    await chat(OPEN["ar"])
    await chat("١")
    await chat(YES["ar"])
    for text in [NAMES["ar"], "١", "٣٠", "١", "٠٩١٢٣٤٥٦٧٨", CITIES["ar"], "٢", "٣"]:
        await chat(text)
    replies = await chat("٠")  # travels alone: an answer, not the menu
    assert t(runtime, "ar", "menu.main") not in replies
    for _ in range(3):
        await chat("٢")
    done = await chat("١")
    assert re.search(r"LY-[A-Z0-9]{6}", done[0])
    [row] = await registrations(runtime)
    assert row.phone == "+218912345678" and row.birth_year is not None


async def test_the_closed_notice_offers_continue_only_when_something_waits(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    """Issue 16 item 9."""
    chat = Chat(client, runtime, "nothing-waits")
    await chat(OPEN["en"])
    await chat("4")  # talk to a person, nothing else going on
    [handoff] = await runtime.store.open_handoffs()
    await runtime.handoffs.close(handoff.id, None, "resolved")
    later = await client.get("/webhooks/rest/messages", params={"sender": "nothing-waits"})
    assert [m["text"] for m in later.json()] == [t(runtime, "en", "handoff.closed")]
    assert "CONTINUE" not in t(runtime, "en", "handoff.closed")
    assert await chat("continue") == [
        t(runtime, "en", "command.nothing_to_continue"),
        t(runtime, "en", "menu.main"),
    ]


async def register_until_violence(chat: Chat, language: str) -> list[str]:
    await chat(OPEN[language])
    await chat("1")
    await chat(YES[language])
    for text in [NAMES[language], "1", "30", "2", "0912345678", CITIES[language], "2", "3", "0"]:
        await chat(text)  # a man travelling alone, no passport
    await chat("2")  # no disability
    return await chat("1")  # yes: someone hurt him, forced him to work or sold him


@pytest.mark.parametrize("language", ["en", "ar"])
async def test_a_disclosure_with_a_person_at_once(
    client: httpx.AsyncClient, runtime: Runtime, language: str
) -> None:
    chat = Chat(client, runtime, f"disclose-now-{language}")
    replies = await register_until_violence(chat, language)
    assert replies == [
        t(runtime, language, "registration.disclosure_ack"),
        t(runtime, language, "registration.disclosure_offer"),
    ]
    replies = await chat("1")  # now
    assert replies == [
        t(runtime, language, "registration.disclosure_now"),
        # an urgent case: the person is also told what help exists now (none configured here)
        t(runtime, language, "handoff.position", position=1)
        + "\n"
        + t(runtime, language, "handoff.no_emergency_numbers"),
    ]
    [handoff] = await runtime.store.open_handoffs()
    assert (handoff.reason, handoff.priority) == ("disclosure", "urgent")
    await runtime.handoffs.close(handoff.id, None, "resolved")
    sender = f"disclose-now-{language}"
    later = await client.get("/webhooks/rest/messages", params={"sender": sender})
    assert [m["text"] for m in later.json()] == [t(runtime, language, "handoff.closed_resume")]
    assert (await chat(CONTINUE[language]))[0] == t(runtime, language, "registration.resume")
    assert (await chat("1"))[-1] == t(runtime, language, "registration.confirm")
    done = await chat("1")
    assert re.search(r"LY-[A-Z0-9]{6}", done[0])
    [row] = await registrations(runtime)
    assert row.priority == "high" and "violence" in row.vulnerabilities["flags"]


@pytest.mark.parametrize("language", LANGUAGES)
async def test_a_disclosure_with_a_person_after_the_registration(
    client: httpx.AsyncClient, runtime: Runtime, language: str
) -> None:
    chat = Chat(client, runtime, f"disclose-after-{language}")
    await register_until_violence(chat, language)
    replies = await chat("2")  # after the registration
    assert replies[0] == t(runtime, language, "registration.disclosure_after")
    assert replies[-1] == t(runtime, language, "registration.confirm")
    assert await runtime.store.open_handoffs() == []
    done = await chat("1")
    assert t(runtime, language, "registration.disclosure_handoff") in done
    assert done[-1] == (
        t(runtime, language, "handoff.position", position=1)
        + "\n"
        + t(runtime, language, "handoff.no_emergency_numbers")
    )
    [row] = await registrations(runtime)
    [handoff] = await runtime.store.open_handoffs()
    assert (handoff.reason, handoff.priority) == ("disclosure", "urgent")
    assert handoff.registration_id == row.id


# -- issue 16: corrections that always work ---------------------------------------------------

SAY_WOMAN = {"en": "I am a woman", "ar": "انا امرأة", "fr": "je suis une femme", "ha": "ni mace ce"}


@pytest.mark.parametrize("language", LANGUAGES)
async def test_a_woman_who_tapped_man_corrects_it_at_the_review(
    client: httpx.AsyncClient, runtime: Runtime, language: str
) -> None:
    chat = Chat(client, runtime, f"wrong-sex-{language}")
    await chat(OPEN[language])
    await chat("1")
    await chat(YES[language])
    for text in [NAMES[language], "1", "30", "2", "0912345678", CITIES[language], "2", "1"]:
        await chat(text)  # "2": Man, by mistake; "1": a valid passport
    await chat("AB123456")
    await chat("0")
    await chat("2")  # disability
    review = await chat("2")  # violence: no
    assert "AB123456" in review[0]  # the passport number is shown, it is sent
    assert (await chat("2"))[0] == t(runtime, language, "registration.which_change")
    replies = await chat(SAY_WOMAN[language])
    assert replies[0] == t(runtime, language, "registration.corrected")
    assert replies[-1] == t(runtime, language, "registration.ask_pregnant")
    review = await chat("2")
    assert t(runtime, language, "registration.sex.female") in review[0]
    assert NAMES[language] in review[0]
    done = await chat("1")
    assert re.search(r"LY-[A-Z0-9]{6}", done[0])
    [row] = await registrations(runtime)
    assert (row.sex, row.full_name, row.passport_number) == ("female", NAMES[language], "AB123456")
