"""The non-intervention rate as a distribution: what pricing consumes.

Pricing never estimates. It takes the non-intervention rate of each outcome
with its sampling uncertainty, from a :class:`~pbr_eval.CounterfactualResults`,
from that object's ``to_dict()`` (a saved results JSON), from a number and its
standard error, or from draws (e.g. bootstrap or posterior draws), and turns it
into a :class:`RateDistribution` with quantiles, tail probabilities and draws.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats
from scipy.special import expit, logit

from pbr_eval.exceptions import OptionError
from pbr_eval.options import (
    OUTCOME_TYPES,
    check_choice,
    check_positive,
    check_rate,
    check_rates,
)
from pbr_eval.results.counterfactual import CounterfactualResults

__all__ = ["RateDistribution", "RateInput", "rates_from_results", "rates_from_dict", "rate_input"]


@dataclass(frozen=True)
class RateDistribution:
    """The sampling distribution of an estimated rate.

    Attributes
    ----------
    estimate : float
        The point estimate.
    se : float
        Its standard error (natural scale).
    scale : {"logit", "log", "normal", "draws"}
        Where the distribution is normal: on the logit scale (binary rates,
        matching :func:`pbr_eval.inference.intervals.rate_interval`), the log
        scale (counts), the natural scale, or the empirical distribution of
        ``draws``.
    draws : numpy.ndarray or None
        Draws, when ``scale == "draws"``.
    bounds : (float, float), default (-inf, inf)
        The range the rate can take: (0, 1) for a yes/no outcome, (0, inf)
        for a count. Quantiles and draws of the ``"normal"`` scale (used at a
        boundary, e.g. an estimate of exactly 0 with a standard error) are
        held inside it, so no impossible rate is drawn or quoted.

    Notes
    -----
    On the logit scale the standard error is ``se / (p (1 - p))`` (delta
    method), so the quantiles here are exactly the limits of the interval
    reported by :meth:`CounterfactualResults.to_frame`.

    Examples
    --------
    >>> d = RateDistribution(0.05, 0.01, "normal")
    >>> round(d.quantile(0.975), 4)
    0.0696
    >>> round(d.sf(0.0696), 3)
    0.025
    """

    estimate: float
    se: float
    scale: str
    draws: np.ndarray | None = None
    bounds: tuple[float, float] = (-math.inf, math.inf)

    @property
    def _s(self) -> float:
        if self.scale == "logit":
            return self.se / (self.estimate * (1.0 - self.estimate))
        if self.scale == "log":
            return self.se / self.estimate
        return self.se

    def _to(self, x: np.ndarray) -> np.ndarray:
        if self.scale == "logit":
            with np.errstate(divide="ignore"):
                return logit(np.clip(x, 0.0, 1.0))
        if self.scale == "log":
            with np.errstate(divide="ignore"):
                return np.log(np.maximum(x, 0.0))
        return x

    def _from(self, z: np.ndarray) -> np.ndarray:
        if self.scale == "logit":
            return expit(z)
        if self.scale == "log":
            return np.exp(z)
        return z

    def _draws(self) -> np.ndarray:
        if self.draws is None:  # scale "draws" is set only with draws
            raise OptionError("This rate distribution has no draws; give `draws`.")
        return self.draws

    def quantile(self, q: float | np.ndarray) -> Any:
        """Return the ``q`` quantile of the rate."""
        q = np.asarray(q, dtype=float)
        if self.scale == "draws":
            out = np.quantile(self._draws(), q)
        elif self.se == 0:
            out = np.full(q.shape, self.estimate)
        else:
            centre = self._to(np.asarray(self.estimate))
            out = np.clip(self._from(centre + self._s * stats.norm.ppf(q)), *self.bounds)
        return float(out) if out.ndim == 0 else out

    def sf(self, x: float | np.ndarray) -> Any:
        """``P(rate > x)``."""
        x = np.asarray(x, dtype=float)
        if self.scale == "draws":
            d = np.sort(self._draws())
            out = 1.0 - np.searchsorted(d, x, side="right") / d.size
        elif self.se == 0:
            out = (self.estimate > x).astype(float)
        else:
            centre = float(self._to(np.asarray(self.estimate)))
            out = stats.norm.sf((self._to(x) - centre) / self._s)
            lo, hi = self.bounds  # the rate is held inside its range
            out = np.where(x < lo, 1.0, np.where(x >= hi, 0.0, out))
        return float(out) if np.ndim(out) == 0 else out

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """``size`` draws of the rate (resampled from ``draws`` if given)."""
        if self.scale == "draws":
            return rng.choice(self._draws(), size=size, replace=True)
        z = rng.standard_normal(size)
        if self.se == 0:
            return np.full(size, self.estimate)
        return np.clip(self._from(float(self._to(np.asarray(self.estimate))) + self._s * z),
                       *self.bounds)

    def interval(self, level: float) -> tuple[float, float]:
        """Return the two-sided ``level`` interval."""
        lo, hi = self.quantile(np.array([0.5 - level / 2, 0.5 + level / 2]))
        return float(lo), float(hi)

    def complement(self) -> RateDistribution:
        """Return the distribution of ``1 - rate`` (for outcomes that should fall)."""
        if self.scale == "log":
            raise OptionError("A count's distribution has no complement; price events avoided.")
        draws = None if self.draws is None else 1.0 - self.draws
        lo, hi = self.bounds
        return RateDistribution(1.0 - self.estimate, self.se, self.scale, draws, (1.0 - hi, 1.0 - lo))


@dataclass(frozen=True)
class RateInput:
    """One outcome's non-intervention rate, its distribution and the observed rate.

    Examples
    --------
    >>> ri = rate_input("job", 0.05, se=0.01, observed=0.08)
    >>> ri.non_intervention, ri.observed, ri.distribution.scale
    (0.05, 0.08, 'logit')
    """

    outcome: str
    outcome_type: str
    distribution: RateDistribution
    observed: float | None = None

    @property
    def non_intervention(self) -> float:
        """The estimated non-intervention rate (the distribution's centre)."""
        return self.distribution.estimate


def _bounds(outcome_type: str) -> tuple[float, float]:
    return {"binary": (0.0, 1.0), "count": (0.0, math.inf)}.get(outcome_type,
                                                                (-math.inf, math.inf))


def _scale_for(outcome_type: str, estimate: float) -> str:
    if outcome_type == "binary" and 0 < estimate < 1:
        return "logit"
    if outcome_type == "count" and estimate > 0:
        return "log"
    return "normal"


def rate_input(
    outcome: str,
    non_intervention: Any,
    *,
    se: float | None = None,
    draws: Sequence[float] | np.ndarray | None = None,
    outcome_type: str | None = None,
    observed: float | None = None,
    name: str = "non_intervention",
) -> RateInput:
    """Build a :class:`RateInput` from a number and its standard error, or from draws.

    Parameters
    ----------
    outcome : str
        A name for the outcome.
    non_intervention : float
        The estimated non-intervention rate (ignored if ``draws`` are given:
        their mean is used).
    se : float, optional
        Its standard error (0 for a rate known exactly).
    draws : array-like, optional
        Draws of the rate (bootstrap, posterior), at least 100.
    outcome_type : {"binary", "count", "continuous"}, optional
        Default ``"binary"`` for a rate in [0, 1], else ``"count"``. A rate
        is never negative, and a binary one never above 1.
    observed : float, optional
        The observed rate with the programme, if known.
    name : str, default "non_intervention"
        What to call the rate in error messages (e.g. the argument it came from).

    Returns
    -------
    RateInput
        The rate with its distribution (normal on the logit scale for a yes/no rate
        strictly between 0 and 1, on the log scale for a positive count, else normal).

    Raises
    ------
    OptionError
        When neither or both of ``se`` and ``draws`` are given, or either is invalid.

    Examples
    --------
    >>> ri = rate_input("job", 0.05, se=0.01)
    >>> ri.outcome_type, ri.distribution.scale
    ('binary', 'logit')
    """
    if (se is None) == (draws is None):
        raise OptionError(
            "A plain non-intervention rate needs its uncertainty: give exactly one of `se` "
            "(standard error) or `draws` (an array of draws); got "
            f"{'neither' if se is None else 'both'}."
        )
    if outcome_type is not None:
        check_choice("outcome_type", outcome_type, OUTCOME_TYPES)
    if draws is not None:
        d = check_rates("draws", draws, outcome_type=outcome_type, min_size=100)
        n = float(d.mean())
        otype = outcome_type or ("binary" if d.max() <= 1 else "count")
        dist = RateDistribution(n, float(d.std(ddof=1)), "draws", np.sort(d))
    else:
        n = check_rate(name, non_intervention, outcome_type=outcome_type)
        otype = outcome_type or ("binary" if n <= 1 else "count")
        s = check_positive("se", se, allow_zero=True)
        dist = RateDistribution(n, s, _scale_for(otype, n), bounds=_bounds(otype))
    return RateInput(outcome, otype, dist, observed)


def _finite(x: Any) -> bool:
    """One finite real number (text, None and booleans are not)."""
    return (isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool)
            and math.isfinite(float(x)))


