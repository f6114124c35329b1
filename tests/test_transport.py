"""Transport of the non-intervention rate to a target population (pbr_eval.transport)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import pbr_eval
from pbr_eval import Cohort
from pbr_eval.datasets import load_reoffending
from pbr_eval.estimators.transport import target_profile, transport
from pbr_eval.exceptions import InfeasibleBalanceError, OptionError

# Target population: x ~ N(0.5, 1), z ~ Bernoulli(0.7); Y(0) = 1 + x + 0.5 z + N(0, 1),
# effect 1 + 0.5 x: the target's non-intervention mean is 1 + 0.5 + 0.35 = 1.85, its effect 1.25.
TARGET_MEANS = {"x": 0.5, "z": 0.7}
TRUE_MU0, TRUE_EFFECT = 1.85, 1.25


def pilot(rng: np.random.Generator, n: int = 800) -> Cohort:
    x = rng.normal(size=n)
    z = rng.binomial(1, 0.5, size=n)
    t = rng.random(n) < 1 / (1 + np.exp(-(-0.8 + 0.8 * x)))
    y = 1 + x + 0.5 * z + rng.normal(size=n) + t * (1 + 0.5 * x)
    df = pd.DataFrame({"t": t.astype(int), "y": y, "x": x, "z": z})
    return Cohort(df, treatment="t", outcome="y", covariates=["x", "z"], min_treated=10)


def test_known_truth_coverage_reduced() -> None:
    """150 pilots of 800: bias small, 95% intervals of the target's rate and effect cover 0.9-0.99."""
    rng = np.random.default_rng(7)
    est, cover0, cover1 = [], 0, 0
    reps = 150
    for _ in range(reps):
        f = transport(pilot(rng), TARGET_MEANS).to_frame().iloc[0]
        est.append(f["non_intervention"])
        cover0 += f["non_intervention_ci_lower"] <= TRUE_MU0 <= f["non_intervention_ci_upper"]
        cover1 += f["ci_lower"] <= TRUE_EFFECT <= f["ci_upper"]
    assert abs(np.mean(est) - TRUE_MU0) < 0.02
    assert 0.90 <= cover0 / reps <= 0.99
    assert 0.90 <= cover1 / reps <= 0.99


def test_target_as_rows_equals_target_as_means() -> None:
    sim = load_reoffending()
    cohort = Cohort(sim.data, **sim.cohort_args)
    older = sim.data[sim.data["age"] >= 30]
    a = transport(cohort, older)
    means = dict(zip(cohort.design_columns, target_profile(cohort, older), strict=True))
    b = transport(cohort, means)
    pd.testing.assert_frame_equal(a.to_frame(), b.to_frame())
    # the weighted comparison group has the target's means exactly
    assert means["age"] == pytest.approx(float(older["age"].mean()), rel=1e-12)
    assert a.estimand == "target" and a.estimates[0].population
    assert "7,385 people" in a.summary()


def test_price_accepts_a_transported_rate() -> None:
    sim = load_reoffending()
    cohort = Cohort(sim.data, **sim.cohort_args)
    res = transport(cohort, sim.data[sim.data["age"] >= 30])
    p = pbr_eval.price(res, value_per_outcome=1000, better="lower", outcomes=["reoffended"])
    row = p.to_frame().iloc[0]
    f = res.to_frame().set_index("outcome").loc["reoffended"]
    # better="lower": the price is for the outcome not happening, 1 - the rate
    assert row["non_intervention"] == pytest.approx(1 - f["non_intervention"], rel=1e-12)


def test_errors() -> None:
    sim = load_reoffending()
    cohort = Cohort(sim.data, **sim.cohort_args)
    with pytest.raises(OptionError, match="`target` must have the cohort's covariate columns; "
                                          "it lacks 'sex'"):
        transport(cohort, sim.data.drop(columns="sex"))
    with pytest.raises(OptionError, match=r"`target` means must give every design column .* "
                                          r"missing 'sentence_months'"):
        transport(cohort, {k: 0.1 for k in cohort.design_columns if k != "sentence_months"})
    bad = sim.data.assign(offence_type="arson")
    with pytest.raises(OptionError, match="`target` column 'offence_type' has values the cohort "
                                          "does not: 'arson'"):
        transport(cohort, bad)
    with pytest.raises(OptionError, match="`target` must be a DataFrame"):
        transport(cohort, [1, 2])
    far = {k: 0.5 for k in cohort.design_columns}
    far["age"] = 500.0
    with pytest.raises(InfeasibleBalanceError, match="'age'"):
        transport(cohort, far)
