"""The second factor in a real browser (Playwright driving Debian's chromium) against the
real app under uvicorn: a supervisor sets it up at sign-in by reading the key off the page
(the phone's part is played by pyotp), keeps the recovery codes, signs out, and signs in
again with a code. Runs on SQLite only (the routes are tested on both backends elsewhere)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pyotp
import pytest
from playwright.async_api import Page, expect

from bot.runtime import Runtime
from tests.console_support import (
    DEFAULT_PASSWORD,
    browser_page,
    create_operator,
    live_server,
    next_code,
)

pytestmark = pytest.mark.parametrize("backend", ["sqlite"])  # overrides the backend fixture

WAIT = 20_000  # ms: an upper bound for a busy machine, not a speed requirement


@pytest.fixture
async def page() -> AsyncIterator[Page]:
    async with browser_page() as page:
        expect.set_options(timeout=WAIT)
        yield page


async def enter_password(page: Page, base: str) -> None:
    await page.goto(f"{base}/console")
    await expect(page).to_have_url(f"{base}/console/login?next=/console")
    await page.fill("input[name=username]", "nadia")
    await page.fill("input[name=password]", DEFAULT_PASSWORD)
    await page.get_by_role("button", name="Sign in").click()


async def test_totp_enrolment_and_sign_in_in_the_browser(runtime: Runtime, page: Page) -> None:
    await create_operator(runtime, "nadia", "supervisor", second_factor=False)
    async with live_server(runtime) as base:
        # the password is right, but a supervisor sets up a second factor first
        await enter_password(page, base)
        await expect(page).to_have_url(f"{base}/console/second-factor")
        await expect(page.locator("main")).to_contain_text("needs a second factor")
        qr = page.locator("#totp-qr")
        await expect(qr).to_be_visible()
        assert await qr.evaluate("image => image.naturalWidth") > 0  # the QR code is drawn
        secret = (await page.locator("#totp-secret").inner_text()).replace(" ", "")
        totp = pyotp.TOTP(secret)
        # any other page sends her back here
        await page.goto(f"{base}/console/registrations")
        await expect(page).to_have_url(f"{base}/console/second-factor")
        # a wrong code is refused, the right one turns it on
        wrong = "000000" if totp.now() != "000000" else "111111"
        await page.fill("input[name=code]", wrong)
        await page.get_by_role("button", name="Turn on").click()
        await expect(page.locator(".error")).to_contain_text("does not match")
        await page.fill("input[name=code]", await next_code(secret))
        await page.get_by_role("button", name="Turn on").click()
        codes = page.locator("#recovery-codes li")
        await expect(codes).to_have_count(8)
        await page.get_by_role("link", name="Continue to the console").click()
        await expect(page).to_have_url(f"{base}/console")
        await expect(page.locator("#live")).to_have_text("live")

        # signing in again asks for a code, and the console opens with it
        await page.get_by_role("button", name="Sign out").click()
        # the live page may notice the ended session first and come back through /console
        await expect(page).to_have_url(
            re.compile(rf"{re.escape(base)}/console/login(\?next=/console)?$")
        )
        await enter_password(page, base)
        await expect(page).to_have_url(f"{base}/console/login/code?next=/console")
        await page.fill("input[name=code]", await next_code(secret))
        await page.get_by_role("button", name="Continue").click()
        await expect(page).to_have_url(f"{base}/console")
        await expect(page.locator("header nav")).to_contain_text("Audit")
        await page.get_by_role("link", name="Audit").click()
        await expect(page).to_have_url(f"{base}/console/audit")
        await expect(page.locator("table.audit")).to_contain_text("second_factor.enabled")
