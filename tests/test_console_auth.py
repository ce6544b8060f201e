"""Sign-in, sessions, tokens and role checks for every /console and /api/v1 route.

The role table is read from the routes themselves: each route's dependencies carry its
minimum role (`min_role`), whether it checks the CSRF token (`csrf`) or that it is public. A
new route without a declaration fails `test_every_route_declares_its_access`.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import iter_route_contexts
from sqlalchemy import func, select, update

from bot import PROJECT_ROOT
from bot import access as auth
from bot.access import ROLE_RANK, SESSION_COOKIE, token_hash
from bot.accounts import Accounts
from bot.console.throttle import FREE_FAILURES, SignInThrottle
from bot.runtime import Runtime
from bot.storage.keys import key_dir
from bot.storage.models import ApiToken, AuditEvent, Operator, OperatorSession, utcnow
from server import create_app
from tests.console_support import (
    DEFAULT_PASSWORD,
    api_token,
    create_operator,
    csrf_from,
    sign_in,
)

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
# the schema and documentation pages are signed-in routes too
PROTECTED_PREFIXES = ("/console", "/api/v1", "/docs", "/redoc", "/openapi.json")


@dataclass(frozen=True)
class RouteAccess:
    method: str
    path: str
    public: bool
    min_role: str | None
    csrf: bool

    @property
    def url(self) -> str:
        # any value fills a path parameter: access is refused before the record is looked up
        return re.sub(r"\{[^}]+\}", "1", self.path)

    @property
    def api(self) -> bool:
        return self.path.startswith("/api/")


def _declarations(dependant: Dependant) -> Iterator[Any]:
    for sub in dependant.dependencies:
        if sub.call is not None:
            yield sub.call
        yield from _declarations(sub)


def route_table(app: FastAPI) -> list[RouteAccess]:
    table = []
    for context in iter_route_contexts(app.routes):
        path = context.path or ""
        dependant = getattr(context, "dependant", None)
        if not path.startswith(PROTECTED_PREFIXES) or dependant is None:
            continue  # static files (a Mount) have no dependant and hold no data
        calls = list(_declarations(dependant))
        public = any(getattr(call, "public", False) for call in calls)
        roles = [call.min_role for call in calls if hasattr(call, "min_role")]
        csrf = any(getattr(call, "csrf", False) for call in calls)
        role = max(roles, key=ROLE_RANK.__getitem__) if roles else None
        for method in sorted(context.methods or ()):
            if method != "HEAD":
                table.append(RouteAccess(method, path, public, role, csrf))
    return table


@pytest.fixture
def app(runtime: Runtime) -> FastAPI:
    return create_app(runtime=runtime)


@pytest.fixture
async def make_client(app: FastAPI) -> AsyncIterator[Any]:
    clients: list[httpx.AsyncClient] = []

    def factory() -> httpx.AsyncClient:
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"
        )
        clients.append(client)
        return client

    yield factory
    for client in clients:
        await client.aclose()


def test_every_route_declares_its_access(runtime: Runtime) -> None:
    table = route_table(create_app(runtime=runtime))
    paths = {row.path for row in table}
    # the table is the real one: it has the console's and the API's routes (and the records')
    assert {"/console", "/console/cases/{handoff_id}", "/api/v1/cases", "/api/v1/me"} <= paths
    assert {"/docs", "/redoc", "/openapi.json", "/api/v1/openapi.json"} <= paths
    assert len(table) > 40
    undeclared = [f"{r.method} {r.path}" for r in table if not r.public and r.min_role is None]
    assert undeclared == [], "routes without a role check"
    unsafe_without_csrf = [
        f"{r.method} {r.path}" for r in table if r.method in UNSAFE and not r.public and not r.csrf
    ]
    assert unsafe_without_csrf == [], "unsafe routes without a CSRF check"
    public = sorted(f"{r.method} {r.path}" for r in table if r.public)
    # the API schema is not public any more: it needs a session or a token
    assert public == [
        "GET /console/login",
        "POST /console/login",
    ]


async def _request(client: httpx.AsyncClient, route: RouteAccess, **kwargs: Any) -> httpx.Response:
    return await client.request(route.method, route.url, **kwargs)


async def test_role_checks_on_every_route(runtime: Runtime, app: FastAPI, make_client: Any) -> None:
    table = [row for row in route_table(app) if not row.public]
    accounts = {}
    for role in ("operator", "supervisor", "admin"):
        operator_id = await create_operator(runtime, f"{role}-user", role)
        session = make_client()
        csrf = await sign_in(session, f"{role}-user", DEFAULT_PASSWORD)
        accounts[role] = (session, csrf, await api_token(runtime, operator_id))
    anonymous = make_client()
    checked = 0
    for route in table:
        where = f"{route.method} {route.path}"
        # nobody signed in
        answer = await _request(anonymous, route)
        if route.api:
            assert answer.status_code == 401, where
            assert answer.json()["detail"], where
        else:
            assert answer.status_code == 303, where
            assert answer.headers["location"].startswith("/console/login?next="), where
        # a bad bearer token
        answer = await _request(anonymous, route, headers={"authorization": "Bearer nope"})
        assert answer.status_code in (401, 303), where
        # a lower role, with a session (and its valid CSRF token) and with a token
        for lower, rank in ROLE_RANK.items():
            if rank >= ROLE_RANK[route.min_role or "operator"]:
                continue
            session, csrf, token = accounts[lower]
            answer = await _request(session, route, headers={"x-csrf-token": csrf})
            assert answer.status_code == 403, (where, lower)
            assert "role" in answer.json()["detail"], where
            answer = await _request(anonymous, route, headers={"authorization": f"Bearer {token}"})
            assert answer.status_code == 403, (where, lower, "token")
        # the right role without or with a wrong CSRF token
        if route.csrf:
            session, _, _ = accounts[route.min_role or "operator"]
            for headers in ({}, {"x-csrf-token": "forged"}):
                answer = await _request(session, route, headers=headers)
                assert answer.status_code == 403, (where, headers)
                assert "CSRF" in answer.json()["detail"], where
            answer = await _request(session, route, data={"csrf_token": "forged"})
            assert answer.status_code == 403, where
        checked += 1
    assert checked == len(table) > 40


async def test_api_schema_documents_every_api_route_with_bearer(
    runtime: Runtime, app: FastAPI, client: httpx.AsyncClient
) -> None:
    token = await api_token(runtime, await create_operator(runtime, "reader", "operator"))
    answer = await client.get("/api/v1/openapi.json", headers={"authorization": f"Bearer {token}"})
    assert answer.status_code == 200
    schema = answer.json()
    assert schema["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    api_paths = {r.path for r in route_table(app) if r.api and r.path != "/api/v1/openapi.json"}
    assert api_paths <= set(schema["paths"])
    assert not [p for p in schema["paths"] if not p.startswith("/api/v1/")]
    operation = schema["paths"]["/api/v1/cases"]["get"]
    assert {"HTTPBearer": []} in operation["security"]


# -- signing in --------------------------------------------------------------------------------
async def test_password_is_an_argon2_hash(runtime: Runtime) -> None:
    await create_operator(runtime, "hash-check", "operator", "a long secret phrase")
    async with runtime.db.session() as session:
        stored = await session.scalar(
            select(Operator.password_hash).where(Operator.username == "hash-check")
        )
    assert stored is not None and stored.startswith("$argon2id$")
    assert "a long secret phrase" not in stored


async def test_sign_in_sets_a_strict_http_only_cookie_and_stores_only_its_hash(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    await create_operator(runtime, "cookie", "operator")
    await sign_in(client, "cookie", DEFAULT_PASSWORD)
    token = client.cookies.get(SESSION_COOKIE)
    assert token
    async with runtime.db.session() as session:
        hashes = list(await session.scalars(select(OperatorSession.token_hash)))
    assert hashes == [token_hash(token)]
    # the Set-Cookie header itself (sign in again with a fresh client to see it)
    page = await client.get("/console/login")
    client.cookies.delete(SESSION_COOKIE)
    page = await client.get("/console/login")
    answer = await client.post(
        "/console/login",
        data={
            "username": "cookie",
            "password": DEFAULT_PASSWORD,
            "csrf_token": csrf_from(page.text),
        },
    )
    header = next(
        v
        for k, v in answer.headers.multi_items()
        if k == "set-cookie" and v.startswith(SESSION_COOKIE)
    )
    assert "HttpOnly" in header and "SameSite=strict" in header.replace("Strict", "strict")
    assert "Secure" not in header  # plain http in tests


async def test_cookie_is_secure_behind_https(make_runtime: Any) -> None:
    runtime = await make_runtime(public_base_url="https://hotline.example.org")
    await create_operator(runtime, "secure", "operator")
    app = create_app(runtime=runtime)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="https://testserver"
    ) as client:
        page = await client.get("/console/login")
        answer = await client.post(
            "/console/login",
            data={
                "username": "secure",
                "password": DEFAULT_PASSWORD,
                "csrf_token": csrf_from(page.text),
            },
        )
    header = next(
        v
        for k, v in answer.headers.multi_items()
        if k == "set-cookie" and v.startswith(SESSION_COOKIE)
    )
    assert "Secure" in header


async def test_wrong_password_unknown_user_and_forged_login_form(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    await create_operator(runtime, "known", "operator")
    page = await client.get("/console/login")
    csrf = csrf_from(page.text)
    for username, password in (("known", "wrong password!"), ("nobody", DEFAULT_PASSWORD)):
        answer = await client.post(
            "/console/login",
            data={"username": username, "password": password, "csrf_token": csrf},
        )
        assert answer.status_code == 401
        assert "Wrong username or password" in answer.text
        csrf = csrf_from(answer.text)
    # the sign-in form without its double-submit cookie (posted from another site)
    client.cookies.clear()
    answer = await client.post(
        "/console/login",
        data={"username": "known", "password": DEFAULT_PASSWORD, "csrf_token": csrf},
    )
    assert answer.status_code == 403
    assert SESSION_COOKIE not in answer.headers.get("set-cookie", "")


async def test_wrong_passwords_slow_one_address_but_never_lock_the_account(
    runtime: Runtime, app: FastAPI, make_client: Any
) -> None:
    """Five wrong passwords from an address used to lock the account for everyone for 15
    minutes (a stranger could lock out `admin`). Now only that (account, address) pair waits,
    longer after each further failure; the owner signs in from elsewhere meanwhile."""
    operator_id = await create_operator(runtime, "locky", "operator")
    now = [1000.0]
    # a roomy per-address budget: this test is about the per-account waits
    app.state.login_limiter = SignInThrottle(per_minute=1000, clock=lambda: now[0])
    attacker = make_client()
    owner = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=("198.51.100.7", 50000)),
        base_url="http://testserver",
    )

    async def attempt(client: httpx.AsyncClient, password: str) -> httpx.Response:
        page = await client.get("/console/login")
        return await client.post(
            "/console/login",
            data={"username": "locky", "password": password, "csrf_token": csrf_from(page.text)},
        )

    for _ in range(FREE_FAILURES + 1):
        assert (await attempt(attacker, "not the password")).status_code == 401
    waits = []
    for _ in range(3):
        refused = await attempt(attacker, DEFAULT_PASSWORD)  # even the right one must wait
        assert refused.status_code == 429
        assert "Too many sign-in attempts for this account" in refused.text
        assert SESSION_COOKIE not in refused.headers.get("set-cookie", "")
        waits.append(int(refused.headers["retry-after"]))
        # meanwhile the owner, from another address, signs in at once
        answer = await attempt(owner, DEFAULT_PASSWORD)
        assert answer.status_code == 303 and "login" not in answer.headers["location"]
        owner.cookies.clear()
        now[0] += waits[-1]
        assert (await attempt(attacker, "still not it")).status_code == 401
    assert waits == [2, 4, 8]  # growing waits
    await owner.aclose()
    async with runtime.db.session() as session:
        operator = await session.get(Operator, operator_id)
        assert operator is not None and operator.locked_until is None
        events = list(
            await session.execute(
                select(AuditEvent.action, AuditEvent.details).where(
                    AuditEvent.subject == str(operator_id)
                )
            )
        )
    failed = [details for action, details in events if action == "signin.failed"]
    assert len(failed) == FREE_FAILURES + 1 + 3
    assert {d["reason"] for d in failed} == {"password"}
    assert {d["address"] for d in failed} == {"127.0.0.1"}
    signins = [details for action, details in events if action == "signin"]
    assert [d["address"] for d in signins] == ["198.51.100.7"] * 3
    # after the wait, the right password works from the attacker's address too (a colleague)
    now[0] += 3600
    assert (await attempt(attacker, DEFAULT_PASSWORD)).status_code == 303


async def test_forced_password_change(runtime: Runtime, client: httpx.AsyncClient) -> None:
    await create_operator(
        runtime, "newbie", "operator", "one-time-pass-1", must_change_password=True
    )
    page = await client.get("/console/login")
    answer = await client.post(
        "/console/login",
        data={
            "username": "newbie",
            "password": "one-time-pass-1",
            "csrf_token": csrf_from(page.text),
        },
    )
    assert answer.headers["location"] == "/console/password"
    # every other page sends them to the password form; the API refuses
    queue = await client.get("/console")
    assert queue.status_code == 303 and queue.headers["location"] == "/console/password"
    assert (await client.get("/api/v1/cases")).status_code == 403
    form = await client.get("/console/password")
    assert form.status_code == 200 and "one-time password" in form.text
    csrf = csrf_from(form.text)
    too_short = await client.post(
        "/console/password",
        data={"current": "one-time-pass-1", "new": "short", "confirm": "short", "csrf_token": csrf},
    )
    assert too_short.status_code == 400 and "at least 10" in too_short.text
    changed = await client.post(
        "/console/password",
        data={
            "current": "one-time-pass-1",
            "new": "my own secret 42",
            "confirm": "my own secret 42",
            "csrf_token": csrf,
        },
    )
    assert changed.status_code == 303
    assert (await client.get("/console")).status_code == 200
    # the one-time password is gone, the new one works
    other = httpx.AsyncClient(transport=client._transport, base_url="http://testserver")
    async with other:
        await sign_in(other, "newbie", "my own secret 42")
        other.cookies.clear()
        page = await other.get("/console/login")
        old = await other.post(
            "/console/login",
            data={
                "username": "newbie",
                "password": "one-time-pass-1",
                "csrf_token": csrf_from(page.text),
            },
        )
        assert old.status_code == 401


async def test_sign_out_ends_the_session(runtime: Runtime, client: httpx.AsyncClient) -> None:
    await create_operator(runtime, "leaver", "operator")
    csrf = await sign_in(client, "leaver", DEFAULT_PASSWORD)
    token = client.cookies.get(SESSION_COOKIE)
    assert (await client.post("/console/logout", data={"csrf_token": csrf})).status_code == 303
    async with runtime.db.session() as session:
        assert await session.scalar(select(func.count()).select_from(OperatorSession)) == 0
    client.cookies.set(SESSION_COOKIE, token or "")  # the old cookie, replayed
    answer = await client.get("/console")
    assert answer.status_code == 303 and "/console/login" in answer.headers["location"]


@pytest.mark.parametrize("limit", ["absolute", "idle"])
async def test_expired_session_signs_out(
    runtime: Runtime, client: httpx.AsyncClient, limit: str
) -> None:
    await create_operator(runtime, "sleepy", "operator")
    await sign_in(client, "sleepy", DEFAULT_PASSWORD)
    assert (await client.get("/console")).status_code == 200
    settings = runtime.settings
    values = (
        {"expires_at": utcnow() - timedelta(seconds=1)}
        if limit == "absolute"
        else {"last_seen_at": utcnow() - timedelta(minutes=settings.console_idle_minutes + 1)}
    )
    async with runtime.db.session() as session, session.begin():
        await session.execute(update(OperatorSession).values(**values))
    answer = await client.get("/console/cases/1")
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/console/login?next=/console/cases/1")
    assert "expired=1" in answer.headers["location"]
    async with runtime.db.session() as session:  # the session is gone for good
        assert await session.scalar(select(func.count()).select_from(OperatorSession)) == 0
    assert (await client.get("/api/v1/me")).status_code == 401


async def test_disabled_account_loses_sessions_and_tokens(
    runtime: Runtime, make_client: Any
) -> None:
    await create_operator(runtime, "boss", "admin")
    worker_id = await create_operator(runtime, "worker", "operator")
    token = await api_token(runtime, worker_id)
    admin, worker = make_client(), make_client()
    csrf = await sign_in(admin, "boss", DEFAULT_PASSWORD)
    await sign_in(worker, "worker", DEFAULT_PASSWORD)
    answer = await admin.post(
        f"/console/admin/operators/{worker_id}/disable", data={"csrf_token": csrf}
    )
    assert answer.status_code == 303
    assert (await worker.get("/console")).status_code == 303
    bearer = {"authorization": f"Bearer {token}"}
    assert (await admin.get("/api/v1/me", headers=bearer)).status_code == 401


async def test_tokens_work_until_revoked_or_expired(runtime: Runtime, make_client: Any) -> None:
    operator_id = await create_operator(runtime, "scripter", "supervisor")
    browser = make_client()
    csrf = await sign_in(browser, "scripter", DEFAULT_PASSWORD)
    created = await browser.post(
        "/api/v1/me/tokens", json={"name": "report"}, headers={"x-csrf-token": csrf}
    )
    assert created.status_code == 201
    token = created.json()["token"]
    async with runtime.db.session() as session:  # only the hash is kept
        stored = list(await session.scalars(select(ApiToken.token_hash)))
    assert stored == [token_hash(token)]
    script = make_client()
    bearer = {"authorization": f"Bearer {token}"}
    me = await script.get("/api/v1/me", headers=bearer)
    assert me.status_code == 200
    assert me.json() == {
        "id": operator_id,
        "username": "scripter",
        "display_name": "Scripter",
        "role": "supervisor",
        "languages": ["en"],
        "via": "token",
    }
    # a token needs no CSRF token (a browser never sends it by itself)
    listed = await script.get("/api/v1/me/tokens", headers=bearer)
    assert [t["name"] for t in listed.json()] == ["report"]
    revoked = await script.delete(f"/api/v1/me/tokens/{created.json()['id']}", headers=bearer)
    assert revoked.status_code == 204
    assert (await script.get("/api/v1/me", headers=bearer)).status_code == 401
    # an expired token
    other = await api_token(runtime, operator_id, "short-lived")
    async with runtime.db.session() as session, session.begin():
        await session.execute(
            update(ApiToken)
            .where(ApiToken.token_hash == token_hash(other))
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    answer = await script.get("/api/v1/me", headers={"authorization": f"Bearer {other}"})
    assert answer.status_code == 401


async def test_next_after_sign_in_stays_on_the_console(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    await create_operator(runtime, "nexty", "operator")
    for target, expected in (
        ("/console/cases/7", "/console/cases/7"),
        ("https://evil.example/", "/console"),
        ("//evil.example/console", "/console"),
    ):
        client.cookies.clear()
        page = await client.get("/console/login", params={"next": target})
        answer = await client.post(
            "/console/login",
            data={
                "username": "nexty",
                "password": DEFAULT_PASSWORD,
                "csrf_token": csrf_from(page.text),
                "next": target,
            },
        )
        assert answer.headers["location"] == expected


# -- accounts: first start and the command line ------------------------------------------------
async def test_first_start_creates_admin_once(
    runtime: Runtime, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(runtime=runtime)
    async with app.router.lifespan_context(app):
        pass
    printed = capsys.readouterr().out
    found = re.search(r"one-time password: (\S+)", printed)
    assert found is not None and "username: admin" in printed
    password = found.group(1)
    assert password not in caplog.text  # the terminal, not the log
    async with app.router.lifespan_context(app):  # a restart: nothing new
        pass
    assert "one-time password" not in capsys.readouterr().out
    async with runtime.db.session() as session:
        admins = list(await session.scalars(select(Operator)))
    assert [(a.username, a.role, a.must_change_password) for a in admins] == [
        ("admin", "admin", True)
    ]
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as client:
        page = await client.get("/console/login")
        answer = await client.post(
            "/console/login",
            data={"username": "admin", "password": password, "csrf_token": csrf_from(page.text)},
        )
        assert answer.headers["location"] == "/console/password"


def _hotline(runtime: Runtime, tmp_path: Path, *args: str) -> str:
    env = {
        **os.environ,
        "DATABASE_URL": runtime.settings.database_url,
        "CACHE_DIR": str(PROJECT_ROOT / "var" / "cache"),
        "HOTLINE_KEY_DIR": str(key_dir(runtime.settings)),
    }
    env.pop("REDIS_URL", None)
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "operators", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr + done.stdout
    return done.stdout


async def test_cli_accounts(runtime: Runtime, client: httpx.AsyncClient, tmp_path: Path) -> None:
    out = _hotline(
        runtime,
        tmp_path,
        "add",
        "fatima",
        "--role",
        "supervisor",
        "--display-name",
        "Fatima A.",
        "--languages",
        "en,ar",
    )
    password = re.search(r"one-time password: (\S+)", out)
    assert password is not None
    page = await client.get("/console/login")
    answer = await client.post(
        "/console/login",
        data={
            "username": "fatima",
            "password": password.group(1),
            "csrf_token": csrf_from(page.text),
        },
    )
    assert answer.headers["location"] == "/console/password"  # must choose their own
    listed = _hotline(runtime, tmp_path, "list")
    assert "fatima" in listed and "supervisor" in listed
    early_out = _hotline(runtime, tmp_path, "token", "fatima", "--name", "early")
    early = re.search(r"\(early\): (\S+)", early_out)
    assert early is not None
    # refused while the one-time password is not changed (and revoked by the change)
    me = await client.get("/api/v1/me", headers={"authorization": f"Bearer {early.group(1)}"})
    assert me.status_code == 403 and "password" in me.json()["detail"]
    form = await client.get("/console/password")
    changed = await client.post(
        "/console/password",
        data={
            "current": password.group(1),
            "new": "fatima's own secret",
            "confirm": "fatima's own secret",
            "csrf_token": csrf_from(form.text),
        },
    )
    assert changed.status_code == 303
    me = await client.get("/api/v1/me", headers={"authorization": f"Bearer {early.group(1)}"})
    assert me.status_code == 401
    token_out = _hotline(runtime, tmp_path, "token", "fatima", "--name", "nightly")
    token = re.search(r"\(nightly\): (\S+)", token_out)
    assert token is not None
    me = await client.get("/api/v1/me", headers={"authorization": f"Bearer {token.group(1)}"})
    assert me.status_code == 200 and me.json()["role"] == "supervisor"
    reset = _hotline(runtime, tmp_path, "reset-password", "fatima")
    assert re.search(r"one-time password: \S+", reset)
    me = await client.get("/api/v1/me", headers={"authorization": f"Bearer {token.group(1)}"})
    assert me.status_code == 401  # a reset revokes the account's tokens
    _hotline(runtime, tmp_path, "disable", "fatima")
    me = await client.get("/api/v1/me", headers={"authorization": f"Bearer {token.group(1)}"})
    assert me.status_code == 401
    async with runtime.db.session() as session:
        actions = list(
            await session.scalars(
                select(AuditEvent.action).where(AuditEvent.actor == "cli").order_by(AuditEvent.id)
            )
        )
    assert actions == [
        "operator.created",
        "token.created",
        "token.created",
        "operator.password_reset",
        "operator.disabled",
    ]


async def test_background_refreshes_do_not_keep_an_idle_session_alive(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    await create_operator(runtime, "tab-open", "operator")
    await sign_in(client, "tab-open", DEFAULT_PASSWORD)
    earlier = utcnow() - timedelta(minutes=runtime.settings.console_idle_minutes - 1)
    async with runtime.db.session() as session, session.begin():
        await session.execute(update(OperatorSession).values(last_seen_at=earlier))

    async def last_seen() -> Any:
        async with runtime.db.session() as session:
            return await session.scalar(select(OperatorSession.last_seen_at))

    before = await last_seen()
    live = await client.get("/api/v1/cases", headers={"x-console-background": "1"})
    assert live.status_code == 200
    assert await last_seen() == before  # the page refreshing itself is not the operator
    assert (await client.get("/console")).status_code == 200
    assert await last_seen() != before  # the operator opening a page is


# -- review fixes: races, the event loop, tokens after a password change -------------------------
async def test_concurrent_wrong_passwords_are_all_audited_and_lock_nothing(
    runtime: Runtime,
) -> None:
    """Eight wrong guesses at once: each is recorded; none locks the account."""
    operator_id = await create_operator(runtime, "racer", "operator")
    accounts = Accounts(runtime.db)
    results = await asyncio.gather(
        *(accounts.sign_in("racer", f"wrong guess {n}!", address="192.0.2.1") for n in range(8))
    )
    assert [(r.operator_id, r.outcome) for r in results] == [(None, "wrong")] * 8
    async with runtime.db.session() as session:
        failed = await session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.subject == str(operator_id), AuditEvent.action == "signin.failed")
        )
    assert failed == 8
    signed = await accounts.sign_in("racer", DEFAULT_PASSWORD, address="192.0.2.1")
    assert (signed.operator_id, signed.outcome) == (operator_id, "ok")


class _SpyHasher:
    """Records whether each argon2 call ran on the event loop's thread."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.calls: list[tuple[str, bool]] = []

    @staticmethod
    def _on_loop() -> bool:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return False
        return True

    def hash(self, password: str) -> str:
        self.calls.append(("hash", self._on_loop()))
        return str(self.real.hash(password))

    def verify(self, hashed: str, password: str) -> bool:
        self.calls.append(("verify", self._on_loop()))
        return bool(self.real.verify(hashed, password))


