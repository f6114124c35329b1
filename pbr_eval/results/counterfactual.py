"""The results surface every estimator returns."""

from __future__ import annotations

import html
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from types import MappingProxyType
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy import stats

from pbr_eval.cohort import describe_dropped
from pbr_eval.exceptions import OptionError
from pbr_eval.inference.intervals import normal_interval, rate_interval
from pbr_eval.kinds import Column, Schema
from pbr_eval.options import DEFAULT_LEVEL, NI_TARGETS, check_choice, check_level
from pbr_eval.results.balance import BalanceTable
from pbr_eval.results.base import HasFigures, Results, jsonable

__all__ = ["OutcomeEstimate", "CounterfactualResults", "FRAME_COLUMNS", "cohort_se",
           "cohort_effect_se", "not_computable", "NOISE_SE"]

#: The columns of :meth:`CounterfactualResults.to_frame`, in order (a public contract).
FRAME_COLUMNS = [
    "outcome",
    "outcome_type",
    "n_treated",
    "n_comparison",
    "observed",
    "non_intervention",
    "non_intervention_se",
    "non_intervention_ci_lower",
    "non_intervention_ci_upper",
    "effect",
    "std_error",
    "ci_lower",
    "ci_upper",
    "p_value",
    "naive_comparison",
    "n_dropped",
    "n_dropped_treated",
    "n_dropped_comparison",
    "share_treated_dropped",
]


@dataclass(frozen=True)
class OutcomeEstimate:
    """The estimate for one outcome.

    Attributes
    ----------
    outcome : str
    outcome_type : str
        ``"binary"``, ``"count"`` or ``"continuous"``.
    n_treated, n_comparison : int
        Units contributing (comparison: with positive weight).
    observed : float
        Mean outcome of the (matched) treated group.
    non_intervention : float
        Estimated mean outcome the treated would have had without the
        programme, E[Y(0) | treated].
    non_intervention_se : float
        Its model-based standard error, as an estimate of the *expected*
        rate E[Y(0) | treated] (``to_frame(target="expected")``). The default
        interval, for the cohort's own rate, uses :func:`cohort_se` instead.
    effect : float
        ``observed - non_intervention``.
    std_error : float
        Model-based standard error of the effect, as an estimate of the
        expected effect (``to_frame(target="expected")``); the default
        interval uses ``cohort_std_error`` when it is finite.
    naive_comparison : float
        Unadjusted mean outcome of the whole comparison pool, for contrast.
    se_method : str
        How the standard errors were computed.
    se_note : str, default ""
        Why the estimator could not compute the standard errors (e.g. only
        one matched pair kept), shown wherever the interval would be.
    cohort_std_error : float, default NaN
        Standard error of the estimate as an estimate of the cohort's *own*
        non-intervention rate, and equally of the cohort's own effect (the
        observed rate is known exactly), where the estimator computes one
        (the weighting family from its outcome model, see
        :func:`pbr_eval.estimators._outcome_se.outcome_estimate`; ``did``: the
        effect's). NaN: :func:`cohort_se` uses its generic rule.
    population : bool, default False
        True for an estimate of a population other than the treated cohort
        (``estimand`` "ATE", "ATC" or "ATO"): ``observed`` is then the
        estimated mean with the programme for that population, and both
        targets' intervals use the model-based standard errors of the
        population's expected rates (there is no cohort of observed outcomes
        to condition on), as statsmodels and Stata report.

    Examples
    --------
    >>> import pbr_eval
    >>> from pbr_eval.datasets import load_reoffending
    >>> sim = load_reoffending()
    >>> res = pbr_eval.estimate(pbr_eval.Cohort(sim.data, **sim.cohort_args), method="nearest")
    >>> e = res.estimate_for("reoffended")
    >>> e.outcome_type, e.n_treated, e.n_comparison, round(e.non_intervention, 4)
    ('binary', 600, 600, 0.2817)
    """

    outcome: str
    outcome_type: str
    n_treated: int
    n_comparison: int
    observed: float
    non_intervention: float
    non_intervention_se: float
    effect: float
    std_error: float
    naive_comparison: float
    se_method: str
    cohort_std_error: float = math.nan
    se_note: str = ""
    population: bool = False


#: A standard error at or below this fraction of the outcome's scale is floating-point noise.
NOISE_SE = 1e-9


