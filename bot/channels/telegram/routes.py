"""POST /webhooks/telegram: Telegram's updates (read in `updates.py`).

python-telegram-bot (about 35 MB in memory) is imported with the first update, so a process
of a deployment without Telegram never loads it.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

router = APIRouter(tags=["telegram channel"])


@router.post("/webhooks/telegram")
async def webhook(request: Request) -> dict[str, Any]:
    from bot.channels.telegram.updates import receive

    return await receive(request)
