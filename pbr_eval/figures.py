r"""Every figure pbr_eval draws: one function per figure, from plain data.

A figure is drawn by one function, registered by name in :data:`FIGURES`,
from a plain dictionary of numbers and labels (aggregates only). The same
function draws the figure for ``results.plot(name)`` and for the reports:
results objects build the data with ``figure_data(name)``
(:class:`~pbr_eval.results.base.HasFigures`), reports embed
:func:`render_png` of that data.

Drawing uses matplotlib's object API on an Agg canvas: no pyplot state, no
window, safe in threads.

The figures and their data
--------------------------
``love``
    ``covariates`` (labels), ``before`` / ``after`` (standardised mean
    differences; ``None`` where withheld), ``threshold``, ``absolute``
    (default True: plot |SMD|).
``overlap``
    ``edges`` (score band edges), ``treated`` / ``comparison`` (share of each
    group per band, before adjustment), optional ``treated_after`` /
    ``comparison_after`` (after adjustment, weighted), ``label`` (x axis),
    ``suppressed_bins`` (bands left blank by disclosure control).
``price_curve``
    ``lines``: per paid outcome ``label``, ``x`` (rates), ``price``,
    ``estimate``, ``price_at_estimate``, ``recommended``, ``band``,
    ``tipping_point``, ``floor``.
``price_sensitivity``
    ``x`` (rates), ``ceiling``, optional ``price``, ``estimate``,
    ``interval``.
``payments``
    ``edges`` and ``counts`` (histogram of simulated totals), optional
    ``budget`` and ``value``.
``cash``
    ``x`` (months), ``y`` (cumulative cash position).
``area_ranked``
    ``labels``, ``estimate`` (pooled), ``lower`` / ``upper``, optional
    ``unpooled``, ``national``, ``outcome``.
``funnel``
    ``x`` (precision), ``y`` (unpooled rate), ``labels``, ``flags``,
    ``grid``, ``limits`` (label -> [lower, upper] along ``grid``),
    ``national``, ``binary``.
``misallocation``
    ``labels``, ``values`` (money over- (+) or under- (-) paid).
``event_study``
    ``event_time`` (periods since the start), ``estimate``, ``lower`` /
    ``upper`` (pointwise interval), ``band_lower`` / ``band_upper``
    (simultaneous band; ``None`` where not computed), ``outcome``, ``level``;
    a point withheld by disclosure control is ``None``.
``parallel_trends``
    ``bound`` (the bounds on the departure from parallel trends), ``lower`` /
    ``upper`` (the interval at each bound; ``None`` where empty), ``original``
    (``[lower, upper]`` assuming parallel trends), ``estimate``, ``breakdown``
    (``None`` if not reached), ``xlabel``, ``outcome``, ``level``.
``synthetic_path``
    ``period``, ``observed`` (the programme areas' mean), ``non_intervention``
    (their estimated path without the programme), ``start`` (the first
    programme period), ``outcome``, ``label`` (the method, in words).

Every text a figure shows (titles, axis and tick labels, legend entries,
annotations) passes through :func:`pbr_eval.io.clean_text`, the function the
report writers use: labels come from column, group and area names, so control
characters and Unicode bidi controls are removed, and a ``$`` is escaped so
that matplotlib never reads a label as maths (``"$x$"`` is shown as typed).

Every data dictionary may carry ``currency`` (default
:data:`~pbr_eval.kinds.DEFAULT_CURRENCY`) for money axes.

Examples
--------
>>> ax = draw("misallocation", {"labels": ["North", "South"], "values": [1200.0, -800.0]})
>>> ax.get_xlabel()
'over-payment (+) / under-payment (-) under one national price (£)'
>>> render_png("cash", {"x": [1, 2, 3], "y": [-5.0, -8.0, 2.0]}, title="Cash")[:4]
b'\x89PNG'
"""

from __future__ import annotations

import io
import json
import math
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.text import Text

from pbr_eval.exceptions import OptionError
from pbr_eval.io import clean_text
from pbr_eval.kinds import DEFAULT_CURRENCY, format_value

__all__ = ["FIGURES", "FIGURE_TITLES", "draw", "render_png", "new_axes"]

