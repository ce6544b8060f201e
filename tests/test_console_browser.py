"""The console in a real browser (Playwright driving Debian's chromium) against the real app
under uvicorn: sign in, see a case arrive live, take it, talk with the person, close it, and
see the bot answer again — with a simulated migrant on the REST channel and on Telegram's fake
Bot API. Runs on SQLite only (the role and escaping checks run on both backends elsewhere).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from playwright.async_api import Page, expect

from bot.runtime import Runtime
from tests.console_support import (
    ASK_FOR_PERSON,
    DEFAULT_PASSWORD,
    browser_page,
    create_operator,
    live_server,
    rest_ask_for_person,
    rest_collect,
    rest_say,
)
from tests.fakes.telegram_api import FakeTelegramAPI, running_fake_telegram, text_update

pytestmark = pytest.mark.parametrize("backend", ["sqlite"])  # overrides the backend fixture

XSS = "<img src=x onerror=alert(1)>"
WAIT = 20_000  # ms: an upper bound for a busy machine, not a speed requirement
SECRET = "telegram-webhook-secret"


@pytest.fixture
async def page() -> AsyncIterator[Page]:
    async with browser_page() as page:
        expect.set_options(timeout=WAIT)
        yield page


@pytest.fixture
def fake_telegram() -> Iterator[tuple[FakeTelegramAPI, str]]:
    with running_fake_telegram() as running:
        yield running


async def sign_in(page: Page, base: str, username: str, password: str) -> None:
    await page.goto(f"{base}/console")
    await expect(page).to_have_url(f"{base}/console/login?next=/console")
    await page.fill("input[name=username]", username)
    await page.fill("input[name=password]", password)
    await page.get_by_role("button", name="Sign in").click()


async def open_case_page(page: Page, base: str) -> int:
    """Takes the one case in the queue: the case page opens."""
    row = page.locator("#queue-rows tr[data-case]")
    await expect(row).to_have_count(1)  # it arrived without reloading
    case_id = int(await row.get_attribute("data-case") or 0)
    await row.get_by_role("button", name="Take").click()
    await expect(page).to_have_url(f"{base}/console/cases/{case_id}")
    await expect(page.locator("#live")).to_have_text("live")
    return case_id


def dialogs_of(page: Page) -> list[str]:
    seen: list[str] = []

    async def dismiss(dialog: Any) -> None:
        seen.append(dialog.message)
        await dialog.dismiss()

    page.on("dialog", dismiss)
    return seen


async def test_rest_conversation_in_the_browser(runtime: Runtime, page: Page) -> None:
    await create_operator(
        runtime,
        "amina",
        "operator",
        "one-time-pass-1",
        display_name="Amina",
        must_change_password=True,
    )
    await create_operator(runtime, "musa", "operator", display_name="Musa")
    dialogs = dialogs_of(page)
    async with live_server(runtime) as base, httpx.AsyncClient(base_url=base) as person:
        # first sign-in with a one-time password: a new password first
        await sign_in(page, base, "amina", "one-time-pass-1")
        await expect(page).to_have_url(f"{base}/console/password")
        await page.fill("input[name=current]", "one-time-pass-1")
        await page.fill("input[name=new]", "amina's own password")
        await page.fill("input[name=confirm]", "amina's own password")
        await page.get_by_role("button", name="Change password").click()
        await expect(page).to_have_url(f"{base}/console?notice=password")
        await expect(page.locator("#live")).to_have_text("live")
        await expect(page.locator("#queue-rows")).to_contain_text("No cases here.")

        # a Hausa speaker asks for a person: the case appears in the open queue
        await rest_ask_for_person(person, "browser-migrant", "ha")
        await expect(page.locator("#queue-rows tr[data-case] td").nth(7)).to_have_text(
            ASK_FOR_PERSON["ha"][1]
        )
        case_id = await open_case_page(page, base)
        await expect(page.locator("#case-assigned")).to_have_text("Amina")

        # a colleague on the same case sees Amina typing
        colleague_context = await page.context.browser.new_context()  # type: ignore[union-attr]
        colleague = await colleague_context.new_page()
        await sign_in(colleague, base, "musa", DEFAULT_PASSWORD)
        await colleague.goto(f"{base}/console/cases/{case_id}")
        await expect(colleague.locator("#live")).to_have_text("live")
        await page.locator("#reply-text").press_sequentially("Sannu")
        await expect(colleague.locator("#typing")).to_have_text("Amina is typing…")
        await colleague_context.close()

        # the person's messages appear as they come, as text
        # never silence: the first message while nobody has written yet gets one short note
        assert await rest_say(person, "browser-migrant", "Ina Tripoli", "ha") == [
            runtime.catalogs.text("ha", "handoff.passed_on_taken")
        ]
        await expect(page.locator("#conversation")).to_contain_text("Ina Tripoli")
        await rest_say(person, "browser-migrant", XSS, "ha")
        last = page.locator("#conversation li .text").last
        await expect(last).to_have_text(XSS)
        assert await page.locator("#conversation img").count() == 0

        # a free reply and a canned Hausa reply reach the person
        await page.fill("#reply-text", "Sannu, ina nan.")
        await page.get_by_role("button", name="Send", exact=True).click()
        await expect(page.locator("#conversation")).to_contain_text("Sannu, ina nan.")
        canned = page.locator('[data-canned="ask_safe"]')
        english = runtime.catalogs.text("en", "canned.ask_safe")
        hausa = runtime.catalogs.text("ha", "canned.ask_safe")
        await expect(canned.locator(".english")).to_contain_text(english)
        await expect(canned.locator(".person")).to_have_text(hausa)
        await canned.get_by_role("button").click()
        await expect(page.locator("#conversation")).to_contain_text(hausa)
        assert await rest_collect(person, "browser-migrant") == ["Sannu, ina nan.", hausa]

        # closing hands the person back to the bot, which says so in Hausa
        await page.select_option("#outcome", "resolved")
        await page.locator("#close").click()
        await expect(page.locator(".notice")).to_contain_text("the bot answers this person")
        await expect(page.locator("#case-status")).to_have_text("closed")
        assert await rest_collect(person, "browser-migrant") == [
            runtime.catalogs.text("ha", "handoff.closed")
        ]
        assert await rest_say(person, "browser-migrant", "sannu", "ha") != []
        await page.goto("about:blank")  # closes the event stream before the server stops
    assert dialogs == []  # nothing a person wrote ran as script


async def test_telegram_conversation_in_the_browser(
    make_runtime: Any, page: Page, fake_telegram: tuple[FakeTelegramAPI, str]
) -> None:
    fake, api_base = fake_telegram
    runtime: Runtime = await make_runtime(
        telegram_bot_token="123456:TEST-TOKEN",
        telegram_webhook_secret=SECRET,
        telegram_api_base_url=api_base,
    )
    await create_operator(runtime, "amina", "operator", display_name="Amina")
    chat = 5550001
    dialogs = dialogs_of(page)
    updates = iter(range(900, 1000))

    async def person_writes(client: httpx.AsyncClient, text: str) -> None:
        answer = await client.post(
            "/webhooks/telegram",
            json=text_update(next(updates), chat, text, "en"),
            headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
        )
        assert answer.status_code == 200, answer.text
        await runtime.outbox.drain()  # what the bot queued goes to Telegram now

    def texts() -> list[str]:
        return [message["text"] for message in fake.sent_to(chat)]

    async with live_server(runtime) as base, httpx.AsyncClient(base_url=base) as telegram:
        await sign_in(page, base, "amina", DEFAULT_PASSWORD)
        await expect(page).to_have_url(f"{base}/console")
        await expect(page.locator("#live")).to_have_text("live")
        await person_writes(telegram, "hello")
        await person_writes(telegram, "i want to talk to a person")
        assert runtime.catalogs.text("en", "handoff.requested") in texts()
        await open_case_page(page, base)

        answered = len(texts())
        await person_writes(telegram, XSS)
        inbound = page.locator("#conversation li.msg.in .text").last
        await expect(inbound).to_have_text(XSS)
        assert await page.locator("#conversation img").count() == 0
        # never silence: until the operator writes, the bot says once that a person has it
        assert texts()[answered:] == [runtime.catalogs.text("en", "handoff.passed_on_taken")]

        async with page.expect_response(lambda r: r.url.endswith("/typing")) as typing:
            await page.locator("#reply-text").press_sequentially("We")
        assert await (await typing.value).json() == {"shown_to_person": True}
        assert fake.chat_actions[-1] == {"chat_id": chat, "action": "typing"}
        await page.fill("#reply-text", "We are here. Where are you?")
        await page.get_by_role("button", name="Send", exact=True).click()
        await expect(page.locator("#conversation")).to_contain_text("We are here.")
        await runtime.outbox.drain()
        assert texts()[-1] == "We are here. Where are you?"

        await page.select_option("#outcome", "referred")
        await page.locator("#close").click()
        await expect(page.locator("#case-status")).to_have_text("closed")
        await runtime.outbox.drain()
        assert texts()[-1] == runtime.catalogs.text("en", "handoff.closed")
        closed_at = len(texts())
        await person_writes(telegram, "hello")
        assert len(texts()) > closed_at  # the bot answers again
        await page.goto("about:blank")  # closes the event stream before the server stops
    assert dialogs == []
