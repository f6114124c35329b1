"""Few-cluster inference for ipw, aipw, regression, ipwra and entropy, and the ATE, ATC and ATO:
the wild cluster restricted score bootstrap chosen below ``options.FEW_CLUSTERS`` clusters
(issue 18.4).

References: ``tests/reference/wildboottest/weighted_*`` (wildboottest 0.3.2 in its own
environment, by the script beside them): without covariates every estimator (and every
estimand) is the difference in means, whose WCR11 test wildboottest computes; the weighted
least squares with the comparison units' weights is wildboottest's on rows scaled by
``sqrt(w)``. With covariates the p-value of no effect is checked against refitting the
weighted normal equations by hand for each of the 4,096 sign patterns.
"""

from __future__ import annotations

import itertools
import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import pbr_eval
from pbr_eval.estimators import _outcome_se, _population
from pbr_eval.estimators._outcome_se import working_regression
from pbr_eval.exceptions import OptionError, OverlapWarning
from pbr_eval.inference.wild import wild_cluster_test

REF = Path(__file__).parent / "reference" / "wildboottest"
METHODS = ("ipw", "aipw", "regression", "ipwra", "entropy")
#: (method, estimand, options) through the general estimand code (``_population``)
POPULATION = [(m, e, {}) for e in ("ATE", "ATC", "ATO") for m in ("ipw", "aipw", "ipwra",
                                                                  "regression")
              if (m, e) != ("regression", "ATO")] + [
    ("aipw", "ATE", {"normalize": False}), ("regression", "ATE", {"interactions": ["x"]}),
    ("ipw", "ATT", {"propensity": "probit"}), ("aipw", "ATT", {"propensity": "probit"}),
    ("regression", "ATT", {"outcome_covariates": ["x"]}), ("ipw", "ATE", {"trim": 0.05})]


def _ids(case: tuple) -> str:
    return "-".join([case[0], case[1], *(f"{k}={v}" for k, v in case[2].items())])


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return pd.read_csv(REF / "weighted_data.csv")


@pytest.fixture(scope="module")
def reference() -> dict:
    return json.loads((REF / "weighted_reference.json").read_text())


def _cohort(d: pd.DataFrame, covariates: list[str]) -> pbr_eval.Cohort:
    return pbr_eval.Cohort(d, treatment="treated", outcome="y", covariates=covariates,
                           cluster="area")


def test_weighted_least_squares_equals_wildboottest(data, reference):
    ref = reference["weighted"]
    X = np.column_stack([np.ones(len(data)), data["treated"]])
    r = wild_cluster_test(X, data["y"].to_numpy(), data["area"].to_numpy(), 1, n_boot=9999,
                          case_weights=data["w"].to_numpy())
    assert r.full_enumeration and r.n_draws == ref["B"] == 4096
    assert r.t_stat == pytest.approx(ref["t_stat"], rel=1e-10)
    # the draws that rebuild the sample (all +1, all -1) tie |t*| = |t|: pbr_eval counts them
    # as exceedances, wildboottest compares strictly and lets rounding decide; here they fell
    # below. Every other draw is counted alike:
    ties = np.abs(np.abs(r.t_boot) - abs(r.t_stat)) <= 1e-10 * abs(r.t_stat)
    assert ties.sum() == 2
    strict = float(np.mean(np.abs(r.t_boot) > abs(r.t_stat) * (1 + 1e-10)))
    assert strict == ref["p_value"] and r.p_value == strict + 2 / 4096


@pytest.mark.parametrize("method", METHODS)
def test_without_covariates_each_estimator_equals_wildboottest(data, reference, method):
    """No covariates: every estimator is the difference in means, the same WCR11 test."""
    _equals_wildboottest(pbr_eval.estimate(_cohort(data, []), method=method), len(data),
                         reference["difference_in_means"])


def _equals_wildboottest(res, n, ref):
    """The first outcome's wild test is wildboottest's WCR11 one (all 4,096 sign patterns)."""
    rec = res.info["few_clusters"]["y"]
    assert rec["used"] and rec["full_enumeration"] and rec["n_draws"] == 4096
    # wildboottest's strict count plus the two tie draws (see the weighted test)
    assert rec["p_value"] == ref["p_value"] + 2 / 4096
    k = 2
    t = res.estimates[0].effect / (rec["crv_std_error"] * np.sqrt((n - 1) / (n - k)))
    assert t == pytest.approx(ref["t_stat"], rel=1e-8)


