"""Sensitivity to hidden bias: Rosenbaum bounds, E-values, tipping points, placebos.

Sources:
- E-values: VanderWeele, T. J. & Ding, P. (2017). Sensitivity analysis in
  observational research: introducing the E-value. Annals of Internal
  Medicine 167(4), 268-274 (worked example RR 10.73, 95% CI 8.02-14.36 ->
  E-values 20.95 and 15.52).
- McNemar bound: Rosenbaum, P. R. (2002). Observational Studies, 2nd ed.,
  section 4.3.2, Hammond's smoking and lung-cancer pairs (122 discordant
  pairs, the smoker died in 110); checked against an independent exact
  binomial sum written here with math.comb.
- Wilcoxon bound: Rosenbaum (2002) section 4.3.3; at Gamma = 1 it must equal
  scipy.stats.wilcoxon's normal approximation, and for Gamma > 1 it is checked
  against the exact distribution of the bounding statistic (a sum of
  independent rank x Bernoulli(Gamma / (1 + Gamma)) terms) by convolution.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from pbr_eval import Cohort
from pbr_eval.bootstrap import bootstrap
from pbr_eval.datasets import simulate
from pbr_eval.estimators.matching import NearestNeighborMatching
from pbr_eval.exceptions import OptionError
from pbr_eval.sensitivity import (
    critical_gamma,
    e_value,
    e_values,
    mcnemar_bound,
    placebo_outcome,
    placebo_split,
    rosenbaum_bounds,
    tipping_point,
    wilcoxon_bound,
)


# ------------------------------------------------------------------ E-values
def test_e_value_published_example():
    point, limit = e_value(10.73, 8.02, 14.36)
    assert round(point, 2) == 20.95
    assert round(limit, 2) == 15.52


@pytest.mark.parametrize(
    ("rr", "lo", "hi", "expect_point", "expect_limit"),
    [
        (0.5, 0.3, 0.8, 2 + math.sqrt(2), 1.25 + math.sqrt(1.25 * 0.25)),  # protective: 1/RR
        (1.5, 0.9, 2.5, 1.5 + math.sqrt(1.5 * 0.5), 1.0),  # interval includes 1
        (0.8, 0.6, 1.1, 1.25 + math.sqrt(1.25 * 0.25), 1.0),
        (1.0, 0.8, 1.2, 1.0, 1.0),
    ],
    ids=["protective", "ci-includes-1", "protective-ci-includes-1", "null"],
)
def test_e_value_formula(rr, lo, hi, expect_point, expect_limit):
    point, limit = e_value(rr, lo, hi)
    assert point == pytest.approx(expect_point, rel=1e-12)
    assert limit == pytest.approx(expect_limit, rel=1e-12)


def test_e_value_errors():
    with pytest.raises(OptionError, match="`rr` must be a positive number; got -1"):
        e_value(-1.0)
    assert math.isnan(e_value(2.0)[1])


# ------------------------------------------------------------------ Rosenbaum, pure functions
def _exact_upper_tail(t: int, d: int, p: float) -> float:
    return sum(math.comb(d, k) * p**k * (1 - p) ** (d - k) for k in range(t, d + 1))


@pytest.mark.parametrize("gamma", [1.0, 2.0, 4.0, 5.0, 6.0])
def test_mcnemar_bound_hammond_example(gamma):
    assert mcnemar_bound(110, 122, gamma) == pytest.approx(
        _exact_upper_tail(110, 122, gamma / (1 + gamma)), rel=1e-9, abs=1e-300)


def test_hammond_conclusion_changes_between_gamma_5_and_6():
    # Rosenbaum (2002, 4.3.2): insensitive at Gamma = 5, sensitive at Gamma = 6 (alpha 0.05).
    g = critical_gamma(lambda gm: mcnemar_bound(110, 122, gm), 0.95)
    assert 5.0 < g < 6.0
    assert mcnemar_bound(110, 122, g) == pytest.approx(0.05, abs=1e-8)


def test_wilcoxon_bound_equals_scipy_at_gamma_1():
    d = np.random.default_rng(4).normal(0.3, 1.0, size=60)
    ref = stats.wilcoxon(d, alternative="greater", method="approx", correction=False)
    assert wilcoxon_bound(d, 1.0) == pytest.approx(ref.pvalue, rel=1e-10)


def _exact_bound(diffs: np.ndarray, gamma: float) -> float:
    """Exact P(sum q_i B_i >= T), B_i ~ Bernoulli(gamma/(1+gamma)), integer ranks."""
    d = diffs[diffs != 0]
    q = stats.rankdata(np.abs(d)).astype(int)
    t = int(q[d > 0].sum())
    p = gamma / (1 + gamma)
    dist = np.zeros(int(q.sum()) + 1)
    dist[0] = 1.0
    for r in q:
        new = dist * (1 - p)
        new[r:] += dist[:-r] * p
        dist = new
    return float(dist[t:].sum())


@pytest.mark.parametrize("gamma", [1.0, 1.5, 2.5])
def test_wilcoxon_bound_close_to_exact_distribution(gamma):
    d = np.random.default_rng(7).normal(0.5, 1.0, size=80)
    assert wilcoxon_bound(d, gamma) == pytest.approx(_exact_bound(d, gamma), abs=0.01)


def test_bounds_increase_with_gamma():
    d = np.random.default_rng(1).normal(0.4, 1.0, size=50)
    ps = [wilcoxon_bound(d, g) for g in (1, 1.5, 2, 3)]
    assert ps == sorted(ps)
    assert critical_gamma(lambda g: 0.2) == 1.0
    assert math.isinf(critical_gamma(lambda g: 0.0))


# ------------------------------------------------------------------ on matched results
@pytest.fixture(scope="module")
def strong():
    # A large programme effect (40% fewer reoffenders) so the conclusion survives some bias.
    sim = simulate("reoffending", n_treated=400, n_comparison=4000, seed=5,
                   effect={"reoffended": -0.4, "reconviction_events": -0.4})
    c = Cohort(sim.data, **sim.cohort_args)
    return c, NearestNeighborMatching().fit(c)


def test_rosenbaum_bounds_match_hand_count(strong):
    c, r = strong
    rb = rosenbaum_bounds(r, c, gammas=(1.0, 1.5, 2.0))
    sub = r.extras["subclass"].to_numpy()
    y = c.y("reoffended")
    yt = np.full(sub.max() + 1, np.nan)
    yc = np.full(sub.max() + 1, np.nan)
    yt[sub[(sub >= 0) & c.t]] = y[(sub >= 0) & c.t]
    yc[sub[(sub >= 0) & ~c.t]] = y[(sub >= 0) & ~c.t]
    t = int(((yc == 1) & (yt == 0)).sum())
    d = int((yc != yt).sum())
    row = rb.critical.set_index("outcome").loc["reoffended"]
    assert (row["statistic"], row["n_discordant"]) == (t, d)
    assert row["direction"] == "programme lower"
    p15 = rb.table.query("outcome == 'reoffended' and gamma == 1.5")["p_upper"].iloc[0]
    assert p15 == pytest.approx(_exact_upper_tail(t, d, 1.5 / 2.5), rel=1e-9)
    assert row["gamma_critical"] > 1.2  # a 40% reduction survives modest hidden bias
    counts = rb.critical.set_index("outcome").loc["reconviction_events"]
    assert counts["test"].startswith("Wilcoxon")
    assert "times as likely" in rb.summary()


def test_rosenbaum_errors(strong):
    c, r = strong
    with pytest.raises(OptionError, match="`gammas` must be numbers >= 1"):
        rosenbaum_bounds(r, c, gammas=(0.5,))
    with pytest.raises(OptionError, match="Rosenbaum bounds need 1:1 matched pairs; these results"):
        rosenbaum_bounds(NearestNeighborMatching(replace=True).fit(c), c)
    with pytest.raises(OptionError, match="matched sets have 3 members"):
        rosenbaum_bounds(NearestNeighborMatching(ratio=2).fit(c), c)


# ------------------------------------------------------------------ E-values and tipping points
def test_e_values_from_results_and_bootstrap(strong):
    c, r = strong
    ev = e_values(r).to_frame().set_index("outcome")
    f = r.to_frame().set_index("outcome")
    rr = f["observed"] / f["non_intervention"]
    np.testing.assert_allclose(ev["rr"], rr)
    np.testing.assert_allclose(ev["rr_ci_lower"], f["observed"] / f["non_intervention_ci_upper"])
    expect = [e_value(v)[0] for v in rr]
    np.testing.assert_allclose(ev["e_value"], expect)
    assert (ev["e_value_ci"] <= ev["e_value"]).all()
    boot = bootstrap(r, c, n_boot=50, kind="pair", seed=1)
    evb = e_values(boot).to_frame()
    assert evb["rr_ci_source"].iloc[0].startswith("bootstrap")
    with pytest.raises(OptionError, match="`results` must be CounterfactualResults or Bootstrap"):
        e_values("not results")


def test_tipping_point(strong):
    _, r = strong
    tp = tipping_point(r, better="lower").to_frame().set_index("outcome")
    f = r.to_frame().set_index("outcome")
    np.testing.assert_allclose(tp["shift_to_null"], f["non_intervention"] - f["observed"])
    np.testing.assert_allclose(tp["shift_to_insignificant"], np.maximum(-f["ci_upper"], 0))
    assert (tp["shift_to_null"] > 0).all()
    hi = tipping_point(r, better="higher").to_frame()
    assert (hi["shift_to_null"] < 0).all()  # lower reoffending is not "more outcomes"
    with pytest.raises(OptionError, match="`better` must be one of 'higher', 'lower'; got 'up'"):
        tipping_point(r, better="up")


def test_frames_returned_before_still_read_with_a_deprecation_warning(strong):
    _, r = strong
    ev = e_values(r)
    with pytest.warns(DeprecationWarning, match=r"e_values\(\) now returns EValues.*to_frame"):
        col = ev["e_value"]
    assert col.equals(ev.to_frame()["e_value"])
    with pytest.warns(DeprecationWarning, match=r"tipping_point\(\) now returns TippingPoint"):
        tp = tipping_point(r).set_index("outcome")
    assert list(tp.index) == list(r.outcomes)
    with pytest.raises(AttributeError, match="no attribute 'no_such_thing'"):
        ev.no_such_thing  # noqa: B018


# ------------------------------------------------------------------ placebo checks
def test_placebo_outcome_flags_an_omitted_confounder_and_passes_otherwise(strong):
    c, _ = strong
    # prior_offences drives selection; without it the groups differ in it -> flagged
    bad = placebo_outcome(NearestNeighborMatching(), c, outcome="prior_offences")
    assert bad.flagged and "cannot have changed" in bad.message
    fam = simulate("families", n_treated=300, n_comparison=3000, seed=3)
    fc = Cohort(fam.data, **fam.cohort_args)
    pre = placebo_outcome(NearestNeighborMatching(), fc, period=0)
    assert set(pre.table["outcome"]) == set(fam.cohort_args["outcome"])
    assert pre.table["effect"].abs().max() < 3.0  # attendance in points; binaries far smaller


def test_placebo_outcome_with_a_lagged_outcome_column():
    # A pre-programme outcome generated from the covariates alone (no effect, no
    # hidden confounding): with all covariates adjusted for it must not be flagged.
    sim = simulate("reoffending", n_treated=300, n_comparison=3000, seed=9)
    df = sim.data.copy()
    rng = np.random.default_rng(1)
    lin = -1.0 + 0.1 * df["prior_offences"] - 0.02 * df["age"] + 0.5 * (df["sex"] == "M")
    df["reoffended_before"] = (rng.random(len(df)) < 1 / (1 + np.exp(-lin))).astype(int)
    c = Cohort(df, **sim.cohort_args)
    pl = placebo_outcome(NearestNeighborMatching(), c, outcome="reoffended_before", data=df)
    assert list(pl.table["outcome"]) == ["reoffended_before"]
    assert not pl.flagged, pl.table
    # ... and a lagged outcome that depends on a hidden factor driving selection is flagged
    hidden = df["treated"] * 1.5
    df["hidden_before"] = (rng.random(len(df)) < 1 / (1 + np.exp(-(lin + hidden)))).astype(int)
    bad = placebo_outcome(NearestNeighborMatching(), c, outcome="hidden_before", data=df)
    assert bad.flagged
    with pytest.raises(OptionError, match="is an outcome of the cohort"):
        placebo_outcome(NearestNeighborMatching(), c, outcome="reoffended", data=df)
    with pytest.raises(OptionError, match="is not a column of `data`"):
        placebo_outcome(NearestNeighborMatching(), c, outcome="nope", data=df)


def test_placebo_split_on_random_splits_is_not_flagged(strong):
    c, _ = strong
    pl = placebo_split(NearestNeighborMatching(), c, n_splits=12, seed=2)
    assert len(pl.table) == 24
    assert not pl.flagged
    again = placebo_split(NearestNeighborMatching(), c, n_splits=12, seed=2)
    assert again.table.equals(pl.table)


def test_placebo_errors(strong):
    c, _ = strong
    est = NearestNeighborMatching()
    with pytest.raises(OptionError, match="Give exactly one of `outcome`"):
        placebo_outcome(est, c)
    with pytest.raises(OptionError, match="`outcome` must be one of the cohort's covariates"):
        placebo_outcome(est, c, outcome="reoffended")
    with pytest.raises(OptionError, match="`outcome` 'sex' is not numeric"):
        placebo_outcome(est, c, outcome="sex")
    with pytest.raises(OptionError, match="`n_treated` must be at most half"):
        placebo_split(est, c, n_treated=3000)
    with pytest.raises(OptionError, match="`n_splits` must be an integer >= 1"):
        placebo_split(est, c, n_splits=0)
