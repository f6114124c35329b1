"""Reports: build a plain context from results, render it as HTML, Markdown or Excel.

No estimation happens here: :func:`build_context` reads results and pricing
objects (aggregates only, disclosure control applied) and the renderers
format the context.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from pbr_eval.disclosure import SUPPRESSED, WITHHELD, DisclosurePolicy
from pbr_eval.exceptions import OptionError
from pbr_eval.options import DEFAULT_DISCLOSURE_THRESHOLD, DEFAULT_LEVEL, DEFAULT_MIN_TREATED
from pbr_eval.reporting.context import REPORT_KINDS, build_context
from pbr_eval.reporting.excel import write_workbook
from pbr_eval.reporting.figures import render_png
from pbr_eval.reporting.html import render_html
from pbr_eval.reporting.markdown import render_markdown
from pbr_eval.reporting.safety import confine, safe_filename

__all__ = [
    "REPORT_KINDS",
    "RENDERERS",
    "DisclosurePolicy",
    "SUPPRESSED",
    "WITHHELD",
    "build_context",
    "render_html",
    "render_markdown",
    "write_workbook",
    "write_report",
]


def _write_html(ctx: dict[str, Any], path: Path) -> list[Path]:
    path.write_text(render_html(ctx), encoding="utf-8")
    return [path]


def _write_markdown(ctx: dict[str, Any], path: Path) -> list[Path]:
    written: list[Path] = []
    fig_dir_name = safe_filename(path.stem) + "_figures"

    def link(plot: dict[str, Any], k: int) -> str:
        rel = f"{fig_dir_name}/{k:02d}_{safe_filename(plot['kind'])}.png"
        target = confine(path.parent, rel)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(render_png(plot))
        written.append(target)
        return rel

    path.write_text(render_markdown(ctx, link), encoding="utf-8")
    return [path, *written]


def _write_excel(ctx: dict[str, Any], path: Path) -> list[Path]:
    return [write_workbook(ctx, path)]


#: File suffix -> writer(context, path) returning the files written.
RENDERERS: dict[str, Callable[[dict[str, Any], Path], list[Path]]] = {
    ".html": _write_html,
    ".htm": _write_html,
    ".md": _write_markdown,
    ".xlsx": _write_excel,
}


def write_report(
    results: Any,
    path: str | Path,
    *,
    pricing: Any = None,
    sensitivity: Any = None,
    kind: str = "pilot",
    title: str | None = None,
    level: float = DEFAULT_LEVEL,
    threshold: int = DEFAULT_DISCLOSURE_THRESHOLD,
    min_cohort: int = DEFAULT_MIN_TREATED,
    generated: str | None = None,
    provenance: Mapping[str, Any] | None = None,
    claims: Any = None,
    areas: Any = None,
    area_tariffs: Any = None,
) -> list[Path]:
    """Write one report; the format follows the suffix of ``path``.

    See :func:`pbr_eval.report` (the public front door) for the parameters.

    Returns
    -------
    list of Path
        Every file written (Markdown also writes its figures as PNG files in
        ``<name>_figures/`` beside it).
    """
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in RENDERERS:
        raise OptionError(
            f"`path` must end in one of {', '.join(map(repr, RENDERERS))}; got '{p.name}'. "
            "Choose .html for the report, .md for Markdown or .xlsx for the workbook."
        )
    policy = DisclosurePolicy(threshold=threshold, min_cohort=min_cohort)
    ctx = build_context(results, pricing=pricing, sensitivity=sensitivity, kind=kind,
                        title=title, level=level, policy=policy, provenance=provenance,
                        generated=generated, claims=claims, areas=areas,
                        area_tariffs=area_tariffs)
    p.parent.mkdir(parents=True, exist_ok=True)
    return RENDERERS[suffix](ctx, p)
