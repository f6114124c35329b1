"""Propensity and outcome models fitted by distributed Newton / IRLS.

Each Newton iteration is one pass over the partitions: every partition
returns its log-likelihood, score ``Z'(w (y - mu))`` and information
``Z' diag(w v) Z`` at the current coefficients, the client adds them and
takes the step. The iterations, the step halving, the convergence rule and
the separation checks are those of :func:`pbr_eval.models.logit.fit_logit`
and :func:`pbr_eval.models.outcome.fit_outcome` (warm start from a
subsample above 200,000 rows, solved in centred-and-scaled coordinates), so
the coefficients agree with the in-memory fit to rounding.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import expit

from pbr_eval.distributed.passes import Job, Publish, blockwise, run_jobs
from pbr_eval.exceptions import EstimationError
from pbr_eval.models.glm import outcome_separation_error, propensity_separation_error, softplus
from pbr_eval.models.logit import LogitFit, fit_logit
from pbr_eval.models.outcome import OutcomeFit, fit_outcome

__all__ = ["RowSelection", "fit_logit_distributed", "fit_glms_distributed", "att_odds",
           "logit_job", "glm_job"]

_WARM_START_ROWS = 200_000


def att_odds(part: Mapping[str, Any], params: np.ndarray,
             clip: tuple[float, float] | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Scores of one partition: ``(ps_raw, ps, free)`` with ``ps`` clipped to ``clip``.

    ``ps_raw`` is computed column by column, as
    :meth:`pbr_eval.models.logit.LogitFit.predict` does, so equal rows get
    bit-identical scores.

    Parameters
    ----------
    part : mapping
        A partition's arrays (``X``).
    params : numpy.ndarray
        Logistic coefficients, intercept first.
    clip : (lo, hi) or None

    Returns
    -------
    ps_raw, ps, free : numpy.ndarray
        Fitted scores, clipped scores, and 1 where the score was not clipped.

    Examples
    --------
    >>> import numpy as np
    >>> ps_raw, ps, free = att_odds({"X": np.array([[0.0], [4.0]])}, np.array([0.0, 1.0]),
    ...                             (0.05, 0.95))
    >>> ps.round(3).tolist(), free.tolist()
    ([0.5, 0.95], [1.0, 0.0])
    """
    ps_raw = LogitFit(params, np.empty((0, 0)), 0, np.nan).predict(part["X"])
    if clip is None:
        return ps_raw, ps_raw, np.ones_like(ps_raw)
    ps = np.clip(ps_raw, clip[0], clip[1])
    return ps_raw, ps, ((ps_raw > clip[0]) & (ps_raw < clip[1])).astype(float)


@dataclass(frozen=True)
class RowSelection:
    """Which rows of a partition an outcome model is fitted on, with which case weights.

    Attributes
    ----------
    ps_params : numpy.ndarray or None
        Propensity coefficients when the selection depends on the score
        (trimming) or the weights are the ATT odds.
    clip, trim : (lo, hi) or None
    weighted : bool
        Weight each row by the odds ``ps / (1 - ps)`` (IPWRA).

    Examples
    --------
    >>> import numpy as np
    >>> part = {"X": np.array([[0.0], [1.0], [2.0]]), "t": np.array([True, False, False])}
    >>> rows, w = RowSelection(ps_params=np.array([0.0, 1.0]), weighted=True).rows(part)
    >>> rows.tolist(), w.round(3).tolist()
    ([False, True, True], [1.0, 2.718, 7.389])
    """

    ps_params: np.ndarray | None = None
    clip: tuple[float, float] | None = None
    trim: tuple[float, float] | None = None
    weighted: bool = False

    def rows(self, part: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray | None]:
        """Return the comparison rows kept and their weights (None: unweighted)."""
        c = ~part["t"]
        if self.ps_params is None:
            return c, None
        ps_raw, ps, _ = att_odds(part, self.ps_params, self.clip)
        if self.trim is not None:
            c = c & (ps_raw >= self.trim[0]) & (ps_raw <= self.trim[1])
        return c, (ps / (1.0 - ps) if self.weighted else None)


