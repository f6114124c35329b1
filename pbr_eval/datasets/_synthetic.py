"""Area panels for synthetic control, with a known effect: :func:`simulate_synthetic`.

A programme starts in one or a few areas at the same time; the other areas
never get it. Outcomes follow an interactive fixed-effects (factor) model,
``Y_it = a_i + b_t + f_i' g_t + e_it``, and the treated areas load more on
the factors than the average area, so their trend differs from the average
comparison area's: plain difference-in-differences is biased, while a
weighted comparison that tracks the treated areas before the start
(synthetic control, synthetic DiD) is not (Abadie et al. 2010; Arkhangelsky
et al. 2021).

Private module; the public surface is :func:`pbr_eval.datasets.simulate_synthetic`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from pbr_eval.datasets._common import check_count, check_real, check_seed
from pbr_eval.exceptions import OptionError

__all__ = ["SyntheticSimulation", "simulate_synthetic"]


@dataclass(frozen=True, eq=False)
class SyntheticSimulation:
    """A simulated area panel and its true effect.

    Attributes
    ----------
    data : pandas.DataFrame
        One row per area and period: ``area``, ``period``, ``treated`` (1
        for the programme areas), ``first_treated`` (the start period, 0 for
        comparison areas) and the outcome ``y``.
    cohort_args : dict
        Roles for :class:`pbr_eval.Cohort`.
    truth : pandas.DataFrame
        Index ``outcome``: ``effect`` (the average over the treated areas and
        the periods after the start), ``observed`` and ``non_intervention``
        (their outcome without the programme, the same average).
    effects : numpy.ndarray
        The true effect in each period after the start.
    params : dict
    seed : int

    Examples
    --------
    >>> from pbr_eval.datasets import simulate_synthetic
    >>> sim = simulate_synthetic(seed=1)
    >>> sim.data.shape
    (600, 5)
    """

    data: pd.DataFrame
    cohort_args: dict[str, Any]
    truth: pd.DataFrame
    effects: np.ndarray
    params: dict[str, Any]
    seed: int

    def cohort(self, **options: Any) -> Any:
        """Return the :class:`pbr_eval.Cohort` of this panel (``options`` override the roles)."""
        from pbr_eval.cohort import Cohort

        return Cohort(self.data, **{**self.cohort_args, **options})


def simulate_synthetic(
    *,
    n_areas: int = 30,
    n_treated: int = 1,
    n_periods: int = 20,
    start: int = 15,
    effect: float = -3.0,
    growth: float = 0.0,
    noise: float = 0.5,
    selection: float = 1.0,
    seed: int = 0,
) -> SyntheticSimulation:
    """Simulate an area panel where a programme starts in ``n_treated`` areas in period ``start``.

    Parameters
    ----------
    n_areas : int, default 30
        All areas, treated ones included.
    n_treated : int, default 1
    n_periods : int, default 20
        Periods are numbered 1 to ``n_periods``.
    start : int, default 15
        The first period of the programme (2 to ``n_periods``).
    effect : float, default -3.0
        The effect in the first period of the programme.
    growth : float, default 0.0
        Added to the effect in each later period.
    noise : float, default 0.5
        Standard deviation of the idiosyncratic error.
    selection : float, default 1.0
        How much more the treated areas load on the two common factors
        (0: like the others, and DiD is unbiased too).
    seed : int, default 0

    Returns
    -------
    SyntheticSimulation

    Raises
    ------
    OptionError
        For counts or periods out of range.

    Examples
    --------
    >>> from pbr_eval.datasets import simulate_synthetic
    >>> sim = simulate_synthetic(n_treated=2, effect=-2.0, growth=-0.5, seed=3)
    >>> sim.effects.tolist()
    [-2.0, -2.5, -3.0, -3.5, -4.0, -4.5]
    >>> round(float(sim.truth.loc["y", "effect"]), 2)
    -3.25
    """
    n_areas = check_count("n_areas", n_areas)
    n_treated = check_count("n_treated", n_treated)
    n_periods = check_count("n_periods", n_periods)
    start = check_count("start", start)
    if n_treated > n_areas - 2:
        raise OptionError(f"`n_treated` must leave at least two comparison areas "
                          f"(below {n_areas - 1}); got {n_treated}.")
    if not 2 <= start <= n_periods:
        raise OptionError(f"`start` must be a period from 2 to {n_periods}; got {start}.")
    effect = check_real("effect", effect)
    growth = check_real("growth", growth)
    noise = check_real("noise", noise)
    if noise < 0:
        raise OptionError(f"`noise` must be zero or more; got {noise}.")
    selection = check_real("selection", selection)
    seed = check_seed(seed)
    rng = np.random.default_rng(seed)
    N, T = n_areas, n_periods
    treated = np.zeros(N, dtype=bool)
    treated[N - n_treated:] = True
    a = rng.normal(50.0, 5.0, size=N)
    b = np.linspace(0.0, -6.0, T) + rng.normal(0.0, 0.5, size=T)
    f = rng.normal(size=(N, 2))
    f[treated] += selection
    g = np.cumsum(rng.normal(0.0, 0.6, size=(T, 2)), axis=0)
    y0 = a[:, None] + b[None, :] + f @ g.T + rng.normal(0.0, noise, size=(N, T))
    periods = np.arange(1, T + 1)
    effects = effect + growth * np.arange(T - start + 1)
    tau = np.zeros((N, T))
    tau[np.ix_(treated, periods >= start)] = effects
    y = y0 + tau
    data = pd.DataFrame({
        "area": np.repeat([f"area {i + 1:02d}" for i in range(N)], T),
        "period": np.tile(periods, N),
        "treated": np.repeat(treated.astype(int), T),
        "first_treated": np.repeat(np.where(treated, start, 0), T),
        "y": y.ravel(),
    })
    post = periods >= start
    obs = float(y[np.ix_(treated, post)].mean())
    eff = float(effects.mean())
    truth = pd.DataFrame({"observed": [obs], "non_intervention": [obs - eff], "effect": [eff]},
                         index=pd.Index(["y"], name="outcome"))
    params = {"n_areas": N, "n_treated": n_treated, "n_periods": T, "start": start,
              "effect": effect, "growth": growth, "noise": noise, "selection": selection}
    cohort_args = {"treatment": "treated", "outcome": "y", "covariates": [], "unit_id": "area",
                   "period": "period", "first_treated": "first_treated", "min_treated": 1}
    return SyntheticSimulation(data=data, cohort_args=cohort_args, truth=truth, effects=effects,
                               params=params, seed=seed)
