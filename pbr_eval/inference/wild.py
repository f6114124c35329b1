"""Wild cluster bootstrap for one coefficient of a linear regression (few clusters).

With few clusters (a DiD over a dozen areas), the cluster-robust standard error is too
small and its normal interval under-covers. The wild cluster *restricted* bootstrap (WCR;
Cameron, Gelbach & Miller 2008; Roodman, MacKinnon, Nielsen & Webb 2019) imposes the null
``beta_j = 0``, flips the sign of each cluster's restricted residuals with one weight per
cluster, and compares the original cluster-robust t statistic with the bootstrap ones.

Numbers only (arrays in, dataclasses out). :func:`wild_cluster_interval` inverts the test
into a confidence interval; ``method="did"`` uses it automatically below
:data:`pbr_eval.options.FEW_CLUSTERS` clusters.

For draw ``v`` (one weight per cluster), with ``S_g = X_g' u~_g`` the clusters' scores at
the restricted fit and ``A = (X'X)^-1``::

    t*(v) = r' A S v / sqrt(ssc * sum_g (r' A (v_g S_g - X_g'X_g A S v))^2)

which is the t statistic of the regression of ``y* = X beta~ + v_g u~`` on ``X`` with the
CRV1 variance, ``ssc = (N - 1) / (N - k) * G / (G - 1)`` (Stata's and wildboottest's
"11" variant). The p-value is the share of draws with ``|t*| >= |t|`` (ties, such as the
draws that rebuild the sample, count as exceedances, whatever the rounding). Rademacher weights
with ``2^G`` no larger than ``B`` are fully enumerated (deterministic).

**Weighted estimators with estimated nuisance models** (``case_weights``, ``score_offsets``):
the weighting estimators' ATT (:func:`pbr_eval.estimators._outcome_se.few_cluster_estimate`) is the weighted
least-squares coefficient of a working outcome on ``[1, treated]``, and the estimation effect
of their propensity and outcome models enters each unit's score as an offset. The test is
then the score bootstrap of Kline & Santos (2012) with the null imposed: each cluster's
score at the restricted fit (offset included) is flipped, the coefficients re-estimated by
the weighted normal equations and the CRV1 t statistic recomputed per draw. Weights enter
as ``sqrt(w)`` on both sides (so the bootstrap is wildboottest's on the transformed data),
offsets are added to the clusters' scores ``S_g`` (the nuisance models are not refitted:
their effect is linear in the flipped scores, to first order).

Checked against wildboottest 0.3.2 (``tests/reference/wildboottest/``): t statistics
equal to 1e-10 and p-values equal with 8 and 12 clusters, by full enumeration and with the
same Webb draws (wildboottest counts ``|t*| > |t|`` strictly, so its tie draws fall either
way by rounding; on these data they fall as here).

References
----------
Cameron, A. C., Gelbach, J. B. & Miller, D. L. (2008). Bootstrap-based improvements for
inference with clustered errors. Review of Economics and Statistics 90(3), 414-427.
Roodman, D., MacKinnon, J. G., Nielsen, M. Ø. & Webb, M. D. (2019). Fast and wild:
bootstrap inference in Stata using boottest. Stata Journal 19(1), 4-60.
Webb, M. D. (2023). Reworking wild bootstrap-based inference for clustered errors.
Canadian Journal of Economics 56(3), 839-858.
Kline, P. & Santos, A. (2012). A score based approach to wild bootstrap inference.
Journal of Econometric Methods 1(1), 23-41.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from pbr_eval.exceptions import EstimationError, OptionError

__all__ = ["WildResult", "wild_cluster_test", "WILD_WEIGHTS", "WildInterval",
           "wild_cluster_interval", "wild_draws"]

WILD_WEIGHTS = ("rademacher", "webb")
_WEBB = np.array([-np.sqrt(1.5), -1.0, -np.sqrt(0.5), np.sqrt(0.5), 1.0, np.sqrt(1.5)])


@dataclass(frozen=True)
class WildResult:
    """A wild cluster bootstrap test of ``coef == 0``.

    Attributes
    ----------
    estimate : float
        The OLS coefficient.
    t_stat : float
        Its cluster-robust (CRV1) t statistic.
    p_value : float
        Two-tailed bootstrap p-value: share of draws with ``|t*| >= |t|``.
    n_draws : int
    full_enumeration : bool
    n_clusters : int
    t_boot : numpy.ndarray
        The bootstrap t statistics.
    """

    estimate: float
    t_stat: float
    p_value: float
    n_draws: int
    full_enumeration: bool
    n_clusters: int
    t_boot: np.ndarray


def wild_cluster_test(X: np.ndarray, y: np.ndarray, cluster: np.ndarray, coef: int, *,
                      n_boot: int = 9999, weights: str = "rademacher",
                      draws: np.ndarray | None = None,
                      seed: int | np.random.SeedSequence | None = None,
                      case_weights: np.ndarray | None = None,
                      score_offsets: np.ndarray | None = None) -> WildResult:
    """Wild cluster restricted bootstrap test of one OLS coefficient being zero.

    Parameters
    ----------
    X : numpy.ndarray, shape (n, k)
        Regressors (with the intercept column).
    y : numpy.ndarray, shape (n,)
    cluster : numpy.ndarray, shape (n,)
        Cluster labels.
    coef : int
        Column of ``X`` tested.
    n_boot : int, default 9999
        Draws; Rademacher weights are fully enumerated when ``2^G < n_boot``.
    weights : {"rademacher", "webb"}
        Webb's six-point weights are better with very few clusters (under about 10).
    draws : numpy.ndarray, shape (G, B), optional
        The weights to use (clusters in sorted label order), e.g. to reproduce another
        program's draws; overrides ``n_boot`` / ``weights`` / ``seed``.
    seed : int, optional
    case_weights : numpy.ndarray, shape (n,), optional
        Non-negative weights: weighted least squares (the rows are scaled by
        ``sqrt(w)``).
    score_offsets : numpy.ndarray, shape (n, k), optional
        Added to each row's score ``w_i x_i u_i`` (the estimation effect of
        nuisance models, see the module notes); they sum to zero.

    Returns
    -------
    WildResult

    Raises
    ------
    OptionError
        Unknown ``weights``; ``coef`` out of range; ``draws`` of the wrong shape.
    EstimationError
        Fewer than two clusters, or ``X'X`` singular.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> g = np.repeat(np.arange(10), 30)
    >>> x = (g % 2).astype(float)
    >>> y = 1 + rng.normal(size=10)[g] + rng.normal(size=300)
    >>> r = wild_cluster_test(np.column_stack([np.ones(300), x]), y, g, 1, seed=1)
    >>> r.full_enumeration, r.n_draws
    (True, 1024)
    >>> bool(0 <= r.p_value <= 1)
    True
    """
    if weights not in WILD_WEIGHTS:
        raise OptionError(f"`weights` must be one of {', '.join(map(repr, WILD_WEIGHTS))}; "
                          f"got {weights!r}.")
    X, y = _weighted(X, y, case_weights)
    n, k = X.shape
    if not 0 <= coef < k:
        raise OptionError(f"`coef` must be a column of X (0 to {k - 1}); got {coef}.")
    labels, g_idx = np.unique(np.asarray(cluster), return_inverse=True)
    G = labels.size
    if G < 2:
        raise EstimationError(f"The wild cluster bootstrap needs two or more clusters; got {G}.")
    XtX = X.T @ X
    if np.linalg.matrix_rank(XtX) < k:
        raise EstimationError("The regressors are collinear (X'X is singular): drop one.")
    A = np.linalg.inv(XtX)
    beta = A @ (X.T @ y)
    r = A[coef]                                   # r' A
    # restricted fit: the OLS with beta_coef = 0
    keep = np.arange(k) != coef
    beta_r = np.zeros(k)
    beta_r[keep] = np.linalg.lstsq(X[:, keep], y, rcond=None)[0]
    u_r = y - X @ beta_r
    S = _cluster_scores(X * u_r[:, None], score_offsets, g_idx, G)  # at the restricted fit
    XgXg = np.zeros((G, k, k))
    np.add.at(XgXg, g_idx, X[:, :, None] * X[:, None, :])
    ssc = (n - 1) / (n - k) * G / (G - 1)
    # the original t statistic (CRV1)
    u = y - X @ beta
    Su = _cluster_scores(X * u[:, None], score_offsets, g_idx, G)
    t_stat = float(beta[coef] / np.sqrt(ssc * np.sum((r @ Su) ** 2)))
    # draws
    full = False
    if draws is not None:
        v = np.asarray(draws, dtype=float)
        if v.ndim != 2 or v.shape[0] != G:
            raise OptionError(f"`draws` must have one row per cluster ({G}); got shape "
                              f"{v.shape}.")
    elif weights == "rademacher" and 2 ** G < n_boot:
        v = np.array(list(itertools.product([-1.0, 1.0], repeat=G))).T
        full = True
    else:
        rng = np.random.default_rng(seed)
        v = (rng.choice([-1.0, 1.0], size=(G, n_boot)) if weights == "rademacher"
             else rng.choice(_WEBB, size=(G, n_boot)))
    C = r @ S                                     # (G,) each cluster's share of the numerator
    numer = C @ v                                 # r' A S v
    H = np.einsum("j,gjl,lh->gh", r, XgXg, A @ S)  # r' A X_g'X_g A S_h
    Z = C[:, None] * v - H @ v                    # (G, B)
    denom = ssc * np.sum(Z**2, axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        t_boot = numer / np.sqrt(denom)
    # a draw that rebuilds the sample (all weights +1 or all -1) has |t*| = |t| exactly in
    # theory; count such ties as exceedances rather than let rounding decide them
    p = float(np.mean(np.abs(t_boot) >= np.abs(t_stat) * (1 - 1e-10)))
    return WildResult(estimate=float(beta[coef]), t_stat=t_stat, p_value=p, n_draws=v.shape[1],
                      full_enumeration=full, n_clusters=G, t_boot=t_boot)


def _weighted(X: np.ndarray, y: np.ndarray,
              case_weights: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Return ``X`` and ``y`` as floats, scaled by ``sqrt(w)`` when weighted."""
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    if case_weights is None:
        return X, y
    w = np.asarray(case_weights, dtype=float)
    if w.shape != y.shape or not np.all(np.isfinite(w)) or np.any(w < 0):
        raise OptionError("`case_weights` must be one finite, non-negative weight per row; got "
                          f"shape {w.shape} for {y.size} rows.")
    r = np.sqrt(w)
    return X * r[:, None], y * r


