"""Cross-checks for staggered adoption: two-way fixed effects, Sun & Abraham, Borusyak et al.

Pure functions over a balanced panel in wide form. In a balanced panel every
regressor of these three estimators is a function of (wave, period), so their
coefficients equal those of the same regression on the wave-by-period means
weighted by wave size (the unit effects average to wave effects): the work
does not grow with the number of units. Each estimate is then a linear
function ``sum_{g,t} c_gt * M_gt`` of the wave-period means ``M``, and its
influence function is ``n * c_{g(i),t} (Y_it - M_{g(i),t}) / n_g`` summed over
``t``: a standard error that is valid whether or not the regression's model is
right, clustered by unit (or by any coarser cluster).

* :func:`twfe` - the static two-way fixed effects coefficient on "treated
  now" (``y ~ unit + period + D_it``). With effects that differ by wave and
  grow with exposure it is biased, even of the wrong sign, because it uses
  already-treated units as controls (Goodman-Bacon 2021; de Chaisemartin &
  D'Haultfoeuille 2020).
* :func:`sun_abraham` - the interaction-weighted estimator (Sun & Abraham
  2021): wave x relative-period interactions (all but ``e = -1 - anticipation``)
  with unit and period effects, the never-treated (or else the last-treated
  wave, with the periods from its start dropped) as the control wave, then
  averaged over waves with their sample shares.
* :func:`imputation` - the imputation estimator (Borusyak, Jaravel & Spiess
  2024): unit and period effects fitted on untreated observations only
  (never-treated, and treated units before ``g - anticipation``), the
  treated observations' untreated outcomes imputed, and their differences
  averaged.

None of them takes covariates here (they are unconditional cross-checks of the
Callaway & Sant'Anna estimates).

References
----------
Sun, L. & Abraham, S. (2021). Estimating dynamic treatment effects in event
studies with heterogeneous treatment effects. Journal of Econometrics 225(2),
175-199.
Borusyak, K., Jaravel, X. & Spiess, J. (2024). Revisiting event-study
designs: robust and efficient estimation. Review of Economic Studies 91(6),
3253-3285.
Goodman-Bacon, A. (2021). Difference-in-differences with variation in
treatment timing. Journal of Econometrics 225(2), 254-277.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pbr_eval.exceptions import EstimationError

__all__ = ["WaveMeans", "wave_means", "LinearEstimate", "twfe", "sun_abraham", "imputation"]


@dataclass(frozen=True)
class WaveMeans:
    """Wave-by-period means of a balanced panel.

    Attributes
    ----------
    waves : numpy.ndarray
        Wave (first-treatment period index into ``periods``) of each row of
        ``M``; ``T`` (= number of periods) marks the never treated.
    M : numpy.ndarray, shape (n_waves, T)
    counts : numpy.ndarray, shape (n_waves,)
    unit_wave : numpy.ndarray, shape (n,)
        Row of ``M`` each unit belongs to.
    resid : numpy.ndarray, shape (n, T)
        ``Y_it - M_{wave(i), t}``.
    """

    waves: np.ndarray
    M: np.ndarray
    counts: np.ndarray
    unit_wave: np.ndarray
    resid: np.ndarray

    @property
    def T(self) -> int:  # noqa: N802 (the panel's number of periods, as in the papers)
        """Number of periods."""
        return int(self.M.shape[1])


@dataclass(frozen=True)
class LinearEstimate:
    """Estimates that are linear in the wave-period means, with influence functions."""

    labels: np.ndarray
    estimate: np.ndarray
    C: np.ndarray  # (n_est, n_waves, T) coefficients on M

    def psi(self, wm: WaveMeans) -> np.ndarray:
        """Return unit influence functions (n, n_est): ``n c_{g(i),t} (Y_it - M) / n_g`` summed over t."""
        n = wm.unit_wave.size
        coef = self.C[:, wm.unit_wave, :] * (n / wm.counts[wm.unit_wave])[None, :, None]
        return np.einsum("kit,it->ik", coef, wm.resid)


def wave_means(Y: np.ndarray, wave: np.ndarray) -> WaveMeans:
    """Wave-by-period means (``wave``: first-treatment period index, ``T`` = never treated)."""
    waves, unit_wave = np.unique(wave, return_inverse=True)
    counts = np.bincount(unit_wave).astype(float)
    T = Y.shape[1]
    M = np.zeros((waves.size, T))
    np.add.at(M, unit_wave, Y)
    M /= counts[:, None]
    return WaveMeans(waves=waves, M=M, counts=counts, unit_wave=unit_wave, resid=Y - M[unit_wave])


def _linear(fn, shape: tuple[int, int]) -> np.ndarray:
    """Coefficients of a linear function of an (n_waves, T) array (it maps zeros to zeros)."""
    base = np.asarray(fn(np.zeros(shape)), dtype=float)
    out = np.zeros((base.size, *shape))
    for j in range(shape[0]):
        for t in range(shape[1]):
            e = np.zeros(shape)
            e[j, t] = 1.0
            out[:, j, t] = np.asarray(fn(e), dtype=float) - base
    return out


def _cell_regression(M: np.ndarray, w: np.ndarray, Z: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Weighted LS of the cell means on wave effects, period effects and the columns ``Z``.

    ``Z`` is (n_cells, q) over the flattened (wave, period) cells; ``keep``
    masks the cells used. Returns the coefficients on ``Z``.
    """
    nw, T = M.shape
    wave_d = np.repeat(np.eye(nw), T, axis=0)
    per_d = np.tile(np.eye(T), (nw, 1))[:, 1:]
    X = np.column_stack([wave_d, per_d, Z])[keep]
    y = M.ravel()[keep]
    sw = np.sqrt(np.repeat(w, T)[keep])
    beta, *_ = np.linalg.lstsq(X * sw[:, None], y * sw, rcond=None)
    return beta[-Z.shape[1]:]


