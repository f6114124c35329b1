#!/usr/bin/env bash
# Relative-magnitudes reference values from the Python port honestdid 0.1.1 (installed only
# here, in a throw-away venv; it needs numpy < 2.3). About 15 CPU minutes.
# Run from the repository root: bash tests/reference/honestdid/make_relative_magnitudes.sh
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
VENV="$(mktemp -d)/venv"
python3 -m venv "$VENV"
"$VENV/bin/pip" install -q "honestdid==0.1.1" "numpy<2.3"
cd "$HERE" && "$VENV/bin/python" make_relative_magnitudes.py