_BLUE, _ORANGE, _GREY, _RED, _GREEN = "#1f5fa8", "#d9822b", "#888888", "#b22222", "#2e8b57"
_UNESCAPED_DOLLAR = re.compile(r"(?<!\\)\$")
_LINE_COLOURS = (_BLUE, _ORANGE, _GREEN, "#6a5acd", _RED, _GREY)


def _currency(d: Mapping[str, Any]) -> str:
    return str(d.get("currency") or DEFAULT_CURRENCY)


def _finite(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _love(ax: Axes, d: Mapping[str, Any]) -> None:
    names = [str(n) for n in d["covariates"]]
    absolute = bool(d.get("absolute", True))
    y = list(range(len(names)))

    def prep(values: Sequence[Any]) -> tuple[list[float], list[int]]:
        xs, ys = [], []
        for i, v in zip(y, values, strict=True):
            if _finite(v):
                xs.append(abs(v) if absolute else float(v))
                ys.append(i)
        return xs, ys

    bx, by = prep(d["before"])
    axx, ay = prep(d["after"])
    ax.scatter(bx, by, marker="o", facecolors="none", edgecolors=_ORANGE, label="before",
               zorder=3)
    ax.scatter(axx, ay, marker="o", color=_BLUE, label="after", zorder=3)
    thr = float(d.get("threshold", 0.1))
    for v in ([thr] if absolute else [-thr, thr]):
        ax.axvline(v, color=_GREY, linestyle="--", linewidth=1)
    if not absolute:
        ax.axvline(0, color="black", linewidth=0.6)
    ax.set_yticks(y)
    ax.set_yticklabels([_label(n[:40]) for n in names])  # re-made when drawn
    ax.invert_yaxis()
    ax.set_xlabel("absolute standardised mean difference" if absolute
                  else "standardised mean difference")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12 - 0.4 / max(len(names), 4)),
              ncol=2, frameon=False)
    ax.grid(axis="x", alpha=0.3)


def _overlap(ax: Axes, d: Mapping[str, Any]) -> None:
    edges = [float(e) for e in d["edges"]]
    width = [b - a for a, b in zip(edges[:-1], edges[1:], strict=True)]
    after = d.get("comparison_after") is not None or d.get("treated_after") is not None
    when = " (before adjustment)" if after else ""
    ax.bar(edges[:-1], d["comparison"], width=width, align="edge", color=_GREY, alpha=0.6,
           label="comparison pool" + when, edgecolor="white")
    ax.bar(edges[:-1], d["treated"], width=width, align="edge", color=_BLUE, alpha=0.6,
           label="programme" + when, edgecolor="white")
    if d.get("comparison_after") is not None:
        ax.stairs(d["comparison_after"], edges, color=_ORANGE, linewidth=1.5,
                  label="comparison after adjustment")
    if d.get("treated_after") is not None:
        ax.stairs(d["treated_after"], edges, color=_BLUE, linewidth=1.0, linestyle="--",
                  label="programme after adjustment")
    ax.set_xlabel(d.get("label", "propensity score"))
    ax.set_ylabel("share of group")
    ax.legend(frameon=False)


def _price_curve(ax: Axes, d: Mapping[str, Any]) -> None:
    for i, line in enumerate(d["lines"]):
        color = _LINE_COLOURS[i % len(_LINE_COLOURS)]
        ax.plot(line["x"], line["price"], color=color, label=line["label"])
        lo, hi = line["band"]
        if _finite(lo) and _finite(hi):
            ax.axvspan(lo, hi, color=color, alpha=0.15)
        ax.plot([line["estimate"]], [line["price_at_estimate"]], "o", color=color)
        rec = line.get("recommended")
        if _finite(rec) and rec > 0:
            ax.axhline(rec, color=color, linestyle="-.", linewidth=0.8)
            ax.annotate("recommended", (line["x"][0], rec), textcoords="offset points",
                        xytext=(3, 3), fontsize=8, color=color)
        ax.axvline(line["tipping_point"], color=color, linestyle=":", linewidth=1)
        ax.annotate("tipping point", (line["tipping_point"], 0), textcoords="offset points",
                    xytext=(3, 8), fontsize=8, color=color)
        if line.get("floor") is not None:
            ax.axhline(line["floor"], color=color, linestyle="--", linewidth=0.8)
    ax.set_xlabel("non-intervention rate")
    ax.set_ylabel(f"price per outcome ({_currency(d)})")
    ax.set_ylim(bottom=0)
    ax.legend(frameon=False)
    ax.grid(alpha=0.3)


