"""Operator accounts: creation with one-time passwords, sign-in with lockout, sessions, tokens.

Used by the console, the API and `hotline operators`. Every change is audited in the same
transaction. Passwords are argon2 hashes; session and API tokens are stored as SHA-256 hashes.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot import second_factor
from bot.access import (
    ROLES,
    SECOND_FACTOR_ROLES,
    burn_password_check_async,
    generate_password,
    hash_password_async,
    new_secret,
    token_hash,
    verify_password_async,
)
from bot.errors import DomainError
from bot.storage.db import Database
from bot.storage.models import (
    ApiToken,
    AuditEvent,
    Operator,
    OperatorSession,
    RecoveryCode,
    as_utc,
    utcnow,
)
from nlu import parse_phone

CODE_WITHIN = timedelta(minutes=10)  # from the right password to the second factor's code
MIN_PASSWORD_LENGTH = 10
# the first administrator's name until they give their own at the first sign-in
FIRST_ADMIN_DISPLAY_NAME = "Administrator"
USERNAME = re.compile(r"^[a-z0-9][a-z0-9_.\-]{1,63}$")


# the languages the console is translated into (bot/console/i18n.py, locales/*/console.po)
CONSOLE_LANGUAGES = ("en", "ar", "fr")


class AccountError(DomainError, ValueError):
    """The request cannot be done (taken username, unknown account, weak password)."""

    status = 422


@dataclass(frozen=True, slots=True)
class OperatorView:
    id: int
    username: str
    display_name: str
    role: str
    languages: tuple[str, ...]
    active: bool
    must_change_password: bool
    locked: bool
    last_login_at: datetime | None
    created_at: datetime
    second_factor: bool = False

    @property
    def name(self) -> str:
        return self.display_name or self.username


@dataclass(frozen=True, slots=True)
class TokenView:
    id: int
    name: str
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        expires = as_utc(self.expires_at)
        return self.revoked_at is None and (expires is None or expires > utcnow())


@dataclass(frozen=True, slots=True)
class SignIn:
    operator_id: int | None
    outcome: str  # "ok" | "wrong"
    must_change_password: bool = False
    second_factor: bool = False  # the account has one: its code is due next


def _languages(operator: Operator) -> tuple[str, ...]:
    value = operator.languages.get("read", []) if isinstance(operator.languages, dict) else []
    return tuple(str(code) for code in value)


def _view(operator: Operator) -> OperatorView:
    locked = as_utc(operator.locked_until)
    return OperatorView(
        id=operator.id,
        username=operator.username,
        display_name=operator.display_name,
        role=operator.role,
        languages=_languages(operator),
        active=operator.active,
        must_change_password=operator.must_change_password,
        locked=locked is not None and locked > utcnow(),
        last_login_at=as_utc(operator.last_login_at),
        created_at=as_utc(operator.created_at) or utcnow(),
        second_factor=operator.totp_enabled_at is not None,
    )


def parse_languages(text: str | None, allowed: list[str] | None = None) -> list[str]:
    codes = [part.strip().lower() for part in (text or "").split(",") if part.strip()]
    if allowed is not None:
        unknown = [code for code in codes if code not in allowed]
        if unknown:
            raise AccountError(f"unknown language(s): {', '.join(unknown)}")
    return codes


async def _replace_recovery_codes(session: AsyncSession, operator_id: int) -> list[str]:
    """New recovery codes for the account (in the caller's transaction); the old ones go."""
    await session.execute(delete(RecoveryCode).where(RecoveryCode.operator_id == operator_id))
    codes = second_factor.new_recovery_codes()
    for code in codes:
        session.add(
            RecoveryCode(
                operator_id=operator_id, code_hash=second_factor.recovery_hash(operator_id, code)
            )
        )
    return codes


async def _revoke_tokens(session: AsyncSession, operator_id: int) -> int:
    """Revokes the account's active API tokens (in the caller's transaction); how many."""
    result = await session.execute(
        update(ApiToken)
        .where(ApiToken.operator_id == operator_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def check_new_password(password: str, username: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"use at least {MIN_PASSWORD_LENGTH} characters")
    if password.strip().lower() == username.lower():
        raise AccountError("the password must not be the username")


class Accounts:
    def __init__(self, db: Database) -> None:
        self.db = db

    # -- reading -------------------------------------------------------------------------
    async def count(self) -> int:
        async with self.db.session() as session:
            return int(await session.scalar(select(func.count()).select_from(Operator)) or 0)

    async def operators(self, *, active_only: bool = False) -> list[OperatorView]:
        async with self.db.session() as session:
            query = select(Operator).order_by(Operator.username)
            if active_only:
                query = query.where(Operator.active.is_(True))
            return [_view(row) for row in await session.scalars(query)]

    async def get(self, operator_id: int) -> OperatorView | None:
        async with self.db.session() as session:
            row = await session.get(Operator, operator_id)
            return _view(row) if row else None

    async def by_username(self, username: str) -> OperatorView | None:
        async with self.db.session() as session:
            row = await session.scalar(
                select(Operator).where(Operator.username == username.strip().lower())
            )
            return _view(row) if row else None

    async def names(self) -> dict[int, str]:
        async with self.db.session() as session:
            rows = await session.execute(
                select(Operator.id, Operator.display_name, Operator.username)
            )
            return {i: (d or u) for i, d, u in rows.all()}

    async def phone(self, operator_id: int) -> str | None:
        """Where the console rings this operator to take a voice call (E.164), if set."""
        async with self.db.session() as session:
            row = await session.get(Operator, operator_id)
            return row.phone if row and row.active else None

    # -- changing ------------------------------------------------------------------------
    async def set_phone(self, operator_id: int, text: str, *, actor: str) -> str | None:
        """The operator's own phone for taking calls; empty text removes it. Audited without
        the number."""
        text = text.strip()
        phone = None
        if text:
            phone = parse_phone(text) if len(text) <= 32 else None
            if phone is None:
                raise AccountError(
                    "Write the number with its country code, for example +218 91 234 5678.", 422
                )
        async with self.db.session() as session, session.begin():
            await session.execute(
                update(Operator).where(Operator.id == operator_id).values(phone=phone)
            )
        await self._audit(actor, "account.phone", str(operator_id), set=phone is not None)
        return phone

    async def create(
        self,
        username: str,
        role: str,
        *,
        actor: str,
        display_name: str | None = None,
        languages: list[str] | None = None,
        password: str | None = None,
    ) -> tuple[int, str]:
        """A new account with a one-time password (changed at first sign-in)."""
        username = username.strip().lower()
        if not USERNAME.match(username):
            raise AccountError("username: 2-64 lowercase letters, digits, '.', '_' or '-'")
        if role not in ROLES:
            raise AccountError(f"role must be one of {', '.join(ROLES)}")
        one_time = password or generate_password()
        hashed = await hash_password_async(one_time)  # before the transaction: no lock held
        async with self.db.session() as session, session.begin():
            taken = await session.scalar(select(Operator.id).where(Operator.username == username))
            if taken is not None:
                raise AccountError(f"the username {username} is taken", 409)
            row = Operator(
                username=username,
                display_name=(display_name or username).strip()[:128],
                password_hash=hashed,
                role=role,
                languages={"read": languages or []},
                must_change_password=True,
            )
            session.add(row)
            try:
                await session.flush()
            except IntegrityError:  # created by another request or process a moment ago
                raise AccountError(f"the username {username} is taken", 409) from None
            session.add(
                AuditEvent(
                    actor=actor,
                    action="operator.created",
                    subject=str(row.id),
                    details={"username": username, "role": role},
                )
            )
            return row.id, one_time

    async def ensure_first_admin(self) -> str | None:
        """On a fresh installation: an `admin` account; returns its one-time password."""
        if await self.count():
            return None
        try:
            _, password = await self.create(
                "admin", "admin", actor="system", display_name=FIRST_ADMIN_DISPLAY_NAME
            )
        except AccountError:  # another process created it a moment ago
            return None
        return password

    async def update(
        self,
        operator_id: int,
        *,
        actor: str,
        role: str | None = None,
        display_name: str | None = None,
        languages: list[str] | None = None,
        active: bool | None = None,
    ) -> OperatorView:
        if role is not None and role not in ROLES:
            raise AccountError(f"role must be one of {', '.join(ROLES)}")
        async with self.db.session() as session, session.begin():
            row = await session.get(Operator, operator_id)
            if row is None:
                raise AccountError("no such operator", 404)
            changes: dict[str, object] = {}
            if role is not None and role != row.role:
                changes["role"] = [row.role, role]
                row.role = role
            if display_name is not None and display_name.strip() != row.display_name:
                row.display_name = display_name.strip()[:128]
                changes["display_name"] = True
            if languages is not None:
                row.languages = {"read": languages}
                changes["languages"] = languages
            if active is not None and active != row.active:
                row.active = active
                changes["active"] = active
                if not active:  # signed out everywhere at once
                    await session.execute(
                        delete(OperatorSession).where(OperatorSession.operator_id == row.id)
                    )
            if changes:
                action = "operator.role" if "role" in changes else "operator.updated"
                if "active" in changes:
                    action = "operator.enabled" if active else "operator.disabled"
                session.add(
                    AuditEvent(actor=actor, action=action, subject=str(row.id), details=changes)
                )
            return _view(row)

    async def set_console_language(
        self, operator_id: int, language: str | None, *, actor: str
    ) -> None:
        """The console's language for this operator (None: the deployment's default)."""
        if language is not None and language not in CONSOLE_LANGUAGES:
            raise AccountError("the console language must be en, ar or fr")
        async with self.db.session() as session, session.begin():
            row = await session.get(Operator, operator_id)
            if row is None:
                raise AccountError("no such operator", 404)
            if row.console_language != language:
                row.console_language = language
                session.add(
                    AuditEvent(
                        actor=actor,
                        action="operator.console_language",
                        subject=str(row.id),
                        details={"language": language},
                    )
                )

    async def reset_password(self, operator_id: int, *, actor: str) -> str:
        """A new one-time password; the account's sessions end, its API tokens are revoked
        and its lock is lifted."""
        password = generate_password()
        hashed = await hash_password_async(password)
        async with self.db.session() as session, session.begin():
            row = await session.get(Operator, operator_id)
            if row is None:
                raise AccountError("no such operator", 404)
            row.password_hash = hashed
            row.must_change_password = True
            row.failed_logins = 0
            row.locked_until = None
            await session.execute(
                delete(OperatorSession).where(OperatorSession.operator_id == row.id)
            )
            revoked = await _revoke_tokens(session, row.id)
            session.add(
                AuditEvent(
                    actor=actor,
                    action="operator.password_reset",
                    subject=str(row.id),
                    details={"tokens_revoked": revoked},
                )
            )
        return password

    async def change_password(
        self, operator_id: int, current: str, new: str, *, keep_session: str | None = None
    ) -> None:
        """The operator's own change; other sessions of the account end and its API tokens
        are revoked (a leaked token must not outlive the password it came with)."""
        async with self.db.session() as session:
            row = await session.get(Operator, operator_id)
            if row is None:
                raise AccountError("no such operator", 404)
            old_hash, username = row.password_hash, row.username
        # the argon2 work happens outside any transaction, in a worker thread
        if not await verify_password_async(old_hash, current):
            raise AccountError("the current password is wrong")
        check_new_password(new, username)
        if await verify_password_async(old_hash, new):
            raise AccountError("choose a password different from the current one")
        new_hash = await hash_password_async(new)
        async with self.db.session() as session, session.begin():
            changed = await session.execute(
                update(Operator)
                .where(Operator.id == operator_id, Operator.password_hash == old_hash)
                .values(password_hash=new_hash, must_change_password=False)
                .execution_options(synchronize_session=False)
            )
            if not getattr(changed, "rowcount", 0):  # reset or changed elsewhere meanwhile
                raise AccountError("the password was changed meanwhile; sign in again")
            others = delete(OperatorSession).where(OperatorSession.operator_id == operator_id)
            if keep_session:
                others = others.where(OperatorSession.token_hash != token_hash(keep_session))
            await session.execute(others)
            revoked = await _revoke_tokens(session, operator_id)
            session.add(
                AuditEvent(
                    actor=f"operator:{operator_id}",
                    action="operator.password_changed",
                    subject=str(operator_id),
                    details={"tokens_revoked": revoked},
                )
            )

    # -- signing in ----------------------------------------------------------------------
    async def sign_in(self, username: str, password: str, *, address: str = "") -> SignIn:
        """Checks a password. Nothing is locked here: guessing is slowed per (account,
        address) and per address by `bot.console.throttle`, so a stranger cannot lock an
        account. Failures are audited (an unknown username without the name typed: it may
        be a password typed in the wrong field)."""
        async with self.db.session() as session:
            row = await session.scalar(
                select(Operator).where(Operator.username == username.strip().lower())
            )
            found = (row.id, row.password_hash) if row is not None and row.active else None
        if found is None:
            await burn_password_check_async(password)
            await self._audit("unknown", "signin.failed", None, reason="account", address=address)
            return SignIn(None, "wrong")
        operator_id, stored_hash = found
        # the password is checked in a worker thread, outside any transaction
        correct = await verify_password_async(stored_hash, password)
        async with self.db.session() as session, session.begin():
            row = await session.get(Operator, operator_id)
            if not correct or row is None or not row.active or row.password_hash != stored_hash:
                session.add(
                    AuditEvent(
                        actor=f"operator:{operator_id}",
                        action="signin.failed",
                        subject=str(operator_id),
                        details={"reason": "password", "address": address},
                    )
                )
                return SignIn(None, "wrong")
            return SignIn(
                operator_id,
                "ok",
                bool(row.must_change_password),
                second_factor=row.totp_enabled_at is not None,
            )

    async def signed_in(self, operator_id: int, *, second_factor: str, address: str) -> None:
        """The sign-in is complete (password, and the code when the account has one)."""
        async with self.db.session() as session, session.begin():
            await session.execute(
                update(Operator)
                .where(Operator.id == operator_id)
                .values(last_login_at=utcnow())
                .execution_options(synchronize_session=False)
            )
            session.add(
                AuditEvent(
                    actor=f"operator:{operator_id}",
                    action="signin",
                    subject=str(operator_id),
                    details={"second_factor": second_factor, "address": address},
                )
            )

    async def _audit(self, actor: str, action: str, subject: str | None, **details: object) -> None:
        async with self.db.session() as session, session.begin():
            session.add(AuditEvent(actor=actor, action=action, subject=subject, details=details))

    # -- the second factor -----------------------------------------------------------------
    async def begin_enrolment(self, operator_id: int) -> str:
        """The secret to show as a QR code: a new one, or the one shown before and not yet
        confirmed (a reload must not invalidate what the phone has scanned)."""
        async with self.db.session() as session, session.begin():
            row = await session.get(Operator, operator_id)
            if row is None:
                raise AccountError("no such operator", 404)
            if row.totp_enabled_at is not None:
                raise AccountError("the second factor is already set up")
            if not row.totp_secret:
                row.totp_secret = second_factor.new_secret()
            return row.totp_secret

    async def confirm_enrolment(
        self, operator_id: int, code: str, *, keep_session: str | None = None
    ) -> list[str]:
        """Turns the second factor on once a code from the app matches; returns the recovery
        codes (shown once; only their hashes are kept). The account's other sessions end."""
        async with self.db.session() as session, session.begin():
            row = await session.get(Operator, operator_id)
            if row is None or not row.totp_secret or row.totp_enabled_at is not None:
                raise AccountError("start again: open the second-factor page")
            step = second_factor.matching_step(row.totp_secret, code)
            if step is None:
                raise AccountError("that code does not match; check the phone's clock and retry")
            row.totp_enabled_at = utcnow()
            row.totp_last_step = step
            codes = await _replace_recovery_codes(session, operator_id)
            others = delete(OperatorSession).where(OperatorSession.operator_id == operator_id)
            if keep_session:
                others = others.where(OperatorSession.token_hash != token_hash(keep_session))
                await session.execute(
                    update(OperatorSession)
                    .where(OperatorSession.token_hash == token_hash(keep_session))
                    .values(second_factor=True)
                    .execution_options(synchronize_session=False)
                )
            await session.execute(others)
            session.add(
                AuditEvent(
                    actor=f"operator:{operator_id}",
                    action="second_factor.enabled",
                    subject=str(operator_id),
                    details={"recovery_codes": len(codes)},
                )
            )
            return codes

    async def check_code(self, operator_id: int, code: str) -> str | None:
        """ "totp" or "recovery" when `code` is a valid, unused code of the account, else None.
        A TOTP code's step is recorded with a conditional UPDATE, so the same code (or an
        older one) is refused afterwards, also by another process; a recovery code is
        deleted when used."""
        if second_factor.looks_like_recovery_code(code):
            hashed = second_factor.recovery_hash(operator_id, code)
            async with self.db.session() as session, session.begin():
                used = await session.execute(
                    delete(RecoveryCode).where(
                        RecoveryCode.operator_id == operator_id, RecoveryCode.code_hash == hashed
                    )
                )
                if not getattr(used, "rowcount", 0):
                    return None
                left = await session.scalar(
                    select(func.count())
                    .select_from(RecoveryCode)
                    .where(RecoveryCode.operator_id == operator_id)
                )
                session.add(
                    AuditEvent(
                        actor=f"operator:{operator_id}",
                        action="second_factor.recovery_used",
                        subject=str(operator_id),
                        details={"left": int(left or 0)},
                    )
                )
                return "recovery"
        async with self.db.session() as session, session.begin():
            row = await session.get(Operator, operator_id)
            if row is None or row.totp_enabled_at is None or not row.totp_secret:
                return None
            step = second_factor.matching_step(row.totp_secret, code)
            if step is None:
                return None
            taken = await session.execute(
                update(Operator)
                .where(
                    Operator.id == operator_id,
                    Operator.totp_enabled_at.is_not(None),
                    or_(Operator.totp_last_step.is_(None), Operator.totp_last_step < step),
                )
                .values(totp_last_step=step)
                .execution_options(synchronize_session=False)
            )
            return "totp" if getattr(taken, "rowcount", 0) else None

    async def recovery_codes_left(self, operator_id: int) -> int:
        async with self.db.session() as session:
            return int(
                await session.scalar(
                    select(func.count())
                    .select_from(RecoveryCode)
                    .where(RecoveryCode.operator_id == operator_id)
                )
                or 0
            )

    async def new_recovery_codes(self, operator_id: int, code: str) -> list[str]:
        """New recovery codes (the old ones stop working), against a current code."""
        if await self.check_code(operator_id, code) is None:
            raise AccountError("that code does not match")
        async with self.db.session() as session, session.begin():
            codes = await _replace_recovery_codes(session, operator_id)
            session.add(
                AuditEvent(
                    actor=f"operator:{operator_id}",
                    action="second_factor.recovery_codes",
                    subject=str(operator_id),
                    details={"recovery_codes": len(codes)},
                )
            )
            return codes

    async def disable_second_factor(self, operator_id: int, code: str) -> None:
        """An operator's own choice (never for roles that require a second factor)."""
        view = await self.get(operator_id)
        if view is None:
            raise AccountError("no such operator", 404)
        if view.role in SECOND_FACTOR_ROLES:
            raise AccountError(f"the {view.role} role needs a second factor")
        if await self.check_code(operator_id, code) is None:
            raise AccountError("that code does not match")
        await self._clear_second_factor(
            operator_id, actor=f"operator:{operator_id}", action="second_factor.disabled"
        )

    async def reset_second_factor(self, operator_id: int, *, actor: str) -> None:
        """An administrator's reset (a lost phone): the secret and recovery codes go, the
        account's sessions end; at the next sign-in it sets up a new one (required for
        supervisors and administrators)."""
        await self._clear_second_factor(
            operator_id, actor=actor, action="second_factor.reset", end_sessions=True
        )

    async def _clear_second_factor(
        self, operator_id: int, *, actor: str, action: str, end_sessions: bool = False
    ) -> None:
        async with self.db.session() as session, session.begin():
            row = await session.get(Operator, operator_id)
            if row is None:
                raise AccountError("no such operator", 404)
            was_on = row.totp_enabled_at is not None
            row.totp_secret = None
            row.totp_enabled_at = None
            row.totp_last_step = None
            await session.execute(
                delete(RecoveryCode).where(RecoveryCode.operator_id == operator_id)
            )
            if end_sessions:
                await session.execute(
                    delete(OperatorSession).where(OperatorSession.operator_id == operator_id)
                )
            session.add(
                AuditEvent(
                    actor=actor, action=action, subject=str(operator_id), details={"was_on": was_on}
                )
            )

    async def start_session(
        self, operator_id: int, hours: float, *, second_factor_due: bool = False
    ) -> tuple[str, str]:
        """A new browser session: (cookie token, CSRF token). With `second_factor_due` it
        reaches only the code page and lasts `CODE_WITHIN`."""
        token, csrf = new_secret(), secrets.token_urlsafe(32)
        now = utcnow()
        lifetime = CODE_WITHIN if second_factor_due else timedelta(hours=hours)
        async with self.db.session() as session, session.begin():
            # expired sessions of anyone are cleared here; sign-ins are rare enough
            await session.execute(delete(OperatorSession).where(OperatorSession.expires_at < now))
            session.add(
                OperatorSession(
                    token_hash=token_hash(token),
                    operator_id=operator_id,
                    csrf_token=csrf,
                    created_at=now,
                    last_seen_at=now,
                    expires_at=now + lifetime,
                    second_factor=not second_factor_due,
                )
            )
        return token, csrf

    async def end_session(self, token: str) -> None:
        async with self.db.session() as session, session.begin():
            await session.execute(
                delete(OperatorSession).where(OperatorSession.token_hash == token_hash(token))
            )

    # -- API tokens ----------------------------------------------------------------------
    async def create_token(
        self, operator_id: int, name: str, *, actor: str, days: float | None = None
    ) -> tuple[int, str]:
        name = name.strip()[:64]
        if not name:
            raise AccountError("give the token a name")
        token = new_secret()
        async with self.db.session() as session, session.begin():
            if await session.get(Operator, operator_id) is None:
                raise AccountError("no such operator", 404)
            row = ApiToken(
                operator_id=operator_id,
                name=name,
                token_hash=token_hash(token),
                expires_at=utcnow() + timedelta(days=days) if days else None,
            )
            session.add(row)
            await session.flush()
            session.add(
                AuditEvent(
                    actor=actor,
                    action="token.created",
                    subject=str(row.id),
                    details={"operator": operator_id, "name": name},
                )
            )
            return row.id, token

    async def tokens(self, operator_id: int) -> list[TokenView]:
        async with self.db.session() as session:
            rows = await session.scalars(
                select(ApiToken).where(ApiToken.operator_id == operator_id).order_by(ApiToken.id)
            )
            return [
                TokenView(
                    id=row.id,
                    name=row.name,
                    created_at=as_utc(row.created_at) or utcnow(),
                    last_used_at=as_utc(row.last_used_at),
                    expires_at=as_utc(row.expires_at),
                    revoked_at=as_utc(row.revoked_at),
                )
                for row in rows
            ]

    async def revoke_token(self, operator_id: int, token_id: int, *, actor: str) -> bool:
        async with self.db.session() as session, session.begin():
            result = await session.execute(
                update(ApiToken)
                .where(
                    ApiToken.id == token_id,
                    ApiToken.operator_id == operator_id,
                    ApiToken.revoked_at.is_(None),
                )
                .values(revoked_at=utcnow())
            )
            done = bool(getattr(result, "rowcount", 0))
            if done:
                session.add(AuditEvent(actor=actor, action="token.revoked", subject=str(token_id)))
            return done