def twfe(wm: WaveMeans, *, anticipation: int = 0) -> LinearEstimate:
    """Return static two-way fixed effects: the coefficient on ``D_it = 1{t >= g - anticipation}``."""
    T = wm.T
    t = np.arange(T)
    D = ((t[None, :] >= (wm.waves[:, None] - anticipation)) & (wm.waves[:, None] < T))
    Z = D.astype(float).ravel()[:, None]
    keep = np.ones(Z.shape[0], dtype=bool)
    if not D.any() or D.all():
        raise EstimationError("Two-way fixed effects needs treated and untreated observations.")

    def fn(M: np.ndarray) -> np.ndarray:
        return _cell_regression(M, wm.counts, Z, keep)

    C = _linear(fn, wm.M.shape)
    return LinearEstimate(labels=np.array(["overall"]), estimate=fn(wm.M), C=C)


def sun_abraham(wm: WaveMeans, *, anticipation: int = 0) -> tuple[LinearEstimate, LinearEstimate]:
    """Sun & Abraham's interaction-weighted event study and its overall post-period average.

    Returns
    -------
    event : LinearEstimate
        One estimate per relative period ``e`` (labels), the wave-share-weighted
        average of the wave x ``e`` interactions.
    overall : LinearEstimate
        The wave-size-weighted average of the interactions over all
        post-treatment wave-periods (comparable to Callaway & Sant'Anna's
        ``"simple"`` aggregation).
    """
    T = wm.T
    treated = wm.waves < T
    if treated.all():
        ctrl = int(np.argmax(wm.waves))  # last-treated wave as control
        last_g = int(wm.waves[ctrl])
        max_t = last_g - anticipation  # periods from its (anticipated) start are dropped
    else:
        ctrl = int(np.flatnonzero(~treated)[0])
        max_t = T
    ref = -1 - anticipation
    cols: list[tuple[int, int]] = []  # (wave row, e)
    for j in np.flatnonzero(treated).tolist():
        if j == ctrl:
            continue
        g = int(wm.waves[j])
        for t in range(max_t):
            e = t - g
            if e != ref:
                cols.append((int(j), e))
    if not cols:
        raise EstimationError("Sun & Abraham's estimator has no wave-period to estimate.")
    nw = wm.M.shape[0]
    Z = np.zeros((nw * T, len(cols)))
    for q, (j, e) in enumerate(cols):
        Z[j * T + wm.waves[j] + e, q] = 1.0
    keep = np.tile(np.arange(T) < max_t, nw)
    keep &= np.repeat(np.array([treated[j] and j != ctrl for j in range(nw)]) | (np.arange(nw) == ctrl), T)

    def coefs(M: np.ndarray) -> np.ndarray:
        return _cell_regression(M, wm.counts, Z, keep)

    Cq = _linear(coefs, wm.M.shape)
    b = coefs(wm.M)
    es = np.array(sorted({e for _, e in cols}))
    W_event = np.zeros((es.size, len(cols)))
    for q, (j, e) in enumerate(cols):
        W_event[np.searchsorted(es, e), q] = wm.counts[j]
    W_event /= W_event.sum(axis=1, keepdims=True)
    post = np.array([e >= 0 for _, e in cols])
    w_all = np.array([wm.counts[j] for j, _ in cols]) * post
    w_all = w_all / w_all.sum()
    event = LinearEstimate(labels=es, estimate=W_event @ b, C=np.einsum("kq,qjt->kjt", W_event, Cq))
    overall = LinearEstimate(labels=np.array(["overall"]), estimate=np.array([w_all @ b]),
                             C=np.einsum("q,qjt->jt", w_all, Cq)[None])
    return event, overall


