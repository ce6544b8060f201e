"""Handoff cases — the conversations a person is waiting on a human for. One domain: the service
that opens, answers, snoozes, escalates and closes them (`service`), the operators' queue, read
models and actions by a signed-in operator (`casework`), and the canned replies (`canned`). The
console (HTML) and the API (JSON) are thin doors onto it."""

from __future__ import annotations

from bot.handoffs.service import PRIORITY_RANK, CaseInfo, HandoffError, Handoffs, HandoffTaken

__all__ = ["PRIORITY_RANK", "CaseInfo", "HandoffError", "HandoffTaken", "Handoffs"]
