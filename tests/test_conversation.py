"""Scripted conversations in every language through the REST endpoint (issue 2's slice)."""

from __future__ import annotations

import itertools

import httpx
import pytest

from bot.runtime import Runtime
from tests.rest_chat import say, texts

_ids = itertools.count()

OPENERS = {
    "en": "hello",
    "ar": "السلام عليكم",
    "fr": "bonjour",
    "ha": "sannu",
}
GO_HOME = {
    "en": "I want to go home",
    "ar": "نبي نرجع لبلادي",
    "fr": "je veux rentrer",
    "ha": "ina so in koma gida",
}


@pytest.mark.parametrize("language", ["en", "ar", "fr", "ha"])
async def test_greeting_menu_and_registration_start(
    client: httpx.AsyncClient, runtime: Runtime, language: str
) -> None:
    t = runtime.catalogs.text
    sender = f"conv-{language}"
    replies = await say(client, sender, OPENERS[language])
    assert texts(replies)[:2] == [t(language, "welcome.first"), t(language, "menu.main")]
    menu = replies[1]
    assert [b["payload"] for b in menu["buttons"]] == ["1", "2", "3", "4", "5"]
    assert menu["buttons"][0]["title"] == "1. " + t(language, "menu.option.return")
    assert menu["metadata"]["direction"] == ("rtl" if language == "ar" else "ltr")

    replies = await say(client, sender, "1")
    assert texts(replies) == [
        t(language, "registration.intro.1"),
        t(language, "registration.intro.2"),
        t(language, "registration.consent"),
    ]
    # "0" returns to the main menu from inside the registration
    replies = await say(client, sender, "0")
    assert texts(replies) == [t(language, "menu.main")]


@pytest.mark.parametrize("language", ["en", "ar", "fr", "ha"])
async def test_free_text_leads_to_registration_in_that_language(
    client: httpx.AsyncClient, runtime: Runtime, language: str
) -> None:
    t = runtime.catalogs.text
    replies = await say(client, f"free-{language}", GO_HOME[language])
    assert texts(replies) == [
        t(language, "welcome.first"),
        t(language, "registration.intro.1"),
        t(language, "registration.intro.2"),
        t(language, "registration.consent"),
    ]


async def test_unsure_language_asks_with_a_menu_in_every_language(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    t = runtime.catalogs.text
    replies = await say(client, "unsure", "1")
    text = replies[0]["text"]
    for language in ("en", "ar", "fr", "ha", "ti", "am", "so", "bn"):
        assert t(language, "language.choose") in text
    titles = [b["title"] for b in replies[0]["buttons"]]
    assert titles == [
        "1. English",
        "2. العربية",
        "3. Français",
        "4. Hausa",
        "5. ትግርኛ",
        "6. አማርኛ",
        "7. Soomaali",
        "8. বাংলা",
    ]
    replies = await say(client, "unsure", "2")
    assert texts(replies) == [t("ar", "language.changed"), t("ar", "menu.main")]


@pytest.mark.parametrize("word", ["menu", "القائمة", "menu principal", "jerin zabi", "0"])
async def test_menu_words_in_every_language(
    client: httpx.AsyncClient, runtime: Runtime, word: str
) -> None:
    sender = f"menu-{next(_ids)}"
    await say(client, sender, "hello")
    await say(client, sender, "1")
    replies = await say(client, sender, word)
    assert texts(replies) == [runtime.catalogs.text("en", "menu.main")]


async def test_language_can_change_at_any_time(client: httpx.AsyncClient, runtime: Runtime) -> None:
    t = runtime.catalogs.text
    await say(client, "switch", "hello")
    await say(client, "switch", "1")  # inside the registration
    replies = await say(client, "switch", "language")
    assert t("en", "language.choose") in replies[0]["text"]
    replies = await say(client, "switch", "3")
    assert texts(replies) == [t("fr", "language.changed"), t("fr", "menu.main")]


async def test_not_understood_twice_offers_a_person(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    t = runtime.catalogs.text
    await say(client, "confused", "bonjour")
    first = await say(client, "confused", "qwrtzp vbnm")
    assert texts(first) == [t("fr", "not_understood"), t("fr", "menu.main")]
    second = await say(client, "confused", "xxkq zzpt")
    assert texts(second) == [t("fr", "not_understood.offer_human")]
    third = await say(client, "confused", "1")
    # the person is told a person will answer, and their place in the queue
    assert texts(third) == [t("fr", "handoff.requested"), t("fr", "handoff.position", position=1)]
    handoffs = await runtime.store.open_handoffs()
    assert [h.reason for h in handoffs] == ["requested"]
