"""Balance and overlap plots (deprecated spellings of ``results.plot("love")`` / ``("overlap")``).

Both figures are drawn by :mod:`pbr_eval.figures` from the results'
``figure_data``, the same functions the reports use.

References
----------
Austin, P. C. (2011). An introduction to propensity score methods for
reducing the effects of confounding in observational studies. Multivariate
Behavioral Research 46(3), 399-424 (standardised differences, 0.1 rule).
Stuart, E. A. (2010). Matching methods for causal inference. Statistical
Science 25(1), 1-21.
"""

from __future__ import annotations

import warnings
from typing import Any

from pbr_eval.exceptions import OptionError
from pbr_eval.figures import draw

__all__ = ["love_plot", "overlap_plot"]


def love_plot(results: Any, *, absolute: bool = True, threshold: float | None = None) -> Any:
    """Standardised mean differences before and after adjustment (deprecated).

    Use ``results.plot("love")`` (it returns the Axes; the figure is
    ``ax.figure``).

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

    Examples
    --------
    >>> import warnings
    >>> from pbr_eval import Cohort, estimate
    >>> from pbr_eval.datasets import load_reoffending
    >>> sim = load_reoffending()
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore", DeprecationWarning)
    ...     fig = love_plot(estimate(Cohort(sim.data, **sim.cohort_args)))
    >>> type(fig).__name__
    'Figure'
    """
    warnings.warn("love_plot(results) is deprecated; use results.plot('love') (it returns the "
                  "Axes: save ax.figure).", DeprecationWarning, stacklevel=2)
    bal = getattr(results, "balance", results)
    if bal is None or not hasattr(bal, "figure_data"):
        raise OptionError("`results` must carry a balance table (results.balance); got none.")
    data = bal.figure_data("love")
    data["absolute"] = bool(absolute)
    if threshold is not None:
        data["threshold"] = float(threshold)
    return draw("love", data).figure


def overlap_plot(results: Any, *, bins: int = 40) -> Any:
    """Propensity score by group, before and after adjustment (deprecated).

    Use ``results.plot("overlap")``.

    Parameters
    ----------
    results : CounterfactualResults
        A result with a propensity score (``extras["distance"]`` or
        ``extras["propensity"]``).
    bins : int, default 40

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    OptionError
        When the result has no score (e.g. Mahalanobis matching, exact matching).
    """
    warnings.warn("overlap_plot(results) is deprecated; use results.plot('overlap') (it returns "
                  "the Axes: save ax.figure).", DeprecationWarning, stacklevel=2)
    if not hasattr(results, "_overlap_data"):
        raise OptionError("`results` must be CounterfactualResults from pbr_eval.estimate(); got "
                          f"{type(results).__name__}.")
    return draw("overlap", results._overlap_data(bins=bins)).figure
