"""Check a CSV file against a cohort's roles block by block: bounded memory, same findings.

``pbr-eval validate`` on a CSV file checks it here instead of reading it whole: the role
columns are read ``block_rows`` rows at a time and each check keeps running aggregates,
not the data (missing values by column, by group and by pattern; the distinct values of
text columns; minimum, maximum and whole-number counts of outcomes; the covariates'
centred cross-products merged block by block; a digest of every design column; a 64-bit
hash of each unit identifier). The findings are then made by the methods
:class:`~pbr_eval.cohort.Cohort` reports with, in the same order, so
``check_csv(path, **roles)`` gives the errors (same types, same messages) and warnings of
``Cohort.check(read_data(path), **roles)``.

Memory: one block of the role columns, the distinct labels of text columns (the first
:data:`MAX_KEPT_LEVELS` of each; beyond them only counted, by hash), and with ``unit_id``
9 bytes per row (the identifier's hash and the treatment; 8 more with ``period``), sorted
once at the end. A file whose identifiers repeat is read a second time to name them.

Column types follow the whole-file reader: a column that holds numbers in one block and
text in another is text everywhere (as ``pandas.read_csv(..., low_memory=False)`` reads it),
and whole numbers with a gap somewhere are decimals everywhere. When a later block changes
a column's type, or a column is empty after all, the file is read again with the type (or
the empty column) known: at most a few passes, on hostile files only.

Limitations: a text covariate with more than :data:`MAX_KEPT_LEVELS` distinct labels is
judged (numbers stored as text, near-duplicate labels) on its first ones, its count of
labels is exact; two identifiers with the same 64-bit hash (chance about 1 in 10^4 for 50
million rows) would be reported as one repeated identifier.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pbr_eval.cohort import (
    Cohort,
    DroppedRows,
    _Findings,
    _is_binary,
    _numeric_text,
    _Stop,
    collinear_from_cross_products,
)
from pbr_eval.exceptions import PbrEvalError
from pbr_eval.io import (
    CHECK_MEMORY_FACTOR,
    _csv_options,
    data_columns,
    estimate_memory,
    reading_error,
)
from pbr_eval.options import DEFAULT_MAX_LEVELS, DEFAULT_MIN_TREATED

__all__ = ["BLOCK_ROWS", "MAX_KEPT_LEVELS", "FileCheck", "check_csv", "count_rows",
           "estimate_check_memory"]

#: Rows read at a time.
BLOCK_ROWS = 200_000

#: Distinct labels kept per text covariate (more are counted, not kept).
MAX_KEPT_LEVELS = 100_000

#: Memory of the interpreter and the libraries a check loads (bytes; measured 0.2 GB).
BASE_MEMORY = 300_000_000

_ZEROS = np.zeros(1 << 17)  # fed to the digest of a level first seen after row 0
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


@dataclass(frozen=True)
class FileCheck:
    """What :func:`check_csv` found.

    Attributes
    ----------
    errors : tuple of PbrEvalError
        Every problem that stops the data being used, in the order :class:`Cohort` finds them.
    warnings : tuple of str
        Data-quality flags that do not stop an analysis.
    rows : int or None
        Rows in the file (None when the roles stopped the check before reading).
    summary : dict
        When there are no errors: ``n_treated``, ``n_comparison``, ``rows_dropped``,
        ``outcome_types`` (as :class:`Cohort` counts them).
    passes : int
        Times the file was read.

    Examples
    --------
    >>> found = FileCheck(errors=(), warnings=(), rows=1200)
    >>> found.rows, found.errors, found.passes
    (1200, (), 1)
    """

    errors: tuple[PbrEvalError, ...]
    warnings: tuple[str, ...]
    rows: int | None
    summary: dict[str, Any] = field(default_factory=dict)
    passes: int = 1

    @property
    def ok(self) -> bool:
        """True when the data can be used as they are."""
        return not self.errors


class _Again(Exception):
    """A later block changed what an earlier one assumed: read the file again."""

    def __init__(self, kinds: dict[str, str | None], empty: set[str] | None) -> None:
        super().__init__()
        self.kinds, self.empty = kinds, empty


def _kind(s: pd.Series) -> str | None:
    """Return the reader's type of one block of a column (None: no value in it)."""
    if not s.notna().any():
        return None
    dt = s.dtype
    if pd.api.types.is_bool_dtype(dt):
        return "bool"
    if pd.api.types.is_integer_dtype(dt):
        return "int"
    if pd.api.types.is_float_dtype(dt):
        return "float"
    if pd.api.types.infer_dtype(s, skipna=True) == "boolean":
        return "boolobj"  # True/False with gaps: Python objects, as the whole-file reader
    return "str"


