"""Peak memory of `pbr-eval validate` on large CSV files (issue 14), run on demand.

    python benchmarks/bench_validate_memory.py [--big-mb 2000] [--mid-mb 220]

Builds CSV files from the shipped reoffending data (rows repeated with new identifiers),
then measures, each in a fresh process, the peak resident memory (RSS) of:

* the reference: pandas reading the whole file (``pd.read_csv``), in the same run;
* ``pbr-eval validate`` on the mid-sized file and on the big (2 GB) file: a CSV file is
  checked block by block (``pbr_eval.filecheck``: only the role columns, a block of rows at
  a time, running aggregates), so the peak should stay well below the file's size;
* ``pbr-eval validate --max-memory`` with a budget below the estimated need: refused
  before reading, with the figures.

Prints each figure as a multiple of the file's size and of the reference, and the
estimate validate made beforehand. The files are deleted at the end (the disk is shared).
The output of the last run is committed in ``benchmarks/results/bench_validate_memory.txt``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd

from pbr_eval.filecheck import estimate_check_memory

ROOT = Path(__file__).resolve().parents[1]
ROLES = ["--treatment", "treated", "--outcome", "reoffended", "--outcome",
         "reconviction_events", "--covariates",
         "age,sex,prior_offences,offence_type,sentence_months", "--unit-id", "person_id",
         "--cluster", "local_authority"]

# Runs COMMAND and prints the peak RSS of its process tree's largest child (kB), then its
# exit code, so each measurement starts from a fresh process.
PEAK = ("import resource, subprocess, sys, time; t = time.perf_counter(); "
        "p = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, p.returncode, "
        "round(time.perf_counter() - t, 1)); print(p.stderr.strip()[:400])")


def make_csv(path: Path, target_mb: float) -> int:
    base = pd.read_csv(ROOT / "data" / "reoffending.csv")
    rows = 0
    with path.open("w", encoding="utf-8") as fh:
        fh.write(",".join(base.columns) + "\n")
        k = 0
        while fh.tell() < target_mb * 1e6:
            chunk = base.assign(person_id=base["person_id"].str.replace("P", f"Q{k:05d}"))
            fh.write(chunk.to_csv(index=False, header=False))
            rows += len(chunk)
            k += 1
    return rows


def peak(cmd: list[str]) -> tuple[float, int, float, str]:
    out = subprocess.run([sys.executable, "-c", PEAK, *cmd], capture_output=True, text=True,
                         check=True).stdout.splitlines()
    kb, code, secs = out[0].split()
    return int(kb) * 1024, int(code), float(secs), "\n".join(out[1:])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--big-mb", type=float, default=2000)
    ap.add_argument("--mid-mb", type=float, default=220)
    args = ap.parse_args()
    pbr = [sys.executable, "-m", "pbr_eval.cli"]
    cols = ["treated", "reoffended", "reconviction_events", "age", "sex", "prior_offences",
            "offence_type", "sentence_months", "person_id", "local_authority"]
    roles = {"unit_id": "person_id"}
    with tempfile.TemporaryDirectory() as tmp:
        mid, big = Path(tmp) / "mid.csv", Path(tmp) / "big.csv"
        mid_rows, big_rows = make_csv(mid, args.mid_mb), make_csv(big, args.big_mb)
        mid_mb, big_mb = mid.stat().st_size / 1e6, big.stat().st_size / 1e6
        print(f"files: mid {mid_mb:,.0f} MB ({mid_rows:,} rows), big {big_mb:,.0f} MB "
              f"({big_rows:,} rows); load average {os.getloadavg()[0]:.1f}")
        ref, _, ref_s, _ = peak([sys.executable, "-c",
                                 f"import pandas as pd; pd.read_csv({str(mid)!r})"])
        print(f"reference: pd.read_csv(mid) peak {ref / 1e6:,.0f} MB = "
              f"{ref / 1e6 / mid_mb:.2f}x the file ({ref_s:.0f} s)")
        for label, path, size in (("mid", mid, mid_mb), ("big", big, big_mb)):
            est = (estimate_check_memory(path, cols, roles=roles) or (0, 0))[0]
            rss, code, secs, err = peak([*pbr, "validate", str(path), *ROLES])
            print(f"validate {label}: exit {code}, peak {rss / 1e6:,.0f} MB = "
                  f"{rss / 1e6 / size:.2f}x the file = {rss / ref:.2f}x the reference "
                  f"({secs:.0f} s); estimated beforehand {est / 1e6:,.0f} MB "
                  f"({est / rss:.2f}x the peak)")
            if err:
                print(f"  {err}")
        rss, code, secs, err = peak([*pbr, "validate", str(big), *ROLES, "--max-memory", "0.3GB"])
        print(f"validate big --max-memory 0.3GB: exit {code}, peak {rss / 1e6:,.0f} MB "
              f"({secs:.1f} s)")
        if err:
            print(f"  {err}")


if __name__ == "__main__":
    main()
