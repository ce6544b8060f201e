"""Puts the console and the API into the FastAPI app, and prepares a fresh installation."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from bot.accounts import Accounts
from bot.api import accounts as api_accounts
from bot.api import audit as api_audit
from bot.api import broadcasts as api_broadcasts
from bot.api import cases as api_cases
from bot.api import docs as api_docs
from bot.api import records as api_records
from bot.api import reports as api_reports
from bot.api import schema as api_schema
from bot.console import account, admin, audit, broadcasts, calls, cases, records, reports, signin
from bot.console import studio as voice_studio
from bot.console.throttle import SignInThrottle
from bot.console.web import CONSOLE_DIR, STATIC_PREFIX
from bot.errors import install_domain_errors

if TYPE_CHECKING:
    from bot.runtime import Runtime


def include_console(app: FastAPI) -> None:
    """Every console page (/console) and the API (/api/v1) — each domain's two doors — and the
    one place where a domain's refusal becomes the API's HTTP answer."""
    for router in (
        signin.router,
        account.router,
        cases.router,  # handoff cases: the queue and one case
        calls.router,  # voice callers waiting, taking a call, messages to call back
        admin.router,
        api_cases.router,
        api_accounts.router,
        api_schema.router,
        audit.router,  # the audit trail, read-only
        api_audit.router,
        api_docs.router,  # /docs, /redoc, /openapi.json only after sign-in
        records.router,  # registrations, exports
        broadcasts.router,
        reports.router,
        voice_studio.router,  # the voice line's recordings (supervisors)
        api_records.router,
        api_broadcasts.router,
        api_reports.router,
    ):
        app.include_router(router)
    install_domain_errors(app)
    app.mount(STATIC_PREFIX, StaticFiles(directory=CONSOLE_DIR / "static"), name="console-static")
    # sign-in attempts per address and per (account, address); Redis-backed once it is known
    app.state.login_limiter = SignInThrottle()


async def first_start(runtime: Runtime) -> None:
    """No operator yet: create `admin` and print its one-time password once, to the terminal
    (standard output, never the log)."""
    password = await Accounts(runtime.db).ensure_first_admin()
    if password is None:
        return
    print(
        "\n"
        "  hotline console: created the administrator account\n"
        "    username: admin\n"
        f"    one-time password: {password}\n"
        "  Sign in at /console/login and choose a new password; this is shown only once.\n",
        file=sys.stdout,
        flush=True,
    )
