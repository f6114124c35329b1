"""The "areas" scenario: an employment programme run across many local authorities.

One row per person. Areas are very unequal in size, and each has its own
true non-intervention rate, driven by two area-level covariates
(``unemployment_rate`` and ``deprivation``) plus an unexplained area effect,
so that pooling estimates across areas (with or without the area covariates)
can be checked against known per-area truth.

Private module; the public surface is :func:`pbr_eval.datasets.simulate` with
``scenario="areas"`` and :func:`simulate_areas` / :func:`area_truth`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit

from pbr_eval.datasets._common import (
    Arrays,
    area_labels,
    categorical,
    draw_choice_sample,
    make_ids,
    truth_table,
)

__all__ = ["area_truth", "AREA_TRUTH_COLUMNS"]

QUALIFICATIONS = ("degree", "gcse", "none")
OUTCOMES = ("job_outcome", "wellbeing")
COVARIATES = ("age", "sex", "months_unemployed", "qualification")

DEFAULTS: dict[str, Any] = {
    "covariates": {
        "age_low": 18.0,
        "age_high": 64.0,
        "male_share": 0.6,
        "months_shape": 1.5,
        "months_mean": 14.0,
        "qualification_shares": {"degree": 0.2, "gcse": 0.5, "none": 0.3},
        "area_concentration": 1.0,
        "unemployment_mean": 0.065,
        "unemployment_sd": 0.02,
        "deprivation_unemployment": 0.6,
    },
    "n_areas": 100,
    "selection": {
        "intercept": -2.4,
        "age": -0.015,
        "sex[M]": -0.2,
        "months_unemployed": -0.04,
        "qualification[gcse]": -0.3,
        "qualification[none]": -0.7,
    },
    "selection_strength": 1.0,
    "outcome": {
        "job_outcome": {
            "intercept": 0.6,
            "age": -0.025,
            "sex[M]": 0.1,
            "months_unemployed": -0.03,
            "qualification[gcse]": -0.35,
            "qualification[none]": -0.8,
            "unemployment_rate": -10.0,
            "deprivation": -0.2,
            "area_sd": 0.2,
        },
        "wellbeing": {
            "intercept": 6.0,
            "age": -0.01,
            "sex[M]": 0.1,
            "months_unemployed": -0.03,
            "qualification[gcse]": -0.2,
            "qualification[none]": -0.4,
            "unemployment_rate": -8.0,
            "deprivation": -0.2,
            "area_sd": 0.2,
            "noise_sd": 1.5,
        },
    },
}

DEFAULT_EFFECT = {"job_outcome": 0.2, "wellbeing": 0.3}
EFFECT_BOUNDS = {"job_outcome": (-1.0, 5.0), "wellbeing": (-10.0, 10.0)}
SHARE_GUESS = 0.08

COHORT_ARGS = {
    "treatment": "treated",
    "outcome": list(OUTCOMES),
    "covariates": list(COVARIATES),
    "unit_id": "person_id",
    "cluster": "local_authority",
    "period": None,
}

#: Columns of :func:`area_truth`.
AREA_TRUTH_COLUMNS = [
    "n_treated",
    "n_comparison",
    "unemployment_rate",
    "deprivation",
    "area_effect_job_outcome",
    "area_effect_wellbeing",
    "job_outcome",
    "job_outcome_realised",
    "wellbeing",
    "wellbeing_realised",
]


def _individual(coef: dict[str, float], cov: Arrays, slope_scale: float = 1.0) -> np.ndarray:
    """``intercept + x'beta`` over the individual covariates, in Cohort design coding."""
    eta = np.full(cov["age"].shape, coef["intercept"], dtype=float)
    eta += slope_scale * coef["age"] * cov["age"]
    eta += slope_scale * coef["sex[M]"] * cov["male"]
    eta += slope_scale * coef["months_unemployed"] * cov["months_unemployed"]
    qual = np.array([0.0, coef["qualification[gcse]"], coef["qualification[none]"]])
    eta += slope_scale * qual[cov["qualification"]]
    return eta


def _covariates(p: dict[str, Any]) -> Any:
    c = p["covariates"]

    def draw(rng: np.random.Generator, n: int) -> Arrays:
        age = np.floor(rng.uniform(c["age_low"], c["age_high"] + 1, n))
        male = (rng.random(n) < c["male_share"]).astype(np.int8)
        shape = c["months_shape"]
        months = np.ceil(rng.gamma(shape, c["months_mean"] / shape, n))
        qual = categorical(rng, n, c["qualification_shares"])
        return {
            "age": age.astype(np.int64),
            "male": male,
            "months_unemployed": months.astype(np.int64),
            "qualification": qual,
        }

    return draw


