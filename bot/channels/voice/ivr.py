"""The voice hotline's keypad menus: a state machine answered in TwiML.

Every menu is a *step*: its TwiML asks (a <Gather> or <Record> whose action URL names the
step) and its answer handler reads what Twilio posts back (Digits, SpeechResult, RecordingUrl).
What the call has collected so far lives in `Call.steps`, never in a URL. No input or an
unexpected answer is asked again ("I did not get that"); after the allowed re-asks the caller
goes back to the main menu (the language menu falls back to the default language, the main
menu says goodbye).

    incoming ─▶ language ─▶ menu ─┬─ 1 registration: flows/registration.py by keypad (consent,
                                  │   country, age, family, detained, name; see registration.py)
                                  │   ─▶ reference (1: SMS)
                                  ├─ 2 city ─▶ need ─▶ services (1: SMS)
                                  ├─ 3 case (reference keyed in; 3 tries)
                                  ├─ 0 operator: <Enqueue> within hours, else a message <Record>
                                  └─ 9 language
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache, partial
from typing import TYPE_CHECKING, Any

from twilio.twiml.voice_response import VoiceResponse

from bot.channels.voice.calls import CallRecords
from bot.channels.voice.context import CHANNEL, MAX_SECONDS, Answer, CallContext
from bot.channels.voice.prompts import (
    ENGLISH,
    Label,
    Named,
    Prompt,
    PromptUnavailable,
    Spell,
    Value,
    language_name,
    notice_prompt,
    option,
    say_slug,
    value_text,
)
from bot.channels.voice.registration import STEPS as REGISTRATION_STEPS
from bot.channels.voice.registration import VoiceRegistration
from bot.channels.voice.studio import Studio, recordings_dir
from bot.inputs import small_int
from bot.messages import OutboundMessage
from bot.registrations.store import keypad_form
from bot.storage.models import HandoffPriority
from flows.case_status import STAGES
from flows.registration import (
    KEYPAD_COUNTRIES,
    RegistrationFlow,
    keypad_countries,
    vocabulary,
)
from flows.registration import NAME_PLACEHOLDER as NAME_PLACEHOLDER  # the cases' marker
from flows.services import MAX_ELSEWHERE, MAX_ENTRIES, ServiceDirectory
from nlu import find_case_ref, parse_number, resolve_city

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = logging.getLogger(__name__)

# A voice caller cannot type a name: the case is stored with NAME_PLACEHOLDER (flows/registration
# .py), marked for review, and the recording of the name is kept on the call for an operator.
# Main-menu choices a caller may say instead of pressing (NLU intents → the key they stand for).
MENU_INTENTS: Mapping[str, str] = {
    "register_return": "1",
    "return_info": "1",
    "ask_services": "2",
    "health": "2",
    "protection": "2",
    "basic_needs": "2",
    "case_status": "3",
    "talk_to_human": "0",
    "emergency": "0",
    "change_language": "9",
}
SPEECH_CONFIDENCE = 0.5
MAX_COUNTRIES = KEYPAD_COUNTRIES  # one keypad digit each; the next is "another country"
CASE_TRIES = 3
# Twilio's Enqueue results after which the caller is still on the line and no one answered.
NOT_BRIDGED = frozenset({"leave", "hangup", "queue-full", "error", "system-error"})
CALLS_EVENT = "call.queue"  # a caller entered or left the operators' queue (console)


@lru_cache(maxsize=1)
def service_directory() -> ServiceDirectory:
    return ServiceDirectory.load()


Asker = Callable[[CallContext, VoiceResponse], Awaitable[None]]
Answerer = Callable[[CallContext, Answer], Awaitable[VoiceResponse | None]]


@dataclass(frozen=True, slots=True)
class Step:
    ask: Asker
    answer: Answerer  # None from it: an unexpected answer
    retries: int = 2  # re-asks after no input or an unexpected answer
    exhausted: Callable[[CallContext], Awaitable[VoiceResponse]] | None = None  # else: main menu
    reprompt: bool = True  # "I did not get that" before asking again


def reference_core(reference: str) -> str:
    return reference.upper().removeprefix("LY-")


class IVR:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.settings = runtime.settings
        self.catalogs = runtime.catalogs
        self.calls = CallRecords(runtime.db)
        self.directory = service_directory()
        self.countries = keypad_countries(vocabulary())
        self.steps: dict[str, Step] = {
            "language": Step(
                self._ask_language,
                self._on_language,
                retries=1,
                exhausted=self._default_language,
                reprompt=False,
            ),
            "menu": Step(self._ask_menu, self._on_menu, exhausted=self._goodbye),
            "unavailable": Step(
                self._ask_unavailable, self._on_unavailable, retries=1, exhausted=self._goodbye
            ),
            "no_consent": Step(self._ask_no_consent, self._on_person_or_menu),
            "no_phone": Step(self._ask_no_phone, self._on_person_or_menu),
            "reference": Step(self._ask_reference, self._on_reference),
            "city": Step(self._ask_city, self._on_city),
            "need": Step(self._ask_need, self._on_need),
            "services": Step(self._ask_services, self._on_services),
            "case": Step(self._ask_case, self._on_case),
            "case_failed": Step(self._ask_case_failed, self._on_person_or_menu),
        }
        # The registration's questions are the flow's (flows/registration.py, by keypad).
        self.registration = VoiceRegistration(
            self, RegistrationFlow(city_name=self.directory.city_name)
        )
        for name in REGISTRATION_STEPS:
            self.steps[name] = Step(self.registration.ask_again, self.registration.answering(name))
        # one more try at recording the name, then the case is stored without it
        self.steps["name"] = Step(
            self.registration.ask_again,
            self.registration.answering("name"),
            retries=1,
            exhausted=self.registration.without_name,
        )

    # -- entry points (the router calls these) ------------------------------------------------
    def knows(self, step: str) -> bool:
        return step in self.steps

    async def incoming(self, ctx: CallContext, known_language: str | None) -> VoiceResponse:
        """A new call (or Twilio's retry of it): greet in the known language, else ask it."""
        call = ctx.call
        if call.language is None and self.catalogs.supports(known_language):
            call.language = known_language
        if call.language is not None:
            return await self._safely(ctx, self.ask(ctx, "menu", Prompt("voice.welcome")))
        return await self._safely(ctx, self.ask(ctx, "language"))

    async def answer(self, ctx: CallContext, name: str) -> VoiceResponse:
        """Twilio posts what the caller pressed, said or recorded at step `name`."""
        return await self._safely(ctx, self._answer(ctx, name))

    async def _answer(self, ctx: CallContext, name: str) -> VoiceResponse:
        step = self.steps[name]
        got = Answer.from_params(ctx.params)
        response = None if got.empty else await step.answer(ctx, got)
        return response if response is not None else await self._retry(ctx, name)

    async def _safely(self, ctx: CallContext, making: Awaitable[VoiceResponse]) -> VoiceResponse:
        try:
            return await making
        except PromptUnavailable as missing:
            log.info("voice: no prompt %s in %s; operator offered", missing.key, missing.language)
            return await self.ask(ctx, "unavailable")

    # -- asking --------------------------------------------------------------------------------
    async def ask(self, ctx: CallContext, name: str, *before: Prompt) -> VoiceResponse:
        """A fresh step: `before` is said first (a result, a confirmation)."""
        ctx.call.reset_tries()
        ctx.call.visit(name)
        response = VoiceResponse()
        if before:
            ctx.prompter.add(response, ctx.language, *before)
        await self.steps[name].ask(ctx, response)
        return response

    async def _retry(self, ctx: CallContext, name: str) -> VoiceResponse:
        step = self.steps[name]
        if ctx.call.failed(name) > step.retries:
            if step.exhausted is not None:
                return await step.exhausted(ctx)
            return await self.ask(ctx, "menu", Prompt("voice.not_understood"))
        response = VoiceResponse()
        if step.reprompt:
            ctx.prompter.add(response, ctx.language, Prompt("voice.not_understood"))
        await step.ask(ctx, response)
        return response

    def gather(
        self,
        ctx: CallContext,
        response: VoiceResponse,
        step: str,
        *prompts: Prompt,
        several: bool = False,
        speech: bool = False,
        hints: str | None = None,
    ) -> None:
        """Ask for one key, or for `several` digits ended with # (or a pause)."""
        gather = ctx.prompter.gather(
            response,
            ctx.language,
            ctx.url(step),
            num_digits=None if several else 1,
            finish_on_key="#" if several else None,
            speech=speech,
            hints=hints,
            timeout=self.settings.voice_gather_timeout_seconds,
        )
        ctx.prompter.add(gather, ctx.language, *prompts)

    async def _goodbye(self, ctx: CallContext) -> VoiceResponse:
        response = VoiceResponse()
        ctx.prompter.add(response, ctx.language, Prompt("voice.goodbye"), english=True)
        response.hangup()
        return response

    # -- language ------------------------------------------------------------------------------
    def studio(self, ctx: CallContext) -> Studio:
        prompter = ctx.prompter
        return Studio(
            self.catalogs,
            prompter.locales_dir,
            prompter.recordings_dir or recordings_dir(self.settings),
            self.directory,
            self.countries,
        )

    def menu_languages(self, ctx: CallContext) -> list[str]:
        """The languages a caller can choose: spoken by Twilio, or with every prompt recorded
        (read at each call, so a language completed in the studio is offered at once)."""
        studio = self.studio(ctx)
        return [code for code in self.catalogs.languages if studio.choosable(code)]

    async def _ask_language(self, ctx: CallContext, response: VoiceResponse) -> None:
        # Each option in its own language (played from its recordings where Twilio has no voice).
        prompts = [
            Prompt(
                "voice.language.choose",
                {"digit": number},
                language=code,
                fallback=Prompt(
                    "voice.language.choose_named",
                    {"name": language_name(code, ENGLISH), "digit": number},
                    language=ENGLISH,
                ),
            )
            for number, code in enumerate(self.menu_languages(ctx), start=1)
        ]
        gather = ctx.prompter.gather(
            response,
            ctx.language,
            ctx.url("language"),
            num_digits=1,
            timeout=self.settings.voice_gather_timeout_seconds,
        )
        ctx.prompter.add(gather, ctx.language, *prompts)

    async def _on_language(self, ctx: CallContext, got: Answer) -> VoiceResponse | None:
        languages = self.menu_languages(ctx)
        number = got.number()
        if number is None or not 1 <= number <= len(languages):
            return None
        ctx.call.language = languages[number - 1]
        if ctx.call.contact_id is not None:  # the next call starts in this language
            await self.runtime.store.set_contact_language(ctx.call.contact_id, ctx.call.language)
        return await self.ask(ctx, "menu", Prompt("voice.welcome"))

    async def _default_language(self, ctx: CallContext) -> VoiceResponse:
        ctx.call.language = self.settings.default_language
        return await self.ask(ctx, "menu", Prompt("voice.welcome"))

    async def _ask_unavailable(self, ctx: CallContext, response: VoiceResponse) -> None:
        gather = ctx.prompter.gather(
            response,
            ENGLISH,
            ctx.url("unavailable"),
            num_digits=1,
            timeout=self.settings.voice_gather_timeout_seconds,
        )
        ctx.prompter.add(gather, ENGLISH, notice_prompt(ctx.language))

    async def _on_unavailable(self, ctx: CallContext, got: Answer) -> VoiceResponse | None:
        if got.digits == "0":
            return await self.operator(ctx)
        if got.digits == "9":
            return await self.ask(ctx, "language")
        return None

    # -- main menu -----------------------------------------------------------------------------
    async def _ask_menu(self, ctx: CallContext, response: VoiceResponse) -> None:
        prompts = [Prompt("voice.menu.main")]
        if ctx.prompter.speech_language(ctx.language):
            prompts.append(Prompt("voice.menu.speech"))
        self.gather(ctx, response, "menu", *prompts, speech=True)

    async def _on_menu(self, ctx: CallContext, got: Answer) -> VoiceResponse | None:
        choice, priority = got.digits[:1], HandoffPriority.NORMAL.value
        if not got.digits and got.speech:
            choice, priority = await self._spoken_choice(ctx, got.speech)
        if choice == "1":
            if ctx.caller is None:
                return await self.ask(ctx, "no_phone")
            if "registration" in ctx.call.steps:  # registered earlier in this call
                return await self.ask(ctx, "reference", Prompt("voice.registration.existing"))
            return await self.registration.start(ctx)
        if choice == "2":
            return await self.ask(ctx, "city")
        if choice == "3":
            return await self.ask(ctx, "case")
        if choice == "0":
            return await self.operator(ctx, priority=priority)
        if choice == "9":
            return await self.ask(ctx, "language")
        return None

    async def _spoken_choice(self, ctx: CallContext, speech: str) -> tuple[str, str]:
        """The menu key a spoken request stands for, and how urgent a person is needed."""
        parse = await self.runtime.nlu.parse(speech, ctx.language)
        if parse.confidence >= SPEECH_CONFIDENCE and parse.intent in MENU_INTENTS:
            urgent = parse.intent == "emergency"
            priority = HandoffPriority.EMERGENCY if urgent else HandoffPriority.NORMAL
            return MENU_INTENTS[parse.intent], priority.value
        number = parse_number(speech, ctx.language)
        return ("" if number is None else str(number)), HandoffPriority.NORMAL.value

    async def _on_person_or_menu(self, ctx: CallContext, got: Answer) -> VoiceResponse | None:
        if got.digits == "0":
            return await self.operator(ctx)
        if got.digits == "1":
            return await self.ask(ctx, "menu")
        return None

    # -- return registration (bot/channels/voice/registration.py asks it) ----------------------
    async def _ask_no_consent(self, ctx: CallContext, response: VoiceResponse) -> None:
        self.gather(ctx, response, "no_consent", Prompt("voice.registration.no_consent"))

    async def _ask_no_phone(self, ctx: CallContext, response: VoiceResponse) -> None:
        self.gather(ctx, response, "no_phone", Prompt("voice.registration.no_phone"))

    def _reference_prompts(self, reference: str) -> list[Prompt]:
        return [
            Prompt("voice.registration.reference", {"reference": Spell(reference_core(reference))}),
            Prompt("voice.registration.keypad", {"keypad": Spell(keypad_form(reference))}),
        ]

    async def _ask_reference(self, ctx: CallContext, response: VoiceResponse) -> None:
        reference = str(ctx.call.steps.get("registration", ""))
        self.gather(
            ctx,
            response,
            "reference",
            *self._reference_prompts(reference),
            Prompt("voice.registration.options"),
        )

    async def _on_reference(self, ctx: CallContext, got: Answer) -> VoiceResponse | None:
        reference = ctx.call.steps.get("registration")
        if reference is None:
            return await self.ask(ctx, "menu")
        if got.digits == "1":
            text = self.catalogs.text(
                ctx.language,
                "voice.sms.reference",
                reference=reference,
                keypad=keypad_form(reference),
            )
            await self._send_sms(ctx, text)
            return await self.ask(ctx, "menu", Prompt("voice.sms.sent"))
        if got.digits == "2":
            return await self.ask(ctx, "reference")
        if got.digits == "3":
            return await self.ask(ctx, "menu")
        return None

    # -- services ------------------------------------------------------------------------------
    def _city(self, city: str) -> Named:
        return Named(
            lambda language: self.directory.city_name(city, language), f"city.{say_slug(city)}"
        )

    async def _ask_city(self, ctx: CallContext, response: VoiceResponse) -> None:
        cities = self.directory.cities
        prompts = [Prompt("voice.services.city")]
        prompts += [option(self._city(city), number) for number, city in enumerate(cities, 1)]
        if ctx.prompter.speech_language(ctx.language):
            prompts.append(Prompt("voice.services.city_speech"))
        hints = ", ".join(self.directory.city_name(city, ctx.language) for city in cities)
        self.gather(ctx, response, "city", *prompts, speech=True, hints=hints, several=True)

    async def _on_city(self, ctx: CallContext, got: Answer) -> VoiceResponse | None:
        cities = self.directory.cities
        city: str | None = None
        number = got.number()
        if number is not None and 1 <= number <= len(cities):
            city = cities[number - 1]
        elif not got.digits and got.speech:
            city = resolve_city(got.speech)
        if city not in cities:
            return None
        ctx.call.steps["city"] = city
        return await self.ask(ctx, "need")

    async def _ask_need(self, ctx: CallContext, response: VoiceResponse) -> None:
        needs = self.directory.needs
        prompts = [Prompt("voice.services.need")]
        prompts += [
            option(Label(f"services.need.{need}"), number) for number, need in enumerate(needs, 1)
        ]
        self.gather(ctx, response, "need", *prompts)

    async def _on_need(self, ctx: CallContext, got: Answer) -> VoiceResponse | None:
        needs = self.directory.needs
        number = got.number()
        if number is None or not 1 <= number <= len(needs) or "city" not in ctx.call.steps:
            return None
        ctx.call.steps["need"] = needs[number - 1]
        ctx.call.achieve("services")
        return await self.ask(ctx, "services")

    def _service_prompts(self, need: str, city: str) -> list[Prompt]:
        """The same answer as the text flow's: a city's services of one need, or the nearest."""
        values: dict[str, Value] = {
            "need": Label(f"services.need.{need}"),
            "city": self._city(city),
        }
        found = self.directory.find(need, city)
        if found:
            prompts = [Prompt("services.result_header", values)]
            shown = found[:MAX_ENTRIES]
        else:
            prompts = [Prompt("services.none", values)]
            shown = self.directory.elsewhere(need, city)[:MAX_ELSEWHERE]
        for service in shown:
            fields: dict[str, Value] = {
                field: Named(partial(service.text, field), None)
                for field in ("name", "days", "contact")
            }
            prompts.append(Prompt("services.entry", fields, recordings=(f"service.{service.id}",)))
        if shown and self.directory.sample:
            prompts.append(Prompt("services.sample_notice"))
        return prompts

    async def _ask_services(self, ctx: CallContext, response: VoiceResponse) -> None:
        need, city = ctx.call.steps.get("need"), ctx.call.steps.get("city")
        if need is None or city is None:
            await self._ask_menu(ctx, response)
            return
        ctx.prompter.add(response, ctx.language, *self._service_prompts(need, city))
        choices = "voice.services.options" if ctx.caller else "voice.services.options_no_sms"
        self.gather(ctx, response, "services", Prompt(choices))

    async def _on_services(self, ctx: CallContext, got: Answer) -> VoiceResponse | None:
        need, city = ctx.call.steps.get("need"), ctx.call.steps.get("city")
        if need is None or city is None:
            return await self.ask(ctx, "menu")
        if got.digits == "1" and ctx.caller:
            language = ctx.language
            parts = []
            for prompt in self._service_prompts(need, city):
                values: dict[str, Any] = {
                    k: value_text(v, self.catalogs, language) for k, v in prompt.values.items()
                }
                parts.append(self.catalogs.text(language, prompt.key, **values))
            text = "\n\n".join(parts)
            await self._send_sms(ctx, text)
            ctx.call.achieve("services_sms")
            return await self.ask(ctx, "menu", Prompt("voice.sms.sent"))
        if got.digits == "2":
            return await self.ask(ctx, "services")
        if got.digits == "3":
            return await self.ask(ctx, "menu")
        return None

    async def _send_sms(self, ctx: CallContext, text: str) -> None:
        """Queue an SMS to the caller's number; the SMS channel's sender delivers it."""
        if ctx.caller is None:
            return
        contact = await self.runtime.store.contact_for("sms", ctx.caller)
        if contact.language is None:
            await self.runtime.store.set_contact_language(contact.id, ctx.language)
        message = OutboundMessage(
            text=text, language=ctx.language, direction=self.catalogs.direction(ctx.language)
        )
        await self.runtime.engine.send_later(contact.id, "sms", message)
        self.runtime.outbox.kick()

    # -- case status ---------------------------------------------------------------------------
    async def _ask_case(self, ctx: CallContext, response: VoiceResponse) -> None:
        self.gather(ctx, response, "case", Prompt("voice.case.ask"), speech=True, several=True)

    async def _on_case(self, ctx: CallContext, got: Answer) -> VoiceResponse | None:
        keyed = "".join(c for c in got.digits if c.isdigit())
        reference = keyed or (find_case_ref(got.speech) if got.speech else None) or ""
        case = await self.runtime.registrations.by_reference(reference) if reference else None
        if case is None:
            tries = int(ctx.call.steps.get("case_tries", 0)) + 1
            ctx.call.steps["case_tries"] = tries
            if tries < CASE_TRIES:
                response = VoiceResponse()
                ctx.prompter.add(response, ctx.language, Prompt("voice.case.not_found"))
                await self._ask_case(ctx, response)
                return response
            ctx.call.steps.pop("case_tries", None)
            ctx.call.achieve("case_not_found")
            return await self.ask(ctx, "case_failed")
        ctx.call.steps.pop("case_tries", None)
        ctx.call.achieve("case_status")
        stage = case.stage if case.stage in STAGES else "registered"
        values = {"date": case.flight_date} if stage == "flight_scheduled" else {}
        status = Prompt(
            "case.status",
            {
                "reference": Spell(reference_core(case.reference)),
                "stage": Label(f"case.stage.{stage}", values),
            },
        )
        return await self.ask(ctx, "menu", status)

    async def _ask_case_failed(self, ctx: CallContext, response: VoiceResponse) -> None:
        self.gather(ctx, response, "case_failed", Prompt("voice.case.failed"))

    # -- a person: the queue, or a message ---------------------------------------------------
    async def operator(
        self,
        ctx: CallContext,
        *,
        priority: str = HandoffPriority.NORMAL.value,
        before: Sequence[Prompt] = (),
    ) -> VoiceResponse:
        """Within opening hours: a handoff case and the operators' queue; else a message."""
        call = ctx.call
        if call.contact_id is None or not self.runtime.handoffs.hours.is_open(datetime.now(UTC)):
            return self._ask_message(ctx, closed=True, before=before)
        handoff_id, _ = await self.runtime.handoffs.open(
            call.contact_id,
            reason="call",
            priority=priority,
            channel=CHANNEL,
            language=ctx.language,
            call_id=call.id,
        )
        call.steps["handoff_id"] = handoff_id
        call.achieve("queued")
        call.visit("queue")
        await self.calls.enter_queue(call.id)  # the console's list of waiting callers
        await self.runtime.events.publish(CALLS_EVENT, call_id=call.id)
        response = VoiceResponse()
        ctx.prompter.add(
            response, ctx.language, *before, Prompt("voice.operator.connecting"), english=True
        )
        response.enqueue(
            self.settings.voice_queue_name,
            action=ctx.url("queue"),
            method="POST",
            wait_url=ctx.url("wait"),
            wait_url_method="POST",
        )
        return response

    async def wait(self, ctx: CallContext) -> VoiceResponse:
        """Twilio's waitUrl, asked again and again while the caller waits in the queue."""
        response = VoiceResponse()
        queue_sid = ctx.params.get("QueueSid", "")
        if queue_sid.startswith("QU"):  # an operator takes this caller by it and the CallSid
            await self.calls.note_queue(ctx.call.id, queue_sid)
        waited = small_int(ctx.params.get("QueueTime", "0"), MAX_SECONDS)
        if waited is not None and waited > self.settings.voice_queue_wait_seconds:
            response.leave()  # the Enqueue action then offers a message
            return response
        position = small_int(ctx.params.get("QueuePosition", ""), 100_000)
        prompts = [Prompt("voice.operator.hold")]
        if position:
            prompts.insert(0, Prompt("voice.operator.position", {"position": position}))
        ctx.prompter.add(response, ctx.language, *prompts, english=True)
        response.pause(length=self.settings.voice_hold_pause_seconds)
        return response

    async def queue_result(self, ctx: CallContext) -> VoiceResponse:
        """The Enqueue action: the caller was bridged to an operator, or left the queue."""
        result = ctx.params.get("QueueResult", "")
        await self.calls.left_queue(ctx.call.id)
        await self.runtime.events.publish(CALLS_EVENT, call_id=ctx.call.id)
        if result == "bridged":
            ctx.call.achieve("operator")
            return VoiceResponse()
        if result in NOT_BRIDGED:
            return self._ask_message(ctx, closed=False)
        return VoiceResponse()  # "redirected": someone else decides what comes next

    def _ask_message(
        self, ctx: CallContext, *, closed: bool, before: Sequence[Prompt] = ()
    ) -> VoiceResponse:
        """Nobody can answer: the caller leaves a message; a callback case gets the recording."""
        ctx.call.visit("message")
        language = ctx.language
        hours = self.runtime.handoffs.hours
        prompts = list(before)
        if closed:
            prompts.append(Prompt("voice.operator.closed"))
            if not hours.always:  # free text: said where it can be, left out otherwise
                described = {"hours": hours.describe(language)}
                prompts.append(Prompt("voice.operator.hours", described, optional=True))
        else:
            prompts.append(Prompt("voice.operator.no_answer"))
        prompts.append(Prompt("voice.record.ask"))
        response = VoiceResponse()
        ctx.prompter.add(response, language, *prompts, english=True)
        response.record(
            action=ctx.url("message"),
            method="POST",
            max_length=self.settings.voice_max_recording_seconds,
            finish_on_key="#",
            play_beep=True,
            timeout=5,
            recording_status_callback=ctx.url("recording"),
            recording_status_callback_method="POST",
            recording_status_callback_event="completed",
        )
        # Reached only when nothing was recorded.
        ctx.prompter.add(response, language, Prompt("voice.record.none"), english=True)
        response.hangup()
        return response

    async def message_recorded(self, ctx: CallContext) -> VoiceResponse:
        """The message <Record>'s action."""
        got = Answer.from_params(ctx.params)
        response = VoiceResponse()
        if got.recording_url and got.recording_seconds != 0:
            await self._keep_message(ctx, got)
            ctx.prompter.add(response, ctx.language, Prompt("voice.record.thanks"), english=True)
        else:
            ctx.prompter.add(response, ctx.language, Prompt("voice.record.none"), english=True)
        response.hangup()
        return response

    async def recording_ready(self, ctx: CallContext) -> None:
        """Twilio's recording status callback: the message's audio is available."""
        got = Answer.from_params(ctx.params)
        status = ctx.params.get("RecordingStatus", "completed")
        if status == "completed" and got.recording_url and got.recording_seconds != 0:
            await self._keep_message(ctx, got)

    async def _keep_message(self, ctx: CallContext, got: Answer) -> None:
        """The message on the call and a callback case (both once per recording)."""
        if not await self.keep_recording(ctx, got, kind="message"):
            return
        call = ctx.call
        if call.contact_id is None:
            return
        handoff_id, _ = await self.runtime.handoffs.open(
            call.contact_id,
            reason="callback",
            priority=HandoffPriority.NORMAL.value,
            channel=CHANNEL,
            language=ctx.language,
            call_id=call.id,
        )
        call.steps["callback_handoff_id"] = handoff_id
        call.achieve("callback")

    async def keep_recording(self, ctx: CallContext, got: Answer, *, kind: str) -> bool:
        """Store a recording's URL on the call; False when this recording was already kept.

        The call has one recording column: a message to call back takes it over a name, and
        every recording's id stays listed in the call's steps."""
        call = ctx.call
        kept: list[dict[str, object]] = call.steps.setdefault("recordings", [])
        if got.recording_sid and any(r.get("sid") == got.recording_sid for r in kept):
            return False
        kept.append({"kind": kind, "sid": got.recording_sid, "seconds": got.recording_seconds})
        if kind == "message" or not any(r.get("kind") == "message" for r in kept[:-1]):
            await self.calls.store_recording(call.id, got.recording_url, got.recording_seconds)
        return True
