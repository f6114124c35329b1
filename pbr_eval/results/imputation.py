"""What an analysis of multiply imputed cohorts returns: estimates pooled by Rubin's rules.

:class:`ImputedResults` holds, per outcome, the non-intervention rate and the
effect pooled over the ``m`` imputations (:func:`pbr_eval.inference.rubin.pool_scalar`:
estimate, standard error, Barnard-Rubin degrees of freedom, t interval, fraction
of missing information), the estimates of each imputation, the balance after
adjustment in each imputation, and how many values were imputed per covariate
and group. Built by :meth:`pbr_eval.imputation.ImputedCohorts.estimate`; aggregates
only.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any, ClassVar

import pandas as pd

from pbr_eval.kinds import Column, Schema
from pbr_eval.results.base import Results, frame_from_records, jsonable
from pbr_eval.results.counterfactual import FRAME_SCHEMA

__all__ = ["ImputedResults", "IMPUTED_COUNTS_SCHEMA", "PER_IMPUTATION_SCHEMA",
           "IMPUTED_BALANCE_SCHEMA"]

#: The declared columns of :meth:`ImputedResults.imputed_counts`.
IMPUTED_COUNTS_SCHEMA = Schema((
    Column("covariate", "text", "Covariate"),
    Column("n_imputed_treated", "count", "Values imputed, programme"),
    Column("n_imputed_comparison", "count", "Values imputed, comparison"),
    Column("n_imputed", "count", "Values imputed"),
    Column("share_imputed", "probability", "Share of rows imputed", denominator="n_rows"),
    Column("n_rows", "count", "Rows"),
))

#: The declared columns of :meth:`ImputedResults.per_imputation`.
PER_IMPUTATION_SCHEMA = Schema((
    Column("imputation", "integer", "Imputation"),
    Column("outcome", "text", "Outcome"),
    Column("outcome_type", "text", "Type of outcome"),
    Column("non_intervention", "outcome", "Estimated without the programme", by="outcome_type"),
    Column("non_intervention_se", "number", "Its standard error"),
    Column("effect", "outcome_difference", "Difference made by the programme",
           by="outcome_type"),
    Column("std_error", "number", "Standard error of the difference"),
    Column("max_abs_smd_after", "number", "Largest standardised difference after adjustment"),
    Column("n_imbalanced_after", "integer", "Covariates with |SMD| above the threshold"),
))

#: The declared columns of :meth:`ImputedResults.balance`.
IMPUTED_BALANCE_SCHEMA = Schema((
    Column("imputation", "integer", "Imputation"),
    Column("covariate", "text", "Covariate"),
    Column("smd_before", "number", "Standardised difference before adjustment"),
    Column("smd_after", "number", "Standardised difference after adjustment"),
))

#: The columns an imputed estimate shares with a single one (:data:`FRAME_SCHEMA`), in order.
_SHARED = tuple(FRAME_SCHEMA.column(name) for name in (
    "outcome", "outcome_type", "n_treated", "n_comparison", "observed", "non_intervention",
    "non_intervention_se", "non_intervention_ci_lower", "non_intervention_ci_upper", "effect",
    "std_error", "ci_lower", "ci_upper"))

_POOLED = ("estimate", "std_error", "df", "fmi", "riv", "within", "between")


class ImputedResults(Results):
    """Estimates pooled over multiply imputed cohorts by Rubin's rules.

    One row of :meth:`to_frame` per outcome: the observed rate, the pooled
    non-intervention rate and effect with their standard errors, t intervals on
    the Barnard-Rubin degrees of freedom, the fraction of missing information
    (``*_fmi``) and the p-value of the effect.

    Parameters
    ----------
    pooled : sequence of dict
        Per outcome: ``outcome``, ``outcome_type``, ``n_treated``, ``n_comparison``,
        ``observed`` and, for ``non_intervention`` and ``effect``, a dict of
        ``estimate``, ``std_error``, ``df``, ``fmi``, ``riv``, ``within``, ``between``.
    per_imputation : sequence of dict
        Rows of :data:`PER_IMPUTATION_SCHEMA`.
    balance : sequence of dict
        Rows of :data:`IMPUTED_BALANCE_SCHEMA`.
    imputed : sequence of dict
        Rows of :data:`IMPUTED_COUNTS_SCHEMA`.
    info : mapping
        Settings: ``method``, ``options``, ``m``, ``seed``, the imputation engine's
        settings, ``df_complete``, ``target``, ``level``, ``dropped``, ``notes``.

    Examples
    --------
    >>> import pbr_eval
    >>> from pbr_eval.datasets import load_reoffending
    >>> sim = load_reoffending()
    >>> gaps = pbr_eval.add_missing(sim.data, ["sentence_months"], share=0.1, seed=4)
    >>> res = pbr_eval.impute(gaps, m=2, seed=8, iterations=2, **sim.cohort_args).estimate(
    ...     method="regression")
    >>> res.kind, res.m, res.outcomes
    ('imputation', 2, ['reoffended', 'reconviction_events'])
    >>> from pbr_eval.results import Results
    >>> Results.from_dict(res.to_dict()).to_dict() == res.to_dict()
    True
    """

    kind: ClassVar[str] = "imputation"
    title: ClassVar[str] = "Non-intervention estimate pooled over multiple imputations"
    schema: ClassVar[Schema] = Schema((
        *_SHARED[:9],  # outcome .. non_intervention_ci_upper, as a single estimate's
        Column("non_intervention_df", "number", "Degrees of freedom, without the programme"),
        Column("non_intervention_fmi", "probability",
               "Fraction of missing information, without the programme"),
        *_SHARED[9:13],  # effect, std_error, ci_lower, ci_upper
        Column("df", "number", "Degrees of freedom of the difference"),
        Column("fmi", "probability", "Fraction of missing information of the difference"),
        Column("p_value", "p_value", "p-value"),
        Column("m", "integer", "Imputations"),
    ))

    def __init__(self, *, pooled: Sequence[Mapping[str, Any]],
                 per_imputation: Sequence[Mapping[str, Any]],
                 balance: Sequence[Mapping[str, Any]], imputed: Sequence[Mapping[str, Any]],
                 info: Mapping[str, Any]) -> None:
        self._pooled = tuple(jsonable(dict(p)) for p in pooled)
        self._per = tuple(jsonable(dict(r)) for r in per_imputation)
        self._balance = tuple(jsonable(dict(r)) for r in balance)
        self._imputed = tuple(jsonable(dict(r)) for r in imputed)
        self.info = MappingProxyType(jsonable(dict(info)))
        self.m = int(self.info["m"])
        self.level = float(self.info.get("level", 0.95))
        self._freeze()

    # ------------------------------------------------------------------ tables
    @property
    def outcomes(self) -> list[str]:
        """The outcomes, in the cohort's order."""
        return [str(p["outcome"]) for p in self._pooled]

    def pooled(self, outcome: str, quantity: str = "non_intervention") -> PooledView:
        """Return the pooled figures of one outcome's ``non_intervention`` or ``effect``.

        Parameters
        ----------
        outcome : str
        quantity : {"non_intervention", "effect"}

        Returns
        -------
        PooledView
            ``estimate``, ``std_error``, ``df``, ``fmi``, ``riv``, ``within``,
            ``between``, ``ci_lower``, ``ci_upper``.
        """
        from pbr_eval.options import check_choice

        check_choice("outcome", outcome, self.outcomes)
        check_choice("quantity", quantity, ("non_intervention", "effect"))
        row = next(p for p in self._pooled if p["outcome"] == outcome)
        return PooledView(row[quantity])

    def to_frame(self) -> pd.DataFrame:
        """Return one row per outcome: pooled estimates, intervals, fractions of missing information."""
        rows = []
        for p in self._pooled:
            ni, ef = p["non_intervention"], p["effect"]
            rows.append({
                "outcome": p["outcome"], "outcome_type": p["outcome_type"],
                "n_treated": p["n_treated"], "n_comparison": p["n_comparison"],
                "observed": p["observed"],
                "non_intervention": ni["estimate"], "non_intervention_se": ni["std_error"],
                "non_intervention_ci_lower": ni["ci_lower"],
                "non_intervention_ci_upper": ni["ci_upper"],
                "non_intervention_df": ni["df"], "non_intervention_fmi": ni["fmi"],
                "effect": ef["estimate"], "std_error": ef["std_error"],
                "ci_lower": ef["ci_lower"], "ci_upper": ef["ci_upper"], "df": ef["df"],
                "fmi": ef["fmi"], "p_value": ef["p_value"], "m": self.m,
            })
        return frame_from_records(rows, [c.name for c in self.schema],
                                  text=["outcome", "outcome_type"])

    def per_imputation(self) -> pd.DataFrame:
        """Return each imputation's estimates and its balance summary (one row per imputation and outcome)."""
        return frame_from_records(self._per, [c.name for c in PER_IMPUTATION_SCHEMA],
                                  text=["outcome", "outcome_type"])

    def balance(self) -> pd.DataFrame:
        """Return the standardised differences before and after adjustment in each imputation."""
        return frame_from_records(self._balance, [c.name for c in IMPUTED_BALANCE_SCHEMA],
                                  text=["covariate"])

    def imputed_counts(self) -> pd.DataFrame:
        """Return how many values were imputed per covariate, by group (counts: suppress before publishing)."""
        return frame_from_records(self._imputed, [c.name for c in IMPUTED_COUNTS_SCHEMA],
                                  text=["covariate"])

    # ------------------------------------------------------------------ text
    def summary(self) -> str:
        """Return the pooled estimates, the imputation settings and the imputed counts in words."""
        info = self.info
        lines = [f"pbr_eval: non-intervention estimate pooled over {self.m} imputations "
                 f"({info.get('method')}, Rubin's rules with Barnard-Rubin degrees of freedom)"]
        pct = f"{self.level:.0%}"
        for p in self._pooled:
            ni, ef = p["non_intervention"], p["effect"]
            lines.append(
                f"  {p['outcome']}: observed {_num(p['observed'])}, without the programme "
                f"{_num(ni['estimate'])} ({pct} interval {_num(ni['ci_lower'])} to "
                f"{_num(ni['ci_upper'])}; fraction of missing information {_num(ni['fmi'])}); "
                f"difference {_num(ef['estimate'])} ({_num(ef['ci_lower'])} to "
                f"{_num(ef['ci_upper'])}; fmi {_num(ef['fmi'])})")
        imp = self.imputed_counts()
        if len(imp):
            parts = [f"{r.covariate} {int(r.n_imputed):,}" for r in imp.itertuples()]
            lines.append("  Values imputed: " + ", ".join(parts) + ".")
        lines.append(f"  Imputation: {info.get('engine', '')}.")
        for d in info.get("dropped", []):
            lines.append(f"  Rows left out: {int(d['n']):,}, {d['reason']}.")
        for n in info.get("notes", []):
            lines.append(f"  Note: {n}")
        return "\n".join(lines)

    # ------------------------------------------------------------------ state
    def _to_state(self) -> dict[str, Any]:
        return {"pooled": list(self._pooled), "per_imputation": list(self._per),
                "balance": list(self._balance), "imputed": list(self._imputed),
                "info": dict(self.info)}

    @classmethod
    def _from_state(cls, state: Mapping[str, Any]) -> ImputedResults:
        return cls(pooled=state["pooled"], per_imputation=state["per_imputation"],
                   balance=state["balance"], imputed=state["imputed"], info=state["info"])


class PooledView:
    """Read-only view of one pooled quantity (attributes named as in :class:`~pbr_eval.inference.rubin.PooledScalar`)."""

    def __init__(self, row: Mapping[str, Any]) -> None:
        for k in (*_POOLED, "ci_lower", "ci_upper", "p_value"):
            v = row.get(k)
            setattr(self, k, math.nan if v is None else float(v))

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={getattr(self, k):.6g}" for k in ("estimate", "std_error", "df",
                                                                  "fmi"))
        return f"PooledView({shown})"


def _num(v: Any) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "not computable"
    return f"{float(v):.4g}"
