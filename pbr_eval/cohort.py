"""The validated data container every estimator works from.

:class:`Cohort` takes the user's DataFrame and the role of each column
(treatment, outcome(s), covariates, unit identifier, cluster, period), checks
everything once, and holds the arrays the estimators need. Estimators trust a
Cohort and never re-check the data.
"""

from __future__ import annotations

import decimal
import hashlib
import numbers
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from pbr_eval.exceptions import (
    CollinearityError,
    ContaminationError,
    CovariateError,
    DataError,
    DataQualityWarning,
    DuplicateIdError,
    InfiniteValueError,
    MissingColumnError,
    MissingValueError,
    OptionError,
    OutcomeTypeError,
    PbrEvalError,
    PeriodOrderError,
    SmallCohortError,
    TimeToEventError,
    TreatmentError,
)
from pbr_eval.options import (
    DEFAULT_MAX_LEVELS,
    DEFAULT_MIN_TREATED,
    MISSING,
    OUTCOME_TYPES,
    check_choice,
    check_columns,
    check_int,
)
from pbr_eval.replicate import WorkBuffers
from pbr_eval.time_to_event import TimeToEvent, as_time_to_event, check_frame, to_dates
from pbr_eval.time_to_event import times_from_frame as _times_from_frame

__all__ = ["Cohort", "CohortCheck", "DroppedRows", "collinear_columns",
           "collinear_from_cross_products", "describe_dropped", "zero_one_columns",
           "COLUMN_ROLES"]

#: The Cohort arguments that name data columns (what a reader must load for a cohort).
COLUMN_ROLES = ("treatment", "outcome", "covariates", "unit_id", "cluster", "period",
                "first_treated")


@dataclass(frozen=True)
class DroppedRows:
    """A record of rows a :class:`Cohort` (or an estimator) left out, and why.

    Attributes
    ----------
    n : int
        Number of rows left out.
    reason : str
        Plain-language reason, e.g. ``"missing values in age (3), sex (2)"``.
    stage : str
        Where they were left out: ``"cohort"`` or the estimator's name.
    n_treated, n_comparison : int, optional
        How many of them were programme participants and comparison units
        (rows whose treatment is itself missing are in neither).
    share_treated : float, optional
        ``n_treated`` as a share of the programme participants given.

    Examples
    --------
    >>> import pbr_eval
    >>> from pbr_eval.datasets import load_reoffending
    >>> sim = load_reoffending()
    >>> data = sim.data.copy()
    >>> data.loc[:9, "age"] = None
    >>> cohort = pbr_eval.Cohort(data, missing="drop", **sim.cohort_args)
    >>> cohort.dropped[0].to_dict()  # doctest: +NORMALIZE_WHITESPACE
    {'n': 10, 'reason': 'missing values in age (10)', 'stage': 'cohort', 'n_treated': 1,
     'n_comparison': 9, 'share_treated': 0.00166...}
    """

    n: int
    reason: str
    stage: str = "cohort"
    n_treated: int | None = None
    n_comparison: int | None = None
    share_treated: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the record as a plain dictionary (optional counts only when known)."""
        out: dict[str, Any] = {"n": self.n, "reason": self.reason, "stage": self.stage}
        for k in ("n_treated", "n_comparison", "share_treated"):
            if getattr(self, k) is not None:
                out[k] = getattr(self, k)
        return out


def describe_dropped(d: Mapping[str, Any]) -> str:
    """One sentence for a dropped-rows record (a :meth:`DroppedRows.to_dict`).

    Parameters
    ----------
    d : mapping
        A dropped-rows record: ``n``, ``reason`` and optionally ``stage``, ``n_treated``,
        ``n_comparison``, ``share_treated``.

    Returns
    -------
    str
        The sentence reports and summaries print.

    Examples
    --------
    >>> describe_dropped({"n": 760, "reason": "missing values in age (760)", "stage": "cohort",
    ...                   "n_treated": 40, "n_comparison": 720, "share_treated": 0.0625})
    'Rows left out (cohort): 760 (40 programme participants, 6.2% of the programme cohort; 720 comparison), missing values in age (760).'
    """
    head = f"Rows left out ({d.get('stage', 'cohort')}): {int(d['n']):,}"
    if d.get("n_treated") is not None:
        n1, n0 = int(d["n_treated"]), int(d.get("n_comparison") or 0)
        share = d.get("share_treated")
        pct = f", {share:.1%} of the programme cohort" if share is not None else ""
        other = int(d["n"]) - n1 - n0
        unknown = f"; {other:,} with no treatment value" if other > 0 else ""
        head += (f" ({n1:,} programme participant{'' if n1 == 1 else 's'}{pct}; "
                 f"{n0:,} comparison{unknown})")
    return f"{head}, {d.get('reason', '')}."


@dataclass(frozen=True)
class CohortCheck:
    """What :meth:`Cohort.check` found.

    Attributes
    ----------
    errors : tuple of PbrEvalError
        Every problem that stops the data being used, in the order found.
    warnings : tuple of str
        Data-quality flags that do not stop an analysis (each says how to
        override the choice made).
    cohort : Cohort or None
        The cohort, when there were no errors.

    Examples
    --------
    >>> import pbr_eval
    >>> from pbr_eval.datasets import load_reoffending
    >>> sim = load_reoffending()
    >>> check = pbr_eval.Cohort.check(sim.data.drop(columns=["age"]), **sim.cohort_args)
    >>> check.ok, [type(e).__name__ for e in check.errors], check.cohort
    (False, ['MissingColumnError'], None)
    """

    errors: tuple[PbrEvalError, ...]
    warnings: tuple[str, ...]
    cohort: Cohort | None

    @property
    def ok(self) -> bool:
        """True when the data can be used as they are."""
        return not self.errors


class _Stop(Exception):
    """Collecting problems: the rest of the checks cannot run."""


class _Findings:
    """Problems met while building a cohort: raised at once, or collected (Cohort.check)."""

    def __init__(self, collect: bool) -> None:
        self.collect = collect
        self.errors: list[PbrEvalError] = []
        self.warnings: list[str] = []

    def error(self, err: PbrEvalError) -> None:
        """Return a problem; the checks of other columns can go on."""
        if not self.collect:
            raise err
        self.errors.append(err)

    def fatal(self, err: PbrEvalError) -> None:
        """Return a problem after which nothing else can be checked."""
        if not self.collect:
            raise err
        self.errors.append(err)
        raise _Stop

    def stop(self) -> None:
        if not self.collect:  # pragma: no cover - only reached after a collected error
            raise DataError("The data cannot be checked further.")
        raise _Stop

    def warn(self, message: str) -> None:
        self.warnings.append(message)
        if not self.collect:
            warnings.warn(message, DataQualityWarning, stacklevel=5)


def _check_period_order(order: Any, period: str | None) -> list[Any] | None:
    if order is None:
        return None
    if period is None:
        raise OptionError("`period_order` needs `period` (the column it orders); got no period.")
    if isinstance(order, (str, bytes)) or not hasattr(order, "__iter__"):
        raise OptionError(
            f"`period_order` must be a list of the period labels, earliest first; got {order!r}."
        )
    out = list(order)
    if len(out) < 2:
        raise OptionError(f"`period_order` must list at least two periods; got {out!r}.")
    seen: list[Any] = []
    for p in out:
        if p in seen:
            raise OptionError(f"`period_order` lists {p!r} more than once; list each period once.")
        seen.append(p)
    return out


def _is_number(v: Any) -> bool:
    """Return a real number (not a bool, not text)."""
    return isinstance(v, (numbers.Real, decimal.Decimal)) and not isinstance(v, (bool, np.bool_))


def _numeric_text(values: Any) -> tuple[list[str], list[Any]]:
    """Split distinct values into strings that read as numbers and the rest."""
    num: list[str] = []
    other: list[Any] = []
    for v in values:
        if isinstance(v, str):
            try:
                f = float(v.strip().replace(",", ""))
            except ValueError:
                other.append(v)
                continue
            (num if np.isfinite(f) else other).append(v)
        else:
            other.append(v)
    return num, other


def _text_problem(c: str, values: Any) -> str | None:
    """Why a text column of distinct ``values`` cannot be used as categories, or None."""
    vals = list(values)
    nums = [v for v in vals if _is_number(v)]
    texts = [v for v in vals if not _is_number(v)]
    as_text, not_numbers = _numeric_text(texts)
    numberish = len(nums) + len(as_text)
    others = [v for v in not_numbers if not _is_number(v)]
    if numberish >= 3 and numberish >= 0.8 * len(vals):
        shown = ", ".join(_show(v) for v in (as_text + nums)[:3])
        rest = (f" and {_plural(len(others), 'value')} that {'is' if len(others) == 1 else 'are'} "
                f"not a number ({', '.join(_show(v) for v in others[:3])})" if others else "")
        return (
            f"Covariate '{c}' holds numbers stored as text (e.g. {shown}){rest}: as text, "
            f"each of its {numberish:,} numbers would become a category of its own. Convert it, "
            f"e.g. df['{c}'] = pd.to_numeric(df['{c}'], errors='coerce') (non-numbers become "
            "missing; missing='drop' then leaves those rows out), or, if the values are codes, "
            f"pass df['{c}'].astype('category')."
        )
    if nums and texts:
        return (
            f"Covariate '{c}' mixes text and numbers (e.g. {_show(nums[0])} and "
            f"{_show(texts[0])}); make it one type."
        )
    try:
        sorted(vals)
    except TypeError:
        kinds = sorted({type(v).__name__ for v in vals})
        return f"Covariate '{c}' mixes values of types {', '.join(kinds)}; make it one type."
    return None


def _fold(label: Any) -> str:
    return " ".join(str(label).split()).casefold()


def _label_problem(c: str, levels: Sequence[Any], max_levels: int,
                   n_levels: int | None = None) -> str | None:
    """Near-duplicate labels (equal after folding case and spaces) or too many levels.

    ``n_levels``: the number of distinct levels when ``levels`` holds only some of them.
    """
    groups: dict[str, list[Any]] = {}
    for lev in levels:
        groups.setdefault(_fold(lev), []).append(lev)
    near = [g for g in groups.values() if len(g) > 1]
    if near:
        shown = "; ".join(" / ".join(repr(v) for v in g) for g in near[:4])
        return (
            f"Covariate '{c}' has labels that differ only in capitals or spaces ({shown}), so "
            "the same category would be counted as several. Make them identical, e.g. "
            f"df['{c}'] = df['{c}'].str.strip().str.lower()."
        )
    n = len(levels) if n_levels is None else n_levels
    if n > max_levels:
        return (
            f"Covariate '{c}' has {n:,} distinct values, which would become "
            f"{n - 1:,} indicator columns (the limit is max_levels={max_levels:,}). "
            "An identifier or free text cannot be matched on: group it into fewer categories "
            "(or use it as `unit_id`/`cluster`), or raise `max_levels` if every level matters."
        )
    return None


def _looks_measured(v: np.ndarray) -> bool:
    """Whole numbers that look like a measurement in whole units (grams, pounds), not a count: no zeros and a median of 100 or more."""
    return bool(v.size and v.min() >= 1 and np.median(v) >= 100)


def collinear_columns(X: np.ndarray, *, tol: float = 1e-9) -> list[int]:
    """Columns of ``X`` in an exact linear dependence (with an intercept), or [].

    The correlation matrix of the columns is singular exactly when some
    non-trivial combination of the (centred) columns is zero on every row.
    Its eigenvector for the smallest eigenvalue names the columns involved.
    Large data are screened on an evenly spaced subsample of 200,000 rows (a
    dependence in all rows holds in every subsample) and confirmed on all rows.

    Parameters
    ----------
    X : numpy.ndarray
        The design matrix, one row per person and one column per design term (no
        intercept column: the centring stands for it).
    tol : float, default 1e-9
        A dependence is found when the smallest eigenvalue of the columns' correlation
        matrix is at most ``tol`` times the number of columns.

    Returns
    -------
    list of int
        The positions of the columns involved, ascending; empty when there is none (and
        when a column is constant: that is a separate check).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> a, b, c = rng.normal(size=(3, 50))
    >>> collinear_columns(np.column_stack([a, b, c]))
    []
    >>> collinear_columns(np.column_stack([a, b, c, 2 * a - b + 1]))
    [0, 1, 3]
    """
    n, p = X.shape
    if p < 2 or n < 3:
        return []

    def smallest(Z: np.ndarray) -> tuple[float, np.ndarray] | None:
        # centred cross-products a million rows at a time: no full-size copy of Z
        # (the column means as a product with ones: a mean down the columns of a
        # row-major matrix is several times slower)
        m = (np.ones(Z.shape[0]) @ Z) / Z.shape[0]
        G = np.zeros((p, p))
        for start in range(0, Z.shape[0], 1_000_000):
            Zc = Z[start:start + 1_000_000] - m
            G += Zc.T @ Zc
        return _smallest_eigen(G)

    step = max(1, n // 200_000)
    if step > 1:
        screened = smallest(np.ascontiguousarray(X[::step]))
        if screened is not None and screened[0] > tol * p:
            return []
    return _dependence(smallest(X), p, tol)


def _smallest_eigen(G: np.ndarray) -> tuple[float, np.ndarray] | None:
    """Smallest eigenvalue and its vector of the correlation matrix of centred cross-products ``G``."""
    sd = np.sqrt(np.diag(G))
    if (sd == 0).any() or not np.isfinite(sd).all():
        return None
    w, V = np.linalg.eigh(G / np.outer(sd, sd))
    return float(w[0]), V[:, 0]


def _dependence(found: tuple[float, np.ndarray] | None, p: int, tol: float) -> list[int]:
    if found is None or found[0] > tol * p:
        return []
    v = found[1]
    return [int(j) for j in np.flatnonzero(np.abs(v) > 1e-6 * np.abs(v).max())]


def collinear_from_cross_products(G: np.ndarray, *, tol: float = 1e-9) -> list[int]:
    """:func:`collinear_columns` from the columns' centred cross-product matrix ``G``.

    For data read in blocks (``pbr-eval validate`` on a large file): ``G`` is
    the sum over rows of (x - mean)(x - mean)', merged block by block.

    Parameters
    ----------
    G : numpy.ndarray
        The (p, p) centred cross-product matrix of the design columns.
    tol : float, default 1e-9
        Relative size below which an eigenvalue counts as zero.

    Returns
    -------
    list of int
        The positions of the columns that take part in an exact linear
        dependence (empty when there is none).

    Examples
    --------
    >>> import numpy as np
    >>> a, b = np.random.default_rng(0).normal(size=(2, 50))
    >>> X = np.column_stack([a, b, a + b])
    >>> Xc = X - X.mean(axis=0)
    >>> collinear_from_cross_products(Xc.T @ Xc)
    [0, 1, 2]
    """
    p = G.shape[0]
    if p < 2:
        return []
    return _dependence(_smallest_eigen(G), p, tol)


def _has_no_missing(col: pd.Series) -> bool:
    """Return whether ``col`` certainly holds no missing value, found without a flag per row.

    numpy integer and boolean columns cannot hold one; a numpy float column has none
    when its minimum is not NaN (NaN carries through ``min``). Other columns: False
    (the caller counts their missing values).
    """
    dtype = col.dtype
    if not isinstance(dtype, np.dtype):
        return False
    if dtype.kind in "iub":
        return True
    if dtype.kind == "f":
        v = col.to_numpy()
        return bool(v.size == 0 or not np.isnan(v.min()))
    return False


def _varying_within(values: Any, ids: np.ndarray) -> pd.Index:
    """Return the ids whose rows do not all hold the same value."""
    agg = pd.Series(np.asarray(values)).groupby(ids).agg(["min", "max"])
    return agg.index[(agg["min"] != agg["max"]).to_numpy()]


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}" + ("" if n == 1 else "s")


def _show(value: Any) -> str:
    """repr() of a data value without numpy's type wrapper (2, not np.int64(2))."""
    if hasattr(value, "item"):
        value = value.item()
    return repr(value)


