"""Interim payments (issue 19.3): outcomes expected by the end of the window for a cohort in follow-up."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import pbr_eval
from pbr_eval.datasets import load_reoffending_time, simulate_reoffending_interim
from pbr_eval.disclosure import MARKER, DisclosurePolicy
from pbr_eval.exceptions import OptionError
from pbr_eval.results.base import Results
from pbr_eval.survival.interim import conditional_count


@pytest.fixture(scope="module")
def shipped() -> tuple[pbr_eval.Cohort, object]:
    sim = load_reoffending_time()
    cohort = pbr_eval.Cohort(sim.data, **sim.cohort_args)
    return cohort, pbr_eval.estimate_survival(cohort, method="ipw")


def test_conditional_count_is_the_sum_of_conditional_probabilities_and_its_gradient_is_exact():
    times = np.array([0.0, 4.0, 8.0, 12.0])
    S = np.array([1.0, 0.9, 0.75, 0.7])
    u = np.array([0.0, 2.0, 4.0, 9.0, 11.0])
    e, g, v = conditional_count(times, S, np.eye(4), 12.0, u)
    Su = np.interp(u, times, S)
    p = 1 - 0.7 / Su
    assert e == pytest.approx(p.sum(), rel=1e-12)
    assert v == pytest.approx((p * (1 - p)).sum(), rel=1e-12)
    h = 1e-7
    for k in range(4):
        up = S.copy()
        up[k] += h
        num = (conditional_count(times, up, np.eye(4), 12.0, u)[0] - e) / h
        assert g[k] == pytest.approx(num, rel=1e-5, abs=1e-6)


def test_the_counts_add_up_and_the_band_is_in_its_range(shipped) -> None:
    cohort, res = shipped
    r = pbr_eval.interim_payment(res, cohort).row
    assert r["n_participants"] == r["outcomes_so_far"] + r["followed_free"] + r["completed_free"]
    assert r["outcomes_so_far"] <= r["expected_lower"] < r["expected"] < r["expected_upper"]
    assert r["expected_upper"] <= r["outcomes_so_far"] + r["followed_free"]
    assert r["se_estimation"] > 0 and r["se_chance"] > 0
    # the participants' curve is below the non-intervention curve: fewer expected with it
    assert r["expected"] < r["expected_no_further_effect"]
    n = r["n_participants"]
    assert r["non_intervention_expected"] == pytest.approx(
        n * res.window_probability()["non_intervention"], rel=1e-12)


def test_a_cohort_followed_to_the_end_of_the_window_has_no_band(shipped) -> None:
    cohort, res = shipped
    data = cohort.data
    time, _ = cohort.time_event("first_reoffence")
    full = pbr_eval.Cohort(
        load_reoffending_time().data.loc[(~cohort.t) | (time >= 365)],
        **load_reoffending_time().cohort_args)
    r = pbr_eval.interim_payment(res, full).row
    assert r["followed_free"] == 0 and data is not None
    assert r["expected"] == r["expected_lower"] == r["expected_upper"] == r["outcomes_so_far"]


@pytest.mark.parametrize("pay_for", ["outcome", "no_outcome", "additional", "avoided"])
def test_payments_are_the_price_times_the_payable_count(shipped, pay_for: str) -> None:
    cohort, res = shipped
    r = pbr_eval.interim_payment(res, cohort, pay_for=pay_for, price=1500.0).row
    n, e, e0 = r["n_participants"], r["expected"], r["non_intervention_expected"]
    want = {"outcome": e, "no_outcome": n - e, "additional": e - e0, "avoided": e0 - e}[pay_for]
    assert r["payable"] == pytest.approx(want, rel=1e-12)
    assert r["payable_lower"] <= r["payable"] <= r["payable_upper"]
    assert r["payable_upper"] - r["payable_lower"] == pytest.approx(
        r["expected_upper"] - r["expected_lower"], rel=1e-12)
    assert r["payment_expected"] == pytest.approx(1500.0 * max(want, 0.0), rel=1e-12)
    assert r["payment_on_account"] == pytest.approx(1500.0 * max(r["payable_lower"], 0.0))


def test_a_per_outcome_mechanism_prices_through_the_tariff_engine(shipped) -> None:
    cohort, res = shipped
    # Norfolk-style deadweight discount of 33% (shared/DOMAIN.md)
    mech = pbr_eval.pricing.PerOutcome("free", 1000.0, deadweight_discount=0.33)
    r = pbr_eval.interim_payment(res, cohort, pay_for="no_outcome", price=mech).row
    assert r["price"] == pytest.approx(670.0)
    assert r["payment_expected"] == pytest.approx(670.0 * r["payable"])
    with pytest.raises(OptionError, match="`price` must be a number or a PerOutcome"):
        pbr_eval.interim_payment(res, cohort, price=pbr_eval.pricing.AttachmentFee(400.0))
    with pytest.raises(OptionError, match="no `max_per_person`"):
        pbr_eval.interim_payment(
            res, cohort, price=pbr_eval.pricing.PerOutcome("x", 10.0, max_per_person=1))


def test_errors_name_the_option(shipped) -> None:
    cohort, res = shipped
    with pytest.raises(OptionError, match="`pay_for` must be one of"):
        pbr_eval.interim_payment(res, cohort, pay_for="outcomes")
    with pytest.raises(OptionError, match="`window` must be one of the survival curve's times"):
        pbr_eval.interim_payment(res, cohort, window=100)
    with pytest.raises(OptionError, match="`survival` must be the SurvivalResults"):
        pbr_eval.interim_payment(pbr_eval.estimate(cohort), cohort)
    with pytest.raises(OptionError, match="`outcome` must be a time-to-event outcome"):
        pbr_eval.interim_payment(res, cohort, outcome="reoffended")
    state = res.to_dict()
    state["covariance"] = None
    with pytest.raises(OptionError, match="saved without the curves' covariance"):
        pbr_eval.interim_payment(Results.from_dict(state), cohort)
    with pytest.raises(OptionError, match="`price` must be a positive number"):
        pbr_eval.interim_payment(res, cohort, price=-5)


def test_round_trip_and_small_counts_hidden(shipped) -> None:
    cohort, res = shipped
    interim = pbr_eval.interim_payment(res, cohort, price=100.0)
    back = Results.from_dict(interim.to_dict())
    pd.testing.assert_frame_equal(back.to_frame(), interim.to_frame())
    assert interim.summary() == back.summary()
    # a threshold above the number still followed hides it and a second count (else the
    # total would give it away), in the row and in the sentences
    k = int(interim.row["followed_free"])
    policy = DisclosurePolicy(threshold=k + 1)
    pub = interim.published_row(policy)
    hidden = [c for c in ("outcomes_so_far", "followed_free", "completed_free")
              if pub[c] == MARKER]
    assert "followed_free" in hidden and len(hidden) >= 2
    assert f" {k:,} " not in " ".join(interim.sentences(policy))


def test_interim_band_covers_the_final_count_in_repeated_cohorts() -> None:
    """Reduced known-truth check (the full study: benchmarks/validate_interim.py)."""
    covered, z = [], []
    for rep in range(40):
        sim = simulate_reoffending_interim(n_treated=300, n_comparison=1500, seed=9000 + rep)
        cohort = pbr_eval.Cohort(sim.data, **sim.cohort_args)
        res = pbr_eval.estimate_survival(cohort, method="ipw", times=np.arange(0, 366, 7.0))
        r = pbr_eval.interim_payment(res, cohort).row
        final = sim.params["final_count"]
        covered.append(r["expected_lower"] <= final <= r["expected_upper"])
        z.append((final - r["expected"]) / np.hypot(r["se_estimation"], r["se_chance"]))
    assert np.mean(covered) >= 0.85
    assert abs(np.mean(z)) < 4 / np.sqrt(len(z))
