"""Turn the typed report model into text, by kind (shared by the HTML and Markdown writers)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pbr_eval.glossary import method_words, options_text, plain_name, provenance_label
from pbr_eval.kinds import Column, format_value, resolve_kind
from pbr_eval.reporting.model import Paragraph, Table, Value

__all__ = ["value_text", "paragraph_text", "cell_text", "shown_columns", "is_text_column",
           "provenance_items", "provenance_json"]


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


def _versions_text(versions: Mapping[str, Any]) -> str:
    return ", ".join(f"{'pbr-eval' if k == 'pbr_eval' else plain_name(str(k))} {v}"
                     for k, v in versions.items())


def provenance_items(prov: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Provenance as (label, text) pairs a reader sees: labels and values in words (:mod:`pbr_eval.glossary`).

    The machine-readable copy, with the keys, is :func:`provenance_json`.
    """
    out = []
    for k, v in prov.items():
        key = str(k)
        if key == "options" and isinstance(v, Mapping):
            text = options_text(v) or "none"
        elif key == "versions" and isinstance(v, Mapping):
            text = _versions_text(v)
        elif key == "method":
            text = method_words(v)
        elif isinstance(v, Mapping):
            text = ", ".join(f"{plain_name(str(a))} {b}" for a, b in v.items())
        else:
            text = "not recorded" if v is None else str(plain_name(v) if isinstance(v, str)
                                                        else v)
        out.append((provenance_label(key), text))
    return out


def provenance_json(prov: Mapping[str, Any]) -> str:
    r"""Return provenance with its keys as JSON, safe inside HTML or a comment (no ``<``, ``>``, ``&``).

    Parameters
    ----------
    prov : mapping
        A report's provenance.

    Returns
    -------
    str

    Examples
    --------
    >>> print(provenance_json({"data_fingerprint": "<ab>"}))
    {
     "data_fingerprint": "\u003cab\u003e"
    }
    """
    text = json.dumps(prov, default=str, sort_keys=False, indent=1)
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
