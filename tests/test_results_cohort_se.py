"""OutcomeEstimate.cohort_std_error and how to_frame / cohort_se use it (issue #5)."""

from __future__ import annotations

import dataclasses
import json
import math

import pandas as pd
import pytest
from scipy import stats

from pbr_eval.results.counterfactual import (
    CounterfactualResults,
    OutcomeEstimate,
    cohort_effect_se,
    cohort_se,
)


def _results(**kw: float) -> CounterfactualResults:
    e = OutcomeEstimate("y", "binary", 400, 4000, 0.25, 0.30, 0.012, -0.05, 0.021, 0.4, "x", **kw)
    return CounterfactualResults(method="ipw", estimand="ATT", estimates=[e],
                                 weights=pd.Series([1.0]), balance=None, info={})


def test_default_is_nan_and_the_generic_rule_applies() -> None:
    r = _results()
    e = r.estimates[0]
    assert math.isnan(e.cohort_std_error)
    assert cohort_se(e) == pytest.approx(max(math.sqrt(0.012**2 + 0.3 * 0.7 / 400), 0.021))
    assert cohort_effect_se(e) == 0.021
    f = r.to_frame().iloc[0]
    assert f["std_error"] == 0.021
    assert f["ci_lower"] == pytest.approx(-0.05 - stats.norm.ppf(0.975) * 0.021)


def test_cohort_std_error_drives_both_default_intervals_and_the_p_value() -> None:
    r = _results(cohort_std_error=0.018)
    f = r.to_frame().iloc[0]
    z = stats.norm.ppf(0.975)
    assert f["non_intervention_se"] == 0.018 and f["std_error"] == 0.018
    assert f["ci_lower"] == pytest.approx(-0.05 - z * 0.018)
    assert f["ci_upper"] == pytest.approx(-0.05 + z * 0.018)
    assert f["p_value"] == pytest.approx(2 * stats.norm.sf(0.05 / 0.018))
    # the rate's interval is on the logit scale with the same SE (delta method)
    lo, hi = f["non_intervention_ci_lower"], f["non_intervention_ci_upper"]
    assert lo < 0.30 < hi
    assert (hi - lo) == pytest.approx(2 * z * 0.018, rel=0.02)
    g = r.to_frame(target="expected").iloc[0]
    assert g["non_intervention_se"] == 0.012 and g["std_error"] == 0.021
    assert g["p_value"] == pytest.approx(2 * stats.norm.sf(0.05 / 0.021))


def test_field_survives_asdict_replace_and_json() -> None:
    r = _results(cohort_std_error=0.018)
    e = r.estimates[0]
    d = dataclasses.asdict(e)
    assert d["cohort_std_error"] == 0.018
    assert OutcomeEstimate(**d) == e
    assert dataclasses.replace(e, effect=-0.04).cohort_std_error == 0.018
    out = json.loads(r.to_json())
    assert out["estimates"][0]["std_error"] == pytest.approx(0.018)
    assert out["estimates"][0]["non_intervention_se"] == pytest.approx(0.018)
    # a NaN cohort SE is written as null by asdict-based JSON, and read back as the default
    e2 = _results().estimates[0]
    d2 = {k: (None if isinstance(v, float) and math.isnan(v) else v)
          for k, v in dataclasses.asdict(e2).items()}
    d2.pop("cohort_std_error")
    assert math.isnan(OutcomeEstimate(**d2).cohort_std_error)
