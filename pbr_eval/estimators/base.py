"""What every estimator shares: the registry, option bookkeeping, and the weighted comparison of means that turns adjustment weights into estimates."""

from __future__ import annotations

import inspect
import warnings
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from pbr_eval._provenance import __version__, versions
from pbr_eval.cohort import Cohort
from pbr_eval.exceptions import IgnoredOptionWarning, OptionError
from pbr_eval.inference.sandwich import wls_sandwich
from pbr_eval.options import ESTIMANDS, ESTIMATOR_FAMILIES, SE_KINDS, check_choice
from pbr_eval.replicate import ReplicateHints
from pbr_eval.results.counterfactual import OutcomeEstimate

__all__ = ["Estimator", "ESTIMATORS", "register", "weighted_difference", "matched_sample_se",
           "base_info"]

#: method name -> estimator class; filled by :func:`register`.
ESTIMATORS: dict[str, type[Estimator]] = {}


def register(name: str) -> Callable[[type[Estimator]], type[Estimator]]:
    """Class decorator adding an estimator to :data:`ESTIMATORS` under ``name``.

    The class must describe itself (see :class:`Estimator`); a missing or
    unknown declaration raises :class:`TypeError` when the module is imported,
    so a new estimator cannot be registered half-described.
    """

    def deco(cls: type[Estimator]) -> type[Estimator]:
        _check_declarations(name, cls)
        cls.method = name
        ESTIMATORS[name] = cls
        return cls

    return deco


def _check_declarations(name: str, cls: type[Estimator]) -> None:
    problems = []
    if cls.family not in ESTIMATOR_FAMILIES:
        problems.append(f"family {cls.family!r} is not one of {ESTIMATOR_FAMILIES}")
    if not cls.phrase:
        problems.append("phrase is empty")
    if not cls.estimands or not set(cls.estimands) <= set(ESTIMANDS):
        problems.append(f"estimands {cls.estimands!r} must be a non-empty subset of {ESTIMANDS}")
    if not set(cls.se_kinds) <= set(SE_KINDS):
        problems.append(f"se_kinds {cls.se_kinds!r} must be names from {SE_KINDS}")
    if not cls.validation_designs:
        problems.append("validation_designs is empty (name a design of pbr_eval.validation.DESIGNS)")
    if problems:
        raise TypeError(f"Estimator {cls.__name__} (method {name!r}): " + "; ".join(problems) + ".")


class Estimator(ABC):
    """Base class: ``__init__`` stores validated options, ``fit`` returns results.

    Subclasses declare their options as keyword-only ``__init__`` parameters
    and implement :meth:`fit`. Each registered estimator also *describes
    itself*; reports, the docs' tables and the coverage study read these
    declarations instead of keeping lists of their own
    (``tests/test_estimator_contract.py`` checks every registered estimator):

    * ``family``: ``"matching"``, ``"stratification"``, ``"weighting"``,
      ``"regression"``, ``"doubly_robust"``, ``"panel"`` or ``"baseline"``.
    * ``phrase``: how a report names the comparison, e.g.
      ``"a matched comparison group"``.
    * ``caveat``: a warning every report must print, or None.
    * ``estimands``: the estimands it supports (``"ATT"``, ``"ATC"``, ``"ATE"``, ...).
    * ``se_kinds``: the values its ``se=`` option accepts (names from
      :mod:`pbr_eval.options`).
    * ``validation_designs``: the coverage-study designs that check it (names
      in :data:`pbr_eval.validation.DESIGNS`; the first is its main row in
      ``docs/validation.md``).

    The option vocabularies are read from these declarations too: an
    estimator validates ``estimand=`` against ``estimands`` and ``se=``
    against ``se_kinds``, so each list is written once.
    """

    method: ClassVar[str] = ""
    family: ClassVar[str] = ""
    phrase: ClassVar[str] = ""
    caveat: ClassVar[str | None] = None
    estimands: ClassVar[tuple[str, ...]] = ("ATT",)
    se_kinds: ClassVar[tuple[str, ...]] = ()
    validation_designs: ClassVar[tuple[str, ...]] = ()

    def get_params(self) -> dict[str, Any]:
        """Return the options this estimator was built with (scikit-learn style)."""
        sig = inspect.signature(type(self).__init__)
        return {
            name: getattr(self, name)
            for name in sig.parameters
            if name != "self" and hasattr(self, name)
        }

    @classmethod
    def option_names(cls) -> list[str]:
        """Return the names of the keyword options this estimator takes."""
        sig = inspect.signature(cls.__init__)
        return [n for n, p in sig.parameters.items() if n != "self" and p.kind != p.VAR_KEYWORD]

    @abstractmethod
    def fit(self, cohort: Cohort) -> Any:
        """Estimate on ``cohort`` and return a new results object."""

    # ----------------------------------------------- the replicate fast path
    def replicate_columns(self, cohort: Cohort) -> list[str] | None:
        """Return data columns :meth:`fit_replicate` reads beyond ``X``, ``t`` and the roles.

        The bootstrap copies only these into each replicate cohort
        (``Cohort.take(rows, keep=...)``). ``None`` (the default): all columns.
        """
        return None

    def fit_replicate(self, cohort: Cohort, hints: ReplicateHints) -> Any:
        """Fit one bootstrap replicate; the same estimates as :meth:`fit`.

        The default is :meth:`fit`. An estimator that can use ``hints``
        (:class:`~pbr_eval.replicate.ReplicateHints`: a warm start, the
        distinct parent rows, work buffers) overrides it, and may leave out
        what a replicate does not need (the balance table, covariances); the
        estimates it returns must equal :meth:`fit`'s on the same cohort.
        """
        return self.fit(cohort)

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({params})"


