"""Tests of pbr_eval.datasets: simulators with known truth and the shipped files."""

from __future__ import annotations

import hashlib
import importlib.util
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from pbr_eval.datasets import (
    SCENARIOS,
    Simulation,
    load_families,
    load_reoffending,
    simulate,
)
from pbr_eval.exceptions import OptionError

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"
PACKAGE_DATA = ROOT / "pbr_eval" / "datasets" / "_data"

TRUTH_COLUMNS = ["observed", "non_intervention", "effect", "naive_comparison", "outcome_type"]


def _last_period(sim: Simulation) -> pd.DataFrame:
    period = sim.cohort_args["period"]
    if period is None:
        return sim.data
    return sim.data[sim.data[period] == sim.data[period].max()]


@pytest.fixture(scope="module", params=SCENARIOS)
def small(request: pytest.FixtureRequest) -> Simulation:
    return simulate(request.param, n_treated=300, n_comparison=2000, seed=7)


@pytest.fixture(scope="module")
def make_data():
    spec = importlib.util.spec_from_file_location("make_data", DATA / "make_data.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def built(make_data) -> dict[str, str]:
    return make_data.build()


# --------------------------------------------------------------------- simulate
def test_scenarios_listed():
    assert SCENARIOS == ("areas", "families", "reoffending")


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_same_seed_same_data(scenario):
    a = simulate(scenario, n_treated=200, n_comparison=1000, seed=3)
    b = simulate(scenario, n_treated=200, n_comparison=1000, seed=3)
    pd.testing.assert_frame_equal(a.data, b.data)
    pd.testing.assert_frame_equal(a.truth, b.truth)
    assert a.params == b.params
    c = simulate(scenario, n_treated=200, n_comparison=1000, seed=4)
    assert not a.data.equals(c.data)


@pytest.mark.parametrize("scenario", SCENARIOS)
@pytest.mark.parametrize(("n_treated", "n_comparison"), [(1, 1), (250, 40), (37, 4000)])
def test_exact_group_sizes(scenario, n_treated, n_comparison):
    sim = simulate(scenario, n_treated=n_treated, n_comparison=n_comparison, seed=0)
    unit, treat = sim.cohort_args["unit_id"], sim.cohort_args["treatment"]
    units = sim.data.drop_duplicates(unit)
    assert int((units[treat] == 1).sum()) == n_treated
    assert int((units[treat] == 0).sum()) == n_comparison
    assert sim.params["n_treated"] == n_treated
    assert sim.params["n_comparison"] == n_comparison


def test_structure(small):
    sim = small
    assert isinstance(sim, Simulation)
    args = sim.cohort_args
    assert set(args) == {"treatment", "outcome", "covariates", "unit_id", "cluster", "period"}
    roles = [args["treatment"], *args["outcome"], *args["covariates"], args["unit_id"]]
    roles += [args["cluster"]] + ([args["period"]] if args["period"] else [])
    assert set(roles) <= set(sim.data.columns)
    assert list(sim.truth.columns[:5]) == TRUTH_COLUMNS
    assert list(sim.truth.index) == args["outcome"]
    assert sim.truth.index.name == "outcome"
    assert set(sim.truth["outcome_type"]) <= {"binary", "count", "continuous"}
    assert not sim.data.isna().any().any()
    assert set(sim.data[args["treatment"]].unique()) == {0, 1}
    with pytest.raises(AttributeError):
        sim.seed = 2  # frozen


def test_unit_ids(small):
    sim = small
    unit, period = sim.cohort_args["unit_id"], sim.cohort_args["period"]
    if period is None:
        assert sim.data[unit].is_unique
    else:
        assert not sim.data.duplicated([unit, period]).any()
        assert (sim.data.groupby(unit)[period].nunique() == 2).all()
        # treatment and covariates constant within a household
        const = [sim.cohort_args["treatment"], *sim.cohort_args["covariates"]]
        assert (sim.data.groupby(unit)[const].nunique() == 1).all().all()


def test_truth_consistent(small):
    sim = small
    last = _last_period(sim)
    treated = last[sim.cohort_args["treatment"]] == 1
    for outcome, row in sim.truth.iterrows():
        assert row["observed"] == pytest.approx(last.loc[treated, outcome].mean(), abs=1e-12)
        assert row["naive_comparison"] == pytest.approx(
            last.loc[~treated, outcome].mean(), abs=1e-12
        )
        assert row["effect"] == pytest.approx(row["observed"] - row["non_intervention"])


def test_families_pre_period():
    sim = simulate("families", n_treated=300, n_comparison=2000, seed=1)
    pre = sim.data[sim.data["period"] == 0]
    treated = pre["treated"] == 1
    for outcome, row in sim.truth.iterrows():
        assert row["pre_mean"] == pytest.approx(pre.loc[treated, outcome].mean())
        assert row["pre_comparison"] == pytest.approx(pre.loc[~treated, outcome].mean())


def test_outcome_ranges():
    reo = simulate("reoffending", n_treated=500, n_comparison=5000, seed=2).data
    assert set(reo["reoffended"].unique()) <= {0, 1}
    assert (reo["reconviction_events"] >= reo["reoffended"]).all()
    assert (reo.loc[reo["reoffended"] == 0, "reconviction_events"] == 0).all()
    assert reo["age"].between(18, 70).all()
    assert set(reo["sex"]) == {"F", "M"}
    assert set(reo["offence_type"]) == {"acquisitive", "drugs", "motoring", "other", "violence"}
    fam = simulate("families", n_treated=500, n_comparison=5000, seed=2).data
    assert fam["attendance_rate"].between(0, 100).all()
    assert fam["deprivation_decile"].between(1, 10).all()
    assert fam["lone_parent"].dtype == bool


def test_realistic_levels():
    sim = simulate("reoffending", n_treated=5000, n_comparison=50_000, seed=11)
    truth = sim.truth
    assert 0.25 < truth.loc["reoffended", "naive_comparison"] < 0.45
    assert 0.8 < truth.loc["reconviction_events", "naive_comparison"] < 2.0


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_zero_effect(scenario):
    sim = simulate(scenario, n_treated=400, n_comparison=400, seed=5, effect=0)
    np.testing.assert_allclose(sim.truth["effect"].to_numpy(dtype=float), 0.0, atol=1e-12)


def test_effect_direction_and_dict():
    sim = simulate(
        "reoffending", n_treated=4000, n_comparison=100, seed=5, effect={"reoffended": -0.5}
    )
    assert sim.params["effect"] == {"reoffended": -0.5, "reconviction_events": -0.2}
    t = sim.truth
    ratio = t.loc["reoffended", "observed"] / t.loc["reoffended", "non_intervention"]
    assert ratio == pytest.approx(0.5, abs=0.05)
    fam = simulate("families", n_treated=4000, n_comparison=100, seed=5, effect=0.0)
    assert fam.params["effect"]["attendance_rate"] == 0.0
    fam = simulate(
        "families", n_treated=4000, n_comparison=100, seed=5, effect={"attendance_rate": 5.0}
    )
    # +5 points for everybody, less where attendance is capped at 100%
    assert 4.0 < fam.truth.loc["attendance_rate", "effect"] <= 5.0


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_naive_comparison_is_biased(scenario):
    """Naive minus truth exceeds 5 standard errors of the naive mean."""
    sim = simulate(scenario, n_treated=1000, n_comparison=10_000, seed=0)
    last = _last_period(sim)
    comparison = last[last["treated"] == 0]
    for outcome, row in sim.truth.iterrows():
        se = comparison[outcome].std() / np.sqrt(len(comparison))
        assert abs(row["naive_comparison"] - row["non_intervention"]) > 5 * se, outcome


def test_random_assignment_removes_bias():
    sim = simulate(
        "reoffending", n_treated=3000, n_comparison=30_000, seed=0, selection_strength=0, effect=0
    )
    t = sim.truth.loc["reoffended"]
    assert abs(t["naive_comparison"] - t["non_intervention"]) < 0.03


def _design(frame: pd.DataFrame, covariates: list[str]) -> pd.DataFrame:
    x = frame[covariates].copy()
    for col in covariates:
        if x[col].dtype == bool:
            x[col] = x[col].astype(float)
    dummies = pd.get_dummies(x, drop_first=True, dtype=float, prefix_sep="[")
    dummies.columns = [c + "]" if "[" in c else c for c in dummies.columns]
    return sm.add_constant(dummies.astype(float))


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_logistic_selection_recovered(scenario):
    """A logit in the listed covariates recovers the selection slopes (choice-based sample)."""
    sim = simulate(scenario, n_treated=8000, n_comparison=40_000, seed=21)
    last = _last_period(sim)
    x = _design(last, sim.cohort_args["covariates"])
    fit = sm.Logit(last["treated"].to_numpy(), x).fit(disp=0)
    true = sim.params["selection"]
    for name, beta in true.items():
        if name == "intercept":
            est, target = fit.params["const"], sim.params["sample_selection_intercept"]
            se = fit.bse["const"]
        else:
            est, target, se = fit.params[name], beta, fit.bse[name]
        assert abs(est - target) < 4 * se, (name, est, target, se)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_propensity_weighting_recovers_truth(scenario):
    """Odds weights from the correct logit give the non-intervention mean."""
    sim = simulate(scenario, n_treated=5000, n_comparison=50_000, seed=8)
    last = _last_period(sim)
    x = _design(last, sim.cohort_args["covariates"])
    t = last["treated"].to_numpy()
    ps = sm.Logit(t, x).fit(disp=0).predict(x)
    w = (ps / (1 - ps))[t == 0]
    for outcome, row in sim.truth.iterrows():
        y = last[outcome].to_numpy()[t == 0]
        ipw = np.sum(w * y) / np.sum(w)
        sd = np.std(last[outcome])
        assert abs(ipw - row["non_intervention"]) < 0.06 * sd + 1e-9, outcome
        assert (
            abs(ipw - row["non_intervention"])
            < abs(row["naive_comparison"] - row["non_intervention"]) / 2
        ), outcome


def test_families_parallel_trends():
    """DiD on the group means lands on the truth (parallel trends hold)."""
    sim = simulate("families", n_treated=20_000, n_comparison=100_000, seed=4)
    t = sim.truth
    did = t["pre_mean"] + t["naive_comparison"] - t["pre_comparison"]
    sd = {"attendance_rate": 0.15, "youth_offending": 0.01, "adult_employed": 0.012}
    for outcome in t.index:
        assert abs(did[outcome] - t.loc[outcome, "non_intervention"]) < sd[outcome], outcome


def test_params_record_everything():
    sim = simulate(
        "reoffending", n_treated=50, n_comparison=500, seed=1, n_areas=5, selection={"age": 0.05}
    )
    p = sim.params
    assert p["n_areas"] == 5
    assert p["selection"]["age"] == 0.05
    assert p["selection"]["prior_offences"] == -0.15  # untouched default
    assert {
        "population_size",
        "population_treated_share",
        "sample_selection_intercept",
        "effect",
        "outcome",
        "covariates",
        "area_effects",
    } <= set(p)
    assert sim.data["local_authority"].nunique() <= 5
    json.dumps(p)  # plain JSON-able values


def test_repr():
    sim = simulate("families", n_treated=10, n_comparison=20, seed=0)
    assert repr(sim) == (
        "Simulation(scenario='families', seed=0, n_treated=10, n_comparison=20, rows=60)"
    )


def test_fast_large_simulation():
    import time

    # CPU time of this process, not wall time: the CI machine is shared (2 cores, load 20+)
    start = time.process_time()
    sim = simulate("reoffending", n_treated=20_000, n_comparison=200_000, seed=0)
    assert len(sim.data) == 220_000
    assert time.process_time() - start < 3.0


# ------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"scenario": "x"}, r"`scenario` must be one of 'areas', 'families', 'reoffending'; got 'x'\."),
        ({"scenario": 3}, r"`scenario` must be one of 'areas', 'families', 'reoffending'; got 3\."),
        ({"n_treated": -3}, r"`n_treated` must be a positive integer; got -3\."),
        ({"n_treated": 0}, r"`n_treated` must be a positive integer; got 0\."),
        ({"n_treated": 2.5}, r"`n_treated` must be a positive integer; got 2\.5\."),
        ({"n_treated": True}, r"`n_treated` must be a positive integer; got True\."),
        ({"n_comparison": "10"}, r"`n_comparison` must be a positive integer; got '10'\."),
        ({"seed": -1}, r"`seed` must be a non-negative integer; got -1\."),
        ({"seed": None}, r"`seed` must be a non-negative integer; got None\."),
        ({"effect": -1.0}, r"`effect` must lie strictly between -1 and 1 for 'reoffended'"),
        ({"effect": "big"}, r"`effect` must be a finite number; got 'big'\."),
        ({"effect": float("nan")}, r"`effect` must be a finite number; got nan\."),
        (
            {"effect": {"employed": 0.1}},
            r"`effect` has no outcome 'employed'; outcomes are 'reoffended', 'reconviction_events'\.",
        ),
        (
            {"effect": {"reoffended": -2}},
            r"`effect\['reoffended'\]` must lie strictly between -1 and 1; got -2\.",
        ),
        ({"colour": 1}, r"`colour` is not a parameter of this scenario; allowed parameters"),
        ({"selection": {"height": 1.0}}, r"`selection` has no key 'height'; allowed keys are"),
        ({"selection": 1.0}, r"`selection` must be a dict; got 1\.0\."),
        ({"n_areas": 0}, r"`n_areas` must be a positive integer; got 0\."),
        ({"selection_strength": "a"}, r"`selection_strength` must be a finite number; got 'a'\."),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_argument_errors(kwargs, match):
    args = {"scenario": "reoffending", "n_treated": 10, "n_comparison": 10, "seed": 0}
    args.update(kwargs)
    scenario = args.pop("scenario")
    with pytest.raises(OptionError, match=match):
        simulate(scenario, **args)


def test_option_error_is_value_error():
    with pytest.raises(ValueError):
        simulate("nope", n_treated=1, n_comparison=1, seed=0)


# ---------------------------------------------------------------- shipped data
@pytest.mark.parametrize("folder", [DATA, PACKAGE_DATA], ids=["data", "package"])
def test_shipped_files_match_make_data(built, folder):
    for name, text in built.items():
        on_disk = (folder / name).read_bytes()
        assert (
            hashlib.sha256(on_disk).hexdigest() == hashlib.sha256(text.encode("utf-8")).hexdigest()
        ), f"{folder.name}/{name} is stale: run `python data/make_data.py`"


def test_readme_matches_truth(make_data, built):
    readme = (DATA / "README.md").read_text(encoding="utf-8")
    block = make_data.truth_markdown(json.loads(built["truth.json"]))
    assert block in readme, "data/README.md is stale: run `python data/make_data.py`"
    truth = json.loads((DATA / "truth.json").read_text(encoding="utf-8"))
    for record in truth.values():
        assert f"seed {record['seed']}" in readme
        for row in record["truth"].values():
            fmt = "{:.2f}" if row["outcome_type"] == "continuous" else "{:.4f}"
            assert fmt.format(row["non_intervention"]) in readme


def test_data_folder_small():
    total = sum(p.stat().st_size for p in DATA.iterdir() if p.is_file())
    assert total < 5 * 1024**2


@pytest.mark.parametrize(
    ("loader", "stem", "rows"),
    [(load_reoffending, "reoffending", 12_600), (load_families, "families", 17_600)],
    ids=["reoffending", "families"],
)
def test_loaders(make_data, loader, stem, rows):
    sim = loader()
    assert isinstance(sim, Simulation)
    assert len(sim.data) == rows
    args = make_data.DATASETS[stem]
    assert sim.seed == args["seed"]
    fresh = simulate(
        args["scenario"],
        n_treated=args["n_treated"],
        n_comparison=args["n_comparison"],
        seed=args["seed"],
    )
    pd.testing.assert_frame_equal(sim.data, fresh.data, check_dtype=False)
    for col in fresh.data.columns:
        assert sim.data[col].dtype.kind == fresh.data[col].dtype.kind, col
    pd.testing.assert_frame_equal(sim.truth, fresh.truth)
    assert sim.cohort_args == fresh.cohort_args
    assert sim.params["selection"] == fresh.params["selection"]


def test_shipped_reoffending_naive_far_from_truth():
    t = load_reoffending().truth.loc["reoffended"]
    p, n = t["naive_comparison"], 12_000
    half = 1.96 * np.sqrt(p * (1 - p) / n)
    assert p - half - t["non_intervention"] > 0.04
