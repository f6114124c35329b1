"""A cohort whose rows live in the partitions of a Dask DataFrame (e.g. partitioned Parquet).

The checks are those of :class:`pbr_eval.Cohort`, computed as per-partition
summaries reduced on the client (missing values by group and column,
treatment values, infinite values, outcome types, category levels, constant,
duplicated and collinear covariates, the minimum cohort), with the same
error classes and messages. The design matrix is built partition by
partition with the global category levels, so its columns are those the
in-memory cohort would build from the same rows in the same order.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pbr_eval.cohort import (
    DroppedRows,
    _frame_sha256,
    _label_problem,
    _list_names,
    _plural,
    _show,
    _text_problem,
)
from pbr_eval.distributed import passes
from pbr_eval.distributed.passes import add_sums, block_heap
from pbr_eval.exceptions import (
    CollinearityError,
    CovariateError,
    DataError,
    InfiniteValueError,
    MissingColumnError,
    MissingValueError,
    OptionError,
    OutcomeTypeError,
    SmallCohortError,
    TreatmentError,
)
from pbr_eval.inference.design import row_blocks
from pbr_eval.options import (
    DEFAULT_MAX_LEVELS,
    DEFAULT_MIN_TREATED,
    MISSING,
    OUTCOME_TYPES,
    check_choice,
    check_columns,
    check_int,
)

__all__ = ["DistributedCohort", "PerPartition", "check_scheduler", "resolve_scheduler"]

#: Text values kept per partition while scanning a covariate's levels (more is refused later).
_LEVEL_CAP = 100_000


_SCHEDULER_MSG = ("`scheduler` must be None, 'threads', 'processes', 'synchronous', 'local', a "
                  "scheduler address such as 'tcp://host:8786', or a distributed.Client; got {!r}.")


def check_scheduler(value: Any) -> Any:
    """Validate a ``scheduler=`` name or address without connecting to anything.

    Parameters
    ----------
    value : None, str or distributed.Client

    Returns
    -------
    The value, unchanged.

    Raises
    ------
    OptionError
        Anything :func:`resolve_scheduler` would refuse.

    Examples
    --------
    >>> check_scheduler("tcp://10.0.0.5:8786")
    'tcp://10.0.0.5:8786'
    >>> check_scheduler("yarn")
    Traceback (most recent call last):
    ...
    pbr_eval.exceptions.OptionError: `scheduler` must be None, 'threads', 'processes', 'synchronous', 'local', a scheduler address such as 'tcp://host:8786', or a distributed.Client; got 'yarn'.
    """
    if value is None or (hasattr(value, "get") and hasattr(value, "scheduler")):
        return value
    if isinstance(value, str) and (
            value in ("threads", "processes", "synchronous", "sync", "local") or "://" in value):
        return value
    raise OptionError(_SCHEDULER_MSG.format(value))


def resolve_scheduler(scheduler: Any) -> tuple[Any, Any, str]:
    """Return ``(scheduler for dask.compute, client or None, description)`` for ``scheduler=``.

    Parameters
    ----------
    scheduler : None, str or distributed.Client
        ``None``: the active ``distributed.Client`` if there is one, else
        Dask's threads. ``"threads"``, ``"processes"`` or ``"synchronous"``:
        Dask's local schedulers. ``"local"``: a new ``LocalCluster`` on this
        machine (closed by :meth:`DistributedCohort.close`). An address such
        as ``"tcp://10.0.0.5:8786"``: a client of that remote scheduler. A
        ``distributed.Client``: that client.

    Returns
    -------
    scheduler : str or callable
        What ``dask.compute(..., scheduler=)`` takes.
    client : distributed.Client or None
        The client in use (None for the local schedulers).
    description : str
        Recorded in results' ``info["scheduler"]``.

    Raises
    ------
    OptionError
        Any other value, naming what is accepted.

    Examples
    --------
    >>> resolve_scheduler("synchronous")[2]
    'synchronous'
    >>> resolve_scheduler("yarn")
    Traceback (most recent call last):
    ...
    pbr_eval.exceptions.OptionError: `scheduler` must be None, 'threads', 'processes', 'synchronous', 'local', a scheduler address such as 'tcp://host:8786', or a distributed.Client; got 'yarn'.
    """
    if scheduler is None:
        try:
            from distributed import default_client

            client = default_client()
            return client.get, client, f"distributed client {client.scheduler.address}"
        except (ImportError, ValueError):
            return "threads", None, "threads"
    if isinstance(scheduler, str):
        if scheduler in ("threads", "processes", "synchronous", "sync"):
            return scheduler, None, scheduler
        if scheduler == "local" or "://" in scheduler:
            from distributed import Client, LocalCluster

            if scheduler == "local":
                cluster = LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None)
                client = Client(cluster)
                client._pbr_eval_cluster = cluster  # type: ignore[attr-defined]  # closed with the client
            else:
                client = Client(scheduler)
            client._pbr_eval_owned = True  # type: ignore[attr-defined]  # close() closes it
            return client.get, client, f"distributed client {client.scheduler.address}"
    elif hasattr(scheduler, "get") and hasattr(scheduler, "scheduler"):
        return scheduler.get, scheduler, f"distributed client {scheduler.scheduler.address}"
    raise OptionError(_SCHEDULER_MSG.format(scheduler))


# ----------------------------------------------------------- partition work
#: Rows of the warm-start sample kept on the client, over all partitions (see ``_finish``).
SAMPLE_ROWS = 100_000


def _scan_frame(df: pd.DataFrame, spec: Mapping[str, Any]
                ) -> tuple[dict[str, Any], pd.DataFrame]:
    """Per-partition summaries for the checks (reduced on the client) and the complete rows."""
    tr, outs, covs = spec["treatment"], spec["outcomes"], spec["covariates"]
    cols = spec["columns"]
    frame = df.loc[:, cols]
    na = frame.isna()
    rows = na.any(axis=1).to_numpy()
    tcol = frame[tr]
    is1 = tcol.isin([1, True]).to_numpy() & tcol.notna().to_numpy()
    is0 = tcol.isin([0, False]).to_numpy() & tcol.notna().to_numpy()
    out: dict[str, Any] = {
        "n": len(frame), "na": {c: int(v) for c, v in na.sum().items()},
        "na_rows": int(rows.sum()), "na_rows_t": int((rows & is1).sum()),
        "na_rows_c": int((rows & is0).sum()), "n1_all": int(is1.sum()),
    }
    comp = frame.loc[~rows] if rows.any() else frame
    out["hash"] = _frame_sha256(comp)
    t = comp[tr]
    out["t_values"] = set(pd.unique(t).tolist()[:20])
    out["n1"] = int(t.isin([1, True]).sum())
    out["n_complete"] = len(comp)
    inf, stats, levels = {}, {}, {}
    for c in [*outs, *covs]:
        s = comp[c]
        if pd.api.types.is_float_dtype(s.dtype):
            inf[c] = int(np.isinf(s.to_numpy(dtype=float, na_value=np.nan)).sum())
        if isinstance(s.dtype, pd.CategoricalDtype) or not (
                pd.api.types.is_numeric_dtype(s.dtype) or pd.api.types.is_bool_dtype(s.dtype)):
            vals = pd.unique(s.astype(object) if isinstance(s.dtype, pd.CategoricalDtype) else s)
            levels[c] = list(vals[:_LEVEL_CAP])
            continue
        v = s.to_numpy(dtype=float)
        if v.size == 0:
            continue
        whole = bool((np.floor(v) == v).all())
        stats[c] = {"min": float(v.min()), "max": float(v.max()),
                    "binary": bool(((v == 0.0) | (v == 1.0)).all()), "whole": whole,
                    "n_ge_100": int((v >= 100).sum()), "n": int(v.size)}
    out.update(inf=inf, stats=stats, levels=levels)
    return out, comp


def _arrays(frame: pd.DataFrame, spec: Mapping[str, Any]) -> dict[str, Any]:
    """Return the complete rows' arrays: numeric design columns, text covariates as local codes, ``t``, ``Y``.

    A text covariate is kept as integer codes into its partition's own levels
    (``_finish`` maps them to the global levels once the client knows them).
    """
    n = len(frame)
    text = set(spec["text"])
    num, codes = {}, {}
    for c in spec["covariates"]:
        s = frame[c]
        if c in text:
            cd, uniques = pd.factorize(s.astype(object) if isinstance(s.dtype, pd.CategoricalDtype)
                                       else s)
            codes[c] = (cd.astype(np.int64), list(uniques))
        else:
            num[c] = s.to_numpy(dtype=float)
    t = np.ascontiguousarray(frame[spec["treatment"]].to_numpy() == 1, dtype=bool)
    Y = np.empty((n, len(spec["outcomes"])))
    for j, c in enumerate(spec["outcomes"]):
        Y[:, j] = frame[c].to_numpy(dtype=float)
    out = {"num": num, "codes": codes, "t": t, "Y": Y, "n": n}
    if spec.get("cluster"):
        cl, labels = pd.factorize(frame[spec["cluster"]])
        out["cl"] = (cl.astype(np.int64), np.asarray(labels))
    return out


def _design(raw: Mapping[str, Any], spec: Mapping[str, Any], levels: Mapping[str, Sequence[Any]]
            ) -> np.ndarray:
    """Return the partition's design ``X`` with the global category levels (reference level left out)."""
    n = raw["n"]
    width = sum(len(levels[c]) - 1 if c in levels else 1 for c in spec["covariates"])
    X = np.empty((n, width))
    j = 0
    for c in spec["covariates"]:
        if c not in levels:
            X[:, j] = raw["num"][c]
            j += 1
            continue
        local, uniques = raw["codes"][c]
        to_global = pd.Index(list(levels[c])).get_indexer(uniques)
        code = to_global[local] if uniques else np.empty(0, np.int64)
        L = len(levels[c])
        X[:, j:j + L - 1] = code[:, None] == np.arange(1, L)[None, :]
        j += L - 1
    return X


