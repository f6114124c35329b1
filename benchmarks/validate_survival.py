"""Time to the outcome in repeated simulation with known truth (issue 19 acceptance; on demand).

Cohorts from :func:`pbr_eval.datasets.simulate_reoffending_time` (600 participants, 6,000
comparison people, about 30% censored inside the one-year window, the programme cutting the
hazard of reoffending by 20%), one seed per replicate. For matching (1:1 nearest neighbour on
the propensity score, weights treated as fixed, SEs clustered by matched set) and IPW
(influence functions including the logistic propensity score), the non-intervention
probability of a reoffence within 365 days and the restricted mean days free of it up to 365,
against the truth for that replicate's participants (their covariates' true curve).

Printed per method and quantity: mean bias and its Monte Carlo SE, mean SE / SD of the
estimates, coverage of the 95% interval with its Monte Carlo SE.

    python benchmarks/validate_survival.py [--replicates 1000] [--n-treated 600]
        [--n-comparison 6000] [--workers 2]

Committed output: benchmarks/results/validate_survival.txt (1000 replicates of 300 + 3000
people: the machine was shared by eight sessions; the default size takes about twice as
long per replicate). A reduced version (fewer, smaller
cohorts) runs in CI: tests/test_survival_estimate.py::test_reduced_coverage.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd

import pbr_eval
from pbr_eval.datasets import simulate_reoffending_time

METHODS = ("nearest", "ipw")
QUANTITIES = {0: "probability within 365 days", 1: "mean days free, up to 365"}
SEED0 = 70_000


def one(r: int, n_treated: int, n_comparison: int) -> list[dict]:
    """One replicate: every method's estimates, SEs and the truth."""
    sim = simulate_reoffending_time(n_treated=n_treated, n_comparison=n_comparison,
                                    seed=SEED0 + r)
    cohort = pbr_eval.Cohort(sim.data, **sim.cohort_args)
    truth = {0: float(sim.truth.loc["window_probability", "non_intervention"]),
             1: float(sim.truth.loc["rmst", "non_intervention"])}
    rows = []
    for method in METHODS:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            f = pbr_eval.estimate_survival(cohort, method=method).to_frame()
        for q, label in QUANTITIES.items():
            est, se = float(f.loc[q, "non_intervention"]), float(f.loc[q, "non_intervention_se"])
            lo = float(f.loc[q, "non_intervention_ci_lower"])
            hi = float(f.loc[q, "non_intervention_ci_upper"])
            rows.append({"method": method, "quantity": label, "rep": r, "estimate": est,
                         "se": se, "truth": truth[q], "covered": lo <= truth[q] <= hi,
                         "censored": sim.params["share_censored_in_window"]})
    return rows


def summarise(frame: pd.DataFrame) -> pd.DataFrame:
    """Bias, its MC SE, SE/SD, coverage and its MC SE by method and quantity."""
    out = []
    for (method, quantity), g in frame.groupby(["method", "quantity"], sort=False):
        err = g["estimate"] - g["truth"]
        n = len(g)
        cov = g["covered"].mean()
        out.append({"method": method, "quantity": quantity, "replicates": n,
                    "bias": err.mean(), "bias_mc_se": err.std(ddof=1) / np.sqrt(n),
                    "se_over_sd": g["se"].mean() / g["estimate"].std(ddof=1),
                    "coverage": cov, "coverage_mc_se": np.sqrt(cov * (1 - cov) / n)})
    return pd.DataFrame(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--replicates", type=int, default=1000)
    ap.add_argument("--n-treated", type=int, default=600)
    ap.add_argument("--n-comparison", type=int, default=6000)
    ap.add_argument("--workers", type=int, default=1,
                    help="processes (each replicate has its own seed: same numbers for any number)")
    a = ap.parse_args()
    start = time.perf_counter()
    from joblib import Parallel, delayed

    parts = Parallel(n_jobs=a.workers)(delayed(one)(r, a.n_treated, a.n_comparison)
                                       for r in range(a.replicates))
    frame = pd.DataFrame([row for part in parts for row in part])
    print(f"{a.replicates} replicates of {a.n_treated} participants and {a.n_comparison} "
          f"comparison people; share censored inside the window: mean "
          f"{frame['censored'].mean():.3f}")
    with pd.option_context("display.width", 160, "display.max_columns", 20):
        print(summarise(frame).to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    print(f"elapsed {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
