"""Timing of ipw, regression, aipw and ipwra on a national-scale pool.

20,000 treated and 1,000,000 comparison units with 10 covariates (8 continuous,
2 binary) and one binary outcome; analytic (influence-function) standard errors.
Prints the best of ``--repeat`` runs for each method, wall-clock and CPU time (CPU
time sums all threads; on a shared machine the best wall-clock run is the fairest
figure), plus the time to build the Cohort.

    python benchmarks/bench_weighting.py [--repeat 3] [--methods ipw,regression,aipw,ipwra]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd

from pbr_eval import Cohort, estimate


def make_data(n1: int, n0: int, p: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = n1 + n0
    X = rng.normal(size=(n, p))
    X[:, -2:] = (X[:, -2:] > 0).astype(float)
    t = np.r_[np.ones(n1, dtype=int), np.zeros(n0, dtype=int)]
    X[:n1, :4] += 0.5  # treated differ on four covariates
    eta = -1.0 + X @ np.linspace(0.3, -0.3, p)
    y = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(int)
    df = pd.DataFrame(X, columns=[f"x{j}" for j in range(p)])
    df["treated"] = t
    df["y"] = y
    return df


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n-treated", type=int, default=20_000)
    ap.add_argument("--n-comparison", type=int, default=1_000_000)
    ap.add_argument("--covariates", type=int, default=10)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--methods", default="ipw,regression,aipw,ipwra")
    a = ap.parse_args()
    df = make_data(a.n_treated, a.n_comparison, a.covariates)
    covs = [f"x{j}" for j in range(a.covariates)]
    t0 = time.perf_counter()
    cohort = Cohort(df, treatment="treated", outcome="y", covariates=covs)
    print(f"Cohort ({a.n_treated:,} treated x {a.n_comparison:,} comparison, "
          f"{a.covariates} covariates): {time.perf_counter() - t0:.2f} s")
    for method in a.methods.split(","):
        times, cpu = [], []
        for _ in range(a.repeat):
            t0 = time.perf_counter()
            c0 = time.process_time()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                res = estimate(cohort, method=method)
            times.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
        e = res.estimates[0]
        print(f"{method:>10}: best {min(times):.2f} s wall, {min(cpu):.2f} s CPU "
              f"(runs: {', '.join(f'{x:.2f}' for x in times)}); "
              f"non-intervention {e.non_intervention:.4f} (SE {e.non_intervention_se:.4f})")


if __name__ == "__main__":
    main()