async def test_password_hashing_runs_off_the_event_loop(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """argon2 takes ~100 ms of CPU: in a worker thread, the loop keeps serving everyone else."""
    spy = _SpyHasher(auth._hasher)
    monkeypatch.setattr(auth, "_hasher", spy)
    accounts = Accounts(runtime.db)
    first = await accounts.ensure_first_admin()
    assert first is not None
    operator_id, one_time = await accounts.create("hasher", "operator", actor="test")
    assert (await accounts.sign_in("hasher", one_time)).outcome == "ok"
    assert (await accounts.sign_in("hasher", "not it at all")).outcome == "wrong"
    assert (await accounts.sign_in("nobody-here", "whatever")).outcome == "wrong"
    await accounts.change_password(operator_id, one_time, "a brand new secret 7")
    await accounts.reset_password(operator_id, actor="test")
    kinds = {kind for kind, _ in spy.calls}
    assert kinds == {"hash", "verify"} and len(spy.calls) >= 8
    assert [call for call in spy.calls if call[1]] == [], "argon2 ran on the event loop"


async def test_sign_in_attempts_are_rate_limited_per_address(
    runtime: Runtime, app: FastAPI, make_client: Any
) -> None:
    await create_operator(runtime, "limited", "operator")
    now = [1000.0]
    app.state.login_limiter.clock = lambda: now[0]

    async def attempt(client: httpx.AsyncClient, password: str) -> httpx.Response:
        page = await client.get("/console/login")
        return await client.post(
            "/console/login",
            data={"username": "limited", "password": password, "csrf_token": csrf_from(page.text)},
        )

    client = make_client()
    for _ in range(4):
        assert (await attempt(client, "not the password")).status_code == 401
    # a successful sign-in does not use up the address's attempts
    assert (await attempt(client, DEFAULT_PASSWORD)).status_code == 303
    client.cookies.clear()
    for _ in range(6):
        assert (await attempt(client, "nope, wrong")).status_code == 401
    limited = await attempt(client, DEFAULT_PASSWORD)
    assert limited.status_code == 429
    assert "Too many sign-in attempts" in limited.text
    assert int(limited.headers["retry-after"]) > 0
    assert SESSION_COOKIE not in limited.headers.get("set-cookie", "")
    # another address is not affected
    elsewhere = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=("203.0.113.9", 40000)),
        base_url="http://testserver",
    )
    async with elsewhere:
        assert (await attempt(elsewhere, "still wrong here")).status_code == 401
    # a minute later the address may try again
    now[0] += 60
    assert (await attempt(client, "wrong once more")).status_code == 401