def _merge(a: str, b: str) -> str:
    if a == b:
        return a
    if {a, b} == {"int", "float"}:
        return "float"
    if {a, b} == {"bool", "boolobj"}:
        return "boolobj"
    return "str"


def _smallest(kept: list[Any], new: Any, k: int, key: Callable[[Any], Any] | None = None) -> list[Any]:
    """Return the ``k`` smallest distinct values of ``kept`` and ``new``."""
    return sorted(set(kept) | set(new), key=key)[:k]


def _first(kept: list[Any], new: Any, k: int) -> list[Any]:
    """Return the first ``k`` distinct values of ``kept`` then ``new``, in order."""
    out = list(kept)
    for v in new:
        if len(out) >= k:
            break
        if v not in out:
            out.append(v)
    return out


def _median(counts: Mapping[float, int]) -> float:
    """``numpy.median`` of the values counted in ``counts``."""
    values = np.array(sorted(counts))
    cum = np.cumsum([counts[v] for v in values])
    n = int(cum[-1])
    lo = values[np.searchsorted(cum, (n - 1) // 2 + 1)]
    hi = values[np.searchsorted(cum, n // 2 + 1)]
    return float((lo + hi) / 2)


class _Design:
    """Running summaries of the design columns: min, max, sum, digest, centred cross-products."""

    def __init__(self) -> None:
        self.keys: list[tuple[Any, ...]] = []
        self.index: dict[tuple[Any, ...], int] = {}
        self.rows = 0
        self.mean = np.zeros(0)
        self.m2 = np.zeros((0, 0))
        self.lo = np.zeros(0)
        self.hi = np.zeros(0)
        self.sums: list[float] = []
        self.digests: list[Any] = []

    def column(self, key: tuple[Any, ...]) -> int:
        """Return the position of design column ``key``, added (zero on earlier rows) when new."""
        j = self.index.get(key)
        if j is not None:
            return j
        j = len(self.keys)
        self.keys.append(key)
        self.index[key] = j
        self.mean = np.append(self.mean, 0.0)
        m2 = np.zeros((j + 1, j + 1))
        m2[:j, :j] = self.m2
        self.m2 = m2
        self.lo = np.append(self.lo, 0.0 if self.rows else np.inf)
        self.hi = np.append(self.hi, 0.0 if self.rows else -np.inf)
        self.sums.append(0.0)
        h = hashlib.blake2b(digest_size=16)
        left = self.rows
        while left:
            step = min(left, _ZEROS.size)
            h.update(_ZEROS[:step].tobytes())
            left -= step
        self.digests.append(h)
        return j

    def add(self, Z: np.ndarray) -> None:
        """Merge a block (rows x the columns so far) into the summaries (Chan et al. 1979)."""
        nb = Z.shape[0]
        if nb == 0:
            return
        with np.errstate(invalid="ignore", over="ignore"):  # inf: reported, then unused
            mb = Z.mean(axis=0)
            Zc = Z - mb
            m2b = Zc.T @ Zc
            n = self.rows
            delta = mb - self.mean
            tot = n + nb
            self.mean = self.mean + delta * (nb / tot)
            self.m2 = self.m2 + m2b + np.outer(delta, delta) * (n * nb / tot)
        self.rows = tot
        self.lo = np.minimum(self.lo, Z.min(axis=0))
        self.hi = np.maximum(self.hi, Z.max(axis=0))
        sums = Z.sum(axis=0)
        for j in range(Z.shape[1]):
            self.sums[j] += float(sums[j])
            self.digests[j].update(np.ascontiguousarray(Z[:, j]).tobytes())


class _Pass:
    """One reading of the file: the aggregates every check needs."""

    def __init__(self, c: Cohort, kinds: Mapping[str, str | None],
                 empty: set[str] | None) -> None:
        self.c = c
        self.cols = c._role_columns()
        self.kinds: dict[str, str | None] = dict(kinds)
        self.dtypes: dict[str, str] = {}
        self.empty = set(empty or ())
        self.guess_empty = empty is None  # first block: a column with no value is taken as empty
        self.n = 0
        self.na = dict.fromkeys(self.cols, 0)
        self.incomplete = 0  # rows with a missing value (in the columns not empty)
        self.inc = [0, 0, 0]  # incomplete treated rows, incomplete comparison rows, treated
        self.m = 0  # complete rows
        self.n1 = 0
        self.bad: list[Any] = []
        self.first_treatment: list[Any] = []
        self.inf = dict.fromkeys([*c.outcomes, *c.covariates], 0)
        self.outcomes: dict[str, dict[str, Any]] = {o: {} for o in c.outcomes}
        self.levels: dict[str, dict[Any, None]] = {}
        self.more_levels: dict[str, np.ndarray] = {}
        self.design = _Design()
        self.ids: list[np.ndarray] = []
        self.pairs: list[np.ndarray] = []
        self.ts: list[np.ndarray] = []
        self.periods: dict[Any, None] = {}

    # ------------------------------------------------------------------ one block
    def block(self, chunk: pd.DataFrame) -> None:
        c = self.c
        for col in self.cols:
            s = chunk[col]
            k = _kind(s)
            cur = self.kinds.get(col)
            if k is None or k == cur:
                continue
            if cur is None:
                self.kinds[col] = k
                continue
            want = _merge(cur, k)
            if want != cur or want == "str":  # text cannot be recovered from parsed numbers
                raise _Again({**self.kinds, col: want}, self.empty)
            chunk[col] = s.astype(float if want == "float" else object)
        for col in self.cols:
            if self.kinds.get(col) is not None and col not in self.dtypes:
                self.dtypes[col] = str(chunk[col].dtype)
        na = chunk[self.cols].isna()
        counts = na.sum()
        for col in self.cols:
            self.na[col] += int(counts[col])
        if self.guess_empty:
            self.empty = {col for col in self.cols if int(counts[col]) == len(chunk)}
            self.guess_empty = False
        used = [col for col in self.cols if col not in self.empty]
        rows = na[used].any(axis=1).to_numpy()
        self.incomplete += int(rows.sum())
        tcol = chunk[c.treatment]
        is1 = tcol.isin([1, True]).to_numpy() & tcol.notna().to_numpy()
        is0 = tcol.isin([0, False]).to_numpy() & tcol.notna().to_numpy()
        self.inc[0] += int((rows & is1).sum())
        self.inc[1] += int((rows & is0).sum())
        self.inc[2] += int(is1.sum())
        self.n += len(chunk)
        frame = chunk.loc[~rows, used] if rows.any() else chunk[used]
        if len(frame):
            self._complete(frame)

    def _complete(self, frame: pd.DataFrame) -> None:
        c = self.c
        self.m += len(frame)
        tcol = frame[c.treatment]
        kind = self.kinds.get(c.treatment)
        if kind == "bool":
            t = tcol.to_numpy().astype(bool)
        elif kind in ("int", "float"):
            bad = [v for v in pd.unique(tcol) if v not in (0, 1)]
            if bad:
                self.bad = _smallest(self.bad, bad, 5, key=str)
            t = tcol.to_numpy() == 1
        else:
            self.first_treatment = _first(self.first_treatment, pd.unique(tcol), 5)
            t = np.zeros(len(frame), dtype=bool)
        self.n1 += int(t.sum())
        for col in self.inf:
            if col in frame and self.kinds.get(col) == "float":
                self.inf[col] += int(np.isinf(frame[col].to_numpy(dtype=float)).sum())
        for o in self.outcomes:
            if o in frame:
                self._outcome(o, frame[o])
        self._covariates(frame)
        if c.unit_id is not None and c.unit_id in frame:
            h = pd.util.hash_array(frame[c.unit_id].to_numpy())
            self.ids.append(h)
            self.ts.append(t)
            if c.period is not None and c.period in frame:
                self.pairs.append(h * _GOLDEN ^ pd.util.hash_array(frame[c.period].to_numpy()))
        if c.period is not None and c.period in frame:
            for v in pd.unique(frame[c.period]):
                self.periods.setdefault(v, None)

    def _outcome(self, o: str, s: pd.Series) -> None:
        f = self.outcomes[o]
        kind = self.kinds.get(o)
        if kind == "bool":
            f["kind"] = "bool"
        elif kind in ("str", "boolobj"):
            f["kind"] = "text"
            f["shown"] = _first(f.get("shown", []), pd.unique(s), 3)
            f["text_numbers"] = f.get("text_numbers", False) or bool(
                _numeric_text(pd.unique(s.dropna()))[0])
        else:
            v = s.to_numpy(dtype=float)
            f["kind"] = "number"
            f["binary"] = f.get("binary", True) and _is_binary(v)
            f["count"] = f.get("count", True) and bool((v >= 0).all() and (np.floor(v) == v).all())
            f["min"] = min(f.get("min", np.inf), float(v.min()))
            f["max"] = max(f.get("max", -np.inf), float(v.max()))
            if f["count"] and f["min"] >= 1:
                counts = f.setdefault("counts", {})
                for value, k in pd.Series(v).value_counts().items():
                    counts[value] = counts.get(value, 0) + int(k)
            else:
                f.pop("counts", None)

    def _covariates(self, frame: pd.DataFrame) -> None:
        c, d = self.c, self.design
        cols: list[int] = []
        blocks: list[np.ndarray] = []
        for cov in c.covariates:
            if cov not in frame:
                continue
            s = frame[cov]
            kind = self.kinds.get(cov)
            if kind in ("int", "float", "bool"):
                cols.append(d.column(("num", cov)))
                blocks.append(s.to_numpy(dtype=float))
                continue
            kept = self.levels.setdefault(cov, {})
            values = pd.unique(s)
            for v in values:
                if len(kept) >= MAX_KEPT_LEVELS:
                    break
                kept.setdefault(v, None)
            if len(kept) >= MAX_KEPT_LEVELS:
                more = self.more_levels.get(cov, np.empty(0, dtype=np.uint64))
                h = pd.util.hash_array(np.asarray(values, dtype=object))
                self.more_levels[cov] = np.union1d(more, h)
            if len(kept) > c.max_levels:
                continue  # too many levels: an error, and no design check
            codes, uniques = pd.factorize(s)
            for i, v in enumerate(uniques):
                cols.append(d.column(("level", cov, v)))
                blocks.append(codes == i)
        if not cols:
            return
        p = len(d.keys)
        step = max(1_000, 4_000_000 // p)  # at most about 32 MB of design at a time
        for start in range(0, len(frame), step):
            Z = np.zeros((min(step, len(frame) - start), p))
            for j, b in zip(cols, blocks, strict=True):
                Z[:, j] = b[start:start + step]
            d.add(Z)

    # ------------------------------------------------------------------ at the end
    def n_levels(self, cov: str) -> int | None:
        """Exact count of distinct labels when more than were kept."""
        if cov not in self.more_levels:
            return None
        kept = pd.util.hash_array(np.asarray(list(self.levels[cov]), dtype=object))
        return int(np.union1d(kept, self.more_levels[cov]).size)


def estimate_check_memory(path: str | Path, columns: Sequence[str], *, sep: str | None = None,
                          roles: Mapping[str, Any] | None = None,
                          block_rows: int = BLOCK_ROWS) -> tuple[int, int] | None:
    r"""Estimate (bytes, rows) a block-wise check of ``columns`` needs, before reading the file.

    The interpreter and libraries (:data:`BASE_MEMORY`), a few copies of one block (its
    size per row from the first rows, as :func:`pbr_eval.io.estimate_memory` measures it)
    and, with a ``unit_id`` role, the identifiers' hashes (9 bytes a row, 17 with
    ``period``) and their sorted copies. ``None`` when the file is not a CSV file.

    Parameters
    ----------
    path : str or pathlib.Path
        The file to be checked.
    columns : sequence of str
        The role columns the check reads.
    sep : str, optional
        The field separator (default: detected).
    roles : mapping, optional
        The roles (``unit_id``, ``period``) that add identifier hashes to the need.
    block_rows : int, default BLOCK_ROWS
        Rows read at a time.

    Returns
    -------
    tuple of (int, int) or None
        Bytes needed and rows estimated; ``None`` for a file that is not CSV.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "tiny.csv").write_text("id,treated\n1,0\n2,1\n3,0\n")
    >>> need, rows = estimate_check_memory(folder / "tiny.csv", ["treated"])
    >>> need > BASE_MEMORY, rows > 0
    (True, True)
    """
    est = estimate_memory(path, columns, sep=sep)
    if est is None:
        return None
    need, rows = est
    per_row = need / max(rows, 1) / CHECK_MEMORY_FACTOR
    roles = roles or {}
    ids = rows * (17 if roles.get("period") else 9) * 3 if roles.get("unit_id") else 0
    return int(BASE_MEMORY + per_row * min(rows, block_rows) * 6 + ids), rows


def _blocks(path: Path, cols: Sequence[str], kinds: Mapping[str, str | None], sep: str | None,
            block_rows: int) -> Iterator[pd.DataFrame]:
    """Yield the file's role columns, ``block_rows`` rows at a time (errors as :func:`read_data`)."""
    dtype = {col: str for col in cols if kinds.get(col) == "str"}
    try:
        reader = pd.read_csv(path, usecols=list(cols), chunksize=block_rows, dtype=dtype or None,
                             **_csv_options(path, sep))
        with reader:
            yield from reader
    except PbrEvalError:
        raise
    except Exception as err:  # parser errors, corrupt files, memory
        raise reading_error(path, "CSV", err) from err


def check_csv(path: str | Path, *, treatment: str, outcome: str | Sequence[str],
              covariates: Sequence[str], unit_id: str | None = None,
              cluster: str | None = None, period: str | None = None, missing: str = "error",
              min_treated: int = DEFAULT_MIN_TREATED,
              outcome_types: Mapping[str, str] | None = None,
              period_order: Sequence[Any] | None = None, max_levels: int = DEFAULT_MAX_LEVELS,
              sep: str | None = None, block_rows: int = BLOCK_ROWS) -> FileCheck:
    """Find every problem :meth:`Cohort.check` would find in a CSV file, found block by block.

    Parameters
    ----------
    path : str or Path
        A CSV file (separator and decimal comma sniffed as :func:`pbr_eval.io.read_data` does).
    treatment, outcome, covariates, unit_id, cluster, period, missing, min_treated, \
outcome_types, period_order, max_levels
        As for :class:`~pbr_eval.cohort.Cohort` (``first_treated`` is not supported here).
    sep : str, optional
        The separator (default: sniffed).
    block_rows : int, default BLOCK_ROWS
        Rows read at a time.

    Returns
    -------
    FileCheck
        The errors and warnings ``Cohort.check`` gives on the whole file, the number of
        rows, and (when there is no error) the counts ``pbr-eval validate`` prints.

    Raises
    ------
    DataError
        When the file cannot be read.

    Examples
    --------
    >>> from pathlib import Path
    >>> import pbr_eval
    >>> path = Path(pbr_eval.__file__).parents[1] / "data" / "reoffending.csv"
    >>> found = check_csv(path, treatment="treated", outcome="reoffended",
    ...                   covariates=["age", "sex", "prior_offences"], unit_id="person_id",
    ...                   block_rows=1000)
    >>> found.ok, found.rows, found.summary["n_treated"]
    (True, 12600, 600)
    """
    p = Path(path)
    c = Cohort.__new__(Cohort)
    c.first_treated = None
    c.time_to_event = {}  # no time-to-event roles in a block-wise check (as its roles say)
    findings = _Findings(collect=True)
    c._findings = findings
    try:
        given = c._set_roles(treatment, outcome, covariates, unit_id, cluster, period, missing,
                             min_treated, max_levels, period_order)
        c._check_roles(pd.DataFrame(columns=data_columns(p, sep=sep) or []), findings)
    except _Stop:
        return FileCheck(errors=tuple(findings.errors), warnings=(), rows=None, passes=0)
    except PbrEvalError as err:
        if not c.__dict__.get("treatment"):  # the roles themselves are wrong
            return FileCheck(errors=(err,), warnings=(), rows=None, passes=0)
        findings.errors.append(err)
        return FileCheck(errors=tuple(findings.errors), warnings=(), rows=None, passes=0)
    kinds: dict[str, str | None] = {}
    empty: set[str] | None = None
    passes = 0
    while True:  # each new pass knows more (types only widen): a few at most
        passes += 1
        scan = _Pass(c, kinds, empty)
        try:
            for chunk in _blocks(p, scan.cols, kinds, sep, block_rows):
                scan.block(chunk)
        except _Again as again:
            kinds, empty = again.kinds, again.empty
            continue
        truly = {col for col in scan.cols if scan.n and scan.na[col] == scan.n}
        if truly == scan.empty:
            break
        kinds, empty = scan.kinds, truly
    summary: dict[str, Any] = {}
    try:
        summary = _report(c, scan, given, outcome_types, findings, p, sep, block_rows)
    except _Stop:
        pass
    except PbrEvalError as err:
        findings.errors.append(err)
    return FileCheck(errors=tuple(findings.errors), warnings=tuple(findings.warnings),
                     rows=scan.n, summary=summary if not findings.errors else {}, passes=passes)


def count_rows(path: str | Path, columns: Sequence[str], *, sep: str | None = None,
               block_rows: int = BLOCK_ROWS) -> int:
    r"""Count the rows of a CSV file as read with only ``columns`` (0 for no columns), block by block.

    Parameters
    ----------
    path : str or pathlib.Path
        The CSV file.
    columns : sequence of str
        The columns to read (the role columns).
    sep : str, optional
        The field separator (default: detected as :func:`pbr_eval.io.read_data` does).
    block_rows : int, default BLOCK_ROWS
        Rows read at a time.

    Returns
    -------
    int
        The number of data rows.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "tiny.csv").write_text("id,treated\n1,0\n2,1\n3,0\n")
    >>> count_rows(folder / "tiny.csv", ["treated"], block_rows=2)
    3
    """
    if not columns:
        return 0
    return sum(len(b) for b in _blocks(Path(path), list(columns), {}, sep, block_rows))


def _report(c: Cohort, scan: _Pass, given_order: list[Any] | None,
            outcome_types: Mapping[str, str] | None, findings: _Findings, path: Path,
            sep: str | None, block_rows: int) -> dict[str, Any]:
    """Report the findings, in :class:`Cohort`'s order, from the aggregates of ``scan``."""
    c.n_input_rows = scan.n
    c._report_empty(sorted(scan.empty, key=scan.cols.index), scan.n, findings)
    used = c._role_columns()
    counts = {col: scan.na[col] for col in used if scan.na[col]}
    dropped: list[DroppedRows] = []
    if counts:
        c._report_missing(counts, scan.incomplete, scan.n, (scan.inc[0], scan.inc[1], scan.inc[2]),
                          dropped, findings)
    c.dropped = tuple(dropped)
    kind = scan.kinds.get(c.treatment)
    if kind in ("int", "float") and scan.bad:
        c._report_treatment_values(scan.bad, None, findings)
    elif kind not in ("int", "float", "bool"):
        c._report_treatment_values(scan.first_treatment, scan.dtypes.get(c.treatment, "object"),
                                   findings)
    c._report_groups(scan.n1, scan.m, findings)
    for col, n in scan.inf.items():
        if col in used:
            c._report_infinite(col, n, findings)
    facts: dict[str, dict[str, Any]] = {}
    for o in c.outcomes:
        f = dict(scan.outcomes[o])
        if f.get("kind") == "text":
            f["dtype"] = scan.dtypes.get(o, "object")
        elif f.get("kind") == "number":
            f["measured"] = bool(f["count"] and f["min"] >= 1 and "counts" in f
                                 and _median(f["counts"]) >= 100)
            if f["measured"]:
                f["median"] = _median(f["counts"])
        facts[o] = f
    c.outcome_types = c._type_outcomes(facts, outcome_types, findings)
    names: list[str] = []
    columns: list[int] = []
    for cov in c.covariates:
        if scan.kinds.get(cov) in ("int", "float", "bool"):
            names.append(cov)
            columns.append(scan.design.index[("num", cov)])
            continue
        levels = c._levels(cov, list(scan.levels.get(cov, {})), None, findings,
                           scan.n_levels(cov))
        if levels is None:
            continue
        for lev in levels[1:]:
            names.append(f"{cov}[{lev}]")
            columns.append(scan.design.index[("level", cov, lev)])
    c._report_name_clashes(names, findings)
    c.design_columns = names
    c.design_sources = {nm: scan.design.keys[j][1] for nm, j in zip(names, columns, strict=True)}
    if not findings.errors and columns:
        d = scan.design
        sel = np.array(columns)
        c._report_design(d.lo[sel], d.hi[sel], lambda: np.array([d.sums[j] for j in columns]),
                         lambda a, b: (d.digests[columns[a]].digest()
                                       == d.digests[columns[b]].digest()),
                         lambda: collinear_from_cross_products(d.m2[np.ix_(sel, sel)]),
                         findings)
    n_treated, n_comparison = scan.n1, scan.m - scan.n1
    if c.unit_id is not None and scan.ids:
        ids = np.concatenate(scan.ids)
        t = np.concatenate(scan.ts)
        scan.ids.clear()  # the blocks' copies are not needed any more
        scan.ts.clear()
        if c.period is not None:
            n_treated = int(np.unique(ids[t]).size)
            n_comparison = int(np.unique(ids[~t]).size)
        _report_ids(c, scan, ids, t, findings, path, sep, block_rows)
    if c.period is not None and c.period in used:
        present = pd.Series(list(scan.periods), dtype=scan.dtypes.get(c.period))
        c.period_order = c._period_order(present, given_order, findings)
    c._check_size(n_treated, findings)
    return {"n_treated": n_treated, "n_comparison": n_comparison,
            "rows_dropped": sum(r.n for r in dropped), "outcome_types": dict(c.outcome_types)}


def _repeated(h: np.ndarray) -> np.ndarray:
    """Return the hashes that occur more than once in ``h``."""
    s = np.sort(h)
    return np.unique(s[1:][s[1:] == s[:-1]])


def _report_ids(c: Cohort, scan: _Pass, ids: np.ndarray, t: np.ndarray, findings: _Findings,
                path: Path, sep: str | None, block_rows: int) -> None:
    """Repeated identifiers and units in both groups; the file is read again to name them."""
    if c.period is None:
        dup = _repeated(ids)
        if dup.size == 0:
            return
        rows = np.isin(ids, dup)
        frame = pd.DataFrame({"h": ids[rows], "t": t[rows]})
        agg = frame.groupby("h")["t"].agg(["min", "max"])
        mixed = agg.index[(agg["min"] != agg["max"]).to_numpy()].to_numpy(dtype=np.uint64)
        if mixed.size:
            names = _names(c, scan, mixed, path, sep, block_rows, first=False)
            c._report_ids(int(mixed.size), names, 0, [], findings)
        else:
            names = _names(c, scan, dup, path, sep, block_rows, first=True)
            c._report_ids(0, [], int(dup.size), names, findings)
        return
    pairs = np.concatenate(scan.pairs)
    dup = _repeated(pairs)
    if dup.size:
        n_rows = int(np.isin(pairs, dup).sum())
        c._report_panel_duplicates(n_rows, _pair_examples(c, scan, dup, path, sep, block_rows),
                                   findings)
        return
    frame = pd.DataFrame({"h": ids, "t": t})
    agg = frame.groupby("h")["t"].agg(["min", "max"])
    mixed = agg.index[(agg["min"] != agg["max"]).to_numpy()].to_numpy(dtype=np.uint64)
    if mixed.size:
        c._report_ids(int(mixed.size), _names(c, scan, mixed, path, sep, block_rows,
                                              first=False), 0, [], findings)


def _complete_blocks(c: Cohort, scan: _Pass, path: Path, sep: str | None,
                     block_rows: int) -> Iterator[pd.DataFrame]:
    """Yield the complete rows of the file again, block by block, typed as in the pass."""
    used = [col for col in scan.cols if col not in scan.empty]
    for chunk in _blocks(path, scan.cols, scan.kinds, sep, block_rows):
        for col in used:
            k = scan.kinds.get(col)
            if k in ("float", "boolobj") and _kind(chunk[col]) not in (None, k):
                chunk[col] = chunk[col].astype(float if k == "float" else object)
        rows = chunk[used].isna().any(axis=1).to_numpy()
        yield chunk.loc[~rows, used]


def _names(c: Cohort, scan: _Pass, hashes: np.ndarray, path: Path, sep: str | None,
           block_rows: int, *, first: bool) -> list[Any]:
    """Return three identifiers with these hashes: the first found, or the smallest."""
    uid = c.unit_id
    assert uid is not None
    out: list[Any] = []
    for frame in _complete_blocks(c, scan, path, sep, block_rows):
        values = frame[uid].to_numpy()
        hit = values[np.isin(pd.util.hash_array(values), hashes)]
        out = _first(out, pd.unique(hit), 3) if first else _smallest(out, hit, 3)
        if first and len(out) >= 3:
            break
    return out


def _pair_examples(c: Cohort, scan: _Pass, hashes: np.ndarray, path: Path, sep: str | None,
                   block_rows: int) -> list[Any]:
    """Return the first two rows (unit, period) whose pair is repeated."""
    uid, per = c.unit_id, c.period
    assert uid is not None and per is not None
    found: list[pd.DataFrame] = []
    n = 0
    for frame in _complete_blocks(c, scan, path, sep, block_rows):
        h = pd.util.hash_array(frame[uid].to_numpy())
        pairs = h * _GOLDEN ^ pd.util.hash_array(frame[per].to_numpy())
        hit = frame.loc[np.isin(pairs, hashes), [uid, per]]
        found.append(hit.head(2))
        n += len(hit)
        if n >= 2:
            break
    return pd.concat(found).head(2).to_numpy().tolist()
