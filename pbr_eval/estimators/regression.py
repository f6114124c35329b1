"""Regression adjustment (g-computation) for the non-intervention rate.

An outcome model is fitted on the comparison group and its predictions
averaged over the treated: the most direct estimate of what the treated
would have done without the programme.

References
----------
Imbens, G. W. (2004). Nonparametric estimation of average treatment effects
under exogeneity: a review. Review of Economics and Statistics 86(1), 4-29.
Robins, J. (1986). A new approach to causal inference in mortality studies
with a sustained exposure period. Mathematical Modelling 7, 1393-1512.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from pbr_eval.cohort import Cohort
from pbr_eval.diagnostics.balance import BalanceTable
from pbr_eval.estimators._att import covariate_list, reject_panel, resolve_se, se_description
from pbr_eval.estimators._outcome_se import (
    few_cluster_estimate,
    few_cluster_options,
    note_few_clusters,
    outcome_estimate,
    regression_noise,
    uses_wild,
    wild_streams,
)
from pbr_eval.estimators._overlap import range_warning
from pbr_eval.estimators._population import fit_population, uses_population_path
from pbr_eval.estimators.base import Estimator, base_info, register, weights_series
from pbr_eval.exceptions import OptionError
from pbr_eval.inference.design import design_gram, design_rmatvec
from pbr_eval.inference.influence import CoefficientInfluence, glm_coefficient_influence
from pbr_eval.models.outcome import (
    OutcomeFit,
    check_outcome_model,
    fit_outcome,
    resolve_outcome_model,
)
from pbr_eval.options import FEW_CLUSTERS, WEIGHTING_SE, WeightingSE, check_choice
from pbr_eval.results.counterfactual import CounterfactualResults

# regression_noise lives in _outcome_se (below _population, which needs it) and stays
# importable here
__all__ = ["RegressionAdjustment", "RegressionParts", "regression_att", "regression_parts",
           "regression_noise"]


def regression_att(
    y: np.ndarray,
    t: np.ndarray,
    X: np.ndarray,
    model: Any,
    *,
    weights: np.ndarray | None = None,
    keep: np.ndarray | None = None,
    Z: np.ndarray | None = None,
    phi_gamma: CoefficientInfluence | None = None,
    free: np.ndarray | None = None,
    names: list[str] | None = None,
) -> tuple[float, float, np.ndarray, np.ndarray, OutcomeFit, np.ndarray,
           CoefficientInfluence | None]:
    """G-computation of E[Y(0) | treated] and its influence function.

    Parameters
    ----------
    y, t, X : numpy.ndarray
        Outcome, treatment (bool) and covariates (no intercept).
    model : {"linear", "logistic", "poisson"} or scikit-learn estimator
    weights : numpy.ndarray, optional
        Comparison units' weights in the outcome fit (IPWRA uses the ATT
        odds ``ps / (1 - ps)``); they must be ``exp(z' gamma)`` when
        ``phi_gamma`` is given.
    keep : numpy.ndarray of bool, optional
        Rows used.
    Z : numpy.ndarray, optional
        Not used (the influences work on ``X``); accepted for older callers.
    phi_gamma : CoefficientInfluence, optional
        The propensity model's influence on its coefficients, so the
        influence accounts for estimated weights.
    free : numpy.ndarray, optional
        Not-clipped indicator.
    names : list of str, optional
        Covariate names for error messages.

    Returns
    -------
    mu0, mu1, phi0, phi1, fit, m, phi_beta
        Non-intervention and treated means, their influences, the outcome
        fit, its predictions for every row, and the influence on the outcome
        coefficients (``None`` for a scikit-learn model).

    Notes
    -----
    With a canonical-link GLM ``m(x) = g^{-1}(z' beta)`` fitted on the
    comparison group, ``mu0 = (1/n1) sum_t m(x_i)`` and
    ``phi0_i = t_i (m_i - mu0) / n1 + phi_beta_i' D``,
    ``D = (1/n1) sum_t v_i z_i``, ``v = dm/deta``;
    ``phi_beta_i = H^{-1} [(1 - t_i) w_i z_i (y_i - m_i) + B phi_gamma_i]``
    with ``B = sum_c w_i (y_i - m_i) z_i z_i'`` when ``w = exp(z' gamma)``.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0.], [1.], [0.], [1.], [0.], [1.]])
    >>> t = np.array([True, True, False, False, False, False])
    >>> y = np.array([5., 6., 1., 3., 1., 3.])
    >>> mu0, mu1, *_ = regression_att(y, t, X, "linear")
    >>> mu0, mu1
    (2.0, 5.5)
    """
    g = regression_parts(y, t, X, model, weights=weights, keep=keep, phi_gamma=phi_gamma,
                         free=free, names=names)
    phi0 = g.phi0
    if g.phi_beta is not None and g.v is not None:
        D = design_rmatvec(X, np.where(g.treated, g.v, 0.0)) / g.n1
        phi0 = phi0 + g.phi_beta.dot(D)
    return g.mu0, g.mu1, phi0, g.phi1, g.fit, g.m, g.phi_beta


@dataclass(frozen=True)
class RegressionParts:
    """G-computation's pieces before the outcome model's term of ``phi0`` (:func:`regression_parts`).

    Attributes
    ----------
    mu0, mu1 : float
        Non-intervention and treated means.
    phi0 : numpy.ndarray
        ``t_i (m_i - mu0) / n1``: the influence of ``mu0`` with the outcome coefficients
        known (:func:`regression_att` adds ``phi_beta' D``).
    phi1 : numpy.ndarray
        The influence of ``mu1``.
    fit : OutcomeFit
    m, v : numpy.ndarray
        Predictions and ``dm/deta`` (``v`` is None for a scikit-learn model).
    phi_beta : CoefficientInfluence or None
        The influence on the outcome coefficients.
    treated, comparison : numpy.ndarray of bool
        The rows used of each group.
    n1 : int
        Treated units used.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.array([True, False, False])
    >>> g = regression_parts(np.array([4.0, 1.0, 3.0]), t, np.array([[0.0], [0.0], [1.0]]), "linear")
    >>> type(g).__name__, g.n1, g.phi1.tolist()
    ('RegressionParts', 1, [0.0, 0.0, 0.0])
    """

    mu0: float
    mu1: float
    phi0: np.ndarray
    phi1: np.ndarray
    fit: OutcomeFit
    m: np.ndarray
    v: np.ndarray | None
    phi_beta: CoefficientInfluence | None
    treated: np.ndarray
    comparison: np.ndarray
    n1: int


def regression_parts(
    y: np.ndarray, t: np.ndarray, X: np.ndarray, model: Any, *,
    keep: np.ndarray | None = None, names: list[str] | None = None,
    weights: np.ndarray | None = None, phi_gamma: CoefficientInfluence | None = None,
    free: np.ndarray | None = None,
    fitted: tuple[OutcomeFit, np.ndarray, np.ndarray | None] | None = None,
    residuals: bool = True,
) -> RegressionParts:
    """Fit the outcome model and return g-computation's pieces (see :func:`regression_att`).

    The outcome model's term of ``phi0``, ``phi_beta' D``, is left to the caller, which
    can fold it into other terms sharing ``phi_beta`` (aipw: one product for two).

    Parameters
    ----------
    y, t, X, model, weights, keep, phi_gamma, free, names
        As for :func:`regression_att`.
    fitted : (OutcomeFit, numpy.ndarray, numpy.ndarray or None), optional
        The outcome model already fitted on the comparison rows, with its predictions
        and ``dm/deta`` for every row (aipw fits and predicts all outcomes first, so
        that their products with the design share reads of it; ``dm/deta`` may then be
        None).
    residuals : bool, default True
        False (unweighted fits only): ``phi_beta.e``, the residuals ``c (y - m)``, is left
        empty for a caller that forms it block by block (no ``n``-length array).

    Returns
    -------
    RegressionParts

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0.], [1.], [0.], [1.], [0.], [1.]])
    >>> t = np.array([True, True, False, False, False, False])
    >>> g = regression_parts(np.array([5., 6., 1., 3., 1., 3.]), t, X, "linear")
    >>> g.mu0, g.mu1, g.n1
    (2.0, 5.5, 2)
    """
    tk = t if keep is None else t & keep
    c = ~t if keep is None else ~t & keep
    n1 = int(np.count_nonzero(tk))
    # fitted on the comparison rows without copying them (the others get weight 0)
    if fitted is None:
        fit = fit_outcome(X, y, model, weights=weights, names=names, subset=c)
        m, v = fit.predict(X)
    else:
        fit, m, v = fitted
    mu0 = float(np.sum(m, where=tk) / n1)
    mu1 = float(np.sum(y, where=tk) / n1)
    phi0 = np.subtract(m, mu0, out=np.zeros(m.shape), where=tk)
    phi0 /= n1
    phi1 = np.subtract(y, mu1, out=np.zeros(y.shape), where=tk)
    phi1 /= n1
    phi_beta = None
    if fit.analytic and not residuals and weights is None and phi_gamma is None:
        info = fit.information
        assert info is not None
        phi_beta = glm_coefficient_influence(X, np.zeros(0), info)
    elif fit.analytic:
        r = np.subtract(y, m, out=np.zeros(y.shape), where=c)  # c (y - m)
        if weights is not None:
            r *= weights
        B = None
        if phi_gamma is not None:
            B = design_gram(X, r if free is None else r * free)
        info = fit.information
        assert info is not None
        phi_beta = glm_coefficient_influence(X, r, info, phi_gamma, B)
    return RegressionParts(mu0, mu1, phi0, phi1, fit, m, v, phi_beta, tk, c, n1)


@register("regression")
class RegressionAdjustment(Estimator):
    """Regression adjustment: predict each treated person's outcome from the comparison group; right when the outcome model is.

    Parameters
    ----------
    outcome_model : {"auto", "linear", "logistic", "poisson"} or scikit-learn estimator, default "auto"
        ``"auto"``: linear for continuous outcomes, logistic for binary ones
        (predictions stay in [0, 1]), Poisson for counts. A scikit-learn
        regressor (or classifier, for binary outcomes) is cloned and
        fitted on the comparison group; its estimation is then not
        reflected in the standard errors.
    estimand : {"ATT", "ATE", "ATC"}, default "ATT"
        The population the rates are for: the programme's participants,
        everyone, or the comparison group. Other than the ATT, a model is
        fitted on each group and both are averaged over the population (see
        :func:`~pbr_eval.estimators.estimands.gcomp_means`).
    se : {"auto", "robust", "cluster"}, default "auto"
    interactions : sequence of str, optional
        Fit one outcome model on both groups with a treatment indicator and
        its interactions with these covariates (``[]``: a common-slopes model),
        and average its predictions with the treatment set to 0 and 1
        ("standardisation", Hernan & Robins ch. 13; see
        :func:`~pbr_eval.estimators.estimands.pooled_gcomp_means`). Default:
        separate models per group (the ATT: the comparison group's only).
    outcome_covariates : list of str, optional
        The covariates of the outcome model (default: all the cohort's),
        Stata ``teffects``' outcome-model variable list.
    few_clusters : int, default :data:`pbr_eval.options.FEW_CLUSTERS` (30)
        With ``se="auto"``, a cohort ``cluster`` and fewer clusters than
        this, the effect's interval comes from the wild cluster restricted
        (score) bootstrap, for every estimand (as for ``"ipw"``); 0 never uses it.
    seed : int, default 0
        Seed of the wild bootstrap's draws when they are not all enumerated; None is 0.

    Notes
    -----
    ``mu0 = (1/n1) sum_{treated} m0(x_i)`` with ``m0`` fitted on the
    comparison group (see :func:`regression_att` for the influence
    function). Consistent when the outcome model is correctly specified;
    it extrapolates silently where the groups do not overlap, so read the
    balance table (here the unadjusted one: regression does not weight).
    With a linear model it equals statsmodels'
    ``TreatmentEffect.ra(effect_group=1)``.

    References
    ----------
    Imbens (2004); Robins (1986).

    Examples
    --------
    >>> from pbr_eval import Cohort
    >>> from pbr_eval.datasets import load_reoffending
    >>> sim = load_reoffending()
    >>> res = RegressionAdjustment().fit(Cohort(sim.data, **sim.cohort_args))
    >>> res.to_frame()["outcome"].tolist()
    ['reoffended', 'reconviction_events']
    """

    family = "regression"
    phrase = "a comparison group (regression-adjusted)"
    estimands = ('ATT', 'ATE', 'ATC')
    se_kinds = WEIGHTING_SE
    validation_designs = ('reoffending',)

    def __init__(
        self,
        *,
        outcome_model: Any = "auto",
        estimand: str = "ATT",
        se: WeightingSE = "auto",
        interactions: Sequence[str] | None = None,
        outcome_covariates: Sequence[str] | str | None = None,
        few_clusters: int = FEW_CLUSTERS,
        seed: int | None = 0,
    ) -> None:
        self.few_clusters, self.seed = few_cluster_options(few_clusters, seed)
        self.outcome_covariates = covariate_list("outcome_covariates", outcome_covariates)
        self.outcome_model = check_outcome_model(outcome_model)
        self.estimand = check_choice("estimand", estimand, self.estimands)
        self.se = check_choice("se", se, self.se_kinds)
        if interactions is not None and (isinstance(interactions, str) or not all(
                isinstance(c, str) for c in interactions)):
            raise OptionError("`interactions` must be a list of covariate names (or [] for a "
                              f"common-slopes model); got {interactions!r}.")
        self.interactions = None if interactions is None else tuple(interactions)

    def fit(self, cohort: Cohort) -> CounterfactualResults:
        """Fit the outcome models and estimate.

        Raises
        ------
        OptionError
            Panel cohort, an outcome model unsuited to the outcome type, or
            ``se="cluster"`` without a cluster.
        EstimationError
            A singular or separated outcome model (names the covariates).
        """
        if uses_population_path(self):
            return fit_population(self, cohort, "regression")
        reject_panel(cohort, self.method)
        se, cl = resolve_se(self.se, cohort)
        t = cohort.t
        X = cohort.X
        estimates = []
        families = {}
        wild = uses_wild(self.se, cl, self.few_clusters)
        few: dict[str, dict[str, Any]] = {}
        streams = wild_streams(self.seed, len(cohort.outcomes))
        for name, stream in zip(cohort.outcomes, streams, strict=True):
            otype = cohort.outcome_types[name]
            model = resolve_outcome_model(self.outcome_model, otype)
            y = cohort.y(name)
            mu0, mu1, phi0, phi1, fit, m, _ = regression_att(
                y, t, X, model, names=cohort.design_columns)
            families[name] = fit.family
            noise = regression_noise(fit, X, y, m, t, ~t, otype)
            est = outcome_estimate(
                name, otype, mu0, mu1, phi0, phi1, cluster=cl, n_treated=cohort.n_treated,
                n_comparison=cohort.n_comparison, naive=float(y[~t].mean()),
                se_method=se_description(se, ["outcome model"], fit.analytic),
                noise=noise)
            if wild:
                # the comparison group's mean residual is 0 (a GLM with an intercept), so the
                # ATT is the treated units' mean residual minus the comparison units' one
                assert cl is not None
                est, few[name] = few_cluster_estimate(
                    est, y - m, t, (~t).astype(float), phi1 - phi0, cl,
                    few_clusters=self.few_clusters, seed=stream, noise=noise)
            estimates.append(est)
        w = np.ones(cohort.n)
        info = base_info(cohort, self)
        note_few_clusters(info, few, self.few_clusters)
        info.update({"estimand": self.estimand, "outcome_models": families, "se": se})
        info["notes"].append(
            "Regression adjustment does not weight units: the balance table shows the "
            "unadjusted groups, and the estimate relies on the outcome model where they differ."
        )
        note = range_warning(cohort, self.method)
        if note:
            info["notes"].append(note)
        balance = BalanceTable(X, cohort.design_columns, t, w, cohort.binary_columns)
        return CounterfactualResults(
            method=self.method, estimand=self.estimand, estimates=estimates,
            weights=weights_series(cohort, w), balance=balance, info=info,
        )
