"""IPW, regression adjustment, AIPW and IPWRA as map-reduce on a :class:`DistributedCohort`.

Every estimate and standard error of the in-memory estimators
(:mod:`pbr_eval.estimators.weighting`, ``regression``, ``doubly_robust``)
is a sum over rows once a few global constants are known, so each method is
two passes after its nuisance fits: the first reduces the sums that give
the means and the constants of the influence functions (``Z'(o (y - mu0))``,
``Z' diag(v) Z``, ...), the second the sums of squared influences (the
robust SE of the expected rate and effect) and of the cohort terms (the
cohort-target SE, :func:`pbr_eval.estimators._outcome_se.cohort_variance`).
The influence functions are those of the in-memory functions
(:func:`~pbr_eval.estimators.weighting.ipw_att`,
:func:`~pbr_eval.estimators.regression.regression_att`,
:func:`~pbr_eval.estimators.doubly_robust.aipw_att`), written per row:

``phi0_i = t_i (m_i - A)/n1 + r_i z_i'k + (t_i - p_i) z_i'h + c_i o_i (y_i - m_i - C)/S``

with ``m`` the outcome model's prediction (0 for IPW), ``A`` its mean over
the treated, ``r`` the outcome model's residual weight, ``k`` and ``h``
the outcome and propensity models' influence directions, ``C`` the
odds-weighted mean residual and ``S`` the sum of the comparison odds.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pbr_eval.cohort import DroppedRows
from pbr_eval.distributed.cohort import DistributedCohort, _combine
from pbr_eval.distributed.matching import fit_nearest_distributed
from pbr_eval.distributed.models import RowSelection, att_odds, glm_job, logit_job
from pbr_eval.distributed.passes import Job, blockwise, run_jobs
from pbr_eval.estimators._att import se_description
from pbr_eval.estimators.base import Estimator, base_info
from pbr_eval.exceptions import EstimationError, OptionError, OverlapWarning
from pbr_eval.models.outcome import FAMILY_FOR_TYPE, _inverse_link, resolve_outcome_model
from pbr_eval.models.propensity import PropensityScore, vanishing_note
from pbr_eval.options import SMD_THRESHOLD
from pbr_eval.results.balance import BalanceTable, balance_frame
from pbr_eval.results.counterfactual import CounterfactualResults, OutcomeEstimate

__all__ = ["DISTRIBUTED_METHODS", "fit_distributed"]


# ------------------------------------------------------------------ row helpers
def _Z(X: np.ndarray) -> np.ndarray:
    Z = np.empty((X.shape[0], X.shape[1] + 1))
    Z[:, 0] = 1.0
    Z[:, 1:] = X
    return Z


@dataclass(frozen=True)
class _Plan:
    """What the partition passes need to know (picklable: it travels to the workers)."""

    gamma: np.ndarray | None = None           # propensity coefficients (None: no weighting)
    clip: tuple[float, float] | None = None
    trim: tuple[float, float] | None = None
    params: tuple[Any, ...] = ()              # outcome model coefficients per outcome (or None)
    families: tuple[str, ...] = ()
    noise_params: tuple[Any, ...] = ()        # the cohort-SE outcome model per outcome (or None)
    noise_families: tuple[str, ...] = ()
    weighted_fit: bool = False                # outcome model fitted with the odds (IPWRA)
    c_part: bool = False                      # the odds-weighted residual term (IPW, AIPW)
    consts: Mapping[str, Any] = field(default_factory=dict)  # second-pass constants

    def prop(self, part: Mapping[str, Any]) -> dict[str, np.ndarray]:
        t = part["t"]
        n = t.size
        if self.gamma is None:
            one = np.ones(n)
            return {"keep": np.ones(n, bool), "odds": one, "free": one, "ps_raw": one}
        ps_raw, ps, free = att_odds(part, self.gamma, self.clip)
        keep = np.ones(n, bool)
        if self.trim is not None:
            keep = (ps_raw >= self.trim[0]) & (ps_raw <= self.trim[1])
        return {"keep": keep, "odds": ps / (1.0 - ps), "free": free, "ps_raw": ps_raw}


def _predict(X: np.ndarray, params: Any, family: str) -> tuple[np.ndarray, np.ndarray]:
    if params is None:
        z = np.zeros(X.shape[0])
        return z, z
    return _inverse_link(family, params[0] + X @ params[1:])


@blockwise
def _first_pass(part: Mapping[str, Any], plan: _Plan) -> dict[str, Any]:
    """Return the sums that give the means and the influence functions' constants."""
    X, t, Y = part["X"], part["t"], part["Y"]
    Z = _Z(X)
    pr = plan.prop(part)
    keep, odds, free = pr["keep"], pr["odds"], pr["free"]
    tk = (t & keep).astype(float)
    c = (~t & keep).astype(float)
    co = c * odds
    k = Y.shape[1]
    out: dict[str, Any] = {
        "n1": tk.sum(), "sum_ty": tk @ Y, "naive": (~t).astype(float) @ Y,
        "n0": float((~t).sum()), "S": co.sum(), "n_pos": float(((co > 0)).sum()),
        "n_trim_t": float((t & ~keep).sum()), "n_trim_c": float((~t & ~keep).sum()),
        "n_clipped": float((free == 0).sum()) if plan.gamma is not None else 0.0,
        "sum_tm": np.zeros(k), "sum_com": np.zeros(k), "D": np.zeros((Z.shape[1], k)),
        "G": np.zeros((Z.shape[1], k)), "G1": Z.T @ (co * free),
        "Bc": np.zeros((Z.shape[1], k)), "B": np.zeros((k, Z.shape[1], Z.shape[1])),
        "ss_lin": np.zeros(k), "ss_pois": np.zeros(k), "n_c": c.sum(),
        "tv_logit": np.zeros(k), "tv_pois": np.zeros(k), "bad_noise": np.zeros(k),
    }
    if plan.gamma is not None:
        v = pr["ps_raw"] * (1.0 - pr["ps_raw"])
        out["Hps"] = (Z * v[:, None]).T @ Z
        out["maxps"] = np.array([pr["ps_raw"][c > 0].max() if (c > 0).any() else -np.inf])
        out["maxw"] = np.array([co.max() if co.size else 0.0])
        out["sx1"], out["sx0"] = tk @ X, c @ X
        out["sxx1"] = tk @ (X * X)
    for j in range(k):
        y = Y[:, j]
        m, v = _predict(X, plan.params[j] if plan.params else None,
                        plan.families[j] if plan.families else "linear")
        if plan.params and plan.params[j] is not None:
            out["sum_tm"][j] = tk @ m
            out["D"][:, j] = Z.T @ (tk * v)
            if plan.weighted_fit:
                r = co * (y - m)
                out["B"][j] = (Z * (r * free)[:, None]).T @ Z
            if plan.c_part:
                out["Bc"][:, j] = Z.T @ (co * v)
        if plan.c_part:
            res = co * (y - m)
            out["sum_com"][j] = res.sum()
            out["G"][:, j] = Z.T @ (res * free)
        npar = plan.noise_params[j] if plan.noise_params else None
        if npar is not None:
            mn, _ = _predict(X, npar, plan.noise_families[j])
            cm = c > 0
            d = y[cm] - mn[cm]
            out["ss_lin"][j] = d @ d
            pos = mn[cm] > 0
            out["ss_pois"][j] = float((d[pos] ** 2 / mn[cm][pos]).sum())
            mc = np.clip(mn, 0.0, 1.0)
            out["tv_logit"][j] = tk @ (mc * (1.0 - mc))
            out["tv_pois"][j] = tk @ np.maximum(mn, 0.0)
            out["bad_noise"][j] = float((~np.isfinite(mn[tk > 0])).sum())
    return out


