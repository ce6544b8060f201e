"""Registration for voluntary humanitarian return: explain, ask consent, then collect answers."""

from __future__ import annotations

from flows.answers import yes_or_no
from flows.base import Flow, Option, Turn
from flows.menu import yes_no


class RegistrationFlow(Flow):
    name = "registration"

    async def start(self, turn: Turn) -> None:
        turn.state.enter(self.name, "consent")
        turn.say("registration.intro.1")
        turn.say("registration.intro.2")
        turn.say("registration.consent", options=yes_no())

    async def handle(self, turn: Turn) -> bool:
        step = turn.state.step
        if step == "consent":
            return await self._consent(turn)
        if step == "no_consent":
            answer = yes_or_no(turn)
            turn.state.enter(None)
            if answer:
                turn.signal("handoff", reason="registration_without_consent", priority="normal")
                turn.say("handoff.requested")
            return True
        return await self._collect(turn)

    async def _consent(self, turn: Turn) -> bool:
        answer = yes_or_no(turn)
        if answer is None:
            turn.say("answer.yes_no", options=yes_no())
            return False
        if not answer:
            turn.state.enter(self.name, "no_consent")
            turn.say(
                "registration.no_consent",
                options=(Option("1", "option.human"), Option("2", "option.menu")),
            )
            return True
        turn.state.data["consent"] = True
        turn.state.step = "name"
        turn.say("registration.ask_name")
        return True

    async def _collect(self, turn: Turn) -> bool:
        turn.say("registration.ask_name")
        return True
