"""The declared column kinds of a part's table: from the results object, or a bridge.

A results object declares its columns (:meth:`pbr_eval.results.base.Results.frame_schema`);
the report reads that. Until every engine's results class is on that base (helper
"results" is moving them), the engines' tables are declared here, each by its exact
set of columns: a declaration per table, never a guess from a name. A table that
is neither (an arbitrary DataFrame) has no declared kinds and is left out of a
report, which says so: a column of unknown kind could be a count of people.

Delete an entry once its class declares ``schema``; delete the module once all have.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from pbr_eval.kinds import Schema
from pbr_eval.reporting.sections._common import schema_table

__all__ = ["schema_of", "BRIDGE"]


PRICES = schema_table("""
    outcome                     | text          | Outcome
    paid_outcome                | text          | Paid outcome
    value_per_outcome           | money         | Value of one outcome
    expected_rate               | rate          | Expected rate with the programme
    non_intervention            | rate          | Non-intervention rate
    non_intervention_se         | number        | Standard error | from=expected_rate,non_intervention
    non_intervention_ci_lower   | rate          | Non-intervention: lower limit | from=expected_rate,non_intervention
    non_intervention_ci_upper   | rate          | Non-intervention: upper limit | from=expected_rate,non_intervention
    deadweight_share            | probability   | Share paid for deadweight | from=expected_rate,non_intervention
    attachment_fee              | money         | Attachment fee
    cost_per_participant        | money         | Provider's cost per participant
    ceiling                     | money         | Most worth paying (ceiling) | from=expected_rate,non_intervention
    floor                       | money         | Provider's break-even price (floor) | from=expected_rate,non_intervention
    recommended                 | money         | Recommended price | from=expected_rate,non_intervention
    band_lower                  | money         | Band: lower | from=expected_rate,non_intervention
    band_upper                  | money         | Band: upper | from=expected_rate,non_intervention
    prob_overpay                | probability   | Chance of paying for deadweight | from=expected_rate,non_intervention
    cost_per_additional_outcome | money         | Cost per additional outcome | from=expected_rate,non_intervention
    payment_per_participant     | money         | Payment per participant | from=expected_rate,non_intervention
    cohort_size                 | planned_count | Cohort size (planned)
    expected_total_payment      | money         | Expected total payment | from=expected_rate,non_intervention
    budget_price                | money         | Price within the budget | from=expected_rate,non_intervention
    viable                      | text          | Viable
    verdict                     | text          | Verdict
""")

SIMULATION = schema_table("""
    quantity | text  | Quantity
    mean     | money | Mean
    p05      | money | 5th percentile
    p25      | money | 25th percentile
    p50      | money | Median
    p75      | money | 75th percentile
    p95      | money | 95th percentile
""")

CASHFLOW = schema_table("""
    month             | integer       | Month
    referrals         | planned_count | Referrals (planned)
    delivery_cost     | money         | Delivery cost
    attachment_income | money         | Attachment income
    outcome_income    | money         | Outcome income
    net               | money         | Net cash flow
    cash_position     | money         | Cash position
""")

PRICE_SENSITIVITY = schema_table("""
    non_intervention | rate        | Non-intervention rate (assumed)
    expected_rate    | rate        | Expected rate
    deadweight_share | probability | Share paid for deadweight
    ceiling          | money       | Most worth paying (ceiling)
""")

E_VALUES = schema_table("""
    outcome          | text    | Outcome
    outcome_type     | text    | Outcome type
    observed         | outcome | Programme        | by=outcome_type
    non_intervention | outcome | Non-intervention | by=outcome_type
    rr               | ratio   | Risk ratio | from=observed,non_intervention
    rr_ci_lower      | ratio   | Risk ratio: lower limit | from=observed,non_intervention
    rr_ci_upper      | ratio   | Risk ratio: upper limit | from=observed,non_intervention
    e_value          | ratio   | E-value | from=observed,non_intervention
    e_value_ci       | ratio   | E-value of the interval | from=observed,non_intervention
    rr_ci_source     | text    | Interval from
    note             | text    | Note
""")

TIPPING_POINT = schema_table("""
    outcome                | text               | Outcome
    outcome_type           | text               | Outcome type
    observed               | outcome            | Programme        | by=outcome_type
    non_intervention       | outcome            | Non-intervention | by=outcome_type
    additional             | outcome_difference | Programme effect | by=outcome_type | from=observed,non_intervention
    tipping_rate           | outcome            | Tipping-point rate | by=outcome_type | from=observed,non_intervention
    shift_to_null          | outcome_difference | Shift to no effect | by=outcome_type | from=observed,non_intervention
    relative_shift         | probability        | Relative shift | from=observed,non_intervention
    shift_to_insignificant | outcome_difference | Shift to not significant | by=outcome_type | from=observed,non_intervention
    direction              | text               | Direction
""")

ROSENBAUM = schema_table("""
    outcome        | text   | Outcome
    test           | text   | Test
    n_pairs        | count  | Matched pairs
    direction      | text   | Direction
    statistic      | number | Test statistic
    n_discordant   | count  | Discordant pairs
    gamma_critical | ratio  | Critical Gamma
""")

#: class name (or the exact tuple of a frame's columns) -> declared schema.
BRIDGE: dict[Any, Schema] = {
    "PriceRecommendation": PRICES,
    "PaymentRisk": SIMULATION,
    "CashFlowSchedule": CASHFLOW,
    "RosenbaumBounds": ROSENBAUM,
    PRICE_SENSITIVITY.names: PRICE_SENSITIVITY,
    E_VALUES.names: E_VALUES,
    TIPPING_POINT.names: TIPPING_POINT,
    PRICES.names: PRICES,
    CASHFLOW.names: CASHFLOW,
}


def schema_of(obj: Any, frame: pd.DataFrame) -> Schema | None:
    """The declared schema of ``frame`` (the table of ``obj``), or None when undeclared.

    Examples
    --------
    >>> import pandas as pd
    >>> schema_of(None, pd.DataFrame({"x": [1]})) is None
    True
    """
    cols = [str(c) for c in (frame.reset_index().columns if frame.index.name is not None
                             else frame.columns)]
    fs = getattr(obj, "frame_schema", None)
    if callable(fs):
        try:
            s = fs()
        except TypeError:
            s = None
        if isinstance(s, Schema) and all(c in s for c in cols):
            return s.select(cols)
    s = BRIDGE.get(type(obj).__name__) or BRIDGE.get(tuple(cols))
    if s is not None and all(c in s for c in cols):
        return s.select(cols)
    return None
