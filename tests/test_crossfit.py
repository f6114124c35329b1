"""Cross-fitted AIPW (ATT, issue 16.5): DoubleML's ATTE on the same folds, the estimator option, its errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.linear_model import LinearRegression, LogisticRegression

from pbr_eval.estimators.crossfit import aggregate_repetitions, aipw_att_crossfit

REF_DIR = Path(__file__).parent / "reference" / "doubleml"
REF = json.loads((REF_DIR / "doubleml_atte.json").read_text())
LEARNERS = {
    "linear": (LinearRegression(), LogisticRegression(C=1e6, max_iter=1000)),
    "forest": (RandomForestRegressor(n_estimators=50, min_samples_leaf=10, random_state=1),
               RandomForestClassifier(n_estimators=50, min_samples_leaf=10, random_state=1)),
}


@pytest.mark.parametrize("name", sorted(LEARNERS))
def test_equals_doubleml_atte_on_the_same_folds(name: str) -> None:
    df = pd.read_csv(REF_DIR / "crossfit_data.csv")
    X = df[["x1", "x2", "x3"]].to_numpy()
    t, y = df["d"].to_numpy().astype(bool), df["y"].to_numpy()
    g, m = LEARNERS[name]
    fits = [aipw_att_crossfit(y, t, X, m, g, df[f"fold{r}"].to_numpy())
            for r in range(REF["reps"])]
    ref = REF["results"][name]
    np.testing.assert_allclose([f.effect for f in fits], ref["coef_rep"], rtol=1e-10)
    np.testing.assert_allclose([f.effect_se for f in fits], ref["se_rep"], rtol=1e-10)
    theta, se = aggregate_repetitions(np.array([f.effect for f in fits]),
                                      np.array([f.effect_se for f in fits]))
    assert theta == pytest.approx(ref["coef"], rel=1e-10)
    assert se == pytest.approx(ref["se"], rel=1e-10)


def _cohort(seed: int = 5, n1: int = 200, n0: int = 600):  # noqa: ANN202
    from pbr_eval import Cohort
    from pbr_eval.datasets._designs import simulate_design

    sim = simulate_design("both_wrong", n_treated=n1, n_comparison=n0, seed=seed)
    return Cohort(sim.data, **sim.cohort_args), sim


def test_reachable_from_estimate_on_the_folds_it_used() -> None:
    import pbr_eval
    from pbr_eval.estimators.crossfit import crossfit_folds

    cohort, _ = _cohort()
    m, g = LogisticRegression(C=1e6, max_iter=1000), LinearRegression()
    res = pbr_eval.estimate(cohort, method="aipw", cross_fit=4, repetitions=3, seed=7,
                            propensity=m, outcome_model=g)
    seeds = np.random.SeedSequence(7).spawn(3)
    y, t = cohort.y("y"), cohort.t
    fits = [aipw_att_crossfit(y, t, cohort.X, m, g,
                              crossfit_folds(t, 4, seed=int(s.generate_state(1)[0])))
            for s in seeds]
    e = res.estimates[0]
    mu0, se0 = aggregate_repetitions(np.array([f.mu0 for f in fits]),
                                     np.array([f.mu0_se for f in fits]))
    eff, se_eff = aggregate_repetitions(np.array([f.effect for f in fits]),
                                        np.array([f.effect_se for f in fits]))
    assert e.non_intervention == pytest.approx(mu0, rel=1e-12)
    assert e.non_intervention_se == pytest.approx(se0, rel=1e-10)
    assert e.effect == pytest.approx(eff, rel=1e-10)
    assert e.std_error == pytest.approx(se_eff, rel=1e-10)
    # the default intervals (the cohort's own rate) use the cohort standard error
    f = res.to_frame().iloc[0]
    assert f["non_intervention_ci_upper"] - f["non_intervention"] == pytest.approx(
        1.959963984540054 * e.cohort_std_error, rel=1e-9)
    assert res.info["cross_fit"] == 4 and len(res.extras["crossfit"]["y"]) == 3
    # same seed, same numbers
    again = pbr_eval.estimate(cohort, method="aipw", cross_fit=4, repetitions=3, seed=7,
                              propensity=m, outcome_model=g)
    assert again.estimates[0].non_intervention == e.non_intervention


def test_option_errors() -> None:
    import pbr_eval
    from pbr_eval.exceptions import OptionError

    cohort, _ = _cohort(n1=60, n0=120)
    with pytest.raises(OptionError, match="`cross_fit` must be"):
        pbr_eval.estimate(cohort, method="aipw", cross_fit=1)
    with pytest.raises(OptionError, match="estimates the ATT only; got estimand='ATE'"):
        pbr_eval.estimate(cohort, method="aipw", cross_fit=5, estimand="ATE")
    with pytest.raises(OptionError, match="`trim` cannot be combined with cross_fit"):
        pbr_eval.estimate(cohort, method="aipw", cross_fit=5, trim=0.05)
    with pytest.raises(OptionError, match="`propensity='probit'` cannot be cross-fitted"):
        pbr_eval.estimate(cohort, method="aipw", cross_fit=5, propensity="probit")
    with pytest.raises(OptionError, match="`se='cluster'` needs a cohort built with `cluster`"):
        pbr_eval.estimate(cohort, method="aipw", cross_fit=5, se="cluster")
    with pytest.raises(OptionError, match="needs at least 80 programme participants"):
        pbr_eval.estimate(cohort, method="aipw", cross_fit=80)



@pytest.mark.slow
def test_coverage_where_main_effects_fail_reduced() -> None:
    """Reduced benchmarks/validate_crossfit.py: 40 cohorts of 150 (the full study: 200 of 300)."""
    import sys

    sys.path.insert(0, str(Path(__file__).parents[1] / "benchmarks"))
    from validate_crossfit import study

    tab = study(reps=40, n_treated=150, seed=11).set_index("estimator")
    flex = tab.loc["aipw, cross_fit=5, degree-2 polynomial learners"]
    main = tab.loc["aipw, main effects (no cross-fitting)"]
    assert flex["cover_ni"] >= 0.85 and abs(flex["bias_ni"]) < 0.15
    assert main["cover_ni"] < flex["cover_ni"] and abs(main["bias_ni"]) > 3 * abs(flex["bias_ni"])
