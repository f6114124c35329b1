"""Tests of pbr_eval.areas: area rates with partial pooling, funnel, tariffs, misallocation."""

from __future__ import annotations

import json
import warnings

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

import pbr_eval
from pbr_eval.areas import (
    AREA_COLUMNS,
    TARIFF_COLUMNS,
    AreaRates,
    area_rates,
    area_tariffs,
    fay_herriot,
    funnel_limits,
    logit_offsets,
    misallocation,
)
from pbr_eval.datasets import area_truth, load_reoffending, simulate, simulate_areas
from pbr_eval.disclosure import MARKER
from pbr_eval.exceptions import DataError, EstimationError, NotViableError, OptionError


# ------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def reo_cohort() -> pbr_eval.Cohort:
    sim = load_reoffending()
    return pbr_eval.Cohort(sim.data, **sim.cohort_args)


@pytest.fixture(scope="module")
def reo_rates(reo_cohort) -> AreaRates:
    return area_rates(reo_cohort, outcome="reoffended")


@pytest.fixture(scope="module")
def areas_sim():
    # 100 very unequal areas; 20,000 comparison people, so small areas have few
    return simulate_areas(n_areas=100, n_treated=5000, n_comparison=20_000, seed=2024)


def _area_cov(sim) -> pd.DataFrame:
    return sim.data.groupby("local_authority")[["unemployment_rate", "deprivation"]].first()


# ----------------------------------------------------------- Fay-Herriot core
def test_fay_herriot_equal_variances_closed_form():
    """With equal v and an intercept only, REML has a closed form; adjusted REML
    adds log(tau2) to the log-likelihood, whose maximiser solves a quadratic."""
    rng = np.random.default_rng(1)
    k, v = 30, 0.05
    theta = rng.normal(0.3, np.sqrt(0.04 + v), k)
    fit = fay_herriot(theta, np.full(k, v), np.ones((k, 1)))
    S = float(np.sum((theta - theta.mean()) ** 2))
    # d/dtau2 of [-(k-1)/2 log(tau2+v) - S/(2(tau2+v)) + log(tau2)] = 0
    # <=> (k-1)/2 x - S/2 = x^2/tau2 ... solved numerically on a fine grid as the reference
    grid = np.linspace(1e-6, 1.0, 400_001)
    ll = -(k - 1) / 2 * np.log(grid + v) - S / (2 * (grid + v)) + np.log(grid)
    assert fit.tau2 == pytest.approx(grid[np.argmax(ll)], abs=5e-6)
    B = v / (fit.tau2 + v)
    np.testing.assert_allclose(fit.shrinkage, B)
    np.testing.assert_allclose(fit.gamma, [theta.mean()])
    np.testing.assert_allclose(fit.mean, theta - B * (theta - theta.mean()))
    # Prasad-Rao MSE by hand: g1 + g2 + 2 g3
    var_tau2 = 2.0 / (k / (fit.tau2 + v) ** 2)
    mse = (1 - B) * v + B**2 * (fit.tau2 + v) / k + 2 * B**2 * var_tau2 / (fit.tau2 + v)
    np.testing.assert_allclose(fit.mse, mse)


def test_fay_herriot_reml_matches_matrix_formula():
    """Independent REML likelihood in full matrix form (projection P), maximised on a grid."""
    rng = np.random.default_rng(5)
    k = 25
    Z = np.column_stack([np.ones(k), rng.normal(size=k)])
    v = rng.uniform(0.01, 0.3, k)
    theta = Z @ [0.2, 0.5] + rng.normal(0, 0.3, k) + rng.normal(0, np.sqrt(v))
    fit = fay_herriot(theta, v, Z)

    def adjusted_reml(t2: float) -> float:
        V = np.diag(t2 + v)
        Vi = np.linalg.inv(V)
        A = Z.T @ Vi @ Z
        P = Vi - Vi @ Z @ np.linalg.inv(A) @ Z.T @ Vi
        return float(-0.5 * np.linalg.slogdet(V)[1] - 0.5 * np.linalg.slogdet(A)[1]
                     - 0.5 * theta @ P @ theta + np.log(t2))

    grid = np.linspace(0.001, 0.5, 5000)
    best = grid[np.argmax([adjusted_reml(g) for g in grid])]
    assert fit.tau2 == pytest.approx(best, abs=2e-4)
    W = np.diag(1 / (fit.tau2 + v))
    gamma = np.linalg.solve(Z.T @ W @ Z, Z.T @ W @ theta)
    np.testing.assert_allclose(fit.gamma, gamma, rtol=1e-8)


