"""Separate covariate lists for the treatment and outcome models, and the probit (Stata teffects)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import pbr_eval
from pbr_eval import Cohort
from pbr_eval.datasets import load_reoffending
from pbr_eval.exceptions import OptionError

REF_DIR = Path(__file__).parent / "reference" / "stata_teffects"
REF = json.loads((REF_DIR / "cattaneo2_stata.json").read_text())
T_COV, O_COV = REF["treatment_covariates"], REF["outcome_covariates"]
OPTIONS = {
    "ra": ("regression", {"outcome_covariates": O_COV, "outcome_model": "linear"}),
    "ipw": ("ipw", {"propensity": "probit", "propensity_covariates": T_COV}),
    "ipwra": ("ipwra", {"propensity": "probit", "propensity_covariates": T_COV,
                        "outcome_covariates": O_COV, "outcome_model": "linear"}),
    # Stata's aipw divides the weighted residuals by n
    "aipw": ("aipw", {"propensity": "probit", "propensity_covariates": T_COV,
                      "outcome_covariates": O_COV, "outcome_model": "linear",
                      "normalize": False}),
}


@pytest.fixture(scope="module")
def cattaneo2() -> Cohort:
    d = pd.read_csv(REF_DIR / "cattaneo2.csv")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # birth weight in grams: typed continuous, as wanted
        return Cohort(d, treatment="mbsmoke_", outcome="bweight",
                      covariates=sorted(set(T_COV) | set(O_COV)))


@pytest.mark.parametrize("key", sorted(REF["results"]))
def test_cattaneo2_equals_stata_teffects(cattaneo2: Cohort, key: str) -> None:
    """ATE and ATET of ra, ipw, ipwra (and aipw's ATE) equal Stata's to 1e-8 relative."""
    name, estimand = key.rsplit("_", 1)
    method, opts = OPTIONS[name]
    res = pbr_eval.estimate(cattaneo2, method=method, estimand=estimand, **opts)
    e, ref = res.estimates[0], REF["results"][key]
    assert e.effect == pytest.approx(ref["effect"], rel=1e-8)
    assert e.non_intervention == pytest.approx(ref["pom0"], rel=1e-8)
    assert e.std_error == pytest.approx(ref["effect_se"], rel=1e-8)
    assert e.non_intervention_se == pytest.approx(ref["pom0_se"], rel=1e-8)
    if "propensity_covariates" in opts:
        assert sorted(res.info["propensity_design"]) == sorted(T_COV)
        assert res.info["propensity_model"] == "probit"


@pytest.mark.parametrize("method", ["ipw", "regression", "aipw", "ipwra"])
def test_full_lists_reproduce_the_default_att(method: str) -> None:
    """Naming every covariate in both lists gives the estimators' own ATT numbers."""
    sim = load_reoffending()
    cohort = Cohort(sim.data, **sim.cohort_args)
    opts: dict = {"se": "robust"}
    if method != "regression":
        opts["propensity_covariates"] = list(cohort.covariates)
    if method != "ipw":
        opts["outcome_covariates"] = list(cohort.covariates)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = pbr_eval.estimate(cohort, method=method, se="robust")
        b = pbr_eval.estimate(cohort, method=method, **opts)
    for ea, eb in zip(a.estimates, b.estimates, strict=True):
        assert eb.non_intervention == pytest.approx(ea.non_intervention, rel=1e-9)
        assert eb.effect == pytest.approx(ea.effect, rel=1e-9, abs=1e-12)
        assert eb.non_intervention_se == pytest.approx(ea.non_intervention_se, rel=1e-7)
        assert eb.std_error == pytest.approx(ea.std_error, rel=1e-7)
        assert eb.cohort_std_error == pytest.approx(ea.cohort_std_error, rel=1e-7)
        assert not eb.population
    pd.testing.assert_frame_equal(a.to_frame(), b.to_frame(), rtol=1e-7)


def test_separate_lists_on_the_shipped_data() -> None:
    """A smaller outcome model changes the estimate; the results record both designs."""
    sim = load_reoffending()
    cohort = Cohort(sim.data, **sim.cohort_args)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = pbr_eval.estimate(cohort, method="aipw", outcome_covariates=["age", "prior_offences"],
                                propensity_covariates=list(cohort.covariates))
    assert res.info["outcome_design"] == ["age", "prior_offences"]
    assert np.isfinite(res.estimates[0].cohort_std_error)


def test_errors() -> None:
    with pytest.raises(OptionError, match="`outcome_covariates` must name at least one covariate"):
        pbr_eval.RegressionAdjustment(outcome_covariates=[])
    with pytest.raises(OptionError, match="`propensity_covariates` must be a column name or a list"):
        pbr_eval.InverseProbabilityWeighting(propensity_covariates=[1])
    with pytest.raises(OptionError, match="`propensity` must be 'logit'"):
        pbr_eval.AugmentedIPW(propensity="tobit")
    sim = load_reoffending()
    cohort = Cohort(sim.data, **sim.cohort_args)
    with pytest.raises(OptionError, match=r"`propensity_covariates` must name covariates of the "
                                          r"cohort .* got 'height'"):
        pbr_eval.estimate(cohort, method="ipw", propensity_covariates=["age", "height"])
