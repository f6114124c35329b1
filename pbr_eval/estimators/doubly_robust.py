"""Doubly robust estimators of the non-intervention rate of the treated: augmented IPW (``"aipw"``) and IPW regression adjustment (``"ipwra"``).

Both are consistent when either the propensity model or the outcome model
is correctly specified.

References
----------
Robins, J. M., Rotnitzky, A. & Zhao, L. P. (1994). Estimation of regression
coefficients when some regressors are not always observed. JASA 89, 846-866.
Wooldridge, J. M. (2007). Inverse probability weighted estimation for
general missing data problems. Journal of Econometrics 141, 1281-1301.
Moodie, E. E. M., Saarela, O. & Stephens, D. A. (2018). A doubly robust
weighting estimator of the average treatment effect on the treated. Stat 7, e205.
Sant'Anna, P. H. C. & Zhao, J. (2020). Doubly robust difference-in-differences
estimators. Journal of Econometrics 219(1), 101-122.
"""

from __future__ import annotations

import inspect
from abc import abstractmethod
from collections.abc import Sequence
from typing import Any

import numpy as np

from pbr_eval.cohort import Cohort
from pbr_eval.diagnostics.balance import BalanceTable
from pbr_eval.estimators._att import (
    att_weighting_setup,
    check_bounds,
    covariate_list,
    se_description,
    weighting_propensity,
)
from pbr_eval.estimators._outcome_se import (
    CohortNoise,
    few_cluster_estimate,
    noise_terms,
    note_few_clusters,
    outcome_estimate,
    regression_y_weights,
    uses_wild,
    wild_streams,
)
from pbr_eval.estimators._population import fit_population, uses_population_path
from pbr_eval.estimators.base import Estimator, register, weights_series
from pbr_eval.estimators.crossfit import fit_crossfit
from pbr_eval.estimators.regression import regression_att, regression_parts
from pbr_eval.exceptions import OptionError
from pbr_eval.inference.design import Factor, design_product_blocks, design_rmatvecs
from pbr_eval.inference.influence import CoefficientInfluence
from pbr_eval.models.glm import canonical_slope
from pbr_eval.models.outcome import (
    OutcomeFit,
    check_outcome_model,
    fit_outcome,
    predict_outcomes,
    resolve_outcome_model,
)
from pbr_eval.options import FEW_CLUSTERS, WEIGHTING_SE, WeightingSE, check_choice, check_int
from pbr_eval.results.counterfactual import CounterfactualResults

__all__ = ["AugmentedIPW", "IPWRegressionAdjustment", "aipw_att"]


def aipw_att(
    y: np.ndarray,
    t: np.ndarray,
    X: np.ndarray,
    odds: np.ndarray,
    model: Any,
    *,
    keep: np.ndarray | None = None,
    Z: np.ndarray | None = None,
    phi_gamma: CoefficientInfluence | None = None,
    free: np.ndarray | None = None,
    names: list[str] | None = None,
) -> tuple[float, float, np.ndarray, np.ndarray, bool]:
    """Augmented IPW (normalised) for E[Y(0) | treated], with its influence function.

    Returns
    -------
    mu0, mu1, phi0, phi1, analytic
        ``analytic`` is False when a scikit-learn outcome model was used
        (its estimation is then not in the influence function).

    Notes
    -----
    ``mu0 = (1/n1) sum_t m0(x_i) + sum_c o_i (y_i - m0(x_i)) / sum_c o_i``
    with ``m0`` fitted (unweighted) on the comparison group and
    ``o = ps / (1 - ps)``: regression adjustment plus the odds-weighted mean
    residual of the comparison group. Write ``mu0 = A + C``; then
    ``phi_A`` is the regression-adjustment influence and
    ``phi_C_i = [(1 - t_i) o_i (y_i - m_i - C) + phi_gamma_i' Gc - phi_beta_i' Bc] / sum_c o``
    with ``Gc = sum_c o_i (y_i - m_i - C) z_i`` and ``Bc = sum_c o_i v_i z_i``.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0.], [1.], [0.], [1.], [0.], [1.]])
    >>> t = np.array([True, True, False, False, False, False])
    >>> y = np.array([5., 6., 1., 3., 1., 3.])
    >>> mu0, mu1, *_ = aipw_att(y, t, X, np.ones(6), "linear")
    >>> round(mu0, 12), mu1
    (2.0, 5.5)
    """
    mu0, mu1, phi0, phi1, fit, _, _ = _aipw(y, t, X, odds, model, keep=keep, Z=Z,
                                            phi_gamma=phi_gamma, free=free, names=names)
    return mu0, mu1, phi0, phi1, fit.analytic


