"""Results of a time-to-event analysis: observed and non-intervention survival curves.

:class:`SurvivalResults` is returned by :func:`pbr_eval.estimate_survival`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import stats

from pbr_eval.cohort import describe_dropped
from pbr_eval.exceptions import OptionError
from pbr_eval.inference.intervals import normal_interval, rate_interval, z_value
from pbr_eval.kinds import Column, Schema
from pbr_eval.options import DEFAULT_LEVEL, check_choice, check_level
from pbr_eval.results.base import HasFigures, Results

__all__ = ["SurvivalResults", "SURVIVAL_FRAME_SCHEMA", "CURVE_SCHEMA"]

#: Curve scales: the share still free of the outcome, or the share who have had it.
CURVE_SCALES = ("survival", "incidence")

SURVIVAL_FRAME_SCHEMA = Schema((
    Column("outcome", "text", "Outcome"),
    Column("quantity", "text", "Measure"),
    Column("outcome_type", "text", "Type of measure",
           description="'binary': a share of people (the outcome by the window); 'continuous': "
                       "a mean time (the restricted mean time free of the outcome)."),
    Column("n_treated", "count", "People in the programme"),
    Column("n_comparison", "count", "People in the comparison group"),
    Column("observed", "outcome", "Observed in the programme", by="outcome_type",
           denominator="n_treated"),
    Column("non_intervention", "outcome", "Estimated without the programme", by="outcome_type",
           description="What the programme's participants would have had without it."),
    Column("non_intervention_se", "number", "Standard error of the estimate without the "
           "programme"),
    Column("non_intervention_ci_lower", "outcome", "Lower limit, without the programme",
           by="outcome_type"),
    Column("non_intervention_ci_upper", "outcome", "Upper limit, without the programme",
           by="outcome_type"),
    Column("effect", "outcome_difference", "Difference made by the programme", by="outcome_type"),
    Column("std_error", "number", "Standard error of the difference"),
    Column("ci_lower", "outcome_difference", "Lower limit of the difference", by="outcome_type"),
    Column("ci_upper", "outcome_difference", "Upper limit of the difference", by="outcome_type"),
    Column("p_value", "p_value", "p-value"),
))

CURVE_SCHEMA = Schema((
    Column("time", "number", "Time since the start of follow-up"),
    Column("at_risk_treated", "count", "Programme participants still followed and free of it"),
    Column("at_risk_comparison", "count", "Comparison people still followed and free of it"),
    Column("observed", "probability", "Programme"),
    Column("observed_lower", "probability", "Programme, lower limit"),
    Column("observed_upper", "probability", "Programme, upper limit"),
    Column("non_intervention", "probability", "Without the programme (estimated)"),
    Column("non_intervention_lower", "probability", "Without the programme, lower limit"),
    Column("non_intervention_upper", "probability", "Without the programme, upper limit"),
    Column("difference", "rate_difference", "Difference"),
    Column("difference_lower", "rate_difference", "Difference, lower limit"),
    Column("difference_upper", "rate_difference", "Difference, upper limit"),
))

_ARRAYS = ("times", "observed", "non_intervention", "se_observed", "se_non_intervention",
           "se_difference", "at_risk_treated", "at_risk_comparison")


_COVARIANCES = ("observed", "non_intervention", "cross")


def _arr(x: Any) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in x], dtype=float)


def _matrix(x: Any, size: int) -> np.ndarray:
    m = np.array([[np.nan if v is None else v for v in row] for row in x], dtype=float)
    if m.shape != (size, size):
        raise OptionError(f"`covariance` matrices must be {size} x {size} (one row and column per "
                          f"time); got {m.shape}.")
    m.setflags(write=False)
    return m


class SurvivalResults(Results, HasFigures):
    """Observed and non-intervention survival of the programme's participants (read-only).

    Returned by :func:`pbr_eval.estimate_survival`.

    Attributes
    ----------
    outcome : str
        The time-to-event outcome.
    method : str
    unit : str
        Unit of the times (``"days"``, ``"weeks"`` or ``"months"``).
    window, horizon : float
        The contract's follow-up window, and the horizon of the restricted mean.
    times : numpy.ndarray
        The times at which the curves are given (the window is one of them).
    observed, non_intervention : numpy.ndarray
        Share of the participants free of the outcome at each time: observed
        (Kaplan-Meier) and estimated without the programme.
    se_observed, se_non_intervention, se_difference : numpy.ndarray
        Their standard errors, and that of the difference.
    rmst : mapping
        Restricted mean time free of the outcome up to the horizon:
        ``observed``, ``non_intervention`` and the three standard errors.
    counts : mapping
        ``n_treated``, ``n_comparison``, ``events_treated``,
        ``events_comparison`` (outcomes within the window), ``censored_treated``,
        ``censored_comparison`` (follow-up ended before the window without the outcome).
    at_risk_treated, at_risk_comparison : numpy.ndarray
        People still followed and free of the outcome at each time (unweighted).
    weights : pandas.Series or None
        Adjustment weights by row (None for rebuilt results and outcome models).
    covariance : mapping or None
        Covariance matrices of the curves at :attr:`times`: ``observed``,
        ``non_intervention`` and ``cross`` (observed at time j with
        non-intervention at time k), from the same influence functions (or
        bootstrap) as the standard errors; what :func:`pbr_eval.interim_payment`
        needs for the uncertainty of a conditional probability. None for
        results saved before they were kept.
    info : mapping
        Method, options, standard-error method, cohort description, notes.

    Examples
    --------
    >>> import pbr_eval
    >>> from pbr_eval.datasets import load_reoffending_time
    >>> sim = load_reoffending_time()
    >>> res = pbr_eval.estimate_survival(pbr_eval.Cohort(sim.data, **sim.cohort_args))
    >>> print(res.sentences()[0])  # doctest: +ELLIPSIS
    Within 365 days, 22% of the 600 people in the programme had the outcome, against an ...
    """

    kind: ClassVar[str] = "survival"
    title: ClassVar[str] = "Time to the outcome: survival with and without the programme"
    schema: ClassVar[Schema] = SURVIVAL_FRAME_SCHEMA
    figures: ClassVar[tuple[str, ...]] = ("survival", "incidence")
    _redo = "call estimate_survival() again"

    def __init__(
        self,
        *,
        outcome: str,
        method: str,
        unit: str,
        window: float,
        horizon: float,
        times: ArrayLike,
        observed: ArrayLike,
        non_intervention: ArrayLike,
        se_observed: ArrayLike,
        se_non_intervention: ArrayLike,
        se_difference: ArrayLike,
        rmst: Mapping[str, float],
        counts: Mapping[str, int],
        at_risk_treated: ArrayLike,
        at_risk_comparison: ArrayLike,
        info: Mapping[str, Any],
        weights: pd.Series | None = None,
        level: float = DEFAULT_LEVEL,
        covariance: Mapping[str, ArrayLike] | None = None,
    ) -> None:
        self.outcome = str(outcome)
        self.method = str(method)
        self.unit = str(unit)
        self.window = float(window)
        self.horizon = float(horizon)
        self.times = _arr(times)
        self.observed = _arr(observed)
        self.non_intervention = _arr(non_intervention)
        self.se_observed = _arr(se_observed)
        self.se_non_intervention = _arr(se_non_intervention)
        self.se_difference = _arr(se_difference)
        self.at_risk_treated = _arr(at_risk_treated)
        self.at_risk_comparison = _arr(at_risk_comparison)
        self.rmst = MappingProxyType({k: float("nan") if v is None else float(v)
                                      for k, v in dict(rmst).items()})
        self.counts = MappingProxyType({k: int(v) for k, v in dict(counts).items()})
        self.info = MappingProxyType(dict(info))
        self.weights = weights
        self.level = check_level(level)
        self.covariance = None if covariance is None else MappingProxyType({
            k: _matrix(covariance[k], self.times.size) for k in _COVARIANCES})
        if not np.any(np.isclose(self.times, self.window)):
            raise OptionError("`times` must include the window.")
        self._freeze()

    # ----------------------------------------------------------------- numbers
    @property
    def _w(self) -> int:
        return int(np.argmin(np.abs(self.times - self.window)))

    def window_probability(self) -> dict[str, float]:
        """Probability of the outcome by the window: observed, without the programme, and SEs."""
        w = self._w
        return {"observed": 1.0 - self.observed[w],
                "non_intervention": 1.0 - self.non_intervention[w],
                "se_observed": self.se_observed[w],
                "se_non_intervention": self.se_non_intervention[w],
                "se_difference": self.se_difference[w]}

    def to_frame(self, level: float | None = None) -> pd.DataFrame:
        """Return two rows: the outcome by the window, and the mean time free of it.

        The probability of the outcome by the window, and the restricted mean
        time free of it up to the horizon; observed, without the programme,
        difference, intervals and p-values.

        Parameters
        ----------
        level : float, optional
            Confidence level (default: the results' ``level``).
        """
        level = self.level if level is None else check_level(level)
        rows = []
        wp = self.window_probability()
        label_p = f"outcome within {self.window:g} {self.unit}"
        label_r = f"mean {self.unit} free of the outcome, up to {self.horizon:g}"
        for quantity, otype, q in ((label_p, "binary", wp), (label_r, "continuous", self.rmst)):
            o, n0, s0, sd = (q["observed"], q["non_intervention"], q["se_non_intervention"],
                             q["se_difference"])
            if otype == "binary":
                lo0, hi0 = rate_interval(n0, s0, level, "binary")
            else:
                lo0, hi0 = normal_interval(n0, s0, level)
            eff = o - n0
            lo, hi = normal_interval(eff, sd, level)
            if otype == "binary":
                lo, hi = max(lo, -1.0), min(hi, 1.0)
            p = (float(2 * stats.norm.sf(abs(eff / sd))) if math.isfinite(sd) and sd > 0
                 else float("nan"))
            rows.append({
                "outcome": self.outcome, "quantity": quantity, "outcome_type": otype,
                "n_treated": self.counts.get("n_treated"),
                "n_comparison": self.counts.get("n_comparison"),
                "observed": o, "non_intervention": n0, "non_intervention_se": s0,
                "non_intervention_ci_lower": lo0, "non_intervention_ci_upper": hi0,
                "effect": eff, "std_error": sd, "ci_lower": lo, "ci_upper": hi, "p_value": p,
            })
        return pd.DataFrame(rows, columns=list(self.schema.names))

    def curves(self, level: float | None = None, *, scale: str = "survival") -> pd.DataFrame:
        """Return the curves at :attr:`times` with pointwise intervals.

        Parameters
        ----------
        level : float, optional
        scale : {"survival", "incidence"}, default "survival"
            ``"survival"``: the share still free of the outcome;
            ``"incidence"``: the share who have had it (cumulative incidence,
            one minus survival; the difference changes sign).

        Returns
        -------
        pandas.DataFrame
            Columns of :data:`CURVE_SCHEMA`. Intervals of the curves are on
            the logit scale (inside [0, 1]); the difference's is normal.
        """
        level = self.level if level is None else check_level(level)
        check_choice("scale", scale, CURVE_SCALES)
        flip = scale == "incidence"
        out: dict[str, Any] = {"time": self.times, "at_risk_treated": self.at_risk_treated,
                               "at_risk_comparison": self.at_risk_comparison}
        for name, est, se in (("observed", self.observed, self.se_observed),
                              ("non_intervention", self.non_intervention,
                               self.se_non_intervention)):
            v = 1.0 - est if flip else est
            lims = np.array([rate_interval(float(a), float(b), level, "binary")
                             if np.isfinite(a) else (np.nan, np.nan) for a, b in zip(v, se, strict=False)])
            out[name], out[f"{name}_lower"], out[f"{name}_upper"] = v, lims[:, 0], lims[:, 1]
        d = self.observed - self.non_intervention
        d = -d if flip else d
        z = z_value(level)
        lo, hi = d - z * self.se_difference, d + z * self.se_difference
        out["difference"], out["difference_lower"], out["difference_upper"] = d, lo, hi
        return pd.DataFrame(out, columns=list(CURVE_SCHEMA.names))

    # ---------------------------------------------------------------- display
    def sentences(self, level: float | None = None) -> list[str]:
        """Return the Justice Data Lab style sentences (outcome by the window, time free of it)."""
        f = self.to_frame(level)
        pct = int(round((self.level if level is None else level) * 100))
        out = []
        r = f.iloc[0]
        sig = r["p_value"] < 1 - (self.level if level is None else level)
        out.append(
            f"Within {self.window:g} {self.unit}, {r['observed']:.0%} of the "
            f"{int(r['n_treated']):,} people in the programme had the outcome, against an "
            f"estimated {r['non_intervention']:.0%} without it. "
            + (f"The difference is statistically significant: between "
               f"{min(abs(r['ci_lower']), abs(r['ci_upper'])) * 100:.0f} and "
               f"{max(abs(r['ci_lower']), abs(r['ci_upper'])) * 100:.0f} percentage points "
               f"{'fewer' if r['effect'] < 0 else 'more'} ({pct}% confidence)."
               if sig and r["ci_lower"] * r["ci_upper"] > 0 else
               f"The difference is not statistically significant ({pct}% interval "
               f"{r['ci_lower'] * 100:+.0f} to {r['ci_upper'] * 100:+.0f} percentage points).")
        )
        r = f.iloc[1]
        sig = r["p_value"] < 1 - (self.level if level is None else level)
        way = "more" if r["effect"] >= 0 else "fewer"
        out.append(
            f"Over the first {self.horizon:g} {self.unit}, people in the programme spent on "
            f"average {r['observed']:.1f} {self.unit} free of the outcome, against an estimated "
            f"{r['non_intervention']:.1f} without it: {abs(r['effect']):.1f} {way} {self.unit} "
            f"({pct}% interval {r['ci_lower']:+.1f} to {r['ci_upper']:+.1f}"
            + (")." if sig else "; not statistically significant).")
        )
        return out

    def summary(self, level: float | None = None) -> str:
        """Plain text: the cohort, what was left out, the two measures and the sentences."""
        c = self.counts
        info = self.info
        lines = [
            f"pbr_eval: time to the outcome '{self.outcome}' ({self.method}, window "
            f"{self.window:g} {self.unit})",
            "=" * 72,
            f"Programme: {c.get('n_treated', 0):,} people, {c.get('events_treated', 0):,} "
            f"with the outcome within the window, {c.get('censored_treated', 0):,} followed for "
            "less than the window without it.",
            f"Comparison: {c.get('n_comparison', 0):,} people, "
            f"{c.get('events_comparison', 0):,} with the outcome within the window, "
            f"{c.get('censored_comparison', 0):,} followed for less than the window without it.",
        ]
        for d in info.get("dropped", []):
            lines.append(describe_dropped(d))
        for note in info.get("notes", []):
            lines.append(f"Note: {note}")
        lines.append(f"Standard errors: {info.get('se_method', '')}.")
        lines.append("")
        lines.extend(self.sentences(level))
        return "\n".join(lines)

    # ---------------------------------------------------------------- figures
    def figure_data(self, name: str, *, policy: Any = None) -> dict[str, Any]:
        """Return the data of the ``"survival"`` or ``"incidence"`` figure: both curves, bands.

        With a disclosure ``policy``, points where fewer than
        ``policy.threshold`` people of a group are still followed (the step
        sizes would reveal individuals) are left out of that group's curve,
        and nothing is drawn for a cohort too small to publish.
        """
        name = check_choice("name", name, self.figures)
        frame = self.curves(scale=name)
        keep_t = np.ones(len(frame), dtype=bool)
        keep_c = np.ones(len(frame), dtype=bool)
        if policy is not None:
            if not policy.publishable_cohort(self.counts.get("n_treated")):
                keep_t[:] = False
                keep_c[:] = False
            keep_t &= ~np.array([policy.count_is_small(v) for v in self.at_risk_treated])
            keep_c &= ~np.array([policy.count_is_small(v) for v in self.at_risk_comparison])

        def series(col: str, keep: np.ndarray) -> list[float | None]:
            return [float(v) if k and np.isfinite(v) else None
                    for v, k in zip(frame[col], keep, strict=False)]

        return {
            "times": [float(t) for t in frame["time"]],
            "unit": self.unit,
            "window": self.window,
            "scale": name,
            "level": self.level,
            "curves": [
                {"label": "Programme", "estimate": series("observed", keep_t),
                 "lower": series("observed_lower", keep_t),
                 "upper": series("observed_upper", keep_t)},
                {"label": "Without the programme (estimated)",
                 "estimate": series("non_intervention", keep_c),
                 "lower": series("non_intervention_lower", keep_c),
                 "upper": series("non_intervention_upper", keep_c)},
            ],
        }

    # ---------------------------------------------------------------- export
    def _to_state(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome, "method": self.method, "unit": self.unit,
            "window": self.window, "horizon": self.horizon, "level": self.level,
            **{k: getattr(self, k).tolist() for k in _ARRAYS},
            "rmst": dict(self.rmst), "counts": dict(self.counts), "info": dict(self.info),
            "covariance": None if self.covariance is None else {
                k: v.tolist() for k, v in self.covariance.items()},
        }

    @classmethod
    def _from_state(cls, state: Mapping[str, Any]) -> SurvivalResults:
        s = dict(state)
        return cls(outcome=s["outcome"], method=s["method"], unit=s["unit"], window=s["window"],
                   horizon=s["horizon"], level=s.get("level", DEFAULT_LEVEL),
                   rmst=s["rmst"], counts=s["counts"], info=s.get("info", {}),
                   covariance=s.get("covariance"), **{k: s[k] for k in _ARRAYS})
