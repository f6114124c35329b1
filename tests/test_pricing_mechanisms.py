"""Payment mechanisms and tariffs reproduce real schemes' arithmetic (issue 6)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pbr_eval.exceptions import ClaimError, OptionError
from pbr_eval.pricing import (
    AttachmentAndResults,
    AttachmentFee,
    Milestones,
    MinimumPerformanceLevel,
    PerEventAvoided,
    PerOutcome,
    RateCard,
    SlidingScale,
    Tariff,
    minimum_performance_level,
)


def test_troubled_families_phase1_split():
    # Source: DCLG (2012) "The Troubled Families programme: Financial framework for the
    # Troubled Families programme's payment-by-results scheme for local authorities";
    # NAO (2013) HC 878. Up to GBP 4,000 per family; attachment share 80% (2012/13),
    # 60% (2013/14), 40% (2014/15): 3,200/800, 2,400/1,600, 1,600/2,400.
    tf = AttachmentAndResults.troubled_families_phase1("turned_around")
    assert tf.split(1) == (3200.0, 800.0)
    assert tf.split(2) == (2400.0, 1600.0)
    assert tf.split(3) == (1600.0, 2400.0)
    people = pd.DataFrame({"person_id": ["F1", "F2", "F3", "F4"], "year": [1, 2, 3, 3]})
    claims = pd.DataFrame({"person_id": ["F1", "F2", "F3"], "outcome": "turned_around"})
    st = Tariff([tf]).payments(claims, people=people)
    bp = st.by_person
    assert bp.loc["F1", "attachment"] == 3200 and bp.loc["F1", "results"] == 800
    assert bp.loc["F2", "attachment"] == 2400 and bp.loc["F2", "results"] == 1600
    assert bp.loc["F3", "attachment"] == 1600 and bp.loc["F3", "results"] == 2400
    assert bp.loc["F4", "total"] == 1600  # attached in year 3, not (yet) turned around
    assert st.total == 4000 * 3 + 1600
    assert st.to_frame().set_index("component").loc["total", "amount"] == st.total
    assert "Payment statement" in st.summary()


@pytest.mark.parametrize("group,amount,count,maximum", [
    # Source: NAO (2012) "The introduction of the Work Programme", HC 1701 (maximum
    # payments per participant): JSA 18-24 400 + 1,200 + 2,210 = 3,810; JSA 25+ 400 + 1,200 +
    # 2,795 = 4,395. Only the maxima are sourced; the four-weekly split of the sustainment
    # maximum (13 x 170, 20 x 139.75) is illustrative.
    ("JSA 18-24", 170.0, 13, 3810.0),
    ("JSA 25+", 139.75, 20, 4395.0),
])
def test_work_programme_maximum_tariffs(group, amount, count, maximum):
    sustain = Milestones.every("weeks_in_work", period=4, amount=amount, count=count)
    wp = Tariff([AttachmentFee(400), PerOutcome("job", 1200, max_per_person=1), sustain],
                name=group)
    people = ["A", "B", "C"]
    claims = pd.DataFrame({"person_id": ["A", "A", "A", "B", "B"],
                           "outcome": ["job", "job", "weeks_in_work", "job", "weeks_in_work"],
                           "value": [1, 1, 200, 1, 8]})
    bp = wp.payments(claims, people=people).by_person
    assert bp.loc["A", "total"] == pytest.approx(maximum)  # duplicate job claim paid once
    assert bp.loc["B", "total"] == pytest.approx(400 + 1200 + 2 * amount)
    assert bp.loc["C", "total"] == 400
    assert sustain.maximum == pytest.approx(maximum - 1600)


def test_minimum_performance_level_work_programme():
    # Source: NAO (2012) HC 1701 / DWP Work Programme invitation to tender: year-1 minimum
    # performance level 5.5%, i.e. the non-intervention estimate of 5% plus a 10% uplift.
    assert minimum_performance_level(0.05, 0.10) == pytest.approx(0.055)
    mech = MinimumPerformanceLevel("job", 1000.0, non_intervention=0.05, uplift=0.10)
    y = pd.DataFrame({"job": [1] * 70 + [0] * 930})  # 7% against an MPL of 5.5%
    assert mech.payments(y)["total"].sum() == pytest.approx(1000 * (70 - 55))
    all_or_nothing = MinimumPerformanceLevel("job", 1000.0, non_intervention=0.05, basis="all")
    assert all_or_nothing.payments(y)["total"].sum() == pytest.approx(70_000)
    below = pd.DataFrame({"job": [1] * 50 + [0] * 950})
    assert all_or_nothing.payments(below)["total"].sum() == 0
    assert mech.payments(below)["total"].sum() == 0


def test_rate_card_per_person_cap_binds():
    # Rate cards (DWP Innovation Fund; Fair Chance Fund, DCLG 2014) price several outcomes per
    # person with a cap per person. Here a person achieving all four outcomes would earn
    # 700 + 900 + 2,000 + 1,500 = 5,100 against a per-person cap of 4,000: the cap binds.
    card = RateCard({"attendance": 700, "qualification": 900, "job_13wk": 2000,
                     "job_26wk": 1500}, per_person_cap=4000)
    df = pd.DataFrame({"attendance": [1, 1, 0], "qualification": [1, 1, 0],
                       "job_13wk": [1, 0, 0], "job_26wk": [1, 0, 0]}, index=["p1", "p2", "p3"])
    pay = card.payments(df)
    assert pay.loc["p1", "total"] == pytest.approx(4000)
    assert pay.loc["p2", "total"] == pytest.approx(1600)
    assert pay.loc["p3", "total"] == 0
    # Components scaled together: 700 x 4000 / 5100.
    assert pay.loc["p1", "rate_card:attendance"] == pytest.approx(700 * 4000 / 5100)


def test_rate_card_outcome_and_programme_caps():
    card = RateCard({"a": 100, "b": 50}, outcome_caps={"a": 250}, programme_cap=300)
    df = pd.DataFrame({"a": [1, 1, 1, 1], "b": [1, 1, 0, 0]})
    pay = card.payments(df)
    assert pay["rate_card:a"].sum() <= 250 + 1e-9
    assert pay["total"].sum() == pytest.approx(300)


def test_peterborough_cohort_and_pooled_triggers():
    # Source: Ministry of Justice (2011) Peterborough SIB: payment per reconviction event
    # avoided against a matched comparison group if a cohort's events fall by >= 10%, or on
    # all cohorts if the pooled fall is >= 7.5%.
    mech = PerEventAvoided("events", 1000.0, threshold=0.10, pooled_threshold=0.075,
                           cohort_column="cohort")
    # comparison 1.0 events per person; cohort 1: 0.85 (15% fall, paid); cohort 2: 0.98
    # (2% fall, not paid); pooled: 0.915 (8.5% fall, pooled payment due).
    c1 = [1] * 85 + [0] * 15
    c2 = [1] * 98 + [0] * 2
    df = pd.DataFrame({"events": c1 + c2, "cohort": [1] * 100 + [2] * 100})
    pay = mech.payments(df, comparison={"events": 1.0})
    cohort_part = pay["events_avoided"].groupby(df["cohort"]).sum()
    assert cohort_part.loc[1] == pytest.approx(1000 * 15)
    assert cohort_part.loc[2] == 0
    # pooled: 1000 x 200 x (1 - 0.915) = 17,000 due, 15,000 already paid: top-up 2,000
    assert pay["events_avoided_pooled"].sum() == pytest.approx(2000)
    assert pay["total"].sum() == pytest.approx(17_000)
    # below both triggers: nothing
    df2 = pd.DataFrame({"events": [1] * 95 + [0] * 5, "cohort": 1})
    assert mech.payments(df2, comparison={"events": 1.0})["total"].sum() == 0
    with pytest.raises(OptionError, match="comparison=\\{'events': <rate>\\}"):
        mech.payments(df2)


def test_deadweight_discount_norfolk():
    # Source: Norfolk County Council edge-of-care SIB (Government Outcomes Lab project
    # database): payments per care day avoided with a 33% deadweight discount.
    mech = PerOutcome("care_days_avoided", 150.0, deadweight_discount=0.33)
    pay = mech.payments(pd.DataFrame({"care_days_avoided": [100, 0]}))
    assert pay["total"].tolist() == pytest.approx([150 * 0.67 * 100, 0.0])


def test_sliding_scale_and_social_work_shares():
    s = SlidingScale("job", [(0.0, 0.0), (0.10, 1000.0), (0.20, 1500.0)])
    assert s.payments(pd.DataFrame({"job": [1] * 25 + [0] * 75}))["total"].sum() == 25 * 1500
    lin = SlidingScale("job", [(0.0, 0.0), (0.2, 2000.0)], interpolate=True)
    assert float(lin.price_at(0.1)) == pytest.approx(1000)
    imp = SlidingScale("job", [(0.0, 500.0), (0.2, 1000.0)], basis="improvement")
    got = imp.payments(pd.DataFrame({"job": [1] * 12 + [0] * 88}), comparison={"job": 0.10})
    assert got["total"].sum() == pytest.approx(12 * 1000)
    # Social work practice pilots (DfE 2009): outcome-related share rising 0% -> 60% by
    # year 4, i.e. attachment (fixed) share 100% -> 40%.
    sw = AttachmentAndResults(10_000, outcome="ok", attachment_share={1: 1.0, 4: 0.4})
    assert sw.split(1) == (10_000.0, 0.0) and sw.split(4) == (4000.0, 6000.0)


def test_expected_payment_exact_and_simulated():
    t = Tariff([AttachmentFee(400), PerOutcome("job", 1200)])
    assert t.expected_payment({"job": 0.25}, cohort_size=1000) == pytest.approx(700_000)
    mpl = MinimumPerformanceLevel("job", 1000.0, non_intervention=0.05)
    # at a true rate of 20% the MPL (5.5%) is always beaten: E = 1000 x N x (0.20 - 0.055)
    assert mpl.expected_payment({"job": 0.20}, cohort_size=1000, draws=2000) == pytest.approx(
        145_000, rel=0.01)
    capped = Tariff([PerOutcome("job", 1200)], programme_cap=100_000)
    assert capped.expected_payment({"job": 0.25}, cohort_size=1000, draws=500) == pytest.approx(
        100_000)


def test_tariff_vectorised_matches_loop():
    rng = np.random.default_rng(3)
    t = Tariff([AttachmentFee(100), RateCard({"a": 300, "b": 500}, per_person_cap=600),
                PerEventAvoided("e", 200, comparison_rate=1.0, threshold=0.05)])
    y = {"a": rng.integers(0, 2, (5, 50)).astype(float),
         "b": rng.integers(0, 2, (5, 50)).astype(float),
         "e": rng.poisson(0.9, (5, 50)).astype(float)}
    tot = t.total(y, {})
    for d in range(5):
        one = t.total({k: v[d] for k, v in y.items()}, {})
        assert tot[d] == pytest.approx(one)


def test_claim_errors():
    t = Tariff([AttachmentFee(400), PerOutcome("job", 1200)])
    people = pd.DataFrame({"person_id": ["A", "B"]})
    with pytest.raises(ClaimError, match="not attached to the programme, e.g. 'Z'"):
        t.payments(pd.DataFrame({"person_id": ["A", "Z"], "outcome": "job"}), people=people)
    with pytest.raises(ClaimError, match="outcome\\(s\\) 'housing' that the tariff does not pay"):
        t.payments(pd.DataFrame({"person_id": ["A"], "outcome": ["housing"]}), people=people)
    with pytest.raises(ClaimError, match="`claims` has no column 'outcome'"):
        t.payments(pd.DataFrame({"person_id": ["A"]}), people=people)
    with pytest.raises(ClaimError, match="more than once"):
        t.payments(pd.DataFrame({"person_id": ["A"], "outcome": "job"}), people=["A", "A"])
    with pytest.raises(ClaimError, match="non-negative numbers"):
        t.payments(pd.DataFrame({"person_id": ["A"], "outcome": "job", "value": [-1]}),
                   people=people)
    tf = Tariff([AttachmentAndResults.troubled_families_phase1("ok")])
    with pytest.raises(ClaimError, match="needs the person attribute\\(s\\) 'year'"):
        tf.payments(pd.DataFrame({"person_id": ["A"], "outcome": "ok"}), people=people)
    with pytest.raises(ClaimError, match="year\\(s\\) 4 with no attachment share"):
        tf.payments(pd.DataFrame({"person_id": ["A"], "outcome": "ok"}),
                    people=pd.DataFrame({"person_id": ["A"], "year": [4]}))
    with pytest.raises(OptionError, match="`mechanisms` must be a non-empty list"):
        Tariff([])
    with pytest.raises(OptionError, match="`outcome_caps` names 'c', not on the rate card"):
        RateCard({"a": 1}, outcome_caps={"c": 5})
    with pytest.raises(OptionError, match="`deadweight_discount` must be a number between 0 and 1"):
        PerOutcome("a", 1, deadweight_discount=1.5)
    with pytest.raises(OptionError, match="`basis` must be one of 'above', 'all'"):
        MinimumPerformanceLevel("a", 1, non_intervention=0.1, basis="x")