def generate(
    rng: np.random.Generator, n_treated: int, n_comparison: int, p: dict[str, Any]
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """Simulate the scenario; returns (data, truth, extra params)."""
    c = p["covariates"]
    cov, t, info = draw_choice_sample(
        rng,
        _covariates(p),
        lambda x: _individual(p["selection"], x, p["selection_strength"]),
        n_treated,
        n_comparison,
        SHARE_GUESS,
    )
    n = t.size
    n_areas = p["n_areas"]
    area, names = area_labels(rng, n, n_areas, c["area_concentration"])

    # Area-level covariates: unemployment rate and a standardised deprivation score.
    unemp = np.clip(rng.normal(c["unemployment_mean"], c["unemployment_sd"], n_areas), 0.01, 0.25)
    z = (unemp - c["unemployment_mean"]) / c["unemployment_sd"]
    rho = c["deprivation_unemployment"]
    depriv = rho * z + np.sqrt(1.0 - rho**2) * rng.normal(0.0, 1.0, n_areas)

    def area_effect(coef: dict[str, float]) -> tuple[np.ndarray, np.ndarray]:
        u = coef["unemployment_rate"] * (unemp - c["unemployment_mean"])
        u = u + coef["deprivation"] * depriv + rng.normal(0.0, coef["area_sd"], n_areas)
        return u, u[area]

    o_j = p["outcome"]["job_outcome"]
    o_w = p["outcome"]["wellbeing"]
    u_job, u_job_i = area_effect(o_j)
    u_wb, u_wb_i = area_effect(o_w)

    p0 = expit(_individual(o_j, cov) + u_job_i)
    uni = rng.random(n)
    job0 = uni < p0
    mu0 = _individual(o_w, cov) + u_wb_i
    wb0 = np.round(mu0 + rng.normal(0.0, o_w["noise_sd"], n), 3)

    e_j = p["effect"]["job_outcome"]
    e_w = p["effect"]["wellbeing"]
    p1 = np.minimum(p0 * (1.0 + e_j), 1.0)
    job = np.where(t, uni < p1, job0).astype(np.int64)
    wb = np.where(t, np.round(wb0 + e_w, 3), wb0)

    area_name = names[area]
    sex_labels = np.array(["F", "M"], dtype=object)
    data = pd.DataFrame(
        {
            "person_id": make_ids("W", n, 7),
            "treated": t.astype(np.int64),
            "age": cov["age"],
            "sex": sex_labels[cov["male"]],
            "months_unemployed": cov["months_unemployed"],
            "qualification": np.array(QUALIFICATIONS, dtype=object)[cov["qualification"]],
            "local_authority": area_name,
            "unemployment_rate": np.round(unemp[area], 4),
            "deprivation": np.round(depriv[area], 3),
            "job_outcome": job,
            "wellbeing": wb,
        }
    )
    truth = truth_table(
        {
            "job_outcome": ("binary", job, job0.astype(np.int64)),
            "wellbeing": ("continuous", data["wellbeing"].to_numpy(), wb0),
        },
        t,
    )

    # Per-area truth over each area's treated: the mean of the true expected
    # non-intervention outcome (what an estimator can target) and the realised mean.
    n1 = np.bincount(area[t], minlength=n_areas)
    n0 = np.bincount(area[~t], minlength=n_areas)

    def treated_mean(values: np.ndarray) -> np.ndarray:
        s = np.bincount(area[t], weights=values[t], minlength=n_areas)
        return np.divide(s, n1, out=np.full(n_areas, np.nan), where=n1 > 0)

    cols = {
        "n_treated": n1,
        "n_comparison": n0,
        "unemployment_rate": np.round(unemp, 4),
        "deprivation": np.round(depriv, 3),
        "area_effect_job_outcome": u_job,
        "area_effect_wellbeing": u_wb,
        "job_outcome": treated_mean(p0),
        "job_outcome_realised": treated_mean(job0.astype(float)),
        "wellbeing": treated_mean(mu0),
        "wellbeing_realised": treated_mean(wb0),
    }
    area_truth_rec = {
        str(names[k]): {
            key: (int(v[k]) if key.startswith("n_") else
                  (None if not np.isfinite(v[k]) else float(v[k])))
            for key, v in cols.items()
        }
        for k in range(n_areas)
    }
    extra: dict[str, Any] = dict(info)
    extra["area_truth"] = area_truth_rec
    return data, truth, extra


def area_truth(sim: Any) -> pd.DataFrame:
    """Each area's true non-intervention rate for its treated, as a table.

    Parameters
    ----------
    sim : Simulation
        From ``simulate("areas", ...)`` or :func:`simulate_areas`.

    Returns
    -------
    pandas.DataFrame
        Index ``local_authority``; columns in :data:`AREA_TRUTH_COLUMNS`.
        ``job_outcome`` and ``wellbeing`` are the means, over the area's
        treated, of the true expected non-intervention outcome
        (``P(Y(0)=1 | x, area)`` and ``E[Y(0) | x, area]``): the quantity an
        area estimate targets. The ``_realised`` columns are the means of
        the simulated Y(0) draws, which add Bernoulli/normal noise no
        estimator can predict. Areas without treated people hold NaN.

    Raises
    ------
    OptionError
        If ``sim`` did not come from the ``"areas"`` scenario.

    Examples
    --------
    >>> from pbr_eval.datasets import simulate_areas
    >>> truth = area_truth(simulate_areas(seed=1))
    >>> truth.loc["LA001", ["n_treated", "n_comparison"]].tolist()
    [973, 9674]
    >>> round(float(truth.loc["LA001", "job_outcome"]), 3)
    0.194
    """
    from pbr_eval.exceptions import OptionError

    params = getattr(sim, "params", None)
    if not isinstance(params, dict) or "area_truth" not in params:
        raise OptionError(
            "`sim` must be a Simulation from the 'areas' scenario (simulate_areas() or "
            f"simulate('areas', ...)); got {type(sim).__name__}."
        )
    frame = pd.DataFrame.from_dict(params["area_truth"], orient="index")
    frame = frame.reindex(columns=AREA_TRUTH_COLUMNS).astype(float)
    frame[["n_treated", "n_comparison"]] = frame[["n_treated", "n_comparison"]].astype(np.int64)
    frame.index.name = "local_authority"
    return frame
