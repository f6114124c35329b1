"""Staggered difference-in-differences: references, known truth, bootstrap, errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import pbr_eval
from pbr_eval.datasets import simulate_staggered
from pbr_eval.estimators.event_regressions import imputation, sun_abraham, twfe, wave_means
from pbr_eval.estimators.group_time import aggregate, group_time_att, influence_se
from pbr_eval.exceptions import EstimationError, OptionError, TreatmentError
from pbr_eval.inference.multiplier import multiplier_draws, uniform_critical_value
from pbr_eval.results.base import Results
from pbr_eval.results.staggered import StaggeredResults

REF = Path(__file__).parent / "reference" / "staggered"
TOL_ATT = 1e-8  # acceptance: 1e-6; the ports agree with us to about 1e-13
TOL_SE = 1e-8


@pytest.fixture(scope="module")
def mpdta() -> pd.DataFrame:
    return pd.read_csv(REF / "mpdta.csv")


@pytest.fixture(scope="module")
def reference() -> dict:
    return json.loads((REF / "cs_reference.json").read_text())


def _cohort(df: pd.DataFrame) -> pbr_eval.Cohort:
    return pbr_eval.Cohort(df, treatment="treat", outcome="lemp", covariates=["lpop"],
                           unit_id="countyreal", period="year", first_treated="first.treat")


CASES = [(m, c) for m in ("dr", "ipw", "reg") for c in ("never_treated", "not_yet_treated")]


@pytest.mark.parametrize(("model", "comparison"), CASES, ids=[f"{m}-{c}" for m, c in CASES])
@pytest.mark.parametrize("port", ["moderndid", "csdid"])
def test_mpdta_group_time_and_aggregations_equal_two_ports(mpdta, reference, model, comparison,
                                                           port):
    res = pbr_eval.estimate(_cohort(mpdta), method="staggered_did", model=model,
                            comparison=comparison, n_boot=0, cross_checks=False)
    st = res.extras["staggered"]
    ref = reference["cases"][f"{model}_{comparison}"][port]
    f = st.to_frame()
    assert f["group"].tolist() == ref["group"] and f["period"].tolist() == ref["time"]
    np.testing.assert_allclose(f["estimate"], ref["att"], rtol=0, atol=TOL_ATT)
    np.testing.assert_allclose(f["std_error"], ref["se"], rtol=0, atol=TOL_SE)
    names = {"simple": "overall", "group": "by group", "calendar": "by period",
             "dynamic": "by periods since start"}
    agg = st.aggregations()
    for kind, r in ref["agg"].items():
        part = agg[agg["aggregation"] == names[kind]]
        overall = part[part["label"] == "overall"].iloc[0]
        assert overall["estimate"] == pytest.approx(r["overall"], abs=TOL_ATT)
        assert overall["std_error"] == pytest.approx(r["overall_se"], abs=TOL_SE)
        if kind != "simple":
            by = part[part["label"] != "overall"]
            np.testing.assert_allclose(by["estimate"], r["estimate"], rtol=0, atol=TOL_ATT)
            np.testing.assert_allclose(by["std_error"], r["se"], rtol=0, atol=TOL_SE)


def test_mpdta_headline_is_the_simple_aggregation(mpdta, reference):
    res = pbr_eval.estimate(_cohort(mpdta), method="staggered_did", n_boot=0, cross_checks=False)
    e = res.estimates[0]
    r = reference["cases"]["dr_never_treated"]["moderndid"]["agg"]["simple"]
    assert e.effect == pytest.approx(r["overall"], abs=TOL_ATT)
    assert e.std_error == pytest.approx(r["overall_se"], abs=TOL_SE)
    assert e.non_intervention == pytest.approx(e.observed - e.effect)
    # observed: the treated counties' mean log employment over their post-treatment years
    d = mpdta[(mpdta["first.treat"] > 0) & (mpdta["year"] >= mpdta["first.treat"])]
    assert e.observed == pytest.approx(d["lemp"].mean(), abs=1e-12)


@pytest.mark.parametrize("case", ["dr_never_treated_anticipation1", "dr_never_treated_universal"])
def test_mpdta_anticipation_and_universal_base(mpdta, reference, case):
    kw = {"anticipation": 1} if "anticipation" in case else {"base_period": "universal"}
    res = pbr_eval.estimate(_cohort(mpdta), method="staggered_did", n_boot=0, cross_checks=False,
                            **kw)
    st = res.extras["staggered"]
    ref = reference["cases"][case]["moderndid"]  # csdid ignores base_period (see README)
    f = st.to_frame()
    np.testing.assert_allclose(f["estimate"], ref["att"], rtol=0, atol=TOL_ATT)
    keep = f["std_error"] > 0  # the universal base's reference cells: 0 here, NaN there
    np.testing.assert_allclose(f["std_error"][keep], np.asarray(ref["se"])[keep], atol=TOL_SE)
    if "anticipation" in case:
        assert any("first treated in the first period" in d["reason"]
                   for d in res.info["dropped"])  # the 2004 group is counted, not silently lost


def test_diff_diff_agrees_within_its_trimming(mpdta, reference):
    """diff-diff trims propensity scores at 0.01/0.99 (R did: 0.995 for controls only)."""
    res = pbr_eval.estimate(_cohort(mpdta), method="staggered_did", n_boot=0, cross_checks=False)
    ref = reference["cases"]["dr_never_treated"]["diff_diff"]
    np.testing.assert_allclose(res.extras["staggered"].to_frame()["estimate"], ref["att"],
                               atol=1e-5)
    assert res.estimates[0].effect == pytest.approx(ref["overall"], abs=1e-6)


# ----------------------------------------------------------------- known truth
@pytest.fixture(scope="module")
def big_sim():
    return simulate_staggered(n_units=20000, seed=11, trend_x=0.0)


def _wide(sim):
    d = sim.data
    w = d.pivot(index="unit", columns="period", values="y")
    u = d.groupby("unit").first().reindex(w.index)
    ft = u["first_treated"].to_numpy(dtype=float)
    ft[ft == 0] = np.inf
    return w.to_numpy(), ft, np.asarray(w.columns), u


def test_known_truth_cs_sa_bjs_unbiased_twfe_biased(big_sim):
    Y, ft, periods, _ = _wide(big_sim)
    truth = float(big_sim.truth.loc["y", "effect"])
    gt = group_time_att(Y, ft, periods, model="reg")
    a = aggregate(gt, "simple")
    se = influence_se(a.psi(gt))[0]
    assert abs(a.overall - truth) < 4 * se
    wave = np.where(np.isfinite(ft), np.searchsorted(periods, np.where(np.isfinite(ft), ft, 0)),
                    periods.size)
    wm = wave_means(Y, wave)
    for le in (sun_abraham(wm)[1], imputation(wm)[1]):
        s = influence_se(le.psi(wm))[0]
        assert abs(le.estimate[0] - truth) < 4 * s
    tw = twfe(wm)
    assert truth - tw.estimate[0] > 20 * influence_se(tw.psi(wm))[0]  # TWFE: far too small


def test_known_truth_event_study(big_sim):
    Y, ft, periods, _ = _wide(big_sim)
    gt = group_time_att(Y, ft, periods, model="reg", base_period="universal")
    ev = aggregate(gt, "dynamic")
    se = influence_se(ev.psi(gt))[:-1]
    truth = big_sim.event_time.set_index("event_time")["att"].reindex(ev.labels).to_numpy()
    z = (ev.estimate - truth)[se > 0] / se[se > 0]
    assert np.abs(z).max() < 4


def test_covariates_needed_when_trends_depend_on_them():
    sim = simulate_staggered(n_units=8000, seed=5, trend_x=0.8, selection=1.5)
    truth = float(sim.truth.loc["y", "effect"])
    with_x = pbr_eval.estimate(sim.cohort(), method="staggered_did", n_boot=0, cross_checks=False)
    without = pbr_eval.estimate(sim.cohort(covariates=[]), method="staggered_did", n_boot=0,
                                cross_checks=False)
    e1, e0 = with_x.estimates[0], without.estimates[0]
    assert abs(e1.effect - truth) < 3.5 * e1.std_error
    assert abs(e0.effect - truth) > 5 * e0.std_error


# ------------------------------------------------------------- fast paths
@pytest.mark.parametrize("comparison", ["never_treated", "not_yet_treated"])
@pytest.mark.parametrize("model", ["dr", "ipw", "reg"])
def test_blocked_cells_equal_one_cell_at_a_time(model, comparison):
    """group_time_att fits each group's cells together; one did_2x2 per cell gives the same."""
    from pbr_eval.estimators.group_time import _logit, did_2x2

    sim = simulate_staggered(n_units=900, n_periods=7, waves=(3, 5, 6), seed=4)
    d = sim.data.sort_values(["unit", "period"])
    Y = d.pivot(index="unit", columns="period", values="y").to_numpy()
    first = d.groupby("unit")[["first_treated", "x1", "x2"]].first()
    ft = first["first_treated"].replace(0, np.inf).to_numpy(float)
    X = first[["x1", "x2"]].to_numpy()
    periods = np.arange(1, 8)
    gt = group_time_att(Y, ft, periods, X=X, model=model, comparison=comparison, anticipation=1)
    Xc = np.column_stack([np.ones(len(X)), X])
    for k, (g, t, b) in enumerate(gt.info["cells_index"]):
        in_g = ft == periods[g]
        ctrl = ~np.isfinite(ft)
        if comparison == "not_yet_treated":
            ctrl |= (ft > periods[max(t, b)] + 1) & ~in_g
        idx = np.flatnonzero(in_g | ctrl)
        D = in_g[idx]
        ps = None if model == "reg" else _logit(Xc[idx], D, np.ones(idx.size))
        att, psi = did_2x2(Y[idx, t] - Y[idx, b], D, Xc[idx], model=model, ps=ps)
        assert gt.att[k] == pytest.approx(att, abs=1e-12)
        full = np.zeros(len(Y))
        full[idx] = psi * len(Y) / idx.size
        np.testing.assert_allclose(gt.psi[:, k], full, rtol=0, atol=1e-10)


