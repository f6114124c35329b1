"""Option vocabularies, defaults and the one helper that validates them.

Every user-facing option with a fixed vocabulary is declared here once, as a
``Literal`` type (for type checkers and docs) and a tuple (for run-time
checks). Messages follow one template::

    `method` must be one of 'nearest', ...; got 'nn'.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any, Literal, get_args

from pbr_eval.exceptions import OptionError

__all__ = [
    "Missing",
    "Estimand",
    "OutcomeType",
    "Better",
    "MISSING",
    "ESTIMANDS",
    "OUTCOME_TYPES",
    "BETTER",
    "AreaEstimate",
    "AREA_ESTIMATES",
    "BootstrapKind",
    "BootstrapCI",
    "BOOTSTRAP_KINDS",
    "BOOTSTRAP_CIS",
    "DEFAULT_N_BOOT",
    "NiTarget",
    "NI_TARGETS",
    "DEFAULT_LEVEL",
    "DEFAULT_MIN_TREATED",
    "DEFAULT_MAX_LEVELS",
    "check_choice",
    "check_positive",
    "check_probability",
    "check_level",
    "check_int",
    "check_columns",
    "ClaimStatus",
    "CLAIM_STATUSES",
    "RuleOp",
    "RULE_OPS",
    "RuleAggregate",
    "RULE_AGGREGATES",
    "ChangeKind",
    "CHANGE_KINDS",
    "ChangeDirection",
    "CHANGE_DIRECTIONS",
    "MissingPeriod",
    "MISSING_PERIODS",
    "MemberCombine",
    "MEMBER_COMBINES",
    "Allocation",
    "ALLOCATIONS",
    "ProportionInterval",
    "PROPORTION_INTERVALS",
]

Missing = Literal["error", "drop"]
Estimand = Literal["ATT", "ATC", "ATE"]
OutcomeType = Literal["binary", "count", "continuous"]
Better = Literal["higher", "lower"]
#: Which area rates to use (pbr_eval.areas).
AreaEstimate = Literal["pooled", "unpooled"]

MISSING: tuple[str, ...] = get_args(Missing)
ESTIMANDS: tuple[str, ...] = get_args(Estimand)
OUTCOME_TYPES: tuple[str, ...] = get_args(OutcomeType)
BETTER: tuple[str, ...] = get_args(Better)
AREA_ESTIMATES: tuple[str, ...] = get_args(AreaEstimate)

#: Bootstrap resampling schemes and interval methods (pbr_eval.inference.bootstrap).
BootstrapKind = Literal["unit", "cluster", "pair", "stratified", "comparison"]
BootstrapCI = Literal["percentile", "bca", "normal"]
BOOTSTRAP_KINDS: tuple[str, ...] = get_args(BootstrapKind)
BOOTSTRAP_CIS: tuple[str, ...] = get_args(BootstrapCI)
#: Which non-intervention rate a bootstrap interval is for: the cohort's own
#: counterfactual rate (observed minus the effect interval) or its expected value.
NiTarget = Literal["cohort", "expected"]
NI_TARGETS: tuple[str, ...] = get_args(NiTarget)
#: Default number of bootstrap replicates for reported intervals.
DEFAULT_N_BOOT = 999

# Claims checking (pbr_eval.claims)
ClaimStatus = Literal["valid", "invalid", "unevidenced"]
RuleOp = Literal[">=", ">", "<=", "<", "==", "!="]
RuleAggregate = Literal["each", "sum", "mean", "min", "max", "last"]
ChangeKind = Literal["relative", "absolute"]
ChangeDirection = Literal["decrease", "increase"]
MissingPeriod = Literal["gap", "unevidenced"]
MemberCombine = Literal["all", "any"]
Allocation = Literal["proportional", "equal"]
ProportionInterval = Literal["clopper-pearson", "wilson"]

CLAIM_STATUSES: tuple[str, ...] = get_args(ClaimStatus)
RULE_OPS: tuple[str, ...] = get_args(RuleOp)
RULE_AGGREGATES: tuple[str, ...] = get_args(RuleAggregate)
CHANGE_KINDS: tuple[str, ...] = get_args(ChangeKind)
CHANGE_DIRECTIONS: tuple[str, ...] = get_args(ChangeDirection)
MISSING_PERIODS: tuple[str, ...] = get_args(MissingPeriod)
MEMBER_COMBINES: tuple[str, ...] = get_args(MemberCombine)
ALLOCATIONS: tuple[str, ...] = get_args(Allocation)
PROPORTION_INTERVALS: tuple[str, ...] = get_args(ProportionInterval)

# Weighting, regression, doubly robust, entropy, DiD and baseline estimators (issue 4).
OutcomeModel = Literal["auto", "linear", "logistic", "poisson"]
OUTCOME_MODELS: tuple[str, ...] = get_args(OutcomeModel)
InfluenceSE = Literal["robust", "cluster"]
INFLUENCE_SE: tuple[str, ...] = get_args(InfluenceSE)
EntropyMoments = Literal["mean", "variance"]
ENTROPY_MOMENTS: tuple[str, ...] = get_args(EntropyMoments)
DidModel = Literal["2x2", "twfe"]
DID_MODELS: tuple[str, ...] = get_args(DidModel)
DidAdjust = Literal["none", "ipw", "entropy", "nearest"]
DID_ADJUST: tuple[str, ...] = get_args(DidAdjust)
BaselineTrend = Literal["none", "linear", "logistic"]
BASELINE_TRENDS: tuple[str, ...] = get_args(BaselineTrend)

#: Default confidence level of every interval.
DEFAULT_LEVEL = 0.95
#: Default minimum number of treated units (the Justice Data Lab asks for 60).
DEFAULT_MIN_TREATED = 30
#: Most distinct levels a text covariate may have (``Cohort(max_levels=)``).
DEFAULT_MAX_LEVELS = 500


def _fmt(value: Any) -> str:
    return repr(value) if isinstance(value, str) else str(value)


def check_choice(name: str, value: Any, allowed: Iterable[Any]) -> Any:
    """Return ``value`` if it is one of ``allowed``, else raise :class:`OptionError`.

    Examples
    --------
    >>> check_choice("missing", "drop", MISSING)
    'drop'
    >>> check_choice("missing", "skip", MISSING)
    Traceback (most recent call last):
    ...
    pbr_eval.exceptions.OptionError: `missing` must be one of 'error', 'drop'; got 'skip'.
    """
    allowed = tuple(allowed)
    if value not in allowed:
        listed = ", ".join(_fmt(a) for a in allowed)
        raise OptionError(f"`{name}` must be one of {listed}; got {_fmt(value)}.")
    return value


def _is_real(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) or (
        hasattr(value, "dtype") and getattr(value, "ndim", 1) == 0
        and getattr(value.dtype, "kind", "") in "iuf"
    )


def check_positive(name: str, value: Any, *, allow_zero: bool = False) -> float:
    """Return ``value`` as a float if it is a finite positive number.

    Examples
    --------
    >>> check_positive("caliper", 0.2)
    0.2
    >>> check_positive("caliper", -0.2)
    Traceback (most recent call last):
    ...
    pbr_eval.exceptions.OptionError: `caliper` must be a positive number; got -0.2.
    """
    what = "a non-negative number" if allow_zero else "a positive number"
    if not _is_real(value) or not math.isfinite(float(value)):
        raise OptionError(f"`{name}` must be {what}; got {_fmt(value)}.")
    v = float(value)
    if v < 0 or (v == 0 and not allow_zero):
        raise OptionError(f"`{name}` must be {what}; got {_fmt(value)}.")
    return v


def check_probability(name: str, value: Any, *, open_interval: bool = True) -> float:
    """Return ``value`` if it lies in (0, 1) (or [0, 1] when not ``open_interval``)."""
    bounds = "strictly between 0 and 1" if open_interval else "between 0 and 1"
    if not _is_real(value) or not math.isfinite(float(value)):
        raise OptionError(f"`{name}` must be a number {bounds}; got {_fmt(value)}.")
    v = float(value)
    ok = 0 < v < 1 if open_interval else 0 <= v <= 1
    if not ok:
        raise OptionError(f"`{name}` must be a number {bounds}; got {_fmt(value)}.")
    return v


def check_level(level: Any) -> float:
    """Validate a confidence level such as 0.95.

    Examples
    --------
    >>> check_level(0.9)
    0.9
    >>> check_level(95)
    Traceback (most recent call last):
    ...
    pbr_eval.exceptions.OptionError: `level` must be a number strictly between 0 and 1 (e.g. 0.95); got 95.
    """
    if not _is_real(level) or not 0 < float(level) < 1:
        raise OptionError(
            f"`level` must be a number strictly between 0 and 1 (e.g. 0.95); got {_fmt(level)}."
        )
    return float(level)


def check_int(name: str, value: Any, *, minimum: int = 1) -> int:
    """Return ``value`` if it is an integer >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, (int,)) and not (
        hasattr(value, "dtype") and getattr(value.dtype, "kind", "") in "iu"
    ):
        raise OptionError(f"`{name}` must be an integer >= {minimum}; got {_fmt(value)}.")
    if int(value) < minimum:
        raise OptionError(f"`{name}` must be an integer >= {minimum}; got {_fmt(value)}.")
    return int(value)


