"""Validation figures for docs/validation.md, section "Area rates" (run on demand).

Repeats the simulation of tests/test_areas.py::test_coverage_and_mse_slow (same seeds)
and prints, per outcome and prior (with / without area covariates): mean squared error
across areas of the unpooled and pooled estimates, the ratio, and the coverage of the
95% intervals over areas and replicates, split by area size.

    python benchmarks/validate_areas.py [replicates]
"""

from __future__ import annotations

import sys
import time

import numpy as np
import pandas as pd

from pbr_eval.areas import area_rates
from pbr_eval.datasets import area_truth, simulate_areas


def main(replicates: int = 20) -> pd.DataFrame:
    rows = []
    start = time.perf_counter()
    for rep in range(replicates):
        sim = simulate_areas(n_areas=100, n_treated=5000, n_comparison=20_000, seed=500 + rep)
        truth = area_truth(sim)
        c = sim.cohort()
        cov = sim.data.groupby("local_authority")[["unemployment_rate", "deprivation"]].first()
        for outcome in ("job_outcome", "wellbeing"):
            for prior, ac in (("intercept only", None), ("unemployment + deprivation", cov)):
                f = area_rates(c, outcome=outcome, area_covariates=ac).to_frame()
                t = truth.loc[f["area"], outcome].to_numpy()
                small = f["n_treated"].to_numpy() < 20
                for est in ("unpooled", "pooled"):
                    covered = ((f[f"{est}_ci_lower"] <= t) & (t <= f[f"{est}_ci_upper"])).to_numpy()
                    rows.append({
                        "outcome": outcome, "prior": prior, "estimate": est, "rep": rep,
                        "mse": float(np.mean((f[est].to_numpy() - t) ** 2)),
                        "coverage": float(covered.mean()),
                        "coverage_small": float(covered[small].mean()),
                        "coverage_large": float(covered[~small].mean()),
                        "width": float(np.mean(f[f"{est}_ci_upper"] - f[f"{est}_ci_lower"])),
                    })
    out = pd.DataFrame(rows).groupby(["outcome", "prior", "estimate"], sort=False).agg(
        mse=("mse", "mean"), coverage=("coverage", "mean"),
        coverage_areas_under_20=("coverage_small", "mean"),
        coverage_areas_20_plus=("coverage_large", "mean"), mean_ci_width=("width", "mean"),
    )
    print(f"{replicates} replicates x 100 areas in {time.perf_counter() - start:.1f} s")
    print(out.to_string(float_format=lambda v: f"{v:.4g}"))
    return out


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20)
