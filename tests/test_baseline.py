"""Historical baseline ("baseline"): projections by hand, caveat, prediction interval, errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pbr_eval import Cohort, estimate
from pbr_eval.datasets import load_families, load_reoffending
from pbr_eval.estimators.baseline import CAVEAT, HistoricalBaseline, project_baseline
from pbr_eval.exceptions import OptionError


def _cohorts(n_per_year: int = 400, years: tuple[int, ...] = (2019, 2020, 2021, 2022, 2023),
             slope: float = -0.02, shock_sd: float = 0.0, seed: int = 0) -> tuple[pd.DataFrame, float]:
    """Yearly referral cohorts; 2023 is the programme cohort. Rate falls by ``slope`` a year."""
    rng = np.random.default_rng(seed)
    rows = []
    for k, yr in enumerate(years):
        rate = 0.40 + slope * k + rng.normal(scale=shock_sd)
        y = (rng.random(n_per_year) < rate).astype(int)
        age = rng.normal(30, 5, n_per_year)
        prog = int(yr == years[-1])
        rows.append(pd.DataFrame({"id": [f"{yr}-{i}" for i in range(n_per_year)], "year": yr,
                                  "programme": prog, "age": age, "reoffended": y}))
    truth_rate = 0.40 + slope * (len(years) - 1)
    return pd.concat(rows, ignore_index=True), truth_rate


def test_caveat_is_prominent() -> None:
    sim = load_families()
    r = HistoricalBaseline().fit(Cohort(sim.data, **sim.cohort_args))
    assert r.info["caveat"] == CAVEAT
    assert r.info["notes"][0] == CAVEAT
    assert "NOT a counterfactual comparison" in r.summary()
    assert r.to_dict()["info"]["caveat"] == CAVEAT
    # panel data: the treated units' own pre-period mean, comparison rows unused
    for name in sim.truth.index:
        assert r.estimate_for(name).non_intervention == pytest.approx(
            sim.truth.loc[name, "pre_mean"])
    assert "own earlier periods" in r.info["history"]
    assert any("comparison group's rows were not used" in n for n in r.info["notes"])


def test_linear_trend_matches_ols_by_hand() -> None:
    df, _ = _cohorts()
    c = Cohort(df, treatment="programme", outcome="reoffended", covariates=["age"],
               unit_id="id", period="year")
    r = HistoricalBaseline(trend="linear").fit(c)
    hist = df[df.year < 2023]
    b = np.polyfit(hist.year, hist.reoffended, 1)
    e = r.estimates[0]
    assert e.non_intervention == pytest.approx(np.polyval(b, 2023), abs=1e-9)
    assert e.observed == pytest.approx(df.loc[df.year == 2023, "reoffended"].mean())
    assert r.info["history"].startswith("earlier cohorts")


def test_logistic_trend_stays_in_range_and_interval_in_unit_range() -> None:
    df, _ = _cohorts(slope=-0.09)  # a linear projection would go near zero
    c = Cohort(df, treatment="programme", outcome="reoffended", covariates=["age"],
               unit_id="id", period="year")
    f = HistoricalBaseline(trend="logistic").fit(c).to_frame(level=0.999)
    assert 0 < f.loc[0, "non_intervention"] < 1
    assert 0 <= f.loc[0, "non_intervention_ci_lower"] < f.loc[0, "non_intervention_ci_upper"] <= 1


@pytest.mark.slow
def test_prediction_interval_coverage_with_year_shocks() -> None:
    """Year-to-year shocks: the interval (with between-period variance) covers ~95%."""
    hits = 0
    reps = 200
    for s in range(reps):
        df, _ = _cohorts(n_per_year=300, years=tuple(range(2014, 2024)), slope=0.0,
                         shock_sd=0.03, seed=s)
        hist = df[df.year < 2023]
        p0, v, tau2, _ = project_baseline(hist.reoffended.to_numpy(float),
                                          hist.year.to_numpy(float), 2023.0, "none")
        y1 = df.loc[df.year == 2023, "reoffended"]
        se = np.sqrt(v + tau2 + p0 * (1 - p0) / y1.size)
        # the programme has no effect here: the cohort's observed rate is its non-intervention rate
        hits += abs(y1.mean() - p0) < 1.96 * se
    assert 0.90 <= hits / reps <= 0.99


def test_without_period_uses_comparison_rows_as_history() -> None:
    sim = load_reoffending()
    r = estimate(Cohort(sim.data, **sim.cohort_args), method="baseline")
    d = sim.data
    e = r.estimate_for("reoffended")
    assert e.non_intervention == pytest.approx(d.loc[d.treated == 0, "reoffended"].mean())
    assert any("Fewer than three historical periods" in n for n in r.info["notes"])


def test_errors() -> None:
    with pytest.raises(OptionError, match="`trend` must be one of 'none', 'linear', 'logistic'"):
        HistoricalBaseline(trend="quadratic")
    sim = load_reoffending()
    c = Cohort(sim.data, **sim.cohort_args)
    with pytest.raises(OptionError, match="`trend`='linear' needs the cohort's `period`"):
        HistoricalBaseline(trend="linear").fit(c)
    fam = load_families()
    cf = Cohort(fam.data, **fam.cohort_args)
    with pytest.raises(OptionError, match="needs at least two historical periods; found 1"):
        HistoricalBaseline(trend="linear").fit(cf)
    with pytest.raises(OptionError, match="`programme_period` must be one of 0, 1; got 5"):
        HistoricalBaseline(programme_period=5).fit(cf)
    df, _ = _cohorts()
    df["visits"] = np.arange(len(df)) % 4
    c2 = Cohort(df, treatment="programme", outcome="visits", covariates=["age"], unit_id="id",
                period="year")
    with pytest.raises(OptionError, match="'logistic' needs a binary .* 'visits' is count"):
        HistoricalBaseline(trend="logistic").fit(c2)


def test_cohort_intervals_use_the_prediction_error_once() -> None:
    # With earlier cohorts as the history, non_intervention_se is already a prediction
    # error for the cohort's own rate; the default intervals must not add the cohort's
    # noise a second time.
    rng = np.random.default_rng(4)
    d = pd.DataFrame({"treated": np.r_[np.zeros(800), np.ones(300)].astype(int),
                      "y": rng.binomial(1, 0.3, 1100)})
    res = HistoricalBaseline().fit(Cohort(d, treatment="treated", outcome="y",
                                          covariates=[], min_treated=30))
    e = res.estimates[0]
    assert e.cohort_std_error == e.non_intervention_se
    f = res.to_frame().set_index("outcome")
    assert f.loc["y", "std_error"] == pytest.approx(e.non_intervention_se)


def test_own_history_uses_the_paired_difference() -> None:
    # The same people before and after: the cohort-target SE is the paired difference's
    # (families scenario, two periods: history = the cohort's own period 0).
    from pbr_eval.datasets import simulate

    sim = simulate("families", n_treated=300, n_comparison=3000, seed=3,
                   outcome={o: {"trend": 0.0} for o in ("attendance_rate", "youth_offending",
                                                         "adult_employed")})
    d = sim.data
    res = HistoricalBaseline().fit(Cohort(d, **sim.cohort_args))
    tr = d[d["treated"] == 1].pivot(index="family_id", columns="period",
                                    values="attendance_rate")
    change = (tr[1] - tr[0]).to_numpy()
    e = res.estimate_for("attendance_rate")
    want = np.std(change, ddof=1) / np.sqrt(change.size)  # tau2 = 0 with one history period
    assert e.cohort_std_error == pytest.approx(want, rel=1e-12)
    assert e.cohort_std_error < 0.7 * e.non_intervention_se  # attendance persists over years
    assert res.info["projection"]["attendance_rate"]["paired_units"] == 300


def test_projecting_a_trend_needs_the_target_period():
    y = np.array([0.2, 0.3, 0.25, 0.35])
    with pytest.raises(OptionError, match="`target_period` is needed to project a trend"):
        project_baseline(y, np.array([1.0, 1.0, 2.0, 2.0]), None, "linear")
