"""Request and response bodies of /api/v1 (cases, accounts)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Role = Literal["operator", "supervisor", "admin"]
Priority = Literal["emergency", "urgent", "normal"]
Outcome = Literal[
    "resolved", "referred", "registered", "callback_done", "no_response", "duplicate", "other"
]


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# -- cases -------------------------------------------------------------------------------------
class CaseSummary(Out):
    id: int
    status: str
    priority: str
    reason: str
    channel: str
    channel_label: str = Field(description="The channel as the console names it: 'web chat'")
    language: str | None
    city: str | None
    contact_id: int
    address_masked: str = Field(description="The address with all but its last 3 characters hidden")
    assigned_to_id: int | None
    assigned_to_name: str | None
    waiting_since: datetime | None = Field(description="The person's oldest unanswered message")
    waiting_minutes: int | None
    created_at: datetime
    escalation_level: int
    snoozed_until: datetime | None
    outcome: str | None
    preview: str | None = Field(description="The start of the person's last message")
    preview_direction: str = Field(description="'rtl' or 'auto', for the dir attribute")


class MessageOut(Out):
    id: int
    direction: Literal["in", "out"]
    text: str
    language: str | None
    dir: str = Field(description="'rtl' for Arabic, otherwise 'auto'")
    author: str = Field(description="'person', 'bot', 'broadcast' or the operator's name")
    operator_id: int | None
    status: str = Field(description="received/processed/… inbound; queued/sent/delivered/… out")
    created_at: datetime
    error: str | None


class NoteOut(Out):
    id: int
    author: str
    text: str
    created_at: datetime


class RegistrationOut(Out):
    id: int
    reference: str
    full_name: str
    country: str
    age: int | None
    sex: str | None
    city: str | None
    detained: bool
    detention_place: str | None
    document: str | None
    family_size: int
    flags: list[str] = Field(description="Vulnerability flags")
    priority: str
    needs_review: bool
    stage: str
    created_at: datetime


class CallOut(Out):
    id: int
    status: str
    outcome: str | None
    recording_url: str | None = Field(
        description="The console's address of the call's recording (signed-in operators)"
    )
    recording_seconds: int | None
    duration_seconds: int | None
    started_at: datetime


class ContactOut(Out):
    id: int
    channel: str
    language: str | None
    role: str
    opted_out: bool
    city: str | None
    address_masked: str
    last_inbound_at: datetime | None
    whatsapp_window_open: bool | None = Field(
        description="WhatsApp only: whether the 24-hour window is open (closed: a template is "
        "sent instead of free text)"
    )


class CaseOut(Out):
    id: int
    status: str
    priority: str
    reason: str
    channel: str
    language: str | None
    outcome: str | None
    created_at: datetime
    closed_at: datetime | None
    waiting_since: datetime | None
    snoozed_until: datetime | None
    escalation_level: int
    assigned_to_id: int | None
    assigned_to_name: str | None
    opened_by_name: str | None
    contact: ContactOut
    registrations: list[RegistrationOut]
    notes: list[NoteOut]
    call: CallOut | None
    messages: list[MessageOut]
    queue_position: int = Field(0, description="Place in the open queue (0: not waiting)")


class OpenCase(BaseModel):
    channel: str = Field(max_length=32, examples=["telegram"])
    address: str = Field(max_length=128, description="The contact's address on that channel")
    priority: Priority = "normal"
    language: str | None = Field(None, max_length=16)


class Opened(BaseModel):
    id: int
    created: bool = Field(description="False: the contact already had an active case")


class Assign(BaseModel):
    operator_id: int | None = Field(description="None: back to the open queue")


class Reply(BaseModel):
    text: str | None = Field(None, max_length=20_000, description="Free text …")
    canned: str | None = Field(None, max_length=64, description="… or a canned reply's name")
    language: str | None = Field(
        None, max_length=16, description="Canned only: the language (default: the person's)"
    )


class Sent(BaseModel):
    message_id: int


class NoteIn(BaseModel):
    text: str = Field(min_length=1, max_length=5000)


class NoteCreated(BaseModel):
    note_id: int


class Snooze(BaseModel):
    until: datetime | None = Field(
        None,
        description="When the case comes back (default: when the person writes, or after "
        "handoff_snooze_hours)",
    )


class Close(BaseModel):
    outcome: Outcome


class Typing(BaseModel):
    shown_to_person: bool = Field(description="True when Telegram showed 'typing…' to the person")


class Address(BaseModel):
    address: str


class CannedOut(Out):
    name: str
    title: str
    language: str
    text: str
    english: str
    direction: str


# -- accounts ----------------------------------------------------------------------------------
class Me(BaseModel):
    id: int
    username: str
    display_name: str
    role: Role
    languages: list[str]
    via: Literal["session", "token"]


class OperatorBrief(Out):
    id: int
    username: str
    display_name: str
    role: str
    languages: list[str]


class OperatorOut(OperatorBrief):
    active: bool
    must_change_password: bool
    locked: bool
    last_login_at: datetime | None
    created_at: datetime
    second_factor: bool = Field(description="A TOTP second factor is set up")


class OperatorCreate(BaseModel):
    username: str = Field(min_length=2, max_length=64, pattern=r"^[a-z0-9][a-z0-9_.\-]+$")
    role: Role = "operator"
    display_name: str | None = Field(None, max_length=128)
    languages: list[str] = Field(default_factory=list, description="Languages they read")


class OperatorCreated(BaseModel):
    id: int
    username: str
    one_time_password: str = Field(description="Shown once; changed at the first sign-in")


class OperatorUpdate(BaseModel):
    role: Role | None = None
    display_name: str | None = Field(None, max_length=128)
    languages: list[str] | None = None
    active: bool | None = Field(None, description="False disables the account (signs it out)")


class PasswordReset(BaseModel):
    one_time_password: str


class TokenCreate(BaseModel):
    name: str = Field(min_length=1, max_length=64)
    days: int | None = Field(None, ge=1, le=3650, description="Lifetime; None: until revoked")


class TokenOut(Out):
    id: int
    name: str
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None
    active: bool


class TokenCreated(BaseModel):
    id: int
    token: str = Field(description="Shown once; only its hash is stored")


class ContactRole(BaseModel):
    channel: str = Field(max_length=32)
    address: str = Field(max_length=128)
    role: Literal["migrant", "mobilizer"]


class ContactRoleSet(BaseModel):
    contact_id: int
    role: str


class SettingOut(BaseModel):
    name: str
    value: str
    description: str | None
