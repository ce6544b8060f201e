"""Someone is always told: on-call alerts for danger cases nobody has taken, and the emergency
numbers a person in danger is given.

An emergency or urgent case that waits in the open queue while the team is off duty (outside
`bot/hours.py`'s opening hours), or longer than its priority's limit in opening hours, alerts
the first person of the on-call list through the configured channel (SMS or WhatsApp through
Twilio, or Telegram: the outbox's senders). Until someone takes the case, the next person on
the list is alerted every `repeat` (after the last, the list starts again). An alert carries
the case's priority and console link, never the person's name, number or words. Each alert
is a `HandoffAlert` row, which the console's case page shows.

Emergency numbers are data, set by an admin in the console ("Content & settings"): a default
and per-city overrides (`EmergencyNumber`). No number is written in code or in the catalogs.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from bot.delivery import Outbox, Recipient, SendError
from bot.hours import OpeningHours
from bot.i18n import Catalogs
from bot.messages import OutboundMessage
from bot.storage.db import Database
from bot.storage.models import (
    AuditEvent,
    Contact,
    EmergencyNumber,
    Handoff,
    HandoffAlert,
    HandoffPriority,
    HandoffStatus,
    OnCallContact,
    as_utc,
    utcnow,
)

log = logging.getLogger(__name__)

DEFAULT_CITY = ""  # the EmergencyNumber row that applies where no city row does
ALERTED_PRIORITIES = (HandoffPriority.EMERGENCY.value, HandoffPriority.URGENT.value)
# digits and the signs that write phone numbers and separate several: "1515, 193 / +218 21 …"
_NUMBERS = re.compile(r"^[0-9+()\-/ ,]{2,128}$")


# -- emergency numbers ------------------------------------------------------------------------
class NumbersError(ValueError):
    """Not a list of phone numbers."""


def clean_numbers(text: str) -> str:
    """The numbers as they will be shown: spaces tidied; only digits and phone signs, so the
    text reads the same in every language."""
    numbers = " ".join(text.split())
    if numbers and (not _NUMBERS.match(numbers) or not any(c.isdigit() for c in numbers)):
        raise NumbersError(
            "Emergency numbers may hold digits, spaces, + ( ) - / and commas only, e.g. 1515, 193"
        )
    return numbers


class EmergencyNumbers:
    """The configured emergency numbers, by city ("" is the default)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def all(self) -> dict[str, str]:
        async with self.db.session() as session:
            rows = await session.scalars(select(EmergencyNumber))
            return {row.city: row.numbers for row in rows}

    async def for_city(self, city: str | None) -> str | None:
        """The city's numbers, else the default, else None (nothing configured)."""
        configured = await self.all()
        if city and configured.get(city):
            return configured[city]
        return configured.get(DEFAULT_CITY) or None

    async def for_contact(self, contact_id: int) -> str | None:
        async with self.db.session() as session:
            city = await session.scalar(select(Contact.city).where(Contact.id == contact_id))
        return await self.for_city(city)

    async def replace(self, numbers: dict[str, str], *, actor: str) -> dict[str, str]:
        """Store these numbers (city → numbers; empty: none for that city). Raises NumbersError
        before anything is changed."""
        cleaned = {city: clean_numbers(value) for city, value in numbers.items()}
        kept = {city: value for city, value in cleaned.items() if value}
        async with self.db.session() as session, session.begin():
            await session.execute(delete(EmergencyNumber))
            for city, value in kept.items():
                session.add(EmergencyNumber(city=city, numbers=value))
            session.add(
                AuditEvent(
                    actor=actor,
                    action="settings.emergency_numbers",
                    subject="emergency_numbers",
                    details={"cities": sorted(city or "(default)" for city in kept)},
                )
            )
        return kept


# -- the on-call list ---------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class OnCall:
    name: str  # shown in the console; the address is not
    address: str