def _cluster_scores(scores: np.ndarray, offsets: np.ndarray | None, g_idx: np.ndarray,
                    G: int) -> np.ndarray:
    """Return the clusters' scores (k, G): each row's score plus its offset, summed by cluster."""
    if offsets is not None:
        if np.shape(offsets) != scores.shape:
            raise OptionError(f"`score_offsets` must have the shape of X {scores.shape}; got "
                              f"{np.shape(offsets)}.")
        scores = scores + offsets
    S = np.zeros((scores.shape[1], G))
    np.add.at(S.T, g_idx, scores)
    return S


def _null_p_values(X: np.ndarray, y: np.ndarray, cluster: np.ndarray, coef: int, v: np.ndarray,
                   est: float, se: float,
                   score_offsets: np.ndarray | None = None) -> Callable[[float], float]:
    """``b0 -> p-value of the test of coef == b0`` with draws ``v``, each in O(G B).

    The test of ``b0`` is :func:`wild_cluster_test` on ``y - b0 x_coef``: the
    restricted residuals, the clusters' scores and so every bootstrap
    numerator and denominator are linear in ``b0`` (the unrestricted
    residuals do not change), so the y-free parts are computed once. ``X``
    and ``y`` are already weighted; the offsets belong to the ``y`` part.
    """
    n, k = X.shape
    _, g_idx = np.unique(np.asarray(cluster), return_inverse=True)
    G = int(g_idx.max()) + 1
    A = np.linalg.inv(X.T @ X)
    r = A[coef]
    keep = np.arange(k) != coef
    Xr = X[:, keep]
    xj = X[:, coef]

    def restricted(z: np.ndarray) -> np.ndarray:
        return z - Xr @ np.linalg.lstsq(Xr, z, rcond=None)[0]

    XgXg = np.zeros((G, k, k))
    np.add.at(XgXg, g_idx, X[:, :, None] * X[:, None, :])
    rAXg = np.einsum("j,gjl->gl", r, XgXg)            # r' A X_g'X_g, (G, k)
    parts = []
    for z, off in ((y, score_offsets), (xj, None)):
        S = _cluster_scores(X * restricted(z)[:, None], off, g_idx, G)
        parts.append((r @ S, rAXg @ (A @ S)))          # C (G,), H (G, G)
    (Cy, Hy), (Cx, Hx) = parts
    ssc = (n - 1) / (n - k) * G / (G - 1)

    def p_at(b0: float) -> float:
        C, H = Cy - b0 * Cx, Hy - b0 * Hx
        # einsum, not @: a small matrix product through a threaded BLAS is ~20x slower on a
        # busy machine
        numer = np.einsum("g,gb->b", C, v)
        Z = C[:, None] * v - np.einsum("gh,hb->gb", H, v)
        with np.errstate(divide="ignore", invalid="ignore"):
            t_boot = numer / np.sqrt(ssc * np.sum(Z**2, axis=0))
        t_stat = (est - b0) / se
        return float(np.mean(np.abs(t_boot) >= np.abs(t_stat) * (1 - 1e-10)))

    return p_at


