r"""Area tariffs: a price and a minimum performance level per area, and the money a single national price would pay to the wrong areas (:func:`area_tariffs`, :func:`misallocation`)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from pbr_eval.areas.results import TARIFF_COLUMNS, AreaRates, AreaTariffs
from pbr_eval.exceptions import (
    NotViableError,
    OptionError,
)
from pbr_eval.options import (
    AREA_ESTIMATES,
    BETTER,
    check_choice,
    check_positive,
    check_probability,
    check_rate,
)
from pbr_eval.pricing.recommend import price_from_rate

__all__ = ["area_tariffs", "misallocation"]


def misallocation(
    n_treated: np.ndarray,
    non_intervention: np.ndarray,
    expected_rate: np.ndarray,
    value_per_outcome: float,
    national_price: float | None = None,
) -> pd.DataFrame:
    r"""Money a single national price over- or under-pays each area.

    Parameters
    ----------
    n_treated : array
        People in each area's cohort, :math:`N_a`.
    non_intervention : array
        Each area's non-intervention rate :math:`n_a` (on the paid scale).
    expected_rate : array
        Each area's expected rate with the programme :math:`r_a`.
    value_per_outcome : float
        Value :math:`v` of one additional outcome.
    national_price : float, optional
        The one national price. Default: the value-for-money price at the
        national rates, :math:`P = v(1 - \bar n/\bar r)` with :math:`\bar n`
        and :math:`\bar r` the cohort-weighted means of :math:`n_a`, :math:`r_a`.

    Returns
    -------
    pandas.DataFrame
        Columns ``price`` (:math:`P_a = v(1 - n_a/r_a)`), ``national_price``,
        ``expected_outcomes`` (:math:`N_a r_a`), ``payment_at_area_price``
        (:math:`P_a N_a r_a = v N_a (r_a - n_a)`, the value of the additional
        outcomes), ``payment_at_national_price`` (:math:`P N_a r_a`),
        ``misallocation`` (their difference: positive means the area's
        providers are over-paid, i.e. paid for deadweight) and
        ``misallocation_per_person``.

    Notes
    -----
    With the default national price the misallocations sum to zero: one
    national price is budget-neutral overall but moves money from areas
    with low non-intervention rates (hard labour markets, where outcomes
    are hard to get) to areas with high ones (where many outcomes would
    have happened anyway) -- the Work Programme's problem.

    Examples
    --------
    Two areas of 100 people, non-intervention rates 10% and 30%, both
    expected to gain 10 points, an outcome worth 1,000:

    >>> t = misallocation(np.array([100, 100]), np.array([0.1, 0.3]),
    ...                   np.array([0.2, 0.4]), 1000.0)
    >>> t[["price", "national_price", "misallocation"]].round(2)
        price  national_price  misallocation
    0  500.00          333.33       -3333.33
    1  250.00          333.33        3333.33
    """
    N = np.asarray(n_treated, dtype=float)
    n = np.asarray(non_intervention, dtype=float)
    r = np.asarray(expected_rate, dtype=float)
    v = float(value_per_outcome)
    if national_price is None:
        n_bar = float(np.sum(N * n) / np.sum(N))
        r_bar = float(np.sum(N * r) / np.sum(N))
        national_price = v * (1.0 - n_bar / r_bar)
    P_a = v * (1.0 - n / r)
    outcomes = N * r
    pay_area = P_a * outcomes
    pay_nat = national_price * outcomes
    mis = pay_nat - pay_area
    return pd.DataFrame(
        {
            "price": P_a,
            "national_price": float(national_price),
            "expected_outcomes": outcomes,
            "payment_at_area_price": pay_area,
            "payment_at_national_price": pay_nat,
            "misallocation": mis,
            "misallocation_per_person": np.divide(mis, N, out=np.full(N.size, np.nan),
                                                  where=N > 0),
        }
    )




def area_tariffs(
    rates: AreaRates,
    *,
    value_per_outcome: float,
    effect: float | None = None,
    expected_rate: float | Mapping[str, float] | None = None,
    uplift: float = 0.1,
    better: str = "higher",
    estimate: str = "pooled",
) -> AreaTariffs:
    r"""Price, minimum performance level and misallocation for each area.

    Parameters
    ----------
    rates : AreaRates
        From :func:`area_rates`.
    value_per_outcome : float
        Value of one additional outcome.
    effect : float, optional
        Expected additional outcomes per person (e.g. 0.05 for 5
        percentage points), the same in every area: :math:`r_a = n_a + e`.
    expected_rate : float or dict, optional
        Instead of ``effect``: the expected rate with the programme, one
        for all areas or one per area. Give exactly one of the two.
    uplift : float, default 0.1
        Minimum performance level :math:`= n_a (1 + \text{uplift})`; the Work
        Programme's year-1 MPL of 5.5% on a 5% non-intervention estimate
        is an uplift of 0.1.
    better : {"higher", "lower"}, default "higher"
        For a binary outcome the programme should reduce (reoffending),
        ``"lower"`` prices its complement (not reoffending).
    estimate : {"pooled", "unpooled"}, default "pooled"
        Which area rates to price from. Areas without an unpooled estimate
        cannot be priced from unpooled rates and raise.

    Returns
    -------
    AreaTariffs

    Raises
    ------
    OptionError
        Neither or both of ``effect``/``expected_rate``; an area missing from
        ``expected_rate``; ``better="lower"`` for a non-binary outcome.
    NotViableError
        When an area's expected rate does not exceed its non-intervention rate.

    Notes
    -----
    Area price (value-for-money ceiling, :func:`pbr_eval.pricing.recommend.price_from_rate`):
    :math:`P_a = v(1 - n_a/r_a)`, with a band from the interval of
    :math:`n_a`. National price: the same formula at the cohort-weighted
    national rates :math:`\bar n = \sum N_a n_a / \sum N_a` and
    :math:`\bar r`. Misallocation (:func:`misallocation`):
    :math:`M_a = (P - P_a) N_a r_a`, what the area's providers receive
    under the national price minus the value of the additional outcomes
    they produce. The :math:`M_a` sum to zero.

    Examples
    --------
    >>> import pbr_eval
    >>> from pbr_eval.areas import area_rates, area_tariffs
    >>> from pbr_eval.datasets import load_reoffending
    >>> sim = load_reoffending()
    >>> rates = area_rates(pbr_eval.Cohort(sim.data, **sim.cohort_args), outcome="reoffended")
    >>> tariffs = area_tariffs(rates, value_per_outcome=5000, effect=0.05, better="lower")
    >>> bool(abs(tariffs.to_frame()["misallocation"].sum()) < 1e-6)  # budget-neutral
    True
    """
    if not isinstance(rates, AreaRates):
        raise OptionError(
            f"`rates` must be the result of area_rates(); got {type(rates).__name__}."
        )
    v = check_positive("value_per_outcome", value_per_outcome)
    uplift = check_probability("uplift", uplift, open_interval=False)
    check_choice("better", better, BETTER)
    check_choice("estimate", estimate, AREA_ESTIMATES)
    if (effect is None) == (expected_rate is None):
        raise OptionError(
            "Give exactly one of `effect` (expected additional outcomes per person, e.g. 0.05) "
            "and `expected_rate` (the rate expected with the programme); got "
            f"{'both' if effect is not None else 'neither'}."
        )
    f = rates.to_frame()
    n = f[estimate].to_numpy(dtype=float)
    lo = f[f"{estimate}_ci_lower"].to_numpy(dtype=float)
    hi = f[f"{estimate}_ci_upper"].to_numpy(dtype=float)
    if not np.isfinite(n).all():
        bad = f.loc[~np.isfinite(n), "area"].tolist()
        raise OptionError(
            f"`estimate='{estimate}'` has no rate for {len(bad)} area(s) (e.g. {bad[:3]}); "
            "use estimate='pooled'."
        )
    paid = rates.outcome
    if better == "lower":
        if rates.outcome_type != "binary":
            raise OptionError(
                f"`better='lower'` prices the complement of a rate; '{rates.outcome}' is "
                f"{rates.outcome_type}. Use a binary outcome."
            )
        n, lo, hi = 1.0 - n, 1.0 - hi, 1.0 - lo
        paid = f"not {rates.outcome}"
    areas = f["area"].tolist()
    if effect is not None:
        e = check_positive("effect", effect)
        r = n + e
        over = r > 1 if rates.outcome_type == "binary" else np.zeros(len(r), dtype=bool)
        if over.any():
            bad = [a for a, o in zip(areas, over, strict=True) if o]
            raise OptionError(
                f"`effect` = {e:g} added to the non-intervention rate of '{paid}' gives an "
                f"expected rate above 1 in {len(bad)} area(s) (e.g. {bad[0]}: "
                f"{float(n[over][0]):.3g} + {e:g} = {float(r[over][0]):.3g}), which would "
                "predict more outcomes than people. Give a smaller effect (5 points is 0.05)."
            )
        rule = f"expected rate = non-intervention rate + {e:g} in every area"
    elif isinstance(expected_rate, Mapping):
        missing = [a for a in areas if a not in expected_rate]
        if missing:
            raise OptionError(
                f"`expected_rate` has no rate for {len(missing)} area(s) (e.g. {missing[:3]}); "
                "give one per area or a single number."
            )
        r = np.array([check_rate(f"expected_rate['{a}']", expected_rate[a],
                                 outcome_type=rates.outcome_type, positive=True) for a in areas])
        rule = "expected rate given per area"
    else:
        r = np.full(len(areas), check_rate("expected_rate", expected_rate,
                                           outcome_type=rates.outcome_type, positive=True))
        rule = f"expected rate {float(r[0]):g} in every area"
    N = f["n_treated"].to_numpy(dtype=float)
    rows = []
    for i, a in enumerate(areas):
        pr = price_from_rate(outcome=rates.outcome, non_intervention=float(n[i]),
                             ci=(float(lo[i]), float(hi[i])), value_per_outcome=v,
                             expected_rate=float(r[i]), paid_outcome=f"{paid} in {a}",
                             outcome_type=rates.outcome_type)
        rows.append(pr)
    mis = misallocation(N, n, r, v)
    frame = pd.DataFrame({
        "area": areas,
        "n_treated": f["n_treated"].to_numpy(),
        "non_intervention": n,
        "non_intervention_ci_lower": lo,
        "non_intervention_ci_upper": hi,
        "expected_rate": r,
        "minimum_performance_level": n * (1.0 + uplift),
        "price": [row["recommended"] for row in rows],
        "band_lower": [row["band_lower"] for row in rows],
        "band_upper": [row["band_upper"] for row in rows],
        "national_price": mis["national_price"].to_numpy(),
        "expected_outcomes": mis["expected_outcomes"].to_numpy(),
        "payment_at_area_price": mis["payment_at_area_price"].to_numpy(),
        "payment_at_national_price": mis["payment_at_national_price"].to_numpy(),
        "misallocation": mis["misallocation"].to_numpy(),
        "misallocation_per_person": mis["misallocation_per_person"].to_numpy(),
    }, columns=TARIFF_COLUMNS)
    n_bar = float(np.sum(N * n) / np.sum(N))
    r_bar = float(np.sum(N * r) / np.sum(N))
    if r_bar <= n_bar:
        raise NotViableError(
            f"Nationally the expected rate ({r_bar:.4g}) does not exceed the non-intervention "
            f"rate ({n_bar:.4g}); no national price is value for money."
        )
    national = {
        "non_intervention": n_bar,
        "expected_rate": r_bar,
        "price": float(mis["national_price"].iloc[0]),
        "minimum_performance_level": n_bar * (1.0 + uplift),
    }
    info = {
        "outcome": rates.outcome, "paid_outcome": paid, "value_per_outcome": v,
        "uplift": uplift, "estimate": estimate, "expected_rate_rule": rule,
        "method": rates.method, "fingerprint": rates.info.get("fingerprint"),
        "outcome_type": rates.outcome_type,
        "notes": [
            "Misallocation = (national price - area price) x expected outcomes; positive means "
            "the area's providers would be paid for outcomes that would have happened anyway.",
        ],
    }
    return AreaTariffs(frame, national=national, info=info)
