"""Non-intervention estimates from published aggregates, and published cases rebuilt.

Many schemes publish only aggregates: two rates with their group sizes (a
Justice Data Lab report), a frequency of events per 100 people against a
comparison group's (the Peterborough social impact bond), a published
interval, or just a significance call. This module turns each of these into
the same :class:`~pbr_eval.CounterfactualResults` that :func:`pbr_eval.price`
accepts, with the statistics stated:

* :func:`two_proportion_test` and :func:`from_rates`: the difference of two
  proportions, unpooled Wald standard error ``sqrt(p1 q1 / n1 + p0 q0 / n0)``
  and interval, or Newcombe's hybrid score interval (Newcombe 1998, method
  10);
* :func:`poisson_rate_comparison` and :func:`from_frequencies`: two event
  rates, Wald interval for their difference or for the log rate ratio,
  optionally inflated by an over-dispersion factor ``phi`` (variance =
  ``phi`` x mean);
* :func:`from_interval`: a published interval for the difference, read back
  as a normal standard error ``(upper - lower) / (2 z)``;
* :func:`from_significance`: only a "statistically significant" call: the
  largest standard error consistent with it, ``|d| / z``.

The second half rebuilds the published cases of
:mod:`pbr_eval.datasets.cases`: :func:`reproduce` re-derives every published
statistic or decision of a case from its published inputs, honouring the
precision they were published to (:func:`consistent`), and
:func:`recommend_case` / :func:`case_recommendations` say what pbr_eval would
have recommended.

References
----------
Newcombe, R. G. (1998). Interval estimation for the difference between
independent proportions: comparison of eleven methods. *Statistics in
Medicine* 17, 873-890.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy import stats

from pbr_eval._version import __version__
from pbr_eval.datasets.cases import Case, list_case_names, load_case
from pbr_eval.exceptions import OptionError
from pbr_eval.inference.intervals import z_value
from pbr_eval.kinds import Column, Schema
from pbr_eval.options import DEFAULT_LEVEL, check_choice, check_int, check_level, check_positive
from pbr_eval.pricing.deadweight import trigger_probability
from pbr_eval.pricing.rates import RateDistribution
from pbr_eval.pricing.recommend import price
from pbr_eval.results.base import Results
from pbr_eval.results.counterfactual import CounterfactualResults, OutcomeEstimate

__all__ = [
    "TwoSampleStatistic",
    "two_proportion_test",
    "poisson_rate_comparison",
    "relative_change",
    "from_rates",
    "from_frequencies",
    "from_interval",
    "from_significance",
    "consistent",
    "CHECKS",
    "CheckResult",
    "CaseChecks",
    "reproduce",
    "recommend_case",
    "case_recommendations",
]

PROPORTION_METHODS = ("wald", "newcombe")
RATE_SCALES = ("ratio", "difference")


# --------------------------------------------------------------------- statistics
@dataclass(frozen=True)
class TwoSampleStatistic:
    """A comparison of a programme group with a comparison group.

    Attributes
    ----------
    estimate : float
        Difference (treated minus comparison) or rate ratio (treated over
        comparison).
    std_error : float
        Standard error of the difference, or of the log rate ratio.
    ci_lower, ci_upper : float
        The ``level`` interval of ``estimate``.
    z : float
        Wald statistic: difference / SE, or log ratio / SE.
    p_value : float
        Two-sided p-value of ``z``.
    method : str
    level : float
    """

    estimate: float
    std_error: float
    ci_lower: float
    ci_upper: float
    z: float
    p_value: float
    method: str
    level: float

    @property
    def significant(self) -> bool:
        """Whether the two-sided test rejects "no difference" at ``1 - level``."""
        return bool(self.p_value < 1.0 - self.level)


def _rate(name: str, value: Any) -> float:
    v = check_positive(name, value, allow_zero=True)
    if v > 1:
        raise OptionError(f"`{name}` must be a proportion in [0, 1]; got {v!r}. "
                          "Give 19% as 0.19.")
    return v


def _wilson(p: float, n: float, z: float) -> tuple[float, float]:
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return centre - half, centre + half


def two_proportion_test(
    treated: float, n_treated: int, comparison: float, n_comparison: int | None = None, *,
    level: float = DEFAULT_LEVEL, method: str = "wald",
) -> TwoSampleStatistic:
    """Compare two published proportions.

    Parameters
    ----------
    treated, comparison : float
        The programme and comparison groups' rates, as proportions.
    n_treated : int
        People in the programme group.
    n_comparison : int, optional
        People in the comparison group. ``None`` (not published, e.g. a
        Justice Data Lab matched group "much larger" than the programme
        group): the comparison rate is taken as known exactly.
    level : float, default 0.95
    method : {"wald", "newcombe"}, default "wald"
        The interval: unpooled Wald, or Newcombe's hybrid score interval
        (method 10; needs both group sizes to use the comparison group's
        Wilson interval, else that interval is the point). The test is the
        unpooled Wald z either way.

    Returns
    -------
    TwoSampleStatistic
        ``estimate`` = treated - comparison.

    Notes
    -----
    ``d = p1 - p0``, ``se = sqrt(p1 (1 - p1) / n1 + p0 (1 - p0) / n0)``,
    ``z = d / se``. Newcombe: with Wilson limits ``(l1, u1)``, ``(l0, u0)``,
    ``[d - sqrt((p1 - l1)^2 + (u0 - p0)^2), d + sqrt((u1 - p1)^2 + (p0 - l0)^2)]``.
    Checked against ``statsmodels.stats.proportion.confint_proportions_2indep``
    (``method="wald"`` / ``"newcomb"``) in ``tests/test_aggregates.py``.

    Examples
    --------
    Prisoners' Education Trust, Open University grants (Justice Data Lab):
    18% of 805 people reoffended against 23% of the matched comparison group.

    >>> s = two_proportion_test(0.18, 805, 0.23)
    >>> s.significant, round(s.ci_lower, 3), round(s.ci_upper, 3)
    (True, -0.077, -0.023)
    """
    level = check_level(level)
    method = check_choice("method", method, PROPORTION_METHODS)
    p1, p0 = _rate("treated", treated), _rate("comparison", comparison)
    n1 = check_int("n_treated", n_treated)
    n0 = None if n_comparison is None else check_int("n_comparison", n_comparison)
    var = p1 * (1 - p1) / n1 + (0.0 if n0 is None else p0 * (1 - p0) / n0)
    se = math.sqrt(var)
    d = p1 - p0
    z = d / se if se > 0 else math.copysign(math.inf, d) if d else 0.0
    p = float(2 * stats.norm.sf(abs(z)))
    zc = z_value(level)
    if method == "wald":
        lo, hi = d - zc * se, d + zc * se
    else:
        l1, u1 = _wilson(p1, n1, zc)
        l0, u0 = (p0, p0) if n0 is None else _wilson(p0, n0, zc)
        lo = d - math.sqrt((p1 - l1) ** 2 + (u0 - p0) ** 2)
        hi = d + math.sqrt((u1 - p1) ** 2 + (p0 - l0) ** 2)
    return TwoSampleStatistic(d, se, lo, hi, z, p, method, level)


def poisson_rate_comparison(
    treated: float, n_treated: int, comparison: float, n_comparison: int | None = None, *,
    dispersion: float = 1.0, level: float = DEFAULT_LEVEL, scale: str = "ratio",
) -> TwoSampleStatistic:
    """Compare two published event rates (events per person).

    Parameters
    ----------
    treated, comparison : float
        Events per person (142 per 100 is 1.42).
    n_treated, n_comparison : int
        People in each group (``n_comparison=None``: comparison rate known).
    dispersion : float, default 1
        ``phi`` = variance / mean of a person's count (1 = Poisson;
        reconviction events are over-dispersed).
    level : float, default 0.95
    scale : {"ratio", "difference"}, default "ratio"
        Rate ratio with a Wald interval on the log scale, or difference with
        a Wald interval.

    Returns
    -------
    TwoSampleStatistic

    Notes
    -----
    With events ``E = rate x n``: ratio: ``se(log RR) = sqrt(phi (1/E1 + 1/E0))``;
    difference: ``se = sqrt(phi (r1 / n1 + r0 / n0))``. With ``phi = 1`` these
    are statsmodels' ``confint_poisson_2indep(method="wald-log", compare="ratio")``
    and ``(method="wald", compare="diff")`` (checked in the tests).

    Examples
    --------
    >>> s = poisson_rate_comparison(1.42, 1000, 1.55, 10000)
    >>> round(s.estimate, 4), round(s.ci_lower, 3), round(s.ci_upper, 3)
    (0.9161, 0.868, 0.967)
    """
    level = check_level(level)
    scale = check_choice("scale", scale, RATE_SCALES)
    r1 = check_positive("treated", treated)
    r0 = check_positive("comparison", comparison)
    n1 = check_int("n_treated", n_treated)
    n0 = None if n_comparison is None else check_int("n_comparison", n_comparison)
    phi = check_positive("dispersion", dispersion)
    zc = z_value(level)
    if scale == "ratio":
        se = math.sqrt(phi * (1 / (r1 * n1) + (0.0 if n0 is None else 1 / (r0 * n0))))
        est, centre = r1 / r0, math.log(r1 / r0)
        z = centre / se
        lo, hi = math.exp(centre - zc * se), math.exp(centre + zc * se)
    else:
        se = math.sqrt(phi * (r1 / n1 + (0.0 if n0 is None else r0 / n0)))
        est = r1 - r0
        z = est / se
        lo, hi = est - zc * se, est + zc * se
    p = float(2 * stats.norm.sf(abs(z)))
    return TwoSampleStatistic(est, se, lo, hi, z, p, f"wald-{scale}", level)


def relative_change(treated: float, comparison: float) -> float:
    """Return the relative fall ``(comparison - treated) / comparison`` (Peterborough's measure).

    Parameters
    ----------
    treated, comparison : float
        The programme's and the comparison group's rates (or events per person).

    Returns
    -------
    float
        The fall as a share of the comparison's rate (negative for a rise).

    Examples
    --------
    >>> round(relative_change(1.42, 1.55), 4)
    0.0839
    """
    if comparison == 0:
        raise OptionError("`comparison` must not be 0: a relative change needs a base.")
    return (comparison - treated) / comparison


# ------------------------------------------------------- results from aggregates
def _results(*, method: str, outcome: str, outcome_type: str, observed: float, ni: float,
             ni_se: float, effect_se: float, n1: int, n0: int | None, level: float,
             options: Mapping[str, Any], notes: Sequence[str], se_method: str,
             source: str | None) -> CounterfactualResults:
    est = OutcomeEstimate(
        outcome=outcome, outcome_type=outcome_type, n_treated=n1,
        n_comparison=float("nan") if n0 is None else n0,  # type: ignore[arg-type]  # NaN: unknown
        observed=observed,
        non_intervention=ni, non_intervention_se=ni_se, effect=observed - ni,
        std_error=effect_se, naive_comparison=ni, se_method=se_method,
        cohort_std_error=effect_se,
    )
    all_notes = list(notes)
    if n0 is None:
        all_notes.append("The comparison group's size was not published: its rate is taken as "
                         "known exactly, so the intervals carry the programme group's "
                         "sampling error only.")
    all_notes.append("Estimated from published aggregates: no balance diagnostics, no "
                     "adjustment beyond what the publisher did.")
    info = {
        "method": method, "options": dict(options), "source": source,
        "cohort": {"n_treated": n1, "n_comparison": float("nan") if n0 is None else n0,
                   "n_input_rows": float("nan")},
        "dropped": [], "fingerprint": None, "version": __version__, "versions": {},
        "seed": None, "notes": all_notes,
    }
    return CounterfactualResults(method=method, estimand="ATT", estimates=[est],
                                 weights=pd.Series(dtype=float), balance=None, info=info,
                                 level=level)


def from_rates(
    treated: float, n_treated: int, comparison: float, n_comparison: int | None = None, *,
    outcome: str = "outcome", level: float = DEFAULT_LEVEL, source: str | None = None,
) -> CounterfactualResults:
    """Return a non-intervention estimate from two published rates and their group sizes.

    The comparison group's rate is the non-intervention rate; its standard
    error for pricing is the two-sample one of :func:`two_proportion_test`
    (``to_frame()``'s default, cohort target), so the effect's interval is
    the Wald interval that test gives.

    Parameters
    ----------
    treated, comparison : float
        Proportions with the outcome (e.g. reoffended) in each group.
    n_treated : int
    n_comparison : int, optional
        ``None`` when not published (the rate is then taken as exact).
    outcome : str, default "outcome"
    level : float, default 0.95
    source : str, optional
        Where the figures come from (kept in ``info["source"]``).

    Returns
    -------
    CounterfactualResults

    Examples
    --------
    >>> import pbr_eval
    >>> res = from_rates(0.19, 3085, 0.26, outcome="reoffended")
    >>> row = res.to_frame().iloc[0]
    >>> round(float(row["ci_lower"]), 3), round(float(row["ci_upper"]), 3)
    (-0.084, -0.056)
    >>> rec = pbr_eval.price(res, value_per_outcome=1.0, better="lower")
    >>> round(float(rec.to_frame()["recommended"].iloc[0]), 3)
    0.07
    """
    level = check_level(level)
    s = two_proportion_test(treated, n_treated, comparison, n_comparison, level=level)
    n0 = None if n_comparison is None else int(n_comparison)
    ni_se = 0.0 if n0 is None else math.sqrt(comparison * (1 - comparison) / n0)
    return _results(
        method="aggregates:rates", outcome=outcome, outcome_type="binary", observed=float(treated),
        ni=float(comparison), ni_se=ni_se, effect_se=s.std_error, n1=int(n_treated), n0=n0,
        level=level, options={"n_comparison": n0}, notes=[],
        se_method="two-proportion unpooled Wald, from published rates and group sizes",
        source=source)


def from_frequencies(
    treated: float, n_treated: int, comparison: float, n_comparison: int | None = None, *,
    per: float = 100.0, dispersion: float = 1.0, outcome: str = "events", level: float = DEFAULT_LEVEL,
    source: str | None = None,
) -> CounterfactualResults:
    """Return a non-intervention estimate from two published event frequencies.

    Parameters
    ----------
    treated, comparison : float
        Events per ``per`` people (Peterborough: 142 and 155 per 100).
    n_treated : int
    n_comparison : int, optional
    per : float, default 100
    dispersion : float, default 1
        Variance / mean of a person's count; not usually published, so say
        what you assumed (reconviction counts are over-dispersed).
    outcome, level, source :
        As in :func:`from_rates`.

    Returns
    -------
    CounterfactualResults
        A ``count`` outcome in events per person.

    Examples
    --------
    >>> res = from_frequencies(142, 1000, 155, 10000, dispersion=2.5)
    >>> row = res.to_frame().iloc[0]
    >>> round(float(row["effect"]), 2), round(float(row["std_error"]), 4)
    (-0.13, 0.0627)
    """
    level = check_level(level)
    per = check_positive("per", per)
    r1, r0 = check_positive("treated", treated) / per, check_positive("comparison", comparison) / per
    s = poisson_rate_comparison(r1, n_treated, r0, n_comparison, dispersion=dispersion,
                                level=level, scale="difference")
    n0 = None if n_comparison is None else int(n_comparison)
    ni_se = 0.0 if n0 is None else math.sqrt(dispersion * r0 / n0)
    notes = [] if dispersion != 1.0 else [
        "Poisson variance assumed (dispersion 1); counts of reconvictions are usually "
        "over-dispersed, which widens every interval."]
    return _results(
        method="aggregates:frequencies", outcome=outcome, outcome_type="count", observed=r1,
        ni=r0, ni_se=ni_se, effect_se=s.std_error, n1=int(n_treated), n0=n0, level=level,
        options={"n_comparison": n0, "per": per, "dispersion": dispersion}, notes=notes,
        se_method=f"Poisson rate difference (dispersion {dispersion:g}), from published "
                  "frequencies and group sizes",
        source=source)


def from_interval(
    treated: float, comparison: float, *, ci: tuple[float, float], n_treated: int,
    level: float = DEFAULT_LEVEL, outcome: str = "outcome", outcome_type: str = "binary",
    source: str | None = None,
) -> CounterfactualResults:
    """Return a non-intervention estimate from two rates and a published interval.

    Parameters
    ----------
    treated, comparison : float
    ci : (float, float)
        The published ``level`` interval of ``treated - comparison`` (a fall
        of 2 to 8 percentage points is ``(-0.08, -0.02)``).
    n_treated : int
    level : float, default 0.95
        The level of the published interval.
    outcome, outcome_type, source :
        As in :func:`from_rates`.

    Returns
    -------
    CounterfactualResults

    Notes
    -----
    A normal interval ``d +/- z se`` gives ``se = (upper - lower) / (2 z)``.
    Published limits are rounded, so this standard error carries their
    rounding (e.g. whole percentage points).

    Examples
    --------
    >>> res = from_interval(0.18, 0.23, ci=(-0.08, -0.02), n_treated=805)
    >>> round(float(res.to_frame().iloc[0]["std_error"]), 4)
    0.0153
    """
    level = check_level(level)
    lo, hi = (float(v) for v in ci)
    d = float(treated) - float(comparison)
    if not lo < hi:
        raise OptionError(f"`ci` must be (lower, upper) with lower < upper; got {ci!r}.")
    if not lo <= d <= hi:
        raise OptionError(
            f"`ci` must contain treated - comparison = {d:.4g}; got ({lo:.4g}, {hi:.4g}). "
            "Give the interval of the difference treated minus comparison (a fall is negative)."
        )
    se = (hi - lo) / (2 * z_value(level))
    return _results(
        method="aggregates:interval", outcome=outcome,
        outcome_type=check_choice("outcome_type", outcome_type, ("binary", "count", "continuous")),
        observed=float(treated), ni=float(comparison), ni_se=se, effect_se=se,
        n1=check_int("n_treated", n_treated), n0=None, level=level, options={"ci": [lo, hi]},
        notes=["Standard error read back from the published interval."],
        se_method="normal standard error read back from a published interval", source=source)


def from_significance(
    treated: float, comparison: float, *, n_treated: int, significant: bool,
    level: float = DEFAULT_LEVEL, outcome: str = "outcome", outcome_type: str = "binary",
    source: str | None = None,
) -> CounterfactualResults:
    """Return a cautious estimate when only a "statistically significant" call is published.

    A two-sided test significant at ``1 - level`` means ``|d| / se >= z``, so
    ``se <= |d| / z``: this uses the largest standard error consistent with
    the call (the widest interval, the most cautious price).

    Parameters
    ----------
    treated, comparison : float
        The published rates (or means) of the programme and comparison groups.
    n_treated : int
        The programme group's size.
    significant : bool
        The publisher's call; must be True (see Raises).
    level : float, default 0.95
        The level of the published test (significant at ``1 - level``).
    outcome : str, default "outcome"
        The outcome's name.
    outcome_type : {"binary", "count", "continuous"}, default "binary"
        The outcome's type.
    source : str, optional
        Where the figures come from (kept in ``info["source"]``).

    Returns
    -------
    CounterfactualResults

    Raises
    ------
    OptionError
        When ``significant`` is False: a non-significant call bounds the
        standard error from below only, so no cautious estimate follows; ask
        the publisher for the group sizes or the interval.

    Examples
    --------
    >>> res = from_significance(0.40, 0.42, n_treated=8513, significant=True)
    >>> round(float(res.to_frame().iloc[0]["std_error"]), 5)
    0.0102
    """
    level = check_level(level)
    if not significant:
        raise OptionError(
            "`significant=False` bounds the standard error from below only (|d| / se < z), so "
            "it gives no cautious estimate; use from_rates() with the group sizes or "
            "from_interval() with the published interval."
        )
    d = float(treated) - float(comparison)
    if d == 0:
        raise OptionError("`treated` and `comparison` are equal: no difference can be significant.")
    se = abs(d) / z_value(level)
    return _results(
        method="aggregates:significance", outcome=outcome,
        outcome_type=check_choice("outcome_type", outcome_type, ("binary", "count", "continuous")),
        observed=float(treated), ni=float(comparison), ni_se=se, effect_se=se,
        n1=check_int("n_treated", n_treated), n0=None, level=level, options={},
        notes=["Standard error is the largest consistent with the published significance call "
               "(an upper bound): the interval is as wide as the call allows."],
        se_method="largest standard error consistent with a published significance call",
        source=source)


# ------------------------------------------------------------ published precision
def consistent(
    fn: Callable[..., Any], inputs: Mapping[str, tuple[float, float]], published: Any,
    precision: float = 0.0,
) -> tuple[bool, Any, Any]:
    """Whether ``fn`` of published inputs can give a published value, at their precision.

    A figure published as 19% may be anything in [18.5%, 19.5%); a statistic
    published as 8.4% anything within 0.05 points of it. ``fn`` is evaluated
    at the published values and at every corner of the box of values the
    inputs' rounding allows.

    Parameters
    ----------
    fn : callable
        ``fn(**values)`` -> a number, a ``(lower, upper)`` pair, or a bool.
    inputs : mapping
        ``name -> (published value, half-width of its rounding)``.
    published : float, (float, float) or bool
        The published statistic or decision.
    precision : float, default 0
        Half-width of the published statistic's rounding.

    Returns
    -------
    (agrees, rebuilt, spread)
        ``rebuilt`` is ``fn`` at the published inputs. For a number,
        ``agrees`` when the range of ``fn`` over the box comes within
        ``precision`` of ``published`` and ``spread`` is that range; for an
        interval, the same for each limit; for a decision, when ``fn`` at the
        published inputs equals ``published``, and ``spread`` says whether
        every corner agrees (the call is robust to the rounding).

    Notes
    -----
    The range over the corners is the range over the box when ``fn`` is
    monotone in each input (all the statistics used here are, over the
    boxes that occur); otherwise it is an inner approximation, which can
    only make agreement harder.

    Examples
    --------
    >>> ok, rebuilt, spread = consistent(relative_change, {"treated": (1.42, 0.005),
    ...                                  "comparison": (1.55, 0.005)}, 0.084, 0.0005)
    >>> ok, round(rebuilt, 4), [round(v, 4) for v in spread]
    (True, 0.0839, [0.0778, 0.09])
    """
    names = list(inputs)
    centre = {k: float(v[0]) for k, v in inputs.items()}
    rebuilt = fn(**centre)
    varying = [k for k in names if inputs[k][1] > 0]
    values = [rebuilt]
    for signs in itertools.product((-1.0, 1.0), repeat=len(varying)):
        point = dict(centre)
        for k, s in zip(varying, signs, strict=True):
            point[k] = centre[k] + s * float(inputs[k][1])
        values.append(fn(**point))
    return _agreement(values, published, precision)


def _agreement(values: Sequence[Any], published: Any, precision: float) -> tuple[bool, Any, Any]:
    rebuilt = values[0]
    tol = 1e-9 * max(1.0, abs(np.max(np.abs(np.asarray(values, dtype=float)))))
    if isinstance(published, bool):
        return bool(rebuilt) == published, bool(rebuilt), all(bool(v) == published
                                                              for v in values)
    if isinstance(published, (list, tuple)):
        arr = np.asarray(values, dtype=float)
        ok = True
        spread = []
        for j in range(2):
            lo, hi = float(arr[:, j].min()), float(arr[:, j].max())
            spread.append((lo, hi))
            ok &= hi >= published[j] - precision - tol and lo <= published[j] + precision + tol
        return bool(ok), tuple(float(v) for v in rebuilt), tuple(spread)
    arr = np.asarray(values, dtype=float)
    lo, hi = float(arr.min()), float(arr.max())
    ok = hi >= float(published) - precision - tol and lo <= float(published) + precision + tol
    return bool(ok), float(rebuilt), (lo, hi)


# ------------------------------------------------------------------ case checks
_OPS: dict[str, Callable[[float, float], bool]] = {
    "<": lambda a, b: a < b, "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b, ">=": lambda a, b: a >= b,
}


def _compare(left: float, op: str, right: float) -> bool:
    return _OPS[check_choice("op", op, tuple(_OPS))](left, right)


def _significant(treated: float, n_treated: float, comparison: float,
                 n_comparison: float | None = None) -> bool:
    return two_proportion_test(treated, int(round(n_treated)), comparison,
                               None if n_comparison is None else int(round(n_comparison))
                               ).significant


def _reduction_interval(treated: float, n_treated: float, comparison: float,
                        n_comparison: float | None = None) -> tuple[float, float]:
    s = two_proportion_test(treated, int(round(n_treated)), comparison,
                            None if n_comparison is None else int(round(n_comparison)))
    return -s.ci_upper, -s.ci_lower


def _detectable(n_treated: float, comparison: float) -> float:
    return z_value(0.95) * math.sqrt(comparison * (1 - comparison) / n_treated)


#: Check kinds: name -> function of the check's resolved parameters.
CHECKS: dict[str, Callable[..., Any]] = {
    "relative_fall": relative_change,
    "ratio": lambda numerator, denominator: numerator / denominator,
    "product": lambda a, b: a * b,
    "difference": lambda a, b: a - b,
    "sum": lambda terms: float(sum(terms)),
    "compare": _compare,
    "two_proportion_significant": _significant,
    "two_proportion_reduction_interval": _reduction_interval,
    "two_proportion_detectable": _detectable,
}


def _figures_used(case: Case, check_id: str) -> set[str]:
    by_id = {c.id: c for c in case.checks}
    out: set[str] = set()
    for ref in by_id[check_id].params.values():
        for r in (ref if isinstance(ref, list) else [ref]):
            if isinstance(r, str) and r.startswith("@"):
                out |= _figures_used(case, r[1:])
            elif isinstance(r, str) and r in case.figures:
                out.add(r)
    return out


def _run_chain(case: Case, upto: str, values: Mapping[str, float]) -> Any:
    done: dict[str, Any] = {}

    def resolve(ref: Any) -> Any:
        if isinstance(ref, list):
            return [resolve(r) for r in ref]
        if isinstance(ref, str) and ref.startswith("@"):
            return done[ref[1:]]
        if isinstance(ref, str) and ref in values:
            return values[ref]
        return ref

    for chk in case.checks:
        fn = CHECKS.get(chk.kind)
        if fn is None:
            raise OptionError(f"Check {chk.id!r} of case {case.name!r} has kind {chk.kind!r}; "
                              f"expected one of {', '.join(map(repr, CHECKS))}.")
        done[chk.id] = fn(**{k: resolve(v) for k, v in chk.params.items()})
        if chk.id == upto:
            return done[chk.id]
    raise OptionError(f"Case {case.name!r} has no check {upto!r}.")


@dataclass(frozen=True)
class CheckResult:
    """One published statistic or decision, rebuilt."""

    case: str
    check: str
    statement: str
    published: Any
    rebuilt: Any
    spread: Any
    agrees: bool
    counted: bool
    source: str


def _show(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_show(x) for x in v) + "]"
    if isinstance(v, (int, float, np.floating)):
        return f"{float(v):.6g}"
    return str(v)


class CaseChecks(Results):
    """Every published statistic and decision of one or more cases, rebuilt."""

    kind: ClassVar[str] = "case_checks"
    title: ClassVar[str] = "Published cases: statistics and decisions rebuilt"
    schema: ClassVar[Schema] = Schema((
        Column("case", "text", "Case"),
        Column("check", "text", "Check"),
        Column("statement", "text", "What was published"),
        Column("published", "text", "Published"),
        Column("rebuilt", "text", "Rebuilt from the published inputs"),
        Column("spread", "text", "Range over the inputs' rounding"),
        Column("agrees", "text", "Agrees"),
        Column("source", "text", "Source"),
    ))

    def __init__(self, results: Sequence[CheckResult]) -> None:
        self.results = tuple(results)
        self._freeze()

    @property
    def counted(self) -> tuple[CheckResult, ...]:
        """The checks of published statistics or decisions (not intermediate steps)."""
        return tuple(r for r in self.results if r.counted)

    @property
    def all_agree(self) -> bool:
        """Whether every published statistic and decision was rebuilt."""
        return all(r.agrees for r in self.counted)

    def to_frame(self) -> pd.DataFrame:
        """Return one row per published statistic or decision, published against rebuilt."""
        rows = [{"case": r.case, "check": r.check, "statement": r.statement,
                 "published": _show(r.published), "rebuilt": _show(r.rebuilt),
                 "spread": _show(r.spread), "agrees": _show(r.agrees) if r.counted else "",
                 "source": r.source} for r in self.results]
        return pd.DataFrame(rows, columns=list(self.schema.names))

    def summary(self) -> str:
        """Return a plain-text account of what was rebuilt and what was not."""
        n, ok = len(self.counted), sum(r.agrees for r in self.counted)
        cases = sorted({r.case for r in self.results})
        lines = [f"{ok} of {n} published statistics and decisions rebuilt from the published "
                 f"inputs, over {len(cases)} case(s)."]
        for r in self.counted:
            mark = "ok " if r.agrees else "NO "
            lines.append(f"  {mark}{r.case}: {r.statement} (published {_show(r.published)}; "
                         f"rebuilt {_show(r.rebuilt)})")
        return "\n".join(lines)

    def _to_state(self) -> dict[str, Any]:
        return {"results": [r.__dict__.copy() for r in self.results]}

    @classmethod
    def _from_state(cls, state: Mapping[str, Any]) -> CaseChecks:
        def tup(v: Any) -> Any:
            return tuple(tup(x) for x in v) if isinstance(v, list) else v
        return cls([CheckResult(**{k: (tup(v) if k in ("rebuilt", "spread", "published")
                                       and isinstance(v, list) else v)
                                   for k, v in r.items()}) for r in state["results"]])


def _case(case: Case | str) -> Case:
    return load_case(case) if isinstance(case, str) else case


def reproduce(case: Case | str | None = None) -> CaseChecks:
    """Rebuild every published statistic and decision of a case from its published inputs.

    Parameters
    ----------
    case : Case or str, optional
        A case or its name; default: every shipped case.

    Returns
    -------
    CaseChecks
        One row per check; ``all_agree`` is True when every published value
        was rebuilt within its published precision (see :func:`consistent`).

    Examples
    --------
    >>> checks = reproduce("peterborough_cohort1")
    >>> checks.all_agree
    True
    >>> [(r.check, r.rebuilt) for r in checks.counted][1]
    ('cohort_trigger_met', False)
    """
    cases = [_case(c) for c in (list_case_names() if case is None else [case])]
    out: list[CheckResult] = []
    for c in cases:
        for chk in c.checks:
            used = sorted(_figures_used(c, chk.id))
            inputs = {k: (c.figures[k].value, c.figures[k].precision) for k in used}
            centre = {k: f.value for k, f in c.figures.items()}

            def fn(_case: Case = c, _chk: Any = chk, _centre: Mapping[str, float] = centre,
                   **vals: float) -> Any:
                return _run_chain(_case, _chk.id, {**_centre, **vals})

            if chk.published is None:
                value = fn()
                out.append(CheckResult(c.name, chk.id, chk.statement, None, value, None, True,
                                       False, chk.source))
                continue
            published = (tuple(chk.published) if isinstance(chk.published, list)
                         else chk.published)
            ok, rebuilt, spread = consistent(fn, inputs, published, chk.precision)
            src = c.source(chk.source).publisher if chk.source else ""
            out.append(CheckResult(c.name, chk.id, chk.statement, published, rebuilt, spread,
                                   ok, True, src))
    return CaseChecks(out)


# -------------------------------------------------------------- recommendations
RECOMMENDATION_COLUMNS = [
    "case", "paid_outcome", "observed", "non_intervention", "non_intervention_ci_lower",
    "non_intervention_ci_upper", "deadweight_share", "ceiling_share", "recommended_share",
    "band_lower_share", "band_upper_share", "prob_overpay", "prob_no_additional", "trigger_probability_no_effect", "what_was_paid", "account",
]


def _fig(case: Case, spec: Any) -> float:
    return float(case.figure(spec).value) if isinstance(spec, str) else float(spec)


def recommend_case(case: Case | str, *, level: float = DEFAULT_LEVEL) -> dict[str, Any]:
    """Return what pbr_eval would have recommended for a published case.

    Prices are per pound of an additional outcome's value (``value_per_outcome=1``):
    the cases rarely publish that value, and a share of it carries over to
    any value a commissioner puts on the outcome.

    Parameters
    ----------
    case : Case or str
        A case, or the name of a shipped one (:func:`pbr_eval.datasets.cases.list_case_names`).
    level : float, default 0.95
        The level of the interval and of the pricing rule.

    Returns
    -------
    dict
        ``paid_outcome``; ``observed`` and ``non_intervention`` on the paid
        scale; its interval (NaN when the publisher gave no sizes or
        interval); ``deadweight_share`` (paid outcomes that would have
        happened anyway, ``n / r``); ``ceiling_share`` (the most worth paying
        per observed outcome per pound of value, ``1 - n / r``);
        ``recommended_share`` (:func:`pbr_eval.price`'s default rule, the
        ceiling at the upper end of the interval); ``band_lower_share`` /
        ``band_upper_share`` (the ceiling over the interval of the
        non-intervention rate); ``prob_overpay`` (the chance that the
        recommended price pays for deadweight); ``prob_no_additional``
        (the chance that the programme added nothing, so every payment bought
        deadweight); ``trigger_probability_no_effect`` (for a trigger design:
        the chance a programme with no effect would have met the trigger);
        ``account`` (a plain sentence, where pbr_eval's answer differs from
        what was paid).

    Examples
    --------
    >>> row = recommend_case("jdl_pet_2014")
    >>> round(row["deadweight_share"], 3), round(row["recommended_share"], 3)
    (0.914, 0.07)
    """
    c = _case(case)
    p = dict(c.pricing)
    model = p.get("model", "none")
    row: dict[str, Any] = {k: float("nan") for k in RECOMMENDATION_COLUMNS}
    row.update(case=c.name, paid_outcome=p.get("paid_outcome", ""), what_was_paid=c.paid,
               account="")
    if model == "none":
        row["account"] = "Not priced: " + str(p.get("why", "no non-intervention estimate was "
                                                        "published."))
        return row
    better = p.get("better", "higher")
    if model == "point":
        r, n = _fig(c, p["observed"]), _fig(c, p["non_intervention"])
        if better == "lower":
            r, n = 1 - r, 1 - n
        row.update(observed=r, non_intervention=n, deadweight_share=n / r,
                   ceiling_share=max(0.0, 1 - n / r))
        why = str(p.get("why", ""))
        if r <= n:
            row["account"] = (f"Paid on outcomes below the non-intervention rate ({r:.1%} against "
                              f"{n:.1%}): on average every outcome paid for would have happened "
                              f"anyway; pbr_eval would recommend no outcome price at all. {why}")
        else:
            row["account"] = (f"Only point figures were published: {n / r:.0%} of the outcomes "
                              f"paid for would have happened anyway, so at most "
                              f"{1 - n / r:.1%} of an outcome's value is worth paying per "
                              f"observed outcome; no interval, so no cautious price. {why}")
        return row
    if model == "rates":
        res = from_rates(_fig(c, p["treated"]), int(_fig(c, p["n_treated"])),
                         _fig(c, p["comparison"]),
                         None if p.get("n_comparison") is None else int(_fig(c, p["n_comparison"])),
                         outcome=p.get("outcome", "outcome"), level=level)
        rec = price(res, value_per_outcome=1.0, better=better, level=level).to_frame().iloc[0]
        r, n = float(rec["expected_rate"]), float(rec["non_intervention"])
        row.update(observed=r, non_intervention=n,
                   non_intervention_ci_lower=float(rec["non_intervention_ci_lower"]),
                   non_intervention_ci_upper=float(rec["non_intervention_ci_upper"]),
                   deadweight_share=n / r, ceiling_share=float(rec["ceiling"]),
                   recommended_share=float(rec["recommended"]),
                   band_lower_share=float(rec["band_lower"]),
                   band_upper_share=float(rec["band_upper"]),
                   prob_overpay=float(rec["prob_overpay"]),
                   prob_no_additional=_prob_no_additional(rec))
        row["account"] = (f"Paying per person '{row['paid_outcome']}' would pay for "
                          f"{n / r:.0%} of outcomes that would have happened anyway; a cautious "
                          f"price is {row['recommended_share']:.1%} of an outcome's value "
                          f"(central {row['ceiling_share']:.1%}).")
        return row
    if model == "frequencies":
        a = c.assumptions
        n1 = int(_fig(c, p["n_treated"]))
        t, m = _fig(c, p["treated"]), _fig(c, p["comparison"])
        res = from_frequencies(t, n1, m, a.get("n_comparison"), per=p.get("per", 1),
                               dispersion=a.get("dispersion", 1.0),
                               outcome=p.get("outcome", "events"), level=level)
        f = res.to_frame(level).iloc[0]
        se = float(f["std_error"])
        gain = float(f["non_intervention"] - f["observed"])
        theta = _fig(c, p["threshold"]) if "threshold" in p else None
        row.update(observed=float(f["observed"]), non_intervention=float(f["non_intervention"]),
                   non_intervention_ci_lower=float(f["non_intervention_ci_lower"]),
                   non_intervention_ci_upper=float(f["non_intervention_ci_upper"]),
                   prob_no_additional=float(stats.norm.sf(gain / se)))
        if theta is not None:
            row["trigger_probability_no_effect"] = float(trigger_probability(
                0.0, threshold=theta, n_treated=n1,
                n_comparison=int(a.get("n_comparison", 10 * n1)),
                rate=float(f["non_intervention"]), outcome_type="count",
                dispersion=float(a.get("dispersion", 1.0))))
        row["account"] = (
            f"Paid per event avoided against a contemporaneous matched comparison, so the price "
            f"already excludes deadweight; the risk is paying for chance. Under the stated "
            f"assumptions ({a.get('why', '')}) the chance that the programme avoided no events "
            f"is {row['prob_no_additional']:.1%}"
            + (f", and a programme with no effect would meet the {theta:.0%} trigger "
               f"{row['trigger_probability_no_effect']:.1%} of the time." if theta else "."))
        return row
    raise OptionError(f"Case {c.name!r} has pricing model {model!r}; expected one of 'none', "
                      "'point', 'rates', 'frequencies'.")


def _prob_no_additional(rec: pd.Series) -> float:
    """P(the true non-intervention rate on the paid scale >= the observed rate)."""
    n, se, r = float(rec["non_intervention"]), float(rec["non_intervention_se"]), float(
        rec["expected_rate"])
    scale = "logit" if 0 < n < 1 else "normal"
    return float(RateDistribution(n, se, scale).sf(r))


def case_recommendations(*, level: float = DEFAULT_LEVEL) -> pd.DataFrame:
    """Return what pbr_eval would have recommended for every shipped case.

    Returns
    -------
    pandas.DataFrame
        One row per case with the columns of :data:`RECOMMENDATION_COLUMNS`
        (see :func:`recommend_case`); NaN where the published figures cannot
        support a number, with the reason in ``account``.

    Parameters
    ----------
    level : float, default 0.95
        As in :func:`recommend_case`.

    Examples
    --------
    >>> table = case_recommendations()
    >>> "jdl_pet_2014" in set(table["case"])
    True
    """
    return pd.DataFrame([recommend_case(n, level=level) for n in list_case_names()],
                        columns=RECOMMENDATION_COLUMNS)