def _aipw(
    y: np.ndarray,
    t: np.ndarray,
    X: np.ndarray,
    odds: np.ndarray,
    model: Any,
    *,
    keep: np.ndarray | None,
    Z: np.ndarray | None = None,
    phi_gamma: CoefficientInfluence | None,
    free: np.ndarray | None,
    names: list[str] | None,
) -> tuple[float, float, np.ndarray, np.ndarray, OutcomeFit, np.ndarray, np.ndarray]:
    r""":func:`aipw_att`, also returning the outcome fit, its predictions for every row and the weight :math:`c_j = \partial\hat\mu_0/\partial y_j` of each comparison outcome: :math:`c_j = z_j' H^{-1}(D - B_c/S) + o_j/S` (see :func:`aipw_att`; :math:`o_j/S` alone for a scikit-learn outcome model)."""
    return _aipw_all([y], t, X, odds, [model], keep=keep, phi_gamma=phi_gamma, free=free,
                     names=names)[0]


def _aipw_all(
    ys: Sequence[np.ndarray],
    t: np.ndarray,
    X: np.ndarray,
    odds: np.ndarray,
    models: Sequence[Any],
    *,
    keep: np.ndarray | None,
    phi_gamma: CoefficientInfluence | None,
    free: np.ndarray | None,
    names: list[str] | None,
) -> list[tuple[float, float, np.ndarray, np.ndarray, OutcomeFit, np.ndarray, np.ndarray]]:
    """:func:`_aipw` for several outcomes, their products with the design sharing reads of ``X``.

    The outcome models are fitted one by one; then every outcome's predictions come from
    one read of ``X`` (:func:`~pbr_eval.models.outcome.predict_outcomes`), every
    cross-product ``Z' r`` from one more (:func:`~pbr_eval.inference.design.design_rmatvecs`)
    and every product ``Z a`` (the propensity model's and the outcome model's terms of
    the influence function) from a third (``_finish``, which also does each outcome's last
    arithmetic block by block):
    three reads of ``X`` after the fits however many outcomes there are (the arithmetic of
    one outcome at a time otherwise, so the same values to rounding). ``free=None``: no
    score was clipped (all of ``free`` would be 1).
    """
    c = ~t if keep is None else ~t & keep
    fits = [fit_outcome(X, y, model, names=names, subset=c)
            for y, model in zip(ys, models, strict=True)]
    # (means only: each GLM's dm/deta and residuals are formed block by block where used)
    preds = predict_outcomes(X, fits, slopes=False)
    co = np.where(c, odds, 0.0)  # the comparison units' odds (the same values as c * odds)
    S = float(co.sum())
    parts = []
    # every cross-product with the design in one read of X: per outcome, the propensity
    # model's G = Z'(phiC free), and for the outcome model Bc = Z'(co v) and D = Z'(t v) / n1
    # (products formed block by block: no n-length temporaries)
    vectors: list[Factor | tuple[Factor, ...]] = []
    for y, model, fit, (m, v) in zip(ys, models, fits, preds, strict=True):
        g = regression_parts(y, t, X, model, keep=keep, names=names, fitted=(fit, m, v),
                             residuals=False)
        phiC = np.subtract(y, m)
        C = float(co @ phiC / S)
        phiC -= C
        phiC *= co  # co (y - m - C)
        slots: dict[str, int] = {}
        if phi_gamma is not None:  # (the product is taken before phiC is added to)
            slots["G"] = len(vectors)
            vectors.append(phiC if free is None else (phiC, free))
        if g.phi_beta is not None:
            # dm/deta of the canonical-link GLM, from the predictions already made (per block)
            def slope(rows: slice, family: str = fit.family, m: np.ndarray = m) -> np.ndarray:
                return canonical_slope(family, m[rows])

            slots["B"] = len(vectors)
            vectors += [(co, slope), (slope, g.treated)]
        parts.append((g, y, phiC, C, slots))
    sums = design_rmatvecs(X, vectors) if vectors else np.empty((0, X.shape[1] + 1))
    # every product Z a in one read of X: the propensity model's phi_gamma' G = e * Z (M G)
    # and the outcome model's Z h (below)
    cols: list[np.ndarray] = []
    forward: list[dict[str, int]] = []
    # (a dense influence matrix, as older callers pass, multiplies directly)
    direct = isinstance(phi_gamma, CoefficientInfluence) and phi_gamma.parent is None
    for g, _, phiC, _, slots in parts:
        at: dict[str, int] = {}
        if "G" in slots and direct:
            assert phi_gamma is not None
            at["G"] = len(cols)
            cols.append(phi_gamma.M @ sums[slots["G"]])
        elif "G" in slots:
            assert phi_gamma is not None
            phiC += phi_gamma.dot(sums[slots["G"]])
        if "B" in slots:
            assert g.phi_beta is not None
            Bc, D = sums[slots["B"]], sums[slots["B"] + 1] / g.n1
            # regression's term phi_beta' D and the residual mean's -phi_beta' Bc / S are
            # one product phi_beta' (D - Bc / S) = r * Z h, h = H^{-1}(D - Bc / S); Z h is
            # also the outcome model's part of each comparison outcome's weight in mu0
            at["B"] = len(cols)
            cols.append(g.phi_beta.M @ (D - Bc / S))  # (no parent: the fit is unweighted)
        forward.append(at)
    if parts:
        _finish(X, parts, forward, cols, phi_gamma, co, c, S)
    # (each outcome's phiC now holds its y_weights)
    return [(g.mu0 + C, g.mu1, g.phi0, g.phi1, g.fit, g.m, phiC) for g, _, phiC, C, _ in parts]


