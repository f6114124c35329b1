"""Nearest, exact, CEM and subclass matching: known truth, options, errors, warnings."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pbr_eval import Cohort, estimate
from pbr_eval.datasets import load_reoffending
from pbr_eval.estimators._nearest import match_nearest
from pbr_eval.estimators.matching import NearestNeighborMatching, discard_units
from pbr_eval.exceptions import EstimationError, IgnoredOptionWarning, OptionError


@pytest.fixture(scope="module")
def sim():  # noqa: ANN201
    return load_reoffending()


@pytest.fixture(scope="module")
def cohort(sim) -> Cohort:  # noqa: ANN001
    return Cohort(sim.data, **sim.cohort_args)


# ------------------------------------------------------------- known truth
@pytest.mark.parametrize(
    "method,opts",
    [
        ("nearest", {}),
        ("nearest", {"ratio": 3, "replace": True}),
        ("nearest", {"caliper": 0.2, "order": "closest"}),
        ("nearest", {"adjust": True}),
        ("cem", {}),
        ("subclass", {}),
    ],
    ids=["default", "ratio3_replace", "caliper_closest", "adjusted", "cem", "subclass"],
)
def test_recovers_true_non_intervention_rate(sim, cohort, method, opts) -> None:  # noqa: ANN001
    res = estimate(cohort, method=method, **opts)
    for e in res.estimates:
        truth = sim.truth.loc[e.outcome, "non_intervention"]
        assert abs(e.non_intervention - truth) < 4 * max(e.non_intervention_se, e.std_error), (
            e.outcome, e.non_intervention, truth)


def test_mahalanobis_recovers_truth_on_subsample(sim) -> None:  # noqa: ANN001
    # the Mahalanobis walk is pure Python: a 3,000-unit subsample keeps the test fast
    data = pd.concat([sim.data[sim.data["treated"] == 1],
                      sim.data[sim.data["treated"] == 0].iloc[:2400]])
    res = estimate(Cohort(data, **sim.cohort_args), method="nearest", distance="mahalanobis")
    for e in res.estimates:
        truth = sim.truth.loc[e.outcome, "non_intervention"]
        assert abs(e.non_intervention - truth) < 4 * e.non_intervention_se


def test_exact_matching_on_strata(sim) -> None:  # noqa: ANN001
    args = dict(sim.cohort_args, covariates=["sex", "offence_type"])
    res = estimate(Cohort(sim.data, **args), method="exact")
    w = res.weights.to_numpy()
    t = sim.data["treated"].to_numpy() == 1
    # within each stratum, comparison weights sum to the treated count (before normalisation)
    key = sim.data["sex"].astype(str) + "|" + sim.data["offence_type"].astype(str)
    n1 = key[t].value_counts()
    sw0 = pd.Series(w[~t], index=key[~t].index).groupby(key[~t]).sum()
    ratio = (sw0 / n1.reindex(sw0.index)).to_numpy()
    np.testing.assert_allclose(ratio, ratio[0])


# --------------------------------------------------------------- kernel rules
def test_tie_rule_below_takes_last_above_takes_first() -> None:
    focal = np.array([True, False, False, False, False])
    # two controls tied below (rows 1, 2), two tied above (rows 3, 4), all equally far
    score = np.array([0.5, 0.4, 0.4, 0.6, 0.6])
    mm = match_nearest(focal, order=np.array([0]), score=score, ratio=4)
    # left side found first (row 2: last of the tied below), then right (row 3: first above)
    assert mm[0, 0] == 2
    assert set(mm[0].tolist()) == {1, 2, 3, 4}


def test_caliper_is_inclusive() -> None:
    focal = np.array([True, False])
    score = np.array([0.5, 0.75])
    assert match_nearest(focal, order=np.array([0]), score=score, caliper=0.25)[0, 0] == 1
    assert match_nearest(focal, order=np.array([0]), score=score, caliper=0.2499)[0, 0] == -1


def test_ratio_rounds_give_first_matches_first() -> None:
    focal = np.array([True, True, False, False, False, False])
    score = np.array([0.50, 0.52, 0.49, 0.53, 0.10, 0.90])
    mm = match_nearest(focal, order=np.array([1, 0]), score=score, ratio=2)
    assert mm[:, 0].tolist() == [2, 3]  # both get their nearest before either gets a second


def test_large_pool_without_distance_matrix() -> None:
    rng = np.random.default_rng(3)
    n1, n0 = 2_000, 200_000
    focal = np.r_[np.ones(n1, bool), np.zeros(n0, bool)]
    score = rng.random(n1 + n0)
    mm = match_nearest(focal, order=np.arange(n1), score=score, ratio=2)
    assert (mm >= 0).all() and np.unique(mm).size == 2 * n1


def test_discard_both() -> None:
    t = np.array([1, 1, 1, 0, 0], bool)
    d = discard_units(np.array([0.1, 0.5, 0.9, 0.3, 0.6]), t, "both")
    assert d.tolist() == [True, False, True, False, False]


# -------------------------------------------------------------------- options
def test_user_score_and_classifier(cohort) -> None:  # noqa: ANN001
    from sklearn.linear_model import LogisticRegression

    base = NearestNeighborMatching().fit(cohort)
    score = base.extras["distance"]
    again = NearestNeighborMatching(distance=score).fit(cohort)
    pd.testing.assert_series_equal(base.weights, again.weights)
    clf = NearestNeighborMatching(propensity=LogisticRegression(max_iter=1000)).fit(cohort)
    assert clf.info["propensity_model"] == "LogisticRegression"
    assert clf.info["distance"] == "glm"


def test_unmatched_reported_and_estimand_stated(cohort) -> None:  # noqa: ANN001
    res = NearestNeighborMatching(caliper=0.001, std_caliper=False).fit(cohort)
    n_un = res.info["n_focal_unmatched"]
    assert n_un > 0
    assert any("effect on the matched treated" in n for n in res.info["notes"])
    assert any(d["stage"] == "nearest" and d["n"] == n_un for d in res.info["dropped"])
    assert res.to_frame()["n_treated"].iloc[0] == cohort.n_treated - n_un


def test_per_covariate_caliper(cohort, sim) -> None:  # noqa: ANN001
    res = NearestNeighborMatching(caliper={"age": 0.1}).fit(cohort)
    mm = res.extras["match_matrix"]
    age = sim.data["age"].to_numpy(dtype=float)
    idx_t = np.flatnonzero(cohort.t)
    ok = mm[:, 0] >= 0
    width = res.info["caliper_covariate_units"]["age"]
    assert np.all(np.abs(age[idx_t[ok]] - age[mm[ok, 0]]) <= width)


def test_fit_is_deterministic(cohort) -> None:  # noqa: ANN001
    a = NearestNeighborMatching(order="random", seed=5).fit(cohort)
    b = NearestNeighborMatching(order="random", seed=5).fit(cohort)
    pd.testing.assert_series_equal(a.weights, b.weights)


def test_abadie_imbens_se(cohort) -> None:  # noqa: ANN001
    res = NearestNeighborMatching(replace=True, se="abadie_imbens").fit(cohort)
    e = res.estimates[0]
    assert 0 < e.std_error < 0.1 and "Abadie-Imbens" in e.se_method


def test_balance_flags_and_counts(cohort) -> None:  # noqa: ANN001
    res = NearestNeighborMatching().fit(cohort)
    b = res.balance.to_frame()
    assert {"ecdf_mean_after", "var_ratio_after", "imbalanced_after"} <= set(b.columns)
    counts = res.balance.counts()
    assert counts.loc["matched", "treated"] == cohort.n_treated


# ---------------------------------------------------------- errors and warnings
@pytest.mark.parametrize(
    "opts,match",
    [
        ({"caliper": -0.2}, r"`caliper` must be a positive number; got -0.2"),
        ({"distance": "nn"}, r"`distance` must be one of 'glm'"),
        ({"order": "best"}, r"`order` must be one of 'largest'"),
        ({"discard": "all"}, r"`discard` must be one of 'none'"),
        ({"distance": "mahalanobis", "caliper": 0.2}, r"`caliper` on the score needs a propensity"),
        ({"distance": "mahalanobis", "discard": "both"}, r"`discard`='both' needs a propensity"),
        ({"se": "matched_set", "replace": True}, r"needs matching without replacement"),
        ({"se": "abadie_imbens"}, r"is for matching with replacement"),
        ({"ratio": 0}, r"`ratio` must be an integer >= 1"),
    ],
    ids=["neg_caliper", "distance", "order", "discard", "mah_caliper", "mah_discard",
         "cluster_replace", "ai_noreplace", "ratio0"],
)
def test_option_errors(opts, match) -> None:  # noqa: ANN001
    with pytest.raises(OptionError, match=match):
        NearestNeighborMatching(**opts)


def test_impossible_ratio_raises(cohort) -> None:  # noqa: ANN001
    with pytest.raises(OptionError, match=r"`ratio`=30 without replacement needs at least"):
        NearestNeighborMatching(ratio=30).fit(cohort)


def test_exact_column_must_be_covariate(cohort) -> None:  # noqa: ANN001
    with pytest.raises(OptionError, match=r"`exact` names 'local_authority'.*not among"):
        NearestNeighborMatching(exact=["local_authority"]).fit(cohort)


def test_no_match_raises(cohort) -> None:  # noqa: ANN001
    score = np.where(cohort.t, 0.9, 0.1)
    with pytest.raises(EstimationError, match="No treated unit found a comparison unit"):
        NearestNeighborMatching(distance=score, caliper=0.01, std_caliper=False).fit(cohort)


def test_ignored_options_warn() -> None:
    with pytest.warns(IgnoredOptionWarning, match="ignores order='largest'"):
        NearestNeighborMatching(replace=True, order="largest")
    with pytest.warns(IgnoredOptionWarning, match="ignores mahvars"):
        NearestNeighborMatching(distance="mahalanobis", mahvars=["age"])


def test_subclass_error_when_groups_too_small(cohort) -> None:  # noqa: ANN001
    with pytest.raises(EstimationError, match="Use fewer subclasses or a smaller `min_n`"):
        estimate(cohort, method="subclass", subclass=40, min_n=100)


def test_cem_bad_cutpoints(cohort) -> None:  # noqa: ANN001
    with pytest.raises(OptionError, match=r"`cutpoints` names 'height'"):
        estimate(cohort, method="cem", cutpoints={"height": 3})


def test_plots_return_savable_figures(cohort, tmp_path) -> None:  # noqa: ANN001
    from pbr_eval.diagnostics.plots import love_plot, overlap_plot

    res = NearestNeighborMatching().fit(cohort)
    for name in ("love", "overlap"):
        out = tmp_path / f"{name}.png"
        res.plot(name).figure.savefig(out)
        assert out.stat().st_size > 1000
    for fn in (love_plot, overlap_plot):  # the deprecated spellings still work
        with pytest.warns(DeprecationWarning, match=r"results\.plot\("):
            fig = fn(res)
        out = tmp_path / f"{fn.__name__}.png"
        fig.savefig(out)
        assert out.stat().st_size > 1000
    with pytest.raises(OptionError, match="needs a propensity score"):
        estimate(cohort, method="cem").plot("overlap")


# -------------------------------------------------------------------- optimal
def test_optimal_total_distance_not_above_greedy() -> None:
    from itertools import permutations

    from pbr_eval.estimators.optimal import optimal_match

    rng = np.random.default_rng(11)
    f, p = rng.random(5), rng.random(7)
    mm = optimal_match(f, p)
    total = np.abs(f - p[mm[:, 0]]).sum()
    brute = min(np.abs(f - p[list(perm)]).sum() for perm in permutations(range(7), 5))
    assert total == pytest.approx(brute, abs=1e-12)
    greedy = match_nearest(np.r_[np.ones(5, bool), np.zeros(7, bool)], order=np.arange(5),
                           score=np.r_[f, p])
    assert total <= np.abs(f - np.r_[f, p][greedy[:, 0]]).sum() + 1e-12


def test_optimal_recovers_truth_and_limits(sim) -> None:  # noqa: ANN001
    from pbr_eval.estimators import optimal as opt

    data = pd.concat([sim.data[sim.data["treated"] == 1],
                      sim.data[sim.data["treated"] == 0].iloc[:3000]])
    res = estimate(Cohort(data, **sim.cohort_args), method="optimal")
    e = res.estimates[0]
    truth = sim.truth.loc[e.outcome, "non_intervention"]
    assert abs(e.non_intervention - truth) < 4 * e.non_intervention_se
    assert res.info["n_focal_matched"] == 600
    old = opt.MAX_CELLS
    try:
        opt.MAX_CELLS = 1000
        with pytest.raises(OptionError, match="cost matrix; the limit is 1,000"):
            estimate(Cohort(data, **sim.cohort_args), method="optimal")
    finally:
        opt.MAX_CELLS = old


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fast_path_equals_general_walk(seed: int) -> None:
    # the inlined 1:1 kernel and the general MatchIt walk must agree, ties and cells included
    rng = np.random.default_rng(seed)
    n = 3000
    focal = rng.random(n) < 0.2
    score = np.round(rng.random(n), 2)  # many exact ties
    cells = rng.integers(0, 5, n)
    order = rng.permutation(int(focal.sum()))
    fast = match_nearest(focal, order=order, score=score, cells=cells, caliper=0.05)
    walk = match_nearest(focal, order=order, score=score, cells=cells, caliper=0.05,
                         cal_x=np.zeros((n, 1)), cal_w=np.array([np.inf]))
    np.testing.assert_array_equal(fast, walk)


def test_mahalanobis_tree_path_equals_walk() -> None:
    # continuous covariates (no exact distance ties): the k-d tree path used on large cells
    # must give MatchIt's walk's matches exactly
    from pbr_eval.estimators import _nearest

    rng = np.random.default_rng(4)
    n = 1500
    focal = rng.random(n) < 0.25
    z = rng.normal(size=(n, 3)) + focal[:, None] * 0.3
    order = np.arange(int(focal.sum()))
    walk = match_nearest(focal, order=order, mah=z, ratio=2)
    old = _nearest.MAH_WALK_LIMIT
    try:
        _nearest.MAH_WALK_LIMIT = 100
        tree = match_nearest(focal, order=order, mah=z, ratio=2)
        tree_rep = match_nearest(focal, order=order, mah=z, ratio=2, replace=True)
    finally:
        _nearest.MAH_WALK_LIMIT = old
    np.testing.assert_array_equal(tree, walk)
    np.testing.assert_array_equal(tree_rep, match_nearest(focal, order=order, mah=z, ratio=2,
                                                          replace=True))


@pytest.mark.parametrize("distance", ["robust_mahalanobis", "euclidean", "scaled_euclidean",
                                      "linear.logit"])
def test_other_distances_run_and_balance(sim, distance: str) -> None:  # noqa: ANN001
    data = pd.concat([sim.data[sim.data["treated"] == 1],
                      sim.data[sim.data["treated"] == 0].iloc[:1200]])
    res = estimate(Cohort(data, **sim.cohort_args), method="nearest", distance=distance,
                   exact=["sex"])
    assert res.info["distance"] == distance
    b = res.balance.to_frame(ecdf=False)
    assert abs(b.loc["sex[M]", "smd_after"]) < 1e-12  # exact on sex: perfectly balanced
