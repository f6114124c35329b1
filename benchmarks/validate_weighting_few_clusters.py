"""Few-cluster inference for the weighting estimators in repeated simulation (issue 18.4).

Cohorts spread over 12 areas with an area effect on the outcome (so outcomes are
correlated within areas) and a programme that recruits far more in 4 of the areas (so the
area effects do not cancel between the groups); the covariate ``x1`` drives both
recruitment and the outcome, and the true effect on the participants is 0.4 for everyone.
For each cohort, ``ipw``, ``aipw``, ``regression`` and ``entropy`` (ATT), ``ipw`` and
``aipw`` for the ATE, ``ipwra`` for the ATC, ``ipw`` for the ATO and cross-fitted ``aipw``
(``cross_fit=5``, seed 1, the default learners: logistic propensity, linear outcome, whole
areas to a fold; label ``aipw x5``) (covariate ``x1``,
cluster ``area``) are fitted twice: ``se="cluster"`` (the cluster-robust influence-function
standard error and its normal 95% interval) and ``se="auto"`` (below
``options.FEW_CLUSTERS`` clusters: the wild cluster restricted score bootstrap's interval,
Rademacher weights, all 4,096 sign patterns). "Coverage" is the share of cohorts whose
95% interval of the effect holds the true 0.4 (Monte Carlo standard error in brackets). The
third line of each method is ``se="auto"``'s default interval (``to_frame()``: the cohort's
own effect, which is 0.4 too, with ``cohort_std_error``, whose part from sums over areas
the wild bootstrap's factor widens; for the ATE, the population's expected effect with the
standard error the wild interval implies). For the ATE the rate without the programme
(everyone's expected outcome without it, 1.0) is scored too: its cluster-robust (CRV)
interval and the default one (``se="auto"``: the CRV standard error times the effect's
wild/CRV factor); the ATC's and ATO's rates are not scored (their populations' true rates
depend on the recruitment model and the areas drawn).

    python benchmarks/validate_weighting_few_clusters.py [--replicates 1000] [--clusters 12]

Committed output: benchmarks/results/validate_weighting_few_clusters.txt.
"""

from __future__ import annotations

import argparse
import os
import time
import warnings

import numpy as np
import pandas as pd

import pbr_eval
from pbr_eval.exceptions import OverlapWarning

EFFECT = 0.4
#: E[Y(0)] over everyone: 1 + 0.5 E[x1] + E[area effect]
RATE_ATE = 1.0
#: (label, method, estimand, options: the cross-fit's seed fixes its folds for both fits)
METHODS = (("ipw", "ipw", "ATT", {}), ("aipw", "aipw", "ATT", {}),
           ("regression", "regression", "ATT", {}), ("entropy", "entropy", "ATT", {}),
           ("ipw ATE", "ipw", "ATE", {}), ("aipw ATE", "aipw", "ATE", {}),
           ("ipwra ATC", "ipwra", "ATC", {}), ("ipw ATO", "ipw", "ATO", {}),
           ("aipw x5", "aipw", "ATT", {"cross_fit": 5, "seed": 1}))


def cohort(rng: np.random.Generator, G: int, per_area: int, *,
           area_sd: float = 0.5) -> pbr_eval.Cohort:
    """One simulated cohort (see the module docstring; ``area_sd``: the area effect's sd)."""
    area = np.repeat(np.arange(G), per_area)
    x1 = rng.normal(size=area.size) + 0.3 * rng.normal(size=G)[area]
    programme_area = area < G // 3
    p = 1 / (1 + np.exp(-(-1.2 + 0.7 * x1 + 1.8 * programme_area)))
    t = rng.random(area.size) < p
    y = (1 + 0.5 * x1 + rng.normal(scale=area_sd, size=G)[area] + EFFECT * t
         + rng.normal(size=area.size))
    df = pd.DataFrame({"y": y, "t": t.astype(int), "x1": x1, "area": area})
    return pbr_eval.Cohort(df, treatment="t", outcome="y", covariates=["x1"], cluster="area")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--replicates", type=int, default=1000)
    ap.add_argument("--clusters", type=int, default=12)
    ap.add_argument("--per-area", type=int, default=60)
    a = ap.parse_args()
    # a few participants in the programme areas have scores above every comparison unit's:
    # counted by the estimators, not the subject here
    warnings.simplefilter("ignore", OverlapWarning)
    rng = np.random.default_rng(20261204)
    t0, c0 = time.perf_counter(), time.process_time()
    kinds = ("crv", "wild", "cohort", "rate_crv", "rate_r")
    hits = {m[0]: {k: [] for k in kinds} for m in METHODS}
    widths = {m[0]: {k: [] for k in kinds} for m in METHODS}
    z = 1.959964
    for _ in range(a.replicates):
        c = cohort(rng, a.clusters, a.per_area)
        for label, m, estimand, extra in METHODS:
            opts = ({} if estimand == "ATT" else {"estimand": estimand}) | extra
            crv = pbr_eval.estimate(c, method=m, se="cluster", **opts).estimates[0]
            lo, hi = crv.effect - z * crv.std_error, crv.effect + z * crv.std_error
            hits[label]["crv"].append(lo <= EFFECT <= hi)
            widths[label]["crv"].append(hi - lo)
            # (ipwra takes no seed: its draws, all enumerated here, would be seeded by 0)
            res = pbr_eval.estimate(c, method=m, **opts,
                                    **({} if m == "ipwra" or "seed" in opts else {"seed": 1}))
            rec = res.info["few_clusters"]["y"]
            hits[label]["wild"].append(rec["lower"] <= EFFECT <= rec["upper"])
            widths[label]["wild"].append(rec["upper"] - rec["lower"])
            f = res.to_frame().iloc[0]
            hits[label]["cohort"].append(f["ci_lower"] <= EFFECT <= f["ci_upper"])
            widths[label]["cohort"].append(f["ci_upper"] - f["ci_lower"])
            if estimand == "ATE":
                s, mu0 = crv.non_intervention_se, crv.non_intervention
                hits[label]["rate_crv"].append(mu0 - z * s <= RATE_ATE <= mu0 + z * s)
                widths[label]["rate_crv"].append(2 * z * s)
                lo, hi = f["non_intervention_ci_lower"], f["non_intervention_ci_upper"]
                hits[label]["rate_r"].append(lo <= RATE_ATE <= hi)
                widths[label]["rate_r"].append(hi - lo)
    R = a.replicates
    print(f"{R:,} simulated cohorts: {a.clusters} areas x {a.per_area} people, area effects "
          f"(sd 0.5), a third of the areas recruiting far more; true effect {EFFECT}")
    print("coverage of the true effect by the 95% interval (Monte Carlo SE); median width")
    for m, _, estimand, _ in METHODS:
        rows = [("crv", "cluster-robust (CRV), normal"),
                ("wild", "wild cluster restricted score bootstrap"),
                ("cohort", "default (se='auto'), cohort's own effect" if estimand == "ATT"
                 else "default (se='auto'), expected effect")]
        if estimand == "ATE":
            rows += [("rate_crv", f"rate without ({RATE_ATE}), cluster-robust"),
                     ("rate_r", "rate without, default (CRV x wild/CRV)")]
        for kind, label in rows:
            p = float(np.mean(hits[m][kind]))
            print(f"  {m:<10} {label:<42} {p:.3f} ({np.sqrt(p * (1 - p) / R):.3f}); "
                  f"width {np.median(widths[m][kind]):.3f}")
    print(f"run time {time.perf_counter() - t0:,.0f} s wall, {time.process_time() - c0:,.0f} s CPU;"
          f" load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
