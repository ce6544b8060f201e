"""Community mobilizers: register several people in one conversation, relay requests."""

from __future__ import annotations

from flows.answers import choice, yes_or_no
from flows.base import Flow, OpenHandoff, Option, Turn
from flows.registration import RegistrationFlow


class MobilizerFlow(Flow):
    name = "mobilizer"

    def __init__(self, registration: RegistrationFlow) -> None:
        self.registration = registration

    async def start(self, turn: Turn) -> None:
        turn.state.enter(self.name, "menu")
        turn.say(
            "mobilizer.menu",
            options=(
                Option("1", "mobilizer.option.register"),
                Option("2", "mobilizer.option.relay"),
                Option("3", "mobilizer.option.list"),
            ),
        )

    async def handle(self, turn: Turn) -> bool:
        step = turn.state.step
        if step == "another":
            answer = yes_or_no(turn)
            if answer is None:
                return False
            if answer:
                await self.registration.start_for_other(turn)
            else:
                await self.start(turn)
            return True
        if step == "relay":
            turn.signal(OpenHandoff(reason="relay", priority="normal"))
            turn.state.enter(None)
            turn.say("mobilizer.relay_done")
            return True
        picked = choice(turn, 3)
        if picked == 1:
            await self.registration.start_for_other(turn)
        elif picked == 2:
            turn.state.step = "relay"
            turn.say("mobilizer.relay_ask")
        elif picked == 3:
            await self._list(turn)
        else:
            return False
        return True

    async def reask(self, turn: Turn) -> None:
        if turn.state.step == "another":
            turn.say("answer.yes_no")
        else:
            await self.start(turn)

    async def _list(self, turn: Turn) -> None:
        if turn.registrations is None:
            raise RuntimeError("the mobilizer list needs the case service")
        people = await turn.registrations.collected_today(turn.contact.id)
        turn.state.enter(None)
        if not people:
            turn.say("mobilizer.list_empty")
            return
        turn.say("mobilizer.list_header")
        for reference, name in people:
            turn.say("mobilizer.list_entry", reference=reference, name=name)
