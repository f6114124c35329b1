"""The cohort standard error of the weighting family (issue #5): the formula by hand,
its cluster version against Monte Carlo, and the fallback of the working outcome model."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest

from pbr_eval import Cohort
from pbr_eval.datasets import simulate
from pbr_eval.estimators.doubly_robust import AugmentedIPW, aipw_att
from pbr_eval.estimators.regression import RegressionAdjustment
from pbr_eval.estimators.weighting import att_propensity, working_outcome_model
from pbr_eval.inference.influence import with_intercept


def _small_cohort(seed: int = 31) -> Cohort:
    sim = simulate("reoffending", n_treated=200, n_comparison=2000, seed=seed)
    args = {**sim.cohort_args, "outcome": ["reoffended"], "cluster": None}
    return Cohort(sim.data, **args)


def test_aipw_cohort_se_matches_the_formula_by_hand() -> None:
    """sqrt(sum phi0^2 + sigma^2/n1 - 2C), with m0 from statsmodels' logistic GLM."""
    import statsmodels.api as sm

    c = _small_cohort()
    e = AugmentedIPW(se="robust").fit(c).estimates[0]
    y, t, X = c.y("reoffended"), c.t, c.X
    Z = with_intercept(X)
    prop = att_propensity(c, "logit", clip=None, trim=None, Z=Z)
    mu0, _, phi0, _, _ = aipw_att(y, t, X, prop.odds, "logistic", Z=Z,
                                  phi_gamma=prop.phi, free=prop.free)
    assert mu0 == pytest.approx(e.non_intervention, rel=1e-12)
    glm = sm.GLM(y[~t], sm.add_constant(X[~t]), family=sm.families.Binomial()).fit(tol=1e-12)
    m0 = glm.predict(sm.add_constant(X))
    n1 = t.sum()
    sigma2 = np.mean((m0[t] - mu0) ** 2) + np.mean(m0[t] * (1 - m0[t]))
    C = np.sum(phi0[t] * (m0[t] - mu0)) / n1
    by_hand = math.sqrt(np.sum(phi0**2) + sigma2 / n1 - 2 * C)
    assert e.cohort_std_error == pytest.approx(by_hand, rel=1e-6)
    # and it differs from both model-based SEs (it is a different target)
    assert abs(e.cohort_std_error - e.std_error) > 1e-4
    assert e.cohort_std_error > e.non_intervention_se


def test_regression_cohort_se_is_comparison_side_plus_outcome_noise() -> None:
    """Linear g-computation: se^2 = sum_C (c_j r_j)^2 + s^2/n1, c = Z_C (Z_C'Z_C)^-1 zbar_T."""
    rng = np.random.default_rng(5)
    n = 1500
    x = rng.normal(size=(n, 2))
    t = rng.random(n) < 1 / (1 + np.exp(-(-1.5 + x[:, 0])))
    y = 1 + x @ [1.0, -0.5] + rng.normal(scale=1 + 0.5 * (x[:, 1] > 0), size=n) + 0.7 * t
    df = pd.DataFrame({"t": t.astype(int), "x1": x[:, 0], "x2": x[:, 1], "y": y})
    c = Cohort(df, treatment="t", outcome="y", covariates=["x1", "x2"])
    e = RegressionAdjustment(outcome_model="linear", se="robust").fit(c).estimates[0]
    Z = np.column_stack([np.ones(n), x])
    Zc, yc = Z[~t], y[~t]
    beta, rss, *_ = np.linalg.lstsq(Zc, yc, rcond=None)
    r = yc - Zc @ beta
    cw = Zc @ np.linalg.solve(Zc.T @ Zc, Z[t].mean(axis=0))
    s2 = float(r @ r) / (Zc.shape[0] - 3)
    by_hand = math.sqrt(np.sum((cw * r) ** 2) + s2 / t.sum())
    assert e.cohort_std_error == pytest.approx(by_hand, rel=1e-8)


