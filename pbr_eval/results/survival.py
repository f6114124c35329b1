"""Results of a time-to-event analysis: observed and non-intervention survival curves.

:class:`SurvivalResults` is returned by :func:`pbr_eval.estimate_survival`,
:class:`InterimPaymentResults` by :func:`pbr_eval.interim_payment`.
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
from pbr_eval.kinds import Column, Schema, format_value
from pbr_eval.options import DEFAULT_LEVEL, check_choice, check_level
from pbr_eval.results.base import HasFigures, Results

__all__ = ["SurvivalResults", "SURVIVAL_FRAME_SCHEMA", "CURVE_SCHEMA", "InterimPaymentResults",
           "INTERIM_SCHEMA", "PAY_FOR"]

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
    if m.shape not in ((size, size), (size + 1, size + 1)):
        raise OptionError(f"`covariance` matrices must be {size + 1} x {size + 1} (one row and "
                          f"column per time, then the restricted mean); got {m.shape}.")
    m.setflags(write=False)
    return m


def _mean_words(r: Any, unit: str, middle: str, end: str, ways: tuple[str, str], pct: int,
                level: float) -> str:
    """Return the tail of a sentence on a mean time: observed, without, difference, interval."""
    sig = r["p_value"] < 1 - level
    way = ways[0] if r["effect"] >= 0 else ways[1]
    return (f"average {r['observed']:.1f} {unit} {middle} {r['non_intervention']:.1f} {end} "
            f"{abs(r['effect']):.1f} {way} ({pct}% interval {r['ci_lower']:+.1f} to "
            f"{r['ci_upper']:+.1f}" + (")." if sig else "; not statistically significant)."))


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
        Covariance matrices of the curves at :attr:`times` followed by the
        restricted mean: ``observed``, ``non_intervention`` and ``cross``
        (observed quantity j with non-intervention quantity k), from the same
        influence functions (or bootstrap) as the standard errors; what
        :func:`pbr_eval.interim_payment` needs for the uncertainty of a
        conditional probability (:meth:`curve_covariance`). None for results
        saved before they were kept.
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

    def curve_covariance(self) -> dict[str, np.ndarray]:
        """Return the covariance matrices of the curves at :attr:`times` (``observed``, ``non_intervention``, ``cross``).

        Returns
        -------
        dict of str to numpy.ndarray

        Raises
        ------
        OptionError
            For results saved without the covariance.
        """
        if self.covariance is None:
            raise OptionError("These survival results were saved without the curves' covariance "
                              "across times; run estimate_survival(...) again.")
        g = self.times.size
        return {k: v[:g, :g] for k, v in self.covariance.items()}

    def time_to_outcome(self) -> dict[str, float]:
        r"""Return the mean time to the outcome among those who had it within the window (JDL's third measure).

        :math:`m = (R - w S(w)) / (1 - S(w))` with :math:`R` the restricted
        mean up to the window :math:`w`: observed, without the programme, and
        the standard errors (delta method with the covariance of
        :math:`S(w)` and :math:`R`). NaN when the horizon is not the window or
        the covariance was not kept.

        Returns
        -------
        dict
            ``observed``, ``non_intervention``, ``se_observed``,
            ``se_non_intervention``, ``se_difference``.
        """
        w, g = self._w, self.times.size
        nan = float("nan")
        if not math.isclose(self.horizon, self.window):
            return dict.fromkeys(("observed", "non_intervention", "se_observed",
                                  "se_non_intervention", "se_difference"), nan)
        out: dict[str, float] = {}
        grads = {}
        for key, S in (("observed", self.observed), ("non_intervention", self.non_intervention)):
            s, r = float(S[w]), float(self.rmst[key])
            out[key] = (r - self.window * s) / (1 - s) if s < 1 else nan
            grads[key] = np.array([(r - self.window) / (1 - s) ** 2, 1 / (1 - s)]) if s < 1 else (
                np.full(2, nan))
        cov = self.covariance
        if cov is None or cov["observed"].shape[0] != g + 1:
            return {**out, "se_observed": nan, "se_non_intervention": nan, "se_difference": nan}
        idx = np.ix_([w, g], [w, g])
        C1, C0, C10 = cov["observed"][idx], cov["non_intervention"][idx], cov["cross"][idx]
        g1, g0 = grads["observed"], grads["non_intervention"]
        v1, v0, c = g1 @ C1 @ g1, g0 @ C0 @ g0, g1 @ C10 @ g0
        return {**out, "se_observed": math.sqrt(v1), "se_non_intervention": math.sqrt(v0),
                "se_difference": math.sqrt(max(v1 + v0 - 2 * c, 0.0))}

    def to_frame(self, level: float | None = None) -> pd.DataFrame:
        """Return three rows: the outcome by the window, the mean time free of it, the mean time to it.

        The probability of the outcome by the window, the restricted mean
        time free of it up to the horizon, and the mean time to the outcome
        among those who had it within the window (the Justice Data Lab's
        "time to first reoffence"); observed, without the programme,
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
        label_t = f"mean {self.unit} to the outcome, if within {self.window:g}"
        for quantity, otype, q in ((label_p, "binary", wp), (label_r, "continuous", self.rmst),
                                   (label_t, "continuous", self.time_to_outcome())):
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
        """Return the Justice Data Lab style sentences (outcome by the window, time free of it, time to it)."""
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
        lvl = self.level if level is None else level
        out.append(
            f"Over the first {self.horizon:g} {self.unit}, people in the programme spent on "
            + _mean_words(f.iloc[1], self.unit, "free of the outcome, against an estimated",
                          "without it:", (f"more {self.unit}", f"fewer {self.unit}"), pct, lvl))
        r = f.iloc[2]
        if math.isfinite(r["observed"]) and math.isfinite(r["non_intervention"]):
            out.append(
                f"Of those who had the outcome within {self.window:g} {self.unit}, people in the "
                "programme had it on "
                + _mean_words(r, self.unit, "after the start of follow-up, against an estimated",
                              "without it:", (f"{self.unit} later", f"{self.unit} sooner"), pct,
                              lvl))
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


# ------------------------------------------------------------------ interim payments
#: What an interim payment pays for (:func:`pbr_eval.interim_payment`'s ``pay_for``).
PAY_FOR = ("outcome", "no_outcome", "additional", "avoided")
PAY_FOR_WORDS = {
    "outcome": "each participant with the outcome by the end of the window",
    "no_outcome": "each participant free of the outcome at the end of the window",
    "additional": "each outcome above the number expected without the programme",
    "avoided": "each outcome below the number expected without the programme",
}

#: The interim payment's columns: name | kind | plain-English label.
_INTERIM_COLUMNS = """
outcome | text | Outcome
window | number | Window
unit | text | Unit of time
n_participants | count | People in the programme
outcomes_so_far | count | Had the outcome so far (within the window)
followed_free | count | Still in follow-up, free of the outcome
completed_free | count | Followed for the whole window, free of the outcome
expected | planned_count | Expected with the outcome by the end of the window
expected_lower | planned_count | Expected, lower limit (prediction band)
expected_upper | planned_count | Expected, upper limit (prediction band)
se_estimation | number | Standard error from estimating the curve
se_chance | number | Standard error from chance (who of those still followed has the outcome)
expected_no_further_effect | planned_count | Expected if the programme made no difference from now on
non_intervention_expected | planned_count | Expected without the programme (the whole cohort)
non_intervention_lower | planned_count | Without the programme, lower limit
non_intervention_upper | planned_count | Without the programme, upper limit
pay_for | text | Paid for
payable | planned_count | Expected payable outcomes at reconciliation
payable_lower | planned_count | Payable outcomes, lower limit
payable_upper | planned_count | Payable outcomes, upper limit
price | money | Price per payable outcome
payment_on_account | money | Payment on account now (the lower limit)
payment_expected | money | Expected payment at reconciliation
payment_upper | money | Payment at reconciliation, upper limit
"""
_INTERIM_DESCRIPTIONS = {
    "expected": "Outcomes so far plus, for each person still in follow-up, the probability of the "
                "outcome by the window given none so far (the programme's curve).",
    "expected_no_further_effect": "As 'expected', with each conditional probability from the "
                                  "curve without the programme.",
}


def _column(line: str) -> Column:
    name, kind, label = (x.strip() for x in line.split("|"))
    return Column(name, kind, label, description=_INTERIM_DESCRIPTIONS.get(name, ""))


INTERIM_SCHEMA = Schema(tuple(_column(line) for line in _INTERIM_COLUMNS.strip().splitlines()))

_STATUS = ("outcomes_so_far", "followed_free", "completed_free")


class InterimPaymentResults(Results):
    """Outcomes expected by the end of the window for a cohort still in follow-up, and a payment on account.

    Returned by :func:`pbr_eval.interim_payment`; one row per outcome in
    :meth:`to_frame` (columns :data:`INTERIM_SCHEMA`).

    Attributes
    ----------
    row : mapping
        The figures (the frame's one row).
    level : float
        Level of the bands.
    info : mapping
        The survival results' method, how the band was formed, the cohort's
        description and notes.

    Examples
    --------
    >>> from pbr_eval import Cohort, estimate_survival, interim_payment
    >>> from pbr_eval.datasets import simulate_reoffending_interim
    >>> cut = simulate_reoffending_interim(n_treated=150, n_comparison=900, seed=8)
    >>> people = Cohort(cut.data, **cut.cohort_args)
    >>> interim = interim_payment(estimate_survival(people, method="entropy"), people,
    ...                           pay_for="no_outcome", price=1000)
    >>> int(interim.row["n_participants"]), interim.row["pay_for"]
    (150, 'no_outcome')
    """

    kind: ClassVar[str] = "interim_payment"
    title: ClassVar[str] = "Interim payment: outcomes expected by the end of the window"
    schema: ClassVar[Schema] = INTERIM_SCHEMA
    _redo = "call interim_payment() again"

    def __init__(self, *, row: Mapping[str, Any], level: float = DEFAULT_LEVEL,
                 info: Mapping[str, Any] | None = None) -> None:
        missing = [c for c in self.schema.names if c not in row]
        if missing:
            raise OptionError(f"`row` lacks {', '.join(map(repr, missing))}.")
        self.row = MappingProxyType({c: row[c] for c in self.schema.names})
        self.level = check_level(level)
        self.info = MappingProxyType(dict(info or {}))
        self._freeze()

    def to_frame(self) -> pd.DataFrame:
        """Return the one-row frame (columns of :data:`INTERIM_SCHEMA`)."""
        return pd.DataFrame([dict(self.row)], columns=list(self.schema.names))

    def published_row(self, policy: Any = None) -> dict[str, Any]:
        """Return the row as it may be published: small counts, and counts that would reveal them, as ``[c]``.

        Parameters
        ----------
        policy : DisclosurePolicy, optional
            Default: :class:`~pbr_eval.disclosure.DisclosurePolicy` with its defaults.

        Returns
        -------
        dict
        """
        from pbr_eval.disclosure import DisclosurePolicy

        policy = DisclosurePolicy() if policy is None else policy
        return policy.protect_rows(self.schema, [dict(self.row)],
                                   totals=[("n_participants", _STATUS)])[0]

    def sentences(self, policy: Any = None) -> list[str]:
        """Return plain sentences: where the cohort stands, what is expected, what to pay now.

        Parameters
        ----------
        policy : DisclosurePolicy, optional
            Disclosure control for the counts (default: the defaults).

        Returns
        -------
        list of str
        """
        r = self.published_row(policy)

        def cnt(k: str) -> str:
            return format_value(r[k], "count")

        def pc(k: str) -> str:
            return f"{float(r[k]):,.0f}"

        pct = int(round(self.level * 100))
        w = f"{float(r['window']):g} {r['unit']}"
        out = [
            f"Of the {cnt('n_participants')} people in the programme, {cnt('outcomes_so_far')} "
            f"have had the outcome within {w} so far, {cnt('followed_free')} are still in "
            f"follow-up without it and {cnt('completed_free')} completed the {w} without it.",
            f"By the end of the window, {pc('expected')} are expected to have had the outcome "
            f"({pct}% prediction band {pc('expected_lower')} to {pc('expected_upper')}); "
            f"{pc('non_intervention_expected')} would be expected without the programme.",
        ]
        if math.isfinite(float(r["price"])):
            out.append(
                f"Paying {format_value(r['price'], 'money')} for "
                f"{PAY_FOR_WORDS[str(r['pay_for'])]}, the payment at reconciliation is expected "
                f"to be {format_value(r['payment_expected'], 'money')} (band "
                f"{format_value(r['payment_on_account'], 'money')} to "
                f"{format_value(r['payment_upper'], 'money')}): paying "
                f"{format_value(r['payment_on_account'], 'money')} on account now leaves a "
                "top-up at reconciliation in all but about "
                f"{(1 - self.level) / 2:.1%} of cases.")
        return out

    def summary(self) -> str:
        """Plain text: the figures (small counts hidden) and the sentences."""
        lines = [f"pbr_eval: {self.title}", "=" * 72]
        lines.extend(self.sentences())
        lines.append(f"Band: {self.info.get('band', '')}")
        for note in self.info.get("notes", []):
            lines.append(f"Note: {note}")
        return "\n".join(lines)

    def _to_state(self) -> dict[str, Any]:
        return {"row": dict(self.row), "level": self.level, "info": dict(self.info)}

    @classmethod
    def _from_state(cls, state: Mapping[str, Any]) -> InterimPaymentResults:
        row = {k: (float("nan") if v is None else v) for k, v in dict(state["row"]).items()}
        return cls(row=row, level=state.get("level", DEFAULT_LEVEL), info=state.get("info", {}))