def rates_from_results(results: CounterfactualResults) -> list[RateInput]:
    """One :class:`RateInput` per outcome of a results object.

    Parameters
    ----------
    results : CounterfactualResults
        An estimate (``pbr_eval.estimate``, ``pbr_eval.aggregates.from_rates``, ...).

    Returns
    -------
    list of RateInput
        The non-intervention rate of each outcome with a normal distribution on the
        logit (yes/no) or log (count) scale from its standard error, and the observed rate.

    Raises
    ------
    OptionError
        When an outcome has no finite rate or standard error, or a rate is out of range.

    Examples
    --------
    >>> from pbr_eval.aggregates import from_rates
    >>> res = from_rates(0.40, 1000, 0.30, outcome="job")
    >>> [(r.outcome, r.outcome_type, r.non_intervention, r.observed)
    ...  for r in rates_from_results(res)]
    [('job', 'binary', 0.3, 0.4)]
    """
    rows = results.to_frame().to_dict(orient="records")
    return _rates_from_rows(rows, where="results")


def _rates_from_rows(rows: Sequence[Mapping[str, Any]], *, where: str) -> list[RateInput]:
    out = []
    need = ("outcome", "outcome_type", "non_intervention", "non_intervention_se", "observed")
    for i, r in enumerate(rows):
        missing = [k for k in need if k not in r]
        if missing:
            raise OptionError(
                f"`results` row {i} of {where} lacks {', '.join(map(repr, missing))}; a results "
                "file must come from `pbr-eval estimate --save` or CounterfactualResults.to_dict()."
            )
        n, se, obs = r["non_intervention"], r["non_intervention_se"], r["observed"]
        if not (_finite(n) and _finite(se)):
            raise OptionError(
                f"`results` gives no finite non-intervention rate and standard error for "
                f"{r['outcome']!r} (got {n!r} and {se!r}); it cannot be priced."
                + (" Numbers in a results file must not be quoted as text."
                   if isinstance(n, str) or isinstance(se, str) else "")
            )
        otype = check_choice("outcome_type", r["outcome_type"], OUTCOME_TYPES)
        if otype != "continuous":  # a continuous outcome's mean may be negative until priced
            check_rate(f"non_intervention of {r['outcome']!r} in {where}", n, outcome_type=otype)
        check_positive(f"non_intervention_se of {r['outcome']!r} in {where}", se,
                       allow_zero=True)
        if obs is not None and not _finite(obs) and not (isinstance(obs, float) and obs != obs):
            raise OptionError(
                f"`results` gives the observed rate of {r['outcome']!r} as {obs!r}; it must be "
                "a number (or empty). Use a results file saved by `pbr-eval estimate --save`."
            )
        dist = RateDistribution(float(n), float(se), _scale_for(otype, float(n)),
                                bounds=_bounds(otype))
        out.append(RateInput(str(r["outcome"]), otype, dist,
                             None if obs is None else float(obs)))
    return out


