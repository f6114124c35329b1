"""Area figures: the data behind the ranked, funnel and misallocation plots.

The figures are drawn by :mod:`pbr_eval.figures` (``"area_ranked"``,
``"funnel"``, ``"misallocation"``), the same functions the reports use; this
module builds their plain data from area tables and holds the funnel-plot
control limits (:func:`funnel_limits`).
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from pbr_eval.exceptions import OptionError

__all__ = ["funnel_limits", "ranked_figure_data", "funnel_figure_data",
           "misallocation_figure_data"]


def funnel_limits(
    target: float, precision: np.ndarray, *, level: float, binary: bool
) -> tuple[np.ndarray, np.ndarray]:
    r"""Funnel-plot control limits around ``target`` (Spiegelhalter 2005).

    Parameters
    ----------
    target : float
        The rate areas are compared with (here the pooled national rate).
    precision : numpy.ndarray
        For a rate, the effective cohort size :math:`n` (the limits are
        :math:`\theta_0 \pm z\sqrt{\theta_0(1-\theta_0)/n}`, clipped to [0, 1]);
        for a mean, :math:`1/\mathrm{SE}^2` (limits :math:`\theta_0 \pm z/\sqrt{w}`).
    level : float
        Two-sided coverage, e.g. 0.95 or 0.998.
    binary : bool
        Whether the indicator is a rate.

    Returns
    -------
    lower, upper : numpy.ndarray

    Examples
    --------
    >>> lo, hi = funnel_limits(0.3, np.array([100.0]), level=0.95, binary=True)
    >>> round(float(lo[0]), 4), round(float(hi[0]), 4)
    (0.2102, 0.3898)
    """
    z = float(stats.norm.ppf(0.5 + level / 2))
    precision = np.asarray(precision, dtype=float)
    if binary:
        half = z * np.sqrt(target * (1.0 - target) / precision)
        return np.clip(target - half, 0.0, 1.0), np.clip(target + half, 0.0, 1.0)
    half = z / np.sqrt(precision)
    return target - half, target + half



def _cell(v: Any) -> float | None:
    """Return a finite float, else None (withheld, missing or text)."""
    if isinstance(v, (bool, np.bool_, str)) or v is None:
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def ranked_figure_data(table: pd.DataFrame, *, national: float, outcome: str, binary: bool,
                       estimate: str = "non_intervention", lower: str = "ci_lower",
                       upper: str = "ci_upper", unpooled: str | None = None) -> dict[str, Any]:
    """Return data of the ``"area_ranked"`` figure: areas with an estimate, ranked by it.

    ``table`` holds one row per area (or merged row) with ``area`` and the
    columns named by ``estimate``, ``lower``, ``upper`` (and ``unpooled``).
    Rows whose estimate is withheld or missing are left out.
    """
    shown = table[[_cell(v) is not None for v in table[estimate]]]
    shown = shown.assign(_x=[_cell(v) for v in shown[estimate]]).sort_values("_x", kind="stable")
    data: dict[str, Any] = {
        "labels": [str(a) for a in shown["area"]],
        "estimate": [float(v) for v in shown["_x"]],
        "lower": [_cell(v) for v in shown[lower]],
        "upper": [_cell(v) for v in shown[upper]],
        "national": float(national), "binary": bool(binary), "outcome": str(outcome)}
    if unpooled is not None:
        data["unpooled"] = [_cell(v) for v in shown[unpooled]]
    if not data["labels"]:
        raise OptionError("No area has a rate to show in the ranked plot.")
    return data


def funnel_figure_data(funnel: pd.DataFrame, *, national: float, binary: bool,
                       points: int = 100) -> dict[str, Any]:
    """Return data of the ``"funnel"`` figure from a funnel table (see ``AreaRates.funnel_table``): each area's own rate against its precision, with 95% and 99.8% limits."""
    if not len(funnel):
        raise OptionError("No area has its own (unpooled) estimate to place on a funnel plot.")
    prec = funnel["precision"].to_numpy(dtype=float)
    grid = np.geomspace(max(prec.min() * 0.8, 1e-9), prec.max() * 1.2, points)
    limits = {}
    for lev in (0.95, 0.998):
        lo, hi = funnel_limits(national, grid, level=lev, binary=binary)
        limits[f"{lev:.1%}"] = [[float(x) for x in lo], [float(x) for x in hi]]
    return {"x": [float(x) for x in prec], "y": [float(y) for y in funnel["unpooled"]],
            "labels": [str(a) for a in funnel["area"]], "flags": [str(f) for f in funnel["flag"]],
            "grid": [float(g) for g in grid], "limits": limits, "national": float(national),
            "binary": bool(binary)}


def misallocation_figure_data(table: pd.DataFrame) -> dict[str, Any]:
    """Return data of the ``"misallocation"`` figure: money over- or under-paid per area (or merged row), ranked; rows without a number are left out."""
    values = [_cell(v) for v in table["misallocation"]]
    bars = table.assign(_m=values)[[v is not None for v in values]]
    bars = bars.sort_values("_m", kind="stable")
    if not len(bars):
        raise OptionError("No area has a misallocation to show.")
    return {"labels": [str(a) for a in bars["area"]], "values": [float(v) for v in bars["_m"]]}


def deprecated_plot(results: Any, name: str, old: str, **data_options: Any) -> Any:
    """Return the figure ``name`` of ``results`` as a matplotlib Figure, for a deprecated ``plot_*``."""
    from pbr_eval.figures import draw

    warnings.warn(f"{type(results).__name__}.{old}() is deprecated; use "
                  f"results.plot({name!r}) (it returns the Axes: save ax.figure).",
                  DeprecationWarning, stacklevel=3)
    ax = data_options.pop("ax", None)
    data = results._figure_data(name, **data_options)
    return draw(name, data, ax=ax).figure
