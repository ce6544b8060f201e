"""The console in Arabic and French in a real browser (Playwright driving Debian's chromium):
an operator switches her console to Arabic and works a case in it, right to left; a French
browser gets the sign-in page in French and a French operator's queue is in French."""

from __future__ import annotations

from collections.abc import AsyncIterator

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

pytestmark = pytest.mark.parametrize("backend", ["sqlite"])  # overrides the backend fixture

WAIT = 20_000  # ms: an upper bound for a busy machine, not a speed requirement


@pytest.fixture
async def page() -> AsyncIterator[Page]:
    async with browser_page() as page:
        expect.set_options(timeout=WAIT)
        yield page


async def sign_in(page: Page, base: str, username: str, button: str) -> None:
    await page.goto(f"{base}/console")
    await expect(page).to_have_url(f"{base}/console/login?next=/console")
    await page.fill("input[name=username]", username)
    await page.fill("input[name=password]", DEFAULT_PASSWORD)
    await page.get_by_role("button", name=button).click()
    await expect(page).to_have_url(f"{base}/console")


async def test_an_operator_works_a_case_in_the_arabic_console(runtime: Runtime, page: Page) -> None:
    await create_operator(runtime, "hana", "operator", display_name="Hana", languages=("ar",))
    async with live_server(runtime) as base, httpx.AsyncClient(base_url=base) as person:
        await sign_in(page, base, "hana", "Sign in")  # an English browser: English sign-in
        await expect(page.locator("h1")).to_have_text("Queue")
        assert await page.evaluate("document.dir") == "ltr"

        # her account page: the console in Arabic
        await page.get_by_role("link", name="Hana").click()
        await page.select_option("#language-choice", "ar")
        await page.locator("#save-language").click()
        await expect(page.locator(".notice")).to_have_text("تم تغيير لغة لوحة التحكم.")
        assert await page.evaluate("document.dir") == "rtl"
        assert await page.evaluate("document.documentElement.lang") == "ar"
        await expect(page.locator("h1")).to_have_text("حسابك")

        # the queue, in Arabic and right to left, live
        await page.get_by_role("link", name="قائمة الانتظار").click()
        await expect(page.locator("h1")).to_have_text("قائمة الانتظار")
        assert await page.evaluate("document.dir") == "rtl"
        await expect(page.locator("#live")).to_have_text("مباشر")
        await expect(page.locator("#queue thead th").first).to_have_text("الأولوية")
        await expect(page.locator("#queue-rows")).to_contain_text("لا توجد حالات هنا.")
        # the table starts on the right: the first column's header is right of the second's
        first = await page.locator("#queue thead th").nth(0).bounding_box()
        second = await page.locator("#queue thead th").nth(1).bounding_box()
        assert first and second and first["x"] > second["x"]

        # an Arabic speaker asks for a person: the row arrives live, written by the script
        await rest_ask_for_person(person, "arabic-migrant", "ar")
        row = page.locator("#queue-rows tr[data-case]")
        await expect(row).to_have_count(1)
        await expect(row.locator("td").nth(7)).to_have_text(ASK_FOR_PERSON["ar"][1])
        await expect(row.locator("td").nth(0)).to_have_text("عادية")  # priority, in Arabic
        case_id = int(await row.get_attribute("data-case") or 0)
        await row.get_by_role("button", name="استلام").click()
        await expect(page).to_have_url(f"{base}/console/cases/{case_id}")
        await expect(page.locator("h1")).to_have_text(f"الحالة #{case_id}")
        await expect(page.locator("#live")).to_have_text("مباشر")
        await expect(page.locator("#case-assigned")).to_have_text("Hana")
        await expect(page.locator("#case-status")).to_have_text("مستلمة")

        # she reads what the person writes; Arabizi keeps its own direction
        await rest_say(person, "arabic-migrant", "ana fi Sebha", "ar")
        last = page.locator("#conversation li.msg.in .text").last
        await expect(last).to_have_text("ana fi Sebha")
        # retried: the live update may redraw the list as the bot's reply arrives
        await expect(last).to_have_attribute("dir", "auto")
        await expect(last).to_have_css("direction", "ltr")
        meta = page.locator("#conversation li.msg.in .meta").last
        await expect(meta).to_contain_text("الشخص")

        # a reply in Arabic reaches the person
        await page.fill("#reply-text", "أهلًا، أنا من الخط الساخن. هل أنت في أمان؟")
        await page.get_by_role("button", name="إرسال", exact=True).first.click()
        await expect(page.locator("#conversation")).to_contain_text("هل أنت في أمان؟")
        assert await rest_collect(person, "arabic-migrant") == [
            "أهلًا، أنا من الخط الساخن. هل أنت في أمان؟"
        ]

        # closing: the outcome list and the notice are in Arabic too
        await expect(page.locator("#outcome option[value=resolved]")).to_have_text("تمت المساعدة")
        await page.select_option("#outcome", "resolved")
        await page.get_by_role("button", name="إغلاق الحالة").click()
        await expect(page.locator(".notice")).to_have_text(
            "أُغلقت الحالة؛ عاد الروبوت يجيب هذا الشخص."
        )
        await expect(page.locator("#case-status")).to_have_text("مغلقة")
        assert await rest_collect(person, "arabic-migrant") == [
            runtime.catalogs.text("ar", "handoff.closed")
        ]
        await page.goto("about:blank")  # closes the event stream before the server stops


async def test_a_french_browser_and_a_french_operator(runtime: Runtime) -> None:
    await create_operator(runtime, "claire", "operator", display_name="Claire")
    async with browser_page(locale="fr-FR") as page, live_server(runtime) as base:
        expect.set_options(timeout=WAIT)
        await page.goto(f"{base}/console/login")
        await expect(page.locator("h1")).to_have_text("Se connecter")  # Accept-Language: fr
        assert await page.evaluate("document.dir") == "ltr"
        await sign_in(page, base, "claire", "Se connecter")
        # signed in, the account's choice counts: none yet, so the deployment's English
        await expect(page.locator("h1")).to_have_text("Queue")
        await page.goto(f"{base}/console/account")
        await page.select_option("#language-choice", "fr")
        await page.locator("#save-language").click()
        await expect(page.locator(".notice")).to_have_text(
            "La langue de la console a été modifiée."
        )
        await page.get_by_role("link", name="File d'attente").click()
        await expect(page.locator("h1")).to_have_text("File d'attente")
        await expect(page.locator("#live")).to_have_text("en direct")
        await expect(page.locator("#queue thead th").nth(1)).to_have_text("Dossier")
        await expect(page.locator("#queue-rows")).to_contain_text("Aucun dossier ici.")
        await expect(page.get_by_role("button", name="Se déconnecter")).to_be_visible()
        assert await page.evaluate("document.documentElement.lang") == "fr"
        await page.goto("about:blank")
