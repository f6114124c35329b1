"""Price recommendation: ceiling, floor, rules, band, risk, viability (issue 6)."""

from __future__ import annotations

import json

import numpy as np
import pytest

import pbr_eval
from pbr_eval import Cohort, estimate
from pbr_eval.datasets import load_reoffending
from pbr_eval.exceptions import NotViableError, OptionError
from pbr_eval.pricing import (
    RateDistribution,
    price,
    prob_overpay,
    provider_floor,
    rates_from_dict,
    value_for_money_ceiling,
)


@pytest.fixture(scope="module")
def res():
    sim = load_reoffending()
    return estimate(Cohort(sim.data, **sim.cohort_args))


def test_frame_has_contract_columns(res):
    rec = price(res, value_per_outcome=5000, better="lower", outcomes=["reoffended"],
                cost_per_participant=300)
    f = rec.to_frame()
    for col in ("outcome", "non_intervention", "expected_rate", "ceiling", "floor",
                "recommended", "band_lower", "band_upper", "prob_overpay", "deadweight_share",
                "paid_outcome"):
        assert col in f.columns
    assert f.shape[0] == 1
    assert "recommended price" in rec.summary() and "break-even" in rec.summary()
    assert "<table" in rec._repr_html_()
    json.dumps(rec.to_dict())
    with pytest.raises(AttributeError, match="read-only"):
        rec.level = 0.5


def test_ceiling_with_attachment_fee_by_hand():
    # v = 1000, n = 5%, r = 10%, A = 20: (1000 x 0.05 - 20) / 0.10 = 300.
    assert value_for_money_ceiling(1000.0, 0.05, 0.10, 20.0) == pytest.approx(300.0)
    # Provider: cost 1000, attachment 200, 25% outcomes: (1000 - 200) / 0.25 = 3200.
    assert provider_floor(1000.0, 0.25, 200.0) == pytest.approx(3200.0)
    assert provider_floor(100.0, 0.25, 200.0) == 0.0


@pytest.mark.parametrize("rule,risk", [("upper", 0.025), ("one-sided", 0.05), ("central", 0.5)])
def test_rules_and_their_stated_risk(rule, risk):
    rec = price(0.30, se=0.02, value_per_outcome=2000, expected_rate=0.40, rule=rule,
                outcome_type="continuous")
    row = rec.to_frame().iloc[0]
    assert row["prob_overpay"] == pytest.approx(risk, abs=1e-9)
    n_at = {"upper": 0.30 + 1.959964 * 0.02, "one-sided": 0.30 + 1.644854 * 0.02,
            "central": 0.30}[rule]
    assert row["recommended"] == pytest.approx(2000 * (1 - n_at / 0.40), rel=1e-5)
    assert row["band_lower"] <= row["recommended"] <= row["band_upper"]
    assert rec.rule == rule


def test_recommended_price_risk_holds_in_simulation():
    """Share of repeated studies in which the recommended price pays for deadweight.

    The non-intervention rate is estimated from a comparison group of m people with true rate
    n; each replication prices with the default rule (level 0.95). Paying for deadweight means
    price > true ceiling v (1 - n / r). The stated risk is (1 - level) / 2 <= 1 - level.
    """
    rng = np.random.default_rng(20240601)
    n_true, r, v, m, reps = 0.30, 0.40, 2000.0, 800, 1000
    true_ceiling = v * (1 - n_true / r)
    over = 0
    for _ in range(reps):
        nhat = rng.binomial(m, n_true) / m
        se = np.sqrt(nhat * (1 - nhat) / m)
        p = price(nhat, se=se, value_per_outcome=v, expected_rate=r).to_frame().iloc[0]
        over += p["recommended"] > true_ceiling
    share = over / reps
    mc = 3 * np.sqrt(0.05 * 0.95 / reps)
    assert share <= 0.05 + mc
    # and it is not vacuous: near the nominal one-sided 2.5%
    assert 0.025 - 3 * np.sqrt(0.025 * 0.975 / reps) <= share <= 0.025 + 3 * np.sqrt(
        0.025 * 0.975 / reps)


def test_plain_rate_draws_and_effect_distribution():
    rng = np.random.default_rng(1)
    draws = rng.normal(0.05, 0.005, 20000)
    a = price(draws, value_per_outcome=4000, expected_rate=0.10).to_frame().iloc[0]
    b = price(0.05, se=0.005, value_per_outcome=4000, expected_rate=0.10,
              outcome_type="continuous").to_frame().iloc[0]
    assert a["recommended"] == pytest.approx(b["recommended"], rel=0.01)
    assert a["prob_overpay"] == pytest.approx(0.025, abs=0.004)
    eff = price(0.05, se=0.005, value_per_outcome=4000, expected_effect=0.05).to_frame().iloc[0]
    assert eff["expected_rate"] == pytest.approx(0.10)
    assert eff["prob_overpay"] == pytest.approx(0.025, abs=1e-6)
    spread = price(0.05, se=0.005, value_per_outcome=4000,
                   expected_effect=rng.normal(0.05, 0.01, 5000)).to_frame().iloc[0]
    assert spread["prob_overpay"] > eff["prob_overpay"]


