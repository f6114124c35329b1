"""Audit sampling of claims: how many to check, which ones, and what they show.

The paying department spot-checks a sample of claims (about 2% in Troubled
Families; one round found 10% of a sample invalid). This module answers:

* how large a sample estimates the invalid-claim rate to +/- a margin
  (:func:`sample_size_for_precision`, with finite-population correction), or
  shows with confidence that the rate is below a tolerance
  (:func:`sample_size_for_tolerance`, exact binomial);
* which claims to check (:func:`draw_audit_sample`: stratified by local
  authority or claim type, proportional or equal allocation, seeded);
* what the reviewed sample says (:func:`estimate_invalid_rate`: the invalid
  rate, stratified when the sample was, with a Clopper-Pearson or Wilson
  interval, and the implied recovery amount).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy import stats

from pbr_eval.exceptions import DataError, MissingColumnError, OptionError
from pbr_eval.kinds import Column, Schema, format_value
from pbr_eval.options import (
    ALLOCATIONS,
    DEFAULT_LEVEL,
    PROPORTION_INTERVALS,
    check_choice,
    check_int,
    check_level,
    check_positive,
    check_probability,
)
from pbr_eval.results.base import Results, frame_from_records

__all__ = [
    "sample_size_for_precision",
    "sample_size_for_tolerance",
    "proportion_ci",
    "draw_audit_sample",
    "estimate_invalid_rate",
    "AuditEstimate",
    "sample_file",
]


def sample_size_for_precision(*, margin: float, expected_rate: float = 0.5,
                              level: float = DEFAULT_LEVEL,
                              population: int | None = None) -> int:
    r"""Claims to check to estimate the invalid rate to within +/- ``margin``.

    Parameters
    ----------
    margin : float
        Half-width of the interval wanted, as a proportion (0.05 = 5 points).
    expected_rate : float, default 0.5
        A guess at the invalid rate; 0.5 is the safe (largest) choice, 0.1
        matches the Troubled Families round that found 10% invalid.
    level : float, default 0.95
    population : int, optional
        Number of claims in the population; applies the finite-population
        correction.

    Returns
    -------
    int

    Notes
    -----
    Cochran's formula with the normal approximation:
    :math:`n_0 = z^2 p (1 - p) / e^2` with :math:`z = \Phi^{-1}((1+level)/2)`;
    with a population of :math:`N` claims,
    :math:`n = n_0 / (1 + (n_0 - 1)/N)`; rounded up. The normal approximation
    is poor for rates near 0 or 1 and small samples; check the achieved
    interval with :func:`proportion_ci`.

    References
    ----------
    Cochran, W. G. (1977). *Sampling Techniques*, 3rd ed., sections 4.4-4.5.

    Examples
    --------
    >>> sample_size_for_precision(margin=0.05, expected_rate=0.1)
    139
    >>> sample_size_for_precision(margin=0.05, expected_rate=0.1, population=766)
    118
    """
    e = check_probability("margin", margin)
    p = check_probability("expected_rate", expected_rate)
    level = check_level(level)
    z = stats.norm.ppf(0.5 + level / 2)
    n0 = z * z * p * (1 - p) / (e * e)
    if population is None:
        return int(math.ceil(n0 - 1e-9))
    N = check_int("population", population)
    n = n0 / (1 + (n0 - 1) / N)
    return int(min(N, math.ceil(n - 1e-9)))


def sample_size_for_tolerance(tolerance: float, *, level: float = DEFAULT_LEVEL,
                              acceptance: int = 0, population: int | None = None) -> int:
    r"""Claims to check to show the invalid rate is below ``tolerance``.

    The smallest :math:`n` such that, were the invalid rate as high as
    ``tolerance``, the chance of finding at most ``acceptance`` invalid
    claims in the sample would be at most ``1 - level`` (attribute sampling
    with an exact binomial model). If the sample then shows no more than
    ``acceptance`` invalid claims, the rate is below ``tolerance`` with
    confidence ``level``.

    Parameters
    ----------
    tolerance : float
        The tolerable invalid rate, e.g. 0.05.
    level : float, default 0.95
    acceptance : int, default 0
        Invalid claims allowed in the sample.
    population : int, optional
        Number of claims. Uses the exact hypergeometric model for sampling
        without replacement: the population is taken to hold
        :math:`K = \lceil p_T N \rceil` invalid claims.

    Returns
    -------
    int

    Notes
    -----
    :math:`n = \min\{n : P(X \le c \mid n, p_T) \le 1 - level\}`,
    :math:`X \sim Bin(n, p_T)`. For :math:`c = 0` this is
    :math:`\lceil \log(1 - level) / \log(1 - p_T) \rceil` (59 for 5% at
    95%). The binomial ignores the finite population, so it is slightly
    conservative; with ``population`` the hypergeometric
    :math:`P(X \le c \mid N, K, n)` is used instead (fewer claims needed).

    Examples
    --------
    >>> sample_size_for_tolerance(0.05)
    59
    >>> sample_size_for_tolerance(0.05, acceptance=1)
    93
    >>> sample_size_for_tolerance(0.05, population=766)
    56
    """
    p = check_probability("tolerance", tolerance)
    level = check_level(level)
    c = check_int("acceptance", acceptance, minimum=0)
    if population is None:
        def cdf(n: int) -> float:
            return float(stats.binom.cdf(c, n, p))
        cap = None
    else:
        N = check_int("population", population)
        K = math.ceil(p * N - 1e-9)
        if K <= c:
            raise OptionError(f"`tolerance`={p} of `population`={N} is {K} invalid claims, not "
                              f"more than `acceptance`={c}; no sample can show it. Raise the "
                              "tolerance or lower the acceptance number.")

        def cdf(n: int) -> float:
            return float(stats.hypergeom.cdf(c, N, K, n))
        cap = N
    lo, hi = c + 1, c + 1
    while cdf(hi) > 1 - level:
        if cap is not None and hi >= cap:
            return cap
        lo, hi = hi, hi * 2 if cap is None else min(hi * 2, cap)
    while lo < hi:  # cdf decreases in n
        mid = (lo + hi) // 2
        if cdf(mid) <= 1 - level:
            hi = mid
        else:
            lo = mid + 1
    return int(lo)


def proportion_ci(x: float, n: float, *, level: float = DEFAULT_LEVEL,
                  method: str = "clopper-pearson") -> tuple[float, float]:
    r"""Confidence interval for a proportion ``x / n``.

    Parameters
    ----------
    x, n : float
        Successes (invalid claims) and trials (claims checked). Non-integer
        values are allowed (effective counts of a stratified sample).
    level : float, default 0.95
    method : {"clopper-pearson", "wilson"}

    Returns
    -------
    (lower, upper)

    Notes
    -----
    Clopper-Pearson (exact): lower :math:`= B^{-1}(a/2; x, n - x + 1)`,
    upper :math:`= B^{-1}(1 - a/2; x + 1, n - x)` with :math:`a = 1 - level`
    (0 and 1 at the edges). Wilson (score):
    :math:`(\hat p + z^2/2n \pm z\sqrt{\hat p(1-\hat p)/n + z^2/4n^2})
    / (1 + z^2/n)`. Both agree with
    ``scipy.stats.binomtest(x, n).proportion_ci(method="exact"/"wilson")``.

    References
    ----------
    Clopper, C. J. and Pearson, E. S. (1934). Biometrika 26, 404-413.
    Wilson, E. B. (1927). JASA 22, 209-212.

    Examples
    --------
    >>> [round(v, 4) for v in proportion_ci(3, 30)]
    [0.0211, 0.2653]
    >>> [round(v, 4) for v in proportion_ci(3, 30, method="wilson")]
    [0.0346, 0.2562]
    """
    check_choice("method", method, PROPORTION_INTERVALS)
    level = check_level(level)
    if not (n > 0) or not (0 <= x <= n):
        raise OptionError(f"`x` and `n` must satisfy 0 <= x <= n and n > 0; got x={x}, n={n}.")
    a = 1 - level
    if method == "clopper-pearson":
        lo = 0.0 if x <= 0 else float(stats.beta.ppf(a / 2, x, n - x + 1))
        hi = 1.0 if x >= n else float(stats.beta.ppf(1 - a / 2, x + 1, n - x))
        return lo, hi
    z = float(stats.norm.ppf(1 - a / 2))
    p = x / n
    den = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return max(0.0, centre - half), min(1.0, centre + half)


def _allocate(sizes: np.ndarray, n: int, allocation: str) -> np.ndarray:
    """Integer stratum sample sizes summing to min(n, sum(sizes)), each <= its size."""
    n = min(n, int(sizes.sum()))
    if allocation == "proportional":
        raw = n * sizes / sizes.sum()
    else:
        raw = np.full(len(sizes), n / len(sizes))
    alloc = np.minimum(np.floor(raw).astype(np.int64), sizes)
    # hand out the rest by largest remainder, then to strata with room
    while alloc.sum() < n:
        room = alloc < sizes
        if allocation == "equal":
            rem = np.where(room, -alloc.astype(float), -np.inf)  # smallest first
        else:
            rem = np.where(room, raw - alloc, -np.inf)
        short = n - int(alloc.sum())
        order = np.argsort(-rem, kind="stable")[:short]
        order = order[np.isfinite(rem[order])]
        alloc[order] += 1
    return alloc


def draw_audit_sample(claims: pd.DataFrame, *, n: int, strata: str | None = None,
                      allocation: str = "proportional", seed: int | None = None,
                      min_per_stratum: int = 0) -> pd.DataFrame:
    """Draw a (stratified) simple random sample of claims to check.

    Parameters
    ----------
    claims : DataFrame
        The population of claims (e.g. :attr:`ClaimsValidation.claims`, or
        just the valid ones to be paid).
    n : int
        Total sample size (capped at the number of claims).
    strata : str, optional
        Column to stratify by, e.g. ``"authority"`` or ``"rule"``.
    allocation : {"proportional", "equal"}
        Proportional to stratum size, or the same number per stratum (a
        stratum smaller than its share gives all its claims and the rest goes
        to the others).
    seed : int, optional
        For :func:`numpy.random.default_rng`; the same seed and data give the
        same sample.
    min_per_stratum : int, default 0
        With proportional allocation, at least this many per stratum (2 lets
        every stratum contribute to the variance).

    Returns
    -------
    DataFrame
        The sampled rows (caller's index kept) plus ``stratum``,
        ``stratum_size`` (claims in the stratum) and ``weight``
        (stratum_size / stratum sample size).

    Raises
    ------
    MissingColumnError, OptionError

    Examples
    --------
    >>> claims = pd.DataFrame({"claim_id": range(100), "authority": ["A"] * 80 + ["B"] * 20})
    >>> s = draw_audit_sample(claims, n=10, strata="authority", seed=1)
    >>> s.groupby("stratum").size().to_dict()
    {'A': 8, 'B': 2}
    >>> s["weight"].unique().tolist()
    [10.0]
    """
    if not isinstance(claims, pd.DataFrame):
        raise DataError(f"`claims` must be a pandas DataFrame; got {type(claims).__name__}.")
    n = check_int("n", n)
    check_choice("allocation", allocation, ALLOCATIONS)
    m = check_int("min_per_stratum", min_per_stratum, minimum=0)
    if strata is not None and strata not in claims.columns:
        raise MissingColumnError(f"`strata`='{strata}' is not a column of the claims; columns "
                                 f"are {list(claims.columns)[:10]}.")
    if len(claims) == 0:
        raise DataError("`claims` is empty: there is nothing to sample.")
    if strata is None:
        labels = pd.Series("all", index=claims.index)
    else:
        labels = claims[strata].astype(object).where(claims[strata].notna(), "(missing)")
    codes, uniques = pd.factorize(labels, sort=True)
    sizes = np.bincount(codes, minlength=len(uniques)).astype(np.int64)
    alloc = _allocate(sizes, n, allocation)
    if m and allocation == "proportional":
        floor = np.minimum(sizes, m)
        if floor.sum() > min(n, sizes.sum()):
            raise OptionError(f"`min_per_stratum`={m} over {len(sizes)} strata needs more than "
                              f"`n`={n} claims; raise n or lower min_per_stratum.")
        while (alloc < floor).any():
            need = alloc < floor
            alloc[need] = floor[need]
            over = int(alloc.sum()) - min(n, int(sizes.sum()))
            spare = np.where(~need & (alloc > floor), alloc - floor, 0)
            for j in np.argsort(-spare, kind="stable"):
                if over <= 0:
                    break
                take = min(over, int(spare[j]))
                alloc[j] -= take
                over -= take
    rng = np.random.default_rng(seed)
    key = rng.random(len(claims))
    order = np.lexsort((key, codes))  # by stratum, random within
    rank = np.empty(len(claims), dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    rank[order] = np.arange(len(claims)) - np.repeat(starts, sizes)
    pick = rank < alloc[codes]
    out = claims.loc[pick].copy()
    out["stratum"] = np.asarray(uniques, dtype=object)[codes[pick]]
    out["stratum_size"] = sizes[codes[pick]]
    out["weight"] = sizes[codes[pick]] / alloc[codes[pick]]
    return out


_AUDIT_FIELDS = ("rate", "lower", "upper", "n", "n_invalid", "level", "method", "stratified",
                 "n_effective", "recovery", "recovery_lower", "recovery_upper")


class AuditEstimate(Results):
    """The invalid-claim rate estimated from a reviewed sample (read-only).

    Attributes
    ----------
    rate, lower, upper : float
        Estimated invalid rate and its interval.
    n, n_invalid : int
        Claims reviewed and found invalid.
    level : float
    method : str
        Interval method.
    stratified : bool
    n_effective : float
        Effective sample size behind the interval (equals ``n`` unstratified).
    recovery, recovery_lower, recovery_upper : float or None
        Implied amount to recover (rate x value paid) and its interval.
    by_stratum : DataFrame
        Per-stratum claims, sample size, invalid count and rate.
    info : mapping
    """

    kind: ClassVar[str] = "audit_estimate"
    title: ClassVar[str] = "Invalid claims estimated from an audit sample"
    schema: ClassVar[Schema] = Schema((
        Column("invalid_rate", "rate", "Estimated share of claims that are invalid",
               denominator="n"),
        Column("lower", "rate", "Lower limit", denominator="n"),
        Column("upper", "rate", "Upper limit", denominator="n"),
        Column("level", "probability", "Confidence level"),
        Column("method", "text", "Interval method"),
        Column("n", "count", "Claims checked"),
        Column("n_invalid", "count", "Claims found invalid"),
        Column("n_effective", "number", "Effective sample size"),
        Column("stratified", "text", "Stratified sample"),
        Column("recovery", "money", "Amount to recover"),
        Column("recovery_lower", "money", "Amount to recover, lower limit"),
        Column("recovery_upper", "money", "Amount to recover, upper limit"),
    ))
    _redo = "estimate the invalid rate again"

    def __init__(self, *, rate: float, lower: float, upper: float, n: int, n_invalid: int,
                 level: float, method: str, stratified: bool, n_effective: float,
                 recovery: float | None, recovery_lower: float | None,
                 recovery_upper: float | None, by_stratum: pd.DataFrame,
                 info: Mapping[str, Any] | None = None) -> None:
        self.rate, self.lower, self.upper = float(rate), float(lower), float(upper)
        self.n, self.n_invalid = int(n), int(n_invalid)
        self.level, self.method, self.stratified = float(level), str(method), bool(stratified)
        self.n_effective = float(n_effective)
        self.recovery = None if recovery is None else float(recovery)
        self.recovery_lower = None if recovery_lower is None else float(recovery_lower)
        self.recovery_upper = None if recovery_upper is None else float(recovery_upper)
        self.by_stratum = by_stratum
        self.info = MappingProxyType(dict(info or {}))
        self._freeze()

    def conf_int(self) -> tuple[float, float]:
        """Return the interval for the invalid rate."""
        return self.lower, self.upper

    def to_frame(self) -> pd.DataFrame:
        """One row: estimate, interval, sample sizes and recovery."""
        return pd.DataFrame([{
            "invalid_rate": self.rate, "lower": self.lower, "upper": self.upper,
            "level": self.level, "method": self.method, "n": self.n,
            "n_invalid": self.n_invalid, "n_effective": self.n_effective,
            "stratified": self.stratified, "recovery": self.recovery,
            "recovery_lower": self.recovery_lower, "recovery_upper": self.recovery_upper,
        }])

    def summary(self) -> str:
        """Plain-language summary."""
        lines = [
            f"{self.n_invalid} of {self.n} claims checked were invalid.",
            f"Estimated invalid rate{' (stratified)' if self.stratified else ''}: "
            f"{self.rate:.1%} ({self.level:.0%} {self.method} interval {self.lower:.1%} to "
            f"{self.upper:.1%}).",
        ]
        if self.recovery is not None:
            money = [format_value(v, "money") for v in
                     (self.recovery, self.recovery_lower, self.recovery_upper)]
            lines.append(f"Implied recovery: {money[0]} (between {money[1]} and {money[2]}).")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<AuditEstimate rate={self.rate:.3f} n={self.n}>"

    def _to_state(self) -> dict[str, Any]:
        return {**{k: getattr(self, k) for k in _AUDIT_FIELDS},
                "by_stratum": self.by_stratum.reset_index().to_dict(orient="records"),
                "info": dict(self.info)}

    @classmethod
    def _from_state(cls, state: Mapping[str, Any]) -> AuditEstimate:
        by = frame_from_records(state.get("by_stratum") or [], index="stratum")
        vals: dict[str, Any] = {k: state.get(k) for k in _AUDIT_FIELDS}
        for k in ("rate", "lower", "upper", "n_effective"):
            vals[k] = float("nan") if vals[k] is None else vals[k]
        return cls(**vals, by_stratum=by, info=dict(state.get("info") or {}))


def estimate_invalid_rate(reviewed: pd.DataFrame, *, invalid: str = "invalid",
                          strata: str | None = None, stratum_size: str = "stratum_size",
                          level: float = DEFAULT_LEVEL, method: str = "clopper-pearson",
                          paid_total: float | None = None) -> AuditEstimate:
    r"""Estimate the invalid-claim rate from a reviewed audit sample.

    Parameters
    ----------
    reviewed : DataFrame
        The sample after review, with a boolean (or 0/1) column ``invalid``.
    invalid : str, default "invalid"
    strata : str, optional
        Stratum column (``"stratum"`` for a sample from
        :func:`draw_audit_sample`); the population size of each stratum is
        read from ``stratum_size``. ``None``: a simple random sample.
    stratum_size : str, default "stratum_size"
    level : float, default 0.95
    method : {"clopper-pearson", "wilson"}
    paid_total : float, optional
        Total value of the claims the sample was drawn from; gives the
        implied recovery = rate x paid_total (with its interval).

    Returns
    -------
    AuditEstimate

    Raises
    ------
    MissingColumnError, DataError, OptionError

    Notes
    -----
    Unstratified: :math:`\hat p = x/n` with the chosen exact/score interval.
    Stratified: :math:`\hat p = \sum_h W_h \hat p_h`, :math:`W_h = N_h/N`,
    :math:`\widehat{V} = \sum_h W_h^2 (1 - n_h/N_h) \hat p_h(1-\hat p_h)/(n_h-1)`
    (strata with one claim checked add no variance: a limitation). The
    interval applies the chosen method to the effective sample size
    :math:`n^* = \hat p(1-\hat p)/\widehat V` and count :math:`n^*\hat p`
    (Korn and Graubard 1998); when :math:`\widehat V = 0` (no invalid claims,
    or all invalid) :math:`n^* = n`. The implied recovery assumes invalid
    claims are worth the population average.

    References
    ----------
    Korn, E. L. and Graubard, B. I. (1998). Confidence intervals for
    proportions with small expected number of positive counts estimated from
    survey data. Survey Methodology 24, 193-201.

    Examples
    --------
    >>> reviewed = pd.DataFrame({"invalid": [True] * 3 + [False] * 27})
    >>> est = estimate_invalid_rate(reviewed, paid_total=612_800)
    >>> round(est.rate, 3), [round(v, 4) for v in est.conf_int()]
    (0.1, [0.0211, 0.2653])
    >>> round(est.recovery)
    61280
    """
    check_choice("method", method, PROPORTION_INTERVALS)
    level = check_level(level)
    if invalid not in reviewed.columns:
        raise MissingColumnError(f"`invalid`='{invalid}' is not a column of the reviewed sample; "
                                 "add a True/False column saying whether each claim was invalid.")
    col = reviewed[invalid]
    if col.isna().any() or not set(pd.unique(col.astype(object))) <= {True, False}:
        raise DataError(f"Column '{invalid}' must be True/False (or 1/0) for every reviewed claim; "
                        f"found {sorted(map(str, pd.unique(col.astype(object))))[:5]}. Finish the "
                        "review or drop unreviewed rows.")
    y = col.astype(bool).to_numpy()
    n, x = len(y), int(y.sum())
    if n == 0:
        raise DataError("The reviewed sample is empty.")
    if strata is None:
        rate = x / n
        lo, hi = proportion_ci(x, n, level=level, method=method)
        n_eff = float(n)
        by = pd.DataFrame({"claims": [np.nan], "checked": [n], "invalid": [x],
                           "rate": [rate]}, index=pd.Index(["all"], name="stratum"))
    else:
        for c in (strata, stratum_size):
            if c not in reviewed.columns:
                raise MissingColumnError(f"Column '{c}' is not in the reviewed sample; draw it "
                                         "with draw_audit_sample or pass `strata`/`stratum_size`.")
        g = pd.DataFrame({"s": reviewed[strata].to_numpy(), "y": y,
                          "N": reviewed[stratum_size].to_numpy(dtype=float)})
        by = g.groupby("s", sort=True).agg(claims=("N", "first"), checked=("y", "size"),
                                           invalid=("y", "sum"), n_sizes=("N", "nunique"))
        if (by["n_sizes"] > 1).any():
            raise DataError(f"Column '{stratum_size}' must be the same for every claim of a "
                            "stratum.")
        by = by.drop(columns="n_sizes")
        by.index.name = "stratum"
        if (by["checked"] > by["claims"]).any():
            raise DataError(f"A stratum has more claims checked than '{stratum_size}' says it "
                            "holds; check the stratum sizes.")
        by["rate"] = by["invalid"] / by["checked"]
        W = by["claims"].to_numpy() / by["claims"].sum()
        ph = by["rate"].to_numpy()
        nh = by["checked"].to_numpy(dtype=float)
        Nh = by["claims"].to_numpy()
        rate = float(np.sum(W * ph))
        with np.errstate(divide="ignore", invalid="ignore"):
            vh = np.where(nh > 1, (1 - nh / Nh) * ph * (1 - ph) / (nh - 1), 0.0)
        var = float(np.sum(W * W * vh))
        n_eff = rate * (1 - rate) / var if var > 0 else float(n)
        lo, hi = proportion_ci(n_eff * rate, n_eff, level=level, method=method)
    rec = rlo = rhi = None
    if paid_total is not None:
        paid = check_positive("paid_total", paid_total, allow_zero=True)
        rec, rlo, rhi = rate * paid, lo * paid, hi * paid
    return AuditEstimate(rate=float(rate), lower=float(lo), upper=float(hi), n=n, n_invalid=x,
                         level=level, method=method, stratified=strata is not None,
                         n_effective=float(n_eff), recovery=rec, recovery_lower=rlo,
                         recovery_upper=rhi, by_stratum=by,
                         info=MappingProxyType({"strata": strata, "invalid": invalid}))


def sample_file(claims: str | Path, *, out: str | Path, n: int | None = None,
                margin: float | None = None, expected_rate: float = 0.5,
                tolerance: float | None = None, level: float = DEFAULT_LEVEL,
                strata: str | None = None, allocation: str = "proportional",
                status: str | None = "valid", seed: int | None = None) -> tuple[int, pd.DataFrame]:
    """Draw an audit sample from a claims file (what ``pbr-eval claims sample`` does).

    Exactly one of ``n``, ``margin`` (precision; uses ``expected_rate`` and the
    population for the finite-population correction) or ``tolerance`` (exact
    hypergeometric over the claims in the file, zero acceptance) sets the
    sample size. ``status`` keeps only
    claims with that status (e.g. the ``claims_checked.csv`` written by
    ``claims validate``; ``None`` keeps all). Writes the sample to ``out``
    (CSV) with an empty ``invalid`` column for the reviewer to fill.

    Returns
    -------
    (sample size, sample DataFrame)

    Raises
    ------
    OptionError
        Not exactly one of ``n``, ``margin``, ``tolerance``.
    """
    from pbr_eval.io import read_data, write_csv

    given = [k for k, v in (("n", n), ("margin", margin), ("tolerance", tolerance))
             if v is not None]
    if len(given) != 1:
        raise OptionError("Give exactly one of `n`, `margin` or `tolerance` to set the sample "
                          f"size; got {given or 'none'}.")
    df = read_data(claims)
    if status is not None:
        if "status" not in df.columns:
            raise MissingColumnError("`status`: the claims file has no 'status' column; "
                                     "validate it first or pass status=None (--status all).")
        df = df.loc[df["status"] == status]
    if n is None and margin is not None:
        n = sample_size_for_precision(margin=margin, expected_rate=expected_rate, level=level,
                                      population=max(len(df), 1))
    elif n is None:
        n = sample_size_for_tolerance(tolerance, level=level,  # type: ignore[arg-type]
                                      population=max(len(df), 1))
    sample = draw_audit_sample(df, n=n, strata=strata, allocation=allocation, seed=seed)
    sample = sample.assign(invalid="")
    write_csv(sample, out, index=False)  # atomic; text cells cleaned and neutralised
    return int(n), sample
