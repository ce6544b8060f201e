#!/usr/bin/env bash
# Build (once) the Python 3.10 virtual environment that holds Rasa 3.6 for the optional Rasa
# backend, its test and the Rasa comparison benchmark. Idempotent: a stamp file makes a second
# run instant. Prints the path of the rasa binary on stdout (progress goes to stderr).
#
#   scripts/rasa_env.sh            # build if needed, print .../bench/.rasa-venv/bin/rasa
#   RASA_PYTHON=/path/python3.10 scripts/rasa_env.sh   # use this interpreter
#
# Packages come from PyPI only (through pip as configured on the machine).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${RASA_VENV:-$ROOT/bench/.rasa-venv}"
RASA_VERSION="3.6.21"
# Tried on these machines (Python 3.10.13, x86_64): rasa's own pins resolve and run as they are
# (TensorFlow 2.12, setuptools 70.3, SQLAlchemy 1.4, pydantic 1.10), so nothing else is pinned.
PINS=(
  "rasa==${RASA_VERSION}"
)
STAMP_TEXT="rasa=${RASA_VERSION} pins=${PINS[*]}"
STAMP="$VENV/.hotline-rasa-stamp"

log() { printf '[rasa_env] %s\n' "$*" >&2; }

if [[ -f "$STAMP" && -x "$VENV/bin/rasa" && "$(cat "$STAMP")" == "$STAMP_TEXT" ]]; then
  echo "$VENV/bin/rasa"
  exit 0
fi

find_python310() {
  local candidates=()
  if [[ -n "${RASA_PYTHON:-}" ]]; then
    candidates+=("$RASA_PYTHON")
  fi
  local roots=()
  [[ -n "${PYENV_ROOT:-}" ]] && roots+=("$PYENV_ROOT")
  if command -v pyenv >/dev/null 2>&1; then
    roots+=("$(pyenv root 2>/dev/null || true)")
  fi
  roots+=("$HOME/.pyenv" "/root/.pyenv" "/opt/pyenv" "/usr/local/pyenv")
  local r d
  for r in "${roots[@]}"; do
    [[ -n "$r" && -d "$r/versions" ]] || continue
    # newest 3.10.x first
    while IFS= read -r d; do
      candidates+=("$d/bin/python")
    done < <(find "$r/versions" -maxdepth 1 -mindepth 1 -name '3.10.*' 2>/dev/null | sort -Vr)
  done
  candidates+=(python3.10 /usr/bin/python3.10 /usr/local/bin/python3.10)
  local c
  for c in "${candidates[@]}"; do
    if command -v "$c" >/dev/null 2>&1 || [[ -x "$c" ]]; then
      if "$c" -c 'import sys, venv; sys.exit(0 if sys.version_info[:2] == (3, 10) else 1)' \
        >/dev/null 2>&1; then
        command -v "$c" 2>/dev/null || echo "$c"
        return 0
      fi
    fi
  done
  return 1
}

if ! PY310="$(find_python310)"; then
  log "ERROR: no Python 3.10 interpreter found (Rasa 3.6 needs Python 3.8-3.10)."
  log "Looked in \$RASA_PYTHON, \$PYENV_ROOT/versions/3.10.*, ~/.pyenv, /root/.pyenv and PATH."
  log "Install one (e.g. 'pyenv install 3.10') or set RASA_PYTHON=/path/to/python3.10."
  exit 1
fi
log "using $PY310 ($("$PY310" --version 2>&1))"

mkdir -p "$(dirname "$VENV")"
if [[ ! -x "$VENV/bin/python" ]] || \
   ! "$VENV/bin/python" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 10) else 1)'; then
  rm -rf "$VENV"
  "$PY310" -m venv "$VENV"
fi
rm -f "$STAMP"

export PIP_DISABLE_PIP_VERSION_CHECK=1
log "installing ${PINS[*]} into $VENV (a few minutes the first time)"
# pip's machine config may name local index mirrors that lack a package: drop that noise.
pip_install() {
  local status=0
  "$VENV/bin/python" -m pip install --quiet "$@" > "$VENV/.pip.log" 2>&1 || status=$?
  grep -v 'is ignored: it is neither' "$VENV/.pip.log" >&2 || true
  return "$status"
}
# pip 24.0: the pip this install was tried with (newer pips are stricter about old metadata).
pip_install --upgrade "pip<24.1" wheel
pip_install "${PINS[@]}"

# Smoke check: the CLI and the NLU components must import.
TF_CPP_MIN_LOG_LEVEL=2 RASA_TELEMETRY_ENABLED=false "$VENV/bin/python" - >&2 <<'EOF'
import rasa
from rasa.nlu.classifiers.diet_classifier import DIETClassifier  # noqa: F401
print("rasa", rasa.__version__, "ok")
EOF

echo "$STAMP_TEXT" > "$STAMP"
echo "$VENV/bin/rasa"
