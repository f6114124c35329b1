"""Confidence intervals: normal and range-respecting ones from a standard error, and the pure maths of bootstrap intervals (percentile, normal, BCa) from replicates.

The resampling itself (which refits estimators) lives in :mod:`pbr_eval.bootstrap`.

References
----------
Efron, B. (1987). Better bootstrap confidence intervals. Journal of the
American Statistical Association 82(397), 171-185.
Efron, B. & Tibshirani, R. J. (1993). An Introduction to the Bootstrap.
Chapman & Hall. Chapters 13-14 (percentile and BCa intervals).
"""

from __future__ import annotations

import numpy as np
from scipy import stats

__all__ = [
    "normal_interval",
    "rate_interval",
    "z_value",
    "percentile_interval",
    "normal_bootstrap_interval",
    "bca_acceleration",
    "bca_interval",
]


def z_value(level: float) -> float:
    """Return the two-sided standard normal critical value, e.g. 1.96 for 0.95."""
    return float(stats.norm.ppf(0.5 + level / 2))


def normal_interval(estimate: float, se: float, level: float) -> tuple[float, float]:
    """``estimate +/- z * se``.

    Examples
    --------
    >>> [round(v, 3) for v in normal_interval(1.0, 0.5, 0.95)]
    [0.02, 1.98]
    """
    z = z_value(level)
    return estimate - z * se, estimate + z * se


def rate_interval(
    estimate: float, se: float, level: float, outcome_type: str
) -> tuple[float, float]:
    """Return a delta-method interval kept inside the outcome's range.

    Binary outcomes (rates) use the logit scale, so the interval stays in
    [0, 1]; counts use the log scale, so it stays at or above 0; continuous
    outcomes use the natural scale.

    Notes
    -----
    For a rate p with standard error s, the logit scale standard error is
    ``s / (p (1 - p))`` and the interval is ``expit(logit(p) +/- z s / (p (1-p)))``.
    For a mean m > 0 of a count, ``exp(log(m) +/- z s / m)``. When p is 0 or 1
    (or m is 0) the transformation is undefined and the interval falls back
    to the natural scale, clipped to the range.

    Examples
    --------
    >>> lo, hi = rate_interval(0.02, 0.015, 0.95, "binary")
    >>> 0 < lo < 0.02 < hi < 1
    True
    """
    z = z_value(level)
    if not np.isfinite(se):
        return float("nan"), float("nan")
    if outcome_type == "binary":
        if 0 < estimate < 1:
            s = se / (estimate * (1 - estimate))
            lg = np.log(estimate / (1 - estimate))
            return float(1 / (1 + np.exp(-(lg - z * s)))), float(1 / (1 + np.exp(-(lg + z * s))))
        lo, hi = normal_interval(estimate, se, level)
        return max(0.0, lo), min(1.0, hi)
    if outcome_type == "count":
        if estimate > 0:
            s = se / estimate
            return float(estimate * np.exp(-z * s)), float(estimate * np.exp(z * s))
        lo, hi = normal_interval(estimate, se, level)
        return max(0.0, lo), hi
    return normal_interval(estimate, se, level)


