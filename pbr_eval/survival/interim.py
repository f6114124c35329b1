r"""Interim payments: outcomes expected by the end of the window for a cohort still in follow-up.

A commissioner paying on a one-year outcome need not wait a year: at any
cut-off, each participant is in one of three states, the outcome already seen
within the window, followed for the whole window without it, or still in
follow-up without it after :math:`u_i` of the window :math:`w`. For the last
group the probability of the outcome by the end of the window, given none so
far, is :math:`p_i = 1 - S(w)/S(u_i)`, read from the participants' observed
curve :math:`S_1` (what is expected to be paid) or from the curve without the
programme :math:`S_0` (what would be expected if the programme made no
difference from now on). The expected final count is

.. math::

    E = D + \sum_{i \text{ at risk}} p_i,

with :math:`D` the outcomes so far. The count at the window's end is
:math:`N = D + \sum_i B_i`, :math:`B_i \sim \text{Bernoulli}(p_i)`, so the
prediction error :math:`N - \hat E = (N - E) + (E - \hat E)` has two parts:
chance (which of those still followed have the outcome: Poisson-binomial,
variance :math:`\sum_i p_i(1-p_i)`) and the estimation of the curve (delta
method, :math:`g' \Sigma g` with :math:`g = \partial E/\partial S` at the
curve's times and :math:`\Sigma` the curve's covariance across times, from
the same influence functions as its standard errors). The future outcomes of
people still at risk are independent of the data seen so far given the true
curve, so the two parts are uncorrelated and their variances add; the band is
:math:`\hat E \pm z \sqrt{V_\text{chance} + V_\text{estimation}}`, kept within
:math:`[D, D + \text{at risk}]`.

The payment at reconciliation is the price times the payable count: outcomes,
people free of the outcome, or outcomes above (or below) the number expected
without the programme, :math:`n (1 - \hat S_0(w))`, taken as fixed (the
comparison group is fully followed already, so reconciliation uses the same
figure). Paying the band's lower limit on account now leaves a top-up at
reconciliation except with probability about :math:`(1 - \text{level})/2`.

Limitations: :math:`S(u_i)` between the curve's times is interpolated
linearly (pass finer ``times=`` to :func:`pbr_eval.estimate_survival` for
more precision); everyone at risk is given the participants' average
conditional probability (exact on average when follow-up is unrelated to
the covariates, as with release dates spread over time); the band is a
normal approximation (poor for a handful of people at risk).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from pbr_eval.cohort import Cohort
from pbr_eval.exceptions import OptionError
from pbr_eval.inference.intervals import z_value
from pbr_eval.options import check_choice, check_level, check_positive
from pbr_eval.pricing.mechanisms import PaymentMechanism, PerOutcome
from pbr_eval.results.base import Results
from pbr_eval.results.survival import (
    PAY_FOR,
    PAY_FOR_WORDS,
    InterimPaymentResults,
    SurvivalResults,
)

__all__ = ["interim_payment", "conditional_count"]

_BAND = ("normal approximation; variance = chance (Poisson-binomial over the people still in "
         "follow-up, sum of p(1 - p)) + estimation of the curve (delta method with the curve's "
         "covariance across times); the two are uncorrelated and add")


def conditional_count(times: np.ndarray, S: np.ndarray, cov: np.ndarray, window: float,
                      u: np.ndarray) -> tuple[float, np.ndarray, float]:
    r"""Return the expected outcomes by the window among people free of it at ``u``, and the gradient.

    Parameters
    ----------
    times : numpy.ndarray
        Times of the curve (sorted; the window among them).
    S : numpy.ndarray
        Survival at ``times``.
    cov : numpy.ndarray
        Covariance of ``S`` across ``times`` (used only for the shape checks).
    window : float
        The window :math:`w`.
    u : numpy.ndarray
        Follow-up so far of each person still at risk (:math:`0 \le u < w`).

    Returns
    -------
    expected : float
        :math:`\sum_i 1 - S(w)/S(u_i)` (:math:`S(u_i)` interpolated linearly).
    gradient : numpy.ndarray
        Its derivative in ``S`` at each time.
    chance_variance : float
        :math:`\sum_i p_i (1 - p_i)`.

    Examples
    --------
    >>> import numpy as np
    >>> times, S = np.array([0.0, 6.0, 12.0]), np.array([1.0, 0.8, 0.6])
    >>> e, g, v = conditional_count(times, S, np.eye(3), 12.0, np.array([0.0, 6.0, 3.0]))
    >>> round(e, 4)  # 0.4 + 0.25 + (1 - 0.6 / 0.9)
    0.9833
    """
    times = np.asarray(times, dtype=float)
    S = np.asarray(S, dtype=float)
    if cov.shape != (times.size, times.size):
        raise OptionError("The curve's covariance does not match its times.")
    iw = int(np.argmin(np.abs(times - window)))
    if u.size == 0:
        return 0.0, np.zeros(times.size), 0.0
    k = np.clip(np.searchsorted(times, u, side="right") - 1, 0, times.size - 2)
    span = times[k + 1] - times[k]
    a = np.clip((times[k + 1] - u) / span, 0.0, 1.0)
    Su = a * S[k] + (1 - a) * S[k + 1]
    if not np.all(Su > 0):
        raise OptionError("The curve reaches zero before some participant's follow-up so far: "
                          "the probability of the outcome given none so far is undefined.")
    p = 1.0 - S[iw] / Su
    dSu = S[iw] / Su ** 2  # d p_i / d S(u_i)
    g = (np.bincount(k, weights=a * dSu, minlength=times.size)
         + np.bincount(k + 1, weights=(1 - a) * dSu, minlength=times.size))
    g[iw] -= float(np.sum(1.0 / Su))
    return float(p.sum()), g, float(np.sum(p * (1 - p)))


def _quad(g: np.ndarray, C: np.ndarray, h: np.ndarray | None = None) -> float:
    h = g if h is None else h
    keep = (g != 0) | (h != 0)
    return float(g[keep] @ C[np.ix_(keep, keep)] @ h[keep]) if keep.any() else 0.0


def _mechanism(price: Any, outcome: str) -> PaymentMechanism | None:
    if price is None:
        return None
    if isinstance(price, PerOutcome):
        if price.max_per_person is not None:
            raise OptionError("`price` as PerOutcome must have no `max_per_person` here: the "
                              "payable count is a cohort total.")
        return price
    if isinstance(price, PaymentMechanism):
        raise OptionError(f"`price` must be a number or a PerOutcome; got {type(price).__name__} "
                          "(its payment is not a price times a count).")
    return PerOutcome(outcome, check_positive("price", price))


def _paid(mech: PaymentMechanism | None, counts: list[float]) -> list[float]:
    if mech is None:
        return [float("nan")] * len(counts)
    col = mech.outcomes[0]
    frame = pd.DataFrame({col: np.maximum(np.asarray(counts, dtype=float), 0.0)})
    return [float(v) for v in mech.payments(frame)["total"]]


def interim_payment(
    survival: SurvivalResults,
    cohort: Cohort,
    *,
    outcome: str | None = None,
    window: float | None = None,
    pay_for: str = "outcome",
    price: Any = None,
    level: float | None = None,
) -> InterimPaymentResults:
    r"""Estimate the outcomes expected by the end of the window for a cohort still in follow-up, and a payment on account.

    Parameters
    ----------
    survival : SurvivalResults
        From :func:`pbr_eval.estimate_survival` (on this cohort at the
        cut-off, or on an earlier one), or its ``to_dict()``: the curves with
        and without the programme and their covariance.
    cohort : Cohort
        The cohort at the cut-off, with the time-to-event outcome: its
        participants (treated rows) are the people paid for; each is counted
        for the follow-up they have had so far.
    outcome : str, optional
        The time-to-event outcome (default: the survival results').
    window : float, optional
        The contract's window (default: the survival results'); one of the
        curve's times.
    pay_for : {"outcome", "no_outcome", "additional", "avoided"}, default "outcome"
        What a payment is for: each participant with the outcome by the
        window (sustained employment), each free of it (free of reoffending
        for a year), each outcome above or below the number expected without
        the programme.
    price : float or PerOutcome, optional
        The price per payable outcome, or a
        :class:`~pbr_eval.pricing.PerOutcome` mechanism (its deadweight
        discount applies). Without it, no money is shown.
    level : float, optional
        Level of the prediction band (default: the survival results').

    Returns
    -------
    InterimPaymentResults

    Raises
    ------
    OptionError
        Not survival results, results saved without the curves' covariance,
        an outcome the cohort lacks or in another unit, a window that is not
        one of the curve's times, a bad ``pay_for`` or ``price``.

    Notes
    -----
    See :mod:`pbr_eval.survival.interim` for the formulas and how the two
    sources of uncertainty combine. Negative payable counts (fewer outcomes
    than expected without the programme) are paid as zero.

    Examples
    --------
    A cohort released over a year and cut six months after the last release:

    >>> from pbr_eval import Cohort, estimate_survival, interim_payment
    >>> from pbr_eval.datasets import simulate_reoffending_interim
    >>> sim = simulate_reoffending_interim(n_treated=200, n_comparison=1000, seed=5)
    >>> at_cut = Cohort(sim.data, **sim.cohort_args)
    >>> r = interim_payment(estimate_survival(at_cut), at_cut, pay_for="avoided", price=2000).row
    >>> bool(r["expected_lower"] < r["expected"] < r["expected_upper"])
    True
    """
    if isinstance(survival, dict):
        survival = Results.from_dict(survival)  # type: ignore[assignment]  # a saved to_dict()
    if not isinstance(survival, SurvivalResults):
        raise OptionError("`survival` must be the SurvivalResults of estimate_survival(...) or its "
                          f"to_dict(); got {type(survival).__name__}.")
    if survival.covariance is None:
        raise OptionError("`survival` was saved without the curves' covariance across times, "
                          "which the band needs; run estimate_survival(...) again.")
    if not isinstance(cohort, Cohort):
        raise OptionError(f"`cohort` must be a pbr_eval.Cohort; got {type(cohort).__name__}.")
    check_choice("pay_for", pay_for, PAY_FOR)
    level = survival.level if level is None else check_level(level)
    name = survival.outcome if outcome is None else outcome
    tte = getattr(cohort, "time_to_event", None) or {}
    if name not in tte:
        raise OptionError(f"`outcome` must be a time-to-event outcome of the cohort "
                          f"({', '.join(map(repr, tte)) or 'it has none'}); got {name!r}.")
    spec = tte[name]
    if spec.unit != survival.unit:
        raise OptionError(f"The cohort's '{name}' is in {spec.unit} and the survival results in "
                          f"{survival.unit}; use the same unit.")
    w = survival.window if window is None else check_positive("window", window)
    times = survival.times
    if not np.any(np.isclose(times, w)):
        raise OptionError(f"`window` must be one of the survival curve's times (up to "
                          f"{survival.window:g}); got {w:g}. Pass times= to estimate_survival.")
    mech = _mechanism(price, name)

    time, event = cohort.time_event(name)
    t = cohort.t
    time, event = time[t], event[t] > 0
    seen = event & (time <= w)
    complete = ~seen & (time >= w)
    risk = ~seen & ~complete
    u = time[risk]
    n, D = int(t.sum()), int(seen.sum())
    cov = survival.curve_covariance()
    e1, g1, v1 = conditional_count(times, survival.observed, cov["observed"], w, u)
    e0c, g0c, v0c = conditional_count(times, survival.non_intervention, cov["non_intervention"],
                                      w, u)
    z = z_value(level)
    lo_cap, hi_cap = float(D), float(D + u.size)

    def band(e: float, var: float) -> tuple[float, float]:
        s = np.sqrt(var)
        return max(lo_cap, D + e - z * s), min(hi_cap, D + e + z * s)

    var_est = _quad(g1, cov["observed"])
    lo1, hi1 = band(e1, v1 + var_est)
    iw = int(np.argmin(np.abs(times - w)))
    e_none = n * (1.0 - survival.non_intervention[iw])
    s_none = n * float(np.sqrt(cov["non_intervention"][iw, iw]))
    expected = D + e1
    sign, shift = {"outcome": (1.0, 0.0), "no_outcome": (-1.0, float(n)),
                   "additional": (1.0, -e_none), "avoided": (-1.0, e_none)}[pay_for]
    ends = (shift + sign * lo1, shift + sign * hi1)
    payable = [min(ends), shift + sign * expected, max(ends)]
    on_account, paid_mid, paid_hi = _paid(mech, payable)
    unit_price = _paid(mech, [1.0])[0]
    row = {
        "outcome": name, "window": float(w), "unit": survival.unit, "n_participants": n,
        "outcomes_so_far": D, "followed_free": int(u.size), "completed_free": int(complete.sum()),
        "expected": expected, "expected_lower": lo1, "expected_upper": hi1,
        "se_estimation": float(np.sqrt(var_est)), "se_chance": float(np.sqrt(v1)),
        "expected_no_further_effect": D + e0c,
        "non_intervention_expected": e_none,
        "non_intervention_lower": max(0.0, e_none - z * s_none),
        "non_intervention_upper": min(float(n), e_none + z * s_none),
        "pay_for": pay_for, "payable": payable[1], "payable_lower": payable[0],
        "payable_upper": payable[2], "price": unit_price, "payment_on_account": on_account,
        "payment_expected": paid_mid, "payment_upper": paid_hi,
    }
    notes = list(getattr(cohort, "notes", []))
    if u.size and u.size < 30:
        notes.append(f"Only {u.size} people are still in follow-up: the normal band is rough.")
    info = {"survival_method": survival.method, "band": _BAND, "level": level,
            "cohort": cohort.describe(), "notes": notes,
            "pay_for": PAY_FOR_WORDS[pay_for],
            "no_further_effect_se_chance": float(np.sqrt(v0c)),
            "no_further_effect_se_estimation": float(np.sqrt(_quad(g0c,
                                                                   cov["non_intervention"])))}
    return InterimPaymentResults(row=row, level=level, info=info)

