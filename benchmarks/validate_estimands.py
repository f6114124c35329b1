"""Known-truth coverage of the ATE / ATC / ATO estimands (ipw, regression, aipw, ipwra).

Run: python benchmarks/validate_estimands.py [--reps 1000] [--n 1000] [--seed 2026]
(recorded: python benchmarks/record.py benchmarks/validate_estimands.py)

Design: x1 ~ N(0, 1), x2 ~ Bernoulli(0.4); treatment by a logit in both (both models
right); Y(0) = 1 + x1 + 0.5 x2 + N(0, 1); effect 1 + 0.5 x1 (heterogeneous, so the four
estimands differ). Truths are the population quantities, mu0 = E[h(X) m0(X)] / E[h(X)]
and the effect, by Gauss-Hermite integration over x1 (80 nodes) and exact sums over x2,
with h = 1 (ATE), e (ATT), 1 - e (ATC), e(1 - e) (ATO). Each row: bias, coverage of the
95% intervals of the non-intervention rate and of the effect, with Monte Carlo SEs.
``tests/test_estimands.py`` runs a reduced version (120 cohorts of 600) in CI.
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np
import pandas as pd

import pbr_eval
from pbr_eval import Cohort

ESTIMANDS = ("ATE", "ATC", "ATO")


def simulate(rng: np.random.Generator, n: int) -> pd.DataFrame:
    """One cohort of the design."""
    x1 = rng.normal(size=n)
    x2 = rng.binomial(1, 0.4, size=n)
    e = 1 / (1 + np.exp(-(-0.3 + 0.7 * x1 + 0.5 * x2)))
    t = rng.random(n) < e
    y = 1 + x1 + 0.5 * x2 + rng.normal(size=n) + t * (1 + 0.5 * x1)
    return pd.DataFrame({"t": t.astype(int), "y": y, "x1": x1, "x2": x2})


def truth() -> dict[str, tuple[float, float]]:
    """(mu0, effect) of each estimand's population."""
    g, w = np.polynomial.hermite_e.hermegauss(80)
    w = w / w.sum()
    out = {}
    for est in ("ATE", "ATT", "ATC", "ATO"):
        num0 = num1 = den = 0.0
        for x2, p2 in ((0, 0.6), (1, 0.4)):
            e = 1 / (1 + np.exp(-(-0.3 + 0.7 * g + 0.5 * x2)))
            h = {"ATE": np.ones_like(e), "ATT": e, "ATC": 1 - e, "ATO": e * (1 - e)}[est]
            m0 = 1 + g + 0.5 * x2
            num0 += p2 * float(np.sum(w * h * m0))
            num1 += p2 * float(np.sum(w * h * (m0 + 1 + 0.5 * g)))
            den += p2 * float(np.sum(w * h))
        out[est] = (num0 / den, num1 / den - num0 / den)
    return out


def study(method: str, *, reps: int, n: int, seed: int) -> pd.DataFrame:
    """Bias and coverage of ``method`` for each estimand it declares (ATE, ATC, ATO)."""
    rng = np.random.default_rng(seed)
    ests = [e for e in ESTIMANDS if e in pbr_eval.estimators.ESTIMATORS[method].estimands]
    true = truth()
    rows = []
    for _ in range(reps):
        cohort = Cohort(simulate(rng, n), treatment="t", outcome="y", covariates=["x1", "x2"],
                        min_treated=10)
        for est in ests:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                f = pbr_eval.estimate(cohort, method=method, estimand=est).to_frame().iloc[0]
            mu0, eff = true[est]
            rows.append({"estimand": est, "ni_err": f["non_intervention"] - mu0,
                         "eff_err": f["effect"] - eff,
                         "ni_cover": f["non_intervention_ci_lower"] <= mu0
                         <= f["non_intervention_ci_upper"],
                         "eff_cover": f["ci_lower"] <= eff <= f["ci_upper"]})
    r = pd.DataFrame(rows)
    g = r.groupby("estimand", sort=False)
    out = pd.DataFrame({
        "method": method,
        "bias_ni": g["ni_err"].mean(), "bias_effect": g["eff_err"].mean(),
        "cover_ni": g["ni_cover"].mean(), "cover_effect": g["eff_cover"].mean(),
        "reps": g.size()})
    out["mc_se"] = np.sqrt(0.95 * 0.05 / out["reps"])
    return out.reset_index()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=1000)
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=2026)
    a = ap.parse_args()
    print(f"{a.reps} cohorts of {a.n}; seed {a.seed}; 95% intervals")
    for k, (mu0, eff) in truth().items():
        print(f"truth {k}: non-intervention mean {mu0:.4f}, effect {eff:.4f}")
    tab = pd.concat([study(m, reps=a.reps, n=a.n, seed=a.seed)
                     for m in ("ipw", "regression", "aipw", "ipwra")])
    print(tab.to_string(index=False, float_format=lambda v: f"{v:.4f}"))


if __name__ == "__main__":
    main()
