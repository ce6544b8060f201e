"""The baseline for bench/turn_bench.py: FastAPI answering every REST turn with a fixed list."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request

app = FastAPI()
ANSWER = [{"recipient_id": "x", "text": "Welcome. Choose a number.", "buttons": []}]


@app.post("/webhooks/rest/webhook")
async def webhook(request: Request) -> list[dict[str, Any]]:
    await request.body()
    return ANSWER