def wild_draws(n_clusters: int, *, n_boot: int = 9999, weights: str | None = None,
               seed: int | np.random.SeedSequence | None = None) -> tuple[np.ndarray, str, bool]:
    """Return the cluster weights of a wild bootstrap: (draws (G, B), weights used, enumerated).

    ``weights=None`` chooses: Webb's six-point weights below 10 clusters (Rademacher
    weights then have too few distinct draws; Webb 2023), else Rademacher, fully
    enumerated when ``2^G < n_boot`` (deterministic; no seed used).

    Parameters
    ----------
    n_clusters : int
        The number of clusters ``G``.
    n_boot : int, default 9999
        Draws when they are not all enumerated.
    weights : {"rademacher", "webb"}, optional
        Default: Webb below 10 clusters, else Rademacher.
    seed : int or numpy.random.SeedSequence, optional
        For random draws.

    Returns
    -------
    tuple
        The draws (array of shape ``(G, B)``), the weights used and whether
        every sign pattern was enumerated.

    Raises
    ------
    OptionError
        For unknown ``weights``.

    Examples
    --------
    >>> v, kind, full = wild_draws(12)
    >>> v.shape, kind, full
    ((12, 4096), 'rademacher', True)
    """
    if weights is None:
        weights = "webb" if n_clusters < 10 else "rademacher"
    if weights not in WILD_WEIGHTS:
        raise OptionError(f"`weights` must be one of {', '.join(map(repr, WILD_WEIGHTS))}; "
                          f"got {weights!r}.")
    if weights == "rademacher" and 2 ** n_clusters < n_boot:
        return np.array(list(itertools.product([-1.0, 1.0], repeat=n_clusters))).T, weights, True
    rng = np.random.default_rng(seed)
    pool = np.array([-1.0, 1.0]) if weights == "rademacher" else _WEBB
    return rng.choice(pool, size=(n_clusters, n_boot)), weights, False


