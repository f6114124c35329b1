"""Overlap warnings every estimator family shares (issue 14).

Weighting already warns on extreme propensity scores
(:func:`pbr_eval.estimators._att.overlap_warning`). This module adds the
checks the other families lacked, so that no estimator returns a number built
on a comparison group unlike the programme's without saying so:

* :func:`range_warning` (regression, g-computation): programme participants
  outside the comparison pool's range of a covariate, where the outcome model
  can only extrapolate;
* :func:`balance_warning` (matching and stratification): the groups still
  differ after adjustment (|SMD| above 0.25, the conventional limit for
  "poor" balance; Rubin 2001, Stuart 2010), e.g. nearest matching with a
  ``ratio`` as large as the pool, which returns the pool's raw rate.

Each returns the note (for ``info["notes"]``, hence summaries and reports)
and issues an :class:`~pbr_eval.exceptions.OverlapWarning`.

References
----------
Rubin, D. B. (2001). Using propensity scores to help design observational
studies. Health Services & Outcomes Research Methodology 2, 169-188.
Stuart, E. A. (2010). Matching methods for causal inference. Statistical
Science 25(1), 1-21.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np

from pbr_eval.cohort import Cohort, zero_one_columns
from pbr_eval.exceptions import OverlapWarning
from pbr_eval.inference.design import row_blocks

__all__ = ["SMD_LIMIT", "RANGE_SHARE", "balance_warning", "range_warning", "smd_after"]

#: |SMD| after adjustment above this is poor balance (Rubin 2001; Stuart 2010).
SMD_LIMIT = 0.25
#: Share of programme participants outside the pool's range of a covariate that warns.
RANGE_SHARE = 0.10


def _warn(note: str, stacklevel: int) -> str:
    warnings.warn(note, OverlapWarning, stacklevel=stacklevel + 1)
    return note


def smd_after(X: np.ndarray, t: np.ndarray, w: np.ndarray, *, estimand: str = "ATT",
              binary: np.ndarray | None = None) -> np.ndarray:
    """Standardised mean differences after adjustment, per column of ``X``, in one pass.

    Weighted group means (units with weight 0 left out) divided by the focal
    group's standard deviation before adjustment (``sqrt(p (1 - p))`` for a 0/1
    column), MatchIt's convention; the cheap version of
    :class:`~pbr_eval.diagnostics.balance.BalanceTable`'s ``smd_after`` for a warning.
    ``binary``: columns already known to hold only 0 and 1 in every row of ``X`` (a
    boolean mask, e.g. the cohort's ``binary_columns``); only the others are read to
    find out (a 0/1 column is otherwise read to its last row).

    Examples
    --------
    >>> import numpy as np
    >>> t = np.array([1, 1, 0, 0], bool)
    >>> smd_after(np.array([[1.0], [3.0], [1.0], [5.0]]), t, np.array([1, 1, 1, 0.0])).round(3)
    array([0.707])
    """
    focal = t if estimand != "ATC" else ~t
    W = np.empty((2, t.size))  # both groups' weights, for one pass over X
    np.multiply(w, t, out=W[0])
    np.multiply(w, ~t, out=W[1])
    s1, s0 = W[0].sum(), W[1].sum()
    if s1 <= 0 or s0 <= 0 or X.shape[1] == 0:
        return np.zeros(X.shape[1])
    means = W @ X
    del W
    diff = means[0] / s1 - means[1] / s0
    Xf = X[focal]
    # 0/1 in every row (then in the focal rows too), found in one blocked pass
    known = np.zeros(X.shape[1], bool) if binary is None else np.asarray(binary, bool)
    binary = known | zero_one_columns(X, columns=np.flatnonzero(~known))
    p = Xf.mean(axis=0)
    var = np.where(binary, p * (1 - p), Xf.var(axis=0, ddof=1) if Xf.shape[0] > 1 else 0.0)
    sd = np.sqrt(np.clip(var, 0, None))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(sd > 0, diff / sd, 0.0)


def balance_warning(cohort: Cohort, w: np.ndarray, method: str, *, estimand: str = "ATT",
                    hint: str = "", stacklevel: int = 3) -> str | None:
    """Warn when the groups still differ after adjustment (|SMD| above :data:`SMD_LIMIT`).

    Parameters
    ----------
    cohort : Cohort
    w : numpy.ndarray
        The adjustment weights (treated 1 or 0, comparison units their weight).
    method : str
        Named in the note.
    estimand : {"ATT", "ATC"}
    hint : str
        A method-specific cause, put first (e.g. a ``ratio`` as large as the pool).

    Returns
    -------
    str or None
        The note, or None when balance is acceptable.
    """
    known = np.isin(cohort.design_columns, cohort.binary_columns)
    smd = np.abs(smd_after(cohort.X, cohort.t, w, estimand=estimand, binary=known))
    note = poor_balance_note(smd, cohort.design_columns, method, hint)
    return None if note is None else _warn(note, stacklevel)


def poor_balance_note(smd: np.ndarray, names: Sequence[str], method: str,
                      hint: str = "") -> str | None:
    """Return the note of :func:`balance_warning` from each column's |SMD| after adjustment (None: fine).

    Shared with the distributed matching (:mod:`pbr_eval.distributed.matching`), which
    has the |SMD| from reduced moments.
    """
    bad = np.flatnonzero(smd > SMD_LIMIT)
    if bad.size == 0:
        return None
    order = bad[np.argsort(-smd[bad], kind="stable")][:3]
    shown = ", ".join(f"'{names[j]}' (|SMD| {smd[j]:.2f})" for j in order)
    return (
        f"Poor overlap ({method}): {hint}after adjustment the groups still differ on {shown}, "
        f"above {SMD_LIMIT:g}: the comparison group does not resemble the programme group, so "
        "the non-intervention estimate rests on people unlike them. Tighten the match (a "
        "caliper, exact matching on those covariates, a smaller `ratio`), restrict the "
        "comparison pool, or report the imbalance with the estimate.")


def range_warning(cohort: Cohort, method: str, *, stacklevel: int = 3) -> str | None:
    """Warn when programme participants lie outside the comparison pool's covariate range.

    For each design column: the share of treated units below the pool's
    minimum or above its maximum (an indicator: treated with a level no pool
    member has). Above :data:`RANGE_SHARE` the outcome model's prediction for
    them is an extrapolation.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from pbr_eval import Cohort
    >>> df = pd.DataFrame({"t": [1] * 40 + [0] * 60, "y": [0, 1] * 50,
    ...                    "age": list(range(50, 90)) + list(range(18, 78))})
    >>> c = Cohort(df, treatment="t", outcome="y", covariates=["age"])
    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     print(range_warning(c, "regression").split(" (pool")[0])
    No overlap (regression): 30% of the programme participants lie outside the comparison pool's range on 'age'
    """
    X, t = cohort.X, cohort.t
    if X.shape[1] == 0:
        return None
    X1 = X[t]
    # the pool's range block by block: no copy of the comparison rows
    lo, hi = np.full(X.shape[1], np.inf), np.full(X.shape[1], -np.inf)
    for rows in row_blocks(X.shape[0]):
        X0 = X[rows][~t[rows]]
        if X0.shape[0]:
            np.minimum(lo, X0.min(axis=0), out=lo)
            np.maximum(hi, X0.max(axis=0), out=hi)
    share = ((X1 < lo) | (X1 > hi)).mean(axis=0)
    bad = np.flatnonzero(share > RANGE_SHARE)
    if bad.size == 0:
        return None
    order = bad[np.argsort(-share[bad], kind="stable")][:3]
    parts = []
    for j in order:
        name = cohort.design_columns[j]
        parts.append(f"'{name}' (pool {lo[j]:.4g} to {hi[j]:.4g}; programme "
                     f"{X1[:, j].min():.4g} to {X1[:, j].max():.4g})")
    worst = float(share[order[0]])
    return _warn(
        f"No overlap ({method}): {worst:.0%} of the programme participants lie outside the "
        f"comparison pool's range on {', '.join(parts)}: for them the outcome model "
        "extrapolates beyond the data, and the estimate depends on its functional form. "
        "Restrict the programme cohort to the shared range, find a comparison pool that "
        "covers it, or use matching with a caliper.",
        stacklevel,
    )
