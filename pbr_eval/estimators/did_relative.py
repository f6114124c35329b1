"""Relative magnitudes: post-period violations at most ``Mbar`` times the largest pre-period one.

The relative-magnitudes restriction of Rambachan & Roth (2023, section 2.3)::

    Delta^RM(Mbar) = { delta : |delta_{t+1} - delta_t| <= Mbar * max_{s < 0} |delta_{s+1} - delta_s|
                       for every post period t >= 0 },   delta_0 = 0,

where ``delta`` is the bias of the event-study coefficients (``beta = tau + delta``,
``tau = 0`` before the start) and ``s`` runs over the consecutive pre-period pairs
(including the step into the reference period). ``Mbar = 1``: the difference in trends
after the start moves between consecutive periods by no more than the worst such move
before it.

``Delta^RM`` is a union of polyhedra, one for each pre-period step ``s`` and sign that
attains the maximum: ``{ |D_t| <= Mbar * sign * D_s for every post step t }`` (``D`` the
first differences of ``delta``). The union of these over ``s`` and sign is the set above.
The confidence set for ``theta = l' tau_post`` is the union of a test-inversion confidence
set for each polyhedron (Rambachan & Roth 2023, section 3 and Appendix): a value
``theta`` is kept if, for some polyhedron, the moment inequalities

    E[ A betahat - A L_post tau ] <= 0,   l' tau = theta,   tau's other directions free

are not rejected by the conditional least-favourable hybrid test of Andrews, Roth &
Pakes (2023; ARP), at size ``alpha`` with first-stage size ``kappa = alpha / 10``:

* the statistic is ``eta = min_xi max_j (Y_j - X_j xi) / sd_j`` (``Y`` the moments at
  ``theta``, ``X`` the nuisance directions), the value of a linear programme; here it is
  computed on the dual side as the largest ``gamma' Y`` over the vertices ``gamma`` of
  ``{gamma >= 0, gamma' sd = 1, gamma' X = 0}``, enumerated once per polyhedron;
* first stage: reject if ``eta`` exceeds the least-favourable critical value, the
  ``1 - kappa`` quantile of ``eta`` when every moment has mean zero (simulated with a
  seed);
* second stage: conditional on the optimal vertex ``gamma*`` and on
  ``S = Y - Sigma gamma* (gamma*' Y) / (gamma*' Sigma gamma*)``, ``eta`` is normal truncated
  to ``[V_lo, min(V_up, c_LF)]``, the values of ``gamma*' Y`` for which ``gamma*`` stays
  optimal; reject if ``eta`` exceeds ``max(0, q)``, ``q`` that truncated normal's
  ``1 - (alpha - kappa) / (1 - kappa)`` quantile (zero mean, variance ``gamma*' Sigma gamma*``).

As in R ``HonestDiD``, the moments are those that involve a post-period coefficient (the
pre-period-only inequalities do not change the union), and the interval is read off a grid
of ``theta`` (by default 1,000 points from ``-20`` to ``+20`` standard errors of
``l' betahat``): its ends are the smallest and largest grid values kept, so they are exact
only to the grid's spacing (40 standard errors / 999).

Limitations: the vertex enumeration looks at every set of ``n_post`` moments out of
``2 n_post``; above 10 post periods that is too many and a typed error says so (choose the
periods of interest, or use the smoothness restriction). The least-favourable critical
value is simulated (``draws``, ``seed``), so intervals move slightly with the seed; R uses
1,000 draws of its own generator, so its intervals can differ from these in the last
printed digit.

References
----------
Rambachan, A. & Roth, J. (2023). A more credible approach to parallel trends. Review of
Economic Studies 90(5), 2555-2591.
Andrews, I., Roth, J. & Pakes, A. (2023). Inference for linear conditional moment
inequalities. Review of Economic Studies 90(6), 2763-2791.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from pbr_eval.exceptions import OptionError

__all__ = ["RMInterval", "relative_magnitudes_ci", "relative_magnitudes_breakdown",
           "rm_polyhedra", "rm_identified_set", "MAX_RM_POST_PERIODS"]

#: Above this many post periods the vertex enumeration is refused (C(2n, n) sets).
MAX_RM_POST_PERIODS = 10


@dataclass(frozen=True)
class RMInterval:
    """A confidence interval for ``theta = l' tau_post`` under ``Delta^RM(Mbar)``.

    Attributes
    ----------
    Mbar : float
        The bound: post-period moves at most ``Mbar`` times the largest pre-period move.
    lower, upper : float
        The smallest and largest grid values kept (NaN if none is kept).
    open_end : bool
        True if a grid end is kept (the interval may reach beyond the grid).
    grid_step : float
        The spacing of the grid: the ends are exact to this.
    level : float

    Examples
    --------
    >>> import numpy as np
    >>> ci = relative_magnitudes_ci(np.array([0.0, 0.0, 1.0, 1.0]), np.eye(4) * 0.01,
    ...                             n_pre=2, n_post=2, Mbar=0.0)
    >>> bool(ci.lower < 1.0 < ci.upper), ci.open_end
    (True, False)
    """

    Mbar: float
    lower: float
    upper: float
    open_end: bool
    grid_step: float
    level: float


def rm_polyhedra(n_pre: int, n_post: int, Mbar: float) -> list[np.ndarray]:
    """Return the moment matrices ``A`` of the polyhedra whose union is ``Delta^RM(Mbar)``.

    One ``(2 n_post) x (n_pre + n_post)`` matrix per pre-period step ``s`` and sign: rows
    ``+D_t - Mbar sign D_s <= 0`` and ``-D_t - Mbar sign D_s <= 0`` for each post step
    ``t`` (``D`` the first differences of ``delta``, ``delta_0 = 0`` left out of the
    columns).

    Parameters
    ----------
    n_pre, n_post : int
        Pre- and post-period coefficients (reference period left out).
    Mbar : float
        Non-negative bound.

    Returns
    -------
    list of numpy.ndarray
        ``2 n_pre`` matrices, ``A delta <= 0`` for ``delta`` in the polyhedron.

    Examples
    --------
    >>> A = rm_polyhedra(2, 1, 1.0)
    >>> len(A), A[0].shape
    (4, (2, 3))
    >>> A[0].tolist()   # s: the step from -2 to -1, positive; t: the step from 0 to 1
    [[1.0, -1.0, 1.0], [1.0, -1.0, -1.0]]
    """
    n = n_pre + n_post + 1                      # event times -n_pre..n_post, 0 at n_pre
    D = np.zeros((n - 1, n))
    for r in range(n - 1):
        D[r, r:r + 2] = (-1.0, 1.0)
    out = []
    for s in range(n_pre):                      # pre steps: (s-n_pre -> s-n_pre+1)
        for sign in (1.0, -1.0):
            rows = []
            for t in range(n_pre, n - 1):       # post steps
                rows.append(D[t] - Mbar * sign * D[s])
                rows.append(-D[t] - Mbar * sign * D[s])
            out.append(np.delete(np.array(rows), n_pre, axis=1) + 0.0)
    return out


def rm_identified_set(betahat: Any, *, n_pre: int, n_post: int, Mbar: float,
                      l: Any = None) -> tuple[float, float]:  # noqa: E741
    """Return the identified set of ``l' tau_post`` under ``Delta^RM(Mbar)`` at ``beta = betahat``.

    What the effect could be with no sampling error: the pre-period coefficients are
    the pre-period bias; the post-period bias ranges over every ``delta`` in
    ``Delta^RM(Mbar)`` with those pre-period values (a linear programme per
    polyhedron, here with the pre-period inequalities that make ``s`` the largest step).

    Parameters
    ----------
    betahat : array of shape (n_pre + n_post,)
    n_pre, n_post : int
    Mbar : float
    l : array of shape (n_post,), optional

    Returns
    -------
    (float, float)

    Examples
    --------
    >>> import numpy as np
    >>> rm_identified_set(np.array([0.0, -0.1, 0.5]), n_pre=2, n_post=1, Mbar=1.0)
    (0.4, 0.6)
    """
    from scipy.optimize import linprog

    b = np.asarray(betahat, dtype=float).ravel()
    lv = np.eye(n_post)[0] if l is None else np.asarray(l, dtype=float).ravel()
    n = n_pre + n_post + 1
    D = np.zeros((n - 1, n))
    for r in range(n - 1):
        D[r, r:r + 2] = (-1.0, 1.0)
    Aeq = np.hstack([np.eye(n_pre), np.zeros((n_pre, n_post))])
    c = np.r_[np.zeros(n_pre), lv]
    centre = float(lv @ b[n_pre:])
    lo, hi = np.inf, -np.inf
    for s in range(n_pre):
        for sign in (1.0, -1.0):
            rows = []
            for t in range(n - 1):
                if t != s:
                    k = 1.0 if t < n_pre else Mbar
                    rows += [D[t] - k * sign * D[s], -D[t] - k * sign * D[s]]
            A = np.delete(np.array(rows), n_pre, axis=1)
            kw: dict[str, Any] = {"A_ub": A, "b_ub": np.zeros(len(A)), "A_eq": Aeq,
                                  "b_eq": b[:n_pre], "bounds": (None, None), "method": "highs"}
            r_min, r_max = linprog(c, **kw), linprog(-c, **kw)
            if r_min.status == 0 and r_max.status == 0:
                lo, hi = min(lo, centre + r_max.fun), max(hi, centre - r_min.fun)
    if not np.isfinite(lo):
        return centre, centre
    return float(lo), float(hi)


def _gamma_matrix(lv: np.ndarray) -> np.ndarray:
    """Return an invertible matrix whose first row is ``l'`` (the rest: an orthogonal complement)."""
    k = lv.size
    if k == 1:
        return lv.reshape(1, 1)
    basis = np.linalg.svd(lv[None, :])[2][1:]
    return np.vstack([lv, basis])


