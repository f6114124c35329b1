"""Format context values as text (shared by the HTML and Markdown renderers)."""

from __future__ import annotations

import math
from typing import Any

from pbr_eval.disclosure import is_hidden

__all__ = ["format_value", "cell_format"]


def cell_format(row: dict[str, Any], column: dict[str, Any]) -> str:
    """The format of one cell: the row's own override, else the column's."""
    return (row.get("_fmt") or {}).get(column["key"], column.get("fmt", "text"))


def format_value(value: Any, fmt: str) -> str:
    """Format one value.

    Examples
    --------
    >>> format_value(0.2467, "pct"), format_value(-0.031, "pp"), format_value(1234.5, "gbp")
    ('24.7%', '-3.1 pp', 'GBP 1,234')
    >>> format_value("[c]", "int")
    '[c]'
    """
    if value is None:
        return "n/a"
    if is_hidden(value) or isinstance(value, str) or isinstance(value, bool):
        return str(value)
    try:
        v = float(value)
    except (TypeError, ValueError):
        return str(value)
    if not math.isfinite(v):
        return "n/a"
    if fmt == "pct":
        return f"{v:.1%}"
    if fmt == "pp":
        return f"{v * 100:+.1f} pp"
    if fmt == "gbp":
        return f"GBP {v:,.0f}" if v >= 0 else f"-GBP {-v:,.0f}"
    if fmt == "int":
        return f"{v:,.0f}"
    if fmt == "ratio":
        return f"{v:.2f}"
    if fmt == "num":
        return f"{v:.3g}" if abs(v) < 1e-3 and v != 0 else f"{v:,.3f}"
    return str(value)