@blockwise
def _second_pass(part: Mapping[str, Any], plan: _Plan) -> dict[str, Any]:
    """Return the sums of squared influences and of the cohort terms."""
    X, t, Y = part["X"], part["t"], part["Y"]
    Z = _Z(X)
    pr = plan.prop(part)
    keep, odds = pr["keep"], pr["odds"]
    q = plan.consts
    tk = (t & keep).astype(float)
    c = (~t & keep).astype(float)
    co = c * odds
    n1, S = q["n1"], q["S"]
    k = Y.shape[1]
    out: dict[str, Any] = {"s00": np.zeros(k), "s11": np.zeros(k), "s01": np.zeros(k), "saa": np.zeros(k),
           "beyond": 0.0}
    cols: list[list[np.ndarray]] = []
    if plan.gamma is not None:
        out["beyond"] = float(((tk > 0) & (pr["ps_raw"] > q["maxps"])).sum())
        tps = t.astype(float) - pr["ps_raw"]
    Zk, Zh = Z @ q["kvec"], Z @ q["hvec"]
    for j in range(k):
        y = Y[:, j]
        has_m = bool(plan.params) and plan.params[j] is not None
        m, _ = _predict(X, plan.params[j] if has_m else None,
                        plan.families[j] if has_m else "linear")
        phi0 = np.zeros(t.size)
        if has_m:
            r = (co if plan.weighted_fit else c) * (y - m)
            phi0 += tk * (m - q["A"][j]) / n1 + r * Zk[:, j]
        if plan.gamma is not None:
            phi0 += tps * Zh[:, j]
        if plan.c_part:
            phi0 += co * (y - m - q["C"][j]) / S
        phi1 = tk * (y - q["mu1"][j]) / n1
        out["s00"][j] = phi0 @ phi0
        out["s11"][j] = phi1 @ phi1
        out["s01"][j] = phi0 @ phi1
        npar = plan.noise_params[j] if plan.noise_params else None
        a = None
        if npar is not None:
            mn, _ = _predict(X, npar, plan.noise_families[j])
            a = phi0 - tk * (mn - q["mu0"][j]) / n1
            out["saa"][j] = a @ a
        if q.get("cluster"):
            cols.append(_cluster_columns(phi0, phi1, a, None if a is None else mn,
                                         plan.noise_families[j] if a is not None else "",
                                         y, tk, c, co, Zk[:, j], plan, has_m, S))
    if q.get("cluster"):
        codes, labels = part["cl"]
        M = np.column_stack([np.bincount(codes, weights=col, minlength=len(labels))
                             for block in cols for col in block])
        out["cl"] = (labels, M)
    return out


