#!/usr/bin/env bash
# Install the bot into .venv and start it with the embedded defaults (SQLite, in-process
# sessions, the built-in NLU). Extra arguments go to `hotline serve` (e.g. --port 9000).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-$(command -v python3.11 || command -v python3)}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e .
exec .venv/bin/hotline serve "$@"
