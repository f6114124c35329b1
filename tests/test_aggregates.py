"""Estimates from published aggregates: statistics against statsmodels, results that price()."""

from __future__ import annotations

import math

import numpy as np
import pytest
from statsmodels.stats import proportion as sm_prop
from statsmodels.stats import rates as sm_rates

import pbr_eval
from pbr_eval.aggregates import (
    consistent,
    from_frequencies,
    from_interval,
    from_rates,
    from_significance,
    poisson_rate_comparison,
    relative_change,
    two_proportion_test,
)
from pbr_eval.exceptions import OptionError

# integer counts so statsmodels sees the same data
PROPORTION_CASES = [(145, 805, 230, 1000), (586, 3085, 2600, 10000), (3, 40, 12, 60),
                    (3405, 8513, 4200, 10000)]


@pytest.mark.parametrize("x1,n1,x0,n0", PROPORTION_CASES, ids=lambda v: str(v))
def test_wald_matches_statsmodels(x1, n1, x0, n0):
    s = two_proportion_test(x1 / n1, n1, x0 / n0, n0)
    lo, hi = sm_prop.confint_proportions_2indep(x1, n1, x0, n0, method="wald", compare="diff")
    assert s.ci_lower == pytest.approx(lo, abs=1e-12)
    assert s.ci_upper == pytest.approx(hi, abs=1e-12)
    t = sm_prop.test_proportions_2indep(x1, n1, x0, n0, method="wald", compare="diff")
    assert s.z == pytest.approx(t.statistic, rel=1e-10)
    assert s.p_value == pytest.approx(t.pvalue, rel=1e-8)


@pytest.mark.parametrize("x1,n1,x0,n0", PROPORTION_CASES, ids=lambda v: str(v))
def test_newcombe_matches_statsmodels(x1, n1, x0, n0):
    s = two_proportion_test(x1 / n1, n1, x0 / n0, n0, method="newcombe")
    lo, hi = sm_prop.confint_proportions_2indep(x1, n1, x0, n0, method="newcomb", compare="diff")
    assert (s.ci_lower, s.ci_upper) == pytest.approx((lo, hi), abs=1e-12)


@pytest.mark.parametrize("e1,n1,e0,n0", [(1420, 1000, 15500, 10000), (40, 60, 90, 100)])
def test_poisson_matches_statsmodels(e1, n1, e0, n0):
    r = poisson_rate_comparison(e1 / n1, n1, e0 / n0, n0, scale="ratio")
    lo, hi = sm_rates.confint_poisson_2indep(e1, n1, e0, n0, method="wald-log", compare="ratio")
    assert (r.ci_lower, r.ci_upper) == pytest.approx((lo, hi), rel=1e-10)
    t = sm_rates.test_poisson_2indep(e1, n1, e0, n0, method="wald-log", compare="ratio")
    assert r.z == pytest.approx(t.statistic, rel=1e-8)
    d = poisson_rate_comparison(e1 / n1, n1, e0 / n0, n0, scale="difference")
    lo, hi = sm_rates.confint_poisson_2indep(e1, n1, e0, n0, method="wald", compare="diff")
    assert (d.ci_lower, d.ci_upper) == pytest.approx((lo, hi), rel=1e-10)


def test_dispersion_widens_by_sqrt_phi():
    a = poisson_rate_comparison(1.42, 1000, 1.55, 10000, scale="difference")
    b = poisson_rate_comparison(1.42, 1000, 1.55, 10000, scale="difference", dispersion=2.5)
    assert b.std_error == pytest.approx(a.std_error * math.sqrt(2.5))


def test_wald_coverage_in_simulation():
    """The Wald interval for two rates covers the true difference about 95% of the time."""
    rng = np.random.default_rng(20)
    p1, p0, n1, n0 = 0.20, 0.26, 800, 4000
    hits = 0
    reps = 2000
    for x1, x0 in zip(rng.binomial(n1, p1, reps), rng.binomial(n0, p0, reps), strict=True):
        s = two_proportion_test(x1 / n1, n1, x0 / n0, n0)
        hits += s.ci_lower <= p1 - p0 <= s.ci_upper
    cover = hits / reps
    mc_se = math.sqrt(0.95 * 0.05 / reps)
    assert abs(cover - 0.95) < 3 * mc_se + 0.005


