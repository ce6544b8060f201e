"""The web chat in a real browser (Playwright driving Debian's chromium) against the real app
under uvicorn: the first screen in every menu language, a conversation that survives a reload,
"clear" for shared phones, an operator's reply marked as from a person, and Arabic replies whose
phone numbers and references are drawn in their own order.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from playwright.async_api import Page, expect

from bot.runtime import Runtime
from tests.console_support import browser_page, create_operator, live_server

pytestmark = pytest.mark.parametrize("backend", ["sqlite"])  # overrides the backend fixture

WAIT = 20_000  # ms: an upper bound for a busy machine (the page collects every 5 s)
FSI, PDI = "\u2068", "\u2069"

# x of the left edge of each character of `needle`, as drawn, in the first message holding
# `within` (or in `root`'s text): the visual order of the characters.
CHARACTER_POSITIONS = """
([root, needle, within]) => {
  const holder = root ? document.querySelector(root)
    : [...document.querySelectorAll(".msg")].find((m) => m.textContent.includes(within));
  if (!holder) return null;
  const walker = document.createTreeWalker(holder, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const at = node.data.indexOf(needle);
    if (at < 0) continue;
    const xs = [];
    for (let k = 0; k < needle.length; k++) {
      const range = document.createRange();
      range.setStart(node, at + k);
      range.setEnd(node, at + k + 1);
      xs.push(range.getClientRects()[0].left);
    }
    return xs;
  }
  return null;
}
"""


@pytest.fixture
async def page() -> AsyncIterator[Page]:
    async with browser_page() as page:
        expect.set_options(timeout=WAIT)
        yield page


async def say(page: Page, text: str) -> list[str]:
    """Types a message and waits for the bot's answer; returns the new bot messages' texts."""
    bubbles = page.locator(".msg.bot .text")
    before = await bubbles.count()
    await page.fill("#text", text)
    await page.press("#text", "Enter")
    await expect(bubbles).not_to_have_count(before)
    return (await bubbles.all_text_contents())[before:]


async def stored(page: Page, key: str) -> Any:
    return await page.evaluate("(key) => window.localStorage.getItem(key)", key)


async def test_first_screen_says_what_the_hotline_does_in_every_menu_language(
    runtime: Runtime, page: Page
) -> None:
    catalogs = runtime.catalogs
    async with live_server(runtime) as base:
        await page.goto(f"{base}/chat?lang=ar")
        sections = page.locator("#first-screen section.intro")
        await expect(sections).to_have_count(len(runtime.settings.enabled_languages))
        assert await sections.first.get_attribute("lang") == "ar"  # the page's language first
        for code in runtime.settings.enabled_languages:
            section = page.locator(f'#first-screen section[lang="{code}"]')
            assert await section.locator(".what").text_content() == catalogs.text(
                code, "webchat.intro"
            )
            assert await section.locator(".danger").text_content() == catalogs.text(
                code, "webchat.intro_danger"
            )
            direction = await section.evaluate("(s) => getComputedStyle(s).direction")
            assert direction == catalogs.direction(code)
            await expect(section.locator("h2")).to_have_text(catalogs.info(code).native_name)
        # a language's name opens the page in that language
        await page.locator('#first-screen section[lang="fr"] h2 a').click()
        await expect(page.locator("html")).to_have_attribute("lang", "fr")
        await expect(page.locator("#send")).to_have_text(catalogs.text("fr", "webchat.send"))
        assert await stored(page, "hotline-sender") is None  # nothing written, nothing kept


async def test_a_conversation_survives_a_reload_and_clear_forgets_it(
    runtime: Runtime, page: Page
) -> None:
    catalogs = runtime.catalogs
    confirms: list[str] = []

    async def accept(dialog: Any) -> None:
        confirms.append(dialog.message)
        await dialog.accept()

    page.on("dialog", accept)
    async with live_server(runtime) as base:
        await page.goto(f"{base}/chat?lang=en")
        await say(page, "hello")
        await say(page, "i want to talk to a person")
        transcript = await page.locator(".msg").all_text_contents()
        sender = await stored(page, "hotline-sender")
        assert sender and sender.startswith("web-")
        contact = await runtime.store.contact_for("web", sender)
        [case] = await runtime.store.open_handoffs()
        assert case.contact_id == contact.id and case.channel == "web"

        await page.reload()
        await expect(page.locator(".msg")).to_have_text(transcript)
        assert await stored(page, "hotline-sender") == sender
        assert await page.locator(".msg.operator").count() == 0

        # the page is closed when the operator writes: at the next visit it comes in, marked
        await page.goto("about:blank")
        operator = await create_operator(runtime, "amina", "operator", display_name="Amina")
        await runtime.handoffs.reply(case.id, operator, "Hello, I am Amina. I can help you.")
        await page.goto(f"{base}/chat?lang=en")
        marked = page.locator(".msg.operator")
        await expect(marked).to_have_count(1)
        await expect(marked.locator(".author")).to_have_text(
            catalogs.text("en", "webchat.operator")
        )
        await expect(marked.locator(".text")).to_have_text("Hello, I am Amina. I can help you.")
        colours = await page.evaluate(
            """() => [".msg.operator", ".msg.bot:not(.operator)"].map(
                (s) => getComputedStyle(document.querySelector(s)).backgroundColor)"""
        )
        assert colours[0] != colours[1]  # drawn apart from the bot's messages
        # and while the page is open, the next one arrives by itself
        await runtime.handoffs.reply(case.id, operator, "Are you safe now?")
        await expect(marked).to_have_count(2)
        await page.reload()
        await expect(marked).to_have_count(2)  # remembered as from a person

        # a shared phone: "clear" forgets the conversation and the sender, here only
        await page.get_by_role("button", name=catalogs.text("en", "webchat.clear")).click()
        assert confirms == [catalogs.text("en", "webchat.clear_confirm")]
        await expect(page.locator(".msg")).to_have_count(0)
        assert await stored(page, "hotline-sender") is None
        assert await stored(page, "hotline-transcript") is None
        await page.reload()
        await expect(page.locator("#first-screen section.intro").first).to_be_visible()
        assert await page.locator(".msg").count() == 0
        await say(page, "hello")
        assert await stored(page, "hotline-sender") not in (None, sender)  # a new person
        await page.goto("about:blank")


async def test_arabic_phone_numbers_and_references_are_drawn_in_their_own_order(
    runtime: Runtime, page: Page
) -> None:
    catalogs = runtime.catalogs
    phone = "+218912345678"
    async with live_server(runtime) as base:
        await page.goto(f"{base}/chat?lang=ar")
        await expect(page.locator("html")).to_have_attribute("dir", "rtl")
        # a registration in Arabic, by digits and short answers, up to the review
        await say(page, "السلام عليكم")
        await say(page, "1")
        await say(page, "نعم")
        for answer in ("Amina Bello", "1", "30", "1", "0912345678", "سبها", "2", "3", "0"):
            await say(page, answer)
        await say(page, "2")
        await say(page, "2")
        summary = await say(page, "2")
        assert any(phone in text for text in summary)
        assert any("\nالمدينة: سبها\n" in text for text in summary)  # not "Sebha"
        assert catalogs.text("ar", "registration.confirm") in summary
        done = (await say(page, "1"))[0]
        reference = re.search(r"LY-[A-Z0-9]{6}", done)
        assert reference is not None and f"{FSI}{reference.group()}{PDI}" in done

        bubble = page.locator(".msg.bot", has_text=phone).first
        assert await bubble.get_attribute("dir") == "auto"
        assert await bubble.evaluate("(b) => getComputedStyle(b).unicodeBidi") == "isolate"
        assert await bubble.evaluate("(b) => getComputedStyle(b).direction") == "rtl"
        for needle in (phone, reference.group(), "Amina Bello"):
            xs = await page.evaluate(CHARACTER_POSITIONS, [None, needle, needle])
            assert xs is not None, needle
            assert xs == sorted(xs) and len(set(xs)) == len(xs), (needle, xs)  # left to right
        # the line still reads right to left: its Arabic label is to the right of the number
        label = catalogs.text("ar", "registration.summary").split("\n")[5].split(":")[0]
        line = f"{label}: {FSI}{phone}"
        label_x = await page.evaluate(CHARACTER_POSITIONS, [None, label, line])
        phone_x = await page.evaluate(CHARACTER_POSITIONS, [None, phone, line])
        assert min(label_x) > max(phone_x)

        # the same line without the isolates, drawn the same way, puts the "+" after the
        # digits: what this checks is what the isolation fixes
        await page.evaluate(
            """(text) => {
                const bubble = document.createElement("div");
                bubble.className = "msg bot";
                bubble.dir = "auto";
                const line = document.createElement("div");
                line.className = "text";
                line.id = "control";
                line.textContent = text;
                bubble.appendChild(line);
                document.getElementById("log").appendChild(bubble);
            }""",
            f"{label}: {phone}",
        )
        xs = await page.evaluate(CHARACTER_POSITIONS, ["#control", phone, phone])
        assert xs[0] > max(xs[1:])  # "218912345678+"
        await page.goto("about:blank")
