"""Bootstrap replicates and the intervals read from them (the resampling is in :mod:`pbr_eval.bootstrap`; results never refit)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from pbr_eval.exceptions import OptionError
from pbr_eval.inference.intervals import (
    bca_acceleration,
    bca_interval,
    normal_bootstrap_interval,
    percentile_interval,
)
from pbr_eval.kinds import Column, Schema
from pbr_eval.options import BOOTSTRAP_CIS, NI_TARGETS, check_choice, check_level
from pbr_eval.results.base import Results
from pbr_eval.results.counterfactual import OutcomeEstimate

__all__ = ["BootstrapResults", "QUANTITIES"]

#: The quantities bootstrapped for each outcome, in the order of the replicate array.
QUANTITIES: tuple[str, ...] = ("observed", "non_intervention", "effect")

_COLUMNS = (
    Column("outcome", "text", "Outcome"),
    Column("outcome_type", "text", "Outcome type"),
    Column("n_treated", "count", "Programme participants"),
    Column("n_comparison", "count", "Comparison group"),
    Column("observed", "outcome", "Programme group", denominator="n_treated", by="outcome_type"),
    Column("non_intervention", "outcome", "Without the programme (estimate)",
           denominator="n_treated", by="outcome_type"),
    Column("non_intervention_se", "number", "Bootstrap standard error (without the programme)"),
    Column("non_intervention_ci_lower", "outcome", "Lower limit (without the programme)",
           denominator="n_treated", by="outcome_type"),
    Column("non_intervention_ci_upper", "outcome", "Upper limit (without the programme)",
           denominator="n_treated", by="outcome_type"),
    Column("effect", "outcome_difference", "Difference", by="outcome_type"),
    Column("std_error", "number", "Bootstrap standard error (difference)"),
    Column("ci_lower", "outcome_difference", "Lower limit (difference)", by="outcome_type"),
    Column("ci_upper", "outcome_difference", "Upper limit (difference)", by="outcome_type"),
    Column("ci_method", "text", "Interval method"),
    Column("level", "probability", "Confidence level"),
    Column("n_boot", "planned_count", "Bootstrap replicates"),
    Column("n_failed", "planned_count", "Replicates that failed"),
)


def _frozen(a: Any) -> np.ndarray | None:
    if a is None:
        return None
    out = np.array(a, dtype=float)
    out.setflags(write=False)
    return out


class BootstrapResults(Results):
    """Bootstrap replicates and intervals (read-only).

    Returned by :func:`pbr_eval.bootstrap` and by
    ``pbr_eval.estimate(..., inference="bootstrap")``.

    Attributes
    ----------
    method : str
        The estimator's method name.
    resampling : str
        Resampling scheme (the ``kind=`` option of the bootstrap):
        ``"unit"``, ``"stratified"``, ``"cluster"``, ``"pair"`` or
        ``"comparison"``.
    ci : str
        Default interval: ``"normal"``, ``"percentile"`` or ``"bca"``.
    level : float
        Default confidence level.
    estimates : tuple of OutcomeEstimate
        The estimates on the full data.
    replicates : numpy.ndarray
        Shape ``(n_boot, n_outcomes, 3)``: observed, non-intervention and
        effect (see :data:`QUANTITIES`) per replicate; NaN where a replicate
        failed. Read-only.
    jackknife : numpy.ndarray or None
        Leave-one-(group-)out estimates used by BCa, same layout; ``None``
        unless the run used ``ci="bca"``. Not exported by :meth:`to_dict`
        (a leave-one-out estimate can reveal one unit's outcome): the export
        keeps only :attr:`acceleration`.
    acceleration : numpy.ndarray or None
        Shape ``(n_outcomes, 3)``: the BCa acceleration from the jackknife
        (:func:`~pbr_eval.inference.intervals.bca_acceleration`), or ``None``.
    cohort_noise : numpy.ndarray or None
        Shape ``(n_boot, n_outcomes)``: for ``resampling="comparison"`` and
        ``"pair"``, a draw of the cohort's own outcome noise per replicate
        (see :mod:`pbr_eval.inference._cohort_boot`), added to the
        non-intervention replicates for ``target="cohort"``; ``None`` for the
        other schemes, whose replicates resample the treated units too.
    n_boot, n_failed : int
        Replicates asked for, and those whose fit failed (left out of the intervals).
    info : mapping
        Method and options, resampling details, seed entropy, notes and up to
        five failure messages.

    Examples
    --------
    >>> from pbr_eval import BootstrapResults, Cohort, bootstrap, estimators
    >>> from pbr_eval.datasets import load_families
    >>> fam = load_families()
    >>> boot = bootstrap(estimators.DifferenceInDifferences(), Cohort(fam.data, **fam.cohort_args),
    ...                  n_boot=20, kind="cluster", seed=1)
    >>> again = BootstrapResults.from_dict(boot.to_dict())
    >>> again.to_frame().equals(boot.to_frame())
    True
    """

    kind = "bootstrap"
    schema = Schema(_COLUMNS)
    title = "Bootstrap intervals"
    _redo = "run the bootstrap again"

    def __init__(
        self,
        *,
        method: str,
        resampling: str,
        ci: str,
        level: float,
        estimates: Sequence[OutcomeEstimate],
        replicates: np.ndarray,
        jackknife: np.ndarray | None,
        info: Mapping[str, Any],
        cohort_noise: np.ndarray | None = None,
        acceleration: np.ndarray | None = None,
    ) -> None:
        self.method = method
        self.resampling = resampling
        self.ci = ci
        self.level = level
        self.estimates = tuple(estimates)
        reps = _frozen(replicates)
        assert reps is not None
        self.replicates = reps
        self.jackknife = _frozen(jackknife)
        if acceleration is None and self.jackknife is not None:
            acceleration = bca_acceleration(self.jackknife)
        self.acceleration = _frozen(acceleration)
        self.cohort_noise = _frozen(cohort_noise)
        self.n_boot = int(reps.shape[0])
        self.n_failed = int(np.isnan(reps).any(axis=(1, 2)).sum()) if reps.size else 0
        self.info = MappingProxyType(dict(info))
        self._freeze()

    @property
    def outcomes(self) -> list[str]:
        """Outcome names, in order."""
        return [e.outcome for e in self.estimates]

    def replicate_frame(self) -> pd.DataFrame:
        """Return the replicates as a DataFrame: one row per replicate, columns (outcome, quantity)."""
        cols = pd.MultiIndex.from_product([self.outcomes, QUANTITIES], names=["outcome", "quantity"])
        return pd.DataFrame(self.replicates.reshape(self.n_boot, -1), columns=cols)

    def point(self) -> np.ndarray:
        """Return the full-data estimates, shape ``(n_outcomes, 3)`` in the order of :data:`QUANTITIES`."""
        return np.array([[e.observed, e.non_intervention, e.effect] for e in self.estimates])

    def _cohort_replicates(self) -> np.ndarray:
        """Replicates of the cohort's own rate: non-intervention plus the cohort noise, effect = observed (known) minus that."""
        assert self.cohort_noise is not None
        obs = self.point()[:, 0]
        r = np.array(self.replicates, dtype=float)
        r[:, :, 1] = r[:, :, 1] + self.cohort_noise
        r[:, :, 0] = obs
        r[:, :, 2] = obs - r[:, :, 1]
        return r

    def _interval(
        self, level: float, ci: str, replicates: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        reps = self.replicates if replicates is None else replicates
        if ci == "percentile":
            return percentile_interval(reps, level)
        if ci == "normal":
            return normal_bootstrap_interval(self.point(), reps, level)
        if self.acceleration is None:
            raise OptionError(
                "`ci='bca'` needs the jackknife values, which were not computed "
                f"(this bootstrap was run with ci={self.ci!r}). Run it again with ci='bca'."
            )
        return bca_interval(self.point(), reps, None, level, acceleration=self.acceleration)

    def to_frame(
        self, level: float | None = None, ci: str | None = None, *, target: str = "cohort"
    ) -> pd.DataFrame:
        r"""One row per outcome: estimates, bootstrap standard errors and intervals.

        Parameters
        ----------
        level : float, optional
            Confidence level (default: the results' ``level``).
        ci : {"percentile", "bca", "normal"}, optional
            Interval method (default: the one the bootstrap was run with).
        target : {"cohort", "expected"}, default "cohort"
            Which non-intervention rate the interval is for. ``"cohort"``: the
            rate *this* cohort would have had, :math:`\frac1{n_1}\sum_{T=1}
            Y(0)`, whose interval is the observed rate minus the effect
            interval (the observed rate is known, so all the uncertainty is
            the effect's). For ``resampling="comparison"`` and ``"pair"`` the
            non-intervention replicates get the cohort's own outcome noise
            added (:attr:`cohort_noise`) and the effect interval is the
            observed rate minus the non-intervention interval: both are for
            this cohort. ``"expected"``: the expected rate of people like the
            cohort, from the spread of the replicates alone; narrower, and it
            under-covers the cohort's own rate (see ``docs/validation.md``).

        Returns
        -------
        pandas.DataFrame
            The columns of :attr:`schema`. Standard errors are the standard
            deviations of the replicates.
        """
        level = self.level if level is None else check_level(level)
        ci = self.ci if ci is None else check_choice("ci", ci, BOOTSTRAP_CIS)
        target = check_choice("target", target, NI_TARGETS)
        if target == "cohort" and self.cohort_noise is not None:
            reps = self._cohort_replicates()
            lo, hi = self._interval(level, ci, reps)
            sd = np.nanstd(reps, axis=0, ddof=1)
        else:
            lo, hi = self._interval(level, ci)
            sd = np.nanstd(self.replicates, axis=0, ddof=1)
        if target == "cohort" and self.cohort_noise is None:
            obs = self.point()[:, 0]
            lo, hi, sd = lo.copy(), hi.copy(), sd.copy()
            lo[:, 1], hi[:, 1] = obs - hi[:, 2], obs - lo[:, 2]
            sd[:, 1] = sd[:, 2]
        pt = self.point().reshape(-1, len(QUANTITIES))
        by_column = {
            "outcome": self.outcomes,
            "outcome_type": [e.outcome_type for e in self.estimates],
            "n_treated": [e.n_treated for e in self.estimates],
            "n_comparison": [e.n_comparison for e in self.estimates],
            "observed": pt[:, 0], "non_intervention": pt[:, 1],
            "non_intervention_se": sd[:, 1],
            "non_intervention_ci_lower": lo[:, 1], "non_intervention_ci_upper": hi[:, 1],
            "effect": pt[:, 2], "std_error": sd[:, 2], "ci_lower": lo[:, 2], "ci_upper": hi[:, 2],
            "ci_method": f"bootstrap {ci} ({self.resampling}); non-intervention: {target}",
            "level": level, "n_boot": self.n_boot, "n_failed": self.n_failed,
        }
        return pd.DataFrame(by_column, index=pd.RangeIndex(len(self.estimates)),
                            columns=list(self.schema.names))

    def conf_int(
        self, level: float | None = None, ci: str | None = None, *, target: str = "cohort"
    ) -> pd.DataFrame:
        """Intervals for the non-intervention rate and the effect, by outcome."""
        f = self.to_frame(level, ci, target=target).set_index("outcome")
        return f[["non_intervention_ci_lower", "non_intervention_ci_upper", "ci_lower", "ci_upper"]]

    def summary(self, level: float | None = None, ci: str | None = None) -> str:
        """Return a plain-text summary."""
        f = self.to_frame(level, ci)
        pct = int(round(float(f["level"].iloc[0]) * 100))
        lines = [
            f"pbr_eval bootstrap: {self.method}, {self.resampling} resampling, "
            f"{self.n_boot:,} replicates ({self.n_failed:,} failed), {f['ci_method'].iloc[0]}",
            "=" * 72,
        ]
        for _, r in f.iterrows():
            scale, unit = (100.0, "%") if r["outcome_type"] == "binary" else (1.0, "")
            dp = 1 if unit else 3
            lines += [
                f"Outcome: {r['outcome']} ({r['outcome_type']})",
                f"  non-intervention {r['non_intervention'] * scale:.{dp}f}{unit}  {pct}% CI "
                f"{r['non_intervention_ci_lower'] * scale:.{dp}f}{unit} to "
                f"{r['non_intervention_ci_upper'] * scale:.{dp}f}{unit}",
                f"  effect {r['effect'] * scale:+.{dp}f}  {pct}% CI {r['ci_lower'] * scale:+.{dp}f}"
                f" to {r['ci_upper'] * scale:+.{dp}f}  (bootstrap SE {r['std_error'] * scale:.{dp + 1}f})",
            ]
        for note in self.info.get("notes", []):
            lines.append(f"Note: {note}")
        lines.append(f"Seed entropy {self.info.get('seed')}.")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (
            f"<BootstrapResults method={self.method!r} resampling={self.resampling!r} "
            f"n_boot={self.n_boot} n_failed={self.n_failed} outcomes={self.outcomes}>"
        )

    # ------------------------------------------------------------ export
    def _to_state(self) -> dict[str, Any]:
        """Estimates, replicates, acceleration and cohort-noise draws, and ``info``.

        The replicates are estimates over whole resampled cohorts (aggregates);
        the jackknife's leave-one-out estimates are left out (see :attr:`jackknife`).
        """
        return {
            "method": self.method,
            "resampling": self.resampling,
            "ci": self.ci,
            "level": self.level,
            "table": self.to_frame().to_dict(orient="records"),
            "estimates": [asdict(e) for e in self.estimates],
            "replicates": self.replicates.tolist(),
            "acceleration": None if self.acceleration is None else self.acceleration.tolist(),
            "cohort_noise": None if self.cohort_noise is None else self.cohort_noise.tolist(),
            "info": dict(self.info),
        }

    @classmethod
    def _from_state(cls, state: Mapping[str, Any]) -> BootstrapResults:
        def arr(key: str) -> np.ndarray | None:
            v = state.get(key)
            return None if v is None else np.array(v, dtype=float)  # None in JSON -> NaN

        texts = ("outcome", "outcome_type", "se_method")
        try:
            estimates = [
                OutcomeEstimate(**{k: (np.nan if v is None and k not in texts else v)
                                   for k, v in e.items()})  # type: ignore[arg-type]
                for e in state["estimates"]]
            reps = arr("replicates")
            if reps is None:
                raise KeyError("replicates")
            return cls(method=state["method"], resampling=state["resampling"], ci=state["ci"],
                       level=float(state["level"]), estimates=estimates,
                       replicates=reps.reshape(-1, len(estimates), len(QUANTITIES)),
                       jackknife=None, info=state.get("info") or {},
                       cohort_noise=arr("cohort_noise"), acceleration=arr("acceleration"))
        except (KeyError, TypeError, ValueError) as err:
            raise OptionError(
                f"This dictionary is not a saved BootstrapResults ({type(err).__name__}: {err}). "
                "Pass the output of BootstrapResults.to_dict()."
            ) from None
