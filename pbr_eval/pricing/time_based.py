r"""Payments for time-based outcomes, priced from survival curves.

Outcome contracts pay for time: each week free of reoffending, employment
sustained for 13 and 26 weeks, accommodation kept for 3, 6 and 12 months.
:class:`TimeFreeMilestones` is a payment mechanism (a
:class:`~pbr_eval.pricing.mechanisms.Milestones` reading the time each person
has been free of the outcome, or has sustained it, within the contract's
window) that a :class:`~pbr_eval.pricing.Tariff` uses like any other, and
that is priced from the curves of :func:`pbr_eval.estimate_survival`.

With :math:`S(t)` the share still free of the outcome at time :math:`t`,
a person is paid :math:`a_m` when their time free reaches milestone
:math:`m`, so the expected payment per person is

.. math::

    E[\text{pay}] = \sum_m a_m\, S(m),

on the participants' observed curve :math:`S_1` (what will be paid) and on
the curve without the programme :math:`S_0` (what would have been paid for
time free anyway: the deadweight). The difference is what the payments buy.
Its standard error is :math:`\sqrt{a' \Sigma a}` with :math:`\Sigma` the
covariance of :math:`S_1 - S_0` at the milestones (the survival results keep
it). :math:`S(m)` between the curve's times is interpolated linearly; pass
the milestones as ``times=`` to :func:`pbr_eval.estimate_survival` to read
them exactly.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from pbr_eval.exceptions import OptionError
from pbr_eval.options import check_count, check_int, check_positive
from pbr_eval.pricing.mechanisms import Milestones

__all__ = ["TimeFreeMilestones", "interpolation_matrix"]


def interpolation_matrix(times: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Return the matrix ``M`` with ``M @ S`` the curve ``S`` at ``times`` interpolated linearly at ``at``.

    Parameters
    ----------
    times : numpy.ndarray
        The curve's times (sorted).
    at : numpy.ndarray
        Where it is wanted (within the times).

    Returns
    -------
    numpy.ndarray, shape (len(at), len(times))

    Examples
    --------
    >>> import numpy as np
    >>> interpolation_matrix(np.array([0.0, 10.0]), np.array([2.5])).tolist()
    [[0.75, 0.25]]
    """
    times = np.asarray(times, dtype=float)
    at = np.asarray(at, dtype=float)
    k = np.clip(np.searchsorted(times, at, side="right") - 1, 0, times.size - 2)
    a = np.clip((times[k + 1] - at) / (times[k + 1] - times[k]), 0.0, 1.0)
    M = np.zeros((at.size, times.size))
    M[np.arange(at.size), k] = a
    M[np.arange(at.size), k + 1] += 1 - a
    return M


