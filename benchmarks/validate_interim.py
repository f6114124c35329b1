"""Interim payments in repeated simulation with known truth (issue 19 acceptance; on demand).

Cohorts from :func:`pbr_eval.datasets.simulate_reoffending_interim`: participants released over
12 months, the data cut 6 months after the last release (the last participants have had 6 of
the 12 months; the first have finished), a comparison pool released over the 1,000 days before
the cut, the programme cutting the hazard of reoffending by 20%, one seed per replicate. At the
cut, ``estimate_survival(method="ipw")`` on the cohort (weekly curve times) and
``interim_payment`` give the expected number of participants with a first reoffence within 365
days and its prediction band; the realised final count (every participant followed for the
whole window) is the truth.

Printed: mean of (final - expected) and its Monte Carlo SE, mean predicted SD / SD of
(final - expected), coverage of the band with its Monte Carlo SE, and the same with only one of
the two sources of uncertainty (chance alone, estimation alone), to show both are needed.

    python benchmarks/validate_interim.py [--replicates 500] [--n-treated 300]
        [--n-comparison 3000] [--workers 1]

Committed output: benchmarks/results/validate_interim.txt. A reduced version runs in CI:
tests/test_survival_interim.py::test_interim_band_covers_the_final_count_in_repeated_cohorts.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd

import pbr_eval
from pbr_eval.datasets import simulate_reoffending_interim
from pbr_eval.inference.intervals import z_value

SEED0 = 90_000
WEEKS = np.arange(0, 366, 7.0)


def one(r: int, n_treated: int, n_comparison: int) -> dict:
    """One replicate: the band, its two parts and the realised final count."""
    sim = simulate_reoffending_interim(n_treated=n_treated, n_comparison=n_comparison,
                                       seed=SEED0 + r)
    cohort = pbr_eval.Cohort(sim.data, **sim.cohort_args)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = pbr_eval.estimate_survival(cohort, method="ipw", times=WEEKS)
        row = pbr_eval.interim_payment(res, cohort).row
    return {"rep": r, "final": sim.params["final_count"], "expected": row["expected"],
            "lower": row["expected_lower"], "upper": row["expected_upper"],
            "se_estimation": row["se_estimation"], "se_chance": row["se_chance"],
            "so_far": row["outcomes_so_far"], "followed": row["followed_free"],
            "n": row["n_participants"]}


def summarise(frame: pd.DataFrame) -> pd.DataFrame:
    """Coverage of the band and of its parts alone."""
    z = z_value(0.95)
    err = frame["final"] - frame["expected"]
    n = len(frame)
    out = []
    for label, sd in (("band (chance + estimation)", np.hypot(frame["se_chance"],
                                                              frame["se_estimation"])),
                      ("chance alone", frame["se_chance"]),
                      ("estimation alone", frame["se_estimation"])):
        if label.startswith("band"):
            covered = (frame["lower"] <= frame["final"]) & (frame["final"] <= frame["upper"])
        else:
            covered = err.abs() <= z * sd
        cov = covered.mean()
        out.append({"interval": label, "replicates": n, "mean_error": err.mean(),
                    "mean_error_mc_se": err.std(ddof=1) / np.sqrt(n),
                    "predicted_sd_over_sd": sd.mean() / err.std(ddof=1),
                    "coverage": cov, "coverage_mc_se": np.sqrt(cov * (1 - cov) / n)})
    return pd.DataFrame(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--replicates", type=int, default=500)
    ap.add_argument("--n-treated", type=int, default=300)
    ap.add_argument("--n-comparison", type=int, default=3000)
    ap.add_argument("--workers", type=int, default=1,
                    help="processes (each replicate has its own seed: same numbers for any number)")
    a = ap.parse_args()
    start = time.perf_counter()
    from joblib import Parallel, delayed

    rows = Parallel(n_jobs=a.workers)(delayed(one)(r, a.n_treated, a.n_comparison)
                                      for r in range(a.replicates))
    frame = pd.DataFrame(rows)
    print(f"{a.replicates} cohorts of {a.n_treated} participants (released over 12 months, cut "
          f"6 months after the last release) and {a.n_comparison} comparison people")
    print(f"at the cut, per cohort: mean {frame['so_far'].mean():.1f} outcomes seen, "
          f"{frame['followed'].mean():.1f} still in follow-up without one; mean final count "
          f"{frame['final'].mean():.1f}")
    with pd.option_context("display.width", 160, "display.max_columns", 20):
        print(summarise(frame).to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    print(f"elapsed {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
