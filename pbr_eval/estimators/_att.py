"""The ATT set-up the weighting, regression and doubly robust estimators share.

Option checks (``clip`` / ``trim`` bounds, covariate lists, ``propensity=``,
``se=``, panels refused), the ATT propensity score with clipping, trimming and
its influence (:class:`AttPropensity`), the overlap warning, the clipping and
trimming records in ``info``, and the shared start of ipw, aipw and ipwra
(:class:`AttWeighting`). Below :mod:`~pbr_eval.estimators.weighting`,
:mod:`~pbr_eval.estimators.regression` and
:mod:`~pbr_eval.estimators._population`, which all import it (it imports none
of them).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from pbr_eval.cohort import Cohort, DroppedRows
from pbr_eval.estimators.base import base_info
from pbr_eval.exceptions import EstimationError, OptionError, OverlapWarning
from pbr_eval.inference.influence import (
    CoefficientInfluence,
    logit_coefficient_influence,
    with_intercept,
)
from pbr_eval.models.propensity import (
    PropensityScore,
    check_propensity_model,
    fit_propensity,
    vanishing_note,
)
from pbr_eval.options import check_columns, check_probability

__all__ = ["AttPropensity", "att_propensity", "AttWeighting", "att_weighting_setup",
           "check_bounds", "covariate_list", "weighting_propensity", "resolve_se",
           "overlap_warning", "se_description", "clip_trim_info", "reject_panel"]


# --------------------------------------------------------------- options
def check_bounds(name: str, value: Any) -> tuple[float, float] | None:
    """``None``, a number ``a`` (meaning ``(a, 1 - a)``) or a pair ``(lo, hi)`` with 0 <= lo < hi <= 1.

    Examples
    --------
    >>> check_bounds("clip", 0.01)
    (0.01, 0.99)
    >>> check_bounds("clip", (0.2, 0.1))
    Traceback (most recent call last):
    ...
    pbr_eval.exceptions.OptionError: `clip` must be a number below 0.5 or a pair (lo, hi) with 0 <= lo < hi <= 1; got (0.2, 0.1).
    """
    if value is None:
        return None
    msg = (f"`{name}` must be a number below 0.5 or a pair (lo, hi) with 0 <= lo < hi <= 1; "
           f"got {value!r}.")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        a = check_probability(name, value)
        if a >= 0.5:
            raise OptionError(msg)
        return (float(a), float(1 - a))
    if isinstance(value, (tuple, list)) and len(value) == 2:
        try:
            lo, hi = float(value[0]), float(value[1])
        except (TypeError, ValueError) as err:
            raise OptionError(msg) from err
        if 0 <= lo < hi <= 1:
            return (lo, hi)
    raise OptionError(msg)


def covariate_list(name: str, value: Any) -> tuple[str, ...] | None:
    """Return ``None`` or the non-empty tuple of covariate names of ``propensity_covariates`` / ``outcome_covariates``.

    Examples
    --------
    >>> covariate_list("outcome_covariates", "age")
    ('age',)
    >>> covariate_list("outcome_covariates", [])
    Traceback (most recent call last):
    ...
    pbr_eval.exceptions.OptionError: `outcome_covariates` must name at least one covariate (or be None for all of the cohort's); got an empty list.
    """
    if value is None:
        return None
    names = check_columns(name, value)
    if not names:
        raise OptionError(f"`{name}` must name at least one covariate (or be None for all of "
                          "the cohort's); got an empty list.")
    return tuple(names)


def weighting_propensity(model: Any) -> Any:
    """Return ``propensity=`` of the weighting family: ``"probit"`` or what :func:`check_propensity_model` accepts.

    Examples
    --------
    >>> weighting_propensity("probit")
    'probit'
    """
    return "probit" if isinstance(model, str) and model == "probit" else (
        check_propensity_model(model))


def resolve_se(se: str, cohort: Cohort) -> tuple[str, np.ndarray | None]:
    """``"auto"`` is cluster-robust when the cohort has a ``cluster``, else robust."""
    if se == "auto":
        se = "cluster" if cohort.cluster is not None else "robust"
    if se == "cluster":
        if cohort.cluster is None:
            raise OptionError(
                "`se='cluster'` needs a cohort built with `cluster` (e.g. the local authority); "
                "this one has none. Pass cluster=... to Cohort or use se='robust'."
            )
        return se, cohort.column(cohort.cluster)
    return se, None


# ---------------------------------------------------------- propensity
@dataclass(frozen=True)
class AttPropensity:
    """The propensity score as the ATT estimators use it.

    Attributes
    ----------
    ps_raw : numpy.ndarray
        Fitted scores.
    ps : numpy.ndarray
        Scores after clipping (equal to ``ps_raw`` without ``clip``).
    free : numpy.ndarray of float
        1 where the score was not clipped (so it moves with the model's
        coefficients), 0 where clipping fixed it. Without ``clip``, a read-only view
        of 1s (no array of its own).
    odds : numpy.ndarray
        ``ps / (1 - ps)``, the ATT weight of a comparison unit.
    phi : CoefficientInfluence or None
        Influence of each unit on the logistic coefficients, kept as factors
        (``phi.dot(g)``; ``phi.matrix()`` for the dense array); ``None`` for a
        scikit-learn classifier, whose estimation the SEs cannot include.
    keep : numpy.ndarray of bool
        Rows kept after trimming.
    model : str
    n_clipped : int
    n_trimmed_treated, n_trimmed_comparison : int
    n_vanishing : int
        Comparison units with scores below 1e-10 (accepted: no ATT weight).
    """

    ps_raw: np.ndarray
    ps: np.ndarray
    free: np.ndarray
    odds: np.ndarray
    phi: CoefficientInfluence | None
    keep: np.ndarray
    model: str
    n_clipped: int
    n_trimmed_treated: int
    n_trimmed_comparison: int
    n_vanishing: int = 0


def att_propensity(
    cohort: Cohort,
    model: Any,
    *,
    clip: tuple[float, float] | None,
    trim: tuple[float, float] | None,
    Z: np.ndarray | None = None,
) -> AttPropensity:
    """Fit the propensity model, clip or trim it, and compute its influence.

    ``Z`` is not used (the influence works on ``cohort.X`` without an
    intercept column); it is accepted for older callers.

    Raises
    ------
    EstimationError
        Separation (scores of exactly 0 or 1; the error names the covariates
        most involved), or trimming that leaves no treated or no comparison unit.
    """
    fit = fit_propensity(cohort, None if model == "logit" else model, estimand="ATT",
                         weighting=True)
    ps_raw = fit.ps
    t = cohort.t
    if clip is not None:
        ps = np.clip(ps_raw, clip[0], clip[1])
        free = ((ps_raw > clip[0]) & (ps_raw < clip[1])).astype(float)
    else:
        ps = ps_raw
        free = np.broadcast_to(1.0, ps_raw.shape)  # all 1: a read-only view, no n-array
    n_clipped = 0 if clip is None else int((free == 0).sum())
    keep = np.ones(t.size, dtype=bool)
    if trim is not None:
        keep = (ps_raw >= trim[0]) & (ps_raw <= trim[1])
    n_tt = int((t & ~keep).sum())
    n_tc = int((~t & ~keep).sum())
    if not (t & keep).any() or not (~t & keep).any():
        raise EstimationError(
            f"`trim`={trim} leaves no {'treated' if not (t & keep).any() else 'comparison'} "
            "units: the groups do not overlap on the propensity score. Widen `trim`."
        )
    odds = np.subtract(1.0, ps)
    np.divide(ps, odds, out=odds)  # ps / (1 - ps), in one array
    if not np.all(np.isfinite(odds)):  # pragma: no cover - fit_propensity rejects 0/1 scores
        raise EstimationError("Propensity scores of exactly 1 give infinite weights.")
    phi = None
    if fit.logit is not None:
        # the fit's covariance is the inverse information at the estimate: no further pass
        phi = logit_coefficient_influence(cohort.X, t, ps_raw, fit.logit.cov)
    return AttPropensity(ps_raw, ps, free, odds, phi, keep, fit.model, n_clipped, n_tt, n_tc,
                         fit.n_vanishing)


def overlap_warning(cohort: Cohort, prop: AttPropensity, w: np.ndarray, method: str) -> str | None:
    """Warn (and return the note) when overlap is weak for the ATT.

    Weak means: more than 2% of the treated units have a score above every
    comparison unit's, or one comparison unit carries more than 10% of the
    comparison group's total weight.
    """
    t, keep = cohort.t, prop.keep
    c = ~t & keep
    tk = t & keep
    beyond = int((prop.ps_raw[tk] > np.max(prop.ps_raw, where=c, initial=-np.inf)).sum())
    wsum = float(np.sum(w, where=c))
    share = float(np.max(w, where=c, initial=-np.inf) / wsum) if wsum > 0 else 1.0
    if beyond <= 0.02 * tk.sum() and share <= 0.10:
        return None
    X = cohort.X
    m1, m0 = X[tk].mean(axis=0), X[c].mean(axis=0)
    sd = X[tk].std(axis=0)
    sd[sd == 0] = 1.0
    top = np.argsort(-np.abs((m1 - m0) / sd))[:3]
    names = ", ".join(f"'{cohort.design_columns[j]}'" for j in top)
    parts = []
    if beyond > 0.02 * tk.sum():
        parts.append(f"{beyond:,} treated units have a propensity score above every comparison "
                     "unit's (no comparable comparison unit)")
    if share > 0.10:
        parts.append(f"one comparison unit carries {share:.0%} of the comparison group's weight")
    note = (
        f"Weak overlap ({method}): {'; '.join(parts)}. The groups differ most on {names}. "
        "Consider `clip` or `trim`, restricting the comparison pool, or matching."
    )
    warnings.warn(note, OverlapWarning, stacklevel=3)
    return note


def se_description(se: str, nuisance: Sequence[str], analytic: bool) -> str:
    """Plain description of how the standard errors were computed."""
    base = ("cluster-robust influence-function (sum over clusters, G/(G-1))" if se == "cluster"
            else "robust influence-function (HC0, as statsmodels TreatmentEffect / Stata teffects)")
    if analytic:
        return f"{base}, accounting for the estimated {' and '.join(nuisance)}"
    return (f"{base}; a scikit-learn nuisance model's estimation is NOT accounted for "
            "(treated as known), so the SEs may be too small or too large")


def clip_trim_info(prop: AttPropensity, info: dict[str, Any], stage: str) -> None:
    """Record clipping and trimming counts in ``info`` (and notes / dropped)."""
    info["n_clipped"] = prop.n_clipped
    if prop.n_vanishing:
        info["notes"].append(vanishing_note(PropensityScore(prop.ps_raw, prop.model,
                                                            n_vanishing=prop.n_vanishing,
                                                            estimand="ATT")))
    info["n_trimmed_treated"] = prop.n_trimmed_treated
    info["n_trimmed_comparison"] = prop.n_trimmed_comparison
    if prop.n_clipped:
        info["notes"].append(
            f"{prop.n_clipped:,} propensity scores were clipped to the `clip` bounds."
        )
    n_trim = prop.n_trimmed_treated + prop.n_trimmed_comparison
    if n_trim:
        info["dropped"] = info["dropped"] + [DroppedRows(
            n_trim,
            f"propensity score outside the `trim` bounds ({prop.n_trimmed_treated:,} treated, "
            f"{prop.n_trimmed_comparison:,} comparison)",
            stage=stage, n_treated=prop.n_trimmed_treated,
            n_comparison=prop.n_trimmed_comparison,
            share_treated=prop.n_trimmed_treated / max(int(info["cohort"]["n_treated"]), 1),
        ).to_dict()]
        if prop.n_trimmed_treated:
            info["notes"].append(
                f"{prop.n_trimmed_treated:,} treated units were trimmed: the estimate is for the "
                "remaining treated units, not the whole cohort."
            )


def reject_panel(cohort: Cohort, method: str) -> None:
    if cohort.is_panel:
        raise OptionError(
            f"Method '{method}' needs one row per unit; this cohort has a `period`. Use "
            "cohort.at_period(<post period>) first, or method='did'."
        )


# ------------------------------------------------------------- estimator
@dataclass(frozen=True)
class AttWeighting:
    """What the ATT weighting estimators (ipw, aipw, ipwra) share before the outcomes.

    Built by :func:`att_weighting_setup`.

    Attributes
    ----------
    se : str
        The resolved standard-error kind (``"robust"`` or ``"cluster"``).
    cluster : numpy.ndarray or None
        The cohort's cluster label per row when ``se == "cluster"``.
    t : numpy.ndarray of bool
        Treatment indicator.
    X : numpy.ndarray
        The cohort's design columns (``cohort.X``, not copied).
    prop : AttPropensity
        The fitted, clipped or trimmed propensity score and its influence.
    w : numpy.ndarray
        Normalised ATT weights: treated 1, comparison ``ps / (1 - ps)`` rescaled
        to sum to :attr:`n_treated`; 0 for trimmed units.
    info : dict
        The results' ``info`` so far (overlap and clipping notes); the
        estimator adds its own entries.
    """

    se: str
    cluster: np.ndarray | None
    t: np.ndarray
    X: np.ndarray
    prop: AttPropensity
    w: np.ndarray
    info: dict[str, Any]

    @property
    def Z(self) -> np.ndarray:
        """The propensity design with an intercept, built on request (the estimators do not need it)."""
        return with_intercept(self.X)

    @property
    def keep(self) -> np.ndarray:
        """Rows kept after trimming."""
        return self.prop.keep

    @cached_property
    def n_treated(self) -> int:
        """Treated units kept (counted once)."""
        return int((self.t & self.keep).sum())

    @cached_property
    def n_comparison(self) -> int:
        """Comparison units kept with positive weight (counted once)."""
        return int(((~self.t) & self.keep & (self.w > 0)).sum())


def att_weighting_setup(estimator: Any, cohort: Cohort) -> AttWeighting:
    """Check the cohort, resolve ``se``, fit the propensity score and build the ATT weights.

    The propensity score is fitted with any clipping or trimming; the
    weights are the normalised ATT odds weights; ``info`` carries the overlap
    and clipping notes (see :class:`AttWeighting`).
    """
    reject_panel(cohort, estimator.method)
    se, cl = resolve_se(estimator.se, cohort)
    t = cohort.t
    prop = att_propensity(cohort, estimator.propensity, clip=estimator.clip,
                          trim=estimator.trim)
    keep = prop.keep
    trimmed = bool(prop.n_trimmed_treated or prop.n_trimmed_comparison)
    tk = t & keep if trimmed else t
    n1 = int(np.count_nonzero(tk))
    # treated 1, comparison odds scaled to sum to n1 (0 when trimmed): no gather of ~t
    w = np.where(t, 0.0, prop.odds)
    if trimmed:
        w *= keep
    w *= n1 / w.sum()
    np.copyto(w, 1.0, where=tk)
    info = base_info(cohort, estimator)
    note = overlap_warning(cohort, prop, w, estimator.method)
    if note:
        info["notes"].append(note)
    clip_trim_info(prop, info, estimator.method)
    return AttWeighting(se=se, cluster=cl, t=t, X=cohort.X, prop=prop, w=w, info=info)