def not_computable(e: OutcomeEstimate, se: float, *, part: str = "effect") -> str | None:
    """Why an interval and p-value cannot be computed from ``se``, or None (the no-variation rule).

    An interval needs sampling variation to measure. When the outcome takes
    one value in each group compared (a constant outcome, or every treated
    person 1 and every comparison person 0), the standard error is zero up
    to floating-point noise (about 1e-16 times the outcome's size), and a
    "p-value" from it (1e-132) is an artefact. The rule: a standard error
    that is not finite, or at most ``NOISE_SE`` times the outcome's scale
    (the largest of the observed, non-intervention and pool means), makes
    the interval and p-value not computable, with this reason; so does a
    non-intervention rate within noise of 0 or 1 whose own (model-based)
    standard error is noise, which the cohort-target standard error built
    from it can hide (a rate of 1 - 1e-14 adds a spurious 4e-9).

    Parameters
    ----------
    e : OutcomeEstimate
    se : float
        The standard error the interval would use.
    part : {"effect", "non_intervention"}
        Which interval: the effect's, or the non-intervention rate's.

    Returns
    -------
    str or None
        The reason in words, or ``None`` when the standard error can be used.

    Examples
    --------
    >>> e = OutcomeEstimate("y", "binary", 50, 50, 1.0, 1.0, 1e-17, 0.0, 1e-17, 1.0, "")
    >>> not_computable(e, 1e-17)
    "'y' takes one value in each group compared (1 among the treated, 1 in the comparison), so there is no variation to measure uncertainty from"
    >>> e2 = OutcomeEstimate("y", "binary", 50, 50, 0.3, 0.4, 0.05, -0.1, 0.07, 0.4, "")
    >>> not_computable(e2, 0.07) is None
    True
    """
    if e.se_note:
        return e.se_note
    scale = max(abs(e.observed), abs(e.non_intervention), abs(e.naive_comparison))
    noise = NOISE_SE * scale
    p0 = e.non_intervention
    # a rate of 1 - 1e-14 with a noise SE: the cohort-target SE adds a spurious 4e-9
    at_bound = (part == "non_intervention" and e.outcome_type == "binary"
                and min(abs(p0), abs(1 - p0)) <= noise and 0 <= e.non_intervention_se <= noise)
    if math.isfinite(se) and se > noise and not at_bound:
        return None
    if math.isfinite(se):
        def shown(v: float) -> str:  # 1e-16 is 0 with rounding noise
            return f"{round(v, 9) + 0.0:.4g}"

        if part == "non_intervention":
            return (f"every comparison person contributing to '{e.outcome}' has the same "
                    f"outcome ({shown(e.non_intervention)}), so there is no variation to measure "
                    "uncertainty from")
        return (f"'{e.outcome}' takes one value in each group compared ({shown(e.observed)} "
                f"among the treated, {shown(e.non_intervention)} in the comparison), so there "
                "is no variation to measure uncertainty from")
    return "the standard error could not be computed"


def cohort_se(e: OutcomeEstimate) -> float:
    r"""Return standard error of the estimate as an estimate of the cohort's own rate.

    The target is :math:`\theta_c = \frac{1}{n_1}\sum_{T=1} Y_i(0)`, the
    rate the treated cohort itself would have had. The cohort's observed rate
    is known exactly, so the cohort's own effect (observed minus
    :math:`\theta_c`) has the same standard error: ``to_frame(target="cohort")``
    uses this for both intervals when the estimator computed one.

    Rules, in order:

    0. A population estimate (``e.population``: the ATE, ATC or ATO) has no
       cohort of observed outcomes: its ``non_intervention_se``.
    1. The estimator's own ``e.cohort_std_error`` when it is finite: the
       weighting family (``ipw``, ``aipw``, ``ipwra``, ``regression``,
       ``entropy``) computes it from the comparison-side influence plus the
       cohort's outcome noise :math:`\overline{v(X)}_T / n_1` from an
       outcome model (see :func:`pbr_eval.estimators._outcome_se.outcome_estimate`);
       ``did`` sets it to the effect's standard error.
    2. Otherwise (matching, subclassification, ``baseline``), for a rate: an
       estimator of :math:`E[Y(0) \mid T=1]` with standard error ``s``
       misses :math:`\theta_c` by its own error plus the cohort's outcome
       noise, so :math:`\mathrm{se}^2 = s^2 + p_0 (1 - p_0) / n_1`, never
       below the effect's standard error.
    3. Otherwise (counts and means, whose outcome variance is not implied by
       the mean): the effect's standard error.

    Checked for coverage in ``docs/validation.md``.

    Parameters
    ----------
    e : OutcomeEstimate
        One outcome's estimate.

    Returns
    -------
    float
        The standard error for the cohort target.

    Examples
    --------
    >>> e = OutcomeEstimate("y", "binary", 400, 400, 0.25, 0.30, 0.02, -0.05, 0.025, 0.4, "")
    >>> round(cohort_se(e), 4)
    0.0304
    >>> e2 = OutcomeEstimate("y", "binary", 400, 400, 0.25, 0.30, 0.02, -0.05, 0.025, 0.4, "",
    ...                      cohort_std_error=0.027)
    >>> cohort_se(e2)
    0.027
    """
    if e.population:
        return e.non_intervention_se
    if math.isfinite(e.cohort_std_error) and e.cohort_std_error > 0:
        return float(e.cohort_std_error)
    se_eff = e.std_error if math.isfinite(e.std_error) and e.std_error > 0 else float("nan")
    p0, s = e.non_intervention, e.non_intervention_se
    if e.outcome_type == "binary" and 0 < p0 < 1 and math.isfinite(s) and e.n_treated > 0:
        add = math.sqrt(s**2 + p0 * (1 - p0) / e.n_treated)
        return add if not math.isfinite(se_eff) else max(add, se_eff)
    return se_eff if math.isfinite(se_eff) else s


