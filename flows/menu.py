"""The main menu: numbered options that work by SMS, keypad and buttons."""

from __future__ import annotations

from flows.base import Option, Turn

# number, label key, flow it starts
MAIN_MENU: tuple[tuple[str, str, str], ...] = (
    ("1", "menu.option.return", "registration"),
    ("2", "menu.option.services", "services"),
    ("3", "menu.option.case_status", "case_status"),
    ("4", "menu.option.human", "handoff"),
    ("5", "menu.option.language", "language"),
)

MENU_FLOWS = {number: flow for number, _, flow in MAIN_MENU}
# Only contacts an administrator made mobilizers see and can pick this one.
MOBILIZER_OPTION = ("6", "menu.option.mobilizer", "mobilizer")


def menu_flows(turn: Turn) -> dict[str, str]:
    flows = dict(MENU_FLOWS)
    if turn.contact.role == "mobilizer":
        flows[MOBILIZER_OPTION[0]] = MOBILIZER_OPTION[2]
    return flows


def show_main_menu(turn: Turn) -> None:
    turn.state.enter(None)
    entries = list(MAIN_MENU)
    if turn.contact.role == "mobilizer":
        entries.append(MOBILIZER_OPTION)
    turn.say("menu.main", options=tuple(Option(number, key) for number, key, _ in entries))


def yes_no() -> tuple[Option, ...]:
    return (Option("1", "option.yes"), Option("2", "option.no"))
