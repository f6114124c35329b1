r"""Time to first reoffence: the "reoffending" scenario extended with dates and censoring.

Prison leavers (covariates and programme entry exactly as in the
``"reoffending"`` scenario of :func:`pbr_eval.datasets.simulate`), each with a
release date, the date of a first proven reoffence (empty when none was seen)
and the date follow-up ended (the data extraction date). People released
recently have short follow-up, so part of the cohort is censored inside the
contract's one-year window.

Model
-----
Without the programme, a person with covariates :math:`x` reoffends by day
:math:`t` with probability :math:`1 - S_0(t \mid x)`,

.. math::

    S_0(t \mid x) = \exp\{-(t/365)^k\, c(x)\}, \qquad
    c(x) = -\log(1 - \operatorname{expit}(\eta(x))),

where :math:`\eta(x)` is the ``"reoffending"`` scenario's linear predictor
for ``reoffended`` (without its area effect), so a one-year reoffending
probability is :math:`\operatorname{expit}(\eta(x))`; :math:`k` is
``shape``. The programme multiplies the hazard by ``hazard_ratio``:
:math:`S_1(t \mid x) = S_0(t \mid x)^{\mathrm{hr}}`. The continuous time
:math:`T` is recorded in whole days, :math:`\lceil T \rceil` (so many people
share a day). Release dates are uniform over the ``release_span`` days
before the extraction date, independently of everything else, so censoring
is unrelated to the outcome and the covariates.

True values (for the participants, conditional on their covariates): the
non-intervention curve :math:`S_0(d) = \frac{1}{n_1}\sum_{i:\,treated}
S_0(d \mid x_i)` at whole days :math:`d`; the probability of a reoffence by
the window :math:`1 - S_0(w)`; the restricted mean days free of it
:math:`\int_0^w P(\lceil T \rceil > t)\,dt = \sum_{d=0}^{w-1} S_0(d)`
(exact for the whole-day times); the same with :math:`S_1` for the observed
quantities.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit

from pbr_eval.datasets import _reoffending
from pbr_eval.datasets._common import check_count, check_seed
from pbr_eval.datasets._simulate import simulate
from pbr_eval.options import check_positive

__all__ = ["TimeToEventSimulation", "simulate_reoffending_time", "simulate_reoffending_interim",
           "load_reoffending_time", "TIME_TO_EVENT_ARGS", "EXTRACTION_DATE"]

#: Date the simulated data were extracted: the end of follow-up for everyone.
EXTRACTION_DATE = "2025-03-31"
#: The cohort's time-to-event outcome (a dict of :class:`pbr_eval.TimeToEvent` fields).
TIME_TO_EVENT_ARGS: dict[str, dict[str, Any]] = {
    "first_reoffence": {"start": "released", "event_date": "first_reoffence",
                        "end": "follow_up_end", "window": 365, "unit": "days"},
}
_COLUMNS = ["person_id", "treated", *_reoffending.COVARIATES, "local_authority"]


@dataclass(frozen=True)
class TimeToEventSimulation:
    """A simulated time-to-event cohort and its true values.

    Attributes
    ----------
    seed : int
        The seed of :func:`simulate_reoffending_time`.
    data : pandas.DataFrame
        One row per person: covariates, ``released``, ``first_reoffence``
        (empty when none was seen) and ``follow_up_end`` (ISO dates as text).
    cohort_args : dict
        Role arguments: ``Cohort(sim.data, **sim.cohort_args)`` works.
    truth : pandas.DataFrame
        Index ``quantity`` (``"window_probability"``, ``"rmst"``); columns
        ``observed`` and ``non_intervention`` (the participants' true values
        with and without the programme, given their covariates), ``effect``.
    curves : pandas.DataFrame
        True survival by whole day 0..window: ``day``, ``observed``, ``non_intervention``.
    params : dict
        Every parameter used, the realised share censored inside the window.

    Examples
    --------
    >>> from pbr_eval.datasets import simulate_reoffending_time
    >>> sim = simulate_reoffending_time(n_treated=100, n_comparison=500, seed=1)
    >>> sim.curves.iloc[0].tolist()  # everyone is free of the outcome on day 0
    [0.0, 1.0, 1.0]
    """

    seed: int
    data: pd.DataFrame = field(repr=False)
    cohort_args: dict[str, Any] = field(repr=False)
    truth: pd.DataFrame = field(repr=False)
    curves: pd.DataFrame = field(repr=False)
    params: dict[str, Any] = field(repr=False)


def _hazard_scale(frame: pd.DataFrame) -> np.ndarray:
    r""":math:`c(x) = -\log(1 - \operatorname{expit}(\eta(x)))` from the data's covariates."""
    coef = _reoffending.DEFAULTS["outcome"]["reoffended"]
    offence = {o: i for i, o in enumerate(_reoffending.OFFENCE_TYPES)}
    cov = {
        "age": frame["age"].to_numpy(dtype=float),
        "male": (frame["sex"] == "M").to_numpy(dtype=float),
        "prior_offences": frame["prior_offences"].to_numpy(dtype=float),
        "sentence_months": frame["sentence_months"].to_numpy(dtype=float),
        "offence": frame["offence_type"].map(offence).to_numpy(dtype=int),
    }
    return -np.log1p(-expit(_reoffending._linear(coef, cov)))