def _price_sensitivity(ax: Axes, d: Mapping[str, Any]) -> None:
    x = [float(v) for v in d["x"]]
    y = [float(v) for v in d["ceiling"]]
    ax.plot(x, y, color="#1f4e79", lw=2, label="most worth paying per outcome")
    interval = d.get("interval")
    if interval is not None:
        ax.axvspan(interval[0], interval[1], color="#9dc3e6", alpha=0.35,
                   label="confidence interval of the rate")
    if d.get("estimate") is not None:
        ax.axvline(d["estimate"], color="#1f4e79", ls="--", lw=1, label="estimated rate")
    price = d.get("price")
    if price is not None:
        ax.axhline(price, color="#c00000", lw=1.2,
                   label=f"price paid ({format_value(price, 'money', currency=_currency(d))})")
        over = [v < price for v in y]
        if any(over):
            ax.fill_between(x, y, price, where=over, color="#c00000", alpha=0.12,
                            label="paying for deadweight")
    ax.set_xlabel("non-intervention rate (outcomes per person without the programme)")
    ax.set_ylabel(f"price per outcome ({_currency(d)})")
    finite = [v for v in y if math.isfinite(v)]
    ax.set_ylim(bottom=min([0.0, *finite]))
    ax.legend(fontsize=8, frameon=False)


def _payments(ax: Axes, d: Mapping[str, Any]) -> None:
    ax.stairs(d["counts"], d["edges"], fill=True, color=_BLUE, alpha=0.6,
              label="simulated total")
    if d.get("budget") is not None:
        ax.axvline(d["budget"], color=_RED, linestyle="--", label="budget")
    if d.get("value") is not None:
        ax.axvline(d["value"], color=_GREEN, linestyle=":", label="value created (mean)")
    ax.set_xlabel(f"total outcome payments ({_currency(d)})")
    ax.set_ylabel("simulations")
    ax.legend(frameon=False)


def _cash(ax: Axes, d: Mapping[str, Any]) -> None:
    xs, ys = list(d["x"]), [float(v) for v in d["y"]]
    ax.plot(xs, ys, color=_BLUE, marker=".")
    ax.axhline(0, color=_GREY, linewidth=1)
    if ys:
        low = min(ys)
        ax.annotate(f"lowest: {format_value(low, 'money', currency=_currency(d))}",
                    (xs[ys.index(low)], low), textcoords="offset points", xytext=(5, -12),
                    fontsize=8)
    ax.set_xlabel("month")
    ax.set_ylabel(f"cash position ({_currency(d)})")
    ax.grid(alpha=0.3)


def _area_ranked(ax: Axes, d: Mapping[str, Any]) -> None:
    y = list(range(len(d["labels"])))
    for i, lo, hi in zip(y, d["lower"], d["upper"], strict=True):
        if _finite(lo) and _finite(hi):
            ax.hlines(i, lo, hi, color=_BLUE, linewidth=1)
    ax.plot(d["estimate"], y, "o", color=_BLUE, markersize=4, label="pooled rate")
    if d.get("unpooled") is not None:
        pts = [(v, i) for v, i in zip(d["unpooled"], y, strict=True) if _finite(v)]
        ax.plot([p[0] for p in pts], [p[1] for p in pts], "o", mfc="none", color=_GREY,
                markersize=4, label="own data only (unpooled)")
    ax.axvline(d["national"], color="black", linestyle="--", linewidth=1, label="national rate")
    if len(y) <= 40:
        ax.set_yticks(y)
        ax.set_yticklabels([_label(str(s)[:30]) for s in d["labels"]], fontsize=7)
    else:
        ax.set_yticks([])
        ax.set_ylabel(f"{len(y)} areas, ranked")
    ax.set_xlabel(f"non-intervention rate: {d.get('outcome', '')}".rstrip(": "))
    ax.legend(loc="lower right", fontsize=7, frameon=False)
    ax.grid(axis="x", alpha=0.3)