def test_not_viable_message_says_by_how_much():
    rec = price(0.05, se=0.005, value_per_outcome=4000, expected_rate=0.10,
                cost_per_participant=400, cohort_size=1000)
    row = rec.to_frame().iloc[0]
    # floor = 400 / 0.10 = 4000 > ceiling = 4000 x 0.5 = 2000: short 2000 per outcome,
    # 200 per participant, 200,000 over 1,000 participants.
    assert row["floor"] == pytest.approx(4000)
    assert not row["viable"] and not rec.viable
    assert "NOT VIABLE" in row["verdict"] and "2,000 per outcome" in row["verdict"]
    assert "200,000 over the cohort" in row["verdict"]
    ok = price(0.05, se=0.005, value_per_outcome=4000, expected_rate=0.10,
               cost_per_participant=100).to_frame().iloc[0]
    assert ok["viable"] and ok["verdict"].startswith("Viable")


def test_budget_caps_price_and_totals():
    rec = price(0.05, se=0.005, value_per_outcome=4000, expected_rate=0.10, cohort_size=1000,
                budget=100_000)
    row = rec.to_frame().iloc[0]
    assert row["budget_price"] == pytest.approx(1000.0)
    assert row["recommended"] == pytest.approx(1000.0)
    assert row["expected_total_payment"] == pytest.approx(100_000)
    assert any("budget" in n for n in rec.info["notes"])


def test_price_from_results_dict_matches_object(res):
    d = json.loads(res.to_json())
    a = price(res, value_per_outcome=5000, better="lower", outcomes=["reoffended"]).to_frame()
    b = price(d, value_per_outcome=5000, better="lower", outcomes=["reoffended"]).to_frame()
    assert a["recommended"].iloc[0] == pytest.approx(b["recommended"].iloc[0], rel=1e-9)
    assert [r.outcome for r in rates_from_dict(d)] == ["reoffended", "reconviction_events"]


def test_distribution_matches_results_interval(res):
    f = res.to_frame().set_index("outcome").loc["reoffended"]
    d = RateDistribution(f["non_intervention"], f["non_intervention_se"], "logit")
    lo, hi = d.interval(0.95)
    assert lo == pytest.approx(f["non_intervention_ci_lower"], rel=1e-9)
    assert hi == pytest.approx(f["non_intervention_ci_upper"], rel=1e-9)
    assert d.complement().sf(1 - lo) == pytest.approx(0.025, abs=1e-9)
    assert prob_overpay(0.0, d, value_per_outcome=1.0, expected_effect=0.1) == 0.0


def test_errors():
    with pytest.raises(OptionError, match="give exactly one of `se`"):
        price(0.05, value_per_outcome=100, expected_rate=0.1)
    with pytest.raises(OptionError, match="`draws` must be at least 100 finite numbers"):
        price([0.1, 0.2], value_per_outcome=100, expected_rate=0.3)
    with pytest.raises(OptionError, match="`expected_rate` \\(or `expected_effect`\\) is needed"):
        price(0.05, se=0.01, value_per_outcome=100)
    with pytest.raises(OptionError, match="not both"):
        price(0.05, se=0.01, value_per_outcome=100, expected_rate=0.1, expected_effect=0.05)
    with pytest.raises(OptionError, match="`rule` must be one of 'upper', 'one-sided', 'central'"):
        price(0.05, se=0.01, value_per_outcome=100, expected_rate=0.1, rule="max")
    with pytest.raises(OptionError, match="`budget` needs `cohort_size`"):
        price(0.05, se=0.01, value_per_outcome=100, expected_rate=0.1, budget=10)
    with pytest.raises(OptionError, match="`budget` is one number but 2 outcomes are priced"):
        price({"estimates": [
            {"outcome": o, "outcome_type": "binary", "observed": 0.1, "non_intervention": 0.05,
             "non_intervention_se": 0.01} for o in ("a", "b")]},
            value_per_outcome=100, cohort_size=10, budget=50)
    with pytest.raises(NotViableError, match="expected effect"):
        price(0.05, se=0.01, value_per_outcome=100, expected_effect=-0.01)
    with pytest.raises(OptionError, match="with an 'estimates' list"):
        price({"method": "x"}, value_per_outcome=100)
    with pytest.raises(OptionError, match="lacks 'non_intervention_se'"):
        rates_from_dict({"estimates": [{"outcome": "a", "outcome_type": "binary",
                                        "observed": 0.1, "non_intervention": 0.05}]})
    with pytest.raises(OptionError, match="`results` must be the result of pbr_eval.estimate"):
        price("nope", value_per_outcome=100)
    with pytest.raises(OptionError, match="`results` must be a share between 0 and 1 for a "
                       "yes/no outcome; got 1.5"):
        price(1.5, se=0.1, value_per_outcome=100, expected_rate=2, outcome_type="binary")
    with pytest.raises(OptionError, match="`cost_per_participant` must be a non-negative"):
        price(0.05, se=0.01, value_per_outcome=100, expected_rate=0.1, cost_per_participant=-1)


def test_front_door_is_the_same_function():
    assert pbr_eval.price is price
