"""Render a built report as one self-contained HTML file.

Inline CSS, figures embedded as base64 PNG, no scripts (provenance's
machine-readable copy is JSON in a ``<template>``, which browsers never show) and no external resources, so the file can be e-mailed, archived and printed (A4, tables and
figures kept whole across pages). Every text that came from the data passes
through :func:`~pbr_eval.reporting.safety.escape_html`.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

from pbr_eval.figures import render_png
from pbr_eval.reporting.model import Figure, Paragraph, Report, Table
from pbr_eval.reporting.safety import escape_html as esc
from pbr_eval.reporting.text import (
    cell_text,
    is_text_column,
    paragraph_text,
    provenance_items,
    provenance_json,
    shown_columns,
)

__all__ = ["render_html", "CSS"]

CSS = """
:root { --ink:#1b1b1b; --muted:#555; --accent:#1f5fa8; --warn:#8a1c1c; --rule:#d6d6d6; }
* { box-sizing: border-box; }
body { font-family: "Segoe UI", Helvetica, Arial, sans-serif; color: var(--ink);
       max-width: 78rem; margin: 2rem auto; padding: 0 1.2rem; line-height: 1.45; }
p, ul, ol, .headline, .warning, dl.prov, figure { max-width: 60rem; }  /* lines to read */
h1 { font-size: 1.7rem; margin-bottom: .2rem; color: var(--accent); }
h2 { font-size: 1.25rem; border-bottom: 2px solid var(--rule); padding-bottom: .2rem;
     margin-top: 2rem; }
.subtitle, .meta { color: var(--muted); }
.headline { background: #eef4fb; border-left: 5px solid var(--accent); padding: .8rem 1rem;
            font-size: 1.08rem; }
.headline p { margin: .4rem 0; }
.warning { background: #fdecea; border: 3px solid var(--warn); color: var(--warn);
           padding: .8rem 1rem; font-weight: 700; margin: 1rem 0; }
.na { color: var(--muted); font-style: italic; }
.note { color: var(--muted); font-size: .9rem; }
table { border-collapse: collapse; width: 100%; margin: .8rem 0; font-size: .88rem; }
th, td { border-bottom: 1px solid var(--rule); padding: .3rem .45rem; text-align: right; }
th { background: #f3f3f3; vertical-align: bottom; hyphens: auto; }
td.num { white-space: nowrap; }
td.text, th.text { text-align: left; }
.scroll { overflow-x: auto; }
caption { text-align: left; font-weight: 600; padding: .3rem 0; }
figure { margin: 1rem 0; text-align: center; }
figure img { max-width: 100%; height: auto; }
figcaption { color: var(--muted); font-size: .85rem; }
dl.prov { display: grid; grid-template-columns: max-content 1fr; gap: .15rem 1rem;
          font-size: .85rem; }
dl.prov dt { font-weight: 600; } dl.prov dd { margin: 0; word-break: break-all; }
@media print {
  body { margin: 0; max-width: none; font-size: 10.5pt; }
  h2 { break-after: avoid; page-break-after: avoid; }
  table, figure, .headline, .warning { break-inside: avoid; page-break-inside: avoid; }
  .scroll { overflow: visible; } table { font-size: 8.5pt; }
  a { color: inherit; text-decoration: none; }
}
@page { size: A4; margin: 16mm; }
"""


def _table(t: Table, currency: str) -> str:
    cols = shown_columns(t)
    head = "".join(
        f'<th class="{"text" if is_text_column(c) else "num"}" scope="col">{esc(c.label)}</th>'
        for c in cols)
    body = []
    for row in t.rows:
        cells = "".join(f'<td class="{"text" if is_text_column(c) else "num"}">'
                        f"{esc(cell_text(row, c, currency))}</td>" for c in cols)
        body.append(f"<tr>{cells}</tr>")
    return (f'<div class="scroll"><table data-name="{esc(t.name)}">'
            f"<caption>{esc(t.title)}</caption>"
            f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></div>")


def _figure(f: Figure) -> str:
    data = base64.b64encode(render_png(f.name, f.data, title=f.title)).decode("ascii")
    return (f'<figure data-plot="{esc(f.name)}"><img src="data:image/png;base64,{data}" '
            f'alt="{esc(f.alt or f.title)}"><figcaption>{esc(f.alt)}</figcaption></figure>')


def _provenance(prov: Mapping[str, Any]) -> str:
    items = "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in provenance_items(prov))
    # the machine-readable copy (the keys): a <template> is never rendered
    data = (f'<template id="pbr-eval-provenance" data-format="json">'
            f"{provenance_json(prov)}</template>")
    return f'<dl class="prov">{items}</dl>{data}'


def render_html(report: Report) -> str:
    """Render a built report (:func:`~pbr_eval.reporting.build.build_report`) as HTML.

    Returns
    -------
    str
        A complete, self-contained HTML document.
    """
    cur = report.currency

    def para(p: str | Paragraph) -> str:
        return esc(paragraph_text(p, cur))

    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{esc(report.title)}</title><style>{CSS}</style></head><body>",
        f"<header><h1>{esc(report.title)}</h1>",
        f'<p class="subtitle">{para(report.subtitle)}</p>',
        f'<p class="meta">Generated {esc(report.generated)} by pbr-eval '
        f'{esc(report.provenance.get("pbr_eval") or "")}.</p></header>',
    ]
    for s in report.sections:
        if s.id in report.optional and not s.available:
            continue
        if s.role == "warning":
            parts += [f'<div class="warning" role="alert">{para(p)}</div>' for p in s.paragraphs]
            continue
        if s.role == "headline":
            parts.append(f'<section class="headline" id="{esc(s.id)}">'
                         + "".join(f"<p>{para(p)}</p>" for p in s.paragraphs) + "</section>")
            continue
        parts.append(f'<section id="{esc(s.id)}"><h2>{esc(s.title)}</h2>')
        if not s.available:
            parts.append(f'<p class="na">Not available: {esc(s.reason)}.</p></section>')
            continue
        parts += [f"<p>{para(p)}</p>" for p in s.paragraphs]
        parts += [_table(t, cur) for t in s.tables]
        parts += [_figure(f) for f in s.figures]
        parts += [f'<p class="note">{para(p)}</p>' for p in s.notes]
        parts.append("</section>")
    parts.append('<section id="provenance"><h2>Provenance</h2>'
                 f"<p>{para(report.disclosure)}</p>{_provenance(report.provenance)}"
                 "</section>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
