"""Area tables for publication: small areas merged, small counts suppressed.

The engine's own disclosure rules for area results (the reports apply
:mod:`pbr_eval.disclosure` on top):

* :func:`rates_disclosure_table` - the area rates table behind
  :meth:`AreaRates.disclosure_table <pbr_eval.areas.AreaRates.disclosure_table>`
  and ``AreaRates.to_dict()``;
* :func:`tariffs_disclosure_table` - the area tariff table behind
  :meth:`AreaTariffs.disclosure_table <pbr_eval.areas.AreaTariffs.disclosure_table>`
  and ``AreaTariffs.to_dict()``.

Areas with fewer than ``min_count`` people in the programme are merged into
one row, ``"Smaller areas (k merged)"`` (suppressed when the merged cohort
is itself below ``min_count``); any other count below ``min_count``, and any
count that could be worked out from published totals, shows as the marker
``[c]`` (:data:`pbr_eval.disclosure.MARKER`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from pbr_eval.disclosure import MARKER, DisclosurePolicy, is_hidden
from pbr_eval.kinds import Column, Schema
from pbr_eval.options import DEFAULT_DISCLOSURE_THRESHOLD

__all__ = ["DISCLOSURE_MIN_COUNT", "AREA_DISCLOSURE_SCHEMA", "rates_disclosure_table",
           "tariffs_disclosure_table", "merged_label"]

#: Cells counting fewer people than this are suppressed in the disclosure table.
DISCLOSURE_MIN_COUNT = DEFAULT_DISCLOSURE_THRESHOLD
_AREA_COLUMNS = (Column("area", "text", "Area"),
                 Column("n_treated", "count", "People in the programme"),
                 Column("n_comparison", "count", "People in the comparison pool"))
#: Column kinds of :meth:`AreaRates.disclosure_table` (binary outcome).
AREA_DISCLOSURE_SCHEMA = Schema((*_AREA_COLUMNS,
                                 Column("observed", "rate", "Observed rate",
                                        denominator="n_treated"),
                                 Column("non_intervention", "rate", "Non-intervention rate"),
                                 Column("ci_lower", "rate", "Lower limit"),
                                 Column("ci_upper", "rate", "Upper limit"),
                                 Column("shrinkage", "number", "Shrinkage"),
                                 Column("disclosure", "text", "Disclosure control")))
_AREA_MEANS_SCHEMA = Schema(tuple(
    Column(c.name, "mean", c.label, denominator=c.denominator) if c.kind == "rate" else c
    for c in AREA_DISCLOSURE_SCHEMA))


def published_schema(outcome_type: str) -> Schema:
    """Return declared columns of the published area table (rates for a yes/no outcome, else means)."""
    return AREA_DISCLOSURE_SCHEMA if outcome_type == "binary" else _AREA_MEANS_SCHEMA


def merged_label(k: int) -> str:
    """Return the label of the row holding ``k`` merged small areas."""
    return f"Smaller areas ({k} merged)"


def rates_disclosure_table(frame: pd.DataFrame, *, outcome_type: str, policy: DisclosurePolicy,
                           level: float) -> pd.DataFrame:
    """Return the area rates table for publication (see :meth:`AreaRates.disclosure_table`).

    Parameters
    ----------
    frame : pandas.DataFrame
        :meth:`AreaRates.to_frame` at ``level``.
    outcome_type : str
    policy : DisclosurePolicy
        Its ``threshold`` is the smallest area (treated) and count shown.
    level : float

    Returns
    -------
    pandas.DataFrame
        Columns ``area``, ``n_treated``, ``n_comparison``, ``observed``,
        ``non_intervention`` (pooled), ``ci_lower``, ``ci_upper``,
        ``shrinkage``, ``disclosure``; the last row states the rule.
    """
    f = frame
    min_count = policy.threshold
    z = float(stats.norm.ppf(0.5 + level / 2))
    small = f["n_treated"] < min_count
    binary = outcome_type == "binary"
    rows: list[dict[str, Any]] = [{
        "area": r["area"], "n_treated": int(r["n_treated"]),
        "n_comparison": int(r["n_comparison"]), "observed": float(r["observed"]),
        "non_intervention": r["pooled"], "ci_lower": r["pooled_ci_lower"],
        "ci_upper": r["pooled_ci_upper"], "shrinkage": r["shrinkage"], "disclosure": "",
    } for _, r in f[~small].iterrows()]
    k = int(small.sum())
    if k:
        g = f[small]
        n1 = float(g["n_treated"].sum())
        row: dict[str, Any] = {
            "area": merged_label(k), "n_treated": int(n1),
            "n_comparison": int(g["n_comparison"].sum()), "observed": MARKER,
            "non_intervention": np.nan, "ci_lower": np.nan, "ci_upper": np.nan,
            "shrinkage": np.nan, "disclosure": "merged row suppressed: fewer than "
            f"{min_count} treated in total"}
        if n1 >= min_count:
            w = g["n_treated"].to_numpy() / n1
            est = float(w @ g["pooled"].to_numpy())
            se = float(np.sqrt(np.sum((w * g["pooled_se"].to_numpy()) ** 2)))
            lo, hi = est - z * se, est + z * se
            if binary:
                lo, hi = max(lo, 0.0), min(hi, 1.0)
            row.update(observed=float(g["observed"].to_numpy() @ g["n_treated"].to_numpy())
                       / n1, non_intervention=est, ci_lower=lo, ci_upper=hi,
                       disclosure=f"{k} areas with fewer than {min_count} treated merged "
                       "(cohort-weighted mean of pooled rates)")
        else:
            row["n_comparison"] = MARKER
        rows.append(row)
    # the programme's and the pool's sizes are published: their area counts add up to them
    rows = policy.protect_rows(AREA_DISCLOSURE_SCHEMA if binary else _AREA_MEANS_SCHEMA,
                               rows, public_sums=("n_treated", "n_comparison"))
    for r in rows:
        if r["disclosure"]:
            continue
        r["disclosure"] = "; ".join(what for col, what in (
            ("n_treated", "programme count suppressed"),
            ("observed", "observed rate suppressed (small count)"),
            ("n_comparison", "comparison count suppressed")) if is_hidden(r[col]))
    rule = (f"Disclosure control: counts below {min_count}, and further counts that would "
            f"let them be worked out from the totals, shown as '{MARKER}'; areas with "
            f"fewer than {min_count} treated merged; observed rates withheld where fewer "
            f"than {min_count} people had (or did not have) the outcome or the count is "
            "hidden.")
    rows.append({"area": "Note", "n_treated": "", "n_comparison": "", "observed": "",
                 "non_intervention": np.nan, "ci_lower": np.nan, "ci_upper": np.nan,
                 "shrinkage": np.nan, "disclosure": rule})
    return pd.DataFrame(rows)


#: Tariff columns that add up over areas (summed in the merged row).
_ADDITIVE = ("expected_outcomes", "payment_at_area_price", "payment_at_national_price",
             "misallocation")


def tariffs_disclosure_table(frame: pd.DataFrame, *, min_count: int) -> pd.DataFrame:
    """Return the area tariff table for publication (see :meth:`AreaTariffs.disclosure_table`).

    Areas with fewer than ``min_count`` people in the programme are merged
    into one row whose additive columns (expected outcomes, payments,
    misallocation) are summed and whose misallocation per person is the
    merged total over the merged cohort; its area-specific columns (rates,
    prices) are blank. When the merged cohort is itself below ``min_count``
    only its (suppressed) size is shown.

    Parameters
    ----------
    frame : pandas.DataFrame
        :meth:`AreaTariffs.to_frame`.
    min_count : int

    Returns
    -------
    pandas.DataFrame
        The columns of ``frame``, one row per publishable area plus the
        merged row.
    """
    small = frame["n_treated"].to_numpy(dtype=float) < min_count
    keep = frame.loc[~small].copy().astype(object)
    k = int(small.sum())
    if k:
        g = frame.loc[small]
        n1 = float(g["n_treated"].sum())
        row: dict[str, Any] = {c: "" for c in frame.columns}
        row["area"] = merged_label(k)
        if n1 >= min_count:
            row["n_treated"] = int(n1)
            for c in _ADDITIVE:
                if c in g:
                    row[c] = float(g[c].sum())
            if "misallocation" in g:
                row["misallocation_per_person"] = float(g["misallocation"].sum()) / n1
            if "national_price" in g:
                row["national_price"] = float(g["national_price"].iloc[0])
        else:
            row["n_treated"] = MARKER
        keep = pd.concat([keep, pd.DataFrame([row])], ignore_index=True)
    return keep
