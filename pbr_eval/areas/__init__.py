r"""Local non-intervention rates: one per area, unpooled and partially pooled, and area tariffs that are fair to each area.

A programme run across many local authorities needs each area's
non-intervention rate (the outcome rate its treated cohort would have had
without the programme), but most areas have small cohorts. This module gives

* :func:`area_rates`: for each area's treated cohort, an *unpooled* estimate
  (from that area's own comparison data) and a *partially pooled*
  empirical-Bayes estimate (Fay-Herriot / Efron-Morris shrinkage towards what
  similar areas show, optionally on area covariates such as the
  unemployment rate), with intervals and the shrinkage factor per area;
  returned as :class:`AreaRates` (read-only), with a funnel plot, a ranked
  plot and a disclosure-controlled table for reports;
* :func:`area_tariffs`: a price and a minimum performance level per area, and
  the misallocation table: how much each area's providers would be over- or
  under-paid under one national price (:class:`AreaTariffs`);
* the pure functions behind them (:func:`fay_herriot`,
  :func:`misallocation`, :func:`funnel_limits`).

The package: :mod:`~pbr_eval.areas.pooling` (Fay-Herriot, national-model
offsets), :mod:`~pbr_eval.areas.rates` (:func:`area_rates`),
:mod:`~pbr_eval.areas.tariffs` (:func:`area_tariffs`, :func:`misallocation`),
:mod:`~pbr_eval.areas.results` (:class:`AreaRates`, :class:`AreaTariffs`),
:mod:`~pbr_eval.areas.disclosure` (published tables) and
:mod:`~pbr_eval.areas.plots` (figure data, :func:`funnel_limits`; drawn by
:mod:`pbr_eval.figures`).

See ``docs/areas.md`` for a commissioner's guide and worked examples.
"""

from pbr_eval.areas.disclosure import DISCLOSURE_MIN_COUNT
from pbr_eval.areas.plots import funnel_limits
from pbr_eval.areas.pooling import FayHerriotFit, fay_herriot, logit_offsets, slope_variance
from pbr_eval.areas.rates import NATIONAL_MODEL, area_rates
from pbr_eval.areas.results import AREA_COLUMNS, TARIFF_COLUMNS, AreaRates, AreaTariffs
from pbr_eval.areas.tariffs import area_tariffs, misallocation

__all__ = [
    "AREA_COLUMNS",
    "TARIFF_COLUMNS",
    "NATIONAL_MODEL",
    "DISCLOSURE_MIN_COUNT",
    "AreaRates",
    "AreaTariffs",
    "FayHerriotFit",
    "area_rates",
    "area_tariffs",
    "fay_herriot",
    "funnel_limits",
    "logit_offsets",
    "misallocation",
    "slope_variance",
]