def _standardise(mu: np.ndarray, sd: np.ndarray) -> np.ndarray:
    p = mu.size
    A = np.zeros((p + 1, p + 1))
    A[0, 0] = 1.0
    A[0, 1:] = -mu / sd
    A[1:, 1:] = np.diag(1.0 / sd)
    return A


def _centre_scale(cohort: Any) -> tuple[np.ndarray, np.ndarray]:
    g = cohort._gram
    n = float(g["n"])
    ZZ = g["ZZ"]
    mu = ZZ[0, 1:] / n
    sd = np.sqrt(np.clip(np.diag(ZZ)[1:] / n - mu**2, 0, None))
    sd[sd == 0] = 1.0
    return mu, sd


def _sums(Z_w: np.ndarray, X: np.ndarray, v: np.ndarray, resid: np.ndarray
          ) -> tuple[np.ndarray, np.ndarray]:
    p = X.shape[1]
    g = np.empty(p + 1)
    g[0] = resid.sum()
    g[1:] = X.T @ resid
    H = np.empty((p + 1, p + 1))
    np.multiply(X, np.sqrt(v)[:, None], out=Z_w)
    H[0, 0] = v.sum()
    H[0, 1:] = H[1:, 0] = v @ X
    H[1:, 1:] = Z_w.T @ Z_w
    return g, H


@blockwise
def _logit_pass(part: Mapping[str, Any], params: np.ndarray) -> dict[str, Any]:
    """Log-likelihood, score, information and extreme-score counts of one partition."""
    X, t = part["X"], part["t"]
    y = t.astype(float)
    eta = X @ params[1:] + params[0]
    prob = expit(eta)
    v = prob * (1 - prob)
    g, H = _sums(np.empty_like(X), X, v, y - prob)
    low, high = prob < 1e-10, prob > 1 - 1e-10
    harmless = ~t & low
    return {"ll": float(y @ eta - softplus(eta).sum()), "g": g, "H": H,
            "extreme": int((low | high).sum()), "harmless": int(harmless.sum())}


def _warm_sample(cohort: Any, sel: RowSelection | None = None) -> dict[str, Any]:
    """Return the cohort's evenly spaced row sample (taken while it was built: no pass), restricted to ``sel``'s rows."""
    smp = cohort.sample
    if sel is None:
        return {"X": smp["X"], "t": smp["t"], "Y": smp["Y"], "w": None}
    rows, w = sel.rows(smp)
    return {"X": smp["X"][rows], "t": smp["t"][rows], "Y": smp["Y"][rows],
            "w": None if w is None else w[rows]}


def fit_logit_distributed(cohort: Any, *, tol: float = 1e-10, max_iter: int = 100
                          ) -> LogitFit:
    """Fit the ATT propensity model ``P(t = 1 | x)`` on a distributed cohort.

    The rules of :func:`pbr_eval.models.logit.fit_logit` with
    ``ignorable`` = the comparison units: Newton with step halving in
    centred-and-scaled coordinates; a step inside the quadratic region is
    taken without a line search; converged when the Newton decrement is
    below ``tol`` times the log-likelihood and the step below 1e-6; a warm
    start from an evenly spaced subsample of about 100,000 rows above
    200,000 rows. Comparison units whose score vanishes (below 1e-10) are
    counted in ``n_vanishing``; any other score of 0 or 1 is separation.

    Parameters
    ----------
    cohort : DistributedCohort
    tol : float
    max_iter : int

    Returns
    -------
    LogitFit

    Raises
    ------
    EstimationError
        Separation or no convergence (naming the covariates most involved),
        or a singular design.

    Examples
    --------
    >>> import pbr_eval
    >>> from pbr_eval.datasets import load_reoffending
    >>> sim = load_reoffending()
    >>> roles = {k: v for k, v in sim.cohort_args.items() if k != "cluster"}
    >>> dc = pbr_eval.DistributedCohort(sim.data, npartitions=4, scheduler="synchronous",
    ...                                 **roles)
    >>> from pbr_eval.models.logit import fit_logit
    >>> fit = fit_logit_distributed(dc)
    >>> mem = pbr_eval.Cohort(sim.data, **roles)
    >>> bool(abs(fit.params - fit_logit(mem.X, mem.t.astype(float)).params).max() < 1e-10)
    True
    """
    return run_jobs(cohort, {"logit": logit_job(cohort, tol=tol, max_iter=max_iter)})["logit"]