def _list_names(names: Sequence[str], limit: int = 6) -> str:
    shown = ", ".join(f"'{n}'" for n in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _time_to_event_specs(given: Mapping[str, Any] | None) -> dict[str, TimeToEvent]:
    if given is None:
        return {}
    if not isinstance(given, Mapping):
        raise OptionError(
            "`time_to_event` must be a dict of outcome name -> TimeToEvent(...); got "
            f"{given!r}."
        )
    return {str(k): as_time_to_event(str(k), v) for k, v in given.items()}


class Cohort:
    """A programme cohort and its comparison pool, validated once.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per person (or household), or one row per unit and period
        when ``period`` is given. It is never modified.
    treatment : str
        Column holding 1 (or ``True``) for people in the programme and 0
        (``False``) for the comparison pool.
    outcome : str or list of str
        Outcome column(s). Binary 0/1 outcomes are rates, non-negative
        integers are counts (events per person), anything else numeric is a
        continuous mean. Override the detected type with ``outcome_types``.
    covariates : list of str
        Columns describing people before the programme. Numeric and boolean
        columns are used as they are; text and categorical columns are
        expanded into indicator columns, leaving out the first level (the
        reference level: the first category of a pandas Categorical, else the
        first in sorted order).
    unit_id : str, optional
        Identifier of a person or household. Checked for duplicates and for
        contamination (the same person in both groups).
    cluster : str, optional
        Grouping for cluster-robust inference, e.g. the local authority.
    period : str, optional
        Time period for before/after (panel) data in long format: one row
        per unit and period. Requires ``unit_id``.
    missing : {"error", "drop"}, default "error"
        What to do with rows that have a missing value in a role column.
        ``"drop"`` leaves them out and records how many and why in
        :attr:`dropped`; every result built from the cohort reports it.
        To impute missing covariates instead, use :func:`pbr_eval.impute`
        (``missing="impute"`` here raises an error pointing to it).
    min_treated : int, default 30
        Fewer treated units than this raises :class:`SmallCohortError`. The
        Justice Data Lab asks for at least 60.
    outcome_types : dict, optional
        Force an outcome's type: ``{"events": "count"}``. Types are
        ``"binary"``, ``"count"`` and ``"continuous"``. Whole numbers with no
        zeros and a median of 100 or more (birthweight in grams, earnings in
        pounds) are typed ``"continuous"`` with a
        :class:`~pbr_eval.exceptions.DataQualityWarning`; force ``"count"``
        here if they count events.
    first_treated : str, optional
        For programmes that start at different times (staggered adoption,
        ``method="staggered_did"``): the column holding the period each unit
        was first treated, constant within the unit, 0 for units never
        treated. Requires ``period``; ``treatment`` must be 1 exactly for the
        units with a first-treatment period.
    period_order : list, optional
        The ``period`` labels in time order, earliest first, e.g.
        ``["pre", "post"]``. Needed when the periods are text (their order
        cannot be told from the labels); numbers, dates and an ordered pandas
        Categorical need none.
    max_levels : int, default 500
        Most distinct values a text covariate may have; more raises
        :class:`CovariateError` (an identifier or free text is not a
        covariate, and its indicators would fill memory).
    time_to_event : dict, optional
        Time-to-event outcomes, by name: ``{"reoffence":
        TimeToEvent(time="days", event="reoffended", window=365)}``, or
        from dates: ``TimeToEvent(start="released", event_date="reoffence_date",
        end=pd.Timestamp("2024-03-31"), window=365)`` (a dict of the same
        fields works too). Their columns are checked (negative times, events
        after the end of follow-up, dates that are not dates, a window longer
        than anyone in the comparison pool is followed:
        :class:`~pbr_eval.exceptions.TimeToEventError`); date columns are
        converted to datetime. ``outcome`` may then be empty. Estimate with
        :func:`pbr_eval.estimate_survival`.

    Attributes
    ----------
    data : pandas.DataFrame
        The rows used (after any drops), role columns only, in input order,
        keeping the caller's index labels.
    t : numpy.ndarray of bool
        Treatment indicator for each row of :attr:`data`.
    X : numpy.ndarray of float
        Covariate design matrix (indicators expanded, no intercept).
    design_columns : list of str
        Names of the columns of :attr:`X`, e.g. ``"offence_type[drugs]"``.
    design_sources : dict
        Which covariate each design column came from.
    binary_columns : list of str
        Design columns taking only the values 0 and 1.
    outcome_types : dict
        The type of each outcome.
    dropped : tuple of DroppedRows
        Rows left out and why.
    n_input_rows : int
        Number of rows the caller gave.
    notes : list of str
        Data-quality notes (e.g. an outcome typed ``"continuous"`` although
        it holds whole numbers), carried into every result's notes.
    period_order : tuple or None
        The periods in time order (None without ``period``, or for text
        periods given no ``period_order``).

    Raises
    ------
    MissingColumnError
        A role names a column that is not in ``data``.
    TreatmentError
        The treatment is not 0/1 or boolean, or only one group is present.
    MissingValueError
        Missing values in a role column with ``missing="error"``; a role
        column with no value at all (either way).
    InfiniteValueError
        An infinite value in a numeric role column.
    OutcomeTypeError
        A non-numeric outcome.
    CovariateError
        A constant covariate, one that duplicates another, perfectly
        collinear covariates (:class:`CollinearityError`), numbers stored as
        text, labels differing only in capitals or spaces ("Violence" /
        "violence"), more than ``max_levels`` levels, or two covariates giving
        the same design-column name.
    PeriodOrderError
        ``period_order`` does not list every period.
    DuplicateIdError, ContaminationError
        A repeated ``unit_id``; a ``unit_id`` in both groups.
    SmallCohortError
        Fewer than ``min_treated`` treated units.

    Examples
    --------
    >>> import pandas as pd
    >>> from pbr_eval import Cohort
    >>> df = pd.DataFrame({
    ...     "id": range(8), "t": [1, 1, 1, 1, 0, 0, 0, 0],
    ...     "age": [20, 31, 45, 28, 33, 51, 22, 40],
    ...     "sex": ["F", "M", "M", "F", "M", "F", "M", "F"],
    ...     "reoffended": [0, 1, 0, 0, 1, 1, 0, 1]})
    >>> c = Cohort(df, treatment="t", outcome="reoffended", covariates=["age", "sex"],
    ...            unit_id="id", min_treated=2)
    >>> c.n_treated, c.n_comparison
    (4, 4)
    >>> c.design_columns
    ['age', 'sex[M]']
    >>> c.outcome_types
    {'reoffended': 'binary'}
    """

    # set only while Cohort.check collects findings, and by Cohort.take on replicates
    _collecting: bool
    _scratch: Any
    _source: tuple[Any, Any, Any] | None

    def __init__(
        self,
        data: pd.DataFrame,
        *,
        treatment: str,
        outcome: str | Sequence[str] = (),
        covariates: Sequence[str],
        unit_id: str | None = None,
        cluster: str | None = None,
        period: str | None = None,
        missing: str = "error",
        min_treated: int = DEFAULT_MIN_TREATED,
        outcome_types: Mapping[str, str] | None = None,
        period_order: Sequence[Any] | None = None,
        max_levels: int = DEFAULT_MAX_LEVELS,
        first_treated: str | None = None,
        time_to_event: Mapping[str, Any] | None = None,
    ) -> None:
        self.first_treated = first_treated  # checked in _build with the other roles
        self.time_to_event = _time_to_event_specs(time_to_event)
        # Cohort.check sets _collecting: problems are then recorded, not raised one by one
        findings = _Findings(collect=getattr(self, "_collecting", False))
        self._build(data, findings, treatment, outcome, covariates, unit_id, cluster, period,
                    missing, min_treated, outcome_types, period_order, max_levels)

    @classmethod
    def check(cls, data: pd.DataFrame, **roles: Any) -> CohortCheck:
        """Every problem in ``data`` for these roles, collected instead of raised.

        Runs the checks :class:`Cohort` runs, but records each problem and
        carries on where it can (a bad covariate does not stop the checks of
        the others), so one run lists everything to fix. ``pbr-eval validate``
        prints this.

        Parameters
        ----------
        data : pandas.DataFrame
        **roles
            The keyword arguments of :class:`Cohort`.

        Returns
        -------
        CohortCheck
            ``errors`` (each a :class:`~pbr_eval.exceptions.PbrEvalError`,
            in the order found), ``warnings`` (plain-language data-quality
            flags that do not stop an analysis) and ``cohort`` (the built
            cohort when there were no errors, else None).

        Examples
        --------
        >>> import pandas as pd
        >>> df = pd.DataFrame({"t": [1, 0] * 20, "y": [0, 1, 1, 0] * 10,
        ...                    "office": ["North", "north", "South", "South "] * 10,
        ...                    "age": ["23", "31", "45", "52", "unknown"] * 8})
        >>> found = Cohort.check(df, treatment="t", outcome="y",
        ...                      covariates=["office", "age"], min_treated=2)
        >>> [type(e).__name__ for e in found.errors]
        ['CovariateError', 'CovariateError']
        >>> found.cohort is None
        True
        """
        out = cls.__new__(cls)
        out._collecting = True
        try:
            out.__init__(data, **roles)  # type: ignore[misc]
        except _Stop:
            pass
        except PbrEvalError as err:
            out._findings.errors.append(err)
        del out._collecting
        found = out._findings
        ok = not found.errors
        return CohortCheck(errors=tuple(found.errors), warnings=tuple(found.warnings),
                           cohort=out if ok else None)

    def _build(self, data: pd.DataFrame, findings: _Findings, treatment: str,
               outcome: str | Sequence[str], covariates: Sequence[str], unit_id: str | None,
               cluster: str | None, period: str | None, missing: str, min_treated: int,
               outcome_types: Mapping[str, str] | None, period_order: Sequence[Any] | None,
               max_levels: int) -> None:
        self._findings = findings
        if not isinstance(data, pd.DataFrame):
            raise DataError(
                f"`data` must be a pandas DataFrame; got {type(data).__name__}. "
                "Read your file with pandas (or pbr_eval.io.read_data) first."
            )
        given_order = self._set_roles(treatment, outcome, covariates, unit_id, cluster, period,
                                      missing, min_treated, max_levels, period_order)
        self._check_roles(data, findings)
        self.n_input_rows = int(len(data))
        frame = data.loc[:, self._role_columns()]  # a new frame: the caller's is untouched
        frame = self._check_empty_columns(frame, findings)
        frame = self._numbers_from_objects(frame)
        dropped: list[DroppedRows] = []
        frame = self._handle_missing(frame, dropped, findings)
        self.dropped: tuple[DroppedRows, ...] = tuple(dropped)

        self.t = self._check_treatment(frame[self.treatment], findings)
        self._check_infinite(frame, findings)
        frame = self._check_time_to_event(frame, findings)
        self.outcome_types = self._outcome_types(frame, outcome_types, findings)
        self.X, self.design_columns, self.design_sources, stats = self._design(frame, findings)
        if not findings.errors:  # the design checks need every covariate usable
            self._check_design(findings, stats)
        zero_one = stats.zero_one
        self.binary_columns = [c for j, c in enumerate(self.design_columns) if zero_one[j]]
        if self.unit_id is not None:
            self._check_ids(frame, findings)
        if getattr(self, "first_treated", None) is not None:
            self._check_first_treated(frame, findings)
        self.period_order: tuple[Any, ...] | None = None
        if self.period is not None:
            self.period_order = self._period_order(frame[self.period], given_order, findings)
        n_treated = int(self.t.sum()) if self.period is None else self._n_units(frame, True)
        self._check_size(n_treated, findings)
        self.data = frame
        self._fingerprint: str | None = None

    def _set_roles(self, treatment: str, outcome: str | Sequence[str],
                   covariates: Sequence[str], unit_id: str | None, cluster: str | None,
                   period: str | None, missing: str, min_treated: int, max_levels: int,
                   period_order: Sequence[Any] | None) -> list[Any] | None:
        """Check the options and set the roles; return ``period_order`` as a list (or None)."""
        if missing == "impute":  # several completed cohorts, not one: the mice workflow
            raise OptionError(
                "missing='impute' makes several completed cohorts, not one: call "
                "pbr_eval.impute(data, treatment=..., outcome=..., covariates=..., m=10, "
                "seed=...) with the same roles, then .estimate(method=...) to pool the "
                "estimates by Rubin's rules (docs/imputation.md)."
            )
        check_choice("missing", missing, MISSING)
        self.min_treated = check_int("min_treated", min_treated, minimum=1)
        self.max_levels = check_int("max_levels", max_levels, minimum=2)
        if not isinstance(treatment, str):
            raise OptionError(f"`treatment` must be one column name; got {treatment!r}.")
        outcomes = check_columns("outcome", outcome)
        covs = check_columns("covariates", covariates)
        if not outcomes and not self.time_to_event:
            raise OptionError("`outcome` must name at least one column (or give "
                              "`time_to_event`); got none.")
        for name, val in (("unit_id", unit_id), ("cluster", cluster), ("period", period),
                          ("first_treated", getattr(self, "first_treated", None))):
            if val is not None and not isinstance(val, str):
                raise OptionError(f"`{name}` must be one column name or None; got {val!r}.")
        if getattr(self, "first_treated", None) is not None and period is None:
            raise OptionError("`first_treated` needs `period` (and `unit_id`): staggered "
                              "adoption is panel data, one row per unit and period.")
        if period is not None and unit_id is None:
            raise OptionError(
                "`period` needs `unit_id`: panel data has one row per unit and period, "
                "so name the column identifying each unit."
            )
        given_order = _check_period_order(period_order, period)
        if period is not None and self.time_to_event:
            raise OptionError(
                "`time_to_event` needs one row per person (times run from each person's start "
                "of follow-up); this data has a `period`. Give one row per person."
            )

        self.treatment = treatment
        self.outcomes: list[str] = outcomes
        self.covariates: list[str] = covs
        self.unit_id = unit_id
        self.cluster = cluster
        self.period = period
        self.missing = missing
        self.notes: list[str] = []
        return given_order

    def _check_size(self, n_treated: int, findings: _Findings) -> None:
        """Too few treated units; then the data-quality warnings become notes."""
        if n_treated < self.min_treated:
            findings.error(SmallCohortError(
                f"`{self.treatment}` marks {_plural(n_treated, 'treated unit')}; at least "
                f"{self.min_treated} are needed for a stable estimate. Add more programme "
                "participants, or lower `min_treated` if you accept a very wide interval "
                "(the Justice Data Lab asks for 60)."
            ))
        for w in findings.warnings:
            self.notes.append(w)

    # ------------------------------------------------------------------ checks
    def _role_columns(self) -> list[str]:
        cols = [self.treatment, *self.outcomes, *self.covariates]
        for c in (self.unit_id, self.cluster, self.period, getattr(self, "first_treated", None)):
            if c is not None:
                cols.append(c)
        cols += [c for spec in getattr(self, "time_to_event", {}).values() for c in spec.columns()]
        seen: list[str] = []
        for c in cols:
            if c not in seen:
                seen.append(c)
        return seen

    def _role_pairs(self) -> list[tuple[str, str]]:
        roles: list[tuple[str, str]] = [("treatment", self.treatment)]
        roles += [("outcome", c) for c in self.outcomes]
        roles += [("covariates", c) for c in self.covariates]
        roles += [(r, c) for r, c in (("unit_id", self.unit_id), ("cluster", self.cluster),
                                       ("period", self.period),
                                       ("first_treated", getattr(self, "first_treated", None)))
                  if c is not None]
        roles += [(f"time_to_event['{name}'].{role}", c)
                  for name, spec in getattr(self, "time_to_event", {}).items()
                  for role, c in spec.roles()]
        return roles

    def _forget_columns(self, gone: set[str], findings: _Findings) -> None:
        """Collect problems: carry on without the columns in ``gone``."""
        if self.treatment in gone:
            findings.stop()
        self.outcomes = [c for c in self.outcomes if c not in gone]
        self.covariates = [c for c in self.covariates if c not in gone]
        for role in ("unit_id", "cluster", "period", "first_treated"):
            if getattr(self, role, None) in gone:
                setattr(self, role, None)
        self.time_to_event = {k: s for k, s in self.time_to_event.items()
                              if not set(s.columns()) & gone}
        if not self.outcomes and not self.time_to_event:
            findings.stop()

    def _check_roles(self, data: pd.DataFrame, findings: _Findings) -> None:
        dup_cov = [c for c in set(self.covariates) if self.covariates.count(c) > 1]
        if dup_cov:
            raise CovariateError(
                f"`covariates` lists {_list_names(sorted(dup_cov))} more than once; list each once."
            )
        structural = {self.treatment, *(c for c in (self.unit_id, self.period,
                                                     getattr(self, "first_treated", None)) if c)}
        for name, spec in self.time_to_event.items():
            clash = [c for c in spec.columns() if c in set(self.covariates) | structural]
            if clash:
                raise OptionError(
                    f"Column '{clash[0]}' of `time_to_event['{name}']` is also the treatment, "
                    "unit_id, period or a covariate; covariates must be measured before the "
                    "programme, so give the outcome's own columns."
                )
        for c in self.covariates + self.outcomes:
            if c in structural:
                raise OptionError(
                    f"Column '{c}' is given two roles (it is the treatment, unit_id or period); "
                    "a covariate or outcome must be a different column."
                )
        both = set(self.outcomes) & set(self.covariates)
        if both:
            raise OptionError(
                f"Column {_list_names(sorted(both))} is both an outcome and a covariate; "
                "covariates must be measured before the programme."
            )
        gone = set()
        for role, col in self._role_pairs():
            if col not in data.columns:
                available = [str(c) for c in data.columns]
                gone.add(col)
                findings.error(MissingColumnError(
                    f"`{role}` names column '{col}', which is not in the data. "
                    f"Available columns: {_list_names(available, 12)}."
                ))
        if self.data_columns_duplicated(data):
            raise DataError("The data has duplicated column names; rename them to be unique.")
        if gone:
            self._forget_columns(gone, findings)

    @staticmethod
    def data_columns_duplicated(data: pd.DataFrame) -> bool:
        """Return whether ``data`` has two columns with the same name."""
        return bool(pd.Index(data.columns).duplicated().any())

    def _check_empty_columns(self, frame: pd.DataFrame, findings: _Findings) -> pd.DataFrame:
        """Refuse a role column with no value at all, naming it (``missing="drop"`` would drop every row)."""
        empty = [] if len(frame) == 0 else [
            c for c in frame.columns if not _has_no_missing(frame[c]) and frame[c].isna().all()]
        if not self._report_empty(empty, len(frame), findings):
            return frame
        return frame.loc[:, self._role_columns()]

    def _report_empty(self, empty: Sequence[str], n_rows: int, findings: _Findings) -> bool:
        """No rows, or role columns with no value (then forgotten); True when some were."""
        if n_rows == 0:
            findings.fatal(DataError("The data has no rows."))
        if not empty:
            return False
        for role, col in self._role_pairs():
            if col in empty:
                findings.error(MissingValueError(
                    f"Column '{col}' (`{role}`) has no values: all {_plural(n_rows, 'row')} "
                    f"are missing, so missing='drop' would leave nothing. Check that the file was "
                    f"read correctly, or remove '{col}' from `{role}`."
                ))
        self._forget_columns(set(empty), findings)
        return True

    def _numbers_from_objects(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Outcome and covariate columns of Python numbers (object dtype, e.g.

        Parquet decimals) become float columns, with a note; text is left as it is.
        """
        change = {}
        for c in [*self.outcomes, *self.covariates]:
            s = frame[c]
            if s.dtype != object:
                continue
            vals = s.dropna()
            if len(vals) and all(_is_number(v) for v in pd.unique(vals)):
                change[c] = pd.to_numeric(s.astype(float))
                self.notes.append(
                    f"Column '{c}' holds numbers in a column of Python objects (e.g. "
                    f"{_show(vals.iloc[0])}, as decimals from Parquet or a database); they are "
                    "used as numbers."
                )
        return frame.assign(**change) if change else frame

    def _handle_missing(
        self, frame: pd.DataFrame, dropped: list[DroppedRows], findings: _Findings
    ) -> pd.DataFrame:
        # an event date is missing when no event happened
        checked = frame.drop(columns=[s.event_date for s in self.time_to_event.values()
                                      if s.event_date in frame.columns])
        if all(_has_no_missing(checked[c]) for c in checked.columns):
            return frame  # numbers without NaN: no n x k table of missing flags needed
        na = checked.isna()
        counts = na.sum()
        counts = counts[counts > 0]
        if counts.empty:
            return frame
        rows = na.any(axis=1).to_numpy()
        tcol = frame[self.treatment]
        is1 = tcol.isin([1, True]).to_numpy() & tcol.notna().to_numpy()
        is0 = tcol.isin([0, False]).to_numpy() & tcol.notna().to_numpy()
        self._report_missing({str(c): int(n) for c, n in counts.items()}, int(rows.sum()),
                             len(frame), (int((rows & is1).sum()), int((rows & is0).sum()),
                                          int(is1.sum())), dropped, findings)
        return frame.loc[~rows]

    def _report_missing(self, counts: Mapping[str, int], n_rows: int, n_total: int,
                        by_group: tuple[int, int, int], dropped: list[DroppedRows],
                        findings: _Findings) -> None:
        """Report missing values: ``counts`` by column, ``n_rows`` of ``n_total`` affected.

        ``by_group``: affected treated rows, affected comparison rows, treated rows.
        """
        detail = ", ".join(f"{c} ({int(n):,})" for c, n in counts.items())
        if self.missing == "error":
            quoted = ", ".join(f"'{c}' ({int(n):,})" for c, n in counts.items())
            findings.error(MissingValueError(
                f"Missing values in {quoted}: {_plural(n_rows, 'row')} affected. "
                "Fill them in, or pass missing='drop' to leave those rows out "
                "(the count is reported in every result)."
            ))
            # collecting problems: check the complete rows
        else:
            n1_rows, n0_rows, n1_all = by_group
            dropped.append(DroppedRows(
                n_rows, f"missing values in {detail}", n_treated=n1_rows, n_comparison=n0_rows,
                share_treated=(float(n1_rows / n1_all) if n1_all else None),
            ))
        if n_rows == n_total:
            findings.fatal(MissingValueError(
                f"Every row has a missing value ({detail}); nothing is left to analyse. "
                "Fill in the missing values or remove the emptiest columns from the roles."
            ))

    def _check_treatment(self, col: pd.Series, findings: _Findings) -> np.ndarray:
        values = col.to_numpy()
        if pd.api.types.is_bool_dtype(col.dtype):
            t = values.astype(bool)
        elif pd.api.types.is_numeric_dtype(col.dtype):
            # numpy integers between 0 and 1 are 0 or 1: no hash of every value needed
            small = (isinstance(col.dtype, np.dtype) and col.dtype.kind in "iu" and values.size
                     and values.min() >= 0 and values.max() <= 1)
            bad = [] if small else [v for v in pd.unique(col) if v not in (0, 1)]
            if bad:
                self._report_treatment_values(sorted(bad, key=str)[:5], None, findings)
            t = values == 1
        else:
            self._report_treatment_values(list(pd.unique(col))[:5], str(col.dtype), findings)
        self._report_groups(int(t.sum()), len(t), findings)
        return np.ascontiguousarray(t, dtype=bool)

    def _report_treatment_values(self, shown_values: Sequence[Any], dtype: str | None,
                                 findings: _Findings) -> None:
        """Values that are not 0/1: numbers (``dtype`` None) or another type."""
        name = self.treatment
        shown = ", ".join(_show(v) for v in shown_values)
        if dtype is None:
            findings.fatal(TreatmentError(
                f"`treatment` column '{name}' must hold 0/1 or True/False; found {shown}. "
                "Recode it so 1 marks programme participants and 0 the comparison pool."
            ))
        findings.fatal(TreatmentError(
            f"`treatment` column '{name}' must hold 0/1 or True/False; found values "
            f"{shown} (type {dtype}). Recode it so 1 marks programme participants."
        ))

    def _report_groups(self, n1: int, n: int, findings: _Findings) -> None:
        """Only one group among the ``n`` rows kept (``n1`` treated)."""
        name = self.treatment
        # staggered adoption: units treated later are the comparison for those treated earlier
        all_staggered = n1 == n and getattr(self, "first_treated", None) is not None
        if (n1 == 0 or n1 == n) and not all_staggered:
            which = "no treated (1) rows" if n1 == 0 else "no comparison (0) rows"
            after = ""
            if self.dropped:
                after = (f" (after leaving out {_plural(self.n_dropped, 'row')} with "
                         f"{self.dropped[0].reason})")
            findings.fatal(TreatmentError(
                f"`treatment` column '{name}' has only one group: {which} among "
                f"{_plural(n, 'row')}{after}. Both programme participants and a comparison "
                "pool are needed (for a before/after-only design use method='baseline')."
            ))

    def _check_infinite(self, frame: pd.DataFrame, findings: _Findings) -> None:
        for c in [*self.outcomes, *self.covariates]:
            s = frame[c]
            if pd.api.types.is_float_dtype(s.dtype):
                v = s.to_numpy(dtype=float, na_value=np.nan)
                # the smallest and largest values settle it (NaN carries through them)
                if v.size and np.isfinite(v.min()) and np.isfinite(v.max()):
                    continue
                self._report_infinite(c, int(np.isinf(v).sum()), findings)

    def _report_infinite(self, c: str, n: int, findings: _Findings) -> None:
        if n:
            findings.error(InfiniteValueError(
                f"Column '{c}' holds {_plural(n, 'infinite value')} (inf or -inf). "
                "Replace them with real values or mark them missing."
            ))

    def _outcome_types(
        self, frame: pd.DataFrame, given: Mapping[str, str] | None, findings: _Findings
    ) -> dict[str, str]:
        facts: dict[str, dict[str, Any]] = {}
        for c in self.outcomes:
            s = frame[c]
            if pd.api.types.is_bool_dtype(s.dtype):
                facts[c] = {"kind": "bool"}
            elif not pd.api.types.is_numeric_dtype(s.dtype):
                facts[c] = {"kind": "text", "dtype": str(s.dtype),
                            "shown": list(pd.unique(s))[:3],
                            "text_numbers": bool(_numeric_text(pd.unique(s.dropna()))[0])}
            else:
                v = s.to_numpy(dtype=float)
                count = bool((v >= 0).all() and (np.floor(v) == v).all())
                facts[c] = {"kind": "number", "binary": _is_binary(v), "count": count,
                            "measured": count and _looks_measured(v)}
                if facts[c]["measured"]:
                    facts[c].update(min=float(v.min()), max=float(v.max()),
                                    median=float(np.median(v)))
        return self._type_outcomes(facts, given, findings)

    def _type_outcomes(self, facts: Mapping[str, Mapping[str, Any]],
                       given: Mapping[str, str] | None, findings: _Findings) -> dict[str, str]:
        """Return each outcome's type from its facts (checked against ``given``).

        Facts: ``kind`` "bool", "text" (``dtype``, ``shown`` values, ``text_numbers``)
        or "number" (``binary``, ``count``: whole and not negative, ``measured`` with
        ``min``, ``max``, ``median``).
        """
        given = dict(given or {})
        unknown = set(given) - set(self.outcomes)
        if unknown:
            findings.error(OptionError(
                f"`outcome_types` names {_list_names(sorted(unknown))}, which "
                f"{'is' if len(unknown) == 1 else 'are'} not an outcome; outcomes are "
                f"{_list_names(self.outcomes)}."
            ))
        types: dict[str, str] = {}
        for c in self.outcomes:
            f = facts[c]
            if f["kind"] == "bool":
                detected = "binary"
            elif f["kind"] == "text":
                shown = ", ".join(_show(v) for v in f["shown"])
                how = ("These are numbers stored as text: convert them, e.g. "
                       f"df['{c}'] = pd.to_numeric(df['{c}'])." if f["text_numbers"]
                       else "Recode it as numbers.")
                findings.error(OutcomeTypeError(
                    f"`outcome` column '{c}' must be numeric (0/1 for a rate, a count or a "
                    f"measurement); found type {f['dtype']} with values such as {shown}. {how}"
                ))
                continue
            else:
                if f["binary"]:
                    detected = "binary"
                elif f["count"]:
                    detected = "count"
                    if c not in given and f["measured"]:
                        detected = "continuous"
                        findings.warn(
                            f"Outcome '{c}' holds whole numbers from {f['min']:,.0f} to "
                            f"{f['max']:,.0f} (median {f['median']:,.0f}) and no zeros: it looks "
                            "like a measurement recorded in whole units (e.g. grams or pounds), "
                            "not a count of events, so it is typed 'continuous' (a mean, "
                            f"modelled linearly). If it counts events, pass "
                            f"outcome_types={{'{c}': 'count'}}."
                        )
                else:
                    detected = "continuous"
            if c in given:
                want = check_choice(f"outcome_types['{c}']", given[c], OUTCOME_TYPES)
                if want == "binary" and detected != "binary":
                    findings.error(OutcomeTypeError(
                        f"`outcome_types` says '{c}' is binary, but it holds values other "
                        "than 0 and 1."
                    ))
                    continue
                if want == "count" and detected == "continuous":
                    findings.error(OutcomeTypeError(
                        f"`outcome_types` says '{c}' is a count, but it holds negative or "
                        "non-integer values."
                    ))
                    continue
                detected = want
            types[c] = detected
        return types

    def _design(
        self, frame: pd.DataFrame, findings: _Findings
    ) -> tuple[np.ndarray, list[str], dict[str, str], _DesignStats]:
        blocks: list[np.ndarray] = []
        names: list[str] = []
        sources: dict[str, str] = {}
        n = len(frame)
        for c in self.covariates:
            s = frame[c]
            if pd.api.types.is_bool_dtype(s.dtype) or (
                pd.api.types.is_numeric_dtype(s.dtype)
                and not isinstance(s.dtype, pd.CategoricalDtype)
            ):
                blocks.append(s.to_numpy(dtype=float))  # a view of a float64 column
                names.append(c)
                sources[c] = c
                continue
            if not (isinstance(s.dtype, pd.CategoricalDtype) or pd.api.types.is_object_dtype(
                    s.dtype) or pd.api.types.is_string_dtype(s.dtype)):
                self._report_covariate_type(c, str(s.dtype), findings)
                continue
            if isinstance(s.dtype, pd.CategoricalDtype):
                cat = s.cat.remove_unused_categories()
                found = self._levels(c, None, list(cat.cat.categories), findings)
            else:
                found = self._levels(c, pd.unique(s), None, findings)
                if found is not None:
                    cat = pd.Series(pd.Categorical(s, categories=found), index=s.index)
            if found is None:
                continue
            levels = found
            codes = cat.cat.codes.to_numpy()
            blocks.extend(codes == j for j in range(1, len(levels)))
            for lev in levels[1:]:
                nm = f"{c}[{lev}]"
                names.append(nm)
                sources[nm] = c
        self._report_name_clashes(names, findings)
        X, stats = _design_matrix(blocks, n)
        return X, names, sources, stats
    def _report_covariate_type(self, c: str, dtype: str, findings: _Findings) -> None:
        findings.error(CovariateError(
            f"Covariate '{c}' has type {dtype}, which cannot be used; expected numbers, "
            "True/False, text categories or a pandas Categorical."
        ))

    def _levels(self, c: str, values: Any, categories: list[Any] | None,
                findings: _Findings, n_levels: int | None = None) -> list[Any] | None:
        """Return the levels of a text covariate, or None (the problem recorded).

        ``values``: its distinct values in the order found; ``categories``: a
        Categorical's categories instead; ``n_levels``: how many distinct values
        there are when ``values`` holds only the first of them.
        """
        if categories is None:
            problem = _text_problem(c, values)
            if problem:
                findings.error(CovariateError(problem))
                return None
            levels = sorted(values)
        else:
            levels = categories
        problem = _label_problem(c, levels, self.max_levels, n_levels)
        if problem:
            findings.error(CovariateError(problem))
            return None
        if len(levels) < 2:
            findings.error(CovariateError(
                f"Covariate '{c}' is constant: every row has the value "
                f"{levels[0]!r}. It cannot explain selection; remove it from `covariates`."
            ))
            return None
        return levels

    def _report_name_clashes(self, names: Sequence[str], findings: _Findings) -> None:
        """Two covariates giving the same design-column name."""
        for nm in [nm for nm in dict.fromkeys(names) if names.count(nm) > 1]:
            base = nm.split("[")[0]
            findings.error(CovariateError(
                f"Two covariates give a design column named '{nm}': the covariate '{nm}' "
                f"itself and the indicator of a level of '{base}'. Rename the column '{nm}' "
                "(e.g. without brackets) so that every name is unique."
                if nm in self.covariates else
                f"Two covariates give a design column named '{nm}'; rename one of them."
            ))

    def _check_design(self, findings: _Findings, stats: _DesignStats) -> None:
        X = self.X
        if X.shape[1] == 0:
            return
        self._report_design(stats.lo, stats.hi, lambda: stats.sums,
                            lambda a, b: np.array_equal(X[:, a], X[:, b]),
                            lambda: collinear_columns(X), findings)

    def _report_design(self, lo: np.ndarray, hi: np.ndarray, sums: Any, same: Any,
                       collinear: Any, findings: _Findings) -> None:
        """Report constant, duplicated and collinear design columns.

        From each column's ``lo`` and ``hi``, ``sums()``, ``same(a, b)`` (columns
        a and b equal on every row) and ``collinear()`` (:func:`collinear_columns`).
        """
        flat = np.flatnonzero(lo == hi)
        for j in flat.tolist():
            name = self.design_columns[j]
            src = self.design_sources[name]
            findings.error(CovariateError(
                f"Covariate '{src}' is constant: every row has the value {lo[j]:g}"
                + (f" for '{name}'" if name != src else "")
                + ". It cannot explain selection; remove it from `covariates`."
            ))
        if flat.size:
            return
        # Identical columns: compare cheap per-column summaries first, then confirm.
        sums = sums()
        keys: dict[tuple[float, float, float], int] = {}
        for j in range(len(lo)):
            key = (float(sums[j]), float(lo[j]), float(hi[j]))
            if key in keys and same(keys[key], j):
                a, b = self.design_columns[keys[key]], self.design_columns[j]
                sa, sb = self.design_sources[a], self.design_sources[b]
                findings.error(CovariateError(
                    f"Covariate '{sb}' duplicates '{sa}'"
                    + (f" ('{b}' equals '{a}' on every row)" if (a, b) != (sa, sb) else "")
                    + ". Keep only one of them in `covariates`."
                ))
                return
            keys.setdefault(key, j)
        involved = collinear()
        if involved:
            cols = [self.design_columns[j] for j in involved]
            srcs = list(dict.fromkeys(self.design_sources[c] for c in cols))
            shown = ", ".join(f"'{c}'" for c in cols)
            findings.error(CollinearityError(
                f"Covariates {_list_names(srcs)} are perfectly collinear: the design columns "
                f"{shown} are an exact linear combination of each other (with the intercept) on "
                "every row, e.g. a total next to its parts, the same measure in two units, or "
                "categories nested in another covariate's. No model can separate their effects; "
                "remove one of them from `covariates`."
            ))

    def _period_order(
        self, col: pd.Series, given: list[Any] | None, findings: _Findings
    ) -> tuple[Any, ...] | None:
        """Return the periods present, in time order; None when their order is unknown (text labels without ``period_order``)."""
        present = pd.unique(col.dropna()).tolist()
        if given is not None:
            unlisted = [p for p in present if p not in given]
            if unlisted:
                findings.error(PeriodOrderError(
                    f"`period_order` must list every period of column '{self.period}'; it lacks "
                    f"{', '.join(map(repr, unlisted[:5]))} (it lists "
                    f"{', '.join(map(repr, given))}). Add them in time order."
                ))
                return None
            return tuple(p for p in given if p in present)
        dtype = col.dtype
        if isinstance(dtype, pd.CategoricalDtype):
            if dtype.ordered:
                return tuple(p for p in dtype.categories if p in present)
            return None
        if pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_datetime64_any_dtype(dtype):
            return tuple(sorted(present))
        try:
            if all(_is_number(p) for p in present):
                return tuple(sorted(present))
        except TypeError:  # pragma: no cover - mixed types
            return None
        return None

    def ordered_periods(self, *, last: Any = None, option: str = "post",
                        method: str = "did") -> list[Any]:
        """Return the cohort's periods in time order.

        Parameters
        ----------
        last : period value, optional
            A period the caller knows is after the others (e.g. ``post=``):
            with exactly two text periods and no ``period_order`` it fixes
            the order.
        option, method : str
            Named in the error message.

        Raises
        ------
        PeriodOrderError
            The periods are text labels (e.g. "pre"/"post"), whose time order
            cannot be known from the labels, and neither ``period_order`` nor,
            for two periods, ``last`` says it.

        Examples
        --------
        >>> import pandas as pd
        >>> df = pd.DataFrame({"id": [1, 1, 2, 2, 3, 3, 4, 4], "t": [1, 1, 1, 1, 0, 0, 0, 0],
        ...                    "wave": ["pre", "post"] * 4, "y": [0, 1, 0, 1, 0, 0, 1, 1],
        ...                    "x": [1, 1, 2, 2, 3, 3, 4, 4.0]})
        >>> c = Cohort(df, treatment="t", outcome="y", covariates=["x"], unit_id="id",
        ...            period="wave", period_order=["pre", "post"], min_treated=1)
        >>> c.ordered_periods()
        ['pre', 'post']
        """
        if self.period is None:
            raise OptionError("This cohort has no `period`.")
        if self.period_order is not None:
            return list(self.period_order)
        present = pd.unique(self.data[self.period]).tolist()
        if last is not None and len(present) == 2 and last in present:
            return [p for p in present if p != last] + [last]
        labels = ", ".join(repr(p) for p in present[:6])
        raise PeriodOrderError(
            f"`period` column '{self.period}' holds text labels ({labels}), whose time order "
            "cannot be told from the labels (sorted alphabetically 'post' would come before "
            "'pre'). Say it: build the Cohort with period_order=[earliest, ..., latest]"
            + (f", or pass `{option}=` (the later period) to method '{method}'"
               if len(present) == 2 else "")
            + ", or code the periods as numbers (e.g. 0 before, 1 after)."
        )

    def period_rank(self) -> np.ndarray:
        """Each row's period as its position in :meth:`ordered_periods` (0 = earliest)."""
        order = self.ordered_periods()
        rank = {p: i for i, p in enumerate(order)}
        return pd.Series(self.data[self.period]).map(rank).to_numpy(dtype=np.int64)

    def _check_ids(self, frame: pd.DataFrame, findings: _Findings) -> None:
        uid = self.unit_id
        assert uid is not None
        ids = frame[uid]
        if self.period is None:
            dup = ids.duplicated(keep=False).to_numpy()
            if not dup.any():
                return
            d_ids = ids[dup]
            cont = _varying_within(self.t[dup], d_ids.to_numpy())
            uniq = pd.unique(d_ids)
            self._report_ids(len(cont), list(cont[:3]), len(uniq), list(uniq[:3]), findings)
        else:
            keyed = frame[[uid, self.period]]
            dup = keyed.duplicated(keep=False).to_numpy()
            if dup.any():
                self._report_panel_duplicates(int(dup.sum()),
                                              keyed[dup].head(2).to_numpy().tolist(), findings)
                return
            cont = _varying_within(self.t, ids.to_numpy())
            self._report_ids(len(cont), list(cont[:3]), 0, [], findings)

    def _report_ids(self, n_mixed: int, mixed: Sequence[Any], n_repeated: int,
                    repeated: Sequence[Any], findings: _Findings) -> None:
        """Report units in both groups, else repeated identifiers.

        ``n_mixed`` units in both groups (``mixed``: the first, in sorted order);
        ``n_repeated`` repeated identifiers (``repeated``: the first, in the order found).
        """
        uid = self.unit_id
        if n_mixed and self.period is None:
            findings.error(ContaminationError(
                f"`unit_id` column '{uid}': {_plural(n_mixed, 'unit')} appear in both the "
                f"treated and the comparison group (e.g. {_list_names([str(v) for v in mixed])}). "
                "Programme participants must be removed from the comparison pool."
            ))
        elif n_mixed:
            findings.error(ContaminationError(
                f"`unit_id` column '{uid}': {_plural(n_mixed, 'unit')} are treated in some "
                f"periods and comparison in others (e.g. {_list_names([str(v) for v in mixed])}). "
                "Treatment must mark the group a unit belongs to, constant over periods; "
                "programme participants must be removed from the comparison pool."
            ))
        elif n_repeated:
            findings.error(DuplicateIdError(
                f"`unit_id` column '{uid}' has {_plural(n_repeated, 'repeated identifier')} "
                f"(e.g. {_list_names([str(v) for v in repeated])}); each unit must appear once. "
                "Remove duplicate rows, or pass `period` if the data has one row per period."
            ))

    def _report_panel_duplicates(self, n_rows: int, examples: list[Any],
                                 findings: _Findings) -> None:
        findings.error(DuplicateIdError(
            f"`unit_id` '{self.unit_id}' with `period` '{self.period}' is repeated "
            f"({n_rows:,} rows, e.g. {examples}); each unit must have one row per period."
        ))

    def _check_first_treated(self, frame: pd.DataFrame, findings: _Findings) -> None:
        """Return the first-treatment period: numeric, constant within a unit, agreeing with ``treatment``."""
        col, uid = self.first_treated, self.unit_id
        assert col is not None and uid is not None
        values = frame[col]
        if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
            example = values[~values.astype(str).str.fullmatch(r"-?\d+(\.\d+)?")].head(1).tolist()
            findings.error(TreatmentError(
                f"`first_treated` column '{col}' must hold the period each unit was first treated "
                f"as a number (0 for never treated); found {values.dtype} values"
                + (f" such as {example[0]!r}" if example else "") + ". Code the periods as "
                "numbers (e.g. years or 1, 2, 3...)."
            ))
            return
        v = values.to_numpy(dtype=float)
        ids = frame[uid].to_numpy()
        varies = _varying_within(v, ids)
        if len(varies):
            findings.error(TreatmentError(
                f"`first_treated` column '{col}' changes over periods for "
                f"{_plural(len(varies), 'unit')} (e.g. {_list_names([str(u) for u in varies[:3]])}); "
                "it must give each unit's first treatment period on every row."
            ))
            return
        if (v < 0).any():
            findings.error(TreatmentError(
                f"`first_treated` column '{col}' has negative values (e.g. {v[v < 0][0]:g}); use "
                "0 for never-treated units and the first treatment period otherwise."
            ))
            return
        ever = v != 0
        bad = ever != self.t
        if bad.any():
            ex = pd.unique(ids[bad])[:3]
            findings.error(TreatmentError(
                f"`treatment` column '{self.treatment}' and `first_treated` column '{col}' "
                f"disagree for {_plural(int(pd.unique(ids[bad]).size), 'unit')} (e.g. "
                f"{_list_names([str(u) for u in ex])}): treatment must be 1 exactly for units with "
                "a first treatment period and 0 for those with 0 (never treated)."
            ))

    def _check_time_to_event(self, frame: pd.DataFrame, findings: _Findings) -> pd.DataFrame:
        """Convert the time-to-event outcomes' dates and check their columns."""
        converted: dict[str, pd.Series] = {}
        bad: set[str] = set()
        for name, spec in self.time_to_event.items():
            problems: list[TimeToEventError] = []
            converted.update(to_dates(frame, spec, name, problems))
            if not problems:
                problems = check_frame(frame.assign(**converted), spec, name, self.t)
            for err in problems:
                findings.error(err)
            if problems:
                bad.add(name)
        self.time_to_event = {k: s for k, s in self.time_to_event.items() if k not in bad}
        return frame.assign(**converted) if converted else frame

    def time_event(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """Return a time-to-event outcome's times and event indicators.

        Times are in the outcome's unit, events 1.0 or 0.0, aligned with :attr:`t`.

        Examples
        --------
        >>> import pandas as pd
        >>> df = pd.DataFrame({"t": [1, 1, 0, 0], "x": [1., 2, 3, 5],
        ...                    "released": pd.to_datetime(["2023-01-01"] * 4),
        ...                    "reoffence": pd.to_datetime(["2023-01-31", None, "2023-03-02", None])})
        >>> c = Cohort(df, treatment="t", covariates=["x"], min_treated=1, time_to_event={
        ...     "reoffence": TimeToEvent(start="released", event_date="reoffence",
        ...                              end=pd.Timestamp("2024-01-01"), window=365)})
        >>> time, event = c.time_event("reoffence")
        >>> time.tolist(), event.tolist()
        ([30.0, 365.0, 60.0, 365.0], [1.0, 0.0, 1.0, 0.0])
        """
        if name not in self.time_to_event:
            raise OptionError(
                f"`outcome` must be a time-to-event outcome of this cohort "
                f"({_list_names(list(self.time_to_event)) or 'it has none'}); got {name!r}."
            )
        return _times_from_frame(self.data, self.time_to_event[name])

    def _n_units(self, frame: pd.DataFrame, treated: bool) -> int:
        assert self.unit_id is not None
        mask = self.t if treated else ~self.t
        return int(pd.unique(frame[self.unit_id].to_numpy()[mask]).size)

    # ------------------------------------------------------------- accessors
    @property
    def n(self) -> int:
        """Number of rows used."""
        return int(self.t.size)

    @property
    def n_treated(self) -> int:
        """Number of treated units used (rows; distinct units for panel data)."""
        if self.period is not None:
            return self._n_units(self.data, True)
        return int(self.t.sum())

    @property
    def n_comparison(self) -> int:
        """Number of comparison units used (rows; distinct units for panel data)."""
        if self.period is not None:
            return self._n_units(self.data, False)
        return int(self.t.size - self.t.sum())

    @property
    def n_dropped(self) -> int:
        """Number of input rows left out by the cohort."""
        return sum(d.n for d in self.dropped)

    @property
    def is_panel(self) -> bool:
        """Whether the cohort holds before/after (long-format) data."""
        return self.period is not None

    def y(self, outcome: str) -> np.ndarray:
        """Return the outcome as a float array aligned with :attr:`t`."""
        if outcome not in self.outcomes:
            raise OptionError(
                f"`outcome` must be one of {_list_names(self.outcomes)}; got {outcome!r}."
            )
        return self.data[outcome].to_numpy(dtype=float)

    def column(self, name: str) -> np.ndarray:
        """Any role column as a numpy array aligned with :attr:`t`."""
        return self.data[name].to_numpy()

    @property
    def index(self) -> pd.Index:
        """Index labels (from the caller's DataFrame) of the rows used."""
        return self.data.index

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the rows and role columns used (order-sensitive).

        Numeric columns are hashed from their raw bytes and text columns from
        their values joined by NUL, so the fingerprint of a million-row
        cohort takes a fraction of a second.
        """
        if self._fingerprint is None:
            self._fingerprint = _frame_sha256(self.data)
        return self._fingerprint

    def roles(self) -> dict[str, Any]:
        """Return the role arguments, suitable for rebuilding the cohort."""
        return {
            "treatment": self.treatment,
            "outcome": list(self.outcomes),
            "covariates": list(self.covariates),
            "unit_id": self.unit_id,
            "cluster": self.cluster,
            "period": self.period,
            "missing": self.missing,
            "min_treated": self.min_treated,
            **({"period_order": list(self.period_order or ())}
               if getattr(self, "period_order", None) is not None else {}),
            **({"max_levels": self.max_levels}
               if getattr(self, "max_levels", DEFAULT_MAX_LEVELS) != DEFAULT_MAX_LEVELS else {}),
            **({"first_treated": self.first_treated}
               if getattr(self, "first_treated", None) is not None else {}),
            **({"time_to_event": {k: s.to_dict() for k, s in self.time_to_event.items()}}
               if getattr(self, "time_to_event", None) else {}),
        }

    def describe(self) -> dict[str, Any]:
        """Return a plain summary used in results' ``info``."""
        return {
            "n_input_rows": self.n_input_rows,
            "n_rows": self.n,
            "n_treated": self.n_treated,
            "n_comparison": self.n_comparison,
            "dropped": [d.to_dict() for d in self.dropped],
            "outcome_types": dict(self.outcome_types),
            "notes": list(getattr(self, "notes", [])),
            "fingerprint": self.fingerprint,
            **self.roles(),
        }

    def take(
        self,
        rows: np.ndarray,
        *,
        columns: Mapping[str, np.ndarray] | None = None,
        keep: Sequence[str] | None = None,
        buffers: WorkBuffers | None = None,
    ) -> Cohort:
        """Return a cohort of this cohort's rows ``rows`` (repeats allowed), without re-checking.

        The fast path for resampling (:mod:`pbr_eval.bootstrap`): the rows
        were validated when this cohort was built, so no check is repeated.
        Design checks (constant covariates) are *not* run either: an
        estimator meeting a degenerate resample raises as usual.

        Parameters
        ----------
        rows : numpy.ndarray
            Row numbers (0 to ``n - 1``), in the order wanted.
        columns : mapping of str to numpy.ndarray, optional
            Replacement values for role columns, e.g. re-labelled ``unit_id``
            or ``cluster`` so that a unit drawn twice counts as two units.
        keep : sequence of str, optional
            Copy only these data columns (plus ``columns``) into the new
            cohort's ``data``; the design matrix ``X``, ``t`` and the roles
            are complete regardless. For an estimator that reads nothing else
            (``Estimator.replicate_columns``) this skips copying e.g. text
            covariates already encoded in ``X``; the result then lacks the
            other columns in ``data``.
        buffers : WorkBuffers, optional
            Write ``X`` into ``buffers.array("X", ...)`` instead of fresh
            memory. The cohort is then valid only until the next one built
            with the same buffers.

        Returns
        -------
        Cohort
            With a fresh ``RangeIndex``. Its fingerprint is the SHA-256 of
            this cohort's fingerprint, ``rows`` and ``columns``, whatever
            ``keep`` is.

        Raises
        ------
        OptionError
            If ``rows`` are not integer row numbers of this cohort.

        Examples
        --------
        >>> from pbr_eval.datasets import load_reoffending
        >>> sim = load_reoffending()
        >>> cohort = Cohort(sim.data, **sim.cohort_args)
        >>> half = cohort.take(np.arange(0, cohort.n, 2))
        >>> half.n == (cohort.n + 1) // 2, half.fingerprint != cohort.fingerprint
        (True, True)
        """
        parent = self
        given = np.asarray(rows)
        if given.ndim != 1 or given.dtype.kind not in "iu" or (
                given.size and (int(given.min()) < 0 or int(given.max()) >= self.n)):
            raise OptionError(
                f"`rows` must be a 1-D array of integer row numbers from 0 to {self.n - 1}; got "
                f"shape {given.shape}, type {given.dtype}"
                + (f", range {given.min()} to {given.max()}" if given.size else "") + "."
            )
        rows = given.astype(np.intp, copy=False)
        out = type(self).__new__(type(self))
        for name in ("min_treated", "treatment", "outcomes", "covariates", "unit_id", "cluster",
                     "period", "missing", "dropped", "outcome_types", "design_columns",
                     "design_sources", "binary_columns", "period_order", "notes", "max_levels",
                     "first_treated", "time_to_event"):
            object.__setattr__(out, name, getattr(parent, name))
        out.n_input_rows = int(rows.size)
        extra = columns or {}
        if keep is None:
            data = parent.data.iloc[rows].reset_index(drop=True)
        else:
            # column by column with numpy takes: no pandas block reindexing
            wanted = [c for c in dict.fromkeys(keep) if c not in extra]
            data = pd.DataFrame(
                {c: parent.data[c].array.take(rows) if not isinstance(
                    parent.data[c].dtype, np.dtype) else parent.data[c].to_numpy()[rows]
                 for c in wanted},
                index=pd.RangeIndex(rows.size), copy=False,
            )
        for name, values in extra.items():
            data[name] = values
        out.data = data
        out.t = parent.t[rows]
        # np.take, not X[rows]: the same rows, ten times faster for a 2-D array
        if buffers is None:
            out.X = np.take(parent.X, rows, axis=0)
        else:
            # Fresh pages are slow to fault in on some VMs: reuse one buffer.
            # (mode="clip" is unbuffered; the rows are valid, so nothing is clipped)
            buf = buffers.array("X", rows.size, parent.X.shape[1])
            out.X = np.take(parent.X, rows, axis=0, out=buf, mode="clip")
        h = hashlib.sha256(parent.fingerprint.encode())
        h.update(rows.tobytes())
        for name, values in sorted((columns or {}).items()):
            h.update(name.encode())
            h.update(pd.util.hash_array(np.asarray(values)).tobytes())
        out._fingerprint = h.hexdigest()
        return out

    def at_period(self, value: Any) -> Cohort:
        """Return a cross-sectional cohort holding one period of a panel cohort.

        Parameters
        ----------
        value
            The period to keep (e.g. ``1`` for the post-programme period).

        Raises
        ------
        OptionError
            If the cohort has no ``period`` or ``value`` is not one of its periods.
        """
        if self.period is None:
            raise OptionError("`at_period` needs a cohort built with `period`; this one has none.")
        periods = pd.unique(self.data[self.period])
        if value not in set(periods.tolist()):
            raise OptionError(
                f"`period` must be one of {', '.join(map(repr, sorted(periods.tolist())))}; "
                f"got {value!r}."
            )
        sub = self.data.loc[(self.data[self.period] == value).to_numpy()]
        roles = self.roles()
        roles["period"] = None
        roles.pop("period_order", None)
        roles.pop("first_treated", None)
        roles.pop("time_to_event", None)
        out = Cohort(sub, outcome_types=self.outcome_types, **roles)
        object.__setattr__(out, "dropped", self.dropped)
        out.n_input_rows = self.n_input_rows
        return out

    def __repr__(self) -> str:
        extra = f", dropped={self.n_dropped}" if self.dropped else ""
        return (
            f"Cohort(n_treated={self.n_treated}, n_comparison={self.n_comparison}, "
            f"outcomes={self.outcomes}, covariates={len(self.covariates)}{extra})"
        )


def _frame_sha256(frame: pd.DataFrame) -> str:
    h = hashlib.sha256()
    h.update(str(len(frame)).encode())
    for name in frame.columns:
        col = frame[name]
        h.update(f"|{name}:{col.dtype}|".encode())
        if pd.api.types.is_numeric_dtype(col.dtype) and not isinstance(
            col.dtype, pd.CategoricalDtype
        ):
            values = col.to_numpy()
            if values.dtype == object:  # nullable dtypes with missing values
                values = col.to_numpy(dtype=float, na_value=np.nan)
            h.update(np.ascontiguousarray(values).data)
        else:
            # missing values (e.g. no event date) as one marker: astype(str) keeps them NaN
            text = "\x00".join(col.astype(str).fillna("\x01NA").tolist())
            h.update(text.encode("utf-8", "surrogatepass"))
    return h.hexdigest()


@dataclass(frozen=True)
class _DesignStats:
    """Per design column: smallest and largest value, sum, and whether it holds only 0 and 1."""

    lo: np.ndarray
    hi: np.ndarray
    sums: np.ndarray
    zero_one: np.ndarray


def _design_matrix(columns: Sequence[np.ndarray], n: int, *,
                   block: int = 16_384) -> tuple[np.ndarray, _DesignStats]:
    """Build the design matrix (C order, float64) from its columns, with each column's checks.

    One allocation, filled a block of rows at a time (the block's rows stay in cache
    while each column is written in: about twice as fast as ``np.hstack`` of the
    columns); the per-column figures come from the one-dimensional columns, where
    numpy's reductions are vectorised (a reduction down a column of a row-major
    matrix is not). Same values as ``X.min(axis=0)``, ``X.max(axis=0)`` and
    :func:`zero_one_columns`; the sums may differ in the last bits from ``X.sum(axis=0)``
    (they only pick out candidate duplicate columns, confirmed value by value).
    """
    p = len(columns)
    X = np.empty((n, p))
    for start in range(0, n, block):
        Xb = X[start:start + block]
        for j, col in enumerate(columns):
            Xb[:, j] = col[start:start + block]
    lo, hi, sums = np.full(p, np.nan), np.full(p, np.nan), np.zeros(p)
    zero_one = np.zeros(p, dtype=bool)
    for j, col in enumerate(columns):
        if n == 0:
            zero_one[j] = True
            continue
        lo[j], hi[j], sums[j] = col.min(), col.max(), col.sum(dtype=float)
        if lo[j] in (0.0, 1.0) and hi[j] in (0.0, 1.0):
            zero_one[j] = lo[j] == hi[j] or col.dtype == bool or _is_binary(col)
    return X, _DesignStats(lo=lo, hi=hi, sums=sums, zero_one=zero_one)


def zero_one_columns(X: np.ndarray, *, block: int = 65_536,
                     columns: np.ndarray | None = None) -> np.ndarray:
    """Return which columns of ``X`` hold only 0 and 1 (a boolean mask), in one pass over the rows.

    The same answer as :func:`_is_binary` column by column, but reading ``X`` block by
    block (a column of a row-major matrix read alone touches every row's cache line):
    a column leaves the candidates at its first other value, so continuous columns
    cost only the first block.

    Parameters
    ----------
    X : numpy.ndarray
        A two-dimensional array of numbers (rows by columns); NaN counts as another value.
    block : int, default 65,536
        Rows read at a time.
    columns : numpy.ndarray of int, optional
        Test only these column positions (the others come out False); default all.

    Returns
    -------
    numpy.ndarray
        One boolean per column: True when every value in it is 0 or 1.

    Examples
    --------
    >>> import numpy as np
    >>> zero_one_columns(np.array([[0.0, 1.5, 1.0], [1.0, 0.0, np.nan]])).tolist()
    [True, False, False]
    """
    n, p = X.shape
    cand = np.arange(p) if columns is None else np.asarray(columns, dtype=np.intp)
    for start in range(0, max(n, 1), block):
        if cand.size == 0:
            break
        Xb = X[start:start + block][:, cand]
        cand = cand[((Xb == 0.0) | (Xb == 1.0)).all(axis=0)]
    out = np.zeros(p, dtype=bool)
    out[cand] = True
    return out


def _is_binary(x: np.ndarray) -> bool:
    # a continuous column almost always shows a value other than 0 and 1 in its first
    # rows: looking there first saves the full scan (and its temporaries) for it
    head = x[:1024]
    if not ((head == 0.0) | (head == 1.0)).all():
        return False
    return bool(((x == 0.0) | (x == 1.0)).all())