@pytest.mark.parametrize("method", METHODS)
def test_offsets_make_the_estimators_own_cluster_robust_t(data, method):
    """With covariates the working regression's CRV1 t is the estimator's influence-function t."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OverlapWarning)
        crv = pbr_eval.estimate(_cohort(data, ["x"]), method=method, se="cluster")
        res = pbr_eval.estimate(_cohort(data, ["x"]), method=method)
    e, rec = crv.estimates[0], res.info["few_clusters"]["y"]
    assert rec["used"] and rec["crv_std_error"] == pytest.approx(e.std_error, rel=1e-12)
    assert res.estimates[0].effect == e.effect
    assert rec["lower"] < e.effect < rec["upper"]
    wide = res.estimates[0]
    assert wide.std_error == pytest.approx((rec["upper"] - rec["lower"]) / (2 * 1.959964),
                                           rel=1e-5)
    assert "wild cluster restricted (score) bootstrap over 12 clusters" in wide.se_method
    assert any("Only 12 clusters" in note for note in res.info["notes"])


@pytest.mark.parametrize("method", METHODS)
def test_cohort_se_widened_except_the_cohorts_own_noise(data, method):
    """The cohort variance V_c is widened by the wild/CRV factor r except its share for the
    cohort's own outcome noise V_o = sum_T v(X) / n1^2: V_c + (r^2 - 1)(V_c - V_o)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OverlapWarning)
        crv = pbr_eval.estimate(_cohort(data, ["x"]), method=method, se="cluster")
        res = pbr_eval.estimate(_cohort(data, ["x"]), method=method)
    e, wide, rec = crv.estimates[0], res.estimates[0], res.info["few_clusters"]["y"]
    r = wide.std_error / e.std_error
    var_c = e.cohort_std_error**2
    var_o = rec["own_noise_share"] * var_c
    if method != "ipwra":  # an unweighted linear model on the comparison units: s^2 / n1
        t = data["treated"].to_numpy(bool)
        Xc = np.column_stack([np.ones(len(data)), data["x"]])[~t]
        resid = data["y"].to_numpy()[~t] - Xc @ np.linalg.lstsq(Xc, data["y"].to_numpy()[~t],
                                                                 rcond=None)[0]
        assert var_o == pytest.approx(resid @ resid / (len(resid) - 2) / t.sum(), rel=1e-9)
    assert 0 < var_o < var_c and r > 1
    assert wide.cohort_std_error == pytest.approx(np.sqrt(var_c + (r**2 - 1) * (var_c - var_o)),
                                                  rel=1e-12)
    assert e.cohort_std_error < wide.cohort_std_error < r * e.cohort_std_error
    assert "except its share for the cohort's own outcome noise" in wide.se_method


