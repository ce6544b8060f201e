"""Contacts as operators find and manage them: looked up by channel and address (through the keyed
lookup hashes, never the clear address), and the community mobilizers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from bot.handoffs.casework import mask
from bot.storage import crypto
from bot.storage.models import Contact

if TYPE_CHECKING:
    from bot.runtime import Runtime

CONTACT_ROLES = ("migrant", "mobilizer")


async def find_contact(runtime: Runtime, channel: str, address: str) -> Contact | None:
    address_hashes = crypto.lookup_hashes(channel.strip(), address.strip())
    async with runtime.db.session() as session:
        return await session.scalar(
            select(Contact).where(
                Contact.channel == channel.strip(), Contact.address_hash.in_(address_hashes)
            )
        )


async def mobilizers(runtime: Runtime) -> list[dict[str, Any]]:
    async with runtime.db.session() as session:
        rows = await session.scalars(
            select(Contact).where(Contact.role == "mobilizer").order_by(Contact.id)
        )
        return [
            {
                "id": c.id,
                "channel": c.channel,
                "address": mask(c.address),
                "language": c.language,
                "city": c.city,
            }
            for c in rows
        ]
