"""Outcome models for regression adjustment: linear, logistic and Poisson generalised linear models (fast, vectorised Newton / IRLS), or any scikit-learn regressor or classifier (cloned before fitting).

The GLMs use canonical links, so the score is ``Z'(w (y - mu))`` and the
information ``Z' diag(w v) Z`` with ``v = dmu/deta``; both are what
:mod:`pbr_eval.inference.influence` needs to account for the estimated
outcome model in the standard errors.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pbr_eval.exceptions import EstimationError, OptionError
from pbr_eval.inference.design import (
    CHUNK_ROWS,
    BlockSums,
    design_matvec,
    design_product_blocks,
    row_blocks,
)
from pbr_eval.models.glm import (
    GLMPass,
    canonical_mean,
    chord_converged,
    chord_drift,
    glm_pass,
    outcome_separation_error,
)
from pbr_eval.options import OUTCOME_MODELS

__all__ = ["OutcomeFit", "fit_outcome", "resolve_outcome_model", "FAMILY_FOR_TYPE",
           "conditional_variance", "mean_derivative", "predict_outcomes"]

#: The GLM used for each outcome type when ``outcome_model="auto"``.
_WARM_START_ROWS = 200_000

FAMILY_FOR_TYPE = {"continuous": "linear", "binary": "logistic", "count": "poisson"}


_inverse_link = canonical_mean


@dataclass(frozen=True)
class OutcomeFit:
    """A fitted outcome model.

    Attributes
    ----------
    family : str
        ``"linear"``, ``"logistic"``, ``"poisson"`` or ``"sklearn"``.
    params : numpy.ndarray or None
        GLM coefficients, intercept first (``None`` for scikit-learn models).
    information : numpy.ndarray or None
        ``Z' diag(w v) Z`` at the estimate (the negative Hessian of the
        weighted log-likelihood; ``None`` for scikit-learn models).
    estimator : object or None
        The fitted scikit-learn estimator (a clone of the one given).
    n_iter : int
        Newton iterations (0 for closed-form least squares).
    """

    family: str
    params: np.ndarray | None
    information: np.ndarray | None = None
    estimator: Any = field(default=None, repr=False)
    n_iter: int = 0

    @property
    def analytic(self) -> bool:
        """Whether the fit is a GLM whose estimation error the SEs can include."""
        return self.params is not None

    def predict(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Predicted means for rows ``X`` (no intercept column) and ``dmu/deta``.

        The derivative is ``None`` for scikit-learn models.
        """
        if self.params is None:
            est = self.estimator
            if hasattr(est, "predict_proba"):
                classes = list(getattr(est, "classes_", [0, 1]))
                return np.asarray(est.predict_proba(X))[:, classes.index(1)], None
            return np.asarray(est.predict(X), dtype=float), None
        eta = self.params[0] + X @ self.params[1:]
        return _inverse_link(self.family, eta)


