"""The turn: inbound → (per-contact lock) → stored → session → NLU → flow → replies → stored.

A message is stored before its request is answered, so a provider's retry finds it (on SQLite
in the same commit as its handling, made before the decision waits for anything: a crash
before that commit leaves the request unanswered, and the provider sends it again; a turn that
fails leaves the message stored). Under the contact's lock the engine stores the message
and handles every stored, unhandled message of that contact in the order they were stored, so a
person's messages are answered one after the other, in order, even when their requests overlap
or reach different server processes.
"""

from __future__ import annotations

import logging
import time
import unicodedata
from dataclasses import dataclass, replace
from typing import Any

from bot.handoffs import PRIORITY_RANK, CaseInfo, Handoffs
from bot.i18n import Catalogs
from bot.messages import Button, InboundMessage, OutboundMessage
from bot.metrics import Metrics
from bot.sessions import ConversationState, SessionStore
from bot.storage.models import MessageStatus
from bot.storage.repository import ContactInfo, Store, StoredInbound
from bot.storage.turns import TurnContext, TurnStore, TurnWrite
from flows.base import (
    ChangeLanguage,
    Contact,
    Erase,
    OpenHandoff,
    OptOut,
    RegistrationService,
    RememberCity,
    Reply,
    Signal,
    Text,
    Turn,
)
from flows.router import Conversation
from flows.safety import CATEGORIES
from nlu.types import NLUService

log = logging.getLogger(__name__)

_DROP_CATEGORIES = {"Cc", "Cs", "Co", "Cn"}


@dataclass(frozen=True, slots=True)
class HandleResult:
    contact_id: int
    message_id: int
    duplicate: bool
    replies: list[OutboundMessage]


def _with_ids(replies: list[OutboundMessage], ids: list[int]) -> list[OutboundMessage]:
    return [replace(reply, message_id=i) for reply, i in zip(replies, ids, strict=True)]


def clean_text(text: str, limit: int) -> tuple[str, bool]:
    """Valid, printable text within `limit` characters; True when it had to be cut."""
    text = text if isinstance(text, str) else ""  # a channel's bug is no crash
    text = text.encode("utf-8", "replace").decode("utf-8")  # lone surrogates from bad clients
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = "".join(
        ch for ch in text if ch in "\n\t" or unicodedata.category(ch) not in _DROP_CATEGORIES
    )
    text = text.strip()
    if len(text) > limit:
        return text[:limit], True
    return text, False