def test_fay_herriot_area_without_direct_estimate_gets_prior():
    theta = np.array([0.1, 0.5, -0.3, 0.2, np.nan, 0.4, -0.1])
    v = np.array([0.02, 0.05, 0.04, 0.03, np.nan, 0.06, 0.02])
    fit = fay_herriot(theta, v, np.ones((7, 1)))
    assert fit.n_direct == 6
    assert fit.shrinkage[4] == 1.0
    assert fit.mean[4] == pytest.approx(fit.prior_mean[4])
    assert fit.mse[4] == pytest.approx(fit.tau2 + fit.cov_gamma[0, 0])


def test_efron_morris_baseball():
    """Efron & Morris (1975), Table 1: 18 batting averages after 45 at-bats and the
    rest of the season. Shrinkage cuts the total squared error by about 3x."""
    hits = np.array([18, 17, 16, 15, 14, 14, 13, 12, 11, 11, 10, 10, 10, 10, 10, 9, 8, 7])
    rest = np.array([.346, .298, .276, .222, .273, .270, .263, .210, .269, .230, .264, .256,
                     .303, .264, .226, .286, .316, .200])
    y = hits / 45
    assert np.sum((y - rest) ** 2) == pytest.approx(0.0755, abs=5e-4)  # transcription check
    p_bar = y.mean()
    v = np.full(18, 1 / (45 * p_bar * (1 - p_bar)))  # smoothed logit variances
    fit = fay_herriot(np.log(y / (1 - y)), v, np.ones((18, 1)))
    pooled = 1 / (1 + np.exp(-fit.mean))
    assert np.sum((pooled - rest) ** 2) < np.sum((y - rest) ** 2) / 2.5


def test_logit_offsets_empirical_logit_and_exact_equation():
    # equal eta: the Haldane-corrected empirical logit
    d, v = logit_offsets(np.zeros(10), np.array([1, 1, 1, 0, 0, 0, 0, 0, 0, 0.0]),
                         np.zeros(10, dtype=np.int64), 1)
    assert d[0] == pytest.approx(np.log(3.5 / 7.5))
    assert v[0] == pytest.approx(1 / 2.5)  # 1 / sum p(1-p) at the national model (eta = 0)
    # unequal eta, two areas, one with no events: finite, and solves the equation
    rng = np.random.default_rng(0)
    eta = rng.normal(-1, 0.5, 60)
    code = np.repeat([0, 1, 2], 20)
    y = np.concatenate([rng.random(20) < 0.3, np.zeros(20), rng.random(20) < 0.5]).astype(float)
    d, v = logit_offsets(eta, y, code, 4)
    assert np.isnan(d[3]) and np.isnan(v[3])  # an area without rows
    for a in range(3):
        p = 1 / (1 + np.exp(-(eta[code == a] + d[a])))
        assert p.mean() == pytest.approx((y[code == a].sum() + 0.5) / 21, abs=1e-10)


def test_funnel_limits_hand_values():
    lo, hi = funnel_limits(0.3, np.array([100.0, 400.0]), level=0.998, binary=True)
    half = 3.090232306167813 * np.sqrt(0.21 / np.array([100, 400]))
    np.testing.assert_allclose(hi - 0.3, half)
    np.testing.assert_allclose(0.3 - lo, half)
    lo, hi = funnel_limits(5.0, np.array([4.0]), level=0.95, binary=False)
    assert hi[0] == pytest.approx(5.0 + 1.959963984540054 / 2)


