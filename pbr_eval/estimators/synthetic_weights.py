"""Synthetic control and synthetic difference-in-differences: the numbers.

Pure functions over an outcome matrix ``Y`` (units by periods) whose first
``N0`` rows are the comparison units and first ``T0`` columns the periods
before the programme, following Arkhangelsky, Athey, Hirshberg, Imbens &
Wager (2021) as implemented in the R package ``synthdid``:

* unit weights ``omega`` (on the simplex, with an intercept) make the
  comparison units' pre-programme path match the treated units' up to a
  constant, with a ridge penalty ``zeta_omega^2 T0 ||omega||^2``,
  ``zeta_omega = (N1 T1)^(1/4) sigma`` (``sigma``: the standard deviation of
  the comparison units' period-to-period changes before the programme);
* time weights ``lambda`` (on the simplex, with an intercept) make the
  weighted pre-programme periods predict the post-programme average of the
  comparison units (penalty ``zeta_lambda = 1e-6 sigma``);
* both are found by Frank-Wolfe, then "sparsified" (weights below a quarter
  of the largest set to 0) and refined, as ``synthdid`` does;
* the estimate is ``(-omega, 1/N1)' Y (-lambda, 1/T1)``: a weighted
  difference-in-differences.

Synthetic control (Abadie, Diamond & Hainmueller 2010, in ``synthdid``'s
form ``sc_estimate``) uses unit weights without intercept and a negligible
penalty and no time weights; difference-in-differences uses equal weights.

Standard errors (Arkhangelsky et al. 2021, section 5): ``placebo`` (any
number of treated units; needed with one): re-estimate with randomly chosen
comparison units playing the treated, ``sqrt((r - 1) / r)`` times the
standard deviation of those estimates; ``jackknife`` (two or more treated
units): leave each unit out with the weights held fixed.

Checked against synthdid-py 0.1.0 (a port of R ``synthdid``) on California's
Proposition 99: estimates (-15.604, -19.620, -27.349, as published), weights and
effect curves to 1e-7, jackknife standard errors to 1e-7
(``tests/reference/synthdid/``). The estimators reachable through
:func:`pbr_eval.estimate` are in :mod:`pbr_eval.estimators.synthetic`.
Frank-Wolfe runs ``synthdid``'s up to 10,000 iterations per weight vector; the
placebo replications run side by side (:func:`fw_weights_batch`: one
vectorised iteration for all of them), so 200 placebos cost a few fits.

References
----------
Arkhangelsky, D., Athey, S., Hirshberg, D. A., Imbens, G. W. & Wager, S.
(2021). Synthetic difference-in-differences. American Economic Review
111(12), 4088-4118.
Abadie, A., Diamond, A. & Hainmueller, J. (2010). Synthetic control methods
for comparative case studies. Journal of the American Statistical
Association 105(490), 493-505.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pbr_eval.exceptions import EstimationError

__all__ = ["SynthFit", "synth_fit", "placebo_se", "jackknife_se", "SYNTH_METHODS",
           "fw_weights", "fw_weights_batch", "placebo_estimates"]

SYNTH_METHODS = ("sdid", "sc", "did")


@dataclass(frozen=True)
class SynthFit:
    """One fit: the estimate, the weights and the treated units' non-intervention path.

    Attributes
    ----------
    estimate : float
    omega : numpy.ndarray, shape (N0,)
        Comparison units' weights.
    lambda_ : numpy.ndarray, shape (T0,)
        Pre-programme periods' weights (zeros for synthetic control).
    observed : numpy.ndarray, shape (T,)
        The treated units' mean outcome in each period.
    counterfactual : numpy.ndarray, shape (T,)
        Their estimated outcome without the programme: the weighted
        comparison path plus the pre-programme gap (``lambda``-weighted; no
        gap for synthetic control).
    """

    estimate: float
    omega: np.ndarray
    lambda_: np.ndarray
    observed: np.ndarray
    counterfactual: np.ndarray
    method: str
    N0: int
    T0: int


def fw_weights(Y: np.ndarray, zeta: float, *, intercept: bool = True, start: np.ndarray | None = None,
               min_decrease: float = 1e-3, max_iter: int = 1000) -> np.ndarray:
    """Simplex weights ``w`` minimising ``zeta^2 ||w||^2 + ||Y[:, :-1] w - Y[:, -1]||^2 / rows``.

    Frank-Wolfe with exact line search, as ``synthdid``'s ``sc.weight.fw``:
    the last column of ``Y`` is the target, the others the candidates; with
    ``intercept`` the columns are centred first. It stops when an iteration
    lowers the objective by less than ``min_decrease^2`` or after
    ``max_iter`` iterations. Each step moves towards one vertex, so ``A w``
    and ``A'A w`` are updated in O(rows + candidates) instead of recomputed.

    Examples
    --------
    >>> import numpy as np
    >>> Y = np.array([[1.0, 3.0, 2.0], [2.0, 4.0, 3.0], [0.0, 2.0, 1.0]])
    >>> fw_weights(Y, 1e-6, intercept=False, min_decrease=1e-9).round(3).tolist()
    [0.5, 0.5]
    """
    rows, cols = Y.shape
    k = cols - 1
    w = np.full(k, 1.0 / k) if start is None else np.asarray(start, dtype=float).copy()
    if intercept:
        Y = Y - Y.mean(axis=0)
    A, b = Y[:, :k], Y[:, k]
    eta = rows * zeta**2
    G = A.T @ A
    Atb = A.T @ b
    Gw = G @ w
    Aw = A @ w
    wGw = float(w @ Gw)
    wAtb = float(w @ Atb)
    ww = float(w @ w)
    btb = float(b @ b)
    diag = np.diag(G).copy()
    prev = prev2 = np.inf
    tol = min_decrease**2
    for t in range(max_iter):
        if t >= 2 and prev2 - prev <= tol:
            break
        half_grad = Gw - Atb + eta * w
        i = int(np.argmin(half_grad))
        # direction e_i - w: d'(Aw - b), ||A d||^2 and w'd, d'd in closed form
        wi = w[i]
        d_res = float(Gw[i] - Atb[i]) - (wGw - wAtb)
        dAd = float(diag[i] - 2 * Gw[i] + wGw)
        w_dot_d = wi - ww
        dd = 1.0 - 2 * wi + ww
        if dd <= 0:
            step = 0.0
        else:
            den = dAd + eta * dd
            step = 0.0 if den <= 0 else min(1.0, max(0.0, -(d_res + eta * w_dot_d) / den))
        if step > 0:
            s1 = 1.0 - step
            Gi = G[:, i]
            wGw = s1 * s1 * wGw + 2 * step * s1 * float(Gw[i]) + step * step * float(diag[i])
            wAtb = s1 * wAtb + step * float(Atb[i])
            ww = s1 * s1 * ww + 2 * step * s1 * wi + step * step
            Gw = s1 * Gw + step * Gi
            Aw = s1 * Aw + step * A[:, i]
            w = s1 * w
            w[i] += step
        val = zeta**2 * ww + (wGw - 2 * wAtb + btb) / rows
        prev2, prev = prev, val
    return w


def fw_weights_batch(Y: np.ndarray, zeta: np.ndarray, *, intercept: bool = True,
                     start: np.ndarray | None = None, min_decrease: np.ndarray | float = 1e-3,
                     max_iter: int = 1000) -> np.ndarray:
    """:func:`fw_weights` for ``R`` problems of one shape at once (placebo replications).

    ``Y`` has shape (R, rows, cols) and ``zeta`` / ``min_decrease`` one value per
    problem; each problem takes the same steps as :func:`fw_weights` would and
    stops by the same rule (its weights are then left alone), so the results
    equal the one-at-a-time ones up to the order of floating-point sums.

    Parameters
    ----------
    Y : numpy.ndarray, shape (R, rows, cols)
        One problem per leading index: the last column is the target.
    zeta : numpy.ndarray, shape (R,)
        Ridge penalties.
    intercept : bool, default True
    start : numpy.ndarray, shape (R, cols - 1), optional
        Starting weights (default: equal).
    min_decrease : float or numpy.ndarray, default 1e-3
        Stopping rule per problem, as :func:`fw_weights`.
    max_iter : int, default 1000

    Returns
    -------
    numpy.ndarray, shape (R, cols - 1)
        The weights, one row per problem.

    Examples
    --------
    >>> import numpy as np
    >>> Y = np.array([[1.0, 3.0, 2.0], [2.0, 4.0, 3.0], [0.0, 2.0, 1.0]])
    >>> fw_weights_batch(np.stack([Y, Y]), np.array([1e-6, 1e-6]), intercept=False,
    ...                  min_decrease=1e-9).round(3).tolist()
    [[0.5, 0.5], [0.5, 0.5]]
    """
    Y = np.asarray(Y, dtype=float)
    R, rows, cols = Y.shape
    k = cols - 1
    zeta = np.broadcast_to(np.asarray(zeta, dtype=float), (R,))
    tol = np.broadcast_to(np.asarray(min_decrease, dtype=float), (R,)) ** 2
    w = np.full((R, k), 1.0 / k) if start is None else np.array(start, dtype=float)
    if intercept:
        Y = Y - Y.mean(axis=1, keepdims=True)
    A, b = Y[:, :, :k], Y[:, :, k]
    eta = rows * zeta**2
    G = np.einsum("rni,rnj->rij", A, A)
    Atb = np.einsum("rni,rn->ri", A, b)
    Gw = np.einsum("rij,rj->ri", G, w)
    wGw = np.einsum("ri,ri->r", w, Gw)
    wAtb = np.einsum("ri,ri->r", w, Atb)
    ww = np.einsum("ri,ri->r", w, w)
    btb = np.einsum("rn,rn->r", b, b)
    diag = np.einsum("rii->ri", G).copy()
    prev = np.full(R, np.inf)
    prev2 = np.full(R, np.inf)
    active = np.ones(R, dtype=bool)
    rr = np.arange(R)
    zeta2 = zeta**2
    # A finished problem takes steps of 0, which leave its state exactly as it was
    # (1 * x + 0 * y == x), so its objective stays put and it stays finished.
    for t in range(max_iter):
        if t >= 2:
            active &= prev2 - prev > tol
            if not active.any():
                break
        i = np.argmin(Gw - Atb + eta[:, None] * w, axis=1)
        wi = w[rr, i]
        Gwi, Atbi, di = Gw[rr, i], Atb[rr, i], diag[rr, i]
        dd = 1.0 - 2 * wi + ww
        den = (di - 2 * Gwi + wGw) + eta * dd
        with np.errstate(divide="ignore", invalid="ignore"):
            raw = -(((Gwi - Atbi) - (wGw - wAtb)) + eta * (wi - ww)) / den
        ok = active & (dd > 0) & (den > 0)
        step = np.where(ok, np.clip(raw, 0.0, 1.0), 0.0)
        s1 = 1.0 - step
        wGw = s1 * s1 * wGw + 2 * step * s1 * Gwi + step * step * di
        wAtb = s1 * wAtb + step * Atbi
        ww = s1 * s1 * ww + 2 * step * s1 * wi + step * step
        Gw = s1[:, None] * Gw + step[:, None] * G[rr, :, i]
        w = s1[:, None] * w
        w[rr, i] += step
        prev2 = prev
        prev = zeta2 * ww + (wGw - 2 * wAtb + btb) / rows
    return w


def _sparsify(v: np.ndarray) -> np.ndarray:
    v = v.copy()
    v[v <= v.max() / 4] = 0.0
    return v / v.sum()


def _fw_sparsified(Y: np.ndarray, zeta: float, *, intercept: bool, min_decrease: float,
                   max_iter: int) -> np.ndarray:
    """``synthdid``'s two stages: 100 Frank-Wolfe steps, sparsify, then refine to convergence."""
    w = fw_weights(Y, zeta, intercept=intercept, min_decrease=min_decrease, max_iter=100)
    return fw_weights(Y, zeta, intercept=intercept, start=_sparsify(w),
                      min_decrease=min_decrease, max_iter=max_iter)


