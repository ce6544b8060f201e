"""The return registration on the voice line: flows/registration.py, asked by keypad.

The flow decides (its keypad mode: which questions, in which order, what keys mean, what is
stored); this module only turns its replies into TwiML (<Gather>, or <Record> for an answer in
the caller's own words) and the caller's keys into its input. The flow's progress lives in the
call's steps under "answers" (dropped once the case is stored, on a refusal, and with the
call's end), never in a URL.

    consent ─▶ country ─▶ age ─▶ family (URL /people) ─▶ detained ─▶ name (recorded)
       │          └─ "other": a person                              ─▶ reference (ivr.py)
       └─ 2: no_consent (a person or the menu)
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any, Protocol

from twilio.twiml.voice_response import VoiceResponse

from bot.channels.voice.context import CHANNEL, Answer, CallContext
from bot.channels.voice.prompts import Label, Named, Prompt, option
from bot.sessions import ConversationState
from flows.base import Contact, OpenHandoff, RegistrationService, Reply, Turn
from flows.registration import (
    KEYPAD_NUMBERS,
    KEYPAD_SPOKEN,
    KEYPAD_STEPS,
    RegistrationFlow,
)
from nlu.types import FALLBACK_INTENT, ParseResult

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.runtime import Runtime

QUESTIONS = ("consent", *KEYPAD_STEPS)  # the flow's steps by keypad
# A question's name in the call's URLs and path, where it is not the flow's: kept as it was
# before the flow asked it, so a call in progress across an upgrade goes on.
URL_NAMES = {"family": "people"}
FLOW_STEPS = {url: step for step, url in URL_NAMES.items()}
STEPS = tuple(URL_NAMES.get(step, step) for step in QUESTIONS)  # the IVR's steps
STATE = "answers"  # the call's steps key CallRecords.end drops with the call


class VoiceLine(Protocol):
    """What the registration uses of the voice line's menus (ivr.IVR): the steps around it
    (the reference, the main menu, "a person or the menu"), a person, a recording kept."""

    runtime: Runtime
    settings: Settings

    async def ask(self, ctx: CallContext, name: str, *before: Prompt) -> VoiceResponse: ...

    def gather(
        self, ctx: CallContext, response: VoiceResponse, step: str, *prompts: Prompt,
        several: bool = False,
    ) -> None: ...  # fmt: skip

    async def operator(
        self, ctx: CallContext, *, priority: str = ..., before: Sequence[Prompt] = ()
    ) -> VoiceResponse: ...

    async def keep_recording(self, ctx: CallContext, got: Answer, *, kind: str) -> bool: ...


class KeptCase:
    """The case service, remembering the case the flow stored (its reference is read out)."""

    def __init__(self, service: RegistrationService) -> None:
        self.service = service
        self.case: Any = None  # .reference, .existing

    async def register(self, **fields: Any) -> Any:
        self.case = await self.service.register(**fields)
        return self.case

    async def by_reference(self, reference: str) -> Any:
        return await self.service.by_reference(reference)

    async def by_phone(self, phone: str) -> list[Any]:
        result: list[Any] = await self.service.by_phone(phone)
        return result

    async def collected_today(self, collected_by: int) -> list[tuple[str, str]]:
        result: list[tuple[str, str]] = await self.service.collected_today(collected_by)
        return result


def keyed(text: str, language: str) -> ParseResult:
    """Keys carry no intent: the flow reads them as numbers and numbered choices."""
    return ParseResult(text, language, 0.0, "Zyyy", FALLBACK_INTENT, 0.0)


def _literal(text: str, _language: str) -> str:
    return text  # a label the flow already gave in the caller's language (a country's name)


def reply_prompts(reply: Reply) -> list[Prompt]:
    """A flow's reply as heard: the message, then each option as "<label>: press <digit>"."""
    prompts = [Prompt(reply.key, dict(reply.values))]
    for choice in reply.options:
        if choice.key is not None:
            label: Label | Named = Label(choice.key, dict(choice.values))
        else:
            label = Named(partial(_literal, choice.label or ""), choice.recording)
        prompts.append(option(label, int(choice.number)))
    return prompts


