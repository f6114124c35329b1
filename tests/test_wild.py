"""Wild cluster restricted bootstrap (pbr_eval.inference.wild) against wildboottest 0.3.2.

References: ``tests/reference/wildboottest/`` (the port run in its own environment, with
the script that made them): t statistics and p-values equal, by full enumeration of the
Rademacher weights and with the port's own Webb draws.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pbr_eval.exceptions import EstimationError, OptionError
from pbr_eval.inference.wild import wild_cluster_test

REF = Path(__file__).parent / "reference" / "wildboottest"


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return pd.read_csv(REF / "wild_data.csv")


@pytest.fixture(scope="module")
def reference() -> dict:
    return json.loads((REF / "wild_reference.json").read_text())


def _design(d: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    X = np.column_stack([np.ones(len(d)), d["treated"], d["post"], d["treated"] * d["post"]])
    return X, d["y"].to_numpy(), d["area"].to_numpy()


@pytest.mark.parametrize("G", [8, 12])
def test_full_enumeration_equals_wildboottest(data, reference, G):
    X, y, cl = _design(data[data["G"] == G])
    ref = reference[str(G)]["rademacher"]
    r = wild_cluster_test(X, y, cl, 3, n_boot=9999)
    assert r.full_enumeration and ref["full_enumeration"] and r.n_draws == ref["B"] == 2**G
    assert r.t_stat == pytest.approx(ref["t_stat"], rel=1e-10)
    assert r.p_value == ref["p_value"]


@pytest.mark.parametrize("G", [8, 12])
def test_webb_with_the_same_draws_equals_wildboottest(data, reference, G):
    X, y, cl = _design(data[data["G"] == G])
    ref = reference[str(G)]["webb"]
    r = wild_cluster_test(X, y, cl, 3, draws=np.array(ref["draws"]))
    assert r.t_stat == pytest.approx(ref["t_stat"], rel=1e-10)
    assert r.p_value == pytest.approx(ref["p_value"], abs=1e-12)
    # our own Webb draws: the same p-value within Monte Carlo error (sd <= 0.5/sqrt(999))
    own = wild_cluster_test(X, y, cl, 3, n_boot=999, weights="webb", seed=3)
    assert abs(own.p_value - ref["p_value"]) < 4 * 0.5 / np.sqrt(999)


def test_bootstrap_t_equals_refitting_each_draw(data):
    """The closed form equals refitting y* = X beta~ + v_g u~ and taking its CRV1 t."""
    d = data[data["G"] == 8]
    X, y, cl = _design(d)
    labels, g = np.unique(cl, return_inverse=True)
    v = np.random.default_rng(5).choice([-1.0, 1.0], size=(labels.size, 5))
    r = wild_cluster_test(X, y, cl, 3, draws=v)
    keep = [0, 1, 2]
    br = np.linalg.lstsq(X[:, keep], y, rcond=None)[0]
    ur = y - X[:, keep] @ br
    n, k, G = len(y), X.shape[1], labels.size
    ssc = (n - 1) / (n - k) * G / (G - 1)
    A = np.linalg.inv(X.T @ X)
    for b in range(v.shape[1]):
        ys = X[:, keep] @ br + v[g, b] * ur
        bs = A @ X.T @ ys
        us = ys - X @ bs
        meat = sum(np.outer(X[g == j].T @ us[g == j], X[g == j].T @ us[g == j])
                   for j in range(G))
        t = bs[3] / np.sqrt(ssc * (A @ meat @ A)[3, 3])
        assert r.t_boot[b] == pytest.approx(t, rel=1e-9)


def test_errors(data):
    X, y, cl = _design(data[data["G"] == 8])
    with pytest.raises(OptionError, match="`weights` must be one of 'rademacher', 'webb'"):
        wild_cluster_test(X, y, cl, 3, weights="mammen")
    with pytest.raises(OptionError, match=r"`coef` must be a column of X \(0 to 3\); got 4"):
        wild_cluster_test(X, y, cl, 4)
    with pytest.raises(OptionError, match=r"`draws` must have one row per cluster \(8\)"):
        wild_cluster_test(X, y, cl, 3, draws=np.ones((3, 10)))
    with pytest.raises(EstimationError, match="collinear"):
        wild_cluster_test(np.column_stack([X, X[:, 1]]), y, cl, 3)
    with pytest.raises(EstimationError, match="two or more clusters"):
        wild_cluster_test(X, y, np.zeros(len(y)), 3)
