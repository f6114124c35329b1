"""Deadweight arithmetic: what an additional outcome really costs, additionality, and whether a threshold trigger can be detected at all."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import optimize, stats

from pbr_eval.exceptions import NotViableError, OptionError
from pbr_eval.options import (
    DEFAULT_LEVEL,
    OUTCOME_TYPES,
    check_choice,
    check_int,
    check_level,
    check_money,
    check_positive,
    check_probability,
    check_rate,
)

__all__ = [
    "Additionality",
    "additionality",
    "cost_per_additional_outcome",
    "minimum_detectable_effect",
    "trigger_probability",
]


def cost_per_additional_outcome(
    price: float, observed_rate: float, non_intervention_rate: float, *,
    attachment_fee: float = 0.0,
) -> float:
    """Return what the commissioner pays per *additional* outcome: ``(A + p r) / (r - n)``.

    Parameters
    ----------
    price : float
        ``p``, paid per observed outcome.
    observed_rate : float
        ``r``, outcomes per person with the programme.
    non_intervention_rate : float
        ``n``, outcomes per person without it.
    attachment_fee : float, default 0
        ``A``, paid per participant.

    Returns
    -------
    float

    Raises
    ------
    NotViableError
        When ``r <= n``: there are no additional outcomes to pay for.

    Notes
    -----
    Paying ``p`` for each of the ``r`` observed outcomes per person buys
    ``r - n`` additional ones, so each additional outcome costs
    ``p r / (r - n)``: with ``n / r`` = 60% deadweight a price of 1,000 per
    outcome is 2,500 per additional outcome.

    Examples
    --------
    >>> cost_per_additional_outcome(1000.0, 0.25, 0.15)
    2500.0
    """
    p = check_money("price", price)
    a = check_money("attachment_fee", attachment_fee)
    r = check_rate("observed_rate", observed_rate, outcome_type=None)
    n = check_rate("non_intervention_rate", non_intervention_rate, outcome_type=None)
    if r <= n:
        raise NotViableError(
            f"The observed rate ({r:.4g}) does not exceed the non-intervention rate ({n:.4g}): "
            "there are no additional outcomes, so the cost per additional outcome is undefined "
            "(every payment buys deadweight)."
        )
    return float((a + p * r) / (r - n))


@dataclass(frozen=True)
class Additionality:
    """Gross to net additional outcomes, step by step (UK additionality guidance).

    Attributes
    ----------
    gross, deadweight, leakage, displacement, substitution, multiplier : float
        The inputs.
    net : float
        Net additional outcomes.
    ratio : float
        ``net / gross``.

    Examples
    --------
    >>> a = additionality(100.0, deadweight=0.6, leakage=0.1, displacement=0.25,
    ...                   multiplier=1.2)
    >>> [(step, round(x, 1)) for step, x in a.steps()]  # doctest: +NORMALIZE_WHITESPACE
    [('gross outcomes', 100.0), ('less leakage', 90.0), ('less displacement', 67.5),
     ('less substitution', 67.5), ('less deadweight', 27.0), ('times multiplier', 32.4)]
    """

    gross: float
    deadweight: float
    leakage: float
    displacement: float
    substitution: float
    multiplier: float
    net: float
    ratio: float

    def steps(self) -> list[tuple[str, float]]:
        """Return the running total after each adjustment, for a report."""
        x = self.gross
        out = [("gross outcomes", x)]
        for name, share in (("less leakage", self.leakage),
                            ("less displacement", self.displacement),
                            ("less substitution", self.substitution),
                            ("less deadweight", self.deadweight)):
            x *= 1.0 - share
            out.append((name, x))
        out.append(("times multiplier", x * self.multiplier))
        return out


def additionality(
    gross: float, *, deadweight: float = 0.0, leakage: float = 0.0, displacement: float = 0.0,
    substitution: float = 0.0, multiplier: float = 1.0,
) -> Additionality:
    """Net additional outcomes from gross outcomes.

    Parameters
    ----------
    gross : float
        Gross outcomes (or value) attributed to the programme.
    deadweight : float
        Share that would have happened anyway (the reference case; e.g.
        ``n / r`` from the non-intervention estimate).
    leakage : float
        Share benefiting people outside the target group.
    displacement : float
        Share offset by losses elsewhere in the target area/group.
    substitution : float
        Share where a similar activity was replaced to take up the programme.
    multiplier : float, default 1
        Further knock-on effects (>= 0).

    Returns
    -------
    Additionality

    Notes
    -----
    Net additional = gross x (1 - leakage) x (1 - displacement) x
    (1 - substitution) x multiplier, minus the same for the reference
    case; with the reference case a share ``d`` of gross this is
    ``gross (1 - d) (1 - L) (1 - D) (1 - S) M``.

    References
    ----------
    English Partnerships / Homes and Communities Agency (2014),
    *Additionality Guide*, 4th edition.

    Examples
    --------
    >>> a = additionality(100.0, deadweight=0.6, leakage=0.1, displacement=0.25,
    ...                   multiplier=1.2)
    >>> round(a.net, 2), round(a.ratio, 3)
    (32.4, 0.324)
    """
    g = check_money("gross", gross)
    shares = {k: check_probability(k, v, open_interval=False) for k, v in
              (("deadweight", deadweight), ("leakage", leakage),
               ("displacement", displacement), ("substitution", substitution))}
    m = check_positive("multiplier", multiplier, allow_zero=True)
    net = g * m * math.prod(1.0 - s for s in shares.values())
    return Additionality(gross=g, multiplier=m, net=net, ratio=net / g if g else float("nan"),
                         **shares)


def _variance(rate: float, outcome_type: str, dispersion: float) -> float:
    if outcome_type == "binary":
        return rate * (1.0 - rate)
    return rate * dispersion


def _reductions(true_reduction: Any) -> np.ndarray:
    """Return True relative reductions: finite numbers at most 1 (a fall of more than 100% is a negative rate)."""
    if isinstance(true_reduction, (str, bool)) or true_reduction is None:
        check_probability("true_reduction", true_reduction)  # raises the template message
    delta = np.asarray(true_reduction)
    if delta.dtype.kind not in "iuf":
        raise OptionError(f"`true_reduction` must be a number or an array of numbers; got "
                          f"{type(true_reduction).__name__}.")
    delta = delta.astype(float)
    bad = ~np.isfinite(delta) | (delta > 1)
    if bad.any():
        raise OptionError(
            f"`true_reduction` must be relative reductions of at most 1 (0.10 for 10%); got "
            f"{int(bad.sum())} value(s) that are missing, infinite or above 1 (e.g. "
            f"{float(delta[bad].ravel()[0]):g}). A percentage is a share: 10% is 0.10."
        )
    return delta


def trigger_probability(
    true_reduction: float | np.ndarray,
    *,
    threshold: float,
    n_treated: int,
    n_comparison: int,
    rate: float,
    outcome_type: str = "binary",
    dispersion: float = 1.0,
) -> float | np.ndarray:
    """Chance that the observed relative fall reaches ``threshold``.

    For a design that pays when the cohort's rate is at least ``threshold``
    (e.g. 10%) below the comparison group's (Peterborough), given the
    programme's true relative reduction.

    Parameters
    ----------
    true_reduction : float or array
        True relative reduction ``delta`` (0.10 for 10%).
    threshold : float
        Relative fall needed for payment.
    n_treated, n_comparison : int
        Cohort and comparison group sizes.
    rate : float
        The non-intervention rate ``m`` per person.
    outcome_type : {"binary", "count"}
        Bernoulli variance ``m (1 - m)``, or count variance ``phi m``.
    dispersion : float, default 1
        ``phi``: variance / mean for counts (1 = Poisson; reconviction
        events are over-dispersed, often 2-3).

    Returns
    -------
    float or numpy.ndarray

    Notes
    -----
    With cohort mean ``T ~ N(m (1 - delta), v_t / n_t)`` and comparison mean
    ``C ~ N(m, v_c / n_c)``, the trigger ``T <= (1 - theta) C`` is met with
    probability ``Phi(((1 - theta) m - m (1 - delta)) / sqrt((1 - theta)^2
    v_c / n_c + v_t / n_t))`` (normal approximation).

    Examples
    --------
    A 10% trigger on a 1,000-person cohort against 10,000 comparators, for a
    programme that truly cuts reconviction events (1.0 per person, variance
    2.5) by 10%: a coin toss.

    >>> round(float(trigger_probability(0.10, threshold=0.10, n_treated=1000,
    ...       n_comparison=10000, rate=1.0, outcome_type="count", dispersion=2.5)), 2)
    0.5
    """
    theta = check_probability("threshold", threshold, open_interval=False)
    nt = check_int("n_treated", n_treated)
    nc = check_int("n_comparison", n_comparison)
    otype = check_choice("outcome_type", outcome_type, OUTCOME_TYPES[:2])
    m = check_rate("rate", rate, outcome_type=otype, positive=True)
    phi = check_positive("dispersion", dispersion)
    delta = _reductions(true_reduction)
    mt = m * (1.0 - delta)
    if otype == "binary":
        vt = mt * (1.0 - mt)
    else:
        vt = mt * phi
    vc = _variance(m, otype, phi)
    z = ((1.0 - theta) * m - mt) / np.sqrt((1.0 - theta) ** 2 * vc / nc + vt / nt)
    out = stats.norm.cdf(z)
    return float(out) if out.ndim == 0 else out


def minimum_detectable_effect(
    *,
    n_treated: int,
    n_comparison: int,
    rate: float,
    level: float = DEFAULT_LEVEL,
    power: float = 0.8,
    outcome_type: str = "binary",
    dispersion: float = 1.0,
    threshold: float | None = None,
) -> dict[str, float]:
    """Smallest true effect a design detects (or pays on) with the given power.

    Parameters
    ----------
    n_treated, n_comparison : int
    rate : float
        The non-intervention rate.
    level : float, default 0.95
        One-sided test at ``1 - level`` (the commissioner asks "did it
        reduce?").
    power : float, default 0.8
    outcome_type, dispersion :
        As in :func:`trigger_probability`.
    threshold : float, optional
        For a threshold design: the smallest true relative reduction that
        meets the trigger with probability ``power``.

    Returns
    -------
    dict
        ``absolute`` (rate units) and ``relative`` (share of ``rate``)
        minimum detectable effects.

    Notes
    -----
    Without a threshold: ``MDE = (z_level + z_power) sqrt(v (1/n_t + 1/n_c))``
    with the variance ``v`` at the non-intervention rate. With a threshold,
    the root of ``trigger_probability(delta) = power``.

    Examples
    --------
    >>> mde = minimum_detectable_effect(n_treated=1000, n_comparison=10000, rate=1.0,
    ...                                 outcome_type="count", dispersion=2.5, threshold=0.10)
    >>> round(mde["relative"], 3)
    0.141
    """
    check_level(level)
    pw = check_probability("power", power)
    nt = check_int("n_treated", n_treated)
    nc = check_int("n_comparison", n_comparison)
    otype = check_choice("outcome_type", outcome_type, OUTCOME_TYPES[:2])
    m = check_rate("rate", rate, outcome_type=otype, positive=True)
    phi = check_positive("dispersion", dispersion)
    if threshold is not None:
        threshold = check_probability("threshold", threshold, open_interval=False)
    if threshold is None:
        se = math.sqrt(_variance(m, otype, phi) * (1.0 / nt + 1.0 / nc))
        absolute = (stats.norm.ppf(level) + stats.norm.ppf(pw)) * se
        return {"absolute": absolute, "relative": absolute / m}

    def gap(d: float) -> float:
        return float(trigger_probability(d, threshold=threshold, n_treated=nt, n_comparison=nc,
                                         rate=m, outcome_type=otype, dispersion=phi)) - pw

    hi = 0.999
    if gap(0.0) >= 0:
        return {"absolute": 0.0, "relative": 0.0}
    if gap(hi) < 0:
        raise OptionError(
            f"No true reduction below 100% meets the {threshold:.0%} trigger with power {pw:.0%} "
            f"at these sizes ({nt} treated, {nc} comparison): enlarge the cohorts or lower "
            "the threshold."
        )
    d = optimize.brentq(gap, 0.0, hi, xtol=1e-10)
    return {"absolute": d * m, "relative": d}
