"""Fitting the weighting, regression and doubly robust estimators for the ATE, ATC and ATO.

The glue between an estimator's options and the pure functions of
:mod:`pbr_eval.estimators.estimands`: the propensity score for the chosen
target population (clipped or trimmed), the balancing weights and their
overlap check, one :class:`~pbr_eval.results.counterfactual.OutcomeEstimate`
per outcome (marked ``population=True``: its intervals are for the target
population's expected rates) and the results' ``info``. The ATT keeps its own
code path (``weighting.py``, ``regression.py``, ``doubly_robust.py``), whose
numbers these functions reproduce.
"""

from __future__ import annotations

import dataclasses
import warnings
from typing import Any

import numpy as np

from pbr_eval.cohort import Cohort
from pbr_eval.diagnostics.balance import BalanceTable
from pbr_eval.estimators._att import (
    AttPropensity,
    clip_trim_info,
    overlap_warning,
    reject_panel,
    resolve_se,
    se_description,
)
from pbr_eval.estimators._outcome_se import (
    CohortNoise,
    few_cluster_estimate,
    note_few_clusters,
    outcome_estimate,
    regression_noise,
    uses_wild,
    wild_streams,
    working_outcome_model,
)
from pbr_eval.estimators.base import base_info, weights_series
from pbr_eval.estimators.estimands import (
    POPULATION,
    Means,
    aipw_means,
    balancing_weights,
    gcomp_means,
    pooled_gcomp_means,
    weighting_means,
)
from pbr_eval.exceptions import EstimationError, OptionError, OverlapWarning
from pbr_eval.inference.influence import logit_influence, with_intercept
from pbr_eval.models.logit import fit_logit
from pbr_eval.models.outcome import resolve_outcome_model
from pbr_eval.models.probit import fit_probit
from pbr_eval.models.propensity import fit_propensity
from pbr_eval.results.counterfactual import CounterfactualResults

__all__ = ["fit_population", "population_propensity", "interaction_columns",
           "uses_population_path"]


def population_propensity(
    cohort: Cohort,
    model: Any,
    estimand: str,
    *,
    clip: tuple[float, float] | None,
    trim: tuple[float, float] | None,
    Z: np.ndarray,
    columns: np.ndarray | None = None,
) -> tuple[AttPropensity, np.ndarray | None]:
    r"""Fit the propensity score for a target population, clip or trim it, and compute its influence.

    Parameters
    ----------
    cohort : Cohort
    model : "logit", "probit" or a scikit-learn classifier
    estimand : {"ATT", "ATE", "ATC", "ATO"}
    clip, trim : (lo, hi) or None
    Z : numpy.ndarray
        The propensity design with an intercept (``cohort.X[:, columns]``).
    columns : numpy.ndarray of int, optional
        The design columns of the propensity model (default: all).

    Returns
    -------
    AttPropensity, numpy.ndarray or None
        The score (its ``phi`` left None) and the influence on the model's
        coefficients as an (n, k) array (None for a scikit-learn classifier).
        ``odds`` holds the comparison units' balancing weights :math:`h/(1-e)`;
        ``free`` is the not-clipped indicator times :math:`(de/d\eta)/(e(1-e))`
        (1 for a logit), the factor the pure functions of
        :mod:`~pbr_eval.estimators.estimands` need for a probit.

    Notes
    -----
    Scores of exactly 0 or 1 are refused (every unit carries weight in the
    ATE), except comparison units' vanishing scores for the ATT and treated
    units' scores of 1 for the ATC (they get no weight).
    """
    t = cohort.t
    X = cohort.X if columns is None else cohort.X[:, columns]
    names = cohort.design_columns if columns is None else [cohort.design_columns[j]
                                                           for j in columns]
    ignorable = {"ATT": ~t, "ATC": t}.get(estimand)
    scale = np.ones(t.size)
    n_vanishing = 0
    phi: np.ndarray | None
    if model == "probit":
        pf = fit_probit(X, t.astype(float), names=names)
        ps_raw, phi, scale, label = pf.ps, pf.phi, pf.link_scale, "probit"
    elif model == "logit" and columns is not None:
        lf = fit_logit(X, t.astype(float), names=names, ignorable=ignorable)
        ps_raw, label, n_vanishing = lf.predict(X), "logit", lf.n_vanishing
        phi = logit_influence(Z, t, ps_raw)
    else:
        fit = fit_propensity(cohort, None if model == "logit" else model,
                             estimand=estimand if estimand in ("ATT", "ATC") else None)
        ps_raw, label, n_vanishing = fit.ps, fit.model, fit.n_vanishing
        phi = logit_influence(Z, t, ps_raw) if fit.logit is not None else None
    if clip is not None:
        ps = np.clip(ps_raw, clip[0], clip[1])
        free = ((ps_raw > clip[0]) & (ps_raw < clip[1])).astype(float)
    else:
        ps, free = ps_raw, np.ones_like(ps_raw)
    keep = np.ones(t.size, dtype=bool)
    if trim is not None:
        keep = (ps_raw >= trim[0]) & (ps_raw <= trim[1])
    if not (t & keep).any() or not (~t & keep).any():
        raise EstimationError(
            f"`trim`={trim} leaves no {'treated' if not (t & keep).any() else 'comparison'} "
            "units: the groups do not overlap on the propensity score. Widen `trim`."
        )
    w0 = balancing_weights(estimand, ps)[1]
    return AttPropensity(ps_raw, ps, free * scale, w0, None, keep, label,
                         int((free == 0).sum()), int((t & ~keep).sum()),
                         int((~t & ~keep).sum()), n_vanishing), phi


