"""Front doors: :func:`estimate`, :func:`bootstrap`, :func:`price` and :func:`report`, thin over the classes."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pbr_eval.bootstrap import bootstrap
from pbr_eval.cohort import Cohort
from pbr_eval.distributed import DistributedCohort, fit_distributed
from pbr_eval.estimators.base import ESTIMATORS, build_estimator
from pbr_eval.exceptions import OptionError
from pbr_eval.kinds import DEFAULT_CURRENCY
from pbr_eval.options import (
    BOOTSTRAP_CIS,
    BOOTSTRAP_KINDS,
    DEFAULT_DISCLOSURE_THRESHOLD,
    DEFAULT_LEVEL,
    DEFAULT_MIN_TREATED,
    DEFAULT_N_BOOT,
    INFERENCES,
    BootstrapCI,
    BootstrapKind,
    Inference,
    check_choice,
)
from pbr_eval.pricing.recommend import price
from pbr_eval.results.bootstrap import BootstrapResults
from pbr_eval.results.counterfactual import CounterfactualResults

__all__ = ["estimate", "evaluate", "bootstrap", "price", "report"]


def estimate(
    cohort: Cohort,
    *,
    method: str = "nearest",
    inference: Inference = "analytic",
    n_boot: int | None = None,
    seed: int | None = None,
    n_jobs: int | None = None,
    boot_kind: BootstrapKind | None = None,
    boot_ci: BootstrapCI | None = None,
    **options: Any,
) -> CounterfactualResults | BootstrapResults:
    """Estimate the non-intervention rate of a cohort.

    Parameters
    ----------
    cohort : Cohort
        The validated cohort.
    method : str, default "nearest"
        The estimator, by name; see :data:`pbr_eval.estimators.ESTIMATORS`.
    inference : {"analytic", "bootstrap"}, default "analytic"
        ``"analytic"``: the estimator's own standard errors and intervals.
        ``"bootstrap"``: refit the estimator on resampled cohorts
        (:func:`pbr_eval.bootstrap`) and read the intervals from the
        replicates.
    n_boot : int, optional
        With ``inference="bootstrap"``: replicates (default 999,
        :data:`pbr_eval.options.DEFAULT_N_BOOT`). With ``inference="analytic"``,
        the method's own ``n_boot`` option if it has one (``staggered_did``'s
        multiplier bootstrap), else an error.
    seed : int, optional
        The seed of every random step: the estimator's (e.g. ``order="random"``
        matching; a method without a ``seed`` option raises with
        ``inference="analytic"``) and, with ``inference="bootstrap"``, the
        bootstrap's.
    n_jobs : int, optional
        With ``inference="bootstrap"``: parallel workers (default 1); the
        replicates do not depend on it.
    boot_kind : {"unit", "stratified", "cluster", "pair", "comparison"}, optional
        With ``inference="bootstrap"``: the resampling scheme (default
        ``"unit"``; see :func:`pbr_eval.bootstrap` for the others, e.g.
        ``backend=``).
    boot_ci : {"normal", "percentile", "bca"}, optional
        With ``inference="bootstrap"``: the default interval (``"normal"``).
    **options
        The estimator's options (e.g. ``caliper=0.2``, ``ratio=2``). An option
        the method does not take raises :class:`~pbr_eval.exceptions.OptionError`.

    Returns
    -------
    CounterfactualResults or BootstrapResults
        ``CounterfactualResults`` (``to_frame()``, ``weights``, ``balance``,
        ``info``, ``summary()``) with ``inference="analytic"``;
        :class:`~pbr_eval.results.bootstrap.BootstrapResults` with
        ``inference="bootstrap"``.

    Raises
    ------
    OptionError
        ``cohort`` is not a Cohort; an unknown method or option; a bootstrap
        option (``n_boot``, ``n_jobs``, ``boot_kind``, ``boot_ci``) with
        ``inference="analytic"``.

    Examples
    --------
    >>> import pbr_eval
    >>> from pbr_eval.datasets import load_reoffending
    >>> sim = load_reoffending()
    >>> cohort = pbr_eval.Cohort(sim.data, **sim.cohort_args)
    >>> res = pbr_eval.estimate(cohort, method="nearest")
    >>> list(res.to_frame()["outcome"])
    ['reoffended', 'reconviction_events']
    >>> boot = pbr_eval.estimate(cohort, inference="bootstrap", n_boot=50, seed=7)
    >>> boot.n_boot, boot.resampling
    (50, 'unit')
    """
    if isinstance(cohort, DistributedCohort):
        return _estimate_distributed(cohort, method, inference, n_boot, seed, n_jobs, boot_kind,
                                     boot_ci, options)
    if not isinstance(cohort, Cohort):
        raise OptionError(
            f"`cohort` must be a pbr_eval.Cohort; got {type(cohort).__name__}. Build one with "
            "pbr_eval.Cohort(data, treatment=..., outcome=..., covariates=...)."
        )
    inference = check_choice("inference", inference, INFERENCES)
    boot = {"n_boot": n_boot, "n_jobs": n_jobs, "kind": boot_kind, "ci": boot_ci}
    own = ESTIMATORS[method].option_names() if method in ESTIMATORS else []
    if inference == "analytic":
        # a method's own option of the same name (staggered_did's multiplier n_boot) is its own
        for name in ("n_boot", "n_jobs"):
            if name in own and boot[name] is not None:
                options = {**options, name: boot.pop(name)}
        given = [k if k in ("n_boot", "n_jobs") else f"boot_{k}"
                 for k, v in boot.items() if v is not None]
        if given:
            raise OptionError(
                f"`{given[0]}` is used only with inference='bootstrap'; got inference='analytic'. "
                "Pass inference='bootstrap' or drop it."
            )
    if seed is not None and (inference == "analytic" or "seed" in own):
        options = {**options, "seed": seed}  # analytic: a method without `seed` raises
    estimator = build_estimator(method, options)
    if inference == "analytic":
        return estimator.fit(cohort)
    return bootstrap(
        estimator, cohort, seed=seed,
        n_boot=DEFAULT_N_BOOT if n_boot is None else n_boot,
        n_jobs=1 if n_jobs is None else n_jobs,
        kind=check_choice("boot_kind", "unit" if boot_kind is None else boot_kind,
                          BOOTSTRAP_KINDS),
        ci=check_choice("boot_ci", "normal" if boot_ci is None else boot_ci, BOOTSTRAP_CIS),
    )


def evaluate(cohort: Cohort, **options: Any) -> Any:
    """Evaluate a cohort design-first: overlap, a headline by a stated rule, checks, warnings.

    Assesses overlap (propensity score distributions, participants without
    comparable comparison people, effective sample sizes, what trimming
    would drop), estimates the headline by matching with replacement and
    regression adjustment, runs doubly robust, entropy balancing, weighting
    and regression estimators as checks, and raises typed fragility
    warnings. See :mod:`pbr_eval.workflow` and ``docs/evaluate.md``.

    Parameters
    ----------
    cohort : Cohort
    **options
        ``ratio``, ``disagreement``, ``level``, ``warn`` (see
        :func:`pbr_eval.workflow.evaluate`).

    Returns
    -------
    EvaluationResults
        A :class:`CounterfactualResults` of the headline estimate (so
        :func:`price` and :func:`report` take it) with ``panel_frame()``,
        ``overlap``, ``flags`` and ``rule``.

    Examples
    --------
    >>> import pbr_eval
    >>> from pbr_eval.datasets import load_reoffending
    >>> sim = load_reoffending()
    >>> ev = pbr_eval.evaluate(pbr_eval.Cohort(sim.data, **sim.cohort_args), warn=False)
    >>> ev.kind, ev.method
    ('evaluation', 'nearest')
    """
    from pbr_eval.workflow import evaluate as _evaluate

    allowed = ("ratio", "disagreement", "level", "warn")
    unknown = [k for k in options if k not in allowed]
    if unknown:
        raise OptionError(
            f"`evaluate` does not take option(s) {', '.join(map(repr, unknown))}; its options "
            f"are {', '.join(map(repr, allowed))}. To choose an estimator and its options, use "
            "pbr_eval.estimate(cohort, method=..., ...) (CLI: --method NAME).")
    return _evaluate(cohort, **options)


def _estimate_distributed(cohort: DistributedCohort, method: str, inference: str,
                          n_boot: int | None, seed: int | None, n_jobs: int | None,
                          boot_kind: Any, boot_ci: Any, options: dict[str, Any]
                          ) -> CounterfactualResults:
    """:func:`estimate` on a :class:`~pbr_eval.distributed.DistributedCohort`: analytic only."""
    if check_choice("inference", inference, INFERENCES) != "analytic" or any(
            v is not None for v in (n_boot, n_jobs, boot_kind, boot_ci)):
        raise OptionError(
            "`inference` must be 'analytic' on a distributed cohort (its standard errors are "
            "the in-memory influence-function ones); got a bootstrap option. Use "
            "cohort.to_cohort() for the bootstrap when the data fits in memory."
        )
    if seed is not None:
        options = {**options, "seed": seed}
    return fit_distributed(build_estimator(method, options), cohort)


def report(
    results: Any,
    path: str | Path,
    *,
    kind: str = "pilot",
    title: str | None = None,
    level: float = DEFAULT_LEVEL,
    threshold: int = DEFAULT_DISCLOSURE_THRESHOLD,
    min_cohort: int = DEFAULT_MIN_TREATED,
    generated: str | None = None,
    currency: str = DEFAULT_CURRENCY,
    provenance: Mapping[str, Any] | None = None,
    **parts: Any,
) -> list[Path]:
    """Write a report for any results object; the format follows the file suffix.

    ``.html`` gives one self-contained page (figures embedded, prints on A4),
    ``.md`` Markdown (figures as PNG files in ``<name>_figures/`` beside it),
    ``.xlsx`` the commissioner's workbook (a README sheet, then one sheet per
    section that has one), and an ``.html`` file whose name holds "whatif"
    (e.g. ``whatif.html``) the what-if page: one self-contained file (no
    server, no network) where the commissioner changes the value, the risk
    accepted, the attachment fee, the cohort, the provider's cost, the
    referral profile, the lags, the discount rate, a cap, a trigger and a
    minimum performance level and sees the price, band, chance of paying for
    deadweight, budget, break-even, cash flow and net present value worked
    out again in the browser (it needs ``pricing``). What a report shows is
    the registered sections of its kind (:data:`pbr_eval.reporting.SECTIONS`); every value is formatted
    by its declared kind and every number a reader sees, in tables and in
    sentences, passes one disclosure control (:mod:`pbr_eval.disclosure`).

    Parameters
    ----------
    results : CounterfactualResults or mapping
        From :func:`estimate` (or its ``to_dict()``, e.g. a saved JSON file).
    path : str or Path
        The file to write (its folder is created if needed).
    kind : {"pilot", "tariff"}, default "pilot"
        The evaluator's pilot report or the commissioner's tariff report.
    title : str, optional
    level : float, default 0.95
    threshold : int, default :data:`pbr_eval.options.DEFAULT_DISCLOSURE_THRESHOLD`
        Counts of fewer people are hidden, with everything that would reveal them.
    min_cohort : int, default :data:`pbr_eval.options.DEFAULT_MIN_TREATED`
        Outcomes estimated on fewer programme participants are not published.
    generated : str, optional
        The timestamp printed in the report (default: now).
    currency : str, default "£"
        The symbol money is shown with.
    provenance : mapping, optional
        Extra provenance lines (e.g. an analysis file's checksum).
    **parts
        The inputs the registered sections need (:func:`pbr_eval.reporting.report_parts`):

        * ``pricing`` - a :class:`PriceRecommendation` (or a bundle with any of
          ``recommendation``, ``tariff``, ``simulation``, ``cashflow``,
          ``sensitivity``, ``contract``, split into the parts below);
        * ``tariff`` - a :class:`pbr_eval.pricing.Tariff`;
        * ``simulation`` - a :class:`PaymentRisk` from :func:`simulate_payments`;
        * ``cashflow`` - a cash-flow schedule from :func:`cash_flow`;
        * ``contract`` - the contract's values (the ``contract`` of
          :func:`pbr_eval.analysis.commissioner_bundle`: fee, cost, referrals, lags, price
          paid, cap, trigger, minimum performance level), for the payments under the contract;
        * ``price_sensitivity`` - the table of :func:`pbr_eval.pricing.price_sensitivity`;
        * ``sensitivity`` - hidden-bias checks (:mod:`pbr_eval.sensitivity`): one
          result or a mapping title -> result;
        * ``claims`` - a :class:`~pbr_eval.claims.ClaimsValidation`;
        * ``areas`` - an :class:`AreaRates`; ``area_tariffs`` - an :class:`AreaTariffs`;
        * ``staggered`` - the :class:`~pbr_eval.results.staggered.StaggeredResults` of
          ``method="staggered_did"`` (taken from ``results.extras`` when not given; give
          it, or its ``to_dict()``, with a saved results file);
        * ``survival`` - the :class:`~pbr_eval.results.survival.SurvivalResults` of
          :func:`pbr_eval.estimate_survival` (or its ``to_dict()``);
        * ``imputation`` - the :class:`~pbr_eval.results.imputation.ImputedResults` of
          :func:`pbr_eval.impute` ``(...).estimate(...)`` (or its ``to_dict()``);
        * ``synthetic`` - the :class:`~pbr_eval.results.synthetic.SyntheticResults` of
          ``method="synthetic_control"`` or ``"sdid"`` (taken from ``results.extras`` when not
          given; give it, or its ``to_dict()``, with a saved results file);
        * ``interim`` - the :class:`~pbr_eval.results.survival.InterimPaymentResults` of
          :func:`pbr_eval.interim_payment` (or its ``to_dict()``);
        * ``parallel_trends`` - the
          :class:`~pbr_eval.results.parallel_trends.ParallelTrendsResults` of
          :func:`pbr_eval.parallel_trends` (or its ``to_dict()``).

    Returns
    -------
    list of Path
        The files written.

    Raises
    ------
    OptionError
        For an unsupported suffix, an invalid option, or a keyword that is not
        an option or a part (the message lists them).

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

    return write_report(results, path, kind=kind, title=title, level=level, threshold=threshold,
                        min_cohort=min_cohort, generated=generated, currency=currency,
                        provenance=provenance, **parts)