def predict_outcomes(
    X: np.ndarray, fits: list[OutcomeFit], *, slopes: bool = True,
) -> list[tuple[np.ndarray, np.ndarray | None]]:
    """:meth:`OutcomeFit.predict` of several fits on the same rows, the GLMs' from one read of ``X``.

    Parameters
    ----------
    X : numpy.ndarray, shape (n, p)
        Covariates without an intercept column.
    fits : list of OutcomeFit
    slopes : bool, default True
        Also ``dmu/deta`` (False: None in its place, for a caller that forms it from
        the means where it needs it, e.g. :func:`~pbr_eval.models.glm.canonical_slope`
        per block).

    Returns
    -------
    list of (numpy.ndarray, numpy.ndarray or None)
        Each fit's predicted means and ``dmu/deta``, as :meth:`OutcomeFit.predict` gives
        them (a linear model's ``dmu/deta`` of 1 as a read-only view; to rounding: the
        linear predictors come from one product per block of rows with every fit's
        coefficients).

    Examples
    --------
    >>> import numpy as np
    >>> fits = [OutcomeFit("linear", np.array([1.0, 2.0])), OutcomeFit("poisson", np.zeros(2))]
    >>> [(m.tolist(), v.tolist()) for m, v in predict_outcomes(np.array([[0.0], [1.0]]), fits)]
    [([1.0, 3.0], [1.0, 1.0]), ([1.0, 1.0], [1.0, 1.0])]
    """
    n = X.shape[0]
    glm = [i for i, f in enumerate(fits) if f.params is not None]
    out: list[tuple[np.ndarray, np.ndarray | None] | None] = [
        None if f.params is not None else f.predict(X) for f in fits]
    if not glm:
        return [pair for pair in out if pair is not None]
    params = np.column_stack([f.params for f in fits if f.params is not None])
    families = [fits[i].family for i in glm]
    # means and slopes written block by block (canonical_mean's arithmetic on each block
    # of linear predictors: no n-length temporaries)
    means = [np.empty(n) for _ in glm]
    derivs = [np.empty(n) if family == "logistic" and slopes else None for family in families]
    for rows, eta in design_product_blocks(X, params):  # b0 + X b, as OutcomeFit.predict
        for j, family in enumerate(families):
            mu, dmu = _inverse_link(family, eta[:, j])
            means[j][rows] = mu
            deriv = derivs[j]
            if deriv is not None:
                deriv[rows] = dmu
    for j, (i, family) in enumerate(zip(glm, families, strict=True)):
        # a linear model's slope is 1 (a read-only view, no n-length array), a Poisson
        # model's its mean (canonical_mean's)
        deriv = derivs[j]
        out[i] = (means[j], None if not slopes else deriv if deriv is not None
                  else means[j] if family == "poisson" else np.broadcast_to(1.0, (n,)))
    return [pair for pair in out if pair is not None]


def resolve_outcome_model(model: Any, outcome_type: str) -> Any:
    """Return the family name (or estimator) to use for one outcome.

    ``"auto"`` picks linear for continuous outcomes, logistic for binary
    ones (predictions stay in [0, 1]) and Poisson for counts.

    Examples
    --------
    >>> resolve_outcome_model("auto", "binary")
    'logistic'
    >>> resolve_outcome_model("linear", "binary")
    'linear'
    """
    if isinstance(model, str):
        if model == "auto":
            return FAMILY_FOR_TYPE[outcome_type]
        if model == "logistic" and outcome_type != "binary":
            raise OptionError(
                f"`outcome_model` 'logistic' needs a binary (0/1) outcome; this one is "
                f"{outcome_type}. Use 'auto', 'linear' or 'poisson'."
            )
        if model == "poisson" and outcome_type == "continuous":
            raise OptionError(
                "`outcome_model` 'poisson' needs a non-negative outcome (count or rate); this "
                "one is continuous. Use 'auto' or 'linear'."
            )
        return model
    return model


def check_outcome_model(model: Any) -> Any:
    """Validate the ``outcome_model`` option (a name or a scikit-learn estimator)."""
    if isinstance(model, str):
        from pbr_eval.options import check_choice

        return check_choice("outcome_model", model, OUTCOME_MODELS)
    if hasattr(model, "fit") and (hasattr(model, "predict") or hasattr(model, "predict_proba")):
        return model
    raise OptionError(
        f"`outcome_model` must be one of {', '.join(map(repr, OUTCOME_MODELS))} or a "
        f"scikit-learn regressor/classifier; got {model!r}."
    )