# ----------------------------------------------------------- misallocation
def test_misallocation_hand_calculation():
    """Three areas, worked by hand (docs/areas.md shows the same sum)."""
    # N = 100, 200, 50; n = 10%, 30%, 20%; each gains 10 points; v = 1,000
    t = misallocation(np.array([100, 200, 50]), np.array([0.1, 0.3, 0.2]),
                      np.array([0.2, 0.4, 0.3]), 1000.0)
    # area prices v(1 - n/r): 500, 250, 333.33
    np.testing.assert_allclose(t["price"], [500.0, 250.0, 1000 / 3])
    # national n = 80/350, r = 115/350, price = 1000 (1 - 80/115) = 304.3478
    assert t["national_price"].iloc[0] == pytest.approx(1000 * 35 / 115)
    # outcomes 20, 80, 15; paid nationally 6,086.96, 24,347.83, 4,565.22
    np.testing.assert_allclose(t["expected_outcomes"], [20, 80, 15])
    np.testing.assert_allclose(t["payment_at_area_price"], [10_000, 20_000, 5_000])
    np.testing.assert_allclose(t["misallocation"], [-3913.043478, 4347.826087, -434.782609],
                               atol=1e-5)
    np.testing.assert_allclose(t["misallocation_per_person"],
                               [-39.13043478, 21.73913043, -8.69565217], atol=1e-7)
    assert t["misallocation"].sum() == pytest.approx(0.0, abs=1e-8)


def test_misallocation_given_national_price():
    t = misallocation(np.array([10]), np.array([0.2]), np.array([0.4]), 100.0,
                      national_price=60.0)
    assert t["misallocation"].iloc[0] == pytest.approx((60 - 50) * 4)


def test_area_tariffs_reproduce_formulas(reo_rates):
    tar = area_tariffs(reo_rates, value_per_outcome=5000, effect=0.05, better="lower",
                       uplift=0.1)
    f = tar.to_frame()
    assert list(f.columns) == TARIFF_COLUMNS
    rates = reo_rates.to_frame()
    n = 1 - rates["pooled"].to_numpy()  # priced on 'not reoffended'
    np.testing.assert_allclose(f["non_intervention"], n)
    np.testing.assert_allclose(f["expected_rate"], n + 0.05)
    np.testing.assert_allclose(f["minimum_performance_level"], n * 1.1)
    np.testing.assert_allclose(f["price"], 5000 * (1 - n / (n + 0.05)))
    N = rates["n_treated"].to_numpy()
    nat = 5000 * (1 - np.sum(N * n) / np.sum(N * (n + 0.05)))
    assert tar.national["price"] == pytest.approx(nat)
    np.testing.assert_allclose(f["misallocation"], (nat - f["price"]) * N * (n + 0.05))
    assert f["misallocation"].sum() == pytest.approx(0, abs=1e-6)
    assert tar.total_misallocated == pytest.approx(f["misallocation"].clip(lower=0).sum())
    # the band: upper non-intervention limit gives the lower price
    assert (f["band_lower"] <= f["price"]).all() and (f["price"] <= f["band_upper"]).all()
    assert "wrong areas" in tar.summary()
    assert isinstance(tar.plot("misallocation").figure, Figure)
    with pytest.raises(AttributeError, match="read-only"):
        tar.national = {}


def test_area_tariffs_expected_rate_per_area(reo_rates):
    areas = reo_rates.areas
    tar = area_tariffs(reo_rates, value_per_outcome=1000, better="lower",
                       expected_rate={a: 0.9 for a in areas})
    assert (tar.to_frame()["expected_rate"] == 0.9).all()


