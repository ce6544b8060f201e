#!/usr/bin/env bash
# Install the bot into .venv and start it with the embedded defaults (SQLite, in-process
# sessions, the built-in NLU). Extra arguments go to `hotline serve` (e.g. --port 9000).
set -euo pipefail
cd "$(dirname "$0")/.."
started=$SECONDS
PYTHON=${PYTHON:-$(command -v python3.11 || command -v python3)}
if [ ! -x .venv/bin/python ]; then
  echo "[1/3] creating the virtual environment .venv"
  "$PYTHON" -m venv .venv
else
  echo "[1/3] using the virtual environment .venv"
fi
echo "[2/3] installing hotline and its packages (the first time takes a minute or two)"
# one line per package as pip collects it, so a first install is visibly moving
.venv/bin/python -m pip install --disable-pip-version-check --progress-bar off -e . 2>&1 \
  | grep --line-buffered -E "^(Collecting|Successfully installed|ERROR|error)" \
  | sed -u -E 's/^Collecting ([^ ]+).*/      \1/; s/^Successfully installed .*/      installed/' \
  || true
# the filter above never fails the script: check the install itself
.venv/bin/python -c "import bot, server" || { echo "the install failed (see above)"; exit 1; }
echo "[3/3] starting (installed in $((SECONDS - started)) s); the server says when it listens"
exec .venv/bin/hotline serve "$@"
