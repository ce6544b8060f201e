"""The conversation: decides, for each message, which flow answers it.

Order: first contact and language → global commands (menu, language) → the active flow →
the main menu's numbers → the intent → "not understood" (with a person offered after repeats).
"""

from __future__ import annotations

from collections.abc import Mapping

from nlu.types import FALLBACK_INTENT

from flows.base import Flow, Option, Turn
from flows.commands import Commands
from flows.language import choose_language
from flows.menu import MENU_FLOWS, show_main_menu

# Which flow an intent starts when nothing else is going on.
INTENT_FLOWS: Mapping[str, str] = {
    "register_return": "registration",
    "return_info": "registration",
    "ask_services": "services",
    "health": "services",
    "basic_needs": "services",
    "case_status": "case_status",
    "talk_to_human": "handoff",
    "change_language": "language",
}
SMALL_TALK = {"greet": "reply.greet", "thanks": "reply.thanks", "goodbye": "reply.goodbye"}


class Conversation:
    def __init__(
        self,
        flows: Mapping[str, Flow],
        commands: Commands,
        *,
        misunderstandings_before_handoff: int = 2,
        language_confidence: float = 0.6,
        intent_confidence: float = 0.5,
    ) -> None:
        self.flows = dict(flows)
        self.commands = commands
        self.misunderstandings_before_handoff = misunderstandings_before_handoff
        self.language_confidence = language_confidence
        self.intent_confidence = intent_confidence

    async def respond(self, turn: Turn) -> None:
        state = turn.state
        turn.command = self.commands.match(turn.text)
        if not turn.text.strip():
            turn.say("error.empty")
            return
        if state.language is None and not await self._first_contact(turn):
            return

        command = turn.command
        if command == "menu":
            show_main_menu(turn)
            return
        if command == "language" or (
            state.flow != "language" and self._intent(turn) == "change_language"
        ):
            await self.flows["language"].start(turn)
            return

        if state.flow is not None and state.flow in self.flows:
            understood = await self.flows[state.flow].handle(turn)
            self._count(turn, understood)
            return

        number = turn.text.strip()
        if number in MENU_FLOWS:
            await self.start(turn, MENU_FLOWS[number])
            return

        intent = self._intent(turn)
        if intent in INTENT_FLOWS:
            await self.start(turn, INTENT_FLOWS[intent])
        elif intent in SMALL_TALK:
            turn.say(SMALL_TALK[intent])
            if intent == "greet":
                show_main_menu(turn)
        else:
            self._not_understood(turn)

    async def start(self, turn: Turn, flow: str) -> None:
        turn.state.misunderstandings = 0
        await self.flows[flow].start(turn)

    # -- helpers -------------------------------------------------------------------------
    async def _first_contact(self, turn: Turn) -> bool:
        """Set the language of a new contact. False when the message was only about that."""
        state = turn.state
        if state.flow == "language":
            chosen = choose_language(turn, turn.text)
            if chosen is not None:
                await self.flows["language"].handle(turn)
                return False
        detected = self._detected_language(turn)
        if detected is None:
            await self.flows["language"].start(turn)
            return False
        state.language = detected
        state.enter(None)
        turn.signal("language", language=detected)
        turn.say("welcome.first")
        if self._intent(turn) in (*SMALL_TALK, None) or self.commands.match(turn.text):
            show_main_menu(turn)
            return False
        return True

    def _detected_language(self, turn: Turn) -> str | None:
        parse = turn.parse
        confident = (
            parse.language in turn.enabled_languages
            and parse.script != "Zyyy"
            and parse.language_confidence >= self.language_confidence
        )
        if confident:
            return parse.language
        if turn.language_hint in turn.enabled_languages:
            return turn.language_hint
        return None

    def _intent(self, turn: Turn) -> str | None:
        parse = turn.parse
        if parse.intent == FALLBACK_INTENT or parse.confidence < self.intent_confidence:
            return None
        return parse.intent

    def _count(self, turn: Turn, understood: bool) -> None:
        if understood:
            turn.state.misunderstandings = 0
            return
        turn.state.misunderstandings += 1
        if turn.state.misunderstandings >= self.misunderstandings_before_handoff:
            self._offer_person(turn)

    def _not_understood(self, turn: Turn) -> None:
        turn.state.misunderstandings += 1
        if turn.state.misunderstandings >= self.misunderstandings_before_handoff:
            self._offer_person(turn)
            return
        turn.say("not_understood")
        show_main_menu(turn)

    def _offer_person(self, turn: Turn) -> None:
        turn.state.enter("offer_person", "ask")
        turn.say(
            "not_understood.offer_human",
            options=(Option("1", "option.human"), Option("2", "option.menu")),
        )
