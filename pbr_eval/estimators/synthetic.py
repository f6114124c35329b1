"""Synthetic control and synthetic difference-in-differences: ``method="synthetic_control"`` / ``"sdid"``.

For a programme that starts in one area, or a few areas at the same time,
with many comparison areas followed over the same periods. The comparison
areas are weighted so that together they track the treated area(s) before
the start; after the start the weighted path is the treated areas'
non-intervention path. The numbers are in
:mod:`pbr_eval.estimators.synthetic_weights` (checked against R ``synthdid``
on California's Proposition 99).

References
----------
Abadie, A., Diamond, A. & Hainmueller, J. (2010). Synthetic control methods
for comparative case studies. Journal of the American Statistical
Association 105(490), 493-505.
Arkhangelsky, D., Athey, S., Hirshberg, D. A., Imbens, G. W. & Wager, S.
(2021). Synthetic difference-in-differences. American Economic Review
111(12), 4088-4118.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from pbr_eval.cohort import Cohort, DroppedRows
from pbr_eval.estimators.base import Estimator, base_info, register, weights_series
from pbr_eval.estimators.synthetic_weights import (
    SynthFit,
    jackknife_se,
    placebo_estimates,
    synth_fit,
)
from pbr_eval.exceptions import EstimationError, OptionError
from pbr_eval.options import (
    SYNTH_CONTROL_SE,
    SYNTH_SE,
    SynthControlSE,
    SynthSE,
    check_choice,
    check_int,
)
from pbr_eval.results.counterfactual import CounterfactualResults, OutcomeEstimate
from pbr_eval.results.synthetic import SyntheticResults

__all__ = ["SyntheticControl", "SyntheticDiD"]

#: Placebo replications by default (Arkhangelsky et al. 2021 use 200 in their simulations).
DEFAULT_N_PLACEBO = 200
_FORMS = {"sc": "synthetic control", "sdid": "synthetic difference-in-differences",
          "did": "difference-in-differences"}


def _flag(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise OptionError(f"`{name}` must be True or False; got {value!r}.")
    return value


def _seed(value: Any) -> int | None:
    if value is not None and (not isinstance(value, (int, np.integer)) or value < 0):
        raise OptionError(f"`seed` must be a non-negative integer or None; got {value!r}.")
    return None if value is None else int(value)


class _Synthetic(Estimator):
    """Shared fitting of the synthetic-weights estimators (not registered itself)."""

    family = "panel"
    caveat = None
    estimands = ("ATT",)
    se_kinds: ClassVar[tuple[str, ...]] = SYNTH_SE
    validation_designs = ("synthetic",)
    _form: ClassVar[str] = ""

    def _setup(self, start: float | None, se: str, n_placebo: int, cross_checks: bool,
               seed: int | None) -> None:
        if start is not None and (isinstance(start, bool) or not isinstance(
                start, (int, float, np.integer, np.floating)) or not math.isfinite(float(start))):
            raise OptionError(f"`start` must be a period (a number) or None; got {start!r}.")
        self.start = start
        self.se = check_choice("se", se, self.se_kinds)
        self.n_placebo = check_int("n_placebo", n_placebo, minimum=2)
        self.cross_checks = _flag("cross_checks", cross_checks)
        self.seed = _seed(seed)

    # ------------------------------------------------------------ data
    def _panel(self, cohort: Cohort) -> dict[str, Any]:
        """Areas by periods, comparison areas first; rows of unbalanced areas counted out."""
        if not cohort.is_panel or cohort.unit_id is None or cohort.period is None:
            raise OptionError(
                f"Method '{self.method}' needs area-by-period data: build the Cohort with "
                "`unit_id` (the area), `period` and `treatment` (1 for the programme's areas in "
                "every period), and give `start=` or `first_treated`.")
        uid, per = cohort.unit_id, cohort.period
        periods = np.asarray(cohort.ordered_periods())
        if not np.issubdtype(periods.dtype, np.number):
            raise OptionError(
                f"`period` column '{per}' must hold numbers (years, quarters numbered 1, 2, ...) "
                f"for method '{self.method}'; got {periods[:3].tolist()}.")
        start = self._start(cohort)
        T0 = int(np.searchsorted(periods, start))
        if T0 < 2 or T0 >= periods.size:
            raise OptionError(
                f"`start` must leave at least two periods before it and one from it on; got "
                f"{start:g} with periods {periods[0]:g} to {periods[-1]:g}.")
        ids = cohort.column(uid)
        uniq, unit_idx = np.unique(ids, return_inverse=True)
        tpos = np.searchsorted(periods, cohort.column(per))
        seen = np.zeros((uniq.size, periods.size), dtype=bool)
        seen[unit_idx, tpos] = True
        full: np.ndarray = np.asarray(seen.all(axis=1))
        # the Cohort has checked that treatment is constant within each area
        treated_unit = np.zeros(uniq.size, dtype=bool)
        treated_unit[unit_idx] = cohort.t
        dropped: list[DroppedRows] = []
        rows_out = ~full[unit_idx]
        if rows_out.any():
            n_rows = int(rows_out.sum())
            dropped.append(DroppedRows(
                n_rows, f"{int((~full).sum()):,} areas not observed in every period (a balanced "
                        "panel is needed)", stage=self.method,
                n_treated=int((rows_out & cohort.t).sum()),
                n_comparison=int((rows_out & ~cohort.t).sum()),
                share_treated=float((rows_out & cohort.t).sum() / max(cohort.t.sum(), 1))))
        comp = np.flatnonzero(full & ~treated_unit)
        trt = np.flatnonzero(full & treated_unit)
        if trt.size == 0:
            raise EstimationError("No programme area is observed in every period.")
        if comp.size < 2:
            raise EstimationError(
                f"Method '{self.method}' needs at least two comparison areas observed in every "
                f"period; found {comp.size}.")
        order = np.r_[comp, trt]
        pos = np.full(uniq.size, -1)
        pos[order] = np.arange(order.size)
        keep = full[unit_idx]
        return {"periods": periods, "start": start, "T0": T0, "N0": comp.size,
                "units": uniq[order], "r_unit": pos[unit_idx[keep]], "r_t": tpos[keep],
                "keep": keep, "dropped": dropped}

    def _start(self, cohort: Cohort) -> float:
        ft_col = getattr(cohort, "first_treated", None)
        if self.start is not None:
            return float(self.start)
        if ft_col is None:
            raise OptionError(
                f"Method '{self.method}' needs the programme's first period: give `start=` (e.g. "
                "start=1989) or build the Cohort with `first_treated`.")
        ft = cohort.column(ft_col).astype(float)[cohort.t]
        starts = np.unique(ft[ft > 0])
        if starts.size != 1:
            raise OptionError(
                f"`first_treated` column '{ft_col}' must give one start period for every "
                f"programme area (synthetic control compares areas that started together); got "
                f"{', '.join(f'{s:g}' for s in starts[:4]) or 'none'}. Use "
                "method='staggered_did' for a staggered roll-out.")
        return float(starts[0])

    # ------------------------------------------------------------ fit
    def fit(self, cohort: Cohort) -> CounterfactualResults:
        """Estimate the effect and the treated areas' non-intervention path.

        Raises
        ------
        OptionError
            Not an area-by-period cohort; no start period; periods not numbers.
        EstimationError
            Too few comparison areas or periods; ``se="jackknife"`` with one
            programme area.
        """
        return self._fit(cohort, inference=True)

    def fit_replicate(self, cohort: Cohort, hints: Any) -> CounterfactualResults:
        """Fit one bootstrap replicate: the same estimates as :meth:`fit`, without standard errors or cross-checks."""
        return self._fit(cohort, inference=False)

    def _fit(self, cohort: Cohort, *, inference: bool) -> CounterfactualResults:
        info = base_info(cohort, self, seed=self.seed)
        p = self._panel(cohort)
        info["dropped"] = info["dropped"] + [d.to_dict() for d in p["dropped"]]
        N0, T0, periods = p["N0"], p["T0"], p["periods"]
        N = p["units"].size
        N1 = N - N0
        se_kind = self.se
        if se_kind == "auto":
            se_kind = "jackknife" if N1 >= 2 and "jackknife" in self.se_kinds else "placebo"
        if se_kind == "jackknife" and N1 < 2:
            raise EstimationError(
                "`se='jackknife'` needs two or more programme areas (leaving the only one out "
                "leaves nothing to estimate); use se='placebo'.")
        if se_kind == "placebo" and N0 <= N1:
            raise EstimationError(
                f"`se='placebo'` needs more comparison areas ({N0}) than programme areas ({N1}).")
        if cohort.X.shape[1]:
            info["notes"].append(
                f"Covariates ({', '.join(cohort.design_columns[:4])}) are not used by "
                f"{_FORMS[self._form]}: the weights match the areas' outcomes before the start.")
        streams = np.random.SeedSequence(self.seed).spawn(len(cohort.outcomes))
        estimates: list[OutcomeEstimate] = []
        paths, unit_w, time_w, checks = [], [], [], []
        for name, stream in zip(cohort.outcomes, streams, strict=True):
            Y = np.full((N, periods.size), np.nan)
            Y[p["r_unit"], p["r_t"]] = cohort.y(name)[p["keep"]]
            otype = cohort.outcome_types[name]
            fit = synth_fit(Y, N0, T0, method=self._form)
            if not inference:
                se, how = math.nan, "not computed (a bootstrap replicate)"
            elif se_kind == "placebo":
                draws = placebo_estimates(Y, N0, T0, method=self._form,
                                          replications=self.n_placebo, seed=stream)
                se = float(np.sqrt((draws.size - 1) / draws.size) * draws.std(ddof=1))
                how = f"placebo ({self.n_placebo:,} replications)"
            else:
                se = jackknife_se(Y, N0, T0, fit)
                how = "jackknife over areas"
            note = "" if math.isfinite(se) or not inference else (
                "the jackknife is not defined when one comparison area carries all the weight")
            estimates.append(self._headline(fit, Y, N0, T0, name, otype, se, how, note))
            paths.append(pd.DataFrame({
                "outcome": name, "outcome_type": otype, "period": periods.astype(float),
                "post": np.where(np.arange(periods.size) >= T0, "yes", "no"),
                "observed": fit.observed, "non_intervention": fit.counterfactual,
                "gap": fit.observed - fit.counterfactual}))
            nz = fit.omega > 0
            unit_w.append(pd.DataFrame({"outcome": name, "area": p["units"][:N0][nz].astype(str),
                                        "weight": fit.omega[nz]}).sort_values(
                                            "weight", ascending=False, kind="stable"))
            time_w.append(pd.DataFrame({"outcome": name, "period": periods[:T0].astype(float),
                                        "weight": fit.lambda_}))
            checks.extend(self._cross_checks(Y, N0, T0, name, otype, fit, inference, se))
        info["notes"].append(
            f"{N1:,} programme area(s) from period {p['start']:g}; {N0:,} comparison areas; "
            f"{T0:,} periods before the start and {periods.size - T0:,} from it on.")
        info.update({
            "estimand": "ATT", "form": self._form, "form_label": _FORMS[self._form],
            "start": p["start"], "periods": periods.tolist(), "n_areas": int(N),
            "n_treated_areas": int(N1), "n_comparison_areas": int(N0), "se": se_kind,
            "n_placebo": self.n_placebo if se_kind == "placebo" else 0,
            "treated_areas": [str(u) for u in p["units"][N0:]],
            "unit_words": ["area", "areas"],   # the report header counts areas, not people
        })
        sr = SyntheticResults(
            path=pd.concat(paths, ignore_index=True),
            unit_weights=pd.concat(unit_w, ignore_index=True),
            time_weights=pd.concat(time_w, ignore_index=True),
            cross_check_table=pd.DataFrame(checks, columns=[
                "outcome", "outcome_type", "estimator", "estimate", "std_error", "note"]),
            info=info)
        w = np.zeros(cohort.n)
        w[p["keep"]] = 1.0
        return CounterfactualResults(
            method=self.method, estimand="ATT", estimates=estimates,
            weights=weights_series(cohort, w), balance=None, info=info,
            extras={"synthetic": sr})

    def _headline(self, fit: SynthFit, Y: np.ndarray, N0: int, T0: int, name: str, otype: str,
                  se: float, how: str, note: str) -> OutcomeEstimate:
        observed = float(fit.observed[T0:].mean())
        return OutcomeEstimate(
            outcome=name, outcome_type=otype, n_treated=Y.shape[0] - N0,
            n_comparison=int(np.count_nonzero(fit.omega)),
            observed=observed, non_intervention=observed - fit.estimate,
            non_intervention_se=se, effect=fit.estimate, std_error=se,
            naive_comparison=float(Y[:N0, T0:].mean()), cohort_std_error=se,
            se_method=f"{_FORMS[self._form]}; {how}", se_note=note)

    def _cross_checks(self, Y: np.ndarray, N0: int, T0: int, name: str, otype: str,
                      fit: SynthFit, inference: bool, se: float) -> list[dict[str, Any]]:
        rows = [{"outcome": name, "outcome_type": otype, "estimator": _FORMS[self._form],
                 "estimate": fit.estimate, "std_error": se, "note": "the headline"}]
        if not (self.cross_checks and inference):
            return rows
        notes = {"sc": "weights areas to match the level before the start",
                 "sdid": "weights areas and periods; allows a constant gap",
                 "did": "every comparison area and period weighted equally"}
        for form in ("sdid", "sc", "did"):
            if form != self._form:
                rows.append({"outcome": name, "outcome_type": otype, "estimator": _FORMS[form],
                             "estimate": synth_fit(Y, N0, T0, method=form).estimate,
                             "std_error": math.nan, "note": notes[form]})
        return rows


@register("synthetic_control")
class SyntheticControl(_Synthetic):
    """Synthetic control: comparison areas weighted to match the programme area(s) before the start.

    Parameters
    ----------
    start : number, optional
        The programme's first period; default: the cohort's ``first_treated``
        (one value for every programme area).
    se : {"auto", "placebo"}, default "auto"
        ``"placebo"`` (the only one, and ``"auto"``'s choice): comparison
        areas drawn at random play the programme area(s) and the spread of
        their estimates is the standard error (Arkhangelsky et al. 2021,
        Algorithm 4; needs more comparison than programme areas). The
        jackknife is not offered: leaving out a heavily weighted area moves
        the synthetic level, and in simulation its standard error was many
        times the estimates' spread.
    n_placebo : int, default 200
        Placebo replications.
    cross_checks : bool, default True
        Also estimate synthetic DiD and plain DiD on the same panel.
    seed : int, optional
        Seed of the placebo draws.

    Notes
    -----
    The weights (on the simplex, no intercept, a negligible ridge penalty)
    make the weighted comparison areas' outcomes before the start match the
    programme areas' mean (Abadie et al. 2010, in ``synthdid``'s
    ``sc_estimate`` form); the effect is the average gap after the start and
    the non-intervention path is the weighted comparison path. The cohort
    needs ``unit_id`` (the area), numeric ``period``, ``treatment`` (1 in
    every period for programme areas) and ``start=`` or ``first_treated``.
    Areas not observed in every period are left out and counted in
    ``info["dropped"]``. Covariates are not used. The rows are areas whose
    outcomes are already aggregates (rates, means): the results show each
    programme area's path, so do not use person-level rows.

    The path, the weights and the cross-checks are in
    ``results.extras["synthetic"]``
    (:class:`~pbr_eval.results.synthetic.SyntheticResults`). Checked against
    synthdid-py 0.1.0 (a port of R ``synthdid``) on Proposition 99: -19.620
    as published, weights to 1e-7 (``tests/reference/synthdid/``).

    Examples
    --------
    >>> import pbr_eval
    >>> from pbr_eval.datasets import simulate_synthetic
    >>> sim = simulate_synthetic(seed=4)
    >>> res = pbr_eval.estimate(sim.cohort(), method="synthetic_control", n_placebo=20, seed=1)
    >>> int(res.extras["synthetic"].path()["post"].value_counts()["yes"])
    6
    """

    phrase = "a weighted combination of comparison areas that tracked the programme areas before the start"
    se_kinds = SYNTH_CONTROL_SE
    _form = "sc"

    def __init__(
        self,
        *,
        start: float | None = None,
        se: SynthControlSE = "auto",
        n_placebo: int = DEFAULT_N_PLACEBO,
        cross_checks: bool = True,
        seed: int | None = None,
    ) -> None:
        self._setup(start, se, n_placebo, cross_checks, seed)


@register("sdid")
class SyntheticDiD(_Synthetic):
    """Synthetic difference-in-differences: weighted areas and periods, a constant gap allowed.

    Parameters
    ----------
    start : number, optional
        The programme's first period; default: the cohort's ``first_treated``.
    se : {"auto", "placebo", "jackknife"}, default "auto"
        ``"placebo"``: comparison areas drawn at random play the programme
        area(s) (Algorithm 4; needs more comparison than programme areas);
        ``"jackknife"``: leave each area out with the weights held fixed
        (Algorithm 3; two or more programme areas). ``"auto"``: jackknife
        with two or more programme areas, else placebo.
    n_placebo : int, default 200
    cross_checks : bool, default True
        Also estimate synthetic control and plain DiD on the same panel.
    seed : int, optional

    Notes
    -----
    Unit weights (with an intercept and a ridge penalty) make the comparison
    areas' path parallel to the programme areas' before the start; time
    weights pick the pre-programme periods that best predict the comparison
    areas after it; the estimate is the weighted difference-in-differences
    (Arkhangelsky et al. 2021, Algorithm 1, with ``synthdid``'s defaults).
    The non-intervention path is the weighted comparison path shifted by the
    time-weighted gap before the start. Data as :class:`SyntheticControl`.
    Checked against synthdid-py 0.1.0 on Proposition 99: -15.604 as
    published, weights and effect curve to 1e-7, jackknife standard errors
    to 1e-7.

    Examples
    --------
    >>> import pbr_eval
    >>> from pbr_eval.datasets import simulate_synthetic
    >>> sim = simulate_synthetic(n_treated=3, seed=4)
    >>> res = pbr_eval.estimate(sim.cohort(), method="sdid")       # jackknife: 3 areas
    >>> e = res.estimates[0]
    >>> bool(abs(e.effect - sim.truth.loc["y", "effect"]) < 3 * e.std_error)
    True
    """

    phrase = ("comparison areas and periods weighted so that the comparison tracked the "
              "programme areas' trend before the start")
    _form = "sdid"

    def __init__(
        self,
        *,
        start: float | None = None,
        se: SynthSE = "auto",
        n_placebo: int = DEFAULT_N_PLACEBO,
        cross_checks: bool = True,
        seed: int | None = None,
    ) -> None:
        self._setup(start, se, n_placebo, cross_checks, seed)