def _dual_vertices(X: np.ndarray, sd: np.ndarray) -> np.ndarray:
    """Vertices of ``{g >= 0, g' sd = 1, g' X = 0}`` (rows), by enumerating bases."""
    m = sd.size
    if X.shape[1]:
        u, sv, _ = np.linalg.svd(X, full_matrices=False)
        X = u[:, sv > 1e-10 * max(sv.max(), 1.0)]
    W = np.column_stack([sd, X])                # m x (p + 1)
    q = W.shape[1]
    if np.linalg.matrix_rank(W) < q:            # sd in the span of X: eta = -inf
        return np.zeros((0, m))
    combos = np.array(list(itertools.combinations(range(m), q)), dtype=int)
    WB = W[combos]                              # (c, q, q): rows B of W
    det = np.linalg.det(WB)
    scale = np.abs(W).max() ** q
    ok = np.abs(det) > 1e-10 * scale
    combos, WB = combos[ok], WB[ok]
    e1 = np.zeros(q)
    e1[0] = 1.0
    g = np.linalg.solve(np.transpose(WB, (0, 2, 1)), np.broadcast_to(e1, (len(WB), q))[..., None])[..., 0]
    feas = np.all(g >= -1e-10, axis=1)
    G = np.zeros((int(feas.sum()), m))
    rows = np.arange(G.shape[0])[:, None]
    G[rows, combos[feas]] = np.clip(g[feas], 0.0, None)
    if G.size:
        G = np.unique(np.round(G, 12), axis=0)
    return G