def cohort_effect_se(e: OutcomeEstimate) -> float:
    """Return standard error of the effect as an estimate of the cohort's own effect.

    ``e.cohort_std_error`` when the estimator computed one (the same as
    :func:`cohort_se`: the observed rate is known), else ``e.std_error``.

    Parameters
    ----------
    e : OutcomeEstimate
        The estimate whose effect's standard error is wanted.

    Returns
    -------
    float
        The effect's standard error for the cohort target.

    Examples
    --------
    >>> e = OutcomeEstimate("y", "binary", 400, 400, 0.25, 0.30, 0.02, -0.05, 0.025, 0.4, "")
    >>> cohort_effect_se(e)
    0.025
    """
    if math.isfinite(e.cohort_std_error) and e.cohort_std_error > 0 and not e.population:
        return float(e.cohort_std_error)
    return e.std_error


#: Kept for modules that import it; use :func:`pbr_eval.results.base.jsonable`.
_jsonable = jsonable

#: The declared columns of :meth:`CounterfactualResults.to_frame`.
FRAME_SCHEMA = Schema((
    Column("outcome", "text", "Outcome"),
    Column("outcome_type", "text", "Type of outcome",
           description="'binary' (a yes/no outcome: rates), 'count' or 'continuous' (means)."),
    Column("n_treated", "count", "People in the programme"),
    Column("n_comparison", "count", "People in the comparison group"),
    Column("observed", "outcome", "Observed in the programme", denominator="n_treated",
           by="outcome_type"),
    Column("non_intervention", "outcome", "Estimated without the programme",
           by="outcome_type",
           description="The non-intervention rate: the outcome the programme's participants "
                       "would have had without it."),
    Column("non_intervention_se", "number", "Standard error of the estimate without the "
           "programme"),
    Column("non_intervention_ci_lower", "outcome", "Lower limit, without the programme",
           by="outcome_type"),
    Column("non_intervention_ci_upper", "outcome", "Upper limit, without the programme",
           by="outcome_type"),
    Column("effect", "outcome_difference", "Difference made by the programme",
           by="outcome_type"),
    Column("std_error", "number", "Standard error of the difference"),
    Column("ci_lower", "outcome_difference", "Lower limit of the difference", by="outcome_type"),
    Column("ci_upper", "outcome_difference", "Upper limit of the difference", by="outcome_type"),
    Column("p_value", "p_value", "p-value"),
    Column("naive_comparison", "outcome", "Unadjusted comparison pool", by="outcome_type"),
    Column("n_dropped", "count", "Rows left out"),
    Column("n_dropped_treated", "count", "Programme rows left out"),
    Column("n_dropped_comparison", "count", "Comparison rows left out"),
    Column("share_treated_dropped", "probability", "Share of the programme cohort left out"),
))