def _sums(X: np.ndarray, t: np.ndarray, Y: np.ndarray) -> dict[str, Any]:
    """Return the cohort's Gram matrices (all rows; comparison rows with ``Z'Y``), group ranges, binary columns.

    Added up over blocks of :data:`~pbr_eval.distributed.passes.BLOCK_ROWS`
    rows (see :func:`~pbr_eval.distributed.passes.blockwise`).
    """
    n = X.shape[0]
    if n <= passes.BLOCK_ROWS:
        return _block_sums(X, t, Y)
    out: dict[str, Any] | None = None
    with block_heap():
        for rows in row_blocks(n, passes.BLOCK_ROWS):
            got = _block_sums(X[rows], t[rows], Y[rows])
            out = got if out is None else add_sums(out, got)
    assert out is not None
    return out


def _block_sums(X: np.ndarray, t: np.ndarray, Y: np.ndarray) -> dict[str, Any]:
    n, p = X.shape
    Z = np.empty((n, p + 1))
    Z[:, 0] = 1.0
    Z[:, 1:] = X
    Z0 = Z[~t]
    big = np.inf * np.ones(p)
    return {"ZZ": Z.T @ Z, "n": n, "n1": int(t.sum()), "ZZ0": Z0.T @ Z0, "ZY0": Z0.T @ Y[~t],
            "sum1": X[t].sum(axis=0), "sum0": Z0[:, 1:].sum(axis=0),
            "min0": Z0[:, 1:].min(axis=0) if Z0.shape[0] else big,
            "max0": Z0[:, 1:].max(axis=0) if Z0.shape[0] else -big,
            "min1": X[t].min(axis=0) if t.any() else big,
            "max1": X[t].max(axis=0) if t.any() else -big,
            "binary": ((X == 0) | (X == 1)).all(axis=0)}