class _PolyhedronTest:
    """The hybrid ARP test of ``H0: theta = theta0`` for one polyhedron ``{A delta <= 0}``."""

    def __init__(self, A: np.ndarray, b: np.ndarray, S: np.ndarray, n_pre: int,
                 lv: np.ndarray, alpha: float, kappa: float, rng: np.random.Generator,
                 draws: int) -> None:
        Apost = A[:, n_pre:]
        AG = Apost @ np.linalg.inv(_gamma_matrix(lv))
        self.a1, X = AG[:, 0], AG[:, 1:]
        self.Y0 = A @ b
        self.Sy = A @ S @ A.T
        sd = np.sqrt(np.clip(np.diag(self.Sy), 0.0, None))
        if np.any(sd <= 0):
            raise OptionError("`sigma` gives a moment of zero variance; the covariance of the "
                              "event-study coefficients must be positive definite.")
        self.G = _dual_vertices(X, sd)
        self.alpha, self.kappa = alpha, kappa
        self.lf_cv = float("inf")
        if self.G.shape[0] and kappa > 0:
            L = np.linalg.cholesky(self.Sy + 1e-14 * np.eye(self.Sy.shape[0]) * sd.max() ** 2)
            xi = rng.standard_normal((draws, self.Sy.shape[0])) @ L.T
            self.lf_cv = float(np.quantile((xi @ self.G.T).max(axis=1), 1 - kappa))

    def accept(self, thetas: np.ndarray) -> np.ndarray:
        """Return a boolean array: True where ``theta`` is not rejected."""
        G = self.G
        if not G.shape[0]:
            return np.ones(thetas.size, dtype=bool)
        Y = self.Y0[None, :] - thetas[:, None] * self.a1[None, :]     # (n, m)
        vals = Y @ G.T                                                # (n, v)
        k = vals.argmax(axis=1)
        eta = vals[np.arange(thetas.size), k]
        out = eta <= self.lf_cv                                       # first stage
        GS = G @ self.Sy                                              # (v, m)
        var = np.einsum("vm,vm->v", GS, G)                            # gamma' Sy gamma
        GSG = GS @ G.T                                                # (v, v)
        mod = (self.alpha - self.kappa) / (1 - self.kappa)
        for j in np.unique(k[out]):
            idx = np.flatnonzero(out & (k == j))
            v = var[j]
            if v <= 1e-300:
                out[idx] = eta[idx] <= 0
                continue
            # Y(c) = S + (Sy g*/v) c; vertex i's value g_i'S + c g_i'Sy g*/v <= c
            den = 1.0 - GSG[:, j] / v                                 # (v,)
            num = vals[idx] - np.outer(eta[idx], GSG[:, j] / v)       # g_i' S, (n_j, v)
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio = num / den[None, :]
            pos, neg = den > 1e-12, den < -1e-12
            vlo = ratio[:, pos].max(axis=1) if pos.any() else np.full(idx.size, -np.inf)
            vup = ratio[:, neg].min(axis=1) if neg.any() else np.full(idx.size, np.inf)
            sg = math.sqrt(v)
            zlo, zup = vlo / sg, np.minimum(vup, self.lf_cv) / sg
            z = eta[idx] / sg
            inside = (zlo <= z + 1e-12) & (z <= zup + 1e-12)
            cval = np.zeros(idx.size)
            if inside.any():
                a, bnd = zlo[inside], np.maximum(zup[inside], zlo[inside] + 1e-12)
                cval[inside] = np.maximum(0.0, stats.truncnorm.ppf(1 - mod, a, bnd))
            out[idx] = ~inside | (z <= cval)
        return out