async def test_password_reset_and_own_change_revoke_api_tokens(
    runtime: Runtime, make_client: Any
) -> None:
    admin_id = await create_operator(runtime, "resetter", "admin")
    admin = {"authorization": f"Bearer {await api_token(runtime, admin_id)}"}
    worker_id = await create_operator(runtime, "tokened", "operator")
    worker = {"authorization": f"Bearer {await api_token(runtime, worker_id, 'script')}"}
    client = make_client()
    assert (await client.get("/api/v1/me", headers=worker)).status_code == 200
    reset = await client.post(f"/api/v1/admin/operators/{worker_id}/reset-password", headers=admin)
    assert reset.status_code == 200
    assert (await client.get("/api/v1/me", headers=worker)).status_code == 401
    async with runtime.db.session() as session:
        revoked = list(
            await session.scalars(
                select(ApiToken.revoked_at).where(ApiToken.operator_id == worker_id)
            )
        )
    assert len(revoked) == 1 and revoked[0] is not None
    assert (await client.get("/api/v1/me", headers=admin)).status_code == 200  # others keep theirs
    # the operator's own change ends their tokens too
    mine_id = await create_operator(runtime, "changer", "operator")
    mine = {"authorization": f"Bearer {await api_token(runtime, mine_id)}"}
    browser = make_client()
    csrf = await sign_in(browser, "changer", DEFAULT_PASSWORD)
    changed = await browser.post(
        "/console/password",
        data={
            "current": DEFAULT_PASSWORD,
            "new": "another good secret 9",
            "confirm": "another good secret 9",
            "csrf_token": csrf,
        },
    )
    assert changed.status_code == 303
    assert (await browser.get("/console")).status_code == 200  # this session stays
    assert (await client.get("/api/v1/me", headers=mine)).status_code == 401


