r"""The resampling engine: resample a cohort, refit the estimator, keep the replicates.

:func:`bootstrap` re-fits an estimator on resampled copies of a cohort (the
propensity model, the matching or weighting, everything) and returns a
read-only :class:`~pbr_eval.results.bootstrap.BootstrapResults` holding every
replicate, from which it reads normal, percentile or BCa intervals
(:mod:`pbr_eval.inference.intervals`) for the observed rate, the
non-intervention rate and the effect of each outcome. It is the only module
that refits: results never do. It sits above :mod:`pbr_eval.estimators` and
reaches a replicate's fast path through a typed protocol: the replicate cohort
is ``cohort.take(rows, ...)`` and the estimator's
``fit_replicate(cohort, hints)`` gets a frozen
:class:`~pbr_eval.replicate.ReplicateHints` (a warm start, the distinct parent
rows, work buffers; :mod:`pbr_eval.replicate`). Replicates run through
:mod:`joblib` (``n_jobs``, any joblib backend, including Dask's); replicate
``b`` draws from its own stream,
``numpy.random.SeedSequence(seed).spawn(n_boot)[b]``, so a seed gives the same
numbers whatever ``n_jobs`` or backend.

References
----------
Efron (1987) and Efron & Tibshirani (1993) for the intervals: see
:mod:`pbr_eval.inference.intervals`.
Davison, A. C. & Hinkley, D. V. (1997). Bootstrap Methods and their
Application. Cambridge University Press. Section 3.8 (clustered data).
Abadie, A. & Spiess, J. (2022). Robust post-matching inference. Journal of
the American Statistical Association 117(538), 983-995 (the matched-pair
bootstrap).
Austin, P. C. & Small, D. S. (2014). The use of bootstrapping when using
propensity-score matching without replacement: a simulation study.
Statistics in Medicine 33(24), 4306-4319.
"""

from __future__ import annotations

import math
import sys
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from pbr_eval.cohort import Cohort
from pbr_eval.estimators.base import Estimator, build_estimator
from pbr_eval.exceptions import EstimationWarning, OptionError, PbrEvalError
from pbr_eval.options import (
    BOOTSTRAP_CIS,
    BOOTSTRAP_KINDS,
    DEFAULT_LEVEL,
    DEFAULT_N_BOOT,
    BootstrapCI,
    BootstrapKind,
    check_choice,
    check_int,
    check_level,
)
from pbr_eval.replicate import ReplicateHints, WorkBuffers
from pbr_eval.results.bootstrap import QUANTITIES, BootstrapResults
from pbr_eval.results.counterfactual import CounterfactualResults

__all__ = ["bootstrap"]


