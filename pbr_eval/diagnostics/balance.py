"""Covariate balance before and after matching or weighting.

The conventions follow MatchIt's ``summary.matchit`` so that a balance table
from pbr_eval can be set beside one from R:

* standardised mean difference (SMD) = (weighted mean treated - weighted mean
  comparison) / s, where s is the standard deviation in the *unadjusted*
  focal group (the treated for the ATT, the comparison group for the ATC,
  the pooled ``sqrt((s1^2 + s0^2) / 2)`` for the ATE); for a binary
  covariate s = sqrt(p (1 - p)) with p its focal-group proportion;
* variance ratio = weighted variance treated / weighted variance comparison
  (not reported for binary covariates);
* eCDF mean and max = mean and largest absolute difference between the two
  groups' weighted empirical distribution functions.

Weighted variances use the unbiased form ``sum(w) / (sum(w)^2 - sum(w^2)) *
sum(w (x - m)^2)``.

References
----------
Ho, D. E., Imai, K., King, G. & Stuart, E. A. (2011). MatchIt: Nonparametric
preprocessing for parametric causal inference. Journal of Statistical
Software 42(8).
Austin, P. C. (2011). An introduction to propensity score methods for
reducing the effects of confounding in observational studies. Multivariate
Behavioral Research 46(3), 399-424.
Stuart, E. A. (2010). Matching methods for causal inference: a review and a
look forward. Statistical Science 25(1), 1-21.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property

import numpy as np
import pandas as pd

__all__ = ["BalanceTable", "weighted_mean_var", "ecdf_stats", "smd_threshold_default"]

smd_threshold_default = 0.1


def weighted_mean_var(x: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Column-wise weighted means and unbiased weighted variances.

    Parameters
    ----------
    x : numpy.ndarray, shape (n, p)
    w : numpy.ndarray, shape (n,)
        Non-negative weights.

    Examples
    --------
    >>> import numpy as np
    >>> m, v = weighted_mean_var(np.array([[1.0], [2.0], [3.0]]), np.ones(3))
    >>> m.tolist(), v.tolist()
    ([2.0], [1.0])
    """
    sw = w.sum()
    m = (w @ x) / sw
    sw2 = (w**2).sum()
    denom = sw**2 - sw2
    dev = x - m
    ss = w @ (dev * dev)
    v = ss * (sw / denom) if denom > 0 else np.full(x.shape[1], np.nan)
    return m, v


def ecdf_stats(
    x: np.ndarray, t: np.ndarray, w: np.ndarray
) -> tuple[float, float]:
    """Mean and maximum absolute difference of the groups' weighted eCDFs.

    Evaluated at every distinct value of ``x`` among units with positive
    weight; O(n log n).

    Examples
    --------
    >>> import numpy as np
    >>> ecdf_stats(np.array([0., 1, 0, 1]), np.array([1, 1, 0, 0], bool), np.ones(4))
    (0.0, 0.0)
    """
    keep = w > 0
    x, t, w = x[keep], t[keep], w[keep]
    order = np.argsort(x, kind="stable")
    xs, ts, ws = x[order], t[order], w[order]
    w1 = np.where(ts, ws, 0.0)
    w0 = np.where(ts, 0.0, ws)
    c1 = np.cumsum(w1) / w1.sum()
    c0 = np.cumsum(w0) / w0.sum()
    last = np.r_[xs[1:] != xs[:-1], True]  # last occurrence of each distinct value
    d = np.abs(c1[last] - c0[last])
    return float(d.mean()), float(d.max())


