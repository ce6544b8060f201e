"""The conversations. `build_conversation` wires every flow into the router."""

from __future__ import annotations

from collections.abc import Iterable

from flows.base import Flow
from flows.case_status import CaseStatusFlow
from flows.commands import Commands
from flows.handoff import HandoffFlow, OfferPersonFlow
from flows.language import LanguageFlow
from flows.mobilizer import MobilizerFlow
from flows.privacy import EraseFlow, StopFlow
from flows.registration import RegistrationFlow
from flows.router import Conversation
from flows.safety import SafetyFlow, Triage
from flows.services import ServiceDirectory, ServicesFlow


def build_flows() -> dict[str, Flow]:
    directory = ServiceDirectory.load()
    registration = RegistrationFlow(city_name=directory.city_name)
    flows: list[Flow] = [
        LanguageFlow(),
        registration,
        ServicesFlow(directory),
        CaseStatusFlow(),
        MobilizerFlow(registration),
        HandoffFlow(),
        OfferPersonFlow(),
        SafetyFlow(),
        StopFlow(),
        EraseFlow(),
    ]
    registry = {flow.name: flow for flow in flows}
    registry["return_info"] = registry["registration"]  # explains the programme, then asks
    for flow in flows:
        if isinstance(flow, SafetyFlow):
            flow.bind(registry)  # to carry on after "no, I am not in danger"
    return registry


def build_conversation(
    languages: Iterable[str], *, misunderstandings_before_handoff: int = 2
) -> Conversation:
    flows = build_flows()
    return Conversation(
        flows,
        Commands.load(languages=languages),
        Triage.load(flows),
        misunderstandings_before_handoff=misunderstandings_before_handoff,
    )