class TimeFreeMilestones(Milestones):
    """Pay as the time free of an outcome (or an outcome sustained) reaches milestones within the window.

    Parameters
    ----------
    column : str
        Per person, the time free of the outcome so far within the window
        (the time to the event, or the follow-up so far when none happened),
        or the time the outcome has been sustained; in the unit of the
        survival results that price it.
    schedule : dict
        Milestone -> payment, paid once the time reaches the milestone.
    window : float
        The contract's window: no milestone may lie beyond it.
    label : str, optional
        Component name (default ``"<column>_milestones"``).

    Notes
    -----
    The payment per person is :class:`~pbr_eval.pricing.mechanisms.Milestones`'
    (the sum of the milestones reached); :meth:`priced_from` gives its
    expectation on the survival curves. See :mod:`pbr_eval.pricing.time_based`.

    Examples
    --------
    Per week free of reoffending (20 a week for up to 52 weeks of a 365-day
    window), and sustained employment at 13 and 26 weeks (Work Programme-style
    amounts):

    >>> weekly = TimeFreeMilestones.per_period("days_free", period=7, amount=20.0, window=365)
    >>> len(weekly.schedule), weekly.maximum
    (52, 1040.0)
    >>> jobs = TimeFreeMilestones("weeks_in_work", {13: 1200.0, 26: 2210.0}, window=26)
    >>> jobs.payments(pd.DataFrame({"weeks_in_work": [5, 13, 30]}))["total"].tolist()
    [0.0, 1200.0, 3410.0]
    """

    def __init__(self, column: str, schedule: Mapping[float, float], *, window: float,
                 label: str | None = None) -> None:
        super().__init__(column, schedule, label=label)
        self.window = check_positive("window", window)
        beyond = [m for m in self.schedule if m > self.window]
        if beyond:
            raise OptionError(
                f"`schedule` milestones must be within the window ({self.window:g}); got "
                f"{', '.join(f'{m:g}' for m in beyond)}. Shorten them or widen the window.")

    @classmethod
    def per_period(cls, column: str, *, period: float, amount: float, window: float,
                   count: int | None = None, label: str | None = None) -> TimeFreeMilestones:
        """Return ``amount`` for each full ``period`` free of the outcome, up to the window (or ``count`` periods).

        Parameters
        ----------
        column : str
            Time free of the outcome per person.
        period : float
            Length of a paid period (7 for weeks when times are in days).
        amount : float
            Payment per period.
        window : float
            The contract's window.
        count : int, optional
            Most periods paid (default: as many as fit in the window).
        label : str, optional

        Returns
        -------
        TimeFreeMilestones

        Examples
        --------
        >>> TimeFreeMilestones.per_period("weeks_free", period=1, amount=10.0, window=4).schedule
        {1.0: 10.0, 2.0: 10.0, 3.0: 10.0, 4.0: 10.0}
        """
        p = check_positive("period", period)
        w = check_positive("window", window)
        fit = int(np.floor(w / p + 1e-9))
        c = fit if count is None else min(check_int("count", count), fit)
        if c < 1:
            raise OptionError(f"`period` must fit in the window ({w:g}); got {p:g}.")
        return cls(column, {p * (i + 1): amount for i in range(c)}, window=w, label=label)

    def priced_from(self, survival: Any, *, cohort_size: int | None = None) -> pd.DataFrame:
        """Return the expected payments on the survival curves, with and without the programme.

        Parameters
        ----------
        survival : SurvivalResults
            From :func:`pbr_eval.estimate_survival`, its times in the unit of
            the milestones and its window at least this mechanism's.
        cohort_size : int, optional
            People paid for (default: the participants of ``survival``).

        Returns
        -------
        pandas.DataFrame
            One row per milestone and a final ``total`` row: ``milestone``,
            ``amount``, ``share_observed`` and ``share_without`` (the shares
            reaching it, :math:`S_1(m)` and :math:`S_0(m)`), ``per_person``,
            ``per_person_without``, ``per_person_additional`` (expected
            payment per person with the programme, without it, and their
            difference), ``cohort``, ``cohort_without``,
            ``cohort_additional`` (times ``cohort_size``); the total row also
            has ``se_additional`` (the standard error of the cohort's
            additional payment) and ``deadweight_share`` (the share of the
            payment that would have been paid anyway).

        Raises
        ------
        OptionError
            Not survival results, or a window shorter than the milestones.

        Examples
        --------
        >>> from pbr_eval import Cohort, estimate_survival
        >>> from pbr_eval.datasets import simulate_reoffending_time
        >>> sim = simulate_reoffending_time(n_treated=300, n_comparison=2000, seed=5)
        >>> res = estimate_survival(Cohort(sim.data, **sim.cohort_args), method="nearest")
        >>> weekly = TimeFreeMilestones.per_period("days_free", period=7, amount=20.0, window=365)
        >>> t = weekly.priced_from(res).iloc[-1]
        >>> bool(t["per_person_without"] < t["per_person"] <= weekly.maximum)
        True
        """
        if getattr(survival, "kind", None) != "survival":
            raise OptionError("`survival` must be the SurvivalResults of estimate_survival(...); "
                              f"got {type(survival).__name__}.")
        if survival.window < self.window:
            raise OptionError(
                f"The survival results follow {survival.window:g} {survival.unit}, less than this "
                f"mechanism's window ({self.window:g}); estimate the curves over the window.")
        n = (int(survival.counts.get("n_treated", 0)) if cohort_size is None
             else check_count("cohort_size", cohort_size))
        marks = np.array(list(self.schedule), dtype=float)
        a = np.array(list(self.schedule.values()), dtype=float)
        M = interpolation_matrix(survival.times, marks)
        s1, s0 = M @ survival.observed, M @ survival.non_intervention
        frame = pd.DataFrame({"milestone": marks, "amount": a, "share_observed": s1,
                              "share_without": s0, "per_person": a * s1,
                              "per_person_without": a * s0})
        total = frame.sum(numeric_only=True)
        total["milestone"], total["share_observed"], total["share_without"] = (
            np.nan, np.nan, np.nan)
        frame = pd.concat([frame, total.to_frame().T], ignore_index=True)
        frame.insert(0, "row", [*(f"{m:g}" for m in marks), "total"])
        frame["per_person_additional"] = frame["per_person"] - frame["per_person_without"]
        for c in ("", "_without", "_additional"):
            frame[f"cohort{c}"] = n * frame[f"per_person{c}"]
        se = np.nan
        if getattr(survival, "covariance", None) is not None:
            cov = survival.curve_covariance()
            g = M.T @ a
            C = (cov["observed"] + cov["non_intervention"] - cov["cross"] - cov["cross"].T)
            se = n * float(np.sqrt(max(g @ C @ g, 0.0)))
        frame["se_additional"] = [np.nan] * marks.size + [se]
        last = frame.iloc[-1]
        frame["deadweight_share"] = [np.nan] * marks.size + [
            last["per_person_without"] / last["per_person"] if last["per_person"] > 0 else np.nan]
        return frame
