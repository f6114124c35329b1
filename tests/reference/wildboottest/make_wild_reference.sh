#!/usr/bin/env bash
# Reference values for pbr_eval's wild cluster bootstrap from the wildboottest port.
# The port is installed here, in a throw-away virtual environment: never as a pbr_eval
# dependency. Run from anywhere: bash tests/reference/wildboottest/make_wild_reference.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="${REF_VENV:-$(mktemp -d)/venv}"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q wildboottest==0.3.2 statsmodels
fi
cd "$(mktemp -d)"
"$venv/bin/python" "$here/make_wild_reference.py"