def _finish(X: np.ndarray,
            parts: list[tuple[Any, np.ndarray, np.ndarray, float, dict[str, int]]],
            forward: list[dict[str, int]], cols: list[np.ndarray],
            phi_gamma: CoefficientInfluence | None, co: np.ndarray, c: np.ndarray,
            S: float) -> None:
    """:func:`_aipw_all`'s last read of ``X``: the products ``Z a`` and each outcome's last arithmetic, block by block.

    Per block of rows: the products of the block with every coefficient vector of
    ``cols`` (one multiplication), then for each outcome ``phiC += e_gamma Z a_G``,
    ``phiC /= S``, ``phi0 += phiC`` and ``phi0 += r Z h`` (``r = c (y - m)``, formed
    here), and the comparison outcomes'
    weights ``co / S + c Z h`` written over ``phiC`` (no longer needed): the same
    arithmetic as on whole columns, with no ``n``-length temporary.
    """
    coef = np.column_stack(cols) if cols else np.zeros((X.shape[1] + 1, 0))
    for rows, P in design_product_blocks(X, coef):  # P: the block's Z a, every a
        for (g, y, phiC, _, _), at in zip(parts, forward, strict=True):
            pc = phiC[rows]
            if "G" in at:
                assert phi_gamma is not None
                pc += phi_gamma.e[rows] * P[:, at["G"]]
            pc /= S
            ph = g.phi0[rows]
            ph += pc
            np.divide(co[rows], S, out=pc)  # the weights: co / S (+ c Z h below)
            if "B" in at:
                zh = P[:, at["B"]]
                r = np.subtract(y[rows], g.m[rows], out=np.zeros(zh.shape), where=c[rows])
                ph += r * zh  # the outcome model's residuals c (y - m) times Z h
                pc += np.where(c[rows], zh, 0.0)


