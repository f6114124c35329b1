r"""Weighted Kaplan-Meier curves, restricted mean survival time, and their influence functions.

Pure functions over arrays (times, event indicators, weights), vectorised
(one sort; influences by profile, not by person x time). These are the
numbers behind :func:`pbr_eval.survival.weighted_curves`; the curves and
restricted means equal R ``survival``'s ``survfit`` with case weights and
``summary(fit, rmean=)`` (``tests/reference/r_survival``); the influence
functions equal the derivatives of the estimate in each person's case
weight (``tests/test_survival_curves.py``).

Written here rather than taken from lifelines: lifelines' ``KaplanMeierFitter``
takes weights but its variance treats them as frequencies (it warns that the
variance is then wrong for sampling weights), it has no influence functions
to carry the estimation of the weights into the standard errors, and it
would be a runtime dependency for a few dozen lines of numpy.

Notation: event times :math:`u_1 < \dots < u_K` (times with a positive
weighted number of events), weighted events :math:`d_k = \sum_i w_i
\delta_i 1\{T_i = u_k\}`, weighted number at risk :math:`R_k = \sum_i w_i
1\{T_i \ge u_k\}`, hazard :math:`h_k = d_k / R_k` and survival
:math:`S(t) = \prod_{u_k \le t} (1 - h_k)`.

References
----------
Kaplan, E. L. & Meier, P. (1958). Nonparametric estimation from incomplete
observations. Journal of the American Statistical Association 53, 457-481.
Xie, J. & Liu, C. (2005). Adjusted Kaplan-Meier estimator and log-rank test
with inverse probability of treatment weighting for survival data.
Statistics in Medicine 24, 3089-3110.
Therneau, T. M. (2024). The survival package: ``survfit`` (robust variance
by the infinitesimal jackknife).
Royston, P. & Parmar, M. K. B. (2013). Restricted mean survival time: an
alternative to the hazard ratio for the design and analysis of randomized
trials with a time-to-event outcome. BMC Medical Research Methodology 13, 152.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["KMCurve", "kaplan_meier", "km_influence", "km_profiles", "km_profile_index",
           "step_integral"]


@dataclass(frozen=True)
class KMCurve:
    """A (weighted) Kaplan-Meier curve.

    Attributes
    ----------
    times : numpy.ndarray
        Event times :math:`u_k`, increasing.
    at_risk : numpy.ndarray
        Weighted number at risk :math:`R_k` just before each event time.
    events : numpy.ndarray
        Weighted number of events :math:`d_k`.
    survival : numpy.ndarray
        :math:`S(u_k)`.
    last_time : float
        Largest time (event or censoring) of a unit with positive weight:
        the curve is known up to here.
    n : int
        Units with positive weight.

    Examples
    --------
    >>> import numpy as np
    >>> c = kaplan_meier(np.array([1., 2, 2, 3]), np.array([1, 1, 0, 1]))
    >>> c.times.tolist(), c.events.tolist(), c.n
    ([1.0, 2.0, 3.0], [1.0, 1.0, 1.0], 4)
    """

    times: np.ndarray
    at_risk: np.ndarray
    events: np.ndarray
    survival: np.ndarray
    last_time: float
    n: int

    @property
    def hazard(self) -> np.ndarray:
        """Discrete hazards :math:`h_k = d_k / R_k`."""
        return self.events / self.at_risk

    def index(self, t: np.ndarray | float) -> np.ndarray:
        """Position of the last event time at or before ``t`` (-1 before the first)."""
        return np.searchsorted(self.times, t, side="right") - 1

    def at(self, t: np.ndarray | float) -> np.ndarray:
        """:math:`S(t)`, right-continuous (1 before the first event time).

        Examples
        --------
        >>> import numpy as np
        >>> c = kaplan_meier(np.array([1., 2, 2, 3]), np.array([1, 1, 0, 1]))
        >>> c.at(np.array([0.5, 1, 2.5, 3])).tolist()
        [1.0, 0.75, 0.5, 0.0]
        """
        k = self.index(np.asarray(t, dtype=float))
        s = np.concatenate([[1.0], self.survival])
        return s[k + 1]

    def rmst(self, horizon: float) -> float:
        r"""Restricted mean survival time :math:`\int_0^\tau S(t)\,dt` (the last value carried on).

        Examples
        --------
        >>> import numpy as np
        >>> kaplan_meier(np.array([1., 2, 2, 3]), np.array([1, 1, 0, 1])).rmst(2.5)
        2.0
        """
        return step_integral(self.times, self.survival, horizon)


def step_integral(times: np.ndarray, values: np.ndarray, horizon: float,
                  start: float = 1.0) -> float:
    """Integrate a step function from 0 to ``horizon``.

    The function is ``start`` before ``times[0]`` and ``values[k]`` on
    ``[times[k], times[k+1])``.

    Parameters
    ----------
    times : numpy.ndarray
        Increasing jump times.
    values : numpy.ndarray
        The function's value from each jump time on.
    horizon : float
        Upper limit of the integral.
    start : float, default 1.0
        The value before the first jump.

    Returns
    -------
    float

    Examples
    --------
    >>> import numpy as np
    >>> step_integral(np.array([1.0, 2.0]), np.array([0.5, 0.25]), 3.0)
    1.75
    """
    times = np.asarray(times, dtype=float)
    keep = times < horizon
    edges = np.concatenate([[0.0], times[keep], [horizon]])
    heights = np.concatenate([[start], np.asarray(values, dtype=float)[keep]])
    return float(heights @ np.diff(edges))


def kaplan_meier(time: np.ndarray, event: np.ndarray,
                 weights: np.ndarray | None = None) -> KMCurve:
    r"""Fit the (weighted) Kaplan-Meier curve.

    Parameters
    ----------
    time : numpy.ndarray
        Time to the event or to censoring (non-negative).
    event : numpy.ndarray
        1 (or True) for an event, 0 for censoring.
    weights : numpy.ndarray, optional
        Case weights (matching or weighting weights); units with weight 0
        are left out. Default: all 1.

    Returns
    -------
    KMCurve

    Notes
    -----
    Censored units are at risk at their censoring time (events come first
    at tied times), as in R ``survfit``. Sorting makes it :math:`O(n \log n)`.

    Examples
    --------
    >>> import numpy as np
    >>> c = kaplan_meier(np.array([1., 2, 2, 3]), np.array([1, 1, 0, 1]),
    ...                  np.array([1., 1, 2, 1]))
    >>> c.times.tolist(), c.at_risk.tolist(), c.survival.tolist()
    ([1.0, 2.0, 3.0], [5.0, 4.0, 1.0], [0.8, 0.6000000000000001, 0.0])
    """
    time = np.asarray(time, dtype=float)
    ev = np.asarray(event, dtype=float)
    w = np.ones_like(time) if weights is None else np.asarray(weights, dtype=float)
    pos = w > 0
    if not pos.all():
        time, ev, w = time[pos], ev[pos], w[pos]
    if time.size == 0:
        empty = np.empty(0)
        return KMCurve(empty, empty, empty, empty, 0.0, 0)
    order = np.argsort(time, kind="stable")
    ts = time[order]
    uniq, first = np.unique(ts, return_index=True)
    w_at = np.add.reduceat(w[order], first)
    d_at = np.add.reduceat((w * ev)[order], first)
    risk = np.cumsum(w_at[::-1])[::-1]
    has = d_at > 0
    d, r = d_at[has], risk[has]
    surv = np.cumprod(1.0 - d / r)
    return KMCurve(uniq[has], r, d, surv, float(ts[-1]), int(time.size))


def km_profiles(curve: KMCurve, grid: np.ndarray, horizon: float | None = None) -> np.ndarray:
    r"""Influence profiles: a unit's influence is its weight times one row of this matrix.

    A unit's influence on the curve depends on its own data only through
    :math:`k_i` (the last event time at or before its time) and whether it had
    the event, so there are :math:`2(K + 1)` distinct profiles: row
    ``k + 1`` for a censored unit and ``K + 2 + k`` for a unit with the event
    (``k = -1``: before the first event time). :func:`km_profile_index`
    gives each unit's row. See :func:`km_influence` for the formula.

    Parameters
    ----------
    curve : KMCurve
        The fitted curve.
    grid : numpy.ndarray
        Times at which the survival's influence is wanted.
    horizon : float, optional
        Add a last column: the influence on the restricted mean up to ``horizon``.

    Returns
    -------
    numpy.ndarray, shape (2 (K + 1), len(grid) [+ 1])
        NaN in the columns of grid times where the curve has reached 0.

    Examples
    --------
    >>> import numpy as np
    >>> c = kaplan_meier(np.array([1., 2, 2, 3, 4]), np.array([1, 1, 0, 1, 0]))
    >>> km_profiles(c, np.array([2.5]), horizon=3.0).shape
    (8, 2)
    """
    grid = np.asarray(grid, dtype=float)
    K = curve.times.size
    h = curve.hazard
    R = curve.at_risk
    with np.errstate(divide="ignore", invalid="ignore"):
        e = 1.0 / ((1.0 - h) * R)
    c = h * e
    C = np.concatenate([[0.0], np.cumsum(c)])  # C[m + 1] = sum_{k <= m} c_k
    s_grid = curve.at(grid)
    m = curve.index(grid)
    k = np.arange(-1, K)
    kk = np.minimum(k[:, None], m[None, :])
    e_k = np.concatenate([[0.0], e])  # e of k, 0 for k = -1
    cens = s_grid[None, :] * C[kk + 1]
    event = cens - s_grid[None, :] * np.where(k[:, None] <= m[None, :], e_k[:, None], 0.0)
    with np.errstate(invalid="ignore"):
        out = np.vstack([cens, event])
    zero = s_grid <= 0
    if zero.any():
        out[:, zero] = np.nan
    if horizon is None:
        return out
    S = curve.survival
    mt = int(curve.index(horizon))
    # B_k = integral of S from u_k to the horizon, for u_k <= horizon
    upto = curve.times[: mt + 1]
    widths = np.diff(np.concatenate([upto, [horizon]]))
    B = np.cumsum((S[: mt + 1] * widths)[::-1])[::-1]
    CB = np.concatenate([[0.0], np.cumsum(c[: mt + 1] * B)])
    B_k = np.concatenate([[0.0], B, np.zeros(K - mt - 1)])  # of k; 0 past the horizon
    rm_cens = CB[np.minimum(k, mt) + 1]
    # an event past the horizon does not move the restricted mean (B_k = 0), even where the
    # curve reaches 0 there (e_k infinite)
    with np.errstate(invalid="ignore"):
        rm_event = rm_cens - np.where(B_k != 0, e_k * B_k, 0.0)
    rm = np.concatenate([rm_cens, rm_event])
    if (S[: mt + 1] <= 0).any():
        rm = np.full_like(rm, np.nan)
    return np.column_stack([out, rm])


def km_profile_index(curve: KMCurve, time: np.ndarray, event: np.ndarray) -> np.ndarray:
    """Return each unit's row of :func:`km_profiles`.

    Parameters
    ----------
    curve : KMCurve
        The fitted curve.
    time, event : numpy.ndarray
        The units' times and event indicators.

    Returns
    -------
    numpy.ndarray of int

    Examples
    --------
    >>> import numpy as np
    >>> t, d = np.array([1., 2, 2, 3, 4]), np.array([1, 1, 0, 1, 0])
    >>> km_profile_index(kaplan_meier(t, d), t, d).tolist()
    [5, 6, 2, 7, 3]
    """
    k = curve.index(np.asarray(time, dtype=float))
    ev = (np.asarray(event, dtype=float) > 0) & (k >= 0)
    # an event is at an event time (k its own); one not at an event time (weight 0) is
    # treated as censored (its weight is 0 anyway)
    if curve.times.size:
        ev &= curve.times[np.maximum(k, 0)] == np.asarray(time, dtype=float)
    return (k + 1) + ev * (curve.times.size + 1)


def km_influence(curve: KMCurve, time: np.ndarray, event: np.ndarray, weights: np.ndarray,
                 grid: np.ndarray, horizon: float | None = None) -> np.ndarray:
    r"""Influence of each unit on :math:`S(t)` at ``grid`` (and on the RMST up to ``horizon``).

    Parameters
    ----------
    curve : KMCurve
        The curve fitted on all the units (with these weights).
    time, event, weights : numpy.ndarray
        Some or all of the units the curve was fitted on (any rows: the
        influence of a unit depends only on its own data and the curve, so
        a large pool can be processed in chunks).
    grid : numpy.ndarray
        Times at which the survival's influence is wanted.
    horizon : float, optional
        Add a last column, the influence on the RMST up to ``horizon``.

    Returns
    -------
    numpy.ndarray, shape (n, len(grid) [+ 1])
        ``IF[i, g] = w_i dS(t_g)/dw_i``: the infinitesimal jackknife, so
        that :math:`\hat S - S \approx \sum_i IF_i` and the robust variance
        (``survfit(..., robust=TRUE)``) is :math:`\sum_i IF_i^2`. NaN for
        grid times at or after the curve reaches 0 (the log-scale
        linearisation does not exist there).

    Notes
    -----
    With :math:`k_i` the last event time at or before :math:`T_i`,
    :math:`c_k = h_k / ((1 - h_k) R_k)`, :math:`C_m = \sum_{k \le m} c_k`
    and :math:`e_k = 1/((1 - h_k) R_k)`,

    .. math::

        IF_i(t) = -S(t)\, w_i \big[\delta_i 1\{T_i \le t\} e_{k_i}
                   - C_{\min(k_i, m(t))}\big],

    and for the RMST, with :math:`B_k = \int_{u_k}^{\tau} S(t)\,dt`,
    :math:`IF_i = -w_i [\delta_i 1\{T_i \le \tau\} e_{k_i} B_{k_i} -
    \sum_{k \le \min(k_i, m(\tau))} c_k B_k]`. A unit's influence depends
    on its data only through :math:`(k_i, \delta_i)`: it is computed as its
    weight times one of :math:`2(K+1)` profiles (:func:`km_profiles`).

    Examples
    --------
    >>> import numpy as np
    >>> t, d = np.array([1., 2, 2, 3, 4]), np.array([1, 1, 0, 1, 0])
    >>> c = kaplan_meier(t, d)
    >>> phi = km_influence(c, t, d, np.ones(5), np.array([2.5]))
    >>> round(float((phi ** 2).sum()), 6)  # Greenwood's variance without weights
    0.048
    """
    P = km_profiles(curve, grid, horizon)
    idx = km_profile_index(curve, time, event)
    return np.asarray(weights, dtype=float)[:, None] * P[idx]
