"""Payments for time-based outcomes priced from survival curves (issue 19.3: pricing/time_based.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import pbr_eval
from pbr_eval.datasets import load_reoffending_time
from pbr_eval.exceptions import OptionError
from pbr_eval.pricing import AttachmentFee, Milestones, Tariff, TimeFreeMilestones

WEEKS = np.arange(0, 365, 7.0)


@pytest.fixture(scope="module")
def shipped():
    sim = load_reoffending_time()
    cohort = pbr_eval.Cohort(sim.data, **sim.cohort_args)
    return sim, pbr_eval.estimate_survival(cohort, method="ipw", times=WEEKS)


def test_per_week_free_is_the_milestones_arithmetic_vectorised_over_draws() -> None:
    weekly = TimeFreeMilestones.per_period("days_free", period=7, amount=20.0, window=365)
    assert len(weekly.schedule) == 52 and weekly.maximum == 1040.0  # 52 full weeks in 365 days
    plain = Milestones.every("days_free", period=7, amount=20.0, count=52)
    days = np.array([[0, 6, 7, 100, 365], [13, 14, 364, 50, 1]], dtype=float)
    got = weekly.amounts({"days_free": days}, {}, {})["days_free_milestones"]
    want = plain.amounts({"days_free": days}, {}, {})["days_free_milestones"]
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(got[0], [0, 0, 20, 280, 1040])
    one = [weekly.payments(pd.DataFrame({"days_free": row}))["total"].to_numpy() for row in days]
    np.testing.assert_array_equal(got, np.array(one))


def test_sustainment_at_13_and_26_weeks_in_a_tariff() -> None:
    # Work Programme JSA 18-24 (shared/DOMAIN.md): attachment 400, job outcome 1,200 paid at 13
    # weeks here, sustainment 2,210 at 26 weeks: 3,810 for someone in work for 26 weeks
    jobs = TimeFreeMilestones("weeks_in_work", {13: 1200.0, 26: 2210.0}, window=26)
    tariff = Tariff([AttachmentFee(400.0), jobs])
    claims = pd.DataFrame({"person_id": ["A", "B"], "outcome": ["weeks_in_work"] * 2,
                           "value": [30, 14]})
    paid = tariff.payments(claims, people=["A", "B", "C"]).by_person["total"].tolist()
    assert paid == [3810.0, 1600.0, 400.0]


def test_priced_from_the_curves_is_the_sum_of_amounts_times_the_shares_reaching_them(
        shipped) -> None:
    _, res = shipped
    weekly = TimeFreeMilestones.per_period("days_free", period=7, amount=20.0, window=364)
    f = weekly.priced_from(res)
    S1 = dict(zip(res.times, res.observed, strict=True))
    S0 = dict(zip(res.times, res.non_intervention, strict=True))
    want1 = sum(20.0 * S1[m] for m in weekly.schedule)
    want0 = sum(20.0 * S0[m] for m in weekly.schedule)
    total = f.iloc[-1]
    assert total["per_person"] == pytest.approx(want1, rel=1e-12)
    assert total["per_person_without"] == pytest.approx(want0, rel=1e-12)
    assert total["cohort_additional"] == pytest.approx(600 * (want1 - want0), rel=1e-12)
    assert total["deadweight_share"] == pytest.approx(want0 / want1, rel=1e-12)


def test_a_single_milestones_se_is_the_curves_difference_se(shipped) -> None:
    _, res = shipped
    m = float(WEEKS[26])
    f = TimeFreeMilestones("days_free", {m: 1.0}, window=364).priced_from(res, cohort_size=1)
    k = int(np.flatnonzero(res.times == m)[0])
    assert f.iloc[-1]["se_additional"] == pytest.approx(res.se_difference[k], rel=1e-9)


def test_priced_from_the_curves_recovers_the_true_payments(shipped) -> None:
    sim, res = shipped
    weekly = TimeFreeMilestones.per_period("days_free", period=7, amount=20.0, window=364)
    total = weekly.priced_from(res, cohort_size=1).iloc[-1]
    true = sim.curves.set_index("day")
    marks = list(weekly.schedule)
    truth = 20.0 * float((true.loc[marks, "observed"] - true.loc[marks, "non_intervention"]).sum())
    assert abs(total["cohort_additional"] - truth) < 3 * total["se_additional"]


def test_errors_name_the_option(shipped) -> None:
    _, res = shipped
    with pytest.raises(OptionError, match="milestones must be within the window"):
        TimeFreeMilestones("weeks_in_work", {13: 1.0, 52: 1.0}, window=26)
    with pytest.raises(OptionError, match="`period` must fit in the window"):
        TimeFreeMilestones.per_period("d", period=400, amount=1.0, window=365)
    with pytest.raises(OptionError, match="must be the SurvivalResults"):
        TimeFreeMilestones("d", {7: 1.0}, window=364).priced_from(pbr_eval.estimate(
            pbr_eval.Cohort(load_reoffending_time().data.assign(y=0), treatment="treated",
                            outcome="y", covariates=["age"])))
    with pytest.raises(OptionError, match="less than this mechanism's window"):
        TimeFreeMilestones("d", {7: 1.0}, window=700).priced_from(res)
