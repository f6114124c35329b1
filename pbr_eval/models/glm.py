"""One Newton / IRLS pass of a canonical-link GLM, as sums over rows (pure functions of arrays).

For a canonical link the score is ``Z'(w (y - mu))`` and the information
``Z' diag(w dmu/deta) Z``; :func:`glm_sums` returns both (and the
log-likelihood) for the current linear predictor, using the chunked design
sums of :mod:`pbr_eval.inference.design` (no copy of the design). The sums are
additive over rows: a partitioned fit adds each partition's :class:`GLMSums`
(``a + b``) and solves once, which gives the same Newton step.

Examples
--------
>>> import numpy as np
>>> X = np.array([[0.0], [1.0], [2.0], [3.0]])
>>> s = glm_sums(X, np.array([0.0, 1.0, 0.0, 1.0]), np.zeros(4), "logistic")
>>> s.score.tolist(), round(s.loglik, 4)
([0.0, 1.0], -2.7726)
>>> parts = glm_sums(X[:2], np.array([0.0, 1.0]), np.zeros(2), "logistic") + glm_sums(
...     X[2:], np.array([0.0, 1.0]), np.zeros(2), "logistic")
>>> bool(np.allclose(parts.information, s.information))
True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from pbr_eval.exceptions import EstimationError
from pbr_eval.inference.design import CHUNK_ROWS, BlockSums, design_sums, row_blocks

__all__ = ["CHORD_DRIFT", "CHORD_STOP", "GLMPass", "GLMSums", "canonical_mean", "canonical_slope",
           "chord_drift", "chord_converged", "glm_loglik", "glm_pass", "glm_sums",
           "logistic_mean", "softplus"]

#: A Newton iteration may reuse the information of an earlier pass over the data (a chord
#: step: the next pass computes the score only) while the iterate has moved at most this
#: far (largest standardised coordinate) from where that information was taken.
CHORD_DRIFT = 1e-3
#: A chord step may end the iterations (as an exact Newton step below 1e-6 does) only when
#: its size times the drift is below this: the chord's error is about drift x step, so the
#: estimate is as close to the optimum as after an exact step (about step squared).
CHORD_STOP = 1e-13


def chord_drift(exact: bool, drift: float | None, largest: float) -> float | None:
    """How far the next iterate is from the information a chord step would reuse (None: recompute it).

    Parameters
    ----------
    exact : bool
        Whether the step just taken used the information at its own iterate.
    drift : float or None
        For a chord step, how far its iterate was from where its information was taken
        (None: the information was not the data's, e.g. a warm start's subsample's).
    largest : float
        The step's largest standardised coordinate.

    Returns
    -------
    float or None
        The next iterate's distance from that information when the next pass may compute
        the score only (at most :data:`CHORD_DRIFT`), else None.

    Examples
    --------
    >>> chord_drift(True, None, 3e-5)
    3e-05
    >>> chord_drift(False, None, 3e-5) is None, chord_drift(True, None, 0.01) is None
    (True, True)
    """
    if not exact and drift is None:
        return None
    moved = largest + (0.0 if exact or drift is None else drift)
    return moved if moved <= CHORD_DRIFT else None


def chord_converged(exact: bool, drift: float | None, largest: float) -> bool:
    """Whether a step of this size may end Newton's iterations (with the size test on the step).

    An exact Newton step may (its error is about its square); a chord step only when its
    size times ``drift`` (the distance from where its information was taken, None for
    information not from the data) is below :data:`CHORD_STOP`.

    Parameters
    ----------
    exact : bool
        Whether the step used the information at its own iterate.
    drift : float or None
        As for :func:`chord_drift`.
    largest : float
        The step's largest standardised coordinate.

    Returns
    -------
    bool

    Examples
    --------
    >>> chord_converged(True, None, 1e-7), chord_converged(False, 3e-5, 1e-9)
    (True, True)
    >>> chord_converged(False, 3e-5, 1e-7), chord_converged(False, None, 1e-12)
    (False, False)
    """
    return exact or (drift is not None and drift * largest <= CHORD_STOP)


def canonical_slope(family: str, mu: np.ndarray) -> np.ndarray:
    """``dmu/deta`` of a canonical-link family at the means ``mu`` (only the one asked for is built).

    Parameters
    ----------
    family : {"logistic", "poisson", "linear"}
        The canonical-link family.
    mu : numpy.ndarray
        The fitted means.

    Returns
    -------
    numpy.ndarray
        The derivative of the mean with respect to the linear predictor, one per mean.

    Examples
    --------
    >>> import numpy as np
    >>> canonical_slope("logistic", np.array([0.5, 0.1])).tolist()
    [0.25, 0.09000000000000001]
    """
    if family == "logistic":
        return mu * (1 - mu)
    if family == "poisson":
        return mu
    return np.ones_like(mu)


def softplus(eta: np.ndarray) -> np.ndarray:
    """Return ``log(1 + exp(eta))`` without overflow, as ``max(eta, 0) + log1p(exp(-|eta|))``.

    The same values as ``numpy.logaddexp(0, eta)`` to within an ulp or two, in a third of
    its time on large arrays (vectorised ``exp`` and ``log1p``, one work array).

    Parameters
    ----------
    eta : numpy.ndarray
        Linear predictors.

    Returns
    -------
    numpy.ndarray
        ``log(1 + exp(eta))`` element by element.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([-800.0, -1.0, 0.0, 2.5, 800.0])
    >>> bool(np.allclose(softplus(x), np.logaddexp(0.0, x), rtol=1e-15, atol=0))
    True
    """
    a = np.abs(eta)
    np.negative(a, out=a)
    np.exp(a, out=a)
    np.log1p(a, out=a)
    a += np.maximum(eta, 0.0)
    return a


def canonical_mean(family: str, eta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and its derivative ``dmu/deta`` of a canonical-link family.

    Parameters
    ----------
    family : {"linear", "logistic", "poisson"}
    eta : numpy.ndarray
        Linear predictor.

    Returns
    -------
    mu, dmu : numpy.ndarray

    Examples
    --------
    >>> import numpy as np
    >>> [a.tolist() for a in canonical_mean("logistic", np.zeros(1))]
    [[0.5], [0.25]]
    """
    if family == "linear":
        return eta, np.ones_like(eta)
    if family == "logistic":
        mu = logistic_mean(eta)
        return mu, mu * (1.0 - mu)
    mu = np.exp(np.clip(eta, -700, 700))
    return mu, mu


def logistic_mean(eta: np.ndarray) -> np.ndarray:
    """Return ``1 / (1 + exp(-eta))`` (scipy's ``expit`` formula) with numpy's vectorised ``exp``.

    The same values as :func:`scipy.special.expit` to an ulp, in a tenth of its time on
    large arrays; 0 and 1 (no warning) where ``exp`` overflows or underflows.

    Parameters
    ----------
    eta : numpy.ndarray
        Log-odds (not modified).

    Returns
    -------
    numpy.ndarray
        A new array of probabilities, one per log-odds.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy.special import expit
    >>> x = np.array([-800.0, -3.0, 0.0, 2.5, 800.0])
    >>> bool(np.allclose(logistic_mean(x), expit(x), rtol=1e-15, atol=0))
    True
    >>> logistic_mean(x)[[0, 2, 4]].tolist()
    [0.0, 0.5, 1.0]
    """
    mu = np.negative(eta)
    with np.errstate(over="ignore"):
        np.exp(mu, out=mu)
    mu += 1.0
    np.reciprocal(mu, out=mu)
    return mu


def glm_loglik(family: str, y: np.ndarray, eta: np.ndarray, w: np.ndarray | None = None) -> float:
    """Log-likelihood (up to terms free of the parameters) of a logistic or Poisson model.

    Parameters
    ----------
    family : {"logistic", "poisson"}
    y, eta : numpy.ndarray
        Response and linear predictor.
    w : numpy.ndarray, optional
        Case weights.

    Returns
    -------
    float

    Examples
    --------
    >>> import numpy as np
    >>> round(glm_loglik("poisson", np.array([1.0]), np.array([0.0])), 6)
    -1.0
    """
    if family == "logistic":
        terms = y * eta - softplus(eta)
    else:
        terms = y * eta - np.exp(np.clip(eta, -700, 700))
    return float(terms.sum() if w is None else w @ terms)


@dataclass(frozen=True)
class GLMSums:
    """Score, information and log-likelihood of one pass (additive over rows).

    Attributes
    ----------
    score : numpy.ndarray, shape (k,)
        ``Z'(w (y - mu))``.
    information : numpy.ndarray, shape (k, k)
        ``Z' diag(w dmu/deta) Z``.
    loglik : float
        NaN when not asked for (or for the linear family).

    Examples
    --------
    >>> import numpy as np
    >>> s = GLMSums(np.ones(2), np.eye(2), -1.0) + GLMSums(np.ones(2), np.eye(2), -2.0)
    >>> s.score.tolist(), s.loglik
    ([2.0, 2.0], -3.0)
    """

    score: np.ndarray
    information: np.ndarray
    loglik: float

    def __add__(self, other: GLMSums) -> GLMSums:
        """Sum two partitions' sums."""
        return GLMSums(self.score + other.score, self.information + other.information,
                       self.loglik + other.loglik)


def glm_sums(
    X: np.ndarray,
    y: np.ndarray,
    eta: np.ndarray,
    family: str,
    *,
    weights: np.ndarray | None = None,
    center: np.ndarray | None = None,
    scale: np.ndarray | None = None,
    loglik: bool = True,
) -> GLMSums:
    """Return the score and information of a canonical-link GLM at ``eta``.

    The plain form of one Newton pass, from a linear predictor already in hand. The
    fits themselves use :func:`glm_pass` (the same sums, the linear predictor formed
    block by block in one read of ``X``); ``tests/test_scale_kernels.py`` holds it to
    this function.

    Parameters
    ----------
    X : numpy.ndarray, shape (n, p)
        Covariates without an intercept (the design is ``[1, X]``).
    y : numpy.ndarray, shape (n,)
    eta : numpy.ndarray, shape (n,)
        Current linear predictor.
    family : {"linear", "logistic", "poisson"}
    weights : numpy.ndarray, optional
        Non-negative case weights (0 leaves a row out).
    center, scale : numpy.ndarray, optional
        Sums over standardised columns ``[1, (X - center) / scale]``.
    loglik : bool
        Also the log-likelihood (logistic and Poisson).

    Returns
    -------
    GLMSums

    Examples
    --------
    >>> import numpy as np
    >>> s = glm_sums(np.array([[0.0], [1.0]]), np.array([1.0, 3.0]), np.zeros(2), "linear")
    >>> s.score.tolist(), s.information.tolist()
    ([4.0, 3.0], [[2.0, 1.0], [1.0, 1.0]])
    """
    mu, dmu = canonical_mean(family, eta)
    resid = y - mu
    v = dmu
    if weights is not None:
        resid = resid * weights
        v = v * weights
    info, score = design_sums(X, v, resid, center=center, scale=scale)
    ll = glm_loglik(family, y, eta, weights) if loglik and family != "linear" else float("nan")
    return GLMSums(score, info, ll)


@dataclass(frozen=True)
class GLMPass:
    """What one fused pass of :func:`glm_pass` returns.

    Attributes
    ----------
    sums : GLMSums
        Score, information (zeros when not asked for) and log-likelihood (NaN when not
        asked for).
    n_extreme : int
        Rows counted (``mask``) whose fitted probability is within 1e-10 of 0 or 1,
        other than the ``ignorable`` rows at their own response (logistic only; else 0).
    n_vanishing : int
        ``ignorable`` rows whose fitted probability is within 1e-10 of their own response.

    Examples
    --------
    >>> import numpy as np
    >>> GLMPass(GLMSums(np.zeros(1), np.eye(1), -1.0), 0, 0).sums.loglik
    -1.0
    """

    sums: GLMSums
    n_extreme: int
    n_vanishing: int


def glm_pass(
    X: np.ndarray,
    y: np.ndarray,
    coef: np.ndarray,
    intercept: float,
    family: str,
    *,
    weights: np.ndarray | None = None,
    center: np.ndarray | None = None,
    scale: np.ndarray | None = None,
    loglik: bool = True,
    information: bool = True,
    score: bool | None = None,
    mask: np.ndarray | None = None,
    ignorable: np.ndarray | None = None,
    nonneg: bool = True,
    chunk: int = CHUNK_ROWS,
    extremes: bool = True,
    means: np.ndarray | None = None,
) -> GLMPass:
    """Evaluate a canonical-link GLM at ``eta = intercept + X coef`` in one read of ``X``.

    Per block of rows: the linear predictor, the means and their slopes, the weighted
    residuals, the log-likelihood and the block's information and score contributions
    (:class:`~pbr_eval.inference.design.BlockSums`), so a Newton iteration reads the
    design once and makes no ``n``-length temporary (what :func:`glm_sums` needs
    ``eta`` computed beforehand for, with several passes over ``n``-vectors). The
    elementwise arithmetic is :func:`canonical_mean`'s and the sums are
    :func:`~pbr_eval.inference.design.design_sums`', so the score and information
    are those of :func:`glm_sums` at the same ``eta``; the log-likelihood is summed
    block by block (the same value to rounding).

    Parameters
    ----------
    X : numpy.ndarray, shape (n, p)
        Covariates without an intercept.
    y : numpy.ndarray, shape (n,)
    coef : numpy.ndarray, shape (p,)
        Coefficients of the raw columns of ``X``.
    intercept : float
    family : {"logistic", "poisson", "linear"}
    weights : numpy.ndarray, optional
        Non-negative case weights (0 leaves a row out).
    center, scale : numpy.ndarray, optional
        The information and score over standardised columns ``[1, (X - center) / scale]``.
    loglik : bool
        Also the log-likelihood (logistic and Poisson; NaN otherwise).
    information : bool
        Also the information matrix (zeros when ``False``).
    score : bool, optional
        Also the score (zeros when ``False``); default: as ``information``. The score
        alone costs about half a pass with the information.
    mask : numpy.ndarray of bool, optional
        The rows whose extreme probabilities are counted (default every row).
    ignorable : numpy.ndarray of bool, optional
        Rows whose probability may vanish at their own response (see
        :func:`pbr_eval.models.logit.fit_logit`).
    nonneg : bool
        Whether ``weights`` are all non-negative (as :func:`design_sums` decides).
    chunk : int
        Rows per block.
    extremes : bool
        Count the extreme probabilities (``False``: a pass whose counts are not used, such
        as an iteration before the last, skips the two reductions per block; both counts
        are then 0).
    means : numpy.ndarray, shape (n,), optional
        Filled with the fitted means (a fit's last pass gives its predictions at no
        extra read of ``X``).

    Returns
    -------
    GLMPass

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0.0], [1.0], [2.0], [3.0]])
    >>> y = np.array([0.0, 1.0, 0.0, 1.0])
    >>> mu = np.empty(4)
    >>> out = glm_pass(X, y, np.zeros(1), 0.0, "logistic", chunk=3, means=mu)
    >>> mu.tolist()
    [0.5, 0.5, 0.5, 0.5]
    >>> ref = glm_sums(X, y, np.zeros(4), "logistic")
    >>> bool(np.array_equal(out.sums.information, ref.information)), out.sums.score.tolist()
    (True, [0.0, 1.0])
    >>> round(out.sums.loglik, 4), out.n_extreme
    (-2.7726, 0)
    """
    n, p = X.shape
    score = information if score is None else score
    acc = BlockSums(p, center=center, scale=scale, nonneg=nonneg, chunk=max(min(chunk, n), 1))
    ll = 0.0
    n_extreme = n_vanishing = 0
    eps = 1e-10
    for rows in row_blocks(n, chunk):
        eta = X[rows] @ coef
        eta += intercept
        if information:
            mu, dmu = canonical_mean(family, eta)
        else:  # (the score alone needs no slopes)
            mu = logistic_mean(eta) if family == "logistic" else canonical_mean(family, eta)[0]
            dmu = None
        if means is not None:
            means[rows] = mu
        wb = None if weights is None else weights[rows]
        if information or score:
            resid = y[rows] - mu
            if wb is not None:
                resid *= wb
                if dmu is not None:
                    dmu = dmu * wb
            acc.add(X[rows], dmu, resid, gram=information)
        if loglik and family != "linear":
            if family == "logistic":
                terms = y[rows] * eta - softplus(eta)
            else:
                terms = y[rows] * eta - np.exp(np.clip(eta, -700, 700))
            ll += float(terms.sum() if wb is None else wb @ terms)
        if extremes and family == "logistic" and (mu.min() < eps or mu.max() > 1 - eps):
            low, high = mu < eps, mu > 1 - eps
            extreme = low | high
            if mask is not None:
                extreme &= mask[rows]
            if ignorable is not None:
                yb = y[rows]
                harmless = ignorable[rows] & ((low & (yb == 0)) | (high & (yb == 1)))
                n_vanishing += int(harmless.sum())
                extreme &= ~harmless
            n_extreme += int(extreme.sum())
    info_sum, score_sum = acc.result()
    return GLMPass(GLMSums(score_sum, info_sum, ll if loglik and family != "linear" else float("nan")),
                   n_extreme, n_vanishing)


def _failure(beta: np.ndarray, names: Sequence[str], n_extreme: int,
             max_iter: int) -> tuple[str, str]:
    """Return what went wrong and the three covariates with the largest coefficients, quoted."""
    order = np.argsort(-np.abs(beta[1:]))[:3]
    involved = ", ".join(f"'{names[j]}'" for j in order)
    what = (f"{n_extreme:,} fitted probabilities are 0 or 1" if n_extreme
            else f"it did not converge in {max_iter} iterations")
    return what, involved


def propensity_separation_error(beta: np.ndarray, names: Sequence[str], n_extreme: int,
                                max_iter: int) -> EstimationError:
    """Return the error of a logistic propensity model that separates the groups or does not converge.

    One message for the in-memory fit (:func:`pbr_eval.models.logit.fit_logit`) and the
    distributed one (:func:`pbr_eval.distributed.models.fit_logit_distributed`).
    """
    what, involved = _failure(beta, names, n_extreme, max_iter)
    return EstimationError(
        f"The logistic model separates the groups perfectly or nearly so ({what}). "
        f"The covariates most involved are {involved}: some of their values occur in only "
        "one group. Coarsen or drop them, restrict the comparison pool to people like the "
        "programme's, or use exact matching on them."
    )


def outcome_separation_error(family: str, beta: np.ndarray, names: Sequence[str],
                             n_extreme: int, max_iter: int) -> EstimationError:
    """Return the error of a logistic or Poisson outcome model that separates or does not converge.

    One message for :func:`pbr_eval.models.outcome.fit_outcome` and
    :func:`pbr_eval.distributed.models.fit_glms_distributed`.
    """
    what, involved = _failure(beta, names, n_extreme, max_iter)
    return EstimationError(
        f"The {family} outcome model cannot be estimated ({what}); the covariates most "
        f"involved are {involved}. Some of their values occur only with one outcome value; "
        "coarsen or drop them, or use outcome_model='linear'."
    )
