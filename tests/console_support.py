"""Helpers for console and API tests (no tests here): accounts, tokens, sign-in, a live server,
a real browser."""

from __future__ import annotations

import asyncio
import contextlib
import re
import shutil
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import httpx
import pyotp
import uvicorn

from bot.access import SECOND_FACTOR_ROLES, hash_password, new_secret, token_hash
from bot.runtime import Runtime
from bot.storage.models import ApiToken, Operator, utcnow
from tests.fakes.http import free_port

if TYPE_CHECKING:
    from playwright.async_api import Page

DEFAULT_PASSWORD = "correct horse battery 1"
_CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
_CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')

# the TOTP secret of each account a test created with a second factor, by username
TOTP_SECRETS: dict[str, str] = {}
_LAST_STEP: dict[str, int] = {}  # secret -> the last 30-second step a helper used


async def next_code(secret: str) -> str:
    """A TOTP code of a step not used yet by these helpers (a code is accepted once): the
    current step, then the next one; after that, wait for the clock to move on."""
    while True:
        now = int(time.time() // 30)
        step = max(now, _LAST_STEP.get(secret, 0) + 1)
        if step <= now + 1:
            _LAST_STEP[secret] = step
            return str(pyotp.TOTP(secret).at(step * 30))
        await asyncio.sleep((now + 1) * 30 - time.time() + 0.05)


async def create_operator(
    runtime: Runtime,
    username: str,
    role: str,
    password: str = DEFAULT_PASSWORD,
    *,
    display_name: str | None = None,
    languages: tuple[str, ...] = ("en",),
    must_change_password: bool = False,
    second_factor: bool | None = None,
) -> int:
    """An account. Supervisors and administrators get a second factor (their role needs one)
    unless `second_factor=False`; its secret is kept in TOTP_SECRETS for `sign_in`."""
    if second_factor is None:
        second_factor = role in SECOND_FACTOR_ROLES
    secret = pyotp.random_base32() if second_factor else None
    if secret:
        TOTP_SECRETS[username] = secret
    async with runtime.db.session() as session, session.begin():
        operator = Operator(
            username=username,
            display_name=display_name or username.title(),
            password_hash=hash_password(password),
            role=role,
            languages={"read": list(languages)},
            must_change_password=must_change_password,
            totp_secret=secret,
            totp_enabled_at=utcnow() if secret else None,
        )
        session.add(operator)
        await session.flush()
        return operator.id


async def api_token(runtime: Runtime, operator_id: int, name: str = "test") -> str:
    token = new_secret()
    async with runtime.db.session() as session, session.begin():
        session.add(ApiToken(operator_id=operator_id, name=name, token_hash=token_hash(token)))
    return token


def csrf_from(html: str) -> str:
    found = _CSRF_META.search(html) or _CSRF_FIELD.search(html)
    if found is None:
        raise AssertionError("no CSRF token in the page")
    return found.group(1)


async def sign_in(client: httpx.AsyncClient, username: str, password: str) -> str:
    """Signs the client in through the sign-in form; returns the session's CSRF token."""
    page = await client.get("/console/login")
    assert page.status_code == 200, page.text
    answer = await client.post(
        "/console/login",
        data={"username": username, "password": password, "csrf_token": csrf_from(page.text)},
    )
    assert answer.status_code == 303, answer.text
    if answer.headers["location"].startswith("/console/login/code"):  # the second factor
        page = await client.get(answer.headers["location"])
        answer = await client.post(
            "/console/login/code",
            data={
                "code": await next_code(TOTP_SECRETS[username]),
                "csrf_token": csrf_from(page.text),
            },
        )
        assert answer.status_code == 303, answer.text
    assert "login" not in answer.headers["location"], "sign-in was refused"
    home = await client.get("/console/account")
    assert home.status_code == 200, home.text
    return csrf_from(home.text)


@contextlib.asynccontextmanager
async def live_server(runtime: Runtime) -> AsyncIterator[str]:
    """The real app under uvicorn in this event loop (the runtime's engine is bound to it)."""
    from server import create_app

    port = free_port()
    config = uvicorn.Config(
        create_app(runtime=runtime),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="on",
        # open event streams end when the browser goes; this bounds the wait if one lingers
        timeout_graceful_shutdown=2,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(), name="live-server")
    while not server.started:
        if task.done():
            task.result()  # raises why it stopped
            raise RuntimeError("server stopped before it started")
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@contextlib.asynccontextmanager
async def browser_page(*extra_args: str, locale: str = "en-GB") -> AsyncIterator[Page]:
    """Playwright driving Debian's chromium (installed by scripts/test.sh); `extra_args` go
    to chromium (a fake microphone, for instance); `locale` is the browser's language (its
    Accept-Language)."""
    from playwright.async_api import async_playwright

    executable = shutil.which("chromium")
    if executable is None:
        raise RuntimeError("chromium is not installed; scripts/test.sh installs it")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=executable, headless=True, args=["--no-sandbox", *extra_args]
        )
        try:
            context = await browser.new_context(locale=locale)
            page = await context.new_page()
            try:
                yield page
            finally:
                await context.close()
        finally:
            await browser.close()


# -- a simulated migrant on the REST channel ----------------------------------------------------
ASK_FOR_PERSON = {
    "en": ("hello", "i want to talk to a person"),
    "ha": ("sannu", "ina son magana da mutum"),
    "ar": ("مرحبا", "أريد التحدث مع شخص"),
    "fr": ("bonjour", "je veux parler à une personne"),
}


async def rest_say(
    client: httpx.AsyncClient, sender: str, text: str, language: str | None = None
) -> list[str]:
    """The person writes on the REST channel; returns the bot's answers."""
    metadata = {"language": language} if language else {}
    answer = await client.post(
        "/webhooks/rest/webhook", json={"sender": sender, "message": text, "metadata": metadata}
    )
    assert answer.status_code == 200, answer.text
    return [reply["text"] for reply in answer.json()]


async def rest_collect(client: httpx.AsyncClient, sender: str) -> list[str]:
    """Messages sent to the person later (operator replies, the closing notice)."""
    answer = await client.get("/webhooks/rest/messages", params={"sender": sender})
    assert answer.status_code == 200, answer.text
    return [reply["text"] for reply in answer.json()]


async def rest_ask_for_person(client: httpx.AsyncClient, sender: str, language: str = "en") -> None:
    greeting, ask = ASK_FOR_PERSON[language]
    await rest_say(client, sender, greeting, language)
    await rest_say(client, sender, ask, language)
