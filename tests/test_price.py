"""The first price: value x (1 - non_intervention / expected_rate), with a band."""

from __future__ import annotations

import pytest

import pbr_eval
from pbr_eval import Cohort, estimate
from pbr_eval.datasets import load_reoffending
from pbr_eval.exceptions import NotViableError, OptionError
from pbr_eval.pricing.recommend import price_from_rate, value_for_money_ceiling


@pytest.fixture(scope="module")
def res():
    sim = load_reoffending()
    return estimate(Cohort(sim.data, **sim.cohort_args))


def test_ceiling_formula_work_programme_numbers():
    # DOMAIN.md: Work Programme year-1 non-intervention estimate 5%; a provider expected
    # to reach 10% doubles outcomes, so half of each outcome is additional.
    assert value_for_money_ceiling(3810.0, 0.05, 0.10) == pytest.approx(1905.0)


def test_price_uses_interval_for_band(res):
    rec = pbr_eval.price(res, value_per_outcome=5000, better="lower", outcomes=["reoffended"])
    row = rec.to_frame().iloc[0]
    f = res.to_frame().set_index("outcome").loc["reoffended"]
    n = 1 - f["non_intervention"]
    r = 1 - f["observed"]
    assert row["paid_outcome"] == "not reoffended"
    # Issue 6: the default rule prices at the upper limit of the non-intervention interval
    # (the band's lower end); the seed's central ceiling is still reported as `ceiling`.
    assert row["ceiling"] == pytest.approx(5000 * (1 - n / r))
    assert row["recommended"] == pytest.approx(row["band_lower"])
    assert row["band_lower"] == pytest.approx(max(0, 5000 * (1 - (1 - f[
        "non_intervention_ci_lower"]) / r)))
    assert row["band_upper"] == pytest.approx(5000 * (1 - (1 - f["non_intervention_ci_upper"]) / r))
    assert row["band_lower"] <= row["recommended"] <= row["band_upper"]
    assert "recommended price" in rec.summary()


def test_expected_rate_default_is_observed_and_override(res):
    rec = pbr_eval.price(res, value_per_outcome=1000, better="lower", outcomes=["reoffended"],
                         expected_rate=0.9, rule="central")
    row = rec.to_frame().iloc[0]
    assert row["expected_rate"] == 0.9
    f = res.to_frame().set_index("outcome").loc["reoffended"]
    assert row["recommended"] == pytest.approx(1000 * (1 - (1 - f["non_intervention"]) / 0.9))


def test_not_viable_when_no_additional_outcomes(res):
    # Reoffending is lower with the programme: paying per reoffence has nothing additional.
    with pytest.raises(NotViableError, match="does not exceed the non-intervention rate"):
        pbr_eval.price(res, value_per_outcome=5000, outcomes=["reoffended"])
    with pytest.raises(NotViableError, match="'job'"):
        price_from_rate(outcome="job", non_intervention=0.3, ci=(0.2, 0.4),
                        value_per_outcome=100, expected_rate=0.3)


def test_price_option_errors(res):
    with pytest.raises(OptionError, match="`value_per_outcome` must be a positive number"):
        pbr_eval.price(res, value_per_outcome=-1, better="lower", outcomes=["reoffended"])
    with pytest.raises(OptionError, match="`outcomes` must be among"):
        pbr_eval.price(res, value_per_outcome=1, outcomes=["x"])
    with pytest.raises(OptionError, match="`better` must be one of 'higher', 'lower'; got 'up'"):
        pbr_eval.price(res, value_per_outcome=1, better="up", outcomes=["reoffended"])
    with pytest.raises(OptionError, match="price\\(\\) handles rates only"):
        pbr_eval.price(res, value_per_outcome=1, better="lower",
                       outcomes=["reconviction_events"])
    with pytest.raises(OptionError, match="`level` must be a number strictly between 0 and 1"):
        pbr_eval.price(res, value_per_outcome=1, level=95, better="lower",
                       outcomes=["reoffended"])
    with pytest.raises(OptionError, match="`results` must be the result of pbr_eval.estimate"):
        pbr_eval.price({"a": 1}, value_per_outcome=1)