def _collapsed(Y: np.ndarray, N0: int, T0: int) -> np.ndarray:
    """(N0 + 1) x (T0 + 1): comparison units and the treated mean; pre periods and the post mean."""
    top = np.column_stack([Y[:N0, :T0], Y[:N0, T0:].mean(axis=1)])
    bottom = np.r_[Y[N0:, :T0].mean(axis=0), Y[N0:, T0:].mean()]
    return np.vstack([top, bottom])


def noise_level(Y: np.ndarray, N0: int, T0: int) -> float:
    """Return standard deviation of the comparison units' period-to-period changes before the programme."""
    if T0 < 2:
        return 0.0
    return float(np.std(np.diff(Y[:N0, :T0], axis=1), ddof=1))


def synth_fit(Y: np.ndarray, N0: int, T0: int, *, method: str = "sdid",
              omega: np.ndarray | None = None, lambda_: np.ndarray | None = None,
              max_iter: int = 10_000) -> SynthFit:
    """Fit synthetic DiD, synthetic control or DiD (``synthdid``'s defaults).

    Parameters
    ----------
    Y : numpy.ndarray, shape (N, T)
        Comparison units first (``N0`` rows), then the treated; periods before
        the programme first (``T0`` columns).
    N0, T0 : int
    method : {"sdid", "sc", "did"}
    omega, lambda_ : numpy.ndarray, optional
        Fixed weights (no optimisation), e.g. for the jackknife.
    max_iter : int

    Returns
    -------
    SynthFit

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> Y = rng.normal(size=(30, 1)) + np.arange(10) + rng.normal(scale=0.1, size=(30, 10))
    >>> Y[-2:, 7:] += 5.0             # two treated units, 3 periods after the start
    >>> fit = synth_fit(Y, 28, 7)
    >>> bool(abs(fit.estimate - 5.0) < 0.3)
    True
    """
    Y = np.asarray(Y, dtype=float)
    N, T = Y.shape
    N1, T1 = N - N0, T - T0
    if N0 < 1 or N1 < 1 or T0 < 1 or T1 < 1:
        raise EstimationError(
            f"Synthetic control needs comparison and treated units and periods before and after "
            f"the start; got {N0} comparison, {N1} treated, {T0} before, {T1} after.")
    sigma = noise_level(Y, N0, T0)
    Yc = _collapsed(Y, N0, T0)
    min_decrease = 1e-5 * sigma if sigma > 0 else 1e-8
    if method == "did":
        om = np.full(N0, 1.0 / N0) if omega is None else omega
        lam = np.full(T0, 1.0 / T0) if lambda_ is None else lambda_
    elif method == "sc":
        lam = np.zeros(T0)
        om = _fw_sparsified(Yc[:, :T0].T, 1e-6 * sigma, intercept=False,
                            min_decrease=min_decrease, max_iter=max_iter) \
            if omega is None else omega
    elif method == "sdid":
        lam = _fw_sparsified(Yc[:N0, :], 1e-6 * sigma, intercept=True,
                             min_decrease=min_decrease, max_iter=max_iter) \
            if lambda_ is None else lambda_
        om = _fw_sparsified(Yc[:, :T0].T, (N1 * T1) ** 0.25 * sigma, intercept=True,
                            min_decrease=min_decrease, max_iter=max_iter) \
            if omega is None else omega
    else:
        raise EstimationError(f"`method` must be one of {', '.join(map(repr, SYNTH_METHODS))}; "
                              f"got {method!r}.")
    u = np.r_[-om, np.full(N1, 1.0 / N1)]
    v = np.r_[-lam, np.full(T1, 1.0 / T1)]
    est = float(u @ Y @ v)
    observed = Y[N0:].mean(axis=0)
    synth = om @ Y[:N0]
    gap = float(lam @ (observed[:T0] - synth[:T0])) if lam.sum() > 0 else 0.0
    return SynthFit(estimate=est, omega=om, lambda_=lam, observed=observed,
                    counterfactual=synth + gap, method=method, N0=N0, T0=T0)