def _finish(part: Mapping[str, Any], spec: Mapping[str, Any],
            levels: Mapping[str, Sequence[Any]]) -> dict[str, Any]:
    """Build the partition's design; add its sums and an evenly spaced row sample (``summary2``)."""
    raw = part["raw"]
    X = _design(raw, spec, levels)
    t, Y, n = raw["t"], raw["Y"], raw["n"]
    step = max(1, -(-n // max(1, spec["sample_cap"])))
    idx = np.arange(0, n, step)
    return {"X": X, "t": t, "Y": Y, "n": n, "cl": raw.get("cl"), "summary": part["summary"],
            "summary2": {"gram": _sums(X, t, Y), "n": n,
                         "sample": {"X": X[idx], "t": t[idx], "Y": Y[idx]}}}


def _ingest(df: pd.DataFrame, spec: Mapping[str, Any]) -> dict[str, Any]:
    """One read of a partition: the checks' summaries and the arrays (and, without text covariates, the sums).

    Arrays that cannot be built (a text outcome, say) are left out: the
    client's checks then name the problem from the summaries.
    """
    summary, comp = _scan_frame(df, spec)
    try:
        raw = _arrays(comp, spec)
    except (TypeError, ValueError):
        return {"summary": summary, "raw": None}
    part = {"summary": summary, "raw": raw}
    return _finish(part, spec, {}) if not spec["text"] else part


def _reread(df: pd.DataFrame, spec: Mapping[str, Any], levels: Mapping[str, Sequence[Any]]
            ) -> dict[str, Any]:
    """Return a partition's arrays read again from the source (``persist=False``), without the checks."""
    frame = df.loc[:, spec["columns"]]
    frame = frame.loc[~frame.isna().any(axis=1).to_numpy()]
    raw = _arrays(frame, spec)
    return {"X": _design(raw, spec, levels), "t": raw["t"], "Y": raw["Y"], "n": raw["n"],
            "cl": raw.get("cl")}


def _summary(part: Mapping[str, Any], keys: tuple[str, ...]) -> Any:
    got = tuple(part.get(k) for k in keys)
    return got[0] if len(keys) == 1 else got


@dataclass(frozen=True)
class PerPartition:
    """An argument of :meth:`DistributedCohort.run` with one value per partition, in order.

    Examples
    --------
    >>> PerPartition([0, 10]).values[1]
    10
    """

    values: Sequence[Any]


def _serve(part: Mapping[str, Any], requests: Mapping[str, tuple[Any, tuple[Any, ...]]]
           ) -> dict[str, Any]:
    """Answer several requests from one partition (one pass: :meth:`DistributedCohort.run`)."""
    with block_heap():
        return {k: fn(part, *args) for k, (fn, args) in requests.items()}


def _is_numeric(dtype: Any) -> bool:
    """Whether a covariate's column enters the design as it is (numbers or booleans, not categories)."""
    return bool(pd.api.types.is_bool_dtype(dtype) or (
        pd.api.types.is_numeric_dtype(dtype) and not isinstance(dtype, pd.CategoricalDtype)))


def _combine(parts: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Reduce per-partition dictionaries: sums, min/max by key prefix, ``all`` for booleans."""
    out: dict[str, Any] = {}
    for k in parts[0]:
        vals = [p[k] for p in parts]
        if k.startswith("min"):
            out[k] = np.minimum.reduce([np.asarray(v) for v in vals])
        elif k.startswith("max"):
            out[k] = np.maximum.reduce([np.asarray(v) for v in vals])
        elif isinstance(vals[0], np.ndarray) and vals[0].dtype == bool:
            out[k] = np.logical_and.reduce(vals)
        else:
            out[k] = sum(vals[1:], vals[0])
    return out


class DistributedCohort:
    """A programme cohort and comparison pool held in the partitions of a Dask DataFrame.

    The roles, options and checks are those of :class:`pbr_eval.Cohort`
    (the same error classes and messages; rows left out for missing values
    are counted by group); the rows stay on the cluster as one block of
    arrays per partition. The source is read once: one task per partition
    computes the checks' summaries, builds the arrays and their sums (text
    covariates are coded once the client knows every level: one more pass,
    in memory). ``pbr_eval.estimate(cohort, method=...)`` runs
    the methods in :data:`pbr_eval.distributed.DISTRIBUTED_METHODS` as
    map-reduce with the in-memory numbers.

    Parameters
    ----------
    data : dask.dataframe.DataFrame, pandas.DataFrame, str or Path
        The rows: a Dask DataFrame, a pandas DataFrame (split into
        ``npartitions``) or a Parquet file or folder of files.
    treatment, outcome, covariates, missing, min_treated, outcome_types, max_levels
        As for :class:`pbr_eval.Cohort`.
    unit_id : str, optional
        Kept as a role; duplicates are not checked across partitions (a
        note says so).
    cluster : str, optional
        Grouping for cluster-robust standard errors (e.g. the local
        authority), as for :class:`pbr_eval.Cohort`: the weighting family's
        default ``se="auto"`` then sums the influences by cluster, reduced
        across partitions (a cluster may span partitions).
    scheduler : None, str or distributed.Client
        Where the work runs (see :func:`resolve_scheduler`): ``None`` (the
        active client, else threads), ``"local"`` (a LocalCluster here) or
        a remote scheduler's address such as ``"tcp://10.0.0.5:8786"``.
    npartitions : int, optional
        Partitions for a pandas ``data`` (default 8).
    persist : bool, default True
        Keep the partitions' arrays in the cluster's memory (each pass of a
        fit then reads them there); ``False`` re-reads the source on every
        pass (slower, for data larger than the cluster's memory).

    Attributes
    ----------
    t_counts : tuple of int
        ``(n_treated, n_comparison)``.
    design_columns, design_sources, binary_columns, outcome_types, dropped, notes
        As for :class:`pbr_eval.Cohort`.
    partition_sizes : list of int
        Rows used in each partition, in order (the in-memory row order is
        the partitions' concatenation).
    passes, reads : int
        Passes over the partitions so far, and how many of them read the
        source (the build reads it once; with ``persist=False`` every pass
        does).
    sample : dict of numpy.ndarray
        ``X``, ``t``, ``Y`` of an evenly spaced sample of about
        :data:`SAMPLE_ROWS` rows, taken during the build (the models' warm
        starts).

    Raises
    ------
    OptionError
        ``period`` given (not supported on a distributed cohort), or a bad
        option.
    MissingColumnError, TreatmentError, MissingValueError, InfiniteValueError,
    OutcomeTypeError, CovariateError, CollinearityError, SmallCohortError
        As :class:`pbr_eval.Cohort`.

    Notes
    -----
    Limitations: no ``period`` (panel designs); ``unit_id`` duplicates
    and contamination are not checked; the
    "whole numbers that look like a measurement" rule for outcomes uses
    "at least half the values are 100 or more" for the median; the
    fingerprint hashes the partitions (it differs from the in-memory
    cohort's).

    Examples
    --------
    >>> import pbr_eval
    >>> from pbr_eval.datasets import load_reoffending
    >>> sim = load_reoffending()
    >>> roles = {k: v for k, v in sim.cohort_args.items() if k != "cluster"}
    >>> dc = pbr_eval.DistributedCohort(sim.data, npartitions=4, scheduler="synchronous",
    ...                                 **roles)
    >>> dc.n_treated, dc.n_comparison, dc.npartitions
    (600, 12000, 4)
    """

    def __init__(
        self,
        data: Any,
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
        max_levels: int = DEFAULT_MAX_LEVELS,
        scheduler: Any = None,
        npartitions: int | None = None,
        persist: bool = True,
    ) -> None:
        if period is not None:
            raise OptionError(
                f"`period` is not supported on a distributed cohort (got {period!r}): panel "
                "designs need the in-memory pbr_eval.Cohort. Leave it out, or load the data "
                "into memory.")
        if cluster is not None and not isinstance(cluster, str):
            raise OptionError(f"`cluster` must be one column name; got {cluster!r}.")
        check_choice("missing", missing, MISSING)
        self.min_treated = check_int("min_treated", min_treated, minimum=1)
        self.max_levels = check_int("max_levels", max_levels, minimum=2)
        if not isinstance(treatment, str):
            raise OptionError(f"`treatment` must be one column name; got {treatment!r}.")
        self.treatment = treatment
        self.outcomes: list[str] = check_columns("outcome", outcome)
        self.covariates: list[str] = check_columns("covariates", covariates)
        if not self.outcomes:
            raise OptionError("`outcome` must name at least one column; got none.")
        self.unit_id, self.cluster, self.period = unit_id, cluster, None
        self.missing = missing
        self.notes: list[str] = []
        self.period_order = None
        self._get, self.client, self.scheduler = resolve_scheduler(scheduler)
        ddf = self._frame(data, npartitions)
        self._check_roles(list(ddf.columns))
        self.columns = list(dict.fromkeys(
            [treatment, *self.outcomes, *self.covariates, *([unit_id] if unit_id else []),
             *([cluster] if cluster else [])]))
        self._ddf = ddf
        self.passes = 0
        self.reads = 0
        text = [c for c in self.covariates if not _is_numeric(ddf[c].dtype)]
        spec: dict[str, Any] = {
            "columns": self.columns, "treatment": treatment, "outcomes": self.outcomes,
            "covariates": self.covariates, "text": text, "cluster": cluster,
            "sample_cap": -(-SAMPLE_ROWS // max(1, ddf.npartitions))}
        self._spec = spec
        self._persisted = persist
        from dask import delayed

        # one read: the checks' summaries, the arrays and (without text covariates) the sums
        parts = [delayed(_ingest, pure=True)(p, spec) for p in ddf.to_delayed()]
        if persist:
            parts = self._persist(parts)
        self.reads += 1
        self.passes += 1
        if not persist and not text:
            both = self._collect(parts, "summary", "summary2")
            scans, finals = [b[0] for b in both], [b[1] for b in both]
        else:
            scans, finals = self._collect(parts, "summary"), None
        self._validate(scans, outcome_types)
        if finals is None:
            if text:  # the global levels are known now: one pass builds the designs
                parts = [delayed(_finish, pure=False)(p, spec, self._levels) for p in parts]
                if persist:
                    parts = self._persist(parts)
                else:
                    self.reads += 1
                self.passes += 1
            finals = self._collect(parts, "summary2")
        if not persist:
            parts = [delayed(_reread, pure=True)(p, spec, self._levels)
                     for p in ddf.to_delayed()]
        self.parts = parts
        g = _combine([f["gram"] for f in finals])
        self._gram = g
        self.partition_sizes = [int(f["n"]) for f in finals]
        self.sample = {k: np.concatenate([f["sample"][k] for f in finals])
                       for k in ("X", "t", "Y")}
        self.binary_columns = [c for j, c in enumerate(self.design_columns) if g["binary"][j]]
        self._check_design(g)
        if unit_id is not None:
            self.notes.append(
                f"`unit_id` '{unit_id}' was not checked for duplicates or contamination: a "
                "distributed cohort does not compare identifiers across partitions."
            )

    def _persist(self, parts: list[Any]) -> list[Any]:
        """Keep the partitions' results in the cluster's memory (this process's for local schedulers)."""
        if self.client is not None:
            return list(self.client.persist(parts))
        return _persist_local(parts, self._get)

    def _collect(self, parts: list[Any], *keys: str) -> list[Any]:
        """Fetch the small summaries ``keys`` of every partition (the arrays stay where they are)."""
        import dask
        from dask import delayed

        got = list(dask.compute(*[delayed(_summary, pure=False)(p, keys) for p in parts],
                                scheduler=self._get))
        if "summary2" in keys and any((g[-1] if len(keys) > 1 else g) is None for g in got):
            raise DataError(
                "A partition's role columns could not be read as numbers although every check "
                "passed; check the columns' types in each Parquet file (they must agree).")
        return got

    # ------------------------------------------------------------ building
    @classmethod
    def from_parquet(cls, path: str | Path, **roles: Any) -> DistributedCohort:
        """Build a distributed cohort from a Parquet file or a folder of Parquet files.

        Parameters
        ----------
        path : str or Path
        **roles
            The keyword arguments of :class:`DistributedCohort`.

        Returns
        -------
        DistributedCohort
        """
        return cls(Path(path), **roles)

    def _frame(self, data: Any, npartitions: int | None) -> Any:
        import dask.dataframe as dd

        if isinstance(data, (str, Path)):
            path = Path(data)
            if not path.exists():
                raise DataError(f"`data` names '{path}', which does not exist. Give the path "
                                "of a Parquet file or of a folder of Parquet files.")
            return dd.read_parquet(str(path))
        if isinstance(data, pd.DataFrame):
            return dd.from_pandas(data, npartitions=npartitions or 8, sort=False)
        if isinstance(data, dd.DataFrame):
            return data
        raise DataError(
            "`data` must be a Dask DataFrame, a pandas DataFrame or the path of Parquet data; "
            f"got {type(data).__name__}."
        )

    def map(self, fn: Callable[..., Any], *args: Any) -> list[Any]:
        """Run ``fn(partition_arrays, *args)`` on every partition; return the results in order.

        A partition's arrays are a dict with ``X`` (design), ``t`` (bool),
        ``Y`` (outcomes, one column each, in :attr:`outcomes` order) and ``n``.
        """
        import dask
        from dask import delayed

        tasks = [delayed(fn, pure=False)(p, *args) for p in self.parts]
        self._count()
        return list(dask.compute(*tasks, scheduler=self._get))

    def reduce(self, fn: Callable[..., Mapping[str, Any]], *args: Any) -> dict[str, Any]:
        """Run ``fn`` on every partition and reduce the dicts it returns (sums; ``min*``/``max*`` keys by min/max)."""
        return _combine(self.map(fn, *args))

    def run(self, requests: Mapping[str, tuple[Any, ...]]) -> dict[str, Any]:
        """Serve several requests in ONE pass over the partitions.

        Parameters
        ----------
        requests : mapping
            ``name -> (fn, args)`` (the results reduced as by :meth:`reduce`)
            or ``name -> (fn, args, "list")`` (the per-partition results, in
            order). An argument wrapped in :class:`PerPartition` gives each
            partition its own value.

        Returns
        -------
        dict
            ``name -> result``.
        """
        import dask
        from dask import delayed

        def own(i: int) -> dict[str, Any]:
            return {k: (v[0], tuple(a.values[i] if isinstance(a, PerPartition) else a
                                    for a in v[1])) for k, v in requests.items()}

        tasks = [delayed(_serve, pure=False)(p, own(i)) for i, p in enumerate(self.parts)]
        self._count()
        got = list(dask.compute(*tasks, scheduler=self._get))
        return {k: ([g[k] for g in got] if len(v) > 2 and v[2] == "list"
                    else _combine([g[k] for g in got])) for k, v in requests.items()}

    def map_merge(self, fn: Callable[..., Any], merge: Callable[[Any, Any], Any],
                  *args: Any) -> Any:
        """One pass: ``fn(partition, *args)`` on every partition, merged on the cluster.

        ``merge`` must be associative and commutative (the merge order is
        not the partitions'). On a distributed client each worker folds the
        partitions it holds one after another (``merge(result so far,
        fn(next partition))``, one chain per worker thread), so a worker
        keeps one running result per thread rather than one per partition,
        and the chains' results are merged pairwise; elsewhere the
        partitions' results are merged pairwise in a tree. Arguments wrapped
        in :class:`PerPartition` give each partition its own value.
        """
        import dask
        from dask import delayed

        def own(i: int) -> list[Any]:
            return [a.values[i] if isinstance(a, PerPartition) else a for a in args]

        chains = self._chains()
        if chains is None:
            level = [delayed(fn, pure=False)(p, *own(i)) for i, p in enumerate(self.parts)]
        else:
            level = []
            for chain in chains:
                acc = delayed(fn, pure=False)(self.parts[chain[0]], *own(chain[0]))
                for i in chain[1:]:
                    acc = delayed(_fold, pure=False)(acc, fn, merge, self.parts[i], *own(i))
                level.append(acc)
        while len(level) > 1:
            level = [delayed(merge, pure=False)(level[i], level[i + 1]) if i + 1 < len(level)
                     else level[i] for i in range(0, len(level), 2)]
        self._count()
        return dask.compute(level[0], scheduler=self._get)[0]

    def _chains(self) -> list[list[int]] | None:
        """Partitions grouped by the worker holding them, one group per worker thread (None: unknown)."""
        if self.client is None or not self._persisted:
            return None
        where = self.client.who_has(self.parts)
        threads = self.client.nthreads()
        by_worker: dict[str, list[int]] = {}
        for i, part in enumerate(self.parts):
            holders = where.get(part.key) or where.get(str(part.key))
            if not holders:
                return None
            by_worker.setdefault(sorted(holders)[0], []).append(i)
        chains: list[list[int]] = []
        for worker, idx in by_worker.items():
            k = max(1, min(int(threads.get(worker, 1)), len(idx)))
            chains.extend(idx[j::k] for j in range(k))
        return chains

    def map_buckets(self, split: Callable[..., Sequence[Any]], apply: Callable[..., Any],
                    n_buckets: int, *args: Any) -> list[Any]:
        """One pass that regroups rows: ``split`` cuts each partition into ``n_buckets`` pieces, ``apply`` gets one bucket's pieces.

        ``split(partition, *args)`` returns a sequence of ``n_buckets``
        pieces; ``apply(*pieces)`` receives bucket ``b``'s piece of every
        partition, in partition order, on one worker (only those pieces
        travel). Arguments wrapped in :class:`PerPartition` give each
        partition its own value.

        Returns
        -------
        list
            ``apply``'s result for each bucket.
        """
        import dask
        from dask import delayed

        cut = [delayed(split, pure=False, nout=n_buckets)(
            p, *[a.values[i] if isinstance(a, PerPartition) else a for a in args])
            for i, p in enumerate(self.parts)]
        tasks = [delayed(apply, pure=False)(*[c[b] for c in cut]) for b in range(n_buckets)]
        self._count()
        return list(dask.compute(*tasks, scheduler=self._get))

    def _count(self) -> None:
        self.passes += 1
        if not self._persisted:
            self.reads += 1

    def close(self) -> None:
        """Close a client this cohort started (``scheduler="local"`` or an address)."""
        client = self.client
        if client is not None and getattr(client, "_pbr_eval_owned", False):
            cluster = getattr(client, "_pbr_eval_cluster", None)
            client.close()
            if cluster is not None:
                cluster.close()

    def to_cohort(self) -> Any:
        """Return the in-memory :class:`pbr_eval.Cohort` of the same rows (for data that fits)."""
        from pbr_eval.cohort import Cohort

        frame = self._ddf[self.columns].compute(scheduler=self._get)
        return Cohort(frame, **self.roles())

    # -------------------------------------------------------------- checks
    def _check_roles(self, available: list[str]) -> None:
        pairs = [("treatment", self.treatment), *(("outcome", c) for c in self.outcomes),
                 *(("covariates", c) for c in self.covariates)]
        if self.unit_id is not None:
            pairs.append(("unit_id", self.unit_id))
        if self.cluster is not None:
            pairs.append(("cluster", self.cluster))
        dup = [c for c in set(self.covariates) if self.covariates.count(c) > 1]
        if dup:
            raise CovariateError(
                f"`covariates` lists {_list_names(sorted(dup))} more than once; list each once.")
        both = set(self.outcomes) & set(self.covariates)
        if both:
            raise OptionError(
                f"Column {_list_names(sorted(both))} is both an outcome and a covariate; "
                "covariates must be measured before the programme."
            )
        for role, col in pairs:
            if col not in available:
                raise MissingColumnError(
                    f"`{role}` names column '{col}', which is not in the data. "
                    f"Available columns: {_list_names(available, 12)}."
                )

    def _validate(self, scans: Sequence[Mapping[str, Any]],
                  given_types: Mapping[str, str] | None) -> None:
        n = sum(s["n"] for s in scans)
        self.n_input_rows = n
        if n == 0:
            raise DataError("The data has no rows.")
        na = {c: sum(s["na"][c] for s in scans) for c in self.columns}
        for c in self.columns:
            if na[c] == n:
                role = ("treatment" if c == self.treatment else "outcome" if c in self.outcomes
                        else "covariates" if c in self.covariates
                        else "cluster" if c == self.cluster else "unit_id")
                raise MissingValueError(
                    f"Column '{c}' (`{role}`) has no values: all {_plural(n, 'row')} are "
                    f"missing, so missing='drop' would leave nothing. Check that the file was "
                    f"read correctly, or remove '{c}' from `{role}`."
                )
        counts = {c: v for c, v in na.items() if v > 0}
        n_rows = sum(s["na_rows"] for s in scans)
        dropped: list[DroppedRows] = []
        if counts:
            detail = ", ".join(f"{c} ({v:,})" for c, v in counts.items())
            if self.missing == "error":
                quoted = ", ".join(f"'{c}' ({v:,})" for c, v in counts.items())
                raise MissingValueError(
                    f"Missing values in {quoted}: {_plural(n_rows, 'row')} affected. "
                    "Fill them in, or pass missing='drop' to leave those rows out "
                    "(the count is reported in every result)."
                )
            n1_all = sum(s["n1_all"] for s in scans)
            nt = sum(s["na_rows_t"] for s in scans)
            dropped.append(DroppedRows(
                n_rows, f"missing values in {detail}", n_treated=nt,
                n_comparison=sum(s["na_rows_c"] for s in scans),
                share_treated=(nt / n1_all if n1_all else None)))
            if n_rows == n:
                raise MissingValueError(
                    f"Every row has a missing value ({detail}); nothing is left to analyse. "
                    "Fill in the missing values or remove the emptiest columns from the roles."
                )
        self.dropped: tuple[DroppedRows, ...] = tuple(dropped)
        self._check_treatment(scans)
        for c in [*self.outcomes, *self.covariates]:
            k = sum(s["inf"].get(c, 0) for s in scans)
            if k:
                raise InfiniteValueError(
                    f"Column '{c}' holds {_plural(k, 'infinite value')} (inf or -inf). "
                    "Replace them with real values or mark them missing."
                )
        self.outcome_types = self._outcome_types(scans, given_types)
        self._design_names(scans)
        self._scans_hash = hashlib.sha256("".join(s["hash"] for s in scans).encode()).hexdigest()

    def _check_treatment(self, scans: Sequence[Mapping[str, Any]]) -> None:
        dtype = self._ddf[self.treatment].dtype
        values = set().union(*(s["t_values"] for s in scans))
        name = self.treatment
        if not (pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_numeric_dtype(dtype)):
            shown = ", ".join(_show(v) for v in list(values)[:5])
            raise TreatmentError(
                f"`treatment` column '{name}' must hold 0/1 or True/False; found values "
                f"{shown} (type {dtype}). Recode it so 1 marks programme participants."
            )
        bad = [v for v in values if v not in (0, 1)]
        if bad:
            shown = ", ".join(_show(v) for v in sorted(bad, key=str)[:5])
            raise TreatmentError(
                f"`treatment` column '{name}' must hold 0/1 or True/False; found {shown}. "
                "Recode it so 1 marks programme participants and 0 the comparison pool."
            )
        n = sum(s["n_complete"] for s in scans)
        n1 = sum(s["n1"] for s in scans)
        if n1 in (0, n):
            which = "no treated (1) rows" if n1 == 0 else "no comparison (0) rows"
            after = ""
            if self.dropped:
                after = (f" (after leaving out {_plural(self.dropped[0].n, 'row')} with "
                         f"{self.dropped[0].reason})")
            raise TreatmentError(
                f"`treatment` column '{name}' has only one group: {which} among "
                f"{_plural(n, 'row')}{after}. Both programme participants and a comparison "
                "pool are needed (for a before/after-only design use method='baseline')."
            )
        self.n = n
        self.n_treated = n1
        self.n_comparison = n - n1
        if n1 < self.min_treated:
            raise SmallCohortError(
                f"`{name}` marks {_plural(n1, 'treated unit')}; at least "
                f"{self.min_treated} are needed for a stable estimate. Add more programme "
                "participants, or lower `min_treated` if you accept a very wide interval "
                "(the Justice Data Lab asks for 60)."
            )

    def _outcome_types(self, scans: Sequence[Mapping[str, Any]],
                       given: Mapping[str, str] | None) -> dict[str, str]:
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
            st = [s["stats"][c] for s in scans if c in s["stats"]]
            dtype = self._ddf[c].dtype
            if pd.api.types.is_bool_dtype(dtype):
                detected = "binary"
            elif not st:
                raise OutcomeTypeError(
                    f"`outcome` column '{c}' must be numeric (0/1 for a rate, a count or a "
                    f"measurement); found type {dtype}. Recode it as numbers."
                )
            elif all(x["binary"] for x in st):
                detected = "binary"
            elif min(x["min"] for x in st) >= 0 and all(x["whole"] for x in st):
                detected = "count"
                nn = sum(x["n"] for x in st)
                measured = (min(x["min"] for x in st) >= 1
                            and 2 * sum(x["n_ge_100"] for x in st) >= nn)
                if c not in given and measured:
                    detected = "continuous"
                    self.notes.append(
                        f"Outcome '{c}' holds whole numbers and no zeros, at least half of them "
                        "100 or more: it looks like a measurement recorded in whole units, not a "
                        "count of events, so it is typed 'continuous'. If it counts events, pass "
                        f"outcome_types={{'{c}': 'count'}}."
                    )
            else:
                detected = "continuous"
            if c in given:
                want = check_choice(f"outcome_types['{c}']", given[c], OUTCOME_TYPES)
                if want == "binary" and detected != "binary":
                    raise OutcomeTypeError(
                        f"`outcome_types` says '{c}' is binary, but it holds values other "
                        "than 0 and 1.")
                if want == "count" and detected == "continuous":
                    raise OutcomeTypeError(
                        f"`outcome_types` says '{c}' is a count, but it holds negative or "
                        "non-integer values.")
                detected = want
            types[c] = detected
        return types

    def _design_names(self, scans: Sequence[Mapping[str, Any]]) -> None:
        names: list[str] = []
        sources: dict[str, str] = {}
        self._levels: dict[str, list[Any]] = {}
        for c in self.covariates:
            dtype = self._ddf[c].dtype
            if pd.api.types.is_bool_dtype(dtype) or (
                    pd.api.types.is_numeric_dtype(dtype)
                    and not isinstance(dtype, pd.CategoricalDtype)):
                names.append(c)
                sources[c] = c
                continue
            vals = list(dict.fromkeys(v for s in scans for v in s["levels"].get(c, [])))
            if isinstance(dtype, pd.CategoricalDtype) and dtype.categories is not None and len(
                    dtype.categories):
                levels = [v for v in dtype.categories if v in set(vals)]
            else:
                problem = _text_problem(c, vals)
                if problem:
                    raise CovariateError(problem)
                levels = sorted(vals)
            problem = _label_problem(c, levels, self.max_levels)
            if problem:
                raise CovariateError(problem)
            if len(levels) < 2:
                raise CovariateError(
                    f"Covariate '{c}' is constant: every row has the value "
                    f"{levels[0]!r}. It cannot explain selection; remove it from `covariates`."
                )
            self._levels[c] = levels
            for lev in levels[1:]:
                names.append(f"{c}[{lev}]")
                sources[f"{c}[{lev}]"] = c
        clash = [nm for nm in dict.fromkeys(names) if names.count(nm) > 1]
        if clash:
            raise CovariateError(
                f"Two covariates give a design column named '{clash[0]}'; rename one of them.")
        self.design_columns = names
        self.design_sources = sources

    def _check_design(self, g: Mapping[str, Any]) -> None:
        lo = np.minimum(g["min0"], g["min1"])
        hi = np.maximum(g["max0"], g["max1"])
        for j in np.flatnonzero(lo == hi).tolist():
            name = self.design_columns[j]
            src = self.design_sources[name]
            raise CovariateError(
                f"Covariate '{src}' is constant: every row has the value {lo[j]:g}"
                + (f" for '{name}'" if name != src else "")
                + ". It cannot explain selection; remove it from `covariates`."
            )
        ZZ, n = g["ZZ"], float(g["n"])
        p = ZZ.shape[0] - 1
        if p < 2:
            return
        m = ZZ[0, 1:] / n
        G = ZZ[1:, 1:] - n * np.outer(m, m)
        sd = np.sqrt(np.clip(np.diag(G), 0, None))
        for j in range(p):
            for k in range(j):
                if ZZ[1 + j, 1 + j] == ZZ[1 + k, 1 + k] == ZZ[1 + j, 1 + k] and \
                        ZZ[0, 1 + j] == ZZ[0, 1 + k]:
                    a, b = self.design_columns[k], self.design_columns[j]
                    sa, sb = self.design_sources[a], self.design_sources[b]
                    raise CovariateError(
                        f"Covariate '{sb}' duplicates '{sa}'"
                        + (f" ('{b}' equals '{a}' on every row)" if (a, b) != (sa, sb) else "")
                        + ". Keep only one of them in `covariates`."
                    )
        w, V = np.linalg.eigh(G / np.outer(sd, sd))
        if w[0] > 1e-9 * p:
            return
        v = V[:, 0]
        involved = [int(j) for j in np.flatnonzero(np.abs(v) > 1e-6 * np.abs(v).max())]
        cols = [self.design_columns[j] for j in involved]
        srcs = list(dict.fromkeys(self.design_sources[c] for c in cols))
        raise CollinearityError(
            f"Covariates {_list_names(srcs)} are perfectly collinear: the design columns "
            f"{', '.join(repr(c) for c in cols)} are an exact linear combination of each other "
            "(with the intercept) on every row. No model can separate their effects; remove one "
            "of them from `covariates`."
        )

    # ----------------------------------------------------------- accessors
    @property
    def npartitions(self) -> int:
        """Number of partitions."""
        return len(self.parts)

    @property
    def is_panel(self) -> bool:
        """Always False (panel designs need the in-memory cohort)."""
        return False

    @property
    def n_dropped(self) -> int:
        """Number of input rows left out by the cohort."""
        return sum(d.n for d in self.dropped)

    @property
    def fingerprint(self) -> str:
        """SHA-256 over the partitions' role-column hashes (not the in-memory cohort's)."""
        return self._scans_hash

    def roles(self) -> dict[str, Any]:
        """Return the role arguments (as for :meth:`pbr_eval.Cohort.roles`)."""
        return {"treatment": self.treatment, "outcome": list(self.outcomes),
                "covariates": list(self.covariates), "unit_id": self.unit_id,
                "cluster": self.cluster, "period": None, "missing": self.missing,
                "min_treated": self.min_treated,
                **({"max_levels": self.max_levels}
                   if self.max_levels != DEFAULT_MAX_LEVELS else {})}

    def describe(self) -> dict[str, Any]:
        """Return a plain summary used in results' ``info`` (with the partitions and scheduler)."""
        return {
            "n_input_rows": self.n_input_rows, "n_rows": self.n,
            "n_treated": self.n_treated, "n_comparison": self.n_comparison,
            "dropped": [d.to_dict() for d in self.dropped],
            "outcome_types": dict(self.outcome_types), "notes": list(self.notes),
            "fingerprint": self.fingerprint, "backend": "dask",
            "npartitions": self.npartitions, "scheduler": self.scheduler, **self.roles(),
        }

    def __repr__(self) -> str:
        return (f"DistributedCohort({self.n_treated:,} treated, {self.n_comparison:,} comparison, "
                f"{len(self.design_columns)} design columns, {self.npartitions} partitions)")


def _fold(acc: Any, fn: Callable[..., Any], merge: Callable[[Any, Any], Any], part: Any,
          *args: Any) -> Any:
    """Merge one more partition's result into a running result (:meth:`DistributedCohort.map_merge`)."""
    return merge(acc, fn(part, *args))


def _persist_local(parts: list[Any], get: Any) -> list[Any]:
    """Compute the partitions' arrays once and keep them (local schedulers)."""
    import uuid

    import dask
    from dask import delayed

    values = dask.compute(*parts, scheduler=get)
    tag = uuid.uuid4().hex
    return [delayed(v, name=f"pbr-eval-part-{tag}-{i}", traverse=False)
            for i, v in enumerate(values)]
