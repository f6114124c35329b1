"""Front doors: :func:`estimate`, :func:`price` and :func:`report`, thin over the classes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pbr_eval.cohort import Cohort
from pbr_eval.estimators.base import build_estimator
from pbr_eval.exceptions import OptionError
from pbr_eval.options import DEFAULT_DISCLOSURE_THRESHOLD, DEFAULT_MIN_TREATED
from pbr_eval.pricing.recommend import price
from pbr_eval.results.counterfactual import CounterfactualResults

__all__ = ["estimate", "price", "report"]


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


def report(
    results: Any,
    path: str | Path,
    *,
    pricing: Any = None,
    sensitivity: Any = None,
    kind: str = "pilot",
    title: str | None = None,
    level: float = 0.95,
    threshold: int = DEFAULT_DISCLOSURE_THRESHOLD,
    min_cohort: int = DEFAULT_MIN_TREATED,
    generated: str | None = None,
    claims: Any = None,
    areas: Any = None,
    area_tariffs: Any = None,
) -> list[Path]:
    """Write a report for any results object; the format follows the file suffix.

    ``.html`` gives one self-contained page (plots embedded, prints on A4),
    ``.md`` Markdown (plots as PNG files in ``<name>_figures/`` beside it),
    ``.xlsx`` the commissioner's workbook (README, prices and bands, tariff,
    payment simulation, cash flow, sensitivity, estimates and balance sheets).
    Reports carry aggregates only, with disclosure control applied.

    Parameters
    ----------
    results : CounterfactualResults or mapping
        From :func:`estimate` (or its ``to_dict()``, e.g. a saved JSON file).
    path : str or Path
        The file to write (its folder is created if needed).
    pricing : PriceRecommendation or mapping, optional
        A price recommendation, or a bundle with any of ``recommendation``,
        ``tariff``, ``simulation``, ``cashflow``, ``sensitivity``.
    sensitivity : object, optional
        Sensitivity-to-hidden-bias results (anything with ``to_frame()``).
    kind : {"pilot", "tariff"}, default "pilot"
        The evaluator's pilot report or the commissioner's tariff report.
    title : str, optional
    level : float, default 0.95
    threshold : int, default 10
        Counts below this are suppressed and rates that would reveal them withheld.
    min_cohort : int, default 30
        Outcomes estimated on fewer programme participants are not published.
    generated : str, optional
        The timestamp printed in the report (default: now).
    claims : ClaimsValidation, optional
        From :func:`pbr_eval.claims.validate_claims`: adds the "Claims checked"
        section (and the workbook's Claims sheet), disclosure-controlled.
    areas : AreaRates, optional
        From :func:`pbr_eval.areas.area_rates`: adds the "Local areas" section
        (and the Areas sheet); areas with fewer than ``threshold`` people merged.
    area_tariffs : AreaTariffs, optional
        From :func:`pbr_eval.areas.area_tariffs`: area prices and misallocation.

    Returns
    -------
    list of Path
        The files written.

    Raises
    ------
    OptionError
        For an unsupported suffix or invalid option.

    Examples
    --------
    >>> import pbr_eval, tempfile, os
    >>> from pbr_eval.datasets import load_reoffending
    >>> sim = load_reoffending()
    >>> res = pbr_eval.estimate(pbr_eval.Cohort(sim.data, **sim.cohort_args))
    >>> with tempfile.TemporaryDirectory() as d:
    ...     files = pbr_eval.report(res, os.path.join(d, "pilot.html"))
    ...     [f.name for f in files]
    ['pilot.html']
    """
    from pbr_eval.reporting import write_report

    return write_report(results, path, pricing=pricing, sensitivity=sensitivity, kind=kind,
                        title=title, level=level, threshold=threshold, min_cohort=min_cohort,
                        generated=generated, claims=claims, areas=areas,
                        area_tariffs=area_tariffs)
