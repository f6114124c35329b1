"""The Cohort build's one-allocation design matrix and its per-column checks (issue 17).

Checked against the matrix reductions they replace (``X.min(axis=0)``,
``zero_one_columns``) and, above the 200,000-row collinearity screen, against data
with and without an exact dependence.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pbr_eval import Cohort
from pbr_eval.cohort import _design_matrix, _is_binary, collinear_columns, zero_one_columns
from pbr_eval.exceptions import CollinearityError, InfiniteValueError, MissingValueError


def test_design_matrix_figures_equal_the_matrix_reductions() -> None:
    rng = np.random.default_rng(2)
    n = 40_000
    cols = [rng.normal(size=n), (rng.random(n) < 0.3).astype(float), rng.random(n) < 0.5,
            np.zeros(n), np.ones(n), rng.integers(0, 2, n) * 0.5, np.where(rng.random(n) < 0.01,
                                                                          np.nan, 1.0),
            np.r_[0.0, np.ones(n - 1)], np.r_[np.ones(n - 1), 2.0]]
    X, stats = _design_matrix(cols, n, block=4096)
    np.testing.assert_array_equal(X, np.column_stack([np.asarray(c, float) for c in cols]))
    assert X.flags.c_contiguous and X.dtype == np.float64
    np.testing.assert_array_equal(stats.lo, X.min(axis=0))
    np.testing.assert_array_equal(stats.hi, X.max(axis=0))
    np.testing.assert_allclose(stats.sums, X.sum(axis=0), rtol=1e-12)
    np.testing.assert_array_equal(stats.zero_one, zero_one_columns(X))
    assert stats.zero_one.tolist() == [False, True, True, True, True, False, False, True, False]
    assert [_is_binary(X[:, j]) for j in range(X.shape[1])] == stats.zero_one.tolist()


def test_cohort_build_large_design_checks() -> None:
    # above the 200,000-row screen: independent columns pass, an exact dependence is named
    rng = np.random.default_rng(3)
    n = 450_000
    df = pd.DataFrame({"t": (rng.random(n) < 0.1).astype(int), "y": rng.random(n),
                       "a": rng.normal(size=n), "b": rng.normal(size=n),
                       "g": rng.choice(["x", "y", "z"], n)})
    c = Cohort(df, treatment="t", outcome="y", covariates=["a", "b", "g"])
    assert c.design_columns == ["a", "b", "g[y]", "g[z]"]
    assert c.binary_columns == ["g[y]", "g[z]"]
    np.testing.assert_array_equal(c.X[:, 2], (df["g"] == "y").to_numpy(float))
    assert collinear_columns(c.X) == []
    df["total"] = df["a"] + 2 * df["b"] - 1
    with pytest.raises(CollinearityError, match=r"'a', 'b', 'total' are perfectly collinear"):
        Cohort(df, treatment="t", outcome="y", covariates=["a", "b", "g", "total"])


@pytest.mark.parametrize("col", ["a", "b", "n"])
def test_missing_and_infinite_found_by_the_min_max_screen(col: str) -> None:
    # the screens read min/max: one bad value in the last row must still be found and counted
    rng = np.random.default_rng(4)
    n = 5_000
    df = pd.DataFrame({"t": np.r_[1, 0].repeat(n // 2), "y": rng.random(n),
                       "a": rng.normal(size=n), "b": rng.normal(size=n),
                       "n": pd.array(rng.integers(0, 9, n), dtype="Int64")})
    df.loc[n - 1, col] = pd.NA if col == "n" else np.nan
    with pytest.raises(MissingValueError, match=rf"Missing values in '{col}' \(1\): 1 row affected"):
        Cohort(df, treatment="t", outcome="y", covariates=["a", "b", "n"])
    dropped = Cohort(df, treatment="t", outcome="y", covariates=["a", "b", "n"], missing="drop")
    assert dropped.n == n - 1
    if col != "n":
        df.loc[n - 1, col] = -np.inf
        with pytest.raises(InfiniteValueError, match=rf"Column '{col}' holds 1 infinite value"):
            Cohort(df, treatment="t", outcome="y", covariates=["a", "b", "n"])
