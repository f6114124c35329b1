"""The front door, the results surface, and matching against known truth."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import pbr_eval
from pbr_eval import Cohort, estimate
from pbr_eval.datasets import load_reoffending, simulate
from pbr_eval.exceptions import OptionError
from pbr_eval.results import FRAME_COLUMNS


@pytest.fixture(scope="module")
def shipped():
    sim = load_reoffending()
    cohort = Cohort(sim.data, **sim.cohort_args)
    return sim, cohort, estimate(cohort, method="nearest")


def test_frame_has_the_contract_columns(shipped):
    _, _, res = shipped
    f = res.to_frame()
    for col in ["outcome", "n_treated", "n_comparison", "observed", "non_intervention",
                "non_intervention_ci_lower", "non_intervention_ci_upper", "effect", "std_error",
                "ci_lower", "ci_upper", "p_value"]:
        assert col in f.columns
    assert list(f.columns) == FRAME_COLUMNS
    assert list(f["outcome"]) == ["reoffended", "reconviction_events"]
    row = f.iloc[0]
    assert row["effect"] == pytest.approx(row["observed"] - row["non_intervention"])
    assert row["ci_lower"] < row["effect"] < row["ci_upper"]
    assert 0 <= row["non_intervention_ci_lower"] < row["non_intervention"] < row[
        "non_intervention_ci_upper"] <= 1


def test_shipped_demo_interval_covers_truth_and_naive_does_not(shipped):
    """Acceptance (issue 2): the 95% CI covers the true value in data/README.md; naive does not."""
    sim, _, res = shipped
    f = res.to_frame().set_index("outcome")
    truth = sim.truth.loc["reoffended", "non_intervention"]
    lo, hi = f.loc["reoffended", ["non_intervention_ci_lower", "non_intervention_ci_upper"]]
    assert lo <= truth <= hi
    naive = f.loc["reoffended", "naive_comparison"]
    assert not lo <= naive <= hi
    n0 = sim.data["treated"].eq(0).sum()
    naive_se = np.sqrt(naive * (1 - naive) / n0)
    assert abs(naive - truth) > 5 * naive_se  # the naive rate's own CI misses the truth


def test_weights_aligned_with_input_rows(shipped):
    sim, cohort, res = shipped
    w = res.weights
    assert w.index.equals(sim.data.index)
    t = sim.data["treated"].to_numpy() == 1
    assert (w[t] == 1).all()
    assert ((w[~t] == 0) | (w[~t] == 1)).all()
    assert int((w[~t] > 0).sum()) == cohort.n_treated


def test_balance_improves(shipped):
    _, cohort, res = shipped
    b = res.balance.to_frame()
    # MatchIt's layout: the score ("distance") first, then every covariate, every level
    assert b.index[0] == "distance"
    b = b.drop(index="distance")
    assert {c.split("[")[0] for c in b.index} == set(cohort.covariates)
    assert b["smd_after"].abs().max() < 0.1
    assert b["smd_before"].abs().max() > 0.2


def test_info_records_settings_and_provenance(shipped):
    _, cohort, res = shipped
    info = res.info
    assert info["method"] == "nearest"
    assert info["options"]["ratio"] == 1 and info["options"]["replace"] is False
    assert info["fingerprint"] == cohort.fingerprint
    assert info["version"] == pbr_eval.__version__
    assert "numpy" in info["versions"]
    assert info["dropped"] == []
    assert "seed" in info


def test_results_are_read_only(shipped):
    _, _, res = shipped
    with pytest.raises(AttributeError, match="read-only"):
        res.method = "other"
    with pytest.raises(TypeError):
        res.info["method"] = "x"


def test_summary_html_and_json(shipped):
    _, _, res = shipped
    s = res.summary()
    assert "non-intervention" in s and "reoffended" in s and "95% CI" in s
    assert "<table" in res._repr_html_()
    d = json.loads(res.to_json())
    assert d["estimates"][0]["outcome"] == "reoffended"
    assert "person_id" not in res.to_json().replace('"unit_id": "person_id"', "")
    assert res.conf_int(0.9).shape == (2, 4)


def test_dropped_rows_reported_in_results():
    sim = load_reoffending()
    df = sim.data.copy()
    df.loc[df.index[:7], "age"] = np.nan
    res = estimate(Cohort(df, **sim.cohort_args, missing="drop"))
    assert res.info["dropped"][0]["n"] == 7
    assert (res.to_frame()["n_dropped"] == 7).all()
    assert "Rows left out (cohort): 7" in res.summary()


def test_caliper_unmatched_are_counted():
    sim = load_reoffending()
    res = estimate(Cohort(sim.data, **sim.cohort_args), caliper=0.0005)
    n_un = res.info["n_treated_unmatched"]
    assert n_un > 0
    assert res.info["n_treated_matched"] + n_un == 600
    assert any("matched treated only" in n for n in res.info["notes"])
    assert res.to_frame()["n_treated"].iloc[0] == 600 - n_un


def test_unknown_method_and_option():
    sim = load_reoffending()
    c = Cohort(sim.data, **sim.cohort_args)
    with pytest.raises(OptionError, match="`method` must be one of .*got 'nn'"):
        estimate(c, method="nn")
    with pytest.raises(OptionError, match="does not take option\\(s\\) 'calipr'"):
        estimate(c, calipr=0.1)
    with pytest.raises(OptionError, match="`caliper` must be a positive number; got -0.2"):
        estimate(c, caliper=-0.2)
    with pytest.raises(OptionError, match="`cohort` must be a pbr_eval.Cohort"):
        estimate(sim.data)


def test_caller_frame_unchanged_by_estimate_and_price():
    sim = load_reoffending()
    df = sim.data.copy()
    before = df.copy(deep=True)
    res = estimate(Cohort(df, **sim.cohort_args))
    pbr_eval.price(res, value_per_outcome=5000, better="lower", outcomes=["reoffended"])
    pd.testing.assert_frame_equal(df, before)


@pytest.mark.slow
def test_large_sample_matching_recovers_truth_and_naive_does_not():
    """Known truth (issue 2): with a large sample, matching is close; the naive gap is not."""
    sim = simulate("reoffending", n_treated=5000, n_comparison=100_000, seed=11)
    res = estimate(Cohort(sim.data, **sim.cohort_args), replace=True)
    f = res.to_frame().set_index("outcome")
    for outcome in ["reoffended", "reconviction_events"]:
        truth = sim.truth.loc[outcome, "non_intervention"]
        est, se = f.loc[outcome, "non_intervention"], f.loc[outcome, "non_intervention_se"]
        naive = f.loc[outcome, "naive_comparison"]
        assert abs(est - truth) < 3 * se, (outcome, est, truth, se)
        assert abs(naive - truth) > 6 * se, (outcome, naive, truth, se)


def test_matching_without_replacement_on_families_post_period():
    sim = simulate("families", n_treated=400, n_comparison=6000, seed=3)
    c = Cohort(sim.data, **sim.cohort_args)
    with pytest.raises(OptionError, match="one row per unit"):
        estimate(c)
    res = estimate(c.at_period(1))
    f = res.to_frame().set_index("outcome")
    truth = sim.truth.loc["attendance_rate", "non_intervention"]
    assert abs(f.loc["attendance_rate", "non_intervention"] - truth) < 4 * f.loc[
        "attendance_rate", "non_intervention_se"]