def build_estimator(method: str, options: dict[str, Any], ignored: dict[str, Any] | None = None) -> Estimator:
    """Look up ``method`` in the registry and build it from ``options``.

    Options that the method does not take raise :class:`OptionError` listing
    the ones it does.
    """
    check_choice("method", method, sorted(ESTIMATORS))
    cls = ESTIMATORS[method]
    allowed = cls.option_names()
    unknown = [k for k in options if k not in allowed]
    if unknown:
        raise OptionError(
            f"Method '{method}' does not take option(s) {', '.join(map(repr, unknown))}; "
            f"its options are {', '.join(map(repr, allowed))}."
        )
    if ignored:
        warnings.warn(
            f"Method '{method}' ignores {', '.join(map(repr, ignored))}.",
            IgnoredOptionWarning,
            stacklevel=3,
        )
    return cls(**options)


def base_info(cohort: Cohort, estimator: Estimator, *, seed: Any = None) -> dict[str, Any]:
    """Return the ``info`` entries every result carries."""
    return {
        "method": estimator.method,
        "options": {k: (v if isinstance(v, (int, float, str, bool, type(None), list, tuple))
                        else repr(v)) for k, v in estimator.get_params().items()},
        "cohort": cohort.describe(),
        "dropped": [d.to_dict() for d in cohort.dropped],
        "fingerprint": cohort.fingerprint,
        "version": __version__,
        "versions": versions(),
        "seed": seed,
        "notes": list(getattr(cohort, "notes", [])),  # data-quality notes from the Cohort
    }


def matched_sample_se(
    se: str, subclass: np.ndarray | None, keep: np.ndarray
) -> tuple[np.ndarray | None, str, str]:
    """Return the sandwich settings of ``se=`` in a matched sample: (clusters, kind, description).

    ``"matched_set"`` clusters by matched set or subclass with HC1's G/(G-1)
    correction (as ``sandwich::vcovCL``); ``"HC0"``/``"HC1"``/``"HC3"`` are
    heteroskedasticity-robust (as ``sandwich::vcovHC``).

    Examples
    --------
    >>> import numpy as np
    >>> cl, kind, _ = matched_sample_se("matched_set", np.array([0, 0, 1, -1]),
    ...                                 np.array([True, True, True, False]))
    >>> cl.tolist(), kind
    ([0, 0, 1], 'HC1')
    """
    if se == "matched_set":
        if subclass is None:
            raise OptionError("`se='matched_set'` needs matched pairs or subclasses.")
        return (subclass[keep], "HC1",
                "cluster-robust by matched set (HC1 with G/(G-1) correction, as sandwich::vcovCL)")
    return None, se, f"heteroskedasticity-robust ({se}, as sandwich::vcovHC)"


def weighted_difference(
    cohort: Cohort,
    w: np.ndarray,
    *,
    subclass: np.ndarray | None,
    se: str,
) -> list[OutcomeEstimate]:
    """Estimates from adjustment weights: weighted means and a robust SE.

    The effect is the coefficient on treatment in the weighted regression
    ``y ~ 1 + t`` over units with positive weight, so the intercept is the
    weighted comparison mean (the non-intervention estimate) and the
    coefficient the difference; standard errors are the regression's robust
    sandwich (cluster-robust by ``subclass`` when ``se="matched_set"``, else
    HC3), as MatchIt's documentation recommends after matching.

    Parameters
    ----------
    cohort : Cohort
    w : numpy.ndarray
        Weights aligned with the cohort's rows; 0 leaves a unit out.
    subclass : numpy.ndarray, optional
        Matched-pair or subclass label per row (-1 for none).
    se : {"matched_set", "HC3", "HC1", "HC0"}
    """
    keep = w > 0
    t = cohort.t[keep]
    ww = w[keep]
    X = np.column_stack([np.ones(t.size), t.astype(float)])
    cl, kind, se_method = matched_sample_se(se, subclass, keep)
    out = []
    n1 = int(t.sum())
    n0 = int((~t).sum())
    n_sets = None if cl is None else int(np.unique(cl).size)
    note = ""
    if n1 < 2 or n0 < 2 or (n_sets is not None and n_sets < 2):
        # a robust SE from one unit per group (or one matched set) is 0/0: say so instead
        note = ("fewer than two treated or two comparison units"
                + (", or a single matched set," if n_sets is not None else "")
                + " were kept, and a standard error needs at least two of each (widen the "
                "caliper, use fewer exact columns or a larger comparison pool)")
        cl, kind = None, "HC0"
    for name in cohort.outcomes:
        y_all = cohort.y(name)
        y = y_all[keep]
        beta, cov = wls_sandwich(X, y, ww, cluster=cl, kind=kind)  # type: ignore[arg-type]
        if note:
            cov = np.full_like(cov, np.nan)
        naive = float(y_all[~cohort.t].mean())
        out.append(
            OutcomeEstimate(
                outcome=name,
                outcome_type=cohort.outcome_types[name],
                n_treated=n1,
                n_comparison=n0,
                observed=float(beta[0] + beta[1]),
                non_intervention=float(beta[0]),
                # a variance of 0 (no variation) can come out as -1e-33: no sqrt warning
                non_intervention_se=float(np.sqrt(max(cov[0, 0], 0.0))),
                effect=float(beta[1]),
                std_error=float(np.sqrt(max(cov[1, 1], 0.0))),
                naive_comparison=naive,
                se_method=se_method,
                se_note=note,
            )
        )
    return out


def weights_series(cohort: Cohort, w: np.ndarray) -> pd.Series:
    """Weights as a Series indexed like the caller's rows."""
    return pd.Series(w, index=cohort.index, name="weight")
