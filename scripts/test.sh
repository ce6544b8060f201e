#!/usr/bin/env bash
# Install what the tests need (system servers, Python packages) and run the whole suite.
# The tests start their own PostgreSQL and Redis on loopback; nothing reaches the internet.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v redis-server >/dev/null || missing+=(redis-server)
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)
# the console's browser tests drive Debian's chromium with Playwright
command -v chromium >/dev/null || missing+=(chromium)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing system packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

PYTHON=${PYTHON:-$(command -v python3.11 || command -v python3)}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".[test]"

.venv/bin/ruff check .
# types: the packages, with the settings in pyproject.toml ([tool.mypy])
.venv/bin/python -m mypy
# two workers (the machine has two cores); a test file stays on one worker so its
# module fixtures (servers, trained models) are built once
.venv/bin/python -m pytest -n 2 --dist loadfile "$@"
