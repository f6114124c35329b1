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
from pbr_eval.bootstrap import _make_plan, bootstrap
from pbr_eval.datasets import simulate
from pbr_eval.estimators._nearest import stable_argsort
from pbr_eval.estimators.matching import NearestNeighborMatching
from pbr_eval.exceptions import OptionError
from pbr_eval.models.logit import fit_logit
from pbr_eval.replicate import ReplicateHints, WorkBuffers


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
        rep, _ = plan.replicate(cohort, plan.draw(np.random.default_rng(children[b])))
        refit = NearestNeighborMatching(**opts).fit(
            Cohort(rep.data, **{**cohort.roles(), "min_treated": 1}))
        want = [[e.observed, e.non_intervention, e.effect] for e in refit.estimates]
        np.testing.assert_allclose(boot.replicates[b], want, rtol=1e-12, atol=1e-15)


def test_slim_replicate_cohort_keeps_design_and_fingerprint(cohort):
    keep = NearestNeighborMatching(exact=["sex"]).replicate_columns(cohort)
    assert keep == ["reoffended", "reconviction_events", "sex"]
    # estimators without a fast path read every column
    from pbr_eval.estimators.weighting import InverseProbabilityWeighting
    assert InverseProbabilityWeighting().replicate_columns(cohort) is None
    plan = _make_plan(cohort, "cluster", None)
    groups = plan.draw(np.random.default_rng(3))
    full, rows = plan.replicate(cohort, groups)
    slim, rows2 = plan.replicate(cohort, groups, keep=keep)
    np.testing.assert_array_equal(rows, rows2)
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
    b = fit_logit(X, y, start_params=start, covariance=False)
    np.testing.assert_array_equal(a.params, b.params)
    assert b.cov.size == 0 and np.isnan(b.loglik)


def test_replicate_propensity_on_distinct_rows_equals_fit_on_all_rows(cohort):
    # With ReplicateHints the logit is fitted on the replicate's distinct parent
    # rows with multiplicity weights: same maximum, scores per replicate row.
    from pbr_eval.models.propensity import fit_propensity

    start = NearestNeighborMatching().fit(cohort).extras["propensity"].logit.params
    plan = _make_plan(cohort, "cluster", None)
    buffers = WorkBuffers()
    for seed in range(3):
        rep, rows = plan.replicate(cohort, plan.draw(np.random.default_rng(seed)),
                                   buffers=buffers)
        hints = ReplicateHints(rows=rows, parent_X=cohort.X, parent_t=cohort.t, start=start,
                               buffers=buffers)
        fast = fit_propensity(rep, start=start, replicate=hints)
        assert fast.logit.cov.size == 0 and np.isnan(fast.logit.loglik)
        full = fit_propensity(Cohort(rep.data, **{**cohort.roles(), "min_treated": 1}))
        assert fast.ps.shape == full.ps.shape
        np.testing.assert_allclose(fast.logit.params, full.logit.params, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(fast.ps, full.ps, rtol=1e-10)


def test_take_is_the_replicate_cohort_and_checks_its_rows(cohort):
    rows = np.array([5, 5, 0, cohort.n - 1])
    rep = cohort.take(rows)
    np.testing.assert_array_equal(rep.X, cohort.X[rows])
    np.testing.assert_array_equal(rep.y("reoffended"), cohort.y("reoffended")[rows])
    assert rep.n == 4 and list(rep.index) == [0, 1, 2, 3]
    buffers = WorkBuffers()
    into = cohort.take(rows, buffers=buffers)
    np.testing.assert_array_equal(into.X, rep.X)
    assert np.shares_memory(into.X, buffers.array("X", 4, cohort.X.shape[1]))
    assert into.fingerprint == rep.fingerprint
    for bad in (np.array([0, cohort.n]), np.array([-1]), np.array([0.0, 1.0])):
        with pytest.raises(OptionError, match="`rows` must be a 1-D array of integer row numbers"):
            cohort.take(bad)


def test_fit_replicate_equals_fit(cohort):
    # The typed fast path returns the same estimates as a full fit on the same cohort.
    est = NearestNeighborMatching()
    start = est.fit(cohort).extras["propensity"].logit.params
    plan = _make_plan(cohort, "unit", None)
    rep, rows = plan.replicate(cohort, plan.draw(np.random.default_rng(4)))
    fast = est.fit_replicate(rep, ReplicateHints(rows=rows, parent_X=cohort.X,
                                                 parent_t=cohort.t, start=start))
    full = est.fit(rep)
    assert fast.balance is None and full.balance is not None
    for a, b in zip(fast.estimates, full.estimates, strict=True):
        np.testing.assert_allclose([a.observed, a.non_intervention, a.effect],
                                   [b.observed, b.non_intervention, b.effect], rtol=1e-12)
