"""The voice studio in a real browser (Playwright driving Debian's chromium, with chromium's
fake microphone) against the real app under uvicorn: a supervisor records a Hausa prompt,
listens back, records it again, keeps it — and the next call in Hausa plays it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Page, expect

from bot.channels.voice.studio import MAX_SECONDS
from server import create_app
from tests.conftest import RuntimeFactory
from tests.console_support import (
    DEFAULT_PASSWORD,
    TOTP_SECRETS,
    browser_page,
    create_operator,
    live_server,
    next_code,
)
from tests.test_channel_voice import TOKEN, VOICE_URL, Caller, plays, recorded_locales
from tests.test_voice_studio import duration_of

WAIT = 20_000  # ms: an upper bound for a busy machine, not a speed requirement
FAKE_MICROPHONE = (
    "--use-fake-device-for-media-stream",  # a generated beep instead of a real microphone
    "--use-fake-ui-for-media-stream",  # the microphone permission is granted without asking
    "--autoplay-policy=no-user-gesture-required",
)


@pytest.fixture
def backend() -> str:
    return "sqlite"


@pytest.fixture
async def page() -> AsyncIterator[Page]:
    async with browser_page(*FAKE_MICROPHONE) as page:
        expect.set_options(timeout=WAIT)
        yield page


async def record_take(page: Page, row: str, seconds: float) -> None:
    prompt = page.locator(row)
    await expect(prompt.locator(".message")).to_have_text("Recording…")
    await page.wait_for_timeout(int(seconds * 1000))
    await prompt.get_by_role("button", name="Stop").click()
    await expect(prompt.locator(".message")).to_have_text("Listen back, then keep it or redo it.")
    await expect(prompt.locator("audio.take")).to_be_visible()


async def test_a_supervisor_records_a_hausa_prompt_in_the_browser_and_a_call_plays_it(
    make_runtime: RuntimeFactory, page: Page, tmp_path: Path
) -> None:
    locales = recorded_locales(tmp_path)
    (locales / "ha" / "audio" / "voice.welcome.mp3").unlink()  # the one prompt still missing
    runtime = await make_runtime(
        twilio_auth_token=TOKEN, locales_dir=locales, data_dir=tmp_path / "data"
    )
    await create_operator(runtime, "sadia", "supervisor")
    stored = tmp_path / "data" / "voice_prompts" / "ha" / "voice.welcome.mp3"

    async with live_server(runtime) as base:
        await page.goto(f"{base}/console/studio")
        await page.fill("input[name=username]", "sadia")
        await page.fill("input[name=password]", DEFAULT_PASSWORD)
        await page.get_by_role("button", name="Sign in").click()
        await page.fill("input[name=code]", await next_code(TOTP_SECRETS["sadia"]))
        await page.get_by_role("button", name="Continue").click()
        await expect(page).to_have_url(f"{base}/console/studio")
        hausa = page.locator('tr[data-language="ha"]')
        await expect(hausa).to_contain_text("Not offered until complete")
        total = int((await hausa.locator("progress").get_attribute("max")) or 0)
        await expect(hausa.locator(".count")).to_have_text(
            f"{total - 1} of {total} ({(total - 1) * 100 // total}%)"
        )
        await hausa.get_by_role("link").click()
        await expect(page).to_have_url(f"{base}/console/studio/ha")

        row = 'tr[data-prompt="voice.welcome"]'
        prompt = page.locator(row)
        await expect(prompt.locator(".badge")).to_have_text("Missing")
        await prompt.get_by_role("button", name="Record").click()
        await record_take(page, row, 1.0)
        # listen back: the take plays in the page
        played = await prompt.locator("audio.take").evaluate(
            "async audio => { await audio.play(); "
            "await new Promise(done => setTimeout(done, 400)); "
            "audio.pause(); return audio.currentTime; }"
        )
        assert played > 0
        # not good enough: redo it, a little longer, and keep that one
        await prompt.get_by_role("button", name="Redo").click()
        await record_take(page, row, 2.0)
        assert not stored.exists()  # nothing is kept before "Keep"
        await prompt.get_by_role("button", name="Keep").click()
        await expect(prompt.locator(".message")).to_have_text("Kept: callers hear it from now on.")
        await expect(prompt.locator(".badge")).to_have_text("Recorded")
        await expect(page.locator("#studio-count")).to_have_text(
            f"{total} of {total} recorded (100%)"
        )
        kept = prompt.locator("audio.kept")
        await expect(kept).to_be_visible()
        # the kept recording plays back from the server
        assert await kept.evaluate(
            "async audio => { await audio.play(); "
            "await new Promise(done => setTimeout(done, 300)); "
            "audio.pause(); return audio.currentTime > 0; }"
        )

    # The converted recording is the second take, and a call in Hausa plays it.
    seconds, rate, channels = duration_of(stored.read_bytes())
    assert 1.3 < seconds < MAX_SECONDS and channels == 1 and rate == 22_050
    transport = httpx.ASGITransport(app=create_app(runtime=runtime))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        caller = Caller(http)
        menu = await caller.dial()
        welcome = await caller.press(menu, str(runtime.catalogs.languages.index("ha") + 1))
        url = f"{VOICE_URL}/audio/ha/voice.welcome.mp3"
        assert plays(welcome)[0] == url
        served = await http.get(url.removeprefix("http://testserver"))
        assert served.status_code == 200 and served.content == stored.read_bytes()
