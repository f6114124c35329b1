"""Few-cluster inference for ipw, aipw, regression (and ipwra): the wild cluster restricted
score bootstrap chosen below ``options.FEW_CLUSTERS`` clusters (issue 18.4).

References: ``tests/reference/wildboottest/weighted_*`` (wildboottest 0.3.2 in its own
environment, by the script beside them): without covariates the three estimators are the
difference in means, whose WCR11 test wildboottest computes; the weighted least squares with
the comparison units' weights is wildboottest's on rows scaled by ``sqrt(w)``.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import pbr_eval
from pbr_eval.estimators._outcome_se import working_regression
from pbr_eval.exceptions import OptionError, OverlapWarning
from pbr_eval.inference.wild import wild_cluster_test

REF = Path(__file__).parent / "reference" / "wildboottest"
METHODS = ("ipw", "aipw", "regression", "ipwra")


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
    ref = reference["difference_in_means"]
    res = pbr_eval.estimate(_cohort(data, []), method=method)
    rec = res.info["few_clusters"]["y"]
    assert rec["used"] and rec["full_enumeration"] and rec["n_draws"] == 4096
    # wildboottest's strict count plus the two tie draws (see the weighted test)
    assert rec["p_value"] == ref["p_value"] + 2 / 4096
    n, k = len(data), 2
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


@pytest.mark.parametrize(("option", "value", "message"), [
    ("few_clusters", -1, "`few_clusters` must be an integer >= 0"),
    ("seed", -1, "`seed` must be a non-negative integer or None; got -1"),
    ("seed", 1.5, "`seed` must be a non-negative integer or None; got 1.5"),
])
@pytest.mark.parametrize("method", ["ipw", "regression"])
def test_option_errors(method, option, value, message):
    from pbr_eval.estimators.base import ESTIMATORS

    with pytest.raises(OptionError, match=message):
        ESTIMATORS[method](**{option: value})
    if option == "few_clusters":
        for other in ("aipw", "ipwra"):
            with pytest.raises(OptionError, match=message):
                ESTIMATORS[other](**{option: value})
