"""Difference-in-differences ("did"): PanelOLS reference, closed form, truth, event study, errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pbr_eval import Cohort, estimate
from pbr_eval.datasets import load_families, load_reoffending, simulate
from pbr_eval.estimators.did import DifferenceInDifferences
from pbr_eval.exceptions import EstimationError, OptionError, PreTrendWarning

PANEL = json.loads((Path(__file__).parent / "reference" / "statsmodels" /
                    "panelols.json").read_text())["results"]


@pytest.mark.parametrize(
    "ref", PANEL, ids=[f"{r['outcome']}-{r['model']}-{r['se']}" for r in PANEL])
def test_matches_panelols(ref: dict) -> None:
    sim = load_families()
    c = Cohort(sim.data, **{**sim.cohort_args, "outcome": [ref["outcome"]]})
    r = DifferenceInDifferences(model=ref["model"], se=ref["se"]).fit(c)
    e = r.estimate_for(ref["outcome"])
    b = ref["params"]["treated_x_post"]
    assert e.effect == pytest.approx(b, rel=1e-8, abs=1e-12)
    assert e.std_error == pytest.approx(ref["std_errors"]["treated_x_post"], rel=1e-8)
    if ref["model"] == "2x2":
        assert e.non_intervention == pytest.approx(ref["non_intervention"], rel=1e-8)
        assert e.non_intervention_se == pytest.approx(ref["non_intervention_se"], rel=1e-8)


def test_effect_is_difference_of_four_means() -> None:
    sim = load_families()
    d = sim.data
    r = estimate(Cohort(d, **sim.cohort_args), method="did")
    for name in sim.truth.index:
        m = d.groupby(["treated", "period"])[name].mean()
        did = (m[1, 1] - m[1, 0]) - (m[0, 1] - m[0, 0])
        e = r.estimate_for(name)
        assert e.effect == pytest.approx(did, abs=1e-10)
        assert e.observed == pytest.approx(m[1, 1])
        assert e.non_intervention == pytest.approx(m[1, 0] + m[0, 1] - m[0, 0], abs=1e-10)
        assert e.naive_comparison == pytest.approx(m[0, 1])


@pytest.mark.parametrize("adjust", ["none", "ipw", "entropy"])
def test_near_truth_where_naive_is_not(adjust: str) -> None:
    sim = simulate("families", n_treated=2000, n_comparison=15000, seed=31)
    args = {**sim.cohort_args, "outcome": ["attendance_rate"]}
    r = estimate(Cohort(sim.data, **args), method="did", adjust=adjust, se="unit")
    f = r.to_frame().set_index("outcome")
    name = "attendance_rate"  # parallel trends hold exactly on the continuous scale
    truth = sim.truth.loc[name]
    est, se = f.loc[name, "non_intervention"], f.loc[name, "non_intervention_se"]
    assert abs(est - truth["non_intervention"]) < 3.5 * se
    assert abs(truth["naive_comparison"] - truth["non_intervention"]) > 6 * se
    if adjust != "none":
        assert r.info["adjustment"]["method"] == adjust
        assert r.balance.max_abs_smd_after < 0.05


def _multi_period(pretrend: float, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n1, n0, periods = 200, 600, [2019, 2020, 2021, 2022]
    rows = []
    for i in range(n1 + n0):
        treated = int(i < n1)
        x = rng.normal()
        u = rng.normal()
        for k, p in enumerate(periods):
            y = 10 + u + x + 0.5 * k + (pretrend * k if treated else 0.0)
            y += (2.0 if treated and p == 2022 else 0.0) + rng.normal(scale=0.5)
            rows.append((f"u{i}", p, treated, x, y, f"LA{i % 15}"))
    return pd.DataFrame(rows, columns=["id", "year", "t", "x", "y", "la"])


def test_event_study_and_no_pretrend_warning() -> None:
    df = _multi_period(0.0)
    c = Cohort(df, treatment="t", outcome="y", covariates=["x"], unit_id="id", period="year")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", PreTrendWarning)
        r = DifferenceInDifferences(model="twfe").fit(c)
    table = r.extras["event_study"]["y"]
    assert list(table["period"]) == [2019, 2020, 2022]
    pre = table[table["pre_period"]]
    assert (pre["coef"].abs() < 4 * pre["std_error"]).all()
    post = table.loc[table["period"] == 2022].iloc[0]
    assert post["coef"] == pytest.approx(2.0, abs=4 * post["std_error"])
    assert r.info["pre_trend_test"]["y"]["df"] == 2
    assert r.info["pre_periods"] == [2019, 2020, 2021]


def test_pretrend_warns() -> None:
    df = _multi_period(0.3)
    c = Cohort(df, treatment="t", outcome="y", covariates=["x"], unit_id="id", period="year",
               cluster="la")
    with pytest.warns(PreTrendWarning, match="Pre-programme trends differ.*y"):
        r = DifferenceInDifferences(model="twfe").fit(c)
    assert r.info["pre_trend_test"]["y"]["p_value"] < 0.05
    assert any("parallel-trends" in n for n in r.info["notes"])


def test_errors() -> None:
    with pytest.raises(OptionError, match="`model` must be one of '2x2', 'twfe'; got 'fe'"):
        DifferenceInDifferences(model="fe")
    with pytest.raises(OptionError, match="`adjust` must be one of 'none', 'ipw'"):
        DifferenceInDifferences(adjust="psm")
    sim = load_reoffending()
    with pytest.raises(OptionError, match="needs before/after data.*`period`"):
        DifferenceInDifferences().fit(Cohort(sim.data, **sim.cohort_args))
    fam = load_families()
    c = Cohort(fam.data, **fam.cohort_args)
    with pytest.raises(OptionError, match="`post` must be one of the periods after the first"):
        DifferenceInDifferences(post=0).fit(c)
    c2 = Cohort(fam.data, **{**fam.cohort_args, "cluster": None})
    with pytest.raises(OptionError, match="`se='cluster'` needs a cohort built with `cluster`"):
        DifferenceInDifferences(se="cluster").fit(c2)
    d = fam.data[~((fam.data["treated"] == 1) & (fam.data["period"] == 0))]
    with pytest.raises(EstimationError, match="No treated rows in the pre-programme"):
        DifferenceInDifferences().fit(Cohort(d, **fam.cohort_args))


@pytest.mark.parametrize("model", ["2x2", "twfe"])
def test_cohort_interval_uses_the_effect_se(model: str) -> None:
    """The cohort's observed rate is known, so its own non-intervention rate has the
    effect's SE (which, clustered by unit, counts the treated units' own noise);
    target="expected" keeps the SE of b0 + b_treated + b_post."""
    sim = load_families()
    r = DifferenceInDifferences(model=model).fit(Cohort(sim.data, **sim.cohort_args))
    f = r.to_frame().set_index("outcome")
    g = r.to_frame(target="expected").set_index("outcome")
    for e in r.estimates:
        assert e.cohort_std_error == e.std_error
        assert f.loc[e.outcome, "non_intervention_se"] == pytest.approx(e.std_error)
        assert f.loc[e.outcome, "std_error"] == pytest.approx(e.std_error)
        assert g.loc[e.outcome, "non_intervention_se"] == pytest.approx(e.non_intervention_se)


def test_few_clusters_switch_to_the_wild_cluster_bootstrap() -> None:
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location(
        "vdfc", Path(__file__).parents[1] / "benchmarks" / "validate_did_few_clusters.py")
    assert spec is not None and spec.loader is not None
    vdfc = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(vdfc)
    c = Cohort(vdfc.panel(np.random.default_rng(3)), treatment="treated", outcome="y",
               covariates=[], unit_id="person", period="period", cluster="area", min_treated=1)
    auto = estimate(c, method="did", post=4)
    crv = estimate(c, method="did", post=4, se="cluster")
    few = auto.info["few_clusters"]["y"]
    assert few["n_clusters"] == 12 and few["full_enumeration"] and few["n_draws"] == 4096
    assert "wild cluster restricted bootstrap" in auto.estimates[0].se_method
    assert any("Only 12 clusters" in n for n in auto.info["notes"])
    assert auto.estimates[0].effect == crv.estimates[0].effect
    assert few["crv_std_error"] == pytest.approx(crv.estimates[0].std_error, rel=1e-8)
    # the implied SE spans the bootstrap's interval at 95%
    assert 2 * 1.959964 * auto.estimates[0].std_error == pytest.approx(
        few["upper"] - few["lower"], rel=1e-6)
    off = estimate(c, method="did", post=4, few_clusters=0)
    assert "few_clusters" not in off.info
    assert off.estimates[0].std_error == crv.estimates[0].std_error


@pytest.mark.slow
def test_reduced_coverage_few_clusters() -> None:
    """12 areas, 80 panels: the automatic wild bootstrap covers at least as often as CRV1.

    The full study is benchmarks/validate_did_few_clusters.py; this guard fails below 0.85.
    """
    import importlib.util
    import warnings
    from pathlib import Path

    spec = importlib.util.spec_from_file_location(
        "vdfc", Path(__file__).parents[1] / "benchmarks" / "validate_did_few_clusters.py")
    assert spec is not None and spec.loader is not None
    vdfc = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(vdfc)
    rng = np.random.default_rng(77)
    ok_w, ok_c = [], []
    for _ in range(80):
        c = Cohort(vdfc.panel(rng), treatment="treated", outcome="y", covariates=[],
                   unit_id="person", period="period", cluster="area", min_treated=1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PreTrendWarning)
            for se, ok in (("auto", ok_w), ("cluster", ok_c)):
                f = estimate(c, method="did", post=4, se=se).to_frame().iloc[0]
                ok.append(f["ci_lower"] <= vdfc.EFFECT <= f["ci_upper"])
    assert np.mean(ok_w) >= 0.85 and np.mean(ok_w) >= np.mean(ok_c), (np.mean(ok_w),
                                                                      np.mean(ok_c))
