"""Bootstrap intervals for the cohort's own rate: kind="comparison", the cohort noise,
the normal interval, and the stated reason the percentile interval over-covers matching."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from pbr_eval import Cohort
from pbr_eval.bootstrap import _make_plan, bootstrap
from pbr_eval.datasets import simulate
from pbr_eval.estimators.matching import NearestNeighborMatching
from pbr_eval.exceptions import OptionError
from pbr_eval.inference._cohort_boot import cohort_noise_sd, within_x_variance
from pbr_eval.inference.intervals import normal_bootstrap_interval, z_value


@pytest.fixture(scope="module")
def sim():
    return simulate("reoffending", n_treated=150, n_comparison=1500, seed=21)


@pytest.fixture(scope="module")
def cohort(sim):
    return Cohort(sim.data, **sim.cohort_args)


@pytest.fixture(scope="module")
def boot(cohort):
    return bootstrap(NearestNeighborMatching(), cohort, n_boot=40, kind="comparison", seed=3,
                     progress=False)


def test_normal_interval_by_hand():
    reps = np.array([[0.1, 1.0], [0.3, 3.0], [0.2, 2.0]])
    lo, hi = normal_bootstrap_interval(np.array([0.25, 2.5]), reps, 0.9)
    sd = reps.std(axis=0, ddof=1)
    z = z_value(0.9)
    np.testing.assert_allclose(lo, [0.25 - z * sd[0], 2.5 - z * sd[1]])
    np.testing.assert_allclose(hi, [0.25 + z * sd[0], 2.5 + z * sd[1]])


def test_comparison_plan_keeps_every_treated_unit_once(cohort):
    plan = _make_plan(cohort, "comparison", None)
    groups = plan.draw(np.random.default_rng(1))
    rows, _ = plan.rows_of(groups)
    t = cohort.t[rows]
    assert np.array_equal(np.sort(rows[t]), np.flatnonzero(cohort.t))  # all treated, once each
    assert (~t).sum() == cohort.n_comparison
    assert len(np.unique(rows[~t])) < cohort.n_comparison  # comparison drawn with replacement


def test_comparison_bootstrap_holds_the_observed_rate(boot, cohort):
    obs = np.array([e.observed for e in boot.estimates])
    np.testing.assert_allclose(boot.replicates[:, :, 0], np.broadcast_to(obs, (40, 2)))
    assert boot.info["n_resampling_units"] == cohort.n_comparison
    assert boot.cohort_noise.shape == (40, 2)


def test_cohort_target_adds_the_noise_and_effect_is_observed_minus_it(boot):
    coh = boot.to_frame(ci="percentile", target="cohort").set_index("outcome")
    exp = boot.to_frame(ci="percentile", target="expected").set_index("outcome")
    for k, o in enumerate(boot.outcomes):
        ni = boot.replicates[:, k, 1] + boot.cohort_noise[:, k]
        assert coh.loc[o, "non_intervention_se"] == pytest.approx(ni.std(ddof=1))
        assert coh.loc[o, "non_intervention_se"] > exp.loc[o, "non_intervention_se"]
        lo, hi = np.quantile(ni, [0.025, 0.975])
        assert coh.loc[o, "non_intervention_ci_lower"] == pytest.approx(lo)
        assert coh.loc[o, "ci_lower"] == pytest.approx(coh.loc[o, "observed"] - hi)
        assert coh.loc[o, "ci_upper"] == pytest.approx(coh.loc[o, "observed"] - lo)
    nrm = boot.to_frame(ci="normal").set_index("outcome")
    mid = (nrm["ci_lower"] + nrm["ci_upper"]) / 2
    np.testing.assert_allclose(mid, nrm["effect"])  # centred on the estimate


def test_noise_sd_is_the_cohort_outcome_spread():
    # Y(0) binary with P = 0.2 or 0.6 by x: E[Var(Y|X)] over the treated's x mix.
    rng = np.random.default_rng(4)
    n1, n0 = 400, 8000
    x = np.r_[rng.random(n1) < 0.7, rng.random(n0) < 0.3].astype(float)
    p = np.where(x == 1, 0.6, 0.2)
    d = pd.DataFrame({"t": np.r_[np.ones(n1), np.zeros(n0)].astype(int), "x": x + 0.0,
                      "z": rng.normal(size=n1 + n0)})
    d["y"] = (rng.random(n1 + n0) < p).astype(int)
    c = Cohort(d, treatment="t", outcome="y", covariates=["x", "z"])
    # comparison weights carrying the treated x mix (0.7 / 0.3 odds)
    w = np.where(c.t, 1.0, np.where(c.X[:, 0] == 1, 0.7 / 0.3, 0.3 / 0.7))
    truth = 0.7 * 0.6 * 0.4 + 0.3 * 0.2 * 0.8
    assert within_x_variance(c, w, ["y"])[0] == pytest.approx(truth, rel=0.08)
    assert cohort_noise_sd(c, w, ["y"])[0] == pytest.approx(np.sqrt(truth / n1), rel=0.05)


def test_seeded_and_identical_across_n_jobs(cohort):
    a = bootstrap(NearestNeighborMatching(), cohort, n_boot=6, kind="comparison", seed=9,
                  progress=False)
    b = bootstrap(NearestNeighborMatching(), cohort, n_boot=6, kind="comparison", seed=9,
                  progress=False, n_jobs=2)
    np.testing.assert_array_equal(a.replicates, b.replicates)
    np.testing.assert_array_equal(a.cohort_noise, b.cohort_noise)
    pd.testing.assert_frame_equal(a.to_frame(), b.to_frame())


def test_bca_jackknife_never_leaves_out_the_cohort(cohort):
    b = bootstrap(NearestNeighborMatching(), cohort, n_boot=5, kind="comparison", seed=2,
                  progress=False, ci="bca", n_jackknife=4)
    assert b.jackknife.shape[0] == 4
    obs = np.array([e.observed for e in b.estimates])
    np.testing.assert_allclose(b.jackknife[:, :, 0], np.broadcast_to(obs, (4, 2)))
    assert np.isfinite(b.to_frame(ci="bca")["ci_lower"]).all()


def test_pair_bootstrap_gets_the_cohort_noise(cohort):
    res = NearestNeighborMatching().fit(cohort)
    b = bootstrap(res, cohort, n_boot=30, kind="pair", seed=1, progress=False)
    assert b.cohort_noise is not None
    coh = b.to_frame().set_index("outcome")
    exp = b.to_frame(target="expected").set_index("outcome")
    assert (coh["non_intervention_se"] > exp["non_intervention_se"]).all()
    assert "cohort's outcome noise" in " ".join(b.info["notes"])


def test_errors(cohort):
    panel = simulate("families", n_treated=60, n_comparison=300, seed=1)
    pc = Cohort(panel.data, **panel.cohort_args)
    from pbr_eval.estimators.base import build_estimator

    with pytest.raises(OptionError, match="`kind='comparison'` holds the treated cohort fixed "
                                          "and is for cross-sectional"):
        bootstrap(build_estimator("did", {}), pc, n_boot=2, kind="comparison")
    with pytest.raises(OptionError, match="`strata` is used only with kind='stratified'"):
        bootstrap(NearestNeighborMatching(), cohort, n_boot=2, kind="comparison",
                  strata="local_authority")
    with pytest.raises(OptionError, match="estimand 'ATT'"):
        bootstrap(NearestNeighborMatching(estimand="ATC", replace=True), cohort, n_boot=2,
                  kind="comparison")
    with pytest.raises(OptionError, match="`ci` must be one of"):
        bootstrap(NearestNeighborMatching(), cohort, n_boot=2, ci="studentized")


@pytest.mark.slow
def test_percentile_interval_of_rematching_is_off_the_estimate():
    # The stated reason the percentile interval of a re-matching bootstrap over-covers
    # (docs/validation.md): re-matched replicates centre on a smoothed value between the
    # estimate and the truth, so (percentile midpoint - estimate) runs against the
    # estimate's error, by a sizeable fraction of the standard error.
    seeds = [int(s.generate_state(1)[0]) for s in np.random.SeedSequence(77).spawn(40)]
    shift, err, se = [], [], []
    for s in seeds:
        sim = simulate("reoffending", n_treated=200, n_comparison=2000, seed=s)
        c = Cohort(sim.data, **sim.cohort_args)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            b = bootstrap(NearestNeighborMatching(), c, n_boot=49, kind="stratified", seed=s,
                          progress=False)
        f = b.to_frame(ci="percentile", target="expected").set_index("outcome").loc["reoffended"]
        shift.append((f["non_intervention_ci_lower"] + f["non_intervention_ci_upper"]) / 2
                     - f["non_intervention"])
        err.append(f["non_intervention"] - sim.truth.loc["reoffended", "non_intervention"])
        se.append(f["non_intervention_se"])
    shift, err = np.array(shift), np.array(err)
    assert np.corrcoef(shift, err)[0, 1] < -0.2
    assert shift.std() > 0.3 * np.mean(se)


@pytest.mark.slow
def test_reduced_coverage_comparison_bootstrap_normal():
    # CI guard for the documented row "nearest + comparison bootstrap (normal)": the
    # cohort's rate and effect must cover at least 0.90 and, the percentile interval's
    # off-centre failure (above) not returning, at most 0.99.
    from pbr_eval.validation import coverage_study

    cs = coverage_study(NearestNeighborMatching(), "reoffending", n_reps=120, seed=31,
                        n_treated=200, n_comparison=2000, inference="bootstrap",
                        boot_kind="comparison", boot_ci="normal", n_boot=49, n_jobs=2)
    t = cs.table.set_index(["outcome", "quantity"])["coverage"]
    for q in ("effect", "non_intervention_cohort"):
        cov = t.xs(q, level="quantity")
        assert ((cov >= 0.90) & (cov <= 0.99)).all(), (q, cov.to_dict())
