"""Results of synthetic control and synthetic DiD: the non-intervention path and the weights.

:class:`SyntheticResults` is what ``estimate(cohort, method="synthetic_control")``
or ``method="sdid"`` puts in ``results.extras["synthetic"]`` (the headline
effect and non-intervention level are in the
:class:`~pbr_eval.results.CounterfactualResults` itself, where pricing reads
them). It holds aggregates only: the programme areas' mean outcome and their
estimated outcome without the programme in each period, the comparison
areas' weights, the periods' weights and the cross-checks.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy import stats

from pbr_eval.kinds import Column, Schema
from pbr_eval.options import DEFAULT_LEVEL, check_choice, check_level
from pbr_eval.results.base import HasFigures, Results

__all__ = ["SyntheticResults", "PATH_SCHEMA", "UNIT_WEIGHT_SCHEMA", "SYNTH_CHECK_SCHEMA"]

#: Columns of :meth:`SyntheticResults.to_frame` (one row per outcome and period).
PATH_SCHEMA = Schema((
    Column("outcome", "text", "Outcome"),
    Column("outcome_type", "text", "Type of outcome"),
    Column("period", "number", "Period"),
    Column("post", "text", "From the start"),
    Column("observed", "outcome", "Observed in the programme area(s)", by="outcome_type"),
    Column("non_intervention", "outcome", "Estimated without the programme", by="outcome_type",
           description="The weighted comparison areas' outcome (synthetic DiD: plus the "
                       "weighted gap before the start): the programme areas' path without "
                       "the programme."),
    Column("gap", "outcome_difference", "Difference", by="outcome_type",
           description="Observed minus without the programme; after the start, the effect "
                       "in that period."),
))

#: Columns of :meth:`SyntheticResults.weights`.
UNIT_WEIGHT_SCHEMA = Schema((
    Column("outcome", "text", "Outcome"),
    Column("area", "text", "Comparison area"),
    Column("weight", "probability", "Weight",
           description="Share of the comparison the area makes up (the weights add to one)."),
))

#: Columns of :meth:`SyntheticResults.cross_checks`.
SYNTH_CHECK_SCHEMA = Schema((
    Column("outcome", "text", "Outcome"),
    Column("outcome_type", "text", "Type of outcome"),
    Column("estimator", "text", "Estimator"),
    Column("estimate", "outcome_difference", "Average effect from the start", by="outcome_type"),
    Column("std_error", "number", "Standard error"),
    Column("ci_lower", "outcome_difference", "Lower limit", by="outcome_type"),
    Column("ci_upper", "outcome_difference", "Upper limit", by="outcome_type"),
    Column("note", "text", "Note"),
))

_TEXT = ("outcome", "outcome_type", "post", "area", "estimator", "note")


class SyntheticResults(Results, HasFigures):
    """The programme areas' path with and without the programme, and the weights behind it.

    Attributes
    ----------
    path_table : pandas.DataFrame
        One row per outcome and period (see :data:`PATH_SCHEMA`).
    unit_weights : pandas.DataFrame
        Comparison areas with a positive weight, per outcome, largest first.
    time_weights : pandas.DataFrame
        Weights of the periods before the start (synthetic DiD; zeros for
        synthetic control).
    cross_check_table : pandas.DataFrame
        The same effect by synthetic DiD, synthetic control and DiD.
    info : mapping
        Settings (form, start, areas, standard error), notes and rows left out.
    level : float

    Examples
    --------
    >>> import pbr_eval
    >>> from pbr_eval.datasets import simulate_synthetic
    >>> sim = simulate_synthetic(n_areas=10, n_treated=2, n_periods=8, start=6, seed=1)
    >>> sr = pbr_eval.estimate(sim.cohort(), method="sdid").extras["synthetic"]
    >>> sr.path()["post"].tolist()[-3:], sr.weights()["weight"].sum().round(6)
    (['yes', 'yes', 'yes'], np.float64(1.0))
    """

    kind: ClassVar[str] = "synthetic_control"
    title: ClassVar[str] = "Synthetic control: the programme areas with and without the programme"
    schema: ClassVar[Schema] = PATH_SCHEMA
    figures: ClassVar[tuple[str, ...]] = ("synthetic_path",)
    _redo = "estimate again"

    def __init__(
        self,
        *,
        path: pd.DataFrame,
        unit_weights: pd.DataFrame,
        time_weights: pd.DataFrame,
        cross_check_table: pd.DataFrame,
        info: Mapping[str, Any],
        level: float = DEFAULT_LEVEL,
    ) -> None:
        self.path_table = path.reset_index(drop=True)
        self.unit_weights = unit_weights.reset_index(drop=True)
        self.time_weights = time_weights.reset_index(drop=True)
        self.cross_check_table = cross_check_table.reset_index(drop=True)
        self.info = MappingProxyType(dict(info))
        self.level = check_level(level)
        self._freeze()

    def _outcome(self, outcome: str | None) -> str:
        outcomes = list(dict.fromkeys(self.path_table["outcome"]))
        return outcomes[0] if outcome is None else check_choice("outcome", outcome, outcomes)

    def to_frame(self, level: float | None = None) -> pd.DataFrame:
        """Return the path: observed and non-intervention outcome of the programme areas by period.

        Parameters
        ----------
        level : float, optional
            Accepted for the common interface; the path has no intervals.
        """
        if level is not None:
            check_level(level)
        return self.path_table[list(PATH_SCHEMA.names)].copy()

    def path(self, outcome: str | None = None) -> pd.DataFrame:
        """Return the path of one outcome (default the first)."""
        f = self.to_frame()
        return f[f["outcome"] == self._outcome(outcome)].reset_index(drop=True)

    def weights(self, outcome: str | None = None) -> pd.DataFrame:
        """Return the comparison areas' weights (positive ones, largest first) for one outcome."""
        f = self.unit_weights
        return f[f["outcome"] == self._outcome(outcome)][list(UNIT_WEIGHT_SCHEMA.names)
                                                         ].reset_index(drop=True)

    def cross_checks(self, *, level: float | None = None) -> pd.DataFrame:
        """Return the same average effect by synthetic DiD, synthetic control and DiD.

        The headline row carries its standard error and interval; the other
        estimators' rows are point estimates (no standard error is computed
        for them).
        """
        level = self.level if level is None else check_level(level)
        z = float(stats.norm.ppf(0.5 + level / 2))
        f = self.cross_check_table.copy()
        f["ci_lower"] = f["estimate"] - z * f["std_error"]
        f["ci_upper"] = f["estimate"] + z * f["std_error"]
        return f[list(SYNTH_CHECK_SCHEMA.names)]

    def figure_data(self, name: str, *, policy: Any = None,
                    outcome: str | None = None) -> dict[str, Any]:
        """Return the ``"synthetic_path"`` figure's data: both paths by period and the start.

        ``policy`` is accepted for the common interface: the paths are of
        areas (aggregates), with no counts to withhold.
        """
        check_choice("name", name, self.figures)
        f = self.path(outcome)

        def col(c: str) -> list[float | None]:
            return [float(v) if math.isfinite(v) else None for v in f[c]]

        return {"period": [float(p) for p in f["period"]], "observed": col("observed"),
                "non_intervention": col("non_intervention"),
                "start": float(self.info.get("start", np.nan)),
                "outcome": str(f["outcome"].iloc[0]),
                "label": str(self.info.get("form_label", "synthetic control"))}

    def summary(self) -> str:
        """Plain-text summary: the average effect from the start, the main weights, the cross-checks."""
        lines = [self.title,
                 f"Method: {self.info.get('form_label')}; programme area(s): "
                 f"{', '.join(self.info.get('treated_areas', []))}; start: "
                 f"{self.info.get('start')}."]
        for out, part in self.path_table.groupby("outcome", sort=False):
            post = part[part["post"] == "yes"]
            lines.append(f"{out}: observed {post['observed'].mean():.4g}, without the programme "
                         f"{post['non_intervention'].mean():.4g}, average effect "
                         f"{post['gap'].mean():.4g} from the start.")
            w = self.weights(str(out)).head(5)
            lines.append("  largest weights: " + ", ".join(
                f"{a} {v:.3f}" for a, v in zip(w["area"], w["weight"], strict=True)))
        for _, r in self.cross_checks().iterrows():
            se = f", SE {r['std_error']:.3g}" if math.isfinite(r["std_error"]) else ""
            lines.append(f"  {r['outcome']} {r['estimator']}: {r['estimate']:.4g}{se} "
                         f"({r['note']})")
        for note in self.info.get("notes", []):
            lines.append(f"Note: {note}")
        return "\n".join(lines)

    def _to_state(self) -> dict[str, Any]:
        return {"path": self.path_table.to_dict(orient="list"),
                "unit_weights": self.unit_weights.to_dict(orient="list"),
                "time_weights": self.time_weights.to_dict(orient="list"),
                "cross_check_table": self.cross_check_table.to_dict(orient="list"),
                "info": dict(self.info), "level": self.level}

    @classmethod
    def _from_state(cls, state: Mapping[str, Any]) -> SyntheticResults:
        def frame(d: Mapping[str, Any]) -> pd.DataFrame:
            return pd.DataFrame({k: vals if k in _TEXT else
                                 [np.nan if v is None else v for v in vals]
                                 for k, vals in d.items()})

        return cls(path=frame(state["path"]), unit_weights=frame(state["unit_weights"]),
                   time_weights=frame(state["time_weights"]),
                   cross_check_table=frame(state["cross_check_table"]),
                   info=state.get("info", {}), level=state.get("level", DEFAULT_LEVEL))
