"""Run a benchmark and commit what it printed: ``benchmarks/results/<name>.txt``.

Run: python benchmarks/record.py [--name NAME] benchmarks/bench_x.py [ARGS ...]

The file starts with the command, the date, the pbr_eval version, the number of CPUs and
the load average before the run, then holds the benchmark's standard output unchanged.
Figures that the docs quote from a benchmark are checked against these files by
``tests/test_docs.py`` (``<!-- docs-figures-from: benchmarks/results/<name>.txt -->``),
never re-timed there.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pbr_eval

RESULTS = Path(__file__).resolve().parent / "results"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--name", help="file name without .txt (default: the script's name)")
    ap.add_argument("script")
    ap.add_argument("args", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    name = a.name or Path(a.script).stem
    cmd = [sys.executable, a.script, *a.args]
    shown = " ".join(["python", shlex.quote(a.script), *map(shlex.quote, a.args)])
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    header = (f"$ {shown}\n# {dt.datetime.now().isoformat(timespec='seconds')}; pbr_eval "
              f"{pbr_eval.__version__}; {os.cpu_count()} CPUs; load average before: {load}\n")
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout + proc.stderr)
        return proc.returncode
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"{name}.txt"
    out.write_text(header + proc.stdout, encoding="utf-8")
    print(out.read_text(encoding="utf-8"), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
