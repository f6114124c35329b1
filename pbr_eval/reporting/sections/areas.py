"""The "Local areas" section: area rates (small areas merged), funnel and tariffs."""

from __future__ import annotations

from typing import Any

from pbr_eval.disclosure import MARKER
from pbr_eval.exceptions import OptionError
from pbr_eval.kinds import finite_number
from pbr_eval.reporting import model as rm
from pbr_eval.reporting.model import Paragraph, ReportInputs, Section, Table, Value, section
from pbr_eval.reporting.sections._bridge import schema_of
from pbr_eval.reporting.sections._common import figure, frame_rows, not_available, pct

__all__ = ["areas_section", "AREAS_TITLE"]

AREAS_TITLE = "Local areas"

_MERGED_MONEY = ("payment_at_area_price", "payment_at_national_price", "misallocation")


def _labelled(obj: Any, name: str, inputs: ReportInputs, where: dict[str, int], table: str,
              column: str, title: str, alt: str) -> rm.Figure | None:
    """Figure ``name`` of an area result, its points tied (by area) to ``table``'s ``column``."""
    fig = figure(obj, name, inputs, title, alt)
    if fig is None:
        return None
    data = dict(fig.data)
    series = [k for k, v in data.items() if isinstance(v, list) and k not in ("grid",)
              and len(v) == len(data["labels"])]
    keep = [k for k, lab in enumerate(data["labels"]) if str(lab) in where]
    for k in series:
        data[k] = [data[k][i] for i in keep]
    points = tuple(rm.Cell(table, where[str(lab)], column) for lab in data["labels"])
    return rm.Figure(name, title, alt, data, points=points, series=tuple(series))


def _rates_part(areas: Any, inputs: ReportInputs) -> tuple[list[Any], list[Table],
                                                          list[rm.Figure]]:
    policy, thr = inputs.policy, inputs.policy.threshold
    binary = areas.outcome_type == "binary"
    dt = areas.disclosure_table(policy=policy, level=inputs.level)
    is_note = dt["area"].astype(str).eq("Note") & dt["n_treated"].astype(str).eq("")
    dt = dt.loc[~is_note].reset_index(drop=True)
    dt["area"] = dt["area"].astype(str)
    from pbr_eval.areas.disclosure import published_schema

    schema = published_schema(areas.outcome_type)
    rows = frame_rows(dt, schema.names)
    # the area counts add up to the programme's and the pool's published sizes
    table = Table("areas", "Area non-intervention rates", schema, rows,
                  sums=(("n_treated", None), ("n_comparison", None)))
    nat = float(areas.national_rate)
    paras: list[Any] = [Paragraph(
        "Each area's non-intervention rate for '{outcome}' is estimated from its own comparison "
        "data and partially pooled: small areas borrow strength from the others (shrinkage is "
        "the share borrowed). The national rate is {nat}. Intervals are {pct}% confidence "
        "intervals.", outcome=Value(str(areas.outcome), "text"),
        nat=Value(nat, "rate" if binary else "mean"), pct=pct(inputs.level)),
        Paragraph("Areas with fewer than {thr} people in the programme are merged into one "
                  "row; counts that are small, or that would let a small one be worked out "
                  "from the totals, are shown as {marker}, with the observed rates they would "
                  "reveal.", thr=Value(thr, "integer"), marker=Value(MARKER, "text"))]
    # the figures are the results' own published data (drawn by pbr_eval.figures); a point
    # whose area the table does not show, or whose count it hides, is left out
    where = {r["area"]: i for i, r in enumerate(rows)}
    figures = [f for f in (
        _labelled(areas, "area_ranked", inputs, where, "areas", "non_intervention",
                  "Area non-intervention rates, ranked",
                  "Pooled non-intervention rate of each area with its interval, ranked; the "
                  "dashed line is the national rate. Small areas are merged."),
        _labelled(areas, "funnel", inputs, where, "areas", "n_treated",
                  "Funnel plot of area non-intervention rates",
                  "Each area's own (unpooled) rate against its effective cohort size, with "
                  "control limits around the national rate.")) if f is not None]
    funnel = next((f for f in figures if f.name == "funnel"), None)
    shown_in_funnel = len(funnel.data["labels"]) if funnel else 0
    left_out = len(areas.to_frame()) - shown_in_funnel
    if funnel is not None:
        n_out = sum("99.8" in str(f) for f in funnel.data.get("flags", []))
        paras.append(Paragraph(
            "Funnel plot: {k} of {n} areas lie outside the outer control limits ({outer}); many "
            "areas outside the limits mean one national rate does not fit.",
            k=Value(n_out, "integer"), n=Value(shown_in_funnel, "integer"),
            outer=Value(0.998, "probability")))
    if left_out:
        paras.append(Paragraph(
            "{k} areas with fewer than {thr} people in the programme or in the comparison pool, "
            "or whose count is hidden, are left out of the funnel plot (disclosure control).",
            k=Value(left_out, "integer"), thr=Value(thr, "integer")))
    return paras, [table], figures


