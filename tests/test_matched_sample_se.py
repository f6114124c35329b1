"""Standard errors of the regression-adjusted non-intervention rate in a matched sample.

The rate is the comparison units' adjusted mean at the participants' covariates (the
intercept of ``y ~ 1 + t + (x - xbar_1)``), not "observed minus the effect with the effect's
standard error": with effects that vary between people the effect's standard error is far
too wide for the cohort's own rate (issue 16: the default workflow covered 0.990).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import statsmodels.api as sm

from pbr_eval import Cohort
from pbr_eval.estimators.matching import NearestNeighborMatching


def _heterogeneous(seed: int, n1: int = 150, n0: int = 450) -> tuple[pd.DataFrame, float]:
    """Effects 1 + 3 x1 (strongly heterogeneous); returns the data and the cohort's own rate."""
    rng = np.random.default_rng(seed)
    n = 4 * (n1 + n0)
    x = rng.standard_normal((n, 2))
    t = rng.random(n) < 1 / (1 + np.exp(-(-1.2 + 0.8 * x[:, 0] - 0.4 * x[:, 1])))
    idx = np.r_[np.flatnonzero(t)[:n1], np.flatnonzero(~t)[:n0]]
    x, t = x[idx], t[idx]
    y0 = 1 + x[:, 0] + x[:, 1] + rng.standard_normal(t.size)
    y = np.where(t, y0 + 1 + 3 * x[:, 0], y0)
    data = pd.DataFrame({"t": t.astype(int), "x1": x[:, 0], "x2": x[:, 1], "y": y})
    return data, float(y0[t].mean())


def _fit(data: pd.DataFrame):  # noqa: ANN202
    cohort = Cohort(data, treatment="t", outcome="y", covariates=["x1", "x2"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return NearestNeighborMatching(replace=True, ratio=3, adjust=True).fit(cohort)


def test_standard_errors_by_hand_with_statsmodels() -> None:
    data, _ = _heterogeneous(3)
    res = _fit(data)
    e = res.estimates[0]
    w = res.weights.to_numpy()
    d = data[w > 0]
    ww = w[w > 0]
    t = d["t"].to_numpy() == 1
    X = d[["x1", "x2"]].to_numpy()
    xbar = X[t].mean(axis=0)  # the participants' weights are 1
    Z = np.column_stack([np.ones(len(d)), t, X - xbar])
    y = d["y"].to_numpy()
    fit = sm.WLS(y, Z, weights=ww).fit()
    assert math.isclose(e.non_intervention, fit.params[0], rel_tol=1e-10)
    # the intercept's weights c (beta_0 = c'y), by finite differences of the fit itself
    c = np.array([sm.WLS(y + np.eye(len(y))[i], Z, weights=ww).fit().params[0] - fit.params[0]
                  for i in range(len(y))])
    # residuals of each group's own regression (the interacted model), each divided by the
    # root of its variance factor diag((I - H)(I - H)'), H = G (G'WG)^-1 G'W
    G = np.column_stack([np.ones(len(d)), X - xbar])
    r = np.empty(len(d))
    fits = {}
    for g in (t, ~t):
        fits[bool(g[0])] = sm.WLS(y[g], G[g], weights=ww[g]).fit()
        Gg, wg = G[g], ww[g]
        M = np.eye(len(wg)) - Gg @ np.linalg.inv(Gg.T @ (Gg * wg[:, None])) @ (Gg * wg[:, None]).T
        r[g] = fits[bool(g[0])].resid / np.sqrt(np.einsum("ij,ij->i", M, M))
    n1 = int(t.sum())
    v_int = float(np.sum(c**2 * r**2))
    v_comp = float(np.average(r[~t] ** 2, weights=ww[~t]))
    comp_fit = (X[t] - xbar) @ fits[False].params[1:]
    assert math.isclose(e.cohort_std_error, math.sqrt(v_int + v_comp / n1), rel_tol=1e-8)
    assert math.isclose(e.non_intervention_se, math.sqrt(v_int + np.mean(comp_fit**2) / n1),
                        rel_tol=1e-8)
    # the effect keeps its HC3 standard error; the default interval (cohort) uses the new one
    assert math.isclose(e.std_error, fit.get_robustcov_results("HC3").bse[1], rel_tol=1e-8)
    f = res.to_frame().iloc[0]
    assert math.isclose(f["non_intervention_ci_upper"] - f["non_intervention"],
                        1.959963984540054 * e.cohort_std_error, rel_tol=1e-9)


def test_cohort_interval_covers_when_effects_vary() -> None:
    """Known truth: 200 cohorts (150 participants, 450 comparison people), the cohort's rate."""
    err, se_cohort, se_effect, covered = [], [], [], []
    for seed in range(200):
        data, truth = _heterogeneous(seed)
        res = _fit(data)
        e = res.estimates[0]
        f = res.to_frame().iloc[0]
        err.append(e.non_intervention - truth)
        se_cohort.append(e.cohort_std_error)
        se_effect.append(e.std_error)
        covered.append(f["non_intervention_ci_lower"] <= truth <= f["non_intervention_ci_upper"])
    sd = float(np.std(err, ddof=1))
    coverage = float(np.mean(covered))  # measured 0.935 (Monte Carlo SE 0.017)
    assert 0.90 <= coverage <= 0.985, coverage
    assert abs(np.mean(se_cohort) / sd - 1) < 0.15, (np.mean(se_cohort), sd)
    # the old rule (the effect's SE) was about 1.7 times too wide here
    assert np.mean(se_effect) > 1.5 * sd
