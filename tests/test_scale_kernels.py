"""The numeric kernels under the weighting, regression and doubly robust estimators (issue 17).

The chunked design sums equal their dense formulas; the GLM sums are additive over row
partitions (what a distributed fit relies on); the factored influence functions equal
the dense ones they replace.
"""

from __future__ import annotations

import numpy as np
import pytest

from pbr_eval import Cohort
from pbr_eval.datasets import load_reoffending
from pbr_eval.estimators.weighting import att_propensity
from pbr_eval.inference.design import (
    RAW_CENTRE_RATIO,
    design_gram,
    design_matvec,
    design_rmatvec,
    design_rmatvecs,
    design_sums,
    row_blocks,
)
from pbr_eval.inference.influence import (
    glm_coefficient_influence,
    glm_influence,
    logit_coefficient_influence,
    logit_influence,
    with_intercept,
)
from pbr_eval.models.glm import GLMSums, glm_loglik, glm_pass, glm_sums
from pbr_eval.models.logit import fit_logit
from pbr_eval.models.outcome import fit_outcome


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(7)
    n, p = 5_003, 4
    X = rng.normal(size=(n, p)) * [1.0, 30.0, 0.01, 5.0] + [0.0, 1_000.0, 2.0, -3.0]
    return X, rng


@pytest.mark.parametrize("standardised", [False, True], ids=["raw", "standardised"])
def test_design_sums_equal_the_dense_formulas(data, standardised):
    X, rng = data
    n, p = X.shape
    center, scale = (X.mean(axis=0), X.std(axis=0)) if standardised else (None, None)
    Z = with_intercept(X if not standardised else (X - center) / scale)
    b = rng.normal(size=p + 1)
    r = rng.normal(size=n)
    v = rng.random(n)
    kw = {"center": center, "scale": scale}
    np.testing.assert_allclose(design_matvec(X, b, **kw), Z @ b, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(design_rmatvec(X, r, **kw), Z.T @ r, rtol=1e-11, atol=1e-8)
    for weights in (v, r):  # non-negative, then signed weights
        dense = (Z * weights[:, None]).T @ Z
        got = design_gram(X, weights, chunk=997, **kw)
        np.testing.assert_allclose(got, dense, rtol=1e-11, atol=1e-8 * np.abs(dense).max())
        assert np.array_equal(got, got.T)


def test_glm_sums_add_up_over_partitions(data):
    X, rng = data
    y = (rng.random(X.shape[0]) < 0.3).astype(float)
    eta = rng.normal(size=X.shape[0]) * 0.1
    whole = glm_sums(X, y, eta, "logistic")
    parts = [glm_sums(X[s], y[s], eta[s], "logistic") for s in row_blocks(X.shape[0], 640)]
    total = parts[0]
    for part in parts[1:]:
        total = total + part
    assert isinstance(total, GLMSums) and len(parts) == 8
    np.testing.assert_allclose(total.score, whole.score, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(total.information, whole.information, rtol=1e-12)
    assert total.loglik == pytest.approx(whole.loglik, rel=1e-13)


def test_factored_influences_equal_the_dense_ones(data):
    X, rng = data
    n, p = X.shape
    Z = with_intercept(X)
    t = rng.random(n) < 0.4
    ps = np.clip(rng.random(n), 0.05, 0.95)
    phi_g = logit_coefficient_influence(X, t, ps)
    dense_g = logit_influence(Z, t, ps)
    # the columns' scales differ by 1e5 (an ill-conditioned information): both inverses
    # round differently, so entries are compared on the scale of the largest
    big = np.abs(dense_g).max()
    np.testing.assert_allclose(phi_g.matrix(), dense_g, rtol=1e-9, atol=1e-9 * big)
    g = rng.normal(size=p + 1)
    np.testing.assert_allclose(phi_g.dot(g), dense_g @ g, rtol=1e-9,
                               atol=1e-9 * np.abs(dense_g @ g).max())
    r = rng.normal(size=n) * ~t
    info = (Z * rng.random(n)[:, None]).T @ Z
    B = (Z * r[:, None]).T @ Z
    phi_b = glm_coefficient_influence(X, r, info, phi_g, B)
    dense_b = glm_influence(Z, r, info, dense_g @ B.T)
    np.testing.assert_allclose(phi_b.dot(g), dense_b @ g, rtol=1e-9,
                               atol=1e-9 * np.abs(dense_b @ g).max())


def test_the_propensity_influence_is_the_one_it_replaced():
    sim = load_reoffending()
    cohort = Cohort(sim.data, **sim.cohort_args)
    prop = att_propensity(cohort, "logit", clip=None, trim=None)
    dense = logit_influence(with_intercept(cohort.X), cohort.t, prop.ps_raw)
    np.testing.assert_allclose(prop.phi.matrix(), dense, rtol=1e-10,
                               atol=1e-12 * np.abs(dense).max())


@pytest.mark.parametrize("far", [False, True], ids=["centres-near-zero", "a-column-far-from-zero"])
def test_standardised_sums_either_way_equal_the_dense_formula(far):
    # centres within RAW_CENTRE_RATIO scales: raw sums centred afterwards; a column far
    # from zero (a calendar year): centred inside the blocks. Both equal the dense sums.
    rng = np.random.default_rng(11)
    n = 20_011
    X = rng.normal(size=(n, 3)) * [1.0, 4.0, 0.5] + [0.5, -6.0, 0.2]
    X[:, 2] = X[:, 2] > 0.3  # an indicator
    if far:
        X[:, 0] = 2020 + rng.integers(0, 8, size=n)
    center, scale = X.mean(axis=0), X.std(axis=0)
    assert (np.abs(center) > RAW_CENTRE_RATIO * scale).any() == far
    Z = with_intercept((X - center) / scale)
    v, r = rng.random(n), rng.normal(size=n)
    H, g = design_sums(X, v, r, center=center, scale=scale, chunk=1_000)
    dense = (Z * v[:, None]).T @ Z
    np.testing.assert_allclose(H, dense, rtol=1e-12, atol=1e-12 * np.abs(dense).max())
    np.testing.assert_allclose(g, Z.T @ r, rtol=1e-11, atol=1e-11 * np.abs(r).sum())
    assert np.array_equal(H, H.T)


def test_the_logistic_fit_does_not_lose_digits_to_a_column_far_from_zero():
    # the same data with a year column and with years since 2020: the slopes are the same
    # to 1e-12 and so are the standard errors (sums over the raw columns lost 1.5e-9 of them)
    rng = np.random.default_rng(5)
    n = 300_000  # above the warm start's threshold too
    year = rng.integers(2012, 2024, size=n).astype(float)
    earn = rng.gamma(2.0, 10_000.0, size=n)
    other = rng.normal(size=n)
    eta = -3 + 0.05 * (year - 2018) + 2e-5 * earn + 0.5 * other
    t = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float)
    a = fit_logit(np.column_stack([year, earn, other]), t)
    b = fit_logit(np.column_stack([year - 2020, earn, other]), t)
    np.testing.assert_allclose(a.params[1:], b.params[1:], rtol=1e-12)
    np.testing.assert_allclose(a.params[0] + 2020 * a.params[1], b.params[0], rtol=1e-12)
    se_a, se_b = np.sqrt(np.diag(a.cov))[1:], np.sqrt(np.diag(b.cov))[1:]
    np.testing.assert_allclose(se_a, se_b, rtol=1e-12)


@pytest.mark.parametrize("family", ["logistic", "poisson"])
def test_the_fused_pass_gives_glm_sums_at_the_same_linear_predictor(data, family):
    """glm_pass (one read of X per block) = glm_sums after eta; score alone; counts."""
    X, rng = data
    n, p = X.shape
    center, scale = X.mean(axis=0), X.std(axis=0)
    coef, intercept = rng.normal(size=p) * 0.3 / scale, -0.5
    eta = X @ coef + intercept
    y = (rng.random(n) < 0.4).astype(float) if family == "logistic" else rng.poisson(2.0, n) * 1.0
    w = rng.random(n) * (rng.random(n) < 0.8)  # case weights, some rows left out
    ref = glm_sums(X, y, eta, family, weights=w, center=center, scale=scale)
    got = glm_pass(X, y, coef, intercept, family, weights=w, center=center, scale=scale,
                   chunk=997)
    np.testing.assert_allclose(got.sums.information, ref.information, rtol=1e-12)
    np.testing.assert_allclose(got.sums.score, ref.score, rtol=1e-10, atol=1e-9)
    assert got.sums.loglik == pytest.approx(glm_loglik(family, y, eta, w), rel=1e-12)
    alone = glm_pass(X, y, coef, intercept, family, weights=w, center=center, scale=scale,
                     information=False, score=True, loglik=False)
    np.testing.assert_allclose(alone.sums.score, ref.score, rtol=1e-10, atol=1e-9)
    assert np.isnan(alone.sums.loglik) and not alone.sums.information[1:, 1:].any()


def test_the_fused_pass_counts_extreme_probabilities_as_the_fit_did(data):
    X, rng = data
    n, p = X.shape
    coef = np.zeros(p)
    coef[0] = 40.0  # probabilities of 0 or 1 for most rows
    y = (X[:, 0] > 0).astype(float)
    y[:50] = 1 - y[:50]  # fifty rows against their own side
    ignorable = rng.random(n) < 0.5
    prob = 1 / (1 + np.exp(-(X @ coef)))
    low, high = prob < 1e-10, prob > 1 - 1e-10
    harmless = ignorable & ((low & (y == 0)) | (high & (y == 1)))
    got = glm_pass(X, y, coef, 0.0, "logistic", ignorable=ignorable, chunk=512)
    assert got.n_vanishing == int(harmless.sum()) > 0
    assert got.n_extreme == int(((low | high) & ~harmless).sum()) > 0
    masked = glm_pass(X, y, coef, 0.0, "logistic", mask=X[:, 1] > 1_000.0, chunk=512)
    assert masked.n_extreme == int(((low | high) & (X[:, 1] > 1_000.0)).sum())


def test_several_cross_products_from_one_read_equal_one_at_a_time(data):
    X, rng = data
    vectors = [rng.normal(size=X.shape[0]) for _ in range(3)]
    got = design_rmatvecs(X, vectors, chunk=1_000)
    for row, r in zip(got, vectors, strict=True):
        np.testing.assert_allclose(row, design_rmatvec(X, r), rtol=1e-12, atol=1e-9)


def test_the_warm_start_and_its_chord_step_reach_the_same_fits(monkeypatch):
    """Above 200,000 rows the fits start from a (stratified) subsample's optimum and take
    their first step with its information; the estimates and covariances are those of the
    fit from scratch (a rare treatment: 1%, where an unstratified subsample starts far)."""
    import pbr_eval.models.outcome as outcome

    rng = np.random.default_rng(11)
    n = 300_000
    X = rng.normal(size=(n, 4)) * [1.0, 2.0, 0.5, 10.0] + [0.0, 3.0, 0.0, 40.0]
    t = (rng.random(n) < 1 / (1 + np.exp(-(-5.2 + X[:, :3] @ [0.6, -0.3, 0.8])))).astype(float)
    assert 0.003 < t.mean() < 0.03
    warm = fit_logit(X, t)
    cold = fit_logit(X, t, start_params=np.zeros(5))  # a start given: no warm start
    np.testing.assert_allclose(warm.params, cold.params, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(warm.cov, cold.cov, rtol=1e-9)
    assert warm.loglik == pytest.approx(cold.loglik, rel=1e-12)
    y = (rng.random(n) < 1 / (1 + np.exp(-(0.3 + X[:, :2] @ [0.5, -0.2])))).astype(float)
    comparison = t == 0
    fits = {}
    for threshold in (outcome._WARM_START_ROWS, 10**9):
        monkeypatch.setattr(outcome, "_WARM_START_ROWS", threshold)
        fits[threshold] = fit_outcome(X, y, "logistic", subset=comparison)
    a, b = fits.values()
    assert a.params is not None and b.params is not None
    np.testing.assert_allclose(a.params, b.params, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(a.information, b.information, rtol=1e-9)


def test_chord_steps_reach_exact_newtons_estimate_with_fewer_information_passes(monkeypatch):
    """Near the optimum an iteration reuses an earlier pass's information (score-only
    passes); the estimate, log-likelihood and covariance are exact Newton's, and the
    covariance is the inverse information at the estimate itself."""
    import pbr_eval.models.glm as glm
    import pbr_eval.models.logit as logit

    rng = np.random.default_rng(5)
    n = 250_000
    X = rng.normal(size=(n, 3)) * [1.0, 3.0, 0.2] + [0.0, 10.0, 0.0]
    t = (rng.random(n) < 1 / (1 + np.exp(-(-1.0 + X @ [0.4, -0.1, 1.5] + 1.0)))).astype(float)
    passes: list[bool] = []
    real = logit.glm_pass

    def counted(*args, **kwargs):
        if args[0].shape[0] == n:  # the full data's passes (not the warm start's)
            passes.append(bool(kwargs.get("information", True)))
        return real(*args, **kwargs)

    monkeypatch.setattr(logit, "glm_pass", counted)
    chord = fit_logit(X, t)
    with_chord = list(passes)
    passes.clear()
    monkeypatch.setattr(glm, "CHORD_DRIFT", 0.0)  # every iteration's own information
    exact = fit_logit(X, t)
    np.testing.assert_allclose(chord.params, exact.params, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(chord.cov, exact.cov, rtol=1e-10)
    assert chord.loglik == pytest.approx(exact.loglik, rel=1e-14)
    assert sum(with_chord) < sum(passes)  # fewer passes with the information
    Z = with_intercept(X)
    p = 1 / (1 + np.exp(-(Z @ chord.params)))
    np.testing.assert_allclose(chord.cov, np.linalg.inv((Z * (p * (1 - p))[:, None]).T @ Z),
                               rtol=1e-9)


def test_the_fits_last_pass_gives_the_scores(data):
    X, rng = data
    t = (rng.random(X.shape[0]) < 0.3).astype(bool)
    ps = np.empty(X.shape[0])
    fit = fit_logit(X, t, means=ps)
    np.testing.assert_allclose(ps, fit.predict(X), rtol=1e-13, atol=0)
    as_float = fit_logit(X, t.astype(float))  # a bool response is the same response
    np.testing.assert_array_equal(fit.params, as_float.params)


def test_block_products_and_predictions_equal_one_product_at_a_time(data):
    from pbr_eval.inference.design import design_product_blocks
    from pbr_eval.models.outcome import OutcomeFit, predict_outcomes

    X, rng = data
    B = rng.normal(size=(X.shape[1] + 1, 3)) * 1e-3
    got = np.empty((X.shape[0], 3))
    starts = []
    for rows, P in design_product_blocks(X, B, chunk=700):
        got[rows] = P
        starts.append(rows.start)
    assert starts == list(range(0, X.shape[0], 700))
    for j in range(3):
        np.testing.assert_allclose(got[:, j], design_matvec(X, B[:, j]), rtol=1e-13, atol=1e-13)
    fits = [OutcomeFit(family, B[:, j]) for j, family in
            enumerate(("linear", "logistic", "poisson"))]
    for fit, (m, v) in zip(fits, predict_outcomes(X, fits), strict=True):
        m_ref, v_ref = fit.predict(X)
        assert v is not None and v_ref is not None
        np.testing.assert_allclose(m, m_ref, rtol=1e-13)
        np.testing.assert_allclose(v, v_ref, rtol=1e-13)


@pytest.mark.parametrize("k", [1, 3, 1_000, 7_919])
def test_every_kth_comparison_row_without_listing_them(k):
    from pbr_eval.models.outcome import _every_kth

    rng = np.random.default_rng(k)
    mask = rng.random(2_500_001) < 0.7  # more than two of its 2^20-row blocks
    np.testing.assert_array_equal(_every_kth(mask, k), np.flatnonzero(mask)[::k])
    assert _every_kth(np.zeros(10, bool), k).size == 0


@pytest.mark.parametrize("clip", [None, 0.05], ids=["no-clip", "clip"])
def test_several_outcomes_at_once_equal_one_at_a_time(clip):
    """aipw's and ipw's outcomes share their reads of the design; each outcome's estimate,
    influence functions and comparison weights are those computed alone."""
    from pbr_eval.estimators.doubly_robust import _aipw, _aipw_all
    from pbr_eval.estimators.weighting import _ipw_all, ipw_att

    sim = load_reoffending()
    cohort = Cohort(sim.data, **sim.cohort_args)
    prop = att_propensity(cohort, "logit", clip=None if clip is None else (clip, 1 - clip),
                          trim=None)
    free = prop.free if prop.n_clipped else None
    assert (clip is None) == (free is None)
    ys = [cohort.y(name) for name in cohort.outcomes]
    models = ["logistic", "poisson"]
    together = _aipw_all(ys, cohort.t, cohort.X, prop.odds, models, keep=prop.keep,
                         phi_gamma=prop.phi, free=free, names=cohort.design_columns)
    for y, model, got in zip(ys, models, together, strict=True):
        alone = _aipw(y, cohort.t, cohort.X, prop.odds, model, keep=prop.keep,
                      phi_gamma=prop.phi, free=free, names=cohort.design_columns)
        for a, b in zip(got, alone, strict=True):
            if isinstance(a, np.ndarray):
                np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)
            elif isinstance(a, float):
                assert a == pytest.approx(b, rel=1e-13)
    for y, got in zip(ys, _ipw_all(ys, cohort.t, prop.odds, keep=None, phi_gamma=prop.phi,
                                   free=free), strict=True):
        alone = ipw_att(y, cohort.t, prop.odds, phi_gamma=prop.phi, free=free)
        for a, b in zip(got, alone, strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)
