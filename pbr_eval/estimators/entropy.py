"""Entropy balancing (Hainmueller 2012): comparison weights that match the treated group's covariate means (and optionally variances) exactly.

References
----------
Hainmueller, J. (2012). Entropy balancing for causal effects: a multivariate
reweighting method to produce balanced samples in observational studies.
Political Analysis 20(1), 25-46.
Zhao, Q. & Percival, D. (2017). Entropy balancing is doubly robust. Journal of
Causal Inference 5(1).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from scipy import optimize

from pbr_eval.cohort import Cohort
from pbr_eval.diagnostics.balance import BalanceTable
from pbr_eval.estimators import _outcome_se
from pbr_eval.estimators._att import reject_panel, resolve_se
from pbr_eval.estimators._outcome_se import outcome_estimate, working_outcome_model
from pbr_eval.estimators.base import Estimator, base_info, register, weights_series
from pbr_eval.exceptions import InfeasibleBalanceError
from pbr_eval.inference.design import design_gram, row_blocks
from pbr_eval.options import (
    ENTROPY_MOMENTS,
    FEW_CLUSTERS,
    WEIGHTING_SE,
    WeightingSE,
    check_choice,
)
from pbr_eval.results.counterfactual import CounterfactualResults

__all__ = ["EntropyBalancing", "balance_constraints", "balance_jacobian_pinv", "entropy_weights"]

#: Largest standardised imbalance accepted as "balanced" after the solve.
BALANCE_TOL = 1e-8


def balance_constraints(
    X: np.ndarray, t: np.ndarray, names: list[str], binary: list[str], moments: str
) -> tuple[np.ndarray, list[str]]:
    """Return the columns whose treated means are matched.

    ``"mean"``: the design columns. ``"variance"``: also
    ``(x - mean_treated(x))^2`` for every non-binary column, so the
    comparison group's weighted variance (population form) matches the treated's.
    """
    cols = [X]
    labels = list(names)
    if moments == "variance":
        m1 = X[t].mean(axis=0)
        extra = [j for j, nm in enumerate(names) if nm not in set(binary)]
        if extra:
            cols.append((X[:, extra] - m1[extra]) ** 2)
            labels += [f"variance of {names[j]}" for j in extra]
    if len(cols) == 1:
        return X, labels  # the design itself: no copy
    return np.column_stack(cols), labels


def entropy_weights(
    C: np.ndarray, t: np.ndarray, labels: list[str], *, max_iter: int = 200
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Solve the entropy-balancing dual for ATT weights.

    Parameters
    ----------
    C : numpy.ndarray, shape (n, q)
        Constraint columns.
    t : numpy.ndarray of bool
    labels : list of str
        Names of the columns of ``C``, for error messages.

    Returns
    -------
    w : numpy.ndarray
        Comparison weights (summing to 1; zero for treated rows).
    lam : numpy.ndarray
        Dual solution on the standardised scale.
    D : numpy.ndarray
        Standardised constraint columns ``C / s``.
    tau : numpy.ndarray
        Standardised treated means.

    Raises
    ------
    InfeasibleBalanceError
        When the treated mean of a column lies outside (or on the edge of)
        the comparison group's range, or the solver cannot reach balance;
        the message names the columns.

    Notes
    -----
    Without constraint columns (a cohort without covariates) the weights are
    equal: the estimate is the difference in means.
    Primal: minimise ``sum_c w_i log(w_i / q_i)`` subject to
    ``sum_c w_i c_i = tau`` and ``sum_c w_i = 1`` (uniform base weights
    ``q``). Dual: minimise ``log sum_c exp(lambda'(c_i - tau))``, smooth and
    convex with gradient the weighted imbalance and Hessian the weighted
    covariance; solved by ``scipy.optimize.minimize(method="trust-exact")``.
    The weights are ``w_i ~ exp(lambda' c_i)``.

    Examples
    --------
    >>> import numpy as np
    >>> C = np.array([[1.0], [2.0], [0.0], [1.0], [3.0], [4.0]])
    >>> t = np.array([True, True, False, False, False, False])
    >>> w, *_ = entropy_weights(C, t, ["x"])
    >>> round(float(w[~t] @ C[~t, 0]), 10)
    1.5
    """
    # Memory: one standardised copy D of the constraint columns (returned); the
    # comparison rows are selected by zero weights, never copied (at 10 million rows a
    # copy is 0.8 GB), and the sums over them run block by block.
    n, q = C.shape
    comparison = ~np.asarray(t, dtype=bool)
    if q == 0:  # nothing to balance (no covariates): equal weights, the difference in means
        return comparison / max(np.count_nonzero(comparison), 1), np.zeros(0), C, np.zeros(0)
    centre = C.mean(axis=0)
    sq = np.zeros(q)
    for rows in row_blocks(n):
        dev = C[rows] - centre
        sq += np.einsum("ij,ij->j", dev, dev)
    s = np.sqrt(sq / max(n, 1))
    s[s == 0] = 1.0
    D = C / s
    tau = D[t].mean(axis=0)
    lo = np.min(D, axis=0, where=comparison[:, None], initial=np.inf) - tau
    hi = np.max(D, axis=0, where=comparison[:, None], initial=-np.inf) - tau
    rng_ = hi - lo
    edge = (lo >= -1e-12 * np.maximum(rng_, 1)) | (hi <= 1e-12 * np.maximum(rng_, 1))
    if edge.any():
        bad = [labels[j] for j in np.flatnonzero(edge)]
        raise InfeasibleBalanceError(
            "Entropy balancing cannot match the treated mean of "
            + ", ".join(f"'{b}'" for b in bad[:6])
            + ": it lies outside (or on the edge of) the comparison group's range, so no "
            "positive weights reproduce it. Remove or coarsen those covariates, or widen the "
            "comparison pool."
        )

    # The solver asks for the value and gradient, then the Hessian, at the same lambda:
    # the weights of the last lambda are kept, so each lambda costs one pass for the
    # weights (one exp) and one for the gradient (and one Gram pass for the Hessian).
    last: dict[str, Any] = {}

    def weights(lam: np.ndarray) -> tuple[float, np.ndarray]:
        key = lam.tobytes()
        if last.get("key") != key:
            a = D @ lam
            a -= float(tau @ lam)
            a[~comparison] = -np.inf  # the treated rows get weight exp(-inf) = 0
            top = float(a.max()) if a.size else 0.0
            if not np.isfinite(top):
                top = 0.0
            e = np.exp(a - top, out=a)
            total = float(e.sum())
            e /= total
            last.update(key=key, lse=top + np.log(total), p=e)
        return last["lse"], last["p"]

    def imbalance(p: np.ndarray) -> np.ndarray:
        # sum over the comparison rows of p_i (d_i - tau) (p is 0 elsewhere)
        return D.T @ p - tau * float(p.sum())

    def fun(lam: np.ndarray) -> tuple[float, np.ndarray]:
        lse, p = weights(lam)
        return float(lse), imbalance(p)

    ones = np.ones(q)

    def hess(lam: np.ndarray) -> np.ndarray:
        p = weights(lam)[1]
        # over [1, D - tau], block by block: no n x q temporary
        H = design_gram(D, p, center=tau, scale=ones)
        return H[1:, 1:] - np.outer(H[0, 1:], H[0, 1:])

    q = D.shape[1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        sol = optimize.minimize(fun, np.zeros(q), jac=True, hess=hess, method="trust-exact",
                                options={"gtol": 1e-12, "maxiter": max_iter})
    lam = sol.x
    # Polish with damped Newton steps: trust-exact may stop at ~1e-8 of exact balance.
    f0, g0 = fun(lam)
    for _ in range(50):
        if np.abs(g0).max() < 1e-13 or not np.isfinite(f0):
            break
        try:
            step = np.linalg.solve(hess(lam), g0)
        except np.linalg.LinAlgError:
            break
        h = 1.0
        while h > 1e-10:
            f1, g1 = fun(lam - h * step)
            if f1 <= f0 + 1e-15 * abs(f0):
                break
            h /= 2
        lam, f0, g0 = lam - h * step, f1, g1
    p = weights(lam)[1]
    gap = np.abs(imbalance(p))
    if not np.all(np.isfinite(gap)) or gap.max() > BALANCE_TOL:
        order = np.argsort(-np.nan_to_num(gap, nan=np.inf))[:4]
        names = ", ".join(f"'{labels[j]}' ({gap[j]:.2g} SD)" for j in order if gap[j] > BALANCE_TOL)
        raise InfeasibleBalanceError(
            f"Entropy balancing found no weights that balance every moment; still imbalanced: "
            f"{names}. The treated group's combination of these covariates is not found in the "
            "comparison group. Drop or coarsen them, balance means only (moments='mean'), or "
            "widen the comparison pool."
        )
    return p.copy(), lam, D, tau  # p is 0 on the treated rows


def balance_jacobian_pinv(w: np.ndarray, D: np.ndarray, tau: np.ndarray) -> np.ndarray:
    """Return ``pinv(M)`` with ``M = sum_c w_i (d_i - tau) d_i'``, the balance equations' Jacobian.

    The same for every outcome of one set of weights: :func:`entropy_att` takes it
    once computed (one Gram pass over ``D`` per set of weights, not per outcome).

    Parameters
    ----------
    w : numpy.ndarray
        The comparison units' weights (zero for rows that are not comparison units).
    D : numpy.ndarray
        The balance columns, one row per unit.
    tau : numpy.ndarray
        The balance targets (the participants' means of the columns).

    Returns
    -------
    numpy.ndarray
        The pseudo-inverse of the Jacobian, one row and column per balance column.

    Examples
    --------
    >>> import numpy as np
    >>> D = np.array([[0.0], [1.0], [2.0]])
    >>> balance_jacobian_pinv(np.array([0.0, 0.5, 0.5]), D, np.array([1.5])).round(12).tolist()
    [[4.0]]
    """
    H = design_gram(D, w)  # [[sum w, w'D], [D'w, D'WD]]
    return np.linalg.pinv(H[1:, 1:] - np.outer(tau, H[0, 1:]))


def entropy_att(
    y: np.ndarray, t: np.ndarray, w: np.ndarray, D: np.ndarray, tau: np.ndarray,
    Minv: np.ndarray | None = None,
) -> tuple[float, float, np.ndarray, np.ndarray]:
    """Non-intervention and treated means with influences that include the weights' estimation.

    Notes
    -----
    Stacked equations: ``t_i (d_i - tau)`` (treated means),
    ``(1 - t_i) e_i (d_i - tau)`` (balance, ``e_i = exp(lambda' d_i)``),
    ``(1 - t_i) e_i (y_i - mu0)`` and ``t_i (y_i - mu1)``. With
    ``M = sum_c e_i (d_i - tau) d_i'`` and ``E = sum_c e_i``:
    ``phi_tau_i = t_i (d_i - tau) / n1``,
    ``phi_lambda_i = -M^{-1} [(1 - t_i) e_i (d_i - tau) - E phi_tau_i]``,
    ``phi_mu0_i = [(1 - t_i) e_i (y_i - mu0) + g' phi_lambda_i] / E`` with
    ``g = sum_c e_i (y_i - mu0) d_i`` (Zhao & Percival 2017 show the
    estimator is an M-estimator). ``e`` is used normalised (``E = 1``).
    ``Minv`` is :func:`balance_jacobian_pinv` of the same weights (computed here
    when not given).
    """
    tf = t.astype(float)
    n1 = tf.sum()
    mu1 = float(tf @ y / n1)
    mu0 = float(w @ y)
    # phi_lambda_i = -(w_i - t_i / n1) M^{-1} (d_i - tau), so phi_lambda' g needs only
    # (d_i - tau)' a with a = M^{-T} g: no n x q temporaries
    if Minv is None:
        Minv = balance_jacobian_pinv(w, D, tau)
    resid = w * (y - mu0)
    a = Minv.T @ (resid @ D)
    phi0 = resid - (D @ a - float(tau @ a)) * (w - tf / n1)
    phi1 = tf * (y - mu1) / n1
    return mu0, mu1, phi0, phi1


@register("entropy")
class EntropyBalancing(Estimator):
    """Entropy balancing: comparison weights matching the treated's covariate moments exactly; right when the outcome is linear in them or selection is logistic.

    Parameters
    ----------
    moments : {"mean", "variance"}, default "mean"
        Balance means, or means and variances (of non-binary covariates).
    estimand : {"ATT"}, default "ATT"
    se : {"auto", "robust", "cluster"}, default "auto"
        ``"auto"``: cluster-robust when the cohort has a ``cluster``, else robust;
        below ``few_clusters`` clusters the effect's interval is the wild
        cluster bootstrap's.
    few_clusters : int, default :data:`pbr_eval.options.FEW_CLUSTERS` (30)
        With ``se="auto"``, a cohort ``cluster`` and fewer clusters than
        this, the ATT's interval comes from the wild cluster restricted
        (score) bootstrap, as for ``"ipw"`` (the effect is the treated mean
        minus the entropy-weighted comparison mean, with the weights'
        estimation in the scores' offsets: see
        :func:`~pbr_eval.estimators._outcome_se.few_cluster_estimate`); 0 never
        uses it. ``se="cluster"`` always gives the cluster-robust one.
    seed : int, default 0
        Seed of the wild bootstrap's draws when they are not all enumerated
        (more than 13 clusters); None is 0.

    Notes
    -----
    The weights stay as close as possible (in Kullback-Leibler divergence)
    to uniform while matching the moments, so the balance table shows
    |SMD| of (numerically) zero on every balanced covariate. Read the
    effective sample size (``info["effective_sample_size"]``): exact
    balance bought with a few heavily weighted people is fragile. The
    standard errors include the estimation of the weights (see
    :func:`entropy_att`). The default intervals, for the cohort's own rate
    and effect, use ``cohort_std_error`` (see
    :func:`~pbr_eval.estimators._outcome_se.cohort_variance`), for which a
    working outcome model (the default GLM, fitted on the comparison group)
    supplies the outcome's conditional mean and variance; the point estimate
    does not use it. The estimator is consistent if the comparison
    group's outcome is linear in the balanced moments or the propensity
    score is logistic in them (Zhao & Percival 2017).

    References
    ----------
    Hainmueller (2012); Zhao & Percival (2017).

    Examples
    --------
    >>> from pbr_eval import Cohort
    >>> from pbr_eval.datasets import load_reoffending
    >>> sim = load_reoffending()
    >>> res = EntropyBalancing().fit(Cohort(sim.data, **sim.cohort_args))
    >>> bool(res.balance.max_abs_smd_after < 1e-6)
    True
    """

    family = "weighting"
    phrase = "a weighted comparison group"
    estimands = ('ATT',)
    se_kinds = WEIGHTING_SE
    validation_designs = ('reoffending',)

    def __init__(self, *, moments: str = "mean", estimand: str = "ATT", se: WeightingSE = "auto",
                 few_clusters: int = FEW_CLUSTERS, seed: int | None = 0) -> None:
        self.few_clusters, self.seed = _outcome_se.few_cluster_options(few_clusters, seed)
        self.moments = check_choice("moments", moments, ENTROPY_MOMENTS)
        self.estimand = check_choice("estimand", estimand, self.estimands)
        self.se = check_choice("se", se, self.se_kinds)

    def fit(self, cohort: Cohort) -> CounterfactualResults:
        """Solve for the weights and estimate.

        Raises
        ------
        InfeasibleBalanceError
            The moments cannot be balanced (names the covariates).
        OptionError
            Panel cohort, or ``se="cluster"`` without a cluster.
        """
        reject_panel(cohort, self.method)
        se, cl = resolve_se(self.se, cohort)
        t = cohort.t
        C, labels = balance_constraints(cohort.X, t, cohort.design_columns,
                                        cohort.binary_columns, self.moments)
        p, _, D, tau = entropy_weights(C, t, labels)
        n1 = int(t.sum())
        w = np.where(t, 1.0, p * n1)
        estimates = []
        Minv = balance_jacobian_pinv(p, D, tau)  # one pass for every outcome
        wild = _outcome_se.uses_wild(self.se, cl, self.few_clusters)
        few: dict[str, dict[str, Any]] = {}
        streams = _outcome_se.wild_streams(self.seed, len(cohort.outcomes))
        for name, stream in zip(cohort.outcomes, streams, strict=True):
            y = cohort.y(name)
            mu0, mu1, phi0, phi1 = entropy_att(y, t, p, D, tau, Minv)
            otype = cohort.outcome_types[name]
            noise = working_outcome_model(cohort.X, y, t, ~t, otype, p, cohort.design_columns)
            est = outcome_estimate(
                name, otype, mu0, mu1, phi0, phi1, cluster=cl,
                n_treated=n1, n_comparison=int((p[~t] > 0).sum()), naive=float(y[~t].mean()),
                se_method=("cluster-robust" if se == "cluster" else "robust (HC0)")
                + " influence-function, accounting for the estimated balancing weights",
                noise=noise)
            if wild:
                # the treated mean minus the entropy-weighted comparison mean
                assert cl is not None
                est, few[name] = _outcome_se.few_cluster_estimate(
                    est, y, t, p, phi1 - phi0, cl, few_clusters=self.few_clusters,
                    seed=stream, noise=noise)
            estimates.append(est)
        balance = BalanceTable(cohort.X, cohort.design_columns, t, w, cohort.binary_columns)
        ess = balance.effective_sample_size()
        info = base_info(cohort, self)
        _outcome_se.note_few_clusters(info, few, self.few_clusters)
        gap = np.abs(p @ C - C[t].mean(axis=0))  # p is 0 for the treated: no copy of C[~t]
        info.update({
            "estimand": self.estimand, "se": se, "moments": self.moments,
            "balanced_moments": labels,
            "max_abs_moment_gap": float(gap.max()) if gap.size else 0.0,
            "effective_sample_size": ess,
        })
        info["notes"].append(
            f"Entropy balancing: {len(labels)} moments matched exactly; the comparison group's "
            f"effective sample size is {ess['comparison']:,.0f} of {cohort.n_comparison:,}."
        )
        return CounterfactualResults(
            method=self.method, estimand=self.estimand, estimates=estimates,
            weights=weights_series(cohort, w), balance=balance, info=info,
        )
