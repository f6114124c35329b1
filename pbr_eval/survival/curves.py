"""A cohort's survival curves: the participants' and the comparison group's, weighted.

:func:`follow_up` gives a time-to-event outcome's times and events cut at the
contract's window; :func:`weighted_curves` the participants' Kaplan-Meier
curve and the comparison group's, weighted by any matching or weighting
estimator's weights (the adjusted curve of Xie & Liu 2005), whose restricted
mean and value at the window are the non-intervention figures.

References
----------
Xie, J. & Liu, C. (2005). Adjusted Kaplan-Meier estimator and log-rank test
with inverse probability of treatment weighting for survival data.
Statistics in Medicine 24, 3089-3110.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from pbr_eval.cohort import Cohort
from pbr_eval.exceptions import OptionError
from pbr_eval.options import check_choice
from pbr_eval.survival.km import KMCurve, kaplan_meier

__all__ = ["follow_up", "weighted_curves", "outcome_name"]


def outcome_name(cohort: Cohort, outcome: str | None) -> str:
    """Return the time-to-event outcome meant: ``outcome``, or the cohort's only one.

    Parameters
    ----------
    cohort : Cohort
        Built with ``time_to_event``.
    outcome : str or None
        The outcome asked for (None: the only one).

    Returns
    -------
    str

    Raises
    ------
    OptionError
        The cohort has none, or several and ``outcome`` is not given, or
        ``outcome`` is not one of them.

    Examples
    --------
    >>> import pandas as pd, pbr_eval
    >>> df = pd.DataFrame({"t": [1, 1, 0, 0], "x": [1., 2, 3, 5],
    ...                    "days": [30, 400, 500, 100], "event": [1, 1, 0, 0]})
    >>> c = pbr_eval.Cohort(df, treatment="t", covariates=["x"], min_treated=1,
    ...                     time_to_event={"reoffence": pbr_eval.TimeToEvent(
    ...                         time="days", event="event", window=365)})
    >>> outcome_name(c, None)
    'reoffence'
    """
    if not isinstance(cohort, Cohort):
        raise OptionError(f"`cohort` must be a pbr_eval.Cohort; got {type(cohort).__name__}.")
    names = list(getattr(cohort, "time_to_event", {}) or {})
    if not names:
        raise OptionError(
            "`cohort` has no time-to-event outcome: build it with time_to_event={'name': "
            "TimeToEvent(time=..., event=..., window=...)}."
        )
    if outcome is None:
        if len(names) > 1:
            raise OptionError(
                f"`outcome` must be one of {', '.join(map(repr, names))} (the cohort has several "
                "time-to-event outcomes); got none."
            )
        return names[0]
    return check_choice("outcome", outcome, names)


def follow_up(cohort: Cohort, outcome: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Return the times and event indicators of a time-to-event outcome, cut at its window.

    An event after the window does not count (the person is followed to the
    window, free of the outcome), and every time is at most the window.

    Parameters
    ----------
    cohort : Cohort
        Built with ``time_to_event``.
    outcome : str, optional
        Which time-to-event outcome (default: the only one).

    Returns
    -------
    time, event : numpy.ndarray
        Aligned with ``cohort.t``; ``event`` is 1.0 or 0.0.

    Examples
    --------
    >>> import pandas as pd, pbr_eval
    >>> df = pd.DataFrame({"t": [1, 1, 0, 0], "x": [1., 2, 3, 5],
    ...                    "days": [30, 400, 500, 100], "event": [1, 1, 0, 0]})
    >>> c = pbr_eval.Cohort(df, treatment="t", covariates=["x"], min_treated=1,
    ...                     time_to_event={"reoffence": pbr_eval.TimeToEvent(
    ...                         time="days", event="event", window=365)})
    >>> time, event = follow_up(c)
    >>> time.tolist(), event.tolist()
    ([30.0, 365.0, 365.0, 100.0], [1.0, 0.0, 0.0, 0.0])
    """
    name = outcome_name(cohort, outcome)
    window = cohort.time_to_event[name].window
    time, event = cohort.time_event(name)
    event = ((event > 0) & (time <= window)).astype(float)
    return np.minimum(time, window), event