class Engine:
    def __init__(
        self,
        *,
        store: Store,
        sessions: SessionStore,
        nlu: NLUService,
        catalogs: Catalogs,
        conversation: Conversation,
        registrations: RegistrationService,
        default_language: str,
        enabled_languages: tuple[str, ...],
        handoffs: Handoffs,
        max_message_chars: int = 4096,
        turns: TurnStore | None = None,
    ) -> None:
        self.store = store
        self.sessions = sessions
        self.nlu = nlu
        self.catalogs = catalogs
        self.conversation = conversation
        self.registrations = registrations
        self.default_language = default_language
        self.enabled_languages = enabled_languages
        self.max_message_chars = max_message_chars
        self.handoffs = handoffs
        self.outbox_kick = handoffs.outbox.kick
        self.turns = turns or TurnStore(store.db)
        # The SQL session store's state is read and written inside the turn's transactions;
        # another store (Redis) is asked beside them.
        self._state_in_turn = bool(getattr(sessions, "in_database", False))
        self.metrics = Metrics()  # this process's figures, served at /metrics

    async def handle(
        self,
        inbound: InboundMessage,
        *,
        answered_in_response: bool = True,
        confirm_later: bool = False,
    ) -> HandleResult:
        """Store, handle once, and return the replies to this message.

        `answered_in_response`: the channel returns the replies in its HTTP answer (REST, TwiML);
        otherwise they wait in the outbox for the channel's sender. `confirm_later`: the channel
        calls `confirm_answered` once its answer went out; until then a repeated delivery of
        the message gets the same replies again (without it they count as delivered here).
        """
        started = time.perf_counter()
        text, truncated = clean_text(inbound.text, self.max_message_chars)
        payload: dict[str, object] = {}
        if inbound.language_hint:
            payload["language_hint"] = inbound.language_hint
        if truncated:
            payload["truncated"] = True
        if inbound.media:
            payload["media"] = len(inbound.media)  # how many; the URLs stay with the provider
        status = MessageStatus.ANSWERED if answered_in_response else MessageStatus.QUEUED
        delivered = answered_in_response and not confirm_later
        produced: dict[int, list[OutboundMessage]] = {}
        for _ in range(3):
            contact_id = await self.turns.contact_id(inbound.channel, inbound.address)
            async with self.sessions.lock(contact_id):
                # Stored under the lock, so ids follow the order in which turns run, across
                # processes too; a message left unhandled by a crash is handled with the next.
                # On SQLite the storing transaction stays open and the turn's write commits
                # both (see TurnStore.holding): the message is still stored before it is
                # answered, and a crash before the commit leaves it unanswered, to be resent.
                context = await self.turns.open_turn(
                    contact_id,
                    inbound.channel,
                    inbound.provider_message_id,
                    text,
                    payload,
                    with_session=self._state_in_turn,
                    hold=True,
                )
                if context is None:  # erased since this process last saw the sender
                    self.turns.forget_contact(inbound.channel, inbound.address)
                    continue
                message_id, duplicate = context.message_id, context.duplicate
                await self.turns.holding(
                    self._handle_pending(context, inbound, status, delivered, produced)
                )
            break
        else:
            raise RuntimeError("could not store the message: its contact keeps vanishing")
        if message_id in produced:  # also a provider's retry of a message never handled
            replies = produced[message_id]
        elif not answered_in_response:
            replies = []  # handled already: its replies are the outbox's
        else:
            # A retry of a message handled already, or one another request handled while this
            # one waited: its replies again, unless they are known to have reached the sender.
            # (the replay's transaction writes the confirmations asked for before it first)
            replies = await self.turns.replay(message_id, delivered=delivered)
            if replies:
                self.metrics.messages_out.labels(inbound.channel, "replayed").inc(len(replies))
        if len(produced) > (message_id in produced):
            self.outbox_kick()
        self.metrics.messages_in.labels(inbound.channel, "duplicate" if duplicate else "new").inc()
        self.metrics.turn_seconds.observe(time.perf_counter() - started)
        return HandleResult(contact_id, message_id, duplicate, replies)

    async def _handle_pending(
        self,
        context: TurnContext,
        inbound: InboundMessage,
        status: MessageStatus,
        delivered: bool,
        produced: dict[int, list[OutboundMessage]],
    ) -> None:
        """Every stored, unhandled message of the contact, oldest first: replies in `produced`."""
        contact_id = context.contact.id
        if self._state_in_turn:
            raw = context.state_json
            if raw is None:  # none yet, or one an earlier version kept elsewhere
                raw = await self.sessions.legacy_state(contact_id)
            state = ConversationState.from_json(raw)
        else:
            state = await self.sessions.load(contact_id)
        for pending in context.pending:
            # Only this request's own message is answered in its HTTP answer; replies to an
            # earlier message left unhandled (its request failed) are queued.
            own = pending.id == context.message_id
            turn_status = status if own else MessageStatus.QUEUED
            replies, state, erased = await self._turn(
                context, pending, state, turn_status, delivered=own and delivered
            )
            produced[pending.id] = replies
            if erased:
                self.turns.forget_contact(inbound.channel, inbound.address)
                break  # what came after the erasure went with it

    async def _turn(
        self,
        context: TurnContext,
        message: StoredInbound,
        state: ConversationState,
        status: MessageStatus,
        *,
        delivered: bool,
    ) -> tuple[list[OutboundMessage], ConversationState, bool]:
        """Decide one message and write what was decided: (replies, new state, erased)."""
        contact = context.contact
        hint = state.language or message.language_hint
        parsing = time.perf_counter()
        parse = await self.nlu.parse(message.text, hint)
        self.metrics.nlu_seconds.observe(time.perf_counter() - parsing)
        turn = Turn(
            contact=Contact(contact.id, contact.channel, contact.address, contact.role),
            state=state,
            text=message.text,
            parse=parse,
            default_language=self.default_language,
            enabled_languages=self.enabled_languages,
            language_hint=message.language_hint,
            registrations=self.registrations,
        )
        write = TurnWrite(
            inbound_id=message.id,
            contact_id=contact.id,
            channel=contact.channel,
            replies=[],
            status=status,
            inbound_status=MessageStatus.PROCESSED,
            language=parse.language,
            intent=parse.intent,
            inbound_payload=message.payload,
            delivered=delivered and status == MessageStatus.ANSWERED,
        )
        case = context.case
        if case is not None:
            replies = await self._with_operator(contact, message, turn, case, status)
            write.replies = replies
            write.case_id = case.id
            ids = await self._write(write, None)
            await self.handoffs.events.publish("message", handoff_id=case.id, message_id=message.id)
            return _with_ids(replies, ids), state, False
        before = state.to_json()  # what a failed turn goes back to
        try:
            if message.truncated:
                turn.say("error.too_long")
            await self.conversation.respond(turn)
        except Exception:
            # Never silence: the person gets an apology, the message is marked failed.
            log.exception("turn failed: contact=%s message=%s", contact.id, message.id)
            write.inbound_status = MessageStatus.FAILED
            turn.replies = [Reply("error.generic")]
            turn.signals = []
            turn.state = ConversationState.from_json(before)
        language = turn.language
        replies = self.render(turn.replies, language)
        erase = False
        for signal in turn.signals:
            if isinstance(signal, Erase):
                erase = True
            else:
                replies += await self._apply(context, write, language, signal)
        write.replies = replies
        ids = await self._write(write, turn.state)
        if erase:  # after the confirmation is made: it is still answered, then nothing is left
            await self.sessions.clear(contact.id)
            counts = await self.store.erase_contact(contact.id)
            log.info("contact %s erased: %s", contact.id, counts)
            return replies, turn.state, True
        return _with_ids(replies, ids), turn.state, False

    async def _write(self, write: TurnWrite, state: ConversationState | None) -> list[int]:
        """Transaction 2. A session kept outside the database is saved just before it."""
        if write.replies:
            self.metrics.messages_out.labels(write.channel, write.status.value).inc(
                len(write.replies)
            )
        if state is None:  # unchanged
            pass
        elif self._state_in_turn:
            write.state_json = state.to_json()
        else:
            await self.sessions.save(write.contact_id, state)
        ids = await self.turns.finish_turn(write)
        if write.released:  # held WhatsApp messages go now that the person wrote
            self.outbox_kick()
        return ids

    async def _with_operator(
        self,
        contact: ContactInfo,
        message: StoredInbound,
        turn: Turn,
        case: CaseInfo,
        status: MessageStatus,
    ) -> list[OutboundMessage]:
        """A person whose case is with the operators: the bot stays silent and passes the
        message on (the turn's write marks the case as waiting). Safety triage still runs;
        danger raises the case's priority and is acknowledged once, so an emergency is never
        met with silence."""
        language = case.language or turn.language
        replies: list[OutboundMessage] = []
        danger = self.conversation.triage.assess(turn)
        if danger is not None:
            category = CATEGORIES[danger]
            if PRIORITY_RANK.get(category.priority, 99) < PRIORITY_RANK.get(case.priority, 99):
                await self.handoffs.open(
                    contact.id,
                    reason=danger,
                    priority=category.priority,
                    channel=contact.channel,
                    language=language,
                )
                replies = self.render([Reply(category.reply)], language)
        # never silence: "passed on" now and then, or after danger what happens next
        replies += await self.handoffs.while_open(case, language, raised=bool(replies))
        return replies

    async def _apply(
        self, context: TurnContext, write: TurnWrite, language: str, signal: Signal
    ) -> list[OutboundMessage]:
        """Carry out a flow's signal: contact changes go into the turn's write; a handoff is
        opened at once (rare). Returns any further message for the person."""
        contact = context.contact
        if isinstance(signal, ChangeLanguage):
            write.contact_language = signal.language
        elif isinstance(signal, OptOut):
            write.opted_out = True
        elif isinstance(signal, RememberCity):
            write.contact_city = signal.city
        elif isinstance(signal, OpenHandoff):
            handoff_id, created = await self.handoffs.open(
                contact.id,
                reason=signal.reason,
                priority=signal.priority,
                channel=contact.channel,
                language=language,
                registration_id=signal.registration_id,
            )
            log.info("handoff %s open for contact %s", handoff_id, contact.id)
            # a later message of this request goes to the case
            context.case = await self.turns.active_case(contact.id)
            if created:
                notices = await self.handoffs.waiting_notice(handoff_id, language)
                if notices:
                    return [
                        OutboundMessage(
                            text="\n".join(notices),
                            language=language,
                            direction=self.catalogs.direction(language),
                        )
                    ]
        return []

    # -- confirming answers that went out ---------------------------------------------------
    async def confirm_answered(self, result: HandleResult) -> None:
        """The channel's HTTP answer carrying `result.replies` went out: a retry of the message
        will not repeat them (marked with the process's next transaction, bot/storage/turns)."""
        self.turns.confirm([r.message_id for r in result.replies if r.message_id])

    # -- rendering -----------------------------------------------------------------------
    def render(self, replies: list[Reply], language: str) -> list[OutboundMessage]:
        return [self.render_one(reply, language) for reply in replies]

    def render_one(self, reply: Reply, language: str) -> OutboundMessage:
        catalogs = self.catalogs

        def values(code: str) -> dict[str, Any]:
            return {
                name: catalogs.text(code, value.key, **value.values)
                if isinstance(value, Text)
                else value
                for name, value in reply.values.items()
            }

        if reply.every_language:
            languages = [language, *(code for code in catalogs.languages if code != language)]
            text = "\n".join(catalogs.text(code, reply.key, **values(code)) for code in languages)
        else:
            text = catalogs.text(language, reply.key, count=reply.count, **values(language))
        buttons = tuple(
            Button(
                title=f"{option.number}. "
                + (option.label or catalogs.text(language, option.key or "", **option.values)),
                payload=option.number,
            )
            for option in reply.options
        )
        return OutboundMessage(
            text=text, language=language, buttons=buttons, direction=catalogs.direction(language)
        )

    # -- messages that are not answers ---------------------------------------------------
    async def send_later(self, contact_id: int, channel: str, message: OutboundMessage) -> int:
        return await self.store.enqueue(contact_id, channel, message)
