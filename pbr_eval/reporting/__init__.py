"""Reports: typed sections from a registry, rendered as HTML, Markdown or Excel.

No estimation happens here. :func:`~pbr_eval.reporting.build.build_report`
runs the sections registered with :func:`~pbr_eval.reporting.model.section`
for the report kind and applies disclosure control to all of them at once;
the writers in :data:`RENDERERS` (chosen by the file's suffix) format the
result by column kind. See docs/ARCHITECTURE.md for adding a section.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from pbr_eval.disclosure import MARKER, SUPPRESSED, WITHHELD, DisclosurePolicy
from pbr_eval.exceptions import OptionError
from pbr_eval.figures import render_png
from pbr_eval.kinds import DEFAULT_CURRENCY
from pbr_eval.reporting.build import OPTIONS, build, build_report, report_inputs
from pbr_eval.reporting.excel import write_workbook
from pbr_eval.reporting.html import render_html
from pbr_eval.reporting.markdown import render_markdown
from pbr_eval.reporting.model import (
    REPORT_KINDS,
    SECTIONS,
    Figure,
    Report,
    report_parts,
    section,
    sections_for,
    sheets_for,
)
from pbr_eval.reporting.safety import confine, safe_filename

__all__ = [
    "REPORT_KINDS",
    "RENDERERS",
    "SECTIONS",
    "OPTIONS",
    "DisclosurePolicy",
    "MARKER",
    "SUPPRESSED",
    "WITHHELD",
    "Report",
    "build",
    "build_report",
    "report_inputs",
    "report_parts",
    "section",
    "sections_for",
    "sheets_for",
    "render_html",
    "render_markdown",
    "write_workbook",
    "write_report",
    "is_whatif_page",
]


def _write_html(report: Report, path: Path) -> list[Path]:
    from pbr_eval.io import write_text

    return [write_text(path, render_html(report))]


def _write_markdown(report: Report, path: Path) -> list[Path]:
    from pbr_eval.io import write_bytes, write_text

    written: list[Path] = []
    fig_dir_name = safe_filename(path.stem) + "_figures"

    def link(fig: Figure, k: int) -> str:
        rel = f"{fig_dir_name}/{k:02d}_{safe_filename(fig.name)}.png"
        target = confine(path.parent, rel)
        target.parent.mkdir(parents=True, exist_ok=True)
        written.append(write_bytes(target, render_png(fig.name, fig.data, title=fig.title)))
        return rel

    text = render_markdown(report, link)
    return [write_text(path, text), *written]


class LiveWorkbookReport:
    """A tariff report with prices, for the live workbook: the built report and its parts.

    :func:`write_report` hands this to ``RENDERERS[".xlsx"]`` instead of the bare
    :class:`Report` when a tariff report has a price recommendation, so the workbook
    writer can build its inputs and evidence from the results and the pricing bundle.
    """

    def __init__(self, report: Report, results: Any, pricing: Any) -> None:
        self.report, self.results, self.pricing = report, results, pricing


def _write_excel(report: Report, path: Path) -> list[Path]:
    if isinstance(report, LiveWorkbookReport):  # inputs, evidence and formulas
        from pbr_eval.reporting.workbook import write_tariff_workbook

        built = report.report
        return [write_tariff_workbook(report.results, path, pricing=report.pricing,
                                      title=built.title, generated=built.generated,
                                      currency=built.currency)]
    return [write_workbook(report, path)]


#: File suffix -> writer(report, path) returning the files written.
RENDERERS: dict[str, Callable[[Report, Path], list[Path]]] = {
    ".html": _write_html,
    ".htm": _write_html,
    ".md": _write_markdown,
    ".xlsx": _write_excel,
}


def is_whatif_page(path: str | Path) -> bool:
    """Whether ``path`` names the what-if page (an ``.html`` file whose name holds "whatif").

    Examples
    --------
    >>> is_whatif_page("out/whatif.html"), is_whatif_page("tariff.html")
    (True, False)
    """
    p = Path(path)
    return p.suffix.lower() in (".html", ".htm") and "whatif" in p.stem.lower().replace("-", "")


def write_report(results: Any, path: str | Path, **options: Any) -> list[Path]:
    """Write one report; the format follows the suffix of ``path``.

    See :func:`pbr_eval.report` (the public front door) for the options and
    parts.

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
    if is_whatif_page(p):  # the what-if page: the pricing inputs, explored in the browser
        from pbr_eval.reporting.whatif_page import write_whatif

        p.parent.mkdir(parents=True, exist_ok=True)
        return [write_whatif(options.get("pricing"), p, title=options.get("title"),
                             generated=options.get("generated"),
                             currency=options.get("currency") or DEFAULT_CURRENCY,
                             results=results)]
    report = build(results, **options)
    p.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".xlsx" and report.kind == "tariff":
        from pbr_eval.reporting.workbook import _recommendation

        pricing = options.get("pricing")
        if _recommendation(pricing) is not None:  # the live tariff workbook
            live = LiveWorkbookReport(report, results, pricing)
            return RENDERERS[suffix](live, p)  # type: ignore[arg-type]
    return RENDERERS[suffix](report, p)
