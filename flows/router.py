"""The conversation: decides, for each message, which flow answers it.

Order: first contact and language → safety triage (always, in any flow) → stop / erase →
global commands (menu, language, continue) → the active flow → the main menu's numbers →
the intent → "not understood" (a person is offered after repeats).

STOP, erasure and language change act at once only when the message surely is that command
(flows.commands.meant_command); an answer to an open question is the flow's first. When such a
command is only likely, the person is asked to confirm; "no" goes back to the question.
"""

from __future__ import annotations

from collections.abc import Mapping

from bot.sessions import ConversationState
from flows.answers import yes_or_no
from flows.base import ChangeLanguage, Flow, Option, Turn
from flows.commands import Commands, Meant, intent_words, meant_command
from flows.intents import INTENT_FLOWS
from flows.language import choose_language
from flows.menu import menu_flows, show_main_menu, yes_no
from flows.safety import Triage
from nlu.types import FALLBACK_INTENT

SMALL_TALK = {"greet": "reply.greet", "thanks": "reply.thanks", "goodbye": "reply.goodbye"}
# Inside a flow, only a clear intent may take the conversation elsewhere.
SWITCH_CONFIDENCE = 0.8
# A longer message clearly in another enabled language switches the conversation's language.
SWITCH_LANGUAGE_CONFIDENCE = 0.9
SWITCH_LANGUAGE_WORDS = 3
# The question "Do you want to …? 1 Yes 2 No" before a command that was only likely.
CONFIRM_FLOW = "confirm_command"
CONFIRM_QUESTIONS: Mapping[str, str] = {
    "stop": "command.confirm_stop",
    "erase": "erase.explain",  # says what is deleted and asks
    "language": "command.confirm_language",
}


