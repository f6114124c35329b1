"""The bootstrap on a Dask cluster gives exactly the in-process numbers (issue 5)."""

from __future__ import annotations

import numpy as np
import pytest

from pbr_eval import Cohort
from pbr_eval.bootstrap import bootstrap
from pbr_eval.datasets import simulate
from pbr_eval.estimators.matching import NearestNeighborMatching

# dask[distributed] is in the `test` extra, so CI always runs this test.
distributed = pytest.importorskip("distributed")


def test_bootstrap_on_local_cluster_matches_in_process():
    sim = simulate("reoffending", n_treated=120, n_comparison=1200, seed=8)
    cohort = Cohort(sim.data, **sim.cohort_args)
    res = NearestNeighborMatching().fit(cohort)
    local = bootstrap(res, cohort, n_boot=12, kind="cluster", ci="bca", seed=2024)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster):
        on_dask = bootstrap(res, cohort, n_boot=12, kind="cluster", ci="bca", seed=2024,
                            n_jobs=-1, backend="dask")
    np.testing.assert_array_equal(local.replicates, on_dask.replicates)
    np.testing.assert_array_equal(local.jackknife, on_dask.jackknife)
    assert local.to_frame().equals(on_dask.to_frame())
    assert on_dask.info["backend"] == "dask"