def _weight_warning(cohort: Cohort, w: np.ndarray, keep: np.ndarray, method: str,
                    estimand: str) -> str | None:
    """Warn when one unit carries more than 10% of its group's weight."""
    parts = []
    for grp, who in ((cohort.t & keep, "programme"), (~cohort.t & keep, "comparison")):
        wg = w[grp]
        share = float(wg.max() / wg.sum()) if wg.sum() > 0 else 1.0
        if share > 0.10:
            parts.append(f"one {who} unit carries {share:.0%} of its group's weight")
    if not parts:
        return None
    note = (f"Weak overlap ({method}, {estimand}): {'; '.join(parts)}. Extreme propensity "
            "scores make the estimate rest on a few people; consider estimand='ATO' (the "
            "overlap population), `trim`, or restricting the data to where the groups overlap.")
    warnings.warn(note, OverlapWarning, stacklevel=4)
    return note


def interaction_columns(cohort: Cohort, interactions: tuple[str, ...],
                        option: str = "interactions") -> np.ndarray:
    """Design columns (indices into ``cohort.X``) made from the named covariates.

    Raises
    ------
    OptionError
        A name that is not one of the cohort's covariates (``option`` names the option).
    """
    unknown = [c for c in interactions if c not in cohort.covariates]
    if unknown:
        raise OptionError(
            f"`{option}` must name covariates of the cohort ({', '.join(cohort.covariates)}); "
            f"got {', '.join(map(repr, unknown))}. Add them to the Cohort's covariates first.")
    return np.array([j for j, name in enumerate(cohort.design_columns)
                     if cohort.design_sources[name] in interactions], dtype=int)


def uses_population_path(estimator: Any) -> bool:
    """Whether ``estimator`` needs :func:`fit_population`: an estimand other than the ATT, a probit, separate covariate lists or a pooled outcome model."""
    return (estimator.estimand != "ATT" or getattr(estimator, "propensity", None) == "probit"
            or getattr(estimator, "propensity_covariates", None) is not None
            or getattr(estimator, "outcome_covariates", None) is not None
            or getattr(estimator, "interactions", None) is not None)


def _columns(cohort: Cohort, names: tuple[str, ...] | None, option: str) -> np.ndarray | None:
    return None if names is None else interaction_columns(cohort, names, option)


def _att_noise(kind: str, means: Means, X: np.ndarray, y: np.ndarray, t: np.ndarray,
               keep: np.ndarray, w0: np.ndarray | None, otype: str,
               names: list[str]) -> CohortNoise | None:
    """Return the cohort-noise terms of an ATT estimate (see :func:`~pbr_eval.estimators._outcome_se.cohort_variance`).

    Regression and IPWRA use their comparison-group outcome model; AIPW and
    IPW a working model (the default GLM on the comparison group), with the
    normalised balancing weights as the outcomes' weights (used in the
    cluster term only).
    """
    c = ~t & keep
    Xo1 = with_intercept(X)
    if kind in ("regression", "ipwra") and means.fits:
        fit = means.fits[0]
        m = fit.predict(X)[0]
        return regression_noise(fit, X, y, m, t & keep, c, otype,
                                weights=None if kind == "regression" else w0, Z=Xo1)
    wc = np.where(c, 1.0 if w0 is None else w0, 0.0)
    return working_outcome_model(X, y, t & keep, c, otype, wc / wc.sum(), names)


