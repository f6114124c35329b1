r"""Counterfactual survival of the programme's participants: :func:`estimate_survival`.

The non-intervention curve :math:`S_0(t) = P(T(0) > t \mid \text{treated})`
(the share of the participants who would still be free of the outcome at
time :math:`t` without the programme) is estimated three ways:

* **weights** (any registered estimator that produces adjustment weights:
  ``"nearest"``, ``"optimal"``, ``"exact"``, ``"cem"``, ``"subclass"``,
  ``"ipw"``, ``"entropy"``): the Kaplan-Meier curve of the comparison group
  with those weights (Xie & Liu 2005; Austin 2014);
* **outcome model** (``"cox"``): a Cox model fitted on the comparison group,
  its predicted curves averaged over the participants (g-computation);
* **doubly robust** (``"aipw"``): the Cox g-computation plus the
  propensity-weighted Kaplan-Meier curve of the comparison group minus the
  weighted average of its own Cox-predicted curves. It is consistent if
  either the propensity model or the Cox model is right (with censoring
  unrelated to the covariates in the comparison group, which the weighted
  Kaplan-Meier curve needs in any case).

The participants' observed curve is their Kaplan-Meier curve. Every quantity
(the curves at the grid times, the probability of the outcome by the window,
the restricted mean time free of it) has an influence-function standard error
that includes the estimation of the weights (logistic propensity score,
entropy-balancing weights) and of the Cox model, or a bootstrap standard
error (``se="bootstrap"``: everything re-estimated on resampled cohorts).

Limitations: matching and subclassification weights are treated as fixed
(their SEs are robust, or cluster-robust by matched set when matching
without replacement); the estimand is the ATT (the participants'
non-intervention curve); censoring must be unrelated to the outcome given
the group (and, for the weighted curves, to the covariates).

References
----------
Xie, J. & Liu, C. (2005). Adjusted Kaplan-Meier estimator and log-rank test
with inverse probability of treatment weighting for survival data.
Statistics in Medicine 24, 3089-3110.
Austin, P. C. (2014). The use of propensity score methods with survival or
time-to-event outcomes: reporting measures of effect similar to those used in
randomized experiments. Statistics in Medicine 33, 1242-1258.
Bai, X., Tsiatis, A. A. & O'Brien, S. M. (2013). Doubly-robust estimators of
treatment-specific survival distributions in observational studies with
stratified sampling. Biometrics 69, 830-839.
Royston & Parmar (2013), restricted mean survival time (see :mod:`pbr_eval.survival.km`).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from pbr_eval._provenance import __version__, versions
from pbr_eval.cohort import Cohort
from pbr_eval.estimators.base import build_estimator
from pbr_eval.exceptions import EstimationError, OptionError
from pbr_eval.options import DEFAULT_LEVEL, check_choice, check_int, check_level, check_positive
from pbr_eval.results.survival import SurvivalResults
from pbr_eval.survival.cox import cox_beta_influence, fit_cox
from pbr_eval.survival.pieces import (
    Combination,
    CoxMeanPiece,
    KMPiece,
    WeightModel,
    covariances,
    diagonals,
    grid_from_window,
)

__all__ = ["estimate_survival", "SURVIVAL_METHODS", "SURVIVAL_SE"]

#: Methods of :func:`estimate_survival` besides the weighting estimators of the registry.
OUTCOME_MODEL_METHODS = ("cox", "aipw")
#: Registered estimators whose weights a survival curve can use.
WEIGHT_METHODS = ("nearest", "optimal", "exact", "cem", "subclass", "ipw", "entropy")
#: Every ``method`` :func:`estimate_survival` takes.
SURVIVAL_METHODS = WEIGHT_METHODS + OUTCOME_MODEL_METHODS
#: Standard-error kinds.
SURVIVAL_SE = ("auto", "robust", "cluster", "bootstrap")


@dataclass
class _Design:
    """What a method contributes: the pieces of both curves and how to get SEs."""

    observed: Combination
    counterfactual: Combination
    weights: np.ndarray | None
    cluster: np.ndarray | None
    se_method: str
    info: dict[str, Any] = field(default_factory=dict)
    n_treated: int = 0
    n_comparison: int = 0


@dataclass(frozen=True)
class _Data:
    cohort: Cohort
    time: np.ndarray
    event: np.ndarray
    grid: np.ndarray
    horizon: float
    se: str


def _outcome_name(cohort: Cohort, outcome: str | None) -> str:
    from pbr_eval.survival.curves import outcome_name

    return outcome_name(cohort, outcome)


def _cluster_codes(labels: np.ndarray, use: np.ndarray | None = None) -> np.ndarray:
    codes = pd.factorize(pd.Series(labels), sort=False)[0].astype(np.int64)
    if use is not None:
        codes = np.where(use, codes, -1)
    return codes


def _km(rows: np.ndarray, d: _Data, w: np.ndarray) -> KMPiece:
    return KMPiece(rows, d.time[rows], d.event[rows], w[rows], d.grid, d.horizon)


def _observed(d: _Data, w1: np.ndarray) -> Combination:
    rows = np.flatnonzero(d.cohort.t & (w1 > 0))
    return Combination([(1.0, _km(rows, d, w1))])


def _resolve_se(se: str, cohort: Cohort, matched_sets: np.ndarray | None) -> tuple[
        str, np.ndarray | None]:
    """Resolve ``se``: the kind and integer cluster codes (-1: none).

    'auto': cluster by the cohort's cluster, else by matched set (matching
    without replacement), else robust.
    """
    if se in ("auto", "cluster"):
        if cohort.cluster is not None:
            return "cluster", _cluster_codes(cohort.column(cohort.cluster))
        if matched_sets is not None:
            return "cluster", matched_sets
        if se == "cluster":
            raise OptionError(
                "`se='cluster'` needs a cohort built with `cluster`, or matched sets (matching "
                "without replacement); this has neither. Use se='robust'."
            )
    return "robust", None


# ----------------------------------------------------------------- weighting methods
def _ipw_weights(cohort: Cohort, options: dict[str, Any]) -> tuple[np.ndarray, WeightModel | None,
                                                                    dict[str, Any], bool]:
    from pbr_eval.estimators.weighting import att_weighting_setup

    est = build_estimator("ipw", {k: v for k, v in options.items() if k != "se"})
    s = att_weighting_setup(est, cohort)
    Z, prop, info = s.Z, s.prop, s.info
    w = np.where(cohort.t, 1.0, prop.odds) * prop.keep
    model = None
    if prop.phi is not None:
        dlogw = np.where((~cohort.t & prop.keep)[:, None], Z * prop.free[:, None], 0.0)
        phi = prop.phi.matrix() if hasattr(prop.phi, "matrix") else prop.phi
        model = WeightModel(np.asarray(phi), dlogw)
    return w, model, dict(info), prop.phi is not None


def _entropy_weights(cohort: Cohort, options: dict[str, Any]) -> tuple[
        np.ndarray, WeightModel, dict[str, Any], bool]:
    from pbr_eval.estimators.entropy import balance_constraints, entropy_weights

    est: Any = build_estimator("entropy", {k: v for k, v in options.items() if k != "se"})
    t = cohort.t
    C, labels = balance_constraints(cohort.X, t, cohort.design_columns, cohort.binary_columns,
                                    est.moments)
    p, _, D, tau = entropy_weights(C, t, labels)
    # influence of the dual parameters (entropy_att's stacked equations)
    tf = t.astype(float)
    dev = D - tau
    phi_tau = dev * (tf / tf.sum())[:, None]
    M = (dev * p[:, None]).T @ D
    phi_lam = -(dev * p[:, None] - phi_tau) @ np.linalg.pinv(M).T
    dlogw = np.where((~t)[:, None], D, 0.0)
    w = np.where(t, 1.0, p)
    info = {"balanced_moments": labels, "moments": est.moments}
    return w, WeightModel(phi_lam, dlogw), info, True


def _fixed_weights(method: str, cohort: Cohort, options: dict[str, Any]) -> tuple[
        np.ndarray, np.ndarray | None, dict[str, Any]]:
    est = build_estimator(method, options)
    if "estimand" in options and options["estimand"] != "ATT":
        raise OptionError("`estimand` must be 'ATT' for survival curves (the participants' "
                          f"non-intervention curve); got {options['estimand']!r}.")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=UserWarning)
        res = est.fit(cohort)
    if res.weights is None:  # pragma: no cover - every weighting estimator returns weights
        raise EstimationError(f"Method '{method}' returned no weights.")
    w = res.weights.to_numpy(dtype=float)
    sets = None
    sub = res.extras.get("subclass")
    replace = bool(res.info.get("options", {}).get("replace", False))
    if sub is not None and method in ("nearest", "optimal") and not replace:
        lab = np.asarray(sub)
        valid = pd.notna(lab) & (np.asarray(lab, dtype=object) != -1) & (w > 0)
        sets = _cluster_codes(np.where(valid, lab, -1), valid)
    info = {k: v for k, v in res.info.items() if k in ("notes", "dropped", "options")}
    return w, sets, info


def _weights_design(method: str, d: _Data, options: dict[str, Any]) -> _Design:
    cohort = d.cohort
    model: WeightModel | None = None
    analytic = True
    sets = None
    if method == "ipw":
        w, model, extra, analytic = _ipw_weights(cohort, options)
        what = "the estimated propensity score"
    elif method == "entropy":
        w, model, extra, analytic = _entropy_weights(cohort, options)
        what = "the estimated balancing weights"
    else:
        w, sets, extra = _fixed_weights(method, cohort, options)
        what = ""
    se, cluster = _resolve_se(d.se, cohort, sets)
    t = cohort.t
    rows0 = np.flatnonzero(~t & (w > 0))
    counter = Combination([(1.0, _km(rows0, d, w))], weights=model)
    se_method = _se_words(se, cluster is not None and cohort.cluster is None)
    if model is not None:
        se_method += f", including {what}"
    elif method in ("ipw",) and not analytic:
        se_method += "; a scikit-learn propensity model's estimation is NOT included"
    else:
        se_method += "; the matching or subclassification weights are treated as fixed"
    return _Design(_observed(d, np.where(t, w, 0.0)), counter, w, cluster, se_method, extra,
                   int((t & (w > 0)).sum()), len(rows0))


def _se_words(se: str, by_set: bool) -> str:
    if se == "cluster":
        return ("influence-function (infinitesimal jackknife), cluster-robust by "
                + ("matched set" if by_set else "cluster") + " (G/(G-1))")
    return "influence-function (infinitesimal jackknife, as survfit's robust variance)"


# --------------------------------------------------------------- outcome-model methods
def _cox_piece(d: _Data, target_rows: np.ndarray, v: np.ndarray, *, weighted: bool,
               fit_parts: tuple[Any, ...] | None = None) -> tuple[CoxMeanPiece, tuple[Any, ...]]:
    cohort = d.cohort
    X = cohort.X
    if fit_parts is None:
        rows0 = np.flatnonzero(~cohort.t)
        w0 = np.ones(rows0.size)
        fit = fit_cox(X[rows0], d.time[rows0], d.event[rows0], w0, names=cohort.design_columns)
        phi = cox_beta_influence(fit, X[rows0], d.time[rows0], d.event[rows0], w0)
        fit_parts = (fit, rows0, w0, phi)
    fit, rows0, w0, phi = fit_parts
    piece = CoxMeanPiece(fit, rows0, X[rows0], d.time[rows0], d.event[rows0], w0, phi,
                         target_rows, X[target_rows], v, d.grid, d.horizon,
                         weighted_target=weighted)
    return piece, fit_parts


def _cox_design(method: str, d: _Data, options: dict[str, Any]) -> _Design:
    cohort = d.cohort
    t = cohort.t
    if method == "cox":
        if options:
            raise OptionError(
                f"Method 'cox' takes no options; got {', '.join(map(repr, options))}."
            )
        rows1 = np.flatnonzero(t)
        piece, fit_parts = _cox_piece(d, rows1, np.full(rows1.size, 1.0 / rows1.size),
                                      weighted=False)
        se, cluster = _resolve_se(d.se, cohort, None)
        info = {"cox_coefficients": dict(zip(cohort.design_columns,
                                             fit_parts[0].params.tolist(), strict=True))}
        return _Design(_observed(d, t.astype(float)), Combination([(1.0, piece)]), None,
                       cluster, _se_words(se, False) + ", including the estimated Cox model", info,
                       int(t.sum()), int((~t).sum()))
    # aipw: g-computation + weighted KM - weighted mean of the comparison group's predictions
    w, model, extra, analytic = _ipw_weights(cohort, options)
    keep1 = t & (w > 0)
    rows1 = np.flatnonzero(keep1)
    g_piece, fit_parts = _cox_piece(d, rows1, np.full(rows1.size, 1.0 / rows1.size),
                                    weighted=False)
    rows0 = np.flatnonzero(~t & (w > 0))
    v0 = w[rows0] / w[rows0].sum()
    m_piece, _ = _cox_piece(d, rows0, v0, weighted=True, fit_parts=fit_parts)
    km0 = _km(rows0, d, w)
    counter = Combination([(1.0, g_piece), (1.0, km0), (-1.0, m_piece)], weights=model)
    se, cluster = _resolve_se(d.se, cohort, None)
    extra["cox_coefficients"] = dict(zip(cohort.design_columns, fit_parts[0].params.tolist(),
                                         strict=True))
    words = _se_words(se, False) + ", including the estimated Cox model"
    words += (" and propensity score" if analytic else
              "; a scikit-learn propensity model's estimation is NOT included")
    return _Design(_observed(d, keep1.astype(float)), counter, w, cluster, words, extra,
                   int(keep1.sum()), len(rows0))


def _design(method: str, d: _Data, options: dict[str, Any]) -> _Design:
    if method in OUTCOME_MODEL_METHODS:
        return _cox_design(method, d, options)
    return _weights_design(method, d, options)


# ------------------------------------------------------------------------ front door
def _prepare(cohort: Cohort, outcome: str | None, horizon: float | None,
             times: Sequence[float] | None, se: str) -> tuple[str, Any, _Data]:
    if not isinstance(cohort, Cohort):
        raise OptionError(f"`cohort` must be a pbr_eval.Cohort; got {type(cohort).__name__}.")
    name = _outcome_name(cohort, outcome)
    spec = cohort.time_to_event[name]
    window = spec.window
    time, event = cohort.time_event(name)
    # outcomes after the window do not count: follow-up ends there
    event = ((event > 0) & (time <= window)).astype(float)
    time = np.minimum(time, window)
    hz = window if horizon is None else check_positive("horizon", horizon)
    if hz > window:
        raise OptionError(
            f"`horizon` must be at most the window ({window:g} {spec.unit}): outcomes after the "
            f"window are not followed; got {hz:g}."
        )
    if times is None:
        grid = grid_from_window(window)
    else:
        try:
            grid = np.asarray(list(times), dtype=float)
        except (TypeError, ValueError) as err:
            raise OptionError(f"`times` must be a list of numbers; got {times!r}.") from err
        if grid.size == 0 or not np.all(np.isfinite(grid)) or (grid < 0).any() or (
                grid > window).any():
            raise OptionError(
                f"`times` must be numbers from 0 to the window ({window:g}); got {times!r}."
            )
    grid = np.unique(np.concatenate([grid, [window]]))
    return name, spec, _Data(cohort, time, event, grid, hz, se)


def estimate_survival(
    cohort: Cohort,
    *,
    outcome: str | None = None,
    method: str = "ipw",
    horizon: float | None = None,
    times: Sequence[float] | None = None,
    se: str = "auto",
    level: float = DEFAULT_LEVEL,
    n_boot: int = 199,
    seed: int | None = None,
    **options: Any,
) -> SurvivalResults:
    r"""Estimate the participants' survival with and without the programme.

    Parameters
    ----------
    cohort : Cohort
        Built with ``time_to_event`` (see :class:`pbr_eval.TimeToEvent`).
    outcome : str, optional
        Which time-to-event outcome (default: the only one).
    method : str, default "ipw"
        A weighting estimator of the registry (``"nearest"``, ``"optimal"``,
        ``"exact"``, ``"cem"``, ``"subclass"``, ``"ipw"``, ``"entropy"``),
        ``"cox"`` (Cox g-computation) or ``"aipw"`` (doubly robust: IPW and Cox).
    horizon : float, optional
        Horizon of the restricted mean time free of the outcome (default:
        the window; at most the window).
    times : list of float, optional
        Times at which the curves (and their bands) are given; default 53
        equally spaced times from 0 to the window. The window is always added.
    se : {"auto", "robust", "cluster", "bootstrap"}, default "auto"
        ``"auto"``: cluster-robust by the cohort's ``cluster`` if it has one,
        else by matched set for matching without replacement, else robust.
        ``"bootstrap"``: the standard deviation of ``n_boot`` re-estimates on
        cohorts resampled by unit (by cluster when the cohort has one),
        stratified by group.
    level : float, default 0.95
    n_boot : int, default 199
        Bootstrap replicates (``se="bootstrap"`` only).
    seed : int, optional
        Seed of the bootstrap (``se="bootstrap"``); replicate ``b`` uses
        ``numpy.random.SeedSequence(seed).spawn(n_boot)[b]``.
    **options
        Options of the weighting estimator (e.g. ``caliper=0.2`` for
        ``"nearest"``, ``clip=0.01`` for ``"ipw"`` and ``"aipw"``).

    Returns
    -------
    SurvivalResults

    Raises
    ------
    OptionError
        Unknown method or option, a cohort without a time-to-event outcome, a
        horizon beyond the window, ``se="cluster"`` with nothing to cluster on.
    EstimationError
        The weighting or Cox model cannot be estimated (separation, collinear
        covariates, no events).

    Notes
    -----
    Follow-up is cut at the window: outcomes after it are not counted. The
    restricted mean is :math:`\int_0^\tau S(t)\,dt`. See
    :mod:`pbr_eval.survival.estimate` for the methods and their assumptions
    and :mod:`pbr_eval.survival.pieces` for the standard errors.

    Examples
    --------
    >>> import pbr_eval
    >>> from pbr_eval.datasets import load_reoffending_time
    >>> sim = load_reoffending_time()
    >>> cohort = pbr_eval.Cohort(sim.data, **sim.cohort_args)
    >>> res = pbr_eval.estimate_survival(cohort, method="ipw")
    >>> f = res.to_frame()
    >>> list(f["quantity"])  # doctest: +NORMALIZE_WHITESPACE
    ['outcome within 365 days', 'mean days free of the outcome, up to 365',
     'mean days to the outcome, if within 365']
    """
    check_choice("method", method, SURVIVAL_METHODS)
    check_choice("se", se, SURVIVAL_SE)
    level = check_level(level)
    name, spec, d = _prepare(cohort, outcome, horizon, times, se)
    design = _design(method, d, dict(options))
    obs, cf = design.observed.estimate, design.counterfactual.estimate
    if se == "bootstrap":
        cov = _bootstrap_covariances(cohort, method, dict(options), d,
                                     check_int("n_boot", n_boot, minimum=2), seed)
        se_method = (f"bootstrap ({check_int('n_boot', n_boot, minimum=2)} replicates, units "
                     + ("by cluster" if cohort.cluster is not None else "")
                     + " resampled within each group, everything re-estimated)")
    else:
        cov = covariances(cohort.n, design.observed, design.counterfactual, design.cluster)
        se_method = design.se_method
    return _results(cohort, name, spec, method, d, design, obs, cf, cov, se_method,
                    level, options, seed)


def _results(cohort: Cohort, name: str, spec: Any, method: str, d: _Data, design: _Design,
             obs: np.ndarray, cf: np.ndarray, cov: tuple[np.ndarray, np.ndarray, np.ndarray],
             se_method: str, level: float, options: dict[str, Any],
             seed: int | None) -> SurvivalResults:
    v1, v0, vd = diagonals(*cov)
    t = cohort.t
    w = design.weights
    used1 = t if w is None else t & (w > 0)
    used0 = ~t if w is None else ~t & (w > 0)
    time, event = d.time, d.event
    def at_risk(rows: np.ndarray) -> np.ndarray:
        ts = np.sort(time[rows])
        return ts.size - np.searchsorted(ts, d.grid, side="left")

    at1, at0 = at_risk(used1), at_risk(used0)
    full = time >= spec.window
    counts = {
        "n_treated": int(used1.sum()), "n_comparison": int(used0.sum()),
        "events_treated": int((event[used1] > 0).sum()),
        "events_comparison": int((event[used0] > 0).sum()),
        "censored_treated": int(((event == 0) & ~full & used1).sum()),
        "censored_comparison": int(((event == 0) & ~full & used0).sum()),
    }
    G = d.grid.size

    def sd(v: np.ndarray) -> np.ndarray:
        return np.sqrt(np.where(v >= 0, v, np.nan))

    notes = list(getattr(cohort, "notes", [])) + list(design.info.pop("notes", []))
    if not np.all(np.isfinite(v0[:G])):
        notes.append("Standard errors are not given where a curve has reached zero (no one "
                     "left free of the outcome).")
    info = {
        "method": method, "estimand": "ATT",
        "options": {k: (v if isinstance(v, (int, float, str, bool, type(None), list, tuple))
                        else repr(v)) for k, v in options.items()},
        "time_to_event": spec.to_dict(),
        "cohort": cohort.describe(),
        "dropped": [x.to_dict() for x in cohort.dropped] + list(design.info.pop("dropped", [])),
        "fingerprint": cohort.fingerprint, "version": __version__, "versions": versions(),
        "seed": seed, "notes": notes, "se_method": se_method, **design.info,
    }
    rm = {"observed": obs[G], "non_intervention": cf[G],
          "se_observed": float(sd(v1)[G]), "se_non_intervention": float(sd(v0)[G]),
          "se_difference": float(sd(vd)[G])}
    weights = None if w is None else pd.Series(w, index=cohort.index, name="weight")
    return SurvivalResults(
        outcome=name, method=method, unit=spec.unit, window=spec.window, horizon=d.horizon,
        times=d.grid, observed=obs[:G], non_intervention=cf[:G], se_observed=sd(v1)[:G],
        se_non_intervention=sd(v0)[:G], se_difference=sd(vd)[:G], rmst=rm, counts=counts,
        at_risk_treated=at1, at_risk_comparison=at0, info=info, weights=weights, level=level,
        covariance=dict(zip(("observed", "non_intervention", "cross"), cov, strict=True)),
    )


def _bootstrap_covariances(cohort: Cohort, method: str, options: dict[str, Any], d: _Data,
                           n_boot: int, seed: int | None
                           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return covariances (as :func:`covariances`) from re-estimating everything on resampled cohorts.

    Units, or clusters, drawn with replacement within each group.
    """
    t = cohort.t
    if cohort.cluster is not None:
        groups = _cluster_codes(cohort.column(cohort.cluster))
    else:
        groups = np.arange(cohort.n)
    strata = []
    for side in (True, False):
        g = np.unique(groups[t == side])
        strata.append(g)
    order = np.argsort(groups, kind="stable")
    starts = np.searchsorted(groups[order], np.arange(groups.max() + 2))
    children = np.random.SeedSequence(seed).spawn(n_boot)
    reps1, reps0 = [], []
    failed = 0
    for child in children:
        rng = np.random.default_rng(child)
        drawn = np.concatenate([s[rng.integers(0, s.size, s.size)] for s in strata])
        rows = np.concatenate([order[starts[g]:starts[g + 1]] for g in drawn])
        rep = cohort.take(rows)
        dd = _Data(rep, d.time[rows], d.event[rows], d.grid, d.horizon, "robust")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                des = _design(method, dd, dict(options))
        except (EstimationError, OptionError, np.linalg.LinAlgError):
            failed += 1
            continue
        reps1.append(des.observed.estimate)
        reps0.append(des.counterfactual.estimate)
    if len(reps1) < 2:
        raise EstimationError(
            f"The bootstrap failed in {failed} of {n_boot} replicates; use se='auto'."
        )
    r1, r0 = np.array(reps1), np.array(reps0)
    r1, r0 = r1 - r1.mean(axis=0), r0 - r0.mean(axis=0)
    k = r1.shape[0] - 1
    return r1.T @ r1 / k, r0.T @ r0 / k, r1.T @ r0 / k

