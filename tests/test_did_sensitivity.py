"""Parallel-trends sensitivity (Rambachan & Roth 2023, smoothness restriction): reference and truth."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from pbr_eval.estimators.did_sensitivity import (
    _bias_map,
    folded_normal_quantile,
    parallel_trends_sensitivity,
    smoothness_breakdown,
    smoothness_flci,
)
from pbr_eval.exceptions import OptionError
from pbr_eval.results.base import Results

REF = Path(__file__).parent / "reference" / "honestdid"


def _medicaid() -> tuple[np.ndarray, np.ndarray]:
    d = json.loads((REF / "medicaid_event_study.json").read_text())
    return np.array(d["betahat"]), np.array(d["sigma"])


def test_shipped_event_study_is_the_reference_one() -> None:
    from pbr_eval.datasets import load_medicaid_event_study

    es = load_medicaid_event_study()
    b, S = _medicaid()
    assert np.array_equal(es["betahat"], b) and np.array_equal(es["sigma"], S)
    assert (es["n_pre"], es["n_post"]) == (5, 2)


def test_medicaid_original_interval_as_published() -> None:
    b, S = _medicaid()
    lo, hi = b[5] - 1.959964 * np.sqrt(S[5, 5]), b[5] + 1.959964 * np.sqrt(S[5, 5])
    assert (round(lo, 3), round(hi, 3)) == (0.029, 0.064)


@pytest.mark.parametrize("M", [0.0, 0.01, 0.02, 0.03, 0.04, 0.05])
def test_medicaid_smoothness_flci_equals_honestdid(M: float) -> None:
    """R HonestDiD's README table (3 significant digits). Tolerance 1e-4: half a unit in
    the last printed digit, plus R's critical value, a quantile of 10^6 simulated draws."""
    pub = pd.read_csv(REF / "published.csv")
    row = pub[(pub["restriction"] == "smoothness") & (pub["bound"] == M)].iloc[0]
    b, S = _medicaid()
    ci = smoothness_flci(b, S, n_pre=5, n_post=2, M=M)
    assert ci.lower == pytest.approx(row["lower"], abs=1e-4)
    assert ci.upper == pytest.approx(row["upper"], abs=1e-4 if abs(row["upper"]) < 0.1 else 6e-4)


def test_medicaid_breakdown_between_the_published_grid_points() -> None:
    b, S = _medicaid()
    bd = smoothness_breakdown(b, S, n_pre=5, n_post=2)
    assert 0.02 < bd < 0.03          # README: significant at M = 0.02, not at 0.03
    assert smoothness_flci(b, S, n_pre=5, n_post=2, M=bd * 0.999).lower > 0
    assert smoothness_flci(b, S, n_pre=5, n_post=2, M=bd * 1.001).lower < 0


def _ar_sigma(k: int, rho: float = 0.5, sd: float = 0.1) -> np.ndarray:
    i = np.arange(k)
    return sd**2 * rho ** np.abs(i[:, None] - i[None, :])


def test_known_truth_coverage_at_least_the_level_inside_the_set() -> None:
    """Simulated event studies with a bias in Delta^SD(M): the FLCI covers the true effect.

    The interval is affine in betahat, so its coverage at any bias is exact
    (normal); at the least favourable bias it is the level, elsewhere higher;
    a draw-based check agrees. Outside the set (3M) it falls below: the test can fail.
    """
    n_pre, n_post, M, level = 3, 2, 0.03, 0.95
    S = _ar_sigma(n_pre + n_post)
    ci = smoothness_flci(np.zeros(5), S, n_pre=n_pre, n_post=n_post, M=M, level=level)
    v = np.array(ci.weights)
    t, K = _bias_map(n_pre, n_post)
    rng = np.random.default_rng(12)
    tau = np.r_[np.zeros(n_pre), 0.4, 0.7]
    theta = tau[n_pre]

    def coverage(delta: np.ndarray) -> float:
        bias = v @ (delta + tau) - theta
        return float(stats.norm.cdf((ci.half_length - bias) / ci.std_error)
                     - stats.norm.cdf((-ci.half_length - bias) / ci.std_error))

    worst = K @ (M * np.sign(K.T @ v))
    assert v @ worst == pytest.approx(ci.max_bias, rel=1e-9)
    assert coverage(worst) == pytest.approx(level, abs=1e-9)
    for _ in range(200):
        delta = 0.2 * rng.normal() * t + K @ rng.uniform(-M, M, K.shape[1])
        assert coverage(delta) >= level - 1e-9
    assert coverage(3 * worst) < 0.8
    # by draws, at the worst case: 20,000 event studies
    draws = rng.multivariate_normal(tau + worst, S, size=20_000)
    hits = np.abs(draws @ v - theta) <= ci.half_length
    assert abs(hits.mean() - level) < 3 * np.sqrt(level * (1 - level) / 20_000)


def test_flci_shrinks_to_the_minimum_variance_interval_and_grows_with_m() -> None:
    S = _ar_sigma(6)
    b = np.array([0.01, -0.02, 0.0, 0.01, 0.3, 0.35])
    widths = [smoothness_flci(b, S, n_pre=4, n_post=2, M=m).half_length
              for m in (0.0, 0.01, 0.05, 0.2)]
    assert widths == sorted(widths)
    ci0 = smoothness_flci(b, S, n_pre=4, n_post=2, M=0.0)
    assert ci0.max_bias == 0 and ci0.half_length == pytest.approx(1.959964 * ci0.std_error,
                                                                   rel=1e-6)
    t, _ = _bias_map(4, 2)
    assert np.array(ci0.weights) @ t == pytest.approx(0.0, abs=1e-12)  # kills a linear trend


def test_folded_normal_quantile() -> None:
    for r in (0.0, 0.5, 2.0):
        c = folded_normal_quantile(r, 0.9)
        assert stats.norm.cdf(c - r) - stats.norm.cdf(-c - r) == pytest.approx(0.9, abs=1e-12)


def test_results_on_the_contract() -> None:
    b, S = _medicaid()
    r = parallel_trends_sensitivity(b, S, n_pre=5, n_post=2, M=[0.0, 0.02])
    f = r.to_frame()
    assert list(f["M"]) == [0.0, 0.02] and (f["lower"] < f["upper"]).all()
    assert 0.02 < r.breakdown < 0.03
    assert "Breakdown value" in r.summary()
    again = Results.from_dict(r.to_dict())
    assert again.to_dict() == r.to_dict()
    default = parallel_trends_sensitivity(b, S, n_pre=5, n_post=2)
    assert default.to_frame()["M"].iloc[-1] == pytest.approx(2 * default.breakdown)
    with pytest.raises(OptionError, match="`level` must be 0.95"):
        r.to_frame(level=0.9)


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"n_pre": 4, "n_post": 2}, r"`betahat` must have n_pre \+ n_post = 4 \+ 2 entries"),
    ({"n_pre": 5, "n_post": 2, "M": -1.0}, r"`M` must be a non-negative number"),
    ({"n_pre": 5, "n_post": 2, "l": [1.0]}, r"`l` must have one weight per post period \(2\)"),
])
def test_bad_input_is_named(kwargs: dict, match: str) -> None:
    b, S = _medicaid()
    kwargs = {"M": 0.0, **kwargs}
    with pytest.raises(OptionError, match=match):
        smoothness_flci(b, S, **kwargs)