class BalanceTable:
    """Balance of each covariate before and after adjustment.

    Built by the estimators; read it with :meth:`to_frame`. Columns (one row
    per design column, categorical levels separately):
    ``mean_treated_before``, ``mean_comparison_before``, ``smd_before``,
    ``var_ratio_before``, ``ecdf_mean_before``, ``ecdf_max_before``, the
    same with ``_after``, and ``imbalanced_after`` (|SMD| above the threshold).

    Parameters
    ----------
    X : numpy.ndarray
        Design matrix (as held by the cohort).
    names : sequence of str
        Column names of ``X``.
    t : numpy.ndarray of bool
        Treatment indicator.
    weights : numpy.ndarray
        Adjustment weights (0 for units left out).
    binary : sequence of str
        Names of binary columns.
    estimand : {"ATT", "ATC", "ATE"}
    threshold : float
        |SMD| above which a covariate is flagged (default 0.1).
    """

    def __init__(
        self,
        X: np.ndarray,
        names: Sequence[str],
        t: np.ndarray,
        weights: np.ndarray,
        binary: Sequence[str],
        *,
        estimand: str = "ATT",
        threshold: float = smd_threshold_default,
    ) -> None:
        self._X = X
        self.names = list(names)
        self._t = t
        self._w = np.asarray(weights, dtype=float)
        self.binary = set(binary)
        self.estimand = estimand
        self.threshold = float(threshold)

    def _side(self, w: np.ndarray) -> dict[str, np.ndarray]:
        t = self._t
        m1, v1 = weighted_mean_var(self._X[t], w[t])
        m0, v0 = weighted_mean_var(self._X[~t], w[~t])
        return {"m1": m1, "v1": v1, "m0": m0, "v0": v0}

    @cached_property
    def _core(self) -> pd.DataFrame:
        ones = np.ones(self._t.size)
        before = self._side(ones)
        after = self._side(self._w)
        is_bin = np.array([n in self.binary for n in self.names])
        if self.estimand == "ATC":
            p, v = before["m0"], before["v0"]
        elif self.estimand == "ATE":
            p = None
            v = (before["v1"] + before["v0"]) / 2
        else:
            p, v = before["m1"], before["v1"]
        sd = np.sqrt(v)
        if p is not None:
            sd = np.where(is_bin, np.sqrt(np.clip(p * (1 - p), 0, None)), sd)
        else:
            sd = np.where(
                is_bin,
                np.sqrt((before["m1"] * (1 - before["m1"]) + before["m0"] * (1 - before["m0"])) / 2),
                sd,
            )
        with np.errstate(divide="ignore", invalid="ignore"):
            smd_b = (before["m1"] - before["m0"]) / sd
            smd_a = (after["m1"] - after["m0"]) / sd
            vr_b = np.where(is_bin, np.nan, before["v1"] / before["v0"])
            vr_a = np.where(is_bin, np.nan, after["v1"] / after["v0"])
        frame = pd.DataFrame(
            {
                "mean_treated_before": before["m1"],
                "mean_comparison_before": before["m0"],
                "smd_before": smd_b,
                "var_ratio_before": vr_b,
                "mean_treated_after": after["m1"],
                "mean_comparison_after": after["m0"],
                "smd_after": smd_a,
                "var_ratio_after": vr_a,
            },
            index=pd.Index(self.names, name="covariate"),
        )
        frame["imbalanced_after"] = np.abs(frame["smd_after"]) > self.threshold
        return frame

    @cached_property
    def _ecdf(self) -> pd.DataFrame:
        ones = np.ones(self._t.size)
        rows = []
        for j in range(self._X.shape[1]):
            x = self._X[:, j]
            mb, xb = ecdf_stats(x, self._t, ones)
            ma, xa = ecdf_stats(x, self._t, self._w)
            rows.append((mb, xb, ma, xa))
        return pd.DataFrame(
            rows,
            columns=["ecdf_mean_before", "ecdf_max_before", "ecdf_mean_after", "ecdf_max_after"],
            index=pd.Index(self.names, name="covariate"),
        )

    def to_frame(self, *, ecdf: bool = True) -> pd.DataFrame:
        """The balance table as a DataFrame indexed by covariate.

        Parameters
        ----------
        ecdf : bool, default True
            Include the eCDF statistics (they sort every covariate, so they
            are computed on first request and cached).
        """
        core = self._core.copy()
        if not ecdf:
            return core
        e = self._ecdf
        cols = [
            "mean_treated_before", "mean_comparison_before", "smd_before", "var_ratio_before",
            "ecdf_mean_before", "ecdf_max_before", "mean_treated_after",
            "mean_comparison_after", "smd_after", "var_ratio_after", "ecdf_mean_after",
            "ecdf_max_after", "imbalanced_after",
        ]
        return pd.concat([core, e], axis=1)[cols]

    @property
    def max_abs_smd_after(self) -> float:
        """The largest |SMD| after adjustment."""
        return float(np.nanmax(np.abs(self._core["smd_after"].to_numpy())))

    @property
    def imbalanced(self) -> list[str]:
        """Covariates whose |SMD| after adjustment exceeds the threshold."""
        c = self._core
        return c.index[c["imbalanced_after"].to_numpy()].tolist()

    def effective_sample_size(self) -> dict[str, float]:
        """Kish's effective sample size ``(sum w)^2 / sum w^2`` per group, after."""
        out = {}
        for name, mask in (("treated", self._t), ("comparison", ~self._t)):
            w = self._w[mask]
            out[name] = float(w.sum() ** 2 / (w**2).sum()) if (w > 0).any() else 0.0
        return out

    def __repr__(self) -> str:
        return f"BalanceTable({len(self.names)} covariates, max |SMD| after = {self.max_abs_smd_after:.3f})"