def _sparsify_rows(V: np.ndarray) -> np.ndarray:
    V = V.copy()
    V[V <= V.max(axis=1, keepdims=True) / 4] = 0.0
    return V / V.sum(axis=1, keepdims=True)


def _fw_sparsified_batch(Y: np.ndarray, zeta: np.ndarray, *, intercept: bool,
                         min_decrease: np.ndarray, max_iter: int) -> np.ndarray:
    w = fw_weights_batch(Y, zeta, intercept=intercept, min_decrease=min_decrease, max_iter=100)
    return fw_weights_batch(Y, zeta, intercept=intercept, start=_sparsify_rows(w),
                            min_decrease=min_decrease, max_iter=max_iter)


def placebo_estimates(Y: np.ndarray, N0: int, T0: int, *, method: str = "sdid",
                      replications: int = 200, seed: int | np.random.SeedSequence | None = None,
                      max_iter: int = 10_000) -> np.ndarray:
    """Estimates of ``replications`` placebo panels, fitted side by side.

    Each placebo permutes the ``N0`` comparison units (``rng.permutation``,
    one draw per replication, in order) and lets the last ``N1`` of them play
    the treated; its weights are re-fitted as :func:`synth_fit` would
    (:func:`fw_weights_batch`), so each estimate equals
    ``synth_fit(Y[:N0][perm], N0 - N1, T0, method=method).estimate``.

    Parameters
    ----------
    Y : numpy.ndarray, shape (N, T)
        As :func:`synth_fit`: comparison units first.
    N0, T0 : int
    method : {"sdid", "sc", "did"}
    replications : int, default 200
    seed : int or numpy.random.SeedSequence, optional
    max_iter : int, default 10000

    Returns
    -------
    numpy.ndarray, shape (replications,)
        The placebo estimates.

    Raises
    ------
    EstimationError
        No more comparison than treated units, or an unknown ``method``.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> Y = rng.normal(size=(12, 1)) + np.arange(8) + rng.normal(scale=0.3, size=(12, 8))
    >>> placebo_estimates(Y, 11, 6, replications=5, seed=1).shape
    (5,)
    """
    Y = np.asarray(Y, dtype=float)
    N1 = Y.shape[0] - N0
    if N0 <= N1:
        raise EstimationError(
            f"Placebo standard errors need more comparison units ({N0}) than treated ({N1}).")
    if method not in SYNTH_METHODS:
        raise EstimationError(f"`method` must be one of {', '.join(map(repr, SYNTH_METHODS))}; "
                              f"got {method!r}.")
    rng = np.random.default_rng(seed)
    Yc = Y[:N0]
    P = np.stack([Yc[rng.permutation(N0)] for _ in range(replications)])  # (R, N0, T)
    n0 = N0 - N1
    T = Y.shape[1]
    T1 = T - T0
    R = replications
    sig = np.diff(P[:, :n0, :T0], axis=2).reshape(R, -1).std(axis=1, ddof=1) if T0 >= 2 \
        else np.zeros(R)
    mind = np.where(sig > 0, 1e-5 * sig, 1e-8)
    # collapsed (n0 + 1) x (T0 + 1) panels, as _collapsed
    top = np.concatenate([P[:, :n0, :T0], P[:, :n0, T0:].mean(axis=2, keepdims=True)], axis=2)
    bottom = np.concatenate([P[:, n0:, :T0].mean(axis=1),
                             P[:, n0:, T0:].mean(axis=(1, 2))[:, None]], axis=1)
    Yc_all = np.concatenate([top, bottom[:, None, :]], axis=1)
    if method == "did":
        om = np.full((R, n0), 1.0 / n0)
        lam = np.full((R, T0), 1.0 / T0)
    elif method == "sc":
        lam = np.zeros((R, T0))
        om = _fw_sparsified_batch(np.transpose(Yc_all[:, :, :T0], (0, 2, 1)), 1e-6 * sig,
                                  intercept=False, min_decrease=mind, max_iter=max_iter)
    else:
        lam = _fw_sparsified_batch(Yc_all[:, :n0, :], 1e-6 * sig, intercept=True,
                                   min_decrease=mind, max_iter=max_iter)
        om = _fw_sparsified_batch(np.transpose(Yc_all[:, :, :T0], (0, 2, 1)),
                                  (N1 * T1) ** 0.25 * sig, intercept=True, min_decrease=mind,
                                  max_iter=max_iter)
    u = np.concatenate([-om, np.full((R, N1), 1.0 / N1)], axis=1)
    v = np.concatenate([-lam, np.full((R, T1), 1.0 / T1)], axis=1)
    return np.einsum("rn,rnt,rt->r", u, P, v)


