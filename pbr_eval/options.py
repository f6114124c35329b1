"""Option vocabularies, defaults and the one helper that validates them.

Every user-facing option with a fixed vocabulary is declared here once, as a
``Literal`` type (for type checkers and docs) and a tuple (for run-time
checks). Messages follow one template::

    `method` must be one of 'nearest', ...; got 'nn'.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Mapping, Sequence
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
    "Inference",
    "INFERENCES",
    "NiTarget",
    "NI_TARGETS",
    "DEFAULT_LEVEL",
    "SMD_THRESHOLD",
    "DEFAULT_MIN_TREATED",
    "DEFAULT_MAX_LEVELS",
    "DEFAULT_DISCLOSURE_THRESHOLD",
    "check_choice",
    "check_positive",
    "check_probability",
    "check_level",
    "check_int",
    "check_seed",
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
Estimand = Literal["ATT", "ATC", "ATE", "ATO"]
OutcomeType = Literal["binary", "count", "continuous"]
Better = Literal["higher", "lower"]
#: Which area rates to use (pbr_eval.areas).
AreaEstimate = Literal["pooled", "unpooled"]

MISSING: tuple[str, ...] = get_args(Missing)
ESTIMANDS: tuple[str, ...] = get_args(Estimand)
OUTCOME_TYPES: tuple[str, ...] = get_args(OutcomeType)
BETTER: tuple[str, ...] = get_args(Better)
AREA_ESTIMATES: tuple[str, ...] = get_args(AreaEstimate)

#: Bootstrap resampling schemes and interval methods (pbr_eval.bootstrap).
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
#: Where intervals come from: the estimator's own standard errors or the bootstrap.
Inference = Literal["analytic", "bootstrap"]
INFERENCES: tuple[str, ...] = get_args(Inference)

# Claims checking (pbr_eval.claims)
#: A claim's status; "duplicate": the same unit's outcome under the same rule was already
#: claimed inside the rule's outcome window (flagged for review, never paid again).
ClaimStatus = Literal["valid", "invalid", "unevidenced", "duplicate"]
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

# Standard errors: one vocabulary for every estimator's ``se=``. Each estimator
# annotates ``se`` with the Literal below that lists what it accepts and declares
# the same names in ``Estimator.se_kinds`` (tests/test_estimator_contract.py).
#: Every ``se=`` name, with what it is (:data:`SE_DESCRIPTIONS`).
SeKind = Literal["auto", "matched_set", "cluster", "unit", "robust", "HC3", "HC1", "HC0",
                 "abadie_imbens", "placebo", "jackknife"]
SE_KINDS: tuple[str, ...] = get_args(SeKind)
#: What each ``se=`` name means, in plain words (read by the docs' estimator tables).
SE_DESCRIPTIONS: dict[str, str] = {
    "auto": "the method's recommended choice",
    "matched_set": "cluster-robust by matched set or subclass (HC1 with G/(G-1), as "
                   "sandwich::vcovCL)",
    "cluster": "cluster-robust by the cohort's `cluster` column (e.g. local authority)",
    "unit": "clustered by unit (each person's own periods)",
    "robust": "robust influence-function (HC0, as statsmodels TreatmentEffect / Stata teffects)",
    "HC3": "heteroskedasticity-robust HC3 (as sandwich::vcovHC)",
    "HC1": "heteroskedasticity-robust HC1",
    "HC0": "heteroskedasticity-robust HC0",
    "abadie_imbens": "Abadie-Imbens (2006) matching variance (with replacement)",
    "placebo": "placebo: comparison areas drawn at random play the treated (Arkhangelsky et "
               "al. 2021, Algorithm 4)",
    "jackknife": "jackknife over areas with the weights held fixed (two or more treated areas)",
}
#: ``se=`` of nearest-neighbour matching.
MatchingSE = Literal["auto", "matched_set", "HC3", "HC1", "HC0", "abadie_imbens"]
#: ``se=`` of optimal, exact, coarsened exact matching and subclassification.
StrataSE = Literal["matched_set", "HC3", "HC1", "HC0"]
#: ``se=`` of the weighting, regression, doubly robust and entropy estimators.
WeightingSE = Literal["auto", "robust", "cluster"]
#: ``se=`` of difference-in-differences.
DidSE = Literal["auto", "unit", "cluster"]
#: ``se=`` of synthetic difference-in-differences.
SynthSE = Literal["auto", "placebo", "jackknife"]
#: ``se=`` of synthetic control (its jackknife is far too wide: leaving out a heavily
#: weighted area moves the level; in simulation its SE was over ten times the estimates' spread).
SynthControlSE = Literal["auto", "placebo"]
MATCHING_SE: tuple[str, ...] = get_args(MatchingSE)
STRATA_SE: tuple[str, ...] = get_args(StrataSE)
WEIGHTING_SE: tuple[str, ...] = get_args(WeightingSE)
DID_SE: tuple[str, ...] = get_args(DidSE)
SYNTH_SE: tuple[str, ...] = get_args(SynthSE)
SYNTH_CONTROL_SE: tuple[str, ...] = get_args(SynthControlSE)
#: Old ``se=`` spellings of the matching family, accepted with a DeprecationWarning
#: until the next release: ``"cluster"`` meant the matched set there, and now names
#: the cohort's cluster column everywhere.
MATCHING_SE_RENAMED: dict[str, str] = {"cluster": "matched_set"}
__all__ += ["SeKind", "SE_KINDS", "SE_DESCRIPTIONS", "MatchingSE", "StrataSE", "WeightingSE",
            "DidSE", "SynthSE", "MATCHING_SE", "STRATA_SE", "WEIGHTING_SE", "DID_SE", "SYNTH_SE",
            "SynthControlSE", "SYNTH_CONTROL_SE",
            "MATCHING_SE_RENAMED",
            "warn_renamed", "renamed_keyword"]

#: Estimator families (``Estimator.family``), in the order the docs list them, with
#: what each does to build the comparison (read by the docs' estimator tables).
EstimatorFamily = Literal["matching", "stratification", "weighting", "regression",
                          "doubly_robust", "panel", "baseline"]
ESTIMATOR_FAMILIES: tuple[str, ...] = get_args(EstimatorFamily)
FAMILY_DESCRIPTIONS: dict[str, str] = {
    "matching": "pairs each participant with similar comparison people",
    "stratification": "groups people into strata of similar covariates and compares within them",
    "weighting": "weights the comparison group until it looks like the participants",
    "regression": "predicts each participant's outcome from a model of the comparison group",
    "doubly_robust": "weights and models at once: right if either part is right",
    "panel": "compares changes over time between participants and the comparison group",
    "baseline": "the participants' own earlier rate (not a comparison group)",
}
__all__ += ["EstimatorFamily", "ESTIMATOR_FAMILIES", "FAMILY_DESCRIPTIONS"]

#: Below this many clusters, ``method="did"`` with ``se="auto"`` and a cohort ``cluster`` uses
#: the wild cluster restricted bootstrap instead of the cluster-robust (CRV1) normal interval,
#: which is too narrow there: Cameron, Gelbach & Miller (2008) find CRV tests over-reject at
#: every cluster count they simulate (5 to 30) while the wild cluster bootstrap-t does not,
#: and MacKinnon & Webb (2018) show the same with few treated clusters. pbr_eval's own
#: study (benchmarks/results/validate_wild.txt): 12 areas, CRV1 covers 0.893, the wild
#: bootstrap 0.930. The same threshold switches ``ipw``, ``regression``, ``aipw``, ``ipwra`` and
#: ``entropy`` (every estimand, ``se="auto"``) to the wild cluster restricted score bootstrap
#: (benchmarks/results/validate_weighting_few_clusters.txt: 12 areas, cluster-robust 0.912-0.930,
#: wild 0.951-0.960).
FEW_CLUSTERS = 30
__all__ += ["FEW_CLUSTERS"]


#: The propensity model: logistic regression, or any scikit-learn classifier
#: passed as an object (``propensity=`` of every estimator that fits one).
PropensityModel = Literal["logit"]
PROPENSITY_MODELS: tuple[str, ...] = get_args(PropensityModel)
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
#: |standardised mean difference| above which a covariate is flagged as imbalanced
#: (Austin 2011; balance tables, Love plots and reports).
SMD_THRESHOLD = 0.1
#: Default minimum number of treated units (the Justice Data Lab asks for 60).
DEFAULT_MIN_TREATED = 30
#: Most distinct levels a text covariate may have (``Cohort(max_levels=)``).
DEFAULT_MAX_LEVELS = 500
#: Default disclosure threshold: published counts of fewer people than this are hidden
#: (reports, workbooks, claims and area tables, the CLI and analysis files all use it).
DEFAULT_DISCLOSURE_THRESHOLD = 10


def _fmt(value: Any) -> str:
    return repr(value) if isinstance(value, str) else str(value)


def check_choice(
    name: str, value: Any, allowed: Iterable[Any], *, renamed: Mapping[Any, Any] | None = None
) -> Any:
    """Return ``value`` if it is one of ``allowed``, else raise :class:`OptionError`.

    ``renamed`` maps old spellings to their new names: an old spelling is
    accepted for one release with a :class:`DeprecationWarning` naming the
    new one, and the new one is returned.

    Parameters
    ----------
    name : str
        The option's name, quoted in the message.
    value : object
        The value given (compared with ``==``).
    allowed : iterable
        The values allowed, in the order the message lists them.
    renamed : mapping, optional
        Old spelling -> new name.

    Returns
    -------
    object
        ``value`` (its new name when an old spelling was given).

    Examples
    --------
    >>> check_choice("missing", "drop", MISSING)
    'drop'
    >>> check_choice("missing", "skip", MISSING)
    Traceback (most recent call last):
    ...
    pbr_eval.exceptions.OptionError: `missing` must be one of 'error', 'drop'; got 'skip'.
    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     check_choice("se", "cluster", MATCHING_SE, renamed=MATCHING_SE_RENAMED)
    'matched_set'
    """
    allowed = tuple(allowed)
    if renamed and value not in allowed and isinstance(value, str) and value in renamed:
        new = renamed[value]
        warn_renamed(f"{name}={_fmt(value)}", f"{name}={_fmt(new)}")
        return new
    if value not in allowed:
        listed = ", ".join(_fmt(a) for a in allowed)
        raise OptionError(f"`{name}` must be one of {listed}; got {_fmt(value)}.")
    return value


def warn_renamed(old: str, new: str, *, stacklevel: int = 4) -> None:
    """Warn that ``old`` (an option or value spelling) is deprecated in favour of ``new``.

    Old spellings keep working for one release (version 0.2) with this
    :class:`DeprecationWarning`, whose message names the new spelling.

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as w:
    ...     warnings.simplefilter("always")
    ...     warn_renamed("se='cluster'", "se='matched_set'")
    >>> str(w[0].message)
    "`se='cluster'` is deprecated: use `se='matched_set'` (the old spelling will be removed after version 0.2)."
    """
    warnings.warn(
        f"`{old}` is deprecated: use `{new}` (the old spelling will be removed after version 0.2).",
        DeprecationWarning,
        stacklevel=stacklevel,
    )


def renamed_keyword(
    kwargs: dict[str, Any], old: str, new: str, value: Any, default: Any, *, where: str = ""
) -> Any:
    """Take a deprecated keyword ``old`` out of ``kwargs`` as the value of ``new``.

    For a function whose option was renamed: it keeps ``**kwargs`` (or an
    explicit ``old=None`` parameter) for one release. Returns the value to use
    for ``new``: ``value`` if the caller passed ``new``, else the old
    keyword's value (with a :class:`DeprecationWarning` naming ``new``), else
    ``value``. Passing both raises :class:`OptionError`.

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     renamed_keyword({"value": 500.0}, "value", "value_per_outcome", None, None)
    500.0
    """
    if old not in kwargs:
        return value
    old_value = kwargs.pop(old)
    if value is not default:
        raise OptionError(
            f"`{old}` is the old name of `{new}`{where}; pass only `{new}` (got both)."
        )
    warn_renamed(old, new, stacklevel=4)
    return old_value


def _is_real(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) or (
        hasattr(value, "dtype") and getattr(value, "ndim", 1) == 0
        and getattr(value.dtype, "kind", "") in "iuf"
    )


def check_positive(name: str, value: Any, *, allow_zero: bool = False) -> float:
    """Return ``value`` as a float if it is a finite positive number.

    Parameters
    ----------
    name : str
        The option's name, as the caller wrote it.
    value : object
        The number given.
    allow_zero : bool, default False
        Accept 0 too.

    Returns
    -------
    float

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
    v = _real(name, value, what)
    if v < 0 or (v == 0 and not allow_zero):
        raise OptionError(f"`{name}` must be {what}; got {_fmt(value)}.")
    return v


