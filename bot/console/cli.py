"""`hotline operators …`: console accounts from the terminal.

Passwords and tokens are printed once, to standard output, and never logged.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from bot.access import ROLES
from bot.accounts import AccountError, Accounts, parse_languages
from bot.config import get_settings

operators_app = typer.Typer(help="Console accounts: add, list, disable, passwords, API tokens")
console = Console()
T = TypeVar("T")
ACTOR = "cli"


def _run(work: Callable[[Accounts], Awaitable[T]]) -> T:
    """With the database only (no NLU, no channels): quick for an administrator."""
    from bot.storage.db import Database, upgrade_schema
    from bot.storage.keys import load_keys

    async def main() -> T:
        settings = get_settings()
        load_keys(settings)  # accounts hold encrypted fields (second-factor secrets)
        upgrade_schema(settings.database_url)
        db = Database(settings.database_url)
        try:
            return await work(Accounts(db))
        finally:
            await db.dispose()

    try:
        return asyncio.run(main())
    except AccountError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None


async def _id_of(accounts: Accounts, username: str) -> int:
    view = await accounts.by_username(username)
    if view is None:
        raise AccountError(f"no such operator: {username}", 404)
    return view.id


@operators_app.command("add")
def add(
    username: Annotated[str, typer.Argument(help="Lowercase login name")],
    role: Annotated[str, typer.Option(help="operator, supervisor or admin")] = "operator",
    display_name: Annotated[str | None, typer.Option(help="Name shown to colleagues")] = None,
    languages: Annotated[str | None, typer.Option(help="Languages they read, e.g. en,ar")] = None,
) -> None:
    """Create an account; prints a one-time password (changed at the first sign-in)."""
    if role not in ROLES:
        console.print(f"[red]role must be one of {', '.join(ROLES)}[/red]")
        raise typer.Exit(2)
    codes = parse_languages(languages)
    allowed = get_settings().enabled_languages
    unknown = [code for code in codes if code not in allowed]
    if unknown:
        console.print(f"[red]not enabled: {', '.join(unknown)}[/red]")
        raise typer.Exit(2)

    async def work(accounts: Accounts) -> str:
        _, password = await accounts.create(
            username, role, actor=ACTOR, display_name=display_name, languages=codes
        )
        return password

    password = _run(work)
    typer.echo(f"created {role} {username.strip().lower()}")
    typer.echo(f"one-time password: {password}")
    typer.echo("They choose their own password at the first sign-in.")


@operators_app.command("list")
def list_operators() -> None:
    """Every account with its role and state."""
    views = _run(lambda accounts: accounts.operators())
    table = Table("username", "name", "role", "languages", "state", "last sign-in")
    for view in views:
        state = "active" if view.active else "disabled"
        if view.locked:
            state += ", locked"
        if view.must_change_password:
            state += ", one-time password"
        state += ", second factor" if view.second_factor else ""
        last = view.last_login_at.strftime("%Y-%m-%d %H:%M") if view.last_login_at else "never"
        table.add_row(
            view.username, view.display_name, view.role, ",".join(view.languages), state, last
        )
    console.print(table)


@operators_app.command("disable")
def disable(username: Annotated[str, typer.Argument()]) -> None:
    """Disable an account; its sessions end at once and its tokens stop working."""

    async def work(accounts: Accounts) -> None:
        await accounts.update(await _id_of(accounts, username), actor=ACTOR, active=False)

    _run(work)
    typer.echo(f"disabled {username}")


@operators_app.command("enable")
def enable(username: Annotated[str, typer.Argument()]) -> None:
    """Enable a disabled account again."""

    async def work(accounts: Accounts) -> None:
        await accounts.update(await _id_of(accounts, username), actor=ACTOR, active=True)

    _run(work)
    typer.echo(f"enabled {username}")


@operators_app.command("reset-password")
def reset_password(username: Annotated[str, typer.Argument()]) -> None:
    """A new one-time password; the account's sessions end and its tokens are revoked."""

    async def work(accounts: Accounts) -> str:
        return await accounts.reset_password(await _id_of(accounts, username), actor=ACTOR)

    password = _run(work)
    typer.echo(f"one-time password: {password}")


@operators_app.command("reset-second-factor")
def reset_second_factor(username: Annotated[str, typer.Argument()]) -> None:
    """Remove the account's second factor (a lost phone, and no administrator left to do it in
    the console); its sessions end and it sets up a new one at its next sign-in."""

    async def work(accounts: Accounts) -> None:
        await accounts.reset_second_factor(await _id_of(accounts, username), actor=ACTOR)

    _run(work)
    typer.echo(f"second factor removed for {username}; a new one is set up at the next sign-in")


@operators_app.command("token")
def token(
    username: Annotated[str, typer.Argument()],
    name: Annotated[str, typer.Option(help="What the token is for, e.g. reporting-script")],
    days: Annotated[float | None, typer.Option(help="Valid for this many days")] = None,
) -> None:
    """An API token for /api/v1, printed once (only its hash is stored)."""

    async def work(accounts: Accounts) -> str:
        operator_id = await _id_of(accounts, username)
        _, secret = await accounts.create_token(operator_id, name, actor=ACTOR, days=days)
        return secret

    secret = _run(work)
    typer.echo(f"API token for {username} ({name}): {secret}")
    typer.echo("Send it as 'Authorization: Bearer <token>'. It is not shown again.")
