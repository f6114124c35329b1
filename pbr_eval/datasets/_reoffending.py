"""The "reoffending" scenario: prison leavers, one row per person.

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
    categorical,
    draw_choice_sample,
    make_ids,
    poisson_coupled,
    truth_table,
)

OFFENCE_TYPES = ("acquisitive", "drugs", "motoring", "other", "violence")
OUTCOMES = ("reoffended", "reconviction_events")
OUTCOME_TYPES = {"reoffended": "binary", "reconviction_events": "count"}
COVARIATES = ("age", "sex", "prior_offences", "offence_type", "sentence_months")

DEFAULTS: dict[str, Any] = {
    "covariates": {
        "age_shape": 2.2,
        "age_scale": 7.5,
        "male_share": 0.88,
        "offence_shares": {
            "acquisitive": 0.32,
            "drugs": 0.16,
            "motoring": 0.08,
            "other": 0.18,
            "violence": 0.26,
        },
        "prior_intercept": 1.3,
        "prior_age": 0.012,
        "prior_male": 0.4,
        "prior_acquisitive": 0.35,
        "prior_shape": 2.0,
        "sentence_median": 4.0,
        "sentence_sd_log": 0.7,
        "sentence_offence": {
            "acquisitive": 0.0,
            "drugs": 0.6,
            "motoring": -0.3,
            "other": 0.2,
            "violence": 0.8,
        },
        "area_concentration": 0.7,
    },
    "n_areas": 20,
    "selection": {
        "intercept": -2.6,
        "age": 0.03,
        "sex[M]": -0.6,
        "prior_offences": -0.15,
        "offence_type[drugs]": 0.5,
        "offence_type[motoring]": 0.9,
        "offence_type[other]": 0.6,
        "offence_type[violence]": 0.4,
        "sentence_months": -0.02,
    },
    "selection_strength": 1.0,
    "outcome": {
        "reoffended": {
            "intercept": 0.2,
            "age": -0.035,
            "sex[M]": 0.3,
            "prior_offences": 0.06,
            "offence_type[drugs]": -0.2,
            "offence_type[motoring]": -0.7,
            "offence_type[other]": -0.45,
            "offence_type[violence]": -0.45,
            "sentence_months": -0.015,
            "area_sd": 0.15,
        },
        "reconviction_events": {
            "events_per_odds": 2.0,
            "frailty_shape": 2.0,
        },
    },
}

DEFAULT_EFFECT = {"reoffended": -0.2, "reconviction_events": -0.2}
EFFECT_BOUNDS = {"reoffended": (-1.0, 1.0), "reconviction_events": (-1.0, 10.0)}
SHARE_GUESS = 0.08

COHORT_ARGS = {
    "treatment": "treated",
    "outcome": list(OUTCOMES),
    "covariates": list(COVARIATES),
    "unit_id": "person_id",
    "cluster": "local_authority",
    "period": None,
}


def _linear(coef: dict[str, float], cov: Arrays, slope_scale: float = 1.0) -> np.ndarray:
    """Linear predictor ``intercept + x'beta`` in the Cohort design coding."""
    eta = np.full(cov["age"].shape, coef["intercept"], dtype=float)
    eta += slope_scale * coef["age"] * cov["age"]
    eta += slope_scale * coef["sex[M]"] * cov["male"]
    eta += slope_scale * coef["prior_offences"] * cov["prior_offences"]
    eta += slope_scale * coef["sentence_months"] * cov["sentence_months"]
    offence = np.array([0.0] + [coef[f"offence_type[{o}]"] for o in OFFENCE_TYPES[1:]])
    eta += slope_scale * offence[cov["offence"]]
    return eta


