"""Doubly robust estimators ("aipw", "ipwra"): statsmodels reference, double robustness, bootstrap."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_weighting import reference_cases, reference_data, rel

from pbr_eval import Cohort, estimate
from pbr_eval.datasets import load_reoffending, simulate
from pbr_eval.estimators.doubly_robust import AugmentedIPW, IPWRegressionAdjustment, aipw_att
from pbr_eval.exceptions import OptionError


@pytest.mark.filterwarnings("ignore::pbr_eval.exceptions.OverlapWarning")
@pytest.mark.parametrize(("spec", "ref"), reference_cases("ipw_ra"))
def test_ipwra_matches_statsmodels(spec: dict, ref: dict) -> None:
    data = reference_data(spec["spec"])
    c = Cohort(data, treatment=spec["treatment"], outcome=spec["outcome"],
               covariates=spec["covariates"])
    est = IPWRegressionAdjustment(outcome_model="linear", se="robust",
                                  clip=tuple(ref["clip"]))
    e = est.fit(c).estimates[0]
    assert ref["n_outside_clip"] == 0  # so clipping does not move the point estimate
    assert rel(e.non_intervention, ref["closed_form"]["pom0"]) < 1e-6
    assert rel(e.effect, ref["closed_form"]["att"]) < 1e-6
    assert rel(e.non_intervention_se, ref["gmm_accurate"]["pom0_se"]) < 1e-6
    assert rel(e.std_error, ref["gmm_accurate"]["att_se"]) < 1e-6
    assert rel(e.non_intervention_se, ref["gmm"]["pom0_se"]) < 1e-2
    assert rel(e.std_error, ref["gmm"]["att_se"]) < 1e-2


def _dgp(n: int, seed: int, *, ps_nonlinear: bool, outcome_nonlinear: bool) -> tuple[pd.DataFrame, float]:
    """x1, x2 ~ N(0,1); selection and Y(0) linear in (x1, x2) or with x1^2 terms.

    Returns the data and the true non-intervention mean (mean of Y(0) among the treated).
    The estimators see x1 and x2 only, so the nonlinear model is misspecified.
    """
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    lin = -2.0 + 0.8 * x1 - 0.5 * x2 + (0.7 * x1**2 if ps_nonlinear else 0.0)
    t = rng.random(n) < 1 / (1 + np.exp(-lin))
    y0 = 1.0 + 1.0 * x1 + 0.5 * x2 + (1.5 * x1**2 if outcome_nonlinear else 0.0)
    y0 = y0 + rng.normal(size=n)
    y = y0 + 2.0 * t
    df = pd.DataFrame({"t": t.astype(int), "x1": x1, "x2": x2, "y": y})
    return df, float(y0[t].mean())


@pytest.mark.filterwarnings("ignore::pbr_eval.exceptions.OverlapWarning")
@pytest.mark.parametrize("method", ["aipw", "ipwra"])
@pytest.mark.parametrize(
    ("ps_nonlinear", "outcome_nonlinear"),
    [(False, False), (True, False), (False, True)],
    ids=["both-right", "propensity-wrong", "outcome-wrong"],
)
def test_double_robustness(method: str, ps_nonlinear: bool, outcome_nonlinear: bool) -> None:
    df, truth = _dgp(60_000, 7, ps_nonlinear=ps_nonlinear, outcome_nonlinear=outcome_nonlinear)
    c = Cohort(df, treatment="t", outcome="y", covariates=["x1", "x2"])
    e = estimate(c, method=method, outcome_model="linear").estimates[0]
    naive = df.loc[df.t == 0, "y"].mean()
    assert abs(e.non_intervention - truth) < 4 * e.non_intervention_se
    assert abs(naive - truth) > 10 * e.non_intervention_se
    if outcome_nonlinear:  # regression alone is biased here; DR is not
        ra = estimate(c, method="regression", outcome_model="linear").estimates[0]
        assert abs(ra.non_intervention - truth) > 4 * ra.non_intervention_se
    if ps_nonlinear:  # IPW alone is biased here
        ipw = estimate(c, method="ipw").estimates[0]
        assert abs(ipw.non_intervention - truth) > 4 * ipw.non_intervention_se


def test_aipw_se_matches_bootstrap() -> None:
    """statsmodels has no ATT AIPW: check the analytic SE against a bootstrap."""
    df, _ = _dgp(4000, 3, ps_nonlinear=False, outcome_nonlinear=False)
    c = Cohort(df, treatment="t", outcome="y", covariates=["x1", "x2"])
    e = AugmentedIPW(outcome_model="linear", se="robust").fit(c).estimates[0]
    from pbr_eval.models.logit import fit_logit

    rng = np.random.default_rng(1)
    y, t, X = c.y("y"), c.t, c.X
    draws = []
    for _ in range(200):
        i = rng.integers(0, t.size, t.size)
        ps = fit_logit(X[i], t[i].astype(float)).predict(X[i])
        draws.append(aipw_att(y[i], t[i], X[i], ps / (1 - ps), "linear")[0])
    assert np.std(draws, ddof=1) == pytest.approx(e.non_intervention_se, rel=0.15)


@pytest.mark.filterwarnings("ignore::pbr_eval.exceptions.OverlapWarning")
def test_dr_near_truth_on_simulator() -> None:
    sim = simulate("reoffending", n_treated=2000, n_comparison=40000, seed=13)
    c = Cohort(sim.data, **sim.cohort_args)
    for method in ("aipw", "ipwra"):
        f = estimate(c, method=method).to_frame().set_index("outcome")
        for name in sim.truth.index:
            truth = sim.truth.loc[name, "non_intervention"]
            assert abs(f.loc[name, "non_intervention"] - truth) < 3.5 * f.loc[
                name, "non_intervention_se"]
            lo, hi = f.loc[name, ["non_intervention_ci_lower", "non_intervention_ci_upper"]]
            assert lo >= 0


def test_options_and_surface() -> None:
    with pytest.raises(OptionError, match="`clip` must be"):
        AugmentedIPW(clip=2.0)
    with pytest.raises(OptionError, match="`outcome_model` must be one of"):
        IPWRegressionAdjustment(outcome_model="tobit")
    sim = load_reoffending()
    r = AugmentedIPW(trim=0.005).fit(Cohort(sim.data, **sim.cohort_args))
    assert r.info["n_trimmed_comparison"] > 0
    assert "propensity score and outcome model" in r.estimates[0].se_method
    assert r.balance.max_abs_smd_after < 0.1