def _funnel(ax: Axes, d: Mapping[str, Any]) -> None:
    for (lab, (lo, hi)), style in zip(d["limits"].items(), ("--", ":"), strict=False):
        ax.plot(d["grid"], lo, style, color=_GREY, linewidth=1, label=f"{lab} limits")
        ax.plot(d["grid"], hi, style, color=_GREY, linewidth=1)
    ax.axhline(d["national"], color="black", linewidth=1, label="national rate")
    out = ["99.8" in str(f) for f in d["flags"]]
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


def _misallocation(ax: Axes, d: Mapping[str, Any]) -> None:
    y = list(range(len(d["labels"])))
    ax.barh(y, d["values"], color=[_RED if v > 0 else _BLUE for v in d["values"]])
    ax.axvline(0, color="black", linewidth=1)
    if len(y) <= 40:
        ax.set_yticks(y)
        ax.set_yticklabels([_label(str(s)[:30]) for s in d["labels"]], fontsize=7)
    else:
        ax.set_yticks([])
    ax.set_xlabel("over-payment (+) / under-payment (-) under one national price "
                  f"({_currency(d)})")


#: Figure name -> the one function that draws it onto a matplotlib Axes from plain data.
def _event_study(ax: Axes, d: Mapping[str, Any]) -> None:
    pts = [(e, v, lo, hi, blo, bhi) for e, v, lo, hi, blo, bhi in zip(
        d["event_time"], d["estimate"], d["lower"], d["upper"], d["band_lower"],
        d["band_upper"], strict=True) if _finite(v)]
    level = float(d.get("level", 0.95))
    for k, (e, _v, _lo, _hi, blo, bhi) in enumerate(pts):
        if _finite(blo) and _finite(bhi):
            ax.fill_between([e - 0.3, e + 0.3], blo, bhi, color=_BLUE, alpha=0.18, linewidth=0,
                            label=f"{level:.0%} band, all at once" if k == 0 else "_nolegend_")
    for k, (e, _v, lo, hi, _blo, _bhi) in enumerate(pts):
        if _finite(lo) and _finite(hi):
            ax.vlines(e, lo, hi, color=_BLUE, linewidth=1.2,
                      label=f"{level:.0%} interval, each" if k == 0 else "_nolegend_")
    ax.plot([p[0] for p in pts], [p[1] for p in pts], "o", color=_BLUE, markersize=4,
            label="effect")
    ax.axhline(0.0, color="black", linewidth=0.8)
    ax.axvline(-0.5, color=_GREY, linestyle="--", linewidth=1, label="start")
    ax.set_xlabel("periods since the start")
    ax.set_ylabel(f"effect on {d.get('outcome', 'the outcome')}")
    ax.legend(loc="upper left", fontsize=7, frameon=False)
    ax.grid(alpha=0.3)


def _parallel_trends(ax: Axes, d: Mapping[str, Any]) -> None:
    """Intervals against the bound, the original interval first (Rambachan & Roth's plot)."""
    level = float(d.get("level", 0.95))
    bounds = [float(b) for b in d["bound"]]
    step = (max(bounds) - min(bounds)) / max(len(bounds) - 1, 1) if len(bounds) > 1 else 1.0
    x0 = min(bounds) - step if bounds else 0.0
    lo, hi = d["original"]
    if _finite(lo) and _finite(hi):
        ax.vlines(x0, lo, hi, color=_ORANGE, linewidth=2.2,
                  label=f"{level:.0%} interval if trends are parallel")
    pts = [(b, lo_, hi_) for b, lo_, hi_ in zip(bounds, d["lower"], d["upper"], strict=True)
           if _finite(lo_) and _finite(hi_)]
    for k, (b, lo_, hi_) in enumerate(pts):
        ax.vlines(b, lo_, hi_, color=_BLUE, linewidth=2.2,
                  label=f"{level:.0%} interval allowing the departure" if k == 0 else "_nolegend_")
    ax.axhline(0.0, color="black", linewidth=0.8)
    bd = d.get("breakdown")
    if bd is not None and _finite(bd) and bounds and min(bounds) <= float(bd) <= max(bounds) + step:
        ax.axvline(float(bd), color=_RED, linestyle="--", linewidth=1,
                   label="breakdown: the interval reaches zero")
    ticks = [x0, *bounds]
    ax.set_xticks(ticks)
    ax.set_xticklabels(["parallel", *[f"{b:.3g}" for b in bounds]], fontsize=7)
    ax.set_xlabel(str(d.get("xlabel", "bound")))
    ax.set_ylabel(f"effect on {d.get('outcome') or 'the outcome'}")
    ax.legend(loc="upper left", fontsize=7, frameon=False)
    ax.grid(alpha=0.3)


