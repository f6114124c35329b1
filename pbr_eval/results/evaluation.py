"""What :func:`pbr_eval.evaluate` returns: the headline estimate, the panel, overlap and warnings.

:class:`EvaluationResults` *is* a :class:`~pbr_eval.results.CounterfactualResults`
(the headline estimator's results: ``to_frame()``, ``price()``, ``report()`` and
the figures work as for any estimate) that also carries the design-first
workflow's evidence:

* ``overlap``: the propensity score distributions, the share of participants
  with no (or few) comparable comparison units, effective sample sizes and
  what the usual trimming rule would do (aggregates only);
* ``panel``: one row per estimator and outcome (estimate, interval,
  effective comparison sample, largest weight share, distance from the
  headline in headline standard errors);
* ``flags``: typed fragility warnings (:class:`FragilityFlag`), also in
  ``info["notes"]`` and :meth:`summary`;
* ``rule``: how the headline was chosen, in words.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from types import MappingProxyType
from typing import Any, ClassVar

import pandas as pd

from pbr_eval.kinds import Column, Schema
from pbr_eval.results.balance import BalanceTable
from pbr_eval.results.base import frame_from_records, jsonable
from pbr_eval.results.counterfactual import CounterfactualResults, OutcomeEstimate

__all__ = ["EvaluationResults", "FragilityFlag", "PANEL_SCHEMA", "FLAG_CODES"]

#: Fragility warning codes and the warning class each is raised as
#: (classes in :mod:`pbr_eval.exceptions`).
FLAG_CODES: Mapping[str, str] = MappingProxyType({
    "no_comparables": "LackOfComparablesWarning",
    "small_ess": "SmallSampleWarning",
    "disagreement": "DisagreementWarning",
    "extreme_weights": "ExtremeWeightsWarning",
    "cohort_changed": "CohortChangedWarning",
    "propensity_misspecified": "PropensitySpecificationWarning",
    "failed": "DisagreementWarning",
})



def _overlap_lines(ov: Mapping[str, Any]) -> list[str]:
    """Describe the overlap assessment in sentences (for :meth:`EvaluationResults.summary`)."""
    share = ov["share_no_comparable"]
    who = ("Every participant has a" if share == 0 else
           f"{share:.1%} of participants have no")
    lines = [
        f"Overlap: {who} comparison person with a similar propensity score (within "
        f"{ov['caliper']:.2f} on the logit scale, 0.2 SD; Austin 2011)"
        + ("" if share == 0 else "; their outcomes without the programme are extrapolated")
        + f". Weighted to resemble the {ov['n_treated']:,} participants, the comparison pool "
        f"counts as {ov['ess_comparison']:,.0f} people (its effective size)."]
    high = ov.get("high_treated")
    if high:
        lines.append(
            f"{high:,} participants have a propensity score above 0.9: few non-participants "
            "resemble them. Trimming them (Crump et al. 2009) would change who the estimate "
            "describes, so they are kept.")
    spec = ov.get("specification") or {}
    if spec.get("available"):
        lines.append(
            f"Propensity model: a likelihood-ratio test against the model with "
            f"{spec['terms']} of the covariates gives p = {spec['p_value']:.2g} "
            + ("(it misses how programme entry depends on them)." if spec["p_value"] < 0.05
               else "(no sign that it misses how programme entry depends on them)."))
    elif spec.get("reason"):
        lines.append(f"Propensity model specification test not run: {spec['reason']}.")
    return lines

@dataclass(frozen=True)
class FragilityFlag:
    """One fragility warning.

    Attributes
    ----------
    code : str
        One of :data:`FLAG_CODES`.
    message : str
        What was found and what it means, in words.
    estimator : str
        The panel member it concerns ("" for the cohort as a whole).
    outcome : str
        The outcome it concerns ("" for all).

    Examples
    --------
    >>> flag = FragilityFlag("small_ess", "Few comparison people carry the weight.")
    >>> flag.warning
    'SmallSampleWarning'
    """

    code: str
    message: str
    estimator: str = ""
    outcome: str = ""

    @property
    def warning(self) -> str:
        """The name of the warning class raised for it."""
        return FLAG_CODES.get(self.code, "FragilityWarning")


#: The columns of :meth:`EvaluationResults.panel_frame`.
PANEL_SCHEMA = Schema((
    Column("estimator", "text", "Estimator"),
    Column("role", "text", "Role", description="'headline' (the reported estimate) or 'check'."),
    Column("outcome", "text", "Outcome"),
    Column("outcome_type", "text", "Type of outcome"),
    Column("non_intervention", "outcome", "Estimated without the programme", by="outcome_type"),
    Column("non_intervention_ci_lower", "outcome", "Lower limit", by="outcome_type"),
    Column("non_intervention_ci_upper", "outcome", "Upper limit", by="outcome_type"),
    Column("non_intervention_se", "number", "Standard error"),
    Column("effect", "outcome_difference", "Difference made by the programme",
           by="outcome_type"),
    Column("ess_comparison", "number", "Effective number of comparison people",
           description="Kish's effective sample size of the comparison weights."),
    Column("max_weight_share", "probability",
           "Largest share of the comparison weight carried by one person"),
    Column("distance", "ratio", "Distance from the headline, in headline standard errors"),
    Column("error", "text", "Why it could not be computed"),
))


class EvaluationResults(CounterfactualResults):
    """The design-first evaluation: a headline estimate plus the evidence it rests on.

    Returned by :func:`pbr_eval.evaluate`. Everything a
    :class:`~pbr_eval.results.CounterfactualResults` has (of the headline
    estimator), plus:

    Attributes
    ----------
    headline : str
        The panel label of the headline estimator.
    rule : str
        How the headline was chosen, in words.
    panel : pandas.DataFrame
        One row per panel estimator and outcome; columns :data:`PANEL_SCHEMA`.
    overlap : mapping
        Aggregates of the overlap assessment (see :func:`pbr_eval.workflow.assess_overlap`).
    flags : tuple of FragilityFlag
        The fragility warnings raised.

    Examples
    --------
    >>> import pbr_eval
    >>> from pbr_eval.datasets import load_reoffending
    >>> sim = load_reoffending()
    >>> ev = pbr_eval.evaluate(pbr_eval.Cohort(sim.data, **sim.cohort_args), warn=False)
    >>> isinstance(ev, EvaluationResults), ev.kind
    (True, 'evaluation')
    >>> ev.headline == ev.panel.iloc[0]["estimator"]
    True
    """

    kind: ClassVar[str] = "evaluation"
    _legacy_keys: ClassVar[frozenset[str]] = frozenset()
    title: ClassVar[str] = "Design-first evaluation"
    panel_schema: ClassVar[Schema] = PANEL_SCHEMA
    _redo = "run evaluate() again"

    def __init__(self, *, headline: str, rule: str, panel: pd.DataFrame,
                 overlap: Mapping[str, Any], flags: Sequence[FragilityFlag],
                 method: str, estimand: str, estimates: Sequence[OutcomeEstimate],
                 weights: pd.Series | None, balance: BalanceTable | None,
                 info: Mapping[str, Any], level: float = 0.95,
                 extras: Mapping[str, Any] | None = None) -> None:
        self.headline = headline
        self.rule = rule
        self.panel = panel.reset_index(drop=True)
        self.overlap = MappingProxyType(dict(overlap))
        self.flags = tuple(flags)
        info = dict(info)
        notes = list(info.get("notes", []))
        for f in self.flags:
            note = f"Warning ({f.warning}): {f.message}"
            if note not in notes:
                notes.append(note)
        info["notes"] = notes
        super().__init__(method=method, estimand=estimand, estimates=estimates, weights=weights,
                         balance=balance, info=info, level=level, extras=extras)

    # ----------------------------------------------------------------- tables
    def panel_frame(self) -> pd.DataFrame:
        """Return the panel: one row per estimator and outcome (columns :data:`PANEL_SCHEMA`)."""
        return self.panel[[c.name for c in PANEL_SCHEMA]].copy()

    @property
    def warned(self) -> bool:
        """Whether any fragility warning was raised."""
        return bool(self.flags)

    def summary(self, level: float | None = None) -> str:
        """Summarise the headline, then the panel, the overlap assessment and the warnings."""
        head = super().summary(level)
        ov = self.overlap
        lines = [head, "", f"Design-first evaluation: headline = {self.headline}.",
                 f"Rule: {self.rule}"]
        if ov.get("available"):
            lines += _overlap_lines(ov)
        elif ov.get("reason"):
            lines.append(f"Overlap: not assessed ({ov['reason']}).")
        lines.append("Panel (non-intervention estimate, 95% interval, distance from the "
                     "headline in its standard errors):")
        wide = max([len(str(e)) for e in self.panel["estimator"]] + [10])
        out_w = max([len(str(o)) for o in self.panel["outcome"]] + [7])
        for _, r in self.panel.iterrows():
            if isinstance(r.get("error"), str) and r["error"]:
                lines.append(f"  {r['estimator']:<{wide}}  {r['outcome']:<{out_w}}  "
                             f"failed: {r['error']}")
                continue
            binary = r["outcome_type"] == "binary"

            def f(v: float, _b: bool = binary) -> str:
                return f"{v:.1%}" if _b else f"{v:,.3f}"

            d = r["distance"]
            lines.append(
                f"  {r['estimator']:<{wide}}  {r['outcome']:<{out_w}}  {f(r['non_intervention'])} "
                f"({f(r['non_intervention_ci_lower'])} to {f(r['non_intervention_ci_upper'])})"
                + ("" if r["role"] == "headline" or not math.isfinite(d) else f"  {d:.2f} SE"))
        if self.flags:
            lines.append(f"Fragility warnings ({len(self.flags)}):")
            lines += [f"  [{f.code}] {f.message}" for f in self.flags]
        else:
            lines.append("Fragility warnings: none.")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (f"<EvaluationResults headline={self.headline!r} outcomes={self.outcomes} "
                f"warnings={len(self.flags)}>")

    # ------------------------------------------------------------- export
    def _to_state(self, level: float | None = None) -> dict[str, Any]:
        out = super()._to_state(level)
        out["evaluation"] = {
            "headline": self.headline, "rule": self.rule,
            "panel": jsonable(self.panel.to_dict(orient="records")),
            "overlap": jsonable(dict(self.overlap)),
            "flags": [asdict(f) for f in self.flags],
        }
        return out

    @classmethod
    def _from_state(cls, state: Mapping[str, Any]) -> EvaluationResults:
        base = CounterfactualResults._from_state(state)
        ev = dict(state.get("evaluation") or {})
        panel = frame_from_records(ev.get("panel") or [],
                                   columns=[c.name for c in PANEL_SCHEMA],
                                   text=("estimator", "role", "outcome", "outcome_type", "error"))
        info = dict(base.info)
        # the flags' notes are in the saved notes already; the constructor does not repeat them
        return cls(headline=str(ev.get("headline", base.method)), rule=str(ev.get("rule", "")),
                   panel=panel, overlap=dict(ev.get("overlap") or {}),
                   flags=[FragilityFlag(**f) for f in ev.get("flags") or []],
                   method=base.method, estimand=base.estimand, estimates=base.estimates,
                   weights=None, balance=base.balance, info=info, level=base.level)
