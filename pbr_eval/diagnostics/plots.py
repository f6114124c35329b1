"""Balance and overlap plots, returned as matplotlib Figures (Agg canvas, no pyplot).

References
----------
Austin, P. C. (2011). An introduction to propensity score methods for
reducing the effects of confounding in observational studies. Multivariate
Behavioral Research 46(3), 399-424 (standardised differences, 0.1 rule).
Stuart, E. A. (2010). Matching methods for causal inference. Statistical
Science 25(1), 1-21.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.figure import Figure  # a bare Figure draws with Agg, no pyplot state

from pbr_eval.exceptions import OptionError

__all__ = ["love_plot", "overlap_plot"]


def love_plot(results: Any, *, absolute: bool = True, threshold: float | None = None) -> Figure:
    """Standardised mean differences before and after adjustment, one row per covariate.

    Parameters
    ----------
    results : CounterfactualResults or BalanceTable
    absolute : bool, default True
        Plot |SMD|.
    threshold : float, optional
        Reference line (default: the balance table's threshold, 0.1).

    Returns
    -------
    matplotlib.figure.Figure
        Save it with ``fig.savefig("love.png")``.

    Examples
    --------
    >>> from pbr_eval import Cohort, estimate
    >>> from pbr_eval.datasets import load_reoffending
    >>> sim = load_reoffending()
    >>> fig = love_plot(estimate(Cohort(sim.data, **sim.cohort_args)))
    >>> type(fig).__name__
    'Figure'
    """
    bal = getattr(results, "balance", results)
    if bal is None or not hasattr(bal, "to_frame"):
        raise OptionError("`results` must carry a balance table (results.balance); got none.")
    tab = bal.to_frame(ecdf=False)
    before = tab["smd_before"].to_numpy(dtype=float)
    after = tab["smd_after"].to_numpy(dtype=float)
    if absolute:
        before, after = np.abs(before), np.abs(after)
    thr = bal.threshold if threshold is None else float(threshold)
    names = list(tab.index)
    y = np.arange(len(names))[::-1]
    fig = Figure(figsize=(6.5, 0.35 * len(names) + 1.5))
    ax = fig.subplots()
    ax.scatter(before, y, marker="o", facecolors="none", edgecolors="tab:red", label="Before")
    ax.scatter(after, y, marker="o", color="tab:blue", label="After")
    for v in ([thr] if absolute else [-thr, thr]):
        ax.axvline(v, color="grey", linestyle="--", linewidth=0.8)
    ax.axvline(0, color="black", linewidth=0.6)
    ax.set_yticks(y, names)
    ax.set_xlabel("Absolute standardised mean difference" if absolute else
                  "Standardised mean difference")
    ax.set_title("Covariate balance")
    ax.legend(loc="lower right", frameon=False)
    fig.tight_layout()
    return fig


def overlap_plot(results: Any, *, bins: int = 40) -> Figure:
    """Distribution of the propensity score (the matching distance) by group,
    before and after adjustment (after: weighted by the adjustment weights).

    Parameters
    ----------
    results : CounterfactualResults
        A result with ``extras["distance"]`` (score-based matching) or
        ``extras["propensity"]``.
    bins : int, default 40

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    OptionError
        When the result has no score (e.g. Mahalanobis matching, exact matching).
    """
    extras = getattr(results, "extras", {})
    score = extras.get("distance") if hasattr(extras, "get") else None
    if score is None and hasattr(extras, "get") and extras.get("propensity") is not None:
        score = extras["propensity"].ps
    if score is None:
        raise OptionError(
            "overlap_plot needs a propensity score, and this result has none (it matched on a "
            "covariate distance or exactly). Use a score-based method, e.g. distance='glm'."
        )
    s = np.asarray(score, dtype=float)
    w = results.weights.to_numpy(dtype=float)
    t = _treated_mask(results, s.size)
    edges = np.histogram_bin_edges(s, bins=bins)
    fig = Figure(figsize=(8, 3.5))
    axes = fig.subplots(1, 2, sharex=True)
    for ax, title, ww in ((axes[0], "Before", np.ones_like(w)), (axes[1], "After", w)):
        for mask, colour, label in ((t, "tab:blue", "Treated"), (~t, "tab:red", "Comparison")):
            wm = ww[mask]
            if wm.sum() <= 0:
                continue
            ax.hist(s[mask], bins=edges, weights=wm / wm.sum(), histtype="step", color=colour,
                    label=label)
        ax.set_title(title)
        ax.set_xlabel("Propensity score (distance)")
    axes[0].set_ylabel("Share of group")
    axes[1].legend(frameon=False)
    fig.tight_layout()
    return fig


def _treated_mask(results: Any, n: int) -> np.ndarray:
    t = results.extras.get("treated") if hasattr(results.extras, "get") else None
    if t is not None:
        return np.asarray(t, dtype=bool)
    bal = results.balance
    if bal is not None and hasattr(bal, "_t") and bal._t.size == n:
        return np.asarray(bal._t, dtype=bool)
    raise OptionError("overlap_plot needs the treatment indicator; this result does not carry it.")

