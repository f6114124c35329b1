"""Regression adjustment ("regression"): statsmodels reference values, GLMs, truth, errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_weighting import reference_cases, reference_data, rel

from pbr_eval import Cohort, estimate
from pbr_eval.datasets import load_reoffending, simulate
from pbr_eval.estimators.regression import RegressionAdjustment, regression_att
from pbr_eval.exceptions import EstimationError, OptionError
from pbr_eval.models.outcome import fit_outcome


@pytest.mark.parametrize(("spec", "ref"), reference_cases("ra"))
def test_regression_matches_statsmodels(spec: dict, ref: dict) -> None:
    data = reference_data(spec["spec"])
    c = Cohort(data, treatment=spec["treatment"], outcome=spec["outcome"],
               covariates=spec["covariates"])
    e = RegressionAdjustment(outcome_model="linear", se="robust").fit(c).estimates[0]
    assert rel(e.non_intervention, ref["closed_form"]["pom0"]) < 1e-6
    assert rel(e.effect, ref["closed_form"]["att"]) < 1e-6
    assert rel(e.non_intervention_se, ref["gmm"]["pom0_se"]) < 1e-6
    assert rel(e.std_error, ref["gmm"]["att_se"]) < 1e-6


@pytest.mark.parametrize("family", ["logistic", "poisson"])
def test_glm_outcome_models_match_statsmodels(family: str) -> None:
    import statsmodels.api as sm

    rng = np.random.default_rng(4)
    X = rng.normal(size=(3000, 3)) * [1, 10, 0.1]
    eta = 0.3 + X @ [0.5, -0.05, 2.0]
    if family == "logistic":
        y = (rng.random(3000) < 1 / (1 + np.exp(-eta))).astype(float)
        fam = sm.families.Binomial()
    else:
        y = rng.poisson(np.exp(eta)).astype(float)
        fam = sm.families.Poisson()
    w = rng.uniform(0.5, 2, 3000)
    ours = fit_outcome(X, y, family, weights=w)
    ref = sm.GLM(y, sm.add_constant(X), family=fam, freq_weights=w).fit(tol=1e-12)
    np.testing.assert_allclose(ours.params, ref.params, rtol=1e-7)
    np.testing.assert_allclose(np.linalg.inv(ours.information), ref.cov_params(), rtol=1e-6)


def test_auto_uses_logistic_for_rates_and_poisson_for_counts() -> None:
    sim = load_reoffending()
    r = RegressionAdjustment().fit(Cohort(sim.data, **sim.cohort_args))
    assert r.info["outcome_models"] == {"reoffended": "logistic",
                                        "reconviction_events": "poisson"}


def test_regression_near_truth_where_naive_is_not() -> None:
    sim = simulate("reoffending", n_treated=2000, n_comparison=40000, seed=12)
    f = estimate(Cohort(sim.data, **sim.cohort_args), method="regression").to_frame()
    f = f.set_index("outcome")
    for name in sim.truth.index:
        truth = sim.truth.loc[name]
        est, se = f.loc[name, "non_intervention"], f.loc[name, "non_intervention_se"]
        assert abs(est - truth["non_intervention"]) < 3.5 * se
        assert abs(truth["naive_comparison"] - truth["non_intervention"]) > 6 * se


def test_glm_se_matches_bootstrap() -> None:
    """The logistic g-computation SE (analytic) agrees with a nonparametric bootstrap."""
    sim = simulate("reoffending", n_treated=300, n_comparison=3000, seed=21)
    c = Cohort(sim.data, **{**sim.cohort_args, "outcome": ["reoffended"]})
    se = RegressionAdjustment(se="robust").fit(c).estimates[0].non_intervention_se
    rng = np.random.default_rng(0)
    y, t, X = c.y("reoffended"), c.t, c.X
    draws = []
    for _ in range(150):
        i = np.r_[rng.choice(np.flatnonzero(t), t.sum()), rng.choice(np.flatnonzero(~t), (~t).sum())]
        draws.append(regression_att(y[i], t[i], X[i], "logistic")[0])
    assert np.std(draws, ddof=1) == pytest.approx(se, rel=0.2)


def test_sklearn_outcome_model_runs_and_says_se_ignores_it() -> None:
    from sklearn.tree import DecisionTreeRegressor

    sim = load_reoffending()
    c = Cohort(sim.data, **{**sim.cohort_args, "outcome": ["reconviction_events"]})
    r = RegressionAdjustment(outcome_model=DecisionTreeRegressor(max_depth=4)).fit(c)
    assert "NOT accounted for" in r.estimates[0].se_method
    assert 0.7 < r.estimates[0].non_intervention < 1.3


def test_errors() -> None:
    with pytest.raises(OptionError, match="`outcome_model` must be one of 'auto'"):
        RegressionAdjustment(outcome_model="probit")
    with pytest.raises(OptionError, match="`outcome_model` must be one of .* or a scikit-learn"):
        RegressionAdjustment(outcome_model=3)
    sim = load_reoffending()
    c = Cohort(sim.data, **sim.cohort_args)
    with pytest.raises(OptionError, match="'logistic' needs a binary .* this one is count"):
        RegressionAdjustment(outcome_model="logistic").fit(c)
    rng = np.random.default_rng(1)
    n = 300
    t = np.r_[np.ones(100), np.zeros(200)].astype(int)
    flag = rng.integers(0, 2, n)
    df = pd.DataFrame({"t": t, "x": rng.normal(size=n), "rare_flag": flag,
                       "y": np.where((t == 0) & (flag == 1), 1, rng.integers(0, 2, n))})
    c2 = Cohort(df, treatment="t", outcome="y", covariates=["x", "rare_flag"])
    with pytest.raises(EstimationError, match="logistic outcome model cannot be estimated.*'rare_flag'"):
        RegressionAdjustment().fit(c2)
