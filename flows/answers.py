"""Reading common answers the same way in every flow: yes/no, numbered choices."""

from __future__ import annotations

from flows.base import Turn
from nlu.normalize import normalize

_INTENT_CONFIDENCE = 0.6


def yes_or_no(turn: Turn) -> bool | None:
    """True for 1/yes, False for 2/no (in any language), None when it is neither."""
    answer = normalize(turn.text)
    if answer == "1" or turn.command == "yes":
        return True
    if answer == "2" or turn.command == "no":
        return False
    if turn.parse.confidence >= _INTENT_CONFIDENCE:
        if turn.parse.intent == "affirm":
            return True
        if turn.parse.intent == "deny":
            return False
    return None


def choice(turn: Turn, count: int) -> int | None:
    """The number 1..count this answer picks, or None."""
    answer = normalize(turn.text)
    if answer.isdigit() and 1 <= int(answer) <= count:
        return int(answer)
    return None
