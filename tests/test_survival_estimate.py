"""estimate_survival: the counterfactual survival of the participants, its SurvivalResults,
the Cox g-computation equal to R survival, and the options' errors."""

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
from pbr_eval.exceptions import OptionError
from pbr_eval.results.base import Results
from pbr_eval.results.survival import SurvivalResults
from pbr_eval.survival import estimate as est_mod
from pbr_eval.survival import follow_up, weighted_curves

pytestmark = pytest.mark.filterwarnings("ignore::pbr_eval.exceptions.PbrEvalWarning")

ROOT = Path(__file__).resolve().parents[1]
REF = ROOT / "tests" / "reference" / "r_survival"


@pytest.fixture(scope="module")
def ref_inputs():
    spec = importlib.util.spec_from_file_location("r_survival_inputs", REF / "make_weights.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules["r_survival_inputs"] = mod
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def cohort() -> pbr_eval.Cohort:
    sim = load_reoffending_time()
    return pbr_eval.Cohort(sim.data, **sim.cohort_args)


@pytest.fixture(scope="module")
def ipw(cohort) -> SurvivalResults:
    return pbr_eval.estimate_survival(cohort, method="ipw")


@pytest.mark.parametrize("method", ["nearest", "ipw", "entropy", "subclass", "cem"])
def test_weighting_methods_are_the_weighted_curves(cohort, method):
    """The counterfactual curve of a weighting method is weighted_curves' (equal to R)."""
    res = pbr_eval.estimate_survival(cohort, method=method)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        weights = pbr_eval.estimate(cohort, method=method)
    observed, without = weighted_curves(cohort, weights)
    np.testing.assert_allclose(res.non_intervention, without.at(res.times), rtol=0, atol=1e-12)
    np.testing.assert_allclose(res.observed, observed.at(res.times), rtol=0, atol=1e-12)
    assert res.rmst["non_intervention"] == pytest.approx(without.rmst(365), abs=1e-9)
    assert res.rmst["observed"] == pytest.approx(observed.rmst(365), abs=1e-9)
    f = res.to_frame()
    assert f.loc[0, "non_intervention"] == pytest.approx(1 - without.at(365), abs=1e-12)
    assert (f["non_intervention_se"] > 0).all() and (f["std_error"] > 0).all()


@pytest.mark.parametrize("dataset", ["sim", "rossi"])
def test_cox_g_computation_equals_r(ref_inputs, dataset):
    """Cox (Breslow ties) on the comparison group, its predicted curves averaged over the
    participants, equal R coxph + survfit(fit, newdata) (tests/reference/r_survival)."""
    cohort = ref_inputs.sim_cohort() if dataset == "sim" else ref_inputs.rossi_cohort()
    coef = pd.read_csv(REF / "cox_coef.csv").query("dataset == @dataset")
    g = pd.read_csv(REF / "cox_gcomp.csv").query("dataset == @dataset")
    curve = g[g.horizon.isna()]
    time, event = follow_up(cohort)
    for horizon, rmst in g[g.horizon.notna()][["horizon", "surv"]].itertuples(index=False):
        d = est_mod._Data(cohort, time, event, curve.time.to_numpy(), float(horizon), "robust")
        design = est_mod._design("cox", d, {})
        est = design.counterfactual.estimate
        np.testing.assert_allclose(est[:-1], curve.surv, rtol=0, atol=1e-8)
        assert est[-1] == pytest.approx(rmst, rel=0, abs=1e-8)
    fitted = np.array(list(design.info["cox_coefficients"].values()))
    np.testing.assert_allclose(fitted, coef.coef, rtol=1e-8, atol=1e-10)


def test_results_face(ipw):
    f = ipw.to_frame()
    assert list(f["quantity"]) == ["outcome within 365 days",
                                   "mean days free of the outcome, up to 365",
                                   "mean days to the outcome, if within 365"]
    assert (f["non_intervention_ci_lower"] < f["non_intervention"]).all()
    assert (f["non_intervention"] < f["non_intervention_ci_upper"]).all()
    curves = ipw.curves()
    assert curves["time"].iloc[-1] == 365 and curves["observed"].iloc[0] == 1.0
    inc = ipw.curves(scale="incidence")
    np.testing.assert_allclose(inc["non_intervention"], 1 - curves["non_intervention"])
    np.testing.assert_allclose(inc["difference"], -curves["difference"])
    text = ipw.summary()
    assert "Within 365 days, 22% of the 600 people in the programme had the outcome" in text
    assert "Standard errors: influence-function" in text and "propensity score" in text
    assert ipw.counts["n_treated"] == 600 and ipw.counts["n_comparison"] == 6000


def test_round_trip_and_figure(ipw):
    again = Results.from_json(ipw.to_json())
    assert isinstance(again, SurvivalResults)
    assert again.to_dict() == ipw.to_dict()
    pd.testing.assert_frame_equal(again.to_frame(), ipw.to_frame())
    assert "weights" not in ipw.to_dict()  # aggregates only
    data = ipw.figure_data("survival")
    assert data["times"][-1] == 365 and len(data["curves"]) == 2
    ax = ipw.plot("incidence")
    assert ax.get_ylabel() == "share who have had the outcome"


def test_figure_hides_small_risk_sets(ipw):
    from pbr_eval.disclosure import DisclosurePolicy

    data = ipw.figure_data("survival", policy=DisclosurePolicy(threshold=500))
    programme = data["curves"][0]["estimate"]
    small = ipw.at_risk_treated < 500
    assert small.any() and all(v is None for v, s in zip(programme, small, strict=False) if s)
    assert all(v is not None for v, s in zip(programme, small, strict=False) if not s)


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"method": "regression"}, "`method` must be one of"),
    ({"horizon": 400}, "`horizon` must be at most the window"),
    ({"times": [10, 500]}, "`times` must be numbers from 0 to the window"),
    ({"se": "cluster"}, "`se='cluster'` needs a cohort built with `cluster`"),
    ({"outcome": "other"}, "`outcome` must be one of"),
    ({"method": "cox", "caliper": 0.2}, "Method 'cox' takes no options"),
])
def test_option_errors(cohort, kwargs, match):
    with pytest.raises(OptionError, match=match):
        pbr_eval.estimate_survival(cohort, **kwargs)


