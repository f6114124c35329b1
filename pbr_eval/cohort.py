"""The validated data container every estimator works from.

:class:`Cohort` takes the user's DataFrame and the role of each column
(treatment, outcome(s), covariates, unit identifier, cluster, period), checks
everything once, and holds the arrays the estimators need. Estimators trust a
Cohort and never re-check the data.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from pbr_eval.exceptions import (
    ContaminationError,
    CovariateError,
    DataError,
    DuplicateIdError,
    InfiniteValueError,
    MissingColumnError,
    MissingValueError,
    OptionError,
    OutcomeTypeError,
    SmallCohortError,
    TreatmentError,
)
from pbr_eval.options import (
    DEFAULT_MIN_TREATED,
    MISSING,
    OUTCOME_TYPES,
    check_choice,
    check_columns,
    check_int,
)

__all__ = ["Cohort", "DroppedRows"]


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
    """

    n: int
    reason: str
    stage: str = "cohort"

    def to_dict(self) -> dict[str, Any]:
        return {"n": self.n, "reason": self.reason, "stage": self.stage}


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
    min_treated : int, default 30
        Fewer treated units than this raises :class:`SmallCohortError`. The
        Justice Data Lab asks for at least 60.
    outcome_types : dict, optional
        Force an outcome's type: ``{"events": "count"}``. Types are
        ``"binary"``, ``"count"`` and ``"continuous"``.

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

    Raises
    ------
    MissingColumnError
        A role names a column that is not in ``data``.
    TreatmentError
        The treatment is not 0/1 or boolean, or only one group is present.
    MissingValueError
        Missing values in a role column with ``missing="error"``.
    InfiniteValueError
        An infinite value in a numeric role column.
    OutcomeTypeError
        A non-numeric outcome.
    CovariateError
        A constant covariate, or one that duplicates another.
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

    def __init__(
        self,
        data: pd.DataFrame,
        *,
        treatment: str,
        outcome: str | Sequence[str],
        covariates: Sequence[str],
        unit_id: str | None = None,
        cluster: str | None = None,
        period: str | None = None,
        missing: str = "error",
        min_treated: int = DEFAULT_MIN_TREATED,
        outcome_types: Mapping[str, str] | None = None,
    ) -> None:
        if not isinstance(data, pd.DataFrame):
            raise DataError(
                f"`data` must be a pandas DataFrame; got {type(data).__name__}. "
                "Read your file with pandas (or pbr_eval.io.read_data) first."
            )
        check_choice("missing", missing, MISSING)
        self.min_treated = check_int("min_treated", min_treated, minimum=1)
        if not isinstance(treatment, str):
            raise OptionError(f"`treatment` must be one column name; got {treatment!r}.")
        outcomes = check_columns("outcome", outcome)
        covs = check_columns("covariates", covariates)
        if not outcomes:
            raise OptionError("`outcome` must name at least one column; got none.")
        for name, val in (("unit_id", unit_id), ("cluster", cluster), ("period", period)):
            if val is not None and not isinstance(val, str):
                raise OptionError(f"`{name}` must be one column name or None; got {val!r}.")
        if period is not None and unit_id is None:
            raise OptionError(
                "`period` needs `unit_id`: panel data has one row per unit and period, "
                "so name the column identifying each unit."
            )

        self.treatment = treatment
        self.outcomes: list[str] = outcomes
        self.covariates: list[str] = covs
        self.unit_id = unit_id
        self.cluster = cluster
        self.period = period
        self.missing = missing

        self._check_roles(data)
        self.n_input_rows = int(len(data))
        frame = data.loc[:, self._role_columns()]  # a new frame: the caller's is untouched
        dropped: list[DroppedRows] = []
        frame = self._handle_missing(frame, dropped)
        self.dropped: tuple[DroppedRows, ...] = tuple(dropped)

        self.t = self._check_treatment(frame[treatment])
        self._check_infinite(frame)
        self.outcome_types = self._outcome_types(frame, outcome_types)
        self.X, self.design_columns, self.design_sources = self._design(frame)
        self._check_design()
        self.binary_columns = [
            c for j, c in enumerate(self.design_columns) if _is_binary(self.X[:, j])
        ]
        if unit_id is not None:
            self._check_ids(frame)
        n_treated = int(self.t.sum()) if period is None else self._n_units(frame, True)
        if n_treated < self.min_treated:
            raise SmallCohortError(
                f"`{treatment}` marks {_plural(n_treated, 'treated unit')}; at least "
                f"{self.min_treated} are needed for a stable estimate. Add more programme "
                "participants, or lower `min_treated` if you accept a very wide interval "
                "(the Justice Data Lab asks for 60)."
            )
        self.data = frame
        self._fingerprint: str | None = None

    # ------------------------------------------------------------------ checks
    def _role_columns(self) -> list[str]:
        cols = [self.treatment, *self.outcomes, *self.covariates]
        for c in (self.unit_id, self.cluster, self.period):
            if c is not None:
                cols.append(c)
        seen: list[str] = []
        for c in cols:
            if c not in seen:
                seen.append(c)
        return seen

    def _check_roles(self, data: pd.DataFrame) -> None:
        roles: list[tuple[str, str]] = [("treatment", self.treatment)]
        roles += [("outcome", c) for c in self.outcomes]
        roles += [("covariates", c) for c in self.covariates]
        roles += [(r, c) for r, c in (("unit_id", self.unit_id), ("cluster", self.cluster),
                                       ("period", self.period)) if c is not None]
        for role, col in roles:
            if col not in data.columns:
                available = [str(c) for c in data.columns]
                raise MissingColumnError(
                    f"`{role}` names column '{col}', which is not in the data. "
                    f"Available columns: {_list_names(available, 12)}."
                )
        dup_cov = [c for c in set(self.covariates) if self.covariates.count(c) > 1]
        if dup_cov:
            raise CovariateError(
                f"`covariates` lists {_list_names(sorted(dup_cov))} more than once; list each once."
            )
        structural = {self.treatment, *(c for c in (self.unit_id, self.period) if c)}
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
        if self.data_columns_duplicated(data):
            raise DataError("The data has duplicated column names; rename them to be unique.")

    @staticmethod
    def data_columns_duplicated(data: pd.DataFrame) -> bool:
        return bool(pd.Index(data.columns).duplicated().any())

    def _handle_missing(self, frame: pd.DataFrame, dropped: list[DroppedRows]) -> pd.DataFrame:
        na = frame.isna()
        counts = na.sum()
        counts = counts[counts > 0]
        if counts.empty:
            return frame
        rows = na.any(axis=1)
        n_rows = int(rows.sum())
        detail = ", ".join(f"{c} ({int(n):,})" for c, n in counts.items())
        if self.missing == "error":
            raise MissingValueError(
                f"Missing values in {detail}: {_plural(n_rows, 'row')} affected. "
                "Fill them in, or pass missing='drop' to leave those rows out "
                "(the count is reported in every result)."
            )
        dropped.append(DroppedRows(n_rows, f"missing values in {detail}"))
        return frame.loc[~rows.to_numpy()]

    def _check_treatment(self, col: pd.Series) -> np.ndarray:
        name = self.treatment
        values = col.to_numpy()
        if pd.api.types.is_bool_dtype(col.dtype):
            t = values.astype(bool)
        elif pd.api.types.is_numeric_dtype(col.dtype):
            vals = pd.unique(col)
            bad = [v for v in vals if v not in (0, 1)]
            if bad:
                shown = ", ".join(_show(v) for v in sorted(bad, key=str)[:5])
                raise TreatmentError(
                    f"`treatment` column '{name}' must hold 0/1 or True/False; found {shown}. "
                    "Recode it so 1 marks programme participants and 0 the comparison pool."
                )
            t = values == 1
        else:
            shown = ", ".join(_show(v) for v in list(pd.unique(col))[:5])
            raise TreatmentError(
                f"`treatment` column '{name}' must hold 0/1 or True/False; found values "
                f"{shown} (type {col.dtype}). Recode it so 1 marks programme participants."
            )
        n1 = int(t.sum())
        if n1 == 0 or n1 == len(t):
            which = "no treated (1) rows" if n1 == 0 else "no comparison (0) rows"
            raise TreatmentError(
                f"`treatment` column '{name}' has only one group: {which} among "
                f"{_plural(len(t), 'row')}. Both programme participants and a comparison pool "
                "are needed (for a before/after-only design use method='baseline')."
            )
        return np.ascontiguousarray(t, dtype=bool)

    def _check_infinite(self, frame: pd.DataFrame) -> None:
        for c in [*self.outcomes, *self.covariates]:
            s = frame[c]
            if pd.api.types.is_float_dtype(s.dtype):
                n = int(np.isinf(s.to_numpy(dtype=float, na_value=np.nan)).sum())
                if n:
                    raise InfiniteValueError(
                        f"Column '{c}' holds {_plural(n, 'infinite value')} (inf or -inf). "
                        "Replace them with real values or mark them missing."
                    )

    def _outcome_types(
        self, frame: pd.DataFrame, given: Mapping[str, str] | None
    ) -> dict[str, str]:
        given = dict(given or {})
        unknown = set(given) - set(self.outcomes)
        if unknown:
            raise OptionError(
                f"`outcome_types` names {_list_names(sorted(unknown))}, which "
                f"{'is' if len(unknown) == 1 else 'are'} not an outcome; outcomes are "
                f"{_list_names(self.outcomes)}."
            )
        types: dict[str, str] = {}
        for c in self.outcomes:
            s = frame[c]
            if pd.api.types.is_bool_dtype(s.dtype):
                detected = "binary"
            elif not pd.api.types.is_numeric_dtype(s.dtype):
                shown = ", ".join(_show(v) for v in list(pd.unique(s))[:3])
                raise OutcomeTypeError(
                    f"`outcome` column '{c}' must be numeric (0/1 for a rate, a count or a "
                    f"measurement); found type {s.dtype} with values such as {shown}. "
                    "Recode it as numbers."
                )
            else:
                v = s.to_numpy(dtype=float)
                if _is_binary(v):
                    detected = "binary"
                elif (v >= 0).all() and (np.floor(v) == v).all():
                    detected = "count"
                else:
                    detected = "continuous"
            if c in given:
                want = check_choice(f"outcome_types['{c}']", given[c], OUTCOME_TYPES)
                v = s.to_numpy(dtype=float)
                if want == "binary" and detected != "binary":
                    raise OutcomeTypeError(
                        f"`outcome_types` says '{c}' is binary, but it holds values other "
                        "than 0 and 1."
                    )
                if want == "count" and detected == "continuous":
                    raise OutcomeTypeError(
                        f"`outcome_types` says '{c}' is a count, but it holds negative or "
                        "non-integer values."
                    )
                detected = want
            types[c] = detected
        return types

    def _design(self, frame: pd.DataFrame) -> tuple[np.ndarray, list[str], dict[str, str]]:
        blocks: list[np.ndarray] = []
        names: list[str] = []
        sources: dict[str, str] = {}
        n = len(frame)
        for c in self.covariates:
            s = frame[c]
            if pd.api.types.is_bool_dtype(s.dtype):
                blocks.append(s.to_numpy(dtype=float).reshape(n, 1))
                names.append(c)
                sources[c] = c
            elif pd.api.types.is_numeric_dtype(s.dtype) and not isinstance(
                s.dtype, pd.CategoricalDtype
            ):
                blocks.append(s.to_numpy(dtype=float).reshape(n, 1))
                names.append(c)
                sources[c] = c
            elif isinstance(s.dtype, pd.CategoricalDtype) or pd.api.types.is_object_dtype(
                s.dtype
            ) or pd.api.types.is_string_dtype(s.dtype):
                if isinstance(s.dtype, pd.CategoricalDtype):
                    cat = s.cat.remove_unused_categories()
                else:
                    try:
                        levels = sorted(pd.unique(s))
                    except TypeError as err:
                        raise CovariateError(
                            f"Covariate '{c}' mixes text and numbers; make it one type."
                        ) from err
                    cat = pd.Categorical(s, categories=levels)
                    cat = pd.Series(cat, index=s.index)
                levels = list(cat.cat.categories)
                if len(levels) < 2:
                    raise CovariateError(
                        f"Covariate '{c}' is constant: every row has the value "
                        f"{levels[0]!r}. It cannot explain selection; remove it from `covariates`."
                    )
                codes = cat.cat.codes.to_numpy()
                dummies = (codes[:, None] == np.arange(1, len(levels))[None, :]).astype(float)
                blocks.append(dummies)
                for lev in levels[1:]:
                    nm = f"{c}[{lev}]"
                    names.append(nm)
                    sources[nm] = c
            else:
                raise CovariateError(
                    f"Covariate '{c}' has type {s.dtype}, which cannot be used; expected numbers, "
                    "True/False, text categories or a pandas Categorical."
                )
        X = np.hstack(blocks) if blocks else np.empty((n, 0))
        return np.ascontiguousarray(X, dtype=float), names, sources

    def _check_design(self) -> None:
        X = self.X
        if X.shape[1] == 0:
            return
        lo, hi = X.min(axis=0), X.max(axis=0)
        for j in np.flatnonzero(lo == hi):
            name = self.design_columns[j]
            src = self.design_sources[name]
            raise CovariateError(
                f"Covariate '{src}' is constant: every row has the value {lo[j]:g}"
                + (f" for '{name}'" if name != src else "")
                + ". It cannot explain selection; remove it from `covariates`."
            )
        # Identical columns: compare cheap per-column summaries first, then confirm.
        sums = X.sum(axis=0)
        keys: dict[tuple[float, float, float], int] = {}
        for j in range(X.shape[1]):
            key = (float(sums[j]), float(lo[j]), float(hi[j]))
            if key in keys and np.array_equal(X[:, keys[key]], X[:, j]):
                a, b = self.design_columns[keys[key]], self.design_columns[j]
                sa, sb = self.design_sources[a], self.design_sources[b]
                raise CovariateError(
                    f"Covariate '{sb}' duplicates '{sa}'"
                    + (f" ('{b}' equals '{a}' on every row)" if (a, b) != (sa, sb) else "")
                    + ". Keep only one of them in `covariates`."
                )
            keys.setdefault(key, j)

    def _check_ids(self, frame: pd.DataFrame) -> None:
        uid = self.unit_id
        assert uid is not None
        ids = frame[uid]
        if self.period is None:
            dup = ids.duplicated(keep=False).to_numpy()
            if not dup.any():
                return
            d_ids = ids[dup]
            d_t = self.t[dup]
            both = pd.Series(d_t).groupby(d_ids.to_numpy()).agg(["min", "max"])
            cont = both.index[(both["min"] != both["max"]).to_numpy()]
            if len(cont):
                raise ContaminationError(
                    f"`unit_id` column '{uid}': {_plural(len(cont), 'unit')} appear in both the "
                    f"treated and the comparison group (e.g. {_list_names([str(v) for v in cont[:3]])}). "
                    "Programme participants must be removed from the comparison pool."
                )
            uniq = pd.unique(d_ids)
            raise DuplicateIdError(
                f"`unit_id` column '{uid}' has {_plural(len(uniq), 'repeated identifier')} "
                f"(e.g. {_list_names([str(v) for v in uniq[:3]])}); each unit must appear once. "
                "Remove duplicate rows, or pass `period` if the data has one row per period."
            )
        else:
            keyed = frame[[uid, self.period]]
            dup = keyed.duplicated(keep=False).to_numpy()
            if dup.any():
                ex = keyed[dup].head(2).to_numpy().tolist()
                raise DuplicateIdError(
                    f"`unit_id` '{uid}' with `period` '{self.period}' is repeated "
                    f"({int(dup.sum()):,} rows, e.g. {ex}); each unit must have one row per period."
                )
            g = pd.Series(self.t).groupby(ids.to_numpy())
            agg = g.agg(["min", "max"])
            cont = agg.index[(agg["min"] != agg["max"]).to_numpy()]
            if len(cont):
                raise ContaminationError(
                    f"`unit_id` column '{uid}': {_plural(len(cont), 'unit')} are treated in some "
                    f"periods and comparison in others (e.g. {_list_names([str(v) for v in cont[:3]])}). "
                    "Treatment must mark the group a unit belongs to, constant over periods; "
                    "programme participants must be removed from the comparison pool."
                )

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
        """The outcome as a float array aligned with :attr:`t`."""
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
        """The role arguments, suitable for rebuilding the cohort."""
        return {
            "treatment": self.treatment,
            "outcome": list(self.outcomes),
            "covariates": list(self.covariates),
            "unit_id": self.unit_id,
            "cluster": self.cluster,
            "period": self.period,
            "missing": self.missing,
            "min_treated": self.min_treated,
        }

    def describe(self) -> dict[str, Any]:
        """A plain summary used in results' ``info``."""
        return {
            "n_input_rows": self.n_input_rows,
            "n_rows": self.n,
            "n_treated": self.n_treated,
            "n_comparison": self.n_comparison,
            "dropped": [d.to_dict() for d in self.dropped],
            "outcome_types": dict(self.outcome_types),
            "fingerprint": self.fingerprint,
            **self.roles(),
        }

    @classmethod
    def _from_validated(
        cls,
        parent: Cohort,
        rows: np.ndarray,
        *,
        columns: Mapping[str, np.ndarray] | None = None,
        keep: Sequence[str] | None = None,
        scratch: dict[str, Any] | None = None,
    ) -> Cohort:
        """A cohort of ``parent``'s rows ``rows`` (repeats allowed), without re-checking.

        Private fast path for resampling (the bootstrap): the rows were
        validated when ``parent`` was built, so no check is repeated. The
        result has a fresh ``RangeIndex``; ``columns`` replaces role columns
        (e.g. re-labelled ``unit_id`` / ``cluster`` so repeated draws are
        distinct units). Design checks (constant covariates) are *not* run:
        an estimator meeting a degenerate replicate raises as usual. The
        fingerprint is the SHA-256 of the parent's fingerprint and ``rows``
        (and of ``columns``), whatever ``keep`` is.

        ``keep``: copy only these data columns (plus ``columns``) into the
        new cohort's ``data``; the design matrix ``X``, ``t`` and the roles
        are complete regardless. For an estimator that reads nothing else
        (the bootstrap asks it which columns it reads), this skips copying
        e.g. text covariates already encoded in ``X``. The result is then
        not a full cohort: ``data`` lacks the other role columns.

        ``scratch``: a dict of work buffers reused from one replicate to the
        next (the bootstrap passes one per batch of replicates): ``X`` is
        written into ``scratch["X"]`` instead of fresh memory, and the cohort
        carries ``scratch`` on to the propensity fit's work buffer, and its
        source (``parent.X``, ``parent.t``, ``rows``) so that a replicate
        propensity fit can use the distinct rows with multiplicity weights. A
        cohort built this way is only valid until the next one built with the
        same ``scratch``.
        """
        rows = np.asarray(rows, dtype=np.intp)
        out = cls.__new__(cls)
        for name in ("min_treated", "treatment", "outcomes", "covariates", "unit_id", "cluster",
                     "period", "missing", "dropped", "outcome_types", "design_columns",
                     "design_sources", "binary_columns"):
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
        if scratch is None:
            out.X = np.take(parent.X, rows, axis=0)
        else:
            # Fresh pages are slow to fault in on some VMs: reuse one buffer.
            # (mode="clip" is unbuffered; the rows are valid, so nothing is clipped)
            buf = _work_buffer(scratch, "X", rows.size, parent.X.shape[1])
            out.X = np.take(parent.X, rows, axis=0, out=buf, mode="clip")
        out._scratch = scratch
        # for the replicate propensity fit on distinct source rows (see fit_propensity)
        out._source = None if scratch is None else (parent.X, parent.t, rows)
        h = hashlib.sha256(parent.fingerprint.encode())
        h.update(rows.tobytes())
        for name, values in sorted((columns or {}).items()):
            h.update(name.encode())
            h.update(pd.util.hash_array(np.asarray(values)).tobytes())
        out._fingerprint = h.hexdigest()
        return out

    def at_period(self, value: Any) -> Cohort:
        """A cross-sectional cohort holding one period of a panel cohort.

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


def _work_buffer(scratch: dict[str, Any], name: str, n: int, p: int) -> np.ndarray:
    """An ``(n, p)`` float view of the reusable buffer ``scratch[name]`` (grown as needed)."""
    buf = scratch.get(name)
    if buf is None or buf.shape[0] < n or buf.shape[1] != p:
        buf = np.empty((max(n, int(1.1 * (0 if buf is None else buf.shape[0]))), p))
        scratch[name] = buf
    return buf[:n]


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
            text = "\x00".join(col.astype(str).tolist())
            h.update(text.encode("utf-8", "surrogatepass"))
    return h.hexdigest()


def _is_binary(x: np.ndarray) -> bool:
    return bool(((x == 0.0) | (x == 1.0)).all())
