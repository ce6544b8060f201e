"""What a flow sees in a turn and what it answers with: message keys, never literal text."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from nlu.types import ParseResult

from bot.sessions import ConversationState


@dataclass(frozen=True, slots=True)
class Option:
    """A numbered choice: a button where the channel has buttons, a numbered line where not."""

    number: str
    key: str | None = None  # catalog key of the label
    label: str | None = None  # a literal label (a language's own name, a country name)
    values: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Reply:
    key: str
    values: Mapping[str, Any] = field(default_factory=dict)
    options: tuple[Option, ...] = ()
    count: int | None = None  # for plural messages
    every_language: bool = False  # the same message once in each enabled language


@dataclass(frozen=True, slots=True)
class Contact:
    id: int
    channel: str
    address: str
    role: str


@dataclass
class Turn:
    """One incoming message being answered."""

    contact: Contact
    state: ConversationState
    text: str
    parse: ParseResult
    default_language: str
    enabled_languages: tuple[str, ...]
    language_hint: str | None = None  # from the channel: Telegram's language_code, a chat page
    command: str | None = None  # the global command this text is (menu, yes, back, …), if any
    replies: list[Reply] = field(default_factory=list)
    signals: list[dict[str, Any]] = field(default_factory=list)  # for the core: handoff, opt-out

    @property
    def language(self) -> str:
        return self.state.language or self.default_language

    def say(
        self,
        key: str,
        *,
        options: tuple[Option, ...] = (),
        count: int | None = None,
        every_language: bool = False,
        **values: Any,
    ) -> None:
        self.replies.append(Reply(key, values, options, count, every_language))

    def signal(self, kind: str, **details: Any) -> None:
        self.signals.append({"kind": kind, **details})


class Flow(ABC):
    """A conversation with steps. State lives in `turn.state` (flow, step, data)."""

    name: ClassVar[str]

    @abstractmethod
    async def start(self, turn: Turn) -> None: ...

    @abstractmethod
    async def handle(self, turn: Turn) -> bool:
        """Take the message; False when it was not understood at this step."""
