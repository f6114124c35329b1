"""The results of :func:`~pbr_eval.areas.area_rates` and :func:`~pbr_eval.areas.area_tariffs`.

:class:`AreaRates` (kind ``"area_rates"``; figures ``"area_ranked"`` and
``"funnel"``) and :class:`AreaTariffs` (kind ``"area_tariffs"``; figure
``"misallocation"``) are :class:`~pbr_eval.results.base.Results`. Their
``to_dict()`` carries the published tables only (small areas merged, small
counts suppressed: :mod:`pbr_eval.areas.disclosure`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import expit

from pbr_eval.areas.disclosure import (
    DISCLOSURE_MIN_COUNT,
    published_schema,
    rates_disclosure_table,
    tariffs_disclosure_table,
)
from pbr_eval.areas.plots import _cell as _number
from pbr_eval.areas.plots import (
    deprecated_plot,
    funnel_figure_data,
    misallocation_figure_data,
    ranked_figure_data,
)
from pbr_eval.areas.pooling import FayHerriotFit, _Direct
from pbr_eval.disclosure import DisclosurePolicy
from pbr_eval.exceptions import OptionError
from pbr_eval.kinds import Column, Schema, format_money
from pbr_eval.options import AREA_ESTIMATES, DEFAULT_LEVEL, check_choice, check_int, check_level
from pbr_eval.results.base import HasFigures, Results, frame_from_records

__all__ = ["AREA_COLUMNS", "TARIFF_COLUMNS", "AreaRates", "AreaTariffs"]

#: Columns of :meth:`AreaRates.to_frame`, in order (a public contract).
AREA_COLUMNS = [
    "area",
    "n_treated",
    "n_comparison",
    "observed",
    "unpooled",
    "unpooled_se",
    "unpooled_ci_lower",
    "unpooled_ci_upper",
    "pooled",
    "pooled_se",
    "pooled_ci_lower",
    "pooled_ci_upper",
    "prior_mean",
    "shrinkage",
    "note",
]

#: Columns of :meth:`AreaTariffs.to_frame`, in order.
TARIFF_COLUMNS = [
    "area",
    "n_treated",
    "non_intervention",
    "non_intervention_ci_lower",
    "non_intervention_ci_upper",
    "expected_rate",
    "minimum_performance_level",
    "price",
    "band_lower",
    "band_upper",
    "national_price",
    "expected_outcomes",
    "payment_at_area_price",
    "payment_at_national_price",
    "misallocation",
    "misallocation_per_person",
]




def _area_schema(outcome_type: str, *, published: bool = False) -> Schema:
    """Return declared columns of :meth:`AreaRates.to_frame` (``published``: of the saved table)."""
    rate = "rate" if outcome_type == "binary" else "mean"
    if published:
        return published_schema(outcome_type)
    return Schema((
        Column("area", "text", "Area"),
        Column("n_treated", "count", "People in the programme"),
        Column("n_comparison", "count", "People in the comparison pool"),
        Column("observed", rate, "Observed in the programme", denominator="n_treated"),
        Column("unpooled", rate, "Non-intervention rate from the area's own data"),
        Column("unpooled_se", "number", "Standard error, own data"),
        Column("unpooled_ci_lower", rate, "Lower limit, own data"),
        Column("unpooled_ci_upper", rate, "Upper limit, own data"),
        Column("pooled", rate, "Non-intervention rate (partially pooled)"),
        Column("pooled_se", "number", "Standard error, partially pooled"),
        Column("pooled_ci_lower", rate, "Lower limit, partially pooled"),
        Column("pooled_ci_upper", rate, "Upper limit, partially pooled"),
        Column("prior_mean", rate, "What similar areas show (prior mean)"),
        Column("shrinkage", "probability", "Share borrowed from similar areas"),
        Column("note", "text", "Note"),
    ))


def _tariff_schema(outcome_type: str) -> Schema:
    """Return declared columns of :meth:`AreaTariffs.to_frame`."""
    rate = "rate" if outcome_type == "binary" else "mean"
    return Schema((
        Column("area", "text", "Area"),
        Column("n_treated", "count", "People in the programme"),
        Column("non_intervention", rate, "Non-intervention rate"),
        Column("non_intervention_ci_lower", rate, "Non-intervention rate, lower limit"),
        Column("non_intervention_ci_upper", rate, "Non-intervention rate, upper limit"),
        Column("expected_rate", rate, "Expected rate with the programme"),
        Column("minimum_performance_level", rate, "Minimum performance level"),
        Column("price", "money", "Area price per outcome"),
        Column("band_lower", "money", "Price band, lower end"),
        Column("band_upper", "money", "Price band, upper end"),
        Column("national_price", "money", "National price per outcome"),
        Column("expected_outcomes", "number", "Expected outcomes (projection)"),
        Column("payment_at_area_price", "money", "Payments at the area price"),
        Column("payment_at_national_price", "money", "Payments at the national price"),
        Column("misallocation", "money", "Over- (+) or under-payment (-) under one national "
               "price"),
        Column("misallocation_per_person", "money", "Over- or under-payment per person"),
    ))


class AreaRates(Results, HasFigures):
    """Area-level non-intervention rates, unpooled and partially pooled (read-only).

    Returned by :func:`area_rates`.

    Attributes
    ----------
    outcome, outcome_type : str
    method : str
        ``"national_model"`` or the per-area estimator's name.
    level : float
        Confidence level of the default intervals.
    areas : list of str
        Area labels (areas with at least one treated person), in the order
        of :meth:`to_frame`.
    hyperparameters : mapping
        ``tau2`` (between-area variance on the modelling scale),
        ``tau2_se``, ``gamma`` (prior-mean coefficients by name),
        ``scale`` (``"logit"`` or ``"identity"``), ``n_direct``.
    national_rate : float
        Cohort-weighted mean of the pooled area rates: the single national
        non-intervention rate for the whole treated cohort.
    info : mapping
        Settings, cohort description, rows dropped, fingerprint, versions, notes.

    Notes
    -----
    ``to_dict()`` carries the published (disclosure-controlled) table only;
    an object rebuilt from it shows that table (see :meth:`to_dict`).
    """

    kind: ClassVar[str] = "area_rates"
    _legacy_keys: ClassVar[frozenset[str]] = frozenset({"national_rate", "hyperparameters", "areas"})
    title: ClassVar[str] = "Area non-intervention rates"
    figures: ClassVar[tuple[str, ...]] = ("area_ranked", "funnel")
    _redo = "call area_rates() again"

    def __init__(
        self, *, outcome: str, outcome_type: str, method: str, level: float,
        areas: Sequence[str], n_treated: np.ndarray, n_comparison: np.ndarray,
        observed: np.ndarray, direct: _Direct, fit: FayHerriotFit, gamma_names: Sequence[str],
        info: Mapping[str, Any],
    ) -> None:
        self.outcome = outcome
        self.outcome_type = outcome_type
        self.method = method
        self.level = level
        self.areas = list(areas)
        self._n1 = np.asarray(n_treated)
        self._n0 = np.asarray(n_comparison)
        self._observed = np.asarray(observed, dtype=float)
        self._direct = direct
        self._fit = fit
        self.hyperparameters = MappingProxyType({
            "tau2": fit.tau2,
            "tau2_se": math.sqrt(fit.tau2_var),
            "gamma": dict(zip(gamma_names, map(float, fit.gamma), strict=True)),
            "scale": "logit" if direct.link.startswith("logit") else "identity",
            "n_direct": fit.n_direct,
        })
        pooled, _ = self._to_rate(fit.mean[:, None])
        self.national_rate = float(np.sum(self._n1 * pooled[:, 0]) / np.sum(self._n1))
        self.info = MappingProxyType(dict(info))
        self._published: pd.DataFrame | None = None
        self._min_count = DISCLOSURE_MIN_COUNT
        self._freeze()

    @property
    def _rule(self) -> str:
        assert self._published is not None
        note = self._published[self._published["area"].astype(str) == "Note"]
        return str(note["disclosure"].iloc[0]) if len(note) else ""

    def _need_fit(self, what: str) -> None:
        if self._direct is None:
            raise OptionError(f"{what} needs the fitted area model, which a saved area results "
                              "file does not carry (it holds the published table only); call "
                              "area_rates() again.")

    def frame_schema(self) -> Schema:
        """Return the declared columns (rates are shares for a yes/no outcome, else means)."""
        return _area_schema(self.outcome_type, published=self._published is not None)


    # ------------------------------------------------------------- mapping
    def _to_rate(self, D: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Map modelling-scale values ``D`` (m, K) to rates and their derivative."""
        d = self._direct
        m = len(self.areas)
        D = np.asarray(D, dtype=float)
        if d.link == "logit_offset":
            assert d.eta_t is not None and d.code_t is not None
            Dz = np.where(np.isfinite(D), D, 0.0)
            P = expit(d.eta_t[:, None] + Dz[d.code_t])
            rate = np.stack([np.bincount(d.code_t, weights=P[:, k], minlength=m)
                             for k in range(D.shape[1])], axis=1)
            der = np.stack([np.bincount(d.code_t, weights=P[:, k] * (1 - P[:, k]), minlength=m)
                            for k in range(D.shape[1])], axis=1)
            n1 = self._n1[:, None].astype(float)
            rate, der = rate / n1, der / n1
            rate[~np.isfinite(D)] = np.nan
            return rate, der
        if d.link == "identity_offset":
            assert d.base is not None
            return d.base[:, None] + D, np.ones_like(D)
        if d.link == "logit":
            p = expit(D)
            return p, p * (1 - p)
        return D.copy(), np.ones_like(D)

    # ------------------------------------------------------------- tables
    def to_frame(self, level: float | None = None) -> pd.DataFrame:
        """One row per area: unpooled and pooled rates with intervals, and shrinkage.

        Parameters
        ----------
        level : float, optional
            Confidence level (default: the results' ``level``).

        Returns
        -------
        pandas.DataFrame
            Columns as listed in :data:`AREA_COLUMNS`. ``shrinkage`` is
            :math:`B_a`, the weight on the prior mean (0: the area's own
            data only; 1: entirely borrowed). Intervals are computed on the
            modelling scale (logit for rates) and mapped back, so they stay
            inside [0, 1]. ``*_se`` are delta-method standard errors on the
            rate scale.
        """
        level = self.level if level is None else check_level(level)
        if self._published is not None:
            if level != self.level:
                self._need_fit(f"Rates at level {level:g}")
            t = self._published
            return t[~(t["area"].astype(str).eq("Note")
                       & t["n_treated"].astype(str).eq(""))].reset_index(drop=True)
        z = float(stats.norm.ppf(0.5 + level / 2))
        d, f = self._direct, self._fit
        s_u = np.sqrt(d.var)
        s_p = np.sqrt(f.mse)
        D = np.column_stack([d.theta, d.theta - z * s_u, d.theta + z * s_u,
                             f.mean, f.mean - z * s_p, f.mean + z * s_p, f.prior_mean])
        R, der = self._to_rate(D)
        frame = pd.DataFrame({
            "area": self.areas,
            "n_treated": self._n1.astype(np.int64),
            "n_comparison": self._n0.astype(np.int64),
            "observed": self._observed,
            "unpooled": R[:, 0],
            "unpooled_se": der[:, 0] * s_u,
            "unpooled_ci_lower": R[:, 1],
            "unpooled_ci_upper": R[:, 2],
            "pooled": R[:, 3],
            "pooled_se": der[:, 3] * s_p,
            "pooled_ci_lower": R[:, 4],
            "pooled_ci_upper": R[:, 5],
            "prior_mean": R[:, 6],
            "shrinkage": f.shrinkage,
            "note": d.notes,
        }, columns=AREA_COLUMNS)
        return frame

    def conf_int(self, level: float = DEFAULT_LEVEL, *, estimate: str = "pooled") -> pd.DataFrame:
        """Interval per area for the ``"pooled"`` (default) or ``"unpooled"`` rate."""
        check_choice("estimate", estimate, AREA_ESTIMATES)
        self._need_fit("Intervals per area")
        f = self.to_frame(level).set_index("area")
        return f[[f"{estimate}_ci_lower", f"{estimate}_ci_upper"]]

    def funnel_table(self) -> pd.DataFrame:
        r"""Unpooled area rates against the national rate, with funnel flags.

        Returns
        -------
        pandas.DataFrame
            One row per area with a direct estimate: ``area``,
            ``n_treated``, ``n_comparison``, ``unpooled``, ``precision``
            (effective cohort size :math:`\theta_0(1-\theta_0)/\mathrm{SE}^2`
            for a rate, :math:`1/\mathrm{SE}^2` for a mean), ``z``
            (:math:`(\hat\theta_a - \theta_0)/\mathrm{SE}_a`) and ``flag``:
            ``"above 99.8%"``, ``"above 95%"``, ``"within"``, ``"below 95%"``
            or ``"below 99.8%"`` limits.

        Notes
        -----
        The target :math:`\theta_0` is :attr:`national_rate`; its own
        uncertainty is ignored, as usual for funnel plots (Spiegelhalter
        2005). Many areas outside the limits signal real between-area
        variation (over-dispersion): one national rate does not fit.
        """
        self._need_fit("The funnel table")
        f = self.to_frame()
        f = f[np.isfinite(f["unpooled"]) & (f["unpooled_se"] > 0)].copy()
        theta0 = self.national_rate
        se = f["unpooled_se"].to_numpy()
        binary = self.outcome_type == "binary"
        prec = theta0 * (1 - theta0) / se**2 if binary else 1.0 / se**2
        z = (f["unpooled"].to_numpy() - theta0) / se
        z95, z998 = stats.norm.ppf(0.975), stats.norm.ppf(0.999)
        flag = np.select(
            [z > z998, z > z95, z < -z998, z < -z95],
            ["above 99.8%", "above 95%", "below 99.8%", "below 95%"], default="within",
        )
        out = f[["area", "n_treated", "n_comparison", "unpooled"]].copy()
        out["precision"] = prec
        out["z"] = z
        out["flag"] = flag
        return out.reset_index(drop=True)

    def disclosure_table(
        self, *, min_count: int = DISCLOSURE_MIN_COUNT, level: float | None = None,
        policy: DisclosurePolicy | None = None,
    ) -> pd.DataFrame:
        """Return the area table for publication, with small numbers suppressed.

        Areas whose treated cohort is smaller than ``min_count`` are merged
        into one row, ``"Smaller areas (k merged)"``, whose rate is the
        cohort-weighted mean of their pooled rates (interval assuming the
        areas' errors independent, which ignores the shared prior and so is
        slightly narrow); if the merged cohort is itself below ``min_count``
        the row is suppressed. Any remaining count below ``min_count``
        (comparison numbers, outcome counts behind an observed rate) is shown
        as ``"[c]"``, and a binary observed rate is withheld when the number
        with or without the outcome is below ``min_count``. The area counts
        add up to the programme's and the pool's published sizes, so where a
        hidden count could be worked out from them a further area's count is
        hidden too (with its observed rate), by :mod:`pbr_eval.disclosure`.
        Only aggregates appear
        (:func:`pbr_eval.areas.disclosure.rates_disclosure_table`).

        Parameters
        ----------
        min_count : int, default :data:`pbr_eval.options.DEFAULT_DISCLOSURE_THRESHOLD`
            Smallest count shown.
        level : float, optional
            Confidence level.
        policy : DisclosurePolicy, optional
            A report's policy (its threshold replaces ``min_count``).

        Returns
        -------
        pandas.DataFrame
            Columns ``area``, ``n_treated``, ``n_comparison``, ``observed``,
            ``non_intervention`` (pooled), ``ci_lower``, ``ci_upper``,
            ``shrinkage``, ``disclosure`` (what was done); the last row's
            ``disclosure`` states the rule.
        """
        if policy is None:
            policy = DisclosurePolicy(threshold=check_int("min_count", min_count, minimum=1))
        level = self.level if level is None else check_level(level)
        if self._published is not None:
            if policy.threshold != self._min_count or level != self.level:
                self._need_fit(f"A disclosure table at threshold {policy.threshold}, "
                               f"level {level:g}")
            return self._published.copy()
        return rates_disclosure_table(self.to_frame(level), outcome_type=self.outcome_type,
                                      policy=policy, level=level)

    # ------------------------------------------------------------- display
    def summary(self, level: float | None = None) -> str:
        """Return a plain-text summary for a commissioner."""
        level = self.level if level is None else check_level(level)
        if self._published is not None:
            return self._published_summary()
        f = self.to_frame(level)
        pct = int(round(level * 100))
        binary = self.outcome_type == "binary"

        def fmt(x: float) -> str:
            return f"{x:.1%}" if binary else f"{x:.3g}"

        h: Mapping[str, Any] = self.hyperparameters
        lines = [
            f"pbr_eval: area non-intervention rates for '{self.outcome}' ({self.method})",
            "=" * 72,
            f"{len(f)} areas; {int(f['n_treated'].sum()):,} treated; "
            f"{h['n_direct']} areas with their own comparison estimate.",
            f"National non-intervention rate (cohort-weighted): {fmt(self.national_rate)}.",
            f"Between-area spread on the {h['scale']} scale: tau = {math.sqrt(h['tau2']):.3f} "
            f"(tau^2 = {h['tau2']:.4f}, SE {h['tau2_se']:.4f}).",
            f"Shrinkage towards the prior mean: median {np.median(f['shrinkage']):.2f} "
            f"(range {f['shrinkage'].min():.2f} to {f['shrinkage'].max():.2f}).",
            f"Pooled rates range from {fmt(f['pooled'].min())} to {fmt(f['pooled'].max())}.",
            "",
            f"{'area':<16}{'treated':>8}{'unpooled':>10}{'pooled':>9}  {pct}% CI (pooled)"
            f"{'shrink':>10}",
        ]
        show = f.sort_values("n_treated", ascending=False)
        for _, r in show.head(25).iterrows():
            unp = fmt(r["unpooled"]) if math.isfinite(r["unpooled"]) else "-"
            lines.append(
                f"{str(r['area'])[:15]:<16}{int(r['n_treated']):>8}{unp:>10}{fmt(r['pooled']):>9}"
                f"  {fmt(r['pooled_ci_lower'])} to {fmt(r['pooled_ci_upper'])}"
                f"{r['shrinkage']:>10.2f}"
            )
        if len(show) > 25:
            lines.append(f"... and {len(show) - 25} smaller areas (see to_frame()).")
        for note in self.info.get("notes", []):
            lines.append(f"Note: {note}")
        lines.append(f"pbr_eval {self.info.get('version', '?')}; data fingerprint "
                     f"{str(self.info.get('fingerprint', '?'))[:12]}.")
        return "\n".join(lines)

    def _published_summary(self) -> str:
        t = self.to_frame()
        binary = self.outcome_type == "binary"

        def fmt(x: Any) -> str:
            v = _number(x)
            return "-" if v is None else (f"{v:.1%}" if binary else f"{v:.3g}")

        h: Mapping[str, Any] = self.hyperparameters
        lines = [
            f"pbr_eval: area non-intervention rates for '{self.outcome}' ({self.method}), "
            "as published (small areas merged)", "=" * 72,
            f"National non-intervention rate (cohort-weighted): {fmt(self.national_rate)}.",
            f"Between-area spread on the {h['scale']} scale: tau = "
            f"{math.sqrt(h['tau2']):.3f} (tau^2 = {h['tau2']:.4f}).", "",
            f"{'area':<28}{'treated':>9}{'pooled':>9}  {int(round(self.level * 100))}% CI",
        ]
        for _, r in t.iterrows():
            lines.append(f"{str(r['area'])[:27]:<28}{str(r['n_treated']):>9}"
                         f"{fmt(r['non_intervention']):>9}  {fmt(r['ci_lower'])} to "
                         f"{fmt(r['ci_upper'])}")
        lines.append(self._rule)
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (f"<AreaRates outcome={self.outcome!r} method={self.method!r} "
                f"areas={len(self.areas)}>")

    # ------------------------------------------------------------- export
    def _to_state(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome, "method": self.method, "level": self.level,
            "national_rate": self.national_rate,
            "hyperparameters": dict(self.hyperparameters),
            "areas": self.disclosure_table().to_dict(orient="records"),
            "info": dict(self.info),
            "outcome_type": self.outcome_type, "min_count": self._min_count,
        }

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary: the disclosure-controlled table (``areas``) and settings.

        :meth:`Results.from_dict` rebuilds the published view: its
        :meth:`to_frame` is that table (without the rule row), and the
        per-area unpooled estimates, funnel table and other levels are not
        available.
        """
        return super().to_dict()

    @classmethod
    def _from_state(cls, state: Mapping[str, Any]) -> AreaRates:
        obj = cls.__new__(cls)
        info = dict(state.get("info") or {})
        obj.outcome = str(state.get("outcome", ""))
        types = (info.get("cohort") or {}).get("outcome_types") or {}
        obj.outcome_type = str(state.get("outcome_type") or types.get(obj.outcome, "binary"))
        obj.method = str(state.get("method", ""))
        obj.level = float(state.get("level", DEFAULT_LEVEL))
        table = frame_from_records(list(state.get("areas") or []),
                                   text=("area", "n_treated", "n_comparison", "observed",
                                         "disclosure"))
        obj._published = table
        obj._min_count = int(state.get("min_count", DISCLOSURE_MIN_COUNT))
        body = table[table["area"].astype(str) != "Note"]
        obj.areas = [str(a) for a in body["area"]]
        # read from a published table: no unit-level arrays or fitted model
        obj._n1 = obj._n0 = obj._observed = None  # type: ignore[assignment]
        obj._direct = None  # type: ignore[assignment]
        obj._fit = None  # type: ignore[assignment]
        hp = dict(state.get("hyperparameters") or {})
        hp["gamma"] = dict(hp.get("gamma") or {})
        obj.hyperparameters = MappingProxyType(hp)
        nat = state.get("national_rate")
        obj.national_rate = math.nan if nat is None else float(nat)
        obj.info = MappingProxyType(info)
        obj._freeze()
        return obj

    # ------------------------------------------------------------- figures
    def figure_data(self, name: str, *, policy: Any = None) -> dict[str, Any]:
        """Return data of the ``"area_ranked"`` or ``"funnel"`` figure.

        Without ``policy`` (the analyst's view): every area, pooled rates
        with their intervals and the unpooled rates. With a disclosure
        ``policy``: the ranked plot is drawn from :meth:`disclosure_table` at
        ``policy.threshold`` (small areas merged) and the funnel plot shows
        only the areas whose programme *and* comparison counts are both at
        least ``policy.threshold``.
        """
        return self._figure_data(check_choice("name", name, self.figures), policy=policy)

    def _figure_data(self, name: str, *, policy: Any = None,
                     level: float | None = None) -> dict[str, Any]:
        binary = self.outcome_type == "binary"
        if name == "area_ranked":
            if self._published is None and policy is None:
                return ranked_figure_data(self.to_frame(level), national=self.national_rate,
                                          outcome=self.outcome, binary=binary,
                                          estimate="pooled", lower="pooled_ci_lower",
                                          upper="pooled_ci_upper", unpooled="unpooled")
            if policy is None:
                dt = self.disclosure_table(min_count=self._min_count, level=level)
            else:
                dt = self.disclosure_table(level=level, policy=policy)
            dt = dt[~(dt["area"].astype(str).eq("Note") & dt["n_treated"].astype(str).eq(""))]
            return ranked_figure_data(dt, national=self.national_rate, outcome=self.outcome,
                                      binary=binary)
        ft = self.funnel_table()
        if policy is not None:
            thr = int(policy.threshold)
            ft = ft[(ft["n_treated"] >= thr) & (ft["n_comparison"] >= thr)]
        return funnel_figure_data(ft, national=self.national_rate, binary=binary)

    def plot_ranked(self, *, ax: Any = None, level: float | None = None) -> Any:
        """Draw the ``"area_ranked"`` figure and return its Figure (deprecated: use ``plot("area_ranked")``, which returns the Axes)."""
        return deprecated_plot(self, "area_ranked", "plot_ranked", ax=ax, level=level)

    def plot_funnel(self, *, ax: Any = None) -> Any:
        """Draw the ``"funnel"`` figure and return its Figure (deprecated: use ``plot("funnel")``, which returns the Axes)."""
        return deprecated_plot(self, "funnel", "plot_funnel", ax=ax)


class AreaTariffs(Results, HasFigures):
    """Area prices, minimum performance levels and the misallocation table (read-only).

    Returned by :func:`area_tariffs`.

    Attributes
    ----------
    national : mapping
        ``non_intervention``, ``expected_rate``, ``price`` and
        ``minimum_performance_level`` for one national tariff.
    info : mapping
        Inputs and notes.

    Notes
    -----
    ``to_dict()`` carries the published table (:meth:`disclosure_table`:
    areas with fewer than 10 people in the programme merged); an object
    rebuilt from it shows that table.
    """

    kind: ClassVar[str] = "area_tariffs"
    title: ClassVar[str] = "Area tariffs"
    figures: ClassVar[tuple[str, ...]] = ("misallocation",)
    _redo = "call area_tariffs() again"

    def __init__(self, frame: pd.DataFrame, *, national: Mapping[str, float],
                 info: Mapping[str, Any], published: bool = False,
                 total_misallocated: float | None = None,
                 min_count: int = DISCLOSURE_MIN_COUNT) -> None:
        self._frame = frame
        self.national = MappingProxyType(dict(national))
        self.info = MappingProxyType(dict(info))
        self._published = bool(published)
        self._total = total_misallocated
        self._min_count = int(min_count)
        self._freeze()

    def frame_schema(self) -> Schema:
        """Return the declared columns (rates are shares for a yes/no outcome, else means)."""
        return _tariff_schema(str(self.info.get("outcome_type", "binary")))

    def disclosure_table(self, *, min_count: int = DISCLOSURE_MIN_COUNT) -> pd.DataFrame:
        """Return the tariff table for publication: areas with fewer than ``min_count`` people in the programme merged into one row (:func:`pbr_eval.areas.disclosure.tariffs_disclosure_table`)."""
        min_count = check_int("min_count", min_count, minimum=1)
        if self._published:
            if min_count != self._min_count:
                raise OptionError(
                    f"This saved tariff table was published with min_count={self._min_count}; "
                    "call area_tariffs() again for another threshold.")
            return self._frame.copy()
        return tariffs_disclosure_table(self._frame, min_count=min_count)


    def to_frame(self) -> pd.DataFrame:
        """One row per area, columns :data:`TARIFF_COLUMNS`."""
        return self._frame.copy()

    @property
    def total_misallocated(self) -> float:
        """Money paid to the wrong areas under one national price: half the sum of |misallocation|."""
        if self._total is not None:
            return float(self._total)
        return float(0.5 * np.abs(self._frame["misallocation"]).sum())

    def summary(self) -> str:
        """Plain-text summary for a commissioner."""
        f = self._frame.copy()
        for c in ("price", "minimum_performance_level", "misallocation",
                  "payment_at_national_price"):
            f[c] = pd.to_numeric(f[c], errors="coerce")
        nat = self.national
        paid = self.info.get("paid_outcome", "")
        total_pay = float(f["payment_at_national_price"].sum())
        over = f[f["misallocation"] > 0]
        under = f[f["misallocation"] < 0]
        lines = [
            f"pbr_eval: area tariffs for '{paid}'",
            "=" * 72,
            f"National: non-intervention {nat['non_intervention']:.1%}, expected "
            f"{nat['expected_rate']:.1%}, price {format_money(nat['price'])} per outcome, minimum "
            f"performance level {nat['minimum_performance_level']:.1%}.",
            f"Area prices range from {format_money(f['price'].min())} to {format_money(f['price'].max())}; "
            f"MPLs from {f['minimum_performance_level'].min():.1%} to "
            f"{f['minimum_performance_level'].max():.1%}.",
            f"Under one national price {format_money(self.total_misallocated)} of {format_money(total_pay)} "
            f"({self.total_misallocated / total_pay:.1%}) would go to the wrong areas: "
            f"{len(over)} areas over-paid (paid for deadweight), {len(under)} under-paid.",
        ]
        for note in self.info.get("notes", []):
            lines.append(f"Note: {note}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<AreaTariffs areas={len(self._frame)}>"

    def _to_state(self) -> dict[str, Any]:
        table = self.disclosure_table(min_count=self._min_count)
        return {"table": table.to_dict(orient="records"),
                "national": dict(self.national), "info": dict(self.info),
                "total_misallocated": self.total_misallocated, "min_count": self._min_count}

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary: the published tariff table (``table``, small areas merged), ``national``, ``info``, ``total_misallocated`` and ``min_count``."""
        return super().to_dict()

    @classmethod
    def _from_state(cls, state: Mapping[str, Any]) -> AreaTariffs:
        frame = frame_from_records(state.get("table") or [], columns=TARIFF_COLUMNS,
                                   text=TARIFF_COLUMNS)
        for c in TARIFF_COLUMNS:
            if c not in ("area", "n_treated"):
                frame[c] = [v if isinstance(v, str) else (math.nan if v is None else float(v))
                            for v in frame[c]]
        total = state.get("total_misallocated")
        return cls(frame, national=dict(state.get("national") or {}),
                   info=dict(state.get("info") or {}), published=True,
                   total_misallocated=None if total is None else float(total),
                   min_count=int(state.get("min_count", DISCLOSURE_MIN_COUNT)))

    def figure_data(self, name: str, *, policy: Any = None) -> dict[str, Any]:
        """Return data of the ``"misallocation"`` figure: money each area gains (+) or loses (-) under one national price, ranked.

        With a disclosure ``policy``: drawn from :meth:`disclosure_table` at
        ``policy.threshold`` (small areas merged).
        """
        return self._figure_data(check_choice("name", name, self.figures), policy=policy)

    def _figure_data(self, name: str, *, policy: Any = None) -> dict[str, Any]:
        if policy is None and not self._published:
            return misallocation_figure_data(self._frame)
        thr = self._min_count if policy is None else int(policy.threshold)
        return misallocation_figure_data(self.disclosure_table(min_count=thr))

    def plot_misallocation(self, *, ax: Any = None) -> Any:
        """Draw the ``"misallocation"`` figure and return its Figure (deprecated: use ``plot("misallocation")``, which returns the Axes)."""
        return deprecated_plot(self, "misallocation", "plot_misallocation", ax=ax)
