"""Turn the typed report model into text, by kind (shared by the HTML and Markdown writers)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pbr_eval.kinds import Column, format_value, resolve_kind
from pbr_eval.reporting.model import Paragraph, Table, Value

__all__ = ["value_text", "paragraph_text", "cell_text", "shown_columns", "is_text_column",
           "provenance_items"]


def value_text(v: Value, currency: str) -> str:
    """Return a sentence's number formatted by its kind (the marker when hidden)."""
    return format_value(v.value, v.kind, currency=currency)


def paragraph_text(p: str | Paragraph, currency: str) -> str:
    """Return a paragraph as plain text."""
    if isinstance(p, str):
        return p
    return p.render(lambda v: value_text(v, currency))


def cell_text(row: Mapping[str, Any], col: Column, currency: str) -> str:
    """One table cell formatted by its column's kind (resolved for the row)."""
    return format_value(row.get(col.name), resolve_kind(col, row), currency=currency)


def shown_columns(table: Table) -> list[Column]:
    """Return the columns HTML and Markdown show (the display subset when the table is wide)."""
    cols = list(table.schema)
    if table.display:
        cols = [c for c in cols if c.name in table.display]
    return cols


def is_text_column(col: Column) -> bool:
    """Return True for text columns (left-aligned)."""
    return col.kind == "text"


def provenance_items(prov: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Provenance as (key, text) pairs."""
    out = []
    for k, v in prov.items():
        if isinstance(v, Mapping):
            v = ", ".join(f"{a} {b}" for a, b in v.items())
        out.append((str(k), str(v)))
    return out