# ------------------------------------------------------------- area rates
def test_area_rates_frame_and_face(reo_rates, reo_cohort):
    f = reo_rates.to_frame()
    assert list(f.columns) == AREA_COLUMNS
    assert len(f) == 20 and f["n_treated"].sum() == reo_cohort.n_treated
    assert ((f["shrinkage"] > 0) & (f["shrinkage"] < 1)).all()
    assert (f["pooled_ci_lower"] < f["pooled"]).all() and (f["pooled"] < f["pooled_ci_upper"]).all()
    assert ((f["pooled_ci_lower"] >= 0) & (f["pooled_ci_upper"] <= 1)).all()
    # smaller areas borrow more (shrinkage rank-correlates negatively with comparison size)
    assert np.corrcoef(np.argsort(np.argsort(f["n_comparison"])),
                       np.argsort(np.argsort(f["shrinkage"])))[0, 1] < -0.8
    # pooled intervals narrower than unpooled, narrower still at a lower level
    width = f["pooled_ci_upper"] - f["pooled_ci_lower"]
    assert (width < f["unpooled_ci_upper"] - f["unpooled_ci_lower"]).all()
    f80 = reo_rates.to_frame(0.8)
    assert ((f80["pooled_ci_upper"] - f80["pooled_ci_lower"]) < width).all()
    ci = reo_rates.conf_int(0.9, estimate="unpooled")
    assert list(ci.columns) == ["unpooled_ci_lower", "unpooled_ci_upper"]
    text = reo_rates.summary()
    assert "National non-intervention rate" in text and "LA01" in text
    assert "<table" in reo_rates._repr_html_()
    d = reo_rates.to_dict()
    assert d["hyperparameters"]["scale"] == "logit"
    with pytest.raises(AttributeError, match="read-only"):
        reo_rates.level = 0.9


def test_area_rates_close_to_truth_reoffending(reo_rates):
    """The cohort-weighted national rate agrees with the shipped data's true rate."""
    truth = load_reoffending().truth.loc["reoffended", "non_intervention"]
    assert abs(reo_rates.national_rate - truth) < 0.03


def test_caller_data_untouched(areas_sim):
    data = areas_sim.data.copy()
    cov = _area_cov(areas_sim)
    cov_copy = cov.copy()
    area_rates(areas_sim.cohort(), outcome="job_outcome", area_covariates=cov)
    pd.testing.assert_frame_equal(cov, cov_copy)
    pd.testing.assert_frame_equal(areas_sim.data, data)


def test_pooled_beats_unpooled_on_simulator(areas_sim):
    """One replicate (fast). The multi-replicate figures are in test_coverage_and_mse_slow."""
    truth = area_truth(areas_sim)
    c = areas_sim.cohort()
    for outcome in ("job_outcome", "wellbeing"):
        for cov in (None, _area_cov(areas_sim)):
            f = area_rates(c, outcome=outcome, area_covariates=cov).to_frame().set_index("area")
            t = truth.loc[f.index, outcome]
            mse_u = float(np.mean((f["unpooled"] - t) ** 2))
            mse_p = float(np.mean((f["pooled"] - t) ** 2))
            assert mse_p < mse_u, (outcome, cov is not None, mse_p, mse_u)


def test_area_covariates_explain_between_area_variance(areas_sim):
    c = areas_sim.cohort()
    plain = area_rates(c, outcome="job_outcome")
    reg = area_rates(c, outcome="job_outcome", area_covariates=_area_cov(areas_sim))
    assert reg.hyperparameters["tau2"] < 0.6 * plain.hyperparameters["tau2"]
    gamma = reg.hyperparameters["gamma"]
    # higher unemployment -> fewer jobs without the programme
    assert gamma["unemployment_rate (standardised)"] < 0


@pytest.mark.slow
def test_coverage_and_mse_slow():
    """Across 20 replicates x 100 areas: pooled beats unpooled on MSE, and pooled
    95% intervals cover the true area rates 92-98% of the time (figures in docs/validation.md)."""
    res: dict[tuple[str, bool], list[tuple[float, float, float]]] = {}
    for rep in range(20):
        sim = simulate_areas(n_areas=100, n_treated=5000, n_comparison=20_000, seed=500 + rep)
        truth = area_truth(sim)
        c = sim.cohort()
        for outcome in ("job_outcome", "wellbeing"):
            for use_cov in (False, True):
                cov = _area_cov(sim) if use_cov else None
                f = area_rates(c, outcome=outcome, area_covariates=cov).to_frame()
                t = truth.loc[f["area"], outcome].to_numpy()
                covered = (f["pooled_ci_lower"] <= t) & (t <= f["pooled_ci_upper"])
                res.setdefault((outcome, use_cov), []).append((
                    float(np.mean((f["unpooled"] - t) ** 2)),
                    float(np.mean((f["pooled"] - t) ** 2)),
                    float(covered.mean()),
                ))
    for key, vals in res.items():
        mse_u, mse_p, cover = np.mean(vals, axis=0)
        assert mse_p < 0.9 * mse_u, (key, mse_p, mse_u)
        assert 0.92 <= cover <= 0.98, (key, cover)


