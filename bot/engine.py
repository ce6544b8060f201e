"""The turn: inbound → (per-contact lock) → stored → session → NLU → flow → replies → stored.

A message is stored before it is handled and before its request is answered, so it survives a
crash and a provider's retry finds it. Under the contact's lock the engine stores the message
and handles every stored, unhandled message of that contact in the order they were stored, so a
person's messages are answered one after the other, in order, even when their requests overlap
or reach different server processes.
"""

from __future__ import annotations

import logging
import unicodedata
from dataclasses import dataclass, replace
from typing import Any

from bot.handoffs import PRIORITY_RANK, CaseInfo, Handoffs
from bot.i18n import Catalogs
from bot.messages import Button, InboundMessage, OutboundMessage
from bot.sessions import SessionStore
from bot.storage.models import MessageStatus
from bot.storage.repository import ContactInfo, Store, StoredInbound
from flows.base import CaseService, Contact, Reply, Text, Turn
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
        cases: CaseService,
        default_language: str,
        enabled_languages: tuple[str, ...],
        handoffs: Handoffs,
        max_message_chars: int = 4096,
    ) -> None:
        self.store = store
        self.sessions = sessions
        self.nlu = nlu
        self.catalogs = catalogs
        self.conversation = conversation
        self.cases = cases
        self.default_language = default_language
        self.enabled_languages = enabled_languages
        self.max_message_chars = max_message_chars
        self.handoffs = handoffs
        self.outbox_kick = handoffs.outbox.kick

    async def handle(
        self, inbound: InboundMessage, *, answered_in_response: bool = True
    ) -> HandleResult:
        """Store, handle once, and return the replies to this message.

        `answered_in_response`: the channel returns the replies in its HTTP answer (REST, TwiML);
        otherwise they wait in the outbox for the channel's sender.
        """
        contact = await self.store.contact_for(inbound.channel, inbound.address)
        text, truncated = clean_text(inbound.text, self.max_message_chars)
        status = MessageStatus.ANSWERED if answered_in_response else MessageStatus.QUEUED
        produced: dict[int, list[OutboundMessage]] = {}
        async with self.sessions.lock(contact.id):
            # Stored under the lock, so ids follow the order in which turns run, across
            # processes too; a message left unhandled by a crash is handled with the next one.
            message_id, duplicate = await self.store.record_inbound(
                contact.id, inbound, text, truncated=truncated
            )
            for pending in await self.store.pending_inbound(contact.id):
                # Only this request's own message is answered in its HTTP answer; replies to
                # an earlier message left unhandled (its request failed) go to the outbox.
                own = pending.id == message_id
                turn_status = status if own else MessageStatus.QUEUED
                produced[pending.id] = await self._turn(contact, pending, turn_status)
                if await self.store.get_contact(contact.id) is None:
                    break  # erased: what came after the erasure went with it
        if message_id in produced:  # also a provider's retry of a message never handled
            replies = produced[message_id]
        elif duplicate:
            replies = []
        else:  # another request handled it while this one waited for the lock
            replies = await self.store.replies_to(message_id)
        if len(produced) > (message_id in produced):
            self.outbox_kick()
        return HandleResult(contact.id, message_id, duplicate, replies)

    async def _turn(
        self, contact: ContactInfo, message: StoredInbound, status: MessageStatus
    ) -> list[OutboundMessage]:
        state = await self.sessions.load(contact.id)
        hint = state.language or message.language_hint
        parse = await self.nlu.parse(message.text, hint)
        turn = Turn(
            contact=Contact(contact.id, contact.channel, contact.address, contact.role),
            state=state,
            text=message.text,
            parse=parse,
            default_language=self.default_language,
            enabled_languages=self.enabled_languages,
            language_hint=message.language_hint,
            cases=self.cases,
        )
        case = await self.handoffs.active_for(contact.id)
        if case is not None:
            return await self._with_operator(contact, message, turn, case, status)
        inbound_status = MessageStatus.PROCESSED
        try:
            if message.truncated:
                turn.say("error.too_long")
            await self.conversation.respond(turn)
        except Exception:
            # Never silence: the person gets an apology, the message is marked failed.
            log.exception("turn failed: contact=%s message=%s", contact.id, message.id)
            inbound_status = MessageStatus.FAILED
            turn.replies = [Reply("error.generic")]
            turn.signals = []
            state = await self.sessions.load(contact.id)
            turn.state = state
        language = turn.language
        replies = self.render(turn.replies, language)
        erase = any(signal["kind"] == "erase" for signal in turn.signals)
        for signal in turn.signals:
            if signal["kind"] != "erase":
                replies += await self._apply(contact, language, signal)
        await self.sessions.save(contact.id, turn.state)
        ids = await self.store.complete_turn(
            message.id,
            contact.id,
            contact.channel,
            replies,
            status=status,
            language=parse.language,
            inbound_status=inbound_status,
            intent=parse.intent,
        )
        if erase:  # after the confirmation is made: it is still answered, then nothing is left
            await self.sessions.clear(contact.id)
            counts = await self.store.erase_contact(contact.id)
            log.info("contact %s erased: %s", contact.id, counts)
            return replies
        return [replace(reply, message_id=i) for reply, i in zip(replies, ids, strict=True)]

    async def _with_operator(
        self,
        contact: ContactInfo,
        message: StoredInbound,
        turn: Turn,
        case: CaseInfo,
        status: MessageStatus,
    ) -> list[OutboundMessage]:
        """A person whose case is with the operators: the bot stays silent and passes the
        message on. Safety triage still runs; danger raises the case's priority and is
        acknowledged once, so an emergency is never met with silence."""
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
        ids = await self.store.complete_turn(
            message.id,
            contact.id,
            contact.channel,
            replies,
            status=status,
            language=turn.parse.language,
            inbound_status=MessageStatus.PROCESSED,
            intent=turn.parse.intent,
        )
        await self.handoffs.person_wrote(case.id, message.id)
        return [replace(reply, message_id=i) for reply, i in zip(replies, ids, strict=True)]

    async def _apply(
        self, contact: ContactInfo, language: str, signal: dict[str, object]
    ) -> list[OutboundMessage]:
        """Carry out a flow's signal; returns any further message for the person."""
        kind = signal["kind"]
        if kind == "language":
            await self.store.set_contact_language(contact.id, str(signal["language"]))
        elif kind == "opt_out":
            await self.store.set_opted_out(contact.id, True)
        elif kind == "handoff":
            reason = str(signal.get("reason", "requested"))
            priority = str(signal.get("priority", "normal"))
            registration = signal.get("registration_id")
            handoff_id, created = await self.handoffs.open(
                contact.id,
                reason=reason,
                priority=priority,
                channel=contact.channel,
                language=language,
                registration_id=int(registration) if isinstance(registration, int) else None,
            )
            log.info("handoff %s open for contact %s", handoff_id, contact.id)
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
        else:
            log.warning("unknown signal %s", kind)
        return []

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
