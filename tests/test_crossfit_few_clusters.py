"""Few clusters for cross-fitted AIPW (``aipw`` with ``cross_fit=K``): the wild cluster
restricted score bootstrap's interval below ``options.FEW_CLUSTERS`` clusters (se='auto'),
as for the other weighting-family estimators (``tests/test_weighting_few_clusters.py``).

The ATT is a mean of out-of-fold scores; the working regression is the treated units'
out-of-fold residuals against the comparison units' (times ``kappa = sum_C odds / n1``,
DoubleML's unnormalised score) with the odds as weights, its score offsets from the
cross-fit's influence function. The out-of-fold nuisance values are fixed (not refitted per
draw). References: with constant learners the estimate is the difference in means, whose
WCR11 test wildboottest computes (``tests/reference/wildboottest/``); with a covariate the
p-value of no effect equals the share of hand refits of all 4,096 sign patterns, and each
unit's influence is the cross-fit's own, recomputed here from its out-of-fold predictions.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from test_weighting_few_clusters import _equals_wildboottest, _hand_p_value, _spy

import pbr_eval
from pbr_eval.estimators import crossfit
from pbr_eval.exceptions import OverlapWarning

REF = Path(__file__).parent / "reference" / "wildboottest"


class FixedScore(ClassifierMixin, BaseEstimator):
    """A propensity 'learner' that ignores its training data: every score is ``p``."""

    def __init__(self, p: float = 0.5) -> None:
        self.p = p

    def fit(self, X, y):  # noqa: ANN001, ANN201
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, X):  # noqa: ANN001, ANN201
        return np.column_stack([np.full(len(X), 1 - self.p), np.full(len(X), self.p)])


class FixedMean(RegressorMixin, BaseEstimator):
    """An outcome 'learner' that ignores its training data: every prediction is ``c``."""

    def __init__(self, c: float = 0.0) -> None:
        self.c = c

    def fit(self, X, y):  # noqa: ANN001, ANN201
        return self

    def predict(self, X):  # noqa: ANN001, ANN201
        return np.full(len(X), self.c)


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return pd.read_csv(REF / "weighted_data.csv")


def _cohort(d: pd.DataFrame, covariates: list[str]) -> pbr_eval.Cohort:
    return pbr_eval.Cohort(d, treatment="treated", outcome="y", covariates=covariates,
                           cluster="area")


def test_constant_learners_equal_wildboottest(data):
    """Scores n1/n and the comparison mean: the ATT is the difference in means, and the
    p-value and t are wildboottest's WCR11 ones (plus its two tie draws, as for the others)."""
    ref = json.loads((REF / "weighted_reference.json").read_text())["difference_in_means"]
    t = data["treated"].to_numpy(bool)
    y = data["y"].to_numpy()
    learners = {"propensity": FixedScore(float(t.mean())),
                "outcome_model": FixedMean(float(y[~t].mean()))}
    res = pbr_eval.estimate(_cohort(data, []), method="aipw", cross_fit=3, seed=1, **learners)
    assert res.estimates[0].effect == pytest.approx(y[t].mean() - y[~t].mean(), rel=1e-12)
    _equals_wildboottest(res, len(data), ref)