def _checked(n_treated: Any, n_comparison: Any, seed: Any, hazard_ratio: Any, shape: Any,
             window: Any, release_span: Any) -> tuple[int, int, int, float, float, int, int]:
    """Return the simulators' common options, checked."""
    return (check_count("n_treated", n_treated), check_count("n_comparison", n_comparison),
            check_seed(seed), check_positive("hazard_ratio", hazard_ratio),
            check_positive("shape", shape), check_count("window", window),
            check_count("release_span", release_span))


def simulate_reoffending_time(
    *,
    n_treated: int = 600,
    n_comparison: int = 6_000,
    seed: int = 20130401,
    hazard_ratio: float = 0.8,
    shape: float = 0.7,
    window: int = 365,
    release_span: int = 1_000,
) -> TimeToEventSimulation:
    """Simulate prison leavers with release dates, first reoffences and censored follow-up.

    Parameters
    ----------
    n_treated, n_comparison : int
        Programme participants and comparison people (exactly these many).
    seed : int
        Seed: the covariates and programme entry are
        ``simulate("reoffending", ..., seed=seed)``'s; the times use
        ``numpy.random.default_rng([seed, 1])``.
    hazard_ratio : float, default 0.8
        The programme's effect on the hazard of reoffending (below 1: fewer, later reoffences).
    shape : float, default 0.7
        Weibull shape :math:`k` (below 1: the hazard is highest just after release).
    window : int, default 365
        The contract's follow-up window, days.
    release_span : int, default 1000
        Releases are spread uniformly over this many days before the
        extraction date; with the default about 30% of people are censored
        inside the window.

    Returns
    -------
    TimeToEventSimulation

    Examples
    --------
    >>> from pbr_eval.datasets import simulate_reoffending_time
    >>> sim = simulate_reoffending_time(n_treated=100, n_comparison=500, seed=1)
    >>> sim.data.shape, list(sim.truth.index)
    ((600, 11), ['window_probability', 'rmst'])
    """
    n_treated, n_comparison, seed, hazard_ratio, shape, window, release_span = _checked(
        n_treated, n_comparison, seed, hazard_ratio, shape, window, release_span)
    frame, t, days, rng = _latent(n_treated, n_comparison, seed, hazard_ratio, shape, [seed, 1])
    follow = rng.integers(0, release_span, len(frame), endpoint=True)
    censored = _dated(frame, days, follow, window)
    params = {"n_treated": n_treated, "n_comparison": n_comparison, "seed": seed,
              "hazard_ratio": hazard_ratio, "shape": shape, "window": window,
              "release_span": release_span, "extraction_date": EXTRACTION_DATE,
              "share_censored_in_window": float(censored.mean())}
    return _simulation(frame, params)