def check_columns(name: str, value: Any) -> list[str]:
    """Normalise a column role (one name or a list of names) to a list of names."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, Sequence) or hasattr(value, "__iter__"):
        out = list(value)
        bad = [v for v in out if not isinstance(v, str)]
        if bad:
            raise OptionError(
                f"`{name}` must be a column name or a list of column names; got {_fmt(bad[0])} "
                f"({type(bad[0]).__name__})."
            )
        return out
    raise OptionError(
        f"`{name}` must be a column name or a list of column names; got {_fmt(value)}."
    )


# ----------------------------------------------------------------- pricing
#: How :func:`pbr_eval.price` turns the non-intervention interval into one price.
PriceRule = Literal["upper", "one-sided", "central"]
PRICE_RULES: tuple[str, ...] = get_args(PriceRule)
#: How an assumed programme effect acts on a rate: added to it or multiplying it.
EffectScale = Literal["additive", "relative"]
EFFECT_SCALES: tuple[str, ...] = get_args(EffectScale)
#: HM Treasury Green Book discount rate (real, per year).
DEFAULT_DISCOUNT_RATE = 0.035

__all__ += ["PriceRule", "PRICE_RULES", "EffectScale", "EFFECT_SCALES", "DEFAULT_DISCOUNT_RATE"]
