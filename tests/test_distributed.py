"""The distributed cohort and map-reduce estimators give the in-memory numbers (issue 17.3)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import pbr_eval
from pbr_eval import Cohort, DistributedCohort
from pbr_eval.datasets import load_reoffending, simulate
from pbr_eval.distributed.cohort import resolve_scheduler
from pbr_eval.exceptions import (
    CollinearityError,
    CovariateError,
    MissingColumnError,
    MissingValueError,
    OptionError,
    SmallCohortError,
    TreatmentError,
)

# dask[distributed] is in the `test` extra, so CI always runs these tests.
distributed = pytest.importorskip("distributed")

WEIGHTING = ["ipw", "regression", "aipw", "ipwra"]


def _args(sim):
    args = dict(sim.cohort_args)
    args.pop("cluster", None)
    return args


@pytest.fixture(scope="module", autouse=True)
def small_blocks():
    """Kernels run block by block (passes.blockwise) on blocks of 257 rows here, so every
    partition of these small cohorts is cut into several blocks and a short last one: the
    equalities below then hold for the block sums the large runs add up."""
    from pbr_eval.distributed import passes

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(passes, "BLOCK_ROWS", 257)
        yield


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as c:
        yield c


@pytest.fixture(scope="module")
def shipped():
    sim = load_reoffending()
    return sim.data, _args(sim)


def _same(a, b, tol):
    fa, fb = a.to_frame(), b.to_frame()
    num = fa.select_dtypes("number").columns
    assert list(fa.columns) == list(fb.columns)
    np.testing.assert_allclose(fb[num].to_numpy(float), fa[num].to_numpy(float), rtol=0,
                               atol=tol)
    assert (fa.drop(columns=num) == fb.drop(columns=num)).all().all()


CASES = [(m, o) for m in WEIGHTING
         for o in ([{}] if m == "regression" else [{}, {"clip": 0.05}, {"trim": (0.02, 0.7)}])]


@pytest.mark.parametrize(("method", "options"), CASES,
                         ids=[f"{m}-{'-'.join(o) or 'plain'}" for m, o in CASES])
def test_weighting_family_equals_in_memory_on_a_local_cluster(shipped, client, method, options):
    data, args = shipped
    mem = pbr_eval.estimate(Cohort(data, **args), method=method, **options)
    dc = DistributedCohort(data, npartitions=8, **args)
    assert dc.npartitions == 8 and "distributed client" in dc.scheduler
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dist = pbr_eval.estimate(dc, method=method, **options)
    assert type(dist) is type(mem) and dist.method == mem.method
    _same(mem, dist, 1e-10)
    for e_mem, e_dist in zip(mem.estimates, dist.estimates, strict=True):
        assert e_dist.cohort_std_error == pytest.approx(e_mem.cohort_std_error, abs=1e-10)
        assert e_dist.se_method == e_mem.se_method
    bm, bd = mem.balance.to_frame(ecdf=False), dist.balance.to_frame(ecdf=False)
    num = bm.select_dtypes("number").columns
    np.testing.assert_allclose(bd[num].to_numpy(float), bm[num].to_numpy(float), atol=1e-10)
    assert mem.balance.effective_sample_size() == pytest.approx(
        dist.balance.effective_sample_size(), abs=1e-8)
    assert dist.info["backend"] == "dask" and dist.weights is None
    for key in ("n_clipped", "n_trimmed_treated", "n_trimmed_comparison"):
        assert dist.info.get(key) == mem.info.get(key)
    assert [d for d in dist.info["dropped"] if d["stage"] != "cohort"] == \
        [d for d in mem.info["dropped"] if d["stage"] != "cohort"]


def test_above_the_warm_start_size_from_partitioned_parquet(tmp_path):
    """250,000 rows over 8 Parquet files: the subsample warm starts of both models run."""
    sim = simulate("reoffending", n_treated=10_000, n_comparison=240_000, seed=11)
    args = _args(sim)
    dd = pytest.importorskip("dask.dataframe")
    dd.from_pandas(sim.data, npartitions=8, sort=False).to_parquet(tmp_path / "pool")
    dc = DistributedCohort.from_parquet(tmp_path / "pool", scheduler="synchronous", **args)
    assert dc.npartitions == 8 and dc.n == 250_000
    mem = Cohort(sim.data, **args)
    _same(pbr_eval.estimate(mem, method="aipw"), pbr_eval.estimate(dc, method="aipw"), 1e-10)


def test_dropped_rows_are_counted_by_group_as_in_memory(shipped):
    data, args = shipped
    data = data.copy()
    data.loc[::7, "age"] = np.nan
    data.loc[::11, "sex"] = None
    mem = Cohort(data, missing="drop", **args)
    dc = DistributedCohort(data, missing="drop", npartitions=5, scheduler="synchronous", **args)
    assert [d.to_dict() for d in dc.dropped] == [d.to_dict() for d in mem.dropped]
    assert (dc.n, dc.n_treated, dc.n_comparison) == (mem.n, mem.n_treated, mem.n_comparison)
    _same(pbr_eval.estimate(mem, method="ipw"), pbr_eval.estimate(dc, method="ipw"), 1e-10)
    want = _message(MissingValueError, lambda: Cohort(data, **args))
    assert want.startswith("Missing values in 'age' (")
    assert _message(MissingValueError, lambda: DistributedCohort(
        data, npartitions=5, scheduler="synchronous", **args)) == want


def _message(exc_type, build):
    with pytest.raises(exc_type) as err:
        build()
    return str(err.value)


@pytest.mark.parametrize("case", ["column", "treatment", "one_group", "constant", "levels",
                                  "collinear", "small"])
def test_checks_raise_the_in_memory_errors_and_messages(shipped, case):
    data, args = shipped
    data = data.copy()
    args = dict(args)
    exc = {"column": MissingColumnError, "treatment": TreatmentError,
           "one_group": TreatmentError, "constant": CovariateError, "levels": CovariateError,
           "collinear": CollinearityError, "small": SmallCohortError}[case]
    if case == "column":
        args["covariates"] = [*args["covariates"], "agee"]
    elif case == "treatment":
        data["treated"] = data["treated"] * 2
    elif case == "one_group":
        data["treated"] = 0
    elif case == "constant":
        data["flat"] = 3.0
        args["covariates"] = [*args["covariates"], "flat"]
    elif case == "levels":
        data["sex"] = data["sex"].where(data.index % 3 > 0, data["sex"].str.lower())
    elif case == "collinear":
        data["age_months"] = data["age"] * 12 + data["prior_offences"]
        args["covariates"] = [*args["covariates"], "age_months"]
    elif case == "small":
        args["min_treated"] = 10_000
    want = _message(exc, lambda: Cohort(data, **args))
    got = _message(exc, lambda: DistributedCohort(data, npartitions=4,
                                                   scheduler="synchronous", **args))
    if case == "collinear":  # the same covariates named; the in-memory message lists examples
        assert got.split(" are perfectly collinear")[0] == want.split(" are perfectly")[0]
    else:
        assert got == want


def test_what_a_distributed_cohort_cannot_do_is_refused_with_the_way_out(shipped):
    data, args = shipped
    dc = DistributedCohort(data, npartitions=2, scheduler="synchronous", **args)
    with pytest.raises(OptionError, match="`method` must be one of 'ipw', .* got 'optimal'"):
        pbr_eval.estimate(dc, method="optimal")
    with pytest.raises(OptionError, match="`inference` must be 'analytic' on a distributed"):
        pbr_eval.estimate(dc, method="ipw", inference="bootstrap")
    from sklearn.linear_model import LogisticRegression

    with pytest.raises(OptionError, match="`propensity` must be 'logit' on a distributed"):
        pbr_eval.estimate(dc, method="ipw", propensity=LogisticRegression())
    with pytest.raises(OptionError, match="`period` is not supported on a distributed"):
        DistributedCohort(data, scheduler="synchronous", **{**args, "period": "sex"})
    with pytest.raises(OptionError, match="`se='cluster'` needs a cohort built with `cluster`"):
        pbr_eval.estimate(dc, method="ipw", se="cluster")
    with pytest.raises(OptionError, match="`scheduler` must be None, 'threads'"):
        resolve_scheduler(42)
    small = dc.to_cohort()
    assert isinstance(small, Cohort) and small.n == dc.n


def test_a_pandas_categorical_and_bool_covariates_build_the_same_design():
    rng = np.random.default_rng(4)
    n = 3000
    df = pd.DataFrame({
        "t": (rng.random(n) < 0.2).astype(int),
        "region": pd.Categorical(rng.choice(["north", "south", "east"], n),
                                 categories=["south", "north", "east", "west"]),
        "flag": rng.random(n) < 0.4, "x": rng.normal(size=n),
        "y": (rng.random(n) < 0.3).astype(int)})
    roles = dict(treatment="t", outcome="y", covariates=["region", "flag", "x"])
    mem = Cohort(df, **roles)
    dc = DistributedCohort(df, npartitions=3, scheduler="synchronous", **roles)
    assert dc.design_columns == mem.design_columns
    assert dc.binary_columns == mem.binary_columns
    _same(pbr_eval.estimate(mem, method="ipwra"), pbr_eval.estimate(dc, method="ipwra"), 1e-10)


@pytest.mark.parametrize("size", ["shipped", "simulated"])
def test_nearest_with_replacement_matches_the_same_units(shipped, client, size):
    if size == "shipped":
        data, args = shipped
    else:
        sim = simulate("reoffending", n_treated=3000, n_comparison=40_000, seed=5)
        data, args = sim.data, _args(sim)
    mem = pbr_eval.estimate(Cohort(data, **args), method="nearest", replace=True)
    dc = DistributedCohort(data, npartitions=7, **args)
    dist = pbr_eval.estimate(dc, method="nearest", replace=True)
    mm = mem.extras["match_matrix"]
    np.testing.assert_array_equal(dist.extras["match_matrix"], mm)  # rows = positions here
    assert (mm >= 0).all()
    _same(mem, dist, 1e-10)
    bm, bd = mem.balance.to_frame(ecdf=False), dist.balance.to_frame(ecdf=False)
    assert list(bm.index) == list(bd.index)
    assert (bm["covariate_type"] == bd["covariate_type"]).all()
    num = bm.select_dtypes("number").columns
    np.testing.assert_allclose(bd[num].to_numpy(float), bm[num].to_numpy(float), atol=1e-10)
    np.testing.assert_allclose(dist.balance.counts().to_numpy(), mem.balance.counts().to_numpy(),
                               atol=1e-9)
    for key in ("n_comparison_matched", "n_comparison_unmatched", "se", "order", "distance"):
        assert dist.info[key] == mem.info[key]


def test_nearest_settings_it_cannot_run_are_refused(shipped):
    data, args = shipped
    dc = DistributedCohort(data, npartitions=2, scheduler="synchronous", **args)
    with pytest.raises(OptionError, match="`replace` must be True for method='nearest' on a"):
        pbr_eval.estimate(dc, method="nearest")
    with pytest.raises(OptionError, match="`ratio` must be 1 for method='nearest'"):
        pbr_eval.estimate(dc, method="nearest", replace=True, ratio=2)


def test_the_neighbour_rule_takes_the_closer_position_first_and_a_strictly_closer_second():
    from pbr_eval.distributed.matching import nearest_with_replacement
    from pbr_eval.estimators._nearest import match_nearest

    rng = np.random.default_rng(0)
    score = np.round(rng.random(400), 2)  # many exact ties, in score and in distance
    t = rng.random(400) < 0.3
    mm = match_nearest(t, order=None, score=score, replace=True)[:, 0]
    rows = np.arange(400)
    nb = {"ls": np.full(t.sum(), -np.inf), "lr": np.full(t.sum(), -1),
          "rs": np.full(t.sum(), np.inf), "rr": np.full(t.sum(), -1)}
    ps, pr = score[~t], rows[~t]
    for k, i in enumerate(np.flatnonzero(t)):
        before = (ps < score[i]) | ((ps == score[i]) & (pr < i))
        if before.any():
            j = np.flatnonzero(before)[np.lexsort((pr[before], ps[before]))[-1]]
            nb["ls"][k], nb["lr"][k] = ps[j], pr[j]
        if (~before).any():
            j = np.flatnonzero(~before)[np.lexsort((pr[~before], ps[~before]))[0]]
            nb["rs"][k], nb["rr"][k] = ps[j], pr[j]
    np.testing.assert_array_equal(nearest_with_replacement(score[t], rows[t], nb, 400), mm)


def test_the_cli_runs_on_dask_from_a_parquet_folder_and_refuses_without_a_traceback(
        tmp_path, capsys):
    from pbr_eval.cli import main

    dd = pytest.importorskip("dask.dataframe")
    data = load_reoffending().data
    dd.from_pandas(data, npartitions=3, sort=False).to_parquet(tmp_path / "pool")
    common = ["estimate", str(tmp_path / "pool"), "--treatment", "treated", "--outcome",
              "reoffended", "--covariates", "age,sex,prior_offences", "--method", "ipw", "--json"]
    assert main([*common, "--scheduler", "synchronous"]) == 0
    got = capsys.readouterr().out
    mem = pbr_eval.estimate(Cohort(data, treatment="treated", outcome="reoffended",
                                   covariates=["age", "sex", "prior_offences"]), method="ipw")
    import json

    est = json.loads(got)["estimates"][0]
    assert est["non_intervention"] == pytest.approx(mem.estimates[0].non_intervention, abs=1e-10)
    assert main([*common, "--scheduler", "yarn"]) == 2
    err = capsys.readouterr().err
    assert "`scheduler` must be None" in err and "Traceback" not in err


# ---------------------------------------------------------------- passes (issue 17.3)
def _numeric_pool(n=6000, seed=2):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    t = (rng.random(n) < 1 / (1 + np.exp(1.5 - X[:, 0] + 0.5 * X[:, 1]))).astype(int)
    df = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    df["t"] = t
    df["y"] = (rng.random(n) < 1 / (1 + np.exp(0.5 - 0.4 * X[:, 2]))).astype(int)
    df["k"] = rng.poisson(np.exp(0.2 * X[:, 3]))
    return df, dict(treatment="t", outcome=["y", "k"], covariates=["a", "b", "c", "d"])


def test_the_cohort_is_read_once_and_the_nuisance_models_share_their_passes():
    from pbr_eval.distributed.models import (
        RowSelection,
        fit_glms_distributed,
        fit_logit_distributed,
    )

    df, roles = _numeric_pool()
    dc = DistributedCohort(df, npartitions=4, scheduler="synchronous", **roles)
    assert (dc.passes, dc.reads) == (1, 1)  # checks, arrays and sums from one read
    text = load_reoffending()
    dct = DistributedCohort(text.data, npartitions=4, scheduler="synchronous",
                            **_args(text))
    assert (dct.passes, dct.reads) == (2, 1)  # text covariates: one more pass in memory
    k = dc.passes
    fit_logit_distributed(dc)
    logit_passes = dc.passes - k
    k = dc.passes
    fit_glms_distributed(dc, ["logistic", "poisson"], RowSelection())
    glm_passes = dc.passes - k
    assert logit_passes >= 2 and glm_passes >= 2
    for method in ("ipw", "aipw"):
        k = dc.passes
        res = pbr_eval.estimate(dc, method=method)
        # in lockstep, plus two passes for the estimates, SEs and balance (not the sum)
        assert dc.passes - k <= max(logit_passes, glm_passes) + 2, method
        _same(pbr_eval.estimate(Cohort(df, **roles), method=method), res, 1e-10)
    k = dc.passes
    pbr_eval.estimate(dc, method="nearest", replace=True)
    assert dc.passes - k <= logit_passes + 3


def test_persist_false_rereads_the_source_on_every_pass(tmp_path):
    df, roles = _numeric_pool()
    dd = pytest.importorskip("dask.dataframe")
    dd.from_pandas(df, npartitions=3, sort=False).to_parquet(tmp_path / "pool")
    dc = DistributedCohort.from_parquet(tmp_path / "pool", scheduler="synchronous",
                                        persist=False, **roles)
    assert dc.reads == dc.passes == 1
    res = pbr_eval.estimate(dc, method="ipw")
    assert dc.reads == dc.passes > 3
    _same(pbr_eval.estimate(Cohort(df, **roles), method="ipw"), res, 1e-10)


# ---------------------------------------------------------------- exact cells
def _cells_case(case):
    sim = load_reoffending()
    data, args = sim.data.copy(), _args(sim)
    if case == "unmatched":  # a cell with 5 comparison units: its other participants go unmatched
        cell = (data["offence_type"] == "motoring") & (data["sex"] == data["sex"].iloc[0])
        spare = data.index[cell & (data["treated"] == 0)][5:]
        return data.drop(index=spare), args, {"exact": ["offence_type", "sex"]}
    if case == "random":
        return data, args, {"exact": ["sex"], "order": "random", "seed": 7}
    return data, args, {"exact": ["sex", "offence_type"]}


@pytest.mark.parametrize("case", ["largest", "unmatched", "random"])
def test_nearest_without_replacement_in_exact_cells_matches_the_same_units(client, case):
    data, args, opts = _cells_case(case)
    mem = pbr_eval.estimate(Cohort(data, **args), method="nearest", **opts)
    dc = DistributedCohort(data, npartitions=6, **args)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dist = pbr_eval.estimate(dc, method="nearest", **opts)
    np.testing.assert_array_equal(dist.extras["match_matrix"], mem.extras["match_matrix"])
    _same(mem, dist, 1e-10)
    bm, bd = mem.balance.to_frame(ecdf=False), dist.balance.to_frame(ecdf=False)
    num = bm.select_dtypes("number").columns
    np.testing.assert_allclose(bd[num].to_numpy(float), bm[num].to_numpy(float), atol=1e-10)
    np.testing.assert_allclose(dist.balance.counts().to_numpy(), mem.balance.counts().to_numpy(),
                               atol=1e-9)
    for key in ("n_focal_matched", "n_treated_unmatched", "n_comparison_matched", "se",
                "order"):
        assert dist.info[key] == mem.info[key], key
    assert [d for d in dist.info["dropped"] if d["stage"] != "cohort"] == \
        [d for d in mem.info["dropped"] if d["stage"] != "cohort"]
    assert set(mem.info["notes"]) <= set(dist.info["notes"])
    if case == "unmatched":
        assert dist.info["n_treated_unmatched"] > 0


def test_matching_without_replacement_is_refused_without_cells_or_with_what_cannot_split(
        shipped):
    data, args = shipped
    dc = DistributedCohort(data, npartitions=2, scheduler="synchronous", **args)
    with pytest.raises(OptionError, match="unless `exact` names the cells to match within"):
        pbr_eval.estimate(dc, method="nearest", replace=False)
    with pytest.raises(OptionError, match="`ratio` must be 1 for method='nearest' on a "
                                          "distributed cohort; got 2. Distributed nearest "
                                          "matching without replacement"):
        pbr_eval.estimate(dc, method="nearest", exact=["sex"], ratio=2)
    with pytest.raises(OptionError, match="`caliper` must be None"):
        pbr_eval.estimate(dc, method="nearest", exact=["sex"], caliper=0.1)
    from pbr_eval.distributed import matching

    with pytest.raises(OptionError, match="cells; at most 10 are matched on a distributed"):
        old, matching.MAX_CELLS = matching.MAX_CELLS, 10
        try:
            pbr_eval.estimate(dc, method="nearest", exact=["age"])
        finally:
            matching.MAX_CELLS = old


# ---------------------------------------------------------------- cluster-robust SEs
CLUSTER_CASES = [("ipw", {}), ("aipw", {"clip": 0.05}), ("ipwra", {}), ("regression", {})]


@pytest.fixture(scope="module")
def clustered(client):
    """The shipped data by local authority over 6 partitions (an authority spans several)."""
    sim = load_reoffending()
    args = {k: v for k, v in sim.cohort_args.items() if k != "period"}
    return Cohort(sim.data, **args), DistributedCohort(sim.data, npartitions=6, **args)


@pytest.mark.parametrize(("method", "options"), CLUSTER_CASES,
                         ids=[f"{m}-{'-'.join(o) or 'plain'}" for m, o in CLUSTER_CASES])
def test_cluster_robust_standard_errors_equal_the_in_memory_ones(clustered, method, options):
    mem_cohort, dc = clustered
    # se="cluster": with 20 authorities se="auto" in memory takes the wild cluster bootstrap,
    # which the distributed path does not have (it says so in a note, checked below)
    mem = pbr_eval.estimate(mem_cohort, method=method, se="cluster", **options)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dist = pbr_eval.estimate(dc, method=method, se="cluster", **options)
        auto = pbr_eval.estimate(dc, method=method, **options)
    assert mem.info["se"] == dist.info["se"] == "cluster"
    assert any("not available on a distributed cohort" in n for n in auto.info["notes"])
    assert not any("not available on a distributed cohort" in n for n in dist.info["notes"])
    _same(mem, dist, 1e-10)
    for e_mem, e_dist in zip(mem.estimates, dist.estimates, strict=True):
        assert e_dist.cohort_std_error == pytest.approx(e_mem.cohort_std_error, abs=1e-10)
        assert e_dist.se_method == e_mem.se_method
    if method == "ipw":  # the clusters matter here: robust SEs differ
        robust = pbr_eval.estimate(dc, method=method, se="robust")
        assert robust.estimates[0].std_error != pytest.approx(dist.estimates[0].std_error,
                                                              rel=1e-3)


# ---------------------------------------------------------------- block-wise kernels
def test_block_sums_equal_the_whole_partitions_sums_with_clusters_and_extremes():
    from pbr_eval.distributed import passes
    from pbr_eval.distributed.estimators import _Plan, _second_pass
    from pbr_eval.distributed.models import RowSelection, _glm_pass, _logit_pass

    rng = np.random.default_rng(3)
    n = 1000
    X = rng.normal(size=(n, 3))
    t = rng.random(n) < 0.2
    Y = np.column_stack([(rng.random(n) < 0.3).astype(float), rng.poisson(1.0, n)])
    codes = rng.integers(0, 7, n)
    part = {"X": X, "t": t, "Y": Y, "n": n, "cl": (codes, np.arange(7) * 10)}
    beta = np.array([-1.0, 0.3, -0.2, 0.1])
    plan = _Plan(gamma=beta, noise_params=(beta, beta), noise_families=("logistic", "poisson"),
                 families=("logistic", "poisson"), c_part=True,
                 consts={"n1": 200.0, "S": 150.0, "A": np.zeros(2), "C": np.full(2, 0.1),
                         "mu1": np.full(2, 0.4), "mu0": np.full(2, 0.3), "maxps": 0.5,
                         "kvec": np.zeros((4, 2)), "hvec": np.ones((4, 2)), "cluster": True})
    calls = [(_logit_pass, (beta,)),
             (_glm_pass, (RowSelection(ps_params=beta, weighted=True),
                          [(0, "logistic", beta), (1, "poisson", beta)])),
             (_second_pass, (plan,))]
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(passes, "BLOCK_ROWS", 10**9)
        whole = [fn(part, *args) for fn, args in calls]
    mp_blocks = [fn(part, *args) for fn, args in calls]  # 257-row blocks (module fixture)
    for a, b in zip(whole, mp_blocks, strict=True):
        assert a.keys() == b.keys()
        for k in a:
            if k == "cl":
                np.testing.assert_array_equal(a[k][0], b[k][0])
                np.testing.assert_allclose(b[k][1], a[k][1], rtol=1e-12, atol=1e-12)
            else:
                np.testing.assert_allclose(b[k], a[k], rtol=1e-12, atol=1e-12)


def test_block_heap_restores_the_nanny_settings_and_does_nothing_without_them(monkeypatch):
    from pbr_eval.distributed import passes

    calls = []

    class Libc:
        def mallopt(self, param, value):
            calls.append((param, value))
            return 1

    monkeypatch.setattr(passes, "_libc", lambda: Libc())
    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_", raising=False)
    monkeypatch.delenv("MALLOC_MMAP_THRESHOLD_", raising=False)
    with passes.block_heap():
        pass
    assert calls == []  # glibc's adaptive thresholds are left alone
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "65536")  # what a Dask nanny sets
    with passes.block_heap(), passes.block_heap():  # nested: set once, restored once
        assert calls == [(-3, passes._HEAP_MMAP), (-1, passes._HEAP_TRIM)]
    assert calls[2:] == [(-3, 128 * 1024), (-1, 65536)]


def test_map_merge_folds_each_workers_partitions_in_chains_and_matches_the_tree(shipped):
    """On a client, map_merge folds the partitions a worker holds (one chain per thread);
    the local schedulers merge in a tree. Both give the in-memory matches."""
    data, args = shipped
    mem = pbr_eval.estimate(Cohort(data, **args), method="nearest", replace=True)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=2, processes=False,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as c:
        dc = DistributedCohort(data, npartitions=9, scheduler=c, **args)
        chains = dc._chains()
        assert chains is not None and len(chains) == 4
        assert sorted(i for chain in chains for i in chain) == list(range(9))
        dist = pbr_eval.estimate(dc, method="nearest", replace=True)
    tree = DistributedCohort(data, npartitions=9, scheduler="synchronous", **args)
    assert tree._chains() is None
    for res in (dist, pbr_eval.estimate(tree, method="nearest", replace=True)):
        np.testing.assert_array_equal(res.extras["match_matrix"], mem.extras["match_matrix"])
