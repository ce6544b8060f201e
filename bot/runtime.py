"""Builds the bot's parts from settings; shared by the server and the terminal chat."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.alerts import OnCallAlerts, parse_oncall
from bot.channels import register_senders
from bot.config import Settings
from bot.delivery import Outbox
from bot.engine import Engine
from bot.events import EventBus
from bot.handoffs import Handoffs
from bot.hours import OpeningHours
from bot.i18n import Catalogs
from bot.registrations.store import RegistrationStore
from bot.retention import Retention, RetentionPeriods
from bot.sessions import RedisSessionStore, SessionStore, SqlSessionStore
from bot.storage.db import Database, upgrade_schema
from bot.storage.keys import load_keys, mark_database_checked
from bot.storage.rekey import reencrypt
from bot.storage.repository import Store
from bot.storage.turns import TurnStore
from flows import build_conversation
from nlu import BuiltinNLU
from nlu.types import NLUService

log = logging.getLogger(__name__)

# an internal event (never shown in the console): a web process queued outbound messages
OUTBOX_DUE = "internal.outbox_due"


@dataclass
class Runtime:
    settings: Settings
    db: Database
    store: Store
    sessions: SessionStore
    nlu: NLUService
    builtin_nlu: BuiltinNLU
    catalogs: Catalogs
    engine: Engine
    registrations: RegistrationStore
    outbox: Outbox
    events: EventBus
    handoffs: Handoffs
    retention: Retention

    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    async def start_background(self, role: str | None = None) -> None:
        """Live events, and by the process's role (HOTLINE_ROLE): "all" also runs the outbox,
        the handoff timers and retention; "web" leaves them to `hotline worker` processes and
        tells them, through Redis, when something is due; "worker" runs them and listens."""
        role = role or self.settings.hotline_role
        await self.events.start()
        if role == "web":
            self.outbox.on_kick = self._announce_due
            return
        self.outbox.start()
        self.handoffs.start()
        self.retention.start()  # data retention, beside the timers (bot/retention.py)
        if role == "worker":
            self._spawn(self._send_when_due())

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)  # held until done: the loop keeps only weak references
        task.add_done_callback(self._tasks.discard)

    def _announce_due(self) -> None:
        self._spawn(self.events.publish(OUTBOX_DUE))

    async def _send_when_due(self) -> None:
        """A worker: a web process queued something, send it now rather than at the next poll."""
        async with self.events.subscription() as queue:
            while True:
                event = await queue.get()
                if event.kind == OUTBOX_DUE:
                    self.outbox.kick()

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self.retention.stop()
        await self.handoffs.stop()
        await self.outbox.stop()
        for sender in self.outbox.senders.values():  # senders holding HTTP clients close them
            close_sender = getattr(sender, "aclose", None)
            if close_sender is not None:
                await close_sender()
        await self.events.close()
        close_nlu = getattr(self.nlu, "aclose", None)
        if close_nlu is not None:
            await close_nlu()
        await self.sessions.close()
        await self.engine.turns.close()
        await self.db.dispose()


def load_nlu(settings: Settings) -> BuiltinNLU:
    return BuiltinNLU.load(
        data_dir=settings.nlu_data_dir,
        cache_dir=settings.cache_path / "nlu",
        languages=settings.enabled_languages,
    )


def nlu_is_cached(settings: Settings) -> bool:
    """Whether :func:`load_nlu` finds its model in the cache (else it trains it)."""
    path = BuiltinNLU.cache_path(
        data_dir=settings.nlu_data_dir,
        cache_dir=settings.cache_path / "nlu",
        languages=settings.enabled_languages,
    )
    return path.is_file()


def on_call_alerts(
    settings: Settings, db: Database, catalogs: Catalogs, outbox: Outbox, hours: OpeningHours
) -> OnCallAlerts:
    return OnCallAlerts(
        db,
        catalogs,
        outbox,
        hours,
        channel=settings.oncall_channel,
        oncall=parse_oncall(settings.oncall_contacts),
        repeat=timedelta(minutes=settings.oncall_repeat_minutes),
        after={
            "emergency": timedelta(minutes=settings.oncall_emergency_minutes),
            "urgent": timedelta(minutes=settings.oncall_urgent_minutes),
        },
        language=settings.oncall_language,
        console_url=settings.console_base_url or settings.public_base_url,
    )


async def build_runtime(settings: Settings, *, builtin_nlu: BuiltinNLU | None = None) -> Runtime:
    loaded = load_keys(settings)  # encrypted by default: the first start creates the keys
    upgrade_schema(settings.database_url)
    db = Database(settings.database_url)
    if loaded.database_unchecked and loaded.path is not None:
        await reencrypt(db)  # an install from before default encryption: encrypt what it holds
        mark_database_checked(loaded.path)
    store = Store(db)
    registrations = RegistrationStore(db)
    store.erase_hooks.append(registrations.erase_for)
    sessions: SessionStore
    if settings.redis_url:
        sessions = RedisSessionStore(
            settings.redis_url, db, lock_timeout=settings.lock_timeout_seconds
        )
    else:
        sessions = SqlSessionStore(db)
    builtin = builtin_nlu or load_nlu(settings)
    nlu: NLUService = builtin
    if settings.rasa_url:
        from nlu.rasa_backend import RasaNLU

        nlu = RasaNLU(settings.rasa_url, builtin)
    languages = tuple(settings.enabled_languages)
    catalogs = Catalogs(settings.locales_dir, languages, settings.default_language)
    outbox = Outbox(
        db,
        max_attempts=settings.outbox_max_attempts,
        poll_interval=settings.outbox_poll_seconds,
    )
    register_senders(outbox, settings, db, catalogs)  # each configured channel's sender
    events = EventBus(settings.redis_url)
    hours = OpeningHours(settings.operator_hours, settings.operator_timezone)
    turns = TurnStore(db, activity_zone=ZoneInfo(settings.operator_timezone))
    handoffs = Handoffs(
        db,
        catalogs,
        outbox,
        events,
        hours,
        alerts=on_call_alerts(settings, db, catalogs, outbox, hours),
        passed_on_every=timedelta(minutes=settings.handoff_passed_on_minutes),
        escalate_after=timedelta(minutes=settings.handoff_escalate_minutes),
        snooze_default=timedelta(hours=settings.handoff_snooze_hours),
        contact_lock=sessions.lock,
        sessions=sessions,
        turns=turns,
    )
    conversation = build_conversation(
        catalogs.languages,
        misunderstandings_before_handoff=settings.misunderstandings_before_handoff,
    )
    engine = Engine(
        store=store,
        sessions=sessions,
        nlu=nlu,
        catalogs=catalogs,
        conversation=conversation,
        registrations=registrations,
        default_language=settings.default_language,
        enabled_languages=tuple(catalogs.languages),
        max_message_chars=settings.max_message_chars,
        handoffs=handoffs,
        turns=turns,
    )
    log.info(
        "hotline ready: database=%s sessions=%s nlu=%s languages=%s",
        db.engine.url.get_backend_name(),
        type(sessions).__name__,
        type(nlu).__name__,
        ",".join(catalogs.languages),
    )
    return Runtime(
        settings=settings,
        db=db,
        store=store,
        sessions=sessions,
        nlu=nlu,
        builtin_nlu=builtin,
        catalogs=catalogs,
        engine=engine,
        registrations=registrations,
        outbox=outbox,
        events=events,
        handoffs=handoffs,
        retention=Retention(
            db,
            RetentionPeriods(
                messages_days=settings.retention_messages_days,
                closed_cases_days=settings.retention_closed_cases_days,
                registrations_days=settings.retention_registrations_days,
            ),
            interval_seconds=settings.retention_interval_minutes * 60,
            forget_session=sessions.clear,
        ),
    )
