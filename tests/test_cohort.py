"""Cohort: every data check raises a typed, named error; the caller's data is untouched."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pbr_eval import Cohort
from pbr_eval.exceptions import (
    ContaminationError,
    CovariateError,
    DataError,
    DuplicateIdError,
    InfiniteValueError,
    MissingColumnError,
    MissingValueError,
    OptionError,
    OutcomeTypeError,
    PbrEvalError,
    SmallCohortError,
    TreatmentError,
)


def test_valid_cohort_shapes(small_frame, roles):
    c = Cohort(small_frame, **roles)
    assert (c.n_treated, c.n_comparison, c.n) == (60, 140, 200)
    assert c.design_columns == ["age", "sex[M]", "priors"]
    assert c.binary_columns == ["sex[M]"]
    assert c.outcome_types == {"reoffended": "binary", "events": "count"}
    assert c.X.shape == (200, 3)
    assert c.dropped == ()
    assert len(c.fingerprint) == 64


def test_outcome_types_detected_and_overridden(small_frame, roles):
    c = Cohort(small_frame, **{**roles, "outcome": ["earnings", "events"]})
    assert c.outcome_types == {"earnings": "continuous", "events": "count"}
    c2 = Cohort(small_frame, **{**roles, "outcome": "events"},
                outcome_types={"events": "continuous"})
    assert c2.outcome_types == {"events": "continuous"}
    with pytest.raises(OutcomeTypeError, match="says 'earnings' is binary"):
        Cohort(small_frame, **{**roles, "outcome": "earnings"},
               outcome_types={"earnings": "binary"})


def test_categorical_reference_level_follows_categories(small_frame, roles):
    df = small_frame.copy()
    df["la"] = pd.Categorical(df["la"], categories=["LA3", "LA1", "LA2"])
    c = Cohort(df, **{**roles, "covariates": ["la"], "cluster": None})
    assert c.design_columns == ["la[LA1]", "la[LA2]"]


def test_boolean_covariate_and_treatment(small_frame, roles):
    df = small_frame.copy()
    df["treated"] = df["treated"].astype(bool)
    df["flag"] = df["age"] > 35
    c = Cohort(df, **{**roles, "covariates": ["age", "flag"]})
    assert c.n_treated == 60
    assert "flag" in c.binary_columns


def test_never_mutates_caller(small_frame, roles):
    df = small_frame.copy()
    df.loc[3, "age"] = np.nan
    before = df.copy(deep=True)
    Cohort(df, **roles, missing="drop")
    with pytest.raises(MissingValueError):
        Cohort(df, **roles)
    pd.testing.assert_frame_equal(df, before)


def test_missing_drop_is_counted(small_frame, roles):
    df = small_frame.copy()
    df.loc[[1, 2], "age"] = np.nan
    df.loc[[2, 5], "sex"] = None
    c = Cohort(df, **roles, missing="drop")
    assert c.n == 197
    assert c.n_dropped == 3
    assert "age (2)" in c.dropped[0].reason and "sex (2)" in c.dropped[0].reason
    assert c.describe()["dropped"][0]["n"] == 3


@pytest.mark.parametrize(
    "mutate, overrides, error, pattern",
    [
        pytest.param(lambda d: d, {"treatment": "treat"}, MissingColumnError,
                     r"`treatment` names column 'treat', which is not in the data",
                     id="missing-treatment-column"),
        pytest.param(lambda d: d, {"covariates": ["age", "income"]}, MissingColumnError,
                     r"`covariates` names column 'income'", id="missing-covariate-column"),
        pytest.param(lambda d: d.assign(treated=d["treated"] * 2), {}, TreatmentError,
                     r"`treatment` column 'treated' must hold 0/1.*found 2",
                     id="treatment-not-binary"),
        pytest.param(lambda d: d.assign(treated=np.where(d["treated"] == 1, "yes", "no")), {},
                     TreatmentError, r"`treatment` column 'treated' must hold 0/1",
                     id="treatment-text"),
        pytest.param(lambda d: d.assign(treated=1), {}, TreatmentError,
                     r"'treated' has only one group: no comparison", id="treatment-one-group"),
        pytest.param(lambda d: d.assign(age=d["age"].where(d.index > 4)), {}, MissingValueError,
                     r"Missing values in 'age' \(5\): 5 rows affected", id="missing-values"),
        pytest.param(lambda d: d.assign(age=35.0), {}, CovariateError,
                     r"Covariate 'age' is constant", id="constant-covariate"),
        pytest.param(lambda d: d.assign(sex="F"), {}, CovariateError,
                     r"Covariate 'sex' is constant", id="constant-categorical"),
        pytest.param(lambda d: d.assign(age2=d["age"]), {"covariates": ["age", "age2"]},
                     CovariateError, r"Covariate 'age2' duplicates 'age'",
                     id="duplicate-covariate"),
        pytest.param(lambda d: d.assign(id=d["id"].where(d.index != 70, "U0071")), {},
                     DuplicateIdError, r"`unit_id` column 'id' has 1 repeated identifier",
                     id="duplicate-id"),
        pytest.param(lambda d: d.assign(id=d["id"].where(d.index != 70, "U0001")), {},
                     ContaminationError,
                     r"`unit_id` column 'id': 1 unit appear in both the treated and the comparison",
                     id="contamination"),
        pytest.param(lambda d: d.assign(reoffended=np.where(d["reoffended"] == 1, "Y", "N")), {},
                     OutcomeTypeError, r"`outcome` column 'reoffended' must be numeric",
                     id="outcome-not-numeric"),
        pytest.param(lambda d: d, {"min_treated": 61}, SmallCohortError,
                     r"`treated` marks 60 treated units; at least 61 are needed",
                     id="too-few-treated"),
        pytest.param(lambda d: d.assign(age=d["age"].where(d.index != 9, np.inf)), {},
                     InfiniteValueError, r"Column 'age' holds 1 infinite value",
                     id="infinite-covariate"),
        pytest.param(lambda d: d.assign(events=d["events"].astype(float).where(
            d.index != 9, -np.inf)), {}, InfiniteValueError, r"Column 'events' holds 1 infinite",
                     id="infinite-outcome"),
    ],
)
def test_bad_input_raises_named_typed_error(small_frame, roles, mutate, overrides, error, pattern):
    df = mutate(small_frame.copy())
    before = df.copy(deep=True)
    with pytest.raises(error, match=pattern) as info:
        Cohort(df, **{**roles, **overrides})
    assert isinstance(info.value, PbrEvalError)
    pd.testing.assert_frame_equal(df, before)


def test_default_min_treated_is_30(small_frame, roles):
    df = small_frame.iloc[np.r_[0:29, 60:200]]
    with pytest.raises(SmallCohortError, match="29 treated units; at least 30"):
        Cohort(df, **roles)


def test_option_errors(small_frame, roles):
    with pytest.raises(OptionError, match="`missing` must be one of 'error', 'drop'; got 'skip'"):
        Cohort(small_frame, **roles, missing="skip")
    with pytest.raises(OptionError, match="`min_treated` must be an integer >= 1; got 0"):
        Cohort(small_frame, **roles, min_treated=0)
    with pytest.raises(OptionError, match="both an outcome and a covariate"):
        Cohort(small_frame, **{**roles, "covariates": ["age", "events"]})
    with pytest.raises(OptionError, match="`period` needs `unit_id`"):
        Cohort(small_frame, **{**roles, "unit_id": None}, period="la")
    with pytest.raises(DataError, match="`data` must be a pandas DataFrame; got list"):
        Cohort([1, 2], **roles)
    with pytest.raises(CovariateError, match="lists 'age' more than once"):
        Cohort(small_frame, **{**roles, "covariates": ["age", "age"]})


def test_panel_cohort_checks_and_period_selection():
    rng = np.random.default_rng(0)
    n = 80
    base = pd.DataFrame({"fid": np.arange(n), "treated": (np.arange(n) < 35).astype(int),
                         "kids": rng.integers(1, 5, n)})
    long = pd.concat([base.assign(period=0), base.assign(period=1)], ignore_index=True)
    long["att"] = rng.normal(90, 5, len(long))
    c = Cohort(long, treatment="treated", outcome="att", covariates=["kids"], unit_id="fid",
               period="period")
    assert c.is_panel and (c.n_treated, c.n_comparison) == (35, 45)
    post = c.at_period(1)
    assert not post.is_panel and post.n == n
    with pytest.raises(OptionError, match="`period` must be one of 0, 1; got 2"):
        c.at_period(2)
    bad = long.copy()
    bad.loc[(bad["fid"] == 50) & (bad["period"] == 1), "treated"] = 1
    with pytest.raises(ContaminationError, match="treated in some periods and comparison"):
        Cohort(bad, treatment="treated", outcome="att", covariates=["kids"], unit_id="fid",
               period="period")
    dup = pd.concat([long, long.iloc[[0]]], ignore_index=True)
    with pytest.raises(DuplicateIdError, match="each unit must have one row per period"):
        Cohort(dup, treatment="treated", outcome="att", covariates=["kids"], unit_id="fid",
               period="period")


def test_nullable_and_string_dtypes(small_frame, roles):
    df = small_frame.copy()
    df["priors"] = df["priors"].astype("Int64")
    df["sex"] = df["sex"].astype("string")
    c = Cohort(df, **roles)
    assert c.design_columns == ["age", "sex[M]", "priors"]
