"""Case status: by reference or by the registered phone, after a check question."""

from __future__ import annotations

from flows.base import Flow, Option, RegistrationService, Text, Turn
from nlu import find_case_ref, find_incomplete_case_ref, parse_number, parse_phone

MAX_CHECKS = 3
STAGES = (
    "registered", "screening", "document_issued", "fit_to_travel",
    "flight_scheduled", "travelled", "closed",
)  # fmt: skip


class CaseStatusFlow(Flow):
    name = "case_status"

    async def start(self, turn: Turn) -> None:
        turn.state.enter(self.name, "reference")
        reference = find_case_ref(turn.text)
        if reference is None:
            self._ask_reference(turn)
        elif not await self._found(turn, reference):
            self._not_found(turn)

    async def handle(self, turn: Turn) -> bool:
        step = turn.state.step
        if step == "reference":
            if turn.text.strip() == "1":
                turn.state.step = "phone"
                turn.say("case.ask_phone")
                return True
            reference = find_case_ref(turn.text)
            if reference is None:
                return False
            if not await self._found(turn, reference):
                self._not_found(turn)
            return True
        if step == "phone":
            phone = parse_phone(turn.text)
            if phone is None:
                return False
            cases = await self._registrations(turn).by_phone(phone)
            if not cases:
                self._not_found(turn)
                return True
            turn.state.data["reference"] = cases[0].reference
            turn.state.step = "check"
            turn.say("case.ask_birth_year")
            return True
        if step == "check":
            return await self._check(turn)
        return False

    async def reask(self, turn: Turn) -> None:
        step = turn.state.step
        if step == "reference":
            self._ask_reference(turn)
            return
        turn.say(
            {"phone": "case.ask_phone", "check": "case.ask_birth_year"}.get(
                str(step), "case.ask_reference"
            )
        )

    @staticmethod
    def _ask_reference(turn: Turn) -> None:
        """Ask for the reference; one written with characters missing ("LY-4455") is named, so
        the person knows what to check rather than being asked the same again."""
        incomplete = find_incomplete_case_ref(turn.text)
        if incomplete is not None:
            turn.say("case.incomplete_reference", reference=incomplete)
        else:
            turn.say("case.ask_reference")

    def _registrations(self, turn: Turn) -> RegistrationService:
        if turn.registrations is None:
            raise RuntimeError("case status needs the case service")
        return turn.registrations

    async def _found(self, turn: Turn, reference: str) -> bool:
        case = await self._registrations(turn).by_reference(reference)
        if case is None:
            return False
        turn.state.data["reference"] = case.reference
        turn.state.step = "check"
        turn.say("case.ask_birth_year")
        return True

    async def _check(self, turn: Turn) -> bool:
        year = parse_number(turn.text, turn.language)
        if year is None:
            return False
        data = turn.state.data
        case = await self._registrations(turn).by_reference(data["reference"])
        if case is None or case.birth_year is None or abs(year - case.birth_year) > 0:
            data["failed"] = data.get("failed", 0) + 1
            if data["failed"] >= MAX_CHECKS or case is None:
                turn.state.enter(None)
                turn.say(
                    "case.check_failed",
                    options=(Option("1", "option.human"), Option("2", "option.menu")),
                )
                turn.state.enter("offer_person", "ask")
            else:
                turn.say("case.ask_birth_year")
            return True
        stage = case.stage if case.stage in STAGES else "registered"
        values = {"date": case.flight_date} if stage == "flight_scheduled" else {}
        turn.state.enter(None)
        turn.say("case.status", reference=case.reference, stage=Text(f"case.stage.{stage}", values))
        return True

    def _not_found(self, turn: Turn) -> None:
        turn.say(
            "case.not_found", options=(Option("1", "option.human"), Option("2", "option.menu"))
        )
        turn.state.enter("offer_person", "ask")