def logit_job(cohort: Any, *, tol: float = 1e-10, max_iter: int = 100) -> Job:
    """Run the propensity fit of :func:`fit_logit_distributed` as a job of :func:`run_jobs`.

    Each Newton iteration yields one request (``"logit"``: the partitions'
    log-likelihood, score and information at the trial coefficients). Once
    converged it publishes the coefficients (:class:`Publish`), so the
    estimates' first pass can share the pass that gives the state at them,
    and returns the :class:`LogitFit` after the separation check.

    Parameters
    ----------
    cohort : DistributedCohort
    tol, max_iter
        As :func:`fit_logit_distributed`.

    Returns
    -------
    generator
        Returning a :class:`~pbr_eval.models.logit.LogitFit`.

    Raises
    ------
    EstimationError
        As :func:`fit_logit_distributed`.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from pbr_eval.distributed.cohort import DistributedCohort
    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame({"x": rng.normal(size=400), "t": (rng.random(400) < 0.3).astype(int),
    ...                    "y": rng.poisson(1.0, 400)})
    >>> dc = DistributedCohort(df, treatment="t", outcome="y", covariates=["x"], npartitions=2,
    ...                        scheduler="synchronous", min_treated=10)
    >>> got = run_jobs(dc, {"ps": logit_job(dc)})
    >>> bool((got["ps"].params == got["ps.published"]).all())
    True
    """
    names = cohort.design_columns
    n, p = cohort.n, len(names)
    mu, sd = _centre_scale(cohort)
    A = _standardise(mu, sd)
    ybar = cohort.n_treated / n
    beta = np.zeros(p + 1)
    beta[0] = np.log(ybar / (1 - ybar))
    if n > _WARM_START_ROWS:
        s = _warm_sample(cohort)
        try:
            beta = fit_logit(s["X"], s["t"].astype(float), tol=1e-8, max_iter=max_iter,
                             center=mu, scale=sd, _standardised_start=True,
                             ignorable=~s["t"]).params
        except EstimationError:
            pass

    def ask(b_std: np.ndarray) -> dict[str, Any]:
        return {"logit": (_logit_pass, (A @ b_std,))}

    cur = (yield ask(beta))["logit"]
    converged, final_known = False, True
    it = 0
    for it in range(1, max_iter + 1):  # noqa: B007 (reported after the loop)
        score = A.T @ cur["g"]
        info = A.T @ cur["H"] @ A
        ll = cur["ll"]
        try:
            step = np.linalg.solve(info, score)
        except np.linalg.LinAlgError as err:
            if cur["extreme"]:
                break
            raise EstimationError(
                "The propensity model's design is singular: some covariates are collinear. "
                "Remove redundant covariates.") from err
        decrement = float(score @ step) / 2
        if decrement < tol * abs(ll) and np.max(np.abs(step)) < 1e-6:
            beta = beta + step
            converged, final_known = True, False  # the state at beta: asked for below
            break
        if decrement < 1e-3 * abs(ll) and np.max(np.abs(step)) < 0.1:
            beta = beta + step
            cur = (yield ask(beta))["logit"]
            continue
        t = 1.0
        while True:
            new_beta = beta + t * step
            new = (yield ask(new_beta))["logit"]
            if new["ll"] >= ll - 1e-12 * abs(ll) or t < 1e-8:
                break
            t /= 2
        change = abs(new["ll"] - ll) / (abs(ll) + 1e-300)
        beta, cur = new_beta, new
        if change < tol and np.max(np.abs(t * step)) < 1e-6:
            converged = True
            break
    if not converged or not np.all(np.isfinite(beta)):
        raise propensity_separation_error(beta, names, cur["extreme"] - cur["harmless"],
                                          max_iter)
    params = A @ beta
    yield Publish(params)
    if not final_known:
        cur = (yield ask(beta))["logit"]
    n_extreme = cur["extreme"] - cur["harmless"]
    if n_extreme:
        raise propensity_separation_error(beta, names, n_extreme, max_iter)
    info_final = A.T @ cur["H"] @ A  # the information at the estimate, as fit_logit
    try:
        cov = A @ np.linalg.inv(info_final) @ A.T
    except np.linalg.LinAlgError:
        cov = np.full((p + 1, p + 1), np.nan)
    return LogitFit(params=params, cov=cov, n_iter=it, loglik=cur["ll"],
                    n_vanishing=cur["harmless"])