def test_row_order_and_left_out_units_do_not_change_the_estimates():
    """The wide layout is a permutation of the rows: shuffled rows give the same numbers."""
    sim = simulate_staggered(n_units=800, n_areas=20, seed=8)
    d = sim.data
    shuffled = d.sample(frac=1.0, random_state=3)
    shuffled = shuffled[~((shuffled["unit"] == 5) & (shuffled["period"] == 2))]  # unbalanced
    ref = d[d["unit"] != 5]
    kw = {"method": "staggered_did", "n_boot": 199, "seed": 4, "cross_checks": False}
    a = pbr_eval.estimate(pbr_eval.Cohort(ref, **sim.cohort_args), **kw)
    b = pbr_eval.estimate(pbr_eval.Cohort(shuffled, **sim.cohort_args), **kw)
    fa, fb = a.extras["staggered"].to_frame(), b.extras["staggered"].to_frame()
    np.testing.assert_allclose(fb["estimate"], fa["estimate"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(fb["std_error"], fa["std_error"], rtol=1e-9)
    assert b.info["n_units"] == a.info["n_units"] == 799


def test_draws_from_sums_equal_the_summing_front_door():
    from pbr_eval.inference.multiplier import cluster_sums, draws_from_sums

    psi = np.random.default_rng(5).normal(size=(3000, 3))
    cl = np.random.default_rng(6).integers(0, 50, 3000)
    for kind in ("rademacher", "gaussian"):
        a = multiplier_draws(psi, n_boot=99, seed=3, cluster=cl, weights=kind)
        S = cluster_sums(psi, cl)
        b = draws_from_sums(S, n_units=3000, n_boot=99, seed=3, weights=kind)
        np.testing.assert_allclose(b.draws, a.draws, rtol=0, atol=1e-14)
        assert b.n_clusters == a.n_clusters == 50
    g = draws_from_sums(None, n_units=3000, n_boot=99, seed=3, weights="gaussian",
                        gram=S.T @ S, n_clusters=50)
    np.testing.assert_allclose(g.draws, a.draws, rtol=0, atol=1e-12)
    with pytest.raises(OptionError, match="need the summed"):
        draws_from_sums(None, n_units=3000, n_boot=9, seed=1, weights="rademacher")


# ------------------------------------------------------------------- bootstrap
def test_bootstrap_se_close_to_analytic_and_band_wider(mpdta):
    c = _cohort(mpdta)
    an = pbr_eval.estimate(c, method="staggered_did", n_boot=0, cross_checks=False)
    bs = pbr_eval.estimate(c, method="staggered_did", n_boot=999, seed=7, cross_checks=False)
    fa, fb = an.extras["staggered"].to_frame(), bs.extras["staggered"].to_frame()
    np.testing.assert_allclose(fb["std_error"], fa["std_error"], rtol=0.15)
    assert (fb["band_upper"] - fb["band_lower"] > fb["ci_upper"] - fb["ci_lower"]).all()
    assert fa["band_lower"].isna().all()  # no bootstrap, no simultaneous band
    again = pbr_eval.estimate(c, method="staggered_did", n_boot=999, seed=7, cross_checks=False)
    pd.testing.assert_frame_equal(again.extras["staggered"].to_frame(), fb)


def test_gaussian_and_rademacher_weights_agree():
    psi = np.random.default_rng(3).normal(size=(3000, 4)) * [1, 2, 3, 4]
    r = multiplier_draws(psi, n_boot=4000, seed=1, weights="rademacher")
    g = multiplier_draws(psi, n_boot=4000, seed=1, weights="gaussian")
    exact = np.sqrt((psi**2).sum(0)) / 3000
    np.testing.assert_allclose(r.se(), exact, rtol=0.06)
    np.testing.assert_allclose(g.se(), exact, rtol=0.06)
    assert abs(r.critical_value(0.95) - g.critical_value(0.95)) < 0.12


def test_rademacher_draws_do_not_depend_on_tiling(monkeypatch):
    import pbr_eval.inference.multiplier as mult

    psi = np.random.default_rng(4).normal(size=(20000, 3))
    a = multiplier_draws(psi, n_boot=50, seed=9, weights="rademacher").draws
    b = multiplier_draws(psi, n_boot=50, seed=9, weights="rademacher").draws
    np.testing.assert_array_equal(a, b)
    monkeypatch.setattr(mult, "_TILE", 8192)
    c = multiplier_draws(psi, n_boot=50, seed=10, weights="rademacher").draws
    assert not np.allclose(a, c)


def test_cluster_bootstrap_uses_cluster_sums():
    sim = simulate_staggered(n_units=3000, n_areas=40, area_shock_sd=0.6, seed=3)
    res = pbr_eval.estimate(sim.cohort(), method="staggered_did", seed=2, cross_checks=False)
    unit = pbr_eval.estimate(sim.cohort(), method="staggered_did", se="unit", seed=2,
                             cross_checks=False)
    assert res.info["n_clusters"] == 40 and res.info["se"] == "cluster"
    assert res.estimates[0].std_error > 1.5 * unit.estimates[0].std_error


def test_uniform_critical_value_skips_degenerate_columns():
    d = np.random.default_rng(0).normal(size=(5000, 2))
    d[:, 1] = 0.0
    assert uniform_critical_value(d, np.array([1.0, 0.0]), 0.95) == pytest.approx(1.96, abs=0.08)


# ---------------------------------------------------------------- results face
def test_results_round_trip_and_kinds(mpdta):
    res = pbr_eval.estimate(_cohort(mpdta), method="staggered_did", seed=1)
    st = res.extras["staggered"]
    again = Results.from_dict(st.to_dict())
    assert isinstance(again, StaggeredResults)
    assert again.to_dict() == st.to_dict()
    pd.testing.assert_frame_equal(again.event_study(), st.event_study())
    st.schema.check_frame(st.to_frame().columns)
    assert "cross-check" in st.summary() and "e=+3" in st.summary()
    # a band at another level comes from the same draws
    wide = st.to_frame(level=0.99)
    assert (wide["band_upper"] >= st.to_frame()["band_upper"]).all()


def test_non_intervention_per_group_and_period(mpdta):
    res = pbr_eval.estimate(_cohort(mpdta), method="staggered_did", n_boot=0)
    ni = res.extras["staggered"].non_intervention()
    assert len(ni) == 7  # post-treatment cells: 2004 x4, 2006 x2, 2007 x1
    np.testing.assert_allclose(ni["observed"] - ni["non_intervention"], ni["estimate"])


def test_cell_non_intervention_se_closed_form():
    """No covariates, never-treated comparison: NI(g, t) = Ybar_g,base + change in the comparison,
    whose variance is var(Y_g,base) / n_g + var(dY_C) / n_C (n-denominators)."""
    sim = simulate_staggered(n_units=600, seed=11)
    d = sim.data
    res = pbr_eval.estimate(pbr_eval.Cohort(d, treatment="treated", outcome="y", covariates=[],
                                            unit_id="unit", period="period",
                                            first_treated="first_treated"),
                            method="staggered_did", n_boot=0, cross_checks=False)
    ni = res.extras["staggered"].non_intervention().set_index(["group", "period"])
    Y = d.pivot(index="unit", columns="period", values="y")
    first = d.groupby("unit")["first_treated"].first()
    for g, t in [(3, 3), (3, 6), (5, 8), (7, 7)]:
        base = g - 1
        yg = Y.loc[first == g, base]
        dc = (Y.loc[first == 0, t] - Y.loc[first == 0, base])
        want = np.sqrt(yg.var(ddof=0) / len(yg) + dc.var(ddof=0) / len(dc))
        assert ni.loc[(g, t), "non_intervention"] == pytest.approx(yg.mean() + dc.mean(), abs=1e-10)
        assert ni.loc[(g, t), "non_intervention_se"] == pytest.approx(want, rel=1e-10)


def test_a_group_time_cell_feeds_pricing(mpdta):
    sim = simulate_staggered(n_units=800, seed=4)
    st = pbr_eval.estimate(sim.cohort(), method="staggered_did", n_boot=0).extras["staggered"]
    cf = st.counterfactual(group=5, period=7)
    cell = st.non_intervention().query("group == 5 and period == 7").iloc[0]
    row = cf.to_frame().iloc[0]
    assert row["non_intervention"] == cell["non_intervention"]
    assert row["effect"] == cell["estimate"] and row["n_treated"] == cell["n_treated"]
    lo, hi = cf.to_frame(target="expected").iloc[0][["non_intervention_ci_lower", "non_intervention_ci_upper"]]
    assert hi - lo == pytest.approx(2 * 1.959964 * cell["non_intervention_se"], rel=1e-5)
    rec = pbr_eval.price(cf, value_per_outcome=100.0)
    assert len(rec.to_frame()) == 1
    with pytest.raises(OptionError, match="group 5 has periods 5, 6, 7, 8 after its start"):
        st.counterfactual(group=5, period=4)
    with pytest.raises(OptionError, match="the groups are 3, 5, 7"):
        st.counterfactual(group=4, period=6)
    with pytest.raises(OptionError, match="`outcome` must be one of 'y'"):
        st.counterfactual(group=5, period=7, outcome="z")


def test_event_study_figure_withholds_points_on_few_units():
    sim = simulate_staggered(n_units=400, seed=3)
    st = pbr_eval.estimate(sim.cohort(), method="staggered_did", n_boot=199,
                           seed=2).extras["staggered"]
    ev = st.event_study()
    full = st.figure_data("event_study")
    assert full["event_time"] == ev["event_time"].tolist()
    np.testing.assert_allclose(full["band_upper"], ev["band_upper"])
    n = st.units_by_event_time()
    # the longest horizons rest on the first wave only; a threshold above it withholds them
    thr = int(n.loc[n.index.max()]) + 1

    class Policy:
        threshold = thr

    pub = st.figure_data("event_study", policy=Policy())
    hidden = [e for e, v in zip(pub["event_time"], pub["estimate"], strict=True) if v is None]
    assert hidden == [int(e) for e in n.index if n.loc[e] < thr] and hidden
    with pytest.raises(OptionError, match="`outcome` must be one of 'y'"):
        st.figure_data("event_study", outcome="z")


def test_report_section_has_the_event_study_and_the_group_time_levels(tmp_path):
    from openpyxl import load_workbook

    from pbr_eval.reporting.build import build

    sim = simulate_staggered(n_units=400, seed=3)
    r = pbr_eval.estimate(sim.cohort(), method="staggered_did", n_boot=99, seed=1)
    st = r.extras["staggered"]
    s = build(r, generated="x").section("staggered")
    cells = next(t for t in s.tables if t.name == "staggered_group_time")
    f = st.to_frame()
    assert len(cells.rows) == len(f)
    np.testing.assert_allclose([row["non_intervention"] for row in cells.rows],
                               f["non_intervention"], rtol=0, atol=0)
    (fig,) = s.figures
    assert fig.name == "event_study" and fig.data["event_time"] == st.event_study()[
        "event_time"].tolist()
    # a group below the disclosure threshold: its count, observed and non-intervention level
    # are hidden in the report (not its effect); the event-study points resting only on it too
    n_by_group = f.groupby("group")["n_treated"].first()
    smallest = float(n_by_group.idxmin())
    thr = int(n_by_group.min()) + 1
    s2 = build(r, generated="x", threshold=thr).section("staggered")
    cells2 = next(t for t in s2.tables if t.name == "staggered_group_time")
    for row in cells2.rows:
        if row["group"] == smallest:
            assert isinstance(row["n_treated"], str) and isinstance(row["observed"], str)
            assert isinstance(row["non_intervention"], str)
    wb = load_workbook(pbr_eval.report(r, tmp_path / "w.xlsx", generated="x")[0])
    assert "Levels by group and period" in wb.sheetnames
    html = pbr_eval.report(r, tmp_path / "p.html", generated="x")[0].read_text()
    assert 'data-plot="event_study"' in html


def test_price_reads_the_headline(mpdta):
    sim = simulate_staggered(n_units=800, seed=4)
    res = pbr_eval.estimate(sim.cohort(), method="staggered_did", n_boot=0)
    rec = pbr_eval.price(res, value_per_outcome=100.0)
    assert len(rec.to_frame())


# ---------------------------------------------------------------------- errors
def test_needs_first_treated():
    sim = simulate_staggered(n_units=300, seed=1)
    args = {k: v for k, v in sim.cohort_args.items() if k != "first_treated"}
    c = pbr_eval.Cohort(sim.data, **args)
    with pytest.raises(OptionError, match="needs panel data with each unit's start period"):
        pbr_eval.estimate(c, method="staggered_did")


def test_first_treated_must_agree_with_treatment():
    sim = simulate_staggered(n_units=300, seed=1)
    d = sim.data.copy()
    d.loc[d["unit"] == d.loc[d["treated"] == 1, "unit"].iloc[0], "treated"] = 0
    with pytest.raises(TreatmentError, match="disagree for 1 unit"):
        pbr_eval.Cohort(d, **sim.cohort_args)


def test_first_treated_must_be_constant_within_unit():
    sim = simulate_staggered(n_units=300, seed=1)
    d = sim.data.copy()
    d.loc[(d["unit"] == 1) & (d["period"] == 2), "first_treated"] = 7
    with pytest.raises(TreatmentError, match="changes over periods for 1 unit"):
        pbr_eval.Cohort(d, **sim.cohort_args)


def test_first_treated_needs_period():
    sim = simulate_staggered(n_units=300, seed=1)
    with pytest.raises(OptionError, match="`first_treated` needs `period`"):
        pbr_eval.Cohort(sim.data, treatment="treated", outcome="y", covariates=["x1"],
                        unit_id="unit", first_treated="first_treated")


def test_start_periods_must_be_periods():
    sim = simulate_staggered(n_units=300, seed=1)
    d = sim.data.astype({"first_treated": float})
    d.loc[d["first_treated"] == 5, "first_treated"] = 4.5
    with pytest.raises(OptionError, match="not periods of 'period'"):
        pbr_eval.estimate(pbr_eval.Cohort(d, **sim.cohort_args), method="staggered_did")


def test_never_treated_needed_for_never_treated_comparison():
    sim = simulate_staggered(n_units=400, seed=1)
    d = sim.data[sim.data["first_treated"] > 0]
    c = pbr_eval.Cohort(d, **{**sim.cohort_args, "min_treated": 10})
    with pytest.raises(EstimationError, match="No never-treated units"):
        pbr_eval.estimate(c, method="staggered_did", n_boot=0)
    res = pbr_eval.estimate(c, method="staggered_did", comparison="not_yet_treated", n_boot=0)
    assert np.isfinite(res.estimates[0].effect)


def test_unbalanced_units_are_counted():
    sim = simulate_staggered(n_units=400, seed=1)
    d = sim.data.drop(index=sim.data.index[(sim.data["unit"] <= 3) & (sim.data["period"] == 2)])
    res = pbr_eval.estimate(pbr_eval.Cohort(d, **sim.cohort_args), method="staggered_did",
                            n_boot=0, cross_checks=False)
    rec = [x for x in res.info["dropped"] if "balanced panel" in x["reason"]]
    assert rec and rec[0]["n"] == 3 * 7


@pytest.mark.parametrize(("option", "value", "message"), [
    ("model", "ols", "`model` must be one of"),
    ("comparison", "later", "`comparison` must be one of"),
    ("n_boot", 1, "`n_boot` must be 0"),
    ("anticipation", -1, "`anticipation`"),
    ("multiplier", "mammen", "`multiplier` must be one of"),
])
def test_option_errors(option, value, message):
    sim = simulate_staggered(n_units=300, seed=1)
    with pytest.raises(OptionError, match=message):
        pbr_eval.estimate(sim.cohort(), method="staggered_did", **{option: value})


def test_se_cluster_needs_cluster():
    sim = simulate_staggered(n_units=300, seed=1)
    with pytest.raises(OptionError, match="`se='cluster'` needs a cohort built with `cluster`"):
        pbr_eval.estimate(sim.cohort(), method="staggered_did", se="cluster")


def test_cross_checks_without_never_treated_units():
    sim = simulate_staggered(n_units=3000, seed=2, never_share=0.3)
    d = sim.data[sim.data["first_treated"] > 0]
    c = pbr_eval.Cohort(d, **{**sim.cohort_args, "min_treated": 10})
    res = pbr_eval.estimate(c, method="staggered_did", comparison="not_yet_treated", n_boot=0)
    st = res.extras["staggered"]
    assert any("serves only as a comparison" in n for n in res.info["notes"])
    cc = st.cross_checks().set_index("estimator")
    assert np.isfinite(cc["estimate"]).all()
    assert st.to_frame()["period"].max() < 7  # periods from the last start on are left out


@pytest.mark.slow
def test_reduced_coverage_staggered():
    """Known truth, 200 roll-outs: the overall interval and the event-study band cover.

    The full study (1,000 roll-outs, 0.93-0.97) is benchmarks/validate_staggered.py with its
    committed output; this CI guard fails below 0.90 (MCSE about 0.015).
    """
    overall, band = [], []
    for r in range(200):
        sim = simulate_staggered(n_units=600, seed=5000 + r)
        res = pbr_eval.estimate(sim.cohort(), method="staggered_did", seed=r, cross_checks=False)
        f = res.to_frame().iloc[0]
        truth = float(sim.truth.loc["y", "effect"])
        overall.append(f["ci_lower"] <= truth <= f["ci_upper"])
        ev = res.extras["staggered"].event_study()
        true_ev = sim.event_time.set_index("event_time")["att"].reindex(ev["event_time"])
        inside = (ev["band_lower"].to_numpy() <= true_ev.to_numpy()) & (
            true_ev.to_numpy() <= ev["band_upper"].to_numpy())
        band.append(bool(inside.all()))
    assert np.mean(overall) >= 0.90 and np.mean(band) >= 0.90, (np.mean(overall), np.mean(band))
