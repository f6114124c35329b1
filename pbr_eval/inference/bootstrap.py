r"""Bootstrap intervals for any estimator: resample, re-estimate, read the spread.

:func:`bootstrap` re-fits an estimator on resampled copies of a cohort (the
propensity model, the matching or weighting, everything) and returns a
read-only :class:`BootstrapResults` holding every replicate and percentile or
BCa intervals for the observed rate, the non-intervention rate and the effect
of each outcome. Replicates run through :mod:`joblib` (``n_jobs``, any joblib
backend, including Dask's); replicate ``b`` draws from its own stream,
``numpy.random.SeedSequence(seed).spawn(n_boot)[b]``, so a seed gives the same
numbers whatever ``n_jobs`` or backend.

References
----------
Efron, B. (1987). Better bootstrap confidence intervals. Journal of the
American Statistical Association 82(397), 171-185.
Efron, B. & Tibshirani, R. J. (1993). An Introduction to the Bootstrap.
Chapman & Hall. Chapters 13-14 (percentile and BCa intervals).
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

import copy
import math
import sys
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from pbr_eval.cohort import Cohort
from pbr_eval.exceptions import EstimationWarning, OptionError, PbrEvalError
from pbr_eval.options import (
    BOOTSTRAP_CIS,
    BOOTSTRAP_KINDS,
    DEFAULT_LEVEL,
    DEFAULT_N_BOOT,
    NI_TARGETS,
    check_choice,
    check_int,
    check_level,
)
from pbr_eval.results._readonly import ReadOnly
from pbr_eval.results.counterfactual import CounterfactualResults, OutcomeEstimate

__all__ = [
    "BootstrapResults",
    "bootstrap",
    "percentile_interval",
    "bca_interval",
    "normal_bootstrap_interval",
    "QUANTITIES",
]

#: The quantities bootstrapped for each outcome, in the order of the replicate array.
QUANTITIES: tuple[str, ...] = ("observed", "non_intervention", "effect")


# --------------------------------------------------------------------------- pure maths
def percentile_interval(replicates: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    r"""Percentile interval: the :math:`(1-\text{level})/2` and :math:`(1+\text{level})/2`
    quantiles of the replicates along axis 0 (NaN replicates ignored).

    Parameters
    ----------
    replicates : numpy.ndarray
        Shape ``(n_boot, ...)``.
    level : float

    Returns
    -------
    (lower, upper) : tuple of numpy.ndarray
        Each of shape ``replicates.shape[1:]``.

    Notes
    -----
    Quantiles use linear interpolation between order statistics (numpy's
    default, Hyndman and Fan type 7), as :func:`scipy.stats.bootstrap`.

    Examples
    --------
    >>> lo, hi = percentile_interval(np.arange(101.0), 0.9)
    >>> float(lo), float(hi)
    (5.0, 95.0)
    """
    a = (1 - level) / 2
    q = np.nanquantile(np.asarray(replicates, dtype=float), [a, 1 - a], axis=0)
    return q[0], q[1]


def normal_bootstrap_interval(
    estimate: np.ndarray | float, replicates: np.ndarray, level: float
) -> tuple[np.ndarray, np.ndarray]:
    r"""Normal interval centred on the estimate: :math:`\hat\theta \pm z\, s^*`.

    Parameters
    ----------
    estimate : float or numpy.ndarray
        The estimate on the full data, shape ``replicates.shape[1:]``.
    replicates : numpy.ndarray
        Shape ``(n_boot, ...)``; NaN replicates ignored.
    level : float

    Returns
    -------
    (lower, upper) : tuple of numpy.ndarray

    Notes
    -----
    :math:`s^*` is the standard deviation of the replicates (Efron and
    Tibshirani 1993, section 13.2, the "standard" interval). Unlike the
    percentile interval it uses the replicates for the spread only, not the
    location. That matters for matching with re-estimation: re-matching a
    resampled cohort picks different comparison units, so the replicates
    centre on a smoothed ("bagged") value that lies between the estimate and
    the truth rather than on the estimate, and the percentile interval
    over-covers the estimate's error (``docs/validation.md``).

    Examples
    --------
    >>> lo, hi = normal_bootstrap_interval(1.0, np.array([0.0, 2.0]), 0.95)
    >>> round(float(lo), 3), round(float(hi), 3)
    (-1.772, 3.772)
    """
    from pbr_eval.inference.intervals import z_value

    theta = np.asarray(estimate, dtype=float)
    sd = np.nanstd(np.asarray(replicates, dtype=float), axis=0, ddof=1)
    z = z_value(level)
    return theta - z * sd, theta + z * sd


def bca_interval(
    estimate: np.ndarray | float,
    replicates: np.ndarray,
    jackknife: np.ndarray,
    level: float,
) -> tuple[np.ndarray, np.ndarray]:
    r"""Bias-corrected and accelerated (BCa) interval (Efron 1987).

    Parameters
    ----------
    estimate : float or numpy.ndarray
        The estimate on the full data, shape ``replicates.shape[1:]``.
    replicates : numpy.ndarray
        Bootstrap replicates, shape ``(n_boot, ...)``; NaN rows are ignored.
    jackknife : numpy.ndarray
        Leave-one-out (or leave-one-group-out) estimates, shape ``(n_jack, ...)``.
    level : float

    Returns
    -------
    (lower, upper) : tuple of numpy.ndarray

    Notes
    -----
    With :math:`\hat\theta` the estimate, :math:`\hat\theta^*_b` the
    replicates and :math:`\hat\theta_{(i)}` the jackknife values,

    .. math::

        z_0 = \Phi^{-1}\Big(\frac{\#\{\hat\theta^*_b < \hat\theta\}
              + \#\{\hat\theta^*_b \le \hat\theta\}}{2B}\Big), \qquad
        a = \frac{\sum_i (\bar\theta_{(\cdot)} - \hat\theta_{(i)})^3}
                 {6\,[\sum_i (\bar\theta_{(\cdot)} - \hat\theta_{(i)})^2]^{3/2}},

    and the interval runs between the replicate quantiles at
    :math:`\Phi\big(z_0 + (z_0 + z_\alpha)/(1 - a(z_0 + z_\alpha))\big)` for
    :math:`z_\alpha = \Phi^{-1}((1 \mp \text{level})/2)`. This is the
    computation of :func:`scipy.stats.bootstrap` with ``method="BCa"``
    (tests check the two agree to machine precision).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = rng.exponential(size=40)
    >>> reps = np.array([rng.choice(x, x.size).mean() for _ in range(2000)])
    >>> jack = np.array([np.delete(x, i).mean() for i in range(x.size)])
    >>> lo, hi = bca_interval(x.mean(), reps, jack, 0.95)
    >>> bool(lo < x.mean() < hi)
    True
    """
    reps = np.asarray(replicates, dtype=float)
    theta = np.asarray(estimate, dtype=float)
    jack = np.asarray(jackknife, dtype=float)
    ok = ~np.isnan(reps)
    b = ok.sum(axis=0)
    below = ((reps < theta) & ok).sum(axis=0)
    at_or_below = ((reps <= theta) & ok).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        z0 = stats.norm.ppf((below + at_or_below) / (2.0 * b))
        u = np.nanmean(jack, axis=0) - jack
        num = np.nansum(u**3, axis=0)
        den = 6.0 * np.nansum(u**2, axis=0) ** 1.5
        acc = np.where(den > 0, num / np.where(den > 0, den, 1.0), 0.0)
        alphas = []
        for za in (stats.norm.ppf((1 - level) / 2), stats.norm.ppf((1 + level) / 2)):
            alphas.append(stats.norm.cdf(z0 + (z0 + za) / (1 - acc * (z0 + za))))
    lo = np.full(theta.shape, np.nan)
    hi = np.full(theta.shape, np.nan)
    flat_r = reps.reshape(reps.shape[0], -1)
    a1, a2 = (np.broadcast_to(a, theta.shape).ravel() for a in alphas)
    lo_f, hi_f = lo.reshape(-1), hi.reshape(-1)
    for j in range(flat_r.shape[1]):
        col = flat_r[:, j]
        col = col[~np.isnan(col)]
        if col.size == 0 or not (np.isfinite(a1[j]) and np.isfinite(a2[j])):
            continue
        lo_f[j] = np.percentile(col, 100 * a1[j])
        hi_f[j] = np.percentile(col, 100 * a2[j])
    return lo_f.reshape(theta.shape), hi_f.reshape(theta.shape)


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

    def cohort(
        self,
        parent: Cohort,
        groups: np.ndarray,
        *,
        keep: Sequence[str] | None = None,
        scratch: dict[str, Any] | None = None,
    ) -> Cohort:
        """The replicate cohort of ``groups``; ``keep``: copy only these data columns
        (those the estimator reads, see ``_replicate_columns``), default all;
        ``scratch``: work buffers reused across replicates (the cohort is then
        valid only until the next one built with it)."""
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
        return Cohort._from_validated(parent, rows, columns=cols, keep=keep, scratch=scratch)


def _codes(values: np.ndarray) -> np.ndarray:
    return pd.factorize(pd.Series(values), sort=False)[0].astype(np.int64)


def _make_plan(cohort: Cohort, kind: str, strata: str | None) -> _Plan:
    n = cohort.n
    unit_codes = _codes(cohort.column(cohort.unit_id)) if cohort.is_panel else None
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
    estimator: Any, cohort: Cohort, outcomes: Sequence[str]
) -> tuple[np.ndarray | None, str | None]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return _values(estimator.fit(cohort), outcomes), None
    except (PbrEvalError, np.linalg.LinAlgError) as err:
        return None, f"{type(err).__name__}: {err}"


def _run_chunk(
    estimator: Any,
    cohort: Cohort,
    plan: _Plan,
    tasks: Sequence[tuple[str, Any]],
    outcomes: Sequence[str],
) -> list[tuple[np.ndarray | None, str | None]]:
    """Fit a batch of replicates; each task is ("boot", SeedSequence) or ("jack", groups)."""
    from threadpoolctl import threadpool_limits

    out = []
    # Estimators that say which data columns they read (nearest-neighbour matching)
    # get replicate cohorts carrying only those; X, t and the roles are always there.
    cols = getattr(estimator, "_replicate_columns", None)
    keep = cols(cohort) if callable(cols) else None
    # Work buffers shared by this batch's replicates, one after the other (each
    # replicate cohort is dropped before the next is built): no fresh pages.
    scratch: dict[str, Any] = {}
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
            rep = plan.cohort(cohort, groups, keep=keep, scratch=scratch)
            out.append(_fit_values(estimator, rep, outcomes))
            del rep
    return out


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _execute(
    estimator: Any,
    cohort: Cohort,
    plan: _Plan,
    tasks: list[tuple[str, Any]],
    outcomes: Sequence[str],
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
                results.extend(_run_chunk(estimator, cohort, plan, ch, outcomes))
                if bar:
                    bar.advance(len(ch))
        else:
            # The backend is set through parallel_config, the way joblib registers
            # "dask" (Parallel(backend="dask") alone is rejected by joblib 1.6).
            with joblib.parallel_config(backend=backend) if backend else _null():
                par = joblib.Parallel(n_jobs=n_jobs, return_as="generator")
                gen = par(
                    joblib.delayed(_run_chunk)(estimator, cohort, plan, ch, outcomes)
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
    w = point.weights.to_numpy(dtype=float)
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


# --------------------------------------------------------------------------- results
class BootstrapResults(ReadOnly):
    """Bootstrap replicates and intervals (read-only).

    Returned by :func:`bootstrap` and :meth:`CounterfactualResults.bootstrap`.

    Attributes
    ----------
    method : str
        The estimator's method name.
    kind : str
        Resampling scheme: ``"unit"``, ``"stratified"``, ``"cluster"`` or ``"pair"``.
    ci : str
        Default interval: ``"percentile"`` or ``"bca"``.
    level : float
        Default confidence level.
    estimates : tuple of OutcomeEstimate
        The estimates on the full data.
    replicates : numpy.ndarray
        Shape ``(n_boot, n_outcomes, 3)``: observed, non-intervention and
        effect (see :data:`QUANTITIES`) per replicate; NaN where a replicate
        failed. Read-only.
    jackknife : numpy.ndarray or None
        Leave-one-(group-)out estimates used by BCa, same layout; ``None``
        when ``ci="percentile"`` was asked for.
    cohort_noise : numpy.ndarray or None
        Shape ``(n_boot, n_outcomes)``: for ``kind="comparison"`` and
        ``"pair"``, a draw of the cohort's own outcome noise per replicate
        (see :mod:`pbr_eval.inference._cohort_boot`), added to the
        non-intervention replicates for ``target="cohort"``; ``None`` for the
        other kinds, whose replicates resample the treated units too.
    n_boot, n_failed : int
        Replicates asked for, and those whose fit failed (left out of the intervals).
    info : mapping
        Method and options, resampling details, seed entropy, notes and up to
        five failure messages.
    """

    _redo = "run the bootstrap again"

    def __init__(
        self,
        *,
        method: str,
        kind: str,
        ci: str,
        level: float,
        estimates: Sequence[OutcomeEstimate],
        replicates: np.ndarray,
        jackknife: np.ndarray | None,
        info: Mapping[str, Any],
        cohort_noise: np.ndarray | None = None,
    ) -> None:
        self.method = method
        self.kind = kind
        self.ci = ci
        self.level = level
        self.estimates = tuple(estimates)
        reps = np.array(replicates, dtype=float)
        reps.setflags(write=False)
        self.replicates = reps
        if jackknife is not None:
            jackknife = np.array(jackknife, dtype=float)
            jackknife.setflags(write=False)
        self.jackknife = jackknife
        if cohort_noise is not None:
            cohort_noise = np.array(cohort_noise, dtype=float)
            cohort_noise.setflags(write=False)
        self.cohort_noise = cohort_noise
        self.n_boot = int(reps.shape[0])
        self.n_failed = int(np.isnan(reps).any(axis=(1, 2)).sum())
        self.info = MappingProxyType(dict(info))
        self._freeze()


    @property
    def outcomes(self) -> list[str]:
        """Outcome names, in order."""
        return [e.outcome for e in self.estimates]

    def replicate_frame(self) -> pd.DataFrame:
        """The replicates as a DataFrame: one row per replicate, columns (outcome, quantity)."""
        cols = pd.MultiIndex.from_product([self.outcomes, QUANTITIES], names=["outcome", "quantity"])
        return pd.DataFrame(self.replicates.reshape(self.n_boot, -1), columns=cols)

    def _point(self) -> np.ndarray:
        return np.array([[e.observed, e.non_intervention, e.effect] for e in self.estimates])

    def _cohort_replicates(self) -> np.ndarray:
        """Replicates of the cohort's own rate: non-intervention plus the cohort noise,
        effect = observed (known) minus that."""
        assert self.cohort_noise is not None
        obs = self._point()[:, 0]
        r = np.array(self.replicates, dtype=float)
        r[:, :, 1] = r[:, :, 1] + self.cohort_noise
        r[:, :, 0] = obs
        r[:, :, 2] = obs - r[:, :, 1]
        return r

    def _interval(
        self, level: float, ci: str, replicates: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        reps = self.replicates if replicates is None else replicates
        if ci == "percentile":
            return percentile_interval(reps, level)
        if ci == "normal":
            return normal_bootstrap_interval(self._point(), reps, level)
        if self.jackknife is None:
            raise OptionError(
                "`ci='bca'` needs the jackknife values, which were not computed "
                f"(this bootstrap was run with ci={self.ci!r}). Run it again with ci='bca'."
            )
        return bca_interval(self._point(), reps, self.jackknife, level)

    def to_frame(
        self, level: float | None = None, ci: str | None = None, *, target: str = "cohort"
    ) -> pd.DataFrame:
        r"""One row per outcome: estimates, bootstrap standard errors and intervals.

        Parameters
        ----------
        level : float, optional
            Confidence level (default: the results' ``level``).
        ci : {"percentile", "bca", "normal"}, optional
            Interval method (default: the one the bootstrap was run with).
        target : {"cohort", "expected"}, default "cohort"
            Which non-intervention rate the interval is for. ``"cohort"``: the
            rate *this* cohort would have had, :math:`\frac1{n_1}\sum_{T=1}
            Y(0)`, whose interval is the observed rate minus the effect
            interval (the observed rate is known, so all the uncertainty is
            the effect's). For ``kind="comparison"`` and ``"pair"`` the
            non-intervention replicates get the cohort's own outcome noise
            added (:attr:`cohort_noise`) and the effect interval is the
            observed rate minus the non-intervention interval: both are for
            this cohort. ``"expected"``: the expected rate of people like the
            cohort, from the spread of the replicates alone; narrower, and it
            under-covers the cohort's own rate (see ``docs/validation.md``).

        Returns
        -------
        pandas.DataFrame
            Columns ``outcome, outcome_type, n_treated, n_comparison, observed,
            non_intervention, non_intervention_se, non_intervention_ci_lower,
            non_intervention_ci_upper, effect, std_error, ci_lower, ci_upper,
            ci_method, level, n_boot, n_failed``. Standard errors are the
            standard deviations of the replicates.
        """
        level = self.level if level is None else check_level(level)
        ci = self.ci if ci is None else check_choice("ci", ci, BOOTSTRAP_CIS)
        target = check_choice("target", target, NI_TARGETS)
        if target == "cohort" and self.cohort_noise is not None:
            reps = self._cohort_replicates()
            lo, hi = self._interval(level, ci, reps)
            sd = np.nanstd(reps, axis=0, ddof=1)
        else:
            lo, hi = self._interval(level, ci)
            sd = np.nanstd(self.replicates, axis=0, ddof=1)
        if target == "cohort" and self.cohort_noise is None:
            obs = self._point()[:, 0]
            lo, hi, sd = lo.copy(), hi.copy(), sd.copy()
            lo[:, 1], hi[:, 1] = obs - hi[:, 2], obs - lo[:, 2]
            sd[:, 1] = sd[:, 2]
        rows = []
        for i, e in enumerate(self.estimates):
            rows.append(
                {
                    "outcome": e.outcome,
                    "outcome_type": e.outcome_type,
                    "n_treated": e.n_treated,
                    "n_comparison": e.n_comparison,
                    "observed": e.observed,
                    "non_intervention": e.non_intervention,
                    "non_intervention_se": float(sd[i, 1]),
                    "non_intervention_ci_lower": float(lo[i, 1]),
                    "non_intervention_ci_upper": float(hi[i, 1]),
                    "effect": e.effect,
                    "std_error": float(sd[i, 2]),
                    "ci_lower": float(lo[i, 2]),
                    "ci_upper": float(hi[i, 2]),
                    "ci_method": f"bootstrap {ci} ({self.kind}); non-intervention: {target}",
                    "level": level,
                    "n_boot": self.n_boot,
                    "n_failed": self.n_failed,
                }
            )
        return pd.DataFrame(rows)

    def conf_int(
        self, level: float | None = None, ci: str | None = None, *, target: str = "cohort"
    ) -> pd.DataFrame:
        """Intervals for the non-intervention rate and the effect, by outcome."""
        f = self.to_frame(level, ci, target=target).set_index("outcome")
        return f[["non_intervention_ci_lower", "non_intervention_ci_upper", "ci_lower", "ci_upper"]]

    def summary(self, level: float | None = None, ci: str | None = None) -> str:
        """A plain-text summary."""
        f = self.to_frame(level, ci)
        pct = int(round(float(f["level"].iloc[0]) * 100))
        lines = [
            f"pbr_eval bootstrap: {self.method}, {self.kind} resampling, "
            f"{self.n_boot:,} replicates ({self.n_failed:,} failed), {f['ci_method'].iloc[0]}",
            "=" * 72,
        ]
        for _, r in f.iterrows():
            scale, unit = (100.0, "%") if r["outcome_type"] == "binary" else (1.0, "")
            dp = 1 if unit else 3
            lines += [
                f"Outcome: {r['outcome']} ({r['outcome_type']})",
                f"  non-intervention {r['non_intervention'] * scale:.{dp}f}{unit}  {pct}% CI "
                f"{r['non_intervention_ci_lower'] * scale:.{dp}f}{unit} to "
                f"{r['non_intervention_ci_upper'] * scale:.{dp}f}{unit}",
                f"  effect {r['effect'] * scale:+.{dp}f}  {pct}% CI {r['ci_lower'] * scale:+.{dp}f}"
                f" to {r['ci_upper'] * scale:+.{dp}f}  (bootstrap SE {r['std_error'] * scale:.{dp + 1}f})",
            ]
        for note in self.info.get("notes", []):
            lines.append(f"Note: {note}")
        lines.append(f"Seed entropy {self.info.get('seed')}.")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def __repr__(self) -> str:
        return (
            f"<BootstrapResults method={self.method!r} kind={self.kind!r} n_boot={self.n_boot} "
            f"n_failed={self.n_failed} outcomes={self.outcomes}>"
        )

    def _repr_html_(self) -> str:
        import html

        table = self.to_frame().to_html(index=False, float_format=lambda v: f"{v:.4g}")
        head = html.escape(f"{self.method}, {self.kind} bootstrap, {self.n_boot} replicates")
        return f"<div><strong>pbr_eval bootstrap: {head}</strong>{table}</div>"

    def to_dict(self) -> dict[str, Any]:
        """Aggregates only (no replicate-level data): the table and ``info``."""
        return {
            "method": self.method,
            "kind": self.kind,
            "ci": self.ci,
            "level": self.level,
            "estimates": self.to_frame().to_dict(orient="records"),
            "info": dict(self.info),
        }


# --------------------------------------------------------------------------- front door
def _replicate_estimator(estimator: Any, point: CounterfactualResults) -> Any:
    """A copy of ``estimator`` for replicates, with its fast-path hooks switched on.

    Estimators that offer them (nearest-neighbour matching) skip the balance
    table in replicates and start the propensity fit from the full sample's
    coefficients; the replicate's estimate is the same (the logistic optimum
    does not depend on the start). The caller's estimator is not changed.
    """
    if not hasattr(estimator, "_replicate_fast"):
        return estimator
    rep = copy.copy(estimator)
    rep._replicate_fast = True
    ps = point.extras.get("propensity")
    logit = getattr(ps, "logit", None)
    if logit is not None:
        rep._replicate_start = np.asarray(logit.params, dtype=float)
    return rep


def _rebuild(results: CounterfactualResults, cohort: Cohort) -> tuple[Any, CounterfactualResults]:
    from pbr_eval.estimators.base import build_estimator

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
    kind: str = "unit",
    ci: str = "normal",
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
    >>> from pbr_eval import Cohort
    >>> from pbr_eval.datasets import load_reoffending
    >>> from pbr_eval.estimators.matching import NearestNeighborMatching
    >>> from pbr_eval.inference.bootstrap import bootstrap
    >>> sim = load_reoffending()
    >>> cohort = Cohort(sim.data, **sim.cohort_args)
    >>> res = NearestNeighborMatching().fit(cohort)
    >>> boot = bootstrap(res, cohort, n_boot=20, kind="cluster", seed=1)
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
    elif hasattr(source, "fit") and hasattr(source, "method"):
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
            _replicate_estimator(estimator, point), cohort, plan, tasks, outcomes,
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

        noise_sd = cohort_noise_sd(cohort, point.weights.to_numpy(dtype=float), outcomes)
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
        kind=kind,
        ci=ci,
        level=level,
        estimates=point.estimates,
        replicates=reps,
        jackknife=jack,
        info=info,
        cohort_noise=noise,
    )
