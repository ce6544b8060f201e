"""The console's second factor (TOTP): enrolment at sign-in, codes that work once, recovery
codes, an administrator's reset; sign-in throttling that no stranger can turn into a lock
(also shared through a real Redis); the API schema and docs only after sign-in."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pyotp
import pytest
from cryptography.fernet import Fernet
from fastapi import FastAPI
from redis.asyncio import Redis
from sqlalchemy import select, text, update

from bot import second_factor
from bot.access import SESSION_COOKIE
from bot.console.throttle import FREE_FAILURES, SignInThrottle
from bot.runtime import Runtime
from bot.storage.models import AuditEvent, Operator, OperatorSession, RecoveryCode
from server import create_app
from tests.conftest import RuntimeFactory
from tests.console_support import (
    DEFAULT_PASSWORD,
    TOTP_SECRETS,
    api_token,
    create_operator,
    csrf_from,
    next_code,
    sign_in,
)
from tests.test_console_auth import _hotline

_SECRET = re.compile(r'id="totp-secret">([A-Z2-7 ]+)<')
_RECOVERY = re.compile(r"<li>([a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4})</li>")


@pytest.fixture
def app(runtime: Runtime) -> FastAPI:
    return create_app(runtime=runtime)


@pytest.fixture
async def make_client(app: FastAPI) -> AsyncIterator[Any]:
    clients: list[httpx.AsyncClient] = []

    def factory(address: str = "127.0.0.1") -> httpx.AsyncClient:
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, client=(address, 40000)),
            base_url="http://testserver",
        )
        clients.append(client)
        return client

    yield factory
    for client in clients:
        await client.aclose()


async def password_step(
    client: httpx.AsyncClient, username: str, password: str = DEFAULT_PASSWORD
) -> httpx.Response:
    page = await client.get("/console/login")
    return await client.post(
        "/console/login",
        data={"username": username, "password": password, "csrf_token": csrf_from(page.text)},
    )


async def code_step(client: httpx.AsyncClient, code: str) -> httpx.Response:
    page = await client.get("/console/login/code")
    assert page.status_code == 200, page.text
    return await client.post(
        "/console/login/code", data={"code": code, "csrf_token": csrf_from(page.text)}
    )


async def actions(runtime: Runtime, operator_id: int) -> list[tuple[str, dict[str, Any]]]:
    async with runtime.db.session() as session:
        rows = await session.execute(
            select(AuditEvent.action, AuditEvent.details)
            .where(AuditEvent.subject == str(operator_id))
            .order_by(AuditEvent.id)
        )
        return [(action, dict(details or {})) for action, details in rows]


# -- enrolment -----------------------------------------------------------------------------------
async def test_a_supervisor_must_enrol_before_reaching_the_console(
    make_runtime: RuntimeFactory,
) -> None:
    runtime = await make_runtime(hotline_encryption_key=Fernet.generate_key().decode())
    operator_id = await create_operator(runtime, "sup", "supervisor", second_factor=False)
    app = create_app(runtime=runtime)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as client:
        answer = await password_step(client, "sup")
        assert answer.status_code == 303
        # no page of the console, and no API call with the session, before enrolment
        for path in ("/console", "/console/registrations", "/console/account"):
            page = await client.get(path)
            assert page.status_code == 303, path
            assert page.headers["location"] == "/console/second-factor", path
        assert (await client.get("/api/v1/me")).status_code == 403
        page = await client.get("/console/second-factor")
        assert page.status_code == 200
        assert 'src="data:image/svg+xml' in page.text  # the QR code, drawn by segno
        found = _SECRET.search(page.text)
        assert found is not None
        secret = found.group(1).replace(" ", "")
        assert f"secret={secret}" in page.text and "issuer=hotline" in page.text
        # a reload shows the same secret (the phone may have scanned it already)
        again = await client.get("/console/second-factor")
        assert secret.replace(" ", "") in again.text.replace(" ", "")
        csrf = csrf_from(page.text)
        wrong = await client.post(
            "/console/second-factor", data={"code": "000000", "csrf_token": csrf}
        )
        assert wrong.status_code == 400 and "does not match" in wrong.text
        done = await client.post(
            "/console/second-factor",
            data={"code": pyotp.TOTP(secret).now(), "csrf_token": csrf},
        )
        assert done.status_code == 200
        codes = _RECOVERY.findall(done.text)
        assert len(codes) == second_factor.RECOVERY_CODES == len(set(codes))
        assert (await client.get("/console")).status_code == 200  # this session goes on
        assert (await client.get("/api/v1/me")).status_code == 200
    # at rest: the secret encrypted, the recovery codes only as hashes
    async with runtime.db.session() as session:
        raw = await session.scalar(
            text("SELECT totp_secret FROM operators WHERE id = :id"), {"id": operator_id}
        )
        hashes = list(
            await session.scalars(
                select(RecoveryCode.code_hash).where(RecoveryCode.operator_id == operator_id)
            )
        )
    assert raw is not None and raw.startswith("enc:") and secret not in raw
    assert len(hashes) == len(codes)
    assert not {code for code in codes if any(code in h for h in hashes)}
    assert ("second_factor.enabled", {"recovery_codes": len(codes)}) in await actions(
        runtime, operator_id
    )


async def test_a_new_administrator_changes_the_password_then_enrols(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    await create_operator(
        runtime, "boss", "admin", "one-time-pass-1", must_change_password=True, second_factor=False
    )
    answer = await password_step(client, "boss", "one-time-pass-1")
    assert answer.headers["location"] == "/console/password"
    enrol = await client.get("/console/second-factor")
    assert enrol.status_code == 303 and enrol.headers["location"] == "/console/password"
    form = await client.get("/console/password")
    changed = await client.post(
        "/console/password",
        data={
            "current": "one-time-pass-1",
            "new": "the boss's own secret",
            "confirm": "the boss's own secret",
            "csrf_token": csrf_from(form.text),
        },
    )
    assert changed.status_code == 303
    queue = await client.get("/console")
    assert queue.status_code == 303 and queue.headers["location"] == "/console/second-factor"


async def test_promotion_to_supervisor_requires_enrolment_at_once(
    runtime: Runtime, make_client: Any
) -> None:
    admin = make_client()
    await create_operator(runtime, "chief", "admin")
    worker_id = await create_operator(runtime, "riser", "operator")
    csrf = await sign_in(admin, "chief", DEFAULT_PASSWORD)
    worker = make_client()
    await sign_in(worker, "riser", DEFAULT_PASSWORD)  # an operator: no code asked
    assert (await worker.get("/console")).status_code == 200
    promoted = await admin.post(
        f"/console/admin/operators/{worker_id}/role",
        data={"role": "supervisor", "csrf_token": csrf},
    )
    assert promoted.status_code == 303
    page = await worker.get("/console")
    assert page.status_code == 303 and page.headers["location"] == "/console/second-factor"


# -- signing in with a code ----------------------------------------------------------------------
async def test_sign_in_with_a_code_that_works_once(runtime: Runtime, make_client: Any) -> None:
    operator_id = await create_operator(runtime, "otp", "supervisor")
    secret = TOTP_SECRETS["otp"]
    client = make_client()
    answer = await password_step(client, "otp")
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/console/login/code")
    pending = client.cookies.get(SESSION_COOKIE)
    # the password alone reaches nothing
    page = await client.get("/console/registrations")
    assert page.status_code == 303 and page.headers["location"] == "/console/login/code"
    assert (await client.get("/api/v1/me")).status_code == 401
    assert "Your code" in (await client.get("/console/login/code")).text
    wrong = await code_step(client, "123456" if pyotp.TOTP(secret).now() != "123456" else "654321")
    assert wrong.status_code == 401 and "wrong or was already used" in wrong.text
    code = await next_code(secret)
    right = await code_step(client, code)
    assert right.status_code == 303 and right.headers["location"] == "/console"
    assert client.cookies.get(SESSION_COOKIE) not in (None, pending)  # a fresh session
    assert (await client.get("/console/registrations")).status_code == 200
    async with runtime.db.session() as session:  # the pending session is gone
        rows = list(await session.scalars(select(OperatorSession.second_factor)))
    assert rows == [True]
    # the same code again, from another browser: refused (codes are not reusable)
    other = make_client()
    await password_step(other, "otp")
    assert (await code_step(other, code)).status_code == 401
    events = await actions(runtime, operator_id)
    assert [a for a, _ in events if a.startswith("signin")] == [
        "signin.failed",
        "signin",
        "signin.failed",
    ]
    assert [d.get("reason") for a, d in events if a == "signin.failed"] == ["code", "code"]
    assert [d["second_factor"] for a, d in events if a == "signin"] == ["totp"]


async def test_recovery_codes_work_once_and_can_be_renewed(
    runtime: Runtime, make_client: Any
) -> None:
    operator_id = await create_operator(runtime, "lost", "admin", second_factor=False)
    client = make_client()
    await password_step(client, "lost")
    page = await client.get("/console/second-factor")
    found = _SECRET.search(page.text)
    assert found is not None
    secret = found.group(1).replace(" ", "")
    TOTP_SECRETS["lost"] = secret
    done = await client.post(
        "/console/second-factor",
        data={"code": await next_code(secret), "csrf_token": csrf_from(page.text)},
    )
    codes = _RECOVERY.findall(done.text)
    assert len(codes) == 8
    phone_lost = make_client("192.0.2.44")
    await password_step(phone_lost, "lost")
    used = await code_step(phone_lost, codes[0].upper().replace("-", " "))  # typed loosely
    assert used.status_code == 303
    assert used.headers["location"] == "/console/second-factor?notice=recovery"
    status = await phone_lost.get(used.headers["location"])
    assert "7 recovery codes left" in status.text
    again = make_client("192.0.2.45")
    await password_step(again, "lost")
    assert (await code_step(again, codes[0])).status_code == 401  # used up
    # new codes against a current code: the old ones stop working
    renewed = await phone_lost.post(
        "/console/second-factor/recovery-codes",
        data={"code": await next_code(secret), "csrf_token": csrf_from(status.text)},
    )
    fresh = _RECOVERY.findall(renewed.text)
    assert len(fresh) == 8 and not set(fresh) & set(codes)
    assert (await code_step(again, codes[1])).status_code == 401
    assert (await code_step(again, fresh[0])).status_code == 303
    recorded = [a for a, _ in await actions(runtime, operator_id) if a.startswith("second")]
    assert recorded == [
        "second_factor.enabled",
        "second_factor.recovery_used",
        "second_factor.recovery_codes",
        "second_factor.recovery_used",
    ]


async def test_operators_choose_and_supervisors_cannot_turn_it_off(
    runtime: Runtime, make_client: Any
) -> None:
    operator_id = await create_operator(runtime, "keen", "operator")
    client = make_client()
    csrf = await sign_in(client, "keen", DEFAULT_PASSWORD)
    account = await client.get("/console/account")
    assert "Set up a second factor" in account.text
    page = await client.get("/console/second-factor")
    found = _SECRET.search(page.text)
    assert found is not None and "needs a second factor" not in page.text
    secret = found.group(1).replace(" ", "")
    TOTP_SECRETS["keen"] = secret
    await client.post(
        "/console/second-factor", data={"code": await next_code(secret), "csrf_token": csrf}
    )
    later = make_client()
    answer = await password_step(later, "keen")
    assert answer.headers["location"].startswith("/console/login/code")
    assert (await code_step(later, await next_code(secret))).status_code == 303
    # off again, with a code
    csrf = csrf_from((await later.get("/console/account")).text)
    off = await later.post(
        "/console/second-factor/disable",
        data={"code": await next_code(secret), "csrf_token": csrf},
    )
    assert off.status_code == 303
    async with runtime.db.session() as session:
        row = await session.get(Operator, operator_id)
        assert row is not None and row.totp_secret is None and row.totp_enabled_at is None
    # a supervisor has no such button, and the route refuses
    await create_operator(runtime, "strict", "supervisor")
    boss = make_client()
    csrf = await sign_in(boss, "strict", DEFAULT_PASSWORD)
    page = await boss.get("/console/second-factor")
    assert "Turn the second factor off" not in page.text
    refused = await boss.post(
        "/console/second-factor/disable",
        data={"code": await next_code(TOTP_SECRETS["strict"]), "csrf_token": csrf},
    )
    assert refused.status_code == 400 and "needs a second factor" in refused.text


async def test_an_administrator_resets_a_lost_second_factor(
    runtime: Runtime, make_client: Any
) -> None:
    admin_id = await create_operator(runtime, "root", "admin")
    target_id = await create_operator(runtime, "phoneless", "supervisor")
    victim = make_client()
    await sign_in(victim, "phoneless", DEFAULT_PASSWORD)
    admin = make_client()
    csrf = await sign_in(admin, "root", DEFAULT_PASSWORD)
    listing = await admin.get("/console/admin/operators")
    assert f"/console/admin/operators/{target_id}/reset-second-factor" in listing.text
    reset = await admin.post(
        f"/console/admin/operators/{target_id}/reset-second-factor", data={"csrf_token": csrf}
    )
    assert reset.status_code == 303
    assert (await victim.get("/console")).status_code == 303  # signed out everywhere
    again = make_client()
    answer = await password_step(again, "phoneless")  # no code asked: a new one is set up
    assert answer.status_code == 303 and not answer.headers["location"].startswith(
        "/console/login/code"
    )
    assert (await again.get("/console")).headers["location"] == "/console/second-factor"
    # the API route does the same, for administrators only
    bearer = {"authorization": f"Bearer {await api_token(runtime, admin_id)}"}
    api = await admin.post(
        f"/api/v1/admin/operators/{admin_id}/reset-second-factor", headers=bearer
    )
    assert api.status_code == 204
    async with runtime.db.session() as session:
        row = await session.get(Operator, admin_id)
        assert row is not None and row.totp_enabled_at is None
        resets = list(
            await session.execute(
                select(AuditEvent.actor, AuditEvent.subject).where(
                    AuditEvent.action == "second_factor.reset"
                )
            )
        )
    assert resets == [
        (f"operator:{admin_id}", str(target_id)),
        (f"operator:{admin_id}", str(admin_id)),
    ]


# -- no lock a stranger can put on an account --------------------------------------------------
async def test_the_admin_signs_in_while_a_stranger_hammers_the_account(
    runtime: Runtime, app: FastAPI, make_client: Any
) -> None:
    await create_operator(runtime, "admin", "admin")
    now = [5000.0]
    app.state.login_limiter.clock = lambda: now[0]
    stranger = make_client("203.0.113.66")
    statuses = []
    for _ in range(12):
        statuses.append((await password_step(stranger, "admin", "guess")).status_code)
    assert statuses[: FREE_FAILURES + 1] == [401] * (FREE_FAILURES + 1)
    assert set(statuses[FREE_FAILURES + 1 :]) == {429}
    # and codes guessed after a (leaked) password are throttled the same way
    leaked = make_client("203.0.113.67")
    await password_step(leaked, "admin")
    guesses = [(await code_step(leaked, f"{n:06d}")).status_code for n in range(8)]
    assert guesses[: FREE_FAILURES + 1] == [401] * (FREE_FAILURES + 1)
    assert 429 in guesses[FREE_FAILURES + 1 :]
    # the administrator, from the office: password and code, at once
    office = make_client("198.51.100.10")
    assert (await password_step(office, "admin")).status_code == 303
    answer = await code_step(office, await next_code(TOTP_SECRETS["admin"]))
    assert answer.status_code == 303 and answer.headers["location"] == "/console"
    assert (await office.get("/console/admin/operators")).status_code == 200


async def test_throttle_is_shared_between_processes_through_redis(redis_url: str) -> None:
    """Two throttles with their own Redis clients (as two server processes have) see the same
    counts; without Redis each process counts alone."""
    clients = [Redis.from_url(redis_url, decode_responses=True) for _ in range(2)]
    try:
        await clients[0].flushdb()
        now = [100.0]
        first, second = (SignInThrottle(per_minute=3, clock=lambda: now[0]) for _ in range(2))
        first.use_redis(clients[0], prefix="t-throttle")
        second.use_redis(clients[1], prefix="t-throttle")
        assert first.shared and second.shared
        # the per-address bucket: three attempts in all, whichever process takes them
        assert [await t.take("192.0.2.9") for t in (first, second, first)] == [0.0, 0.0, 0.0]
        assert await second.take("192.0.2.9") == pytest.approx(20.0)  # one every 20 s
        await first.succeeded("someone", "192.0.2.9")  # a success gives one back
        assert await second.take("192.0.2.9") == 0.0
        # the per-(account, address) waits
        for _ in range(FREE_FAILURES):
            assert await first.failed("Admin", "192.0.2.9") == 0.0
        assert await second.failed("admin", "192.0.2.9") == 2.0
        assert await first.pair_wait("admin", "192.0.2.9") == 2.0
        assert await second.pair_wait("admin", "198.51.100.1") == 0.0  # another address
        assert await first.failed("admin", "192.0.2.9") == 4.0
        now[0] += 4
        assert await second.pair_wait("admin", "192.0.2.9") == 0.0
        await second.succeeded("admin", "192.0.2.9")
        assert await first.failed("admin", "192.0.2.9") == 0.0  # counting starts again
        # in memory, each process alone
        alone, other = SignInThrottle(clock=lambda: now[0]), SignInThrottle(clock=lambda: now[0])
        for _ in range(FREE_FAILURES + 1):
            await alone.failed("admin", "192.0.2.9")
        assert await alone.pair_wait("admin", "192.0.2.9") == 2.0
        assert await other.pair_wait("admin", "192.0.2.9") == 0.0
    finally:
        for client in clients:
            await client.aclose()


def test_waits_grow_and_are_capped() -> None:
    from bot.console.throttle import MAX_DELAY, delay_after

    waits = [delay_after(n) for n in range(1, 30)]
    assert waits[:FREE_FAILURES] == [0.0] * FREE_FAILURES
    assert waits[FREE_FAILURES : FREE_FAILURES + 4] == [2.0, 4.0, 8.0, 16.0]
    assert max(waits) == MAX_DELAY == waits[-1]
    assert waits == sorted(waits)


def test_codes_match_their_step_only_within_the_window() -> None:
    secret = pyotp.random_base32()
    totp = pyotp.TOTP(secret)
    moment = 1_800_000_000.0
    step = int(moment // 30)
    assert second_factor.matching_step(secret, totp.at(moment), now=moment) == step
    assert second_factor.matching_step(secret, totp.at(moment - 30), now=moment) == step - 1
    assert second_factor.matching_step(secret, totp.at(moment + 30), now=moment) == step + 1
    assert second_factor.matching_step(secret, totp.at(moment - 90), now=moment) is None
    assert second_factor.matching_step(secret, "12345", now=moment) is None
    assert second_factor.matching_step(secret, "abcdef", now=moment) is None


# -- the schema and docs pages -----------------------------------------------------------------
async def test_schema_and_docs_only_after_sign_in(runtime: Runtime, make_client: Any) -> None:
    paths = ("/docs", "/redoc", "/openapi.json", "/api/v1/openapi.json", "/docs/oauth2-redirect")
    anonymous = make_client()
    for path in paths:
        for headers in ({}, {"authorization": "Bearer not-a-token"}):
            answer = await anonymous.get(path, headers=headers)
            assert answer.status_code in (401, 303, 404), (path, answer.status_code)
            assert "openapi" not in answer.text.lower() or answer.status_code == 303, path
            assert '"paths"' not in answer.text, path
    assert (await anonymous.get("/api/v1/openapi.json")).status_code == 401
    assert (await anonymous.get("/docs")).headers["location"].startswith("/console/login")
    operator_id = await create_operator(runtime, "reader", "operator")
    bearer = {"authorization": f"Bearer {await api_token(runtime, operator_id)}"}
    whole = await anonymous.get("/openapi.json", headers=bearer)
    assert whole.status_code == 200 and "/webhooks/rest/webhook" in whole.json()["paths"]
    api = await anonymous.get("/api/v1/openapi.json", headers=bearer)
    assert api.status_code == 200 and "/api/v1/cases" in api.json()["paths"]
    browser = make_client()
    await sign_in(browser, "reader", DEFAULT_PASSWORD)
    for path in ("/docs", "/redoc"):
        page = await browser.get(path)
        assert page.status_code == 200 and "/openapi.json" in page.text, path
    assert (await browser.get("/openapi.json")).json()["info"]["title"] == "hotline"
    # a pending sign-in (password right, code due) is not signed in
    await create_operator(runtime, "halfway", "supervisor")
    pending = make_client()
    await password_step(pending, "halfway")
    assert (await pending.get("/api/v1/openapi.json")).status_code == 401
    assert (await pending.get("/openapi.json")).status_code == 303


async def test_stale_session_of_an_account_whose_code_was_never_given(
    runtime: Runtime, make_client: Any
) -> None:
    """A session that stopped at the code step lasts minutes, not hours."""
    await create_operator(runtime, "slow", "supervisor")
    client = make_client()
    await password_step(client, "slow")
    async with runtime.db.session() as session:
        row = await session.scalar(select(OperatorSession))
        assert row is not None and row.second_factor is False
        lifetime = row.expires_at - row.created_at
    assert lifetime.total_seconds() <= 600
    async with runtime.db.session() as session, session.begin():
        await session.execute(update(OperatorSession).values(expires_at=row.created_at))
    answer = await client.get("/console/login/code")
    assert answer.status_code == 303 and "/console/login" in answer.headers["location"]


async def test_the_command_line_resets_a_second_factor(
    runtime: Runtime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The last administrator lost the phone and the recovery codes: the server's shell helps."""
    monkeypatch.setenv("COLUMNS", "200")  # the table on one line
    admin_id = await create_operator(runtime, "lastadmin", "admin")
    assert "second factor" in _hotline(runtime, tmp_path, "list")
    out = _hotline(runtime, tmp_path, "reset-second-factor", "lastadmin")
    assert "second factor removed for lastadmin" in out
    async with runtime.db.session() as session:
        row = await session.get(Operator, admin_id)
        assert row is not None and row.totp_secret is None and row.totp_enabled_at is None
        event = await session.scalar(
            select(AuditEvent).where(AuditEvent.action == "second_factor.reset")
        )
    assert event is not None and (event.actor, event.subject) == ("cli", str(admin_id))


async def test_two_server_processes_share_the_limits_when_redis_is_set(runtime: Runtime) -> None:
    """Two apps on one database stand for two server processes: with Redis the waits one
    imposes hold in the other; without Redis each process counts alone."""
    await create_operator(runtime, "shared", "operator")
    apps = [create_app(runtime=runtime) for _ in range(2)]
    clients = [
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, client=("203.0.113.80", 1000)),
            base_url="http://testserver",
        )
        for app in apps
    ]
    try:
        for _ in range(FREE_FAILURES + 1):
            assert (await password_step(clients[0], "shared", "wrong!")).status_code == 401
        assert (await password_step(clients[0], "shared", "wrong!")).status_code == 429
        elsewhere = await password_step(clients[1], "shared", "wrong!")
        redis = runtime.settings.redis_url is not None
        assert [app.state.login_limiter.shared for app in apps] == [redis, redis]
        assert elsewhere.status_code == (429 if redis else 401)
    finally:
        for client in clients:
            await client.aclose()