def placebo_se(Y: np.ndarray, N0: int, T0: int, *, method: str = "sdid", replications: int = 200,
               seed: int | np.random.SeedSequence | None = None) -> tuple[float, np.ndarray]:
    """Placebo standard error: comparison units drawn at random play the treated.

    ``N1`` of the ``N0`` comparison units are drawn without replacement and
    placed last; the estimator (weights re-fitted) is applied to the
    comparison units alone (:func:`placebo_estimates`). Returns
    ``sqrt((r - 1) / r) * sd(estimates)`` and the estimates.
    """
    ests = placebo_estimates(Y, N0, T0, method=method, replications=replications, seed=seed)
    return float(np.sqrt((replications - 1) / replications) * ests.std(ddof=1)), ests


def jackknife_se(Y: np.ndarray, N0: int, T0: int, fit: SynthFit) -> float:
    """Jackknife standard error with the weights held fixed (needs two or more treated units).

    Leaving out a comparison unit renormalises the remaining unit weights;
    leaving out a treated unit drops it from the treated mean (Arkhangelsky
    et al. 2021, Algorithm 3). NaN when it is not defined (one treated unit,
    or one comparison unit carrying all the weight), as in ``synthdid``.
    """
    N = Y.shape[0]
    N1 = N - N0
    if N1 < 2 or np.count_nonzero(fit.omega) == 1:
        return float("nan")
    ests = np.empty(N)
    for i in range(N):
        keep = np.r_[:i, i + 1:N]
        n0 = N0 - (1 if i < N0 else 0)
        om = fit.omega if i >= N0 else np.delete(fit.omega, i)
        if om.sum() <= 0:
            return float("nan")
        ests[i] = synth_fit(Y[keep], n0, T0, method=fit.method, omega=om / om.sum(),
                            lambda_=fit.lambda_).estimate
    return float(np.sqrt((N - 1) / N * ((ests - ests.mean()) ** 2).sum()))