def _weight_array(cohort: Cohort, weights: Any) -> np.ndarray:
    w = getattr(weights, "weights", weights)
    if w is None:
        raise OptionError(
            "`weights` must be an estimator's results with weights (e.g. pbr_eval.estimate("
            "cohort, method='nearest')), a pandas Series indexed like the data, or an array "
            "with one weight per cohort row; got results without weights (rebuilt from a "
            "file, or from an estimator that does not weight)."
        )
    if isinstance(w, pd.Series):
        missing = cohort.index.difference(w.index)
        if len(missing):
            raise OptionError(
                f"`weights` must have a weight for every row of the cohort; {len(missing):,} "
                f"row(s) have none (e.g. index {missing[0]!r}). Estimate the weights on this "
                "cohort."
            )
        arr = w.reindex(cohort.index).to_numpy(dtype=float)
    else:
        try:
            arr = np.asarray(w, dtype=float).reshape(-1)
        except (TypeError, ValueError) as err:
            raise OptionError(f"`weights` must be numbers; got {type(w).__name__}.") from err
        if arr.size != cohort.n:
            raise OptionError(
                f"`weights` must have one weight per cohort row ({cohort.n:,}); got {arr.size:,}."
            )
    if not np.all(np.isfinite(arr)) or (arr < 0).any():
        raise OptionError("`weights` must be finite and non-negative; got "
                          f"{'negative' if (arr < 0).any() else 'infinite or missing'} values.")
    return arr


def weighted_curves(cohort: Cohort, weights: Any = None, *,
                    outcome: str | None = None) -> tuple[KMCurve, KMCurve]:
    """Return the participants' survival curve and the comparison group's, weighted.

    Parameters
    ----------
    cohort : Cohort
        Built with ``time_to_event``.
    weights : results, pandas.Series or array, optional
        Adjustment weights: any matching or weighting estimator's results
        (its ``weights``: matched comparison people and their match
        weights, inverse-probability or entropy-balancing weights,
        subclassification weights), a Series indexed like the cohort's data
        or an array aligned with its rows. People with weight 0 are left
        out of both curves (e.g. participants without a match). Default:
        everyone weight 1 (the unadjusted curves).
    outcome : str, optional
        Which time-to-event outcome (default: the only one).

    Returns
    -------
    observed, non_intervention : KMCurve
        The participants' Kaplan-Meier curve (with their weights, usually 1)
        and the comparison group's weighted curve: what the participants'
        curve would have been without the programme. ``curve.at(window)``
        is the share still free of the outcome at the window and
        ``curve.rmst(window)`` the mean time free of it up to the window.
        Follow-up is cut at the window (:func:`follow_up`).

    Raises
    ------
    OptionError
        No time-to-event outcome, results without weights, or weights that
        do not match the cohort's rows.

    Notes
    -----
    The curves and restricted means equal R ``survfit(Surv(time, event) ~
    1, weights = w)`` and ``summary(fit, rmean = horizon)``
    (``tests/reference/r_survival``). Limitation: no standard errors here
    (the weights' estimation must enter them); the curves alone.

    Examples
    --------
    >>> import pbr_eval
    >>> from pbr_eval.datasets import load_reoffending_time
    >>> sim = load_reoffending_time()
    >>> cohort = pbr_eval.Cohort(sim.data, **sim.cohort_args)
    >>> res = pbr_eval.estimate(cohort, method="ipw")
    >>> observed, without = weighted_curves(cohort, res)
    >>> round(1 - float(without.at(365)), 3), round(without.rmst(365), 1)
    (0.284, 302.5)
    """
    name = outcome_name(cohort, outcome)
    time, event = follow_up(cohort, name)
    w = np.ones(cohort.n) if weights is None else _weight_array(cohort, weights)
    t = cohort.t
    return (kaplan_meier(time[t], event[t], w[t]),
            kaplan_meier(time[~t], event[~t], w[~t]))