def _clustered_linear(seed: int, G: int = 30, n1: int = 150, n0: int = 1500
                      ) -> tuple[pd.DataFrame, float]:
    """Random-intercept outcome; treated concentrated in other clusters than the comparison."""
    rng = np.random.default_rng(seed)
    share_t = np.linspace(3.0, 0.2, G)
    share_c = np.linspace(0.2, 3.0, G)
    g = np.r_[rng.choice(G, n1, p=share_t / share_t.sum()),
              rng.choice(G, n0, p=share_c / share_c.sum())]
    t = np.r_[np.ones(n1, bool), np.zeros(n0, bool)]
    x = rng.normal(size=t.size) + 0.5 * t
    u = rng.normal(scale=0.6, size=G)
    y0 = 1 + x + u[g] + rng.normal(size=t.size)
    y = y0 + 0.5 * t
    df = pd.DataFrame({"t": t.astype(int), "x": x, "g": g, "y": y})
    return df, float(y0[t].mean())


def test_clustered_cohort_se_matches_monte_carlo() -> None:
    """With a shared area effect the cohort SE tracks the spread of mu0_hat - theta_c.

    Treated and comparison units sit in different clusters, so the area
    effects do not cancel: summing comparison influences by cluster alone
    (without the treated units' share of the area effects) is far off here.
    """
    errs, ses = [], []
    for rep in range(250):
        df, theta = _clustered_linear(100 + rep)
        c = Cohort(df, treatment="t", outcome="y", covariates=["x"], cluster="g")
        e = RegressionAdjustment(outcome_model="linear").fit(c).estimates[0]
        errs.append(e.non_intervention - theta)
        ses.append(e.cohort_std_error)
    sd = float(np.std(errs, ddof=1))
    rms = float(np.sqrt(np.mean(np.square(ses))))
    # 250 replicates: the SD is known to about +-4.5%
    assert rms / sd == pytest.approx(1.0, abs=0.15)
    cover = np.mean(np.abs(np.array(errs)) <= 1.959964 * np.array(ses))
    assert cover >= 0.90


def test_working_outcome_model_falls_back_when_it_cannot_be_fitted() -> None:
    n = 40
    X = np.arange(n, dtype=float)[:, None]
    t = np.arange(n) < 10
    y = np.where(t, 1.0, 0.0)  # the comparison outcome is constant: no logistic fit
    assert working_outcome_model(X, y, t, ~t, "binary", np.where(~t, 1 / 30, 0.0)) is None
    y2 = (np.arange(n) % 3 == 0).astype(float)
    noise = working_outcome_model(X, y2, t, ~t, "binary", np.where(~t, 1 / 30, 0.0))
    assert noise is not None
    np.testing.assert_allclose(noise.v0, noise.m0 * (1 - noise.m0))


@pytest.mark.parametrize("method", ["ipw", "aipw", "ipwra", "regression", "entropy"])
def test_every_weighting_estimator_reports_a_cohort_se(method: str) -> None:
    from pbr_eval.estimators.base import build_estimator

    sim = simulate("reoffending", n_treated=200, n_comparison=2000, seed=8)
    c = Cohort(sim.data, **sim.cohort_args)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = build_estimator(method, {}).fit(c)
    f = res.to_frame().set_index("outcome")
    g = res.to_frame(target="expected").set_index("outcome")
    for e in res.estimates:
        assert math.isfinite(e.cohort_std_error) and e.cohort_std_error > 0
        # default intervals: the cohort SE for both the rate and the effect
        assert f.loc[e.outcome, "non_intervention_se"] == pytest.approx(e.cohort_std_error)
        assert f.loc[e.outcome, "std_error"] == pytest.approx(e.cohort_std_error)
        # target="expected": the model-based SEs
        assert g.loc[e.outcome, "non_intervention_se"] == pytest.approx(e.non_intervention_se)
        assert g.loc[e.outcome, "std_error"] == pytest.approx(e.std_error)
