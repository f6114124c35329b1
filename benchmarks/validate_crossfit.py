"""Known-truth coverage of cross-fitted AIPW where the main-effects models fail.

Run: python benchmarks/validate_crossfit.py [--reps 200] [--n-treated 300] [--seed 2026]
(recorded: python benchmarks/record.py benchmarks/validate_crossfit.py)

Design: ``both_wrong`` of :data:`pbr_eval.validation.MISSPECIFICATION_DESIGNS` (Kang &
Schafer 2007 style): programme entry and the outcome without the programme both depend on
x1^2, x1 x2 and exp(x3 / 2), which a main-effects logit and a linear model in x1..x4 miss.
Truth: each cohort's own mean outcome without the programme (and its own effect), the
target of the default intervals. Rows: AIPW with main-effects models (no cross-fitting);
cross-fitted AIPW (5 folds) with the same main-effects learners; cross-fitted AIPW with
flexible learners (squares and products of the covariates: a logistic regression and a
linear regression on the degree-2 polynomial). Bias, RMSE, coverage of the 95% intervals of
the non-intervention rate and the effect, with Monte Carlo SEs, mean standard error over the
standard deviation of the estimates. ``tests/test_crossfit.py`` runs a reduced version.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd

import pbr_eval
from pbr_eval import Cohort
from pbr_eval.datasets._designs import simulate_design


def flexible() -> dict[str, object]:
    """The flexible learners: degree-2 polynomial logistic and linear regressions."""
    from sklearn.linear_model import LinearRegression, LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import PolynomialFeatures, StandardScaler

    return {"propensity": make_pipeline(PolynomialFeatures(2, include_bias=False),
                                        StandardScaler(),
                                        LogisticRegression(C=1e4, max_iter=2000)),
            "outcome_model": make_pipeline(PolynomialFeatures(2, include_bias=False),
                                           LinearRegression())}


ROWS = {
    "aipw, main effects (no cross-fitting)": {},
    "aipw, cross_fit=5, main effects": {"cross_fit": 5, "seed": 1},
    "aipw, cross_fit=5, degree-2 polynomial learners": {"cross_fit": 5, "seed": 1, **flexible()},
}


def study(*, reps: int, n_treated: int, seed: int, design: str = "both_wrong") -> pd.DataFrame:
    """One row per estimator: bias, coverage and their Monte Carlo SEs."""
    seeds = [int(s.generate_state(1)[0]) for s in np.random.SeedSequence(seed).spawn(reps)]
    rows = []
    for s in seeds:
        sim = simulate_design(design, n_treated=n_treated, seed=s)
        truth = sim.truth.loc["y"]
        cohort = Cohort(sim.data, **sim.cohort_args)
        for label, opts in ROWS.items():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                f = pbr_eval.estimate(cohort, method="aipw", **opts).to_frame().iloc[0]
            rows.append({
                "estimator": label,
                "ni_err": f["non_intervention"] - truth["non_intervention"],
                "eff_err": f["effect"] - truth["effect"],
                "ni_cover": f["non_intervention_ci_lower"] <= truth["non_intervention"]
                <= f["non_intervention_ci_upper"],
                "eff_cover": f["ci_lower"] <= truth["effect"] <= f["ci_upper"],
                "ni_se": f["non_intervention_se"]})
    r = pd.DataFrame(rows)
    g = r.groupby("estimator", sort=False)
    out = pd.DataFrame({
        "bias_ni": g["ni_err"].mean(), "rmse_ni": g["ni_err"].apply(lambda e: np.sqrt(np.mean(e**2))),
        "cover_ni": g["ni_cover"].mean(), "cover_effect": g["eff_cover"].mean(),
        "se_over_sd": g["ni_se"].mean() / g["ni_err"].std(), "reps": g.size()})
    out["mc_se_cover"] = np.sqrt(out["cover_ni"] * (1 - out["cover_ni"]) / out["reps"])
    return out.reset_index()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=200)
    ap.add_argument("--n-treated", type=int, default=300)
    ap.add_argument("--seed", type=int, default=2026)
    a = ap.parse_args()
    t0 = time.process_time()
    print(f"design both_wrong; {a.reps} cohorts of {a.n_treated} participants and "
          f"{5 * a.n_treated} comparison people; seed {a.seed}; 95% intervals for each "
          "cohort's own rate and effect")
    tab = study(reps=a.reps, n_treated=a.n_treated, seed=a.seed)
    print(tab.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    print(f"CPU {time.process_time() - t0:.0f} s")


if __name__ == "__main__":
    main()