def _legacy_estimate(row: Mapping[str, Any], se_method: str) -> OutcomeEstimate:
    """Return an :class:`OutcomeEstimate` that reproduces a saved ``to_frame()`` row (cohort target).

    Files written before results carried ``outcome_estimates`` hold only the
    cohort-target standard errors; the model-based ones
    (``to_frame(target="expected")``) are not recoverable and equal these.
    """
    def num(key: str) -> float:
        v = row.get(key)
        return float("nan") if v is None else float(v)

    ni, ni_se, eff_se = num("non_intervention"), num("non_intervention_se"), num("std_error")
    n1 = int(row.get("n_treated") or 0)
    base: dict[str, Any] = dict(outcome=str(row["outcome"]), outcome_type=str(row["outcome_type"]),
                n_treated=n1, n_comparison=int(row.get("n_comparison") or 0),
                observed=num("observed"), non_intervention=ni, effect=num("effect"),
                naive_comparison=num("naive_comparison"), se_method=se_method)
    if math.isfinite(ni_se) and ni_se > 0 and ni_se == eff_se:
        return OutcomeEstimate(**base, non_intervention_se=ni_se, std_error=eff_se,
                               cohort_std_error=ni_se)
    s = ni_se
    if base["outcome_type"] == "binary" and 0 < ni < 1 and n1 > 0 and math.isfinite(ni_se):
        s = math.sqrt(max(ni_se**2 - ni * (1 - ni) / n1, 0.0))
    return OutcomeEstimate(**base, non_intervention_se=s, std_error=eff_se)


