#!/usr/bin/env bash
# Reference values for pbr_eval's synthetic control / synthetic difference-in-differences.
# The port is installed here, in a throw-away virtual environment: never as a pbr_eval
# dependency. Run from anywhere: bash tests/reference/synthdid/make_synthdid_reference.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="${REF_VENV:-$(mktemp -d)/venv}"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q synthdid-py==0.1.0
fi
cd "$(mktemp -d)"   # not the caller's folder: a stray module there could shadow the stdlib
"$venv/bin/python" "$here/make_synthdid_reference.py"
