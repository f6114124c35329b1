"""Propensity scores: P(treated | covariates), by logistic regression or any scikit-learn classifier."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pbr_eval.cohort import Cohort
from pbr_eval.exceptions import EstimationError, OptionError
from pbr_eval.models.logit import LogitFit, fit_logit
from pbr_eval.options import PROPENSITY_MODELS, warn_renamed
from pbr_eval.replicate import ReplicateHints

__all__ = [
    "PropensityScore", "fit_propensity", "vanishing_note", "check_propensity_model",
    "is_classifier",
]

#: A score this close to 0 (or 1) "vanishes" (the threshold of the separation rule).
VANISHING = 1e-10


@dataclass(frozen=True)
class PropensityScore:
    """Fitted propensity scores for every row of a cohort.

    Attributes
    ----------
    ps : numpy.ndarray
        P(treated | covariates) for each row.
    model : str
        ``"logit"`` or the scikit-learn estimator's class name.
    logit : LogitFit or None
        The logistic fit (coefficients and covariance) when ``model="logit"``.
    estimator : object or None
        The fitted scikit-learn estimator (a clone of the one given).
    n_vanishing : int
        Units outside the estimand's focal group with a score that vanishes
        (below 1e-10 for the ATT's comparison units): harmless, accepted,
        and reported by :func:`vanishing_note`.
    estimand : str or None
        The estimand the separation rule was applied for.
    """

    ps: np.ndarray
    model: str
    logit: LogitFit | None = None
    estimator: Any = field(default=None, repr=False)
    n_vanishing: int = 0
    estimand: str | None = None

    @property
    def linear(self) -> np.ndarray:
        """The score on the logit scale, ``log(ps / (1 - ps))``."""
        return np.log(self.ps) - np.log1p(-self.ps)


def vanishing_note(ps: PropensityScore | None) -> str | None:
    """Return the note saying how many non-focal units had vanishing scores, or None.

    Examples
    --------
    >>> import numpy as np
    >>> vanishing_note(PropensityScore(np.array([0.5]), "logit", n_vanishing=50, estimand="ATT"))
    '50 comparison units have propensity scores below 1e-10: they are unlike everyone in the programme, so the ATT gives them (almost) no weight; the fit was accepted rather than refused as separation.'
    """
    if ps is None or not ps.n_vanishing:
        return None
    att = ps.estimand != "ATC"
    who = "comparison units" if att else "programme participants"
    score = "below 1e-10" if att else "above 1 - 1e-10"
    unlike = "everyone in the programme" if att else "everyone in the comparison pool"
    return (f"{ps.n_vanishing:,} {who} have propensity scores {score}: they are unlike "
            f"{unlike}, so the {ps.estimand or 'ATT'} gives them (almost) no weight; the fit was "
            "accepted rather than refused as separation.")


def is_classifier(model: Any) -> bool:
    """Whether ``model`` looks like a scikit-learn classifier (``fit`` and ``predict_proba``)."""
    return not isinstance(model, str) and hasattr(model, "fit") and hasattr(model, "predict_proba")


def check_propensity_model(model: Any) -> Any:
    """Validate ``propensity=``: ``"logit"`` or a scikit-learn classifier.

    ``None`` (an old spelling of the default) is accepted for one release
    with a :class:`DeprecationWarning`; it means ``"logit"``.

    Examples
    --------
    >>> check_propensity_model("logit")
    'logit'
    >>> check_propensity_model("probit")
    Traceback (most recent call last):
    ...
    pbr_eval.exceptions.OptionError: `propensity` must be 'logit' (logistic regression) or a scikit-learn classifier with fit() and predict_proba(); got 'probit'.
    """
    if model is None:
        warn_renamed("propensity=None", "propensity='logit'")
        return "logit"
    if isinstance(model, str) and model in PROPENSITY_MODELS:
        return model
    if not is_classifier(model):
        raise OptionError(
            "`propensity` must be 'logit' (logistic regression) or a scikit-learn classifier "
            f"with fit() and predict_proba(); got {model!r}."
        )
    return model


def fit_propensity(
    cohort: Cohort,
    model: Any = None,
    *,
    estimand: str | None = None,
    start: np.ndarray | None = None,
    replicate: ReplicateHints | None = None,
    weighting: bool = False,
) -> PropensityScore:
    """Fit the propensity model on a cohort.

    Parameters
    ----------
    cohort : Cohort
    model : None, "logit" or a scikit-learn classifier
        ``None``/``"logit"`` fits a main-effects logistic regression on the
        cohort's design matrix. A scikit-learn classifier (anything with
        ``fit`` and ``predict_proba``) is cloned and fitted on the same matrix.
    estimand : {"ATT", "ATC"}, optional
        The separation rule for this estimand: scores of 0 (or 1) are refused
        except, for the ATT, comparison units with scores below 1e-10 (and,
        for the ATC, treated units above 1 - 1e-10), which get no weight and
        are counted in ``n_vanishing``. None: every extreme score is refused.
    start : numpy.ndarray, optional
        Starting coefficients for the logistic fit (original scale, intercept
        first); the optimum does not depend on them.
    replicate : ReplicateHints, optional
        For a bootstrap replicate (``cohort`` built by ``parent.take(rows)``):
        the logistic fit runs on the *distinct* parent rows with their
        multiplicities as case weights (the same likelihood, hence the same
        maximum, over about two thirds of the rows: a cluster bootstrap draws
        roughly 63% of clusters; only floating-point rounding differs), in
        the hints' work buffers, and skips its covariance and final
        log-likelihood (``logit.cov`` empty, ``logit.loglik`` NaN).
        ``start`` is not taken from the hints: pass it.
    weighting : bool, default False
        The scores are for weighting: a logistic fit's come from its last pass over the
        data (the same values to rounding; see :func:`~pbr_eval.models.logit.fit_logit`'s
        ``means``) instead of one more read of it. Matching keeps ``False``: its scores
        are computed row by row, so identical rows tie exactly.

    Returns
    -------
    PropensityScore

    Raises
    ------
    EstimationError
        On separation, or when a classifier returns scores of exactly 0 or 1
        (except the harmless ones ``estimand`` allows).
    OptionError
        When ``model`` is neither ``"logit"`` nor a classifier.
    """
    X, t = cohort.X, cohort.t  # (a bool response: fit_logit needs no float copy)
    # the units whose score may vanish harmlessly: the ATT's comparison, the ATC's treated
    ignorable = None if estimand is None else (~cohort.t if estimand == "ATT" else cohort.t)
    if model is None or (isinstance(model, str) and model in ("logit", "glm")):
        if replicate is not None:
            return _fit_logit_distinct(cohort, replicate, start, estimand)
        ps = np.empty(X.shape[0]) if weighting else None
        fit = fit_logit(X, t, names=cohort.design_columns, start_params=start,
                        ignorable=ignorable, means=ps)
        return PropensityScore(ps=fit.predict(X) if ps is None else ps, model="logit",
                               logit=fit, n_vanishing=fit.n_vanishing, estimand=estimand)
    if isinstance(model, str) or not (hasattr(model, "fit") and hasattr(model, "predict_proba")):
        raise OptionError(
            "`distance`/`propensity` must be 'glm' (logistic regression) or a scikit-learn "
            f"classifier with fit() and predict_proba(); got {model!r}."
        )
    from sklearn.base import clone

    est = clone(model)
    est.fit(X, cohort.t.astype(int))
    classes = list(getattr(est, "classes_", [0, 1]))
    ps = np.asarray(est.predict_proba(X))[:, classes.index(1)]
    extreme = (ps <= 0) | (ps >= 1)
    n_vanishing = 0
    if ignorable is not None:
        harmless = ignorable & (((ps <= 0) & ~cohort.t) | ((ps >= 1) & cohort.t))
        n_vanishing = int(harmless.sum())
        extreme &= ~harmless
    bad = int(extreme.sum())
    if bad:
        raise EstimationError(
            f"The classifier {type(model).__name__} gave {bad:,} propensity scores of exactly 0 "
            "or 1, so those people have no comparable counterpart. Use a smoother model "
            "(e.g. calibrated or regularised) or restrict the data to the region of overlap."
        )
    return PropensityScore(ps=ps, model=type(model).__name__, estimator=est,
                           n_vanishing=n_vanishing, estimand=estimand)


def _fit_logit_distinct(
    cohort: Cohort, hints: ReplicateHints, start: np.ndarray | None, estimand: str | None = None
) -> PropensityScore:
    """Replicate fit on the distinct parent rows, weighted by how often each was drawn.

    The log-likelihood of the replicate equals the
    multiplicity-weighted log-likelihood of its distinct rows, so the
    estimate is the same; each replicate row's score is its source row's
    (computed row by row, so bit-identical to scoring the replicate's rows).
    """
    Xp, tp, rows, work = hints.parent_X, hints.parent_t, hints.rows, hints.buffers
    counts = np.bincount(rows, minlength=Xp.shape[0])
    drawn = counts > 0
    sel = np.flatnonzero(drawn)
    if work is None:
        Xu = np.take(Xp, sel, axis=0)
    else:
        Xu = np.take(Xp, sel, axis=0, out=work.array("logit_Xu", sel.size, Xp.shape[1]),
                     mode="clip")
    tu = np.asarray(tp[sel], bool)
    ignorable = None if estimand is None else (~tu if estimand == "ATT" else tu)
    fit = fit_logit(Xu, tu.astype(float), weights=counts[sel].astype(float),
                    names=cohort.design_columns, start_params=start, ignorable=ignorable,
                    covariance=False, buffers=work)
    rank = np.cumsum(drawn) - 1
    return PropensityScore(ps=fit.predict(Xu)[rank[rows]], model="logit", logit=fit,
                           n_vanishing=fit.n_vanishing, estimand=estimand)
