"""The logistic propensity model and the sandwich covariances against statsmodels."""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm

from pbr_eval.exceptions import EstimationError
from pbr_eval.inference.intervals import rate_interval
from pbr_eval.inference.sandwich import wls_sandwich
from pbr_eval.models.logit import fit_logit


@pytest.mark.parametrize("n", [2_000, 300_000], ids=["small", "warm-start"])
def test_logit_matches_statsmodels(n):
    rng = np.random.default_rng(5)
    X = np.column_stack([rng.normal(size=n), rng.random(n) < 0.3, rng.normal(5000, 2000, n)])
    eta = -1 + 0.8 * X[:, 0] - 0.5 * X[:, 1] + 0.0002 * X[:, 2]
    y = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float)
    ours = fit_logit(X, y)
    ref = sm.Logit(y, sm.add_constant(X.astype(float))).fit(disp=0, tol=1e-12)
    np.testing.assert_allclose(ours.params, ref.params, rtol=1e-7, atol=1e-12)
    np.testing.assert_allclose(np.sqrt(np.diag(ours.cov)), ref.bse, rtol=1e-6)
    assert ours.loglik == pytest.approx(ref.llf, rel=1e-10)


def test_logit_separation_names_covariate():
    rng = np.random.default_rng(1)
    x = rng.normal(size=500)
    y = (x > 0).astype(float)
    with pytest.raises(EstimationError, match="separates the groups.*'prior_offences'"):
        fit_logit(np.column_stack([x, rng.normal(size=500)]), y,
                  names=["prior_offences", "age"])


@pytest.mark.parametrize("kind", ["HC0", "HC1", "HC3"])
def test_sandwich_matches_statsmodels(kind):
    rng = np.random.default_rng(2)
    n = 300
    X = sm.add_constant(np.column_stack([rng.integers(0, 2, n), rng.normal(size=n)]))
    y = X @ [1.0, 0.5, -0.3] + rng.normal(size=n) * (1 + X[:, 1])
    w = rng.uniform(0.5, 2, n)
    beta, cov = wls_sandwich(X, y, w, kind=kind)
    ref = sm.WLS(y, X, weights=w).fit(cov_type=kind)
    np.testing.assert_allclose(beta, ref.params, rtol=1e-10)
    np.testing.assert_allclose(cov, ref.cov_params(), rtol=1e-8)


def test_cluster_sandwich_matches_statsmodels():
    rng = np.random.default_rng(3)
    n = 400
    g = rng.integers(0, 40, n)
    X = sm.add_constant(rng.integers(0, 2, n).astype(float))
    y = X @ [1.0, 0.5] + rng.normal(size=n) + rng.normal(size=40)[g]
    w = rng.uniform(0.5, 2, n)
    beta, cov = wls_sandwich(X, y, w, cluster=g, kind="HC1")
    ref = sm.WLS(y, X, weights=w).fit(cov_type="cluster", cov_kwds={"groups": g})
    # statsmodels' default cluster correction is G/(G-1) (N-1)/(N-K), as vcovCL's HC1
    np.testing.assert_allclose(cov, ref.cov_params(), rtol=1e-8)


def test_rate_interval_stays_in_range():
    for p, se in [(0.01, 0.02), (0.99, 0.05), (0.5, 0.4)]:
        lo, hi = rate_interval(p, se, 0.95, "binary")
        assert 0 <= lo <= p <= hi <= 1
    lo, hi = rate_interval(0.2, 0.3, 0.95, "count")
    assert lo > 0
