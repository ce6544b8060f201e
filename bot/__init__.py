"""hotline: the bot core (messages, engine, storage, sessions, i18n, channels)."""

from pathlib import Path

#: The checkout the bot runs from; locales/ and nlu/data/ live beside the packages.
PROJECT_ROOT = Path(__file__).resolve().parent.parent