def check_probability(name: str, value: Any, *, open_interval: bool = True) -> float:
    """Return ``value`` if it lies in (0, 1) (or [0, 1] when not ``open_interval``).

    A share given as a percentage (``80`` for 80%) is refused with a hint to
    give ``0.8``; text (``"0.8"``) is refused too (see :func:`check_rate`).

    Parameters
    ----------
    name : str
        The option's name, named in the message.
    value : object
        The share given (0.8 for 80%).
    open_interval : bool, default True
        Refuse 0 and 1 (``False`` accepts them).

    Returns
    -------
    float

    Examples
    --------
    >>> check_probability("power", 0.8)
    0.8
    >>> check_probability("power", 80)
    Traceback (most recent call last):
    ...
    pbr_eval.exceptions.OptionError: `power` must be a number strictly between 0 and 1; got 80, which looks like a percentage: give 0.8.
    """
    bounds = "strictly between 0 and 1" if open_interval else "between 0 and 1"
    v = _real(name, value, f"a number {bounds}")
    ok = 0 < v < 1 if open_interval else 0 <= v <= 1
    if not ok:
        raise _range_error(name, f"a number {bounds}", value, _share_fix(v))
    return v


def check_level(level: Any) -> float:
    """Validate a confidence level such as 0.95.

    Parameters
    ----------
    level : object
        The confidence level given.

    Returns
    -------
    float

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


def check_seed(seed: Any) -> int | None:
    """Return ``seed`` if it is a non-negative integer or None (the seed of a random step).

    Parameters
    ----------
    seed : object
        What the user passed as ``seed=``.

    Returns
    -------
    int or None
        The seed as a Python integer (NumPy integers accepted), or None.

    Raises
    ------
    OptionError
        Anything else: a negative number, a float, a string.

    Examples
    --------
    >>> check_seed(3), check_seed(None)
    (3, None)
    >>> check_seed(-1)
    Traceback (most recent call last):
    ...
    pbr_eval.exceptions.OptionError: `seed` must be a non-negative integer or None; got -1.
    """
    if seed is None:
        return None
    integer = isinstance(seed, int) or getattr(getattr(seed, "dtype", None), "kind", "") in ("i", "u")
    if isinstance(seed, bool) or not integer or seed < 0:
        raise OptionError(f"`seed` must be a non-negative integer or None; got {_fmt(seed)}.")
    return int(seed)


def check_int(name: str, value: Any, *, minimum: int = 1) -> int:
    """Return ``value`` if it is an integer >= ``minimum``.

    Parameters
    ----------
    name : str
        The option's name, quoted in the error message.
    value : object
        The value given (a Python or numpy integer; not a bool or a float).
    minimum : int, default 1
        The smallest value allowed.

    Returns
    -------
    int

    Examples
    --------
    >>> check_int("n_splits", 3)
    3
    >>> check_int("n_splits", 2.0)
    Traceback (most recent call last):
    ...
    pbr_eval.exceptions.OptionError: `n_splits` must be an integer >= 1; got 2.0.
    """
    if isinstance(value, bool) or not isinstance(value, (int,)) and not (
        hasattr(value, "dtype") and getattr(value.dtype, "kind", "") in "iu"
    ):
        raise OptionError(f"`{name}` must be an integer >= {minimum}; got {_fmt(value)}.")
    if int(value) < minimum:
        raise OptionError(f"`{name}` must be an integer >= {minimum}; got {_fmt(value)}.")
    return int(value)


def check_columns(name: str, value: Any) -> list[str]:
    """Normalise a column role (one name or a list of names) to a list of names.

    Parameters
    ----------
    name : str
        The role's name, as the caller wrote it (quoted in the message).
    value : str, iterable of str or None
        One column name, several, or none.

    Returns
    -------
    list of str
        Empty for ``None``.

    Examples
    --------
    >>> check_columns("outcome", "reoffended")
    ['reoffended']
    >>> check_columns("covariates", ["age", 3])
    Traceback (most recent call last):
    ...
    pbr_eval.exceptions.OptionError: `covariates` must be a column name or a list of column names; got 3 (int).
    """
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


# ------------------------------------------------------------------ ranges
# One path for every rate, count, probability and money input (API, CLI and
# analysis files). Messages follow one template: what the option must be, what
# was found, and how to fix it:
#
#     `expected_rate` must be a share between 0 and 1 for a yes/no outcome; got 80,
#     which looks like a percentage: give 0.8.


def _found(value: Any) -> str:
    if isinstance(value, str):
        return f"the text {value!r}"
    if value is None:
        return "nothing (None)"
    if isinstance(value, bool) or _is_real(value):
        return _fmt(value.item() if hasattr(value, "item") else value)
    text = repr(value)
    return f"{type(value).__name__} {text if len(text) <= 40 else text[:37] + '...'}"


def _range_error(name: str, expected: str, value: Any, fix: str = "") -> OptionError:
    """Return the one message template: name, what was expected, what was found, how to fix it."""
    sep = "" if not fix else (", " if fix.startswith("which ") else ": ")
    return OptionError(f"`{name}` must be {expected}; got {_found(value)}{sep}{fix}.")


def _share_fix(v: float) -> str:
    if 2 <= v <= 100:
        return f"which looks like a percentage: give {v / 100:g}"
    if 1 < v < 2:
        return f"a share cannot exceed 1 (if you meant {v:g}%, give {v / 100:g})"
    return ""


def _real(name: str, value: Any, expected: str) -> float:
    """``value`` as a float if it is one finite real number; else the template error.

    Text is refused even when it reads as a number (``"0.8"``): a number typed
    as text usually means a column or a file was read wrongly.
    """
    if isinstance(value, str):
        try:
            as_number = float(value.strip().rstrip("%"))
        except ValueError:
            as_number = None
        fix = ("give the number itself, not text" if as_number is None or not math.isfinite(
            as_number) else f"give the number itself ({as_number:g}), not text")
        if as_number is not None and value.strip().endswith("%") and math.isfinite(as_number):
            fix = f"give the share as a number ({as_number / 100:g}), not text"
        raise _range_error(name, expected, value, fix)
    if not _is_real(value):
        raise _range_error(name, expected, value, "give one number")
    v = float(value)
    if not math.isfinite(v):
        raise _range_error(name, expected, value, "which is missing or infinite: give a "
                           "finite number")
    return v


def check_number(name: str, value: Any) -> float:
    """Return ``value`` as a float if it is one finite real number (any sign).

    Parameters
    ----------
    name : str
        The option's name, as the caller spelt it.
    value : object
        The number given (any sign).

    Returns
    -------
    float

    Examples
    --------
    >>> check_number("effect", -0.05)
    -0.05
    >>> check_number("effect", "0.05")
    Traceback (most recent call last):
    ...
    pbr_eval.exceptions.OptionError: `effect` must be a finite number; got the text '0.05': give the number itself (0.05), not text.
    """
    return _real(name, value, "a finite number")


def check_rate(name: str, value: Any, *, outcome_type: str | None = "binary",
               positive: bool = False) -> float:
    """Return ``value`` as a float if it is a possible rate for ``outcome_type``.

    A yes/no (``"binary"``) outcome's rate is a share of people, between 0
    and 1; a count's rate (events per person) or a continuous outcome's mean
    is a non-negative number; ``None`` (kind unknown) asks only for a
    non-negative number. ``positive=True`` also refuses 0.

    Parameters
    ----------
    name : str
        The option's name, named in the error.
    value : object
        The rate given.
    outcome_type : {"binary", "count", "continuous"} or None, default "binary"
        The outcome's type, which sets the range.
    positive : bool, default False
        Refuse 0 too.

    Returns
    -------
    float

    Raises
    ------
    OptionError
        For text, ``None``, NaN or infinity, a negative rate, or a share above
        1 (with a hint when it looks like a percentage).

    Examples
    --------
    >>> check_rate("expected_rate", 0.8)
    0.8
    >>> check_rate("expected_rate", 1.4, outcome_type="count")
    1.4
    >>> check_rate("expected_rate", 80)
    Traceback (most recent call last):
    ...
    pbr_eval.exceptions.OptionError: `expected_rate` must be a share between 0 and 1 for a yes/no outcome; got 80, which looks like a percentage: give 0.8.
    >>> check_rate("expected_rate", "0.8")
    Traceback (most recent call last):
    ...
    pbr_eval.exceptions.OptionError: `expected_rate` must be a share between 0 and 1 for a yes/no outcome; got the text '0.8': give the number itself (0.8), not text.
    >>> check_rate("non_intervention", -0.1, outcome_type=None)
    Traceback (most recent call last):
    ...
    pbr_eval.exceptions.OptionError: `non_intervention` must be a non-negative rate (a share of people or events per person); got -0.1: a rate cannot be negative.
    """
    if outcome_type == "binary":
        expected = ("a share above 0 and at most 1 for a yes/no outcome" if positive
                    else "a share between 0 and 1 for a yes/no outcome")
    else:
        what = {"count": "events per person", "continuous": "the mean per person"}.get(
            str(outcome_type), "a share of people or events per person")
        expected = f"a {'positive' if positive else 'non-negative'} rate ({what})"
    v = _real(name, value, expected)
    if v < 0 or (positive and v == 0):
        raise _range_error(name, expected, value,
                           "a rate cannot be negative" if v < 0 else "a rate of 0 leaves nothing "
                           "to pay for")
    if outcome_type == "binary" and v > 1:
        raise _range_error(name, expected, value, _share_fix(v) or (
            "a share of people cannot exceed 1; for a count outcome say outcome_type='count'"))
    return v


def check_count(name: str, value: Any, *, minimum: int = 0) -> int:
    """Return ``value`` as an int if it is a whole number >= ``minimum``.

    Whole-valued floats (``600.0``, as read from a spreadsheet) are accepted;
    fractions, text, ``None`` and booleans are not.

    Parameters
    ----------
    name : str
        The option's name, quoted in the error.
    value : object
        The count given (a whole-valued float is accepted).
    minimum : int, default 0
        The smallest number allowed.

    Returns
    -------
    int

    Examples
    --------
    >>> check_count("cohort_size", 600.0, minimum=1)
    600
    >>> check_count("cohort_size", 2.5, minimum=1)
    Traceback (most recent call last):
    ...
    pbr_eval.exceptions.OptionError: `cohort_size` must be a whole number >= 1; got 2.5, which is not a whole number.
    """
    expected = f"a whole number >= {minimum}"
    v = _real(name, value, expected)
    if v != math.floor(v):
        raise _range_error(name, expected, value, "which is not a whole number")
    if v < minimum:
        raise _range_error(name, expected, value)
    return int(v)


def check_money(name: str, value: Any, *, positive: bool = False) -> float:
    """Return ``value`` as a float if it is a finite, non-negative amount of money.

    ``positive=True`` also refuses 0. Amounts written as text (``"5,000"``,
    ``"£5000"``) are refused with the number to give instead.

    Parameters
    ----------
    name : str
        The option's name, as written by the caller.
    value : object
        The amount given (a number, not text).
    positive : bool, default False
        Refuse 0 too.

    Returns
    -------
    float

    Examples
    --------
    >>> check_money("value_per_outcome", 5000)
    5000.0
    >>> check_money("value_per_outcome", "£5,000")
    Traceback (most recent call last):
    ...
    pbr_eval.exceptions.OptionError: `value_per_outcome` must be a non-negative number; got the text '£5,000': give the number itself (5000), without currency signs or commas.
    """
    expected = f"a {'positive' if positive else 'non-negative'} number"
    if isinstance(value, str):
        cleaned = value.strip().lstrip("£$€").replace(",", "").replace("GBP", "").strip()
        try:
            amount = float(cleaned)
        except ValueError:
            amount = None
        if amount is not None and math.isfinite(amount):
            raise _range_error(name, expected, value, f"give the number itself ({amount:g}), "
                               "without currency signs or commas")
    v = _real(name, value, expected)
    if v < 0 or (positive and v == 0):
        raise _range_error(name, expected, value,
                           "an amount of money is given without a sign" if v < 0
                           else "give an amount above 0")
    return v


def check_rates(name: str, values: Any, *, outcome_type: str | None = "binary",
                min_size: int = 1) -> Any:
    """Return ``values`` as a 1-d float array if every entry is a possible rate.

    The array form of :func:`check_rate` (per-person probabilities, draws of
    a rate). The message counts the entries out of range and shows the first.

    Parameters
    ----------
    name : str
        The option's name, named in the message with the count of bad entries.
    values : array-like
        The values given (a list, array or Series).
    outcome_type : {"binary", "count", "continuous"} or None, default "binary"
        The outcome's type, which sets the range.
    min_size : int, default 1
        The fewest values allowed.

    Returns
    -------
    numpy.ndarray
        The values as a 1-d float array.

    Examples
    --------
    >>> check_rates("p0", [0.2, 0.5]).tolist()
    [0.2, 0.5]
    >>> check_rates("p0", [20, 50])
    Traceback (most recent call last):
    ...
    pbr_eval.exceptions.OptionError: `p0` must be shares between 0 and 1 for a yes/no outcome; got 2 of 2 value(s) outside that range (e.g. 20), which looks like a percentage: divide by 100.
    """
    import numpy as np

    binary = outcome_type == "binary"
    expected = ("shares between 0 and 1 for a yes/no outcome" if binary
                else "non-negative numbers")
    raw = values.to_numpy() if hasattr(values, "to_numpy") else values
    if isinstance(raw, str) or (not isinstance(raw, np.ndarray)
                                and not isinstance(raw, (list, tuple))):
        if _is_real(raw):
            raw = [raw]
        else:
            raise _range_error(name, expected, values, "give a list or array of numbers")
    arr = np.asarray(raw)
    if arr.dtype.kind not in "iufb" or arr.dtype.kind == "b":
        bad = next((x for x in arr.ravel().tolist() if not _is_real(x)), None)
        if bad is not None or arr.dtype.kind == "b":
            raise OptionError(
                f"`{name}` must be {expected}; got {_found(bad if bad is not None else True)} "
                "among them. Give numbers only (convert text columns with pd.to_numeric).")
    a = arr.astype(float).ravel()
    if a.size < min_size:
        raise OptionError(f"`{name}` must be at least {min_size} finite numbers ({expected}); "
                          f"got {a.size} value(s).")
    finite = np.isfinite(a)
    if not finite.all():
        raise OptionError(
            f"`{name}` must be {expected}; got {int((~finite).sum())} missing or infinite "
            "value(s). Remove or fill them before pricing.")
    out = (a < 0) | (a > 1) if binary else (a < 0)
    if out.any():
        first = float(a[np.flatnonzero(out)[0]])
        looks_pct = binary and a.min() >= 0 and a.max() <= 100
        raise OptionError(
            f"`{name}` must be {expected}; got {int(out.sum())} of {a.size} value(s) outside "
            f"that range (e.g. {first:g})"
            + (", which looks like a percentage: divide by 100." if looks_pct else "."))
    return a


__all__ += ["check_number", "check_rate", "check_count", "check_money", "check_rates"]