def _latent(n_treated: int, n_comparison: int, seed: int, hazard_ratio: float, shape: float,
            key: list[int]) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.random.Generator]:
    """Covariates and programme entry, and the whole-day times to a first reoffence."""
    base = simulate("reoffending", n_treated=n_treated, n_comparison=n_comparison, seed=seed)
    frame = base.data[_COLUMNS].copy()
    t = frame["treated"].to_numpy() == 1
    c = _hazard_scale(frame) * np.where(t, hazard_ratio, 1.0)
    rng = np.random.default_rng(key)
    # S(t) = exp(-(t/365)^k c)  =>  T = 365 (E / c)^(1/k), E ~ Exp(1)
    days = np.ceil(365.0 * (rng.exponential(1.0, len(frame)) / c) ** (1.0 / shape))
    return frame, t, days, rng


def _dated(frame: pd.DataFrame, days: np.ndarray, follow: np.ndarray, window: int) -> np.ndarray:
    """Add release, first-reoffence and end dates (follow-up ``follow`` days to the extraction date).

    Returns who is censored inside the window.
    """
    end = pd.Timestamp(EXTRACTION_DATE)
    released = end - pd.to_timedelta(follow, unit="D")
    seen = days <= follow
    reoffence = (released + pd.to_timedelta(np.where(seen, days, 0), unit="D")).where(seen)
    frame["released"] = released.strftime("%Y-%m-%d")
    frame["first_reoffence"] = pd.Series(reoffence.strftime("%Y-%m-%d"), index=frame.index,
                                         dtype=object).where(seen, None)
    frame["follow_up_end"] = EXTRACTION_DATE
    return np.asarray((~seen) & (follow < window))


def simulate_reoffending_interim(
    *,
    recruitment: int = 365,
    cut_after: int = 182,
    n_treated: int = 300, n_comparison: int = 3_000, seed: int = 20130401,
    hazard_ratio: float = 0.8, shape: float = 0.7, window: int = 365,
    release_span: int = 1_000,
) -> TimeToEventSimulation:
    """Simulate a programme cohort still in follow-up, and the count its window will end with.

    Participants are released uniformly over ``recruitment`` days; the data
    are cut (the extraction date) ``cut_after`` days after the last release,
    so the last participants have had ``cut_after`` of the ``window`` days
    (with the defaults: released over 12 months, cut 6 months after the last
    release, "6 of 12 months"). Comparison people are released over the
    ``release_span`` days before the cut, as in
    :func:`simulate_reoffending_time` (same model, same covariates).

    Parameters
    ----------
    n_treated, n_comparison : int
        Programme participants and comparison people.
    seed : int
        Seed (the times use ``numpy.random.default_rng([seed, 2])``).
    hazard_ratio, shape, window : float, float, int
        As :func:`simulate_reoffending_time`.
    recruitment : int, default 365
        Days over which participants are released.
    cut_after : int, default 182
        Days from the last release to the cut-off.
    release_span : int, default 1000
        Comparison people's releases are spread over this many days before the cut.

    Returns
    -------
    TimeToEventSimulation
        The data at the cut-off; ``params["final_count"]``: participants
        whose first reoffence falls within the window (what reconciliation
        will count), ``params["outcomes_at_cut"]``: those seen by the cut.

    Examples
    --------
    >>> from pbr_eval.datasets import simulate_reoffending_interim
    >>> sim = simulate_reoffending_interim(n_treated=100, n_comparison=500, seed=1)
    >>> p = sim.params
    >>> p["outcomes_at_cut"] <= p["final_count"] <= 100
    True
    """
    n_treated, n_comparison, seed, hazard_ratio, shape, window, release_span = _checked(
        n_treated, n_comparison, seed, hazard_ratio, shape, window, release_span)
    recruitment = check_count("recruitment", recruitment)
    cut_after = check_count("cut_after", cut_after)
    frame, t, days, rng = _latent(n_treated, n_comparison, seed, hazard_ratio, shape, [seed, 2])
    n = len(frame)
    follow = np.where(t, rng.integers(cut_after, cut_after + recruitment, n, endpoint=True),
                      rng.integers(0, release_span, n, endpoint=True))
    censored = _dated(frame, days, follow, window)
    final = (days <= window) & t
    params = {"n_treated": n_treated, "n_comparison": n_comparison, "seed": seed,
              "hazard_ratio": hazard_ratio, "shape": shape, "window": window,
              "recruitment": recruitment, "cut_after": cut_after, "release_span": release_span,
              "extraction_date": EXTRACTION_DATE,
              "share_censored_in_window": float(censored[t].mean()),
              "final_count": int(final.sum()),
              "outcomes_at_cut": int((final & (days <= follow)).sum())}
    return _simulation(frame, params)