def test_per_area_estimator(reo_cohort):
    """Any registered estimator, fitted area by area; failures are stated per area."""
    r = area_rates(reo_cohort, outcome="reoffended", method="nearest", min_area_treated=15)
    f = r.to_frame()
    small = f["n_treated"] < 15
    assert small.any()
    assert f.loc[small, "unpooled"].isna().all()
    assert f.loc[small, "note"].str.contains("SmallCohortError").all()
    assert (f.loc[small, "shrinkage"] == 1).all()
    assert np.isfinite(f["pooled"]).all()
    assert r.info["per_area_method"] == "nearest"


@pytest.mark.parametrize("method", ["regression", "ipw"])
def test_per_area_other_estimators(reo_cohort, method):
    """Estimators that use the cluster for their standard errors work within one area."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # small areas: weak-overlap warnings from ipw
        r = area_rates(reo_cohort, outcome="reoffended", method=method)
    f = r.to_frame()
    assert np.isfinite(f["pooled"]).all()
    assert r.hyperparameters["n_direct"] >= 15
    truth = load_reoffending().truth.loc["reoffended", "non_intervention"]
    assert abs(r.national_rate - truth) < 0.04


def test_continuous_outcome_identity_scale(areas_sim):
    r = area_rates(areas_sim.cohort(), outcome="wellbeing")
    assert r.hyperparameters["scale"] == "identity"
    f = r.to_frame()
    np.testing.assert_allclose(f["pooled_se"] ** 2, r._fit.mse)


def test_area_without_comparison_people():
    sim = simulate("reoffending", n_treated=400, n_comparison=3000, seed=3)
    data = sim.data.copy()
    data = data[~((data["local_authority"] == "LA05") & (data["treated"] == 0))]
    c = pbr_eval.Cohort(data, **sim.cohort_args)
    f = area_rates(c, outcome="reoffended").to_frame().set_index("area")
    assert f.loc["LA05", "n_comparison"] == 0
    assert np.isnan(f.loc["LA05", "unpooled"])
    assert f.loc["LA05", "shrinkage"] == 1
    assert f.loc["LA05", "pooled"] == pytest.approx(f.loc["LA05", "prior_mean"])
    assert "regression prediction only" in f.loc["LA05", "note"]


def test_areas_without_treated_are_noted():
    sim = simulate("reoffending", n_treated=400, n_comparison=3000, seed=3)
    data = sim.data[~((sim.data["local_authority"] == "LA07") & (sim.data["treated"] == 1))]
    r = area_rates(pbr_eval.Cohort(data, **sim.cohort_args), outcome="reoffended")
    assert "LA07" not in r.areas
    assert any("no treated people" in n for n in r.info["notes"])


# ------------------------------------------------------ funnel and plots
def test_funnel_table_flags_match_limits(reo_rates):
    t = reo_rates.funnel_table()
    theta0 = reo_rates.national_rate
    for lev, word in ((0.95, "95%"), (0.998, "99.8%")):
        lo, hi = funnel_limits(theta0, t["precision"].to_numpy(), level=lev, binary=True)
        outside = (t["unpooled"] < lo) | (t["unpooled"] > hi)
        flagged = t["flag"] != "within" if word == "95%" else t["flag"].str.contains("99.8")
        np.testing.assert_array_equal(outside.to_numpy(), flagged.to_numpy())


def test_funnel_flags_real_variation(areas_sim):
    """With real between-area differences several areas fall outside the 99.8% limits."""
    r = area_rates(areas_sim.cohort(), outcome="job_outcome")
    t = r.funnel_table()
    assert (t["flag"].str.contains("99.8")).sum() >= 3


def test_plots_return_figures(reo_rates, areas_sim):
    assert isinstance(reo_rates.plot("area_ranked").figure, Figure)
    assert isinstance(reo_rates.plot("funnel").figure, Figure)
    big = area_rates(areas_sim.cohort(), outcome="job_outcome")
    ax = big.plot("area_ranked")
    assert ax.get_ylabel().startswith("100 areas")
    wb = area_rates(areas_sim.cohort(), outcome="wellbeing")
    ax = wb.plot("funnel")
    assert ax.get_xlabel() == "precision (1 / SE^2)"
    # the old spellings still work, with a warning naming the new one
    for old, new in (("plot_ranked", "area_ranked"), ("plot_funnel", "funnel")):
        with pytest.warns(DeprecationWarning, match=rf"use results\.plot\('{new}'\)"):
            assert isinstance(getattr(big, old)(), Figure)
    t = wb.funnel_table()
    np.testing.assert_allclose(t["precision"], 1 / wb.to_frame()["unpooled_se"] ** 2)


# ------------------------------------------------------ disclosure control
def test_disclosure_table(areas_sim):
    r = area_rates(areas_sim.cohort(), outcome="job_outcome")
    d = r.disclosure_table()
    body = d.iloc[:-1]
    counts = pd.to_numeric(body["n_treated"], errors="coerce")
    assert (counts.dropna() >= 10).all()
    n_small = int((r.to_frame()["n_treated"] < 10).sum())
    assert n_small > 0
    merged = body[body["area"].str.startswith("Smaller areas")]
    assert len(merged) == 1 and f"({n_small} merged)" in merged["area"].iloc[0]
    assert "Disclosure control" in d["disclosure"].iloc[-1]
    # observed rates are withheld where fewer than 10 had (or lacked) the outcome, or where
    # the area's count is hidden (observed x count = people)
    f = r.to_frame().set_index("area")
    for _, row in body[~body["area"].str.startswith("Smaller")].iterrows():
        k = round(f.loc[row["area"], "observed"] * f.loc[row["area"], "n_treated"])
        hidden = k < 10 or f.loc[row["area"], "n_treated"] - k < 10 or row["n_treated"] == MARKER
        assert (row["observed"] == MARKER) == hidden
    # no hidden count can be worked out from the programme's or the pool's size
    for col in ("n_treated", "n_comparison"):
        assert (body[col] == MARKER).sum() != 1


def test_saved_area_results_hold_the_published_tables_only(areas_sim):
    """to_dict() carries the disclosure-controlled tables; from_dict rebuilds that view."""
    from pbr_eval.results import Results
    from pbr_eval.results.base import jsonable

    r = area_rates(areas_sim.cohort(), outcome="job_outcome")
    d = r.to_dict()
    assert d["kind"] == "area_rates" and d["areas"] == jsonable(
        r.disclosure_table().to_dict(orient="records"))
    assert "Smaller areas" in json.dumps(d) and min(
        x["n_treated"] for x in d["areas"] if isinstance(x["n_treated"], int)) >= 10
    back = Results.from_dict(d)
    assert back.to_dict() == d
    shown = back.to_frame()
    assert list(shown.columns) == list(back.frame_schema().names)
    assert shown["area"].tolist() == r.disclosure_table()["area"].tolist()[:-1]
    assert "as published" in back.summary() and "Disclosure control" in back.summary()
    assert back.plot("area_ranked").has_data()
    with pytest.raises(OptionError, match="saved area results file"):
        back.funnel_table()
    with pytest.raises(OptionError, match="saved area results file"):
        back.to_frame(0.8)
    t = area_tariffs(r, value_per_outcome=3000.0, effect=0.05)
    td = t.to_dict()
    merged = [x for x in td["table"] if str(x["area"]).startswith("Smaller areas")]
    assert len(merged) == 1 and isinstance(merged[0]["n_treated"], int)
    tback = Results.from_dict(td)
    assert tback.to_dict() == td
    assert tback.total_misallocated == pytest.approx(t.total_misallocated)
    assert "wrong areas" in tback.summary() and tback.plot("misallocation").has_data()


def test_disclosure_merged_row_suppressed_when_tiny():
    sim = load_reoffending()
    data = sim.data
    la19_treated = data.index[(data["local_authority"] == "LA19") & (data["treated"] == 1)]
    data = data.drop(la19_treated[3:])  # LA19 keeps 3 programme participants
    r = area_rates(pbr_eval.Cohort(data, **sim.cohort_args), outcome="reoffended")
    d = r.disclosure_table()
    merged = d[d["area"].str.startswith("Smaller areas")].iloc[0]
    assert merged["area"] == "Smaller areas (1 merged)"
    assert merged["n_treated"] == MARKER and np.isnan(merged["non_intervention"])
    assert "suppressed" in merged["disclosure"]
    # 600 - (the other areas) would give the merged row's 3 back: a second area is hidden too
    assert (d["n_treated"] == MARKER).sum() == 2
    assert "LA19" not in d["area"].tolist()


def test_disclosure_merges_areas_below_min_count(reo_rates):
    d = reo_rates.disclosure_table(min_count=14)
    merged = d[d["area"].str.startswith("Smaller areas")]
    assert merged["n_treated"].iloc[0] == 39  # LA17, LA18, LA19: 13 each
    d = reo_rates.disclosure_table(min_count=100)  # only LA01 (103) shown
    assert d["area"].tolist()[0] == "LA01"


# ------------------------------------------------------------------ errors
@pytest.fixture(scope="module")
def no_cluster_cohort():
    sim = load_reoffending()
    args = dict(sim.cohort_args, cluster=None)
    return pbr_eval.Cohort(sim.data, **args)


def test_errors_area_rates(reo_cohort, no_cluster_cohort, areas_sim):
    with pytest.raises(OptionError, match=r"`cohort` must be a pbr_eval.Cohort; got DataFrame"):
        area_rates(load_reoffending().data)
    with pytest.raises(OptionError, match=r"`cohort` has no area column: build the Cohort with `cluster=`"):
        area_rates(no_cluster_cohort)
    with pytest.raises(OptionError, match=r"`outcome` must be one of 'reoffended', 'reconviction_events'; got 'x'"):
        area_rates(reo_cohort, outcome="x")
    with pytest.raises(OptionError, match=r"`method` must be one of 'national_model', .*; got 'nn'"):
        area_rates(reo_cohort, method="nn")
    with pytest.raises(OptionError, match=r"Method 'national_model' takes no estimator options; got 'caliper'"):
        area_rates(reo_cohort, caliper=0.2)
    with pytest.raises(OptionError, match=r"`level` must be a number strictly between 0 and 1"):
        area_rates(reo_cohort, level=95)
    with pytest.raises(OptionError, match=r"`min_area_treated` must be an integer >= 1; got 0"):
        area_rates(reo_cohort, min_area_treated=0)
    with pytest.raises(OptionError, match=r"Method 'nearest' does not take option\(s\) 'bogus'"):
        area_rates(reo_cohort, method="nearest", bogus=1)
    with pytest.raises(EstimationError, match=r"found 0\. .* 20 area\(s\) have no direct estimate, e\.g\. LA01: no direct estimate \(SmallCohortError"):
        area_rates(reo_cohort, method="nearest", min_area_treated=1000)


def test_errors_area_covariates(reo_cohort):
    areas = [f"LA{i:02d}" for i in range(1, 21)]
    good = pd.DataFrame({"u": np.linspace(0.03, 0.1, 20)}, index=areas)
    with pytest.raises(OptionError, match=r"`area_covariates` must be a pandas DataFrame indexed by area"):
        area_rates(reo_cohort, area_covariates={"u": 1})
    with pytest.raises(OptionError, match=r"`area_covariates` has no row for 1 area\(s\) with treated people \(e.g. \['LA20'\]\)"):
        area_rates(reo_cohort, area_covariates=good.iloc[:19])
    with pytest.raises(OptionError, match=r"`area_covariates` must have one row per area; areas \['LA01'\]"):
        area_rates(reo_cohort, area_covariates=pd.concat([good, good.iloc[:1]]))
    with pytest.raises(OptionError, match=r"`area_covariates` column 'u' must be numeric; found (object|str)"):
        area_rates(reo_cohort, area_covariates=good.astype(str))
    with pytest.raises(OptionError, match=r"`area_covariates` has missing or infinite values"):
        area_rates(reo_cohort, area_covariates=good.assign(u=np.nan))
    with pytest.raises(OptionError, match=r"`area_covariates` column\(s\) \['u'\] are constant across areas"):
        area_rates(reo_cohort, area_covariates=good.assign(u=1.0))


def test_errors_panel_and_too_few_areas():
    from pbr_eval.datasets import load_families

    fam = load_families()
    with pytest.raises(DataError, match=r"Area rates need one row per person; this cohort has periods"):
        area_rates(pbr_eval.Cohort(fam.data, **fam.cohort_args))
    with pytest.raises(EstimationError, match=r"Partial pooling needs direct estimates in at least 3 areas .* found 2"):
        fay_herriot(np.array([0.1, 0.2, np.nan]), np.array([0.1, 0.1, np.nan]), np.ones((3, 1)))
    with pytest.raises(EstimationError, match=r"The area covariates are collinear"):
        fay_herriot(np.arange(6.0), np.full(6, 0.1), np.column_stack([np.ones(6), np.ones(6)]))


def test_errors_tariffs(reo_rates, areas_sim):
    with pytest.raises(OptionError, match=r"`rates` must be the result of area_rates\(\); got str"):
        area_tariffs("x", value_per_outcome=1, effect=0.1)
    with pytest.raises(OptionError, match=r"Give exactly one of `effect` .*; got neither"):
        area_tariffs(reo_rates, value_per_outcome=1000)
    with pytest.raises(OptionError, match=r"Give exactly one of `effect` .*; got both"):
        area_tariffs(reo_rates, value_per_outcome=1000, effect=0.1, expected_rate=0.5)
    with pytest.raises(OptionError, match=r"`value_per_outcome` must be a positive number; got -5"):
        area_tariffs(reo_rates, value_per_outcome=-5, effect=0.1)
    with pytest.raises(OptionError, match=r"`better` must be one of 'higher', 'lower'; got 'down'"):
        area_tariffs(reo_rates, value_per_outcome=1000, effect=0.1, better="down")
    with pytest.raises(OptionError, match=r"`estimate` must be one of 'pooled', 'unpooled'; got 'raw'"):
        area_tariffs(reo_rates, value_per_outcome=1000, effect=0.1, estimate="raw")
    with pytest.raises(OptionError, match=r"`expected_rate` has no rate for 19 area\(s\)"):
        area_tariffs(reo_rates, value_per_outcome=1000, expected_rate={"LA01": 0.5})
    with pytest.raises(NotViableError, match=r"For 'reoffended in LA\d+' the expected rate \(0.2\) does not exceed"):
        area_tariffs(reo_rates, value_per_outcome=1000, expected_rate=0.2)
    wb = area_rates(areas_sim.cohort(), outcome="wellbeing")
    with pytest.raises(OptionError, match=r"`better='lower'` prices the complement of a rate; 'wellbeing' is continuous"):
        area_tariffs(wb, value_per_outcome=1000, effect=0.1, better="lower")


def test_errors_disclosure_and_area_truth(reo_rates):
    with pytest.raises(OptionError, match=r"`min_count` must be an integer >= 1; got 0"):
        reo_rates.disclosure_table(min_count=0)
    with pytest.raises(OptionError, match=r"`sim` must be a Simulation from the 'areas' scenario"):
        area_truth(load_reoffending())
    with pytest.raises(OptionError, match=r"`n_areas` must be a positive integer; got 0"):
        simulate_areas(n_areas=0, seed=1)


# ------------------------------------------------------------- simulator
def test_simulator_area_truth(areas_sim):
    truth = area_truth(areas_sim)
    assert len(truth) == 100
    assert truth["n_treated"].sum() == 5000 and truth["n_comparison"].sum() == 20_000
    assert truth["n_treated"].max() > 50 * max(truth["n_treated"].min(), 1)
    # the area truth averages to the cohort truth (realised Y(0) of the treated)
    w = truth["n_treated"]
    realised = float((truth["job_outcome_realised"] * w).sum() / w.sum())
    assert realised == pytest.approx(areas_sim.truth.loc["job_outcome", "non_intervention"])
    # unemployment lowers the area's job rate
    assert np.corrcoef(truth["unemployment_rate"], truth["area_effect_job_outcome"])[0, 1] < -0.4
