"""Render a report context as one self-contained HTML file.

Inline CSS, figures embedded as base64 PNG, no scripts and no external
resources, so the file can be e-mailed, archived and printed (A4, tables and
figures kept whole across pages). Every text that came from the data passes
through :func:`~pbr_eval.reporting.safety.escape_html`.
"""

from __future__ import annotations

import base64
from typing import Any

from pbr_eval.reporting.figures import render_png
from pbr_eval.reporting.formatting import cell_format, format_value
from pbr_eval.reporting.safety import escape_html as esc

__all__ = ["render_html", "CSS"]

CSS = """
:root { --ink:#1b1b1b; --muted:#555; --accent:#1f5fa8; --warn:#8a1c1c; --rule:#d6d6d6; }
* { box-sizing: border-box; }
body { font-family: "Segoe UI", Helvetica, Arial, sans-serif; color: var(--ink);
       max-width: 60rem; margin: 2rem auto; padding: 0 1.2rem; line-height: 1.45; }
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
table { border-collapse: collapse; width: 100%; margin: .8rem 0; font-size: .88rem; }
th, td { border-bottom: 1px solid var(--rule); padding: .3rem .45rem; text-align: right; }
th { background: #f3f3f3; vertical-align: bottom; }
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


def _table(t: dict[str, Any]) -> str:
    cols = t["columns"]
    if t.get("display"):  # a curated subset for reading; the workbook has every column
        cols = [c for c in cols if c["key"] in t["display"]]
    head = "".join(
        f'<th class="{"text" if c["fmt"] == "text" else "num"}" scope="col">{esc(c["label"])}</th>'
        for c in cols
    )
    body = []
    for row in t["rows"]:
        cells = []
        for c in cols:
            fmt = cell_format(row, c)
            cls = "text" if fmt == "text" else "num"
            cells.append(f'<td class="{cls}">{esc(format_value(row.get(c["key"]), fmt))}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (f'<div class="scroll"><table data-name="{esc(t["name"])}">'
            f'<caption>{esc(t["title"])}</caption>'
            f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></div>")


def _figure(p: dict[str, Any]) -> str:
    data = base64.b64encode(render_png(p)).decode("ascii")
    return (f'<figure data-plot="{esc(p["kind"])}"><img src="data:image/png;base64,{data}" '
            f'alt="{esc(p.get("alt", p.get("title", "")))}">'
            f"<figcaption>{esc(p.get('alt', ''))}</figcaption></figure>")


def _provenance(prov: dict[str, Any]) -> str:
    items = []
    for k, v in prov.items():
        if isinstance(v, dict):
            v = ", ".join(f"{a} {b}" for a, b in v.items())
        items.append(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>")
    return f'<dl class="prov">{"".join(items)}</dl>'


def render_html(ctx: dict[str, Any]) -> str:
    """Render a context (from :func:`~pbr_eval.reporting.context.build_context`) as HTML.

    Returns
    -------
    str
        A complete, self-contained HTML document.
    """
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{esc(ctx['title'])}</title><style>{CSS}</style></head><body>",
        f"<header><h1>{esc(ctx['title'])}</h1>",
        f'<p class="subtitle">{esc(ctx["subtitle"])}</p>',
        f'<p class="meta">Generated {esc(ctx["generated"])} by pbr_eval '
        f'{esc(ctx["provenance"].get("pbr_eval") or "")}.</p></header>',
    ]
    for w in ctx["warnings"]:
        parts.append(f'<div class="warning" role="alert">{esc(w)}</div>')
    if ctx["headline"]:
        parts.append('<section class="headline" id="headline">'
                     + "".join(f"<p>{esc(h)}</p>" for h in ctx["headline"]) + "</section>")
    for s in ctx["sections"]:
        if s.get("optional") and not s["available"]:
            continue
        parts.append(f'<section id="{esc(s["id"])}"><h2>{esc(s["title"])}</h2>')
        if not s["available"]:
            parts.append(f'<p class="na">Not available: {esc(s["reason"])}.</p></section>')
            continue
        parts += [f"<p>{esc(p)}</p>" for p in s["paragraphs"]]
        parts += [_table(t) for t in s["tables"]]
        parts += [_figure(p) for p in s["plots"]]
        parts.append("</section>")
    parts.append('<section id="provenance"><h2>Provenance</h2>'
                 f'<p>{esc(ctx["disclosure"]["text"])}</p>{_provenance(ctx["provenance"])}'
                 "</section>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
