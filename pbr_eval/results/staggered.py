"""Results of staggered difference-in-differences: group-time effects, aggregations, cross-checks.

:class:`StaggeredResults` is what ``estimate(cohort, method="staggered_did")``
puts in ``results.extras["staggered"]`` (the headline effect and the
non-intervention rate are in the :class:`~pbr_eval.results.CounterfactualResults`
itself, where pricing reads them). It holds aggregates only: one row per
outcome, group and period; one per aggregation; one per cross-check; and the
bootstrap's maximum-t statistics, from which the simultaneous bands are
recomputed at any level.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy import stats

from pbr_eval.exceptions import OptionError
from pbr_eval.kinds import Column, Schema
from pbr_eval.options import DEFAULT_LEVEL, check_level
from pbr_eval.results.base import HasFigures, Results
from pbr_eval.results.counterfactual import CounterfactualResults, OutcomeEstimate

__all__ = ["StaggeredResults", "GROUP_TIME_SCHEMA", "AGGREGATION_SCHEMA", "CROSS_CHECK_SCHEMA"]

_EST = (
    Column("estimate", "outcome_difference", "Effect", by="outcome_type"),
    Column("std_error", "number", "Standard error"),
    Column("ci_lower", "outcome_difference", "Lower limit", by="outcome_type"),
    Column("ci_upper", "outcome_difference", "Upper limit", by="outcome_type"),
    Column("band_lower", "outcome_difference", "Lower limit, all at once", by="outcome_type",
           description="Simultaneous band: covers every effect in its table together with the "
                       "stated probability (multiplier bootstrap, sup-t)."),
    Column("band_upper", "outcome_difference", "Upper limit, all at once", by="outcome_type"),
    Column("p_value", "p_value", "p-value"),
)

#: Columns of :meth:`StaggeredResults.to_frame` (one row per outcome, group and period).
GROUP_TIME_SCHEMA = Schema((
    Column("outcome", "text", "Outcome"),
    Column("outcome_type", "text", "Type of outcome"),
    Column("group", "number", "Start period (group)",
           description="The period the group's units were first in the programme."),
    Column("period", "number", "Period"),
    Column("base_period", "number", "Compared with period"),
    Column("event_time", "integer", "Periods since start"),
    Column("post", "text", "After the start"),
    Column("n_treated", "count", "Units in the group"),
    Column("n_comparison", "count", "Comparison units"),
    Column("observed", "outcome", "Observed in the group", denominator="n_treated",
           by="outcome_type"),
    Column("non_intervention", "outcome", "Estimated without the programme", by="outcome_type",
           derived_from=("observed",),
           description="The group's observed outcome minus the estimated effect: what its "
                       "units would have had without the programme in that period."),
    Column("non_intervention_se", "number", "Standard error without the programme",
           description="Of the group's expected outcome without the programme (its observed "
                       "mean's sampling error included); analytic, from influence functions."),
    *_EST,
))

#: Columns of :meth:`StaggeredResults.aggregations`.
AGGREGATION_SCHEMA = Schema((
    Column("outcome", "text", "Outcome"),
    Column("outcome_type", "text", "Type of outcome"),
    Column("aggregation", "text", "Summary",
           description="overall (every treated unit-period), by group (start period), by "
                       "period (calendar time) or by periods since start (event study)."),
    Column("label", "text", "Of"),
    Column("event_time", "integer", "Periods since start"),
    *_EST,
))

#: Columns of :meth:`StaggeredResults.cross_checks`.
CROSS_CHECK_SCHEMA = Schema((
    Column("outcome", "text", "Outcome"),
    Column("outcome_type", "text", "Type of outcome"),
    Column("estimator", "text", "Estimator"),
    Column("estimate", "outcome_difference", "Average effect after the start", by="outcome_type"),
    Column("std_error", "number", "Standard error"),
    Column("ci_lower", "outcome_difference", "Lower limit", by="outcome_type"),
    Column("ci_upper", "outcome_difference", "Upper limit", by="outcome_type"),
    Column("note", "text", "Note"),
))

_AGG_NAMES = {"simple": "overall", "group": "by group", "calendar": "by period",
              "dynamic": "by periods since start"}
_BAND_FAMILY = {"group_time": "group-time effects", "dynamic": "event study",
                "group": "groups", "calendar": "periods"}


def _plain_number(v: Any) -> int | float:
    x = float(v)
    return int(x) if x.is_integer() else x


def _num(v: Any) -> str:
    return str(_plain_number(v))


def _band(frame: pd.DataFrame, crit: float) -> pd.DataFrame:
    f = frame.copy()
    f["band_lower"] = f["estimate"] - crit * f["std_error"]
    f["band_upper"] = f["estimate"] + crit * f["std_error"]
    return f


class StaggeredResults(Results, HasFigures):
    """Group-time effects of a staggered roll-out, their summaries and cross-checks.

    Attributes
    ----------
    group_time : pandas.DataFrame
        One row per outcome, group and period (without intervals; see :meth:`to_frame`).
    aggregation_table : pandas.DataFrame
        One row per outcome and summary (overall, by group, by period, by periods since start).
    cross_check_table : pandas.DataFrame
        Sun & Abraham, Borusyak et al. and two-way fixed effects on the same data.
    max_t : mapping
        ``(outcome, family) -> array`` of the bootstrap's maximum |t| over a
        family of effects (``"group_time"``, ``"dynamic"``, ``"group"``,
        ``"calendar"``), from which the simultaneous band's critical value is
        its ``level`` quantile.
    event_cov : mapping
        ``outcome -> array``: the analytic (influence-function) covariance of the
        event-study effects, in the order of :meth:`event_study` (what a
        parallel-trends sensitivity analysis reads; empty for results saved
        before it was kept).
    info : mapping
        Settings (model, comparison, anticipation, base period, bootstrap
        draws and weights, seed, clusters), notes and rows left out.
    level : float
    """

    kind: ClassVar[str] = "staggered_did"
    title: ClassVar[str] = "Staggered difference-in-differences: effects by group and period"
    schema: ClassVar[Schema] = GROUP_TIME_SCHEMA
    figures: ClassVar[tuple[str, ...]] = ("event_study",)
    _redo = "estimate again"

    def __init__(
        self,
        *,
        group_time: pd.DataFrame,
        aggregation_table: pd.DataFrame,
        cross_check_table: pd.DataFrame,
        max_t: Mapping[tuple[str, str], np.ndarray],
        info: Mapping[str, Any],
        level: float = DEFAULT_LEVEL,
        event_cov: Mapping[str, Any] | None = None,
    ) -> None:
        self.group_time = group_time.reset_index(drop=True)
        self.event_cov = MappingProxyType({k: np.asarray(v, dtype=float)
                                           for k, v in (event_cov or {}).items()})
        self.aggregation_table = aggregation_table.reset_index(drop=True)
        self.cross_check_table = cross_check_table.reset_index(drop=True)
        self.max_t = MappingProxyType({k: np.asarray(v, dtype=float) for k, v in max_t.items()})
        self.info = MappingProxyType(dict(info))
        self.level = check_level(level)
        self._freeze()

    # ----------------------------------------------------------------- bands
    def critical_value(self, outcome: str, family: str, level: float | None = None) -> float:
        """Critical value of the simultaneous band over ``family`` (NaN without a bootstrap).

        ``family``: ``"group_time"``, ``"dynamic"``, ``"group"`` or ``"calendar"``.
        """
        level = self.level if level is None else check_level(level)
        draws = self.max_t.get((outcome, family))
        if draws is None or draws.size == 0:
            return float("nan")
        return float(np.quantile(draws, level, method="inverted_cdf"))

    def _intervals(self, frame: pd.DataFrame, level: float, family_of) -> pd.DataFrame:
        z = float(stats.norm.ppf(0.5 + level / 2))
        f = frame.copy()
        f["ci_lower"] = f["estimate"] - z * f["std_error"]
        f["ci_upper"] = f["estimate"] + z * f["std_error"]
        with np.errstate(invalid="ignore", divide="ignore"):
            zstat = f["estimate"] / f["std_error"]
        f["p_value"] = np.where(f["std_error"] > 0, 2 * stats.norm.sf(np.abs(zstat)), np.nan)
        out = []
        for key, part in f.groupby([f["outcome"], f.apply(family_of, axis=1)], sort=False):
            crit = self.critical_value(key[0], key[1], level) if key[1] else float("nan")
            out.append(_band(part, crit))
        return pd.concat(out).sort_index() if out else f.assign(band_lower=np.nan,
                                                                band_upper=np.nan)

    # ------------------------------------------------------------------ face
    def to_frame(self, level: float | None = None) -> pd.DataFrame:
        """ATT(g, t) with pointwise intervals and the simultaneous band, one row per cell.

        Parameters
        ----------
        level : float, optional
            Default: the level the results were built with.
        """
        level = self.level if level is None else check_level(level)
        f = self._intervals(self.group_time, level, lambda r: "group_time")
        # the universal base period's reference cells are 0 by construction: no interval
        ref = f["std_error"] == 0
        for c in ("ci_lower", "ci_upper", "band_lower", "band_upper", "p_value"):
            f.loc[ref, c] = np.nan
        return f[list(GROUP_TIME_SCHEMA.names)]

    def aggregations(self, kind: str | None = None, *, level: float | None = None) -> pd.DataFrame:
        """Summaries of the group-time effects.

        Parameters
        ----------
        kind : {"overall", "by group", "by period", "by periods since start"}, optional
            Default: all of them.
        level : float, optional
        """
        level = self.level if level is None else check_level(level)
        fam = {"by group": "group", "by period": "calendar", "by periods since start": "dynamic"}
        f = self._intervals(self.aggregation_table, level,
                            lambda r: "" if r["label"] == "overall" else fam.get(r["aggregation"], ""))
        if kind is not None:
            allowed = sorted(set(self.aggregation_table["aggregation"]))
            if kind not in allowed:
                raise OptionError(f"`kind` must be one of {', '.join(map(repr, allowed))}; "
                                  f"got {kind!r}.")
            f = f[f["aggregation"] == kind]
        return f[list(AGGREGATION_SCHEMA.names)].reset_index(drop=True)

    def event_study(self, outcome: str | None = None, *, level: float | None = None) -> pd.DataFrame:
        """Return the event study: effect by periods since the start, with its simultaneous band."""
        f = self.aggregations("by periods since start", level=level)
        f = f[f["label"] != "overall"].astype({"event_time": int})
        if outcome is not None:
            f = f[f["outcome"] == outcome]
        return f.reset_index(drop=True)

    def units_by_event_time(self, outcome: str | None = None) -> pd.Series:
        """Treated units behind each event-study effect (the groups observed that long)."""
        f = self.group_time
        outcome = f["outcome"].iloc[0] if outcome is None else outcome
        f = f[(f["outcome"] == outcome) & np.isfinite(f["estimate"])]
        return f.groupby("event_time")["n_treated"].sum().astype(int)

    def figure_data(self, name: str, *, policy: Any = None,
                    outcome: str | None = None) -> dict[str, Any]:
        """Return data of the ``"event_study"`` figure (one outcome; default the first).

        With a disclosure ``policy``, an effect resting on fewer than
        ``policy.threshold`` treated units is withheld (``None``).
        """
        from pbr_eval.options import check_choice

        check_choice("name", name, self.figures)
        outcomes = list(dict.fromkeys(self.group_time["outcome"]))
        outcome = outcomes[0] if outcome is None else check_choice("outcome", outcome, outcomes)
        ev = self.event_study(outcome)
        n = self.units_by_event_time(outcome).reindex(ev["event_time"]).to_numpy()
        keep = np.ones(len(ev), dtype=bool) if policy is None else n >= policy.threshold

        def col(c: str) -> list[float | None]:
            return [float(v) if k and math.isfinite(v) else None
                    for v, k in zip(ev[c], keep, strict=True)]

        return {"event_time": [int(e) for e in ev["event_time"]], "estimate": col("estimate"),
                "lower": col("ci_lower"), "upper": col("ci_upper"),
                "band_lower": col("band_lower"), "band_upper": col("band_upper"),
                "outcome": str(outcome), "level": self.level}

    def cross_checks(self, *, level: float | None = None) -> pd.DataFrame:
        """Return the same average effect from Sun & Abraham, Borusyak et al. and two-way fixed effects."""
        level = self.level if level is None else check_level(level)
        z = float(stats.norm.ppf(0.5 + level / 2))
        f = self.cross_check_table.copy()
        f["ci_lower"] = f["estimate"] - z * f["std_error"]
        f["ci_upper"] = f["estimate"] + z * f["std_error"]
        return f[list(CROSS_CHECK_SCHEMA.names)]

    def non_intervention(self, outcome: str | None = None) -> pd.DataFrame:
        """Observed and non-intervention outcome of each group in each period after its start."""
        f = self.to_frame()
        f = f[f["post"] == "yes"]
        if outcome is not None:
            f = f[f["outcome"] == outcome]
        return f[["outcome", "group", "period", "n_treated", "observed", "non_intervention",
                  "non_intervention_se", "estimate", "ci_lower", "ci_upper"]].reset_index(
                      drop=True)

    def counterfactual(self, *, group: float, period: float,
                       outcome: str | None = None) -> CounterfactualResults:
        """One group's non-intervention estimate in one period, in the form pricing reads.

        A roll-out's groups (areas or waves that started together) can have
        different non-intervention rates, and so different prices: this turns
        the cell ``(group, period)`` into a
        :class:`~pbr_eval.results.CounterfactualResults` that
        :func:`pbr_eval.price` and the reports take like any other estimate.

        Parameters
        ----------
        group : number
            The group's start period.
        period : number
            A period at or after the start (after anticipation, the effect
            is only defined there).
        outcome : str, optional
            Default: every outcome.

        Returns
        -------
        CounterfactualResults
            One estimate per outcome: observed, non-intervention (observed
            minus ATT(g, t)) and the effect. The interval of the cohort's own
            non-intervention rate uses the ATT(g, t) standard error (the
            observed mean is known); ``to_frame(target="expected")`` uses
            ``non_intervention_se``, which adds the observed mean's sampling
            error.

        Raises
        ------
        OptionError
            When ``(group, period)`` is not a cell after the group's start or
            ``outcome`` is unknown.

        Examples
        --------
        >>> import pbr_eval
        >>> from pbr_eval.datasets import simulate_staggered
        >>> sim = simulate_staggered(n_units=400, seed=3)
        >>> st = pbr_eval.estimate(sim.cohort(), method="staggered_did").extras["staggered"]
        >>> cf = st.counterfactual(group=3, period=5)
        >>> cf.info["cell"]
        {'group': 3, 'period': 5}
        >>> row = cf.to_frame().iloc[0]
        >>> bool(abs(row["observed"] - row["non_intervention"] - row["effect"]) < 1e-12)
        True
        """
        f = self.group_time
        outcomes = list(dict.fromkeys(f["outcome"]))
        if outcome is not None and outcome not in outcomes:
            raise OptionError(f"`outcome` must be one of {', '.join(map(repr, outcomes))}; "
                              f"got {outcome!r}.")
        post = f[(f["post"] == "yes") & np.isfinite(f["estimate"])]
        cell = post[(post["group"] == float(group)) & (post["period"] == float(period))]
        if outcome is not None:
            cell = cell[cell["outcome"] == outcome]
        if cell.empty:
            groups = sorted(set(post["group"]))
            ours = sorted(set(post.loc[post["group"] == float(group), "period"]))
            where = (f"group {_num(group)} has periods {', '.join(map(_num, ours))} after its "
                     "start" if ours else
                     f"the groups are {', '.join(map(_num, groups))}")
            raise OptionError(f"`group` and `period` must name a period at or after the group's "
                              f"start; got group={group!r}, period={period!r}: {where}.")
        estimates = []
        for _, r in cell.iterrows():
            estimates.append(OutcomeEstimate(
                outcome=str(r["outcome"]), outcome_type=str(r["outcome_type"]),
                n_treated=int(r["n_treated"]), n_comparison=int(r["n_comparison"]),
                observed=float(r["observed"]), non_intervention=float(r["non_intervention"]),
                non_intervention_se=float(r["non_intervention_se"]),
                effect=float(r["estimate"]), std_error=float(r["std_error"]),
                naive_comparison=math.nan, cohort_std_error=float(r["std_error"]),
                se_method=f"ATT(g, t), {self.info.get('se_method', '')}".rstrip(", "),
            ))
        g, t = _plain_number(group), _plain_number(period)
        info = dict(self.info)
        info["cell"] = {"group": g, "period": t}
        info["notes"] = [*self.info.get("notes", []),
                         f"The group that started in period {_num(g)}, in period {_num(t)} "
                         "(one group-time cell of a staggered roll-out)."]
        return CounterfactualResults(method=str(self.info.get("method", "staggered_did")),
                                     estimand="ATT", estimates=estimates, weights=None,
                                     balance=None, info=info, level=self.level)

    def summary(self) -> str:
        """Plain-text summary: the overall effect per outcome, the event study, the cross-checks."""
        lines = [self.title,
                 f"Model: {self.info.get('model_label', self.info.get('model'))}; comparison: "
                 f"{self.info.get('comparison_label', self.info.get('comparison'))}; "
                 f"anticipation: {self.info.get('anticipation', 0)} period(s)."]
        agg = self.aggregations()
        for out, part in agg.groupby("outcome", sort=False):
            ov = part[(part["aggregation"] == "overall")]
            if len(ov):
                r = ov.iloc[0]
                lines.append(f"{out}: average effect after the start {r['estimate']:.4g} "
                             f"({self.level:.0%} CI {r['ci_lower']:.4g} to {r['ci_upper']:.4g}).")
            ev = part[(part["aggregation"] == "by periods since start") & (part["label"] != "overall")]
            for _, r in ev.iterrows():
                band = ("" if not math.isfinite(r["band_lower"]) else
                        f"; band {r['band_lower']:.4g} to {r['band_upper']:.4g}")
                lines.append(f"  e={int(r['event_time']):+d}: {r['estimate']:.4g} "
                             f"(SE {r['std_error']:.3g}{band})")
        cc = self.cross_checks()
        for _, r in cc.iterrows():
            if math.isfinite(r["estimate"]):
                lines.append(f"  cross-check {r['outcome']} {r['estimator']}: {r['estimate']:.4g} "
                             f"(SE {r['std_error']:.3g})" + (f" - {r['note']}" if r["note"] else ""))
            else:
                lines.append(f"  cross-check {r['outcome']} {r['estimator']}: not available "
                             f"({r['note']})")
        for note in self.info.get("notes", []):
            lines.append(f"Note: {note}")
        return "\n".join(lines)

    # ---------------------------------------------------------------- export
    def _to_state(self) -> dict[str, Any]:
        return {
            "group_time": self.group_time.to_dict(orient="list"),
            "aggregation_table": self.aggregation_table.to_dict(orient="list"),
            "cross_check_table": self.cross_check_table.to_dict(orient="list"),
            "max_t": [{"outcome": k[0], "family": k[1], "values": v.tolist()}
                      for k, v in self.max_t.items()],
            "info": dict(self.info),
            "level": self.level,
            "event_cov": {k: v.tolist() for k, v in self.event_cov.items()},
        }

    @classmethod
    def _from_state(cls, state: Mapping[str, Any]) -> StaggeredResults:
        def frame(d: Mapping[str, Any]) -> pd.DataFrame:
            return pd.DataFrame({k: [np.nan if v is None else v for v in vals]
                                 if k not in ("outcome", "outcome_type", "post", "aggregation",
                                              "label", "estimator", "note") else vals
                                 for k, vals in d.items()})

        return cls(
            group_time=frame(state["group_time"]),
            aggregation_table=frame(state["aggregation_table"]),
            cross_check_table=frame(state["cross_check_table"]),
            max_t={(m["outcome"], m["family"]): np.asarray(m["values"], dtype=float)
                   for m in state.get("max_t", [])},
            info=state.get("info", {}),
            level=state.get("level", DEFAULT_LEVEL),
            event_cov=state.get("event_cov") or {},
        )
