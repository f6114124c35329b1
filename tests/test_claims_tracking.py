"""Baseline-to-closure tracking: needs met, re-referral, and the hand-off to an estimator."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import pbr_eval
from pbr_eval.claims.tracking import NOT_CAUSAL, needs_progress, rereferral_rates, to_cohort
from pbr_eval.disclosure import MARKER
from pbr_eval.exceptions import DataError, MissingColumnError, OptionError, PbrEvalWarning


def _needs() -> pd.DataFrame:
    rows = []
    for fam in range(60):
        cohort = "2013" if fam < 30 else "2014"
        rows.append((fam, cohort, "school", True, fam % 3 != 0))  # 2 in 3 met
        rows.append((fam, cohort, "work", fam % 2 == 0, None if fam % 4 == 0 else fam % 8 == 2))
        rows.append((fam, cohort, "crime", False, True))  # never present at baseline
    return pd.DataFrame(rows, columns=["family_id", "cohort", "need", "present_at_baseline",
                                       "met_at_closure"])


def test_needs_progress_by_hand():
    raw = _needs()
    before = raw.copy()
    out = needs_progress(raw, min_count=1)  # no suppression: compare every count
    pd.testing.assert_frame_equal(raw, before)
    assert "crime" not in out.index
    assert out.loc["school"].tolist() == [60, 40, 20, 0, pytest.approx(66.7)]
    # work: present for even families (30); missing closure for fam % 4 == 0 (15);
    # met when fam % 8 == 2 (8 of them)
    assert out.loc["work"].tolist()[:4] == [30, 8, 7, 15]
    assert out.loc["work", "share_met"] == pytest.approx(round(100 * 8 / 15, 1))


def test_needs_progress_by_cohort_suppressed():
    out = needs_progress(_needs(), cohort="cohort")
    assert out.loc[("2013", "school"), "families_with_need"] == 30
    assert out.loc[("2013", "school"), "met"] == 20
    assert out.loc[("2013", "work"), "met"] == MARKER   # one marker, whatever the threshold
    assert out.loc[("2013", "work"), "share_met"] == MARKER


@pytest.mark.parametrize("change,err,match", [
    (lambda d: d.drop(columns="need"), MissingColumnError, "Column 'need' is not in the needs"),
    (lambda d: d.assign(present_at_baseline="yes"), DataError,
     "'present_at_baseline' must be True/False"),
    (lambda d: d.assign(present_at_baseline=None), DataError, "has 180 missing values"),
    (lambda d: pd.concat([d, d.head(1)]), DataError, "one row per need"),
])
def test_needs_progress_errors(change, err, match):
    with pytest.raises(err, match=match):
        needs_progress(change(_needs()))


def _families(n_claimed=50, x_claimed=10, n_other=80, x_other=24):
    def block(n, x, claimed):
        ref = ["2023-05-01"] * x + [None] * (n - x)
        return pd.DataFrame({"claimed": claimed, "closure_date": "2023-01-01",
                             "rereferral_date": ref})
    return pd.concat([block(n_claimed, x_claimed, True), block(n_other, x_other, False)],
                     ignore_index=True)


def test_rereferral_rates_by_hand():
    r = rereferral_rates(_families(), as_of="2024-12-31")
    assert r.table.loc["claimed", ["families", "rereferred"]].tolist() == [50, 10]
    w1 = stats.binomtest(10, 50).proportion_ci(method="wilson")
    w2 = stats.binomtest(24, 80).proportion_ci(method="wilson")
    assert (r.table.loc["claimed", "lower"], r.table.loc["claimed", "upper"]) == pytest.approx(
        (w1.low, w1.high))
    p1, p2 = 0.2, 0.3
    assert r.difference == pytest.approx(-0.1)
    assert r.lower == pytest.approx(-0.1 - math.sqrt((p1 - w1.low) ** 2 + (w2.high - p2) ** 2))
    assert r.upper == pytest.approx(-0.1 + math.sqrt((w1.high - p1) ** 2 + (p2 - w2.low) ** 2))
    assert r.caveat == NOT_CAUSAL and "not causal" in r.summary()


def test_rereferral_newcombe_matches_statsmodels():
    from statsmodels.stats.proportion import confint_proportions_2indep

    r = rereferral_rates(_families(), as_of="2024-12-31")
    lo, hi = confint_proportions_2indep(10, 50, 24, 80, method="newcomb", compare="diff")
    assert (r.lower, r.upper) == pytest.approx((lo, hi), abs=1e-10)


def test_rereferral_follow_up_and_window():
    fam = _families()
    fam.loc[0, "closure_date"] = "2024-11-01"  # too recent for 365 days of follow-up
    fam.loc[1, "closure_date"] = None  # still open
    fam.loc[2, "rereferral_date"] = "2022-12-01"  # before closure
    fam.loc[60, "rereferral_date"] = "2024-06-01"  # non-claimed, re-referred after 17 months
    r = rereferral_rates(fam, as_of="2024-12-31")
    reasons = [d["reason"] for d in r.info["dropped"]]
    assert [d["n"] for d in r.info["dropped"]] == [1, 1, 1]
    assert "too soon to tell" in reasons[1]
    assert r.table.loc["claimed"].tolist()[:2] == [47, 7]
    assert r.table.loc["not claimed"].tolist()[:2] == [80, 23]  # the late one is outside 365


def test_rereferral_errors():
    with pytest.raises(DataError, match="Both claimed and non-claimed"):
        rereferral_rates(_families(n_other=0, x_other=0), as_of="2024-12-31")
    with pytest.raises(MissingColumnError, match="Column 'closure_date'"):
        rereferral_rates(_families().drop(columns="closure_date"))
    with pytest.raises(OptionError, match="`within_days` must be an integer >= 1"):
        rereferral_rates(_families(), within_days=0)
    with pytest.raises(DataError, match="Column 'claimed' must be True/False"):
        rereferral_rates(_families().assign(claimed="y"))


def test_to_cohort_hand_off_recovers_known_non_intervention_rate():
    """Claims go to families with fewer needs; re-referral depends on needs only.

    The naive comparison shows claimed families re-referred less; matching on
    needs recovers the truth: no effect, and a non-intervention rate equal to
    the claimed families' own expected rate.
    """
    rng = np.random.default_rng(3)
    n = 4000
    needs = rng.integers(1, 6, n)
    claimed = rng.random(n) < 1 / (1 + np.exp(-(1.5 - 0.6 * needs)))
    p_ref = 0.05 + 0.06 * needs
    rer = rng.random(n) < p_ref
    fam = pd.DataFrame({"family": np.arange(n), "needs": needs, "claimed": claimed,
                        "closure_date": "2022-01-01",
                        "rereferral_date": np.where(rer, "2022-06-01", None)})
    naive = rereferral_rates(fam, as_of="2024-01-01")
    assert naive.upper < 0  # the descriptive gap is real but not causal
    with warnings.catch_warnings():
        warnings.simplefilter("error", PbrEvalWarning)
        cohort = to_cohort(fam, covariates=["needs"], unit_id="family", as_of="2024-01-01")
    res = pbr_eval.estimate(cohort, method="nearest", replace=True)
    row = res.to_frame().iloc[0]
    truth = p_ref[claimed].mean()
    assert abs(row["non_intervention"] - truth) < 3 * row["non_intervention_se"] + 0.005
    assert row["ci_lower"] <= 0 <= row["ci_upper"]


def test_to_cohort_warns_about_left_out_families():
    fam = _families().assign(needs=np.arange(130) % 4)
    fam.loc[0, "closure_date"] = None
    with pytest.warns(PbrEvalWarning, match="left out 1 families without a closure date"):
        cohort = to_cohort(fam, covariates=["needs"], as_of="2024-12-31", min_treated=10)
    assert cohort.n_treated == 49