def fit_population(estimator: Any, cohort: Cohort, kind: str) -> CounterfactualResults:
    """Fit ``estimator`` (ipw, regression, aipw or ipwra) through the general estimand code.

    Used for an estimand other than the ATT, a probit propensity model,
    separate covariate lists for the two models (Stata ``teffects``
    conventions) or a pooled outcome model; for the ATT it gives the same
    numbers as the estimators' own code (``tests/test_estimands.py``).

    Parameters
    ----------
    estimator : Estimator
        Its options: ``estimand``, ``se``, and as it has them ``propensity``,
        ``clip``, ``trim``, ``outcome_model``, ``normalize``, ``interactions``,
        ``propensity_covariates``, ``outcome_covariates``.
    cohort : Cohort
    kind : {"ipw", "regression", "aipw", "ipwra"}

    Returns
    -------
    CounterfactualResults
        Other than the ATT every estimate is ``population=True``.

    Notes
    -----
    Below ``few_clusters`` clusters (``se="auto"``) the effect's interval is
    the wild cluster restricted (score) bootstrap's for every estimand: the
    effect is the weighted least-squares coefficient of the pure functions'
    working outcome (``Means.y_work``) on ``[1, T]`` with their weights
    (``Means.wls_weights``), the nuisance models in the scores' offsets (see
    :func:`~pbr_eval.estimators._outcome_se.working_regression`). Other than
    the ATT, the rate's standard error (``non_intervention_se``, which the
    population's intervals use) is widened by the same wild/CRV factor (see
    :func:`~pbr_eval.estimators._outcome_se.few_cluster_estimate`), and a note
    says so.
    """
    reject_panel(cohort, estimator.method)
    se, cl = resolve_se(estimator.se, cohort)
    estimand = estimator.estimand
    t, X = cohort.t, cohort.X
    info = base_info(cohort, estimator)
    interactions = getattr(estimator, "interactions", None)
    ps_cols = _columns(cohort, getattr(estimator, "propensity_covariates", None),
                       "propensity_covariates")
    out_cols = _columns(cohort, getattr(estimator, "outcome_covariates", None),
                        "outcome_covariates")
    Xo = X if out_cols is None else X[:, out_cols]
    out_names = (cohort.design_columns if out_cols is None
                 else [cohort.design_columns[j] for j in out_cols])
    Z = with_intercept(X if ps_cols is None else X[:, ps_cols])
    needs_ps = kind != "regression" or estimand == "ATO"
    prop = None
    phi_gamma: np.ndarray | None = None
    keep = np.ones(t.size, dtype=bool)
    if needs_ps:
        prop, phi_gamma = population_propensity(cohort, estimator.propensity, estimand,
                                     clip=getattr(estimator, "clip", None),
                                     trim=getattr(estimator, "trim", None), Z=Z,
                                     columns=ps_cols)
        keep = prop.keep
        w1, w0 = balancing_weights(estimand, prop.ps)[:2]
        w = np.where(t, w1, w0) * keep
        for grp in (t & keep, ~t & keep):
            w[grp] *= grp.sum() / w[grp].sum()
        if estimand == "ATT":
            note = overlap_warning(cohort, prop, w, estimator.method)
        else:
            note = _weight_warning(cohort, w, keep, estimator.method, estimand)
        if note:
            info["notes"].append(note)
        clip_trim_info(prop, info, estimator.method)
    else:
        w = np.ones(t.size)
    ps_kw: dict[str, Any] = {}
    if prop is not None:
        ps_kw = {"Z": Z, "phi_gamma": phi_gamma, "free": prop.free, "keep": keep}
    nuisance = {"ipw": ["propensity score"], "regression": ["outcome model"]}.get(
        kind, ["propensity score", "outcome model"])
    estimates = []
    families: dict[str, str] = {}
    wild = uses_wild(estimator.se, cl, getattr(estimator, "few_clusters", 0))
    few: dict[str, dict[str, Any]] = {}
    seed = getattr(estimator, "seed", None)
    streams = wild_streams(seed, len(cohort.outcomes))
    for name, stream in zip(cohort.outcomes, streams, strict=True):
        otype = cohort.outcome_types[name]
        y = cohort.y(name)
        means: Means
        if kind == "ipw":
            assert prop is not None
            means = weighting_means(y, t, prop.ps, estimand, **ps_kw)
        else:
            model = resolve_outcome_model(estimator.outcome_model, otype)
            if kind == "regression" and interactions is not None:
                inter = interaction_columns(cohort, interactions)
                if out_cols is not None:  # positions within the outcome design
                    inter = np.flatnonzero(np.isin(out_cols, inter))
                means = pooled_gcomp_means(y, t, Xo, model, estimand, keep=keep,
                                           interactions=inter, names=out_names)
            elif kind == "aipw":
                assert prop is not None
                means = aipw_means(y, t, Xo, prop.ps, model, estimand,
                                   normalize=estimator.normalize, names=out_names, **ps_kw)
            else:
                means = gcomp_means(y, t, Xo, model, estimand,
                                    e=None if prop is None else prop.ps,
                                    weighted=kind == "ipwra", names=out_names, **ps_kw)
            families[name] = means.fits[0].family
        analytic = means.analytic and (prop is None or phi_gamma is not None)
        noise = None
        if estimand == "ATT":
            noise = _att_noise(kind, means, Xo, y, t, keep,
                               None if prop is None else prop.odds, otype, out_names)
        e = outcome_estimate(
            name, otype, means.mu0, means.mu1, means.phi0, means.phi1, cluster=cl,
            n_treated=int((t & keep & (w > 0)).sum()),
            n_comparison=int((~t & keep & (w > 0)).sum()), naive=float(y[~t].mean()),
            se_method=se_description(se, nuisance, analytic), noise=noise)
        if estimand != "ATT":
            e = dataclasses.replace(e, population=True)
        if wild and means.y_work is not None and means.wls_weights is not None:
            assert cl is not None
            tk = t & keep
            e, few[name] = few_cluster_estimate(
                e, means.y_work, tk, np.where(tk, 0.0, means.wls_weights), means.phi1 - means.phi0,
                cl, few_clusters=estimator.few_clusters, seed=stream, noise=noise,
                treated_weights=np.where(tk, means.wls_weights, 0.0))
        estimates.append(e)
    note_few_clusters(info, few, getattr(estimator, "few_clusters", 0))
    if estimand != "ATT" and any(r.get("used") for r in few.values()):
        info["notes"].append(
            f"Estimand {estimand} with few clusters: the interval of the rate without the "
            "programme is the cluster-robust one widened by the same factor as the effect's "
            "(the wild bootstrap's over the cluster-robust standard error).")
    if estimand != "ATT":
        info["notes"].append(
            f"Estimand {estimand}: the rates are for {POPULATION[estimand]}. 'Observed' is the "
            "estimated rate with the programme for that population (not an observed rate), and "
            "the intervals are for the population's expected rates.")
    if interactions is not None:
        info["notes"].append(
            "One outcome model fitted on both groups with a treatment indicator"
            + (f" and its interactions with {', '.join(interactions)}" if interactions else "")
            + " (standardisation).")
    balance = BalanceTable(X, cohort.design_columns, t, w, cohort.binary_columns,
                           estimand="ATE" if estimand == "ATO" else estimand)
    info.update({"estimand": estimand, "se": se,
                 "effective_sample_size": balance.effective_sample_size()})
    if prop is not None:
        info["propensity_model"] = prop.model
    if ps_cols is not None:
        info["propensity_design"] = [cohort.design_columns[j] for j in ps_cols]
    if out_cols is not None:
        info["outcome_design"] = out_names
    if families:
        info["outcome_models"] = families
    return CounterfactualResults(
        method=estimator.method, estimand=estimand, estimates=estimates,
        weights=weights_series(cohort, w), balance=balance, info=info,
        extras={} if prop is None else {"propensity": prop},
    )
