r"""The cohort's own outcome noise, for bootstrap intervals of the cohort's rate.

A commissioner pays on the rate the treated cohort itself would have had,
:math:`\theta_c = \sum_{T=1} w_i Y_i(0) / \sum_{T=1} w_i`. An estimator
:math:`\hat\mu_0` of the non-intervention rate uses the comparison group only,
so, given the cohort's characteristics :math:`X`,

.. math::

    \hat\mu_0 - \theta_c = \big[\hat\mu_0 - \textstyle\sum w_i m_0(X_i)/\sum w_i\big]
    - \textstyle\sum w_i \{Y_i(0) - m_0(X_i)\} / \sum w_i ,

with :math:`m_0(x) = E[Y(0) \mid X = x]`. The first part is what a bootstrap
that holds the treated cohort fixed and resamples the comparison group
(``kind="comparison"``) or the matched pairs (``kind="pair"``) measures; the
second, the cohort's own chance variation, is independent of it with variance

.. math:: v_c = \frac{\sum w_i^2}{(\sum w_i)^2}\, E_w[\sigma^2_0(X)], \qquad
          \sigma^2_0(x) = \mathrm{Var}(Y(0) \mid X = x).

:math:`\sigma^2_0` is estimated without an outcome model, as in Abadie and
Imbens (2006, section 4): each comparison unit :math:`j` is paired with its
nearest other comparison unit :math:`l(j)` in the covariates (Mahalanobis
distance on the cohort's design matrix) and :math:`\hat\sigma^2_j = (Y_j -
Y_{l(j)})^2 / 2`; :math:`E_w[\sigma^2_0(X)]` is their average weighted by the
estimator's comparison weights, which carry the treated cohort's covariate
mix. Each bootstrap replicate of the non-intervention rate then gets an
independent normal draw with variance :math:`v_c` (the noise is a mean of
:math:`n_1` independent terms).

Limitations: :math:`\hat\sigma^2_j` is biased upwards by half the squared
difference of :math:`m_0` between neighbours (small when neighbours are
close; conservative); cross-sectional cohorts only.

References
----------
Abadie, A. & Imbens, G. W. (2006). Large sample properties of matching
estimators for average treatment effects. Econometrica 74(1), 235-267.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from pbr_eval.cohort import Cohort

__all__ = ["within_x_variance", "cohort_noise_sd", "cohort_noise_draws"]


def _whitened(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    if x.ndim == 1:
        x = x[:, None]
    if x.shape[1] == 0:
        return np.zeros((x.shape[0], 1))
    xc = x - x.mean(axis=0)
    cov = np.atleast_2d(np.cov(xc, rowvar=False))
    vals, vecs = np.linalg.eigh(cov)
    keep = vals > 1e-10 * max(float(vals.max()), 1e-300)
    if not keep.any():
        return np.zeros((x.shape[0], 1))
    return xc @ (vecs[:, keep] / np.sqrt(vals[keep]))


def within_x_variance(
    cohort: Cohort, weights: np.ndarray, outcomes: Sequence[str]
) -> np.ndarray:
    r"""Weighted mean of :math:`\mathrm{Var}(Y(0) \mid X)` over the comparison units.

    Parameters
    ----------
    cohort : Cohort
        A cross-sectional cohort.
    weights : numpy.ndarray
        The estimator's weights, one per row; those of comparison units are used.
    outcomes : sequence of str

    Returns
    -------
    numpy.ndarray
        One value per outcome: :math:`\sum_j w_j \hat\sigma^2_j / \sum_j w_j`
        over comparison units, :math:`\hat\sigma^2_j = (Y_j - Y_{l(j)})^2/2`
        with :math:`l(j)` the nearest other comparison unit in Mahalanobis
        distance on ``cohort.X`` (Abadie and Imbens 2006).

    Examples
    --------
    >>> import pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> d = pd.DataFrame({"t": [1] * 50 + [0] * 2000, "x": rng.normal(size=2050)})
    >>> d["y"] = d["x"] + rng.normal(scale=2.0, size=2050)
    >>> c = Cohort(d, treatment="t", outcome="y", covariates=["x"])
    >>> v = within_x_variance(c, np.ones(c.n), ["y"])
    >>> bool(abs(v[0] - 4.0) < 0.5)
    True
    """
    from scipy.spatial import cKDTree

    comp = np.flatnonzero(~cohort.t)
    z = _whitened(cohort.X[comp])
    _, nb = cKDTree(z).query(z, k=2)
    self_first = nb[:, 0] == np.arange(comp.size)
    other = comp[np.where(self_first, nb[:, 1], nb[:, 0])]
    w = np.asarray(weights, dtype=float)[comp]
    w = np.where(np.isfinite(w) & (w > 0), w, 0.0)
    out = np.empty(len(outcomes))
    for k, name in enumerate(outcomes):
        y = cohort.y(name).astype(float)
        s2 = (y[comp] - y[other]) ** 2 / 2.0
        out[k] = float(w @ s2 / w.sum()) if w.sum() > 0 else float("nan")
    return out


def cohort_noise_sd(
    cohort: Cohort, weights: np.ndarray, outcomes: Sequence[str]
) -> np.ndarray:
    r"""Return standard deviation of the cohort's own outcome noise, :math:`\sqrt{v_c}`, per outcome.

    Parameters
    ----------
    cohort : Cohort
    weights : numpy.ndarray
        The estimator's weights (treated weights give :math:`\sum w_i^2 /
        (\sum w_i)^2`, i.e. :math:`1/n_1` for equal weights; comparison
        weights give the covariate mix of :math:`E_w[\sigma^2_0(X)]`).
    outcomes : sequence of str

    Returns
    -------
    numpy.ndarray

    Examples
    --------
    >>> import pandas as pd
    >>> rng = np.random.default_rng(1)
    >>> d = pd.DataFrame({"t": [1] * 400 + [0] * 4000, "x": rng.normal(size=4400)})
    >>> d["y"] = (rng.random(4400) < 0.3).astype(int)
    >>> c = Cohort(d, treatment="t", outcome="y", covariates=["x"])
    >>> sd = cohort_noise_sd(c, np.ones(c.n), ["y"])
    >>> bool(abs(sd[0] - np.sqrt(0.3 * 0.7 / 400)) < 0.003)
    True
    """
    w = np.asarray(weights, dtype=float)
    wt = np.where(cohort.t & np.isfinite(w) & (w > 0), w, 0.0)
    factor = float((wt**2).sum() / wt.sum() ** 2) if wt.sum() > 0 else float("nan")
    return np.sqrt(within_x_variance(cohort, w, outcomes) * factor)


def cohort_noise_draws(
    sd: np.ndarray, seed: np.random.SeedSequence, n_boot: int
) -> np.ndarray:
    """``n_boot`` independent normal draws of the cohort noise, shape ``(n_boot, len(sd))``.

    Examples
    --------
    >>> d = cohort_noise_draws(np.array([0.0, 1.0]), np.random.SeedSequence(1), 4)
    >>> d.shape, bool((d[:, 0] == 0).all())
    ((4, 2), True)
    """
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n_boot, np.asarray(sd).size)) * np.asarray(sd, dtype=float)