def test_from_rates_prices_and_matches_the_test():
    res = from_rates(0.18, 805, 0.23, outcome="reoffended", source="JDL")
    row = res.to_frame().iloc[0]
    s = two_proportion_test(0.18, 805, 0.23)
    assert (row["ci_lower"], row["ci_upper"]) == pytest.approx((s.ci_lower, s.ci_upper))
    assert row["p_value"] == pytest.approx(s.p_value)
    assert res.info["source"] == "JDL"
    assert any("not published" in n for n in res.info["notes"])
    rec = pbr_eval.price(res, value_per_outcome=1000, better="lower").to_frame().iloc[0]
    # ceiling per observed 'not reoffending' at the comparison rate: 1000 (1 - 0.77 / 0.82)
    assert rec["ceiling"] == pytest.approx(1000 * (1 - 0.77 / 0.82))
    assert rec["recommended"] < rec["ceiling"]
    assert "pbr_eval: non-intervention estimate" in res.summary()


def test_from_rates_with_comparison_size_uses_it():
    a = from_rates(0.18, 805, 0.23).to_frame().iloc[0]
    b = from_rates(0.18, 805, 0.23, 5000).to_frame().iloc[0]
    assert b["std_error"] > a["std_error"]
    assert b["std_error"] == pytest.approx(math.sqrt(0.18 * 0.82 / 805 + 0.23 * 0.77 / 5000))


def test_from_frequencies_is_a_count():
    res = from_frequencies(142, 1000, 155, 10000, dispersion=2.5, outcome="events")
    row = res.to_frame().iloc[0]
    assert row["outcome_type"] == "count"
    assert row["non_intervention"] == pytest.approx(1.55)
    assert row["std_error"] == pytest.approx(math.sqrt(2.5 * (1.42 / 1000 + 1.55 / 10000)))
    assert any("Poisson" in n for n in from_frequencies(142, 1000, 155).info["notes"])


def test_from_interval_reads_back_the_se():
    res = from_interval(0.18, 0.23, ci=(-0.08, -0.02), n_treated=805)
    row = res.to_frame().iloc[0]
    assert row["std_error"] == pytest.approx(0.06 / (2 * 1.959963984540054))
    assert (row["ci_lower"], row["ci_upper"]) == pytest.approx((-0.08, -0.02))


def test_from_interval_errors():
    with pytest.raises(OptionError, match="`ci` must contain treated - comparison"):
        from_interval(0.18, 0.23, ci=(0.02, 0.08), n_treated=805)
    with pytest.raises(OptionError, match="lower < upper"):
        from_interval(0.18, 0.23, ci=(-0.02, -0.08), n_treated=805)


def test_from_significance_is_the_widest_consistent():
    res = from_significance(0.40, 0.42, n_treated=8513, significant=True)
    row = res.to_frame().iloc[0]
    assert row["p_value"] == pytest.approx(0.05)
    with pytest.raises(OptionError, match="bounds the standard error from below only"):
        from_significance(0.40, 0.42, n_treated=8513, significant=False)
    with pytest.raises(OptionError, match="are equal"):
        from_significance(0.4, 0.4, n_treated=100, significant=True)


def test_input_errors_name_the_option():
    with pytest.raises(OptionError, match="`treated` must be a proportion"):
        two_proportion_test(19, 100, 0.26)
    with pytest.raises(OptionError, match="`method` must be one of"):
        two_proportion_test(0.19, 100, 0.26, method="exact")
    with pytest.raises(OptionError, match="`scale` must be one of"):
        poisson_rate_comparison(1.4, 100, 1.5, scale="log")
    with pytest.raises(OptionError, match="`comparison` must not be 0"):
        relative_change(1.0, 0.0)


def test_consistent_respects_rounding():
    # 8.4% is reachable from 142 and 155 per 100 at their rounding; 9.5% is not
    ins = {"treated": (1.42, 0.005), "comparison": (1.55, 0.005)}
    assert consistent(relative_change, ins, 0.084, 0.0005)[0]
    assert not consistent(relative_change, ins, 0.095, 0.0005)[0]
    ok, rebuilt, robust = consistent(lambda treated, comparison: treated < comparison, ins, True)
    assert ok and rebuilt and robust
