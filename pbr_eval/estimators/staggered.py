"""Staggered adoption: ``method="staggered_did"`` (Callaway & Sant'Anna 2021).

For programmes that start in different places (or for different people) at
different times. Each group of units that started in the same period is
compared, period by period, with units not (yet) in the programme; the
group-time effects are then summarised, and the non-intervention rate of each
group in each period is its observed outcome minus the effect. The numbers are
in :mod:`pbr_eval.estimators.group_time` (ATT(g, t), aggregations),
:mod:`pbr_eval.inference.multiplier` (bootstrap and simultaneous bands) and
:mod:`pbr_eval.estimators.event_regressions` (cross-checks).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from pbr_eval.cohort import Cohort, DroppedRows
from pbr_eval.estimators.base import Estimator, base_info, register, weights_series
from pbr_eval.estimators.event_regressions import imputation, sun_abraham, twfe, wave_means
from pbr_eval.estimators.group_time import (
    AGGREGATIONS,
    BASE_PERIODS,
    COMPARISONS,
    DID_MODELS_GT,
    GroupTime,
    aggregate,
    group_time_att,
)
from pbr_eval.exceptions import EstimationError, OptionError
from pbr_eval.inference.multiplier import (
    MULTIPLIER_WEIGHTS,
    cluster_sums,
    draws_from_sums,
    iqr_se,
    resolve_weights,
)
from pbr_eval.options import DID_SE, DidSE, check_choice, check_int
from pbr_eval.results.counterfactual import CounterfactualResults, OutcomeEstimate
from pbr_eval.results.staggered import StaggeredResults

__all__ = ["StaggeredDiD"]

#: ``se=`` of staggered difference-in-differences: the vocabulary of the DiD family.
STAGGERED_SE = DID_SE
_MODEL_LABEL = {"dr": "doubly robust (outcome regression and inverse probability weighting)",
                "ipw": "inverse probability weighting", "reg": "outcome regression"}
_COMPARISON_LABEL = {"never_treated": "units never in the programme",
                     "not_yet_treated": "units not yet in the programme (or never)"}


@register("staggered_did")
class StaggeredDiD(Estimator):
    """Difference-in-differences for programmes that start at different times.

    Parameters
    ----------
    model : {"dr", "ipw", "reg"}, default "dr"
        How each group-time effect adjusts for covariates: doubly robust,
        inverse probability weighting or outcome regression (Sant'Anna &
        Zhao 2020). Without covariates all three are the plain DiD.
    comparison : {"never_treated", "not_yet_treated"}, default "never_treated"
        Compare each group with units never in the programme, or with units
        not yet in it at the period compared (never treated included).
    anticipation : int, default 0
        Periods before the start in which units may already respond (their
        group is compared with its outcome before those periods).
    base_period : {"varying", "universal"}, default "varying"
        Before the start, compare each period with the one before it
        (``"varying"``, R ``did``'s default) or every period with the last
        period before the start (``"universal"``; that cell is 0).
    aggregation : {"simple", "group", "calendar", "dynamic"}, default "simple"
        Which summary is the headline effect and non-intervention rate:
        every treated unit-period after the start weighted equally
        (``"simple"``), the groups' averages weighted by group size, the
        periods' averages, or the average over periods since the start.
        Every summary is computed either way.
    n_boot : int, default 999
        Multiplier-bootstrap draws for the standard errors and the
        simultaneous bands; 0 gives analytic (influence-function) standard
        errors and no bands.
    multiplier : {"auto", "rademacher", "gaussian"}, default "auto"
        Bootstrap weights (see :mod:`pbr_eval.inference.multiplier`).
    se : {"auto", "unit", "cluster"}, default "auto"
        Cluster the standard errors by unit or by the cohort's ``cluster``
        (e.g. the area the programme rolled out by); ``"auto"``: the cohort's
        cluster when it has one.
    cross_checks : bool, default True
        Also compute Sun & Abraham (2021), Borusyak, Jaravel & Spiess (2024)
        and two-way fixed effects on the same data (without covariates).
    seed : int, optional
        Seed of the bootstrap.

    Notes
    -----
    The cohort needs ``unit_id``, numeric ``period`` and ``first_treated``
    (the period each unit was first treated, 0 for never). Units not observed
    in every period are left out (a balanced panel is needed), as are units
    first treated in the first period (or within ``anticipation`` of it), and
    both are counted in ``info["dropped"]``; units first treated after the
    last period count as never treated in the window. Covariates are taken
    in each unit's first period (R ``did`` uses the base period's values; the
    two agree for covariates fixed over time).

    The headline :class:`~pbr_eval.results.OutcomeEstimate` is the chosen
    aggregation: ``observed`` is the treated units' mean outcome over the same
    group-periods with the same weights, ``non_intervention`` is observed
    minus the effect. Its cohort standard error is the effect's (the observed
    mean is known); the expected-rate standard error also counts the observed
    mean's sampling error. The group-time table, every aggregation with its
    simultaneous band and the cross-checks are in
    ``results.extras["staggered"]`` (:class:`~pbr_eval.results.staggered.StaggeredResults`).

    Checked against moderndid 0.2.0 and csdid 0.4.3 (ports of R ``did``) on
    mpdta: ATT(g, t), their standard errors and every aggregation agree to
    1e-12 (``tests/reference/staggered/``).

    References
    ----------
    Callaway & Sant'Anna (2021); Sant'Anna & Zhao (2020): full references in
    :mod:`pbr_eval.estimators.group_time`.

    Examples
    --------
    >>> import pbr_eval
    >>> from pbr_eval.datasets import simulate_staggered
    >>> sim = simulate_staggered(n_units=600, seed=2)
    >>> res = pbr_eval.estimate(sim.cohort(), method="staggered_did", seed=1)
    >>> e = res.estimates[0]                       # the overall effect after the start
    >>> bool(abs(e.effect - sim.truth.loc["y", "effect"]) < 3 * e.std_error)
    True
    >>> res.extras["staggered"].event_study()["event_time"].tolist()
    [-5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5]
    """

    family = "panel"
    phrase = "units not yet (or never) in the programme over the same periods"
    caveat = None
    estimands = ("ATT",)
    se_kinds = STAGGERED_SE
    validation_designs = ("staggered",)

    def __init__(
        self,
        *,
        model: str = "dr",
        comparison: str = "never_treated",
        anticipation: int = 0,
        base_period: str = "varying",
        aggregation: str = "simple",
        n_boot: int = 999,
        multiplier: str = "auto",
        se: DidSE = "auto",
        cross_checks: bool = True,
        seed: int | None = None,
    ) -> None:
        self.model = check_choice("model", model, DID_MODELS_GT)
        self.comparison = check_choice("comparison", comparison, COMPARISONS)
        self.anticipation = check_int("anticipation", anticipation, minimum=0)
        self.base_period = check_choice("base_period", base_period, BASE_PERIODS)
        self.aggregation = check_choice("aggregation", aggregation, AGGREGATIONS)
        self.n_boot = check_int("n_boot", n_boot, minimum=0)
        if self.n_boot == 1:
            raise OptionError("`n_boot` must be 0 (analytic standard errors) or at least 2; got 1.")
        self.multiplier = check_choice("multiplier", multiplier, MULTIPLIER_WEIGHTS)
        self.se = check_choice("se", se, STAGGERED_SE)
        if not isinstance(cross_checks, bool):
            raise OptionError(f"`cross_checks` must be True or False; got {cross_checks!r}.")
        self.cross_checks = cross_checks
        if seed is not None and (not isinstance(seed, (int, np.integer)) or seed < 0):
            raise OptionError(f"`seed` must be a non-negative integer or None; got {seed!r}.")
        self.seed = seed

    # ------------------------------------------------------------ data
    def _panel(self, cohort: Cohort, info: dict[str, Any]) -> dict[str, Any]:
        """Wide arrays of a balanced panel, and the rows left out (counted)."""
        if not cohort.is_panel or getattr(cohort, "first_treated", None) is None:
            raise OptionError(
                "Method 'staggered_did' needs panel data with each unit's start period: build the "
                "Cohort with `unit_id`, `period` and `first_treated` (the period each unit was "
                "first treated, 0 if never)."
            )
        uid, per, ft_col = cohort.unit_id, cohort.period, cohort.first_treated
        assert uid is not None and per is not None and ft_col is not None
        periods = np.asarray(cohort.ordered_periods())
        if not np.issubdtype(periods.dtype, np.number):
            raise OptionError(
                f"`period` column '{per}' must hold numbers (years, quarters numbered 1, 2, ...) "
                f"for staggered adoption, matched by `first_treated`; got {periods[:3].tolist()}."
            )
        if periods.size < 2:
            raise OptionError(f"Staggered adoption needs at least two periods; found {periods.size}.")
        ids = cohort.column(uid)
        # = np.unique(ids, return_inverse=True), by hashing (several times faster on 12M rows)
        unit_idx, uniq = pd.factorize(ids, sort=True, use_na_sentinel=False)
        tpos = np.searchsorted(periods, cohort.column(per))
        n_units, T = uniq.size, periods.size
        seen = np.zeros((n_units, T), dtype=bool)
        seen[unit_idx, tpos] = True
        full = seen.all(axis=1)
        ft_unit = np.zeros(n_units)
        ft_unit[unit_idx] = cohort.column(ft_col).astype(float)
        dropped: list[DroppedRows] = []

        def drop(mask_units: np.ndarray, reason: str) -> None:
            rows = mask_units[unit_idx]
            n_rows = int(rows.sum())
            if n_rows:
                dropped.append(DroppedRows(
                    n_rows, reason, stage=self.method,
                    n_treated=int((rows & cohort.t).sum()),
                    n_comparison=int((rows & ~cohort.t).sum()),
                    share_treated=float((rows & cohort.t).sum() / max(cohort.t.sum(), 1))))

        drop(np.asarray(~full), f"{int((~full).sum()):,} units not observed in every period (a balanced panel "
                    "is needed)")
        ft = np.where(ft_unit == 0, np.inf, ft_unit)
        bad = np.isfinite(ft) & ~np.isin(ft, periods) & (ft <= periods[-1])
        if bad.any():
            raise OptionError(
                f"`first_treated` column '{ft_col}' holds start periods that are not periods of "
                f"'{per}' (e.g. {sorted(set(ft[bad].tolist()))[:3]}); use the period values "
                f"({', '.join(map(str, periods[:6].tolist()))}{', ...' if T > 6 else ''})."
            )
        late = np.isfinite(ft) & (ft > periods[-1])
        if late.any():
            info["notes"].append(
                f"{int(late.sum()):,} units start after the last period; they count as never "
                "treated in the periods observed.")
            ft = np.where(late, np.inf, ft)
        start_pos = np.where(np.isfinite(ft), np.searchsorted(periods, np.where(np.isfinite(ft),
                                                                                  ft, 0)), T)
        early = full & (start_pos - self.anticipation <= 0)
        drop(early, f"{int(early.sum()):,} units first treated in the first period"
                    + (f" or within {self.anticipation} period(s) of it" if self.anticipation else "")
                    + " (no earlier period to compare with)")
        keep = full & ~early
        if not np.isfinite(ft[keep]).any():
            raise EstimationError("No treated units remain to estimate effects for.")
        units = np.flatnonzero(keep)
        rows_keep = keep[unit_idx]
        pos_of = np.full(n_units, -1)
        pos_of[units] = np.arange(units.size)
        # the wide layout: row wide[i * T + t] of the cohort is unit i in period t (the panel
        # is balanced and a unit has one row per period, so this is a permutation of the kept
        # rows); None when the rows are already in that order (sorted by unit and period)
        every = units.size == n_units  # no unit left out: positions are the units' codes
        key = unit_idx * T + tpos if every else pos_of[unit_idx[rows_keep]] * T + tpos[rows_keep]
        wide: np.ndarray | None = None
        if not (every and bool((key == np.arange(key.size)).all())):
            wide = np.empty(units.size * T, dtype=np.int64)
            wide[key] = np.flatnonzero(rows_keep)
        n = units.size

        def to_wide(values: np.ndarray) -> np.ndarray:
            v = values if wide is None else values[wide]
            return v.reshape((n, T) + values.shape[1:])

        X = None
        if cohort.X.shape[1]:
            X3 = to_wide(cohort.X)
            X = np.ascontiguousarray(X3[:, 0, :])
            varies = np.zeros(X.shape[1], dtype=bool)
            for start in range(0, n, 1 << 16):  # in blocks of units: no (n, T, k) temporaries
                blk = X3[start:start + (1 << 16)]
                varies |= (np.abs(blk - blk[:, :1, :]) > 1e-12).any(axis=(0, 1))
            if varies.any():
                names = [c for c, v in zip(cohort.design_columns, varies, strict=True) if v]
                info["notes"].append(
                    f"Covariates {', '.join(names[:4])} change over periods; each unit's values "
                    "in its first period are used.")
        cluster = None
        se = {"auto": "cluster" if cohort.cluster is not None else "unit"}.get(self.se, self.se)
        if se == "cluster" and cohort.cluster is None:
            raise OptionError("`se='cluster'` needs a cohort built with `cluster` (e.g. the area "
                              "the programme rolled out by); this one has none. Use se='unit'.")
        if se == "cluster":
            assert cohort.cluster is not None
            codes = np.full(cohort.n, -1, dtype=np.int64)
            # codes in label order, so the bootstrap draws do not depend on the rows' order
            codes[rows_keep] = pd.factorize(cohort.column(cohort.cluster)[rows_keep], sort=True)[0]
            cw = to_wide(codes)
            if (cw != cw[:, :1]).any():
                raise OptionError(
                    f"`cluster` column '{cohort.cluster}' changes over periods within units; "
                    "clusters must be fixed for each unit (e.g. the area at the start).")
            cluster = np.ascontiguousarray(cw[:, 0])
        return {"periods": periods, "rows_keep": rows_keep, "to_wide": to_wide,
                "n": n, "first_treated": ft[units], "X": X, "cluster": cluster,
                "se": se, "dropped": dropped, "T": T}

    # ------------------------------------------------------------ fit
    def fit(self, cohort: Cohort) -> CounterfactualResults:
        """Estimate group-time effects, their summaries and the non-intervention rates.

        Raises
        ------
        OptionError
            The cohort lacks ``unit_id`` / ``period`` / ``first_treated``;
            periods are not numbers; start periods are not periods;
            ``se="cluster"`` without a cluster.
        EstimationError
            No treated units remain; no never-treated units with
            ``comparison="never_treated"``; a model cannot be fitted.
        """
        info = base_info(cohort, self, seed=self.seed)
        p = self._panel(cohort, info)
        info["dropped"] = info["dropped"] + [d.to_dict() for d in p["dropped"]]
        n, periods = p["n"], p["periods"]
        ss = np.random.SeedSequence(self.seed)
        streams = ss.spawn(len(cohort.outcomes))
        estimates: list[OutcomeEstimate] = []
        gt_rows: list[pd.DataFrame] = []
        agg_rows: list[pd.DataFrame] = []
        cc_rows: list[dict[str, Any]] = []
        max_t: dict[tuple[str, str], np.ndarray] = {}
        event_cov: dict[str, np.ndarray] = {}
        weights_used = ""
        notes_gt: list[str] = []
        for name, stream in zip(cohort.outcomes, streams, strict=True):
            Y = p["to_wide"](cohort.y(name))
            gt = group_time_att(Y, p["first_treated"], periods, X=p["X"], model=self.model,
                                comparison=self.comparison, anticipation=self.anticipation,
                                base_period=self.base_period)
            notes_gt.extend(n_ for n_ in gt.notes if n_ not in notes_gt)
            otype = cohort.outcome_types[name]
            out = self._inference(gt, Y, p["cluster"], stream)
            weights_used = out["weights"]
            gt_rows.append(self._group_time_frame(gt, out, name, otype))
            agg_rows.append(out["agg_frame"].assign(outcome=name, outcome_type=otype))
            for fam, v in out["max_t"].items():
                max_t[(name, fam)] = v
            event_cov[name] = out["event_cov"]
            if self.cross_checks:
                cc_rows.extend(self._cross_checks(Y, gt, p["cluster"], name, otype,
                                                  p["X"] is not None))
            estimates.append(self._headline(gt, out, name, otype, p))
        se_kind = "cluster" if p["cluster"] is not None else "unit"
        n_cl = int(np.unique(p["cluster"]).size) if p["cluster"] is not None else n
        boot = (f"multiplier bootstrap ({self.n_boot:,} draws, {weights_used} weights) over "
                f"{n_cl:,} {'clusters' if se_kind == 'cluster' else 'units'}"
                if self.n_boot else "influence functions (analytic)")
        info["notes"].extend(notes_gt)
        info.update({
            "estimand": "ATT", "model": self.model, "model_label": _MODEL_LABEL[self.model],
            "comparison": self.comparison, "comparison_label": _COMPARISON_LABEL[self.comparison],
            "anticipation": self.anticipation, "base_period": self.base_period,
            "aggregation": self.aggregation, "n_boot": self.n_boot, "multiplier": weights_used,
            "se": se_kind, "n_clusters": n_cl, "se_method": boot, "n_units": n,
            "periods": periods.tolist(),
        })
        st = StaggeredResults(
            group_time=pd.concat(gt_rows, ignore_index=True),
            aggregation_table=pd.concat(agg_rows, ignore_index=True),
            cross_check_table=pd.DataFrame(cc_rows, columns=[
                "outcome", "outcome_type", "estimator", "estimate", "std_error", "note"]),
            max_t=max_t, info=info, event_cov=event_cov,
        )
        w = np.zeros(cohort.n)
        w[p["rows_keep"]] = 1.0
        return CounterfactualResults(
            method=self.method, estimand="ATT", estimates=estimates,
            weights=weights_series(cohort, w), balance=None, info=info,
            extras={"staggered": st},
        )

    # ------------------------------------------------------------ inference
    def _inference(self, gt: GroupTime, Y: np.ndarray, cluster: np.ndarray | None,
                   stream: np.random.SeedSequence) -> dict[str, Any]:
        """SEs and bands for the cells and every aggregation (one bootstrap for all)."""
        K = gt.att.size
        nG = gt.group_values.size
        aggs = {kind: aggregate(gt, kind) for kind in AGGREGATIONS
                if kind != "calendar" or gt.post.any()}
        head = aggs[self.aggregation]
        obs_agg = aggregate(gt, self.aggregation, values=gt.observed)
        # influence of the headline's observed mean: cell means plus their weights' influence
        a_obs = obs_agg.A[:, -1]
        psi_obs = np.zeros(gt.n)
        tpos = np.searchsorted(gt.periods, gt.time)
        for members, ks in _group_cells(gt, a_obs != 0):
            dev = Y[np.ix_(members, tpos[ks])] - gt.observed[ks]
            psi_obs[members] += (gt.n / members.size) * (dev @ a_obs[ks])
        Zc = (gt.unit_group[:, None] == gt.group_values[None, :]).astype(float)
        Zc -= Zc.mean(axis=0)
        psi_obs += Zc @ obs_agg.B[:, -1]
        # the influence functions P = [psi, Zc, psi_obs] (n x m), summed within clusters, and
        # their Gram matrix; the (n, m) matrix itself is built only for Rademacher draws
        # without clusters (the others need only sums or the Gram matrix)
        E = np.column_stack([Zc, psi_obs])
        m = K + E.shape[1]
        n_cl = gt.n if cluster is None else int(np.unique(cluster).size)
        weights_kind = resolve_weights(self.multiplier, self.n_boot, n_cl, m) if self.n_boot \
            else "none"
        S: np.ndarray | None
        if cluster is not None:
            S = np.hstack([cluster_sums(gt.psi, cluster), cluster_sums(E, cluster)])
            gram = S.T @ S
        elif weights_kind == "rademacher":
            S = np.hstack([gt.psi, E])
            gram = S.T @ S
        else:
            S = None
            G12 = gt.psi.T @ E
            gram = np.block([[gt.psi.T @ gt.psi, G12], [G12.T, E.T @ E]])
        se_ni_cells = _cell_non_intervention_se(gt, Y, tpos, cluster, gram, S)
        # linear maps of P onto every parameter
        blocks: dict[str, np.ndarray] = {"cells": np.vstack([np.eye(K), np.zeros((nG + 1, K))])}
        for kind, ag in aggs.items():
            blocks[kind] = np.vstack([ag.A, ag.B, np.zeros((1, ag.A.shape[1]))])
        ni = np.zeros((K + nG + 1, 1))
        ni[:K, 0] = -head.A[:, -1]
        ni[K:K + nG, 0] = -head.B[:, -1]
        ni[-1, 0] = 1.0
        blocks["non_intervention"] = ni
        L = np.hstack(list(blocks.values()))
        var = np.einsum("ij,ij->j", L, gram @ L) / gt.n**2
        se_an = np.sqrt(np.clip(var, 0.0, None))
        spans, start = {}, 0
        for key, blk in blocks.items():
            spans[key] = slice(start, start + blk.shape[1])
            start += blk.shape[1]
        weights = "none"
        max_t: dict[str, np.ndarray] = {}
        se = se_an.copy()
        if self.n_boot:
            md = draws_from_sums(S, n_units=gt.n, n_boot=self.n_boot, seed=stream,
                                 weights=weights_kind, gram=gram, n_clusters=n_cl)
            weights = md.weights
            D = md.draws @ L
            se_b = iqr_se(D)
            ok = se_an > 0
            se = np.where(ok, se_b, 0.0)
            for fam, key in (("group_time", "cells"), ("dynamic", "dynamic"), ("group", "group"),
                             ("calendar", "calendar")):
                if key not in spans:
                    continue
                sl = spans[key]
                cols = np.arange(sl.start, sl.stop)
                if key != "cells":
                    cols = cols[:-1]  # the family's members, not its overall value
                good = cols[(se[cols] > 0) & np.isfinite(se[cols])]
                if good.size:
                    max_t[fam] = np.max(np.abs(D[:, good]) / se[good], axis=1)
        rows = []
        for kind, ag in aggs.items():
            sl = spans[kind]
            ses = se[sl]
            for j, lab in enumerate(ag.labels):
                rows.append({"aggregation": _agg_name(kind), "label": _label(kind, lab),
                             "event_time": int(lab) if kind == "dynamic" else np.nan,
                             "estimate": float(ag.estimate[j]), "std_error": float(ses[j])})
            rows.append({"aggregation": _agg_name(kind), "label": "overall",
                         "event_time": np.nan, "estimate": float(ag.overall),
                         "std_error": float(ses[-1])})
        dyn = spans.get("dynamic")
        Ld = L[:, dyn.start:dyn.stop - 1] if dyn is not None else L[:, :0]
        return {"se_cells": se[spans["cells"]], "se_ni_cells": se_ni_cells,
                "event_cov": Ld.T @ gram @ Ld / gt.n**2,
                "agg_frame": pd.DataFrame(rows),
                "max_t": max_t, "weights": weights, "head": head, "obs_agg": obs_agg,
                "se_head": float(se[spans[self.aggregation]][-1]),
                "se_ni": float(se[spans["non_intervention"]][0])}

    @staticmethod
    def _group_time_frame(gt: GroupTime, out: dict[str, Any], name: str, otype: str) -> pd.DataFrame:
        tpos = np.searchsorted(gt.periods, gt.time)
        gpos = np.searchsorted(gt.periods, gt.group)
        return pd.DataFrame({
            "outcome": name, "outcome_type": otype, "group": gt.group.astype(float),
            "period": gt.time.astype(float), "base_period": gt.base.astype(float),
            "event_time": (tpos - gpos).astype(int), "post": np.where(gt.post, "yes", "no"),
            "n_treated": gt.n_treated, "n_comparison": gt.n_comparison,
            "observed": gt.observed, "non_intervention": gt.observed - gt.att,
            "non_intervention_se": out["se_ni_cells"],
            "estimate": gt.att, "std_error": out["se_cells"],
        })

    def _headline(self, gt: GroupTime, out: dict[str, Any], name: str, otype: str,
                  p: dict[str, Any]) -> OutcomeEstimate:
        head, obs_agg = out["head"], out["obs_agg"]
        observed = float(obs_agg.overall)
        effect = float(head.overall)
        naive = float(np.nansum(head.A[:, -1] * gt.comparison_mean))
        treated_units = int(np.isfinite(gt.unit_group).sum())
        comp = int((~np.isfinite(gt.unit_group)).sum()) if self.comparison == "never_treated" \
            else int(gt.n_comparison.max())
        return OutcomeEstimate(
            outcome=name, outcome_type=otype, n_treated=treated_units, n_comparison=comp,
            observed=observed, non_intervention=observed - effect,
            non_intervention_se=out["se_ni"], effect=effect, std_error=out["se_head"],
            naive_comparison=naive, cohort_std_error=out["se_head"],
            se_method=(f"Callaway & Sant'Anna ({self.model}); "
                       + ("multiplier bootstrap" if self.n_boot else "influence function")
                       + (", clustered" if p["cluster"] is not None else ", by unit")),
        )

    def _cross_checks(self, Y: np.ndarray, gt: GroupTime, cluster: np.ndarray | None,
                      name: str, otype: str, has_covariates: bool) -> list[dict[str, Any]]:
        from pbr_eval.estimators.group_time import influence_se

        T = gt.periods.size
        g = gt.unit_group
        wave = np.where(np.isfinite(g), np.searchsorted(gt.periods, np.where(np.isfinite(g), g, 0)),
                        T)
        wm = wave_means(Y[:, :T], wave)  # the periods the group-time effects used
        rows = []
        runs = (("Sun & Abraham (interaction-weighted)", lambda: sun_abraham(
                    wm, anticipation=self.anticipation)[1], ""),
                ("Borusyak, Jaravel & Spiess (imputation)", lambda: imputation(
                    wm, anticipation=self.anticipation)[1], ""),
                ("Two-way fixed effects", lambda: twfe(wm, anticipation=self.anticipation),
                 "biased when effects differ by group or grow over time; shown for contrast"))
        for label, fn, note in runs:
            try:
                le = fn()
                est = float(le.estimate[0])
                se = float(influence_se(le.psi(wm), cluster)[0])
                extra = note
            except EstimationError as err:
                est, se, extra = math.nan, math.nan, str(err)
            if math.isfinite(est) and has_covariates:
                extra = "; ".join(x for x in (extra, "without covariates") if x)
            rows.append({"outcome": name, "outcome_type": otype, "estimator": label,
                         "estimate": est, "std_error": se, "note": extra})
        return rows


def _group_cells(gt: GroupTime, cells: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Return the selected cells by group: (the group's units, the cells' positions) per group."""
    out = []
    for g in gt.group_values:
        ks = np.flatnonzero(cells & (gt.group == g))
        if ks.size:
            out.append((np.flatnonzero(gt.unit_group == g), ks))
    return out


