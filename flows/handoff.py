"""Asking for a person: the bot records a handoff for the operators and says so."""

from __future__ import annotations

from flows.answers import yes_or_no
from flows.base import Flow, OpenHandoff, Turn
from flows.menu import show_main_menu


class HandoffFlow(Flow):
    name = "handoff"

    async def start(self, turn: Turn) -> None:
        turn.signal(OpenHandoff(reason="requested", priority="normal"))
        turn.say("handoff.requested")
        turn.state.enter(None)

    async def handle(self, turn: Turn) -> bool:
        await self.start(turn)
        return True


class OfferPersonFlow(Flow):
    """After repeated misunderstanding: 1 talk to a person, 2 back to the menu."""

    name = "offer_person"

    async def start(self, turn: Turn) -> None:  # the router asks the question
        turn.state.enter(self.name, "ask")

    async def handle(self, turn: Turn) -> bool:
        if yes_or_no(turn) or turn.parse.intent == "talk_to_human":
            turn.state.misunderstandings = 0
            await HandoffFlow().start(turn)
            return True
        turn.state.misunderstandings = 0
        show_main_menu(turn)
        return True
