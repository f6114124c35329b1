"""Cohort-target standard error of exact / coarsened exact matching (strata_cohort_se)."""

from __future__ import annotations

import math

import numpy as np

from pbr_eval import Cohort
from pbr_eval.datasets import load_reoffending
from pbr_eval.estimators.stratified import CoarsenedExactMatching, ExactMatching, strata_cohort_se


def test_formula_by_hand_with_a_singleton_stratum() -> None:
    y = np.array([3.0, 1, 2, 4, 0, 5, 7, 1, 2])
    t = np.array([1, 1, 0, 0, 1, 0, 1, 0, 0], bool)
    s = np.array([0, 0, 0, 0, 1, 1, 2, 2, 2])
    # stratum 0: controls 2, 4 -> var 2; stratum 1: one control -> pooled variance;
    # stratum 2: controls 1, 2 -> var 0.5; pooled = (2*1 + 0.5*1) / 2 = 1.25
    v = {0: 2.0, 1: 1.25, 2: 0.5}
    n1 = {0: 2, 1: 1, 2: 1}
    n0 = {0: 2, 1: 1, 2: 2}
    total = sum(n1[k] * v[k] * (n1[k] / n0[k] + 1) for k in v)
    assert math.isclose(strata_cohort_se(y, t, s), math.sqrt(total) / 4, rel_tol=1e-12)
    # unmatched units (-1) and strata without a treated unit add nothing
    s2 = np.append(s, [-1, 3, 3])
    y2 = np.append(y, [100.0, 50.0, -50.0])
    t2 = np.append(t, [True, False, False])
    assert math.isclose(strata_cohort_se(y2, t2, s2), math.sqrt(total) / 4, rel_tol=1e-12)


def test_default_intervals_use_it_and_expected_keeps_hc3() -> None:
    sim = load_reoffending()
    cohort = Cohort(sim.data, **{**sim.cohort_args, "covariates": ["sex", "offence_type"]})
    for est in (ExactMatching(), CoarsenedExactMatching()):
        res = est.fit(cohort)
        sub = res.extras["subclass"].to_numpy()
        for e in res.estimates:
            want = strata_cohort_se(cohort.y(e.outcome), cohort.t, sub)
            assert math.isclose(e.cohort_std_error, want, rel_tol=1e-12)
        f = res.to_frame().set_index("outcome")
        g = res.to_frame(target="expected").set_index("outcome")
        for e in res.estimates:
            assert math.isclose(f.loc[e.outcome, "std_error"], e.cohort_std_error, rel_tol=1e-12)
            assert math.isclose(g.loc[e.outcome, "std_error"], e.std_error, rel_tol=1e-12)
