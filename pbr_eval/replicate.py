"""The replicate fast path: what a bootstrap replicate fit may reuse, passed explicitly.

A bootstrap (:mod:`pbr_eval.bootstrap`) refits an estimator on hundreds of
resampled cohorts. Three things make a replicate fit cheaper without changing
its numbers, and each is an explicit, typed argument here rather than a private
attribute read across modules:

* :class:`WorkBuffers`: work arrays reused from one replicate to the next
  (fresh large allocations are slow to fault in on some machines). The
  replicate cohort's design matrix (:meth:`pbr_eval.Cohort.take`), the
  propensity fit's distinct rows and the logistic fit's weighted design are
  written into them.
* :class:`ReplicateHints`: for one replicate, its parent rows and the parent's
  design, so a logistic propensity fit can run on the *distinct* rows with
  their multiplicities as case weights (the same likelihood, hence the same
  maximum), and the full sample's propensity coefficients as a warm start.
* ``Estimator.fit_replicate(cohort, hints)`` and
  ``Estimator.replicate_columns(cohort)`` (:mod:`pbr_eval.estimators.base`):
  an estimator that can use the hints overrides them; the default refits in
  full.

A cohort built with buffers is valid only until the next one is built with
the same buffers: the bootstrap drops each replicate before drawing the next.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["WorkBuffers", "ReplicateHints"]


class WorkBuffers:
    """Named work arrays reused across replicates, grown as needed.

    Examples
    --------
    >>> buf = WorkBuffers()
    >>> a = buf.array("X", 10, 3)
    >>> b = buf.array("X", 8, 3)
    >>> a.shape, b.shape, bool(np.shares_memory(a, b))
    ((10, 3), (8, 3), True)
    """

    def __init__(self) -> None:
        self._arrays: dict[str, np.ndarray] = {}

    def array(self, name: str, n: int, p: int) -> np.ndarray:
        """Return an ``(n, p)`` float view of buffer ``name``; its content is undefined.

        Parameters
        ----------
        name : str
            Which buffer (one per use, e.g. ``"X"``, ``"logit_Xs"``).
        n, p : int
            Rows and columns wanted. The buffer grows (by at least 10%) when
            ``n`` exceeds it, and is replaced when ``p`` changes.

        Returns
        -------
        numpy.ndarray
        """
        buf = self._arrays.get(name)
        if buf is None or buf.shape[0] < n or buf.shape[1] != p:
            buf = np.empty((max(n, int(1.1 * (0 if buf is None else buf.shape[0]))), p))
            self._arrays[name] = buf
        return buf[:n]


@dataclass(frozen=True)
class ReplicateHints:
    """What a bootstrap replicate fit may reuse (read-only).

    Attributes
    ----------
    rows : numpy.ndarray
        The parent cohort's row number of each replicate row (repeats allowed).
    parent_X : numpy.ndarray
        The parent cohort's design matrix (``Cohort.X``).
    parent_t : numpy.ndarray
        The parent cohort's treatment indicator (``Cohort.t``).
    start : numpy.ndarray or None
        The full sample's logistic propensity coefficients (intercept first),
        a warm start: the optimum does not depend on it.
    buffers : WorkBuffers or None
        Work arrays shared by the replicates of one batch.

    Notes
    -----
    A replicate's log-likelihood equals the multiplicity-weighted
    log-likelihood of its distinct parent rows, so a logistic fit on
    ``parent_X[unique(rows)]`` with weights ``bincount(rows)`` has the same
    maximum over about two thirds of the rows; only floating-point rounding
    differs (``tests/test_bootstrap_speed.py``).
    """

    rows: np.ndarray
    parent_X: np.ndarray
    parent_t: np.ndarray
    start: np.ndarray | None = None
    buffers: WorkBuffers | None = None