#: Per-cluster sums the cluster-robust SEs need, per outcome (see ``_cluster_columns``).
_CLUSTER_STATS = 10


def _cluster_columns(phi0: np.ndarray, phi1: np.ndarray, a: np.ndarray | None,
                     mn: np.ndarray | None, family: str, y: np.ndarray, tk: np.ndarray,
                     c: np.ndarray, co: np.ndarray, zk: np.ndarray, plan: _Plan, has_m: bool,
                     S: float) -> list[np.ndarray]:
    """Return the row terms whose per-cluster sums give the cluster-robust SEs of one outcome.

    ``phi0``, ``phi1`` (the estimate's influences); with a noise model the
    cohort terms of :func:`pbr_eval.estimators._outcome_se.cohort_variance`:
    ``a``, the comparison residual ``r`` and ``r^2``, ``dm`` and ``dm^2``
    over the comparison rows and the treated rows, and ``c_j dm_j`` with
    ``c_j = d mu0 / d y_j`` (the outcome's weight in the estimate: ``o/S``
    for the weighting term, the outcome model's ``z'k`` times ``1`` or the
    odds).
    """
    zero = np.zeros_like(phi0)
    if a is None or mn is None:
        return [phi0, phi1, *([zero] * (_CLUSTER_STATS - 2))]
    if family == "logistic":
        mc = np.clip(mn, 0.0, 1.0)
        dm = mc * (1.0 - mc)
    elif family == "poisson":
        dm = np.maximum(mn, 0.0)
    else:
        dm = np.ones_like(mn)
    yw = zero.copy()
    if plan.c_part:
        yw += co / S
    if has_m:
        yw += (co if plan.weighted_fit else c) * zk
    r = c * (y - mn)
    dmc, dmt = c * dm, tk * dm
    return [phi0, phi1, a, r, r * r, dmc, dmc * dmc, dmt, dmt * dmt, c * yw * dm]


# ------------------------------------------------------------------ balance
@dataclass(frozen=True)
class _Weights:
    """ATT weights of a partition's rows (treated 1, comparison ``scale * odds``, trimmed 0)."""

    plan: _Plan | None
    scale: float = 1.0

    def of(self, part: Mapping[str, Any]) -> np.ndarray:
        t = part["t"]
        if self.plan is None or self.plan.gamma is None:
            return np.ones(t.size)
        pr = self.plan.prop(part)
        return np.where(t, 1.0, pr["odds"] * self.scale) * pr["keep"]


@blockwise
def _moments1(part: Mapping[str, Any], wts: _Weights) -> dict[str, Any]:
    X, t = part["X"], part["t"]
    w = wts.of(part)
    out = {}
    for g, mask in (("1", t), ("0", ~t)):
        wg = np.where(mask, w, 0.0)
        out.update({f"sw{g}": wg.sum(), f"sw2{g}": wg @ wg, f"swx{g}": wg @ X,
                    f"n{g}": float(mask.sum()), f"sx{g}": mask.astype(float) @ X,
                    f"pos{g}": float((wg > 0).sum())})
    return out


@blockwise
def _moments2(part: Mapping[str, Any], wts: _Weights, means: Mapping[str, np.ndarray]
              ) -> dict[str, Any]:
    X, t = part["X"], part["t"]
    w = wts.of(part)
    out = {}
    for g, mask in (("1", t), ("0", ~t)):
        wg = np.where(mask, w, 0.0)
        d = X - means["a" + g]
        out["ssa" + g] = wg @ (d * d)
        d = X - means["b" + g]
        out["ssb" + g] = mask.astype(float) @ (d * d)
    return out


