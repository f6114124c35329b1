"""Deadweight arithmetic and risk by simulation (issue 6)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from pbr_eval.exceptions import NotViableError, OptionError
from pbr_eval.pricing import (
    AttachmentAndResults,
    AttachmentFee,
    PerEventAvoided,
    PerOutcome,
    Tariff,
    additionality,
    cost_per_additional_outcome,
    minimum_detectable_effect,
    price,
    simulate_payments,
    trigger_probability,
)


def test_cost_per_additional_outcome():
    # 60% deadweight: 1,000 per outcome is 2,500 per additional outcome.
    assert cost_per_additional_outcome(1000, 0.25, 0.15) == pytest.approx(2500)
    assert cost_per_additional_outcome(1000, 0.25, 0.15, attachment_fee=100) == pytest.approx(
        3500)
    with pytest.raises(NotViableError, match="no additional outcomes"):
        cost_per_additional_outcome(1000, 0.15, 0.15)


def test_additionality_steps():
    a = additionality(1000, deadweight=0.5, leakage=0.1, displacement=0.2, substitution=0.1,
                      multiplier=1.5)
    assert a.net == pytest.approx(1000 * 0.5 * 0.9 * 0.8 * 0.9 * 1.5)
    assert a.steps()[-1][1] == pytest.approx(a.net)
    with pytest.raises(OptionError, match="`leakage` must be a number between 0 and 1"):
        additionality(10, leakage=2)


def test_trigger_probability_matches_simulation():
    rng = np.random.default_rng(5)
    nt, nc, m, delta, theta, reps = 300, 3000, 0.4, 0.12, 0.10, 40_000
    t = rng.binomial(nt, m * (1 - delta), reps) / nt
    c = rng.binomial(nc, m, reps) / nc
    sim = np.mean((c - t) / c >= theta)
    got = trigger_probability(delta, threshold=theta, n_treated=nt, n_comparison=nc, rate=m)
    assert got == pytest.approx(sim, abs=0.02)


def test_minimum_detectable_effect():
    mde = minimum_detectable_effect(n_treated=1000, n_comparison=1000, rate=0.5)
    se = np.sqrt(0.25 * 2 / 1000)
    assert mde["absolute"] == pytest.approx((1.644854 + 0.841621) * se, rel=1e-5)
    thr = minimum_detectable_effect(n_treated=1000, n_comparison=10000, rate=1.0,
                                    outcome_type="count", dispersion=2.5, threshold=0.10)
    assert trigger_probability(thr["relative"], threshold=0.10, n_treated=1000,
                               n_comparison=10000, rate=1.0, outcome_type="count",
                               dispersion=2.5) == pytest.approx(0.8, abs=1e-6)
    with pytest.raises(OptionError, match="enlarge the cohorts"):
        minimum_detectable_effect(n_treated=5, n_comparison=5, rate=0.1, threshold=0.9,
                                  power=0.99)


def test_simulation_exact_binomial_when_rate_known():
    # se = 0: overpay iff p S > v (S - N n), i.e. S < v N n / (v - p); S ~ Binomial(N, n + e).
    N, n, e, p, v, c = 400, 0.30, 0.10, 900.0, 3000.0, 300.0
    t = Tariff([PerOutcome("ok", p)])
    risk = simulate_payments(t, non_intervention={"ok": n}, effect={"ok": e},
                             value_per_outcome={"ok": v}, cohort_size=N,
                             cost_per_participant=c, draws=20_000, seed=11)
    k = v * N * n / (v - p)
    exact_over = stats.binom.cdf(np.ceil(k) - 1, N, n + e)
    assert risk.prob_commissioner_overpays == pytest.approx(exact_over, abs=4 * risk.mc_error(
        exact_over))
    exact_loss = stats.binom.cdf(np.ceil(c * N / p) - 1, N, n + e)
    assert risk.prob_provider_loss == pytest.approx(exact_loss, abs=4 * risk.mc_error(exact_loss))
    assert risk.payments.mean() == pytest.approx(N * p * (n + e), rel=0.01)
    assert risk.budget_at(0.95) == pytest.approx(p * stats.binom.ppf(0.95, N, n + e), rel=0.01)
    assert set(risk.to_frame().index) == {"payments", "value", "commissioner_net",
                                          "provider_margin"}
    assert "provider does not recover" in risk.summary()


def test_recommended_price_risk_holds_in_payment_simulation():
    """At the recommended price, the share of simulated cohorts paying for deadweight.

    With the non-intervention rate drawn from its sampling distribution and individual
    outcomes binomial, the commissioner overpays when payments exceed the value of the
    additional outcomes. Individual noise adds to the sampling error, so compare with the
    normal approximation of both (and the stated risk, which ignores individual noise,
    is approached as the cohort grows).
    """
    n, se, e, v, N = 0.30, 0.01, 0.08, 3000.0, 5000
    rec = price(n, se=se, value_per_outcome=v, expected_effect=e,
                outcome_type="continuous").to_frame().iloc[0]
    p = rec["recommended"]
    assert rec["prob_overpay"] == pytest.approx(0.025, abs=1e-9)
    risk = simulate_payments(Tariff([PerOutcome("ok", p)]),
                             non_intervention={"ok": (n, se)}, effect={"ok": e},
                             value_per_outcome={"ok": v}, cohort_size=N, draws=20_000, seed=3,
                             outcome_types={"ok": "binary"})
    r = n + e
    sd = np.sqrt(p**2 * se**2 + (v - p) ** 2 * r * (1 - r) / N)
    expected = stats.norm.cdf((p * n - (v - p) * e) / sd)
    got = risk.prob_commissioner_overpays
    assert got == pytest.approx(expected, abs=4 * risk.mc_error(expected) + 0.005)
    # outcome luck in a cohort of 5,000 adds to the stated (sampling-only) risk
    assert got > 0.025


@pytest.mark.slow
def test_recommended_price_risk_large_cohort():
    # With a large cohort the outcome luck fades and the realised share of cohorts paying
    # more than the additional outcomes are worth is within 1 - level (normal approx 3.1%).
    n, se, e, v, N = 0.30, 0.02, 0.08, 3000.0, 100_000
    p = price(n, se=se, value_per_outcome=v, expected_effect=e,
              outcome_type="continuous").to_frame().iloc[0]["recommended"]
    risk = simulate_payments(Tariff([PerOutcome("ok", p)]),
                             non_intervention={"ok": (n, se)}, effect={"ok": e},
                             value_per_outcome={"ok": v}, cohort_size=N, draws=2000, seed=4,
                             outcome_types={"ok": "binary"})
    assert risk.prob_commissioner_overpays <= 0.05 + 3 * risk.mc_error(0.05)


def test_simulation_reproducible_and_vectorised_mechanisms():
    people = pd.DataFrame({"year": [1, 2, 3] * 100, "cohort": [1, 2] * 150})
    t = Tariff([AttachmentAndResults.troubled_families_phase1("ok"),
                PerEventAvoided("events", 500.0, threshold=0.10, cohort_column="cohort")])
    kw = {"non_intervention": {"ok": (0.3, 0.02), "events": (1.0, 0.05)},
          "effect": {"ok": 0.1, "events": np.array([-0.2, -0.1, 0.0])},
          "value_per_outcome": {"ok": 5000.0, "events": 800.0}, "people": people,
          "better": {"events": "lower"}, "outcome_types": {"events": "count"}, "draws": 500}
    a = simulate_payments(t, seed=7, **kw)
    b = simulate_payments(t, seed=7, chunk_size=37, **kw)
    c = simulate_payments(t, seed=8, **kw)
    np.testing.assert_array_equal(a.non_intervention["ok"], b.non_intervention["ok"])
    assert not np.array_equal(a.payments, c.payments)
    assert a.payments.min() >= 300 * 1600  # the attachment fees are always paid
    assert np.isnan(a.prob_provider_loss)


def test_simulation_errors():
    t = Tariff([PerOutcome("ok", 1.0)])
    base = {"non_intervention": {"ok": 0.3}, "effect": {"ok": 0.1},
            "value_per_outcome": {"ok": 10.0}}
    with pytest.raises(OptionError, match="Give `cohort_size`"):
        simulate_payments(t, **base)
    with pytest.raises(OptionError, match="`effect` gives nothing for 'ok'"):
        simulate_payments(t, non_intervention={"ok": 0.3}, effect={},
                          value_per_outcome={"ok": 1.0}, cohort_size=10)
    with pytest.raises(OptionError, match="`tariff` must be a pbr_eval Tariff"):
        simulate_payments("t", cohort_size=10, **base)
    with pytest.raises(OptionError, match="`draws` must be an integer >= 1"):
        simulate_payments(t, cohort_size=10, draws=0, **base)
    with pytest.raises(OptionError, match="need person attributes|needs person attributes"):
        simulate_payments(Tariff([AttachmentAndResults.troubled_families_phase1("ok")]),
                          cohort_size=10, **base)
    with pytest.raises(OptionError, match="`non_intervention\\['ok'\\]` must be a rate"):
        simulate_payments(t, non_intervention={"ok": "x"}, effect={"ok": 0.1},
                          value_per_outcome={"ok": 1.0}, cohort_size=10)
    assert AttachmentFee(1).expected_payment({}, cohort_size=3) == 3
