"""The conversations. `build_conversation` wires every flow into the router."""

from __future__ import annotations

from collections.abc import Iterable

from flows.base import Flow
from flows.commands import Commands
from flows.handoff import HandoffFlow, OfferPersonFlow
from flows.language import LanguageFlow
from flows.registration import RegistrationFlow
from flows.router import Conversation


def build_flows() -> dict[str, Flow]:
    flows: list[Flow] = [
        LanguageFlow(),
        RegistrationFlow(),
        HandoffFlow(),
        OfferPersonFlow(),
    ]
    return {flow.name: flow for flow in flows}


def build_conversation(
    languages: Iterable[str], *, misunderstandings_before_handoff: int = 2
) -> Conversation:
    return Conversation(
        build_flows(),
        Commands.load(languages=languages),
        misunderstandings_before_handoff=misunderstandings_before_handoff,
    )