class _DoublyRobust(Estimator):
    """Shared options and fitting of the two doubly robust estimators."""

    def __init__(
        self,
        *,
        propensity: Any = "logit",
        outcome_model: Any = "auto",
        clip: float | tuple[float, float] | None = None,
        trim: float | tuple[float, float] | None = None,
        estimand: str = "ATT",
        se: WeightingSE = "auto",
        normalize: bool = True,
        propensity_covariates: Sequence[str] | str | None = None,
        outcome_covariates: Sequence[str] | str | None = None,
        few_clusters: int = FEW_CLUSTERS,
    ) -> None:
        self.few_clusters = check_int("few_clusters", few_clusters, minimum=0)
        self.propensity_covariates = covariate_list("propensity_covariates",
                                                    propensity_covariates)
        self.outcome_covariates = covariate_list("outcome_covariates", outcome_covariates)
        if not isinstance(normalize, (bool, np.bool_)):
            raise OptionError(f"`normalize` must be True or False; got {normalize!r}.")
        self.normalize = bool(normalize)
        self.propensity = weighting_propensity(propensity)
        self.outcome_model = check_outcome_model(outcome_model)
        self.clip = check_bounds("clip", clip)
        self.trim = check_bounds("trim", trim)
        self.estimand = check_choice("estimand", estimand, self.estimands)
        self.se = check_choice("se", se, self.se_kinds)

    @abstractmethod
    def _one(self, y: np.ndarray, cohort: Cohort, model: Any, prop: Any
             ) -> tuple[float, float, np.ndarray, np.ndarray, OutcomeFit, np.ndarray,
                   np.ndarray]:
        """Estimate for one outcome (each doubly robust estimator defines it).

        Returns ``mu0, mu1, phi0, phi1``, the outcome fit, its predictions
        for every row, and each comparison outcome's weight in ``mu0``.
        """

    def _all(self, ys: list[np.ndarray], cohort: Cohort, models: list[Any], prop: Any
             ) -> list[tuple[float, float, np.ndarray, np.ndarray, OutcomeFit, np.ndarray,
                             np.ndarray]]:
        """:meth:`_one` for every outcome (an estimator may share work between them)."""
        return [self._one(y, cohort, model, prop) for y, model in zip(ys, models, strict=True)]

    def fit(self, cohort: Cohort) -> CounterfactualResults:
        """Fit both nuisance models and estimate.

        Raises
        ------
        OptionError
            Panel cohort, an unsuitable outcome model, ``se="cluster"`` without a cluster.
        EstimationError
            Separation in either model (names the covariates), or trimming
            that leaves a group empty.
        """
        if uses_population_path(self):
            return fit_population(self, cohort, self.method)
        s = att_weighting_setup(self, cohort)
        t, prop, keep, w, info = s.t, s.prop, s.keep, s.w, s.info
        estimates = []
        wild = uses_wild(self.se, s.cluster, self.few_clusters)
        few: dict[str, dict[str, Any]] = {}
        seed = getattr(self, "seed", None)
        streams = wild_streams(seed, len(cohort.outcomes))
        c, tk = ~t & keep, t & keep
        models = [resolve_outcome_model(self.outcome_model, cohort.outcome_types[name])
                  for name in cohort.outcomes]
        ys = [cohort.y(name) for name in cohort.outcomes]
        fitted = self._all(ys, cohort, models, prop)
        # the unadjusted comparison mean of each outcome, summed in place (no gathered copy)
        untreated = ~t
        n0 = np.count_nonzero(untreated)
        for name, stream, y in zip(cohort.outcomes, streams, ys, strict=True):
            otype = cohort.outcome_types[name]
            # (each outcome's arrays freed after use)
            mu0, mu1, phi0, phi1, fit, m, y_weights = fitted.pop(0)
            v, dm = noise_terms(fit, m, y, c, otype)
            noise = CohortNoise(tk, c, y, m, v, y_weights, dm)
            est = outcome_estimate(
                name, otype, mu0, mu1, phi0, phi1, cluster=s.cluster, n_treated=s.n_treated,
                n_comparison=s.n_comparison, naive=float(np.sum(y, where=untreated) / n0),
                se_method=se_description(s.se, ["propensity score", "outcome model"],
                                         fit.analytic and prop.phi is not None),
                noise=noise)
            if wild:
                # the ATT: the treated units' mean residual minus the comparison units'
                # odds-weighted one (aipw; ipwra's is 0 by its weighted fit)
                assert s.cluster is not None
                est, few[name] = few_cluster_estimate(
                    est, y - m, tk, c * prop.odds, phi1 - phi0, s.cluster,
                    few_clusters=self.few_clusters, seed=stream, noise=noise)
            estimates.append(est)
        note_few_clusters(info, few, self.few_clusters)
        balance = BalanceTable(cohort.X, cohort.design_columns, t, w, cohort.binary_columns)
        info.update({"estimand": self.estimand, "propensity_model": prop.model, "se": s.se,
                     "effective_sample_size": balance.effective_sample_size()})
        return CounterfactualResults(
            method=self.method, estimand=self.estimand, estimates=estimates,
            weights=weights_series(cohort, w), balance=balance, info=info,
            extras={"propensity": prop},
        )


