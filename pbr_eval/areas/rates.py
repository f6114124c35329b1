r"""Area non-intervention rates: the front door :func:`area_rates`.

Each area's *unpooled* (direct) estimate comes from one national outcome
model fitted on the comparison pool plus each area's own offset (the default,
``method="national_model"``) or from any registered estimator fitted area by
area; the estimates are then partially pooled by the Fay-Herriot model
(:mod:`pbr_eval.areas.pooling`) and returned as
:class:`~pbr_eval.areas.AreaRates`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit, logit

from pbr_eval._provenance import __version__, versions
from pbr_eval.areas.pooling import (
    _design_with_intercept,
    _Direct,
    fay_herriot,
    logit_offsets,
    slope_variance,
)
from pbr_eval.areas.results import AreaRates
from pbr_eval.cohort import Cohort
from pbr_eval.exceptions import (
    DataError,
    EstimationError,
    OptionError,
    PbrEvalError,
)
from pbr_eval.options import (
    DEFAULT_LEVEL,
    check_choice,
    check_int,
    check_level,
)

__all__ = ["NATIONAL_MODEL", "area_rates"]

#: The cheap default of :func:`area_rates`: one national outcome model plus
#: each area's own comparison data (see :func:`area_rates`, Notes).
NATIONAL_MODEL = "national_model"


def _national_model(cohort: Cohort, outcome: str, code: np.ndarray, m: int) -> _Direct:
    from pbr_eval.models.logit import fit_logit

    t = cohort.t
    y = cohort.y(outcome)
    X = cohort.X
    kind = cohort.outcome_types[outcome]
    n0 = np.bincount(code[~t], minlength=m)
    notes = ["" if k > 0 else "no comparison people in this area: regression prediction only"
             for k in n0]
    if kind == "binary":
        fit = fit_logit(X[~t], y[~t], names=cohort.design_columns)
        eta = fit.linear_predictor(X)
        delta, var = logit_offsets(eta[~t], y[~t], code[~t], m)
        p0 = expit(eta)
        var_slope = slope_variance(X, t, code, m, p0 * (1.0 - p0), fit.cov[1:, 1:])
        return _Direct(
            theta=delta, var=var + var_slope, link="logit_offset", eta_t=eta[t], code_t=code[t],
            base=None, notes=notes, eta_c=eta[~t], code_c=code[~t], var_slope=var_slope, national=float(expit(eta[t]).mean()),
            extra_info={"national_model": "logistic regression of the outcome on the "
                        "covariates over the comparison pool",
                        "national_coefficients": dict(zip(["intercept", *cohort.design_columns],
                                                          map(float, fit.params), strict=True))},
        )
    D = _design_with_intercept(X)
    D0, y0 = D[~t], y[~t]
    beta, *_ = np.linalg.lstsq(D0, y0, rcond=None)
    pred = D @ beta
    resid = y0 - pred[~t]
    dof = max(D0.shape[0] - D0.shape[1], 1)
    sigma2 = float(resid @ resid / dof)
    n0f = n0.astype(float)
    delta = np.divide(np.bincount(code[~t], weights=resid, minlength=m), n0f,
                      out=np.full(m, np.nan), where=n0 > 0)
    var = np.divide(sigma2, n0f, out=np.full(m, np.nan), where=n0 > 0)
    cov_beta = sigma2 * np.linalg.pinv(D0.T @ D0)
    var = var + slope_variance(X, t, code, m, np.ones(t.size), cov_beta[1:, 1:])
    n1 = np.bincount(code[t], minlength=m)
    base = np.bincount(code[t], weights=pred[t], minlength=m) / np.maximum(n1, 1)
    return _Direct(
        theta=delta, var=var, link="identity_offset", eta_t=None, code_t=None, base=base,
        notes=notes, eta_c=None, code_c=None, var_slope=None, national=float(pred[t].mean()),
        extra_info={"national_model": "least-squares regression of the outcome on the "
                    "covariates over the comparison pool",
                    "residual_variance": sigma2,
                    "national_coefficients": dict(zip(["intercept", *cohort.design_columns],
                                                      map(float, beta), strict=True))},
    )


def _per_area(
    cohort: Cohort, outcome: str, code: np.ndarray, m: int, method: str,
    options: Mapping[str, Any], min_area_treated: int,
) -> _Direct:
    from pbr_eval.estimators.base import build_estimator

    kind = cohort.outcome_types[outcome]
    binary = kind == "binary"
    theta = np.full(m, np.nan)
    var = np.full(m, np.nan)
    notes = [""] * m
    roles = cohort.roles()
    # one area is one cluster: cluster-robust standard errors make no sense within it
    roles.update(outcome=[outcome], min_treated=min_area_treated, missing="error", cluster=None)
    frame = cohort.data
    for a in range(m):
        sub = frame.loc[code == a]
        try:
            c = Cohort(sub, outcome_types={outcome: kind}, **roles)
            est = build_estimator(method, dict(options)).fit(c).estimate_for(outcome)
        except PbrEvalError as err:  # too small, one group only, no overlap, ...
            notes[a] = f"no direct estimate ({type(err).__name__}: {str(err)[:120]})"
            continue
        ni, se = est.non_intervention, est.non_intervention_se
        if not (math.isfinite(ni) and math.isfinite(se) and se > 0):
            notes[a] = "no direct estimate (standard error not available)"
            continue
        if binary:
            if not 0.0 < ni < 1.0:
                notes[a] = f"no direct estimate (estimated rate {ni:g} is at a bound)"
                continue
            theta[a] = float(logit(ni))
            var[a] = (se / (ni * (1.0 - ni))) ** 2
        else:
            theta[a], var[a] = ni, se**2
    return _Direct(
        theta=theta, var=var, link="logit" if binary else "identity", eta_t=None, code_t=None,
        base=None, notes=notes, eta_c=None, code_c=None, var_slope=None, national=float("nan"),
        extra_info={"per_area_method": method, "per_area_options": dict(options)},
    )




def _area_design(
    areas: Sequence[str], area_covariates: pd.DataFrame | None
) -> tuple[np.ndarray, list[str]]:
    m = len(areas)
    if area_covariates is None:
        return np.ones((m, 1)), ["intercept"]
    if not isinstance(area_covariates, pd.DataFrame):
        raise OptionError(
            "`area_covariates` must be a pandas DataFrame indexed by area, one row per area "
            f"(e.g. data.groupby('local_authority')[['unemployment_rate']].first()); got "
            f"{type(area_covariates).__name__}."
        )
    idx = pd.Index(area_covariates.index.astype(str))
    if idx.has_duplicates:
        dup = idx[idx.duplicated()].unique()[:3].tolist()
        raise OptionError(
            f"`area_covariates` must have one row per area; areas {dup} appear more than once."
        )
    missing = [a for a in areas if a not in set(idx)]
    if missing:
        raise OptionError(
            f"`area_covariates` has no row for {len(missing)} area(s) with treated people "
            f"(e.g. {missing[:3]}); give a row for every area."
        )
    cols = [str(c) for c in area_covariates.columns]
    frame = area_covariates.set_axis(idx).loc[list(areas)]
    for c in frame.columns:
        if not pd.api.types.is_numeric_dtype(frame[c].dtype) or frame[c].dtype == bool:
            raise OptionError(
                f"`area_covariates` column '{c}' must be numeric; found {frame[c].dtype}."
            )
    values = frame.to_numpy(dtype=float)
    if not np.isfinite(values).all():
        raise OptionError(
            "`area_covariates` has missing or infinite values; fill them in for every area."
        )
    sd = values.std(axis=0)
    if np.any(sd == 0):
        const = [c for c, s in zip(cols, sd, strict=True) if s == 0]
        raise OptionError(f"`area_covariates` column(s) {const} are constant across areas; "
                          "drop them.")
    Zs = (values - values.mean(axis=0)) / sd
    return np.column_stack([np.ones(m), Zs]), ["intercept", *[f"{c} (standardised)"
                                                              for c in cols]]


def area_rates(
    cohort: Cohort,
    *,
    outcome: str | None = None,
    method: str = NATIONAL_MODEL,
    area_covariates: pd.DataFrame | None = None,
    level: float = DEFAULT_LEVEL,
    min_area_treated: int = 10,
    **options: Any,
) -> AreaRates:
    r"""Non-intervention rate of each area's treated cohort, unpooled and partially pooled.

    Parameters
    ----------
    cohort : Cohort
        Built with ``cluster=`` naming the area column (e.g. the local
        authority). Cross-sectional (no ``period``).
    outcome : str, optional
        The outcome (default: the cohort's first).
    method : str, default "national_model"
        How each area's own (unpooled) estimate is made. ``"national_model"``
        (fast at national scale; see Notes) or the name of any registered
        estimator (``"nearest"``, ...), which is then fitted separately in
        each area on that area's treated and comparison people.
    area_covariates : pandas.DataFrame, optional
        One row per area (index: area label), numeric columns such as the
        unemployment rate or a deprivation score. They enter the prior mean
        (empirical-Bayes regression), so areas borrow strength from
        *similar* areas rather than from all areas equally. Standardised
        internally.
    level : float, default 0.95
        Confidence level of the intervals.
    min_area_treated : int, default 10
        With a per-area estimator, areas with fewer treated than this get
        no unpooled estimate (their pooled estimate is the prior mean).
    **options
        Options of the per-area estimator (e.g. ``caliper=0.2``).

    Returns
    -------
    AreaRates

    Raises
    ------
    OptionError
        No area column, unknown outcome or method, options given to
        ``"national_model"``, bad ``area_covariates``.
    DataError
        Panel cohorts (use one period with ``cohort.at_period(...)``).
    EstimationError
        Too few areas with a direct estimate to estimate the between-area
        variance.

    Notes
    -----
    **Unpooled estimates, method "national_model".** One national outcome
    model is fitted on the whole comparison pool: a logistic regression
    for a binary outcome, least squares otherwise. Each area's own
    comparison people then estimate how far the area sits from the
    national model: a shift :math:`\hat\delta_a` on the logit scale
    (:func:`logit_offsets`) or the mean residual. The area's
    non-intervention rate for its treated is the average prediction with
    that shift,

    .. math::
        \hat n_a = \frac{1}{N_a}\sum_{i \in T_a}
        \operatorname{expit}(x_i'\hat\beta + \hat\delta_a),

    i.e. regression (outcome-model) adjustment in which the covariate
    slopes are national and the level is local. This costs one model fit
    and a few passes over the data, whatever the number of areas. It
    assumes the covariates act the same way in every area (only the
    level differs). Sampling variance of :math:`\hat\delta_a`: inverse
    Fisher information :math:`1/\sum_i p_i(1-p_i)` at the national model
    (binary; :func:`logit_offsets`) or :math:`\hat\sigma^2/n_{0a}` with the
    national residual variance (means; heteroscedasticity between areas is
    ignored), plus the part inherited from the national slopes
    (:func:`slope_variance`). For rates the information is then
    re-evaluated twice at the partially pooled estimates and the pooling
    refitted ("smoothed" sampling variances: neither correlated with the
    area's own error nor tied to the national rate), which brought the
    simulated coverage of the unpooled intervals from 0.93 to 0.94-0.95.
    The slopes' error is shared by all areas; the
    pooling step treats areas as independent, which is a small
    approximation when the comparison pool is large. A logistic model
    without area effects has slightly flatter slopes than the within-area
    ones (non-collapsibility); with a between-area standard deviation of
    0.3 on the logit scale the attenuation is about 1.5%.

    **Unpooled estimates, a registered estimator.** The estimator is fitted
    in each area separately; its estimate and standard error are put on
    the logit scale (rates) by the delta method. This is as good as the
    estimator is in small samples and slow with many areas.

    **Partial pooling.** The unpooled estimates enter the Fay-Herriot model
    (:func:`fay_herriot`) on the logit scale for rates (logit-normal) and
    the identity scale for means (Gaussian), with an intercept and the
    ``area_covariates`` in the prior mean. The posterior mean and its
    Prasad-Rao MSE (which allows for estimating the hyperparameters) are
    mapped back to the rate scale through the same function as the
    unpooled estimate, so intervals are monotone images of normal intervals
    and stay in [0, 1].

    The target is the mean, over the area's treated, of their expected
    non-intervention outcome given covariates and area; the realised
    outcomes add binomial noise no estimator can predict.

    References
    ----------
    Efron, B. and Morris, C. (1975). Data analysis using Stein's estimator and
    its generalizations. JASA 70, 311-319.
    Fay, R. E. and Herriot, R. A. (1979). JASA 74, 269-277.
    Rao, J. N. K. and Molina, I. (2015). Small Area Estimation, 2nd ed. Wiley.
    Spiegelhalter, D. J. (2005). Funnel plots for comparing institutional
    performance. Statistics in Medicine 24, 1185-1202.

    Examples
    --------
    >>> import pbr_eval
    >>> from pbr_eval.areas import area_rates
    >>> from pbr_eval.datasets import load_reoffending
    >>> sim = load_reoffending()
    >>> cohort = pbr_eval.Cohort(sim.data, **sim.cohort_args)
    >>> rates = area_rates(cohort, outcome="reoffended")
    >>> rates
    <AreaRates outcome='reoffended' method='national_model' areas=20>
    >>> f = rates.to_frame()
    >>> bool(((f["shrinkage"] >= 0) & (f["shrinkage"] <= 1)).all())
    True
    """
    if not isinstance(cohort, Cohort):
        raise OptionError(
            f"`cohort` must be a pbr_eval.Cohort; got {type(cohort).__name__}. Build one with "
            "pbr_eval.Cohort(data, ..., cluster='local_authority')."
        )
    if cohort.cluster is None:
        raise OptionError(
            "`cohort` has no area column: build the Cohort with `cluster=` naming it "
            "(e.g. cluster='local_authority')."
        )
    if cohort.is_panel:
        raise DataError(
            "Area rates need one row per person; this cohort has periods. Use "
            "cohort.at_period(<post period>) to take the outcome period."
        )
    if outcome is None:
        outcome = cohort.outcomes[0]
    check_choice("outcome", outcome, cohort.outcomes)
    level = check_level(level)
    min_area_treated = check_int("min_area_treated", min_area_treated, minimum=1)
    if method == NATIONAL_MODEL:
        if options:
            raise OptionError(
                f"Method '{NATIONAL_MODEL}' takes no estimator options; got "
                f"{', '.join(map(repr, options))}. Name a per-area estimator with `method=` to "
                "use them."
            )
    else:
        from pbr_eval.estimators.base import ESTIMATORS, build_estimator

        check_choice("method", method, [NATIONAL_MODEL, *sorted(ESTIMATORS)])
        build_estimator(method, dict(options))  # bad options fail here, not once per area

    labels = cohort.column(cohort.cluster).astype(str)
    t = cohort.t
    treated_areas = sorted(pd.unique(labels[t]).tolist())
    all_areas = pd.unique(labels).tolist()
    lookup = {a: i for i, a in enumerate(treated_areas)}
    m = len(treated_areas)
    code = pd.Series(labels).map(lookup).fillna(-1).to_numpy(dtype=np.int64)
    keep = code >= 0
    notes: list[str] = []
    n_no_treated = len(all_areas) - m
    if n_no_treated:
        notes.append(
            f"{n_no_treated} area(s) have comparison people but no treated people; they have no "
            "treated cohort to estimate for and are left out (their comparison people still "
            "inform the national model)."
        )
    y = cohort.y(outcome)
    n1 = np.bincount(code[t], minlength=m)
    n0 = np.bincount(code[keep & ~t], minlength=m)
    observed = np.bincount(code[t], weights=y[t], minlength=m) / n1

    if method == NATIONAL_MODEL:
        code_all = np.where(keep, code, m)  # areas without treated -> a spare slot
        direct = _national_model(cohort, outcome, code_all, m + 1)
        direct = _trim(direct, m)
    else:
        direct = _per_area(cohort, outcome, code, m, method, options, min_area_treated)

    Z, gamma_names = _area_design(treated_areas, area_covariates)
    try:
        fit = fay_herriot(direct.theta, direct.var, Z)
    except EstimationError as err:
        failed = [(a, n) for a, n in zip(treated_areas, direct.notes, strict=True) if n]
        if not failed:
            raise
        raise EstimationError(
            f"{err} {len(failed)} area(s) have no direct estimate, e.g. {failed[0][0]}: "
            f"{failed[0][1]}"
        ) from err
    if direct.link == "logit_offset":
        for _ in range(_SMOOTHING_ROUNDS):
            direct = _smooth_variances(direct, fit.mean)
            fit = fay_herriot(direct.theta, direct.var, Z)
    if float(np.median(fit.shrinkage)) > 0.9:
        notes.append(
            "Most areas borrow over 90% of their estimate from the prior mean: their own data "
            "show little more spread than chance would give."
        )
    info = {
        "method": method,
        "outcome": outcome,
        "level": level,
        "area_column": cohort.cluster,
        "area_covariates": None if area_covariates is None else list(area_covariates.columns),
        "min_area_treated": min_area_treated,
        "options": dict(options),
        "pooling": "Fay-Herriot empirical Bayes (REML), Prasad-Rao/Datta-Lahiri MSE",
        "cohort": cohort.describe(),
        "dropped": [d.to_dict() for d in cohort.dropped],
        "fingerprint": cohort.fingerprint,
        "version": __version__,
        "versions": versions(),
        "notes": notes,
        **direct.extra_info,
    }
    return AreaRates(
        outcome=outcome, outcome_type=cohort.outcome_types[outcome], method=method, level=level,
        areas=treated_areas, n_treated=n1, n_comparison=n0, observed=observed, direct=direct,
        fit=fit, gamma_names=gamma_names, info=info,
    )


#: Rounds of re-evaluating the logit sampling variances at the pooled estimates.
_SMOOTHING_ROUNDS = 2


def _smooth_variances(d: _Direct, delta: np.ndarray) -> _Direct:
    """Return sampling variances re-evaluated at the pooled offsets (smoothed variances).

    The inverse information ``1 / sum p_i (1 - p_i)`` depends on the rate; taken
    at the area's own estimate it is correlated with the estimate's error, taken
    at the national rate it is too small for areas whose rate is far from 50%.
    At the partially pooled estimate it is neither.
    """
    assert d.eta_c is not None and d.code_c is not None and d.var_slope is not None
    m = d.theta.size
    keep = d.code_c < m
    code = d.code_c[keep]
    pr = expit(d.eta_c[keep] + delta[code])
    info = np.bincount(code, weights=pr * (1.0 - pr), minlength=m)
    var = np.divide(1.0, info, out=np.full(m, np.nan), where=info > 0) + d.var_slope
    var[~np.isfinite(d.theta)] = np.nan
    return _Direct(
        theta=d.theta, var=var, link=d.link, eta_t=d.eta_t, code_t=d.code_t, base=d.base,
        notes=d.notes, eta_c=d.eta_c, code_c=d.code_c, var_slope=d.var_slope,
        national=d.national, extra_info=d.extra_info,
    )


def _trim(d: _Direct, m: int) -> _Direct:
    """Drop the spare slot that held areas without treated people."""
    return _Direct(
        theta=d.theta[:m], var=d.var[:m], link=d.link, eta_t=d.eta_t, code_t=d.code_t,
        base=None if d.base is None else d.base[:m], notes=d.notes[:m], national=d.national,
        extra_info=d.extra_info, eta_c=d.eta_c, code_c=d.code_c,
        var_slope=None if d.var_slope is None else d.var_slope[:m],
    )