def _simulation(frame: pd.DataFrame, params: dict[str, Any]) -> TimeToEventSimulation:
    """Build the simulation object: true curves for the participants, given their covariates."""
    t = frame["treated"].to_numpy() == 1
    window, hr = int(params["window"]), float(params["hazard_ratio"])
    c0 = _hazard_scale(frame)[t]
    grid = np.arange(window + 1, dtype=float)
    base_h = (grid / 365.0) ** float(params["shape"])
    s0 = np.exp(-np.outer(base_h, c0)).mean(axis=1)
    s1 = np.exp(-np.outer(base_h, c0 * hr)).mean(axis=1)
    rows = {
        "window_probability": (1.0 - s1[-1], 1.0 - s0[-1]),
        "rmst": (float(s1[:-1].sum()), float(s0[:-1].sum())),
    }
    truth = pd.DataFrame({"observed": [v[0] for v in rows.values()],
                          "non_intervention": [v[1] for v in rows.values()]},
                         index=pd.Index(list(rows), name="quantity"))
    truth["effect"] = truth["observed"] - truth["non_intervention"]
    curves = pd.DataFrame({"day": grid.astype(int), "observed": s1, "non_intervention": s0})
    cohort_args = {
        "treatment": "treated", "covariates": list(_reoffending.COVARIATES),
        "unit_id": "person_id",
        "time_to_event": {k: dict(v, window=window) for k, v in TIME_TO_EVENT_ARGS.items()},
    }
    return TimeToEventSimulation(int(params["seed"]), frame, cohort_args, truth, curves, params)


#: What :func:`load_reoffending_time` ships (``data/make_time_to_event.py`` writes it).
SHIPPED: dict[str, Any] = {"n_treated": 600, "n_comparison": 6_000, "seed": 20130401}
SHIPPED_FILE = "reoffending_time.csv"


def load_reoffending_time() -> TimeToEventSimulation:
    """Load the shipped time-to-first-reoffence dataset (600 participants, 6,000 not).

    ``simulate_reoffending_time()`` with its defaults (written by
    ``python data/make_time_to_event.py``; ``data/README.md`` describes it):
    release dates over 1,000 days before the extraction date 31 March 2025,
    about 30% of people censored inside the one-year window, the programme
    cutting the hazard of reoffending by 20%. The true values are computed
    from the participants' covariates.

    Returns
    -------
    TimeToEventSimulation

    Examples
    --------
    >>> from pbr_eval.datasets import load_reoffending_time
    >>> sim = load_reoffending_time()
    >>> sim.truth.round(4)
                        observed  non_intervention   effect
    quantity
    window_probability    0.2252            0.2717  -0.0465
    rmst                314.6215          303.6076  11.0139
    """
    from importlib import resources

    path = resources.files("pbr_eval.datasets").joinpath("_data").joinpath(SHIPPED_FILE)
    with resources.as_file(path) as p:
        frame = pd.read_csv(p, dtype={"first_reoffence": object})
    defaults = simulate_reoffending_time.__kwdefaults__ or {}
    params = {**defaults, **SHIPPED, "extraction_date": EXTRACTION_DATE}
    released = pd.to_datetime(frame["released"])
    follow = (pd.Timestamp(EXTRACTION_DATE) - released).dt.days
    params["share_censored_in_window"] = float(
        (frame["first_reoffence"].isna() & (follow < params["window"])).mean())
    return _simulation(frame, params)
