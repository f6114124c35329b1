"""The "families" scenario: households before and after a family programme.

Two rows per household (period 0 before, period 1 after), in long format.
Private module; see :func:`pbr_eval.datasets.simulate` for the model.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit

from pbr_eval.datasets._common import (
    Arrays,
    area_labels,
    draw_choice_sample,
    make_ids,
    truth_table,
)

COVARIATES = (
    "n_children",
    "lone_parent",
    "adult_workless",
    "prior_asb_incidents",
    "deprivation_decile",
)
OUTCOMES = ("attendance_rate", "youth_offending", "adult_employed")
OUTCOME_TYPES = {
    "attendance_rate": "continuous",
    "youth_offending": "binary",
    "adult_employed": "binary",
}

DEFAULTS: dict[str, Any] = {
    "covariates": {
        "extra_children_mean": 1.2,
        "max_children": 8,
        "lone_parent_share": 0.3,
        "deprivation_tilt": 0.08,
        "workless_intercept": -1.2,
        "workless_lone_parent": 1.0,
        "workless_deprivation": -0.15,
        "asb_intercept": -0.7,
        "asb_lone_parent": 0.4,
        "asb_children": 0.1,
        "asb_deprivation": -0.08,
        "asb_shape": 1.0,
        "area_concentration": 0.5,
    },
    "n_areas": 20,
    "selection": {
        "intercept": -2.5,
        "n_children": 0.15,
        "lone_parent": 0.5,
        "adult_workless": 0.8,
        "prior_asb_incidents": 0.25,
        "deprivation_decile": -0.12,
    },
    "selection_strength": 1.0,
    "outcome": {
        "attendance_rate": {
            "intercept": 93.0,
            "n_children": -0.6,
            "lone_parent": -1.5,
            "adult_workless": -2.0,
            "prior_asb_incidents": -1.2,
            "deprivation_decile": 0.4,
            "household_sd": 4.0,
            "noise_sd": 3.0,
            "area_sd": 1.0,
            "trend": -1.0,
        },
        "youth_offending": {
            "intercept": -2.6,
            "n_children": 0.2,
            "lone_parent": 0.3,
            "adult_workless": 0.3,
            "prior_asb_incidents": 0.3,
            "deprivation_decile": -0.06,
            "household_sd": 1.0,
            "area_sd": 0.15,
            "trend": -0.01,
        },
        "adult_employed": {
            "intercept": 1.0,
            "n_children": -0.12,
            "lone_parent": -0.5,
            "adult_workless": -1.8,
            "prior_asb_incidents": -0.1,
            "deprivation_decile": 0.08,
            "household_sd": 1.0,
            "area_sd": 0.15,
            "trend": 0.02,
        },
    },
}

DEFAULT_EFFECT = {"attendance_rate": 2.0, "youth_offending": -0.25, "adult_employed": 0.15}
EFFECT_BOUNDS = {
    "attendance_rate": (-100.0, 100.0),
    "youth_offending": (-1.0, 10.0),
    "adult_employed": (-1.0, 10.0),
}
SHARE_GUESS = 0.12

COHORT_ARGS = {
    "treatment": "treated",
    "outcome": list(OUTCOMES),
    "covariates": list(COVARIATES),
    "unit_id": "family_id",
    "cluster": "local_authority",
    "period": "period",
}


def _linear(coef: dict[str, float], cov: Arrays, slope_scale: float = 1.0) -> np.ndarray:
    """Linear predictor ``intercept + x'beta`` over the household covariates."""
    eta = np.full(cov["n_children"].shape, coef["intercept"], dtype=float)
    for name in COVARIATES:
        eta += slope_scale * coef[name] * cov[name]
    return eta


def _covariates(p: dict[str, Any]) -> Any:
    c = p["covariates"]

    def draw(rng: np.random.Generator, n: int) -> Arrays:
        children = np.minimum(1 + rng.poisson(c["extra_children_mean"], n), c["max_children"])
        lone = rng.random(n) < c["lone_parent_share"]
        d = np.arange(1, 11)
        share = np.exp(-c["deprivation_tilt"] * d)
        decile = 1 + np.searchsorted(np.cumsum(share / share.sum()), rng.random(n), side="right")
        decile = np.minimum(decile, 10)
        centred = decile - 5.5
        workless = rng.random(n) < expit(
            c["workless_intercept"]
            + c["workless_lone_parent"] * lone
            + c["workless_deprivation"] * centred
        )
        mean_asb = np.exp(
            c["asb_intercept"]
            + c["asb_lone_parent"] * lone
            + c["asb_children"] * (children - 1)
            + c["asb_deprivation"] * centred
        )
        shape = c["asb_shape"]
        asb = rng.poisson(rng.gamma(shape, mean_asb / shape))
        return {
            "n_children": children.astype(np.int64),
            "lone_parent": lone,
            "adult_workless": workless.astype(np.int64),
            "prior_asb_incidents": asb.astype(np.int64),
            "deprivation_decile": decile.astype(np.int64),
        }

    return draw


