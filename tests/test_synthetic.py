"""Synthetic control and synthetic DiD numbers (pbr_eval.estimators.synthetic_weights).

References: ``tests/reference/synthdid/`` (synthdid-py 0.1.0, a port of R synthdid, on
California's Proposition 99, with the script that made them) and the values published by
Arkhangelsky et al. (2021).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pbr_eval.estimators.synthetic_weights import (
    fw_weights,
    jackknife_se,
    placebo_se,
    synth_fit,
)
from pbr_eval.exceptions import EstimationError

REF = Path(__file__).parent / "reference" / "synthdid"
METHODS = ("sdid", "sc", "did")
TOL_EST = 1e-8   # the port agrees to about 1e-10 (Frank-Wolfe stopping rule)
TOL_W = 1e-7


@pytest.fixture(scope="module")
def reference() -> dict:
    return json.loads((REF / "synthdid_reference.json").read_text())


@pytest.fixture(scope="module")
def prop99(reference) -> np.ndarray:
    d = pd.read_csv(REF / "california_prop99.csv", sep=";")
    Y = d.pivot(index="State", columns="Year", values="PacksPerCapita")
    return Y.loc[reference["prop99"]["units"]].to_numpy(dtype=float)


@pytest.mark.parametrize("method", METHODS)
def test_prop99_equals_the_port_and_the_published_value(prop99, reference, method):
    ref = reference["prop99"]
    fit = synth_fit(prop99, ref["N0"], ref["T0"], method=method)
    r = ref[method]
    assert fit.estimate == pytest.approx(r["estimate"], abs=TOL_EST)
    assert round(fit.estimate, 3) == reference["published"][method]  # -15.604, -19.620, -27.349
    np.testing.assert_allclose(fit.omega, r["omega"], rtol=0, atol=TOL_W)
    np.testing.assert_allclose(fit.lambda_ if method != "sc" else np.zeros(ref["T0"]),
                               r["lambda"] if method != "sc" else np.zeros(ref["T0"]),
                               rtol=0, atol=TOL_W)
    curve = fit.observed[ref["T0"]:] - fit.counterfactual[ref["T0"]:]
    np.testing.assert_allclose(curve, r["curve"], rtol=0, atol=1e-6)
    # the estimate is the average gap after the start
    assert curve.mean() == pytest.approx(fit.estimate, abs=1e-9)


@pytest.mark.parametrize("method", METHODS)
def test_jackknife_se_equals_the_port(prop99, reference, method):
    ref = reference["three_treated"]
    fit = synth_fit(prop99, ref["N0"], ref["T0"], method=method)
    assert fit.estimate == pytest.approx(ref[method]["estimate"], abs=TOL_EST)
    se = jackknife_se(prop99, ref["N0"], ref["T0"], fit)
    assert se == pytest.approx(ref[method]["jackknife_se"], rel=1e-7)


def test_jackknife_undefined_with_one_treated_unit(prop99, reference):
    ref = reference["prop99"]
    fit = synth_fit(prop99, ref["N0"], ref["T0"])
    assert np.isnan(jackknife_se(prop99, ref["N0"], ref["T0"], fit))


def _panel(seed: int, N0: int = 30, N1: int = 1, T0: int = 10, T1: int = 4,
           effect: float = 3.0) -> np.ndarray:
    """Interactive fixed effects: Y = a_i + b_t + f_i g_t + e; treated get ``effect`` after T0."""
    rng = np.random.default_rng(seed)
    N, T = N0 + N1, T0 + T1
    f = rng.normal(size=N)
    f[N0:] += 0.5
    Y = (rng.normal(size=(N, 1)) + np.linspace(0, 2, T)[None, :]
         + f[:, None] * rng.normal(size=(1, T)) + rng.normal(scale=0.5, size=(N, T)))
    Y[N0:, T0:] += effect
    return Y


def test_known_effect_recovered():
    ests = [synth_fit(_panel(s, N1=3), 30, 10).estimate for s in range(12)]
    assert abs(np.mean(ests) - 3.0) < 4 * np.std(ests) / np.sqrt(len(ests))


def test_placebo_se_is_reproducible_and_measures_spread():
    Y = _panel(1, N0=12, T0=6, T1=2)
    se1, ests1 = placebo_se(Y, 12, 6, replications=15, seed=7)
    se2, ests2 = placebo_se(Y, 12, 6, replications=15, seed=7)
    assert se1 == se2 and np.array_equal(ests1, ests2)
    assert se1 == pytest.approx(np.sqrt(14 / 15) * np.std(ests1, ddof=1))
    # placebo effects are of units never treated: centred near zero
    assert abs(ests1.mean()) < 3 * ests1.std(ddof=1) / np.sqrt(15) + 0.2


def test_frank_wolfe_finds_the_exact_combination():
    rng = np.random.default_rng(3)
    A = rng.normal(size=(40, 5))
    w = np.array([0.5, 0.3, 0.2, 0.0, 0.0])
    Y = np.column_stack([A, A @ w])
    got = fw_weights(Y, 1e-8, intercept=False, min_decrease=1e-12, max_iter=20000)
    np.testing.assert_allclose(got, w, atol=5e-3)  # Frank-Wolfe converges slowly
    assert got.sum() == pytest.approx(1.0) and (got >= 0).all()


def test_errors():
    Y = _panel(2)
    with pytest.raises(EstimationError, match="needs comparison and treated units and periods"):
        synth_fit(Y, 31, 10)
    with pytest.raises(EstimationError, match="`method` must be one of 'sdid', 'sc', 'did'"):
        synth_fit(Y, 30, 10, method="abadie")
    with pytest.raises(EstimationError, match="more comparison units"):
        placebo_se(_panel(2, N0=3, N1=3), 3, 10, replications=5, seed=1)
