#!/usr/bin/env bash
# Reference values for pbr_eval's ATE / ATC / ATO estimands on NHEFS (Hernan & Robins).
# Installs causaldata (the NHEFS copy) and statsmodels into a throw-away venv: neither is a
# dependency of pbr_eval's estimators here. Run from the repository root:
#     bash tests/reference/nhefs/make_reference.sh
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
VENV="$(mktemp -d)/venv"
python3 -m venv "$VENV"
"$VENV/bin/pip" install -q "causaldata==0.1.5" "statsmodels==0.15.0" "pandas" "numpy"
cd "$HERE" && "$VENV/bin/python" make_nhefs_reference.py
