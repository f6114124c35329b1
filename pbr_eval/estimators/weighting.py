"""Inverse-probability weighting for the non-intervention rate of the treated.

The ATT set-up it shares with the regression and doubly robust estimators
(propensity score, clipping/trimming, overlap checks, ``se=``) lives in
:mod:`~pbr_eval.estimators._att`, and the step from influence functions to
:class:`~pbr_eval.results.counterfactual.OutcomeEstimate` objects in
:mod:`~pbr_eval.estimators._outcome_se`; the public names among them are
re-exported here.

References
----------
Hirano, K., Imbens, G. W. & Ridder, G. (2003). Efficient estimation of average
treatment effects using the estimated propensity score. Econometrica 71(4),
1161-1189.
Lunceford, J. K. & Davidian, M. (2004). Stratification and weighting via the
propensity score in estimation of causal treatment effects. Statistics in
Medicine 23, 2937-2960.
Austin, P. C. & Stuart, E. A. (2015). Moving towards best practice when using
inverse probability of treatment weighting (IPTW) using the propensity score
to estimate causal treatment effects in observational studies. Statistics in
Medicine 34, 3661-3679.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from pbr_eval.cohort import Cohort
from pbr_eval.diagnostics.balance import BalanceTable
from pbr_eval.estimators._att import (
    AttPropensity,
    AttWeighting,
    att_propensity,
    att_weighting_setup,
    check_bounds,
    covariate_list,
    se_description,
    weighting_propensity,
)
from pbr_eval.estimators._outcome_se import (
    few_cluster_estimate,
    few_cluster_options,
    note_few_clusters,
    outcome_estimate,
    uses_wild,
    wild_streams,
    working_outcome_model,
)
from pbr_eval.estimators._population import fit_population, uses_population_path
from pbr_eval.estimators.base import Estimator, register, weights_series
from pbr_eval.inference.design import design_product_blocks, design_rmatvec, design_rmatvecs
from pbr_eval.inference.influence import CoefficientInfluence
from pbr_eval.options import FEW_CLUSTERS, WEIGHTING_SE, WeightingSE, check_choice
from pbr_eval.results.counterfactual import CounterfactualResults

# AttPropensity, att_propensity, AttWeighting, att_weighting_setup and
# working_outcome_model are defined in _att / _outcome_se and kept importable here
__all__ = ["InverseProbabilityWeighting", "ipw_att", "AttPropensity", "att_propensity",
           "AttWeighting", "att_weighting_setup", "working_outcome_model"]


# ------------------------------------------------------------- numbers
def ipw_att(
    y: np.ndarray,
    t: np.ndarray,
    odds: np.ndarray,
    *,
    keep: np.ndarray | None = None,
    Z: np.ndarray | None = None,
    phi_gamma: CoefficientInfluence | None = None,
    free: np.ndarray | None = None,
) -> tuple[float, float, np.ndarray, np.ndarray]:
    """Normalised ATT inverse-probability weighting and its influence functions.

    Parameters
    ----------
    y : numpy.ndarray
    t : numpy.ndarray of bool
    odds : numpy.ndarray
        ``ps / (1 - ps)``: the comparison units' weights.
    keep : numpy.ndarray of bool, optional
        Rows used (after trimming).
    Z : numpy.ndarray, optional
        Not used (``phi_gamma`` carries the design); accepted for older callers.
    phi_gamma : CoefficientInfluence, optional
        The logistic coefficients' influences; when given the influence
        accounts for the estimated score.
    free : numpy.ndarray, optional
        The not-clipped indicator (1 where the score moves with the model).

    Returns
    -------
    mu0, mu1 : float
        Non-intervention mean ``sum_c o_i y_i / sum_c o_i`` and the treated mean.
    phi0, phi1 : numpy.ndarray
        Their influence functions (``mu_hat - mu ~= sum_i phi_i``).

    Notes
    -----
    The estimating equations are the logistic score
    ``z_i (t_i - p_i)``, ``(1 - t_i) o_i (y_i - mu0)`` and
    ``t_i (y_i - mu1)`` with ``o_i = p_i / (1 - p_i) = exp(z_i' gamma)``.
    Linearising the second in ``gamma`` gives
    ``phi0_i = [(1 - t_i) o_i (y_i - mu0) + phi_gamma_i' G] / sum_c o``
    with ``G = sum_c o_i (y_i - mu0) z_i`` (unclipped units only).

    Examples
    --------
    >>> import numpy as np
    >>> t = np.array([True, True, False, False])
    >>> mu0, mu1, _, _ = ipw_att(np.array([1., 0, 1, 0]), t, np.array([1, 1, 3, 1.]))
    >>> mu0, mu1
    (0.75, 0.5)
    """
    return _ipw_all([y], t, odds, keep=keep, phi_gamma=phi_gamma, free=free)[0]


def _ipw_all(
    ys: Sequence[np.ndarray],
    t: np.ndarray,
    odds: np.ndarray,
    *,
    keep: np.ndarray | None,
    phi_gamma: CoefficientInfluence | None,
    free: np.ndarray | None,
) -> list[tuple[float, float, np.ndarray, np.ndarray]]:
    """:func:`ipw_att` for several outcomes, their propensity terms from one read of the design each way.

    Every outcome's ``G = Z'(phi0 free)`` comes from one blocked read of the design
    (:func:`~pbr_eval.inference.design.design_rmatvecs`) and every ``phi_gamma' G`` from
    one more (:func:`~pbr_eval.inference.design.design_product_blocks`, which also
    divides by the odds' sum block by block): two reads however many outcomes, the
    arithmetic of :func:`ipw_att` otherwise (the same values to rounding).
    """
    # as few full-length passes and temporaries as the sums allow (the same values as
    # c * odds etc.: only the order of the sums' rounding differs)
    tk = t if keep is None else t & keep  # the treated units used
    co = np.where(t if keep is None else t | ~keep, 0.0, odds)  # comparison units' odds
    n1 = np.count_nonzero(tk)
    S = float(co.sum())
    means, phis = [], []
    for y in ys:
        mu0 = float(co @ y / S)
        means.append((mu0, float(np.sum(y, where=tk) / n1)))
        phi0 = np.subtract(y, mu0)
        phi0 *= co
        phis.append(phi0)
    if phis and isinstance(phi_gamma, CoefficientInfluence) and phi_gamma.parent is None:
        sums = design_rmatvecs(phi_gamma.X, [phi0 if free is None else (phi0, free)
                                             for phi0 in phis])
        A = np.column_stack([phi_gamma.M @ G for G in sums])
        for rows, P in design_product_blocks(phi_gamma.X, A):  # P: the block's Z M G
            e = phi_gamma.e[rows]
            for j, phi0 in enumerate(phis):
                block = phi0[rows]
                block += e * P[:, j]  # phi_gamma' G
                block /= S
    else:
        for phi0 in phis:
            if phi_gamma is not None:  # (an influence with a parent: its own products)
                G = design_rmatvec(phi_gamma.X, phi0 if free is None else phi0 * free)
                phi0 += phi_gamma.dot(G)
            phi0 /= S
    out = []
    for y, (mu0, mu1), phi0 in zip(ys, means, phis, strict=True):
        phi1 = np.subtract(y, mu1, out=np.zeros(y.shape), where=tk)
        phi1 /= n1
        out.append((mu0, mu1, phi0, phi1))
    return out


@register("ipw")
class InverseProbabilityWeighting(Estimator):
    """Inverse-probability weighting: comparison units weighted by the odds ``ps / (1 - ps)``; right when the propensity model is.

    The non-intervention rate is the weighted mean outcome of the
    comparison group with ATT weights ``ps / (1 - ps)`` (normalised: the
    weights are divided by their sum; :attr:`~CounterfactualResults.weights`
    shows them scaled to sum to the number of treated units).

    Parameters
    ----------
    propensity : "logit", "probit" or scikit-learn classifier, default "logit"
        Main-effects logistic (or probit: Stata ``teffects``' default)
        regression on the cohort's covariates, or a classifier (cloned and
        fitted; its estimation is then not reflected in the standard errors).
    clip : float or (lo, hi), optional
        Clip scores to ``[lo, hi]`` (a number ``a`` means ``(a, 1 - a)``);
        the number clipped is reported in ``info["n_clipped"]``.
    trim : float or (lo, hi), optional
        Leave out units whose score is outside ``[lo, hi]``; counts in
        ``info["dropped"]``. Trimming treated units changes the estimand.
    estimand : {"ATT", "ATE", "ATC", "ATO"}, default "ATT"
        The population the rates are for: the programme's participants, everyone,
        the comparison group, or the overlap population (weights ``e(1 - e)``:
        people who could plausibly have been in either group). Other than the
        ATT, weights are ``h / e`` (treated) and ``h / (1 - e)`` (comparison)
        (see :mod:`pbr_eval.estimators.estimands`).
    se : {"auto", "robust", "cluster"}, default "auto"
        ``"auto"``: cluster-robust when the cohort has a ``cluster``, else robust;
        below ``few_clusters`` clusters the effect's interval is the wild
        cluster bootstrap's.
    propensity_covariates : list of str, optional
        The covariates of the propensity model (default: all the cohort's),
        Stata ``teffects``' treatment-model variable list.
    few_clusters : int, default :data:`pbr_eval.options.FEW_CLUSTERS` (30)
        With ``se="auto"``, a cohort ``cluster`` and fewer clusters than
        this, the effect's interval comes from the wild cluster restricted
        (score) bootstrap (see
        :func:`~pbr_eval.estimators._outcome_se.few_cluster_estimate`), for
        every estimand: for the ATE, ATC and ATO the effect is the weighted
        difference in means with treated weights ``h / e`` (see
        :func:`~pbr_eval.estimators._outcome_se.working_regression`), and the
        rates' own intervals stay cluster-robust (a note says so); 0 never
        uses it. ``se="cluster"`` always gives the cluster-robust one.
    seed : int, default 0
        Seed of the wild bootstrap's draws when they are not all enumerated
        (more than 13 clusters); None is 0.

    Notes
    -----
    ``mu0 = sum_c o_i y_i / sum_c o_i`` with ``o_i = p_i / (1 - p_i)``,
    which estimates E[Y(0) | treated] when the propensity model is right
    and every treated person has comparable comparison people. Standard
    errors stack the logistic score with the mean equations (see
    :func:`ipw_att`), as statsmodels' ``TreatmentEffect.ipw(effect_group=1)``
    does; they are the SEs of the expected rate and effect
    (``to_frame(target="expected")``). The default intervals, for the
    cohort's own rate and effect, use ``cohort_std_error`` (see
    :func:`~pbr_eval.estimators._outcome_se.cohort_variance`), which needs the
    outcome's conditional mean and variance: IPW has no outcome model, so a working one (the default GLM
    for the outcome type, fitted on the comparison group) is used for that
    standard error only; the point estimate does not use it (see
    :func:`working_outcome_model`). For the ATE, ATC and ATO the estimates are
    the normalised (Hajek) weighted means of :func:`~pbr_eval.estimators.estimands.weighting_means`,
    as statsmodels' ``TreatmentEffect.ipw`` and Stata's ``teffects ipw``
    (checked against both on Hernan & Robins' NHEFS data: ATE 3.44 kg), with
    the intervals of the population's expected rates.

    References
    ----------
    Hirano, Imbens & Ridder (2003); Lunceford & Davidian (2004); Austin &
    Stuart (2015).

    Examples
    --------
    >>> from pbr_eval import Cohort
    >>> from pbr_eval.datasets import load_reoffending
    >>> sim = load_reoffending()
    >>> res = InverseProbabilityWeighting().fit(Cohort(sim.data, **sim.cohort_args))
    >>> round(float(res.to_frame()["non_intervention"].iloc[0]), 2)
    0.3
    """

    family = "weighting"
    phrase = "a weighted comparison group"
    estimands = ('ATT', 'ATE', 'ATC', 'ATO')
    se_kinds = WEIGHTING_SE
    validation_designs = ('reoffending',)

    def __init__(
        self,
        *,
        propensity: Any = "logit",
        clip: float | tuple[float, float] | None = None,
        trim: float | tuple[float, float] | None = None,
        estimand: str = "ATT",
        se: WeightingSE = "auto",
        propensity_covariates: Sequence[str] | str | None = None,
        few_clusters: int = FEW_CLUSTERS,
        seed: int | None = 0,
    ) -> None:
        self.few_clusters, self.seed = few_cluster_options(few_clusters, seed)
        self.propensity = weighting_propensity(propensity)
        self.propensity_covariates = covariate_list("propensity_covariates",
                                                    propensity_covariates)
        self.clip = check_bounds("clip", clip)
        self.trim = check_bounds("trim", trim)
        self.estimand = check_choice("estimand", estimand, self.estimands)
        self.se = check_choice("se", se, self.se_kinds)

    def fit(self, cohort: Cohort) -> CounterfactualResults:
        """Weight and estimate.

        Raises
        ------
        OptionError
            Panel cohort, or ``se="cluster"`` without a cluster.
        EstimationError
            Separation in the propensity model (names the covariates), or
            trimming that leaves a group empty.
        """
        if uses_population_path(self):
            return fit_population(self, cohort, "ipw")
        s = att_weighting_setup(self, cohort)
        t, prop, keep, w, info = s.t, s.prop, s.keep, s.w, s.info
        se_method = se_description(s.se, ["propensity score"], prop.phi is not None)
        estimates = []
        wild = uses_wild(self.se, s.cluster, self.few_clusters)
        few: dict[str, dict[str, Any]] = {}
        streams = wild_streams(self.seed, len(cohort.outcomes))
        trimmed = bool(prop.n_trimmed_treated or prop.n_trimmed_comparison)
        # what every outcome shares, once: the rows used and each comparison outcome's weight
        c = ~t & keep
        tk = t & keep
        co = np.where(c, prop.odds, 0.0)
        co /= co.sum()
        ys = [cohort.y(name) for name in cohort.outcomes]
        # every outcome's propensity terms from one read of X each way
        parts = _ipw_all(ys, t, prop.odds, keep=keep if trimmed else None,
                         phi_gamma=prop.phi, free=prop.free if prop.n_clipped else None)
        # the unadjusted comparison mean of each outcome, summed in place (no gathered copy)
        untreated = ~t
        n0 = np.count_nonzero(untreated)
        for name, stream, y in zip(cohort.outcomes, streams, ys, strict=True):
            mu0, mu1, phi0, phi1 = parts.pop(0)  # (each outcome's arrays freed after use)
            otype = cohort.outcome_types[name]
            noise = working_outcome_model(cohort.X, y, tk, c, otype, co, cohort.design_columns)
            est = outcome_estimate(
                name, otype, mu0, mu1, phi0, phi1, cluster=s.cluster,
                n_treated=s.n_treated, n_comparison=s.n_comparison, naive=float(np.sum(y, where=untreated) / n0),
                se_method=se_method, noise=noise)
            if wild:
                assert s.cluster is not None
                est, few[name] = few_cluster_estimate(
                    est, y, tk, c * prop.odds, phi1 - phi0, s.cluster,
                    few_clusters=self.few_clusters, seed=stream, noise=noise)
            estimates.append(est)
        note_few_clusters(info, few, self.few_clusters)
        balance = BalanceTable(cohort.X, cohort.design_columns, t, w, cohort.binary_columns,
                               estimand="ATT")
        ess = balance.effective_sample_size()
        info.update({"estimand": self.estimand, "propensity_model": prop.model, "se": s.se,
                     "effective_sample_size": ess})
        return CounterfactualResults(
            method=self.method, estimand=self.estimand, estimates=estimates,
            weights=weights_series(cohort, w), balance=balance, info=info,
            extras={"propensity": prop},
        )
