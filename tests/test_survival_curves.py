"""Time-to-event outcomes: the Cohort role's checks, and weighted Kaplan-Meier curves and
restricted means equal to R survival (tests/reference/r_survival)."""

from __future__ import annotations

import importlib.util
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import pbr_eval
from pbr_eval.datasets import load_reoffending_time, simulate_reoffending_time
from pbr_eval.exceptions import OptionError, TimeToEventError
from pbr_eval.survival import follow_up, kaplan_meier, weighted_curves

ROOT = Path(__file__).resolve().parents[1]
REF = ROOT / "tests" / "reference" / "r_survival"
TOL = 1e-8


def _module(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def ref_inputs():
    return _module(REF / "make_weights.py", "r_survival_make_weights")


@pytest.fixture(scope="module")
def cohorts(ref_inputs) -> dict[str, pbr_eval.Cohort]:
    return {"sim": ref_inputs.sim_cohort(), "rossi": ref_inputs.rossi_cohort()}


@pytest.fixture(scope="module")
def r_curves() -> pd.DataFrame:
    return pd.read_csv(REF / "km_curves.csv")


@pytest.fixture(scope="module")
def r_rmst() -> pd.DataFrame:
    return pd.read_csv(REF / "rmst.csv")


def _cases() -> list[tuple[str, str, str]]:
    out = []
    for name in ("sim", "rossi"):
        methods = pd.read_csv(REF / f"weights_{name}.csv", nrows=0).columns.drop("row")
        out += [(name, m, g) for m in ["unweighted", *methods] for g in ("treated", "comparison")]
    return out


@pytest.mark.parametrize(("dataset", "method", "group"), _cases(),
                         ids=["-".join(c) for c in _cases()])
def test_weighted_km_and_rmst_equal_r_survival(cohorts, r_curves, r_rmst, dataset, method, group):
    cohort = cohorts[dataset]
    assert list(cohort.index) == list(range(cohort.n))  # R reads the rows in the same order
    weights = pd.read_csv(REF / f"weights_{dataset}.csv")
    w = np.ones(cohort.n) if method == "unweighted" else weights[method].to_numpy()
    observed, without = weighted_curves(cohort, w)
    curve = observed if group == "treated" else without
    r = r_curves[(r_curves.dataset == dataset) & (r_curves.method == method)
                 & (r_curves.group == group)]
    events = r[r.n_event > 0]
    np.testing.assert_allclose(curve.times, events.time, rtol=0, atol=0)
    np.testing.assert_allclose(curve.at_risk, events.n_risk, rtol=TOL, atol=0)
    np.testing.assert_allclose(curve.events, events.n_event, rtol=TOL, atol=0)
    np.testing.assert_allclose(curve.survival, events.surv, rtol=0, atol=TOL)
    # between event times too (R lists censoring times as well)
    np.testing.assert_allclose(curve.at(r.time.to_numpy()), r.surv, rtol=0, atol=TOL)
    rm = r_rmst[(r_rmst.dataset == dataset) & (r_rmst.method == method)
                & (r_rmst.group == group)]
    assert len(rm) == 2
    for horizon, value in zip(rm.horizon, rm.rmean, strict=True):
        assert curve.rmst(float(horizon)) == pytest.approx(value, rel=0, abs=TOL)


@pytest.mark.parametrize("dataset", ["sim", "rossi"])
def test_reference_weights_are_what_pbr_eval_gives(ref_inputs, cohorts, dataset):
    """The R reference used pbr_eval's weights: they must still be today's."""
    methods = ref_inputs.SIM_METHODS if dataset == "sim" else ref_inputs.ROSSI_METHODS
    fresh = ref_inputs.weights(cohorts[dataset], methods)
    committed = pd.read_csv(REF / f"weights_{dataset}.csv")
    for m in methods:
        np.testing.assert_allclose(fresh[m].to_numpy(), committed[m].to_numpy(),
                                   rtol=1e-10, atol=1e-12, err_msg=m)


def test_weights_from_results_series_and_array_agree(cohorts):
    cohort = cohorts["rossi"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = pbr_eval.estimate(cohort, method="ipw")
    a = weighted_curves(cohort, res)[1]
    b = weighted_curves(cohort, res.weights)[1]
    c = weighted_curves(cohort, res.weights.to_numpy())[1]
    assert a.rmst(52) == b.rmst(52) == c.rmst(52)
    assert a.rmst(52) != weighted_curves(cohort)[1].rmst(52)  # the weights matter


@pytest.mark.parametrize(("weights", "match"), [
    (np.ones(5), r"one weight per cohort row \(432\); got 5"),
    (-np.ones(432), "non-negative; got negative"),
    (pd.Series(1.0, index=range(10)), "422 row\\(s\\) have none"),
])
def test_bad_weights(cohorts, weights, match):
    with pytest.raises(OptionError, match=match):
        weighted_curves(cohorts["rossi"], weights)


def test_results_without_weights(cohorts):
    class NoWeights:
        weights = None

    with pytest.raises(OptionError, match="got results without weights"):
        weighted_curves(cohorts["rossi"], NoWeights())


def test_cohort_without_time_to_event():
    sim = pbr_eval.datasets.load_reoffending()
    cohort = pbr_eval.Cohort(sim.data, **sim.cohort_args)
    with pytest.raises(OptionError, match="has no time-to-event outcome"):
        weighted_curves(cohort)


# ------------------------------------------------------------------ the Cohort role
def _frame(**cols) -> pd.DataFrame:
    base = {"t": [1, 1, 1, 0, 0, 0], "x": [1.0, 2, 3, 2, 4, 5]}
    base.update(cols)
    return pd.DataFrame(base)


def _cohort(frame: pd.DataFrame, **spec) -> pbr_eval.Cohort:
    return pbr_eval.Cohort(frame, treatment="t", covariates=["x"], min_treated=1,
                           time_to_event={"y": pbr_eval.TimeToEvent(**spec)})


DATES = dict(start="released", event_date="event_on", end="ended", window=100)


def _dated(**over) -> pd.DataFrame:
    cols = {"released": ["2024-01-01"] * 6,
            "event_on": ["2024-01-11", None, "2024-02-10", None, "2024-01-21", None],
            "ended": ["2024-06-01", "2024-03-01", "2024-06-01", "2024-06-01", "2024-06-01",
                      "2024-06-01"]}
    cols.update(over)
    return _frame(**cols)


def test_times_from_dates():
    cohort = _cohort(_dated(), **DATES)
    time, event = cohort.time_event("y")
    assert time.tolist() == [10, 60, 40, 152, 20, 152]
    assert event.tolist() == [1, 0, 1, 0, 1, 0]
    time, event = follow_up(cohort)
    assert time.tolist() == [10, 60, 40, 100, 20, 100]  # cut at the window
    weeks = _cohort(_dated(), **{**DATES, "unit": "weeks", "window": 14})
    assert weeks.time_event("y")[0][0] == pytest.approx(10 / 7)


def test_negative_times_are_typed_errors():
    with pytest.raises(TimeToEventError,
                       match=r"1 negative time\(s\) \('event_on' or 'ended' before `start` "
                             r"column 'released'; e.g. -9 days\)"):
        _cohort(_dated(event_on=["2023-12-23", None, None, None, None, None]), **DATES)
    with pytest.raises(TimeToEventError, match=r"negative time\(s\) \(`time` column 'days'"):
        _cohort(_frame(days=[5, -2, 10, 120, 130, 140], ev=[1, 0, 1, 0, 0, 0]),
                time="days", event="ev", window=100)


def test_events_after_the_end_of_follow_up_are_typed_errors():
    with pytest.raises(TimeToEventError,
                       match=r"1 event\(s\) after the end of follow-up \(`event_date` column "
                             r"'event_on' later than `end` column 'ended'\)"):
        _cohort(_dated(event_on=["2024-01-11", "2024-03-05", None, None, None, None]), **DATES)


def test_window_nobody_is_followed_for_is_a_typed_error():
    with pytest.raises(TimeToEventError,
                       match=r"window of 200 days is longer than anyone in the comparison "
                             r"pool is followed \(the longest follow-up is 152 days"):
        _cohort(_dated(), **{**DATES, "window": 200})


@pytest.mark.parametrize(("cols", "spec", "match"), [
    ({"released": ["2024-01-01"] * 5 + ["not a date"]}, DATES,
     r"column 'released' has 1 value\(s\) that are not dates \(e.g. 'not a date'\)"),
    ({"released": [1.0] * 6}, DATES, "column 'released' must hold dates; found numbers"),
])
def test_date_columns_that_are_not_dates(cols, spec, match):
    with pytest.raises(TimeToEventError, match=match):
        _cohort(_dated(**cols), **spec)


@pytest.mark.parametrize(("cols", "match"), [
    ({"days": [5, 2, 10, 120, 130, 140], "ev": [1, 2, 1, 0, 0, 0]},
     r"`event` column 'ev' must hold 1 .* found 2"),
    ({"days": ["a", "b", "c", "d", "e", "f"], "ev": [1, 0, 1, 0, 0, 0]},
     "`time` column 'days' must hold numbers"),
    ({"days": [5, np.inf, 10, 120, 130, 140], "ev": [1, 0, 1, 0, 0, 0]},
     "infinite"),
])
def test_time_and_event_columns_checked(cols, match):
    with pytest.raises(pbr_eval.PbrEvalError, match=match):
        _cohort(_frame(**cols), time="days", event="ev", window=100)


@pytest.mark.parametrize(("spec", "match"), [
    ({"window": 10, "time": "d"}, "with `time` needs `event`"),
    ({"window": 10, "time": "d", "event": "e", "start": "s"}, "got both"),
    ({"window": 10, "start": "s", "event_date": "e"}, "needs `end`"),
    ({"window": 10}, "got neither `time` nor `start`"),
    ({"window": -1, "time": "d", "event": "e"}, "`window` must be a positive number"),
    ({"window": 10, "time": "d", "event": "e", "unit": "years"}, "`unit` must be one of"),
])
def test_specification_errors(spec, match):
    with pytest.raises(OptionError, match=match):
        pbr_eval.TimeToEvent(**spec)


def test_time_to_event_column_cannot_be_a_covariate():
    with pytest.raises(OptionError, match="Column 'x' of `time_to_event\\['y'\\]` is also"):
        _cohort(_frame(ev=[1, 0, 1, 0, 0, 0]), time="x", event="ev", window=3)


def test_check_collects_time_to_event_problems():
    frame = _dated(event_on=["2023-12-23", "2024-03-05", None, None, None, None])
    check = pbr_eval.Cohort.check(frame, treatment="t", covariates=["x"], min_treated=1,
                                  time_to_event={"y": DATES})
    kinds = [type(e).__name__ for e in check.errors]
    assert kinds.count("TimeToEventError") == 2, check.errors


def test_roles_round_trip_and_subsets_keep_the_outcome():
    cohort = _cohort(_dated(), **DATES)
    roles = cohort.roles()
    assert roles["time_to_event"] == {"y": {**DATES, "window": 100.0, "unit": "days"}}
    rebuilt = pbr_eval.Cohort(_dated(), **{**roles, "min_treated": 1})
    assert rebuilt.time_event("y")[0].tolist() == cohort.time_event("y")[0].tolist()


# ------------------------------------------------------------------ the shipped data
def test_shipped_file_matches_the_simulator():
    make = _module(ROOT / "data" / "make_time_to_event.py", "make_time_to_event")
    text = make.build()
    for folder in (ROOT / "data", ROOT / "pbr_eval" / "datasets" / "_data"):
        assert (folder / "reoffending_time.csv").read_text(encoding="utf-8") == text, (
            f"{folder.name}/reoffending_time.csv is stale: run python data/make_time_to_event.py")
    sim = load_reoffending_time()
    fresh = simulate_reoffending_time()
    pd.testing.assert_frame_equal(sim.truth, fresh.truth)
    assert sim.params == fresh.params
    assert 0.27 < sim.params["share_censored_in_window"] < 0.33


def test_simulated_truth_is_what_the_data_show():
    """With many participants their Kaplan-Meier curve is the true observed curve (within
    4 Greenwood SEs), and the comparison curve weighted by the true-model IPW the
    non-intervention curve."""
    sim = simulate_reoffending_time(n_treated=6_000, n_comparison=20_000, seed=7)
    cohort = pbr_eval.Cohort(sim.data, **sim.cohort_args)
    time, event = follow_up(cohort)
    k = kaplan_meier(time[cohort.t], event[cohort.t])
    grid = np.array([30, 90, 180, 365])
    greenwood = np.concatenate([[0.0], np.cumsum(k.events / (k.at_risk * (k.at_risk - k.events)))])
    se = k.at(grid) * np.sqrt(greenwood[k.index(grid) + 1])
    truth = sim.curves.set_index("day").loc[grid, "observed"].to_numpy()
    assert np.all(np.abs(k.at(grid) - truth) < 4 * se)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = pbr_eval.estimate(cohort, method="ipw")
    without = weighted_curves(cohort, res)[1]
    t0 = sim.truth.loc["window_probability", "non_intervention"]
    assert abs((1 - without.at(365)) - t0) < 0.02
    assert abs((1 - k.at(365)) - sim.truth.loc["window_probability", "observed"]) < 0.02


# ------------------------------------------------------------------ influence functions
def test_km_influence_is_the_case_weight_derivative():
    """km_influence (survival at grid times, and the RMST) is w_i times the derivative of the
    estimate in unit i's weight: checked by central differences, with ties and weights."""
    from pbr_eval.survival.km import km_influence

    rng = np.random.default_rng(5)
    n = 60
    time = np.ceil(rng.exponential(8.0, n))
    event = (rng.random(n) < 0.7).astype(float)
    time[0], event[0] = 100.0, 0.0  # someone followed beyond the grid: the curve stays above 0
    w = rng.uniform(0.2, 3.0, n)
    grid = np.array([0.0, 2.0, 5.0, 9.0, 14.0])
    horizon = 12.0

    def estimate(weights):
        k = kaplan_meier(time, event, weights)
        return np.concatenate([k.at(grid), [k.rmst(horizon)]])

    phi = km_influence(kaplan_meier(time, event, w), time, event, w, grid, horizon)
    assert np.isfinite(phi).all()  # the curve stays above 0 up to the last grid time
    h = 1e-6
    for i in range(n):
        up, down = w.copy(), w.copy()
        up[i] += h
        down[i] -= h
        num = w[i] * (estimate(up) - estimate(down)) / (2 * h)
        ok = np.isfinite(phi[i])
        np.testing.assert_allclose(phi[i][ok], num[ok], rtol=1e-5, atol=1e-8, err_msg=str(i))
