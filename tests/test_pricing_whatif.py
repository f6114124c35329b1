"""The shared what-if definitions agree with the pricing engine's own functions."""

from __future__ import annotations

import math

import numpy as np
import pytest

import pbr_eval
from pbr_eval.exceptions import NotViableError, OptionError
from pbr_eval.pricing import cash_flow, prob_overpay
from pbr_eval.pricing.whatif import (
    Evidence,
    WhatIfInputs,
    attachment_fee_used,
    budget_at,
    deadweight_chance,
    monthly_cash_flow,
    net_present_value,
    peak_working_capital,
    price_at_risk,
    price_band,
    trigger_chance,
    whatif,
)


def _random_case(rng: np.random.Generator) -> tuple[WhatIfInputs, Evidence]:
    n = rng.uniform(0.05, 0.6)
    se = rng.uniform(0.002, 0.04)
    r = min(0.97, n + rng.uniform(0.03, 0.3))
    inp = WhatIfInputs(
        value_per_outcome=float(rng.uniform(500, 20000)), expected_rate=float(r),
        risk=float(rng.uniform(0.005, 0.4)), attachment_fee=float(rng.uniform(0, 300)),
        cohort_size=int(rng.integers(20, 3000)), cost_per_participant=float(rng.uniform(0, 900)),
        referral_profile=tuple(float(x) for x in rng.integers(0, 5, rng.integers(1, 24)) + 1),
        outcome_lag=int(rng.integers(0, 18)), payment_lag=int(rng.integers(0, 6)),
        discount_rate=float(rng.uniform(0, 0.1)))
    return inp, Evidence("job", float(n), float(se), "logit")


@pytest.mark.parametrize("seed", range(20))
def test_price_band_and_risk_equal_price(seed):
    """The price at risk a, its band and its deadweight chance are price(rule='one-sided', level=1-a)."""
    rng = np.random.default_rng(seed)
    inp, ev = _random_case(rng)
    rec = pbr_eval.price(ev.estimate, se=ev.se, value_per_outcome=inp.value_per_outcome,
                         expected_rate=inp.expected_rate, attachment_fee=inp.attachment_fee,
                         cost_per_participant=inp.cost_per_participant, rule="one-sided",
                         level=1 - inp.risk, outcome_type="binary").to_frame().iloc[0]
    assert price_at_risk(inp, ev) == pytest.approx(rec["recommended"], rel=1e-12, abs=1e-9)
    fig = whatif(inp, ev)
    assert fig.break_even == pytest.approx(rec["floor"], rel=1e-12)
    assert fig.deadweight_chance == pytest.approx(rec["prob_overpay"], abs=1e-12)
    if rec["recommended"] > 0:
        assert fig.deadweight_chance == pytest.approx(inp.risk, abs=1e-9)
    band = pbr_eval.price(ev.estimate, se=ev.se, value_per_outcome=inp.value_per_outcome,
                          expected_rate=inp.expected_rate, attachment_fee=inp.attachment_fee,
                          level=inp.level, outcome_type="binary").to_frame().iloc[0]
    lo, hi = price_band(inp, ev)
    assert (lo, hi) == pytest.approx((band["band_lower"], band["band_upper"]), rel=1e-12)
    assert fig.ceiling == pytest.approx(band["ceiling"], rel=1e-12)


@pytest.mark.parametrize("seed", range(10))
def test_cash_flow_equals_cash_flow_schedule(seed):
    rng = np.random.default_rng(100 + seed)
    inp, ev = _random_case(rng)
    p = price_at_risk(inp, ev)
    a = attachment_fee_used(inp, ev)
    sched = monthly_cash_flow(inp, [(p, inp.expected_rate)], attachment_fee=a)
    refs = inp.cohort_size * np.asarray(inp.referral_profile) / sum(inp.referral_profile)
    cf = cash_flow(referrals=list(refs), cost_per_participant=inp.cost_per_participant,
                   price=p, expected_rate=inp.expected_rate, attachment_fee=a,
                   outcome_lag=inp.outcome_lag, payment_lag=inp.payment_lag,
                   discount_rate=inp.discount_rate)
    np.testing.assert_allclose(sched["cash_position"], cf.frame["cash_position"], atol=1e-8)
    assert peak_working_capital(sched) == pytest.approx(cf.peak_working_capital, abs=1e-8)
    assert net_present_value(sched, inp.discount_rate) == pytest.approx(cf.npv, abs=1e-8)