async def test_tokens_of_an_account_with_a_one_time_password_are_refused(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    operator_id = await create_operator(
        runtime, "fresh", "supervisor", "one-time-pass-9", must_change_password=True
    )
    bearer = {"authorization": f"Bearer {await api_token(runtime, operator_id)}"}
    for path in ("/api/v1/me", "/api/v1/cases"):
        answer = await client.get(path, headers=bearer)
        assert answer.status_code == 403, path
        assert "change" in answer.json()["detail"] and "password" in answer.json()["detail"]
    # nor can the token change the password (or reach any console page)
    answer = await client.post(
        "/console/password",
        headers=bearer,
        data={"current": "one-time-pass-9", "new": "x" * 12, "confirm": "x" * 12},
    )
    assert answer.status_code == 403


async def test_the_first_sign_in_asks_the_name_canned_replies_use(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    from bot.accounts import FIRST_ADMIN_DISPLAY_NAME, Accounts

    operator_id = await create_operator(
        runtime, "amal", "operator", "one-time-pass-1", must_change_password=True
    )
    await Accounts(runtime.db).update(
        operator_id, actor="system", display_name=FIRST_ADMIN_DISPLAY_NAME
    )
    page = await client.get("/console/login")
    await client.post(
        "/console/login",
        data={
            "username": "amal",
            "password": "one-time-pass-1",
            "csrf_token": csrf_from(page.text),
        },
    )
    form = await client.get("/console/password")
    assert 'name="display_name"' in form.text
    assert f'value="{FIRST_ADMIN_DISPLAY_NAME}"' not in form.text  # a placeholder is not offered
    changed = await client.post(
        "/console/password",
        data={
            "current": "one-time-pass-1",
            "new": "my own secret 42",
            "confirm": "my own secret 42",
            "display_name": "  Amal  ",
            "csrf_token": csrf_from(form.text),
        },
    )
    assert changed.status_code == 303
    [view] = [v for v in await Accounts(runtime.db).operators() if v.id == operator_id]
    assert view.display_name == "Amal"
    # the name is asked once: after that the password page does not ask it
    again = await client.get("/console/password")
    assert 'name="display_name"' not in again.text