class Conversation:
    def __init__(
        self,
        flows: Mapping[str, Flow],
        commands: Commands,
        triage: Triage,
        *,
        misunderstandings_before_handoff: int = 2,
        language_confidence: float = 0.6,
        intent_confidence: float = 0.5,
    ) -> None:
        self.flows = dict(flows)
        self.commands = commands
        self.triage = triage
        self.misunderstandings_before_handoff = misunderstandings_before_handoff
        self.language_confidence = language_confidence
        self.intent_confidence = intent_confidence
        intent_words()  # read once at start (cached), not on someone's first message

    async def respond(self, turn: Turn) -> None:
        state = turn.state
        # An open "Do you want to …?" is read below; meanwhile the question it interrupted is
        # back in place, so that nothing else (safety, menu) ever pauses the confirmation.
        pending = self._take_confirmation(state)
        turn.command = self.commands.match(turn.text)
        active = self.flows.get(state.flow or "")
        answering = active is not None and active.answers_itself(state.step, turn.text)
        if answering:
            turn.command = None
        if not turn.text.strip():
            turn.say("error.empty")
            return
        if await self._language_and_safety(turn):
            return

        intent = self._intent(turn)
        # Outside any flow a likely command is asked about; inside one, the flow reads the
        # answer first and only a clear intent it did not take leads to the question.
        outside = state.flow is None
        likely = self.intent_confidence if outside else SWITCH_CONFIDENCE
        meant = None
        if not answering:
            meant = meant_command(turn, likely, self.commands, needs_cue=not outside)
        if await self._global_command(turn, meant, pending):
            return

        declined = False  # an answer to "Do you want to …?" that is not "yes"
        if pending is not None:
            answer = yes_or_no(turn)
            if answer is not None:
                await self._confirmed(turn, pending, answer)
                return
            declined = True  # the message answers the question it interrupted
        if meant is not None and not declined and state.flow is None:
            self._ask_to_confirm(turn, meant.command)
            return

        if state.flow is not None and state.flow in self.flows:
            await self._in_flow(turn, meant=None if declined else meant)
            return
        await self._outside_flows(turn, intent)

    async def _language_and_safety(self, turn: Turn) -> bool:
        """The first contact's language, then safety triage (before any command or flow).
        True when the turn is answered."""
        if turn.state.language is None:
            if self.triage.assess(turn) is not None or turn.danger_check:
                self._danger_first(turn)  # no language menu, no welcome: the danger first
            elif not await self._first_contact(turn):
                return True
        else:
            self._follow_language(turn)

        if self.triage.assess(turn) is not None:
            await self.flows["safety"].start(turn)
            return True
        if turn.danger_check:
            self.flows["safety"].ask(turn)  # type: ignore[attr-defined]
            return True
        return False

    async def _global_command(self, turn: Turn, meant: Meant | None, pending: str | None) -> bool:
        """STOP, erasure, menu, continue and language change, when meant. True if one ran."""
        state = turn.state
        sure = meant.command if meant is not None and meant.sure else None
        if sure == "stop":
            await self.start(turn, "stop")
        elif sure == "erase":
            self._ask_to_confirm(turn, "erase")  # erasure is always confirmed first
        elif turn.command == "menu":
            state.pause()
            show_main_menu(turn)
        elif turn.command == "continue" and (pending or state.flow in (None, "safety")):
            await self._continue(turn, pending)
        elif sure == "language":
            state.pause()
            await self.flows["language"].start(turn)
        else:
            return False
        return True

    async def _outside_flows(self, turn: Turn, intent: str | None) -> None:
        """No flow is waiting for an answer: a menu number, else what the intent asks for."""
        number = turn.text.strip()
        numbered = menu_flows(turn)
        if number in numbered:
            await self.start(turn, numbered[number])
        elif (
            intent is not None
            and intent in INTENT_FLOWS
            and INTENT_FLOWS[intent] not in CONFIRM_QUESTIONS
        ):
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

    async def _in_flow(self, turn: Turn, meant: Meant | None = None) -> None:
        state = turn.state
        flow = self.flows[str(state.flow)]
        if await flow.handle(turn):
            state.misunderstandings = 0
            return
        if meant is not None and meant.command != state.flow and turn.command is None:
            self._ask_to_confirm(turn, meant.command)
            return
        strong = self._intent(turn, SWITCH_CONFIDENCE)
        target = INTENT_FLOWS.get(strong or "")
        guarded = target in CONFIRM_QUESTIONS  # only through the question above
        if target is not None and not guarded and target != state.flow and turn.command is None:
            state.pause()
            await self.start(turn, target)
            return
        state.misunderstandings += 1
        if state.misunderstandings >= self.misunderstandings_before_handoff:
            state.pause()
            self._offer_person(turn)
            return
        await flow.reask(turn)

    # -- commands that were only likely: ask first ----------------------------------------
    def _ask_to_confirm(self, turn: Turn, command: str) -> None:
        """Ask "Do you want to …? 1 Yes 2 No", keeping the open question to go back to."""
        state = turn.state
        interrupted = None
        if state.flow is not None:
            interrupted = {"flow": state.flow, "step": state.step, "data": state.data}
        state.enter(CONFIRM_FLOW, command)
        state.data["interrupted"] = interrupted
        turn.say(CONFIRM_QUESTIONS[command], options=yes_no())

    @staticmethod
    def _take_confirmation(state: ConversationState) -> str | None:
        """The command an open confirmation asks about, putting back the question it
        interrupted (or none); None when no confirmation is open."""
        if state.flow != CONFIRM_FLOW:
            return None
        command = str(state.step)
        interrupted = state.data.get("interrupted") or {}
        state.enter(interrupted.get("flow"), interrupted.get("step"))
        state.data = dict(interrupted.get("data") or {})
        return command

    async def _confirmed(self, turn: Turn, command: str, answer: bool) -> None:
        """Yes acts; no goes back to the open question (or the menu when there was none)."""
        state = turn.state
        if answer and command == "erase":
            state.enter("erase", "confirm")  # the erasure flow takes this "yes"
            await self.flows["erase"].handle(turn)
        elif answer and command == "stop":
            await self.start(turn, "stop")
        elif answer:
            state.pause()
            await self.start(turn, command)
        else:
            if command == "erase":
                turn.say("erase.kept")
            await self._back_to_question(turn)

    async def _back_to_question(self, turn: Turn) -> None:
        flow = self.flows.get(turn.state.flow or "")
        if flow is not None:
            await flow.repeat_question(turn)
        else:
            show_main_menu(turn)

    async def _continue(self, turn: Turn, pending: str | None) -> None:
        """CONTINUE: back to what was paused or interrupted; with nothing to go back to, the
        menu (never "not understood")."""
        state = turn.state
        if pending is not None:
            await self._back_to_question(turn)
            return
        if not state.paused:
            turn.say("command.nothing_to_continue")
            show_main_menu(turn)
            return
        state.enter(None)  # a safety case stays open for the operators
        name = next(reversed(state.paused))
        await self.flows[name].start(turn)

    # -- language ------------------------------------------------------------------------
    async def _first_contact(self, turn: Turn) -> bool:
        """Set the language of a new contact. False when the message was only about that."""
        state = turn.state
        if state.flow == "language" and choose_language(turn, turn.text) is not None:
            await self.flows["language"].handle(turn)
            return False
        detected = self._detected_language(turn)
        if turn.command == "stop":  # an opt-out is honoured at once, even before the language
            if detected is not None:
                state.language = detected
                turn.signal(ChangeLanguage(detected))
            return True
        if detected is None:
            await self.flows["language"].start(turn)
            return False
        state.language = detected
        state.enter(None)
        turn.signal(ChangeLanguage(detected))
        turn.say("welcome.first")
        if self._intent(turn) in (*SMALL_TALK, None) or turn.command is not None:
            show_main_menu(turn)
            return False
        return True

    def _danger_first(self, turn: Turn) -> None:
        """A first message about danger is answered at once, in its language if it can be
        told at all (else the channel's hint or the default)."""
        parse = turn.parse
        language = self._detected_language(turn)
        if language is None and parse.language in turn.enabled_languages:
            language = parse.language
        turn.state.language = language or turn.language
        turn.signal(ChangeLanguage(turn.state.language))

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

    def _follow_language(self, turn: Turn) -> None:
        """Someone who writes several words clearly in another language is answered in it."""
        parse = turn.parse
        if (
            parse.language != turn.state.language
            and parse.language in turn.enabled_languages
            and parse.language_confidence >= SWITCH_LANGUAGE_CONFIDENCE
            and len(turn.text.split()) >= SWITCH_LANGUAGE_WORDS
        ):
            turn.state.language = parse.language
            turn.signal(ChangeLanguage(parse.language))

    # -- helpers -------------------------------------------------------------------------
    def _intent(self, turn: Turn, threshold: float | None = None) -> str | None:
        parse = turn.parse
        if parse.intent == FALLBACK_INTENT:
            return None
        if parse.confidence < (threshold if threshold is not None else self.intent_confidence):
            return None
        return parse.intent

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
