"""Bootstrap: interval maths against scipy, resampling schemes, seeding, errors."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import pbr_eval
from pbr_eval import Cohort
from pbr_eval.bootstrap import _make_plan, bootstrap
from pbr_eval.datasets import simulate
from pbr_eval.estimators.base import ESTIMATORS, build_estimator
from pbr_eval.estimators.matching import NearestNeighborMatching
from pbr_eval.exceptions import EstimationError, EstimationWarning, OptionError
from pbr_eval.inference.intervals import bca_interval, percentile_interval
from pbr_eval.results import CounterfactualResults
from pbr_eval.results.base import Results
from pbr_eval.results.bootstrap import BootstrapResults
from pbr_eval.validation import designs_for


@pytest.fixture(scope="module")
def sim():
    return simulate("reoffending", n_treated=150, n_comparison=1500, seed=11)


@pytest.fixture(scope="module")
def cohort(sim):
    return Cohort(sim.data, **sim.cohort_args)


@pytest.fixture(scope="module")
def res(cohort):
    return NearestNeighborMatching().fit(cohort)


# ------------------------------------------------------------------ interval maths vs scipy
@pytest.mark.parametrize("level", [0.9, 0.95])
def test_percentile_and_bca_match_scipy(level):
    # Reference: scipy.stats.bootstrap (SciPy 1.11+), same replicates fed to our functions.
    x = np.random.default_rng(3).lognormal(size=35)
    for method in ("percentile", "BCa"):
        ref = stats.bootstrap((x,), np.mean, n_resamples=999, method=method,
                              confidence_level=level, rng=np.random.default_rng(5))
        reps = ref.bootstrap_distribution
        if method == "percentile":
            lo, hi = percentile_interval(reps, level)
        else:
            jack = np.array([np.delete(x, i).mean() for i in range(x.size)])
            lo, hi = bca_interval(x.mean(), reps, jack, level)
        assert float(lo) == pytest.approx(ref.confidence_interval.low, rel=1e-12)
        assert float(hi) == pytest.approx(ref.confidence_interval.high, rel=1e-12)


def test_bca_ignores_failed_replicates():
    x = np.random.default_rng(1).normal(size=30)
    reps = np.array([np.random.default_rng(i).choice(x, 30).mean() for i in range(500)])
    jack = np.array([np.delete(x, i).mean() for i in range(30)])
    with_nan = np.concatenate([reps, [np.nan] * 7])
    assert bca_interval(x.mean(), with_nan, jack, 0.95) == bca_interval(x.mean(), reps, jack, 0.95)


# ------------------------------------------------------------------ resampling plans
def test_cluster_plan_draws_whole_clusters_and_relabels(cohort):
    plan = _make_plan(cohort, "cluster", None)
    la = cohort.column("local_authority")
    assert plan.n_groups == pd.unique(la).size
    groups = plan.draw(np.random.default_rng(0))
    rep = plan.replicate(cohort, groups)[0]
    sizes = pd.Series(la).value_counts()
    # every row of each drawn cluster comes along; a cluster drawn twice becomes two clusters
    orig = pd.Series(cohort.data["local_authority"].to_numpy()[plan.rows_of(groups)[0]])
    by_new = orig.groupby(rep.column("local_authority"))
    assert (by_new.nunique() == 1).all()
    assert (by_new.size().to_numpy() == sizes[by_new.first()].to_numpy()).all()
    assert rep.n == int(plan.group_len[groups].sum())
    assert pd.Series(rep.column("local_authority")).nunique() == groups.size
    assert pd.Series(rep.column("person_id")).is_unique


def test_stratified_plan_keeps_group_sizes(cohort):
    plan = _make_plan(cohort, "stratified", None)
    for seed in range(3):
        rep = plan.replicate(cohort, plan.draw(np.random.default_rng(seed)))[0]
        assert (rep.n_treated, rep.n_comparison) == (cohort.n_treated, cohort.n_comparison)
    plan2 = _make_plan(cohort, "stratified", "sex")
    rep = plan2.replicate(cohort, plan2.draw(np.random.default_rng(0)))[0]
    sex = pd.crosstab(cohort.t, cohort.column("sex"))
    assert pd.crosstab(rep.t, rep.column("sex")).equals(sex)


def test_panel_unit_plan_keeps_all_periods_of_a_unit():
    fam = simulate("families", n_treated=60, n_comparison=300, seed=2)
    c = Cohort(fam.data, **fam.cohort_args)
    plan = _make_plan(c, "unit", None)
    rep = plan.replicate(c, plan.draw(np.random.default_rng(4)))[0]
    per_unit = pd.Series(rep.column(c.period)).groupby(rep.column(c.unit_id)).nunique()
    assert (per_unit == 2).all()
    assert rep.n == c.n


def test_replicate_cohort_is_a_valid_cohort(cohort):
    # The fast path must give the same cohort as full validation of the same rows.
    plan = _make_plan(cohort, "unit", None)
    rep = plan.replicate(cohort, plan.draw(np.random.default_rng(9)))[0]
    full = Cohort(rep.data, **{**cohort.roles(), "min_treated": 1})
    np.testing.assert_array_equal(full.X, rep.X)
    np.testing.assert_array_equal(full.t, rep.t)
    assert full.design_columns == rep.design_columns


# ------------------------------------------------------------------ bootstrap
def test_seeded_results_identical_across_n_jobs_and_backends(res, cohort):
    runs = [
        bootstrap(res, cohort, n_boot=16, kind="stratified", seed=42, ci="bca", n_jackknife=8),
        bootstrap(res, cohort, n_boot=16, kind="stratified", seed=42, ci="bca", n_jackknife=8,
                  n_jobs=2),
        bootstrap(res, cohort, n_boot=16, kind="stratified", seed=42, ci="bca", n_jackknife=8,
                  n_jobs=2, backend="threading"),
    ]
    for other in runs[1:]:
        np.testing.assert_array_equal(runs[0].replicates, other.replicates)
        np.testing.assert_array_equal(runs[0].jackknife, other.jackknife)
    different = bootstrap(res, cohort, n_boot=16, kind="stratified", seed=43)
    assert not np.array_equal(runs[0].replicates, different.replicates)


def test_results_and_estimator_sources_agree(res, cohort):
    a = pbr_eval.bootstrap(res, cohort, n_boot=8, kind="cluster", seed=1)
    b = bootstrap(NearestNeighborMatching(), cohort, n_boot=8, kind="cluster", seed=1)
    assert isinstance(a, BootstrapResults) and isinstance(a, Results)
    np.testing.assert_array_equal(a.replicates, b.replicates)
    assert a.info["method"] == "nearest" and a.info["seed"] == 1
    f = a.to_frame()
    assert list(f["outcome"]) == ["reoffended", "reconviction_events"]
    assert (f["non_intervention_ci_lower"] < f["non_intervention"]).all()
    assert (f["non_intervention"] < f["non_intervention_ci_upper"]).all()
    assert a.replicate_frame().shape == (8, 6)
    assert "bootstrap" in a.summary() and "cluster" in repr(a)
    assert "<table" in a._repr_html_()
    assert a.to_dict()["kind"] == "bootstrap" and a.to_dict()["resampling"] == "cluster"
    assert a.conf_int().shape == (2, 4)


def test_results_never_refit_and_front_doors_agree(res, cohort):
    # Issue 13.5: the old results.bootstrap(...) is gone; pbr_eval.bootstrap and
    # estimate(..., inference="bootstrap") are the ways in, with the same numbers.
    assert not hasattr(CounterfactualResults, "bootstrap")
    assert pbr_eval.bootstrap is pbr_eval.api.bootstrap is bootstrap
    a = pbr_eval.estimate(cohort, inference="bootstrap", n_boot=6, seed=3, boot_kind="cluster")
    b = bootstrap(res, cohort, n_boot=6, kind="cluster", seed=3)
    np.testing.assert_array_equal(a.replicates, b.replicates)
    with pytest.raises(OptionError, match="`n_boot` is used only with inference='bootstrap'"):
        pbr_eval.estimate(cohort, n_boot=10)
    with pytest.raises(OptionError, match="`inference` must be one of 'analytic', 'bootstrap'"):
        pbr_eval.estimate(cohort, inference="jackknife")
    with pytest.raises(OptionError, match="`boot_kind` must be one of"):
        pbr_eval.estimate(cohort, inference="bootstrap", boot_kind="block")


def test_bootstrap_results_round_trip(cohort):
    for kw in ({"kind": "cluster", "ci": "bca"}, {"kind": "comparison"}):
        boot = bootstrap(NearestNeighborMatching(), cohort, n_boot=10, seed=2, **kw)
        d = boot.to_dict()
        assert "jackknife" not in d  # leave-one-out estimates could reveal one unit
        again = Results.from_json(boot.to_json())
        assert isinstance(again, BootstrapResults)
        assert again.to_dict() == d
        for ci in ("normal", "percentile", boot.ci):
            pd.testing.assert_frame_equal(again.to_frame(0.9, ci), boot.to_frame(0.9, ci))
        assert set(boot.to_frame().columns) == set(boot.schema.names)


def test_cohort_target_is_observed_minus_effect_interval(res, cohort):
    # kinds that resample the treated too (pair and comparison: tests/test_bootstrap_cohort.py)
    boot = bootstrap(res, cohort, n_boot=30, kind="cluster", seed=4, ci="bca")
    for ci in ("percentile", "bca"):
        c = boot.to_frame(ci=ci)
        x = boot.to_frame(ci=ci, target="expected")
        assert np.allclose(c["non_intervention_ci_lower"], c["observed"] - c["ci_upper"])
        assert np.allclose(c["non_intervention_ci_upper"], c["observed"] - c["ci_lower"])
        assert np.allclose(c["non_intervention_se"], c["std_error"])
        lo, hi = (percentile_interval(boot.replicates, 0.95) if ci == "percentile" else
                  bca_interval(boot.point(), boot.replicates, boot.jackknife, 0.95))
        assert np.allclose(x["non_intervention_ci_lower"], lo[:, 1])
        assert np.allclose(x["non_intervention_ci_upper"], hi[:, 1])
        assert (c["ci_lower"] == x["ci_lower"]).all()
    with pytest.raises(OptionError, match="`target` must be one of 'cohort', 'expected'"):
        boot.to_frame(target="population")


def test_replicates_refit_the_whole_estimator(res, cohort):
    # Each replicate must equal a from-scratch fit on the resampled rows.
    boot = bootstrap(res, cohort, n_boot=3, kind="unit", seed=5)
    child = np.random.SeedSequence(5).spawn(3)[2]
    plan = _make_plan(cohort, "unit", None)
    rep = plan.replicate(cohort, plan.draw(np.random.default_rng(child)))[0]
    refit = NearestNeighborMatching().fit(Cohort(rep.data, **{**cohort.roles(), "min_treated": 1}))
    e = refit.estimate_for("reoffended")
    np.testing.assert_allclose(boot.replicates[2, 0], [e.observed, e.non_intervention, e.effect],
                               rtol=1e-12)


def test_pair_bootstrap_full_sample_reproduces_estimate(res, cohort):
    boot = bootstrap(res, cohort, n_boot=200, kind="pair", seed=3, ci="bca")
    assert boot.jackknife is not None
    assert boot.jackknife.shape[0] == res.info["n_treated_matched"]
    # mean of the jackknife estimates close to the estimate; replicates centred on it
    for i, e in enumerate(res.estimates):
        assert np.nanmean(boot.replicates[:, i, 1]) == pytest.approx(e.non_intervention, abs=0.02)
    # pair bootstrap SE of the effect close to the cluster-by-pair analytic SE
    f, a = boot.to_frame(), res.to_frame()
    assert f["std_error"].iloc[0] == pytest.approx(a["std_error"].iloc[0], rel=0.25)


def test_bootstrap_se_close_to_analytic_on_known_truth():
    big = simulate("reoffending", n_treated=400, n_comparison=4000, seed=21)
    c = Cohort(big.data, **big.cohort_args)
    r = NearestNeighborMatching().fit(c)
    boot = bootstrap(r, c, n_boot=60, kind="stratified", seed=2)
    f = boot.to_frame()
    a = r.to_frame()
    ratio = f["non_intervention_se"] / a["non_intervention_se"]
    assert ((ratio > 0.7) & (ratio < 1.5)).all(), ratio.tolist()


class _Flaky(NearestNeighborMatching):
    """Fails on replicates with fewer treated units than the original (a test double)."""

    def fit(self, cohort):
        if cohort.n_treated < 150:
            raise EstimationError("too few treated in this replicate")
        return super().fit(cohort)


def test_failed_replicates_are_counted_and_warned(cohort):
    with pytest.warns(EstimationWarning, match="bootstrap replicates failed"):
        boot = bootstrap(_Flaky(), cohort, n_boot=20, kind="unit", seed=1)
    assert 0 < boot.n_failed < 20
    assert boot.info["failures"][0].startswith("EstimationError: too few treated")
    f = boot.to_frame()
    assert f["n_failed"].iloc[0] == boot.n_failed
    assert np.isfinite(f["ci_lower"]).all()


def test_progress_bar_runs_on_a_terminal(res, cohort, monkeypatch):
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    boot = bootstrap(res, cohort, n_boot=4, seed=1, progress=True)
    assert boot.n_boot == 4


def test_results_are_read_only(res, cohort):
    boot = bootstrap(res, cohort, n_boot=4, kind="pair", seed=1)
    with pytest.raises(AttributeError, match="read-only"):
        boot.resampling = "unit"
    with pytest.raises(ValueError):
        boot.replicates[0, 0, 0] = 1.0


def _design_cohort(method: str) -> Cohort:
    """A small cohort from the estimator's main validation design (its declaration)."""
    return designs_for(method)[0].example_cohort(seed=11)