def _survival(ax: Axes, d: Mapping[str, Any]) -> None:
    """Step curves (survival or cumulative incidence) with pointwise bands; ``None`` gaps."""
    times = [float(t) for t in d["times"]]
    level = float(d.get("level", 0.95))
    for k, (curve, colour) in enumerate(zip(d["curves"], (_BLUE, _ORANGE), strict=False)):
        pts = [(t, v, lo, hi) for t, v, lo, hi in zip(
            times, curve["estimate"], curve["lower"], curve["upper"], strict=True) if _finite(v)]
        if not pts:
            continue
        xs = [p[0] for p in pts]
        ax.step(xs, [p[1] for p in pts], where="post", color=colour, linewidth=1.6,
                label=curve["label"])
        band = [(p[0], p[2], p[3]) for p in pts if _finite(p[2]) and _finite(p[3])]
        if band:
            ax.fill_between([b[0] for b in band], [b[1] for b in band], [b[2] for b in band],
                            step="post", color=colour, alpha=0.15, linewidth=0,
                            label=f"{level:.0%} intervals" if k == 0 else "_nolegend_")
    ax.axvline(float(d["window"]), color="black", linestyle="--", linewidth=0.8,
               label="window")
    ax.set_xlabel(f"{d.get('unit', 'days')} since the start of follow-up")
    ax.set_ylabel("share free of the outcome" if d.get("scale") == "survival"
                  else "share who have had the outcome")
    ax.set_ylim(0.0, 1.0) if d.get("scale") == "survival" else ax.set_ylim(bottom=0.0)
    ax.legend(loc="best", fontsize=7, frameon=False)
    ax.grid(alpha=0.3)


def _synthetic_path(ax: Axes, d: Mapping[str, Any]) -> None:
    x = list(d["period"])
    ax.plot(x, [v if _finite(v) else float("nan") for v in d["observed"]], "-", color=_BLUE,
            linewidth=1.6, label="programme area(s), observed")
    ax.plot(x, [v if _finite(v) else float("nan") for v in d["non_intervention"]], "--",
            color=_ORANGE, linewidth=1.6,
            label=f"without the programme ({d.get('label', 'synthetic control')})")
    if _finite(d.get("start")):
        ax.axvline(float(d["start"]) - 0.5, color=_GREY, linestyle=":", linewidth=1,
                   label="start")
    ax.set_xlabel("period")
    ax.set_ylabel(str(d.get("outcome", "outcome")))
    ax.legend(loc="best", fontsize=7, frameon=False)
    ax.grid(alpha=0.3)


FIGURES: dict[str, Callable[[Axes, Mapping[str, Any]], None]] = {
    "love": _love,
    "overlap": _overlap,
    "price_curve": _price_curve,
    "price_sensitivity": _price_sensitivity,
    "payments": _payments,
    "cash": _cash,
    "area_ranked": _area_ranked,
    "funnel": _funnel,
    "misallocation": _misallocation,
    "event_study": _event_study,
    "parallel_trends": _parallel_trends,
    "survival": _survival,
    "incidence": _survival,
    "synthetic_path": _synthetic_path,
}

#: Figure name -> a plain-English default title.
FIGURE_TITLES: dict[str, str] = {
    "love": "Covariate balance: standardised mean differences",
    "overlap": "Overlap of propensity scores",
    "price_curve": "Price against the non-intervention rate",
    "price_sensitivity": "Value-for-money price by non-intervention rate",
    "payments": "Distribution of total payments",
    "cash": "Monthly cash position of the provider",
    "area_ranked": "Area non-intervention rates, ranked",
    "funnel": "Funnel plot of area non-intervention rates",
    "misallocation": "Money misallocated by a single national price",
    "event_study": "Effect by periods since the start, with its band",
    "parallel_trends": "The effect's interval as parallel trends are allowed to fail",
    "survival": "Share free of the outcome, with and without the programme",
    "incidence": "Share who have had the outcome, with and without the programme",
    "synthetic_path": "The programme areas with and without the programme",
}