@pytest.mark.parametrize("repetitions", [1, 2])
def test_with_a_covariate_each_draw_equals_refitting_by_hand(data, monkeypatch, repetitions):
    """The default learners with covariate x: the working regression reproduces the
    estimate to 1e-8, each unit's influence is the cross-fit's phi (recomputed here from its
    out-of-fold predictions), and the p-value of no effect is the share of the 4,096 hand
    refits at least as extreme. Breaking the offsets (or kappa) fails here."""
    calls = _spy(monkeypatch, crossfit)
    c = _cohort(data, ["x"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = pbr_eval.estimate(c, method="aipw", cross_fit=3, seed=1, repetitions=repetitions)
        crv = pbr_eval.estimate(c, method="aipw", cross_fit=3, seed=1, repetitions=repetitions,
                                se="cluster")
    assert len(calls) == repetitions and "few_clusters" not in crv.info
    rec = res.info["few_clusters"]["y"]
    recs = rec["repetitions"] if repetitions > 1 else [rec]
    t = data["treated"].to_numpy(bool)
    y = data["y"].to_numpy()
    n1, n, G = t.sum(), len(y), 12
    seeds = np.random.SeedSequence(1).spawn(repetitions)
    m_l, g_l = crossfit.crossfit_learners("logit", "auto", "continuous")
    for ((_est, y_work, tk, w_c, phi, g), kw), r, s, split in zip(
            calls, recs, seeds, crv.extras["crossfit"]["y"], strict=True):
        folds = crossfit.crossfit_folds(t, 3, seed=int(s.generate_state(1)[0]),
                                        cluster=data["area"].to_numpy())
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = crossfit.aipw_att_crossfit(y, t, c.X, m_l, g_l, folds)
        odds = fit.ps / (1 - fit.ps)
        u0 = y - fit.g0
        score = np.where(t, u0, -odds * u0)
        theta = score.sum() / n1
        assert phi == pytest.approx((score - t * theta) / n1, abs=1e-14)  # the unit's phi
        assert kw["noise"] is not None and kw.get("treated_weights") is None
        effect, t_hat, p = _hand_p_value(y_work, tk, w_c, phi, g)
        assert effect == pytest.approx(split["effect"], rel=1e-8)
        assert effect == pytest.approx(theta, rel=1e-8)
        assert r["used"] and r["p_value"] == p
        assert r["crv_std_error"] == pytest.approx(split["std_error"], rel=1e-12)
        assert t_hat == pytest.approx(split["effect"] / (split["std_error"] * np.sqrt(
            (n - 1) / (n - 2))), rel=1e-9)
        assert r["lower"] < split["effect"] < r["upper"]
    wide = res.estimates[0]
    if repetitions == 1:
        assert wide.std_error == pytest.approx((rec["upper"] - rec["lower"]) / (2 * 1.959964),
                                               rel=1e-5)
    assert wide.effect == crv.estimates[0].effect and wide.std_error > crv.estimates[0].std_error
    assert wide.non_intervention_se == crv.estimates[0].non_intervention_se
    assert crv.estimates[0].cohort_std_error < wide.cohort_std_error
    assert f"wild cluster restricted (score) bootstrap over {G}" in wide.se_method
    assert wide.se_method.count("the default intervals") == 1
    assert any("Only 12 clusters (fewer than 30): the effect's interval is the wild cluster"
               in note for note in res.info["notes"])


def test_follows_the_threshold_and_se(data):
    c = _cohort(data, ["x"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for opts in ({"few_clusters": 12}, {"few_clusters": 0}, {"se": "cluster"}):
            res = pbr_eval.estimate(c, method="aipw", cross_fit=3, seed=1, **opts)
            assert "few_clusters" not in res.info
            assert not any("Only 12 clusters" in note for note in res.info["notes"])
        assert "few_clusters" in pbr_eval.estimate(c, method="aipw", cross_fit=3, seed=1,
                                                   few_clusters=13).info


def test_random_draws_above_13_clusters_follow_the_seed():
    rng = np.random.default_rng(4)
    area = np.repeat(np.arange(16), 30)
    x = rng.normal(size=area.size)
    t = rng.random(area.size) < 0.4
    y = rng.normal(size=16)[area] + 0.5 * x + 0.3 * t + rng.normal(size=area.size)
    c = pbr_eval.Cohort(pd.DataFrame({"y": y, "t": t.astype(int), "x": x, "area": area}),
                        treatment="t", outcome="y", covariates=["x"], cluster="area")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", (OverlapWarning, FutureWarning))
        a, b, d = (pbr_eval.estimate(c, method="aipw", cross_fit=4, seed=s).info[
            "few_clusters"]["y"] for s in (3, 3, 4))
    assert not a["full_enumeration"] and a["n_draws"] == 9999
    assert a == b and a["lower"] != d["lower"]
