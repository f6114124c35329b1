"""Benchmark: nearest-neighbour and exact matching at national scale.

20,000 treated x 1,000,000 comparison units, 10 covariates (5 continuous,
5 binary). Times ``estimate(method="nearest")`` end to end from an in-memory
Cohort (propensity model, matching, weights, estimate with SE, and the balance
table's means/SMD/variance ratios; the eCDF columns are computed on request),
the same including building and validating the Cohort, and exact matching on
a 10,000-strata column. Peak memory is the process's ru_maxrss.

Run: ``python benchmarks/bench_matching.py [--repeat 3]``. The machine may be
shared: the best of ``--repeat`` runs is reported next to the first (cold) run,
and CPU time (``time.process_time``, all threads) beside wall time, since CPU
time is less disturbed by other users' load (``os.getloadavg`` is printed).
On a loaded machine run it with ``OPENBLAS_NUM_THREADS=1``: OpenBLAS's idle
threads otherwise spin and inflate both figures.
"""

from __future__ import annotations

import argparse
import os
import resource
import time

import numpy as np
import pandas as pd

from pbr_eval import Cohort, estimate


def simulate(n1: int = 20_000, n0: int = 1_000_000, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = n1 + n0
    t = np.zeros(n, dtype=np.int8)
    t[:n1] = 1
    cont = rng.normal(size=(n, 5)) + 0.3 * t[:, None]
    binp = rng.random((n, 5)) < (0.3 + 0.1 * t[:, None])
    eta = -1 + 0.3 * cont[:, 0] + 0.5 * binp[:, 0]
    y = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(np.int8)
    data = {"treated": t, "y": y}
    for j in range(5):
        data[f"x{j}"] = cont[:, j]
        data[f"b{j}"] = binp[:, j].astype(np.int8)
    data["stratum"] = rng.integers(0, 10_000, size=n)
    return pd.DataFrame(data)


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    df = simulate()
    covs = [f"x{j}" for j in range(5)] + [f"b{j}" for j in range(5)]
    roles = dict(treatment="treated", outcome="y", covariates=covs)
    def run(c: Cohort, **kw: object) -> object:
        res = estimate(c, method="nearest", **kw)
        res.balance.to_frame(ecdf=False)  # balance is lazy: include its core in the timing
        return res

    cases = {
        "nearest (Cohort given)": lambda c: run(c),
        "nearest caliper=0.2": lambda c: run(c, caliper=0.2),
        "nearest exact on 10,000 strata": lambda c: run(c, exact=["stratum"]),
    }
    keys = ["Cohort build", *cases, "nearest incl. Cohort"]
    wall: dict[str, list[float]] = {k: [] for k in keys}
    cpu: dict[str, list[float]] = {k: [] for k in keys}
    c_ex = Cohort(df, **{**roles, "covariates": [*covs, "stratum"]})
    for _ in range(args.repeat):
        t0, p0 = time.perf_counter(), time.process_time()
        c = Cohort(df, **roles)
        t1, p1 = time.perf_counter(), time.process_time()
        wall["Cohort build"].append(t1 - t0)
        cpu["Cohort build"].append(p1 - p0)
        for name, fn in cases.items():
            cc = c_ex if "exact" in name else c
            s, ps = time.perf_counter(), time.process_time()
            res = fn(cc)
            wall[name].append(time.perf_counter() - s)
            cpu[name].append(time.process_time() - ps)
            if name.startswith("nearest (Cohort"):
                wall["nearest incl. Cohort"].append(wall[name][-1] + (t1 - t0))
                cpu["nearest incl. Cohort"].append(cpu[name][-1] + (p1 - p0))
                assert res.info["n_focal_matched"] == 20_000
    print(f"n_treated=20,000 n_comparison=1,000,000 covariates=10; runs={args.repeat}; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    for k in keys:
        w, p = wall[k], cpu[k]
        print(f"{k:32s} wall first {w[0]:6.2f} s best {min(w):6.2f} s | cpu best {min(p):6.2f} s")
    print(f"peak memory (ru_maxrss): {peak_mb():,.0f} MB")


if __name__ == "__main__":
    main()
