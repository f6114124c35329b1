"""The large-data sort of nearest matching (issue 17).

The key sort only switches on above ``KEY_SORT_MIN`` scores, so the small reference
tests against MatchIt never reach it: here it is checked against numpy's stable argsort
and the small-array path on data large enough to take it, with ties, near-ties (its
repair step) and values packed closer than its dropped bits (its fallback).
"""

from __future__ import annotations

import numpy as np
import pytest

from pbr_eval.estimators import _nearest, _pool
from pbr_eval.estimators._nearest import match_nearest
from pbr_eval.estimators._pool import KEY_SORT_MIN, sorted_order, stable_argsort


def _hostile(kind: str, n: int, rng: np.random.Generator) -> np.ndarray:
    if kind == "uniform":
        return rng.random(n)
    if kind == "ties":  # a few thousand distinct values, each repeated
        return np.round(rng.random(n), 3)
    if kind == "signs":  # negative, both zeros, infinities, subnormals
        x = rng.normal(size=n) * 10.0 ** rng.integers(-300, 300, n)
        x[rng.integers(0, n, 50)] = -0.0
        x[rng.integers(0, n, 50)] = 0.0
        x[rng.integers(0, n, 5)] = np.inf
        x[rng.integers(0, n, 5)] = -np.inf
        x[rng.integers(0, n, 5)] = 5e-324
        return x
    if kind == "near":  # values apart only in the low bits the key drops
        x = rng.random(n)
        hit = rng.integers(0, n, 3000)
        x[hit] = 0.25 + rng.integers(0, 1 << 12, hit.size) * 2.0 ** -52
        return x
    # every value within the dropped bits of 1.0: the repair would re-sort most rows
    return 1 + rng.integers(0, 1 << 18, n) * 2.0 ** -52


@pytest.mark.parametrize("kind", ["uniform", "ties", "signs", "near", "packed"])
def test_sorted_order_is_numpys_stable_argsort(kind: str) -> None:
    rng = np.random.default_rng(len(kind))
    x = _hostile(kind, KEY_SORT_MIN * 3 + 17, rng)
    want = np.argsort(x, kind="stable")
    order, values = sorted_order(x)
    np.testing.assert_array_equal(order, want)
    np.testing.assert_array_equal(values, x[want])
    np.testing.assert_array_equal(stable_argsort(x), want)


def test_sorted_order_small_and_nan() -> None:
    assert sorted_order(np.array([]))[0].size == 0
    np.testing.assert_array_equal(sorted_order(np.array([3.0]))[0], [0])
    x = np.random.default_rng(0).random(KEY_SORT_MIN + 5)
    x[::7] = np.nan  # NaN: stable_argsort leaves the key path, numpy orders them
    np.testing.assert_array_equal(stable_argsort(x), np.argsort(x, kind="stable"))


@pytest.mark.parametrize("opts", [{}, {"caliper": 0.002}, {"replace": True},
                                  {"ratio": 2}, {"cells": True}],
                         ids=["greedy", "caliper", "replace", "ratio2", "cells"])
def test_key_sort_matches_are_the_plain_sorts(opts: dict, monkeypatch) -> None:  # noqa: ANN001
    # the same match matrix whether the scores are sorted by packed keys or by numpy's
    # argsort (the path every MatchIt reference test takes), with many tied scores
    rng = np.random.default_rng(5)
    n = KEY_SORT_MIN * 2
    focal = rng.random(n) < 0.05
    score = np.round(rng.random(n), 4)
    kw = dict(opts)
    if kw.pop("cells", False):
        kw["cells"] = rng.integers(0, 3, n)
    order = np.argsort(-score[focal], kind="stable")
    fast = match_nearest(focal, order=order, score=score, **kw)
    monkeypatch.setattr(_pool, "KEY_SORT_MIN", 1 << 62)
    monkeypatch.setattr(_nearest, "KEY_SORT_MIN", 1 << 62)
    plain = match_nearest(focal, order=order, score=score, **kw)
    np.testing.assert_array_equal(fast, plain)
    assert (fast >= 0).sum() > 0.5 * focal.sum()


@pytest.mark.parametrize("seed", [0, 1])
def test_one_cell_kernel_equals_general_walk(seed: int) -> None:
    # the one-cell kernel walks the sorted order of all units with the focal and
    # discarded ones marked taken; MatchIt's general walk must give the same matches
    rng = np.random.default_rng(seed)
    n = KEY_SORT_MIN + 4000
    focal = rng.random(n) < 0.1
    score = np.round(rng.random(n), 3)  # exact ties, runs of focal units between pool units
    discarded = rng.random(n) < 0.02
    order = rng.permutation(int(focal.sum()))
    for cal in (None, 0.0005):
        fast = match_nearest(focal, order=order, score=score, caliper=cal, discarded=discarded)
        walk = match_nearest(focal, order=order, score=score, caliper=cal, discarded=discarded,
                             cal_x=np.zeros((n, 1)), cal_w=np.array([np.inf]))
        np.testing.assert_array_equal(fast, walk)
        assert (fast[discarded[focal]] == -1).all()
