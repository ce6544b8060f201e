"""The Calls page in a real browser (Playwright driving Debian's chromium) against the app under
uvicorn: an operator saves their phone, sees a caller arrive in the waiting list, takes the
call, and the caller leaves the list once Twilio (played by the test, against the fake Twilio
server) puts them through. Runs on SQLite only.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from playwright.async_api import Page, expect

from bot.runtime import Runtime
from server import create_app
from tests.conftest import RuntimeFactory
from tests.console_support import DEFAULT_PASSWORD, browser_page, create_operator, live_server
from tests.fakes.twilio_api import FakeTwilioAPI, running_fake_twilio
from tests.test_channel_voice import TOKEN, VOICE_URL, call_row
from tests.test_voice_operators import ACCOUNT, AMINA_PHONE, HOTLINE, queued_caller, twilio_post

pytestmark = pytest.mark.parametrize("backend", ["sqlite"])  # overrides the backend fixture

WAIT = 20_000  # ms: an upper bound for a busy machine, not a speed requirement


@pytest.fixture
async def page() -> AsyncIterator[Page]:
    async with browser_page() as page:
        expect.set_options(timeout=WAIT)
        yield page


@pytest.fixture
def fake_twilio() -> Iterator[tuple[FakeTwilioAPI, str]]:
    with running_fake_twilio(ACCOUNT, TOKEN) as running:
        yield running


async def test_a_waiting_caller_is_taken_from_the_calls_page(
    make_runtime: RuntimeFactory, page: Page, fake_twilio: tuple[FakeTwilioAPI, str]
) -> None:
    fake, twilio_base = fake_twilio
    runtime: Runtime = await make_runtime(
        twilio_account_sid=ACCOUNT,
        twilio_auth_token=TOKEN,
        twilio_phone_number=HOTLINE,
        twilio_api_base_url=twilio_base,
    )
    await create_operator(runtime, "amina", "operator", display_name="Amina")
    transport = httpx.ASGITransport(app=create_app(runtime=runtime))
    async with (
        live_server(runtime) as base,
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as twilio,
    ):
        await page.goto(f"{base}/console/account")
        await page.fill("input[name=username]", "amina")
        await page.fill("input[name=password]", DEFAULT_PASSWORD)
        await page.get_by_role("button", name="Sign in").click()
        await expect(page).to_have_url(f"{base}/console/account")
        await page.fill("input[name=phone]", "+218 91 234 5678")
        await page.get_by_role("button", name="Save phone number").click()
        await expect(page.locator("input[name=phone]")).to_have_value(AMINA_PHONE)

        await page.get_by_role("link", name="Calls").click()
        await expect(page).to_have_url(f"{base}/console/calls")
        await expect(page.locator("#live")).to_have_text("live")
        await expect(page.locator("#calls-empty")).to_be_visible()

        # a caller asks for a person: they appear without reloading, language and wait shown
        caller, _ = await queued_caller(runtime, twilio, "ar")
        row = page.locator("#calls-rows tr[data-call]")
        await expect(row).to_have_count(1)
        await expect(row).to_contain_text("Arabic")
        await expect(row.locator(".waited")).to_have_text(re.compile(r"^\d+ min \d\d s$"))
        await expect(page.locator("#calls-empty")).to_be_hidden()

        await row.get_by_role("button", name="Take this call").click()
        await expect(page).to_have_url(f"{base}/console/calls?notice=ringing")
        await expect(row).to_contain_text("ringing Amina")
        (ring,) = fake.calls
        assert ring["To"] == AMINA_PHONE and ring["Url"] == f"{base}/webhooks/twilio/voice/operator"

        # Amina answers; Twilio dequeues the caller for her: the caller leaves the list
        answered = await twilio_post(twilio, VOICE_URL + "/operator", CallSid=ring["Sid"])
        assert "<Queue>" in answered.text
        (dequeued,) = fake.dequeued
        assert dequeued["CallSid"] == caller.sid
        await caller.twiml(VOICE_URL + "/taken")
        await expect(row).to_have_count(0)
        await expect(page.locator("#calls-empty")).to_be_visible()
        assert (await call_row(runtime, caller)).taken_by_id is not None
