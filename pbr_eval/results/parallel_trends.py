"""Results of the parallel-trends sensitivity analysis (Rambachan & Roth 2023).

:class:`ParallelTrendsResults` is what
:func:`pbr_eval.estimators.did_sensitivity.parallel_trends_sensitivity` returns: for
each bound ``M`` on how much the violation of parallel trends may bend between periods,
the fixed-length confidence interval of the effect, and the breakdown value (the largest
``M`` at which the interval still excludes zero). Aggregates only: event-study
coefficients in, intervals out.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, ClassVar

import pandas as pd

from pbr_eval.kinds import Column, Schema
from pbr_eval.options import DEFAULT_LEVEL, check_level
from pbr_eval.results.base import Results

__all__ = ["ParallelTrendsResults", "SENSITIVITY_SCHEMA"]

#: Columns of :meth:`ParallelTrendsResults.to_frame` (one row per bound M).
SENSITIVITY_SCHEMA = Schema((
    Column("M", "number", "Bound on the change in slope",
           description="How much the difference in trends may bend between consecutive "
                       "periods, in the outcome's units (0: a straight-line trend)."),
    Column("estimate", "number", "Centre of the interval"),
    Column("lower", "number", "Lower limit"),
    Column("upper", "number", "Upper limit"),
    Column("max_bias", "number", "Largest bias allowed"),
    Column("std_error", "number", "Standard error"),
))


class ParallelTrendsResults(Results):
    """Confidence intervals for a DiD effect when parallel trends may fail by up to ``M``.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per ``M`` (see :data:`SENSITIVITY_SCHEMA`).
    original : mapping
        The interval assuming parallel trends hold exactly (``estimate``,
        ``std_error``, ``lower``, ``upper``).
    breakdown : float
        The largest ``M`` whose interval excludes zero (0 when even the
        original interval contains zero).
    info : mapping
        Restriction, periods, target weights, method and notes.
    level : float

    Examples
    --------
    >>> import numpy as np
    >>> from pbr_eval.estimators.did_sensitivity import parallel_trends_sensitivity
    >>> r = parallel_trends_sensitivity(np.array([0.0, 0.01, 0.3, 0.3]), np.eye(4) * 0.01,
    ...                                 n_pre=2, n_post=2, M=[0.0, 0.1])
    >>> r.to_frame()["M"].tolist()
    [0.0, 0.1]
    """

    kind: ClassVar[str] = "parallel_trends"
    title: ClassVar[str] = "Parallel trends: how far they may fail before the effect is lost"
    schema: ClassVar[Schema] = SENSITIVITY_SCHEMA

    def __init__(self, *, table: pd.DataFrame, original: Mapping[str, float], breakdown: float,
                 info: Mapping[str, Any], level: float = DEFAULT_LEVEL) -> None:
        self.table = table[list(SENSITIVITY_SCHEMA.names)].reset_index(drop=True)
        self.original = MappingProxyType({k: float(v) for k, v in original.items()})
        self.breakdown = float(breakdown)
        self.info = MappingProxyType(dict(info))
        self.level = check_level(level)
        self._freeze()

    def to_frame(self, level: float | None = None) -> pd.DataFrame:
        """Return the intervals, one row per bound ``M``.

        Parameters
        ----------
        level : float, optional
            Must equal the level the intervals were computed at (they are
            not rescaled: an FLCI's weights depend on the level).
        """
        if level is not None and check_level(level) != self.level:
            from pbr_eval.exceptions import OptionError

            raise OptionError(f"`level` must be {self.level} (the level these intervals were "
                              f"computed at); got {level}. Run the analysis again at {level}.")
        return self.table.copy()

    def summary(self) -> str:
        """Plain text: the original interval, the interval by ``M``, the breakdown value."""
        o = self.original
        pct = f"{self.level:.0%}"
        lines = [self.title,
                 f"Effect {o['estimate']:.4g}; {pct} interval assuming parallel trends "
                 f"{o['lower']:.4g} to {o['upper']:.4g}.",
                 f"Restriction: {self.info.get('restriction_label', 'smoothness')}."]
        for _, r in self.table.iterrows():
            lines.append(f"  M = {r['M']:.4g}: {r['lower']:.4g} to {r['upper']:.4g}")
        bd = ("the original interval already contains zero" if self.breakdown == 0 else
              "no bound tried makes it contain zero" if not math.isfinite(self.breakdown) else
              f"M = {self.breakdown:.4g}")
        lines.append(f"Breakdown value (the largest M whose interval excludes zero): {bd}.")
        for note in self.info.get("notes", []):
            lines.append(f"Note: {note}")
        return "\n".join(lines)

    def _to_state(self) -> dict[str, Any]:
        return {"table": self.table.to_dict(orient="list"), "original": dict(self.original),
                "breakdown": self.breakdown if math.isfinite(self.breakdown) else None,
                "info": dict(self.info), "level": self.level}

    @classmethod
    def _from_state(cls, state: Mapping[str, Any]) -> ParallelTrendsResults:
        bd = state.get("breakdown")
        return cls(table=pd.DataFrame(state["table"]), original=state["original"],
                   breakdown=float("inf") if bd is None else bd, info=state.get("info", {}),
                   level=state.get("level", DEFAULT_LEVEL))
