"""Opting out of messages, and erasing one's personal data."""

from __future__ import annotations

from flows.answers import yes_or_no
from flows.base import Erase, Flow, OptOut, Turn
from flows.menu import yes_no


class StopFlow(Flow):
    """STOP: no more messages from us, except answers to the person's own messages."""

    name = "stop"

    async def start(self, turn: Turn) -> None:
        turn.signal(OptOut())
        turn.state.enter(None)
        turn.say("stop.confirmed")

    async def handle(self, turn: Turn) -> bool:
        await self.start(turn)
        return True


class EraseFlow(Flow):
    """Explain what is erased, ask to confirm, erase, confirm."""

    name = "erase"

    async def start(self, turn: Turn) -> None:
        turn.state.enter(self.name, "confirm")
        turn.say("erase.explain", options=yes_no())

    async def handle(self, turn: Turn) -> bool:
        answer = yes_or_no(turn)
        if answer is None:
            return False
        turn.state.enter(None)
        if answer:
            turn.signal(Erase())  # the core erases after this turn's reply is made
            turn.say("erase.done")
        else:
            turn.say("erase.kept")
        return True

    async def reask(self, turn: Turn) -> None:
        turn.say("answer.yes_no", options=yes_no())