def _balance_means(s1: Mapping[str, Any], scale: float) -> dict[str, Any]:
    """Scale the comparison weights' sums of ``_moments1`` (taken with unscaled odds) and return the means.

    ``s1`` is updated in place: ``sw0``, ``sw20`` and ``swx0`` become the
    sums with the weights ``scale * odds`` (the treated weights are 1).
    """
    s1 = dict(s1)
    s1["sw0"], s1["sw20"], s1["swx0"] = (s1["sw0"] * scale, s1["sw20"] * scale**2,
                                         s1["swx0"] * scale)
    means: dict[str, Any] = {"s1": s1}
    for g in ("1", "0"):
        means["a" + g] = s1["swx" + g] / s1["sw" + g]
        means["b" + g] = s1["sx" + g] / s1["n" + g]
    return means


def _distributed_balance(cohort: DistributedCohort, means: Mapping[str, Any],
                         s2: Mapping[str, Any], estimand: str = "ATT") -> BalanceTable:
    """Return the balance table (before and after weighting) of a distributed cohort.

    Means and variances as :class:`~pbr_eval.results.balance.BalanceTable`,
    from two passes the estimates' passes carry: sums (``_moments1``, then
    :func:`_balance_means`), then sums of squared deviations
    (``_moments2``); the eCDF statistics, which sort every covariate, are
    not computed.
    """
    s1 = means["s1"]
    before: dict[str, np.ndarray] = {}
    after: dict[str, np.ndarray] = {}
    for g in ("1", "0"):
        n = s1["n" + g]
        before["m" + g] = means["b" + g]
        before["v" + g] = s2["ssb" + g] / (n - 1) if n > 1 else np.full(len(means["b1"]), np.nan)
        sw, sw2 = s1["sw" + g], s1["sw2" + g]
        denom = sw**2 - sw2
        after["m" + g] = means["a" + g]
        after["v" + g] = (s2["ssa" + g] * (sw / denom) if denom > 0
                          else np.full(len(means["a1"]), np.nan))
    names = list(cohort.design_columns)
    is_bin = np.array([nm in set(cohort.binary_columns) for nm in names])
    frame = balance_frame(before, after, is_bin, names, estimand=estimand,
                          threshold=SMD_THRESHOLD,
                          pair_dist=np.full(len(names), np.nan))
    frame["covariate_type"] = np.where(is_bin, "binary", "numeric")
    counts = {}
    for name, g in (("comparison", "0"), ("treated", "1")):
        sw, sw2 = s1["sw" + g], s1["sw2" + g]
        counts[name] = {"all": s1["n" + g], "all_ess": s1["n" + g], "matched": s1["pos" + g],
                        "matched_ess": float(sw**2 / sw2) if s1["pos" + g] else 0.0,
                        "unmatched": s1["n" + g] - s1["pos" + g], "discarded": 0.0}
    return BalanceTable.from_rows(frame.reset_index().to_dict(orient="records"),
                                  binary=cohort.binary_columns, estimand=estimand,
                                  counts=counts)


# ------------------------------------------------------------------ estimators
def _check_options(estimator: Estimator, cohort: DistributedCohort) -> None:
    prop = getattr(estimator, "propensity", "logit")
    if prop != "logit":
        raise OptionError(
            f"`propensity` must be 'logit' on a distributed cohort; got {prop!r}. A scikit-learn "
            "classifier needs the rows in memory: use cohort.to_cohort()."
        )
    om = getattr(estimator, "outcome_model", "auto")
    if not isinstance(om, str):
        raise OptionError(
            "`outcome_model` must be 'auto', 'linear', 'logistic' or 'poisson' on a distributed "
            f"cohort; got {om!r}. A scikit-learn model needs the rows in memory: use "
            "cohort.to_cohort()."
        )
    if getattr(estimator, "se", "auto") == "cluster" and cohort.cluster is None:
        raise OptionError(
            "`se='cluster'` needs a cohort built with `cluster` (e.g. the local authority); "
            "this one has none. Pass cluster=... to DistributedCohort or use se='robust'.")


def _resolve_se(estimator: Estimator, cohort: DistributedCohort) -> str:
    """``"auto"`` is cluster-robust when the cohort has a ``cluster``, else robust (as in memory)."""
    se = getattr(estimator, "se", "auto")
    if se == "auto":
        return "cluster" if cohort.cluster is not None else "robust"
    return str(se)


def _v0_sum(family: str, otype: str, first: Mapping[str, Any], j: int, k_params: int
            ) -> float:
    """``sum_T v(X_i)``, the treated units' outcome variance under the model (see ``conditional_variance``)."""
    fam = "logistic" if otype == "binary" and family == "linear" else family
    if fam == "logistic":
        return float(first["tv_logit"][j])
    dof = max(first["n_c"] - k_params, 1)
    if fam == "poisson":
        return float(first["tv_pois"][j] * first["ss_pois"][j] / dof)
    return float(first["n1"] * first["ss_lin"][j] / dof)


_COHORT_SE = ("; the default intervals (the cohort's own rate and effect) add the cohort's "
              "outcome noise from an outcome model (cohort_std_error)")


