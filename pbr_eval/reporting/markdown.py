"""Render a report context as Markdown (tables as pipe tables, figures as PNG files).

Every text from the data is escaped with
:func:`~pbr_eval.reporting.safety.escape_markdown` (Markdown renders inline
HTML, so HTML is escaped too).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pbr_eval.reporting.formatting import cell_format, format_value
from pbr_eval.reporting.safety import escape_markdown as esc

__all__ = ["render_markdown"]


def _table(t: dict[str, Any]) -> list[str]:
    cols = t["columns"]
    if t.get("display"):  # a curated subset for reading; the workbook has every column
        cols = [c for c in cols if c["key"] in t["display"]]
    lines = [f"**{esc(t['title'])}**", "",
             "| " + " | ".join(esc(c["label"]) for c in cols) + " |",
             "|" + "|".join(":---" if c["fmt"] == "text" else "---:" for c in cols) + "|"]
    for row in t["rows"]:
        lines.append("| " + " | ".join(esc(format_value(row.get(c["key"]), cell_format(row, c)))
                                       for c in cols) + " |")
    return lines + [""]


def render_markdown(ctx: dict[str, Any],
                    figure_link: Callable[[dict[str, Any], int], str | None] | None = None) -> str:
    """Render a context as Markdown.

    Parameters
    ----------
    ctx : dict
        From :func:`~pbr_eval.reporting.context.build_context`.
    figure_link : callable, optional
        Called with each plot and its number; returns the relative path of the
        saved PNG (or None to leave the figure out).
    """
    out = [f"# {esc(ctx['title'])}", "", f"_{esc(ctx['subtitle'])}_", "",
           f"Generated {esc(ctx['generated'])}.", ""]
    for w in ctx["warnings"]:
        out += [f"> **{esc(w)}**", ""]
    if ctx["headline"]:
        out += ["## Headline", ""] + [f"> {esc(h)}\n>" for h in ctx["headline"]] + [""]
    k = 0
    for s in ctx["sections"]:
        if s.get("optional") and not s["available"]:
            continue
        out += [f"## {esc(s['title'])}", ""]
        if not s["available"]:
            out += [f"_Not available: {esc(s['reason'])}._", ""]
            continue
        for p in s["paragraphs"]:
            out += [esc(p), ""]
        for t in s["tables"]:
            out += _table(t)
        for p in s["plots"]:
            k += 1
            link = figure_link(p, k) if figure_link else None
            if link:
                out += [f"![{esc(p.get('alt', p.get('title', '')))}]({link})", ""]
    out += ["## Provenance", "", esc(ctx["disclosure"]["text"]), ""]
    for key, v in ctx["provenance"].items():
        if isinstance(v, dict):
            v = ", ".join(f"{a} {b}" for a, b in v.items())
        out.append(f"- **{esc(key)}**: {esc(v)}")
    return "\n".join(out) + "\n"
