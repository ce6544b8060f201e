"""Re-encrypting stored personal data with the key that writes now, and recomputing lookup
hashes — in small batches, each its own short transaction, while the bot keeps running.

Every write is a compare-and-set (`… WHERE pk = :pk AND column = :old`): a value the bot
changed meanwhile is left alone (the bot wrote it with the current key). Passes repeat until one
finds nothing left to do. Used by `hotline keys rotate` and by the first start of an install
whose data predates default encryption (plain values become encrypted).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import cast

from sqlalchemy import Table, select, text, update
from sqlalchemy.exc import IntegrityError

from bot.storage import crypto
from bot.storage.db import Database
from bot.storage.models import Base, Contact, Registration
from nlu.normalize import normalize

log = logging.getLogger(__name__)

LUA_SET_IF_UNCHANGED = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL') and 1
end
return 0
"""


@dataclass
class RekeyReport:
    rewritten: dict[str, int] = field(default_factory=dict)  # "table.column" -> values
    rehashed: dict[str, int] = field(default_factory=dict)  # "table.column" -> rows
    changed_meanwhile: int = 0  # values the bot rewrote while this ran (left as they are)
    passes: int = 0
    redis_sessions: int = 0

    def total(self) -> int:
        return sum(self.rewritten.values()) + sum(self.rehashed.values()) + self.redis_sessions


def secret_columns() -> list[tuple[Table, str, list[str]]]:
    """(table, primary-key column, SecretText columns) for every table that has any."""
    found: list[tuple[Table, str, list[str]]] = []
    for table in Base.metadata.sorted_tables:
        columns = [c.name for c in table.columns if isinstance(c.type, crypto.SecretText)]
        primary = list(table.primary_key.columns)
        if columns and len(primary) == 1:
            found.append((table, primary[0].name, columns))
    return found


def _reencrypted(value: str) -> str:
    return crypto.encrypt(crypto.decrypt(value))


async def _reencrypt_table(
    db: Database, table: Table, pk: str, columns: list[str], batch: int, report: RekeyReport
) -> int:
    rewritten = 0
    after: object = None
    names = ", ".join(columns)
    while True:
        where = "" if after is None else f"WHERE {pk} > :after "
        query = text(f"SELECT {pk}, {names} FROM {table.name} {where}ORDER BY {pk} LIMIT :n")  # noqa: S608 - names from the models
        async with db.session() as session, session.begin():
            params: dict[str, object] = {"n": batch}
            if after is not None:
                params["after"] = after
            rows = (await session.execute(query, params)).all()
            for index, column in enumerate(columns, start=1):
                changes = [
                    {"new": _reencrypted(row[index]), "pk": row[0], "old": row[index]}
                    for row in rows
                    if row[index] is not None and not crypto.is_current(row[index])
                ]
                if not changes:
                    continue
                # one statement for the batch (executemany); the count is the rows it changed
                done = await session.execute(
                    text(
                        f"UPDATE {table.name} SET {column} = :new "  # noqa: S608
                        f"WHERE {pk} = :pk AND {column} = :old"
                    ),
                    changes,
                )
                count = int(done.rowcount or 0)  # type: ignore[attr-defined]
                if count < 0:  # a driver without a total for executemany
                    count = len(changes)
                rewritten += count
                key = f"{table.name}.{column}"
                report.rewritten[key] = report.rewritten.get(key, 0) + count
                report.changed_meanwhile += len(changes) - count
        if len(rows) < batch:
            return rewritten
        after = rows[-1][0]


async def _rehash_contacts(db: Database, batch: int, report: RekeyReport) -> int:
    changed = 0
    after = 0
    while True:
        async with db.session() as session, session.begin():
            rows = (
                await session.execute(
                    select(Contact.id, Contact.channel, Contact.address, Contact.address_hash)
                    .where(Contact.id > after)
                    .order_by(Contact.id)
                    .limit(batch)
                )
            ).all()
            for contact_id, channel, address, old in rows:
                new = crypto.lookup_hash(channel, address)
                if new == old:
                    continue
                try:
                    async with session.begin_nested():
                        done = await session.execute(
                            update(Contact)
                            .where(Contact.id == contact_id, Contact.address_hash == old)
                            .values(address_hash=new)
                        )
                except IntegrityError:  # a duplicate contact; leave it for an operator
                    log.warning("contact %s: lookup hash clashes with another contact", contact_id)
                    continue
                if done.rowcount:  # type: ignore[attr-defined]
                    changed += 1
                    report.rehashed["contacts.address_hash"] = (
                        report.rehashed.get("contacts.address_hash", 0) + 1
                    )
        if len(rows) < batch:
            return changed
        after = rows[-1][0]