def _tariffs_part(tariffs: Any, inputs: ReportInputs, rates: Table | None
                  ) -> tuple[list[Any], list[Table], list[rm.Figure], list[rm.Relation],
                             list[rm.Link]]:
    thr = inputs.policy.threshold
    # the engine's published table (small areas merged); expected_outcomes (a model
    # projection of a count per area) is left out
    merged = tariffs.disclosure_table(min_count=thr).drop(columns=["expected_outcomes"],
                                                          errors="ignore")
    merged["area"] = merged["area"].astype(str)
    k = int((tariffs.to_frame()["n_treated"].to_numpy(dtype=float) < thr).sum())
    schema = schema_of(tariffs, merged)
    if schema is None:
        raise OptionError("`area_tariffs` declares no kinds for its columns; pass the "
                          "AreaTariffs from pbr_eval.areas.area_tariffs().")
    # the merged row has no area-specific rates or prices: not computable, not blank text
    rows = tuple({k: (None if v == "" and schema.kind(k) != "text" else v) for k, v in r.items()}
                 for r in frame_rows(merged, schema.names))
    display = tuple(c for c in ("area", "n_treated", "non_intervention",
                                "minimum_performance_level", "price", "national_price",
                                "misallocation", "misallocation_per_person") if c in schema)
    table = Table("area_tariffs", "Area tariffs", schema, rows, display=display,
                  sums=(("n_treated", None),))
    # an area's money (payments, misallocation: its people x a rate x a price) reveals its
    # count: every amount of a row is hidden with the row's count
    links = [rm.Link(rm.Cell("area_tariffs", i, "n_treated"), rm.Cell("area_tariffs", i, c.name))
             for i in range(len(rows)) for c in schema if c.kind == "money"]
    # each area's count is the same in both tables: hidden in one, hidden in the other
    relations = []
    if rates is not None:
        where = {r["area"]: i for i, r in enumerate(rates.rows)}
        relations = [rm.Relation(rm.Cell("areas", where[r["area"]], "n_treated"),
                              (rm.Cell("area_tariffs", i, "n_treated"),))
                     for i, r in enumerate(rows) if r["area"] in where]
    nat = dict(getattr(tariffs, "national", {}) or {})
    total = finite_number(getattr(tariffs, "total_misallocated", None))
    paras: list[Any] = []
    if total is not None:
        paras.append(Paragraph(
            "One national price ({price} per outcome) would pay {total} to the wrong areas: "
            "over-paying where outcomes would have happened anyway and under-paying where they "
            "are harder to achieve.", price=Value(nat.get("price"), "money"),
            total=Value(total, "money")))
    if k:
        paras.append(Paragraph("{k} areas with fewer than {thr} people in the programme are "
                               "merged into one row (disclosure control).",
                               k=Value(k, "integer"), thr=Value(thr, "integer")))
    where = {r["area"]: i for i, r in enumerate(rows)}
    fig = _labelled(tariffs, "misallocation", inputs, where, "area_tariffs", "misallocation",
                    "Money misallocated by a single national price",
                    "Over-payment (+) or under-payment (-) of each area under one national "
                    "price. Small areas are merged; areas whose count is hidden are left out.")
    figures = [fig] if fig is not None else []
    return paras, [table], figures, relations, links


@section("areas", title=AREAS_TITLE, order={"pilot": 85, "tariff": 95},
         needs=("areas", "area_tariffs"), sheet="Areas", optional=True)
def areas_section(inputs: ReportInputs) -> Section:
    """Area non-intervention rates (small areas merged), funnel plot and area tariffs."""
    areas, tariffs = inputs.get("areas"), inputs.get("area_tariffs")
    if areas is None and tariffs is None:
        return not_available("areas", AREAS_TITLE, "no area rates were given (areas=...)")
    if areas is not None and not hasattr(areas, "disclosure_table"):
        raise OptionError("`areas` must be an AreaRates from pbr_eval.areas.area_rates(); got "
                          f"{type(areas).__name__}.")
    if tariffs is not None and not (hasattr(tariffs, "to_frame")
                                    and hasattr(tariffs, "national")):
        raise OptionError("`area_tariffs` must be an AreaTariffs from "
                          f"pbr_eval.areas.area_tariffs(); got {type(tariffs).__name__}.")
    paras: list[Any] = []
    tables: list[Table] = []
    figures: list[rm.Figure] = []
    relations: list[rm.Relation] = []
    links: list[rm.Link] = []
    if areas is not None:
        p, t, f = _rates_part(areas, inputs)
        paras += p
        tables += t
        figures += f
    if tariffs is not None:
        p, t, f, r, lk = _tariffs_part(tariffs, inputs, tables[0] if tables else None)
        paras += p
        tables += t
        figures += f
        relations += r
        links += lk
    return Section("areas", AREAS_TITLE, paragraphs=tuple(paras), tables=tuple(tables),
                   figures=tuple(figures), relations=tuple(relations), links=tuple(links))
