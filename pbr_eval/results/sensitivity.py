r"""Results of the hidden-bias checks in :mod:`pbr_eval.sensitivity`.

* :class:`RosenbaumBounds` - how much hidden bias (:math:`\Gamma`) matched
  pairs withstand;
* :class:`EValues` - E-values of the ratio of the observed to the
  non-intervention rate;
* :class:`TippingPoint` - how far the non-intervention rate would have to
  move for no additional outcomes;
* :class:`PlaceboResults` - re-estimates where the true effect is zero.

Each is a :class:`~pbr_eval.results.base.Results`: declared columns,
``summary()``, ``to_dict()`` / ``Results.from_dict()``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, ClassVar

import pandas as pd

from pbr_eval.kinds import Column, Schema
from pbr_eval.results.base import Results, frame_from_records

__all__ = ["RosenbaumBounds", "EValues", "TippingPoint", "PlaceboResults"]

_OUTCOME = Column("outcome", "text", "Outcome")
_OUTCOME_TYPE = Column("outcome_type", "text", "Type of outcome")


def _inf_to_text(rows: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    """JSON has no infinity: an infinite ``key`` is written as the text ``"inf"``."""
    return [{**r, key: "inf" if isinstance(r.get(key), float) and math.isinf(r[key])
             else r.get(key)} for r in rows]


def _text_to_inf(frame: pd.DataFrame, key: str) -> pd.DataFrame:
    if key in frame.columns:
        frame[key] = [math.nan if v is None else float(v) for v in frame[key]]
    return frame


class RosenbaumBounds(Results):
    r"""Rosenbaum sensitivity bounds for 1:1 matched pairs (read-only).

    Attributes
    ----------
    table : pandas.DataFrame
        One row per outcome and ``gamma``: the upper bound on the one-sided
        p-value and whether the conclusion still holds at ``level``.
    critical : pandas.DataFrame
        One row per outcome: test used, pairs, the statistic, and
        ``gamma_critical``, the :math:`\Gamma` at which the upper bound
        reaches ``1 - level`` (the conclusion changes there).
    level : float
    info : mapping

    Examples
    --------
    Made by :func:`pbr_eval.sensitivity.rosenbaum_bounds`:

    >>> from pbr_eval import Cohort
    >>> from pbr_eval.datasets import load_reoffending
    >>> from pbr_eval.estimators.matching import NearestNeighborMatching
    >>> sim = load_reoffending()
    >>> cohort = Cohort(sim.data, **sim.cohort_args)
    >>> res = NearestNeighborMatching().fit(cohort)
    >>> from pbr_eval.sensitivity import rosenbaum_bounds
    >>> rb = rosenbaum_bounds(res, cohort)
    >>> rb.critical[["outcome", "n_pairs", "n_discordant"]]
                   outcome  n_pairs  n_discordant
    0           reoffended      600           233
    1  reconviction_events      600           269
    """

    kind: ClassVar[str] = "rosenbaum_bounds"
    title: ClassVar[str] = "Rosenbaum bounds (matched pairs)"
    schema: ClassVar[Schema] = Schema((
        _OUTCOME,
        Column("test", "text", "Test"),
        Column("n_pairs", "count", "Matched pairs"),
        Column("direction", "text", "Direction tested"),
        Column("statistic", "number", "Test statistic"),
        Column("n_discordant", "count", "Pairs that differ in the outcome"),
        Column("gamma_critical", "ratio", "Hidden bias that would change the conclusion "
               "(Gamma)", description="How many times as likely (in odds) to join the "
               "programme one member of a matched pair would have to be than the other, for "
               "an unmeasured reason, before the effect stopped being significant."),
    ))
    _redo = "call rosenbaum_bounds() again"

    def __init__(self, table: pd.DataFrame, critical: pd.DataFrame, level: float,
                 info: Mapping[str, Any]) -> None:
        self.table = table
        self.critical = critical
        self.level = float(level)
        self.info = MappingProxyType(dict(info))
        self._freeze()

    def to_frame(self) -> pd.DataFrame:
        """Return the per-outcome summary (``critical``)."""
        return self.critical.copy()

    def summary(self) -> str:
        """Plain-language sentences, one per outcome."""
        lines = []
        for _, r in self.critical.iterrows():
            g = r["gamma_critical"]
            if g <= 1.0:
                lines.append(f"{r['outcome']}: not significant at {self.level:.0%} even with no "
                             "hidden bias.")
            else:
                gs = "more than 1,000,000" if math.isinf(g) else f"{g:.2f}"
                lines.append(
                    f"{r['outcome']}: the effect stays significant unless an unmeasured factor "
                    f"makes one member of a matched pair up to {gs} times as likely (in odds) "
                    "to join the programme as the other."
                )
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<RosenbaumBounds outcomes={self.critical['outcome'].tolist()}>"

    def _to_state(self) -> dict[str, Any]:
        return {"level": self.level,
                "critical": _inf_to_text(self.critical.to_dict(orient="records"),
                                         "gamma_critical"),
                "table": self.table.to_dict(orient="records"), "info": dict(self.info)}

    @classmethod
    def _from_state(cls, state: Mapping[str, Any]) -> RosenbaumBounds:
        critical = frame_from_records(state.get("critical") or [],
                                      text=("outcome", "test", "direction", "gamma_critical"))
        return cls(frame_from_records(state.get("table") or [], text=("outcome",)),
                   _text_to_inf(critical, "gamma_critical"), float(state.get("level", 0.95)),
                   dict(state.get("info") or {}))


class _FrameResults(Results):
    """A results object holding one table (``frame``), ``level`` and ``info``.

    ``e_values()`` and ``tipping_point()`` returned the bare DataFrame before
    pbr_eval 0.2: reading it as a DataFrame (``res["e_value"]``,
    ``res.set_index(...)``) still works for one release, with a
    :class:`DeprecationWarning` naming ``res.to_frame()``.
    """

    _function: ClassVar[str] = ""

    def __init__(self, frame: pd.DataFrame, *, level: float,
                 info: Mapping[str, Any] | None = None) -> None:
        self.frame = frame
        self.level = float(level)
        self.info = MappingProxyType(dict(info or {}))
        self._freeze()

    def to_frame(self) -> pd.DataFrame:
        """Return the table, one row per outcome."""
        return self.frame.copy()

    def _as_frame(self, what: str) -> pd.DataFrame:
        warnings.warn(f"{self._function}() now returns {type(self).__name__}, not a DataFrame; "
                      f"use .to_frame(){what} instead.", DeprecationWarning, stacklevel=3)
        return self.frame

    def __getitem__(self, key: Any) -> Any:
        return self._as_frame(f"[{key!r}]")[key]

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name in ("frame", "level", "info"):
            raise AttributeError(name)
        frame = self.__dict__.get("frame")
        if frame is not None and hasattr(pd.DataFrame, name):
            return getattr(self._as_frame(f".{name}"), name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __repr__(self) -> str:
        return f"<{type(self).__name__} outcomes={self.frame['outcome'].tolist()}>"

    def _to_state(self) -> dict[str, Any]:
        return {"level": self.level, "table": self.frame.to_dict(orient="records"),
                "info": dict(self.info)}

    @classmethod
    def _from_state(cls, state: Mapping[str, Any]) -> _FrameResults:
        text = [c.name for c in cls.schema if c.kind == "text"]
        return cls(frame_from_records(state.get("table") or [], text=text),
                   level=float(state.get("level", 0.95)), info=dict(state.get("info") or {}))


class EValues(_FrameResults):
    """E-values of the ratio of the observed to the non-intervention rate (read-only).

    Returned by :func:`pbr_eval.sensitivity.e_values`; see there for the
    columns and the method.

    Examples
    --------
    Made by :func:`pbr_eval.sensitivity.e_values`:

    >>> from pbr_eval.datasets import load_reoffending
    >>> from pbr_eval import Cohort
    >>> from pbr_eval.estimators.matching import NearestNeighborMatching
    >>> sim = load_reoffending()
    >>> cohort = Cohort(sim.data, **sim.cohort_args)
    >>> res = NearestNeighborMatching().fit(cohort)
    >>> from pbr_eval.sensitivity import e_values
    >>> e_values(res).to_frame()[["outcome", "rr", "e_value"]].round(2)
                   outcome    rr  e_value
    0           reoffended  0.88     1.54
    1  reconviction_events  0.81     1.78
    """

    kind: ClassVar[str] = "e_values"
    title: ClassVar[str] = "E-values"
    _function: ClassVar[str] = "e_values"
    schema: ClassVar[Schema] = Schema((
        _OUTCOME, _OUTCOME_TYPE,
        Column("observed", "outcome", "Observed in the programme", by="outcome_type"),
        Column("non_intervention", "outcome", "Estimated without the programme",
               by="outcome_type"),
        Column("rr", "ratio", "Ratio of observed to without the programme"),
        Column("rr_ci_lower", "ratio", "Ratio, lower limit"),
        Column("rr_ci_upper", "ratio", "Ratio, upper limit"),
        Column("e_value", "ratio", "E-value",
               description="How strongly (as a risk ratio) an unmeasured factor would have to "
                           "be linked to both joining the programme and the outcome to explain "
                           "away the ratio (VanderWeele and Ding 2017)."),
        Column("e_value_ci", "ratio", "E-value of the interval limit nearer no effect"),
        Column("rr_ci_source", "text", "Where the ratio's interval comes from"),
        Column("note", "text", "Note"),
    ))
    _redo = "call e_values() again"

    def summary(self) -> str:
        """One sentence per outcome."""
        lines = [f"E-values ({self.level:.0%} intervals)"]
        for _, r in self.frame.iterrows():
            if r["note"]:
                lines.append(f"{r['outcome']}: {r['note']}.")
                continue
            ci = r["e_value_ci"]
            lines.append(
                f"{r['outcome']}: observed / without the programme = {r['rr']:.2f}; an "
                f"unmeasured factor would need a risk ratio of {r['e_value']:.2f} with both "
                "joining the programme and the outcome to explain it away"
                + (f" ({ci:.2f} to move the interval to include no difference)."
                   if math.isfinite(ci) else ".")
            )
        return "\n".join(lines)


class TippingPoint(_FrameResults):
    """How far the non-intervention rate would have to move for no additional outcomes.

    Returned by :func:`pbr_eval.sensitivity.tipping_point`; see there for
    the columns.

    Examples
    --------
    Made by :func:`pbr_eval.sensitivity.tipping_point`:

    >>> from pbr_eval.estimators.matching import NearestNeighborMatching
    >>> from pbr_eval import Cohort
    >>> from pbr_eval.datasets import load_reoffending
    >>> sim = load_reoffending()
    >>> cohort = Cohort(sim.data, **sim.cohort_args)
    >>> res = NearestNeighborMatching().fit(cohort)
    >>> from pbr_eval.sensitivity import tipping_point
    >>> tipping_point(res, better="lower").to_frame()[["outcome", "tipping_rate"]].round(3)
                   outcome  tipping_rate
    0           reoffended         0.247
    1  reconviction_events         0.752
    """

    kind: ClassVar[str] = "tipping_point"
    title: ClassVar[str] = "Tipping point of the non-intervention rate"
    _function: ClassVar[str] = "tipping_point"
    schema: ClassVar[Schema] = Schema((
        _OUTCOME, _OUTCOME_TYPE,
        Column("observed", "outcome", "Observed in the programme", by="outcome_type"),
        Column("non_intervention", "outcome", "Estimated without the programme",
               by="outcome_type"),
        Column("additional", "outcome_difference", "Additional outcomes per person",
               by="outcome_type"),
        Column("tipping_rate", "outcome", "Non-intervention rate at which the difference "
               "vanishes", by="outcome_type"),
        Column("shift_to_null", "outcome_difference", "Shift that would erase the difference",
               by="outcome_type"),
        Column("relative_shift", "probability", "Shift as a share of the non-intervention rate"),
        Column("shift_to_insignificant", "outcome_difference",
               "Shift that would make the difference not significant", by="outcome_type"),
        Column("direction", "text", "Direction of the shift"),
    ))
    _redo = "call tipping_point() again"

    def summary(self) -> str:
        """One sentence per outcome."""
        lines = []
        for _, r in self.frame.iterrows():
            binary = r["outcome_type"] == "binary"

            def fmt(v: float, _b: bool = binary) -> str:
                return f"{v * 100:.1f} percentage points" if _b else f"{v:.3g}"

            shift = r["shift_to_null"]
            way = "lower" if str(r["direction"]).endswith("lower") else "higher"
            if shift > 0:
                lines.append(
                    f"{r['outcome']}: the additional outcomes vanish if the true rate without "
                    f"the programme is {fmt(shift)} {way} than estimated "
                    f"({r['relative_shift']:.0%} of the estimate).")
            else:
                lines.append(f"{r['outcome']}: the estimate shows no additional outcomes.")
        return "\n".join(lines)


class PlaceboResults(Results):
    """Placebo re-estimates, where the true effect is zero (read-only).

    Attributes
    ----------
    check : str
        ``"pre-programme outcome"`` or ``"comparison-only split"`` (also
        readable as the instance's ``kind``, as before pbr_eval 0.2; the
        class's results kind is ``"placebo"``).
    table : pandas.DataFrame
        One row per placebo estimate: effect, interval, p-value, ``non_null``.
    flagged : bool
        True when the placebo check found a non-null result.
    message : str
        Plain-language verdict.
    level : float

    Examples
    --------
    Made by :func:`pbr_eval.sensitivity.placebo_outcome` and
    :func:`pbr_eval.sensitivity.placebo_split`:

    >>> from pbr_eval.sensitivity import placebo_outcome
    >>> from pbr_eval import Cohort
    >>> from pbr_eval.estimators.matching import NearestNeighborMatching
    >>> from pbr_eval.datasets import load_reoffending
    >>> sim = load_reoffending()
    >>> cohort = Cohort(sim.data, **sim.cohort_args)
    >>> pl = placebo_outcome(NearestNeighborMatching(), cohort, outcome="sentence_months")
    >>> pl.kind, pl.to_frame()[["placebo", "non_null"]].values.tolist()
    ('pre-programme outcome', [["covariate 'sentence_months'", True]])
    """

    kind: ClassVar[str] = "placebo"
    title: ClassVar[str] = "Placebo checks"
    _redo = "run the placebo check again"

    def __init__(self, kind: str, table: pd.DataFrame, flagged: bool, message: str,
                 level: float) -> None:
        self.check = str(kind)
        object.__setattr__(self, "kind", str(kind))  # the instance's old attribute
        self.table = table
        self.flagged = bool(flagged)
        self.message = str(message)
        self.level = float(level)
        self._freeze()

    def to_frame(self) -> pd.DataFrame:
        """Return the placebo estimates."""
        return self.table.copy()

    def frame_schema(self) -> Schema:
        """Return declared columns (a placebo label, or the split number)."""
        first = ([Column("placebo", "text", "Placebo")] if "placebo" in self.table.columns
                 else [Column("split", "integer", "Random split")])
        return Schema((
            *first, _OUTCOME, _OUTCOME_TYPE,
            Column("effect", "outcome_difference", "Placebo difference", by="outcome_type"),
            Column("ci_lower", "outcome_difference", "Lower limit", by="outcome_type"),
            Column("ci_upper", "outcome_difference", "Upper limit", by="outcome_type"),
            Column("p_value", "p_value", "p-value"),
            Column("non_null", "text", "Interval excludes zero"),
        ))

    def summary(self) -> str:
        """Return the verdict."""
        return self.message

    def __repr__(self) -> str:
        return f"<PlaceboResults check={self.check!r} flagged={self.flagged}>"

    def _to_state(self) -> dict[str, Any]:
        return {"check": self.check, "table": self.table.to_dict(orient="records"),
                "flagged": self.flagged, "message": self.message, "level": self.level}

    @classmethod
    def _from_state(cls, state: Mapping[str, Any]) -> PlaceboResults:
        table = frame_from_records(state.get("table") or [],
                                   text=("placebo", "outcome", "outcome_type", "non_null"))
        return cls(str(state.get("check", "")), table, bool(state.get("flagged")),
                   str(state.get("message", "")), float(state.get("level", 0.95)))