@dataclass(frozen=True)
class WildInterval:
    """A confidence interval from inverting the wild cluster restricted bootstrap test.

    Attributes
    ----------
    estimate : float
    lower, upper : float
        The values ``b0`` at which the test of ``coef == b0`` has p-value
        ``1 - level`` (``-inf`` / ``inf`` when no value within 1,000 cluster-robust
        standard errors is rejected).
    p_value : float
        The test of ``coef == 0``.
    level : float
    n_draws : int
    weights : str
    full_enumeration : bool
    n_clusters : int
    crv_std_error : float
        The cluster-robust (CRV1) standard error, for contrast.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(1)
    >>> g = np.repeat(np.arange(12), 20)
    >>> x = (g < 4).astype(float)
    >>> y = x + rng.normal(size=12)[g] + rng.normal(size=240)
    >>> wi = wild_cluster_interval(np.column_stack([np.ones(240), x]), y, g, 1)
    >>> wi.n_clusters, wi.n_draws, wi.weights
    (12, 4096, 'rademacher')
    """

    estimate: float
    lower: float
    upper: float
    p_value: float
    level: float
    n_draws: int
    weights: str
    full_enumeration: bool
    n_clusters: int
    crv_std_error: float

    def to_dict(self) -> dict[str, Any]:
        """Return the figures as ``info["few_clusters"][outcome]`` keeps them."""
        return {"lower": self.lower, "upper": self.upper, "p_value": self.p_value,
                "level": self.level, "crv_std_error": self.crv_std_error,
                "n_clusters": self.n_clusters, "n_draws": self.n_draws, "weights": self.weights,
                "full_enumeration": self.full_enumeration}