def imputation(wm: WaveMeans, *, anticipation: int = 0) -> tuple[LinearEstimate, LinearEstimate]:
    """Borusyak, Jaravel & Spiess's imputation estimator: event study and overall average.

    Unit and period effects are fitted on the untreated observations (every
    period of never-treated units; periods before ``g - anticipation`` of
    wave ``g``); for each treated observation (``t >= g``) the untreated
    outcome is imputed as ``alpha_i + lambda_t``. By wave, the unit effects
    average to ``mean_{s in S_g}(M_gs - lambda_s)`` over the wave's untreated
    periods ``S_g``, so the estimates depend on the data through ``M`` only.

    Returns
    -------
    event : LinearEstimate
        Average effect by periods since entry ``e >= 0`` (wave-size weighted).
    overall : LinearEstimate
        Average over every treated observation.
    """
    T = wm.T
    nw = wm.M.shape[0]
    t = np.arange(T)
    untreated = t[None, :] < (wm.waves[:, None] - anticipation)  # never treated: waves == T
    untreated[wm.waves == T] = True
    cells: list[tuple[int, int]] = [
        (j, tt) for j in range(nw) if wm.waves[j] < T for tt in range(int(wm.waves[j]), T)]
    if any(not untreated[:, tt].any() for _, tt in cells):
        raise EstimationError(
            "The imputation estimator needs untreated observations in every period it imputes; "
            "some periods have none (every unit is treated by then and none is never treated)."
        )
    if not cells:
        raise EstimationError("The imputation estimator has no treated observation to impute.")

    def effects(M: np.ndarray) -> np.ndarray:
        # lambda from the normal equations of the two-way model on untreated cells
        # (weights n_g), with alpha_g = mean_{s in S_g}(M_gs - lambda_s); lambda_0 = 0
        A = np.zeros((T, T))
        rhs = np.zeros(T)
        for j in range(nw):
            S = untreated[j]
            k = S.sum()
            if k == 0:
                continue
            n = wm.counts[j]
            Pm = M[j, S].mean()
            for tt in np.flatnonzero(S).tolist():
                rhs[tt] += n * (M[j, tt] - Pm)
                A[tt, tt] += n
                A[tt, S] -= n / k
        A[0, :] = 0.0
        A[0, 0] = 1.0
        rhs[0] = 0.0
        lam = np.linalg.solve(A, rhs)
        out = np.empty(len(cells))
        for q, (j, tt) in enumerate(cells):
            S = untreated[j]
            alpha = (M[j, S] - lam[S]).mean()
            out[q] = M[j, tt] - alpha - lam[tt]
        return out

    Cq = _linear(effects, wm.M.shape)
    tau = effects(wm.M)
    es = np.array(sorted({tt - int(wm.waves[j]) for j, tt in cells}))
    W_event = np.zeros((es.size, len(cells)))
    for q, (j, tt) in enumerate(cells):
        W_event[np.searchsorted(es, tt - int(wm.waves[j])), q] = wm.counts[j]
    W_event /= W_event.sum(axis=1, keepdims=True)
    w_all = np.array([wm.counts[j] for j, _ in cells])
    w_all = w_all / w_all.sum()
    event = LinearEstimate(labels=es, estimate=W_event @ tau, C=np.einsum("kq,qjt->kjt", W_event, Cq))
    overall = LinearEstimate(labels=np.array(["overall"]), estimate=np.array([w_all @ tau]),
                             C=np.einsum("q,qjt->jt", w_all, Cq)[None])
    return event, overall