def test_bootstrap_se_is_close_to_the_influence_function_se():
    """A small bootstrap agrees with the analytic SEs (loosely: 39 replicates), and the same
    seed gives the same numbers."""
    sim = simulate_reoffending_time(n_treated=200, n_comparison=1_000, seed=4)
    cohort = pbr_eval.Cohort(sim.data, **sim.cohort_args)
    boot = pbr_eval.estimate_survival(cohort, method="ipw", se="bootstrap", n_boot=39, seed=3)
    analytic = pbr_eval.estimate_survival(cohort, method="ipw")
    ratio = boot.to_frame()["non_intervention_se"] / analytic.to_frame()["non_intervention_se"]
    assert ((ratio > 0.6) & (ratio < 1.5)).all(), ratio
    assert "bootstrap (39 replicates" in boot.summary()
    a = pbr_eval.estimate_survival(cohort, method="ipw", se="bootstrap", n_boot=5, seed=8)
    b = pbr_eval.estimate_survival(cohort, method="ipw", se="bootstrap", n_boot=5, seed=8)
    pd.testing.assert_frame_equal(a.to_frame(), b.to_frame())


def test_report_section(cohort, ipw, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = pbr_eval.estimate(cohort, method="ipw")
    path = tmp_path / "pilot.md"
    pbr_eval.report(res, path, survival=ipw)
    text = path.read_text()
    assert "## Time to the outcome: with and without the programme" in text
    assert ("Within 365 days of the start of follow-up, 21.8% of the 600 people in the programme "
            "had the outcome, against an estimated 28.4% had they not taken part") in text
    assert "incidence.png" in text
    # without survival= the section is left out (optional), with a wrong object it is an error
    pbr_eval.report(res, tmp_path / "plain.md")
    assert "Time to the outcome" not in (tmp_path / "plain.md").read_text()
    with pytest.raises(OptionError, match="`survival` must be the SurvivalResults"):
        pbr_eval.report(res, tmp_path / "bad.md", survival=res)


@pytest.mark.slow
def test_reduced_coverage():
    """A reduced benchmarks/validate_survival.py (committed output there: 1,000 replicates of
    600 + 6,000 people): 40 cohorts of 300 + 1,500 with about 30% censored, IPW. Coverage of
    the 95% intervals for the non-intervention probability within the window and mean time
    free of the outcome is at least 0.85 (0.95 is 3 binomial SDs above), and the bias is
    within 4 Monte Carlo SEs."""
    spec = importlib.util.spec_from_file_location(
        "validate_survival", ROOT / "benchmarks" / "validate_survival.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    mod.METHODS = ("ipw",)
    rows = [row for r in range(40) for row in mod.one(r, 300, 1_500)]
    summary = mod.summarise(pd.DataFrame(rows))
    assert len(summary) == 2
    assert (summary["coverage"] >= 0.85).all(), summary
    assert (summary["bias"].abs() < 4 * summary["bias_mc_se"]).all(), summary


def test_mean_time_to_the_outcome_recovers_the_truth():
    """The JDL's time to first reoffence: mean days to it among those who had it within the window."""
    sim = simulate_reoffending_time(n_treated=3_000, n_comparison=15_000, seed=11)
    res = pbr_eval.estimate_survival(pbr_eval.Cohort(sim.data, **sim.cohort_args), method="ipw")
    got = res.time_to_outcome()
    S = sim.curves.set_index("day")
    for key in ("observed", "non_intervention"):
        s = S[key].to_numpy()
        truth = (s[:-1].sum() - 365 * s[-1]) / (1 - s[-1])
        assert abs(got[key] - truth) < 3.5 * got[f"se_{key}"], (key, got[key], truth)
    row = res.to_frame().iloc[2]
    assert row["quantity"] == "mean days to the outcome, if within 365"
    assert row["effect"] == pytest.approx(got["observed"] - got["non_intervention"])
    assert row["std_error"] == pytest.approx(got["se_difference"])
    short = pbr_eval.estimate_survival(pbr_eval.Cohort(sim.data, **sim.cohort_args),
                                       method="ipw", horizon=180)
    assert np.isnan(short.to_frame().iloc[2]["observed"])
