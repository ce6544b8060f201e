"""Issue 16 in a real browser (Playwright driving Debian's chromium) against the real app under
uvicorn: on the web chat a woman who wants to go home registers in her language, taps "Man" by
mistake, says at the review that she is a woman, answers the question that now applies, sees the
corrected answer on the page and confirms; the stored case says female, with her name as given.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from playwright.async_api import Page, expect
from sqlalchemy import select

from bot.runtime import Runtime
from bot.storage.models import Registration
from tests.console_support import browser_page, live_server

pytestmark = pytest.mark.parametrize("backend", ["sqlite"])  # overrides the backend fixture

WAIT = 20_000  # ms: an upper bound for a busy machine
MARK = "\u00a7"  # stands for a value, to find its line in a message template

GO_HOME = {
    "en": "I want to go home",
    "ar": "أريد العودة إلى بلدي",
    "fr": "je veux rentrer chez moi",
    "ha": "ina so in koma gida",
}
YES = {"en": "yes", "ar": "نعم", "fr": "oui", "ha": "ee"}
NAMES = {"en": "Amina Bello", "ar": "آمنة محمد", "fr": "Aminata Traoré", "ha": "Hauwa Musa"}
COUNTRIES = {"en": "Nigeria", "ar": "نيجيريا", "fr": "Nigéria", "ha": "Najeriya"}
CITIES = {"en": "Sabha", "ar": "سبها", "fr": "Sebha", "ha": "sabha"}
SAY_WOMAN = {"en": "I am a woman", "ar": "انا امرأة", "fr": "je suis une femme", "ha": "ni mace ce"}


@pytest.fixture
async def page() -> AsyncIterator[Page]:
    async with browser_page() as page:
        expect.set_options(timeout=WAIT)
        yield page


async def say(page: Page, text: str) -> list[str]:
    """Types a message, waits for the bot's answer and returns the new bot messages as drawn
    (their rendered text, what the person reads)."""
    bubbles = page.locator(".msg.bot .text")
    before = await bubbles.count()
    await page.fill("#text", text)
    await page.press("#text", "Enter")
    await expect(bubbles).not_to_have_count(before)
    new = (await bubbles.all())[before:]
    for bubble in new:
        await expect(bubble).to_be_visible()
    return [await bubble.inner_text() for bubble in new]


def summary_line(runtime: Runtime, language: str, field: str, value: str) -> str:
    """The review's line for one answer, as the catalog writes it: "Sex: Woman"."""
    values: dict[str, Any] = {field: MARK}
    template = runtime.catalogs.text(language, "registration.summary", **values)
    [line] = [line for line in template.split("\n") if MARK in line]
    return line.replace(MARK, value).strip("\u200f")


@pytest.mark.parametrize("language", ["en", "ar", "fr", "ha"])
async def test_a_woman_who_tapped_man_registers_and_corrects_it_at_the_review(
    runtime: Runtime, page: Page, language: str
) -> None:
    def t(key: str, **values: Any) -> str:
        return runtime.catalogs.text(language, key, **values)

    name, woman, man = NAMES[language], t("registration.sex.female"), t("registration.sex.male")
    async with live_server(runtime) as base:
        await page.goto(f"{base}/chat?lang={language}")
        replies = await say(page, GO_HOME[language])
        assert replies[-1] == t("registration.consent"), replies
        assert t("registration.intro.1") in replies
        assert await say(page, YES[language]) == [t("registration.ask_name")]
        assert (await say(page, name))[0] == t("registration.ask_country")
        assert await say(page, COUNTRIES[language]) == [t("registration.ask_age")]
        assert await say(page, "30") == [t("registration.ask_sex")]
        assert await say(page, "2") == [t("registration.ask_phone")]  # "Man", by mistake
        assert await say(page, "0912345678") == [t("registration.ask_city")]
        assert await say(page, CITIES[language]) == [t("registration.ask_detained")]
        assert await say(page, "2") == [t("registration.ask_document")]  # not detained
        assert await say(page, "1") == [t("registration.ask_passport_number")]  # valid
        assert await say(page, "AB123456") == [t("registration.ask_family")]
        assert await say(page, "0") == [  # travels alone
            t("registration.vulnerability_intro"),
            t("registration.ask_disability"),  # a man of 30: not asked if pregnant
        ]
        assert await say(page, "2") == [t("registration.ask_violence")]
        review = await say(page, "2")
        assert review[-1] == t("registration.confirm")
        assert summary_line(runtime, language, "sex", man) in review[0]
        assert summary_line(runtime, language, "name", name) in review[0]

        # at the review: change an answer, and say it in her own words
        assert (await say(page, "2"))[0] == t("registration.which_change")
        replies = await say(page, SAY_WOMAN[language])
        assert replies == [t("registration.corrected"), t("registration.ask_pregnant")]
        review = await say(page, "2")  # not pregnant
        assert review[-1] == t("registration.confirm")
        assert summary_line(runtime, language, "sex", woman) in review[0]
        assert summary_line(runtime, language, "sex", man) not in review[0]
        assert summary_line(runtime, language, "name", name) in review[0]
        assert "AB123456" in review[0]
        # the page shows it too: the last review on screen reads "Woman", the first "Man"
        shown = page.locator(".msg.bot .text", has_text=t("registration.confirm"))
        await expect(shown).to_have_count(2)
        summaries = page.locator(".msg.bot .text").filter(
            has_text=summary_line(runtime, language, "name", name)
        )
        await expect(summaries).to_have_count(2)
        await expect(summaries.last).to_contain_text(summary_line(runtime, language, "sex", woman))
        await expect(summaries.first).to_contain_text(summary_line(runtime, language, "sex", man))

        done = await say(page, "1")
        reference = re.search(r"LY-[A-Z0-9]{6}", done[0])
        assert reference is not None, done
        assert done[0] == t("registration.done", reference=reference.group())
        sender = await page.evaluate("() => window.localStorage.getItem('hotline-sender')")
        await page.goto("about:blank")

    # what was stored, read back (and decrypted) through the models
    contact = await runtime.store.contact_for("web", sender)
    async with runtime.db.session() as session:
        [row] = list(await session.scalars(select(Registration)))
    assert (row.reference, row.contact_id, row.channel, row.language) == (
        reference.group(),
        contact.id,
        "web",
        language,
    )
    assert (row.sex, row.full_name, row.country) == ("female", name, "NG")
    assert (row.passport_number, row.age) == ("AB123456", 30)
    assert "pregnant" not in row.vulnerabilities.get("flags", [])
