"""Audit sampling: sample sizes and intervals against hand and independent calculations."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from pbr_eval.claims.audit import (
    draw_audit_sample,
    estimate_invalid_rate,
    proportion_ci,
    sample_size_for_precision,
    sample_size_for_tolerance,
)
from pbr_eval.exceptions import DataError, MissingColumnError, OptionError

# ------------------------------------------------------------------ sample sizes


@pytest.mark.parametrize("margin,p,level,N,expected", [
    # hand: 1.959964^2 * 0.5 * 0.5 / 0.05^2 = 384.15 -> 385
    (0.05, 0.5, 0.95, None, 385),
    # hand: 3.841459 * 0.09 / 0.0025 = 138.29 -> 139
    (0.05, 0.1, 0.95, None, 139),
    # hand: 138.29 / (1 + 137.29 / 766) = 117.27 -> 118
    (0.05, 0.1, 0.95, 766, 118),
    # hand: 2.575829^2 * 0.1 * 0.9 / 0.03^2 = 663.49 -> 664
    (0.03, 0.1, 0.99, None, 664),
    # hand: 384.15 / (1 + 383.15 / 1000) = 277.74 -> 278
    (0.05, 0.5, 0.95, 1000, 278),
    # population smaller than the formula: never more than N
    (0.01, 0.5, 0.95, 50, 50),
], ids=["385", "139", "fpc-766", "99pct", "fpc-1000", "capped"])
def test_sample_size_for_precision_hand(margin, p, level, N, expected):
    assert sample_size_for_precision(margin=margin, expected_rate=p, level=level,
                                     population=N) == expected


@pytest.mark.parametrize("tol,level,c", [(0.05, 0.95, 0), (0.05, 0.95, 1), (0.1, 0.9, 0),
                                         (0.02, 0.95, 2), (0.03, 0.99, 0)])
def test_sample_size_for_tolerance_is_smallest_exact_binomial(tol, level, c):
    n = sample_size_for_tolerance(tol, level=level, acceptance=c)
    assert stats.binom.cdf(c, n, tol) <= 1 - level
    assert stats.binom.cdf(c, n - 1, tol) > 1 - level


@pytest.mark.parametrize("tol,level,expected", [(0.05, 0.95, 59), (0.1, 0.95, 29),
                                                (0.01, 0.95, 299), (0.05, 0.99, 90)])
def test_sample_size_for_tolerance_zero_acceptance_closed_form(tol, level, expected):
    closed = math.ceil(math.log(1 - level) / math.log(1 - tol))
    assert closed == expected
    assert sample_size_for_tolerance(tol, level=level) == expected


# ------------------------------------------------------------------ intervals


CI_CASES = [(0, 20), (1, 15), (3, 30), (10, 100), (15, 15), (7, 766), (50, 60)]


@pytest.mark.parametrize("x,n", CI_CASES, ids=[f"{x}of{n}" for x, n in CI_CASES])
@pytest.mark.parametrize("level", [0.9, 0.95, 0.99])
def test_intervals_match_scipy_binomtest(x, n, level):
    ref = stats.binomtest(x, n).proportion_ci(confidence_level=level, method="exact")
    got = proportion_ci(x, n, level=level, method="clopper-pearson")
    assert got == pytest.approx((ref.low, ref.high), abs=1e-10)
    ref = stats.binomtest(x, n).proportion_ci(confidence_level=level, method="wilson")
    got = proportion_ci(x, n, level=level, method="wilson")
    assert got == pytest.approx((ref.low, ref.high), abs=1e-10)


def test_intervals_by_hand():
    # Clopper-Pearson with x = 0: upper = 1 - (a/2)^(1/n)
    assert proportion_ci(0, 20)[1] == pytest.approx(1 - 0.025 ** (1 / 20), abs=1e-12)
    # x = n: lower = (a/2)^(1/n)
    assert proportion_ci(15, 15)[0] == pytest.approx(0.025 ** (1 / 15), abs=1e-12)
    # Wilson for 3/30 at 95%, by the textbook formula
    z, p, n = 1.959963984540054, 0.1, 30
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    assert proportion_ci(3, 30, method="wilson") == pytest.approx((centre - half,
                                                                   centre + half), abs=1e-12)


@pytest.mark.slow
def test_clopper_pearson_coverage_at_least_nominal():
    rng = np.random.default_rng(1)
    p, n, reps = 0.1, 40, 2000
    xs = rng.binomial(n, p, reps)
    cover = np.mean([lo <= p <= hi for lo, hi in (proportion_ci(x, n) for x in xs)])
    assert cover >= 0.95 - 2 * math.sqrt(0.95 * 0.05 / reps)


# ------------------------------------------------------------------ sampling


def _claims(sizes: dict[str, int]) -> pd.DataFrame:
    auth = np.concatenate([[a] * k for a, k in sizes.items()])
    return pd.DataFrame({"claim_id": np.arange(len(auth)), "authority": auth},
                        index=np.arange(len(auth)) + 1000)


def test_proportional_allocation_largest_remainder():
    claims = _claims({"A": 500, "B": 300, "C": 150, "D": 50})
    s = draw_audit_sample(claims, n=33, strata="authority", seed=3)
    # 33 * (0.5, 0.3, 0.15, 0.05) = 16.5, 9.9, 4.95, 1.65 -> 16, 9, 4, 1 + 3 by remainder
    assert s.groupby("stratum").size().to_dict() == {"A": 16, "B": 10, "C": 5, "D": 2}
    assert s["claim_id"].is_unique and set(s.index) <= set(claims.index)


def test_equal_allocation_moves_the_excess_of_small_strata():
    claims = _claims({"A": 500, "B": 300, "C": 4})
    s = draw_audit_sample(claims, n=30, strata="authority", allocation="equal", seed=1)
    assert s.groupby("stratum").size().to_dict() == {"A": 13, "B": 13, "C": 4}
    w = s.groupby("stratum")["weight"].first()
    assert w.to_dict() == pytest.approx({"A": 500 / 13, "B": 300 / 13, "C": 1.0})


def test_sample_is_seeded_and_random():
    claims = _claims({"A": 1000, "B": 1000})
    a = draw_audit_sample(claims, n=50, strata="authority", seed=7)
    b = draw_audit_sample(claims, n=50, strata="authority", seed=7)
    c = draw_audit_sample(claims, n=50, strata="authority", seed=8)
    assert a.index.equals(b.index) and not a.index.equals(c.index)


def test_sample_inclusion_probabilities_are_equal_within_strata():
    claims = _claims({"A": 40, "B": 10})
    hits = np.zeros(len(claims))
    for seed in range(400):
        s = draw_audit_sample(claims, n=10, strata="authority", seed=seed)
        hits[claims.index.get_indexer(s.index)] += 1
    # A: 8 of 40 (0.2), B: 2 of 10 (0.2)
    assert np.abs(hits / 400 - 0.2).max() < 0.1


def test_min_per_stratum():
    claims = _claims({"A": 980, "B": 10, "C": 10})
    s = draw_audit_sample(claims, n=20, strata="authority", seed=1, min_per_stratum=2)
    assert s.groupby("stratum").size().to_dict() == {"A": 16, "B": 2, "C": 2}
    with pytest.raises(OptionError, match="`min_per_stratum`=9 over 3 strata"):
        draw_audit_sample(claims, n=20, strata="authority", seed=1, min_per_stratum=9)


def test_sample_whole_population_and_errors():
    claims = _claims({"A": 5})
    assert len(draw_audit_sample(claims, n=50, seed=0)) == 5
    with pytest.raises(MissingColumnError, match="`strata`='la' is not a column"):
        draw_audit_sample(claims, n=2, strata="la")
    with pytest.raises(OptionError, match="`allocation` must be one of 'proportional', 'equal'"):
        draw_audit_sample(claims, n=2, allocation="neyman")
    with pytest.raises(OptionError, match="`n` must be an integer >= 1; got 0"):
        draw_audit_sample(claims, n=0)
    with pytest.raises(DataError, match="`claims` is empty"):
        draw_audit_sample(claims.iloc[:0], n=2)


# ------------------------------------------------------------------ estimation


def test_simple_estimate_and_recovery():
    reviewed = pd.DataFrame({"invalid": [1] * 2 + [0] * 13})  # 2% of 766 claims ~ 15
    est = estimate_invalid_rate(reviewed, paid_total=766 * 4000.0)
    ref = stats.binomtest(2, 15).proportion_ci(method="exact")
    assert est.rate == pytest.approx(2 / 15)
    assert est.conf_int() == pytest.approx((ref.low, ref.high))
    assert est.recovery == pytest.approx(2 / 15 * 766 * 4000)
    assert est.recovery_upper == pytest.approx(ref.high * 766 * 4000)
    assert "2 of 15 claims checked were invalid" in est.summary()
    assert est.to_frame().loc[0, "n_effective"] == 15


def test_stratified_estimate_by_hand():
    # strata: A has 800 claims (40 checked, 4 invalid), B 200 claims (20 checked, 6 invalid)
    reviewed = pd.DataFrame({
        "stratum": ["A"] * 40 + ["B"] * 20,
        "stratum_size": [800] * 40 + [200] * 20,
        "invalid": [True] * 4 + [False] * 36 + [True] * 6 + [False] * 14,
    })
    est = estimate_invalid_rate(reviewed, strata="stratum", method="wilson")
    p = 0.8 * 0.1 + 0.2 * 0.3
    v = (0.8 ** 2 * (1 - 40 / 800) * 0.1 * 0.9 / 39 + 0.2 ** 2 * (1 - 20 / 200) * 0.3 * 0.7 / 19)
    n_eff = p * (1 - p) / v
    assert est.rate == pytest.approx(p)
    assert est.n_effective == pytest.approx(n_eff)
    assert est.conf_int() == pytest.approx(proportion_ci(n_eff * p, n_eff, method="wilson"))
    assert est.stratified and est.by_stratum.loc["B", "rate"] == pytest.approx(0.3)


def test_stratified_estimate_no_invalid_uses_actual_n():
    reviewed = pd.DataFrame({"stratum": ["A"] * 5 + ["B"] * 5, "stratum_size": [50] * 10,
                             "invalid": False})
    est = estimate_invalid_rate(reviewed, strata="stratum")
    assert est.rate == 0 and est.n_effective == 10
    assert est.upper == pytest.approx(1 - 0.025 ** (1 / 10))


@pytest.mark.slow
def test_stratified_interval_coverage_on_simulated_claims():
    """End to end: simulated claims with known invalid share, stratified sample, coverage."""
    rng = np.random.default_rng(11)
    N = {"A": 3000, "B": 1500, "C": 500}
    rate = {"A": 0.05, "B": 0.12, "C": 0.25}
    pop = pd.concat([pd.DataFrame({"authority": a, "invalid": rng.random(k) < rate[a]})
                     for a, k in N.items()], ignore_index=True)
    truth = pop["invalid"].mean()
    reps, hits = 300, 0
    for seed in range(reps):
        s = draw_audit_sample(pop, n=150, strata="authority", seed=seed)
        lo, hi = estimate_invalid_rate(s, strata="stratum").conf_int()
        hits += lo <= truth <= hi
    assert hits / reps >= 0.95 - 2 * math.sqrt(0.05 * 0.95 / reps)


@pytest.mark.parametrize("frame,kwargs,err,match", [
    (pd.DataFrame({"x": [1]}), {}, MissingColumnError, "`invalid`='invalid' is not a column"),
    (pd.DataFrame({"invalid": [1, None]}), {}, DataError, "must be True/False"),
    (pd.DataFrame({"invalid": ["yes", "no"]}), {}, DataError, "must be True/False"),
    (pd.DataFrame({"invalid": [True]}), {"method": "agresti"}, OptionError,
     "`method` must be one of 'clopper-pearson', 'wilson'"),
    (pd.DataFrame({"invalid": [True]}), {"level": 95}, OptionError, "`level` must be a number"),
    (pd.DataFrame({"invalid": [True]}), {"strata": "stratum"}, MissingColumnError,
     "Column 'stratum' is not in the reviewed sample"),
    (pd.DataFrame({"invalid": [True, False], "stratum": "A", "stratum_size": [1, 1]}),
     {"strata": "stratum"}, DataError, "more claims checked than"),
    (pd.DataFrame({"invalid": [True, False], "stratum": "A", "stratum_size": [5, 6]}),
     {"strata": "stratum"}, DataError, "must be the same for every claim of a stratum"),
])
def test_estimate_errors(frame, kwargs, err, match):
    with pytest.raises(err, match=match):
        estimate_invalid_rate(frame, **kwargs)


@pytest.mark.parametrize("call,match", [
    (lambda: sample_size_for_precision(margin=0), "`margin` must be a number strictly"),
    (lambda: sample_size_for_precision(margin=0.05, expected_rate=1.2),
     "`expected_rate` must be a number strictly"),
    (lambda: sample_size_for_precision(margin=0.05, population=0),
     "`population` must be an integer >= 1"),
    (lambda: sample_size_for_tolerance(0.05, acceptance=-1),
     "`acceptance` must be an integer >= 0"),
    (lambda: proportion_ci(5, 3), "0 <= x <= n"),
])
def test_size_errors(call, match):
    with pytest.raises(OptionError, match=match):
        call()


def _p_zero_found(N: int, K: int, n: int) -> float:
    """P(no invalid claim in a sample of n without replacement), by the product formula."""
    out = 1.0
    for i in range(n):
        out *= (N - K - i) / (N - i)
    return out


@pytest.mark.parametrize("N,tol", [(766, 0.05), (200, 0.1), (5000, 0.02)])
def test_sample_size_for_tolerance_finite_population_by_hand(N, tol):
    n = sample_size_for_tolerance(tol, population=N)
    K = math.ceil(tol * N)
    assert _p_zero_found(N, K, n) <= 0.05 < _p_zero_found(N, K, n - 1)
    assert n <= sample_size_for_tolerance(tol)  # never more than the binomial


def test_sample_size_for_tolerance_finite_population_errors():
    with pytest.raises(OptionError, match="no sample can show it"):
        sample_size_for_tolerance(0.01, population=50, acceptance=1)
    with pytest.raises(OptionError, match="`population` must be an integer >= 1"):
        sample_size_for_tolerance(0.05, population=0)


# ------------------------------------------------------------------ base R reference values

R_REF = Path(__file__).parent / "reference" / "r_binom"


def test_intervals_match_base_r():
    ref = pd.read_csv(R_REF / "intervals.csv")
    for row in ref.itertuples():
        cp = proportion_ci(row.x, row.n, level=row.level)
        wi = proportion_ci(row.x, row.n, level=row.level, method="wilson")
        assert cp == pytest.approx((row.cp_lower, row.cp_upper), abs=1e-9), row
        assert wi == pytest.approx((row.wilson_lower, row.wilson_upper), abs=1e-9), row


def test_sample_sizes_match_base_r():
    ref = pd.read_csv(R_REF / "sample_sizes.csv")
    for row in ref.itertuples():
        assert sample_size_for_tolerance(row.tol, level=row.level,
                                         acceptance=int(row.acceptance)) == row.n_binomial, row
        assert sample_size_for_tolerance(row.tol, level=row.level, acceptance=int(row.acceptance),
                                         population=766) == row.n_hyper_766, row
