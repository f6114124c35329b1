"""Several fits sharing the passes over a distributed cohort's partitions.

A fit is written as a *job*: a generator that yields the requests it needs
answered in the next pass (``{name: (fn, args)}``, see
:meth:`~pbr_eval.distributed.cohort.DistributedCohort.run`), receives their
reduced answers, and returns its result. It may also yield
:class:`Publish` to hand a value to later jobs before it is finished (the
propensity model publishes its coefficients, then asks for its state at
them, which can share a pass with the estimates that use them).
:func:`run_jobs` serves every active job's requests in one pass per round,
so a propensity model and the outcome models iterate in lockstep, and the
number of passes is the largest number any one job needs, not the sum.

Within a pass, the kernels that return sums run block by block
(:func:`blockwise`): each block of :data:`BLOCK_ROWS` rows and its
temporaries stay in the processor's cache, so a kernel reads the
partition's design from memory once instead of once per full-length
temporary.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import threading
from collections.abc import Callable, Generator, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from pbr_eval.inference.design import row_blocks

__all__ = ["Publish", "Job", "run_jobs", "blockwise", "add_sums", "BLOCK_ROWS"]

#: Rows per block of a :func:`blockwise` kernel: a block of 10 design columns is 2.6 MB.
BLOCK_ROWS = 32_768

# glibc's mallopt parameters (malloc.h) and the values a block kernel runs with
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_HEAP_TRIM, _HEAP_MMAP = 256 * 2**20, 64 * 2**20
_heap_lock = threading.Lock()
_heap_users = [0]


def _libc() -> Any:
    """Return glibc (for ``mallopt``), or None on another C library."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        return libc if hasattr(libc, "mallopt") else None
    except OSError:
        return None


@contextlib.contextmanager
def block_heap() -> Iterator[None]:
    """Let a block kernel's temporaries reuse freed heap memory (glibc under a Dask nanny).

    A Dask nanny starts its workers with ``MALLOC_TRIM_THRESHOLD_=65536``,
    which fixes glibc's threshold for serving an allocation by ``mmap`` at
    128 KiB: every temporary of a block (256 KiB at :data:`BLOCK_ROWS`
    rows) is then a fresh mapping whose pages fault in on first touch, and
    the kernels run three to four times slower than in a plain process.
    While a kernel runs, this raises both thresholds (``mallopt``) so the
    blocks reuse the same heap memory, and afterwards restores the values
    the environment set, so the worker returns freed memory as Dask
    intends. In a process without those variables (glibc's adaptive
    thresholds, which already serve blocks from the heap) or on another C
    library it does nothing.

    Examples
    --------
    >>> with block_heap():
    ...     pass
    """
    env = {k: os.environ.get(k) for k in ("MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_")}
    libc = _libc() if any(v is not None for v in env.values()) else None
    if libc is None:
        yield
        return
    with _heap_lock:
        _heap_users[0] += 1
        if _heap_users[0] == 1:
            libc.mallopt(_M_MMAP_THRESHOLD, _HEAP_MMAP)
            libc.mallopt(_M_TRIM_THRESHOLD, _HEAP_TRIM)
    try:
        yield
    finally:
        with _heap_lock:
            _heap_users[0] -= 1
            if _heap_users[0] == 0:
                trim = env["MALLOC_TRIM_THRESHOLD_"]
                mmap = env["MALLOC_MMAP_THRESHOLD_"]
                libc.mallopt(_M_MMAP_THRESHOLD, int(mmap) if mmap else 128 * 1024)
                libc.mallopt(_M_TRIM_THRESHOLD, int(trim) if trim else 128 * 1024)

#: A fit's generator: yields requests (or :class:`Publish`), receives answers, returns a value.
Job = Generator[Any, Any, Any]


@dataclass(frozen=True)
class Publish:
    """A value a job hands to the others before it has finished (see :func:`run_jobs`).

    Attributes
    ----------
    value : object
        Recorded as ``"<job>.published"`` and passed to the hook.

    Examples
    --------
    >>> class Nothing:
    ...     def run(self, requests):
    ...         return {}
    >>> def early():
    ...     yield Publish(41)
    ...     return 42
    >>> run_jobs(Nothing(), {"a": early()})
    {'a.published': 41, 'a': 42}
    """

    value: Any