def generate(
    rng: np.random.Generator, n_treated: int, n_comparison: int, p: dict[str, Any]
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """Simulate the scenario; returns (data, truth, extra params)."""
    sel = p["selection"]
    cov, t, info = draw_choice_sample(
        rng,
        _covariates(p),
        lambda x: _linear(sel, x, p["selection_strength"]),
        n_treated,
        n_comparison,
        SHARE_GUESS,
    )
    n = t.size
    n_areas = p["n_areas"]
    area, area_names = area_labels(rng, n, n_areas, p["covariates"]["area_concentration"])
    effect = p["effect"]
    extra: dict[str, Any] = dict(info)
    extra["area_effects"] = {}

    y_obs: dict[str, np.ndarray] = {}
    y_zero: dict[str, np.ndarray] = {}  # Y(0) in period 1

    # Attendance: linear, household effect, common trend, capped to [0, 100].
    o = p["outcome"]["attendance_rate"]
    u_area = rng.normal(0.0, o["area_sd"], n_areas)
    level = _linear(o, cov) + rng.normal(0.0, o["household_sd"], n) + u_area[area]
    raw0 = level + rng.normal(0.0, o["noise_sd"], n)
    raw1 = level + o["trend"] + rng.normal(0.0, o["noise_sd"], n)
    pre = np.round(np.clip(raw0, 0.0, 100.0), 1)
    post0 = np.round(np.clip(raw1, 0.0, 100.0), 1)
    post = post0.copy()
    post[t] = np.round(np.clip(raw1[t] + effect["attendance_rate"], 0.0, 100.0), 1)
    y_obs["attendance_rate"] = np.column_stack([pre, post])
    y_zero["attendance_rate"] = post0
    extra["area_effects"]["attendance_rate"] = _named(area_names, u_area)

    # Binary outcomes: bounded logistic level plus a common additive trend.
    for name in ("youth_offending", "adult_employed"):
        o = p["outcome"][name]
        u_area = rng.normal(0.0, o["area_sd"], n_areas)
        lo = abs(o["trend"])
        base = lo + (1.0 - 2.0 * lo) * expit(
            _linear(o, cov) + rng.normal(0.0, o["household_sd"], n) + u_area[area]
        )
        uni = rng.random((n, 2))
        pre = (uni[:, 0] < base).astype(np.int64)
        p_post0 = base + o["trend"]
        post0 = (uni[:, 1] < p_post0).astype(np.int64)
        post = post0.copy()
        p_post1 = np.minimum(p_post0[t] * (1.0 + effect[name]), 1.0)
        post[t] = uni[t, 1] < p_post1
        y_obs[name] = np.column_stack([pre, post])
        y_zero[name] = post0
        extra["area_effects"][name] = _named(area_names, u_area)

    ids = make_ids("F", n, 6)
    rep = np.repeat(np.arange(n), 2)
    columns: dict[str, Any] = {
        "family_id": ids.to_numpy()[rep],
        "period": np.tile(np.array([0, 1], dtype=np.int64), n),
        "treated": t.astype(np.int64)[rep],
        "local_authority": area_names[area][rep],
    }
    for name in COVARIATES:
        columns[name] = cov[name][rep]
    for name in OUTCOMES:
        columns[name] = y_obs[name].reshape(-1)
    data = pd.DataFrame(columns)

    truth = truth_table(
        {name: (OUTCOME_TYPES[name], y_obs[name][:, 1], y_zero[name]) for name in OUTCOMES}, t
    )
    truth["pre_mean"] = [float(y_obs[name][t, 0].mean()) for name in OUTCOMES]
    truth["pre_comparison"] = [float(y_obs[name][~t, 0].mean()) for name in OUTCOMES]
    return data, truth, extra


def _named(labels: np.ndarray, values: np.ndarray) -> dict[str, float]:
    return {str(lab): float(v) for lab, v in zip(labels, values, strict=True)}
