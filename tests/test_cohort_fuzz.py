"""Fuzz test of the Cohort entry point (issue 14): random column types, ranges and labels.

Whatever the data, ``Cohort`` (and ``Cohort.check``) either builds a cohort or raises a
typed ``PbrEvalError``; no other exception escapes. A cohort that is built holds no NaN or
infinity, and an estimate on it either raises a ``PbrEvalError`` or gives finite point
estimates, rates inside [0, 1], and a standard error that is either finite or explained.
"""

from __future__ import annotations

import decimal
import math
import warnings

import numpy as np
import pandas as pd
import pytest

hypothesis = pytest.importorskip("hypothesis")  # in the test extra; CI installs it
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import pbr_eval  # noqa: E402
from pbr_eval import Cohort  # noqa: E402
from pbr_eval.exceptions import PbrEvalError  # noqa: E402

N = 60

# one column of N values of a random kind; every kind a careless extract can produce
_LABELS = st.sampled_from(["a", "A", "a ", "b", "B", "violence", "Violence", "", " ", "nan",
                           "unknown", "1", "2", "10", "-3.5", "1e3", "sex[M]", "ü", "\u202e"])


@st.composite
def column(draw: st.DrawFn) -> list:
    clean = ["binary", "int", "float", "category", "bool"]
    dirty = ["text", "numtext", "mixed", "decimal", "constant", "allnan", "huge", "datetime"]
    kind = draw(st.sampled_from(clean * 6 + dirty))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    miss = draw(st.sampled_from([0.0] * 10 + [0.05, 0.5]))
    if kind == "binary":
        vals = rng.integers(0, 2, N).astype(float)
    elif kind == "int":
        vals = rng.integers(draw(st.integers(-5, 0)), draw(st.integers(1, 5000)), N).astype(float)
    elif kind == "float":
        vals = rng.normal(0, draw(st.sampled_from([1e-12, 1.0, 1e12])), N)
        if draw(st.booleans()):
            vals[rng.integers(0, N)] = draw(st.sampled_from([np.inf, -np.inf, 1e308]))
    elif kind == "text":
        vals = np.array([draw(_LABELS) for _ in range(N)], dtype=object)
    elif kind == "numtext":
        vals = rng.integers(18, 80, N).astype(str).astype(object)
        vals[0] = draw(_LABELS)
    elif kind == "mixed":
        vals = np.array([draw(st.one_of(_LABELS, st.integers(-3, 3), st.floats(0, 1)))
                         for _ in range(N)], dtype=object)
    elif kind == "bool":
        return rng.integers(0, 2, N).astype(bool).tolist()
    elif kind == "decimal":
        return [decimal.Decimal(int(v)) for v in rng.integers(0, 3, N)]
    elif kind == "constant":
        vals = np.full(N, draw(st.sampled_from([0.0, 1.0, 7.0])))
    elif kind == "allnan":
        return [np.nan] * N
    elif kind == "category":
        return pd.Categorical(rng.choice(["x", "y", "z"], N)).tolist()
    elif kind == "huge":
        vals = np.array([f"id{i}" for i in rng.integers(0, 10**6, N)], dtype=object)
    else:
        return list(pd.date_range("2020-01-01", periods=N, freq="D"))
    vals = vals.astype(object)
    vals[rng.random(N) < miss] = None
    return vals.tolist()


@st.composite
def dataset(draw: st.DrawFn) -> tuple[pd.DataFrame, dict]:
    n_cov = draw(st.integers(1, 4))
    names = ["t", "y", *[f"x{i}" for i in range(n_cov)], "id", "period"]
    data = {name: draw(column()) for name in names}
    if draw(st.booleans()):  # usually a usable treatment and outcome, so later checks run
        rng = np.random.default_rng(draw(st.integers(0, 99)))
        data["t"] = (np.arange(N) < draw(st.integers(1, N - 1))).astype(int).tolist()
        data["period"] = (np.arange(N) % 2).tolist() if draw(st.booleans()) else \
            np.where(np.arange(N) % 2, "post", "pre").tolist()
        data["y"] = rng.integers(0, 2, N).tolist() if draw(st.booleans()) else \
            rng.poisson(2, N).tolist()
        data["id"] = (np.arange(N) // 2 if draw(st.booleans()) else np.arange(N)).tolist()
    frame = pd.DataFrame(data)
    if draw(st.integers(0, 9)) == 0:
        frame = frame.rename(columns={"x0": draw(st.sampled_from(["sex[M]", "t"]))})
    covs = [c for c in frame.columns if c.startswith("x") or c == "sex[M]"]
    roles = {
        "treatment": "t", "outcome": "y", "covariates": covs,
        "missing": draw(st.sampled_from(["error", "drop"])),
        "min_treated": draw(st.integers(1, 40)),
    }
    if draw(st.booleans()):
        roles["unit_id"] = "id"
        if draw(st.booleans()):
            roles["period"] = "period"
            if draw(st.booleans()):
                roles["period_order"] = draw(st.sampled_from([["pre", "post"], [0, 1], "ab",
                                                              ["a", "b"]]))
    if draw(st.booleans()):
        roles["max_levels"] = draw(st.integers(2, 50))
    return frame, roles


def _finite_or_explained(res: pbr_eval.results.CounterfactualResults) -> None:
    from pbr_eval.results.counterfactual import cohort_effect_se, not_computable

    for e in res.estimates:
        assert math.isfinite(e.effect) and math.isfinite(e.non_intervention), e
        if e.outcome_type == "binary":
            assert -1e-9 <= e.non_intervention <= 1 + 1e-9
        se = cohort_effect_se(e)
        assert math.isfinite(se) and se > 0 or not_computable(e, se), e
    f = res.to_frame()
    for _, r in f.iterrows():
        if r["outcome_type"] == "binary" and math.isfinite(r["ci_lower"]):
            assert -1 <= r["ci_lower"] <= r["ci_upper"] <= 1


@settings(max_examples=150, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(dataset())
def test_cohort_fuzz_only_typed_errors_and_no_silent_nan(case):
    frame, roles = case
    before = frame.copy(deep=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # data-quality and overlap warnings are expected
        found = Cohort.check(frame, **roles)
        assert all(isinstance(e, PbrEvalError) for e in found.errors)
        try:
            c = Cohort(frame, **roles)
        except PbrEvalError as err:
            assert str(err)  # a message, naming what to fix
            assert found.errors, f"Cohort raised {err!r} but Cohort.check found nothing"
            assert type(err) in {type(e) for e in found.errors}
            pd.testing.assert_frame_equal(frame, before)
            return
        assert not found.errors, found.errors
        pd.testing.assert_frame_equal(frame, before)
        assert np.isfinite(c.X).all() and c.t.dtype == bool
        for name in c.outcomes:
            assert np.isfinite(c.y(name)).all()
        assert len(c.fingerprint) == 64
        for method in (["did"] if c.is_panel else ["nearest", "ipw", "regression", "cem"]):
            try:
                res = pbr_eval.estimate(c, method=method)
            except PbrEvalError as err:
                assert str(err)
                continue
            _finite_or_explained(res)
            assert res.summary()