def _checked(betahat: Any, sigma: Any, n_pre: int, n_post: int,
             l_vec: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    b = np.asarray(betahat, dtype=float).ravel()
    S = np.asarray(sigma, dtype=float)
    if n_pre < 1 or n_post < 1 or b.size != n_pre + n_post:
        raise OptionError(f"`betahat` must have n_pre + n_post = {n_pre} + {n_post} entries "
                          f"(the reference period left out); got {b.size}.")
    if S.shape != (b.size, b.size) or not np.allclose(S, S.T, atol=1e-12 * np.abs(S).max()):
        raise OptionError(f"`sigma` must be a symmetric {b.size} x {b.size} covariance "
                          f"matrix; got shape {S.shape}.")
    if not np.all(np.isfinite(b)) or not np.all(np.isfinite(S)):
        raise OptionError("`betahat` and `sigma` must be finite numbers; got NaN or inf.")
    lv = (np.eye(n_post)[0] if l_vec is None else np.asarray(l_vec, dtype=float).ravel())
    if lv.size != n_post:
        raise OptionError(f"`l` must have one weight per post period ({n_post}); got {lv.size}.")
    return b, S, lv


def _prepare(betahat: Any, sigma: Any, n_pre: int, n_post: int, l_vec: Any,
             Mbar: Any, level: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    b, S, lv = _checked(betahat, sigma, n_pre, n_post, l_vec)
    if n_post > MAX_RM_POST_PERIODS:
        raise OptionError(
            f"The relative-magnitudes interval takes at most {MAX_RM_POST_PERIODS} post "
            f"periods (it enumerates every set of n_post of 2 n_post moments); got "
            f"n_post = {n_post}. Keep only the post periods of interest, or use "
            "restriction='smoothness'.")
    try:
        M = float(Mbar)
    except (TypeError, ValueError):
        M = float("nan")
    if not (math.isfinite(M) and M >= 0):
        raise OptionError(f"`Mbar` must be a non-negative number; got {Mbar!r}.")
    if not np.allclose(lv, 0) and np.linalg.eigvalsh(S).min() <= 0:
        raise OptionError("`sigma` must be positive definite (no coefficient a combination of "
                          "the others); got a singular covariance matrix.")
    return b, S, lv, M


def _accepts(b: np.ndarray, S: np.ndarray, n_pre: int, n_post: int, lv: np.ndarray,
             M: float, thetas: np.ndarray, level: float, seed: int, draws: int,
             method: str = "C-LF") -> np.ndarray:
    alpha = 1 - level
    kappa = alpha / 10 if method == "C-LF" else 0.0
    keep = np.zeros(thetas.size, dtype=bool)
    for i, A in enumerate(rm_polyhedra(n_pre, n_post, M)):
        rng = np.random.default_rng([seed, i])
        test = _PolyhedronTest(A, b, S, n_pre, lv, alpha, kappa, rng, draws)
        todo = ~keep
        if todo.any():
            keep[todo] = test.accept(thetas[todo])
    return keep


def relative_magnitudes_ci(betahat: Any, sigma: Any, *, n_pre: int, n_post: int,
                           Mbar: float, l: Any = None, level: float = 0.95,  # noqa: E741
                           grid_points: int = 1000, grid: Any = "identified",
                           seed: int = 0, draws: int = 10_000,
                           method: str = "C-LF") -> RMInterval:
    """Confidence interval for ``l' tau_post`` when post-period violations are at most ``Mbar`` x pre.

    The conditional least-favourable hybrid (C-LF) confidence set of Rambachan & Roth
    (2023) under ``Delta^RM(Mbar)``, by test inversion on a grid (see the module notes).

    Parameters
    ----------
    betahat : array of shape (n_pre + n_post,)
        Event-study coefficients, earliest first, reference period left out.
    sigma : array
        Their covariance.
    n_pre, n_post : int
    Mbar : float
        Non-negative bound on the post-period moves relative to the largest
        pre-period move (1: no larger than the worst one before the start).
    l : array of shape (n_post,), optional
        Weights of the target on the post-period effects (default: the first).
    level : float, default 0.95
    grid_points : int, default 1000
    grid : {"identified", "zero"} or (float, float), default "identified"
        The grid's ends: ``"identified"``, the identified set at ``betahat``
        (:func:`rm_identified_set`) widened by 20 standard errors of ``l' betahat`` on
        each side (R ``HonestDiD``'s documented default; its README since 2024);
        ``"zero"``, ``-20`` to ``+20`` standard errors (the grid of HonestDiD's code
        in 2023); or explicit ends.
    seed : int, default 0
        Seed of the least-favourable critical value's draws.
    draws : int, default 10000
    method : {"C-LF", "conditional"}, default "C-LF"
        The hybrid test (first stage at ``alpha / 10``), or the conditional test alone
        (no simulation; wider when the truncation is far out).

    Returns
    -------
    RMInterval

    Raises
    ------
    OptionError
        For inconsistent shapes, a negative ``Mbar``, a singular ``sigma`` or more than
        ``MAX_RM_POST_PERIODS`` post periods.

    Examples
    --------
    >>> import numpy as np
    >>> b = np.array([0.01, -0.01, 0.3, 0.3])
    >>> ci = relative_magnitudes_ci(b, np.eye(4) * 0.001, n_pre=2, n_post=2, Mbar=1.0)
    >>> round(ci.lower, 2), round(ci.upper, 2)
    (0.19, 0.41)
    """
    from pbr_eval.options import check_choice, check_int, check_level

    level = check_level(level)
    method = check_choice("method", method, ("C-LF", "conditional"))
    b, S, lv, M = _prepare(betahat, sigma, n_pre, n_post, l, Mbar, level)
    grid_points = check_int("grid_points", grid_points, minimum=3)
    sd = float(np.sqrt(lv @ S[n_pre:, n_pre:] @ lv))
    if isinstance(grid, str):
        check_choice("grid", grid, ("identified", "zero"))
        if grid == "zero":
            lo, hi = -20 * sd, 20 * sd
        else:
            id_lo, id_hi = rm_identified_set(b, n_pre=n_pre, n_post=n_post, Mbar=M, l=lv)
            lo, hi = id_lo - 20 * sd, id_hi + 20 * sd
    else:
        try:
            lo, hi = float(grid[0]), float(grid[1])
        except (TypeError, ValueError, IndexError):
            lo, hi = float("nan"), float("nan")
    if not lo < hi:
        raise OptionError(f"`grid` must be (lower, upper) with lower < upper; got {grid!r}.")
    thetas = np.linspace(lo, hi, grid_points)
    keep = _accepts(b, S, n_pre, n_post, lv, M, thetas, level, seed, draws, method)
    kept = thetas[keep]
    return RMInterval(Mbar=M, lower=float(kept.min()) if kept.size else float("nan"),
                      upper=float(kept.max()) if kept.size else float("nan"),
                      open_end=bool(keep[0] or keep[-1]), grid_step=float(thetas[1] - thetas[0]),
                      level=level)


def relative_magnitudes_breakdown(betahat: Any, sigma: Any, *, n_pre: int, n_post: int,
                                  l: Any = None, level: float = 0.95,  # noqa: E741
                                  seed: int = 0, draws: int = 10_000,
                                  tol: float = 1e-3) -> float:
    """Return the breakdown value: the largest ``Mbar`` at which zero is still rejected.

    Zero is tested directly (no grid): the hybrid test of ``theta = 0`` under every
    polyhedron of ``Delta^RM(Mbar)``; the set grows with ``Mbar``, so the answer is
    found by bisection to ``tol``. Zero when ``theta = 0`` is kept already at
    ``Mbar = 0``; ``inf`` when it is rejected at ``Mbar = 1000``.

    Parameters
    ----------
    betahat, sigma, n_pre, n_post, l, level, seed, draws
        As :func:`relative_magnitudes_ci`.
    tol : float, default 0.001

    Returns
    -------
    float

    Examples
    --------
    >>> import numpy as np
    >>> b = np.array([0.01, -0.01, 0.3, 0.3])
    >>> m = relative_magnitudes_breakdown(b, np.eye(4) * 0.001, n_pre=2, n_post=2)
    >>> bool(1 < m < 50)
    True
    """
    from pbr_eval.options import check_level

    level = check_level(level)
    b, S, lv, _ = _prepare(betahat, sigma, n_pre, n_post, l, 0.0, level)
    zero = np.zeros(1)

    def rejected(M: float) -> bool:
        return not bool(_accepts(b, S, n_pre, n_post, lv, M, zero, level, seed, draws)[0])

    if not rejected(0.0):
        return 0.0
    lo, hi = 0.0, 1.0
    while rejected(hi):
        lo, hi = hi, hi * 2
        if hi > 1000:
            return float("inf")
    while hi - lo > tol:
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if rejected(mid) else (lo, mid)
    return lo