@pytest.mark.parametrize("method", sorted(ESTIMATORS))
def test_every_registered_estimator_bootstraps(method):
    # Every estimator in the registry must bootstrap, on the design it declares.
    c = _design_cohort(method)
    r = build_estimator(method, {}).fit(c)
    boot = bootstrap(r, c, n_boot=4, kind="stratified", seed=1)
    assert boot.n_failed == 0
    assert np.isfinite(boot.replicates).all()
    again = bootstrap(r, c, n_boot=4, kind="stratified", seed=1)
    np.testing.assert_array_equal(boot.replicates, again.replicates)


# ------------------------------------------------------------------ errors
def test_errors(res, cohort, sim):
    with pytest.raises(OptionError, match="`kind` must be one of 'unit'"):
        bootstrap(res, cohort, kind="block")
    with pytest.raises(OptionError, match="`ci` must be one of 'percentile', 'bca'"):
        bootstrap(res, cohort, ci="bc")
    with pytest.raises(OptionError, match="`n_boot` must be an integer >= 2"):
        bootstrap(res, cohort, n_boot=1)
    with pytest.raises(OptionError, match="`seed` must be a non-negative integer"):
        bootstrap(res, cohort, seed=-3)
    with pytest.raises(OptionError, match="`n_jobs` must be a non-zero integer"):
        bootstrap(res, cohort, n_jobs=0)
    with pytest.raises(OptionError, match="`level` must be a number strictly between 0 and 1"):
        bootstrap(res, cohort, level=95)
    with pytest.raises(OptionError, match="`cohort` must be a pbr_eval.Cohort; got DataFrame"):
        bootstrap(res, sim.data)
    with pytest.raises(OptionError, match="`source` must be CounterfactualResults or an estimator"):
        bootstrap("nearest", cohort)
    with pytest.raises(OptionError, match="`strata` is used only with kind='stratified'"):
        bootstrap(res, cohort, strata="sex")
    with pytest.raises(OptionError, match="`strata` must name a column"):
        bootstrap(res, cohort, kind="stratified", strata="nope")
    no_cluster = Cohort(sim.data, **{**sim.cohort_args, "cluster": None})
    with pytest.raises(OptionError, match="`kind='cluster'` resamples clusters, but the cohort"):
        bootstrap(NearestNeighborMatching(), no_cluster, n_boot=2, kind="cluster")
    with_repl = NearestNeighborMatching(replace=True).fit(cohort)
    with pytest.raises(OptionError, match="`kind='pair'` resamples matched pairs"):
        bootstrap(with_repl, cohort, kind="pair")
    other = Cohort(sim.data.iloc[:-5], **sim.cohort_args)
    with pytest.raises(OptionError, match="not the cohort these results were estimated on"):
        bootstrap(res, other)
    boot = bootstrap(res, cohort, n_boot=4, kind="pair", seed=1)
    with pytest.raises(OptionError, match="`ci='bca'` needs the jackknife"):
        boot.to_frame(ci="bca")


def test_unreproducible_options_raise(cohort):
    from sklearn.linear_model import LogisticRegression

    r = NearestNeighborMatching(propensity=LogisticRegression(C=0.01)).fit(cohort)
    with pytest.raises(OptionError, match="Pass the estimator itself"):
        bootstrap(r, cohort, n_boot=2)
    # ...and the estimator itself works
    boot = bootstrap(NearestNeighborMatching(propensity=LogisticRegression(C=0.01)), cohort,
                     n_boot=2, seed=0)
    assert boot.n_failed == 0
