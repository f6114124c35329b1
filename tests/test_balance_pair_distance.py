"""Standardised pair distance (MatchIt's "Std. Pair Dist."): the sorted-prefix-sum
computation equals brute force over every treated-comparison pair in each stratum."""

from __future__ import annotations

import numpy as np

from pbr_eval.diagnostics.balance import BalanceTable


def test_pair_distance_equals_brute_force_with_ties() -> None:
    rng = np.random.default_rng(3)
    n = 400
    t = rng.random(n) < 0.3
    sub = rng.integers(-1, 25, n)  # -1: unmatched
    x = rng.integers(0, 6, n).astype(float)  # many ties
    y = rng.normal(size=n)
    w = np.where(sub >= 0, 1.0, 0.0)
    bt = BalanceTable([x, y], ["x", "y"], t, w, [], subclass=sub)
    got = bt._pair_dist
    for j, col in enumerate((x, y)):
        diffs = []
        for s in np.unique(sub[sub >= 0]):
            a = col[(sub == s) & t]
            b = col[(sub == s) & ~t]
            diffs.extend(np.abs(a[:, None] - b[None, :]).ravel())
        np.testing.assert_allclose(got[j], np.mean(diffs), rtol=1e-12)
    frame = bt.to_frame()
    sd_x = np.std(x[t], ddof=1)
    np.testing.assert_allclose(frame.loc["x", "std_pair_dist_after"], got[0] / sd_x, rtol=1e-12)


def test_pair_distance_from_a_match_matrix() -> None:
    x = np.array([0.0, 1.0, 5.0, 2.0, 7.0, 3.0])
    t = np.array([True, True, False, False, False, False])
    mm = np.array([[3, 5], [2, -1]])  # unit 0 matched to 3 and 5; unit 1 to 2
    bt = BalanceTable([x], ["x"], t, np.ones(6), [], match_matrix=(np.array([0, 1]), mm))
    np.testing.assert_allclose(bt._pair_dist[0], (2 + 3 + 4) / 3)


def test_no_pair_distance_for_weighting() -> None:
    x = np.arange(10.0)
    t = np.arange(10) < 4
    frame = BalanceTable([x], ["x"], t, np.ones(10), []).to_frame()
    assert np.isnan(frame.loc["x", "std_pair_dist_after"])
