"""Report figures: a thin shim over :mod:`pbr_eval.figures` (kept until the reports switch).

Every figure is drawn by the one function registered in
:data:`pbr_eval.figures.FIGURES`, the same function ``results.plot(name)``
uses. This module keeps the old entry points, which take a report-context
plot dictionary ``{"kind", "title", "alt", "data"}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pbr_eval.figures import FIGURES
from pbr_eval.figures import draw as _draw
from pbr_eval.figures import render_png as _render_png

__all__ = ["FIGURES", "render_png", "draw"]


def draw(plot: Mapping[str, Any]) -> Any:
    """Draw a context plot and return its matplotlib Figure."""
    ax = _draw(plot["kind"], plot["data"], title="")
    fig = ax.figure
    fig.suptitle(plot.get("title", ""), fontsize=11)
    fig.tight_layout()
    return fig


def render_png(plot: Mapping[str, Any]) -> bytes:
    """PNG bytes of a context plot: :func:`pbr_eval.figures.render_png` of its kind and data."""
    return _render_png(plot["kind"], plot["data"], title=str(plot.get("title", "")))
