"""Staggered roll-outs with known group-time effects: :func:`simulate_staggered`.

A programme reaches units (people, or whole areas) in waves: wave ``g`` is
first treated in period ``g``; some units are never treated in the window.
Effects start on entry and grow with time in the programme, differently by
wave, which is exactly where two-way fixed effects goes wrong (Goodman-Bacon
2021) and group-time estimators do not.

Private module; the public surface is :func:`pbr_eval.datasets.simulate_staggered`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import softmax

from pbr_eval.datasets._common import check_count, check_real, check_seed
from pbr_eval.exceptions import OptionError

__all__ = ["StaggeredSimulation", "simulate_staggered", "staggered_truth"]

#: Gauss-Hermite nodes for the population shares (exact for the normal covariate).
_GH_NODES, _GH_WEIGHTS = np.polynomial.hermite_e.hermegauss(60)


@dataclass(frozen=True, eq=False)
class StaggeredSimulation:
    """A simulated staggered roll-out and its true effects.

    Attributes
    ----------
    data : pandas.DataFrame
        One row per unit and period: ``unit``, ``period``, ``first_treated``
        (0 for never treated), ``treated`` (ever treated), ``area`` (cluster),
        ``x1``, ``x2`` and the outcome ``y``.
    cohort_args : dict
        Roles for :class:`pbr_eval.Cohort` (``first_treated`` included).
    group_time : pandas.DataFrame
        True ATT(g, t) (population and in this sample) for every wave and period.
    truth : pandas.DataFrame
        The overall truth per outcome (index ``outcome``): ``observed``,
        ``non_intervention``, ``effect`` (the group-size-weighted average over
        treated unit-periods, the ``"simple"`` aggregation), in the population.
    event_time : pandas.DataFrame
        True event-study effects (population) by periods since entry.
    params : dict
        Every parameter used.
    seed : int

    Examples
    --------
    >>> from pbr_eval.datasets import simulate_staggered
    >>> sim = simulate_staggered(n_units=200, seed=1)
    >>> sim.data.shape, sorted(sim.data["first_treated"].unique().tolist())[:2]
    ((1600, 8), [0, 3])
    >>> sim.truth.loc["y", "outcome_type"]
    'continuous'
    """

    data: pd.DataFrame = field(repr=False)
    cohort_args: dict[str, Any] = field(repr=False)
    group_time: pd.DataFrame = field(repr=False)
    truth: pd.DataFrame = field(repr=False)
    event_time: pd.DataFrame = field(repr=False)
    params: dict[str, Any] = field(repr=False)
    seed: int = 0

    def __repr__(self) -> str:
        p = self.params
        return (f"StaggeredSimulation(seed={self.seed}, n_units={p['n_units']}, "
                f"n_periods={p['n_periods']}, waves={list(p['waves'])})")

    def cohort(self, **options: Any) -> Any:
        """``pbr_eval.Cohort(self.data, **self.cohort_args, **options)``."""
        from pbr_eval.cohort import Cohort

        return Cohort(self.data, **{**self.cohort_args, **options})


def _wave_probs(x1: np.ndarray, x2: np.ndarray, shares: np.ndarray, selection: float) -> np.ndarray:
    """P(wave | x): multinomial logit, never treated last; waves favour higher x1 and x2."""
    base = np.log(shares)
    k = shares.size
    tilt = selection * np.arange(k - 1, -1, -1) / max(k - 1, 1)  # earlier waves tilt most
    z = base[None, :] + (x1[:, None] + 0.5 * x2[:, None]) * tilt[None, :]
    return softmax(z, axis=1)


def _population_shares(shares: np.ndarray, selection: float) -> np.ndarray:
    """E_x[P(wave | x)] with x1 ~ N(0, 1), x2 ~ Bernoulli(1/2), by Gauss-Hermite quadrature."""
    w = _GH_WEIGHTS / _GH_WEIGHTS.sum()
    out = np.zeros(shares.size)
    for x2 in (0.0, 1.0):
        p = _wave_probs(_GH_NODES, np.full(_GH_NODES.size, x2), shares, selection)
        out += 0.5 * (w @ p)
    return out


def _check_waves(waves: Sequence[int], n_periods: int, anticipation: int) -> np.ndarray:
    arr = np.asarray(list(waves))
    if arr.size == 0 or not np.issubdtype(arr.dtype, np.integer):
        raise OptionError(f"`waves` must be a list of whole periods; got {list(waves)!r}.")
    if np.any(arr < 2 + anticipation) or np.any(arr > n_periods) or np.unique(arr).size != arr.size:
        raise OptionError(
            f"`waves` must be distinct periods from {2 + anticipation} to {n_periods} (each wave "
            f"needs an earlier period to compare with); got {arr.tolist()}."
        )
    return np.sort(arr)


def simulate_staggered(
    *,
    n_units: int = 2000,
    n_periods: int = 8,
    waves: Sequence[int] = (3, 5, 7),
    never_share: float = 0.4,
    effect_start: Sequence[float] | float = (1.0, 0.5, 0.2),
    effect_growth: float = 0.3,
    selection: float = 1.0,
    trend_x: float = 0.5,
    anticipation: int = 0,
    n_areas: int | None = None,
    area_sd: float = 0.5,
    area_shock_sd: float = 0.0,
    noise_sd: float = 1.0,
    seed: int = 0,
) -> StaggeredSimulation:
    r"""Simulate a staggered roll-out with known group-time effects.

    Parameters
    ----------
    n_units : int, default 2000
    n_periods : int, default 8
        Periods ``1 .. n_periods``.
    waves : sequence of int, default (3, 5, 7)
        The first-treatment period of each wave.
    never_share : float, default 0.4
        Baseline share never treated (the waves share the rest equally).
    effect_start : float or sequence, default (1.0, 0.5, 0.2)
        Each wave's effect in its first treated period.
    effect_growth : float, default 0.3
        Added per further period in the programme (the same for every wave).
    selection : float, default 1.0
        How strongly covariates ``x1``, ``x2`` push units into earlier waves
        (0: waves at random).
    trend_x : float, default 0.5
        Outcome trend per period per unit of ``x1`` (with ``selection``,
        parallel trends hold only given ``x1``: estimators without covariates
        are biased).
    anticipation : int, default 0
        Units respond this many periods before their wave starts (the
        effect then is ``effect_start`` / 2).
    n_areas : int, optional
        Assign waves by area instead of by unit: units are spread over
        ``n_areas`` areas and every unit in an area joins with it (a roll-out
        by contract area). Areas then carry level effects (``area_sd``) and
        period shocks (``area_shock_sd``), so standard errors must be
        clustered by area.
    area_sd, area_shock_sd : float
    noise_sd : float, default 1.0
        Standard deviation of the unit-period noise.
    seed : int, default 0

    Returns
    -------
    StaggeredSimulation

    Notes
    -----
    For unit ``i`` in wave ``g`` (``g = inf`` if never treated)::

        Y_it(0) = 10 + a_i + 0.2 t + trend_x * x1_i * t / T + u_area(i) + s_area(i),t + e_it
        Y_it(1) = Y_it(0) + effect_start[g] + effect_growth * (t - g),   t >= g

    with ``a_i ~ N(0.5 * rank(g), 1)`` (waves differ in level),
    ``e_it ~ N(0, noise_sd^2)``. Waves are drawn from a multinomial logit in
    ``x1 ~ N(0, 1)`` and ``x2 ~ Bernoulli(1/2)``; the population wave shares
    (which weight the true aggregated effects) are computed exactly by
    quadrature, not from the sample. ATT(g, t) = ``effect_start[g] +
    effect_growth * (t - g)`` for ``t >= g`` and 0 before (``effect_start / 2``
    in the anticipation periods).

    Examples
    --------
    >>> from pbr_eval.datasets import simulate_staggered
    >>> sim = simulate_staggered(n_units=500, seed=1)
    >>> sim.data.shape
    (4000, 8)
    >>> sim.group_time.query("group == 3 and period == 5")["att"].round(2).tolist()
    [1.6]
    """
    n_units = check_count("n_units", n_units)
    n_periods = check_count("n_periods", n_periods)
    seed = check_seed(seed)
    anticipation = int(check_real("anticipation", anticipation))
    if anticipation < 0:
        raise OptionError(f"`anticipation` must be 0 or more; got {anticipation}.")
    wv = _check_waves(waves, n_periods, anticipation)
    never_share = check_real("never_share", never_share)
    if not 0 < never_share < 1:
        raise OptionError(f"`never_share` must be between 0 and 1; got {never_share}.")
    starts = np.broadcast_to(np.asarray(effect_start, dtype=float), wv.shape).copy() \
        if np.ndim(effect_start) == 0 else np.asarray(effect_start, dtype=float)
    if starts.shape != wv.shape:
        raise OptionError(
            f"`effect_start` must be one number or one per wave ({wv.size}); got {list(starts)}."
        )
    rng = np.random.default_rng(seed)
    k = wv.size
    shares = np.r_[np.full(k, (1 - never_share) / k), never_share]
    T = n_periods
    periods = np.arange(1, T + 1)
    if n_areas is None:
        x1 = rng.normal(size=n_units)
        x2 = (rng.random(n_units) < 0.5).astype(float)
        probs = _wave_probs(x1, x2, shares, selection)
        wave_pos = (probs.cumsum(axis=1) < rng.random(n_units)[:, None]).sum(axis=1)
        area = rng.integers(0, 50, size=n_units)
    else:
        n_areas = check_count("n_areas", n_areas)
        area = rng.integers(0, n_areas, size=n_units)
        ax1 = rng.normal(size=n_areas)
        ax2 = (rng.random(n_areas) < 0.5).astype(float)
        aprobs = _wave_probs(ax1, ax2, shares, selection)
        apos = (aprobs.cumsum(axis=1) < rng.random(n_areas)[:, None]).sum(axis=1)
        wave_pos = apos[area]
        x1 = ax1[area]
        x2 = ax2[area]
    wave_pos = np.minimum(wave_pos, k)
    g = np.where(wave_pos < k, wv[np.minimum(wave_pos, k - 1)], 0)
    n_area_levels = int(area.max()) + 1
    u_area = rng.normal(scale=area_sd, size=n_area_levels) if n_areas is not None else \
        np.zeros(n_area_levels)
    s_area = rng.normal(scale=area_shock_sd, size=(n_area_levels, T))
    a = rng.normal(loc=0.5 * np.where(g > 0, wave_pos + 1, 0), scale=1.0)
    t = periods[None, :]
    y0 = (10.0 + a[:, None] + 0.2 * t + trend_x * x1[:, None] * t / T + u_area[area][:, None]
          + s_area[area] + rng.normal(scale=noise_sd, size=(n_units, T)))
    start_of = dict(zip(wv.tolist(), starts.tolist(), strict=True))
    tau = np.zeros((n_units, T))
    for gv in wv:
        m = g == gv
        e = periods - gv
        eff = np.where(e >= 0, start_of[gv] + effect_growth * e, 0.0)
        if anticipation:
            eff = np.where((e < 0) & (e >= -anticipation), start_of[gv] / 2, eff)
        tau[m] = eff[None, :]
    y = y0 + tau
    ids = np.arange(1, n_units + 1)
    data = pd.DataFrame({
        "unit": np.repeat(ids, T),
        "period": np.tile(periods, n_units),
        "first_treated": np.repeat(g, T),
        "treated": np.repeat((g > 0).astype(int), T),
        "area": np.repeat(area, T),
        "x1": np.repeat(x1, T),
        "x2": np.repeat(x2, T),
        "y": y.ravel(),
    })
    # ---- truth
    pop = _population_shares(shares, selection)
    rows = []
    for j, gv in enumerate(wv):
        m = g == gv
        for tt in periods:
            e = tt - gv
            att = start_of[gv] + effect_growth * e if e >= 0 else (
                start_of[gv] / 2 if anticipation and -anticipation <= e < 0 else 0.0)
            rows.append({
                "group": int(gv), "period": int(tt), "event_time": int(e), "att": float(att),
                "att_sample": float(tau[m, tt - 1].mean()) if m.any() else np.nan,
                "observed": float(y[m, tt - 1].mean()) if m.any() else np.nan,
                "non_intervention": float(y0[m, tt - 1].mean()) if m.any() else np.nan,
                "share": float(pop[j]), "n_units": int(m.sum()),
            })
    gt = pd.DataFrame(rows)
    post = gt[gt["event_time"] >= 0]
    w = post["share"] / post["share"].sum()
    overall = float((post["att"] * w).sum())
    ev = (gt.groupby("event_time")
          .apply(lambda d: float((d["att"] * d["share"]).sum() / d["share"].sum()),
                 include_groups=False)
          .rename("att").reset_index())
    treated_post = np.zeros((n_units, T), dtype=bool)
    for gv in wv:
        treated_post[g == gv] = periods >= gv
    obs_mean = float(y[treated_post].mean()) if treated_post.any() else np.nan
    truth = pd.DataFrame(
        {"observed": [obs_mean], "non_intervention": [obs_mean - overall], "effect": [overall],
         "effect_sample": [float(tau[treated_post].mean())], "outcome_type": ["continuous"]},
        index=pd.Index(["y"], name="outcome"))
    params = {"n_units": n_units, "n_periods": T, "waves": tuple(int(v) for v in wv),
              "never_share": never_share, "effect_start": tuple(float(s) for s in starts),
              "effect_growth": float(effect_growth), "selection": float(selection),
              "trend_x": float(trend_x), "anticipation": anticipation, "n_areas": n_areas,
              "area_sd": float(area_sd), "area_shock_sd": float(area_shock_sd),
              "noise_sd": float(noise_sd), "population_shares": tuple(float(p) for p in pop)}
    cohort_args = {"treatment": "treated", "outcome": ["y"], "covariates": ["x1", "x2"],
                   "unit_id": "unit", "period": "period", "first_treated": "first_treated",
                   "cluster": "area" if n_areas is not None else None}
    return StaggeredSimulation(data=data, cohort_args=cohort_args, group_time=gt, truth=truth,
                               event_time=ev, params=params, seed=seed)


def staggered_truth(sim: StaggeredSimulation, kind: str = "simple") -> pd.Series:
    """Return True aggregated effects of a simulation (population weights).

    Parameters
    ----------
    sim : StaggeredSimulation
    kind : {"simple", "dynamic"}
        ``"simple"``: one value (index ``"overall"``); ``"dynamic"``: by event time.

    Returns
    -------
    pandas.Series
        The true effect(s), indexed ``"overall"`` or by event time.

    Examples
    --------
    >>> from pbr_eval.datasets import simulate_staggered
    >>> sim = simulate_staggered(n_units=200, seed=1)
    >>> round(float(staggered_truth(sim)["overall"]), 3)
    1.314
    >>> float(staggered_truth(sim, "dynamic").loc[-1])  # no effect before the start
    0.0
    """
    if kind == "simple":
        return pd.Series({"overall": float(sim.truth.loc["y", "effect"])})
    if kind == "dynamic":
        return sim.event_time.set_index("event_time")["att"]
    raise OptionError(f"`kind` must be 'simple' or 'dynamic'; got {kind!r}.")