@register("aipw")
class AugmentedIPW(_DoublyRobust):
    """Augmented inverse-probability weighting: regression plus an odds-weighted mean residual; right when either model is.

    The regression-adjustment estimate plus the odds-weighted mean
    residual of the comparison group (see :func:`aipw_att`).

    Parameters
    ----------
    propensity : "logit" or scikit-learn classifier, default "logit"
    outcome_model : {"auto", "linear", "logistic", "poisson"} or scikit-learn estimator
        Fitted unweighted on the comparison group.
    clip, trim : float or (lo, hi), optional
        As for ``"ipw"``.
    estimand : {"ATT", "ATE", "ATC", "ATO"}, default "ATT"
        The population the rates are for (as for ``"ipw"``; see
        :func:`~pbr_eval.estimators.estimands.aipw_means`).
    se : {"auto", "robust", "cluster"}, default "auto"
    normalize : bool, default True
        Other than the ATT: divide each group's weighted residuals by the
        weights' sum (True) or by the population's size (False: Stata's
        ``teffects aipw`` and statsmodels' ``TreatmentEffect.aipw``, which
        ``tests/reference/nhefs/`` checks). The ATT is always normalised.
    propensity_covariates, outcome_covariates : list of str, optional
        The covariates of the treatment and outcome models (default: all the
        cohort's), as Stata ``teffects``' two variable lists; ``propensity``
        may also be ``"probit"`` (``teffects``' default).
    few_clusters : int, default :data:`pbr_eval.options.FEW_CLUSTERS` (30)
        With ``se="auto"``, a cohort ``cluster`` and fewer clusters than
        this, the effect's interval comes from the wild cluster restricted
        (score) bootstrap, for every estimand (as for ``"ipw"``; with
        ``cross_fit`` too, the out-of-fold predictions held fixed: see
        :func:`~pbr_eval.estimators.crossfit.fit_crossfit`); 0 never uses it.
        Its draws, when not all enumerated, are seeded by ``seed`` (0 when None).
    cross_fit : int, optional
        Cross-fitting with this many folds (ATT only): each fold's propensity
        score and comparison outcome come from models fitted on the other
        folds, so flexible scikit-learn learners give valid influence-function
        standard errors (DoubleML's ATTE score; see
        :func:`~pbr_eval.estimators.crossfit.fit_crossfit`). Scores are clipped
        to [0.01, 0.99] unless ``clip`` says otherwise.
    repetitions : int, default 1
        With ``cross_fit``: repeated splits, combined by the median rule.
    seed : int, optional
        With ``cross_fit``: the seed of the fold assignment.

    Notes
    -----
    statsmodels has no ATT version of AIPW, so this estimator is checked
    against the simulators' truth (with each model misspecified in turn)
    and against a bootstrap of its standard error.

    References
    ----------
    Robins, Rotnitzky & Zhao (1994); Moodie, Saarela & Stephens (2018);
    Sant'Anna & Zhao (2020), the cross-sectional ATT analogue.

    Examples
    --------
    >>> from pbr_eval import Cohort
    >>> from pbr_eval.datasets import load_reoffending
    >>> sim = load_reoffending()
    >>> res = AugmentedIPW().fit(Cohort(sim.data, **sim.cohort_args))
    >>> f = res.to_frame()
    >>> bool((f["non_intervention_ci_lower"] >= 0).all())
    True
    """

    family = "doubly_robust"
    phrase = "a weighted and regression-adjusted comparison group"
    estimands = ('ATT', 'ATE', 'ATC', 'ATO')
    se_kinds = WEIGHTING_SE
    validation_designs = ('reoffending',)

    def __init__(self, *, cross_fit: int | None = None, repetitions: int = 1,
                 seed: int | None = None, **options: Any) -> None:
        super().__init__(**options)
        self.cross_fit = None if cross_fit is None else check_int("cross_fit", cross_fit,
                                                                   minimum=2)
        self.repetitions = check_int("repetitions", repetitions, minimum=1)
        self.seed = seed
        if self.cross_fit is None:
            return
        if self.estimand != "ATT":
            raise OptionError(f"`cross_fit` estimates the ATT only; got estimand="
                              f"{self.estimand!r}. Use estimand='ATT' or cross_fit=None.")
        for name in ("trim", "propensity_covariates", "outcome_covariates"):
            if getattr(self, name) is not None:
                raise OptionError(f"`{name}` cannot be combined with cross_fit; got "
                                  f"{getattr(self, name)!r}. Leave it out, or use "
                                  "cross_fit=None.")

    def fit(self, cohort: Cohort) -> CounterfactualResults:
        """Fit both nuisance models and estimate (cross-fitted with ``cross_fit=K``).

        Raises
        ------
        OptionError
            Panel cohort, an unsuitable outcome model, ``se="cluster"`` without a
            cluster, fewer units (or clusters) than folds.
        EstimationError
            Separation in either model (names the covariates), trimming that
            leaves a group empty, or a learner that fails on a training fold.
        """
        if self.cross_fit is not None:
            return fit_crossfit(self, cohort)
        return super().fit(cohort)

    def _one(self, y: np.ndarray, cohort: Cohort, model: Any, prop: Any
             ) -> tuple[float, float, np.ndarray, np.ndarray, OutcomeFit, np.ndarray,
                        np.ndarray]:
        return self._all([y], cohort, [model], prop)[0]

    def _all(self, ys: list[np.ndarray], cohort: Cohort, models: list[Any], prop: Any
             ) -> list[tuple[float, float, np.ndarray, np.ndarray, OutcomeFit, np.ndarray,
                             np.ndarray]]:
        # every outcome's products with the design share reads of X; `free` is all 1
        # (so left out) when no score was clipped
        return _aipw_all(ys, cohort.t, cohort.X, prop.odds, models, keep=prop.keep,
                         phi_gamma=prop.phi, free=prop.free if prop.n_clipped else None,
                         names=cohort.design_columns)


