"""The multiplier bootstrap over influence functions: standard errors and uniform bands.

Given the influence functions ``psi`` (n units by m parameters) of asymptotically
linear estimators, each bootstrap draw perturbs them with independent weights
``v_i`` (mean 0, variance 1)::

    draw_b = (1/n) * sum_i v_i psi_i          (or sum over clusters of cluster sums)

As R ``did::mboot``: the standard error is the draws' interquartile range
divided by that of the standard normal (robust to a few wild draws); the
critical value of the simultaneous (uniform) band is the ``level`` quantile
of ``max_j |draw_bj| / se_j``, so that ``estimate +/- crit * se`` covers every
parameter at once with probability ``level`` (Callaway & Sant'Anna 2021,
section 4.1; Chernozhukov, Chetverikov & Kato 2013).

Weights
-------
``"rademacher"`` (+1 or -1 with probability 1/2; R ``did``'s choice) are
drawn in tiles of units from one seeded stream per tile, so the draws are the
same however the work is split. ``"gaussian"`` weights give draws that are
exactly ``N(0, Psi'Psi / n^2)`` given the data, so they are drawn from that
distribution directly (``Z @ chol(Psi'Psi) / n``): the same bootstrap
distribution at a cost that does not grow with the number of draws.
``"auto"`` uses Rademacher weights unless ``n_boot x units x parameters``
exceeds :data:`AUTO_GAUSSIAN_WORK` (then Gaussian; the choice is reported).

References
----------
Callaway, B. & Sant'Anna, P. H. C. (2021). Difference-in-differences with
multiple time periods. Journal of Econometrics 225(2), 200-230.
Chernozhukov, V., Chetverikov, D. & Kato, K. (2013). Gaussian approximations
and multiplier bootstrap for maxima of sums of high-dimensional random
vectors. Annals of Statistics 41(6), 2786-2819.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from pbr_eval.exceptions import OptionError

__all__ = [
    "MULTIPLIER_WEIGHTS",
    "AUTO_GAUSSIAN_WORK",
    "MultiplierDraws",
    "multiplier_draws",
    "iqr_se",
    "uniform_critical_value",
    "cluster_sums",
    "resolve_weights",
    "draws_from_sums",
]

MULTIPLIER_WEIGHTS = ("auto", "rademacher", "gaussian")
#: Above this many multiply-adds (draws x units x parameters) "auto" uses Gaussian weights.
AUTO_GAUSSIAN_WORK = 2e10
_TILE = 8192
_IQR_NORMAL = stats.norm.ppf(0.75) - stats.norm.ppf(0.25)


@dataclass(frozen=True)
class MultiplierDraws:
    """Bootstrap draws of ``(1/n) sum_i v_i psi_i``.

    Attributes
    ----------
    draws : numpy.ndarray, shape (n_boot, m)
    weights : str
        ``"rademacher"`` or ``"gaussian"``.
    n_units : int
        Rows of the influence functions (the divisor ``n``).
    n_clusters : int
        Independent bootstrap units (clusters, or units without clusters).
    """

    draws: np.ndarray
    weights: str
    n_units: int
    n_clusters: int

    def se(self) -> np.ndarray:
        """Interquartile-range standard errors (see :func:`iqr_se`)."""
        return iqr_se(self.draws)

    def critical_value(self, level: float, se: np.ndarray | None = None) -> float:
        """Critical value of the uniform band over all columns (see :func:`uniform_critical_value`)."""
        return uniform_critical_value(self.draws, self.se() if se is None else se, level)


def cluster_sums(psi: np.ndarray, cluster: np.ndarray) -> np.ndarray:
    """Sum the rows of ``psi`` within clusters (clusters in sorted label order).

    Examples
    --------
    >>> import numpy as np
    >>> cluster_sums(np.array([[1.0], [2.0], [3.0]]), np.array(["b", "a", "b"])).tolist()
    [[2.0], [4.0]]
    """
    from scipy import sparse

    _, codes = np.unique(np.asarray(cluster), return_inverse=True)
    n = codes.size
    ind = sparse.csr_matrix((np.ones(n), (codes, np.arange(n))), shape=(int(codes.max()) + 1, n))
    return np.asarray(ind @ np.asarray(psi, dtype=float))


def multiplier_draws(
    psi: np.ndarray,
    *,
    n_boot: int = 999,
    seed: int | np.random.SeedSequence | None = None,
    cluster: np.ndarray | None = None,
    weights: str = "auto",
    gram: np.ndarray | None = None,
) -> MultiplierDraws:
    """Multiplier-bootstrap draws of the estimators whose influence functions are ``psi``.

    Parameters
    ----------
    psi : numpy.ndarray, shape (n, m)
        Influence functions, one column per parameter, scaled so the estimate's
        error is ``(1/n) sum_i psi_i``.
    n_boot : int, default 999
    seed : int or SeedSequence, optional
    cluster : numpy.ndarray, shape (n,), optional
        Perturb whole clusters (the influence functions are summed within each).
    weights : {"auto", "rademacher", "gaussian"}
    gram : numpy.ndarray, optional
        ``S'S`` of the (cluster-summed) influence functions, when already
        computed (Gaussian weights need only this).

    Returns
    -------
    MultiplierDraws

    Examples
    --------
    >>> import numpy as np
    >>> psi = np.random.default_rng(0).normal(size=(2000, 2))
    >>> d = multiplier_draws(psi, n_boot=999, seed=1, weights="rademacher")
    >>> d.draws.shape, d.weights
    ((999, 2), 'rademacher')
    >>> bool(np.allclose(d.se(), np.sqrt((psi**2).sum(0)) / 2000, rtol=0.1))
    True
    """
    psi = np.asarray(psi, dtype=float)
    if psi.ndim == 1:
        psi = psi[:, None]
    if weights not in MULTIPLIER_WEIGHTS:
        raise OptionError(f"`multiplier` must be one of {', '.join(map(repr, MULTIPLIER_WEIGHTS))};"
                          f" got {weights!r}.")
    if not isinstance(n_boot, (int, np.integer)) or n_boot < 2:
        raise OptionError(f"`n_boot` must be an integer of at least 2; got {n_boot!r}.")
    n = psi.shape[0]
    m = psi.shape[1]
    C = n if cluster is None else int(np.unique(np.asarray(cluster)).size)
    weights = resolve_weights(weights, n_boot, C, m)
    S = None
    if weights != "gaussian" or gram is None:
        S = psi if cluster is None else cluster_sums(psi, cluster)
    return draws_from_sums(S, n_units=n, n_boot=n_boot, seed=seed, weights=weights, gram=gram,
                           n_clusters=C)


def resolve_weights(weights: str, n_boot: int, n_clusters: int, m: int) -> str:
    """Return the weights ``"auto"`` stands for: Gaussian above :data:`AUTO_GAUSSIAN_WORK` work.

    Parameters
    ----------
    weights : str
        ``"auto"``, or a named kind of multiplier weights (returned unchanged).
    n_boot : int
        Bootstrap draws.
    n_clusters : int
        Units or clusters whose influence is multiplied by each draw's weights.
    m : int
        Estimates bootstrapped together (columns of the influence matrix).

    Returns
    -------
    str
        ``"gaussian"`` or ``"rademacher"`` for ``"auto"``; otherwise ``weights``.

    Examples
    --------
    >>> resolve_weights("auto", 999, 1_000_000, 49), resolve_weights("auto", 999, 2_000, 49)
    ('gaussian', 'rademacher')
    """
    if weights == "auto":
        work = float(n_boot) * n_clusters * m  # multiply-adds of the Rademacher product
        return "gaussian" if work > AUTO_GAUSSIAN_WORK else "rademacher"
    return weights


def draws_from_sums(
    S: np.ndarray | None,
    *,
    n_units: int,
    n_boot: int,
    seed: int | np.random.SeedSequence | None,
    weights: str,
    gram: np.ndarray | None = None,
    n_clusters: int | None = None,
) -> MultiplierDraws:
    """Multiplier draws from the (cluster-)summed influence functions ``S`` (clusters x m).

    What :func:`multiplier_draws` does after summing within clusters, for callers
    that have the sums (or, for Gaussian weights, only their Gram matrix
    ``S'S``: then ``S`` may be None).

    Parameters
    ----------
    S : numpy.ndarray, shape (C, m), or None
        Influence functions summed within clusters (the rows themselves
        without clusters), in sorted cluster order.
    n_units : int
        The divisor ``n`` (units, not clusters).
    n_boot : int
    seed : int or SeedSequence, optional
    weights : {"rademacher", "gaussian"}
    gram : numpy.ndarray, optional
        ``S'S``, required when ``S`` is None.
    n_clusters : int, optional
        Rows of ``S`` (reported), when ``S`` is None; default ``n_units``.

    Returns
    -------
    MultiplierDraws
        The same draws as :func:`multiplier_draws` on the unsummed rows.

    Examples
    --------
    >>> from numpy.random import default_rng
    >>> S = default_rng(0).normal(size=(500, 2))
    >>> a = draws_from_sums(S, n_units=500, n_boot=99, seed=1, weights="gaussian")
    >>> b = draws_from_sums(None, n_units=500, n_boot=99, seed=1, weights="gaussian", gram=S.T @ S)
    >>> bool(abs(a.draws - b.draws).max() < 1e-12)
    True
    """
    ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    if weights == "gaussian":
        if gram is None:
            if S is None:
                raise OptionError("Gaussian multiplier draws need the sums `S` or their `gram`.")
            gram = S.T @ S
        m = gram.shape[0]
        C = S.shape[0] if S is not None else (n_units if n_clusters is None else n_clusters)
        # a symmetric square root that tolerates zero columns (degenerate parameters)
        vals, vecs = np.linalg.eigh(gram)
        root = vecs * np.sqrt(np.clip(vals, 0.0, None))
        z = np.random.default_rng(ss).standard_normal((n_boot, m))
        draws = z @ root.T / n_units
    else:
        if S is None:
            raise OptionError("Rademacher multiplier draws need the summed influence functions `S`.")
        C, m = S.shape
        tiles = range(0, C, _TILE)
        children = ss.spawn(len(tiles))
        draws = np.zeros((n_boot, m))
        lut = np.array([1.0, -1.0])
        for start, child in zip(tiles, children, strict=True):
            block = S[start:start + _TILE]
            c = block.shape[0]
            rng = np.random.default_rng(child)
            nbytes = -(-n_boot * c // 8)
            bits = np.unpackbits(np.frombuffer(rng.bytes(nbytes), dtype=np.uint8))
            v = lut[bits[: n_boot * c]].reshape(n_boot, c)
            draws += v @ block
        draws /= n_units
    return MultiplierDraws(draws=draws, weights=weights, n_units=n_units, n_clusters=C)


def _quantile1(x: np.ndarray, q: float, axis: int = 0) -> np.ndarray:
    # R's quantile(type = 1): the inverse of the empirical distribution function
    return np.quantile(x, q, axis=axis, method="inverted_cdf")


def iqr_se(draws: np.ndarray) -> np.ndarray:
    """Bootstrap standard errors ``(q75 - q25) / (z75 - z25)`` per column (R ``did``).

    Examples
    --------
    >>> import numpy as np
    >>> x = np.random.default_rng(0).normal(scale=2.0, size=(20000, 1))
    >>> float(np.round(iqr_se(x)[0], 1))
    2.0
    """
    d = np.asarray(draws, dtype=float)
    return (_quantile1(d, 0.75) - _quantile1(d, 0.25)) / _IQR_NORMAL


def uniform_critical_value(draws: np.ndarray, se: np.ndarray, level: float) -> float:
    """Return the ``level`` quantile of ``max_j |draw_j| / se_j`` over the non-degenerate columns.

    Columns whose standard error is 0 or not finite (e.g. a reference period
    fixed at 0) are left out of the maximum.

    Examples
    --------
    >>> import numpy as np
    >>> z = np.random.default_rng(0).normal(size=(20000, 1))
    >>> abs(uniform_critical_value(z, np.ones(1), 0.95) - 1.96) < 0.05
    True
    """
    se = np.asarray(se, dtype=float)
    ok = np.isfinite(se) & (se > 0)
    if not ok.any():
        return float("nan")
    t = np.max(np.abs(draws[:, ok]) / se[ok], axis=1)
    return float(_quantile1(t, level))