def _cell_non_intervention_se(gt: GroupTime, Y: np.ndarray, tpos: np.ndarray,
                              cluster: np.ndarray | None, gram: np.ndarray,
                              S: np.ndarray | None) -> np.ndarray:
    """Analytic SE of each cell's non-intervention mean, observed(g, t) - ATT(g, t).

    As an estimate of the group's *expected* outcome without the programme:
    the influence of the group's observed mean, ``(n / n_g) (Y_it - observed)``
    on its members, minus the cell's ATT influence; clustered like the rest.
    From the cells' sums of squared influence (``gram``'s diagonal) or their
    cluster sums (``S``'s first columns) and one pass over each group's
    members: no extra (n, K) matrix (the bootstrap is not run for it).
    """
    out = np.full(gt.att.size, np.nan)
    codes = None if cluster is None else np.unique(cluster, return_inverse=True)[1]
    for members, ks in _group_cells(gt, np.isfinite(gt.att)):
        psi_m = gt.psi[np.ix_(members, ks)]
        obs_m = (gt.n / members.size) * (Y[np.ix_(members, tpos[ks])] - gt.observed[ks])
        if codes is None:
            # sum of d^2, d = obs_m - psi on the members and -psi elsewhere
            ss = np.diag(gram)[ks] - np.einsum("ij,ij->j", psi_m, psi_m)
            d = obs_m - psi_m
            ss = ss + np.einsum("ij,ij->j", d, d)
        else:
            assert S is not None
            sums = -S[:, ks]
            for j in range(ks.size):
                sums[:, j] += np.bincount(codes[members], weights=obs_m[:, j],
                                          minlength=sums.shape[0])
            ss = np.einsum("ij,ij->j", sums, sums)
        out[ks] = np.sqrt(np.clip(ss, 0.0, None)) / gt.n
    return out


def _agg_name(kind: str) -> str:
    return {"simple": "overall", "group": "by group", "calendar": "by period",
            "dynamic": "by periods since start"}[kind]


def _label(kind: str, lab: Any) -> str:
    if kind == "dynamic":
        return f"{int(lab):+d}"
    v = float(lab)
    return str(int(v)) if v.is_integer() else str(v)