def test_draws_use_the_empirical_quantile_and_tail():
    rng = np.random.default_rng(5)
    draws = rng.normal(0.3, 0.02, 1001)
    ev = Evidence("job", 0.3, 0.0, "draws", tuple(draws))
    assert ev.draws is not None and all(round(x, 9) == x for x in ev.draws)
    inp = WhatIfInputs(3000.0, 0.45, risk=0.05, attachment_fee=40.0)
    n_a = float(np.quantile(np.asarray(ev.draws), 0.95))  # at a draw: 1000 x 0.95 = 950
    assert price_at_risk(inp, ev) == pytest.approx((3000 * (0.45 - n_a) - 40) / 0.45, rel=1e-12)
    p = price_at_risk(inp, ev)
    assert deadweight_chance(inp, ev, p) == pytest.approx(50 / 1001, abs=1e-12)
    assert deadweight_chance(inp, ev, p) == pytest.approx(
        prob_overpay(p, ev.distribution, value_per_outcome=3000.0, expected_rate=0.45,
                     attachment_fee=40.0), abs=1.5 / 1001)


def test_budget_cap_trigger_and_mpl():
    ev = Evidence("job", 0.05, 0.01, "normal")
    inp = WhatIfInputs(1000.0, 0.10, cohort_size=1000)
    z = 1.6448536269514722
    want = 500.0 * (100 + z * math.sqrt(1000 * 0.1 * 0.9))
    assert budget_at(inp, ev, price=500.0) == pytest.approx(want, rel=1e-12)
    capped = WhatIfInputs(1000.0, 0.10, cohort_size=1000, cap=40_000.0)
    assert budget_at(capped, ev, price=500.0) == 40_000.0
    assert trigger_chance(WhatIfInputs(1000.0, 0.10, cohort_size=1000, trigger=0.12), ev) == \
        pytest.approx(1 - 0.9821, abs=1e-3)
    mpl = WhatIfInputs(1000.0, 0.10, mpl_uplift=0.1, risk=0.5)
    # paid outcomes per participant 0.10 - 0.055; ceiling at the estimate 1000 x 0.05 / 0.045
    assert price_at_risk(mpl, ev) == pytest.approx(1000 * 0.05 / 0.045, rel=1e-9)
    with pytest.raises(NotViableError, match="minimum performance level"):
        price_at_risk(WhatIfInputs(1000.0, 0.05, mpl_uplift=0.1), ev)


def test_cap_stops_income_once_reached():
    inp = WhatIfInputs(1000.0, 0.5, cohort_size=20, referral_profile=(1, 1),
                       cost_per_participant=1000, outcome_lag=2, payment_lag=1, cap=25_000.0)
    sched = monthly_cash_flow(inp, [(3000.0, 0.5)], attachment_fee=100.0)
    income = sched["attachment_income"] + sched["outcome_income"]
    assert income.sum() == pytest.approx(25_000.0)
    assert income.tolist() == [0.0, 1000.0, 1000.0, 15000.0, 8000.0]


def test_attachment_share_sets_the_fee():
    ev = Evidence("job", 0.2, 0.01, "logit")
    inp = WhatIfInputs(4000.0, 0.35, attachment_share=0.6, attachment_fee=999.0)
    a = attachment_fee_used(inp, ev)
    p = price_at_risk(inp, ev)
    assert a / (a + p) == pytest.approx(0.6, rel=1e-12)
    assert deadweight_chance(inp, ev, p) == pytest.approx(inp.risk, abs=1e-9)


@pytest.mark.parametrize("field,value,match", [
    ("risk", 2.5, "`risk` must be a number strictly between 0 and 1"),
    ("cohort_size", 2.5, "`cohort_size` must be a whole number"),
    ("referral_profile", (0, 0), "`referral_profile` must hold at least one month"),
    ("attachment_share", 1.0, "`attachment_share` must be a number strictly between 0 and 1"),
    ("discount_rate", 3.5, "`discount_rate`"),
    ("cap", -1, "`cap` must be a non-negative number"),
])
def test_bad_inputs_are_refused(field, value, match):
    with pytest.raises(OptionError, match=match):
        WhatIfInputs(1000.0, 0.1, **{field: value})


def test_evidence_round_trips_and_refuses_bad_scale():
    ev = Evidence("job", 0.05, 0.01, "logit")
    assert Evidence(**{**ev.to_dict(), "bounds": (0.0, 1.0)}) == ev
    with pytest.raises(OptionError, match="`scale` must be one of"):
        Evidence("job", 0.05, 0.01, "probit")
