"""The survival influence functions are the derivatives of the whole estimate with respect to
each person's case weight (the infinitesimal jackknife), weight and Cox models included.

Each check re-runs the estimator with one person's case weight moved by +-h and compares the
central difference with that person's analytic influence."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import pbr_eval
from pbr_eval.models.logit import fit_logit
from pbr_eval.survival import estimate as est_mod
from pbr_eval.survival.cox import fit_cox
from pbr_eval.survival.km import kaplan_meier
from pbr_eval.survival.pieces import influences
from pbr_eval.time_to_event import TimeToEvent

pytestmark = pytest.mark.filterwarnings("ignore::pbr_eval.exceptions.OverlapWarning")

GRID = np.array([0.0, 2.0, 5.0, 8.0, 12.0])
WINDOW = 12.0


def _data(n: int = 70, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x1 = rng.normal(size=n)
    x2 = rng.binomial(1, 0.4, n)
    t = rng.random(n) < 1 / (1 + np.exp(-(-0.3 + 0.8 * x1 - 0.5 * x2)))
    haz = 0.08 * np.exp(0.5 * x1 + 0.4 * x2 - 0.3 * t)
    tt = np.ceil(rng.exponential(1 / haz))  # whole months: ties
    cens = rng.integers(4, 20, n)
    return pd.DataFrame({"t": t.astype(int), "x1": x1, "x2": x2,
                         "time": np.minimum(tt, cens).astype(float),
                         "event": (tt <= cens).astype(int)})


@pytest.fixture(scope="module")
def cohort() -> pbr_eval.Cohort:
    return pbr_eval.Cohort(_data(), treatment="t", covariates=["x1", "x2"], min_treated=5,
                           time_to_event={"y": TimeToEvent(time="time", event="event",
                                                           window=WINDOW, unit="months")})


def _arrays(cohort: pbr_eval.Cohort) -> tuple[np.ndarray, ...]:
    time, event = cohort.time_event("y")
    event = ((event > 0) & (time <= WINDOW)).astype(float)
    return cohort.X, cohort.t, np.minimum(time, WINDOW), event


def _by_weights(method: str, c: np.ndarray, X, t, time, event) -> np.ndarray:
    """The estimate with case weights ``c`` (what the influence differentiates)."""
    c0 = ~t
    out = []

    def km(mask, w):
        k = kaplan_meier(time[mask], event[mask], w[mask])
        return np.concatenate([k.at(GRID), [k.rmst(WINDOW)]])

    def gcomp(fit, rows, v):
        m = fit.survival(X[rows], GRID)
        Lam = np.concatenate([[0.0], fit.cumhaz])
        edges = np.concatenate([[0.0], fit.times[fit.times < WINDOW], [WINDOW]])
        k = np.exp(-np.outer(fit.risk(X[rows]), Lam[: edges.size - 1]))
        rm = k @ np.diff(edges)
        return np.concatenate([v @ m, [v @ rm]]) / v.sum()

    if method in ("ipw", "aipw"):
        lf = fit_logit(X, t.astype(float), weights=c)
        ps = lf.predict(X)
        odds = ps / (1 - ps)
    if method == "ipw":
        out = km(c0, c * odds)
    elif method == "cox":
        fit = fit_cox(X[c0], time[c0], event[c0], c[c0])
        out = gcomp(fit, t, c[t])
    elif method == "aipw":
        fit = fit_cox(X[c0], time[c0], event[c0], c[c0])
        out = gcomp(fit, t, c[t]) + km(c0, c * odds) - gcomp(fit, c0, (c * odds)[c0])
    return np.asarray(out)


@pytest.mark.parametrize("method", ["ipw", "cox", "aipw"])
def test_influence_is_the_case_weight_derivative(cohort: pbr_eval.Cohort, method: str) -> None:
    X, t, time, event = _arrays(cohort)
    d = est_mod._Data(cohort, time, event, GRID, WINDOW, "robust")
    design = est_mod._design(method, d, {})
    base = _by_weights(method, np.ones(t.size), X, t, time, event)
    np.testing.assert_allclose(design.counterfactual.estimate, base, rtol=1e-9, atol=1e-10)
    phi = influences(cohort.n, design.counterfactual)
    h = 1e-6
    for i in [0, 1, 2, 5, 11, 17, 30, 44, 58, 69]:
        up, down = np.ones(t.size), np.ones(t.size)
        up[i] += h
        down[i] -= h
        num = (_by_weights(method, up, X, t, time, event)
               - _by_weights(method, down, X, t, time, event)) / (2 * h)
        np.testing.assert_allclose(phi[i], num, rtol=1e-5, atol=1e-7,
                                   err_msg=f"row {i} ({'treated' if t[i] else 'comparison'})")


def test_observed_curve_influence_is_greenwood(cohort: pbr_eval.Cohort) -> None:
    X, t, time, event = _arrays(cohort)
    d = est_mod._Data(cohort, time, event, GRID, WINDOW, "robust")
    design = est_mod._design("ipw", d, {})
    var = (influences(cohort.n, design.observed) ** 2).sum(axis=0)[:-1]
    k = kaplan_meier(time[t], event[t])
    m = k.index(GRID)
    terms = np.concatenate([[0.0], np.cumsum(k.events / (k.at_risk * (k.at_risk - k.events)))])
    np.testing.assert_allclose(var, k.at(GRID) ** 2 * terms[m + 1], rtol=1e-10)


@pytest.mark.parametrize("method", ["ipw", "nearest", "entropy"])
def test_grouped_covariances_equal_the_sums_of_outer_products(cohort: pbr_eval.Cohort,
                                                              method: str) -> None:
    from pbr_eval.survival.pieces import _profile_covariances, covariances, variances

    X, t, time, event = _arrays(cohort)
    d = est_mod._Data(cohort, time, event, GRID, WINDOW, "robust")
    design = est_mod._design(method, d, {"replace": True} if method == "nearest" else {})
    phi1 = influences(cohort.n, design.observed)
    phi0 = influences(cohort.n, design.counterfactual)
    fast = variances(cohort.n, design.observed, design.counterfactual)
    for got, want in zip(fast, ((phi1 ** 2).sum(0), (phi0 ** 2).sum(0), ((phi1 - phi0) ** 2).sum(0)),
                         strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-14)
    full = covariances(cohort.n, design.observed, design.counterfactual)
    for got, want in zip(full, (phi1.T @ phi1, phi0.T @ phi0, phi1.T @ phi0), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-13)
    assert _profile_covariances(design.observed, design.counterfactual, None) is not None


def test_clustered_and_chunked_covariances_equal_the_sums_of_outer_products(
        cohort: pbr_eval.Cohort) -> None:
    from pbr_eval.survival.pieces import covariances

    X, t, time, event = _arrays(cohort)
    d = est_mod._Data(cohort, time, event, GRID, WINDOW, "robust")
    design = est_mod._design("aipw", d, {})
    phi1 = influences(cohort.n, design.observed)
    phi0 = influences(cohort.n, design.counterfactual)
    C1, C0, C10 = covariances(cohort.n, design.observed, design.counterfactual, chunk=97)
    np.testing.assert_allclose(C0, phi0.T @ phi0, rtol=1e-9, atol=1e-13)
    np.testing.assert_allclose(C10, phi1.T @ phi0, rtol=1e-9, atol=1e-13)
    codes = np.arange(cohort.n) // 3
    U1 = np.zeros((codes.max() + 1, phi1.shape[1]))
    U0 = np.zeros_like(U1)
    np.add.at(U1, codes, phi1)
    np.add.at(U0, codes, phi0)
    g = U1.shape[0]
    K1, K0, K10 = covariances(cohort.n, design.observed, design.counterfactual, codes)
    np.testing.assert_allclose(K10, g / (g - 1) * U1.T @ U0, rtol=1e-9, atol=1e-13)
    np.testing.assert_allclose(K1, g / (g - 1) * U1.T @ U1, rtol=1e-9, atol=1e-13)


def test_km_influence_se_equals_r_robust_se():
    """sqrt(sum of squared influences) of a weighted Kaplan-Meier curve is R survfit's robust
    (infinitesimal jackknife) standard error with case weights (tests/reference/r_survival)."""
    from pathlib import Path

    from pbr_eval.survival.km import km_influence

    ref_dir = Path(__file__).resolve().parent / "reference" / "r_survival"
    ref = pd.read_csv(ref_dir / "km_robust_se.csv")
    from pbr_eval.datasets import load_reoffending_time

    data = {"sim": load_reoffending_time(),
            "rossi": pd.read_csv(ref_dir / "rossi.csv")}
    checked = 0
    for (dataset, method, group), r in ref.groupby(["dataset", "method", "group"]):
        if dataset == "sim":
            sim = data["sim"]
            cohort = pbr_eval.Cohort(sim.data, **sim.cohort_args)
        else:
            cohort = pbr_eval.Cohort(data["rossi"], treatment="fin",
                                     covariates=["age", "race", "wexp", "mar", "paro", "prio"],
                                     time_to_event={"arrest": TimeToEvent(
                                         time="week", event="arrest", window=52,
                                         unit="weeks")})
        time, event = pbr_eval.survival.follow_up(cohort)
        w_all = (np.ones(cohort.n) if method == "unweighted" else
                 pd.read_csv(ref_dir / f"weights_{dataset}.csv")[method].to_numpy())
        mask = (cohort.t if group == "treated" else ~cohort.t) & (w_all > 0)
        curve = kaplan_meier(time[mask], event[mask], w_all[mask])
        grid = r.time.to_numpy(dtype=float)
        phi = km_influence(curve, time[mask], event[mask], w_all[mask], grid)
        np.testing.assert_allclose(curve.at(grid), r.surv, rtol=0, atol=1e-10)
        np.testing.assert_allclose(np.sqrt((phi ** 2).sum(axis=0)), r.std_err, rtol=1e-8,
                                   err_msg=f"{dataset} {method} {group}")
        checked += 1
    assert checked == 24


def test_event_after_the_horizon_where_the_curve_reaches_zero():
    """The last person at risk has the event after the horizon (the curve reaches 0 there):
    the restricted mean's influence is still defined, and still the derivative."""
    from pbr_eval.survival.km import km_influence

    t, d = np.array([1.0, 3, 5]), np.array([1.0, 0, 1])
    w = np.array([1.0, 2.0, 1.5])
    phi = km_influence(kaplan_meier(t, d, w), t, d, w, np.array([2.5]), horizon=3.0)
    assert np.isfinite(phi).all()
    h = 1e-6
    for i in range(3):
        up, down = w.copy(), w.copy()
        up[i] += h
        down[i] -= h
        num = w[i] * (kaplan_meier(t, d, up).rmst(3.0) - kaplan_meier(t, d, down).rmst(3.0)) / (2 * h)
        assert phi[i, -1] == pytest.approx(num, abs=1e-7)