def _cluster_sums(got: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """Add the partitions' per-cluster sums by cluster label (a cluster may span partitions)."""
    import pandas as pd

    codes, labels = pd.factorize(np.concatenate([g[0] for g in got]))
    U = np.zeros((len(labels), got[0][1].shape[1]))
    np.add.at(U, codes, np.vstack([g[1] for g in got]))
    return U


def _clustered(U: np.ndarray, j: int, n1: float) -> tuple[float, float, float, float, float]:
    """Cluster-robust ``s00, s11, s01, saa`` and the cluster-effect term of one outcome.

    As :func:`pbr_eval.inference.influence.influence_covariance` (sums of
    the influences within clusters, times ``G / (G - 1)``) and
    :func:`pbr_eval.estimators._outcome_se.cohort_variance` (``tau^2`` from
    pairs of comparison residuals within clusters), from the per-cluster
    sums of ``_cluster_columns``.
    """
    from pbr_eval.inference.influence import influence_covariance

    B = U[:, j * _CLUSTER_STATS:(j + 1) * _CLUSTER_STATS]
    G = B.shape[0]
    cov = influence_covariance(B[:, :3], np.arange(G))
    r, r2, dmc, dmc2, M, Q, W = (B[:, i] for i in range(3, 10))
    pairs = float((dmc**2 - dmc2).sum())
    cross = float((r**2 - r2).sum())
    tau2 = max(cross / pairs, 0.0) if pairs > 0 else 0.0
    tau_part = tau2 * float(((M**2 - Q) / n1**2 - 2.0 * M * W / n1).sum())
    return (float(cov[0, 0]), float(cov[1, 1]), float(cov[0, 1]), float(cov[2, 2]), tau_part)


@blockwise
def _trim_counts(part: Mapping[str, Any], plan: _Plan) -> dict[str, Any]:
    pr = plan.prop(part)
    t, keep = part["t"], pr["keep"]
    return {"n1": float((t & keep).sum()), "n_c": float((~t & keep).sum())}


def _trim_job(plan: _Plan) -> Job:
    """Check that trimming leaves both groups (its pass is shared with the outcome models' first)."""
    got = (yield {"trim": (_trim_counts, (plan,))})["trim"]
    if got["n1"] == 0 or got["n_c"] == 0:
        which = "treated" if got["n1"] == 0 else "comparison"
        raise EstimationError(
            f"`trim`={plan.trim} leaves no {which} units: the groups do not overlap on the "
            "propensity score. Widen `trim`.")


def _constants(f: Mapping[str, Any], params: list[Any], k: int, p1: int, outcome: str,
               weighting: bool, c_part: bool) -> dict[str, Any]:
    """Return the influence functions' constants from the first pass's sums (see the module notes)."""
    n1, S = float(f["n1"]), float(f["S"])
    kvec, hvec = np.zeros((p1, k)), np.zeros((p1, k))
    A, C = np.zeros(k), np.zeros(k)
    Hps_inv = _inv(f["Hps"], "propensity model's") if weighting else None
    for j in range(k):
        info_j = params[j][1] if params[j] is not None else None
        if info_j is not None:
            A[j] = f["sum_tm"][j] / n1
            Iinv_T = _inv(info_j, "outcome model's").T
            Dn = f["D"][:, j] / n1
            if outcome == "weighted":
                kvec[:, j] = Iinv_T @ Dn
                assert Hps_inv is not None
                hvec[:, j] = Hps_inv @ (f["B"][j].T @ kvec[:, j])
            elif weighting:  # aipw
                kvec[:, j] = Iinv_T @ Dn - Iinv_T @ f["Bc"][:, j] / S
            else:
                kvec[:, j] = Iinv_T @ Dn
        if c_part:
            C[j] = f["sum_com"][j] / S
            assert Hps_inv is not None
            hvec[:, j] = Hps_inv @ (f["G"][:, j] - C[j] * f["G1"]) / S
    return {"n1": n1, "S": S, "A": A, "C": C, "mu0": A + C, "mu1": f["sum_ty"] / n1,
            "kvec": kvec, "hvec": hvec, "maxps": float(f["maxps"][0]) if weighting else 0.0}


def _run(estimator: Estimator, cohort: DistributedCohort, *, weighting: bool, outcome: str
         ) -> CounterfactualResults:
    """Fit the nuisance models and run the two passes (``outcome``: "none", "plain", "weighted").

    The propensity and outcome models iterate in lockstep when the outcome
    models do not depend on the score (no trimming, unweighted); the
    estimates' first pass shares its pass with the propensity model's state
    at its estimate; the balance sums ride on the two estimate passes.
    """
    _check_options(estimator, cohort)
    se = _resolve_se(estimator, cohort)
    method = estimator.method
    clip = getattr(estimator, "clip", None)
    trim = getattr(estimator, "trim", None)
    info = base_info(cohort, estimator)  # type: ignore[arg-type]
    k = len(cohort.outcomes)
    p1 = len(cohort.design_columns) + 1
    families = [FAMILY_FOR_TYPE[cohort.outcome_types[name]] if outcome == "none" else
                resolve_outcome_model(getattr(estimator, "outcome_model", "auto"),
                                      cohort.outcome_types[name])
                for name in cohort.outcomes]
    depends = weighting and (trim is not None or outcome == "weighted")
    jobs: dict[str, Job] = {}
    if weighting:
        jobs["logit"] = logit_job(cohort)
    if not depends:
        jobs["glm"] = glm_job(cohort, families, RowSelection())
    started: set[str] = set()

    def estimate_job(gamma: np.ndarray | None, fits: list[Any]) -> Job:
        params: list[Any] = []
        noise_params: list[Any] = []
        for fit in fits:
            if isinstance(fit, EstimationError):
                if outcome != "none":
                    raise fit
                params.append(None)
                noise_params.append(None)  # ipw's working model: the generic cohort-SE rule
                continue
            params.append(None if outcome == "none" else (fit.params, fit.information))
            noise_params.append(fit.params)
        plan = _Plan(gamma=gamma, clip=clip, trim=trim,
                     params=tuple(None if q is None else q[0] for q in params),
                     families=tuple(families), noise_params=tuple(noise_params),
                     noise_families=tuple(families), weighted_fit=outcome == "weighted",
                     c_part=weighting and outcome != "weighted")
        if outcome == "none":
            plan = _Plan(gamma=gamma, clip=clip, trim=trim, families=tuple(families),
                         noise_params=tuple(noise_params), noise_families=tuple(families),
                         c_part=True)
        g = cohort._gram
        first: dict[str, Any] = {"first": (_first_pass, (plan,)),
                                 "m1": (_moments1, (_Weights(plan if weighting else None),))}
        if not weighting and cohort.design_columns:
            first["outside"] = (_outside, (g["min0"], g["max0"]))
        got = yield first
        f = got["first"]
        consts = _constants(f, params, k, p1, outcome, weighting, plan.c_part)
        consts["cluster"] = se == "cluster"
        plan2 = _Plan(**{**plan.__dict__, "consts": consts})
        wts = _Weights(plan if weighting else None,
                       scale=consts["n1"] / consts["S"] if weighting else 1.0)
        means = _balance_means(got["m1"], wts.scale)
        second = yield {"second": (_second_pass, (plan2,), "list"),
                        "m2": (_moments2, (wts, {k_: means[k_] for k_ in ("a1", "a0", "b1", "b0")}))}
        parts = second["second"]
        clusters = _cluster_sums([p_.pop("cl") for p_ in parts]) if se == "cluster" else None
        return {"f": f, "s": _combine(parts), "clusters": clusters, "consts": consts,
                "plan": plan,
                "noise_params": noise_params, "means": means, "m2": second["m2"],
                "outside": got.get("outside")}

    def hook(event: str, value: Any, done: dict[str, Any]) -> dict[str, Job]:
        new: dict[str, Job] = {}
        if event == "logit.published" and depends:
            if trim is not None:
                new["trim"] = _trim_job(_Plan(gamma=value, clip=clip, trim=trim))
            new["glm"] = glm_job(cohort, families, RowSelection(
                ps_params=value, clip=clip, trim=trim, weighted=outcome == "weighted"))
        if ("glm" in done and (not weighting or "logit.published" in done)
                and "est" not in started):
            started.add("est")
            new["est"] = estimate_job(done.get("logit.published"), done["glm"])
        return new

    done = run_jobs(cohort, jobs, hook)
    est = done["est"]
    logit = done.get("logit")
    f, s, consts = est["f"], est["s"], est["consts"]
    noise_params = est["noise_params"]
    n1, mu0, mu1 = consts["n1"], consts["mu0"], consts["mu1"]
    # ---- results
    n_comp = int(f["n_pos"]) if weighting else cohort.n_comparison
    nuis = (["propensity score"] if weighting else []) + \
        (["outcome model"] if outcome != "none" else [])
    se_method = se_description(se, nuis, True)
    estimates = []
    for j, name in enumerate(cohort.outcomes):
        otype = cohort.outcome_types[name]
        s00, s11, s01, saa = s["s00"][j], s["s11"][j], s["s01"][j], s["saa"][j]
        if est["clusters"] is not None:
            s00, s11, s01, saa, tau_part = _clustered(est["clusters"], j, n1)
        ve = s00 + s11 - 2 * s01
        cohort_se, how = float("nan"), se_method
        if noise_params[j] is not None and f["bad_noise"][j] == 0:
            var_c = saa + _v0_sum(families[j], otype, f, j, p1) / n1**2
            if est["clusters"] is not None:
                var_c += tau_part
            cohort_se, how = float(np.sqrt(max(var_c, 0.0))), se_method + _COHORT_SE
        estimates.append(OutcomeEstimate(
            outcome=name, outcome_type=otype, n_treated=int(n1), n_comparison=n_comp,
            observed=float(mu1[j]), non_intervention=float(mu0[j]),
            non_intervention_se=float(np.sqrt(max(s00, 0.0))),
            effect=float(mu1[j] - mu0[j]), std_error=float(np.sqrt(max(ve, 0.0))),
            naive_comparison=float(f["naive"][j] / f["n0"]), se_method=how,
            cohort_std_error=cohort_se))
    balance = _distributed_balance(cohort, est["means"], est["m2"])
    extras: dict[str, Any] = {}
    if weighting:
        assert logit is not None
        _weighting_notes(cohort, estimator, info, f, s, logit)
        extras["propensity"] = {"params": logit.params.tolist(), "model": "logit"}
        info.update({"propensity_model": "logit"})
    if outcome != "none":
        info["outcome_models"] = dict(zip(cohort.outcomes, families, strict=True))
    if not weighting:
        info["notes"].append(
            "Regression adjustment does not weight units: the balance table shows the "
            "unadjusted groups, and the estimate relies on the outcome model where they differ.")
        note = _range_note(cohort, method, est["outside"])
        if note:
            info["notes"].append(note)
    few = getattr(estimator, "few_clusters", 0)
    if (est["clusters"] is not None and getattr(estimator, "se", "auto") == "auto"
            and est["clusters"].shape[0] < few):
        info["notes"].append(
            f"Only {est['clusters'].shape[0]:,} clusters (fewer than {few:,}): the cluster-robust "
            "interval is likely too narrow. The wild cluster bootstrap that the in-memory "
            "estimator uses then is not available on a distributed cohort: cohort.to_cohort() "
            "gives it when the rows fit in memory.")
    info.update({"estimand": "ATT", "se": se, "backend": "dask",
                 "npartitions": cohort.npartitions, "scheduler": cohort.scheduler})
    if weighting:
        info["effective_sample_size"] = balance.effective_sample_size()
    return CounterfactualResults(method=method, estimand="ATT", estimates=estimates,
                                 weights=None, balance=balance, info=info, extras=extras)


def _inv(H: np.ndarray, what: str) -> np.ndarray:
    try:
        return np.linalg.inv(H)
    except np.linalg.LinAlgError as err:
        raise EstimationError(
            f"The {what} information matrix is singular, so standard errors cannot be computed; "
            "some covariates are collinear. Remove redundant covariates.") from err


def _weighting_notes(cohort: DistributedCohort, estimator: Estimator, info: dict[str, Any],
                     f: Mapping[str, Any], s: Mapping[str, Any], logit: Any) -> None:
    """Add the overlap warning and the clipping, trimming and vanishing-score notes (as in memory)."""
    n1 = f["n1"]
    beyond = s["beyond"]
    share = float(f["maxw"][0] / f["S"]) if f["S"] > 0 else 1.0
    if beyond > 0.02 * n1 or share > 0.10:
        m1, m0 = f["sx1"] / n1, f["sx0"] / f["n_c"]
        sd = np.sqrt(np.clip(f["sxx1"] / n1 - m1**2, 0, None))
        sd[sd == 0] = 1.0
        top = np.argsort(-np.abs((m1 - m0) / sd))[:3]
        names = ", ".join(f"'{cohort.design_columns[j]}'" for j in top)
        parts = []
        if beyond > 0.02 * n1:
            parts.append(f"{int(beyond):,} treated units have a propensity score above every "
                         "comparison unit's (no comparable comparison unit)")
        if share > 0.10:
            parts.append(f"one comparison unit carries {share:.0%} of the comparison group's "
                         "weight")
        note = (f"Weak overlap ({estimator.method}): {'; '.join(parts)}. The groups differ most "
                f"on {names}. Consider `clip` or `trim`, restricting the comparison pool, or "
                "matching.")
        warnings.warn(note, OverlapWarning, stacklevel=4)
        info["notes"].append(note)
    n_clipped, n_tt, n_tc = int(f["n_clipped"]), int(f["n_trim_t"]), int(f["n_trim_c"])
    info["n_clipped"] = n_clipped
    if logit.n_vanishing:
        info["notes"].append(vanishing_note(PropensityScore(np.empty(0), "logit",
                                                            n_vanishing=logit.n_vanishing,
                                                            estimand="ATT")))
    info["n_trimmed_treated"], info["n_trimmed_comparison"] = n_tt, n_tc
    if n_clipped:
        info["notes"].append(f"{n_clipped:,} propensity scores were clipped to the `clip` bounds.")
    if n_tt + n_tc:
        info["dropped"] = info["dropped"] + [DroppedRows(
            n_tt + n_tc, f"propensity score outside the `trim` bounds ({n_tt:,} treated, "
            f"{n_tc:,} comparison)", stage=estimator.method, n_treated=n_tt, n_comparison=n_tc,
            share_treated=n_tt / max(cohort.n_treated, 1)).to_dict()]
        if n_tt:
            info["notes"].append(
                f"{n_tt:,} treated units were trimmed: the estimate is for the remaining treated "
                "units, not the whole cohort.")


@blockwise
def _outside(part: Mapping[str, Any], lo: np.ndarray, hi: np.ndarray) -> dict[str, Any]:
    X1 = part["X"][part["t"]]
    return {"out": ((X1 < lo) | (X1 > hi)).sum(axis=0).astype(float)}


def _range_note(cohort: DistributedCohort, method: str,
                outside: Mapping[str, Any] | None) -> str | None:
    """:func:`pbr_eval.estimators._overlap.range_warning` from the cohort's group ranges."""
    from pbr_eval.estimators._overlap import RANGE_SHARE, _warn

    g = cohort._gram
    if not cohort.design_columns:
        return None
    lo, hi = g["min0"], g["max0"]
    assert outside is not None  # reduced in the estimates' first pass
    share = outside["out"] / cohort.n_treated
    bad = np.flatnonzero(share > RANGE_SHARE)
    if bad.size == 0:
        return None
    order = bad[np.argsort(-share[bad], kind="stable")][:3]
    parts = [f"'{cohort.design_columns[j]}' (pool {lo[j]:.4g} to {hi[j]:.4g}; programme "
             f"{g['min1'][j]:.4g} to {g['max1'][j]:.4g})" for j in order]
    return _warn(
        f"No overlap ({method}): {float(share[order[0]]):.0%} of the programme participants lie "
        f"outside the comparison pool's range on {', '.join(parts)}: for them the outcome model "
        "extrapolates beyond the data, and the estimate depends on its functional form. "
        "Restrict the programme cohort to the shared range, find a comparison pool that covers "
        "it, or use matching with a caliper.", 4)


def _ipw(est: Estimator, cohort: DistributedCohort) -> CounterfactualResults:
    return _run(est, cohort, weighting=True, outcome="none")


def _regression(est: Estimator, cohort: DistributedCohort) -> CounterfactualResults:
    return _run(est, cohort, weighting=False, outcome="plain")


def _aipw(est: Estimator, cohort: DistributedCohort) -> CounterfactualResults:
    return _run(est, cohort, weighting=True, outcome="plain")


def _ipwra(est: Estimator, cohort: DistributedCohort) -> CounterfactualResults:
    return _run(est, cohort, weighting=True, outcome="weighted")


#: The methods :func:`fit_distributed` runs on a :class:`DistributedCohort`.
DISTRIBUTED_METHODS: dict[str, Any] = {
    "ipw": _ipw, "regression": _regression, "aipw": _aipw, "ipwra": _ipwra,
    "nearest": fit_nearest_distributed,
}


def fit_distributed(estimator: Estimator, cohort: DistributedCohort) -> CounterfactualResults:
    """Fit a registered estimator on a distributed cohort (what ``pbr_eval.estimate`` calls).

    Parameters
    ----------
    estimator : Estimator
        Built (and its options validated) by the in-memory class.
    cohort : DistributedCohort

    Returns
    -------
    CounterfactualResults
        The in-memory results kind, with ``weights=None`` (the weights stay
        on the cluster), a balance table without the eCDF statistics, and
        ``info["backend"] == "dask"``.

    Raises
    ------
    OptionError
        A method not in :data:`DISTRIBUTED_METHODS`, a scikit-learn
        nuisance model, or ``se="cluster"``.

    Examples
    --------
    >>> import pbr_eval
    >>> from pbr_eval.datasets import load_reoffending
    >>> sim = load_reoffending()
    >>> roles = {k: v for k, v in sim.cohort_args.items() if k != "cluster"}
    >>> dc = pbr_eval.DistributedCohort(sim.data, npartitions=4, scheduler="synchronous",
    ...                                 **roles)
    >>> from pbr_eval.estimators.weighting import InverseProbabilityWeighting
    >>> res = fit_distributed(InverseProbabilityWeighting(), dc)
    >>> round(float(res.to_frame()["non_intervention"].iloc[0]), 3), res.info["backend"]
    (0.3, 'dask')
    """
    fn = DISTRIBUTED_METHODS.get(estimator.method)
    if fn is None:
        raise OptionError(
            f"`method` must be one of {', '.join(map(repr, DISTRIBUTED_METHODS))} on a "
            f"distributed cohort; got {estimator.method!r}. Other methods need the rows in "
            "memory: use cohort.to_cohort() when they fit."
        )
    return fn(estimator, cohort)

