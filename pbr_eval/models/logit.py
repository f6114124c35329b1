"""A fast, dependency-light logistic regression for propensity scores.

Newton-Raphson (equivalently iteratively reweighted least squares) on
standardised columns, with step halving. It is vectorised over rows, so a
million rows and a dozen covariates take a fraction of a second, and it stops
with a clear error on (quasi-)complete separation rather than returning
scores of exactly 0 or 1.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.special import expit

from pbr_eval.exceptions import EstimationError
from pbr_eval.inference.design import CHUNK_ROWS, row_blocks
from pbr_eval.models.glm import (
    GLMPass,
    chord_converged,
    chord_drift,
    glm_pass,
    propensity_separation_error,
)
from pbr_eval.replicate import WorkBuffers

__all__ = ["LogitFit", "fit_logit"]

#: Above this many rows the fit starts from a fit on an evenly spaced subsample.
_WARM_START_ROWS = 200_000


@dataclass(frozen=True)
class LogitFit:
    """A fitted logistic regression ``P(y=1|x) = expit(b0 + x b)``.

    Attributes
    ----------
    params : numpy.ndarray
        Intercept first, then one coefficient per column of ``X``.
    cov : numpy.ndarray
        Model-based covariance of ``params`` (inverse information).
    n_iter : int
        Newton iterations used.
    loglik : float
        Log-likelihood at the estimate.
    n_vanishing : int
        Rows given as ``ignorable`` whose fitted probability is within 1e-10
        of their own response (accepted, not called separation).
    """

    params: np.ndarray
    cov: np.ndarray
    n_iter: int
    loglik: float
    n_vanishing: int = 0

    def linear_predictor(self, X: np.ndarray) -> np.ndarray:
        """Return the logit ``b0 + X b`` for new rows.

        Computed column by column, so that identical rows get bit-identical
        scores (a BLAS matrix-vector product may round rows differently,
        which would break matching's tie rules on repeated covariate rows).
        """
        X = np.asarray(X, dtype=float)
        b = self.params[1:]
        eta = np.empty(X.shape[0])
        term = np.empty(min(CHUNK_ROWS, X.shape[0]))  # one work block for x_j b_j
        for rows in row_blocks(X.shape[0]):  # blocks of rows stay in cache; same sums
            block = eta[rows]
            block.fill(self.params[0])
            tj = term[: rows.stop - rows.start]
            for j in range(X.shape[1]):
                block += np.multiply(X[rows, j], b[j], out=tj)
        return eta

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Fitted probabilities for new rows."""
        return expit(self.linear_predictor(X))


def _warm_rows(pos: np.ndarray, budget: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows of a warm-start subsample stratified by ``pos`` and their weights back to full counts.

    Each class gives at most about ``budget`` rows: all of them when it has no more,
    else evenly spaced rows of it; a row's weight is its class's count over the rows
    taken from it (so the weighted subsample's likelihood estimates the full one's).
    """
    n = pos.size
    n_pos = int(np.count_nonzero(pos))
    parts, weights = [], []
    for mask, count in ((pos, n_pos), (~pos, n - n_pos)):
        if count == 0:
            continue
        stride = -(-count // budget)
        rows = np.flatnonzero(mask) if stride == 1 else (
            np.arange(0, n, stride)[mask[::stride]])
        parts.append(rows)
        weights.append(np.full(rows.size, count / rows.size))
    rows = np.concatenate(parts)
    order = np.argsort(rows, kind="stable")
    return rows[order], np.concatenate(weights)[order]


def _any_extreme(X: np.ndarray, raw: np.ndarray) -> bool:
    """Whether any fitted probability at ``raw`` (intercept first) is within 1e-10 of 0 or 1."""
    prob = expit(X @ raw[1:] + raw[0])
    return bool(((prob < 1e-10) | (prob > 1 - 1e-10)).any())


def fit_logit(
    X: np.ndarray,
    y: np.ndarray,
    *,
    weights: np.ndarray | None = None,
    names: Sequence[str] | None = None,
    tol: float = 1e-10,
    max_iter: int = 100,
    start: np.ndarray | None = None,
    start_params: np.ndarray | None = None,
    center: np.ndarray | None = None,
    scale: np.ndarray | None = None,
    ignorable: np.ndarray | None = None,
    covariance: bool = True,
    buffers: WorkBuffers | None = None,
    means: np.ndarray | None = None,
    _standardised_start: bool = False,
) -> LogitFit:
    """Fit a logistic regression by Newton-Raphson.

    Parameters
    ----------
    X : numpy.ndarray, shape (n, p)
        Covariates, without an intercept (one is added).
    y : numpy.ndarray, shape (n,)
        0/1 response (e.g. treatment), float or bool (not copied).
    weights : numpy.ndarray, optional
        Non-negative case weights.
    names : sequence of str, optional
        Column names, used to name the covariates involved in a failure.
    tol : float
        Convergence tolerance on the relative change of the log-likelihood
        and on the largest Newton step.
    max_iter : int
        Maximum Newton iterations.
    start : numpy.ndarray, optional
        Starting values on the internal (centred and scaled) scale.
    start_params : numpy.ndarray, optional
        Starting values on the original scale (intercept first), e.g. a
        previous fit's ``params`` (the bootstrap starts each replicate there).
    center, scale : numpy.ndarray, optional
        Column centres and scales used internally (default: from the data).
    ignorable : numpy.ndarray of bool, optional
        Rows whose fitted probability may run to their own response (below
        1e-10 for a 0, above 1 - 1e-10 for a 1) without the fit being
        refused as separation. For the ATT these are the comparison units:
        a comparison unit with a vanishing score is unlike everyone in the
        programme and its weight ``p / (1 - p)`` vanishes with it, so it
        cannot distort the estimate (Dehejia & Wahba's NSW-PSID sample has
        dozens). The fit must still converge; their number is
        ``LogitFit.n_vanishing``.
    covariance : bool, default True
        ``False`` (the bootstrap's replicates): the same iterations and
        coefficients, but no covariance (an empty array) and no
        log-likelihood (NaN) at the end, which saves two passes over the data.
    buffers : WorkBuffers, optional
        Accepted for the bootstrap's callers; the Newton sums run block by block
        (:mod:`pbr_eval.inference.design`) and need no ``(n, p)`` work array.
    means : numpy.ndarray, shape (n,), optional
        Filled with the fitted probabilities at the estimate, from the fit's last pass
        (no further read of ``X``). The same values as :meth:`LogitFit.predict` to
        rounding, but not necessarily bit-identical for identical rows (a matrix product
        per block): for weighting, not for matching's tie rules.

    Returns
    -------
    LogitFit

    Raises
    ------
    EstimationError
        On complete or quasi-complete separation (fitted probabilities of
        exactly 0 or 1, other than ``ignorable`` rows at their own
        response), naming the covariates with the largest coefficients, or
        when the design is singular.

    Notes
    -----
    Columns are centred and scaled before fitting and the coefficients are
    transformed back, which keeps the information matrix well conditioned
    when covariates are on very different scales (earnings next to
    indicators). The maximum-likelihood estimate is unchanged by this.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(5000, 2))
    >>> y = (rng.random(5000) < 1 / (1 + np.exp(-(0.5 + X @ [1.0, -1.0])))).astype(float)
    >>> fit = fit_logit(X, y)
    >>> np.round(fit.params, 1)
    array([ 0.5,  1. , -1. ])
    """
    X = np.asarray(X, dtype=float)
    y = np.asarray(y)
    if y.dtype != bool:  # (a bool response is used as it is: the sums cast it per block)
        y = y.astype(float, copy=False)
    n, p = X.shape
    names = list(names) if names is not None else [f"x{j}" for j in range(p)]
    if center is None or scale is None:
        # Centring and scaling only condition the problem; a subsample's moments suffice.
        probe = X[:: max(1, n // 20_000)]
        mu = probe.mean(axis=0) if n else np.zeros(p)
        sd = probe.std(axis=0)
        sd[sd == 0] = 1.0
    else:
        mu, sd = np.asarray(center, dtype=float), np.asarray(scale, dtype=float)
    # The iterations work on the raw columns (no standardised copy of X): the
    # gradient and information are summed over the centred-and-scaled design directly
    # (pbr_eval.inference.design, which centres a column far from zero before summing,
    # so a calendar year or earnings lose no digits), where raw parameters are
    # A @ (standardised parameters). Solving in standardised coordinates keeps the
    # system well conditioned; the optimum (raw gradient zero) is unchanged.
    A = np.zeros((p + 1, p + 1))
    A[0, 0] = 1.0
    A[0, 1:] = -mu / sd
    A[1:, 1:] = np.diag(1.0 / sd)
    w = None if weights is None else np.asarray(weights, dtype=float)
    ybar = np.average(y, weights=w)
    if not 0 < ybar < 1:
        raise EstimationError("The response has only one value; a logistic model cannot be fitted.")
    beta = np.zeros(p + 1)
    beta[0] = np.log(ybar / (1 - ybar))
    approx_info: np.ndarray | None = None  # an approximate information for the first step
    if start is not None:
        beta = np.asarray(start, dtype=float).copy()
    elif start_params is not None:
        sp = np.asarray(start_params, dtype=float)
        beta = np.empty(p + 1)
        beta[1:] = sp[1:] * sd
        beta[0] = sp[0] + float(mu @ sp[1:])
    elif n > _WARM_START_ROWS:
        # Newton converges quadratically: a fit on a subsample lands close to the full-data
        # optimum, so the full data needs only two or three iterations, the first with the
        # subsample's information (a chord step: no information pass). The subsample is
        # stratified by the response (all of a rare class; evenly spaced rows of a common
        # one) and weighted back to the full counts, so a rare treatment does not leave
        # the start far from the optimum.
        sub, factor = _warm_rows(y > 0.5, _WARM_START_ROWS // 2)
        try:
            warm = fit_logit(
                np.ascontiguousarray(X[sub]), np.ascontiguousarray(y[sub]),
                weights=factor if w is None else factor * w[sub], tol=1e-8,
                max_iter=max_iter, center=mu, scale=sd, _standardised_start=True,
                ignorable=None if ignorable is None else ignorable[sub],
            )
            beta, approx_info = warm.params, warm.cov
        except EstimationError:
            pass
    nonneg = w is None or bool((w >= 0).all())
    need_cov = covariance and not _standardised_start
    # a warm start (below) returns its information at its estimate, for the chord step
    need_info = covariance or _standardised_start

    def evaluate(b_std: np.ndarray, *, loglik: bool, information: bool = True,
                 score: bool | None = None, extremes: bool = True,
                 out: np.ndarray | None = None) -> GLMPass:
        # one read of X: the linear predictor, probabilities, log-likelihood, the Newton
        # sums over the standardised design and the count of extreme probabilities (not
        # in the quadratic region's passes: only a last pass's count is used)
        raw = A @ b_std
        return glm_pass(X, y, raw[1:], raw[0], "logistic", weights=w, center=mu, scale=sd,
                        loglik=loglik, information=information, score=score,
                        ignorable=ignorable, nonneg=nonneg, extremes=extremes, means=out)

    state = evaluate(beta, loglik=True, information=approx_info is None, score=True)
    ll = state.sums.loglik
    final: GLMPass | None = None  # the pass at the estimate, when the loop ends converged
    converged = False
    filled = False  # whether the last pass wrote `means`
    it = 0
    # drift: for a chord step on an earlier pass's information, how far the iterate has
    # moved since (None: the warm start's subsample's information)
    drift: float | None = None
    for it in range(1, max_iter + 1):  # noqa: B007 (it is reported after the loop)
        # exact: the information at the iterate (a chord step uses the warm start's, or an
        # earlier pass's while the iterates stay within CHORD_DRIFT of it)
        exact = approx_info is None
        info = state.sums.information if approx_info is None else approx_info
        score = state.sums.score
        approx_info = None
        try:
            step = np.linalg.solve(info, score)
        except np.linalg.LinAlgError as err:
            if not exact:  # the subsample's information is singular: use the data's
                state = evaluate(beta, loglik=False)
                continue
            if _any_extreme(X, A @ beta):
                break  # fitted probabilities of 0 or 1: separation, reported below
            raise EstimationError(
                "The propensity model's design is singular: some covariates are collinear. "
                "Remove redundant covariates."
            ) from err
        # Newton decrement: the step would raise the log-likelihood by about
        # score'step / 2. When that and the step are negligible, take the step
        # and stop; the last pass gives the information at the estimate (and the
        # log-likelihood, when the covariance is wanted).
        decrement = float(score @ step) / 2
        largest = float(np.max(np.abs(step)))
        if (chord_converged(exact, drift, largest) and decrement < tol * abs(ll)
                and largest < 1e-6):
            beta = beta + step
            final = evaluate(beta, loglik=need_cov, information=need_info, out=means)
            filled = True
            ll = final.sums.loglik if covariance else np.nan
            converged = True
            break
        if decrement < 1e-3 * abs(ll) and largest < 0.1:
            # inside the quadratic region: a full Newton step needs no line search (and
            # the log-likelihood is not evaluated; `ll` stays the scale of the tests). A
            # small step keeps the information it used for the next one (a chord step:
            # that pass computes the score only), the last pass computes it exactly.
            beta = beta + step
            drift = chord_drift(exact, drift, largest)
            approx_info = None if drift is None else info
            state = evaluate(beta, loglik=False, information=drift is None, score=True,
                             extremes=False)
            continue
        drift = None
        t = 1.0
        while True:
            new_beta = beta + t * step
            # the trial pass also gives the next iteration's sums (used when accepted)
            trial = evaluate(new_beta, loglik=True)
            new_ll = trial.sums.loglik
            if new_ll >= ll - 1e-12 * abs(ll) or t < 1e-8:
                break
            t /= 2
        change = abs(new_ll - ll) / (abs(ll) + 1e-300)
        beta, state, ll = new_beta, trial, new_ll
        if change < tol and np.max(np.abs(t * step)) < 1e-6:
            final = state
            converged = True
            break
    if final is None:  # not converged: count the extreme probabilities for the message
        final = evaluate(beta, loglik=False, information=False)
    n_vanishing = final.n_vanishing
    n_extreme = final.n_extreme
    if n_extreme or not converged or not np.all(np.isfinite(beta)):
        raise propensity_separation_error(beta, names, n_extreme, max_iter)
    if _standardised_start:  # (cov: the information at beta, standardised scale)
        return LogitFit(params=beta, cov=final.sums.information, n_iter=it, loglik=ll,
                        n_vanishing=n_vanishing)
    # Back to the original scale.
    params = np.empty(p + 1)
    params[1:] = beta[1:] / sd
    params[0] = beta[0] - np.dot(mu, params[1:])
    if means is not None and not filled:  # (the last pass was a line search's trial)
        means[:] = expit(X @ params[1:] + params[0])
    if not covariance:
        return LogitFit(params=params, cov=np.empty((0, 0)), n_iter=it, loglik=np.nan,
                        n_vanishing=n_vanishing)
    # the information at the estimate itself (from the last pass), so that the covariance
    # and the influence functions built on it (pbr_eval.inference.influence) agree exactly
    info_final = final.sums.information
    try:
        cov = A @ np.linalg.inv(info_final) @ A.T
    except np.linalg.LinAlgError:
        cov = np.full((p + 1, p + 1), np.nan)
    return LogitFit(params=params, cov=cov, n_iter=it, loglik=ll, n_vanishing=n_vanishing)