def _covariates(p: dict[str, Any]) -> Any:
    c = p["covariates"]

    def draw(rng: np.random.Generator, n: int) -> Arrays:
        age = np.minimum(18 + np.floor(rng.gamma(c["age_shape"], c["age_scale"], n)), 70)
        male = (rng.random(n) < c["male_share"]).astype(np.int8)
        offence = categorical(rng, n, c["offence_shares"])
        mean_prior = np.exp(
            c["prior_intercept"]
            + c["prior_age"] * (age - 18)
            + c["prior_male"] * male
            + c["prior_acquisitive"] * (offence == 0)
        )
        shape = c["prior_shape"]
        prior = rng.poisson(rng.gamma(shape, mean_prior / shape))
        shift = np.array([c["sentence_offence"][o] for o in OFFENCE_TYPES])[offence]
        log_sentence = np.log(c["sentence_median"]) + shift + rng.normal(0, c["sentence_sd_log"], n)
        sentence = np.round(np.clip(np.exp(log_sentence), 0.5, 120.0), 1)
        return {
            "age": age.astype(np.int64),
            "male": male,
            "offence": offence,
            "prior_offences": prior.astype(np.int64),
            "sentence_months": sentence,
        }

    return draw


def generate(
    rng: np.random.Generator, n_treated: int, n_comparison: int, p: dict[str, Any]
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """Simulate the scenario; returns (data, truth, extra params)."""
    sel = p["selection"]
    strength = p["selection_strength"]
    cov, t, info = draw_choice_sample(
        rng,
        _covariates(p),
        lambda x: _linear(sel, x, strength),
        n_treated,
        n_comparison,
        SHARE_GUESS,
    )
    n = t.size
    area, area_names = area_labels(rng, n, p["n_areas"], p["covariates"]["area_concentration"])

    # Non-intervention outcomes Y(0) for everyone, Y(1) for the treated.
    o_r = p["outcome"]["reoffended"]
    o_e = p["outcome"]["reconviction_events"]
    u_area = rng.normal(0.0, o_r["area_sd"], p["n_areas"])
    eta = _linear(o_r, cov) + u_area[area]
    p0 = expit(eta)
    mu0 = o_e["events_per_odds"] * np.exp(eta)  # E[events(0) | X, area]
    uni = rng.random(n)
    r0 = uni < p0
    shape = o_e["frailty_shape"]
    frailty = rng.gamma(shape, 1.0 / shape, n)
    lam0 = (mu0 / p0 - 1.0) * frailty  # further events among reoffenders
    extra0 = rng.poisson(lam0)
    events0 = r0 * (1 + extra0)

    e_r = p["effect"]["reoffended"]
    e_e = p["effect"]["reconviction_events"]
    tt = t
    p1 = np.minimum(p0[tt] * (1.0 + e_r), 1.0)
    mu1 = mu0[tt] * (1.0 + e_e)
    r1 = uni[tt] < p1
    lam1 = np.maximum(mu1 / p1 - 1.0, 0.0) * frailty[tt]
    extra1 = poisson_coupled(rng, extra0[tt], lam0[tt], lam1)
    events1 = r1 * (1 + extra1)

    reoffended = r0.astype(np.int64)
    reoffended[tt] = r1
    events = events0.astype(np.int64)
    events[tt] = events1

    sex_labels = np.array(["F", "M"], dtype=object)
    data = pd.DataFrame(
        {
            "person_id": make_ids("P", n, 7),
            "treated": t.astype(np.int64),
            "age": cov["age"],
            "sex": sex_labels[cov["male"]],
            "prior_offences": cov["prior_offences"],
            "offence_type": np.array(OFFENCE_TYPES, dtype=object)[cov["offence"]],
            "sentence_months": cov["sentence_months"],
            "local_authority": area_names[area],
            "reoffended": reoffended,
            "reconviction_events": events,
        }
    )
    truth = truth_table(
        {
            "reoffended": ("binary", reoffended, r0.astype(np.int64)),
            "reconviction_events": ("count", events, events0.astype(np.int64)),
        },
        t,
    )
    extra: dict[str, Any] = dict(info)
    extra["area_effects"] = {str(area_names[k]): float(u_area[k]) for k in range(p["n_areas"])}
    return data, truth, extra
