"""Cash flow and sensitivity (issue 6)."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest

from pbr_eval.exceptions import OptionError
from pbr_eval.pricing import (
    cash_flow,
    irr,
    npv,
    plot_price_sensitivity,
    price,
    price_sensitivity,
    scenario_table,
    scenarios_from,
    tipping_point,
)


def test_peak_working_capital_matches_hand_calculation():
    # 20 referrals a month for 6 months; delivery 1,200 per person spread over 3 months
    # (400 a month); attachment fee 300 paid one month after referral; outcome payment 2,000
    # at a 40% rate (800 per person) 12 months after referral plus 3 months' payment lag.
    # By hand, costs by month: 8,000; 16,000; 24,000 x 4 (months 2-5); 16,000; 8,000 =
    # 144,000. Attachment income 6,000 in months 1-6 = 36,000. No outcome income before
    # month 15, so the cash position bottoms out at -(144,000 - 36,000) = -108,000 in
    # month 7 and stays there until month 15; six outcome payments of 16,000 (months 15-20)
    # leave it at -12,000.
    cf = cash_flow(referrals=20, months_of_referrals=6, cost_per_participant=1200,
                   delivery_months=3, attachment_fee=300, price=2000,
                   expected_rate=0.4, outcome_lag=12, payment_lag=3, attachment_lag=1)
    f = cf.to_frame()
    assert f["delivery_cost"].tolist()[:8] == [8000, 16000, 24000, 24000, 24000, 24000,
                                               16000, 8000]
    assert f["cash_position"].tolist()[:3] == [-8000, -18000, -36000]
    assert cf.peak_working_capital == pytest.approx(108_000)
    assert cf.peak_month == 7
    assert f["cash_position"].iloc[-1] == pytest.approx(-12_000)
    assert len(f) == 21
    assert cf.breakeven_month is None
    assert "Peak working capital needed: £108,000" in cf.summary()
    # Attachment fee paid with the 3-month payment lag instead (months 3-8): cash by month
    # -8k, -24k, -48k, -66k, -84k, -102k, -112k, -114k (month 7), then -108k from month 8.
    late = cash_flow(referrals=20, months_of_referrals=6, cost_per_participant=1200,
                     delivery_months=3, attachment_fee=300, price=2000,
                     expected_rate=0.4, outcome_lag=12, payment_lag=3)
    assert late.to_frame()["cash_position"].tolist()[:9] == [
        -8000, -24000, -48000, -66000, -84000, -102000, -112000, -114000, -108000]
    assert late.peak_working_capital == pytest.approx(114_000) and late.peak_month == 7


def test_npv_and_investor_irr_by_hand():
    cf = cash_flow(referrals=[100], cost_per_participant=1000, price=5000,
                   expected_rate=0.25, outcome_lag=9, payment_lag=3)
    # -100,000 in month 0, +125,000 in month 12: IRR 25% a year; NPV at 3.5%
    assert cf.investor_irr() == pytest.approx(0.25, abs=1e-9)
    assert cf.npv == pytest.approx(-100_000 + 125_000 / 1.035)
    assert npv([-100.0, 0.0], 0.0) == -100.0
    assert cf.breakeven_month == 12
    with pytest.raises(OptionError, match="needs money both paid in and paid out"):
        irr([1.0, 2.0])
    with pytest.raises(OptionError, match="`referrals` must be a non-empty list"):
        cash_flow(referrals=[-1], cost_per_participant=1, price=1, expected_rate=0.1)
    with pytest.raises(OptionError, match="`months_of_referrals` must be an integer >= 1"):
        cash_flow(referrals=5, cost_per_participant=1, price=1, expected_rate=0.1)


def test_sensitivity_table_tipping_point_and_plot():
    t = price_sensitivity(value_per_outcome=2000.0, expected_rate=0.40,
                          non_intervention=(0.2, 0.38), num=10, price=500.0)
    assert len(t) == 10
    n_star = tipping_point(500.0, value_per_outcome=2000.0, expected_rate=0.40)
    assert n_star == pytest.approx(0.30)
    assert t.loc[t["non_intervention"] < n_star - 1e-9, "value_for_money"].all()
    assert not t.loc[t["non_intervention"] > n_star + 1e-9, "value_for_money"].any()
    # with an additive effect: n* = v e / p - e
    assert tipping_point(500.0, value_per_outcome=2000.0, expected_effect=0.1) == pytest.approx(
        0.3)
    fig = plot_price_sensitivity(t, price=500.0, estimate=0.3, interval=(0.27, 0.33))
    assert isinstance(fig, matplotlib.figure.Figure)
    assert len(fig.axes[0].lines) >= 3
    assert fig.savefig(__import__("io").BytesIO(), format="png") is None


def test_scenarios_too_high_too_low():
    t = scenario_table(500.0, value_per_outcome=2000.0, cohort_size=1000, low=0.25,
                       central=0.30, high=0.35, expected_rate=0.40)
    # high: pays 1000 x 500 x 0.40 = 200,000 for 50 additional outcomes worth 100,000
    assert t.loc[2, "payments"] == pytest.approx(200_000)
    assert t.loc[2, "net_value"] == pytest.approx(-100_000)
    assert t["price_was"].tolist() == ["too low", "about right", "too high"]
    assert "100,000 more than" in t.loc[2, "consequence"]
    rec = price(0.30, se=0.02, value_per_outcome=2000, expected_rate=0.40)
    s = scenarios_from(rec, cohort_size=1000)
    assert s["price_was"].iloc[-1] == "about right" or s["net_value"].iloc[-1] >= -1e-6
    assert (np.diff(s["net_value"]) < 0).all()
    with pytest.raises(OptionError, match="Give exactly one of `expected_rate`"):
        tipping_point(1.0, value_per_outcome=2.0)
