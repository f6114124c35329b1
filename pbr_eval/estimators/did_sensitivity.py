"""How far parallel trends may fail before a DiD effect loses significance (Rambachan & Roth 2023).

The numbers of the smoothness restriction ``Delta^SD(M)``: event-study coefficients
``betahat = (beta_pre, beta_post)`` (reference period, normalised to zero, left out) with
covariance ``sigma``; the bias ``delta`` of the coefficients (``beta = tau + delta``, no
effect before the start) may bend by at most ``M`` between consecutive periods::

    | (delta_{t+1} - delta_t) - (delta_t - delta_{t-1}) | <= M   for every t, delta_0 = 0

``M = 0`` allows any linear pre-trend extrapolated into the post periods; larger ``M``
allows the trend to curve. The target is ``theta = l' tau_post`` (default: the first
period from the start).

The confidence interval is the fixed-length confidence interval (FLCI; Armstrong &
Kolesar 2018, Rambachan & Roth 2023 section 4.1): among affine estimators
``v' betahat`` with ``v = (v_pre, l)``, the one whose interval
``v' betahat +/- sd(v) cv_alpha(b(v) / sd(v))`` is shortest, where ``b(v)`` is the largest
bias over ``Delta^SD(M)`` (finite only when ``v`` is orthogonal to a linear trend,
``M`` times an L1 norm) and ``cv_alpha(r)`` the ``1 - alpha`` quantile of ``|N(r, 1)|``.
It covers ``theta`` with probability at least ``level`` for every ``delta`` in the set.
The breakdown value is the largest ``M`` at which the interval still excludes zero.

The relative-magnitudes restriction ``Delta^RM(Mbar)`` and its conditional / hybrid
(C-LF) confidence sets are in :mod:`pbr_eval.estimators.did_relative`;
:func:`parallel_trends_sensitivity` runs either.

References
----------
Rambachan, A. & Roth, J. (2023). A more credible approach to parallel trends. Review of
Economic Studies 90(5), 2555-2591.
Armstrong, T. B. & Kolesar, M. (2018). Optimal inference in a class of regression
models. Econometrica 86(2), 655-683.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, stats

from pbr_eval.estimators.did_relative import (
    _checked,
    relative_magnitudes_breakdown,
    relative_magnitudes_ci,
)
from pbr_eval.exceptions import OptionError
from pbr_eval.options import check_level, check_number
from pbr_eval.results.parallel_trends import ParallelTrendsResults

__all__ = ["FLCI", "smoothness_flci", "smoothness_breakdown", "folded_normal_quantile",
           "parallel_trends_sensitivity"]


@dataclass(frozen=True)
class FLCI:
    """A fixed-length confidence interval for ``theta = l' tau_post`` under ``Delta^SD(M)``.

    Attributes
    ----------
    M : float
        The bound on the change in slope of the parallel-trends violation.
    estimate : float
        ``v' betahat``, the interval's centre.
    lower, upper : float
    half_length : float
    max_bias : float
        The largest bias of the estimator over ``Delta^SD(M)``.
    std_error : float
        ``sqrt(v' sigma v)``.
    weights : tuple of float
        ``v``: the weights of the pre- and post-period coefficients.
    level : float

    Examples
    --------
    >>> import numpy as np
    >>> ci = smoothness_flci(np.array([0.0, 0.0, 1.0, 1.0]), np.eye(4) * 0.01,
    ...                      n_pre=2, n_post=2, M=0.0)
    >>> ci.max_bias, bool(ci.lower < ci.estimate < ci.upper)
    (0.0, True)
    """

    M: float
    estimate: float
    lower: float
    upper: float
    half_length: float
    max_bias: float
    std_error: float
    weights: tuple[float, ...]
    level: float


def folded_normal_quantile(mean: float, level: float = 0.95) -> float:
    """Return the ``level`` quantile of ``|N(mean, 1)|``.

    Parameters
    ----------
    mean : float
        The normal's mean (its absolute value is used).
    level : float, default 0.95

    Returns
    -------
    float

    Examples
    --------
    >>> round(folded_normal_quantile(0.0), 6)
    1.959964
    >>> round(folded_normal_quantile(3.0), 6)  # about mean + z_0.95 for a large mean
    4.644854
    """
    r = abs(float(mean))
    if r == 0.0:
        return float(stats.norm.ppf(0.5 + level / 2))

    def f(c: float) -> float:
        return float(stats.norm.cdf(c - r) - stats.norm.cdf(-c - r)) - level

    return float(optimize.brentq(f, r, r + 10.0, xtol=1e-14))


def _bias_map(n_pre: int, n_post: int) -> tuple[np.ndarray, np.ndarray]:
    """Return (t, K): event times without 0, and K with ``delta = c t + K s`` (s: second differences)."""
    full = np.arange(-n_pre, n_post + 1, dtype=float)
    m = full.size - 2
    A = np.zeros((m, full.size))
    for i in range(m):
        A[i, i:i + 3] = (1.0, -2.0, 1.0)
    A = np.delete(A, n_pre, axis=1)            # delta_0 = 0
    t = np.delete(full, n_pre)
    Q = np.vstack([A, t / (t @ t)])
    return t, np.linalg.inv(Q)[:, :m]


def smoothness_flci(betahat: Any, sigma: Any, *, n_pre: int, n_post: int, M: float,
                    l: Any = None, level: float = 0.95) -> FLCI:  # noqa: E741
    """Fixed-length confidence interval for ``l' tau_post`` when trends may bend by ``M``.

    Parameters
    ----------
    betahat : array of shape (n_pre + n_post,)
        Event-study coefficients, earliest first, the reference period (the one just
        before the start) left out.
    sigma : array of shape (n_pre + n_post, n_pre + n_post)
        Their covariance.
    n_pre, n_post : int
        How many coefficients are before / from the start.
    M : float
        Non-negative bound on the change in slope of the violation between periods, in
        the outcome's units.
    l : array of shape (n_post,), optional
        The target's weights on the post-period effects (default: the first).
    level : float, default 0.95

    Returns
    -------
    FLCI

    Raises
    ------
    OptionError
        For inconsistent shapes, a negative ``M`` or non-finite input.

    Notes
    -----
    ``delta = c t + K s`` with ``s`` the second differences (``|s| <= M``) and any
    slope ``c``, so the bias ``v' delta`` is bounded only when ``v' t = 0`` and its
    maximum is then ``M ||K' v||_1``. The half-length ``sd(v) cv(M ||K'v||_1 / sd(v))``
    is minimised over ``v_pre`` on that plane (SLSQP with the L1 norm split into
    bounded parts; ``M = 0`` is the closed-form minimum-variance solution). R
    ``HonestDiD`` computes ``cv`` from 10^6 simulated normal draws; here it is exact, so
    the intervals differ from R's in about the fourth decimal place.

    Examples
    --------
    >>> import numpy as np
    >>> b = np.array([0.01, 0.0, 0.2, 0.3])
    >>> ci = smoothness_flci(b, np.eye(4) * 0.01, n_pre=2, n_post=2, M=0.0)
    >>> round(ci.estimate, 4), round(ci.lower, 4), round(ci.upper, 4)
    (0.204, -0.0107, 0.4187)
    """
    b, S, lv = _checked(betahat, sigma, n_pre, n_post, l)
    if not (np.isfinite(M) and M >= 0):
        raise OptionError(f"`M` must be a non-negative number; got {M!r}.")
    t, K = _bias_map(n_pre, n_post)
    tpre, tpost = t[:n_pre], t[n_pre:]
    target = -float(lv @ tpost)                 # v_pre' t_pre must equal this
    Spp, Spq = S[:n_pre, :n_pre], S[:n_pre, n_pre:]
    # minimum variance on the plane (closed form): the M = 0 interval and the start
    a_ = np.linalg.solve(Spp, Spq @ lv)
    b_ = np.linalg.solve(Spp, tpre)
    mu = (-target - tpre @ a_) / (tpre @ b_)
    w_minvar = -a_ - mu * b_
    v0 = tpre * target / (tpre @ tpre)
    N = np.linalg.svd(tpre[None, :])[2][1:].T   # basis of the plane's directions
    KT = K.T

    def full_v(z: np.ndarray) -> np.ndarray:
        return np.r_[v0 + N @ z, lv]

    def sd(v: np.ndarray) -> float:
        return float(np.sqrt(v @ S @ v))

    if M == 0 or n_pre == 1:
        v = np.r_[w_minvar, lv] if n_pre > 1 else full_v(np.zeros(0))
    else:
        nz = n_pre - 1

        KTN, KTv0 = KT @ np.vstack([N, np.zeros((n_post, nz))]), KT @ np.r_[v0, lv]
        jac_abs = np.block([[KTN * -1.0, np.eye(KT.shape[0])], [KTN, np.eye(KT.shape[0])]])

        def objective(x: np.ndarray) -> tuple[float, np.ndarray]:
            v = full_v(x[:nz])
            s = sd(v)
            r = M * float(x[nz:].sum()) / s
            c = folded_normal_quantile(r, level)
            # d cv / d r from Phi(c - r) - Phi(-c - r) = level
            p1, p2 = stats.norm.pdf(c - r), stats.norm.pdf(-c - r)
            dc = (p1 - p2) / (p1 + p2)
            ds = (N.T @ (S @ v)[:n_pre]) / s
            return s * c, np.r_[(c - dc * r) * ds, np.full(x.size - nz, dc * M)]

        def abs_parts(x: np.ndarray) -> np.ndarray:
            g = KTN @ x[:nz] + KTv0
            return np.r_[x[nz:] - g, x[nz:] + g]

        starts = [np.linalg.lstsq(N, w_minvar - v0, rcond=None)[0], np.zeros(nz)]
        best: Any = None
        for z0 in starts:
            x0 = np.r_[z0, np.abs(KT @ full_v(z0)) + 1e-9]
            r = optimize.minimize(objective, x0, method="SLSQP", jac=True,
                                  constraints=[{"type": "ineq", "fun": abs_parts,
                                                "jac": lambda x: jac_abs}],
                                  options={"ftol": 1e-12, "maxiter": 1000})
            if best is None or r.fun < best.fun:
                best = r
        v = full_v(best.x[:nz])
    s = sd(v)
    bias = M * float(np.abs(KT @ v).sum())
    half = s * folded_normal_quantile(bias / s, level)
    est = float(v @ b)
    return FLCI(M=float(M), estimate=est, lower=est - half, upper=est + half,
                half_length=half, max_bias=bias, std_error=s,
                weights=tuple(float(x) for x in v), level=level)


def smoothness_breakdown(betahat: Any, sigma: Any, *, n_pre: int, n_post: int,
                         l: Any = None, level: float = 0.95,  # noqa: E741
                         tol: float = 1e-5) -> float:
    """Return the breakdown value: the largest ``M`` whose FLCI still excludes zero.

    Zero when the ``M = 0`` interval already contains zero. The root of the
    interval's end nearer zero as a function of ``M`` (bracketed, then Brent's
    method to ``tol`` times the coefficients' largest size); the interval widens
    with ``M``.

    Parameters
    ----------
    betahat, sigma, n_pre, n_post, l, level
        As :func:`smoothness_flci`.
    tol : float, default 1e-5

    Returns
    -------
    float

    Examples
    --------
    >>> import numpy as np
    >>> b = np.array([0.0, 0.0, 1.0, 1.0])
    >>> m = smoothness_breakdown(b, np.eye(4) * 0.01, n_pre=2, n_post=2)
    >>> bool(0 < m < 1)
    True
    """
    def near_end(M: float) -> float:
        ci = smoothness_flci(betahat, sigma, n_pre=n_pre, n_post=n_post, M=M, l=l, level=level)
        return ci.lower if ci.estimate > 0 else -ci.upper   # > 0: zero excluded

    if near_end(0.0) <= 0:
        return 0.0
    scale = float(np.max(np.abs(np.asarray(betahat, dtype=float)))) or 1.0
    lo, hi = 0.0, scale * 0.05
    while near_end(hi) > 0:
        lo, hi = hi, hi * 4
        if hi > scale * 1e6:
            return float("inf")
    return float(optimize.brentq(near_end, lo, hi, xtol=tol * scale))


def parallel_trends_sensitivity(betahat: Any, sigma: Any, *, n_pre: int, n_post: int,
                                M: Any = None, l: Any = None,  # noqa: E741
                                level: float = 0.95, restriction: str = "smoothness",
                                seed: int = 0, outcome: str = "",
                                outcome_type: str = "") -> ParallelTrendsResults:
    """Intervals for an event-study effect when parallel trends may fail by up to a bound.

    Rambachan & Roth (2023). ``restriction="smoothness"``: ``Delta^SD(M)``, the
    fixed-length confidence interval (:func:`smoothness_flci`) for each ``M`` and the
    breakdown value (:func:`smoothness_breakdown`). ``restriction="relative_magnitudes"``:
    ``Delta^RM(Mbar)``, the conditional least-favourable hybrid interval
    (:func:`pbr_eval.estimators.did_relative.relative_magnitudes_ci`) for each ``Mbar``
    (given as ``M``) and its breakdown value.

    Parameters
    ----------
    betahat, sigma, n_pre, n_post, l, level
        As :func:`smoothness_flci`.
    M : sequence of float, optional
        The bounds to try. Default for smoothness: six values from 0 to twice the
        breakdown value (or to the first post coefficient's standard error when it is
        zero); for relative magnitudes: 0, 0.5, 1, 1.5 and 2 (R HonestDiD's grid).
    restriction : {"smoothness", "relative_magnitudes"}, default "smoothness"
    seed : int, default 0
        Seed of the relative-magnitudes test's simulated critical value.
    outcome, outcome_type : str, optional
        Recorded in ``info`` and the table (for reports).

    Returns
    -------
    ParallelTrendsResults

    Raises
    ------
    OptionError
        For inconsistent shapes, negative bounds, non-finite input or an unknown
        restriction.

    Examples
    --------
    >>> import numpy as np
    >>> r = parallel_trends_sensitivity(np.array([0.0, 0.0, 1.0, 1.0]), np.eye(4) * 0.01,
    ...                                 n_pre=2, n_post=2, M=[0.0])
    >>> round(r.original["lower"], 3), round(float(r.to_frame()["lower"].iloc[0]), 3)
    (0.804, 0.785)
    >>> r = parallel_trends_sensitivity(np.array([0.0, 0.02, 0.5, 0.5]), np.eye(4) * 0.001,
    ...                                 n_pre=2, n_post=2, restriction="relative_magnitudes")
    >>> r.to_frame()["M"].tolist(), bool(r.breakdown > 2)
    ([0.0, 0.5, 1.0, 1.5, 2.0], True)
    """
    from pbr_eval.options import check_choice
    from pbr_eval.results.parallel_trends import RESTRICTION_WORDS

    restriction = check_choice("restriction", restriction, tuple(RESTRICTION_WORDS))
    b, S, lv = _checked(betahat, sigma, n_pre, n_post, l)
    level = check_level(level)
    rows = []
    if restriction == "smoothness":
        bd = smoothness_breakdown(b, S, n_pre=n_pre, n_post=n_post, l=lv, level=level)
        if M is None:
            top = 2 * bd if 0 < bd < float("inf") else float(np.sqrt(S[n_pre, n_pre]))
            grid = [float(x) for x in np.linspace(0.0, top, 6)]
        else:
            grid = [check_number("M", x) for x in np.atleast_1d(np.asarray(M, dtype=float))]
        for m in grid:
            ci = smoothness_flci(b, S, n_pre=n_pre, n_post=n_post, M=m, l=lv, level=level)
            rows.append({"M": ci.M, "estimate": ci.estimate, "lower": ci.lower,
                         "upper": ci.upper, "max_bias": ci.max_bias, "std_error": ci.std_error})
        method = "fixed-length confidence interval (FLCI)"
        notes: list[str] = []
    else:
        bd = relative_magnitudes_breakdown(b, S, n_pre=n_pre, n_post=n_post, l=lv, level=level,
                                           seed=seed)
        grid = ([0.0, 0.5, 1.0, 1.5, 2.0] if M is None else
                [check_number("M", x) for x in np.atleast_1d(np.asarray(M, dtype=float))])
        step = 0.0
        for m in grid:
            rm = relative_magnitudes_ci(b, S, n_pre=n_pre, n_post=n_post, Mbar=m, l=lv,
                                        level=level, seed=seed)
            step = max(step, rm.grid_step)
            rows.append({"M": rm.Mbar, "estimate": np.nan, "lower": rm.lower,
                         "upper": rm.upper, "max_bias": np.nan, "std_error": np.nan})
        method = "conditional least-favourable hybrid test inverted on a grid (C-LF)"
        notes = [f"Interval ends are points of a grid of 1,000 values (spacing {step:.2g}): "
                 "exact to that spacing."]
    est = float(lv @ b[n_pre:])
    se = float(np.sqrt(lv @ S[n_pre:, n_pre:] @ lv))
    z = float(stats.norm.ppf(0.5 + level / 2))
    info = {"restriction": restriction, "restriction_label": RESTRICTION_WORDS[restriction][1],
            "method": method, "n_pre": n_pre, "n_post": n_post,
            "target_weights": [float(x) for x in lv], "outcome": outcome, "seed": seed,
            "notes": notes}
    table = pd.DataFrame(rows).assign(outcome_type=outcome_type)
    return ParallelTrendsResults(
        table=table,
        original={"estimate": est, "std_error": se, "lower": est - z * se, "upper": est + z * se},
        breakdown=bd, info=info, level=level)
