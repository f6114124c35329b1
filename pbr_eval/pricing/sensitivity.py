"""How the price depends on the non-intervention rate: table, plot, tipping point and the money at stake if the rate is wrong ("too high or too low")."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from pbr_eval.exceptions import OptionError
from pbr_eval.kinds import format_money
from pbr_eval.options import (
    check_count,
    check_int,
    check_money,
    check_number,
    check_rate,
    check_rates,
)
from pbr_eval.pricing.recommend import PriceRecommendation, value_for_money_ceiling

__all__ = ["price_sensitivity", "plot_price_sensitivity", "tipping_point", "scenario_table",
           "scenarios_from"]




def _rate_fn(expected_rate: float | None, expected_effect: float | None) -> Any:
    if (expected_rate is None) == (expected_effect is None):
        raise OptionError("Give exactly one of `expected_rate` (fixed) or `expected_effect` "
                          "(the rate is the non-intervention rate plus the effect).")
    if expected_rate is not None:
        r = check_rate("expected_rate", expected_rate, outcome_type=None, positive=True)
        return lambda n: np.full(np.shape(n), r) if np.ndim(n) else r
    e = check_number("expected_effect", expected_effect)
    return lambda n: n + e


def tipping_point(
    price: float, *, value_per_outcome: float, expected_rate: float | None = None,
    expected_effect: float | None = None, attachment_fee: float = 0.0,
) -> float:
    """Return the non-intervention rate above which ``price`` stops being value for money.

    Parameters
    ----------
    price : float
        The price ``p`` per observed outcome.
    value_per_outcome : float
        What an additional outcome is worth ``v``.
    expected_rate : float, optional
        A fixed rate ``r`` with the programme; or
    expected_effect : float, optional
        An additive effect ``e`` (``r = n + e``). Give exactly one of the two.
    attachment_fee : float, default 0.0
        The fee ``A`` paid per person.

    Returns
    -------
    float
        The rate ``n*``; ``inf`` or ``-inf`` when a free outcome is always or never
        value for money.

    Notes
    -----
    Value for money requires ``A + p r <= v (r - n)``. With a fixed ``r`` the
    tipping point is ``n* = r - (A + p r) / v``; with ``r = n + e`` it is
    ``n* = (v e - A) / p - e``.

    Examples
    --------
    >>> tipping_point(500.0, value_per_outcome=1000.0, expected_rate=0.10)
    0.05
    """
    p = check_money("price", price)
    v = check_money("value_per_outcome", value_per_outcome, positive=True)
    a = check_money("attachment_fee", attachment_fee)
    rate = _rate_fn(expected_rate, expected_effect)
    if expected_rate is not None:
        r = float(rate(0.0))
        return float(r - (a + p * r) / v)
    e = float(expected_effect)  # type: ignore[arg-type]
    if p == 0:
        return float("inf") if v * e >= a else float("-inf")
    return float((v * e - a) / p - e)


def price_sensitivity(
    *, value_per_outcome: float, non_intervention: Any, expected_rate: float | None = None,
    expected_effect: float | None = None, attachment_fee: float = 0.0,
    price: float | None = None, num: int = 41,
) -> pd.DataFrame:
    """Return the value-for-money ceiling over a range of non-intervention rates.

    Parameters
    ----------
    value_per_outcome : float
    non_intervention : array or (low, high)
        Rates to tabulate, or a range split into ``num`` points.
    expected_rate, expected_effect : float
        One of them (see :func:`tipping_point`).
    attachment_fee : float, default 0
    price : float, optional
        A price to assess at each rate: adds the cost per additional outcome
        and whether it is value for money.
    num : int, default 41

    Returns
    -------
    pandas.DataFrame
        ``non_intervention``, ``expected_rate``, ``deadweight_share``,
        ``ceiling``, and with ``price``: ``cost_per_additional_outcome``,
        ``value_for_money``.

    Examples
    --------
    >>> t = price_sensitivity(value_per_outcome=1000.0, expected_rate=0.10,
    ...                       non_intervention=[0.02, 0.05, 0.08], price=500.0)
    >>> t["ceiling"].round().tolist(), t["value_for_money"].tolist()
    ([800.0, 500.0, 200.0], [True, True, False])
    """
    v = check_money("value_per_outcome", value_per_outcome, positive=True)
    a = check_money("attachment_fee", attachment_fee)
    rate = _rate_fn(expected_rate, expected_effect)
    try:
        grid = check_rates("non_intervention", non_intervention, outcome_type=None)
    except OptionError as err:
        raise OptionError(f"`non_intervention` must be non-negative rates; got "
                          f"{non_intervention!r:.60} ({err}).") from err
    if grid.size == 2 and not isinstance(non_intervention, np.ndarray):
        grid = np.linspace(grid[0], grid[1], check_int("num", num, minimum=2))
    r = np.asarray(rate(grid), dtype=float)
    out = pd.DataFrame({"non_intervention": grid, "expected_rate": r,
                        "deadweight_share": grid / r,
                        "ceiling": value_for_money_ceiling(v, grid, r, a)})
    if price is not None:
        p = check_money("price", price)
        gain = r - grid
        with np.errstate(divide="ignore", invalid="ignore"):
            cpa = np.where(gain > 0, (a + p * r) / gain, np.inf)
        out["cost_per_additional_outcome"] = cpa
        out["value_for_money"] = p <= out["ceiling"].to_numpy() + 1e-9
    return out


def plot_price_sensitivity(
    table: pd.DataFrame, *, price: float | None = None, estimate: float | None = None,
    interval: tuple[float, float] | None = None, ax: Any = None, title: str | None = None,
) -> Any:
    """Plot the ceiling against the non-intervention rate; returns the Figure.

    Drawn by :mod:`pbr_eval.figures` (figure ``"price_sensitivity"``), the
    same function the reports use.

    Parameters
    ----------
    table : DataFrame
        From :func:`price_sensitivity`.
    price : float, optional
        Draw the price paid (horizontal line) and the tipping point.
    estimate : float, optional
        Mark the estimated non-intervention rate.
    interval : (float, float), optional
        Shade its confidence interval.
    ax : matplotlib Axes, optional
    title : str, optional
        The chart's title (default "Value-for-money price by non-intervention rate").

    Returns
    -------
    matplotlib.figure.Figure
        Not registered with pyplot (so nothing global changes); save it with
        ``fig.savefig("price.png")`` or display it in a notebook.

    Examples
    --------
    >>> t = price_sensitivity(value_per_outcome=1000.0, expected_rate=0.10,
    ...                       non_intervention=(0.02, 0.09))
    >>> fig = plot_price_sensitivity(t, price=500.0, estimate=0.05)
    >>> type(fig).__name__
    'Figure'
    """
    from pbr_eval.figures import draw

    data = {"x": [float(v) for v in table["non_intervention"]],
            "ceiling": [float(v) for v in table["ceiling"]],
            "price": None if price is None else float(price),
            "estimate": None if estimate is None else float(estimate),
            "interval": None if interval is None else [float(interval[0]), float(interval[1])]}
    ax = draw("price_sensitivity", data, ax=ax,
              title=title or "Value-for-money price by non-intervention rate")
    return ax.figure


def scenario_table(
    price: float, *, value_per_outcome: float, cohort_size: int,
    low: float, central: float, high: float, expected_rate: float | None = None,
    expected_effect: float | None = None, attachment_fee: float = 0.0,
) -> pd.DataFrame:
    """Money consequences if the true non-intervention rate is low, central or high.

    Parameters
    ----------
    price : float
        The price per outcome agreed.
    value_per_outcome : float
    cohort_size : int
    low, central, high : float
        Scenarios for the true non-intervention rate (e.g. the interval's
        limits and the estimate).
    expected_rate, expected_effect, attachment_fee :
        As in :func:`tipping_point`.

    Returns
    -------
    pandas.DataFrame
        One row per scenario: ``non_intervention``, ``additional_outcomes``,
        ``payments``, ``value``, ``net_value`` (value less payments),
        ``price_was`` ("too high" / "about right" / "too low") and
        ``consequence`` in words.

    Notes
    -----
    The NAO (2015) warned that without the non-intervention rate, outcome
    payments may be set "too high or too low": too high and the commissioner
    pays for outcomes that would have happened anyway (``payments - value``
    wasted); too low and the provider is paid less than the value it creates
    (``value - payments``), so it may under-invest or withdraw.

    Examples
    --------
    >>> t = scenario_table(500.0, value_per_outcome=1000.0, cohort_size=1000,
    ...                    low=0.04, central=0.05, high=0.06, expected_rate=0.10)
    >>> t["price_was"].tolist()
    ['too low', 'about right', 'too high']
    >>> t["net_value"].round().tolist()
    [10000.0, 0.0, -10000.0]
    """
    p = check_money("price", price)
    v = check_money("value_per_outcome", value_per_outcome, positive=True)
    n_people = check_count("cohort_size", cohort_size, minimum=1)
    a = check_money("attachment_fee", attachment_fee)
    rate = _rate_fn(expected_rate, expected_effect)
    rows = []
    for name, n in (("low", low), ("central", central), ("high", high)):
        n = check_rate(name, n, outcome_type=None)
        r = check_rate(f"expected rate in the {name} scenario", float(rate(n)), outcome_type=None)
        pay = n_people * (a + p * r)
        value = n_people * v * (r - n)
        net = value - pay
        tol = 1e-6 * max(pay, 1.0)
        if net < -tol:
            was = "too high"
            words = (f"The commissioner pays {format_money(-net)} more than the additional outcomes are "
                     f"worth: it pays for {n_people * n:,.0f} outcomes that would have "
                     "happened anyway.")
        elif net > tol:
            was = "too low"
            words = (f"The provider is paid {format_money(net)} less than the value it creates; it may "
                     "under-invest or withdraw, and the commissioner keeps the surplus.")
        else:
            was = "about right"
            words = "Payments equal the value of the additional outcomes."
        rows.append({"scenario": name, "non_intervention": n, "expected_rate": r,
                     "additional_outcomes": n_people * (r - n), "payments": pay,
                     "value": value, "net_value": net, "price_was": was,
                     "consequence": words})
    return pd.DataFrame(rows)


def scenarios_from(rec: PriceRecommendation, *, cohort_size: int, outcome: str | None = None,
                   price: float | None = None) -> pd.DataFrame:
    """:func:`scenario_table` for a price recommendation: its interval limits and estimate.

    Uses the recommended price (or ``price``) of ``outcome`` (default: the first).

    Parameters
    ----------
    rec : PriceRecommendation
        What :func:`pbr_eval.price` returned.
    cohort_size : int
        The number of people the money is counted over.
    outcome : str, optional
        Which outcome of ``rec`` (default: the first).
    price : float, optional
        A price to test instead of the recommended one.

    Returns
    -------
    pandas.DataFrame
        :func:`scenario_table` at the interval's lower limit, the estimate and the upper limit.

    Raises
    ------
    OptionError
        When ``outcome`` is not in ``rec``.

    Examples
    --------
    The recommended price is the ceiling at the interval's upper limit, so it is "about
    right" there and pays less than the value created if the rate is lower:

    >>> import pbr_eval
    >>> from pbr_eval.aggregates import from_rates
    >>> rec = pbr_eval.price(from_rates(0.40, 1000, 0.30, outcome="job"),
    ...                      value_per_outcome=1000.0)
    >>> scenarios_from(rec, cohort_size=1000)["price_was"].tolist()
    ['too low', 'too low', 'about right']
    """
    f = rec.to_frame().set_index("outcome")
    o = outcome if outcome is not None else f.index[0]
    if o not in f.index:
        raise OptionError(f"`outcome` must be one of {', '.join(map(repr, f.index))}; got {o!r}.")
    r = f.loc[o]
    return scenario_table(
        float(r["recommended"] if price is None else price),
        value_per_outcome=float(r["value_per_outcome"]), cohort_size=cohort_size,
        low=float(r["non_intervention_ci_lower"]), central=float(r["non_intervention"]),
        high=float(r["non_intervention_ci_upper"]), expected_rate=float(r["expected_rate"]),
        attachment_fee=float(r["attachment_fee"]),
    )