def percentile_interval(replicates: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    r"""Percentile interval: the :math:`(1-\text{level})/2` and :math:`(1+\text{level})/2` quantiles of the replicates along axis 0 (NaN replicates ignored).

    Parameters
    ----------
    replicates : numpy.ndarray
        Shape ``(n_boot, ...)``.
    level : float

    Returns
    -------
    (lower, upper) : tuple of numpy.ndarray
        Each of shape ``replicates.shape[1:]``.

    Notes
    -----
    Quantiles use linear interpolation between order statistics (numpy's
    default, Hyndman and Fan type 7), as :func:`scipy.stats.bootstrap`.

    Examples
    --------
    >>> lo, hi = percentile_interval(np.arange(101.0), 0.9)
    >>> float(lo), float(hi)
    (5.0, 95.0)
    """
    a = (1 - level) / 2
    q = np.nanquantile(np.asarray(replicates, dtype=float), [a, 1 - a], axis=0)
    return q[0], q[1]


def normal_bootstrap_interval(
    estimate: np.ndarray | float, replicates: np.ndarray, level: float
) -> tuple[np.ndarray, np.ndarray]:
    r"""Return normal interval centred on the estimate: :math:`\hat\theta \pm z\, s^*`.

    Parameters
    ----------
    estimate : float or numpy.ndarray
        The estimate on the full data, shape ``replicates.shape[1:]``.
    replicates : numpy.ndarray
        Shape ``(n_boot, ...)``; NaN replicates ignored.
    level : float

    Returns
    -------
    (lower, upper) : tuple of numpy.ndarray

    Notes
    -----
    :math:`s^*` is the standard deviation of the replicates (Efron and
    Tibshirani 1993, section 13.2, the "standard" interval). Unlike the
    percentile interval it uses the replicates for the spread only, not the
    location. That matters for matching with re-estimation: re-matching a
    resampled cohort picks different comparison units, so the replicates
    centre on a smoothed ("bagged") value that lies between the estimate and
    the truth rather than on the estimate, and the percentile interval
    over-covers the estimate's error (``docs/validation.md``).

    Examples
    --------
    >>> lo, hi = normal_bootstrap_interval(1.0, np.array([0.0, 2.0]), 0.95)
    >>> round(float(lo), 3), round(float(hi), 3)
    (-1.772, 3.772)
    """
    theta = np.asarray(estimate, dtype=float)
    sd = np.nanstd(np.asarray(replicates, dtype=float), axis=0, ddof=1)
    z = z_value(level)
    return theta - z * sd, theta + z * sd


def bca_acceleration(jackknife: np.ndarray) -> np.ndarray:
    r"""Return the BCa acceleration :math:`a` from jackknife values (Efron 1987).

    Parameters
    ----------
    jackknife : numpy.ndarray
        Leave-one-out (or leave-one-group-out) estimates, shape ``(n_jack, ...)``;
        NaN values are ignored.

    Returns
    -------
    numpy.ndarray
        Shape ``jackknife.shape[1:]``; 0 where the jackknife values do not vary.

    Notes
    -----
    .. math::

        a = \frac{\sum_i (\bar\theta_{(\cdot)} - \hat\theta_{(i)})^3}
                 {6\,[\sum_i (\bar\theta_{(\cdot)} - \hat\theta_{(i)})^2]^{3/2}}.

    It summarises the jackknife values in one number per quantity, so a saved
    bootstrap keeps it instead of the leave-one-out estimates (which could
    reveal one unit's outcome).

    Examples
    --------
    >>> float(bca_acceleration(np.array([1.0, 2.0, 3.0])))
    0.0
    """
    jack = np.asarray(jackknife, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        u = np.nanmean(jack, axis=0) - jack
        num = np.nansum(u**3, axis=0)
        den = 6.0 * np.nansum(u**2, axis=0) ** 1.5
        return np.asarray(np.where(den > 0, num / np.where(den > 0, den, 1.0), 0.0))


def bca_interval(
    estimate: np.ndarray | float,
    replicates: np.ndarray,
    jackknife: np.ndarray | None,
    level: float,
    *,
    acceleration: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    r"""Bias-corrected and accelerated (BCa) interval (Efron 1987).

    Parameters
    ----------
    estimate : float or numpy.ndarray
        The estimate on the full data, shape ``replicates.shape[1:]``.
    replicates : numpy.ndarray
        Bootstrap replicates, shape ``(n_boot, ...)``; NaN rows are ignored.
    jackknife : numpy.ndarray or None
        Leave-one-out (or leave-one-group-out) estimates, shape ``(n_jack, ...)``;
        ``None`` when ``acceleration`` is given.
    level : float
    acceleration : numpy.ndarray, optional
        :func:`bca_acceleration` of the jackknife values, computed beforehand.

    Returns
    -------
    (lower, upper) : tuple of numpy.ndarray

    Notes
    -----
    With :math:`\hat\theta` the estimate, :math:`\hat\theta^*_b` the
    replicates and :math:`\hat\theta_{(i)}` the jackknife values,

    .. math::

        z_0 = \Phi^{-1}\Big(\frac{\#\{\hat\theta^*_b < \hat\theta\}
              + \#\{\hat\theta^*_b \le \hat\theta\}}{2B}\Big), \qquad
        a = \frac{\sum_i (\bar\theta_{(\cdot)} - \hat\theta_{(i)})^3}
                 {6\,[\sum_i (\bar\theta_{(\cdot)} - \hat\theta_{(i)})^2]^{3/2}},

    and the interval runs between the replicate quantiles at
    :math:`\Phi\big(z_0 + (z_0 + z_\alpha)/(1 - a(z_0 + z_\alpha))\big)` for
    :math:`z_\alpha = \Phi^{-1}((1 \mp \text{level})/2)`. This is the
    computation of :func:`scipy.stats.bootstrap` with ``method="BCa"``
    (tests check the two agree to machine precision).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = rng.exponential(size=40)
    >>> reps = np.array([rng.choice(x, x.size).mean() for _ in range(2000)])
    >>> jack = np.array([np.delete(x, i).mean() for i in range(x.size)])
    >>> lo, hi = bca_interval(x.mean(), reps, jack, 0.95)
    >>> bool(lo < x.mean() < hi)
    True
    """
    reps = np.asarray(replicates, dtype=float)
    theta = np.asarray(estimate, dtype=float)
    if acceleration is None:
        if jackknife is None:
            raise ValueError("bca_interval needs `jackknife` or `acceleration`.")
        acc = bca_acceleration(jackknife)
    else:
        acc = np.asarray(acceleration, dtype=float)
    ok = ~np.isnan(reps)
    b = ok.sum(axis=0)
    below = ((reps < theta) & ok).sum(axis=0)
    at_or_below = ((reps <= theta) & ok).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        z0 = stats.norm.ppf((below + at_or_below) / (2.0 * b))
        alphas = []
        for za in (stats.norm.ppf((1 - level) / 2), stats.norm.ppf((1 + level) / 2)):
            alphas.append(stats.norm.cdf(z0 + (z0 + za) / (1 - acc * (z0 + za))))
    lo = np.full(theta.shape, np.nan)
    hi = np.full(theta.shape, np.nan)
    flat_r = reps.reshape(reps.shape[0], -1)
    a1, a2 = (np.broadcast_to(a, theta.shape).ravel() for a in alphas)
    lo_f, hi_f = lo.reshape(-1), hi.reshape(-1)
    for j in range(flat_r.shape[1]):
        col = flat_r[:, j]
        col = col[~np.isnan(col)]
        if col.size == 0 or not (np.isfinite(a1[j]) and np.isfinite(a2[j])):
            continue
        lo_f[j] = np.percentile(col, 100 * a1[j])
        hi_f[j] = np.percentile(col, 100 * a2[j])
    return lo_f.reshape(theta.shape), hi_f.reshape(theta.shape)