def parse_oncall(entries: list[str]) -> list[OnCall]:
    """ "Name=address" entries, in the order they are alerted; an entry without a name is named
    by its place in the list."""
    people = []
    for index, entry in enumerate(entries, start=1):
        name, sep, address = entry.partition("=")
        if not sep:
            name, address = f"on-call {index}", name
        name, address = name.strip()[:64], address.strip()
        if address:
            people.append(OnCall(name or f"on-call {index}", address))
    return people


_ADDRESS = re.compile(r"^\+?[0-9]{4,20}$|^-?[0-9]{4,20}$")


def read_oncall_lines(text: str) -> list[OnCall]:
    """The console's on-call form: one "Name=address" a line, in order. Raises OnCallError."""
    people = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        name, sep, address = line.partition("=")
        address = "".join(address.split())
        if not sep or not name.strip() or not _ADDRESS.match(address):
            raise OnCallError(
                f"Line {number}: write Name=address (a phone number such as +218911234567, "
                "or a Telegram chat id)"
            )
        people.append(OnCall(name.strip()[:64], address))
    return people


class OnCallError(ValueError):
    """Not an on-call list."""


@dataclass(frozen=True, slots=True)
class AlertView:
    step: int
    recipient: str
    channel: str
    trigger: str
    status: str
    error: str | None
    created_at: datetime