def _inverse_link(family: str, eta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if family == "linear":
        return eta, np.ones_like(eta)
    if family == "logistic":
        mu = expit(eta)
        return mu, mu * (1.0 - mu)
    mu = np.exp(np.clip(eta, -700, 700))
    return mu, mu


@blockwise
def _glm_pass(part: Mapping[str, Any], sel: RowSelection,
              items: Sequence[tuple[int, str, np.ndarray]]) -> dict[str, Any]:
    """Log-likelihood, score and information of several outcome models on one partition.

    ``items`` holds ``(outcome column, family, coefficients)``; every model
    shares the partition's row selection and weights, computed once.
    """
    rows, w = sel.rows(part)
    X = part["X"][rows]
    w = np.ones(X.shape[0]) if w is None else w[rows]
    work = np.empty_like(X)
    out: dict[str, Any] = {"sw": float(w.sum()), "n": int(X.shape[0])}
    for j, family, params in items:
        y = part["Y"][rows, j]
        eta = X @ params[1:] + params[0]
        mu, v = _inverse_link(family, eta)
        if family == "linear":
            ll = 0.0
        elif family == "logistic":
            ll = float(w @ (y * eta - softplus(eta)))
        else:
            ll = float(w @ (y * eta - np.exp(np.clip(eta, -700, 700))))
        g, H = _sums(work, X, w * v, w * (y - mu))
        out[f"ll{j}"], out[f"g{j}"], out[f"H{j}"] = ll, g, H
        out[f"swy{j}"] = float(w @ y)
        out[f"extreme{j}"] = (int(((mu < 1e-10) | (mu > 1 - 1e-10)).sum())
                              if family == "logistic" else 0)
    return out


def fit_glms_distributed(cohort: Any, families: Sequence[str], sel: RowSelection, *,
                         names: Sequence[str] | None = None, tol: float = 1e-10,
                         max_iter: int = 100) -> list[OutcomeFit | EstimationError]:
    """Fit one canonical-link GLM per outcome on the same rows of a distributed cohort, in lockstep.

    Each model follows the rules of :func:`pbr_eval.models.outcome.fit_outcome`:
    the linear model in closed form from the reduced ``Z'WZ`` and ``Z'Wy``;
    logistic and Poisson by Newton with step halving (converged when the
    relative change of the log-likelihood is below ``tol`` and the step
    below 1e-7 in centred-and-scaled coordinates), warm-started from a
    subsample above 200,000 rows. The models advance together, so each pass
    over the partitions serves every outcome still iterating.

    Parameters
    ----------
    cohort : DistributedCohort
    families : sequence of {"linear", "logistic", "poisson"}
        One per outcome, in :attr:`DistributedCohort.outcomes` order.
    sel : RowSelection
        The rows (comparison, after trimming) and case weights.
    names : sequence of str, optional
    tol : float
    max_iter : int

    Returns
    -------
    list of OutcomeFit or EstimationError
        Per outcome, the fit (``information`` is ``Z' diag(w v) Z`` at the
        estimate) or the error the in-memory fit would raise: a singular
        design, a one-valued outcome, separation or no convergence.

    Examples
    --------
    >>> import pbr_eval
    >>> from pbr_eval.datasets import load_reoffending
    >>> sim = load_reoffending()
    >>> roles = {k: v for k, v in sim.cohort_args.items() if k != "cluster"}
    >>> dc = pbr_eval.DistributedCohort(sim.data, npartitions=4, scheduler="synchronous",
    ...                                 **roles)
    >>> fits = fit_glms_distributed(dc, ["logistic", "poisson"], RowSelection())
    >>> [f.family for f in fits], [f.params.size for f in fits]
    (['logistic', 'poisson'], [9, 9])
    """
    return run_jobs(cohort, {"glm": glm_job(cohort, families, sel, names=names, tol=tol,
                                            max_iter=max_iter)})["glm"]


def _plain_first(cohort: Any, k: int) -> dict[str, Any]:
    """Return the linear pass at zero over the comparison rows, from the sums the cohort build kept."""
    g = cohort._gram
    n0 = float(g["ZZ0"][0, 0])
    out: dict[str, Any] = {"sw": n0, "n": int(n0)}
    for j in range(k):
        out[f"H{j}"], out[f"g{j}"], out[f"swy{j}"] = g["ZZ0"], g["ZY0"][:, j], float(g["ZY0"][0, j])
    return out


def glm_job(cohort: Any, families: Sequence[str], sel: RowSelection, *,
            names: Sequence[str] | None = None, tol: float = 1e-10, max_iter: int = 100) -> Job:
    """Run the outcome fits of :func:`fit_glms_distributed` as a job of :func:`run_jobs`.

    The first request (the linear sums at zero: the closed-form linear
    fits and each outcome's mean) is answered by the cohort build's sums
    when the models are fitted on every comparison row without weights, so
    no pass is spent on it; each Newton iteration of the models still
    iterating is then one request (``"glm"``).

    Parameters
    ----------
    cohort : DistributedCohort
    families, sel, names, tol, max_iter
        As :func:`fit_glms_distributed`.

    Returns
    -------
    generator
        Returning the list :func:`fit_glms_distributed` returns.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from pbr_eval.distributed.cohort import DistributedCohort
    >>> x = np.linspace(-1, 1, 300)
    >>> frame = pd.DataFrame({"x": x, "t": (np.arange(300) % 4 == 0).astype(int),
    ...                       "y1": 2 * x, "y2": x ** 2})
    >>> dc = DistributedCohort(frame, treatment="t", outcome=["y1", "y2"], covariates=["x"],
    ...                        scheduler="synchronous", min_treated=10)
    >>> before = dc.passes
    >>> fits = run_jobs(dc, {"m": glm_job(dc, ["linear", "linear"], RowSelection())})["m"]
    >>> dc.passes - before, [f.family for f in fits]
    (0, ['linear', 'linear'])
    """
    names = list(names or cohort.design_columns)
    p = len(cohort.design_columns)
    k = len(families)
    mu_x, sd_x = _centre_scale(cohort)
    A = _standardise(mu_x, sd_x)
    zero = np.zeros(p + 1)
    if sel.ps_params is None:
        first = _plain_first(cohort, k)
    else:
        first = (yield {"glm": (_glm_pass, (sel, [(j, "linear", zero) for j in range(k)]))})["glm"]
    out: list[Any] = [None] * k
    beta: dict[int, np.ndarray] = {}
    for j, family in enumerate(families):
        singular = EstimationError(
            f"The {family} outcome model's design is singular among the units it is fitted on: "
            f"some of the covariates ({', '.join(map(repr, names[:8]))}) are collinear or "
            "constant there. Remove redundant covariates.")
        if family == "linear":
            # at coefficients 0 the linear pass gives H = Z'WZ and g = Z'Wy
            info_s = A.T @ first[f"H{j}"] @ A
            try:
                b = np.linalg.solve(info_s, A.T @ first[f"g{j}"])
            except np.linalg.LinAlgError:
                out[j] = singular
                continue
            out[j] = (singular if np.linalg.cond(info_s) > 1e13
                      else OutcomeFit("linear", A @ b, first[f"H{j}"], n_iter=0))
            continue
        ybar = first[f"swy{j}"] / first["sw"]
        if family == "logistic" and not 0 < ybar < 1:
            out[j] = EstimationError(
                "The binary outcome takes only one value among the units the outcome model is "
                "fitted on, so a logistic model cannot be fitted; use outcome_model='linear'.")
            continue
        if family == "poisson" and ybar <= 0:
            out[j] = EstimationError(
                "The count outcome is zero for every unit the outcome model is fitted on; a "
                "Poisson model cannot be fitted. Use outcome_model='linear'.")
            continue
        b = np.zeros(p + 1)
        b[0] = np.log(ybar / (1 - ybar)) if family == "logistic" else np.log(ybar)
        beta[j] = b
    if not beta:
        return out
    if first["n"] > _WARM_START_ROWS:
        s = _warm_sample(cohort, sel)
        for j in beta:
            try:
                warm = fit_outcome(s["X"], s["Y"][:, j], families[j], weights=s["w"], tol=tol)
                if warm.params is not None:
                    beta[j] = np.linalg.solve(A, warm.params)
            except EstimationError:
                pass

    def ask(trial: dict[int, np.ndarray]) -> dict[str, Any]:
        return {"glm": (_glm_pass, (sel, [(j, families[j], A @ b) for j, b in trial.items()]))}

    got = (yield ask(beta))["glm"]
    cur = {j: {key: got[f"{key}{j}"] for key in ("ll", "g", "H", "extreme")} for j in beta}
    state: dict[int, dict[str, Any]] = {}

    def new_step(j: int) -> bool:
        score, info = A.T @ cur[j]["g"], A.T @ cur[j]["H"] @ A
        try:
            step = np.linalg.solve(info, score)
        except np.linalg.LinAlgError:
            out[j] = EstimationError(
                f"The {families[j]} outcome model's design is singular among the units it is "
                f"fitted on: some of the covariates ({', '.join(map(repr, names[:8]))}) are "
                "collinear or constant there. Remove redundant covariates.")
            return False
        state[j]["step"], state[j]["s"] = step, 1.0
        state[j]["it"] += 1
        return True

    active = []
    for j in beta:
        state[j] = {"it": 0, "converged": False}
        if new_step(j):
            active.append(j)
    while active:
        got = (yield ask({j: beta[j] + state[j]["s"] * state[j]["step"] for j in active}))["glm"]
        still = []
        for j in active:
            st, ll = state[j], cur[j]["ll"]
            new = {key: got[f"{key}{j}"] for key in ("ll", "g", "H", "extreme")}
            if not (new["ll"] >= ll - 1e-12 * abs(ll) or st["s"] < 1e-8):
                st["s"] /= 2
                still.append(j)
                continue
            change = abs(new["ll"] - ll) / (abs(ll) + 1e-300)
            beta[j] = beta[j] + st["s"] * st["step"]
            cur[j] = new
            if change < tol and np.max(np.abs(st["s"] * st["step"])) < 1e-7:
                st["converged"] = True
            elif st["it"] < max_iter and new_step(j):
                still.append(j)
        active = still
    for j, b in beta.items():
        if out[j] is not None:
            continue
        c = cur[j]
        if c["extreme"] or not state[j]["converged"] or not np.all(np.isfinite(b)):
            out[j] = outcome_separation_error(families[j], b, names, c["extreme"], max_iter)
            continue
        out[j] = OutcomeFit(families[j], A @ b, c["H"], n_iter=state[j]["it"])
    return out