class VoiceRegistration:
    def __init__(self, ivr: VoiceLine, flow: RegistrationFlow) -> None:
        self.ivr = ivr
        self.flow = flow

    def answering(
        self, name: str
    ) -> Callable[[CallContext, Answer], Awaitable[VoiceResponse | None]]:
        """The IVR's answer handler for question `name` (ivr.Step)."""

        async def answer(ctx: CallContext, got: Answer) -> VoiceResponse | None:
            return await self.answer(ctx, name, got)

        return answer

    # -- the flow's state on the call --------------------------------------------------------
    def _state(self, ctx: CallContext) -> ConversationState | None:
        saved = ctx.call.steps.get(STATE)
        if not isinstance(saved, dict) or saved.get("step") not in QUESTIONS:
            return None
        state = ConversationState(language=ctx.language)
        state.enter(self.flow.name, saved["step"])
        state.data = dict(saved.get("data") or {})
        return state

    def _turn(self, ctx: CallContext, state: ConversationState, text: str) -> Turn:
        runtime = self.ivr.runtime
        return Turn(
            contact=Contact(ctx.call.contact_id or 0, CHANNEL, ctx.caller or "", "migrant"),
            state=state,
            text=text,
            parse=keyed(text, ctx.language),
            default_language=ctx.default_language,
            enabled_languages=tuple(runtime.catalogs.languages),
            registrations=KeptCase(runtime.registrations),
            keypad=True,
        )

    # -- the conversation --------------------------------------------------------------------
    async def start(self, ctx: CallContext) -> VoiceResponse:
        turn = self._turn(ctx, ConversationState(language=ctx.language), "")
        await self.flow.start(turn)
        return await self._respond(ctx, turn)

    async def answer(self, ctx: CallContext, name: str, got: Answer) -> VoiceResponse | None:
        """What the caller pressed (or recorded) at step `name`; None: asked again."""
        step = FLOW_STEPS.get(name, name)
        if step == "name" and "registration" in ctx.call.steps:  # Twilio repeated the request
            said = [Prompt(key) for key in ctx.call.steps.get("registration_said", [])]
            return await self.ivr.ask(ctx, "reference", *said)
        state = self._state(ctx)
        if state is None:  # nothing started (or it is over): from the consent
            return await self.start(ctx)
        if state.step != step:  # an earlier question's answer again: the current question
            turn = self._turn(ctx, state, "")
            await self.flow.repeat_question(turn)
            return await self._respond(ctx, turn)
        if step in KEYPAD_SPOKEN:
            if not got.recording_url:
                return None
            await self.ivr.keep_recording(ctx, got, kind=step)
            text = ""
        else:
            keys = got.digits.rstrip("#*")
            text = keys if keys.isdigit() and len(keys) <= 6 else ""
            if not text:
                return None
        turn = self._turn(ctx, state, text)
        if not await self.flow.handle(turn):
            return None
        return await self._respond(ctx, turn)

    async def without_name(self, ctx: CallContext) -> VoiceResponse:
        """No recording after the re-ask: the case is stored all the same, for review."""
        state = self._state(ctx)
        if state is None or state.step != "name":
            return await self.ivr.ask(ctx, "menu", Prompt("voice.not_understood"))
        turn = self._turn(ctx, state, "")
        await self.flow.handle(turn)
        return await self._respond(ctx, turn)

    async def ask_again(self, ctx: CallContext, response: VoiceResponse) -> None:
        """The current question again (after "I did not get that")."""
        state = self._state(ctx) or ConversationState(language=ctx.language)
        turn = self._turn(ctx, state, "")
        if state.flow is None:
            await self.flow.start(turn)
        else:
            await self.flow.repeat_question(turn)
        self._save(ctx, turn.state)
        self._question(ctx, response, str(turn.state.step), turn.replies)

    # -- the flow's output as TwiML ----------------------------------------------------------
    def _save(self, ctx: CallContext, state: ConversationState) -> None:
        ctx.call.steps[STATE] = {"step": state.step, "data": state.data}

    async def _respond(self, ctx: CallContext, turn: Turn) -> VoiceResponse:
        call, state = ctx.call, turn.state
        if state.flow is not None:  # a question: asked at its own URL
            self._save(ctx, state)
            call.reset_tries()
            call.visit(URL_NAMES.get(str(state.step), str(state.step)))
            response = VoiceResponse()
            self._question(ctx, response, str(state.step), turn.replies)
            return response
        call.steps.pop(STATE, None)  # over: stored in the case, or refused, or a person's
        said = [prompt for reply in turn.replies for prompt in reply_prompts(reply)]
        handoff = next((s for s in turn.signals if isinstance(s, OpenHandoff)), None)
        if handoff is not None:
            return await self.ivr.operator(ctx, priority=handoff.priority, before=said)
        case = turn.registrations.case if isinstance(turn.registrations, KeptCase) else None
        if case is None:  # the keypad flow's one other way out: consent refused, nothing kept
            call.achieve("no_consent")
            call.reset_tries()
            call.visit("no_consent")
            response = VoiceResponse()
            self.ivr.gather(ctx, response, "no_consent", *said)
            return response
        call.steps.update(
            registration=case.reference,
            registration_existing=case.existing,
            # what the flow said (message keys only), said again if Twilio repeats the request
            registration_said=[reply.key for reply in turn.replies if not reply.values],
        )
        call.achieve("already_registered" if case.existing else "registered")
        return await self.ivr.ask(ctx, "reference", *said)

    def _question(
        self, ctx: CallContext, response: VoiceResponse, step: str, replies: list[Reply]
    ) -> None:
        prompts = [prompt for reply in replies for prompt in reply_prompts(reply)]
        url_name = URL_NAMES.get(step, step)
        if step not in KEYPAD_SPOKEN:
            self.ivr.gather(ctx, response, url_name, *prompts, several=step in KEYPAD_NUMBERS)
            return
        ctx.prompter.add(response, ctx.language, *prompts)
        response.record(
            action=ctx.url(url_name),
            method="POST",
            max_length=self.ivr.settings.voice_name_recording_seconds,
            finish_on_key="#",
            play_beep=True,
            timeout=4,
            trim="trim-silence",
        )
        # Twilio goes on to the next verb when nothing was recorded: that is "no input".
        response.redirect(ctx.url(url_name), method="POST")
