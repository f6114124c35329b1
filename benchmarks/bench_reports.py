"""Timing of report writing, `pbr-eval demo` and `pbr-eval run` (run on demand).

    python benchmarks/bench_reports.py

Prints the best of ``REPEATS`` wall times for each step (the machine is shared, so the
best run is the least disturbed one).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pbr_eval
from pbr_eval.datasets import load_reoffending
from pbr_eval.reporting import figures

REPEATS = 3
ROOT = Path(__file__).resolve().parents[1]


def best(fn, repeats: int = REPEATS) -> float:
    times = []
    for _ in range(repeats):
        figures._CACHE.clear()
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    sim = load_reoffending()
    res = pbr_eval.estimate(pbr_eval.Cohort(sim.data, **sim.cohort_args), method="nearest")
    rec = pbr_eval.price(res, value_per_outcome=5000, better="lower", outcomes=["reoffended"])
    with tempfile.TemporaryDirectory() as tmp:
        for name in ("pilot.html", "pilot.md", "workbook.xlsx"):
            t = best(lambda n=name: pbr_eval.report(res, Path(tmp) / n, pricing=rec))
            print(f"report {name:<14} {t:6.2f} s (best of {REPEATS}, figures drawn afresh)")
        t = best(lambda: subprocess.run([sys.executable, "-m", "pbr_eval.cli", "demo"], cwd=tmp,
                                        check=True, stdout=subprocess.DEVNULL))
        print(f"pbr-eval demo         {t:6.2f} s (best of {REPEATS}, incl. interpreter start)")
        t = best(lambda: subprocess.run(
            [sys.executable, "-m", "pbr_eval.cli", "run", str(ROOT / "examples/reoffending.toml"),
             "--out", str(Path(tmp) / "run")], check=True, stdout=subprocess.DEVNULL))
        print(f"pbr-eval run (reoff.) {t:6.2f} s (best of {REPEATS}, incl. interpreter start)")


if __name__ == "__main__":
    main()
