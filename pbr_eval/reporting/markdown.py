"""Render a built report as Markdown (tables as pipe tables, figures as PNG files).

Every text from the data is escaped with
:func:`~pbr_eval.reporting.safety.escape_markdown` (Markdown renders inline
HTML, so HTML is escaped too).
"""

from __future__ import annotations

from collections.abc import Callable

from pbr_eval.reporting.model import Figure, Paragraph, Report, Table
from pbr_eval.reporting.safety import escape_markdown as esc
from pbr_eval.reporting.text import (
    cell_text,
    is_text_column,
    paragraph_text,
    provenance_items,
    provenance_json,
    shown_columns,
)

__all__ = ["render_markdown"]


def _table(t: Table, currency: str) -> list[str]:
    cols = shown_columns(t)
    lines = [f"**{esc(t.title)}**", "",
             "| " + " | ".join(esc(c.label) for c in cols) + " |",
             "|" + "|".join(":---" if is_text_column(c) else "---:" for c in cols) + "|"]
    for row in t.rows:
        lines.append("| " + " | ".join(esc(cell_text(row, c, currency)) for c in cols) + " |")
    return lines + [""]


def render_markdown(report: Report,
                    figure_link: Callable[[Figure, int], str | None] | None = None) -> str:
    """Render a built report as Markdown.

    Parameters
    ----------
    report : Report
        From :func:`~pbr_eval.reporting.build.build_report`.
    figure_link : callable, optional
        Called with each figure and its number; returns the relative path of the
        saved PNG (or None to leave the figure out).
    """
    cur = report.currency

    def para(p: str | Paragraph) -> str:
        return esc(paragraph_text(p, cur))

    out = [f"# {esc(report.title)}", "", f"_{para(report.subtitle)}_", "",
           f"Generated {esc(report.generated)}.", ""]
    k = 0
    for s in report.sections:
        if s.id in report.optional and not s.available:
            continue
        if s.role == "warning":
            out += [line for p in s.paragraphs for line in (f"> **{para(p)}**", "")]
            continue
        if s.role == "headline":
            out += ["## Headline", ""] + [f"> {para(p)}\n>" for p in s.paragraphs] + [""]
            continue
        out += [f"## {esc(s.title)}", ""]
        if not s.available:
            out += [f"_Not available: {esc(s.reason)}._", ""]
            continue
        for p in s.paragraphs:
            out += [para(p), ""]
        for t in s.tables:
            out += _table(t, cur)
        for f in s.figures:
            k += 1
            link = figure_link(f, k) if figure_link else None
            if link:
                out += [f"![{esc(f.alt or f.title)}]({link})", ""]
        for p in s.notes:
            out += [f"_{para(p)}_", ""]
    out += ["## Provenance", "", para(report.disclosure), ""]
    out += [f"- **{esc(key)}**: {esc(v)}" for key, v in provenance_items(report.provenance)]
    # the machine-readable copy (the keys), in a comment a Markdown viewer does not show
    json_text = provenance_json(report.provenance).replace("--", "\\u002d\\u002d")
    out += ["", f"<!-- pbr-eval provenance (JSON)\n{json_text}\n-->"]
    return "\n".join(out) + "\n"
