"""Confidence intervals that respect an estimate's range."""

from __future__ import annotations

import numpy as np
from scipy import stats

__all__ = ["normal_interval", "rate_interval", "z_value"]


def z_value(level: float) -> float:
    """The two-sided standard normal critical value, e.g. 1.96 for 0.95."""
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
    """A delta-method interval kept inside the outcome's range.

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