def _check_name(name: str) -> str:
    if name not in FIGURES:
        raise OptionError(
            f"`name` must be one of {', '.join(map(repr, FIGURES))}; got {name!r}."
        )
    return name


def _size(name: str, data: Mapping[str, Any]) -> tuple[float, float]:
    n = 0
    if name == "love":
        n = len(data.get("covariates", []))
    elif name in ("area_ranked", "misallocation"):
        n = min(len(data.get("labels", [])), 40)
    return 7.0, max(3.2, 0.28 * n + 1.2)


def _texts(artist: Any) -> set[int]:
    return {id(t) for t in artist.findobj(Text)}


def _label(text: str) -> str:
    """Return ``text`` cleaned (:func:`pbr_eval.io.clean_text`), its ``$`` shown as typed."""
    return _UNESCAPED_DOLLAR.sub(r"\\$", clean_text(text, max_length=None))


def _clean_labels(artist: Any, before: Collection[int] = ()) -> None:
    """Clean every text of ``artist`` not in ``before`` (ids of texts to leave alone)."""
    for text in artist.findobj(Text):
        if id(text) not in before:
            raw = text.get_text()
            cleaned = _label(raw)
            if cleaned != raw:
                text.set_text(cleaned)


def new_axes(name: str, data: Mapping[str, Any]) -> Axes:
    """Return a fresh Axes on its own Agg figure, sized for figure ``name`` and its ``data``."""
    fig = Figure(figsize=_size(_check_name(name), data), dpi=100)
    FigureCanvasAgg(fig)
    return fig.add_subplot(1, 1, 1)


def draw(name: str, data: Mapping[str, Any], ax: Axes | None = None, *,
         title: str | None = None) -> Axes:
    """Draw figure ``name`` from ``data`` and return the matplotlib Axes.

    Parameters
    ----------
    name : str
        A key of :data:`FIGURES`.
    data : mapping
        The figure's plain data (see the module docstring), e.g. from a
        results object's ``figure_data(name)``.
    ax : matplotlib.axes.Axes, optional
        Where to draw (default: a new figure; save it with
        ``ax.figure.savefig("figure.png")``).
    title : str, optional
        Axes title (default: none when ``ax`` is given, else
        :data:`FIGURE_TITLES`).

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    OptionError
        When ``name`` is not a registered figure.

    Examples
    --------
    >>> ax = draw("love", {"covariates": ["age", "prior offences"], "before": [0.4, -0.3],
    ...                    "after": [0.05, 0.02], "threshold": 0.1})
    >>> ax.get_xlabel()
    'absolute standardised mean difference'
    """
    fn = FIGURES[_check_name(name)]
    own = ax is None
    if ax is None:
        ax = new_axes(name, data)
    before: Collection[int] = () if own else _texts(ax)  # the caller's own texts stay
    fn(ax, data)
    if title is None and own:
        title = FIGURE_TITLES.get(name)
    if title:
        ax.set_title(title)
    _clean_labels(ax, before)
    if own:
        own_fig: Any = ax.figure  # a Figure (new_axes makes one), typed Figure | SubFigure
        own_fig.tight_layout()
    return ax


_CACHE: dict[str, bytes] = {}


def render_png(name: str, data: Mapping[str, Any], *, title: str = "") -> bytes:
    r"""Draw figure ``name`` from ``data`` and return PNG bytes (no timestamp: deterministic).

    The same figure drawn for several formats of one report is drawn once (a
    small cache keyed on the name, title and data).

    Examples
    --------
    >>> png = render_png("payments", {"edges": [0.0, 1.0, 2.0], "counts": [3, 5]})
    >>> png[:4]
    b'\x89PNG'
    """
    _check_name(name)
    key = json.dumps([name, title, data], sort_keys=True, default=str)
    if key in _CACHE:
        return _CACHE[key]
    ax = new_axes(name, data)
    FIGURES[name](ax, data)
    fig: Any = ax.figure
    fig.suptitle(title, fontsize=11)
    _clean_labels(fig)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    if len(_CACHE) > 32:
        _CACHE.clear()
    _CACHE[key] = buf.getvalue()
    return _CACHE[key]