def wild_cluster_interval(X: np.ndarray, y: np.ndarray, cluster: np.ndarray, coef: int, *,
                          level: float = 0.95, n_boot: int = 9999, weights: str | None = None,
                          seed: int | np.random.SeedSequence | None = None,
                          tol: float = 1e-6, case_weights: np.ndarray | None = None,
                          score_offsets: np.ndarray | None = None) -> WildInterval:
    """Confidence interval for one OLS coefficient by inverting the wild cluster restricted bootstrap.

    The interval is every ``b0`` that the test of ``coef == b0`` (the
    regression of ``y - b0 x_coef``, :func:`wild_cluster_test`) does not
    reject at ``1 - level``, with the same draws for every ``b0`` (Roodman et
    al. 2019, section 3.5). Each end is found by doubling out from the
    estimate in cluster-robust standard errors and then bisecting to ``tol``
    standard errors.

    Parameters
    ----------
    X, y, cluster, coef
        As :func:`wild_cluster_test`.
    level : float, default 0.95
    n_boot : int, default 9999
    weights : {"rademacher", "webb"}, optional
        Default: :func:`wild_draws`'s choice.
    seed : int, optional
        For random draws (not used when the draws are enumerated).
    tol : float, default 1e-6
    case_weights, score_offsets : numpy.ndarray, optional
        As :func:`wild_cluster_test` (weighted least squares; nuisance models'
        estimation effect on the scores).

    Returns
    -------
    WildInterval

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> g = np.repeat(np.arange(12), 30)
    >>> x = (g < 4).astype(float)
    >>> y = 1 + 0.5 * x + rng.normal(size=12)[g] + rng.normal(size=360)
    >>> ci = wild_cluster_interval(np.column_stack([np.ones(360), x]), y, g, 1)
    >>> bool(ci.lower < ci.estimate < ci.upper), ci.full_enumeration
    (True, True)
    """
    X, y = _weighted(X, y, case_weights)
    G = np.unique(np.asarray(cluster)).size
    v, kind, full = wild_draws(G, n_boot=n_boot, weights=weights, seed=seed)
    base = wild_cluster_test(X, y, cluster, coef, draws=v, score_offsets=score_offsets)
    est = base.estimate
    se = abs(est / base.t_stat) if base.t_stat != 0 else np.nan
    if not np.isfinite(se) or se == 0:
        raise EstimationError("The cluster-robust standard error is zero or undefined; no "
                              "interval can be found.")
    alpha = 1 - level
    p_at = _null_p_values(X, y, cluster, coef, v, est, se, score_offsets)

    ends = []
    for sign in (-1.0, 1.0):
        inside, step = 0.0, 1.0
        while p_at(est + sign * step * se) > alpha:
            inside, step = step, step * 2
            if step > 1000:
                ends.append(sign * np.inf)
                break
        else:
            lo, hi = inside, step
            while hi - lo > tol:
                mid = (lo + hi) / 2
                if p_at(est + sign * mid * se) > alpha:
                    lo = mid
                else:
                    hi = mid
            ends.append(est + sign * (lo + hi) / 2 * se)
    return WildInterval(estimate=est, lower=float(ends[0]), upper=float(ends[1]),
                        p_value=base.p_value, level=level, n_draws=v.shape[1], weights=kind,
                        full_enumeration=full, n_clusters=G, crv_std_error=float(se))