def test_score_offsets_equal_refitting_each_draw():
    """Hand computation: y* = X b~ + v_g u~ with the offsets flipped too, weighted normal
    equations solved per draw, the CRV1 t of the refit (offsets in its scores)."""
    rng = np.random.default_rng(2)
    G, n = 9, 180
    g = np.repeat(np.arange(G), n // G)
    X = np.column_stack([np.ones(n), rng.normal(size=n), rng.random(n) < 0.4])
    y = X @ [1.0, 0.5, 0.2] + rng.normal(size=G)[g] + rng.normal(size=n)
    w = rng.uniform(0.5, 2.0, n)
    off = rng.normal(scale=0.3, size=(n, 3))
    off -= off.mean(axis=0)
    v = rng.choice([-1.0, 1.0], size=(G, 6))
    r = wild_cluster_test(X, y, g, 2, draws=v, case_weights=w, score_offsets=off)
    W = np.diag(w)
    A = np.linalg.inv(X.T @ W @ X)
    keep = [0, 1]
    br = np.linalg.solve(X[:, keep].T @ W @ X[:, keep], X[:, keep].T @ W @ y)
    ur = y - X[:, keep] @ br
    ssc = (n - 1) / (n - 3) * G / (G - 1)
    for b in range(v.shape[1]):
        vb = v[g, b]
        ys = X[:, keep] @ br + vb * ur
        # weighted normal equations with the flipped offsets: X'W(ys - X beta) + sum v N = 0
        bs = A @ (X.T @ W @ ys + (vb[:, None] * off).sum(axis=0))
        sc = (w * (ys - X @ bs))[:, None] * X + vb[:, None] * off
        meat = sum(np.outer(sc[g == j].sum(0), sc[g == j].sum(0)) for j in range(G))
        assert r.t_boot[b] == pytest.approx(bs[2] / np.sqrt(ssc * (A @ meat @ A)[2, 2]),
                                            rel=1e-9)
    # and the offsets enter the original t statistic's variance
    bh = A @ X.T @ W @ y
    sc = (w * (y - X @ bh))[:, None] * X + off
    meat = sum(np.outer(sc[g == j].sum(0), sc[g == j].sum(0)) for j in range(G))
    assert r.t_stat == pytest.approx(bh[2] / np.sqrt(ssc * (A @ meat @ A)[2, 2]), rel=1e-10)


def test_working_regression_reproduces_each_estimate(data):
    for method in ("ipw", "aipw", "regression"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", OverlapWarning)
            res = pbr_eval.estimate(_cohort(data, ["x"]), method=method, se="cluster")
        assert "few_clusters" not in res.info
    t = data["treated"].to_numpy(bool)
    y = data["y"].to_numpy()
    X, w, off, effect = working_regression(y, t, (~t) * 2.0, np.zeros(len(y)))
    assert effect == pytest.approx(y[t].mean() - y[~t].mean())
    assert np.allclose(w, 1.0) and X.shape == (len(y), 2)  # comparison weights: mean 1


def test_chosen_only_below_the_threshold_with_se_auto(data):
    c = _cohort(data, [])
    assert "few_clusters" in pbr_eval.estimate(c, method="ipw").info
    assert "few_clusters" not in pbr_eval.estimate(c, method="ipw", few_clusters=12).info
    assert "few_clusters" in pbr_eval.estimate(c, method="ipw", few_clusters=13).info
    assert "few_clusters" not in pbr_eval.estimate(c, method="ipw", few_clusters=0).info
    assert "few_clusters" not in pbr_eval.estimate(c, method="regression", se="cluster").info
    no_cluster = pbr_eval.Cohort(data, treatment="treated", outcome="y", covariates=[])
    assert "few_clusters" not in pbr_eval.estimate(no_cluster, method="aipw").info
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OverlapWarning)
        summary = pbr_eval.estimate(_cohort(data, ["x"]), method="aipw").summary()
    assert "wild cluster restricted" in summary


def test_random_draws_above_13_clusters_follow_the_seed():
    rng = np.random.default_rng(4)
    area = np.repeat(np.arange(16), 20)
    t = rng.random(area.size) < 0.4
    y = rng.normal(size=16)[area] + 0.3 * t + rng.normal(size=area.size)
    c = pbr_eval.Cohort(pd.DataFrame({"y": y, "t": t.astype(int), "area": area}),
                        treatment="t", outcome="y", covariates=[], cluster="area")
    a = pbr_eval.estimate(c, method="ipw", seed=3).info["few_clusters"]["y"]
    b = pbr_eval.estimate(c, method="ipw", seed=3).info["few_clusters"]["y"]
    d = pbr_eval.estimate(c, method="ipw", seed=4).info["few_clusters"]["y"]
    assert not a["full_enumeration"] and a["n_draws"] == 9999
    assert a == b and a["lower"] != d["lower"]
    # seed=None is seed 0 for every estimator with the interval (it was fresh randomness for
    # ipw, regression and entropy, and 0 for aipw and the other estimands)
    # (the estimator classes; pbr_eval.estimate already treated None as not given)
    from pbr_eval.estimators.base import build_estimator

    for method, kw in (("ipw", {}), ("regression", {}), ("entropy", {}), ("aipw", {}),
                       ("ipw", {"estimand": "ATE"})):
        none = build_estimator(method, {"seed": None, **kw}).fit(c).info["few_clusters"]["y"]
        zero = build_estimator(method, {"seed": 0, **kw}).fit(c).info["few_clusters"]["y"]
        assert none["lower"] == zero["lower"] and none["upper"] == zero["upper"], (method, kw)


@pytest.mark.parametrize(("option", "value", "message"), [
    ("few_clusters", -1, "`few_clusters` must be an integer >= 0"),
    ("seed", -1, "`seed` must be a non-negative integer or None; got -1"),
    ("seed", 1.5, "`seed` must be a non-negative integer or None; got 1.5"),
])
@pytest.mark.parametrize("method", ["ipw", "regression", "entropy"])
def test_option_errors(method, option, value, message):
    from pbr_eval.estimators.base import ESTIMATORS

    with pytest.raises(OptionError, match=message):
        ESTIMATORS[method](**{option: value})
    if option == "few_clusters":
        for other in ("aipw", "ipwra"):
            with pytest.raises(OptionError, match=message):
                ESTIMATORS[other](**{option: value})


# ------------------------------------------------- entropy and the other estimands
@pytest.mark.parametrize(("method", "estimand"), [
    (m, e) for e in ("ATE", "ATC", "ATO") for m in ("ipw", "aipw", "ipwra", "regression")
    if (m, e) != ("regression", "ATO")])  # regression has no ATO (it needs propensity scores)
def test_other_estimands_without_covariates_equal_wildboottest(data, reference, method,
                                                                 estimand):
    """No covariates: the score is constant, every estimand is the difference in means."""
    ref = reference["difference_in_means"]
    res = pbr_eval.estimate(_cohort(data, []), method=method, estimand=estimand)
    rec = res.info["few_clusters"]["y"]
    assert rec["used"] and rec["full_enumeration"] and rec["p_value"] == ref["p_value"] + 2 / 4096
    n, k = len(data), 2
    t = res.estimates[0].effect / (rec["crv_std_error"] * np.sqrt((n - 1) / (n - k)))
    assert t == pytest.approx(ref["t_stat"], rel=1e-8)
    assert res.estimates[0].population


def _spy(monkeypatch, module):
    """Record the arguments of ``module.few_cluster_estimate`` (and still call it)."""
    calls = []
    real = module.few_cluster_estimate

    def spy(*args, **kwargs):
        calls.append((args, kwargs))
        return real(*args, **kwargs)

    monkeypatch.setattr(module, "few_cluster_estimate", spy)
    return calls


def _hand_p_value(y, t, w_c, phi, g, w_t=None):
    """The test of no effect by hand: the working regression's weighted normal equations,
    its influences checked against ``phi``, then every sign pattern refitted with the
    flipped offsets and the CRV1 t recomputed. Returns (effect, t, p-value)."""
    n = y.size
    w = np.where(t, 1.0 if w_t is None else w_t, w_c).astype(float)
    for grp in (t, ~t):  # each group's weights to mean 1 among its units used
        used = grp & (w > 0)
        w[grp] *= used.sum() / w[grp].sum()
    X = np.column_stack([np.ones(n), t.astype(float)])
    A = np.linalg.inv(X.T @ (w[:, None] * X))
    bh = A @ X.T @ (w * y)
    # offsets on the intercept's score that make each unit's influence on the coefficient
    # its phi: (A (w x u + (N, 0)))_1 = phi  <=>  N = (infl_wls - phi) / (-A[1, 0])
    infl_wls = (A @ (X * (w * (y - X @ bh))[:, None]).T)[1]
    off = np.zeros((n, 2))
    off[:, 0] = (phi - infl_wls) / A[1, 0]
    assert (A @ (X * (w * (y - X @ bh))[:, None] + off).T)[1] == pytest.approx(phi, abs=1e-12)
    labels, gi = np.unique(g, return_inverse=True)
    G = labels.size
    ssc = (n - 1) / (n - 2) * G / (G - 1)

    def t_of(yy, vv):
        b = A @ (X.T @ (w * yy) + (vv[:, None] * off).sum(axis=0))
        sc = (w * (yy - X @ b))[:, None] * X + vv[:, None] * off
        S = np.zeros((G, 2))
        np.add.at(S, gi, sc)
        return b[1] / np.sqrt(ssc * (A @ S.T @ S @ A)[1, 1])

    t_hat = t_of(y, np.ones(n))
    a_r = float(w @ y / w.sum())  # the restricted fit: no effect
    u_r = y - a_r
    exceed = 0
    for signs in itertools.product((-1.0, 1.0), repeat=G):
        v = np.asarray(signs)[gi]
        exceed += abs(t_of(a_r + v * u_r, v)) >= abs(t_hat) * (1 - 1e-10)
    return bh[1], t_hat, exceed / 2**G


def test_entropy_each_draw_equals_refitting_by_hand(data, monkeypatch):
    """Entropy balancing (ATT): treated weight 1, comparison weights the entropy weights,
    offsets from its influence function (the weights' estimation included)."""
    calls = _spy(monkeypatch, _outcome_se)  # entropy calls it through the module
    res = pbr_eval.estimate(_cohort(data, ["x"]), method="entropy")
    crv = pbr_eval.estimate(_cohort(data, ["x"]), method="entropy", se="cluster").estimates[0]
    (est, y_work, t, w_c, phi, g), kw = calls[0]
    assert kw.get("treated_weights") is None and kw["noise"] is not None
    effect, t_hat, p = _hand_p_value(y_work, t, w_c, phi, g)
    rec = res.info["few_clusters"]["y"]
    assert effect == pytest.approx(crv.effect, rel=1e-10)
    assert rec["crv_std_error"] == pytest.approx(crv.std_error, rel=1e-12)
    n, G = len(y_work), 12
    assert t_hat == pytest.approx(crv.effect / (crv.std_error * np.sqrt(
        (n - 1) / (n - 2) * G / (G - 1) * (G - 1) / G)), rel=1e-9)
    assert rec["p_value"] == p and rec["used"]
    assert "wild cluster restricted (score) bootstrap over 12" in res.estimates[0].se_method


@pytest.mark.parametrize("case", POPULATION, ids=_ids)
def test_other_estimands_reproduce_the_estimate_and_each_draw(data, monkeypatch, case):
    """The working regression (treated weights h/e, comparison h/(1-e); the outcome, or each
    unit's residual from its group's model plus the group's g-computation mean) reproduces
    the estimate to 1e-8, its influence is the estimator's, and the p-value of no effect is
    the share of hand refits of the 4,096 sign patterns at least as extreme."""
    method, estimand, options = case
    calls = _spy(monkeypatch, _population)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OverlapWarning)
        res = pbr_eval.estimate(_cohort(data, ["x"]), method=method, estimand=estimand,
                                **options)
        crv = pbr_eval.estimate(_cohort(data, ["x"]), method=method, estimand=estimand,
                                se="cluster", **options).estimates[0]
    (est, y_work, t, w_c, phi, g), kw = calls[0]
    effect, t_hat, p = _hand_p_value(y_work, t, w_c, phi, g, kw["treated_weights"])
    assert effect == pytest.approx(crv.effect, rel=1e-8)
    rec = res.info["few_clusters"]["y"]
    assert rec["used"] and rec["p_value"] == p
    assert rec["crv_std_error"] == pytest.approx(crv.std_error, rel=1e-12)
    assert rec["lower"] < crv.effect < rec["upper"]
    wide = res.estimates[0]
    assert wide.std_error == pytest.approx((rec["upper"] - rec["lower"]) / (2 * 1.959964),
                                           rel=1e-5)
    assert (kw["noise"] is not None) == (estimand == "ATT") and wide.population == (
        estimand != "ATT")
    r = wide.std_error / crv.std_error
    if estimand != "ATT":  # the rate's standard error widened by the same factor, and said
        assert wide.non_intervention_se == pytest.approx(r * crv.non_intervention_se,
                                                         rel=1e-12)
        assert any("the interval of the rate without the programme is the cluster-robust one "
                   "widened by the same factor" in note for note in res.info["notes"])
        lo = res.to_frame().loc[0, "non_intervention_ci_lower"]
        assert lo == pytest.approx(crv.non_intervention - 1.959964 * r * crv.non_intervention_se,
                                   rel=1e-5)
    else:  # the expected rate's stays cluster-robust (the cohort's own is widened)
        assert wide.non_intervention_se == crv.non_intervention_se


