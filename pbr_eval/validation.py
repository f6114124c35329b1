r"""Does a 95% interval cover the truth 95% of the time? Coverage studies on known truth.

:func:`coverage_study` simulates many cohorts from one of the shipped
scenarios (:func:`pbr_eval.datasets.simulate`, where the true
non-intervention rate of each simulated cohort is known), estimates each
with the same estimator, and reports for the non-intervention rate and the
effect of every outcome: bias, root mean squared error, empirical coverage of
the interval, mean interval width, and a Monte Carlo standard error for each
(Morris, White & Crowther 2019).

References
----------
Morris, T. P., White, I. R. & Crowther, M. J. (2019). Using simulation studies
to evaluate statistical methods. Statistics in Medicine 38(11), 2074-2102.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from pbr_eval.bootstrap import bootstrap
from pbr_eval.cohort import Cohort
from pbr_eval.datasets._designs import DESIGNS as MISSPECIFICATION_DESIGNS
from pbr_eval.estimators.base import ESTIMATORS, build_estimator
from pbr_eval.exceptions import OptionError, PbrEvalError
from pbr_eval.inference.intervals import z_value
from pbr_eval.kinds import Column, Schema
from pbr_eval.options import (
    BOOTSTRAP_CIS,
    BOOTSTRAP_KINDS,
    DEFAULT_LEVEL,
    INFERENCES,
    NI_TARGETS,
    check_choice,
    check_int,
    check_level,
)
from pbr_eval.results.base import Results, frame_from_records

__all__ = ["CoverageStudy", "coverage_study", "summarise_coverage", "Design", "DESIGNS",
           "designs_for", "coverage_design", "misspecification_reps",
           "summarise_misspecification", "warning_tradeoff", "missed_together",
           "MISSPECIFICATION_DESIGNS"]


@dataclass(frozen=True)
class Design:
    """A simulation design of the coverage study: a scenario with known truth and settings.

    Every registered estimator names the designs that check it
    (``Estimator.validation_designs``); ``benchmarks/make_validation.py`` runs
    each estimator on each of its designs, and
    ``tests/test_estimator_contract.py`` fails when an estimator names none,
    names one not listed here, or has no row in ``docs/validation.csv``.

    Attributes
    ----------
    name : str
        Key in :data:`DESIGNS`.
    scenario : str
        A scenario of :func:`pbr_eval.datasets.simulate`, ``"staggered"``
        (:func:`pbr_eval.datasets.simulate_staggered`) or ``"synthetic"``
        (:func:`pbr_eval.datasets.simulate_synthetic`), whose known-truth coverage
        studies are the tests named by ``own_study``.
    label : str
        How the docs' tables name the design (plain words).
    description : str
        What the design is and why it is a valid design for its estimators.
    scenario_params, cohort_options : mapping, optional
        Passed to :func:`coverage_study`.
    own_study : str, optional
        For a design :func:`coverage_study` does not simulate: the test (pytest
        node id) that runs its known-truth coverage study instead.
    biased_for : tuple of str
        Methods this design shows biased (its assumption fails for them, e.g. a
        before/after baseline under a common trend): their row documents the
        bias, and their coverage is checked on their next design
        (:meth:`coverage_design`).
    """

    name: str
    scenario: str
    label: str
    description: str
    scenario_params: Mapping[str, Any] | None = None
    cohort_options: Mapping[str, Any] | None = None
    own_study: str | None = None
    biased_for: tuple[str, ...] = ()

    def example_cohort(self, *, seed: int = 11) -> Cohort:
        """Return a small cohort of this design (150 treated, 1,500 comparison; 400 units of a staggered roll-out), e.g. to try every estimator that names the design.

        Examples
        --------
        >>> DESIGNS["families"].example_cohort(seed=1).is_panel
        True
        """
        from pbr_eval.datasets import simulate, simulate_staggered, simulate_synthetic

        if self.scenario == "staggered":
            return simulate_staggered(n_units=400, seed=seed).cohort()
        if self.scenario == "synthetic":
            return simulate_synthetic(**dict(self.scenario_params or {}), seed=seed).cohort()
        sim = simulate(self.scenario, n_treated=150, n_comparison=1500, seed=seed,
                       **dict(self.scenario_params or {}))
        return Cohort(sim.data, **{**sim.cohort_args, **dict(self.cohort_options or {})})

    def study_options(self) -> dict[str, Any]:
        """Return the keywords of :func:`coverage_study` this design sets (besides the scenario)."""
        return {"scenario_params": None if self.scenario_params is None
                else dict(self.scenario_params),
                "cohort_options": None if self.cohort_options is None
                else dict(self.cohort_options)}


_FAMILY_OUTCOMES = ("attendance_rate", "youth_offending", "adult_employed")

#: The designs of the coverage study, by name.
DESIGNS: dict[str, Design] = {d.name: d for d in (
    Design("reoffending", "reoffending", "reoffending",
           "Cross-section of prison leavers: selection on age, sex, prior offences, offence "
           "type and sentence length, all observed; a binary and a count outcome."),
    Design("reoffending_categorical", "reoffending", "reoffending, categorical selection",
           "As 'reoffending' with selection on the categorical covariates only (sex, offence "
           "type), the design exact matching needs.",
           scenario_params={"selection": {"age": 0.0, "prior_offences": 0.0,
                                          "sentence_months": 0.0}},
           cohort_options={"covariates": ["sex", "offence_type"]}),
    Design("families", "families", "families",
           "Panel of families before and after a programme, with common trends; the "
           "difference-in-differences assumption holds, a before/after baseline is biased "
           "by the trend.", biased_for=("baseline",)),
    Design("families_no_trend", "families", "no common trend",
           "As 'families' without a common trend: a before/after baseline is then a valid "
           "design.",
           scenario_params={"outcome": {o: {"trend": 0.0} for o in _FAMILY_OUTCOMES}}),
    Design("staggered", "staggered", "staggered roll-out",
           "Panel of units joining the programme in waves (simulate_staggered): selection on "
           "an observed covariate that also shifts the trend, known group-time effects.",
           own_study="tests/test_staggered.py::test_reduced_coverage_staggered"),
    Design("synthetic", "synthetic", "areas, one start",
           "Panel of 30 areas over 20 periods, a programme starting in three of them in period "
           "15 (simulate_synthetic): an interactive fixed-effects model, known effects that "
           "grow after the start.",
           scenario_params={"n_areas": 30, "n_treated": 3, "n_periods": 20, "start": 15,
                            "effect": -3.0, "growth": -0.2, "selection": 0.0},
           own_study="tests/test_synthetic_estimator.py::test_reduced_coverage_synthetic"),
)}


def designs_for(method: str) -> list[Design]:
    """Return the designs that check estimator ``method``, its main design first.

    Examples
    --------
    >>> [d.name for d in designs_for("exact")]
    ['reoffending_categorical']
    """
    check_choice("method", method, sorted(ESTIMATORS))
    return [DESIGNS[name] for name in ESTIMATORS[method].validation_designs]


def coverage_design(method: str) -> Design:
    """Return the first design declared for ``method`` on which its intervals should cover.

    Examples
    --------
    >>> coverage_design("baseline").name  # 'families' shows its bias under a common trend
    'families_no_trend'
    """
    valid = [d for d in designs_for(method) if method not in d.biased_for]
    if not valid:
        raise OptionError(f"Estimator '{method}' declares no design on which it should cover; "
                          "add one to its validation_designs.")
    return valid[0]

#: Whose non-intervention rate is the truth: the treated units the estimator kept
#: (weight > 0; the whole cohort when it keeps all) or always the whole cohort.
TRUTHS = ("kept", "cohort")
_QUANTITIES = (("non_intervention", "non_intervention_ci_lower", "non_intervention_ci_upper"),
               ("effect", "ci_lower", "ci_upper"),
               ("non_intervention_cohort", "ni_cohort_lower", "ni_cohort_upper"))


def summarise_coverage(reps: pd.DataFrame, level: float) -> pd.DataFrame:
    r"""Return performance measures and their Monte Carlo standard errors from per-replicate rows.

    Parameters
    ----------
    reps : pandas.DataFrame
        Columns ``outcome, quantity, truth, estimate, lower, upper``, one row
        per simulated data set, outcome and quantity; rows whose estimate is
        NaN (failed fits) are left out and counted.
    level : float
        The nominal level of the intervals.

    Returns
    -------
    pandas.DataFrame
        One row per outcome and quantity: ``n_reps, n_failed, bias,
        bias_mcse, rmse, rmse_mcse, coverage, coverage_mcse, mean_width,
        width_mcse, se_ratio``.

    Notes
    -----
    With errors :math:`e_r = \hat\theta_r - \theta_r` over :math:`R`
    replicates (Morris et al. 2019, table 6): bias :math:`\bar e`, MCSE
    :math:`s_e/\sqrt R`; RMSE :math:`\sqrt{\overline{e^2}}`, MCSE
    :math:`s_{e^2}/(2\,\mathrm{RMSE}\sqrt R)` (delta method); coverage
    :math:`\hat c`, MCSE :math:`\sqrt{\hat c(1-\hat c)/R}`; mean width, MCSE
    :math:`s_w/\sqrt R`. ``se_ratio`` is the mean implied standard error
    (width / (2 z)) over the empirical standard deviation of the errors:
    below 1 means the intervals are too narrow.

    Examples
    --------
    >>> reps = pd.DataFrame({"outcome": "y", "quantity": "effect", "truth": 0.0,
    ...                      "estimate": [0.1, -0.1, 0.2, 0.0],
    ...                      "lower": [-0.1, -0.3, 0.05, -0.2], "upper": [0.3, 0.1, 0.35, 0.2]})
    >>> row = summarise_coverage(reps, 0.95).iloc[0]
    >>> float(row["coverage"]), float(row["bias"])
    (0.75, 0.05)
    """
    z = z_value(level)
    rows = []
    for (outcome, quantity), g in reps.groupby(["outcome", "quantity"], sort=False):
        ok = g["estimate"].notna() & g["lower"].notna() & g["upper"].notna()
        h = g[ok]
        r = len(h)
        e = (h["estimate"] - h["truth"]).to_numpy(dtype=float)
        covered = ((h["lower"] <= h["truth"]) & (h["truth"] <= h["upper"])).to_numpy(dtype=float)
        width = (h["upper"] - h["lower"]).to_numpy(dtype=float)
        if r >= 2:
            rmse = float(np.sqrt(np.mean(e**2)))
            c = float(covered.mean())
            sd_e = float(e.std(ddof=1))
            rows.append({
                "outcome": outcome, "quantity": quantity, "n_reps": r,
                "n_failed": int(len(g) - r),
                "bias": float(e.mean()), "bias_mcse": sd_e / math.sqrt(r),
                "rmse": rmse,
                "rmse_mcse": float((e**2).std(ddof=1) / (2 * rmse * math.sqrt(r))) if rmse > 0
                else math.nan,
                "coverage": c, "coverage_mcse": math.sqrt(c * (1 - c) / r),
                "mean_width": float(width.mean()),
                "width_mcse": float(width.std(ddof=1) / math.sqrt(r)),
                "se_ratio": float(width.mean() / (2 * z) / sd_e) if sd_e > 0 else math.nan,
            })
        else:
            rows.append({"outcome": outcome, "quantity": quantity, "n_reps": r,
                         "n_failed": int(len(g) - r)})
    return pd.DataFrame(rows)


class CoverageStudy(Results):
    """The result of :func:`coverage_study` (read-only).

    Attributes
    ----------
    table : pandas.DataFrame
        Per outcome and quantity (``non_intervention`` or ``effect``): the
        measures of :func:`summarise_coverage`.
    replicates : pandas.DataFrame
        Per simulated data set, outcome and quantity: truth, estimate, interval.
    level : float
    info : dict
        Estimator, options, scenario and its parameters, ``n_reps``, seed,
        inference settings, failures.
    """

    kind: ClassVar[str] = "coverage_study"
    title: ClassVar[str] = "Coverage study on simulated cohorts"
    schema: ClassVar[Schema] = Schema((
        Column("outcome", "text", "Outcome"),
        Column("quantity", "text", "Quantity estimated"),
        Column("truth_of", "text", "Whose true rate the estimate is scored against"),
        Column("kept_share", "probability", "Share of each simulated programme cohort kept"),
        Column("n_reps", "planned_count", "Simulated cohorts estimated"),
        Column("n_failed", "planned_count", "Simulated cohorts that failed"),
        Column("bias", "number", "Bias"),
        Column("bias_mcse", "number", "Monte Carlo error of the bias"),
        Column("rmse", "number", "Root mean squared error"),
        Column("rmse_mcse", "number", "Monte Carlo error of the root mean squared error"),
        Column("coverage", "probability", "Coverage of the interval"),
        Column("coverage_mcse", "probability", "Monte Carlo error of the coverage"),
        Column("mean_width", "number", "Average interval width"),
        Column("width_mcse", "number", "Monte Carlo error of the width"),
        Column("se_ratio", "ratio", "Standard error implied by the interval over the actual "
               "spread"),
    ))
    _redo = "run coverage_study() again"

    def __init__(self, table: pd.DataFrame, replicates: pd.DataFrame, level: float,
                 info: Mapping[str, Any]) -> None:
        self.table = table
        self.replicates = replicates
        self.level = float(level)
        self.info = MappingProxyType(dict(info))
        self._freeze()

    def __repr__(self) -> str:
        return f"<CoverageStudy {self.info.get('label')!r} reps={self.info.get('n_reps')}>"

    def _to_state(self) -> dict[str, Any]:
        return {"table": self.table.to_dict(orient="records"),
                "replicates": self.replicates.to_dict(orient="records"),
                "level": self.level, "info": dict(self.info)}

    @classmethod
    def _from_state(cls, state: Mapping[str, Any]) -> CoverageStudy:
        text = ("outcome", "quantity", "truth_of")
        return cls(frame_from_records(state.get("table") or [], text=text),
                   frame_from_records(state.get("replicates") or [], text=text),
                   float(state.get("level", DEFAULT_LEVEL)), dict(state.get("info") or {}))

    def to_frame(self) -> pd.DataFrame:
        """Return the performance table."""
        return self.table.copy()

    def summary(self) -> str:
        """One line per outcome and quantity."""
        lines = [f"Coverage study: {self.info['label']} on '{self.info['scenario']}', "
                 f"{self.info['n_reps']} simulated cohorts, nominal {self.level:.0%}"]
        for _, r in self.table.iterrows():
            lines.append(
                f"  {r['outcome']:<22} {r['quantity']:<17} coverage {r['coverage']:.3f} "
                f"(MCSE {r['coverage_mcse']:.3f})  bias {r['bias']:+.4f}  RMSE {r['rmse']:.4f}  "
                f"width {r['mean_width']:.4f}"
            )
        return "\n".join(lines)


def _kept_truth(
    sim: Any, scenario: str, sim_args: dict[str, Any], seed: int, cohort: Any, res: Any
) -> tuple[pd.DataFrame, int]:
    """Return the truth over the treated units the estimator kept (weight > 0), weighted.

    Per-unit non-intervention outcomes come from the same simulation with the
    effect set to zero: the scenarios draw every unit's Y(0) before applying
    the effect, so the treated outcomes of that run are the treated units'
    Y(0). Checked: their mean must reproduce ``sim.truth``.
    """
    from pbr_eval.datasets import simulate

    t = cohort.t
    if cohort.is_panel:  # panel truth refers to the last period: keep the cohort's
        return sim.truth, int(t.sum())
    wt = np.where(t, res.weights.to_numpy(dtype=float), 0.0)
    n_kept = int((wt > 0).sum())
    if n_kept == int(t.sum()) and np.allclose(wt[t], wt[t][0]):
        return sim.truth, n_kept
    zero = simulate(scenario, seed=seed, **{**sim_args, "effect": 0})
    truth = sim.truth.copy()
    for outcome in truth.index:
        y0 = zero.data.loc[cohort.index, outcome].to_numpy(dtype=float)
        if not math.isclose(float(y0[t].mean()), float(sim.truth.loc[outcome, "non_intervention"]),
                            rel_tol=1e-9, abs_tol=1e-12):
            raise OptionError(
                f"`truth='kept'` needs each unit's outcome without the programme, but scenario "
                f"'{scenario}' does not reproduce it with effect=0 (outcome '{outcome}'). Use "
                "truth='cohort'."
            )
        y = cohort.y(outcome).astype(float)
        ni = float(wt @ y0 / wt.sum())
        obs = float(wt @ y / wt.sum())
        truth.loc[outcome, ["observed", "non_intervention", "effect"]] = [obs, ni, obs - ni]
    return truth, n_kept


def _seed_ints(seed: int | None, n: int) -> list[int]:
    return [int(s.generate_state(1)[0]) for s in np.random.SeedSequence(seed).spawn(n)]


def _one_rep(
    estimator: Any,
    scenario: str,
    sim_args: dict[str, Any],
    seed: int,
    level: float,
    inference: str,
    boot: dict[str, Any],
    period: Any,
    cohort_options: dict[str, Any],
    truth_kind: str,
    rep: int,
) -> list[dict[str, Any]]:
    import warnings

    from threadpoolctl import threadpool_limits

    from pbr_eval.datasets import simulate

    sim = simulate(scenario, seed=seed, **sim_args)
    truth = sim.truth
    n_treated = int(sim.params.get("n_treated", 0))
    n_kept = n_treated
    rows: list[dict[str, Any]] = []
    try:
        with warnings.catch_warnings(), threadpool_limits(limits=1):
            warnings.simplefilter("ignore")
            cohort = Cohort(sim.data, **{**sim.cohort_args, **cohort_options})
            if period is not None:
                cohort = cohort.at_period(period)
            res = estimator.fit(cohort)
            n_treated = int(cohort.t.sum())
            n_kept = n_treated
            if truth_kind == "kept":
                truth, n_kept = _kept_truth(sim, scenario, sim_args, seed, cohort, res)
            if inference == "bootstrap":

                opts = {k: v for k, v in boot.items() if k != "target"}
                b = bootstrap(estimator, cohort, seed=seed, progress=False, **opts)
                # non_intervention: BootstrapResults.to_frame(target=boot_target); effect
                # and non_intervention_cohort: target "cohort" (the cohort's own rate).
                fc = b.to_frame(level, target="cohort")
                f = b.to_frame(level, target=boot["target"]).assign(
                    ci_lower=fc["ci_lower"], ci_upper=fc["ci_upper"],
                    non_intervention_cohort=fc["non_intervention"],
                    ni_cohort_lower=fc["non_intervention_ci_lower"],
                    ni_cohort_upper=fc["non_intervention_ci_upper"])
            else:
                f = res.to_frame(level)
                # The cohort's own counterfactual rate: observed minus the effect interval.
                f = f.assign(non_intervention_cohort=f["non_intervention"],
                             ni_cohort_lower=f["observed"] - f["ci_upper"],
                             ni_cohort_upper=f["observed"] - f["ci_lower"])
        error = ""
    except PbrEvalError as err:
        f, error = None, f"{type(err).__name__}: {err}"
    for outcome in truth.index:
        for q, lo, hi in _QUANTITIES:
            tq = "non_intervention" if q == "non_intervention_cohort" else q
            row = {"rep": rep, "seed": seed, "outcome": outcome, "quantity": q,
                   "truth": float(truth.loc[outcome, tq]), "estimate": math.nan,
                   "lower": math.nan, "upper": math.nan, "error": error,
                   "truth_of": truth_kind, "n_treated": n_treated, "n_kept": n_kept}
            if f is not None:
                r = f.set_index("outcome").loc[outcome]
                row.update({"estimate": float(r[q]), "lower": float(r[lo]),
                            "upper": float(r[hi])})
            rows.append(row)
    return rows


def coverage_study(
    estimator: Any,
    scenario: str,
    *,
    n_reps: int = 500,
    seed: int | None = None,
    n_treated: int = 300,
    n_comparison: int = 3000,
    level: float = DEFAULT_LEVEL,
    inference: str = "analytic",
    n_boot: int = 199,
    boot_kind: str = "stratified",
    boot_ci: str = "normal",
    boot_target: str = "cohort",
    period: Any = None,
    n_jobs: int = 1,
    scenario_params: Mapping[str, Any] | None = None,
    cohort_options: Mapping[str, Any] | None = None,
    truth: str = "kept",
) -> CoverageStudy:
    r"""Bias, RMSE and interval coverage of an estimator over simulated cohorts with known truth.

    Parameters
    ----------
    estimator : estimator instance or str
        E.g. ``NearestNeighborMatching()`` or a method name (``"nearest"``),
        built with default options.
    scenario : str
        A scenario of :func:`pbr_eval.datasets.simulate` (``"reoffending"``,
        ``"families"``, ...).
    n_reps : int, default 500
        Simulated cohorts. The Monte Carlo standard error of a coverage near
        0.95 is about :math:`\sqrt{0.95 \cdot 0.05 / R}`: 0.0097 at 500.
    seed : int, optional
        Seed of the :class:`numpy.random.SeedSequence` giving each cohort's seed.
    n_treated, n_comparison : int, default 300 and 3,000
        Group sizes of each simulated cohort.
    level : float, default 0.95
    inference : {"analytic", "bootstrap"}, default "analytic"
        Whose intervals to check: the estimator's own, or
        :func:`pbr_eval.bootstrap`'s.
    n_boot, boot_kind, boot_ci
        Bootstrap settings when ``inference="bootstrap"``.
    boot_target : {"cohort", "expected"}, default "cohort"
        Which :meth:`BootstrapResults.to_frame` target gives the
        ``non_intervention`` rows (``effect`` and ``non_intervention_cohort``
        always use ``"cohort"``). ``"expected"`` is an interval for the
        expected rate of people like the cohort and under-covers the cohort's
        own rate, against which it is scored here, by design.
    period : optional
        For panel scenarios: estimate on ``cohort.at_period(period)``.
    n_jobs : int, default 1
        Cohorts estimated in parallel (joblib); results do not depend on it.
    scenario_params : dict, optional
        Passed to :func:`~pbr_eval.datasets.simulate` (e.g. ``{"effect": 0}``).
    cohort_options : dict, optional
        Overrides of the scenario's Cohort arguments (e.g. ``{"covariates": [...]}``).
    truth : {"kept", "cohort"}, default "kept"
        Whose rate each estimate is scored against. ``"kept"``: the treated
        units the estimator kept (weight > 0, weighted by their weights), the
        rate it estimates; this is the whole cohort unless it discards treated
        units (exact and coarsened exact matching, calipers, common-support
        trimming). ``"cohort"``: always the whole cohort, the rate a
        commissioner pays on (the discarding estimators are then also scored
        on their change of target). Reported per replicate (``truth_of``,
        ``n_kept``) and in the table (``truth_of``, ``kept_share``).

    Returns
    -------
    CoverageStudy

    Raises
    ------
    OptionError
        Unknown inference, bootstrap kind or interval method; invalid counts.

    Notes
    -----
    The truth of each replicate is the simulated cohort's own mean
    potential outcome without the programme, :math:`\frac{1}{n_1}\sum_{T_i=1}
    Y_i(0)`, and the corresponding effect: the quantities a commissioner
    pays on; with ``truth="kept"`` the mean runs over the treated units the
    estimator kept, :math:`\sum_{T_i=1} w_i Y_i(0) / \sum_{T_i=1} w_i`.
    Each unit's :math:`Y_i(0)` comes from the same seeded simulation with
    the effect set to zero (the simulators draw every :math:`Y(0)` before the
    effect; checked against the cohort's truth in every replicate). Panel
    scenarios always use the whole cohort's truth. Measures and Monte Carlo errors as in :func:`summarise_coverage`.
    Fits that fail are counted (``n_failed``), not hidden.

    Examples
    --------
    >>> from pbr_eval.estimators.matching import NearestNeighborMatching
    >>> cs = coverage_study(NearestNeighborMatching(), "reoffending", n_reps=3, seed=1,
    ...                     n_treated=100, n_comparison=1000)
    >>> cs.table[["outcome", "quantity", "n_reps"]]
                   outcome                 quantity  n_reps
    0           reoffended         non_intervention       3
    1           reoffended                   effect       3
    2           reoffended  non_intervention_cohort       3
    3  reconviction_events         non_intervention       3
    4  reconviction_events                   effect       3
    5  reconviction_events  non_intervention_cohort       3
    """
    from pbr_eval.datasets import SCENARIOS

    if isinstance(estimator, str):
        estimator = build_estimator(estimator, {})
    elif not hasattr(estimator, "fit"):
        raise OptionError(
            f"`estimator` must be an estimator instance or a method name; got {estimator!r}."
        )
    check_choice("scenario", scenario, SCENARIOS)
    n_reps = check_int("n_reps", n_reps, minimum=2)
    n_treated = check_int("n_treated", n_treated, minimum=1)
    n_comparison = check_int("n_comparison", n_comparison, minimum=1)
    level = check_level(level)
    inference = check_choice("inference", inference, INFERENCES)
    truth = check_choice("truth", truth, TRUTHS)
    boot = {}
    if inference == "bootstrap":
        boot = {"n_boot": check_int("n_boot", n_boot, minimum=2),
                "kind": check_choice("boot_kind", boot_kind, BOOTSTRAP_KINDS),
                "ci": check_choice("boot_ci", boot_ci, BOOTSTRAP_CIS), "level": level,
                "target": check_choice("boot_target", boot_target, NI_TARGETS)}
    sim_args = {"n_treated": n_treated, "n_comparison": n_comparison, **dict(scenario_params or {})}
    seeds = _seed_ints(seed, n_reps)
    args = (estimator, scenario, sim_args)
    tail = (level, inference, boot, period, dict(cohort_options or {}), truth)
    if n_jobs == 1:
        one: Any = _one_rep  # called with the positional arguments above
        out = [one(*args, s, *tail, i) for i, s in enumerate(seeds)]
    else:
        import joblib

        out = joblib.Parallel(n_jobs=n_jobs, batch_size="auto")(
            joblib.delayed(_one_rep)(*args, s, *tail, i) for i, s in enumerate(seeds)
        )
    reps = pd.DataFrame([row for rows in out for row in rows])
    table = summarise_coverage(reps, level)
    kept = reps.drop_duplicates("rep")
    table.insert(2, "truth_of", truth)
    table.insert(3, "kept_share", float((kept["n_kept"] / kept["n_treated"]).mean()))
    errors = [e for e in reps.drop_duplicates("rep")["error"] if e]
    label = getattr(estimator, "method", type(estimator).__name__)
    info = {
        "label": label + (f" + {boot['kind']} bootstrap ({boot['ci']}, {boot['n_boot']})"
                          if boot else ""),
        "method": label,
        "options": estimator.get_params() if hasattr(estimator, "get_params") else {},
        "scenario": scenario, "scenario_args": sim_args, "n_reps": n_reps, "seed": seed,
        "inference": inference, "bootstrap": boot, "period": period,
        "cohort_options": dict(cohort_options or {}), "truth": truth,
        "n_failed": len(errors), "failures": list(dict.fromkeys(errors))[:5],
    }
    return CoverageStudy(table=table, replicates=reps, level=level, info=info)


# ------------------------------------------------- misspecification designs (issue 16)
def misspecification_reps(design: str, *, n_reps: int = 200, seed: int = 0,
                          n_treated: int = 300, n_jobs: int = 1) -> pd.DataFrame:
    """Per-replicate estimates, intervals and warnings on a misspecification design.

    Each replicate simulates a cohort from :data:`MISSPECIFICATION_DESIGNS`
    (:func:`pbr_eval.datasets._designs.simulate_design`, known truth: the
    cohort's own mean outcome without the programme), runs the design-first
    workflow (:func:`pbr_eval.workflow.evaluate`), whose panel gives every
    estimator's estimate, and 1:1 nearest-neighbour matching without
    replacement (the old default) for contrast.

    Parameters
    ----------
    design : str
        A name in :data:`MISSPECIFICATION_DESIGNS`.
    n_reps : int, default 200
    seed : int, default 0
        Seed of the :class:`numpy.random.SeedSequence` giving each replicate's seed.
    n_treated : int, default 300
    n_jobs : int, default 1
        Replicates run in parallel (joblib); the numbers do not depend on it.

    Returns
    -------
    pandas.DataFrame
        One row per replicate and estimator: ``design``, ``rep``, ``estimator``
        (``"default workflow"`` for the headline), ``truth``, ``estimate``,
        ``lower``, ``upper``, ``se``, ``warned`` (the workflow: any fragility flag; an
        estimator: a warning it raised itself when run alone), ``flags`` (the
        workflow's fragility flag codes, joined by ``;``), ``error``.

    Examples
    --------
    >>> reps = misspecification_reps("correct", n_reps=2, n_treated=100, seed=1)
    >>> sorted(reps["estimator"].unique())[:2]
    ['default workflow', 'doubly robust (AIPW)']
    """
    check_choice("design", design, list(MISSPECIFICATION_DESIGNS))
    n_reps = check_int("n_reps", n_reps, minimum=1)
    seeds = _seed_ints(seed, n_reps)
    if n_jobs == 1:
        out = [_misspec_rep(design, s, n_treated, i) for i, s in enumerate(seeds)]
    else:
        import joblib

        out = joblib.Parallel(n_jobs=n_jobs)(joblib.delayed(_misspec_rep)(design, s, n_treated, i)
                                             for i, s in enumerate(seeds))
    return pd.DataFrame([row for rows in out for row in rows])


def _misspec_rep(design: str, seed: int, n_treated: int, rep: int) -> list[dict[str, Any]]:
    import warnings

    from threadpoolctl import threadpool_limits

    from pbr_eval.cohort import Cohort
    from pbr_eval.datasets._designs import simulate_design
    from pbr_eval.estimators.base import build_estimator
    from pbr_eval.workflow import evaluate

    sim = simulate_design(design, n_treated=n_treated, seed=seed)
    truth = float(sim.truth.loc["y", "non_intervention"])
    base = {"design": design, "rep": rep, "seed": seed, "truth": truth}
    rows: list[dict[str, Any]] = []
    with threadpool_limits(limits=1):
        cohort = Cohort(sim.data, **sim.cohort_args)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ev = evaluate(cohort, warn=False)
        except PbrEvalError as err:
            return [{**base, "estimator": "default workflow", "estimate": math.nan,
                     "lower": math.nan, "upper": math.nan, "warned": True,
                     "error": f"{type(err).__name__}: {err}"}]
        f = ev.to_frame().iloc[0]
        rows.append({**base, "estimator": "default workflow", "estimate": f["non_intervention"],
                     "lower": f["non_intervention_ci_lower"],
                     "upper": f["non_intervention_ci_upper"],
                     "se": f["non_intervention_se"], "warned": bool(ev.flags),
                     "flags": ";".join(sorted({fl.code for fl in ev.flags})), "error": ""})
        own = ev.info["evaluation"]["panel_warnings"]
        for _, r in ev.panel.iterrows():
            rows.append({**base, "estimator": r["estimator"],
                         "estimate": r.get("non_intervention", math.nan),
                         "lower": r.get("non_intervention_ci_lower", math.nan),
                         "upper": r.get("non_intervention_ci_upper", math.nan),
                         "se": r.get("non_intervention_se", math.nan),
                         "warned": bool(own.get(r["estimator"])), "error": r.get("error") or ""})
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                g = build_estimator("nearest", {}).fit(cohort).to_frame().iloc[0]
                rows.append({**base, "estimator": "nearest 1:1 without replacement",
                             "estimate": g["non_intervention"],
                             "lower": g["non_intervention_ci_lower"],
                             "upper": g["non_intervention_ci_upper"],
                             "warned": bool(caught), "error": ""})
            except PbrEvalError as err:
                rows.append({**base, "estimator": "nearest 1:1 without replacement",
                             "estimate": math.nan, "lower": math.nan, "upper": math.nan,
                             "warned": True, "error": str(err)})
    return rows


def summarise_misspecification(reps: pd.DataFrame) -> pd.DataFrame:
    """Bias, coverage, warning rates and what the warnings buy, by design and estimator.

    Parameters
    ----------
    reps : pandas.DataFrame
        From :func:`misspecification_reps` (any number of designs).

    Returns
    -------
    pandas.DataFrame
        ``design, estimator, n_reps, bias, coverage, coverage_mcse, warned``
        (share of replicates warned), ``n_missed`` (intervals that missed the
        truth), ``missed_warned`` and ``missed_unwarned`` (shares of the missed
        intervals that carried a warning and that did not), ``sound_warned``
        (share of intervals that covered the truth and were warned about anyway).

    Examples
    --------
    >>> reps = pd.DataFrame({"design": "d", "estimator": "e", "truth": 0.0,
    ...                      "estimate": [0.1, 2.0], "lower": [-1.0, 1.0], "upper": [1.0, 3.0],
    ...                      "warned": [False, True]})
    >>> row = summarise_misspecification(reps).iloc[0]
    >>> float(row["coverage"]), float(row["missed_unwarned"]), float(row["sound_warned"])
    (0.5, 0.0, 0.0)
    """
    rows = []
    for (design, est), g in reps.groupby(["design", "estimator"], sort=False):
        g = g[g["estimate"].notna() & g["lower"].notna()]
        r = len(g)
        if r == 0:
            continue
        cover = ((g["lower"] <= g["truth"]) & (g["truth"] <= g["upper"])).to_numpy()
        warned = g["warned"].astype(bool).to_numpy()
        c = float(cover.mean())
        rows.append({
            "design": design, "estimator": est, "n_reps": r,
            "bias": float((g["estimate"] - g["truth"]).mean()), "coverage": c,
            "coverage_mcse": math.sqrt(c * (1 - c) / r), "warned": float(warned.mean()),
            "n_missed": int((~cover).sum()),
            "missed_warned": float(warned[~cover].mean()) if (~cover).any() else math.nan,
            "missed_unwarned": float((~warned[~cover]).mean()) if (~cover).any() else math.nan,
            "sound_warned": float(warned[cover].mean()) if cover.any() else math.nan,
        })
    return pd.DataFrame(rows)



def _panel_methods() -> dict[str, str]:
    """Each panel label the workflow can use (any matching ratio) -> its registered method."""
    from pbr_eval.workflow import panel_specs

    return {label: m for k in range(1, 5) for label, m, _ in panel_specs(k)}


def _both_right(index: pd.MultiIndex) -> pd.Series:
    """Per (design, rep) row: whether both working models of its design are right."""
    return pd.Series([MISSPECIFICATION_DESIGNS[d].propensity_right
                      and MISSPECIFICATION_DESIGNS[d].outcome_right
                      for d in index.get_level_values("design")], index=index)


def warning_tradeoff(reps: pd.DataFrame,
                     thresholds: tuple[float, ...] = (0.3, 0.4, 0.5, 0.6, 0.75, 1.0),
                     ) -> pd.DataFrame:
    """Return what the default workflow's disagreement threshold buys, and what it costs.

    Recomputes, from :func:`misspecification_reps` output, whether each
    cohort's default workflow would have warned had the disagreement
    threshold for the checks with an outcome model
    (:data:`pbr_eval.workflow.CLOSE_CHECKS`) been each of ``thresholds``
    (the other checks at ``THRESHOLDS["disagreement_any"]``, the other
    fragility flags as they were), and, for comparison, under the earlier
    rule (every check at 0.75 headline standard errors). For each rule: the
    share of missed intervals warned about, over all designs, the designs
    with a wrong working model and those with both models right, and the
    share of intervals that covered the truth and were warned about in the
    designs with both models right (the false alarms).

    Parameters
    ----------
    reps : pandas.DataFrame
        From :func:`misspecification_reps` (with its ``se`` and ``flags`` columns).
    thresholds : tuple of float
        Thresholds, in headline standard errors, for the checks with an outcome model.

    Returns
    -------
    pandas.DataFrame
        ``rule``, ``threshold``, ``missed_warned``, ``missed_warned_wrong_model``,
        ``missed_warned_both_right``, ``sound_warned_both_right``, ``sound_warned``,
        ``n_missed``, ``n_reps``; the row whose threshold is the default has
        ``rule`` "default".

    Examples
    --------
    >>> reps = misspecification_reps("correct", n_reps=3, n_treated=100, seed=1)
    >>> t = warning_tradeoff(reps, thresholds=(0.4,))
    >>> list(t["rule"])
    ['default', 'every check at 0.75 (earlier rule)']
    """
    from pbr_eval.workflow import THRESHOLDS, disagreement_limit

    method = _panel_methods()
    head = reps[reps["estimator"] == "default workflow"].set_index(["design", "rep"])
    head = head[head["estimate"].notna() & head["lower"].notna()]
    checks = reps[reps["estimator"].isin(list(method))].copy()
    checks["method"] = checks["estimator"].map(method)
    checks = checks.join(head[["estimate", "se"]].rename(columns={"estimate": "h", "se": "h_se"}),
                         on=["design", "rep"], how="inner")
    checks["distance"] = ((checks["estimate"] - checks["h"]).abs()
                          / checks["h_se"].where(checks["h_se"] > 0))
    miss = ~((head["lower"] <= head["truth"]) & (head["truth"] <= head["upper"]))
    flags = head["flags"].fillna("").astype(str)
    other = flags.map(lambda f: bool(set(f.split(";")) - {"", "disagreement"}))
    right = _both_right(head.index)

    def far(rule: pd.Series) -> pd.Series:
        hit = checks.assign(hit=rule.to_numpy()).groupby(["design", "rep"])["hit"].any()
        return hit.reindex(head.index, fill_value=False)

    def row(rule: str, t: float, extra: pd.Series) -> dict[str, Any]:
        w = (other | extra).to_numpy()
        m, r = miss.to_numpy(), right.to_numpy()

        def share(sel: np.ndarray) -> float:
            return float(w[sel].mean()) if sel.any() else math.nan

        return {"rule": rule, "threshold": t, "missed_warned": share(m),
                "missed_warned_wrong_model": share(m & ~r),
                "missed_warned_both_right": share(m & r),
                "sound_warned_both_right": share(~m & r), "sound_warned": share(~m),
                "n_missed": int(m.sum()), "n_reps": int(m.size)}

    d = checks["distance"].fillna(-1.0)
    default = THRESHOLDS["disagreement"]

    def limits(t: float) -> np.ndarray:
        return np.array([disagreement_limit(m, t) for m in checks["method"]], dtype=float)

    rows = [row("default" if t == default else "threshold", t, far(d > limits(t)))
            for t in thresholds]
    rows.append(row("every check at 0.75 (earlier rule)", 0.75, far(d > 0.75)))
    return pd.DataFrame(rows)


def missed_together(reps: pd.DataFrame) -> pd.DataFrame:
    """Return how many of the default workflow's missed intervals every outcome-model check missed too.

    When both working models are right the headline misses the truth only by
    chance, and much of that chance is shared: the cohort itself is unusual,
    so every estimator that uses the same people lands on the same side of the
    truth. No comparison inside the data can tell such a cohort from a sound
    one, which bounds what any warning can catch without also warning on sound
    intervals. This counts, among the headline's missed intervals, those where
    every check with an outcome model (:data:`pbr_eval.workflow.CLOSE_CHECKS`)
    that could be computed missed too, on the same side, and how many of each
    kind carried a warning.

    Parameters
    ----------
    reps : pandas.DataFrame
        From :func:`misspecification_reps`.

    Returns
    -------
    pandas.DataFrame
        One row per group (``"all designs"``, ``"designs with a wrong model"``,
        ``"designs with both models right"``): ``n_missed``, ``missed_together``
        (share of the misses that every outcome-model check missed on the same
        side), ``warned_together`` and ``warned_apart`` (share warned about among
        those misses and among the others; NaN when there are none).

    Examples
    --------
    >>> reps = misspecification_reps("correct", n_reps=3, n_treated=100, seed=1)
    >>> list(missed_together(reps).columns)
    ['group', 'n_missed', 'missed_together', 'warned_together', 'warned_apart']
    """
    from pbr_eval.workflow import CLOSE_CHECKS

    method = _panel_methods()
    close = [label for label, m in method.items() if m in CLOSE_CHECKS]
    ok = reps["estimate"].notna() & reps["lower"].notna()
    out = reps[ok].assign(
        miss=lambda r: ~((r["lower"] <= r["truth"]) & (r["truth"] <= r["upper"])),
        side=lambda r: np.sign(r["estimate"] - r["truth"]))
    head = out[out["estimator"] == "default workflow"].set_index(["design", "rep"])
    checks = out[out["estimator"].isin(close)].join(
        head["side"].rename("head_side"), on=["design", "rep"], how="inner")
    same = (checks["miss"] & (checks["side"] == checks["head_side"]))
    together = same.groupby([checks["design"], checks["rep"]]).all()
    together = together.reindex(head.index, fill_value=False)
    right = _both_right(head.index)
    warned = head["warned"].astype(bool)
    rows = []
    for group, sel in (("all designs", pd.Series(True, index=head.index)),
                       ("designs with a wrong model", ~right),
                       ("designs with both models right", right)):
        m = sel & head["miss"]
        t, a = m & together, m & ~together

        def share(x: pd.Series, of: pd.Series) -> float:
            return float(x[of].mean()) if of.any() else math.nan

        rows.append({"group": group, "n_missed": int(m.sum()),
                     "missed_together": share(together, m),
                     "warned_together": share(warned, t), "warned_apart": share(warned, a)})
    return pd.DataFrame(rows)
