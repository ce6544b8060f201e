"""What a flow sees in a turn and what it answers with: message keys, never literal text."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from bot.sessions import ConversationState
from nlu.normalize import ascii_digits
from nlu.types import ParseResult


@dataclass(frozen=True, slots=True)
class Text:
    """A message value that is itself a catalog message, rendered in the reply's language."""

    key: str
    values: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ChangeLanguage:
    """The person chose (or wrote in) another language: the contact keeps it."""

    language: str
    kind: ClassVar[str] = "language"


@dataclass(frozen=True, slots=True)
class OptOut:
    """STOP: no more messages unless the person writes again."""

    kind: ClassVar[str] = "opt_out"


@dataclass(frozen=True, slots=True)
class Erase:
    """Delete what is kept about the person, after this turn's confirmation is stored."""

    kind: ClassVar[str] = "erase"


@dataclass(frozen=True, slots=True)
class OpenHandoff:
    """A person is needed: the core opens (or raises) the case and tells the queue position."""

    reason: str
    priority: str = "normal"
    registration_id: int | None = None
    kind: ClassVar[str] = "handoff"


@dataclass(frozen=True, slots=True)
class RememberCity:
    """The person said where they are (a canonical city): broadcasts to that city reach them."""

    city: str
    kind: ClassVar[str] = "city"


# what a flow asks the core to do beside its replies (carried out in the turn's write)
Signal = ChangeLanguage | OptOut | Erase | OpenHandoff | RememberCity


@dataclass(frozen=True, slots=True)
class Option:
    """A numbered choice: a button where the channel has buttons, a numbered line where not."""

    number: str
    key: str | None = None  # catalog key of the label
    label: str | None = None  # a literal label (a language's own name, a country name)
    values: Mapping[str, Any] = field(default_factory=dict)
    recording: str | None = None  # a literal label's recorded name ("country.NG"): voice line


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


class RegistrationService(Protocol):
    """What flows may do with return registrations (the bot core provides it)."""

    async def register(
        self,
        *,
        answers: dict[str, Any],
        contact_id: int | None,
        collected_by: int | None,
        priority: str,
        vulnerabilities: list[str],
        needs_review: bool,
        language: str,
        channel: str,
    ) -> Any: ...  # .reference, .existing

    async def by_reference(self, reference: str) -> Any: ...  # .stage, .birth_year, … or None
    async def by_phone(self, phone: str) -> list[Any]: ...
    async def collected_today(self, collected_by: int) -> list[tuple[str, str]]: ...


@dataclass
class Turn:
    """One incoming message being answered.

    `text` holds every decimal digit as ASCII ("٠", "۰" and "０" are "0"), so that every answer
    path (commands, numbered choices, numbers, "0 people") reads digits the same way.
    """

    contact: Contact
    state: ConversationState
    text: str
    parse: ParseResult
    default_language: str
    enabled_languages: tuple[str, ...]
    language_hint: str | None = None  # from the channel: Telegram's language_code, a chat page
    danger: str | None = None  # safety triage's category for this message, if any
    danger_check: bool = False  # triage is unsure: ask "are you in danger right now?"
    # while asking: the urgent category whose case opens if the answer is "no" (a disclosure of
    # trafficking or detention that is not a danger to life this minute still reaches a person)
    danger_if_not_now: str | None = None
    command: str | None = None  # the global command this text is (menu, yes, back, …), if any
    registrations: RegistrationService | None = None
    # The channel takes keys (and speech) only, a phone call's menus: flows ask what a keypad
    # can answer, in words that say which key to press.
    keypad: bool = False
    replies: list[Reply] = field(default_factory=list)
    signals: list[Signal] = field(default_factory=list)  # for the core: handoff, opt-out

    def __post_init__(self) -> None:
        self.text = ascii_digits(self.text)

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

    def signal(self, signal: Signal) -> None:
        self.signals.append(signal)


class Flow(ABC):
    """A conversation with steps. State lives in `turn.state` (flow, step, data)."""

    name: ClassVar[str]

    @abstractmethod
    async def start(self, turn: Turn) -> None: ...

    @abstractmethod
    async def handle(self, turn: Turn) -> bool:
        """Take the message. False when it is no answer to this step: then say nothing, the
        router decides whether it starts something else or calls `reask`."""

    def answers_itself(self, step: str | None, text: str) -> bool:
        """True when, at this step, a global command word is an answer (e.g. "0" people)."""
        return False

    def plain_answer(self, step: str | None, text: str) -> bool:
        """True when the text is a recognised answer to this step's closed question (one of
        its words, not a story): safety triage then goes by danger phrases only."""
        return False

    def expected_disclosures(self, step: str | None) -> frozenset[str]:
        """Safety categories that are an answer, not an alarm, at this step (e.g. detention
        when asked where someone is detained). Emergencies always interrupt."""
        return frozenset()

    def answer_concepts(self, step: str | None) -> frozenset[str]:
        """Danger-detector concepts whose words are this step's plain answers (the Hausa
        "an sace shi", "it was stolen", at the passport question, where "sace" also means
        "kidnap"): a plain answer made only of them is the answer, not an alarm."""
        return frozenset()

    async def reask(self, turn: Turn) -> None:
        """Say why the answer did not fit and ask again (called after `handle` said False)."""
        turn.say("not_understood")

    async def repeat_question(self, turn: Turn) -> None:
        """Ask the current step's question again, after an interruption the person did not
        mean (they answered "no" to "Do you want to stop receiving messages?")."""
        await self.reask(turn)
