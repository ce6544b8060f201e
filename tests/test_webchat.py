"""The web chat's own channel ("web"), its answers (who wrote), its first screen; the REST
channel beside it keeps its name and Rasa's shape."""

from __future__ import annotations

import itertools
from zoneinfo import ZoneInfo

import httpx
from markupsafe import escape
from sqlalchemy import select

from bot.channels import channel_label
from bot.console.reports import charts_for
from bot.messages import OutboundMessage
from bot.reports import build_report, report_range
from bot.runtime import Runtime
from bot.storage.models import Contact, Message
from tests.console_support import DEFAULT_PASSWORD, create_operator, sign_in

_ids = itertools.count(1)


async def web_say(client: httpx.AsyncClient, sender: str, text: str, language: str = "en") -> list:
    response = await client.post(
        "/chat/messages",
        json={
            "sender": sender,
            "message": text,
            "metadata": {"language": language, "message_id": f"w-{next(_ids)}"},
        },
    )
    assert response.status_code == 200, response.text
    return list(response.json())


async def test_web_chat_people_are_on_channel_web_and_api_clients_on_rest(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    replies = await web_say(client, "web-page-1", "hello")
    assert replies and all(r["author"] == "bot" for r in replies)
    assert all(r["recipient_id"] == "web-page-1" for r in replies)
    rest = await client.post("/webhooks/rest/webhook", json={"sender": "api-1", "message": "hello"})
    # the REST channel's answer keeps Rasa's shape: no field of the web chat's
    assert rest.json() and all("author" not in r for r in rest.json())
    async with runtime.db.session() as session:
        contacts = dict((await session.execute(select(Contact.address, Contact.channel))).all())
        channels = set(await session.scalars(select(Message.channel)))
    assert contacts == {"web-page-1": "web", "api-1": "rest"}
    assert channels == {"web", "rest"}


async def test_an_operators_reply_is_marked_as_from_a_person(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    await web_say(client, "web-asks", "hello")
    await web_say(client, "web-asks", "i want to talk to a person")
    [case] = await runtime.store.open_handoffs()
    assert case.channel == "web"
    operator = await create_operator(runtime, "amina", "operator")
    await runtime.handoffs.reply(case.id, operator, "Hello, I am Amina from the hotline.")
    later = (await client.get("/chat/messages", params={"sender": "web-asks"})).json()
    assert [(m["text"], m["author"]) for m in later] == [
        ("Hello, I am Amina from the hotline.", "operator")
    ]
    assert (await client.get("/chat/messages", params={"sender": "web-asks"})).json() == []
    # the bot's own later messages are not a person's
    contact = await runtime.store.contact_for("web", "web-asks")

    await runtime.engine.send_later(contact.id, "web", OutboundMessage("News", "en"))
    [news] = (await client.get("/chat/messages", params={"sender": "web-asks"})).json()
    assert news["author"] == "bot"


async def test_rest_collect_keeps_its_shape_for_an_operators_reply(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    for text in ("hello", "i want to talk to a person"):
        await client.post("/webhooks/rest/webhook", json={"sender": "api-asks", "message": text})
    [case] = await runtime.store.open_handoffs()
    operator = await create_operator(runtime, "musa", "operator")
    await runtime.handoffs.reply(case.id, operator, "Musa here.")
    [reply] = (await client.get("/webhooks/rest/messages", params={"sender": "api-asks"})).json()
    assert set(reply) == {"recipient_id", "text", "buttons", "metadata"}


async def test_the_console_and_reports_name_the_web_chat(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    await web_say(client, "web-queue", "hello")
    await web_say(client, "web-queue", "i want to talk to a person")
    await create_operator(runtime, "fatima", "operator")
    await sign_in(client, "fatima", DEFAULT_PASSWORD)
    queue = await client.get("/console")
    assert queue.status_code == 200
    assert '<option value="web">web chat</option>' in queue.text
    assert '<option value="en">en</option>' in queue.text  # other filters show codes
    assert "<td>web chat</td>" in queue.text
    zone = ZoneInfo(runtime.settings.operator_timezone)
    report = await build_report(runtime.db, report_range(None, None, zone), zone)
    assert ("web", 1) in report.conversations_by_channel
    [chart] = [c for c in charts_for(report) if c.id == "by-channel"]
    assert ["web chat", "1"] in chart.rows
    assert channel_label("rest") == "REST API" and channel_label("new") == "new"


async def test_first_screen_says_what_the_hotline_does_in_every_menu_language(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    catalogs = runtime.catalogs
    page = (await client.get("/chat", params={"lang": "fr"})).text
    languages = runtime.settings.enabled_languages
    assert set(catalogs.languages) == set(languages)
    for code in languages:
        section = f'lang="{code}" dir="{catalogs.direction(code)}" data-language="{code}"'
        assert section in page
        assert escape(catalogs.text(code, "webchat.intro")) in page
        assert escape(catalogs.text(code, "webchat.intro_danger")) in page
        assert escape(catalogs.info(code).native_name) in page
    assert page.index('data-language="fr"') < page.index('data-language="en"')  # its own first
    assert escape(catalogs.text("fr", "webchat.clear")) in page
