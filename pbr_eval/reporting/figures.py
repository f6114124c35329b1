"""Report figures drawn from the context's aggregate plot data (matplotlib, Agg).

Each figure is drawn from a context ``plot`` dictionary (aggregates only, with
disclosure control already applied) and returned as PNG bytes; no pyplot
state is used, so drawing is safe in threads and never opens a window.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

__all__ = ["FIGURES", "render_png", "draw"]

_BLUE, _ORANGE, _GREY, _RED = "#1f5fa8", "#d9822b", "#888888", "#b22222"


def _love(fig: Figure, d: dict[str, Any]) -> None:
    names = list(d["covariates"])
    ax = fig.add_subplot(1, 1, 1)
    y = list(range(len(names)))
    before = [abs(v) if v is not None else None for v in d["before"]]
    after = [abs(v) if v is not None else None for v in d["after"]]
    ax.scatter([v for v in before if v is not None], [i for i, v in zip(y, before, strict=True) if v is not None],
               marker="o", facecolors="none", edgecolors=_ORANGE, label="before", zorder=3)
    ax.scatter([v for v in after if v is not None], [i for i, v in zip(y, after, strict=True) if v is not None],
               marker="o", color=_BLUE, label="after", zorder=3)
    ax.axvline(d.get("threshold", 0.1), color=_GREY, linestyle="--", linewidth=1)
    ax.set_yticks(y)
    ax.set_yticklabels([n[:40] for n in names])
    ax.invert_yaxis()
    ax.set_xlabel("absolute standardised mean difference")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12 - 0.4 / max(len(names), 4)),
              ncol=2, frameon=False)
    ax.grid(axis="x", alpha=0.3)


def _overlap(fig: Figure, d: dict[str, Any]) -> None:
    ax = fig.add_subplot(1, 1, 1)
    edges = d["edges"]
    width = [b - a for a, b in zip(edges[:-1], edges[1:], strict=True)]
    ax.bar(edges[:-1], d["comparison"], width=width, align="edge", color=_GREY, alpha=0.6,
           label="comparison pool", edgecolor="white")
    ax.bar(edges[:-1], d["treated"], width=width, align="edge", color=_BLUE, alpha=0.6,
           label="programme", edgecolor="white")
    ax.set_xlabel(d.get("label", "propensity score"))
    ax.set_ylabel("share of group")
    ax.legend(frameon=False)


def _price_curve(fig: Figure, d: dict[str, Any]) -> None:
    ax = fig.add_subplot(1, 1, 1)
    for i, line in enumerate(d["lines"]):
        color = [_BLUE, _ORANGE, "#2e8b57", "#6a5acd", _RED, _GREY][i % 6]
        ax.plot(line["x"], line["price"], color=color, label=line["label"])
        lo, hi = line["band"]
        if lo == lo and hi == hi:  # not NaN
            ax.axvspan(lo, hi, color=color, alpha=0.15)
        ax.plot([line["estimate"]], [line["price_at_estimate"]], "o", color=color)
        rec = line.get("recommended")
        if rec is not None and rec == rec and rec > 0:
            ax.axhline(rec, color=color, linestyle="-.", linewidth=0.8)
            ax.annotate("recommended", (line["x"][0], rec), textcoords="offset points",
                        xytext=(3, 3), fontsize=8, color=color)
        ax.axvline(line["tipping_point"], color=color, linestyle=":", linewidth=1)
        ax.annotate("tipping point", (line["tipping_point"], 0), textcoords="offset points",
                    xytext=(3, 8), fontsize=8, color=color)
        if line.get("floor") is not None:
            ax.axhline(line["floor"], color=color, linestyle="--", linewidth=0.8)
    ax.set_xlabel("non-intervention rate")
    ax.set_ylabel("price per outcome (GBP)")
    ax.set_ylim(bottom=0)
    ax.legend(frameon=False)
    ax.grid(alpha=0.3)


def _payments(fig: Figure, d: dict[str, Any]) -> None:
    ax = fig.add_subplot(1, 1, 1)
    edges = d["edges"]
    ax.stairs(d["counts"], edges, fill=True, color=_BLUE, alpha=0.6, label="simulated total")
    if d.get("budget") is not None:
        ax.axvline(d["budget"], color=_RED, linestyle="--", label="budget")
    if d.get("value") is not None:
        ax.axvline(d["value"], color="#2e8b57", linestyle=":", label="value created (mean)")
    ax.set_xlabel("total outcome payments (GBP)")
    ax.set_ylabel("simulations")
    ax.legend(frameon=False)


def _cash(fig: Figure, d: dict[str, Any]) -> None:
    ax = fig.add_subplot(1, 1, 1)
    ax.plot(d["x"], d["y"], color=_BLUE, marker=".")
    ax.axhline(0, color=_GREY, linewidth=1)
    if d["y"]:
        low = min(d["y"])
        ax.annotate(f"lowest: GBP {low:,.0f}", (d["x"][d["y"].index(low)], low),
                    textcoords="offset points", xytext=(5, -12), fontsize=8)
    ax.set_xlabel("month")
    ax.set_ylabel("cash position (GBP)")
    ax.grid(alpha=0.3)


def _area_ranked(fig: Figure, d: dict[str, Any]) -> None:
    ax = fig.add_subplot(1, 1, 1)
    y = list(range(len(d["labels"])))
    for i, lo, hi in zip(y, d["lower"], d["upper"], strict=True):
        if lo is not None and hi is not None:
            ax.hlines(i, lo, hi, color=_BLUE, linewidth=1)
    ax.plot(d["estimate"], y, "o", color=_BLUE, markersize=4, label="pooled rate")
    ax.axvline(d["national"], color="black", linestyle="--", linewidth=1, label="national rate")
    if len(y) <= 40:
        ax.set_yticks(y)
        ax.set_yticklabels([str(s)[:30] for s in d["labels"]], fontsize=7)
    else:
        ax.set_yticks([])
    ax.set_xlabel(f"non-intervention rate: {d.get('outcome', '')}")
    ax.legend(loc="lower right", fontsize=7, frameon=False)
    ax.grid(axis="x", alpha=0.3)


def _funnel(fig: Figure, d: dict[str, Any]) -> None:
    ax = fig.add_subplot(1, 1, 1)
    for (lab, (lo, hi)), style in zip(d["limits"].items(), ("--", ":"), strict=False):
        ax.plot(d["grid"], lo, style, color=_GREY, linewidth=1, label=f"{lab} limits")
        ax.plot(d["grid"], hi, style, color=_GREY, linewidth=1)
    ax.axhline(d["national"], color="black", linewidth=1, label="national rate")
    out = ["99.8" in f for f in d["flags"]]
    ax.plot([x for x, o in zip(d["x"], out, strict=True) if not o],
            [y for y, o in zip(d["y"], out, strict=True) if not o], "o", color=_BLUE, ms=4)
    ax.plot([x for x, o in zip(d["x"], out, strict=True) if o],
            [y for y, o in zip(d["y"], out, strict=True) if o], "o", color=_RED, ms=4,
            label="outside 99.8% limits")
    for x, y, lab, o in zip(d["x"], d["y"], d["labels"], out, strict=True):
        if o:
            ax.annotate(str(lab)[:20], (x, y), fontsize=6, xytext=(3, 3),
                        textcoords="offset points")
    ax.set_xscale("log")
    ax.set_xlabel("effective cohort size" if d.get("binary") else "precision (1 / SE^2)")
    ax.set_ylabel("area's own non-intervention rate")
    ax.legend(fontsize=7, frameon=False)


def _misallocation(fig: Figure, d: dict[str, Any]) -> None:
    ax = fig.add_subplot(1, 1, 1)
    y = list(range(len(d["labels"])))
    ax.barh(y, d["values"], color=[_RED if v > 0 else _BLUE for v in d["values"]])
    ax.axvline(0, color="black", linewidth=1)
    if len(y) <= 40:
        ax.set_yticks(y)
        ax.set_yticklabels([str(s)[:30] for s in d["labels"]], fontsize=7)
    else:
        ax.set_yticks([])
    ax.set_xlabel("over-payment (+) / under-payment (-) under one national price (GBP)")


#: Plot kind -> drawing function.
FIGURES: dict[str, Callable[[Figure, dict[str, Any]], None]] = {
    "love": _love,
    "overlap": _overlap,
    "price_curve": _price_curve,
    "payments": _payments,
    "cash": _cash,
    "area_ranked": _area_ranked,
    "funnel": _funnel,
    "misallocation": _misallocation,
}


def draw(plot: dict[str, Any]) -> Figure:
    """Draw a context plot as a matplotlib Figure."""
    n = len(plot["data"].get("covariates", [])) if plot["kind"] == "love" else 0
    if plot["kind"] in ("area_ranked", "misallocation"):
        n = min(len(plot["data"]["labels"]), 40)
    fig = Figure(figsize=(7.0, max(3.2, 0.28 * n + 1.2)), dpi=100)
    FigureCanvasAgg(fig)
    FIGURES[plot["kind"]](fig, plot["data"])
    fig.suptitle(plot.get("title", ""), fontsize=11)
    fig.tight_layout()
    return fig


_CACHE: dict[str, bytes] = {}


def render_png(plot: dict[str, Any]) -> bytes:
    """Draw a context plot and return PNG bytes (deterministic: no timestamp).

    The same plot drawn for several formats of one report is drawn once (a
    small cache keyed on the plot's data).
    """
    key = json.dumps(plot, sort_keys=True, default=str)
    if key in _CACHE:
        return _CACHE[key]
    fig = draw(plot)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    if len(_CACHE) > 32:
        _CACHE.clear()
    _CACHE[key] = buf.getvalue()
    return _CACHE[key]