# --------------------------------------------------------------------------- resampling plan
@dataclass(frozen=True)
class _Plan:
    """How to draw one replicate: groups of rows, drawn with replacement within strata."""

    kind: str
    group_rows: np.ndarray  # row numbers sorted by group
    group_start: np.ndarray  # start of each group in group_rows
    group_len: np.ndarray  # rows per group
    strata: tuple[np.ndarray, ...]  # group numbers of each stratum
    unit_codes: np.ndarray | None  # integer code of each row's unit_id (panel), else None
    relabel_cluster: bool
    jack_block: np.ndarray | None = None  # jackknife block of each group (BCa)
    fixed: np.ndarray | None = None  # groups in every replicate, never resampled ("comparison")

    @property
    def n_groups(self) -> int:
        return int(self.group_len.size)

    def rows_of(self, groups: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Rows of ``groups`` (in that order) and the draw position of each row."""
        lens = self.group_len[groups]
        total = int(lens.sum())
        ends = np.cumsum(lens)
        offsets = np.repeat(self.group_start[groups] - (ends - lens), lens) + np.arange(total)
        return self.group_rows[offsets], np.repeat(np.arange(groups.size), lens)

    def draw(self, rng: np.random.Generator) -> np.ndarray:
        parts = [s[rng.integers(0, s.size, s.size)] for s in self.strata]
        if self.fixed is not None:
            parts.insert(0, self.fixed)
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    def replicate(
        self,
        parent: Cohort,
        groups: np.ndarray,
        *,
        keep: Sequence[str] | None = None,
        buffers: WorkBuffers | None = None,
    ) -> tuple[Cohort, np.ndarray]:
        """Return the replicate cohort of ``groups`` and its parent rows; ``keep``: copy only these data columns (``Estimator.replicate_columns``), default all; ``buffers``: work arrays reused across replicates (the cohort is then valid only until the next one built with them)."""
        rows, pos = self.rows_of(groups)
        cols: dict[str, np.ndarray] = {}
        if parent.unit_id is not None:
            if self.unit_codes is None:
                cols[parent.unit_id] = np.arange(rows.size, dtype=np.int64)
            else:
                n_codes = int(self.unit_codes.max()) + 1
                cols[parent.unit_id] = pos.astype(np.int64) * n_codes + self.unit_codes[rows]
        if self.relabel_cluster and parent.cluster is not None:
            cols[parent.cluster] = pos.astype(np.int64)
        return parent.take(rows, columns=cols, keep=keep, buffers=buffers), rows


def _codes(values: np.ndarray) -> np.ndarray:
    return pd.factorize(pd.Series(values), sort=False)[0].astype(np.int64)


def _make_plan(cohort: Cohort, kind: str, strata: str | None) -> _Plan:
    n = cohort.n
    unit_codes = (_codes(cohort.column(cohort.unit_id))
                  if cohort.is_panel and cohort.unit_id is not None else None)
    if kind == "cluster":
        if cohort.cluster is None:
            raise OptionError(
                "`kind='cluster'` resamples clusters, but the cohort has no `cluster`. Build the "
                "cohort with cluster='<column>' (e.g. the local authority), or use kind='unit'."
            )
        group = _codes(cohort.column(cohort.cluster))
    elif unit_codes is not None:
        group = unit_codes
    else:
        group = np.arange(n, dtype=np.int64)
    order = np.argsort(group, kind="stable")
    n_groups = int(group.max()) + 1
    lens = np.bincount(group, minlength=n_groups)
    starts = np.concatenate([[0], np.cumsum(lens)[:-1]])
    first_row = order[starts]
    if kind == "stratified":
        key = cohort.t[first_row].astype(np.int64)
        if strata is not None:
            if strata not in cohort.data.columns:
                raise OptionError(
                    f"`strata` must name a column of the cohort's data; got {strata!r}. "
                    f"Columns: {', '.join(map(repr, cohort.data.columns))}."
                )
            s_codes = _codes(cohort.column(strata))
            per_group = pd.Series(s_codes).groupby(group).nunique().to_numpy()
            if (per_group > 1).any():
                raise OptionError(
                    f"`strata` column '{strata}' varies within a unit; a stratum must be "
                    "constant for each unit."
                )
            key = key * (int(s_codes.max()) + 1) + s_codes[first_row]
        strata_groups = tuple(
            np.flatnonzero(key == k).astype(np.int64) for k in np.unique(key)
        )
    elif kind == "comparison":
        if strata is not None:
            raise OptionError(
                f"`strata` is used only with kind='stratified'; got kind={kind!r} and "
                f"strata={strata!r}. Pass kind='stratified' or drop `strata`."
            )
        treated_group = cohort.t[first_row]
        fixed = np.flatnonzero(treated_group).astype(np.int64)
        strata_groups = (np.flatnonzero(~treated_group).astype(np.int64),)
    else:
        if strata is not None:
            raise OptionError(
                f"`strata` is used only with kind='stratified'; got kind={kind!r} and "
                f"strata={strata!r}. Pass kind='stratified' or drop `strata`."
            )
        strata_groups = (np.arange(n_groups, dtype=np.int64),)
    return _Plan(
        kind=kind,
        group_rows=order.astype(np.intp),
        group_start=starts.astype(np.intp),
        group_len=lens.astype(np.intp),
        strata=strata_groups,
        unit_codes=unit_codes,
        relabel_cluster=kind == "cluster",
        fixed=fixed if kind == "comparison" else None,
    )


# --------------------------------------------------------------------------- replicates
def _values(res: CounterfactualResults, outcomes: Sequence[str]) -> np.ndarray:
    out = np.empty((len(outcomes), len(QUANTITIES)))
    for i, name in enumerate(outcomes):
        e = res.estimate_for(name)
        out[i] = (e.observed, e.non_intervention, e.effect)
    return out


def _fit_values(
    estimator: Estimator, cohort: Cohort, hints: ReplicateHints, outcomes: Sequence[str]
) -> tuple[np.ndarray | None, str | None]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return _values(estimator.fit_replicate(cohort, hints), outcomes), None
    except (PbrEvalError, np.linalg.LinAlgError) as err:
        return None, f"{type(err).__name__}: {err}"


def _run_chunk(
    estimator: Estimator,
    cohort: Cohort,
    plan: _Plan,
    tasks: Sequence[tuple[str, Any]],
    outcomes: Sequence[str],
    start: np.ndarray | None,
) -> list[tuple[np.ndarray | None, str | None]]:
    """Fit a batch of replicates; each task is ("boot", SeedSequence) or ("jack", groups)."""
    from threadpoolctl import threadpool_limits

    out = []
    # Estimators that say which data columns they read (nearest-neighbour matching)
    # get replicate cohorts carrying only those; X, t and the roles are always there.
    keep = estimator.replicate_columns(cohort)
    # Work buffers shared by this batch's replicates, one after the other (each
    # replicate cohort is dropped before the next is built): no fresh pages.
    buffers = WorkBuffers()
    # One BLAS thread per replicate: faster when replicates run side by side, and
    # the same floating-point summation order in every process, so results do
    # not depend on n_jobs or the backend.
    with threadpool_limits(limits=1):
        for what, arg in tasks:
            if what == "boot":
                groups = plan.draw(np.random.default_rng(arg))
            else:
                assert plan.jack_block is not None
                groups = np.flatnonzero(plan.jack_block != arg)
            rep, rows = plan.replicate(cohort, groups, keep=keep, buffers=buffers)
            hints = ReplicateHints(rows=rows, parent_X=cohort.X, parent_t=cohort.t, start=start,
                                   buffers=buffers)
            out.append(_fit_values(estimator, rep, hints, outcomes))
            del hints
            del rep
    return out


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _execute(
    estimator: Estimator,
    cohort: Cohort,
    plan: _Plan,
    tasks: list[tuple[str, Any]],
    outcomes: Sequence[str],
    start: np.ndarray | None,
    *,
    n_jobs: int,
    backend: str | None,
    progress: bool,
    label: str,
) -> list[tuple[np.ndarray | None, str | None]]:
    import joblib

    if n_jobs == 1 and backend is None:
        workers = 1
    else:
        with joblib.parallel_config(backend=backend) if backend else _null():
            workers = max(1, joblib.effective_n_jobs(n_jobs))
    size = max(1, math.ceil(len(tasks) / (1 if workers == 1 and not progress else 8 * workers)))
    chunks = list(_chunks(tasks, size))
    results: list[tuple[np.ndarray | None, str | None]] = []
    bar = _Progress(len(tasks), label) if progress else None
    try:
        if workers == 1 and backend is None:
            for ch in chunks:
                results.extend(_run_chunk(estimator, cohort, plan, ch, outcomes, start))
                if bar:
                    bar.advance(len(ch))
        else:
            # The backend is set through parallel_config, the way joblib registers
            # "dask" (Parallel(backend="dask") alone is rejected by joblib 1.6).
            with joblib.parallel_config(backend=backend) if backend else _null():
                par = joblib.Parallel(n_jobs=n_jobs, return_as="generator")
                gen = par(
                    joblib.delayed(_run_chunk)(estimator, cohort, plan, ch, outcomes, start)
                    for ch in chunks
                )
                for ch, res in zip(chunks, gen, strict=True):
                    results.extend(res)
                    if bar:
                        bar.advance(len(ch))
    finally:
        if bar:
            bar.close()
    return results


class _null:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: Any) -> None:
        return None


class _Progress:
    """A rich progress bar on stderr."""

    def __init__(self, total: int, label: str) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self._p = Progress(
            "[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
            TimeElapsedColumn(), TimeRemainingColumn(),
            console=Console(stderr=True), transient=True,
        )
        self._p.start()
        self._task = self._p.add_task(label, total=total)

    def advance(self, n: int) -> None:
        self._p.advance(self._task, n)

    def close(self) -> None:
        self._p.stop()


# --------------------------------------------------------------------------- pair bootstrap
def _weights_of(point: CounterfactualResults) -> np.ndarray:
    """Return the point estimate's unit weights (the pair and comparison bootstraps need them)."""
    if point.weights is None:
        raise OptionError(
            f"These results (method '{point.method}') carry no unit weights, which the pair and "
            "comparison bootstraps need. Estimate again (results saved to a file keep no "
            "weights) or use kind='unit', 'stratified' or 'cluster'.")
    return point.weights.to_numpy(dtype=float)


def _pair_arrays(
    point: CounterfactualResults, cohort: Cohort
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
    sub = point.extras.get("subclass")
    if sub is None:
        raise OptionError(
            "`kind='pair'` resamples matched pairs, but these results have none "
            f"(method '{point.method}' gives no extras['subclass']; matching with replacement "
            "or weighting does not form pairs). Use kind='unit', 'stratified' or 'cluster'."
        )
    s = np.asarray(sub, dtype=np.int64)
    w = _weights_of(point)
    keep = (s >= 0) & (w > 0)
    s, w = s[keep], w[keep]
    t = cohort.t[keep]
    y = np.column_stack([cohort.y(o)[keep] for o in point.outcomes])
    return s, w, t, y, int(s.max()) + 1


def _pair_estimates(
    counts: np.ndarray, s: np.ndarray, w: np.ndarray, t: np.ndarray, y: np.ndarray
) -> np.ndarray:
    """Weighted treated and comparison means with each pair counted ``counts[pair]`` times."""
    mw = w * counts[s]
    w1, w0 = mw * t, mw * ~t
    obs = w1 @ y / w1.sum()
    ni = w0 @ y / w0.sum()
    return np.column_stack([obs, ni, obs - ni])


# --------------------------------------------------------------------------- front door
def _warm_start(point: CounterfactualResults) -> np.ndarray | None:
    """Return the full sample's logistic propensity coefficients, if it fitted one: the replicates' warm start (:attr:`ReplicateHints.start`; the optimum does not depend on it)."""
    logit = getattr(point.extras.get("propensity"), "logit", None)
    return None if logit is None else np.asarray(logit.params, dtype=float)


def _rebuild(
    results: CounterfactualResults, cohort: Cohort
) -> tuple[Estimator, CounterfactualResults]:
    fp = results.info.get("fingerprint")
    if fp is not None and fp != cohort.fingerprint:
        raise OptionError(
            "`cohort` is not the cohort these results were estimated on (data fingerprints "
            f"{str(fp)[:12]} vs {cohort.fingerprint[:12]}). Pass the same Cohort object or data."
        )
    method = results.info.get("method", results.method)
    options = dict(results.info.get("options", {}))
    try:
        estimator = build_estimator(method, options)
        refit = estimator.fit(cohort)
    except PbrEvalError as err:
        raise OptionError(
            f"Could not rebuild the '{method}' estimator from results.info['options'] ({err}). "
            "Pass the estimator itself: bootstrap(estimator, cohort, ...)."
        ) from err
    a, b = _values(results, results.outcomes), _values(refit, results.outcomes)
    if not np.allclose(a, b, rtol=1e-9, atol=1e-12, equal_nan=True):
        raise OptionError(
            f"Re-fitting '{method}' with results.info['options'] does not reproduce these "
            "results (an option such as a custom model is recorded only by name). Pass the "
            "estimator itself: bootstrap(estimator, cohort, ...)."
        )
    return estimator, results


def bootstrap(
    source: Any,
    cohort: Cohort,
    *,
    n_boot: int = DEFAULT_N_BOOT,
    kind: BootstrapKind = "unit",
    ci: BootstrapCI = "normal",
    level: float = DEFAULT_LEVEL,
    seed: int | None = None,
    strata: str | None = None,
    n_jobs: int = 1,
    backend: str | None = None,
    progress: bool = True,
    n_jackknife: int = 100,
) -> BootstrapResults:
    r"""Bootstrap the non-intervention rate and effect of any estimator.

    Parameters
    ----------
    source : CounterfactualResults or estimator
        Results of an estimator (the estimator is rebuilt from
        ``info['method']`` and ``info['options']`` and checked to reproduce
        them) or an estimator instance such as ``NearestNeighborMatching()``.
    cohort : Cohort
        The cohort the results came from (results keep no copy of the data).
    n_boot : int, default 999
        Number of replicates.
    kind : {"unit", "stratified", "cluster", "pair", "comparison"}, default "unit"
        ``"unit"``: draw units with replacement from the whole cohort (a
        panel unit brings all its periods). ``"stratified"``: draw within the
        treated and comparison groups (and within ``strata``), keeping their
        sizes. ``"cluster"``: draw the cohort's ``cluster`` levels (e.g. local
        authorities) with all their units; use it when outcomes are
        correlated within clusters. ``"pair"``: draw matched sets of the
        original matching (Abadie and Spiess 2022) without re-matching.
        ``"comparison"``: keep the treated cohort as it is and draw the
        comparison units with replacement, re-estimating everything; the
        interval for the cohort's own rate then adds the cohort's outcome
        noise (as for ``"pair"``; see Notes). ``"comparison"`` and ``"pair"``
        need a cross-sectional cohort and estimand ``"ATT"``.
    ci : {"normal", "percentile", "bca"}, default "normal"
        Default interval (``to_frame(ci=...)`` gives the others from the same
        run, BCa only if the run used ``ci="bca"``, which also computes the
        jackknife it needs). ``"normal"``: the estimate plus or minus z
        bootstrap standard errors (:func:`normal_bootstrap_interval`); the
        default because with matching re-estimated in each replicate (kinds
        ``"unit"``, ``"stratified"``, ``"cluster"``, ``"comparison"``) the
        percentile and BCa intervals are centred away from the estimate and
        over-cover (0.98-1.00 against 0.95-0.97 for ``"normal"`` in
        ``docs/validation.md``). ``"percentile"`` suits ``kind="pair"`` and
        smooth estimators (weighting), whose replicates centre on the estimate.
    level : float, default 0.95
    seed : int, optional
        Seed of the :class:`numpy.random.SeedSequence` whose ``spawn(n_boot)``
        children drive the replicates. ``None`` draws fresh entropy, recorded
        in ``info['seed']`` so the run can be repeated.
    strata : str, optional
        With ``kind="stratified"``, a column of the cohort's data (constant
        within a unit) to stratify by as well as treatment group.
    n_jobs : int, default 1
        Parallel workers for :class:`joblib.Parallel` (``-1``: all cores).
    backend : str, optional
        joblib backend, e.g. ``"loky"``, ``"threading"`` or ``"dask"`` (needs a
        running ``dask.distributed.Client``; install ``pbr_eval[dask]``).
        ``None`` uses joblib's default (or an enclosing
        ``joblib.parallel_config``).
    progress : bool, default True
        Show a progress bar on standard error, only when it is a terminal.
    n_jackknife : int, default 100
        With ``ci="bca"``: at most this many jackknife fits. With more
        resampling units than this, units are split at random (seeded) into
        ``n_jackknife`` blocks and one block is left out at a time (a grouped
        jackknife, an approximation to the acceleration).

    Returns
    -------
    BootstrapResults

    Raises
    ------
    OptionError
        An invalid option; ``kind="cluster"`` without a cohort ``cluster``;
        ``kind="pair"`` for results without matched pairs; results that
        cannot be rebuilt from their options or do not come from ``cohort``.

    Notes
    -----
    For ``kind`` other than ``"pair"``, each replicate is a full
    re-estimation: the propensity model, the matching or weighting and the
    outcome comparison are all redone on the resampled cohort, so the
    interval includes the uncertainty of the estimated score. Resampled
    units are given new identifiers (and, for ``"cluster"``, new cluster
    labels), so a unit drawn twice counts as two units. Replicates whose fit
    fails (e.g. a covariate becomes constant, or no overlap) are left out of
    the intervals and counted in ``n_failed``; warnings inside replicates are
    silenced.

    The cohort's own rate (``to_frame(target="cohort")``): with kinds that
    resample the treated (``"unit"``, ``"stratified"``, ``"cluster"``) its
    interval is the observed rate minus the effect interval. With
    ``"comparison"`` and ``"pair"`` the treated cohort is held fixed, so the
    replicates measure only the comparison side's error; each replicate of the
    non-intervention rate gets an independent normal draw of the cohort's own
    outcome noise, variance :math:`\sum w_i^2/(\sum w_i)^2 \cdot
    E_w[\mathrm{Var}(Y(0) \mid X)]` with Abadie-Imbens nearest-neighbour
    conditional variances (:mod:`pbr_eval.inference._cohort_boot`), and the
    effect interval is the observed rate minus that interval.

    Limitations: the naive bootstrap of matching *with replacement* is not
    consistent (Abadie and Imbens 2008); prefer matching without
    replacement, weighting, or the analytic standard errors there. The pair
    bootstrap treats the matched sets as fixed given the propensity score.

    References
    ----------
    Efron (1987); Efron & Tibshirani (1993); Davison & Hinkley (1997);
    Abadie & Spiess (2022); Austin & Small (2014); Abadie, A. & Imbens, G. W.
    (2008). On the failure of the bootstrap for matching estimators.
    Econometrica 76(6), 1537-1557.

    Examples
    --------
    >>> import pbr_eval
    >>> from pbr_eval.datasets import simulate
    >>> sim = simulate("reoffending", n_treated=300, n_comparison=3000, seed=5)
    >>> cohort = pbr_eval.Cohort(sim.data, **sim.cohort_args)
    >>> boot = pbr_eval.bootstrap(pbr_eval.NearestNeighborMatching(), cohort, n_boot=20,
    ...                           kind="cluster", seed=1)
    >>> boot.replicates.shape
    (20, 2, 3)
    >>> list(boot.to_frame().columns[:6])
    ['outcome', 'outcome_type', 'n_treated', 'n_comparison', 'observed', 'non_intervention']
    """
    if not isinstance(cohort, Cohort):
        raise OptionError(
            f"`cohort` must be a pbr_eval.Cohort; got {type(cohort).__name__}. Pass the cohort "
            "the estimate was made on."
        )
    n_boot = check_int("n_boot", n_boot, minimum=2)
    kind = check_choice("kind", kind, BOOTSTRAP_KINDS)
    ci = check_choice("ci", ci, BOOTSTRAP_CIS)
    level = check_level(level)
    n_jackknife = check_int("n_jackknife", n_jackknife, minimum=2)
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))
                             or seed < 0):
        raise OptionError(f"`seed` must be a non-negative integer or None; got {seed!r}.")
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, (int, np.integer)) or n_jobs == 0:
        raise OptionError(
            f"`n_jobs` must be a non-zero integer (1: no parallelism, -1: all cores); got {n_jobs!r}."
        )
    if backend is not None and not isinstance(backend, str):
        raise OptionError(f"`backend` must be a joblib backend name or None; got {backend!r}.")
    if isinstance(source, CounterfactualResults):
        estimator, point = _rebuild(source, cohort)
    elif isinstance(source, Estimator):
        estimator, point = source, source.fit(cohort)
    else:
        raise OptionError(
            "`source` must be CounterfactualResults or an estimator (e.g. "
            f"NearestNeighborMatching()); got {type(source).__name__}."
        )
    ss = np.random.SeedSequence(seed)
    children = ss.spawn(n_boot)
    outcomes = point.outcomes
    show = bool(progress) and sys.stderr is not None and sys.stderr.isatty()
    notes: list[str] = []
    info: dict[str, Any] = {
        "method": point.method,
        "options": dict(point.info.get("options", {})),
        "kind": kind,
        "ci": ci,
        "level": level,
        "n_boot": n_boot,
        "seed": int(ss.entropy) if isinstance(ss.entropy, (int, np.integer)) else ss.entropy,
        "n_jobs": int(n_jobs),
        "backend": backend,
        "strata": strata,
        "fingerprint": cohort.fingerprint,
        "notes": notes,
    }
    jack: np.ndarray | None = None
    noise: np.ndarray | None = None
    if kind in ("comparison", "pair"):
        if cohort.is_panel:
            raise OptionError(
                f"`kind={kind!r}` holds the treated cohort fixed and is for cross-sectional "
                "cohorts; this cohort is a panel. Use kind='stratified' or 'cluster'."
            )
        if point.estimand != "ATT":
            raise OptionError(
                f"`kind={kind!r}` holds the treated cohort fixed, which targets the treated "
                f"(estimand 'ATT'); these results have estimand {point.estimand!r}. Use "
                "kind='stratified'."
            )
    if kind == "pair":
        s, w, t, y, n_pairs = _pair_arrays(point, cohort)
        reps = np.empty((n_boot, len(outcomes), len(QUANTITIES)))
        for b, child in enumerate(children):
            draw = np.random.default_rng(child).integers(0, n_pairs, n_pairs)
            reps[b] = _pair_estimates(np.bincount(draw, minlength=n_pairs), s, w, t, y)
        if ci == "bca":
            ones = np.ones(n_pairs)
            jack = np.empty((n_pairs, len(outcomes), len(QUANTITIES)))
            for g in range(n_pairs):
                ones[g] = 0.0
                jack[g] = _pair_estimates(ones, s, w, t, y)
                ones[g] = 1.0
        info.update({"n_resampling_units": n_pairs, "n_failed": 0, "failures": []})
    else:
        if kind == "unit" and cohort.cluster is not None:
            notes.append(
                f"The cohort has a cluster ('{cohort.cluster}') but units were resampled "
                "independently; use kind='cluster' if outcomes are correlated within clusters."
            )
        plan = _make_plan(cohort, kind, strata)
        tasks: list[tuple[str, Any]] = [("boot", c) for c in children]
        if ci == "bca":
            # Jackknife over the resampled units only (a fixed cohort is never left out).
            movable = (np.arange(plan.n_groups) if plan.fixed is None
                       else np.concatenate(plan.strata))
            g = movable.size
            block = np.full(plan.n_groups, -1, dtype=np.int64)
            if g <= n_jackknife:
                block[movable] = np.arange(g)
            else:
                block[movable] = (
                    np.random.default_rng(ss.spawn(1)[0]).permutation(g) % n_jackknife)
                notes.append(
                    f"BCa acceleration from a grouped jackknife: {g:,} resampling units in "
                    f"{n_jackknife} random blocks, one block left out at a time."
                )
            plan = replace(plan, jack_block=block)
            tasks += [("jack", k) for k in range(int(block.max()) + 1)]
        out = _execute(
            estimator, cohort, plan, tasks, outcomes, _warm_start(point),
            n_jobs=int(n_jobs), backend=backend,
            progress=show, label=f"bootstrap ({kind})",
        )
        shape = (len(outcomes), len(QUANTITIES))
        vals = np.array([np.full(shape, np.nan) if v is None else v for v, _ in out])
        reps = vals[:n_boot]
        if ci == "bca":
            jack = vals[n_boot:]
        failures = [msg for _, msg in out[:n_boot] if msg is not None]
        info.update(
            {"n_resampling_units": plan.n_groups - (0 if plan.fixed is None else plan.fixed.size),
             "n_failed": len(failures),
             "failures": list(dict.fromkeys(failures))[:5]}
        )
        if failures:
            share = len(failures) / n_boot
            notes.append(
                f"{len(failures):,} of {n_boot:,} replicates failed and were left out "
                f"(first reason: {failures[0]})."
            )
            if share > 0.01:
                warnings.warn(
                    f"{len(failures):,} of {n_boot:,} bootstrap replicates failed "
                    f"({share:.1%}); the intervals use the rest and may be too narrow. "
                    f"First reason: {failures[0]}",
                    EstimationWarning,
                    stacklevel=2,
                )
    if kind in ("comparison", "pair"):
        from pbr_eval.inference._cohort_boot import cohort_noise_draws, cohort_noise_sd

        noise_sd = cohort_noise_sd(cohort, _weights_of(point), outcomes)
        noise = cohort_noise_draws(noise_sd, ss.spawn(1)[0], n_boot)
        info["cohort_noise_sd"] = dict(zip(outcomes, map(float, noise_sd), strict=True))
        notes.append(
            "Treated cohort held fixed; for the cohort's own rate (target='cohort') each "
            "replicate adds a draw of the cohort's outcome noise, standard deviation "
            + ", ".join(f"{o} {v:.4g}" for o, v in zip(outcomes, noise_sd, strict=True))
            + " (Abadie-Imbens nearest-neighbour conditional variances)."
        )
    return BootstrapResults(
        method=point.method,
        resampling=kind,
        ci=ci,
        level=level,
        estimates=point.estimates,
        replicates=reps,
        jackknife=jack,
        info=info,
        cohort_noise=noise,
    )
