"""The bootstrap's replicate fast paths give the same numbers as full fits.

Replicates of nearest-neighbour matching copy only the data columns the
estimator reads, warm-start the propensity model and skip the balance table
and covariance; each replicate must still equal a from-scratch fit on the
resampled rows (to the Newton tolerance).
"""

from __future__ import annotations

import numpy as np
import pytest

from pbr_eval import Cohort
from pbr_eval.datasets import simulate
from pbr_eval.estimators._nearest import stable_argsort
from pbr_eval.estimators.matching import NearestNeighborMatching
from pbr_eval.inference.bootstrap import _make_plan, _replicate_estimator, bootstrap
from pbr_eval.models.logit import fit_logit


@pytest.fixture(scope="module")
def cohort():
    sim = simulate("reoffending", n_treated=120, n_comparison=900, seed=21)
    return Cohort(sim.data, **sim.cohort_args)


CONFIGS = {
    "default": {},
    "exact": {"exact": ["sex"]},
    "calipers": {"caliper": {"distance": 0.3, "age": 1.0}},
    "ratio2": {"ratio": 2},
    "replace": {"replace": True},
    "mahalanobis": {"distance": "mahalanobis"},
    "mahvars": {"mahvars": ["age", "prior_offences"], "caliper": 0.5},
}


@pytest.mark.parametrize("opts", CONFIGS.values(), ids=CONFIGS.keys())
def test_replicates_equal_from_scratch_fits(cohort, opts):
    est = NearestNeighborMatching(**opts)
    boot = bootstrap(est, cohort, n_boot=4, kind="cluster", seed=8, progress=False)
    plan = _make_plan(cohort, "cluster", None)
    children = np.random.SeedSequence(8).spawn(4)
    for b in (0, 3):
        rep = plan.cohort(cohort, plan.draw(np.random.default_rng(children[b])))
        refit = NearestNeighborMatching(**opts).fit(
            Cohort(rep.data, **{**cohort.roles(), "min_treated": 1}))
        want = [[e.observed, e.non_intervention, e.effect] for e in refit.estimates]
        np.testing.assert_allclose(boot.replicates[b], want, rtol=1e-12, atol=1e-15)


def test_slim_replicate_cohort_keeps_design_and_fingerprint(cohort):
    est = _replicate_estimator(NearestNeighborMatching(exact=["sex"]),
                               NearestNeighborMatching().fit(cohort))
    keep = est._replicate_columns(cohort)
    assert keep == ["reoffended", "reconviction_events", "sex"]
    assert NearestNeighborMatching()._replicate_columns(cohort) is None  # full fits: all columns
    plan = _make_plan(cohort, "cluster", None)
    groups = plan.draw(np.random.default_rng(3))
    full = plan.cohort(cohort, groups)
    slim = plan.cohort(cohort, groups, keep=keep)
    assert set(slim.data.columns) == {*keep, cohort.unit_id, cohort.cluster}
    np.testing.assert_array_equal(slim.X, full.X)
    np.testing.assert_array_equal(slim.t, full.t)
    assert slim.fingerprint == full.fingerprint
    for c in slim.data.columns:
        np.testing.assert_array_equal(slim.data[c].to_numpy(), full.data[c].to_numpy())


def test_stable_argsort_matches_numpy_stable():
    rng = np.random.default_rng(0)
    for case in range(300):
        x = rng.integers(0, rng.integers(1, 40), size=rng.integers(0, 400)).astype(float)
        if case % 3 == 0:
            x[rng.random(x.size) < 0.1] = np.nan
        if case % 7 == 0:
            x = -0.0 * x  # signed zeros compare equal
        np.testing.assert_array_equal(stable_argsort(x), np.argsort(x, kind="stable"))


def test_replicate_logit_has_the_same_coefficients_without_covariance():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(3000, 3))
    y = (rng.random(3000) < 1 / (1 + np.exp(-(X @ [0.5, -1.0, 0.2] - 1)))).astype(float)
    full = fit_logit(X, y)
    start = full.params + 0.05
    a = fit_logit(X, y, start_params=start)
    b = fit_logit(X, y, start_params=start, _replicate=True)
    np.testing.assert_array_equal(a.params, b.params)
    assert b.cov.size == 0 and np.isnan(b.loglik)


def test_replicate_propensity_on_distinct_rows_equals_fit_on_all_rows(cohort):
    # A replicate cohort built with scratch buffers fits the logit on its distinct
    # source rows with multiplicity weights: same maximum, scores per replicate row.
    from pbr_eval.models.propensity import fit_propensity

    start = NearestNeighborMatching().fit(cohort).extras["propensity"].logit.params
    plan = _make_plan(cohort, "cluster", None)
    scratch: dict = {}
    for seed in range(3):
        rep = plan.cohort(cohort, plan.draw(np.random.default_rng(seed)), scratch=scratch)
        assert rep._source is not None
        fast = fit_propensity(rep, start=start, _replicate=True)
        full = fit_propensity(Cohort(rep.data, **{**cohort.roles(), "min_treated": 1}))
        assert fast.ps.shape == full.ps.shape
        np.testing.assert_allclose(fast.logit.params, full.logit.params, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(fast.ps, full.ps, rtol=1e-10)
