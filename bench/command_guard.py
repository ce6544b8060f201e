"""How STOP, erasure and language change are read on held-out sets: bench/command_guard.py

For every held-out message (bench/data/heldout and heldout_long), as it would be read outside any
flow and as an answer the open question did not take (flows/commands.py `meant_command`):
acted on at once ("sure"), asked about first ("likely"), or not a command. A message of another
intent acted on at once would be a misfire.
"""

from __future__ import annotations

from collections import Counter

from bot import PROJECT_ROOT
from bot.config import Settings
from bot.runtime import load_nlu
from bot.sessions import ConversationState
from flows.base import Contact, Turn
from flows.commands import GUARDED_INTENTS, Commands, meant_command
from flows.router import SWITCH_CONFIDENCE
from nlu.training_data import load_examples

POSITIONS = {"outside a flow": (0.5, False), "open question": (SWITCH_CONFIDENCE, True)}


def main() -> None:
    nlu = load_nlu(Settings(_env_file=None, cache_dir=PROJECT_ROOT / "var" / "cache"))
    commands = Commands.load()
    counts: Counter[tuple[str, str, str, str]] = Counter()
    for folder in ("heldout", "heldout_long"):
        for example in load_examples(PROJECT_ROOT / "bench" / "data" / folder):
            parse = nlu.parse_sync(example.text)
            truth = GUARDED_INTENTS.get(example.intent, "other")
            for position, (confidence, needs_cue) in POSITIONS.items():
                turn = Turn(
                    Contact(1, "sms", "+0", "migrant"),
                    ConversationState(language="en"),
                    example.text,
                    parse,
                    "en",
                    ("en", "ar", "fr", "ha"),
                )
                turn.command = commands.match(turn.text)
                meant = meant_command(turn, confidence, commands, needs_cue=needs_cue)
                if meant is None:
                    outcome = "none"
                elif meant.command != truth:
                    outcome = "wrong command " + ("acted" if meant.sure else "asked")
                else:
                    outcome = "acted" if meant.sure else "asked"
                counts[(folder, position, truth, outcome)] += 1
    print(f"{'set':13} {'position':15} {'intent':9} {'outcome':20} n")
    for (folder, position, truth, outcome), n in sorted(counts.items()):
        print(f"{folder:13} {position:15} {truth:9} {outcome:20} {n}")


if __name__ == "__main__":
    main()