class CounterfactualResults(Results, HasFigures):
    """Estimated non-intervention rates, effects and diagnostics (read-only).

    Returned by :func:`pbr_eval.estimate` and every estimator's ``fit``.

    Attributes
    ----------
    method : str
        The estimator's ``method=`` name.
    estimand : str
        ``"ATT"`` (non-intervention rate of the treated), ``"ATC"`` or ``"ATE"``.
    estimates : tuple of OutcomeEstimate
        One per outcome.
    weights : pandas.Series or None
        Adjustment weight of every row the cohort used, indexed like the
        caller's DataFrame: treated 1 (0 if left unmatched), comparison
        units their matching/weighting weight, unused units 0. ``None`` for
        results rebuilt from :meth:`to_dict` (which carries aggregates only).
    balance : BalanceTable
        Covariate balance before and after adjustment.
    info : mapping
        The method and every option used, rows dropped and why, the data's
        fingerprint, package versions, the seed, and notes.
    level : float
        Confidence level of the default intervals.

    Examples
    --------
    >>> from pbr_eval.datasets import load_reoffending
    >>> import pbr_eval
    >>> sim = load_reoffending()
    >>> cohort = pbr_eval.Cohort(sim.data, **sim.cohort_args)
    >>> res = pbr_eval.estimate(cohort, method="nearest")
    >>> res.to_frame()[["outcome", "observed", "non_intervention"]].round(3)
                   outcome  observed  non_intervention
    0           reoffended     0.247             0.282
    1  reconviction_events     0.752             0.930
    >>> print(res.summary().splitlines()[6])
      non-intervention (comparison n=600): 28.2%  95% CI 23.4% to 33.5%
    >>> float(res.weights.sum())  # 600 participants and their 600 matches, weight 1 each
    1200.0
    """

    kind: ClassVar[str] = "counterfactual"
    _legacy_keys: ClassVar[frozenset[str]] = frozenset({"method", "estimand", "estimates"})
    title: ClassVar[str] = "Non-intervention estimate"
    schema: ClassVar[Schema] = FRAME_SCHEMA
    figures: ClassVar[tuple[str, ...]] = ("love", "overlap")
    _redo = "estimate again"

    def __init__(
        self,
        *,
        method: str,
        estimand: str,
        estimates: Sequence[OutcomeEstimate],
        weights: pd.Series | None,
        balance: BalanceTable | None,
        info: Mapping[str, Any],
        level: float = DEFAULT_LEVEL,
        extras: Mapping[str, Any] | None = None,
    ) -> None:
        self.method = method
        self.estimand = estimand
        self.estimates = tuple(estimates)
        self.weights = weights
        self.balance = balance
        info = dict(info)
        notes = list(info.get("notes", []))
        for e in self.estimates:  # the no-variation rule, said once where every reader looks
            why = not_computable(e, cohort_effect_se(e)) or not_computable(
                e, cohort_se(e), part="non_intervention")
            note = f"'{e.outcome}': interval and p-value not computable: {why}."
            if why and note not in notes:
                notes.append(note)
        info["notes"] = notes
        self.info = MappingProxyType(info)
        self.level = check_level(level)
        self.extras = MappingProxyType(dict(extras or {}))
        self._freeze()


    # ----------------------------------------------------------------- tables
    @property
    def outcomes(self) -> list[str]:
        """Outcome names, in order."""
        return [e.outcome for e in self.estimates]

    def estimate_for(self, outcome: str) -> OutcomeEstimate:
        """Return the :class:`OutcomeEstimate` of one outcome."""
        for e in self.estimates:
            if e.outcome == outcome:
                return e
        raise OptionError(
            f"`outcome` must be one of {', '.join(map(repr, self.outcomes))}; got {outcome!r}."
        )

    def to_frame(self, level: float | None = None, *, target: str = "cohort") -> pd.DataFrame:
        r"""One row per outcome with estimates, intervals and p-values.

        Parameters
        ----------
        level : float, optional
            Confidence level (default: the results' ``level``, 0.95).
        target : {"cohort", "expected"}, default "cohort"
            Which non-intervention rate the interval is for.

            ``"cohort"``: the rate *this* cohort would have had,
            :math:`\frac{1}{n_1}\sum_{T=1} Y_i(0)`: the deadweight a
            commissioner actually pays for, and the cohort's own effect
            (observed minus that rate). Besides the estimator's error it
            carries the noise in the cohort's own (unobserved) outcomes; see
            :func:`cohort_se`. Where the estimator computed a cohort
            standard error (``OutcomeEstimate.cohort_std_error``: the
            weighting family and ``did``) it is used for the effect's
            interval and p-value too (the observed rate is known, so the two
            have the same standard error); otherwise the effect uses the
            estimator's ``std_error``.

            ``"expected"``: the expected rate given the cohort's
            characteristics, :math:`E[Y(0) \mid T=1]`, and the expected
            effect, with the estimator's model-based standard errors
            (``non_intervention_se``, ``std_error``). Narrower for the rate;
            it under-covers the cohort's own rate because it leaves out that
            noise (see ``docs/validation.md``).

            Either way a rate's interval is computed on the logit scale (a
            count's on the log scale) so it stays inside the outcome's range,
            and a difference of two rates is kept within [-1, 1]. Where
            :func:`not_computable` gives a reason (no variation in the outcome,
            or a standard error the estimator could not compute), the standard
            error, interval and p-value are NaN and the reason is in
            ``info["notes"]`` and :meth:`summary`.

        Returns
        -------
        pandas.DataFrame
            Columns as listed in :data:`FRAME_COLUMNS`; ``non_intervention_se``
            and ``std_error`` are the standard errors for the chosen ``target``
            (those the intervals and the p-value use). ``n_dropped`` counts the
            rows left out (by the cohort and the estimator);
            ``n_dropped_treated`` / ``n_dropped_comparison`` split it by group
            and ``share_treated_dropped`` is the share of the programme cohort
            lost (NaN when a record does not say, e.g. panel rows).
        """
        level = self.level if level is None else check_level(level)
        check_choice("target", target, NI_TARGETS)
        rows = []
        drops = list(self.info.get("dropped", []))
        n_dropped = int(sum(d["n"] for d in drops))
        # by group only when every record says (NaN: a record does not, e.g. panel rows)
        grouped = all(d.get("n_treated") is not None for d in drops)
        n_drop_t = sum(int(d["n_treated"]) for d in drops) if grouped else math.nan
        n_drop_c = sum(int(d.get("n_comparison") or 0) for d in drops) if grouped else math.nan
        kept = 1.0  # each stage loses a share of what the stage before kept
        for d in drops:
            kept *= 1.0 - float(d.get("share_treated") or 0.0)
        share_t = 1.0 - kept if grouped else math.nan
        for e in self.estimates:
            ni_se, eff_se = e.non_intervention_se, e.std_error
            if target == "cohort":
                ni_se, eff_se = cohort_se(e), cohort_effect_se(e)
            # no variation: no interval, no p-value (the reason is in notes and summary)
            if not_computable(e, ni_se, part="non_intervention"):
                ni_se = math.nan
            if not_computable(e, eff_se):
                eff_se = math.nan
            ni_lo, ni_hi = rate_interval(e.non_intervention, ni_se, level, e.outcome_type)
            lo, hi = normal_interval(e.effect, eff_se, level)
            if e.outcome_type == "binary":  # a difference of two rates lies in [-1, 1]
                lo, hi = max(lo, -1.0), min(hi, 1.0)
            if eff_se > 0 and math.isfinite(eff_se):
                p = float(2 * stats.norm.sf(abs(e.effect / eff_se)))
            else:
                p = float("nan")
            rows.append(
                {
                    "outcome": e.outcome,
                    "outcome_type": e.outcome_type,
                    "n_treated": e.n_treated,
                    "n_comparison": e.n_comparison,
                    "observed": e.observed,
                    "non_intervention": e.non_intervention,
                    "non_intervention_se": ni_se,
                    "non_intervention_ci_lower": ni_lo,
                    "non_intervention_ci_upper": ni_hi,
                    "effect": e.effect,
                    "std_error": eff_se,
                    "ci_lower": lo,
                    "ci_upper": hi,
                    "p_value": p,
                    "naive_comparison": e.naive_comparison,
                    "n_dropped": n_dropped,
                    "n_dropped_treated": n_drop_t,
                    "n_dropped_comparison": n_drop_c,
                    "share_treated_dropped": share_t,
                }
            )
        return pd.DataFrame(rows, columns=FRAME_COLUMNS)

    def conf_int(self, level: float = DEFAULT_LEVEL, *, target: str = "cohort") -> pd.DataFrame:
        """Intervals for the non-intervention rate and the effect, by outcome."""
        f = self.to_frame(level, target=target).set_index("outcome")
        return f[["non_intervention_ci_lower", "non_intervention_ci_upper", "ci_lower", "ci_upper"]]

    # ---------------------------------------------------------------- display
    def summary(self, level: float | None = None) -> str:
        """Return a plain-text summary for a pilot report or a terminal."""
        level = self.level if level is None else check_level(level)
        f = self.to_frame(level)
        pct = int(round(level * 100))
        lines = [
            f"pbr_eval: non-intervention estimate ({self.method}, estimand {self.estimand})",
            "=" * 72,
        ]
        c = self.info.get("cohort", {})
        lines.append(
            f"Cohort: {c.get('n_treated', '?'):,} treated, {c.get('n_comparison', '?'):,} "
            f"in the comparison pool; {c.get('n_input_rows', '?'):,} rows given."
        )
        for d in self.info.get("dropped", []):
            lines.append(describe_dropped(d))
        for note in self.info.get("notes", []):
            lines.append(f"Note: {note}")
        lines.append("")
        for _, r in f.iterrows():
            scale, unit = (100.0, "%") if r["outcome_type"] == "binary" else (1.0, "")
            pp = " pp" if r["outcome_type"] == "binary" else ""

            def fmt(v: float, _s: float = scale, _u: str = unit) -> str:
                return f"{v * _s:.1f}{_u}" if _u else f"{v:.3f}"

            ni_ci = (f"{pct}% CI {fmt(r['non_intervention_ci_lower'])} to "
                     f"{fmt(r['non_intervention_ci_upper'])}"
                     if math.isfinite(r["non_intervention_ci_lower"]) else "CI not computable")
            eff = f"{r['effect'] * scale:+.{1 if unit else 3}f}{pp}"
            if math.isfinite(r["p_value"]):
                eff += (f"  {pct}% CI {r['ci_lower'] * scale:+.{1 if unit else 3}f} to "
                        f"{r['ci_upper'] * scale:+.{1 if unit else 3}f}{pp}  (SE "
                        f"{r['std_error'] * scale:.{2 if unit else 4}f}, p = {r['p_value']:.3g})")
            else:
                e = self.estimate_for(r["outcome"])
                why = not_computable(e, cohort_effect_se(e)) or "see the notes"
                eff += f"  (interval and p-value not computable: {why})"
            pop = self.estimate_for(r["outcome"]).population
            lines += [
                f"Outcome: {r['outcome']} ({r['outcome_type']})",
                (f"  with the programme, {self.estimand} population (estimated): "
                 if pop else f"  treated (n={r['n_treated']:,}) observed:      ")
                + fmt(r["observed"]),
                (f"  non-intervention, {self.estimand} population (treated n={r['n_treated']:,}, "
                 f"comparison n={r['n_comparison']:,}): " if pop else
                 f"  non-intervention (comparison n={r['n_comparison']:,}): ")
                + f"{fmt(r['non_intervention'])}  {ni_ci}",
                f"  effect:  {eff}",
                f"  unadjusted comparison pool:  {fmt(r['naive_comparison'])}",
                "",
            ]
        if self.balance is not None and np.isfinite(self.balance.max_abs_smd_after):
            bal = self.balance
            lines.append(
                f"Balance: max |SMD| after adjustment {bal.max_abs_smd_after:.3f}"
                + (
                    f"; above {bal.threshold:g}: {', '.join(bal.imbalanced)}"
                    if bal.imbalanced
                    else f" (all below {bal.threshold:g})"
                )
            )
        lines.append(f"Standard errors: {self.estimates[0].se_method}.")
        lines.append(
            f"pbr_eval {self.info.get('version', '?')}; data fingerprint "
            f"{str(self.info.get('fingerprint', '?'))[:12]}; seed {self.info.get('seed')}."
        )
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (
            f"<CounterfactualResults method={self.method!r} estimand={self.estimand!r} "
            f"outcomes={self.outcomes}>"
        )

    def _repr_html_(self) -> str:
        body = super()._repr_html_()
        head = f"{self.title}: {self.method} ({self.estimand})"
        return body.replace(f"<strong>{html.escape(self.title)}</strong>",
                            f"<strong>{html.escape(head)}</strong>", 1)

    # ------------------------------------------------------------- figures
    def figure_data(self, name: str, *, policy: Any = None) -> dict[str, Any]:
        """Return data of the ``"love"`` (balance) or ``"overlap"`` (propensity score) figure.

        Parameters
        ----------
        name : {"love", "overlap"}
        policy : disclosure policy, optional
            The published view: SMDs of binary covariates whose shares would
            reveal a small count left out; score bands holding fewer people
            than ``policy.threshold`` left blank (their number in
            ``suppressed_bins``) and no after-adjustment lines.

        Raises
        ------
        OptionError
            No balance table, no propensity score (methods that match on a
            covariate distance or exactly), or results rebuilt from a saved
            file (which carries no unit-level scores).
        """
        name = check_choice("name", name, self.figures)
        if name == "love":
            if self.balance is None:
                raise OptionError("These results carry no balance table, so there is no Love "
                                  f"plot (method '{self.method}').")
            return self.balance.figure_data("love", policy=policy)
        return self._overlap_data(policy=policy)

    def _score(self) -> np.ndarray | None:
        extras = self.extras
        score = extras.get("distance")
        if score is None and extras.get("propensity") is not None:
            score = getattr(extras["propensity"], "ps", None)
        return None if score is None else np.asarray(score, dtype=float)

    def _treated(self, n: int) -> np.ndarray:
        t = self.extras.get("treated")
        if t is not None:
            return np.asarray(t, dtype=bool)
        bal = self.balance
        if bal is not None and bal._t is not None and bal._t.size == n:
            return np.asarray(bal._t, dtype=bool)
        ps, focal = self.extras.get("distance"), self.extras.get("focal_index")
        if isinstance(ps, pd.Series) and focal is not None and self.estimand in ("ATT", "ATC"):
            is_focal = ps.index.isin(focal)
            return is_focal if self.estimand == "ATT" else ~is_focal
        raise OptionError("The overlap plot needs the treatment indicator; these results do "
                          "not carry it.")

    def _overlap_data(self, *, policy: Any = None, bins: int = 20) -> dict[str, Any]:
        if self.weights is None:
            raise OptionError(
                "The overlap plot needs each person's propensity score, which a saved results "
                "file does not carry (aggregates only); draw it from the fitted results.")
        s = self._score()
        if s is None:
            raise OptionError(
                "The overlap plot needs a propensity score, and these results have none (method "
                f"'{self.method}' matched on a covariate distance or exactly, or uses no score). "
                "Use a score-based method, e.g. distance='glm'.")
        t = self._treated(s.size)
        ok = np.isfinite(s)
        if not ok.any() or not t[ok].any() or t[ok].all():
            raise OptionError("The propensity scores of one of the groups are missing.")
        v = s[ok]
        lo, hi = float(v.min()), float(v.max())
        edges = np.linspace(lo, hi, bins + 1) if hi > lo else np.linspace(lo - 0.5, lo + 0.5,
                                                                          bins + 1)
        label = "propensity score" if 0 <= lo and hi <= 1 else "propensity score (linear)"
        out: dict[str, Any] = {"edges": [float(e) for e in edges], "label": label}
        n_sup = 0
        for group, mask in (("treated", ok & t), ("comparison", ok & ~t)):
            counts, _ = np.histogram(s[mask], bins=edges)
            total = counts.sum()
            if policy is not None:
                small = np.array([c > 0 and policy.count_is_small(c) for c in counts])
                n_sup += int(small.sum())
                counts = np.where(small, 0, counts)
            out[group] = [float(x) for x in (counts / total if total else counts)]
        out["suppressed_bins"] = n_sup
        if policy is None:
            w = self.weights.to_numpy(dtype=float)
            if w.size == s.size:
                for group, mask in (("treated_after", ok & t), ("comparison_after", ok & ~t)):
                    wm = w[mask]
                    h, _ = np.histogram(s[mask], bins=edges, weights=wm)
                    out[group] = [float(x) for x in (h / wm.sum() if wm.sum() > 0 else h)]
        return out

    # ------------------------------------------------------------- export
    def _to_state(self, level: float | None = None) -> dict[str, Any]:
        rows = self.to_frame(level).to_dict(orient="records")
        out: dict[str, Any] = {
            "method": self.method,
            "estimand": self.estimand,
            "level": self.level if level is None else level,
            "estimates": rows,
            "info": dict(self.info),
        }
        if self.balance is not None:
            out["balance"] = self.balance.to_frame(ecdf=False).reset_index().to_dict(
                orient="records"
            )
            counts = self.balance.counts_or_none()
            out["balance_info"] = {
                "threshold": self.balance.threshold, "estimand": self.balance.estimand,
                "binary": [n for n in self.balance.names if n in self.balance.binary],
                "counts": None if counts is None else {g: counts[g].to_dict()
                                                       for g in counts.columns},
            }
        out["outcome_estimates"] = self._asdicts()
        parts = {k: v.to_dict() for k, v in self.extras.items() if isinstance(v, Results)}
        if parts:
            out["parts"] = parts
        return out

    def to_dict(self, level: float | None = None) -> dict[str, Any]:
        """Return a JSON-ready dictionary of the estimates (aggregates only) and ``info``.

        Keys: ``kind`` (``"counterfactual"``), ``method``, ``estimand``,
        ``level``, ``estimates`` (the :meth:`to_frame` rows at ``level``),
        ``info``, ``balance`` (balance rows) and ``balance_info`` (threshold,
        binary covariates, sample sizes) when there is a balance table, and
        ``outcome_estimates`` (each outcome's estimate and standard errors,
        from which :meth:`Results.from_dict` rebuilds the object), and
        ``parts``: the results objects in ``extras`` (a staggered roll-out's
        effects by group and period with its event-study covariance, a
        synthetic control's path and area weights), each as its own
        ``to_dict()``, so that reports and
        :func:`pbr_eval.parallel_trends` work from a saved file. No unit rows,
        weights or scores.
        """
        state = jsonable(self._to_state(level))
        return {"kind": type(self).kind, **state}

    def to_json(self, path: str | Path | None = None, *, level: float | None = None) -> str:
        """Serialise :meth:`to_dict` as JSON (and write it to ``path``, atomically, if given)."""
        text = json.dumps(self.to_dict(level), indent=2, sort_keys=False, allow_nan=False)
        if path is not None:
            from pbr_eval.io import write_text

            write_text(path, text + "\n")
        return text

    @classmethod
    def _from_state(cls, state: Mapping[str, Any]) -> CounterfactualResults:
        info = dict(state.get("info") or {})
        rows = state.get("estimates") or []
        if isinstance(rows, Mapping):
            raise OptionError("`estimates` must be the list of to_frame() rows of one result.")
        saved = state.get("outcome_estimates")
        names = {f.name for f in fields(OutcomeEstimate)}
        if saved:
            kept: list[dict[str, Any]] = [{str(k): (float("nan") if v is None else v)
                                           for k, v in e.items() if k in names} for e in saved]
            estimates = [OutcomeEstimate(**e) for e in kept]
        else:
            se_method = str(info.get("se_method", "as saved (cohort target)"))
            estimates = [_legacy_estimate(r, se_method) for r in rows]
        balance = None
        if state.get("balance"):
            b = dict(state.get("balance_info") or {})
            balance = BalanceTable.from_rows(
                state["balance"], binary=b.get("binary") or (),
                estimand=str(b.get("estimand", state.get("estimand", "ATT"))),
                threshold=float(b.get("threshold", 0.1)), counts=b.get("counts"))
        parts = state.get("parts") or {}
        if not isinstance(parts, Mapping):
            raise OptionError("`parts` must map each part's name (e.g. 'staggered') to its "
                              f"results' to_dict(); got {type(parts).__name__}.")
        extras = {str(k): Results.from_dict(v) for k, v in parts.items()}
        return cls(method=str(state.get("method", info.get("method", "?"))),
                   estimand=str(state.get("estimand", "ATT")), estimates=estimates,
                   weights=None, balance=balance, info=info,
                   level=float(state.get("level", DEFAULT_LEVEL)), extras=extras)

    def _asdicts(self) -> list[dict[str, Any]]:
        return [asdict(e) for e in self.estimates]
