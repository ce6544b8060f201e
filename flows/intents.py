"""Which flow an intent starts: the router's table, also read by safety triage (a person
who says "no, not in danger" goes on to what they asked for)."""

from __future__ import annotations

from collections.abc import Mapping

INTENT_FLOWS: Mapping[str, str] = {
    "register_return": "registration",
    "return_info": "return_info",
    "ask_services": "services",
    "health": "services",
    "basic_needs": "services",
    "case_status": "case_status",
    "talk_to_human": "handoff",
    "change_language": "language",
    "delete_data": "erase",
    "stop": "stop",
}
