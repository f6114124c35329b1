"""Seeded simulators with known truth: :func:`simulate` and :class:`Simulation`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd

from pbr_eval.datasets import _areas, _families, _reoffending
from pbr_eval.datasets._common import check_count, check_seed, merge_params, resolve_effect
from pbr_eval.exceptions import OptionError

__all__ = ["SCENARIOS", "Simulation", "simulate", "simulate_areas"]

_REGISTRY: dict[str, ModuleType] = {
    "areas": _areas,
    "families": _families,
    "reoffending": _reoffending,
}

#: Names of the scenarios :func:`simulate` knows, in alphabetical order.
SCENARIOS: tuple[str, ...] = tuple(sorted(_REGISTRY))


@dataclass(frozen=True, eq=False)
class Simulation:
    """A simulated (or shipped) dataset together with its true values.

    Attributes
    ----------
    scenario : str
        Scenario name, one of :data:`SCENARIOS`.
    seed : int
        Seed given to :func:`numpy.random.default_rng`.
    data : pandas.DataFrame
        The data, ready for :class:`pbr_eval.Cohort`: one row per unit (or,
        for panel scenarios, one row per unit and period, in long format).
    cohort_args : dict
        Role arguments for :class:`pbr_eval.Cohort`: ``treatment``,
        ``outcome`` (list), ``covariates`` (list), ``unit_id``, ``cluster``
        and ``period`` (``None`` when not used), so that
        ``Cohort(sim.data, **sim.cohort_args)`` works.
    truth : pandas.DataFrame
        One row per outcome (index ``outcome``) with columns ``observed``
        (mean outcome of the treated, i.e. mean Y(1) of the treated),
        ``non_intervention`` (mean Y(0) of the treated, from the simulated
        potential outcomes), ``effect`` (``observed - non_intervention``),
        ``naive_comparison`` (mean outcome of the comparison group) and
        ``outcome_type`` (``'binary'``, ``'count'`` or ``'continuous'``).
        Panel scenarios refer to the last period and add ``pre_mean`` and
        ``pre_comparison`` (the treated and comparison means in period 0).
    params : dict
        Every parameter of the data-generating process used, including the
        effect per outcome, group sizes and the population drawn.

    Examples
    --------
    >>> import pbr_eval
    >>> from pbr_eval.datasets import simulate
    >>> sim = simulate("reoffending", seed=1, n_treated=200, n_comparison=2000)
    >>> sim.data.shape, list(sim.truth.index)
    ((2200, 10), ['reoffended', 'reconviction_events'])
    >>> cohort = pbr_eval.Cohort(sim.data, **sim.cohort_args)
    >>> cohort.n_treated, cohort.n_comparison
    (200, 2000)
    """

    scenario: str
    seed: int
    data: pd.DataFrame = field(repr=False)
    cohort_args: dict[str, Any] = field(repr=False)
    truth: pd.DataFrame = field(repr=False)
    params: dict[str, Any] = field(repr=False)

    def __repr__(self) -> str:
        return (
            f"Simulation(scenario={self.scenario!r}, seed={self.seed}, "
            f"n_treated={self.params['n_treated']}, "
            f"n_comparison={self.params['n_comparison']}, rows={len(self.data)})"
        )

    def cohort(self, **options: Any) -> Any:
        """Return ``pbr_eval.Cohort(self.data, **self.cohort_args, **options)``."""
        from pbr_eval.cohort import Cohort

        return Cohort(self.data, **self.cohort_args, **options)


def simulate(
    scenario: str,
    *,
    n_treated: int,
    n_comparison: int,
    seed: int,
    effect: float | Mapping[str, float] | None = None,
    **params: Any,
) -> Simulation:
    r"""Simulate a programme cohort and a comparison pool with known truth.

    Units are drawn from a population in which programme entry follows a
    logistic model in exactly the covariates listed in ``cohort_args``; the
    first ``n_treated`` treated and ``n_comparison`` comparison units are
    kept. Selection makes the comparison group's mean a biased estimate of
    the non-intervention rate, while a logistic propensity score on the
    listed covariates (text columns as indicators, numbers linear) is
    correctly specified, so matching and weighting estimators are
    consistent.

    Parameters
    ----------
    scenario : {'areas', 'families', 'reoffending'}
        Which data-generating process to use (see Notes; ``'areas'``, an
        employment programme over many local authorities with known
        per-area rates, is described in ``docs/areas.md``).
    n_treated : int
        Number of programme participants (exactly this many; for
        ``'families'``, households).
    n_comparison : int
        Number of comparison units (exactly this many).
    seed : int
        Seed for :func:`numpy.random.default_rng`; the same seed and
        arguments give identical data.
    effect : float or dict, optional
        The programme's effect on each treated unit. ``None`` uses the
        scenario default. A number applies to every outcome; a dict sets it
        per outcome (others keep their default). Binary and count outcomes
        take a *relative* change in each treated unit's expected outcome
        (``-0.2``: 20% fewer), capped so a probability stays <= 1;
        ``attendance_rate`` takes an *additive* change in percentage points,
        capped to 0-100.
    **params
        Override any entry of the scenario's parameter dict (see
        :attr:`Simulation.params`), e.g. ``selection_strength=0`` for random
        assignment, ``n_areas=5`` or ``selection={"age": 0.05}``; dicts are
        merged key by key.

    Returns
    -------
    Simulation
        Frozen: ``data``, ``cohort_args``, ``truth``, ``params``,
        ``scenario``, ``seed``.

    Raises
    ------
    OptionError
        Unknown scenario or parameter, non-positive group size, negative
        seed, or an effect outside its range.

    Notes
    -----
    Write :math:`T` for programme entry, :math:`x` for the covariates in
    design coding (indicators for text columns with the first sorted level
    as reference: ``sex`` ``'F'``, ``offence_type`` ``'acquisitive'``),
    :math:`a` for the local authority, :math:`\operatorname{expit}(z) =
    1/(1+e^{-z})`. Coefficients are in ``params``.

    **reoffending** (one row per prison leaver; outcomes over 12 months)::

        P(T=1 | x)      = expit(alpha + s * x'beta)       (beta = params['selection'])
        logit p0(x, a)  = gamma0 + x'gamma + u_a,  u_a ~ N(0, area_sd^2)
        reoffended(0)   = 1{U < p0},                U ~ Uniform(0, 1)
        events(0)       = reoffended(0) * (1 + N0), N0 ~ Poisson(lambda0 * G)
        lambda0         = k * (1 + exp(eta)) - 1,  G ~ Gamma(shape, 1/shape)

    so that ``E[events(0) | x, a] = k * p0 / (1 - p0) = exp(log k + eta)``
    is log-linear and ``P(reoffended(0) | x, a)`` is logistic (``k`` =
    ``events_per_odds``). The selection favours older, female, less
    prolific leavers with non-acquisitive offences ("creaming"), who are
    also less likely to reoffend, so the naive comparison rate is too high.
    Treated outcomes: ``p1 = min(p0 (1 + e_r), 1)``, ``reoffended(1) = 1{U
    < p1}`` (same ``U``), ``E[events(1)] = mu0 (1 + e_e)``.

    **families** (two rows per household: period 0 before, period 1 after)::

        P(T=1 | x)        = expit(alpha + s * x'beta)
        attendance(0)_it  = c + x'delta + v_i + u_a + tau * t + eps_it,  capped to [0, 100]
        P(y(0)_it = 1)    = lo + (1 - 2 lo) * expit(c + x'delta + w_i + u_a) + tau * t

    with household effects ``v_i``, ``w_i`` (normal), ``lo = |tau|``, and
    the same common trend ``tau`` on the outcome scale for everybody, so
    parallel trends hold exactly for the binary outcomes and, up to the
    rare capping at 100, for attendance. Selection favours households with
    more need (more children, lone parents, worklessness, anti-social
    behaviour, more deprived), so the naive comparison is too favourable.
    The effect applies in period 1 only; period 0 is unaffected.

    See ``docs/datasets.md`` for every coefficient and a worked example.

    Examples
    --------
    >>> from pbr_eval.datasets import simulate
    >>> sim = simulate("reoffending", n_treated=500, n_comparison=5000, seed=1)
    >>> sim
    Simulation(scenario='reoffending', seed=1, n_treated=500, n_comparison=5000, rows=5500)
    >>> sim.data.shape
    (5500, 10)
    >>> int(sim.data["treated"].sum())
    500
    >>> sim.cohort_args["covariates"]
    ['age', 'sex', 'prior_offences', 'offence_type', 'sentence_months']
    >>> list(sim.truth.columns)
    ['observed', 'non_intervention', 'effect', 'naive_comparison', 'outcome_type']
    >>> t = sim.truth.loc["reoffended"]
    >>> bool(t["naive_comparison"] > t["non_intervention"])  # creaming: naive is too high
    True

    Random assignment removes the bias:

    >>> fair = simulate("reoffending", n_treated=500, n_comparison=5000, seed=1,
    ...                 selection_strength=0, effect=0)
    >>> fair.params["effect"]
    {'reoffended': 0.0, 'reconviction_events': 0.0}
    """
    if not isinstance(scenario, str) or scenario not in _REGISTRY:
        allowed = ", ".join(repr(s) for s in SCENARIOS)
        shown = repr(scenario) if isinstance(scenario, str) else str(scenario)
        raise OptionError(f"`scenario` must be one of {allowed}; got {shown}.")
    module = _REGISTRY[scenario]
    n_treated = check_count("n_treated", n_treated)
    n_comparison = check_count("n_comparison", n_comparison)
    seed = check_seed(seed)
    p = merge_params(module.DEFAULTS, params)
    p["effect"] = resolve_effect(effect, module.DEFAULT_EFFECT, module.EFFECT_BOUNDS)
    rng = np.random.default_rng(seed)
    data, truth, extra = module.generate(rng, n_treated, n_comparison, p)
    p = {"n_treated": n_treated, "n_comparison": n_comparison, **p, **extra}
    p["sample_selection_intercept"] = _sample_intercept(p, n_treated, n_comparison)
    return Simulation(
        scenario=scenario,
        seed=seed,
        data=data,
        cohort_args=dict(module.COHORT_ARGS),
        truth=truth,
        params=p,
    )


def _sample_intercept(p: Mapping[str, Any], n_treated: int, n_comparison: int) -> float:
    """Return selection intercept in the kept sample: choice-based sampling shifts it.

    ``alpha* = alpha + log(n_t / n_c) - log(pi / (1 - pi))`` with ``pi`` the
    population treated share (estimated from the population drawn).
    """
    pi = p["population_treated_share"]
    alpha = p["selection"]["intercept"]
    return float(alpha + np.log(n_treated / n_comparison) - np.log(pi / (1.0 - pi)))


def simulate_areas(
    *,
    n_areas: int = 100,
    n_treated: int = 5_000,
    n_comparison: int = 50_000,
    seed: int,
    effect: float | dict[str, float] | None = None,
    **params: Any,
) -> Any:
    """Simulate an employment programme across many areas with known area rates.

    A shortcut for ``simulate("areas", ...)``: see
    :func:`pbr_eval.datasets.simulate` for the model and ``docs/areas.md``
    for the coefficients. Use :func:`area_truth` for each area's true
    non-intervention rate.

    Parameters
    ----------
    n_areas : int, default 100
        Number of local authorities. Area ``k`` gets a share of people
        proportional to ``k ** -area_concentration`` (default 1), so sizes
        are very unequal: with 100 areas the largest holds about 100 times
        as many people as the smallest.
    n_treated, n_comparison : int
        Programme participants and comparison people, over all areas.
    seed : int
        Seed for :func:`numpy.random.default_rng`.
    effect : float or dict, optional
        Relative change in the job-outcome probability (default +20%) and
        additive change in wellbeing (default +0.3).
    **params
        Any other scenario parameter, e.g. ``outcome={"job_outcome":
        {"area_sd": 0.4}}``.

    Returns
    -------
    Simulation
        With ``params["area_truth"]``; see :func:`area_truth`.

    Examples
    --------
    >>> from pbr_eval.datasets import simulate_areas, area_truth
    >>> sim = simulate_areas(n_areas=60, seed=1)
    >>> sim.data["local_authority"].nunique()
    60
    >>> truth = area_truth(sim)
    >>> int(truth["n_treated"].max()) > 20 * int(truth["n_treated"].min())
    True
    """
    n_areas = check_count("n_areas", n_areas)
    return simulate("areas", n_treated=n_treated, n_comparison=n_comparison, seed=seed,
                    effect=effect, n_areas=n_areas, **params)
