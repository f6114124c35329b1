"""Report sections for checked claims and local areas, with disclosure control.

Two optional sections of the report context (see
:mod:`pbr_eval.reporting.context`):

* **Claims checked** from a :class:`~pbr_eval.claims.ClaimsValidation`
  (or the dictionary :func:`~pbr_eval.claims.claims_report_tables` returns):
  counts of valid, invalid and unevidenced claims overall, by rule and by
  local authority, and the value at stake. The claims engine has already
  applied disclosure control (counts 1 to ``threshold - 1`` shown as
  ``<10``, a second cell hidden as ``[c]`` so a small count cannot be
  recovered from the row total, money blanked where its count is hidden);
  this module adds: the row total's value is blanked when the total count is
  hidden, and excluded-row counts in the notes are suppressed too. No
  claim, family or person identifiers ever reach the context.
* **Local areas** from an :class:`~pbr_eval.areas.AreaRates` (and optionally
  an :class:`~pbr_eval.areas.AreaTariffs`): the engine's
  :meth:`~pbr_eval.areas.AreaRates.disclosure_table` (areas with fewer than
  ``threshold`` treated merged into one row, small counts shown as ``<10``,
  observed rates withheld where they would reveal a small count), a ranked
  plot drawn from that table only, a funnel plot of the areas whose treated
  *and* comparison counts are both publishable (the others are left out and
  the report says how many), and the area tariff table with small areas
  merged the same way.

When not given, each section is in the context with ``available`` False, its
reason and ``optional`` True: the workbook's Claims / Areas sheet then says
"Not available: <reason>", while the HTML and Markdown reports leave the
section out (as the pilot report does with pricing sections), so a report on
a programme without claims or areas carries no empty headings.

Limitations
-----------
The claims tables protect each row, not differences between rows and
tables: with two hidden cells in a row, their *sum* can still be read off as
``total - valid`` (and from the value table as ``total - valid`` in money).
The funnel plot uses the areas' unpooled estimates, which come from the
comparison pool's outcomes; an area is plotted only when its comparison count
is at least ``threshold``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from pbr_eval.disclosure import SUPPRESSED, WITHHELD, DisclosurePolicy

__all__ = ["claims_section", "areas_section", "CLAIMS_TITLE", "AREAS_TITLE"]

CLAIMS_TITLE = "Claims checked"
AREAS_TITLE = "Local areas"

_STATUSES = ("valid", "invalid", "unevidenced")


def _section(sid: str, title: str, *, available: bool = True, reason: str | None = None,
             paragraphs: list[str] | None = None, tables: list[dict] | None = None,
             plots: list[dict] | None = None, optional: bool = False) -> dict[str, Any]:
    # optional: an unavailable section the HTML and Markdown reports leave out (the
    # workbook still has its sheet, saying why it is empty)
    return {"id": sid, "title": title, "available": available, "reason": reason,
            "paragraphs": list(paragraphs or []), "tables": list(tables or []),
            "plots": list(plots or []), "optional": optional}


def _cell(v: Any) -> Any:
    """A plain cell: markers and text kept, numbers as int/float, blanks as the withheld mark."""
    if isinstance(v, (bool, np.bool_)):
        return str(v)
    if isinstance(v, (np.integer, int)):
        return int(v)
    if isinstance(v, (np.floating, float)):
        f = float(v)
        return f if math.isfinite(f) else None
    if v is None:
        return None
    s = str(v)
    return WITHHELD if s == "" else s


def _table(frame: pd.DataFrame, *, name: str, title: str, labels: Mapping[str, str],
           formats: Mapping[str, str]) -> dict[str, Any]:
    """A context table from an already disclosure-controlled frame (no further logic)."""
    columns = [{"key": str(c), "label": labels.get(str(c), str(c).replace("_", " ")),
                "fmt": formats.get(str(c), "text")} for c in frame.columns]
    text = {c["key"] for c in columns if c["fmt"] == "text"}
    rows = [{str(c): (v if str(c) in text and v == "" else _cell(v))
             for c, v in zip(frame.columns, rec, strict=True)}
            for rec in frame.itertuples(index=False, name=None)]
    return {"name": name, "title": title, "columns": columns, "rows": rows}


# ------------------------------------------------------------------ claims
_CLAIM_LABELS = {"rule": "outcome rule", "authority": "local authority", "at_risk": "at risk",
                 "share_valid": "share valid"}
_CLAIM_COUNT_FMT = {"valid": "int", "invalid": "int", "unevidenced": "int", "duplicate": "int",
                    "total": "int", "share_valid": "pct"}


def _claims_counts(frame: pd.DataFrame, key: str | None, threshold: int) -> pd.DataFrame:
    f = frame.copy()
    f.columns = [str(c) for c in f.columns]
    f.columns.name = None
    if threshold != 10:  # the claims engine writes its small-count marker as "<10"
        f = f.replace("<10", f"<{threshold}")
    if key is not None:
        f.index.name = key
        f = f.reset_index()
        f[key] = f[key].astype(str)
    else:
        f = f.reset_index(drop=True)
    # the engine gives share_valid in percent ("" when hidden): store a proportion
    f["share_valid"] = [s / 100.0 if isinstance(s, (int, float, np.number)) else s
                        for s in f["share_valid"]]
    return f


def claims_section(claims: Any, policy: DisclosurePolicy) -> dict[str, Any]:
    """The "Claims checked" section.

    Parameters
    ----------
    claims : ClaimsValidation or mapping or None
        From :func:`pbr_eval.claims.validate_claims`, or the dictionary
        :func:`pbr_eval.claims.claims_report_tables` returns.
    policy : DisclosurePolicy
        Its ``threshold`` is passed to the claims engine as ``min_count``.

    Returns
    -------
    dict
        A context section (``available`` False, with the reason, when
        ``claims`` is None).

    Raises
    ------
    OptionError
        When ``claims`` is neither.
    """
    from pbr_eval.exceptions import OptionError

    if claims is None:
        return _section("claims", CLAIMS_TITLE, available=False, optional=True,
                        reason="no claims validation was given (claims=...)")
    info: Mapping[str, Any] = {}
    if isinstance(claims, Mapping) and {"overall", "by_rule"} <= set(claims):
        tabs = claims
    elif hasattr(claims, "claims") and hasattr(claims, "value_at_stake"):
        from pbr_eval.claims import claims_report_tables

        tabs = claims_report_tables(claims, min_count=policy.threshold)
        info = getattr(claims, "info", {}) or {}
    else:
        raise OptionError(
            "`claims` must be a ClaimsValidation from pbr_eval.claims.validate_claims() or the "
            f"dict from claims_report_tables(); got {type(claims).__name__}. Run "
            "validate_claims(claims, records, rules) and pass its result."
        )
    overall = _claims_counts(tabs["overall"], None, policy.threshold)
    by_rule = _claims_counts(tabs["by_rule"], "rule", policy.threshold)
    tables = [_table(by_rule, name="claims_by_rule", title="Claims by rule",
                     labels=_CLAIM_LABELS, formats=_CLAIM_COUNT_FMT)]
    if tabs.get("by_authority") is not None:
        by_auth = _claims_counts(tabs["by_authority"], "authority",
                                  policy.threshold)
        tables.append(_table(by_auth, name="claims_by_authority",
                             title="Claims by authority", labels=_CLAIM_LABELS,
                             formats=_CLAIM_COUNT_FMT))
    value = tabs.get("value")
    if isinstance(value, pd.DataFrame) and len(value):
        v = value.astype(object).copy()
        v.columns = [str(c) for c in v.columns]
        # the row's total value / price would reveal a hidden total count
        hidden_total = by_rule["total"].isin(["<" + str(policy.threshold), SUPPRESSED, "[c]"])
        if "total" in v.columns and len(hidden_total) == len(v):
            v.loc[hidden_total.to_numpy(), "total"] = ""
        v.index.name = "rule"
        v = v.reset_index()
        v["rule"] = v["rule"].astype(str)
        tables.append(_table(v, name="claims_value", title="Claims value at stake",
                             labels=_CLAIM_LABELS,
                             formats={c: "gbp" for c in v.columns if c != "rule"}))
    row = overall.iloc[0].to_dict() if len(overall) else {}
    paras = []
    if all(isinstance(row.get(k), (int, np.integer)) for k in ("valid", "total")):
        paras.append(f"{int(row['total']):,} claims were checked against the outcome rules: "
                     f"{int(row['valid']):,} are valid"
                     + (f" ({row['share_valid']:.0%})" if isinstance(row.get("share_valid"),
                                                                    float) else "") + ".")
    paras.append("Each claim was checked against its outcome rule using the records "
                 "(attendance, offending, employment). valid: the records show the outcome; "
                 "invalid: the records show it was not met; unevidenced: the records needed to "
                 "decide are missing (never counted as valid or invalid); duplicate: the same "
                 "outcome was already claimed for that unit (never paid twice).")
    paras.append(f"Disclosure control: counts from 1 to {policy.threshold - 1}, further cells "
                 "that would let them be worked out from a total, and shares or amounts that "
                 f"would reveal a hidden count are shown as '{WITHHELD}'. A zero count of claims "
                 "is shown.")
    for d in info.get("dropped", []) or []:
        n = policy.count(d.get("n"))
        paras.append(f"Rows left out: {n:,} {d.get('reason')}." if isinstance(n, int)
                     else f"Rows left out: {n} {d.get('reason')}.")
    return _section("claims", CLAIMS_TITLE, paragraphs=paras,
                    tables=[_table(overall, name="claims_overall", title="All claims",
                                   labels=_CLAIM_LABELS, formats=_CLAIM_COUNT_FMT), *tables])


# ------------------------------------------------------------------- areas
_AREA_LABELS = {"n_treated": "people in programme", "n_comparison": "comparison people",
                "observed": "observed rate", "non_intervention": "non-intervention (pooled)",
                "ci_lower": "CI lower", "ci_upper": "CI upper", "shrinkage": "shrinkage",
                "disclosure": "disclosure control"}
_AREA_FMT_BINARY = {"n_treated": "int", "n_comparison": "int", "observed": "pct",
                    "non_intervention": "pct", "ci_lower": "pct", "ci_upper": "pct",
                    "shrinkage": "num", "disclosure": "text", "area": "text"}


def _merged_tariffs(frame: pd.DataFrame, threshold: int) -> tuple[pd.DataFrame, int]:
    """Tariff rows of areas with fewer than ``threshold`` treated merged (or suppressed)."""
    from pbr_eval.areas.disclosure import tariffs_disclosure_table

    k = int((frame["n_treated"].to_numpy(dtype=float) < threshold).sum())
    return tariffs_disclosure_table(frame, min_count=threshold), k


def areas_section(areas: Any, tariffs: Any, policy: DisclosurePolicy,
                  level: float) -> dict[str, Any]:
    """The "Local areas" section.

    Parameters
    ----------
    areas : AreaRates or None
        From :func:`pbr_eval.areas.area_rates`.
    tariffs : AreaTariffs or None
        From :func:`pbr_eval.areas.area_tariffs`.
    policy : DisclosurePolicy
        Its ``threshold`` is the smallest area (treated) and count shown.
    level : float
        Confidence level of the intervals.

    Returns
    -------
    dict
        A context section; every table and plot is built from the
        disclosure-controlled area table.

    Raises
    ------
    OptionError
        When ``areas`` / ``tariffs`` are not area results.
    """
    from pbr_eval.exceptions import OptionError

    if areas is None and tariffs is None:
        return _section("areas", AREAS_TITLE, available=False, optional=True,
                        reason="no area rates were given (areas=...)")
    if areas is not None and not hasattr(areas, "disclosure_table"):
        raise OptionError("`areas` must be an AreaRates from pbr_eval.areas.area_rates(); got "
                          f"{type(areas).__name__}.")
    if tariffs is not None and not (hasattr(tariffs, "to_frame")
                                    and hasattr(tariffs, "national")):
        raise OptionError("`area_tariffs` must be an AreaTariffs from "
                          f"pbr_eval.areas.area_tariffs(); got {type(tariffs).__name__}.")
    thr = policy.threshold
    paras: list[str] = []
    tables: list[dict] = []
    plots: list[dict] = []
    if areas is not None:
        binary = areas.outcome_type == "binary"
        dt = areas.disclosure_table(min_count=thr, level=level)
        is_note = dt["area"].astype(str).eq("Note") & dt["n_treated"].astype(str).eq("")
        rule = [str(x) for x in dt.loc[is_note, "disclosure"]]
        dt = dt.loc[~is_note].reset_index(drop=True)
        dt["area"] = dt["area"].astype(str)
        dt["observed"] = [WITHHELD if x == "suppressed" else x for x in dt["observed"]]
        fmts = dict(_AREA_FMT_BINARY)
        if not binary:
            fmts.update({k: "num" for k in ("observed", "non_intervention", "ci_lower",
                                            "ci_upper")})
        pct = int(round(level * 100))
        nat = float(areas.national_rate)
        paras.append(
            f"Each area's non-intervention rate for '{areas.outcome}' is estimated from its own "
            "comparison data and partially pooled: small areas borrow strength from the others "
            "(shrinkage is the share borrowed). The national rate is "
            + (f"{nat:.1%}." if binary else f"{nat:.3g}.")
            + f" Intervals are {pct}% confidence intervals.")
        paras += rule
        tables.append(_table(dt, name="areas", title="Area non-intervention rates",
                             labels=_AREA_LABELS, formats=fmts))
        shown = dt[[isinstance(v, float) and math.isfinite(v) for v in dt["non_intervention"]]]
        shown = shown.sort_values("non_intervention")
        if len(shown):
            plots.append({
                "kind": "area_ranked", "title": "Area non-intervention rates, ranked",
                "alt": "Pooled non-intervention rate of each area with its interval, ranked; "
                       "the dashed line is the national rate. Small areas are merged.",
                "data": {"labels": [str(a) for a in shown["area"]],
                         "estimate": [float(v) for v in shown["non_intervention"]],
                         "lower": [_cell(v) for v in shown["ci_lower"]],
                         "upper": [_cell(v) for v in shown["ci_upper"]],
                         "national": nat, "binary": binary, "outcome": str(areas.outcome)}})
        ft = areas.funnel_table()
        ok = (ft["n_treated"] >= thr) & (ft["n_comparison"] >= thr)
        left_out = int((~ok).sum())
        ft = ft.loc[ok]
        if len(ft):
            from pbr_eval.areas import funnel_limits

            prec = ft["precision"].to_numpy(dtype=float)
            grid = np.geomspace(max(prec.min() * 0.8, 1e-9), prec.max() * 1.2, 60)
            limits = {}
            for lev in (0.95, 0.998):
                lo, hi = funnel_limits(nat, grid, level=lev, binary=binary)
                limits[f"{lev:.1%}"] = [[float(x) for x in lo], [float(x) for x in hi]]
            flags = [str(f) for f in ft["flag"]]
            plots.append({
                "kind": "funnel", "title": "Funnel plot of area non-intervention rates",
                "alt": "Each area's own (unpooled) rate against its effective cohort size, with "
                       "95% and 99.8% control limits around the national rate.",
                "data": {"x": [float(x) for x in prec],
                         "y": [float(y) for y in ft["unpooled"]],
                         "labels": [str(a) for a in ft["area"]], "flags": flags,
                         "grid": [float(g) for g in grid], "limits": limits, "national": nat,
                         "binary": binary}})
            n_out = sum("99.8" in f for f in flags)
            paras.append(f"Funnel plot: {n_out} of {len(ft)} areas lie outside the 99.8% "
                         "control limits; many areas outside the limits mean one national rate "
                         "does not fit.")
        if left_out:
            paras.append(f"{left_out} areas with fewer than {thr} people in the programme or in "
                         "the comparison pool are left out of the funnel plot (disclosure "
                         "control).")
    if tariffs is not None:
        # expected_outcomes (a model projection of a count per area) is left out
        tf = tariffs.to_frame().drop(columns=["expected_outcomes"], errors="ignore")
        merged, k = _merged_tariffs(tf, thr)
        merged["area"] = merged["area"].astype(str)
        money = {"price", "band_lower", "band_upper", "national_price", "payment_at_area_price",
                 "payment_at_national_price", "misallocation", "misallocation_per_person"}
        rates = {"non_intervention", "non_intervention_ci_lower", "non_intervention_ci_upper",
                 "expected_rate", "minimum_performance_level"}
        fmts = {c: ("gbp" if c in money else "pct" if c in rates else
                    "int" if c == "n_treated" else "num" if c == "expected_outcomes" else "text")
                for c in merged.columns}
        nat = dict(tariffs.national)
        total = float(getattr(tariffs, "total_misallocated", float("nan")))
        paras.append(
            f"One national price (GBP {float(nat.get('price', float('nan'))):,.0f} per outcome) "
            f"would pay GBP {total:,.0f} to the wrong areas: over-paying where outcomes would "
            "have happened anyway and under-paying where they are harder to achieve."
            + (f" {k} areas with fewer than {thr} people in the programme are merged into one "
               "row (disclosure control)." if k else ""))
        ttab = _table(merged, name="area_tariffs", title="Area tariffs",
                      labels={"n_treated": "people in programme",
                              "minimum_performance_level": "minimum performance level"},
                      formats=fmts)
        ttab["display"] = [c for c in ("area", "n_treated", "non_intervention",
                                       "minimum_performance_level", "price", "national_price",
                                       "misallocation", "misallocation_per_person")
                           if c in merged.columns]
        tables.append(ttab)
        bars = merged[[isinstance(v, float) for v in merged["misallocation"]]]
        bars = bars.sort_values("misallocation")
        if len(bars):
            plots.append({
                "kind": "misallocation", "title": "Money misallocated by a single national price",
                "alt": "Over-payment (+) or under-payment (-) of each area under one national "
                       "price. Small areas are merged.",
                "data": {"labels": [str(a) for a in bars["area"]],
                         "values": [float(v) for v in bars["misallocation"]]}})
    return _section("areas", AREAS_TITLE, paragraphs=paras, tables=tables, plots=plots)