# the options of AugmentedIPW, as get_params / option_names read them: the shared ones and its own
_SHARED = inspect.signature(_DoublyRobust.__init__).parameters.values()
_OWN = list(inspect.signature(AugmentedIPW.__init__).parameters.values())[1:4]
setattr(AugmentedIPW.__init__, "__signature__",  # noqa: B010
        inspect.Signature([*_SHARED, *_OWN], return_annotation=None))
AugmentedIPW.__init__.__annotations__ = {
    **_DoublyRobust.__init__.__annotations__,
    **{k: v for k, v in AugmentedIPW.__init__.__annotations__.items() if k != "options"}}


@register("ipwra")
class IPWRegressionAdjustment(_DoublyRobust):
    """IPW regression adjustment: an outcome model fitted with odds weights, averaged over the treated; right when either model is.

    The outcome model is fitted on the comparison group with ATT weights
    ``ps / (1 - ps)`` and its predictions averaged over the treated.

    Parameters
    ----------
    propensity : "logit" or scikit-learn classifier, default "logit"
    outcome_model : {"auto", "linear", "logistic", "poisson"} or scikit-learn estimator
        A scikit-learn estimator must accept ``sample_weight``.
    clip, trim : float or (lo, hi), optional
    estimand : {"ATT", "ATE", "ATC", "ATO"}, default "ATT"
        The population the rates are for (as for ``"ipw"``): each group's
        outcome model is fitted with its balancing weights and averaged over
        the population (Stata's ``teffects ipwra``; see
        :func:`~pbr_eval.estimators.estimands.gcomp_means`).
    se : {"auto", "robust", "cluster"}, default "auto"
    normalize : bool, default True
        Not used by ``ipwra`` (accepted for a common signature).
    propensity_covariates, outcome_covariates : list of str, optional
        The covariates of the treatment and outcome models (default: all the
        cohort's), as Stata ``teffects``' two variable lists; ``propensity``
        may also be ``"probit"`` (``teffects``' default).
    few_clusters : int, default :data:`pbr_eval.options.FEW_CLUSTERS` (30)
        As for ``"aipw"`` (draws seeded by 0 when not all enumerated).

    Notes
    -----
    With a linear outcome model this is statsmodels'
    ``TreatmentEffect.ipw_ra(effect_group=1)`` (Stata's
    ``teffects ipwra, atet``); standard errors stack the logistic score, the
    weighted outcome score and the mean equation (see
    :func:`pbr_eval.estimators.regression.regression_att`). With canonical
    links and an intercept it is doubly robust (Wooldridge 2007).

    References
    ----------
    Wooldridge (2007).

    Examples
    --------
    >>> from pbr_eval import Cohort
    >>> from pbr_eval.datasets import load_reoffending
    >>> sim = load_reoffending()
    >>> res = IPWRegressionAdjustment().fit(Cohort(sim.data, **sim.cohort_args))
    >>> res.method
    'ipwra'
    """

    family = "doubly_robust"
    phrase = "a weighted and regression-adjusted comparison group"
    estimands = ('ATT', 'ATE', 'ATC', 'ATO')
    se_kinds = WEIGHTING_SE
    validation_designs = ('reoffending',)

    def _one(self, y: np.ndarray, cohort: Cohort, model: Any, prop: Any
             ) -> tuple[float, float, np.ndarray, np.ndarray, OutcomeFit, np.ndarray,
                        np.ndarray]:
        mu0, mu1, phi0, phi1, fit, m, _ = regression_att(
            y, cohort.t, cohort.X, model, weights=prop.odds, keep=prop.keep,
            phi_gamma=prop.phi, free=prop.free, names=cohort.design_columns)
        c = ~cohort.t & prop.keep
        y_weights = regression_y_weights(fit, cohort.X, m, cohort.t & prop.keep, c,
                                         weights=prop.odds)
        return mu0, mu1, phi0, phi1, fit, m, y_weights
