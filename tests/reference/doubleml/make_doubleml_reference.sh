#!/usr/bin/env bash
# DoubleML reference values (doubleml installed only here, in a throw-away venv).
# Run from the repository root: bash tests/reference/doubleml/make_doubleml_reference.sh
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
VENV="$(mktemp -d)/venv"
python3 -m venv "$VENV"
"$VENV/bin/pip" install -q "doubleml==0.11.4"
cd "$HERE" && "$VENV/bin/python" make_doubleml_reference.py
