"""Historical baseline: the same population's earlier outcome rate, optionally projected forward with a time trend, when no concurrent comparison group exists.

This is NOT a counterfactual comparison: it assumes nothing else changed
between the baseline and the programme period except what the trend
captures (the National Audit Office's concern about outcome payments set on
an unknown non-intervention rate). Its results say so prominently.

References
----------
National Audit Office (2013). Programmes to help families facing multiple
challenges. HC 878.
Shadish, W. R., Cook, T. D. & Campbell, D. T. (2002). Experimental and
Quasi-Experimental Designs for Generalized Causal Inference, ch. 4 and 6
(threats to validity of pre-post and interrupted time-series designs).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from pbr_eval.cohort import Cohort
from pbr_eval.diagnostics.balance import BalanceTable
from pbr_eval.estimators.base import Estimator, base_info, register, weights_series
from pbr_eval.exceptions import OptionError
from pbr_eval.models.outcome import fit_outcome
from pbr_eval.options import BASELINE_TRENDS, check_choice
from pbr_eval.results.counterfactual import CounterfactualResults, OutcomeEstimate

__all__ = ["HistoricalBaseline", "project_baseline", "CAVEAT", "REPORT_WARNING"]

#: The warning every report of a baseline prints (the estimator's declared ``caveat``).
REPORT_WARNING = (
    "WARNING: the non-intervention rate comes from a HISTORICAL BASELINE, not from a "
    "comparison group followed at the same time. Anything else that changed over time "
    "(policy, policing, the economy, how outcomes are recorded) is mixed into the estimate, "
    "so it is not a counterfactual comparison. Treat the figures as indicative only."
)

#: The caveat every baseline result carries (``info["caveat"]`` and the first note).
CAVEAT = (
    "CAVEAT: this is a historical baseline, NOT a counterfactual comparison. It assumes "
    "the programme cohort would have matched the earlier rate (moved only by the fitted "
    "trend); changes in who was referred, in local services, in the economy or in recording "
    "are all attributed to the programme. Treat the effect as indicative, not as evidence "
    "of impact."
)


def project_baseline(
    y: np.ndarray, period: np.ndarray | None, target_period: float | None, trend: str
) -> tuple[float, float, float, int]:
    """Project the historical mean to the programme period.

    Parameters
    ----------
    y : numpy.ndarray
        Historical outcomes.
    period : numpy.ndarray, optional
        Their (numeric) periods; needed for a trend.
    target_period : float, optional
        The programme period.
    trend : {"none", "linear", "logistic"}

    Returns
    -------
    p0 : float
        Projected mean.
    var_fit : float
        Sampling variance of the projection (delta method; model-based).
    tau2 : float
        Between-period variance of the period means around the fit beyond
        what sampling explains (0 with fewer than three periods).
    n_periods : int

    Notes
    -----
    ``"none"``: the historical mean, ``var_fit = s^2 / n``. ``"linear"``: OLS of
    ``y`` on ``period`` with HC0 covariance, prediction ``a + b t*``.
    ``"logistic"``: logistic regression on ``period``, prediction
    ``expit(a + b t*)``, delta-method variance. ``tau2`` is the method-of-moments
    estimate ``max(0, sum_p (m_p - f_p)^2 / (P - d) - mean_p(v_p / n_p))`` from
    the period means ``m_p``, the fitted values ``f_p``, the within-period
    variances ``v_p`` and ``d`` parameters (1 or 2).

    Examples
    --------
    >>> import numpy as np
    >>> y = np.array([0, 1, 0, 1, 1, 1, 0, 1.0])
    >>> p0, v, tau2, P = project_baseline(y, None, None, "none")
    >>> p0, P
    (0.625, 1)
    """
    y = np.asarray(y, dtype=float)
    n = y.size
    if trend == "none" or period is None:
        p0 = float(y.mean())
        var_fit = float(y.var(ddof=1) / n)
        d, fitted = 1, None
    else:
        if target_period is None:
            raise OptionError("`target_period` is needed to project a trend; got None. Give "
                              "the programme period, or trend='none'.")
        x = np.asarray(period, dtype=float)
        X = x[:, None]
        fit = fit_outcome(X, y, "linear" if trend == "linear" else "logistic")
        assert fit.params is not None and fit.information is not None
        assert target_period is not None  # a trend is fitted only with a target period
        z = np.array([1.0, float(target_period)])
        eta = float(z @ fit.params)
        Z = np.column_stack([np.ones(n), x])
        m_all, v_all = fit.predict(X)
        resid = y - m_all
        bread = np.linalg.inv(fit.information)
        meat = (Z * (resid**2)[:, None]).T @ Z
        cov = bread @ meat @ bread
        if trend == "linear":
            p0, grad = eta, z
        else:
            p0 = float(1 / (1 + np.exp(-eta)))
            grad = p0 * (1 - p0) * z
        var_fit = float(grad @ cov @ grad)
        d, fitted = 2, m_all
    if period is None:
        return p0, var_fit, 0.0, 1
    frame = pd.DataFrame({"p": np.asarray(period), "y": y})
    if fitted is None:
        frame["f"] = p0
    else:
        frame["f"] = fitted
    g = frame.groupby("p")
    P = g.ngroups
    tau2 = 0.0
    if P > d:
        m = g["y"].mean()
        f = g["f"].mean()
        v = g["y"].var(ddof=1).fillna(0.0) / g.size()
        tau2 = max(0.0, float(((m - f) ** 2).sum() / (P - d) - v.mean()))
    return p0, var_fit, tau2, P


def paired_differences(
    y: np.ndarray, paired: tuple[np.ndarray, np.ndarray, np.ndarray]
) -> np.ndarray:
    """Per unit: programme-period outcome minus the mean of its historical outcomes (units observed in both)."""
    unit, hist, target = paired
    h = pd.Series(y[hist]).groupby(pd.Series(unit[hist])).mean()
    t = pd.Series(y[target]).groupby(pd.Series(unit[target])).mean()
    both = t.index.intersection(h.index)
    return (t.loc[both] - h.loc[both]).to_numpy(dtype=float)


@register("baseline")
class HistoricalBaseline(Estimator):
    """Historical baseline: the earlier outcome rate, optionally with a time trend.

    Which rows form the history:

    * a panel cohort (``period`` given) whose treated units are observed
      before ``programme_period``: the treated units' own earlier rows
      (the comparison rows are not used, and the result says so);
    * otherwise the rows with treatment 0 are read as **earlier cohorts of
      the same population** (e.g. last year's referrals), and the rows with
      treatment 1 as the programme cohort; with ``period`` their periods
      carry the trend.

    Parameters
    ----------
    trend : {"none", "linear", "logistic"}, default "none"
        ``"linear"``: a straight line in ``period`` projected to the
        programme period; ``"logistic"`` (binary outcomes): a line on the
        logit scale, so the projection stays in [0, 1]. Needs at least two
        historical periods.
    programme_period : period value, optional
        The programme's period (default: the last period in time order).
        Periods must be numeric for a trend. Text periods (e.g. "pre"/"post")
        need the Cohort's ``period_order=`` or, with two periods, this option
        naming the later one.

    Notes
    -----
    The non-intervention estimate is the projection ``p0``; its standard
    error is a *prediction* error: ``sqrt(var_fit + tau2 + s^2 / n1)``,
    the projection's sampling variance, the between-period variation beyond
    sampling (needs three or more periods; otherwise it is assumed zero,
    which understates the uncertainty) and the programme cohort's own
    sampling variation. The effect's standard error uses the programme
    cohort's observed variance in the last term.

    The default intervals (``to_frame()``, the cohort's own rate) use the
    prediction error above when the history is earlier cohorts. When it is
    the programme cohort's *own* earlier periods (a panel) and
    ``trend="none"``, the same people are compared with themselves, whose
    outcomes are correlated over time; the error of the cohort's own rate is
    then that of a paired difference, ``sqrt(var(d_i)/n + tau2)`` with
    ``d_i`` each unit's programme-period outcome minus its historical mean
    (the programme effect's variation across people enters ``var(d_i)``;
    it is assumed small). Every result carries
    :data:`CAVEAT` in ``info["caveat"]`` and as the first note, so
    ``summary()`` and reports show it.

    References
    ----------
    National Audit Office (2013); Shadish, Cook & Campbell (2002).

    Examples
    --------
    >>> from pbr_eval import Cohort
    >>> from pbr_eval.datasets import load_families
    >>> sim = load_families()
    >>> res = HistoricalBaseline().fit(Cohort(sim.data, **sim.cohort_args))
    >>> res.info["caveat"].startswith("CAVEAT")
    True
    >>> round(res.estimate_for("youth_offending").non_intervention, 5)
    0.20125
    """

    family = "baseline"
    phrase = "the historical baseline (NOT a comparison group)"
    caveat = REPORT_WARNING
    estimands = ('ATT',)
    validation_designs = ('families', 'families_no_trend')

    def __init__(self, *, trend: str = "none", programme_period: Any = None) -> None:
        self.trend = check_choice("trend", trend, BASELINE_TRENDS)
        self.programme_period = programme_period

    def fit(self, cohort: Cohort) -> CounterfactualResults:
        """Project the baseline and compare.

        Raises
        ------
        OptionError
            A trend without at least two historical periods or with
            non-numeric periods; ``trend="logistic"`` for a non-binary
            outcome; a ``programme_period`` that is not a period.
        """
        t = cohort.t
        per = cohort.column(cohort.period) if cohort.period is not None else None
        notes: list[str] = [CAVEAT]
        rank = None  # each row's period as its position in time (0 = earliest)
        if per is not None:
            periods = cohort.ordered_periods(last=self.programme_period,
                                             option="programme_period", method="baseline")
            prog = periods[-1] if self.programme_period is None else self.programme_period
            if prog not in periods:
                raise OptionError(
                    f"`programme_period` must be one of {', '.join(map(repr, periods))}; got "
                    f"{prog!r}."
                )
            position = {p: i for i, p in enumerate(periods)}
            rank = pd.Series(per).map(position).to_numpy(dtype=float)
            before = rank < position[prog]
            own = t & before
            if own.any():
                source = "the treated units' own earlier periods"
                hist = own
                target = t & (per == prog)
                if (~t).any():
                    notes.append(
                        "The comparison group's rows were not used: a historical baseline uses "
                        "only the programme cohort's own history (use method='did' to use them)."
                    )
            else:
                source = "earlier cohorts (rows with treatment 0)"
                hist = ~t & before
                target = t & (per == prog)
            target_period = prog
        else:
            source = "earlier cohorts (rows with treatment 0)"
            hist, target, target_period = ~t, t.copy(), None
        if self.trend != "none":
            if per is None:
                raise OptionError(
                    f"`trend`='{self.trend}' needs the cohort's `period` (e.g. year) to fit a "
                    "trend; build the Cohort with period=..., or use trend='none'."
                )
            if not pd.api.types.is_numeric_dtype(cohort.data[cohort.period].dtype):
                raise OptionError(
                    f"`trend` needs numeric periods; `period` column '{cohort.period}' holds "
                    f"{cohort.data[cohort.period].dtype}. Recode it as numbers (e.g. years)."
                )
            n_hist_periods = int(pd.unique(per[hist]).size)
            if n_hist_periods < 2:
                raise OptionError(
                    f"`trend`='{self.trend}' needs at least two historical periods; found "
                    f"{n_hist_periods}. Use trend='none' or add earlier periods."
                )
        if not hist.any() or not target.any():
            raise OptionError(
                "A historical baseline needs earlier rows and programme-period rows; "
                f"found {int(hist.sum()):,} historical and {int(target.sum()):,} programme rows."
            )
        estimates = []
        detail: dict[str, Any] = {}
        paired = None
        if source.startswith("the treated units' own") and cohort.unit_id is not None:
            paired = (cohort.column(cohort.unit_id), hist, target)
        for name in cohort.outcomes:
            otype = cohort.outcome_types[name]
            if self.trend == "logistic" and otype != "binary":
                raise OptionError(
                    f"`trend`='logistic' needs a binary (0/1) outcome; '{name}' is {otype}. "
                    "Use trend='linear'."
                )
            y = cohort.y(name)
            yh, y1 = y[hist], y[target]
            # a trend needs numeric periods (checked above); without one the periods only
            # group the rows, so their positions in time serve
            hist_per = None if per is None else (
                per[hist].astype(float) if self.trend != "none" else rank[hist])  # type: ignore[index]
            p0, var_fit, tau2, P = project_baseline(
                yh, hist_per,
                None if target_period is None or self.trend == "none" else float(target_period),
                self.trend)
            n1 = int(target.sum())
            if otype == "binary":
                v0 = min(max(p0, 0.0), 1.0) * (1 - min(max(p0, 0.0), 1.0))
            else:
                v0 = float(yh.var(ddof=1))
            obs = float(y1.mean())
            ni_se = float(np.sqrt(var_fit + tau2 + v0 / n1))
            eff_se = float(np.sqrt(var_fit + tau2 + y1.var(ddof=1) / n1))
            cohort_se = ni_se
            paired_info: dict[str, Any] = {}
            if paired is not None and self.trend == "none":
                # the same people before and after: their outcomes are correlated, so
                # the error of the cohort's own rate is that of a paired difference
                d = paired_differences(y, paired)
                if d.size >= 2:
                    cohort_se = float(np.sqrt(d.var(ddof=1) / d.size + tau2))
                    paired_info = {"paired_units": int(d.size),
                                   "paired_sd_change": float(d.std(ddof=1))}
            detail[name] = {**paired_info, "var_fit": var_fit, "between_period_var": tau2,
                            "n_history_periods": P}
            estimates.append(OutcomeEstimate(
                outcome=name, outcome_type=otype, n_treated=n1, n_comparison=int(hist.sum()),
                observed=obs, non_intervention=p0, non_intervention_se=ni_se,
                effect=obs - p0, std_error=eff_se, naive_comparison=float(yh.mean()),
                # a prediction error for the cohort's own rate, so the cohort-target SE of
                # the rate and, the observed rate being known, of the effect
                cohort_std_error=cohort_se,
                se_method=("prediction error of the projected baseline (fit + between-period "
                           "variation + the cohort's sampling variation)"),
            ))
            if P < 3:
                msg = ("Fewer than three historical periods: year-to-year variation cannot be "
                       "estimated and is assumed zero, so the interval understates the "
                       "uncertainty.")
                if msg not in notes:
                    notes.append(msg)
        w = (hist | target).astype(float)
        info = base_info(cohort, self)
        info["notes"] = notes
        info.update({"caveat": CAVEAT, "estimand": "baseline", "history": source,
                     "trend": self.trend, "programme_period": target_period,
                     "projection": detail})
        used = hist | target
        balance = BalanceTable(cohort.X[used], cohort.design_columns, target[used],
                               np.ones(int(used.sum())), cohort.binary_columns)
        return CounterfactualResults(
            method=self.method, estimand="baseline", estimates=estimates,
            weights=weights_series(cohort, w), balance=balance, info=info,
        )