async def _rehash_registrations(db: Database, batch: int, report: RekeyReport) -> int:
    changed = 0
    after = 0
    while True:
        async with db.session() as session, session.begin():
            rows = (
                await session.execute(
                    select(
                        Registration.id,
                        Registration.full_name,
                        Registration.phone,
                        Registration.phone_hash,
                        Registration.dedup_hash,
                    )
                    .where(Registration.id > after)
                    .order_by(Registration.id)
                    .limit(batch)
                )
            ).all()
            for row_id, name, phone, old_phone_hash, old_dedup in rows:
                new_phone_hash = crypto.lookup_hash("phone", phone) if phone else None
                new_dedup = crypto.lookup_hash("registration", normalize(name), phone or "")
                if (new_phone_hash, new_dedup) == (old_phone_hash, old_dedup):
                    continue
                done = await session.execute(
                    update(Registration)
                    .where(
                        Registration.id == row_id,
                        Registration.dedup_hash == old_dedup,
                        Registration.phone_hash.is_(None)
                        if old_phone_hash is None
                        else Registration.phone_hash == old_phone_hash,
                    )
                    .values(phone_hash=new_phone_hash, dedup_hash=new_dedup)
                )
                if done.rowcount:  # type: ignore[attr-defined]
                    changed += 1
                    report.rehashed["registrations"] = report.rehashed.get("registrations", 0) + 1
        if len(rows) < batch:
            return changed
        after = rows[-1][0]


async def _reencrypt_redis(redis_url: str, prefix: str, report: RekeyReport) -> int:
    from redis.asyncio import Redis

    client: Redis = Redis.from_url(redis_url, decode_responses=True)
    changed = 0
    try:
        async for key in client.scan_iter(match=f"{prefix}:session:*", count=200):
            old = cast("str | None", await client.get(key))  # decode_responses=True
            if old is None or crypto.is_current(old):
                continue
            new = crypto.encrypt(crypto.decrypt(old))
            if await client.eval(LUA_SET_IF_UNCHANGED, 1, key, old, new):
                changed += 1
                report.redis_sessions += 1
            else:
                report.changed_meanwhile += 1
    finally:
        await client.aclose()
    return changed


async def reencrypt(
    db: Database,
    *,
    batch: int = 200,
    redis_url: str | None = None,
    redis_prefix: str = "hotline",
    max_passes: int = 5,
) -> RekeyReport:
    """Bring every stored personal value and lookup hash to the current keys."""
    report = RekeyReport()
    for _ in range(max_passes):
        report.passes += 1
        changed = 0
        for table, pk, columns in secret_columns():
            changed += await _reencrypt_table(db, table, pk, columns, batch, report)
        changed += await _rehash_contacts(db, batch, report)
        changed += await _rehash_registrations(db, batch, report)
        if redis_url:
            changed += await _reencrypt_redis(redis_url, redis_prefix, report)
        if changed == 0:
            break
    if report.total():
        log.info(
            "re-encrypted %s values, recomputed %s lookup hashes, %s Redis sessions",
            sum(report.rewritten.values()),
            sum(report.rehashed.values()),
            report.redis_sessions,
        )
    return report


async def remaining(db: Database) -> int:
    """How many stored values the current writing key does not decrypt (0 before retiring)."""
    left = 0
    for table, _pk, columns in secret_columns():
        for column in columns:
            async with db.session() as session:
                result = await session.execute(
                    text(f"SELECT {column} FROM {table.name} WHERE {column} IS NOT NULL")  # noqa: S608
                )
                left += sum(1 for (value,) in result if not crypto.is_current(value))
    return left
