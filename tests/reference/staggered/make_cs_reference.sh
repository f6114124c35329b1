#!/usr/bin/env bash
# Reference values for pbr_eval's staggered difference-in-differences (Callaway & Sant'Anna).
# The ports are installed here, in a throw-away virtual environment: never as pbr_eval
# dependencies. Run from anywhere: bash tests/reference/staggered/make_cs_reference.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="${REF_VENV:-$(mktemp -d)/venv}"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q csdid==0.4.3 moderndid==0.2.0 diff-diff==3.13.0
fi
"$venv/bin/python" "$here/make_cs_reference.py"
