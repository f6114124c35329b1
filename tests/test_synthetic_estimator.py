"""Synthetic control and synthetic DiD through estimate(): method="synthetic_control" / "sdid".

References: ``tests/reference/synthdid/`` (synthdid-py 0.1.0, a port of R synthdid, on
California's Proposition 99, with the script that made them; the values published by
Arkhangelsky et al. 2021). Known truth: :func:`pbr_eval.datasets.simulate_synthetic`.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import pbr_eval
from pbr_eval.datasets import PROP99_COHORT_ARGS, load_prop99, simulate_synthetic
from pbr_eval.estimators.synthetic_weights import placebo_estimates, synth_fit
from pbr_eval.exceptions import EstimationError, OptionError
from pbr_eval.results.base import Results

REF = Path(__file__).parent / "reference" / "synthdid"
FORM = {"sdid": "sdid", "synthetic_control": "sc"}


@pytest.fixture(scope="module")
def reference() -> dict:
    return json.loads((REF / "synthdid_reference.json").read_text())


@pytest.fixture(scope="module")
def prop99():
    return pbr_eval.Cohort(load_prop99(), **PROP99_COHORT_ARGS)


@pytest.fixture(scope="module")
def fitted(prop99) -> dict:
    # few placebos: the point estimates, weights and paths do not depend on them
    return {m: pbr_eval.estimate(prop99, method=m, n_placebo=20, seed=1)
            for m in ("sdid", "synthetic_control")}


@pytest.mark.parametrize("method", ["sdid", "synthetic_control"])
def test_prop99_through_estimate_equals_the_port_and_the_published_value(fitted, reference,
                                                                          method):
    ref = reference["prop99"][FORM[method]]
    res = fitted[method]
    e = res.estimates[0]
    assert e.effect == pytest.approx(ref["estimate"], abs=1e-8)
    assert round(e.effect, 3) == reference["published"][FORM[method]]  # -15.604, -19.620
    sr = res.extras["synthetic"]
    post = sr.path().query("post == 'yes'")
    np.testing.assert_allclose(post["gap"], ref["curve"], atol=1e-6)
    assert e.observed - e.non_intervention == pytest.approx(e.effect, abs=1e-12)
    assert post["non_intervention"].mean() == pytest.approx(e.non_intervention, abs=1e-9)
    # the comparison states' weights, by name, as the port's (its unit order)
    units = reference["prop99"]["units"][:reference["prop99"]["N0"]]
    omega = dict(zip(units, ref["omega"], strict=True))
    w = sr.weights()
    for area, weight in zip(w["area"], w["weight"], strict=True):
        assert weight == pytest.approx(omega[area], abs=1e-7)
    assert w["weight"].sum() == pytest.approx(1.0)
    cc = sr.cross_checks().set_index("estimator")["estimate"]
    assert cc["difference-in-differences"] == pytest.approx(reference["prop99"]["did"]["estimate"],
                                                            abs=1e-8)
    assert res.info["se"] == "placebo" and res.info["n_placebo"] == 20
    assert res.info["treated_areas"] == ["California"] and res.info["start"] == 1989


def test_placebo_replications_side_by_side_equal_one_at_a_time():
    sim = simulate_synthetic(n_areas=16, n_treated=2, n_periods=10, start=8, seed=5)
    Y = sim.data.pivot(index="area", columns="period", values="y").to_numpy()
    for form, reps in (("sdid", 4), ("sc", 2), ("did", 4)):
        got = placebo_estimates(Y, 14, 7, method=form, replications=reps, seed=3)
        rng = np.random.default_rng(3)
        one = [synth_fit(Y[:14][rng.permutation(14)], 12, 7, method=form).estimate
               for _ in range(reps)]
        np.testing.assert_allclose(got, one, rtol=0, atol=1e-7)


def test_standard_errors_chosen_and_reproducible():
    sim = simulate_synthetic(n_areas=14, n_treated=2, n_periods=10, start=8, seed=2)
    c = sim.cohort()
    auto = pbr_eval.estimate(c, method="sdid")
    assert auto.info["se"] == "jackknife" and "jackknife" in auto.estimates[0].se_method
    a = pbr_eval.estimate(c, method="sdid", se="placebo", n_placebo=4, seed=4,
                          cross_checks=False)
    b = pbr_eval.estimate(c, method="sdid", se="placebo", n_placebo=4, seed=4,
                          cross_checks=False)
    assert a.estimates[0].std_error == b.estimates[0].std_error > 0
    sc = pbr_eval.estimate(c, method="synthetic_control", n_placebo=4, seed=4,
                           cross_checks=False)
    assert sc.info["se"] == "placebo"
    assert list(sc.extras["synthetic"].cross_checks()["note"]) == ["the headline"]


def test_known_effect_recovered_and_did_biased_by_selection():
    # treated areas load more on the common factors: plain DiD is off, SDID is not
    err_sdid, err_did = [], []
    for s in range(5):
        sim = simulate_synthetic(n_areas=20, n_treated=3, selection=1.5, noise=0.3, seed=100 + s)
        res = pbr_eval.estimate(sim.cohort(), method="sdid")
        truth = float(sim.truth.loc["y", "effect"])
        err_sdid.append(res.estimates[0].effect - truth)
        cc = res.extras["synthetic"].cross_checks().set_index("estimator")["estimate"]
        err_did.append(cc["difference-in-differences"] - truth)
    assert abs(np.mean(err_sdid)) < np.mean(np.abs(err_did)) / 2


def test_results_round_trip_summary_and_figure(fitted):
    sr = fitted["sdid"].extras["synthetic"]
    back = Results.from_dict(json.loads(json.dumps(sr.to_dict())))
    assert back.to_frame().equals(sr.to_frame())
    assert back.weights().equals(sr.weights())
    assert "California" in sr.summary() and "-15.6" in sr.summary()
    d = sr.figure_data("synthetic_path")
    assert d["start"] == 1989 and len(d["period"]) == 31
    assert sr.plot("synthetic_path").has_data()


def test_report_section(fitted, tmp_path):
    from pbr_eval.reporting.build import build

    res = fitted["sdid"]
    s = build(res, generated="x").section("synthetic")
    assert s.available and [t.name for t in s.tables] == [
        "synthetic_cross_checks", "synthetic_path", "synthetic_weights"]
    assert s.figures and s.figures[0].name == "synthetic_path"
    md = tmp_path / "p.md"
    pbr_eval.report(res, md)
    text = md.read_text(encoding="utf-8")
    assert "| 1989 | yes |" in text  # periods as labels, not 1,989.000
    assert "on average (95% CI" in text
    # the header counts areas, not people (issue 18.5)
    assert "people in the programme, " not in text
    assert "areas in the programme, 38 in the comparison pool" in text
    # a saved results file carries the path and weights (its "parts")
    kept = Results.from_dict(json.loads(json.dumps(res.to_dict())))
    assert build(kept, generated="x").section("synthetic").available
    # one saved by an older pbr_eval (no "parts") does not: not available, unless given
    old = {k: v for k, v in res.to_dict().items() if k != "parts"}
    saved = Results.from_dict(old)
    gone = build(saved, generated="x").section("synthetic")
    assert not gone.available and "pass 'synthetic'" in gone.reason  # reasons in words (glossary)
    back = build(saved, generated="x",
                 synthetic=res.extras["synthetic"].to_dict()).section("synthetic")
    assert back.available
    with pytest.raises(OptionError, match=r"`synthetic` must be the SyntheticResults"):
        build(saved, generated="x", synthetic=res.extras["synthetic"].to_frame())


def test_bootstrap_replicates_skip_the_standard_error():
    from pbr_eval.bootstrap import bootstrap

    sim = simulate_synthetic(n_areas=14, n_treated=2, n_periods=10, start=8, seed=2)
    c = sim.cohort()
    res = pbr_eval.estimate(c, method="sdid")
    boot = bootstrap(res, c, n_boot=3, kind="stratified", seed=1)
    assert boot.n_failed == 0 and np.isfinite(boot.replicates).all()


def test_errors(prop99):
    sim = simulate_synthetic(n_areas=10, n_treated=1, n_periods=8, start=6, seed=1)
    c = sim.cohort()
    with pytest.raises(EstimationError, match=r"`se='jackknife'` needs two or more programme"):
        pbr_eval.estimate(c, method="sdid", se="jackknife")
    with pytest.raises(OptionError, match=r"`se` must be one of 'auto', 'placebo'; got "
                                          r"'jackknife'"):
        pbr_eval.estimate(c, method="synthetic_control", se="jackknife")
    with pytest.raises(OptionError, match=r"`start` must leave at least two periods before it"):
        pbr_eval.estimate(c, method="sdid", start=2)
    with pytest.raises(OptionError, match=r"`start` must be a period \(a number\) or None"):
        pbr_eval.estimate(c, method="sdid", start="1989")
    with pytest.raises(OptionError, match=r"`n_placebo` must be"):
        pbr_eval.estimate(c, method="sdid", n_placebo=1)
    no_start = sim.cohort(first_treated=None)
    with pytest.raises(OptionError, match=r"needs the programme's first period: give `start=`"):
        pbr_eval.estimate(no_start, method="synthetic_control")
    assert pbr_eval.estimate(no_start, method="sdid", start=6, n_placebo=5,
                             seed=1).info["start"] == 6
    st = simulate_synthetic(n_areas=10, n_treated=2, n_periods=8, start=6, seed=1)
    d2 = st.data.copy()
    d2.loc[d2["area"] == "area 10", "first_treated"] = 7
    d2.loc[(d2["area"] == "area 10"), "treated"] = 1
    with pytest.raises(OptionError, match=r"must give one start period for every programme "
                                          r"area .* Use method='staggered_did'"):
        pbr_eval.estimate(pbr_eval.Cohort(d2, **st.cohort_args), method="sdid")
    # an area missing a period is left out and counted
    d3 = sim.data[~((sim.data["area"] == "area 01") & (sim.data["period"] == 3))]
    r = pbr_eval.estimate(pbr_eval.Cohort(d3, **sim.cohort_args), method="sdid", n_placebo=5,
                          seed=1)
    assert any("not observed in every period" in x["reason"] for x in r.info["dropped"])
    assert r.info["n_comparison_areas"] == 8


@pytest.mark.slow
def test_reduced_coverage_synthetic():
    """Known truth, 60 area panels of the 'synthetic' design: SDID's jackknife interval covers.

    The full study (every method and standard error) is benchmarks/validate_synthetic.py; this
    CI guard fails below 0.85 (MCSE about 0.03 at 0.95).
    """
    from pbr_eval.validation import DESIGNS

    params = dict(DESIGNS["synthetic"].scenario_params or {})
    cover, err = [], []
    for r in range(60):
        sim = simulate_synthetic(**params, seed=90_000 + r)
        f = pbr_eval.estimate(sim.cohort(), method="sdid", cross_checks=False).to_frame().iloc[0]
        truth = float(sim.truth.loc["y", "effect"])
        cover.append(f["ci_lower"] <= truth <= f["ci_upper"])
        err.append(f["effect"] - truth)
    assert np.mean(cover) >= 0.85, np.mean(cover)
    assert abs(np.mean(err)) < 3 * np.std(err) / np.sqrt(len(err)) + 0.05
