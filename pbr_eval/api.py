"""Front doors: :func:`estimate` and :func:`price`, thin over the classes."""

from __future__ import annotations

from typing import Any

from pbr_eval.cohort import Cohort
from pbr_eval.estimators.base import build_estimator
from pbr_eval.exceptions import OptionError
from pbr_eval.pricing.recommend import price
from pbr_eval.results.counterfactual import CounterfactualResults

__all__ = ["estimate", "price"]


def estimate(cohort: Cohort, *, method: str = "nearest", **options: Any) -> CounterfactualResults:
    """Estimate the non-intervention rate of a cohort.

    Parameters
    ----------
    cohort : Cohort
        The validated cohort.
    method : str, default "nearest"
        The estimator, by name; see :data:`pbr_eval.estimators.ESTIMATORS`.
    **options
        The estimator's options (e.g. ``caliper=0.2``, ``ratio=2``). An option
        the method does not take raises :class:`~pbr_eval.exceptions.OptionError`.

    Returns
    -------
    CounterfactualResults
        With ``to_frame()``, ``weights``, ``balance``, ``info``, ``summary()``.

    Examples
    --------
    >>> import pbr_eval
    >>> from pbr_eval.datasets import load_reoffending
    >>> sim = load_reoffending()
    >>> cohort = pbr_eval.Cohort(sim.data, **sim.cohort_args)
    >>> res = pbr_eval.estimate(cohort, method="nearest")
    >>> list(res.to_frame()["outcome"])
    ['reoffended', 'reconviction_events']
    """
    if not isinstance(cohort, Cohort):
        raise OptionError(
            f"`cohort` must be a pbr_eval.Cohort; got {type(cohort).__name__}. Build one with "
            "pbr_eval.Cohort(data, treatment=..., outcome=..., covariates=...)."
        )
    return build_estimator(method, options).fit(cohort)