class OnCallAlerts:
    def __init__(
        self,
        db: Database,
        catalogs: Catalogs,
        outbox: Outbox,
        hours: OpeningHours,
        *,
        channel: str | None,
        oncall: list[OnCall],
        repeat: timedelta = timedelta(minutes=10),
        after: dict[str, timedelta] | None = None,
        language: str = "en",
        console_url: str | None = None,
    ) -> None:
        self.db = db
        self.catalogs = catalogs
        self.outbox = outbox
        self.hours = hours
        self.channel = channel
        self.oncall = oncall
        self.repeat = repeat
        self.after = after or {
            HandoffPriority.EMERGENCY.value: timedelta(minutes=5),
            HandoffPriority.URGENT.value: timedelta(minutes=30),
        }
        self.language = language if catalogs.supports(language) else catalogs.languages[0]
        self.console_url = (console_url or "").rstrip("/")

    async def people(self) -> tuple[list[OnCall], str]:
        """The escalation list and where it comes from: the console's list when an admin set
        one ("console"), else the ONCALL_CONTACTS setting ("settings")."""
        async with self.db.session() as session:
            rows = list(
                await session.scalars(select(OnCallContact).order_by(OnCallContact.position))
            )
        if rows:
            return [OnCall(row.name, row.address) for row in rows], "console"
        return list(self.oncall), "settings"

    async def configured(self) -> bool:
        """Alerts can go out: a channel, someone on the list, and a sender for the channel."""
        if not (self.channel and self.channel in self.outbox.senders):
            return False
        return bool((await self.people())[0])

    async def replace_people(self, people: list[OnCall], *, actor: str) -> None:
        """The console's list (empty: back to the setting)."""
        async with self.db.session() as session, session.begin():
            await session.execute(delete(OnCallContact))
            for position, person in enumerate(people):
                session.add(
                    OnCallContact(position=position, name=person.name, address=person.address)
                )
            session.add(
                AuditEvent(
                    actor=actor,
                    action="settings.oncall",
                    subject="oncall_contacts",
                    details={"names": [person.name for person in people]},
                )
            )

    def link(self, handoff_id: int) -> str:
        return f"{self.console_url}/console/cases/{handoff_id}"

    def text(self, handoff_id: int, priority: str) -> str:
        """The alert: priority and link only, nothing the person said or is."""
        catalogs, language = self.catalogs, self.language
        return catalogs.text(
            language,
            "oncall.alert",
            priority=catalogs.text(language, f"oncall.priority.{priority}"),
            case=handoff_id,
            link=self.link(handoff_id),
        )

    # -- the timer's pass -------------------------------------------------------------------
    async def run(self, now: datetime | None = None) -> int:
        """Alert for every danger case due an alert now; returns the alerts sent."""
        if not self.channel:
            return 0
        people, _ = await self.people()
        if not people:
            return 0
        now = now or utcnow()
        open_now = self.hours.is_open(now)
        async with self.db.session() as session:
            cases = (
                await session.execute(
                    select(Handoff.id, Handoff.priority, Handoff.waiting_since).where(
                        Handoff.status == HandoffStatus.OPEN,
                        Handoff.assigned_to_id.is_(None),
                        Handoff.priority.in_(ALERTED_PRIORITIES),
                        Handoff.waiting_since.is_not(None),
                    )
                )
            ).all()
            ids = [row[0] for row in cases]
            last_step = dict(
                (
                    await session.execute(
                        select(HandoffAlert.handoff_id, func.max(HandoffAlert.step))
                        .where(HandoffAlert.handoff_id.in_(ids))
                        .group_by(HandoffAlert.handoff_id)
                    )
                ).all()
            )
            last: dict[int, HandoffAlert] = {}
            if last_step:
                rows = await session.scalars(
                    select(HandoffAlert).where(HandoffAlert.handoff_id.in_(list(last_step)))
                )
                last = {r.handoff_id: r for r in rows if r.step == last_step[r.handoff_id]}
        sent = 0
        for handoff_id, priority, waiting_since in cases:
            previous = last.get(handoff_id)
            if previous is None:
                since = as_utc(waiting_since)
                assert since is not None
                trigger = "closed_hours" if not open_now else "unclaimed"
                due = since if not open_now else since + self.after.get(priority, timedelta(0))
                step = 0
            else:
                trigger = "repeat"
                created = as_utc(previous.created_at)
                assert created is not None
                # a failed alert does not wait: the next person on the list is tried at once
                due = created if previous.status == "failed" else created + self.repeat
                step = previous.step + 1
            person = people[step % len(people)]
            if now >= due and await self._alert(handoff_id, priority, step, trigger, person, now):
                sent += 1
        return sent

    async def _alert(
        self,
        handoff_id: int,
        priority: str,
        step: int,
        trigger: str,
        person: OnCall,
        now: datetime,
    ) -> bool:
        channel = self.channel or ""
        try:  # the step's row first: another process's timer that got there sends nothing
            async with self.db.session() as session, session.begin():
                row = HandoffAlert(
                    handoff_id=handoff_id,
                    step=step,
                    recipient=person.name,
                    channel=channel,
                    trigger=trigger,
                    created_at=now,
                )
                session.add(row)
                await session.flush()
                alert_id = row.id
        except IntegrityError:
            return False
        status, error = "sent", None
        sender = self.outbox.senders.get(channel)
        if sender is None:
            status, error = "failed", f"no {channel} sender configured"
        else:
            message = OutboundMessage(
                text=self.text(handoff_id, priority),
                language=self.language,
                direction=self.catalogs.direction(self.language),
            )
            # last_inbound_at now: WhatsApp's free-form text is tried; Twilio's refusal
            # outside the 24-hour window falls back to the configured template.
            recipient = Recipient(0, channel, person.address, self.language, now)
            try:
                await sender.send(recipient, message)
            except SendError as exc:
                status, error = "failed", exc.reason[:255]
            except Exception as exc:  # a provider fault must not stop the other alerts
                log.exception("on-call alert failed: case=%s step=%s", handoff_id, step)
                status, error = "failed", type(exc).__name__
        async with self.db.session() as session, session.begin():
            stored = await session.get(HandoffAlert, alert_id)
            if stored is not None:
                stored.status, stored.error = status, error
        log.info("on-call alert case=%s step=%s %s", handoff_id, step, status)
        return status == "sent"

    # -- the console --------------------------------------------------------------------------
    async def for_case(self, handoff_id: int) -> list[AlertView]:
        async with self.db.session() as session:
            rows = await session.scalars(
                select(HandoffAlert)
                .where(HandoffAlert.handoff_id == handoff_id)
                .order_by(HandoffAlert.step)
            )
            return [
                AlertView(
                    step=r.step,
                    recipient=r.recipient,
                    channel=r.channel,
                    trigger=r.trigger,
                    status=r.status,
                    error=r.error,
                    created_at=r.created_at,
                )
                for r in rows
            ]