def fit_outcome(
    X: np.ndarray,
    y: np.ndarray,
    model: Any = "linear",
    *,
    weights: np.ndarray | None = None,
    names: list[str] | None = None,
    tol: float = 1e-10,
    max_iter: int = 100,
    subset: np.ndarray | None = None,
) -> OutcomeFit:
    """Fit an outcome model ``E[y | x] = g^{-1}(b0 + x'b)`` or a scikit-learn model.

    Parameters
    ----------
    X : numpy.ndarray, shape (n, p)
        Covariates without an intercept (one is added).
    y : numpy.ndarray, shape (n,)
    model : {"linear", "logistic", "poisson"} or scikit-learn estimator
        A scikit-learn estimator is cloned, then fitted (with
        ``sample_weight`` when ``weights`` are given). Classifiers
        (anything with ``predict_proba``) predict P(y = 1).
    weights : numpy.ndarray, optional
        Non-negative case weights (e.g. IPW weights for IPWRA).
    names : list of str, optional
        Column names, to name the covariates involved in a failure.
    subset : numpy.ndarray of bool, optional
        Fit on these rows only (``X``, ``y`` and ``weights`` are then for
        every row). The same fit as on ``X[subset]``, without copying it:
        the other rows get weight 0 in the sums.

    Returns
    -------
    OutcomeFit

    Raises
    ------
    EstimationError
        When the design is singular (collinear covariates), or a logistic
        outcome model separates the outcome perfectly (names the
        covariates with the largest coefficients), or Newton fails to converge.

    Notes
    -----
    Newton-Raphson on centred and scaled columns with step halving; the
    linear model is solved in closed form. Canonical links throughout, so
    the information matrix is ``Z' diag(w dmu/deta) Z`` with ``Z = [1, X]``.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(1)
    >>> X = rng.normal(size=(4000, 1))
    >>> y = rng.poisson(np.exp(0.2 + 0.5 * X[:, 0])).astype(float)
    >>> np.round(fit_outcome(X, y, "poisson").params, 1)
    array([0.2, 0.5])
    """
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    if subset is not None and not isinstance(model, str):
        rows = np.asarray(subset, dtype=bool)
        X, y = X[rows], y[rows]
        weights = None if weights is None else np.asarray(weights, dtype=float)[rows]
        subset = None
    n, p = X.shape
    names = list(names) if names is not None else [f"x{j}" for j in range(p)]
    if not isinstance(model, str):
        from sklearn.base import clone

        est = clone(model)
        if weights is not None:
            try:
                est.fit(X, y.astype(int) if hasattr(est, "predict_proba") else y,
                        sample_weight=weights)
            except TypeError as err:
                raise OptionError(
                    f"`outcome_model` {type(model).__name__} does not accept sample weights, "
                    "which this method needs; use a GLM or an estimator with sample_weight."
                ) from err
        else:
            est.fit(X, y.astype(int) if hasattr(est, "predict_proba") else y)
        return OutcomeFit(family="sklearn", params=None, estimator=est)
    # the rows fitted on (all, or the subset's, which the others join with weight 0); only
    # every k-th of them is ever needed (probe, warm start), found without listing them all
    fitted = None if subset is None else np.asarray(subset, dtype=bool)
    if subset is None:
        w = np.ones(n) if weights is None else np.asarray(weights, dtype=float)
    elif weights is None:
        # the subset itself as 0/1 weights (multiplying by a bool is multiplying by 0 or 1)
        w = np.asarray(subset, dtype=bool)
    else:
        w = np.asarray(weights, dtype=float) * np.asarray(subset, dtype=bool)
    n_fit = n if fitted is None else int(np.count_nonzero(fitted))
    probe = (X[_every_kth(fitted, max(1, n_fit // 100_000))] if fitted is not None
             else X[:: max(1, n // 100_000)])
    mu_x = probe.mean(axis=0) if n_fit else np.zeros(p)
    sd_x = probe.std(axis=0)
    sd_x[sd_x == 0] = 1.0
    # The sums run over the standardised design [1, (X - mu_x) / sd_x] block by block
    # (pbr_eval.inference.design): no standardised copy of X is made.
    std = {"center": mu_x, "scale": sd_x}
    A = np.zeros((p + 1, p + 1))  # standardised -> original coefficients
    A[0, 0] = 1.0
    A[0, 1:] = -mu_x / sd_x
    A[1:, 1:] = np.diag(1.0 / sd_x)

    def singular(err: Exception) -> EstimationError:
        return EstimationError(
            f"The {model} outcome model's design is singular among the units it is fitted on: "
            f"some of the covariates ({', '.join(map(repr, names[:8]))}) are collinear or "
            "constant there. Remove redundant covariates."
        )

    if model == "linear":
        # one pass: Z'WZ and Z'Wy (design_sums' blocks, with w y formed block by block)
        acc = BlockSums(p, **std, nonneg=bool((w >= 0).all()), chunk=max(min(CHUNK_ROWS, n), 1))
        for block in row_blocks(n):
            acc.add(X[block], w[block], w[block] * y[block])
        info, cross = acc.result()
        try:
            beta = np.linalg.solve(info, cross)
        except np.linalg.LinAlgError as err:
            raise singular(err) from err
        if np.linalg.cond(info) > 1e13:
            raise singular(ValueError("ill-conditioned"))
        params = A @ beta
        Ainv = np.linalg.inv(A)
        return OutcomeFit("linear", params, Ainv.T @ info @ Ainv, n_iter=0)
    ybar = (float(np.average(y, weights=w)) if weights is not None
            else float(np.sum(y, where=np.asarray(subset, dtype=bool)) / n_fit)
            if subset is not None else float(y.mean()))
    if model == "logistic":
        if not 0 < ybar < 1:
            raise EstimationError(
                "The binary outcome takes only one value among the units the outcome model is "
                "fitted on, so a logistic model cannot be fitted; use outcome_model='linear'."
            )
        start = np.log(ybar / (1 - ybar))
    else:
        if ybar <= 0:
            raise EstimationError(
                "The count outcome is zero for every unit the outcome model is fitted on; a "
                "Poisson model cannot be fitted. Use outcome_model='linear'."
            )
        start = np.log(ybar)
    beta = np.zeros(p + 1)
    beta[0] = start

    nonneg = bool((w >= 0).all())
    counted = None if subset is None else np.asarray(subset, dtype=bool)

    def evaluate(Xs: np.ndarray, ys: np.ndarray, ws: np.ndarray | None, b: np.ndarray, *,
                 loglik: bool, information: bool = True, score: bool | None = None,
                 extremes: bool = True) -> GLMPass:
        # one read of Xs: linear predictor, means, log-likelihood and the Newton sums over
        # the standardised design (eta as design_matvec forms it); extremes among `counted`
        # (not in the quadratic region's passes: only a last pass's count is used)
        raw = b[1:] / sd_x
        return glm_pass(Xs, ys, raw, b[0] - float(mu_x @ raw), model, weights=ws, **std,
                        loglik=loglik, information=information, score=score,
                        mask=counted if Xs is X else None, nonneg=nonneg, extremes=extremes)

    def newton(Xs: np.ndarray, ys: np.ndarray, ws: np.ndarray | None, beta: np.ndarray,
               approx_info: np.ndarray | None = None
               ) -> tuple[np.ndarray, GLMPass | None, bool, int]:
        # approx_info: an approximate information for the first step (a chord step, from
        # a warm start's subsample); later steps use the information at their iterate, or
        # (chord_drift) an earlier pass's while the iterates stay close to it, and stop
        # only when the step is as final as an exact Newton step (chord_converged)
        state = evaluate(Xs, ys, ws, beta, loglik=True, information=approx_info is None,
                         score=True)
        ll = state.sums.loglik
        it = 0
        drift: float | None = None  # as in pbr_eval.models.logit.fit_logit: chord steps
        for it in range(1, max_iter + 1):  # noqa: B007 - `it` is reported after the loop
            sums = state.sums
            exact = approx_info is None
            info = sums.information if approx_info is None else approx_info
            approx_info = None
            try:
                step = np.linalg.solve(info, sums.score)
            except np.linalg.LinAlgError as err:
                if not exact:  # the subsample's information is singular: use the data's
                    state = evaluate(Xs, ys, ws, beta, loglik=False)
                    continue
                eta = design_matvec(Xs, beta, **std)
                mu_now = canonical_mean(model, eta)[0]
                if ws is not None:
                    mu_now = mu_now[ws > 0]
                if model == "logistic" and ((mu_now < 1e-10) | (mu_now > 1 - 1e-10)).any():
                    # fitted probabilities of 0 or 1: separation, reported as such below
                    return beta, None, False, it
                raise singular(err) from err
            # Newton decrement: the step would raise the log-likelihood by about
            # score'step / 2. Negligible (with the step): take it and stop; small
            # (inside the quadratic region): take it without a line search. Either way
            # the log-likelihood is not evaluated; the iterates are those of the line
            # search, which accepts the full step there. Each iterate is evaluated in
            # one pass (glm_pass), whose sums are the next iteration's.
            decrement = float(sums.score @ step) / 2
            largest = float(np.max(np.abs(step)))
            if (chord_converged(exact, drift, largest) and decrement < tol * abs(ll)
                    and largest < 1e-7):
                beta = beta + step
                return beta, evaluate(Xs, ys, ws, beta, loglik=False), True, it
            if decrement < 1e-3 * abs(ll) and largest < 0.1:
                # a small step keeps its information for the next (a score-only pass)
                beta = beta + step
                drift = chord_drift(exact, drift, largest)
                approx_info = None if drift is None else info
                state = evaluate(Xs, ys, ws, beta, loglik=False, information=drift is None,
                                 score=True, extremes=False)
                continue
            drift = None
            s = 1.0
            while True:
                new_beta = beta + s * step
                trial = evaluate(Xs, ys, ws, new_beta, loglik=True)
                new_ll = trial.sums.loglik
                if new_ll >= ll - 1e-12 * abs(ll) or s < 1e-8:
                    break
                s /= 2
            change = abs(new_ll - ll) / (abs(ll) + 1e-300)
            beta, state, ll = new_beta, trial, new_ll
            if change < tol and np.max(np.abs(s * step)) < 1e-7:
                return beta, state, True, it
        return beta, None, False, it

    # no weights and no subset: the weights are all 1 and the sums need not multiply by them
    wk = None if (weights is None and subset is None) else w
    approx_info = None
    if n_fit > _WARM_START_ROWS:
        # Newton converges quadratically: start the full fit from a subsample's optimum,
        # with the subsample's information (scaled to the full weights) for the first step.
        step_rows = n_fit // (_WARM_START_ROWS // 2)
        sub = slice(0, None, step_rows) if fitted is None else _every_kth(fitted, step_rows)
        ws_sub = None if wk is None else wk[sub]
        try:
            warm, wstate, ok, _ = newton(X[sub], y[sub], ws_sub, beta)
            if ok and wstate is not None:
                beta = warm
                total = float(n if wk is None else wk.sum())
                part = float(y[sub].size if ws_sub is None else ws_sub.sum())
                approx_info = wstate.sums.information * (total / part)
        except EstimationError:
            pass
    beta, final, converged, it = newton(X, y, wk, beta, approx_info)
    if final is None:  # not converged: count the extreme probabilities for the message
        final = evaluate(X, y, wk, beta, loglik=False, information=False)
    n_extreme = final.n_extreme
    if n_extreme or not converged or not np.all(np.isfinite(beta)):
        raise outcome_separation_error(model, beta, names, n_extreme, max_iter)
    info = final.sums.information
    Ainv = np.linalg.inv(A)
    return OutcomeFit(model, A @ beta, Ainv.T @ info @ Ainv, n_iter=it)


def _every_kth(mask: np.ndarray, k: int) -> np.ndarray:
    """``np.flatnonzero(mask)[::k]`` without the full list of positions (found block by block)."""
    parts, seen = [], 0
    for rows in row_blocks(mask.size, 1 << 20):
        pos = np.flatnonzero(mask[rows])
        first = (-seen) % k  # the first position here whose rank among all is a multiple of k
        parts.append(pos[first::k] + rows.start)
        seen += pos.size
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.intp)


def conditional_variance(
    fit: OutcomeFit,
    m: np.ndarray,
    y_fit: np.ndarray,
    m_fit: np.ndarray,
    outcome_type: str,
) -> np.ndarray:
    r"""Return the outcome variance :math:`v(x) = \mathrm{Var}(Y \mid X = x)` a fitted model implies.

    Parameters
    ----------
    fit : OutcomeFit
        The fitted model (its ``family`` decides the variance function).
    m : numpy.ndarray
        Predicted means where the variance is wanted.
    y_fit, m_fit : numpy.ndarray
        Outcomes and predictions of the units the model was fitted on, for
        the dispersion.
    outcome_type : str
        ``"binary"``, ``"count"`` or ``"continuous"`` (used for a
        scikit-learn model, which has no family).

    Returns
    -------
    numpy.ndarray
        Same shape as ``m``, non-negative.

    Notes
    -----
    Logistic (or any model of a binary outcome): :math:`m (1 - m)`.
    Poisson: :math:`\hat\phi\, m` with the Pearson dispersion
    :math:`\hat\phi = \frac{1}{n - k} \sum (y - m)^2 / m` (so
    over-dispersed counts are not under-stated). Linear (and a scikit-learn
    model of a count or continuous outcome): the residual variance
    :math:`\frac{1}{n - k} \sum (y - m)^2`, constant. ``k`` is the number
    of coefficients (intercept included; taken as 1 for a scikit-learn
    model). Limitation: the dispersion is assumed constant across units.

    Examples
    --------
    >>> import numpy as np
    >>> f = OutcomeFit("logistic", np.zeros(2))
    >>> conditional_variance(f, np.array([0.2, 0.5]), np.zeros(3), np.zeros(3), "binary").tolist()
    [0.16000000000000003, 0.25]
    """
    m = np.asarray(m, dtype=float)
    y_fit = np.asarray(y_fit, dtype=float)
    m_fit = np.asarray(m_fit, dtype=float)
    family = fit.family
    if outcome_type == "binary" and family in ("sklearn", "linear"):
        family = "logistic"
    if family == "logistic":
        mc = np.clip(m, 0.0, 1.0)
        return mc * (1.0 - mc)
    k = 1 if fit.params is None else int(np.size(fit.params))
    dof = max(y_fit.size - k, 1)
    if family == "poisson":
        pos = m_fit > 0
        phi = float(((y_fit[pos] - m_fit[pos]) ** 2 / m_fit[pos]).sum() / dof)
        return np.maximum(m, 0.0) * phi
    s2 = float(((y_fit - m_fit) ** 2).sum() / dof)
    return np.full(m.shape, s2)


def mean_derivative(fit: OutcomeFit, m: np.ndarray, outcome_type: str) -> np.ndarray:
    """``dm/deta`` of a fitted model at predictions ``m``: how the mean moves with the linear predictor.

    Logistic (and a scikit-learn model of a binary outcome) ``m (1 - m)``,
    Poisson ``m``, otherwise 1. Used to put a shared (e.g. area) shift of
    the linear predictor on the outcome scale.

    Examples
    --------
    >>> import numpy as np
    >>> mean_derivative(OutcomeFit("poisson", np.zeros(2)), np.array([0.5, 2.0]), "count").tolist()
    [0.5, 2.0]
    """
    m = np.asarray(m, dtype=float)
    family = fit.family
    if outcome_type == "binary" and family == "sklearn":
        family = "logistic"
    if family == "logistic":
        mc = np.clip(m, 0.0, 1.0)
        return mc * (1.0 - mc)
    if family == "poisson":
        return np.maximum(m, 0.0)
    return np.ones_like(m)