def test_other_estimands_follow_the_threshold_and_se(data):
    c = _cohort(data, ["x"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OverlapWarning)
        assert "few_clusters" not in pbr_eval.estimate(c, method="aipw", estimand="ATE",
                                                       few_clusters=12).info
        assert "few_clusters" not in pbr_eval.estimate(c, method="ipw", estimand="ATO",
                                                       se="cluster").info
        assert "few_clusters" not in pbr_eval.estimate(c, method="entropy", few_clusters=0).info
        summary = pbr_eval.estimate(c, method="ipwra", estimand="ATC").summary()
    assert "wild cluster restricted" in summary


def test_an_outcome_model_that_does_not_reproduce_keeps_the_cluster_robust_interval(data):
    """A scikit-learn outcome model without an intercept: its residuals do not average to
    zero in each group, the working regression misses the estimate, and the note says the
    interval is the cluster-robust one."""
    from sklearn.linear_model import LinearRegression

    model = LinearRegression(fit_intercept=False)
    res = pbr_eval.estimate(_cohort(data, ["x"]), method="regression", estimand="ATE",
                            outcome_model=model)
    crv = pbr_eval.estimate(_cohort(data, ["x"]), method="regression", estimand="ATE",
                            outcome_model=model, se="cluster")
    rec = res.info["few_clusters"]["y"]
    assert not rec["used"] and "cluster-robust interval is kept" in rec["reason"]
    assert res.estimates[0].std_error == crv.estimates[0].std_error
    assert any("cluster-robust interval is kept" in note for note in res.info["notes"])