def rates_from_dict(payload: Mapping[str, Any]) -> list[RateInput]:
    """Rebuild the price inputs from :meth:`CounterfactualResults.to_dict` (a saved JSON).

    Parameters
    ----------
    payload : mapping
        The dictionary (e.g. ``json.load`` of ``pbr-eval estimate --save`` output).

    Returns
    -------
    list of RateInput

    Raises
    ------
    OptionError
        When ``payload`` has no ``estimates`` list or a row lacks a needed field.

    Examples
    --------
    >>> d = {"estimates": [{"outcome": "job", "outcome_type": "binary", "observed": 0.1,
    ...                     "non_intervention": 0.05, "non_intervention_se": 0.01}]}
    >>> [r.outcome for r in rates_from_dict(d)]
    ['job']
    """
    rows = payload.get("estimates") if isinstance(payload, Mapping) else None
    if not isinstance(rows, list) or not rows:
        keys = ", ".join(map(repr, list(payload)[:5])) if isinstance(payload, Mapping) else ""
        raise OptionError(
            "`results` must be the result of pbr_eval.estimate() or its to_dict() (a JSON "
            f"saved by `pbr-eval estimate --save`) with an 'estimates' list; got a mapping with "
            f"keys {keys or 'none'}."
        )
    return _rates_from_rows(rows, where="the results file")
