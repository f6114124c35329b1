"""Loaders for the example datasets shipped in ``pbr_eval/datasets/_data``.

The files are written by ``data/make_data.py`` (a copy also sits in the
repository's ``data/`` folder, with a README giving their true values).
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd

from pbr_eval.datasets import _families, _reoffending
from pbr_eval.datasets._simulate import Simulation

__all__ = ["load_families", "load_reoffending", "load_prop99", "load_medicaid_event_study"]

_DATA = "_data"
_TRUTH_FILE = "truth.json"


def _read_text(name: str) -> str:
    return resources.files("pbr_eval.datasets").joinpath(_DATA).joinpath(name).read_text(encoding="utf-8")


def _truth_record(name: str) -> dict[str, Any]:
    return json.loads(_read_text(_TRUTH_FILE))[name]


def _load(name: str, cohort_args: dict[str, Any]) -> Simulation:
    record = _truth_record(name)
    with resources.as_file(
        resources.files("pbr_eval.datasets").joinpath(_DATA).joinpath(record["file"])
    ) as path:
        data = pd.read_csv(path)
    truth = pd.DataFrame.from_dict(record["truth"], orient="index")
    truth.index.name = "outcome"
    return Simulation(
        scenario=record["scenario"],
        seed=int(record["seed"]),
        data=data,
        cohort_args=dict(cohort_args),
        truth=truth,
        params=record["params"],
    )


def load_reoffending() -> Simulation:
    """Load the shipped prison-leavers dataset (600 in the programme, 12,000 not).

    A Justice-Data-Lab-sized cohort simulated by :func:`simulate` with the
    ``"reoffending"`` scenario; ``data/README.md`` states the command, seed
    and parameters. The programme "creams": its participants are older,
    more often women and less prolific than other prison leavers, so the
    comparison group's reoffending rate overstates what the participants
    would have done without the programme.

    Returns
    -------
    Simulation
        ``data`` (one row per person: ``person_id``, ``treated``, ``age``,
        ``sex``, ``prior_offences``, ``offence_type``, ``sentence_months``,
        ``local_authority``, ``reoffended``, ``reconviction_events``),
        ``cohort_args``, ``truth`` (the true values) and ``params``.

    See Also
    --------
    simulate : draw a fresh dataset of any size.

    Examples
    --------
    >>> from pbr_eval.datasets import load_reoffending
    >>> sim = load_reoffending()
    >>> sim
    Simulation(scenario='reoffending', seed=..., n_treated=600, n_comparison=12000, rows=12600)
    >>> t = sim.truth.loc["reoffended"]
    >>> bool(t["naive_comparison"] - t["non_intervention"] > 0.05)
    True
    """
    return _load("reoffending", _reoffending.COHORT_ARGS)


def load_families() -> Simulation:
    """Load the shipped family-programme dataset (800 families in, 8,000 not; 2 periods).

    Long format, two rows per household: ``period`` 0 (the year before) and
    1 (the year after). Simulated by :func:`simulate` with the
    ``"families"`` scenario; ``data/README.md`` states the command, seed
    and parameters. The programme takes families with more need, so the
    comparison group's outcomes flatter the participants' counterfactual;
    a household effect and a common trend make difference-in-differences
    valid.

    Returns
    -------
    Simulation
        ``data`` (``family_id``, ``period``, ``treated``,
        ``local_authority``, ``n_children``, ``lone_parent``,
        ``adult_workless``, ``prior_asb_incidents``, ``deprivation_decile``,
        ``attendance_rate``, ``youth_offending``, ``adult_employed``),
        ``cohort_args``, ``truth`` (period 1 values, plus ``pre_mean`` and
        ``pre_comparison`` for period 0) and ``params``.

    Examples
    --------
    >>> from pbr_eval.datasets import load_families
    >>> sim = load_families()
    >>> sim.data.shape
    (17600, 12)
    >>> sim.cohort_args["period"]
    'period'
    >>> list(sim.truth.index)
    ['attendance_rate', 'youth_offending', 'adult_employed']
    """
    return _load("families", _families.COHORT_ARGS)


#: Roles of :func:`load_prop99`'s panel for :class:`pbr_eval.Cohort`.
PROP99_COHORT_ARGS: dict[str, Any] = {
    "treatment": "treated", "outcome": "packs_per_capita", "covariates": [],
    "unit_id": "state", "period": "year", "first_treated": "first_treated", "min_treated": 1}


def load_prop99() -> pd.DataFrame:
    """Load California's Proposition 99 panel: cigarette sales in 39 US states, 1970-2000.

    The standard example of synthetic control (Abadie, Diamond & Hainmueller
    2010) and synthetic DiD (Arkhangelsky et al. 2021): California raised
    its tobacco tax and funded anti-smoking work from 1989 (Proposition 99);
    the other 38 states had no such programme in the period. Real, public,
    state-level data (no people): packs of cigarettes sold per person, from
    the Tax Burden on Tobacco (Orzechowski & Walker), as shipped by the R
    package ``synthdid``. :data:`PROP99_COHORT_ARGS` gives the roles.

    Returns
    -------
    pandas.DataFrame
        1,209 rows (39 states x 31 years): ``state``, ``year``,
        ``packs_per_capita``, ``treated`` (1 for California in every year)
        and ``first_treated`` (1989 for California, 0 for the others).

    References
    ----------
    Abadie, A., Diamond, A. & Hainmueller, J. (2010). Synthetic control
    methods for comparative case studies: estimating the effect of
    California's tobacco control program. JASA 105(490), 493-505.

    Examples
    --------
    >>> from pbr_eval.datasets import load_prop99
    >>> d = load_prop99()
    >>> d.shape, d.loc[d["treated"] == 1, "state"].unique().tolist()
    ((1209, 5), ['California'])
    """
    with resources.as_file(
        resources.files("pbr_eval.datasets").joinpath(_DATA).joinpath("california_prop99.csv")
    ) as path:
        return pd.read_csv(path)


def load_medicaid_event_study() -> dict[str, Any]:
    """Load an event study of Medicaid expansion on insurance coverage: coefficients and covariance.

    R ``HonestDiD``'s worked example (Rambachan & Roth 2023): the share of
    low-income childless adults with health insurance in US states (ACS,
    2008-2015), states that expanded Medicaid in 2014 against those that did
    not expand by 2015; a two-way fixed effects event study with 2013 as the
    reference year, standard errors clustered by state (43 states).
    Aggregates only. Made by ``tests/reference/honestdid/make_medicaid_event_study.py``
    from the public data of the Mixtape Sessions' Advanced-DID course.

    Returns
    -------
    dict
        ``betahat`` (7 coefficients: 2008-2012, then 2014 and 2015),
        ``sigma`` (their 7 x 7 covariance), ``n_pre`` (5), ``n_post`` (2),
        ``event_years``, ``reference_year`` and ``source``.

    Examples
    --------
    >>> from pbr_eval.datasets import load_medicaid_event_study
    >>> es = load_medicaid_event_study()
    >>> es["betahat"].shape, es["n_pre"], round(float(es["betahat"][5]), 4)
    ((7,), 5, 0.0464)
    """
    d = json.loads(_read_text("medicaid_event_study.json"))
    d["betahat"] = np.asarray(d["betahat"], dtype=float)
    d["sigma"] = np.asarray(d["sigma"], dtype=float)
    return d