def run_jobs(cohort: Any, jobs: Mapping[str, Job],
             hook: Callable[[str, Any, dict[str, Any]], Mapping[str, Job]] | None = None
             ) -> dict[str, Any]:
    """Run jobs in lockstep, one pass over the partitions per round.

    Parameters
    ----------
    cohort : DistributedCohort
    jobs : mapping of str to generator
        The jobs to start (each yields ``{request: (fn, args)}``).
    hook : callable, optional
        ``hook(event, value, done)`` is called when a job publishes
        (``event = "<name>.published"``) or returns (``event = name``);
        ``done`` holds what every job has returned or published so far. It
        returns new jobs to start (their first requests join the next pass).

    Returns
    -------
    dict
        What each job returned, and ``"<name>.published"`` for what it published.

    Notes
    -----
    Within a round the answers go to the jobs in the order they were
    started, so a job started earlier (the propensity model, whose
    separation check must come first) sees its answer first.

    Examples
    --------
    >>> class Rows:  # a stand-in cohort whose one pass counts rows
    ...     passes = 0
    ...     def run(self, requests):
    ...         self.passes += 1
    ...         return {k: 10 for k in requests}
    >>> def count(times):
    ...     total = 0
    ...     for _ in range(times):
    ...         total += (yield {"n": (len, ())})["n"]
    ...     return total
    >>> c = Rows()
    >>> run_jobs(c, {"a": count(2), "b": count(3)}), c.passes
    ({'a': 20, 'b': 30}, 3)
    """
    done: dict[str, Any] = {}
    pending: dict[str, tuple[int, Job, dict[str, Any]]] = {}
    order = [0]

    def start(name: str, job: Job) -> None:
        order[0] += 1
        advance(name, order[0], job, None)

    def advance(name: str, seq: int, job: Job, answer: Any) -> None:
        while True:
            try:
                req = job.send(answer)
            except StopIteration as stop:
                done[name] = stop.value
                for new_name, new_job in (hook(name, stop.value, done) if hook else {}).items():
                    start(new_name, new_job)
                return
            if isinstance(req, Publish):
                done[f"{name}.published"] = req.value
                answer = None
                for new_name, new_job in (hook(f"{name}.published", req.value, done)
                                          if hook else {}).items():
                    start(new_name, new_job)
                continue
            pending[name] = (seq, job, req)
            return

    for name, job in jobs.items():
        start(name, job)
    while pending:
        requests = {f"{name}|{k}": v for name, (_, _, req) in pending.items()
                    for k, v in req.items()}
        got = cohort.run(requests)
        current = sorted(pending.items(), key=lambda kv: kv[1][0])
        pending.clear()
        for name, (seq, job, req) in current:
            advance(name, seq, job, {k: got[f"{name}|{k}"] for k in req})
    return done


def add_sums(a: Mapping[str, Any], b: Mapping[str, Any]) -> dict[str, Any]:
    """Add two blocks' (or partitions') sums key by key.

    Keys starting with ``min`` / ``max`` take the minimum / maximum, boolean
    arrays the logical and, ``cl`` (per-cluster sums ``(labels, M)`` over
    the same labels) adds the ``M``; everything else is added.

    Parameters
    ----------
    a, b : mapping
        Dictionaries with the same keys.

    Returns
    -------
    dict

    Examples
    --------
    >>> import numpy as np
    >>> add_sums({"n": 2, "max_s": np.array([1.0]), "g": np.ones(2)},
    ...          {"n": 3, "max_s": np.array([4.0]), "g": np.ones(2)})
    {'n': 5, 'max_s': array([4.]), 'g': array([2., 2.])}
    """
    out: dict[str, Any] = {}
    for k, x in a.items():
        y = b[k]
        if k.startswith("min"):
            out[k] = np.minimum(x, y)
        elif k.startswith("max"):
            out[k] = np.maximum(x, y)
        elif k == "cl":
            out[k] = (x[0], x[1] + y[1])
        elif isinstance(x, np.ndarray) and x.dtype == bool:
            out[k] = x & y
        else:
            out[k] = x + y
    return out


def _block(part: Mapping[str, Any], rows: slice) -> dict[str, Any]:
    """Return a view of a partition's rows ``rows`` (no copy)."""
    cl = part.get("cl")
    return {"X": part["X"][rows], "t": part["t"][rows], "Y": part["Y"][rows],
            "n": rows.stop - rows.start,
            "cl": None if cl is None else (cl[0][rows], cl[1])}


def blockwise(fn: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
    """Run a partition kernel that returns sums on blocks of :data:`BLOCK_ROWS` rows, and add them.

    The kernel must be additive over rows (sums, counts, ``min*`` / ``max*``
    keys; see :func:`add_sums`): the result is the whole partition's, up
    to the order of the floating-point additions.

    Parameters
    ----------
    fn : callable
        ``fn(part, *args) -> dict``, ``part`` a partition's arrays (``X``,
        ``t``, ``Y``, ``n``, optionally ``cl``).

    Returns
    -------
    callable
        The same signature.

    Examples
    --------
    >>> import numpy as np
    >>> @blockwise
    ... def total(part):
    ...     return {"s": part["X"].sum(), "max_x": part["X"].max()}
    >>> n = 3 * BLOCK_ROWS + 5
    >>> part = {"X": np.ones((n, 1)), "t": np.zeros(n, bool), "Y": np.zeros((n, 1)), "n": n}
    >>> got = total(part)
    >>> int(got["s"]) == n, float(got["max_x"])
    (True, 1.0)
    """
    @functools.wraps(fn)
    def run(part: Mapping[str, Any], *args: Any) -> dict[str, Any]:
        n = part["t"].shape[0]
        if n <= BLOCK_ROWS:
            return fn(part, *args)
        out: dict[str, Any] | None = None
        with block_heap():
            for rows in row_blocks(n, BLOCK_ROWS):
                got = fn(_block(part, rows), *args)
                out = got if out is None else add_sums(out, got)
        assert out is not None
        return out

    return run
