"""Matching with regression adjustment when effects vary (issue 16, on demand).

The misspecification design ``heterogeneous`` (:mod:`pbr_eval.datasets._designs`: both
working models right, the effect ``1 + x1 + 0.5 x2`` varies between people), 300
participants and a pool of 5 or 1.5 comparison people per participant. Each cohort is
scored against its own mean outcome without the programme with:

- ``1:1 without replacement`` (``estimate``'s default, unadjusted);
- ``1:1 without replacement, adjusted`` (``adjust=True``: the g-computation of MatchIt's
  "Estimating Effects After Matching", the outcome regression with the treatment interacted
  with the covariates; the non-intervention rate is the matched comparison units' own
  weighted regression ``y ~ x`` at the participants' mean covariates);
- ``the same matches, one slope for both groups``: what ``adjust=True`` computed in version
  0.1, the intercept of one regression ``y ~ 1 + t + (x - xbar_1)`` on the same matched sample
  (computed here with numpy from the matching weights; a point estimate only, no interval),
  for contrast: with effects that vary with the covariates the shared slope carries the
  participants' slopes into their prediction without the programme;
- ``default headline``: what :func:`pbr_eval.evaluate` reports, matching with replacement
  ``1:k`` (k the pool ratio rounded, at most 4) with adjustment.

Printed per pool and estimator: bias with its Monte Carlo SE, coverage of the 95% interval
(the cohort's own rate: ``to_frame()``'s default) with its Monte Carlo SE, the share of
cohorts with a warning (a Python warning the estimator raised, or a flag of
:func:`pbr_eval.workflow.fragility`), and the share of missed intervals that carried one.

    python benchmarks/validate_matching_heterogeneous.py [--cohorts 400]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd

from pbr_eval.cohort import Cohort
from pbr_eval.datasets._designs import simulate_design
from pbr_eval.estimators.base import build_estimator
from pbr_eval.validation import _seed_ints
from pbr_eval.workflow import fragility

N_TREATED = 300
POOLS = (1500, 450)
SEED = 20261299  # + the pool size


def one_slope(cohort: Cohort, w: np.ndarray, outcome: str) -> float:
    """Version 0.1's ``adjust=True``: the intercept of ``y ~ 1 + t + (x - xbar_1)`` by WLS."""
    t, X, y = cohort.t, cohort.X, cohort.y(outcome)
    keep = w > 0
    xbar = np.average(X[keep & t], axis=0, weights=w[keep & t])
    Z = np.column_stack([np.ones(int(keep.sum())), t[keep], X[keep] - xbar])
    sw = np.sqrt(w[keep])
    return float(np.linalg.lstsq(Z * sw[:, None], y[keep] * sw, rcond=None)[0][0])


def one(seed: int, n0: int) -> list[dict]:
    """One cohort: every estimator's estimate, interval and warnings."""
    sim = simulate_design("heterogeneous", n_treated=N_TREATED, n_comparison=n0, seed=seed)
    truth = float(sim.truth.loc["y", "non_intervention"])
    cohort = Cohort(sim.data, **sim.cohort_args)
    k = min(4, max(1, round(n0 / N_TREATED)))
    rows = []
    for label, opts in (("1:1 without replacement", {}),
                        ("1:1 without replacement, adjusted", {"adjust": True}),
                        (f"default headline (with replacement 1:{k}, adjusted)",
                         {"replace": True, "ratio": k, "adjust": True})):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            res = build_estimator("nearest", opts).fit(cohort)
        f = res.to_frame().iloc[0]
        warned = bool(caught) or bool(fragility(res, cohort))
        rows.append({"pool": n0, "estimator": label, "truth": truth,
                     "estimate": f["non_intervention"], "lower": f["non_intervention_ci_lower"],
                     "upper": f["non_intervention_ci_upper"], "warned": warned})
        if opts == {"adjust": True}:
            rows.append({"pool": n0, "estimator": "the same matches, one slope for both groups",
                         "truth": truth, "warned": warned,
                         "estimate": one_slope(cohort, res.weights.to_numpy(), "y"),
                         "lower": np.nan, "upper": np.nan})
    return rows


def summarise(frame: pd.DataFrame) -> pd.DataFrame:
    """Bias (MC SE), coverage (MC SE), warned share and warned share of the misses."""
    out = []
    for (pool, est), g in frame.groupby(["pool", "estimator"], sort=False):
        err = g["estimate"] - g["truth"]
        n = len(g)
        row = {"comparison per participant": f"{pool / N_TREATED:g}", "estimator": est, "cohorts": n,
               "bias": err.mean(), "bias_mc_se": err.std(ddof=1) / np.sqrt(n)}
        if g["lower"].notna().all():
            miss = ~((g["lower"] <= g["truth"]) & (g["truth"] <= g["upper"]))
            cov = 1 - float(miss.mean())
            row.update({"coverage": cov, "coverage_mc_se": np.sqrt(cov * (1 - cov) / n),
                        "warned": g["warned"].mean(),
                        "misses_warned": g.loc[miss, "warned"].mean() if miss.any() else np.nan})
        out.append(row)
    return pd.DataFrame(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cohorts", type=int, default=400)
    a = ap.parse_args()
    c0 = time.process_time()
    rows = [r for n0 in POOLS for s in _seed_ints(SEED + n0, a.cohorts) for r in one(s, n0)]
    table = summarise(pd.DataFrame(rows))
    print(f"Design 'heterogeneous', {N_TREATED} participants, {a.cohorts} cohorts per pool, "
          f"seeds {SEED} + pool size; truth: each cohort's own mean outcome without the "
          "programme")
    with pd.option_context("display.width", 200):
        print(table.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    print(f"CPU seconds: {time.process_time() - c0:.0f}")


if __name__ == "__main__":
    main()
