"""Entropy balancing ("entropy"): exact balance, ESS, truth, SE vs bootstrap, infeasibility errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pbr_eval import Cohort, estimate
from pbr_eval.datasets import load_reoffending, simulate
from pbr_eval.diagnostics.balance import weighted_mean_var
from pbr_eval.estimators.entropy import EntropyBalancing, entropy_att, entropy_weights
from pbr_eval.exceptions import InfeasibleBalanceError, OptionError


@pytest.mark.parametrize("moments", ["mean", "variance"])
def test_exact_balance_and_ess(moments: str) -> None:
    sim = load_reoffending()
    c = Cohort(sim.data, **sim.cohort_args)
    r = EntropyBalancing(moments=moments).fit(c)
    smd = r.balance.to_frame(ecdf=False)["smd_after"].abs()
    assert smd.max() < 1e-6
    ess = r.info["effective_sample_size"]["comparison"]
    assert 0 < ess < c.n_comparison
    assert r.info["max_abs_moment_gap"] < 1e-6
    if moments == "variance":
        t = c.t
        w = r.weights.to_numpy()
        cont = [j for j, n in enumerate(c.design_columns) if n not in c.binary_columns]
        x = c.X[:, cont]
        v1 = x[t].var(axis=0)
        m0 = (w[~t] @ x[~t]) / w[~t].sum()
        v0 = (w[~t] @ (x[~t] - m0) ** 2) / w[~t].sum()
        np.testing.assert_allclose(v0, v1, rtol=1e-7)
        assert "variance of age" in r.info["balanced_moments"]


def test_entropy_near_truth_where_naive_is_not() -> None:
    sim = simulate("reoffending", n_treated=2000, n_comparison=40000, seed=14)
    f = estimate(Cohort(sim.data, **sim.cohort_args), method="entropy").to_frame()
    f = f.set_index("outcome")
    for name in sim.truth.index:
        truth = sim.truth.loc[name]
        est, se = f.loc[name, "non_intervention"], f.loc[name, "non_intervention_se"]
        assert abs(est - truth["non_intervention"]) < 3.5 * se
        assert abs(truth["naive_comparison"] - truth["non_intervention"]) > 5 * se


def test_entropy_se_matches_bootstrap() -> None:
    rng = np.random.default_rng(2)
    n = 3000
    x = rng.normal(size=(n, 2))
    t = rng.random(n) < 1 / (1 + np.exp(-(-1.5 + x @ [0.7, -0.4])))
    y = 1 + x @ [1.0, 0.5] + 0.8 * x[:, 0] ** 2 + rng.normal(size=n)
    df = pd.DataFrame({"t": t.astype(int), "x1": x[:, 0], "x2": x[:, 1], "y": y})
    c = Cohort(df, treatment="t", outcome="y", covariates=["x1", "x2"])
    se = EntropyBalancing(se="robust").fit(c).estimates[0].non_intervention_se
    draws = []
    for _ in range(200):
        i = rng.integers(0, n, n)
        w, _, D, tau = entropy_weights(x[i], t[i], ["x1", "x2"])
        draws.append(entropy_att(y[i], t[i], w, D, tau)[0])
    assert np.std(draws, ddof=1) == pytest.approx(se, rel=0.15)


def test_infeasible_mean_names_covariate() -> None:
    rng = np.random.default_rng(0)
    n1, n0 = 60, 500
    df = pd.DataFrame({
        "t": np.r_[np.ones(n1), np.zeros(n0)].astype(int),
        "age": rng.normal(40, 5, n1 + n0),
        "all_in_care": np.r_[np.ones(n1), rng.integers(0, 2, n0)],  # treated all 1
        "y": rng.normal(size=n1 + n0),
    })
    c = Cohort(df, treatment="t", outcome="y", covariates=["age", "all_in_care"])
    with pytest.raises(InfeasibleBalanceError, match="treated mean of 'all_in_care'.*outside"):
        EntropyBalancing().fit(c)


def test_jointly_infeasible_names_covariates() -> None:
    # each covariate's treated mean is inside the comparison range, but jointly it is not:
    # comparison units lie on the line x2 = x1, treated units off it.
    rng = np.random.default_rng(1)
    a = rng.normal(size=400)
    x1 = np.r_[rng.normal(size=50), a]
    x2 = np.r_[rng.normal(size=50) + 1.0, a]
    df = pd.DataFrame({"t": np.r_[np.ones(50), np.zeros(400)].astype(int), "x1": x1,
                       "x2": x2 + 1e-9 * rng.normal(size=450), "y": rng.normal(size=450)})
    c = Cohort(df, treatment="t", outcome="y", covariates=["x1", "x2"])
    with pytest.raises(InfeasibleBalanceError, match="still imbalanced: 'x"):
        EntropyBalancing().fit(c)


def test_option_errors() -> None:
    with pytest.raises(OptionError, match="`moments` must be one of 'mean', 'variance'; got 'skew'"):
        EntropyBalancing(moments="skew")


def test_weighted_means_equal_by_construction() -> None:
    sim = load_reoffending()
    c = Cohort(sim.data, **sim.cohort_args)
    r = EntropyBalancing().fit(c)
    w = r.weights.to_numpy()
    m1 = c.X[c.t].mean(axis=0)
    m0, _ = weighted_mean_var(c.X[~c.t], w[~c.t])
    np.testing.assert_allclose(m0, m1, rtol=1e-9, atol=1e-9)
    assert w[~c.t].sum() == pytest.approx(c.n_treated)
