"""Transport the non-intervention rate to a target population given by its covariate profile.

A commissioner pricing a roll-out pays on the people who will actually be
served: a future cohort, or a whole area, whose mix of characteristics differs
from the pilot's. :func:`transport` reweights the comparison group (and, for
the rate with the programme, the pilot's participants) so that their
covariate means equal the target's, by entropy balancing (Hainmueller 2012),
and returns the target's non-intervention rate with its standard error as a
:class:`~pbr_eval.results.counterfactual.CounterfactualResults` that
:func:`pbr_eval.price` accepts.

References
----------
Hainmueller, J. (2012). Entropy balancing for causal effects. Political
Analysis 20(1), 25-46.
Zhao, Q. & Percival, D. (2017). Entropy balancing is doubly robust. Journal of
Causal Inference 5(1).
Dahabreh, I. J., Robertson, S. E., Steingrimsson, J. A., Stuart, E. A. &
Hernan, M. A. (2020). Extending inferences from a randomized trial to a new
target population. Statistics in Medicine 39(14), 1999-2014.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from pbr_eval.cohort import Cohort
from pbr_eval.estimators._att import reject_panel, resolve_se
from pbr_eval.estimators._outcome_se import outcome_estimate
from pbr_eval.estimators.base import base_info
from pbr_eval.estimators.entropy import EntropyBalancing, entropy_att, entropy_weights
from pbr_eval.exceptions import InfeasibleBalanceError, OptionError
from pbr_eval.options import WEIGHTING_SE, check_choice
from pbr_eval.results.counterfactual import CounterfactualResults

__all__ = ["transport", "target_profile"]


def target_profile(cohort: Cohort, target: pd.DataFrame | Mapping[str, float] | pd.Series
                   ) -> np.ndarray:
    """Return the target population's mean of each of the cohort's design columns.

    Parameters
    ----------
    cohort : Cohort
        Gives the design columns (numeric covariates as they are, a category's
        levels as indicators ``name[level]``).
    target : pandas.DataFrame, mapping or pandas.Series
        The people to be served, one row each, with the cohort's covariate
        columns; or their means, keyed by design column (a numeric
        covariate's name, ``"name[level]"`` for the share at a level).

    Returns
    -------
    numpy.ndarray
        One mean per design column, in ``cohort.design_columns`` order.

    Raises
    ------
    OptionError
        A covariate or design column missing from ``target``, a level the
        cohort does not have, or a value that is not a finite number.

    Examples
    --------
    >>> import pandas as pd
    >>> from pbr_eval import Cohort
    >>> df = pd.DataFrame({"t": [1, 0] * 40, "y": [0, 1, 1, 0] * 20,
    ...                    "age": range(80), "sex": ["F", "M", "M", "F"] * 20})
    >>> c = Cohort(df, treatment="t", outcome="y", covariates=["age", "sex"], min_treated=5)
    >>> target_profile(c, {"age": 30.0, "sex[M]": 0.25}).tolist()
    [30.0, 0.25]
    """
    names = cohort.design_columns
    if isinstance(target, pd.DataFrame):
        missing = [c for c in cohort.covariates if c not in target.columns]
        if missing:
            raise OptionError(
                f"`target` must have the cohort's covariate columns; it lacks "
                f"{', '.join(map(repr, missing))}. Add them, or pass the target's means.")
        if len(target) == 0:
            raise OptionError("`target` has no rows; pass the people to be served.")
        out = np.empty(len(names))
        for j, name in enumerate(names):
            src = cohort.design_sources[name]
            s = target[src]
            if name == src:
                v = pd.to_numeric(s, errors="coerce").to_numpy(dtype=float)
                if not np.all(np.isfinite(v)):
                    raise OptionError(
                        f"`target` column '{src}' must hold numbers (no missing values); "
                        f"{int((~np.isfinite(v)).sum()):,} rows do not.")
                out[j] = v.mean()
            else:
                out[j] = float((s.astype(str) == name[len(src) + 1:-1]).mean())
        for src in dict.fromkeys(cohort.design_sources[n] for n in names
                                 if cohort.design_sources[n] != n):
            levels = {n[len(src) + 1:-1] for n in names if cohort.design_sources[n] == src}
            base = set(pd.unique(cohort.data[src].astype(str))) - levels
            unknown = sorted(set(target[src].astype(str)) - levels - base)
            if unknown:
                raise OptionError(
                    f"`target` column '{src}' has values the cohort does not: "
                    f"{', '.join(map(repr, unknown[:5]))}; the rates cannot be carried to "
                    "people unlike anyone in the data. Recode them to the cohort's levels.")
        return out
    if isinstance(target, (Mapping, pd.Series)):
        tgt = dict(target)
        missing = [n for n in names if n not in tgt]
        if missing:
            raise OptionError(
                f"`target` means must give every design column ({', '.join(names)}); missing "
                f"{', '.join(map(repr, missing))}. A category's share at a level is keyed "
                "'name[level]'.")
        extra = [k for k in tgt if k not in names]
        if extra:
            raise OptionError(
                f"`target` means has keys that are not design columns of the cohort: "
                f"{', '.join(map(repr, extra[:5]))}; expected {', '.join(names)}.")
        vals = []
        for n in names:
            try:
                v = float(tgt[n])
            except (TypeError, ValueError) as err:
                raise OptionError(f"`target` mean of '{n}' must be a number; got "
                                  f"{tgt[n]!r}.") from err
            if not np.isfinite(v):
                raise OptionError(f"`target` mean of '{n}' must be a finite number; got {v!r}.")
            vals.append(v)
        return np.array(vals)
    raise OptionError("`target` must be a DataFrame of the people to be served or a mapping "
                      f"of their covariate means; got {type(target).__name__}.")


def _calibrate(X: np.ndarray, y: np.ndarray, grp: np.ndarray, xbar: np.ndarray,
               labels: list[str]) -> tuple[float, np.ndarray, np.ndarray]:
    """Entropy weights of ``grp`` rows matching the means ``xbar``; the weighted mean and its influence."""
    Xg = np.vstack([X[grp], xbar[None, :]])
    tg = np.zeros(Xg.shape[0], dtype=bool)
    tg[-1] = True
    w, _, D, tau = entropy_weights(Xg, tg, labels)
    yg = np.append(y[grp], 0.0)
    mu, _, phi, _ = entropy_att(yg, tg, w, D, tau)
    phi_full = np.zeros(y.size)
    phi_full[grp] = phi[:-1]  # the target's means are fixed: the pseudo-row carries nothing
    w_full = np.zeros(y.size)
    w_full[grp] = w[:-1]
    return mu, phi_full, w_full


def transport(
    cohort: Cohort,
    target: pd.DataFrame | Mapping[str, float] | pd.Series,
    *,
    se: str = "auto",
) -> CounterfactualResults:
    r"""Carry the non-intervention rate (and the rate with the programme) to a target population.

    Parameters
    ----------
    cohort : Cohort
        The pilot: participants and comparison pool (one row per person).
    target : pandas.DataFrame, mapping or pandas.Series
        The people who will be served (a future cohort, an area), one row
        each with the cohort's covariates, or their covariate means (see
        :func:`target_profile`).
    se : {"auto", "robust", "cluster"}, default "auto"

    Returns
    -------
    CounterfactualResults
        ``estimand="target"``, ``method="entropy"``: per outcome, the
        non-intervention rate of the target population (``non_intervention``)
        and the rate with the programme (``observed``, estimated from the
        participants reweighted the same way; NaN, with a note, when their
        means cannot reach the target's), with their standard errors. Pass it
        to :func:`pbr_eval.price`.

    Raises
    ------
    OptionError
        A malformed ``target`` (see :func:`target_profile`), a panel cohort,
        or ``se="cluster"`` without a cluster.
    InfeasibleBalanceError
        When the comparison group cannot be reweighted to the target's means
        (a target mean outside the comparison group's range): the rate cannot
        be carried to people unlike anyone in the data.

    Notes
    -----
    Under no unmeasured confounding and when the outcome's mean without the
    programme depends on the covariates the same way in the pilot and the
    target (:math:`E[Y(0) \mid X]` transportable), the target's rate is
    :math:`E_{target}[m_0(X)]`. Entropy balancing finds comparison weights
    :math:`w_i \propto \exp(\lambda' x_i)` whose weighted means equal the
    target's; the weighted mean outcome estimates the target's rate, exactly
    when :math:`m_0` is linear in the design columns or the comparison group's
    covariate distribution differs from the target's by an exponential tilt
    (Zhao & Percival 2017). The target's means are taken as known (it is the
    population to be served), so the standard error is the comparison
    group's sampling error: the influence function of the stacked balance and
    mean equations (as :func:`~pbr_eval.estimators.entropy.entropy_att`
    without the treated means' term). It is the error of the *expected* rate
    of people like the target; their own realised rate adds their outcome
    noise (for a rate, :math:`\bar p(1 - \bar p)/n_{target}`). Checked against
    known truth in ``tests/test_transport.py``.

    Examples
    --------
    >>> import pbr_eval
    >>> from pbr_eval.datasets import load_reoffending
    >>> sim = load_reoffending()
    >>> cohort = pbr_eval.Cohort(sim.data, **sim.cohort_args)
    >>> older = sim.data[sim.data["age"] >= 30]          # a roll-out to older prison leavers
    >>> res = transport(cohort, older)
    >>> f = res.to_frame().set_index("outcome")
    >>> round(float(f.loc["reoffended", "non_intervention"]), 3)
    0.333
    """
    reject_panel(cohort, "transport")
    se_kind = check_choice("se", se, WEIGHTING_SE)
    se_kind, cl = resolve_se(se_kind, cohort)
    xbar = target_profile(cohort, target)
    X, t = cohort.X, cohort.t
    labels = list(cohort.design_columns)
    estimates = []
    notes: list[str] = []
    for name in cohort.outcomes:
        y = cohort.y(name)
        otype = cohort.outcome_types[name]
        mu0, phi0, w0 = _calibrate(X, y, ~t, xbar, labels)
        try:
            mu1, phi1, _ = _calibrate(X, y, t, xbar, labels)
        except InfeasibleBalanceError as err:
            mu1, phi1 = float("nan"), np.full(y.size, np.nan)
            note = ("The rate with the programme could not be carried to the target: the "
                    f"participants cannot be reweighted to its means ({err}).")
            if note not in notes:
                notes.append(note)
        e = outcome_estimate(
            name, otype, mu0, mu1, phi0, phi1, cluster=cl, n_treated=int(t.sum()),
            n_comparison=int((w0 > 0).sum()), naive=float(y[~t].mean()),
            se_method=("robust influence-function (HC0) of entropy balancing to the target's "
                       "means, which are taken as known"
                       if se_kind == "robust" else
                       "cluster-robust influence-function (sum over clusters, G/(G-1)) of "
                       "entropy balancing to the target's means, which are taken as known"))
        estimates.append(dataclasses.replace(e, population=True))
    n_target = len(target) if isinstance(target, pd.DataFrame) else None
    info = _info(cohort, se_kind, xbar, n_target, notes)
    return CounterfactualResults(method="entropy", estimand="target", estimates=estimates,
                                 weights=None, balance=None, info=info)


def _info(cohort: Cohort, se: str, xbar: np.ndarray, n_target: int | None,
          notes: list[str]) -> dict[str, Any]:
    info = base_info(cohort, EntropyBalancing())
    info["options"] = {**info["options"], "target": "transport"}
    info["notes"] = [*info["notes"], *notes,
                     "Estimand 'target': the rates are carried to a target population "
                     + (f"of {n_target:,} people " if n_target else "given by its covariate means ")
                     + "by reweighting the comparison group (and the participants) to its "
                     "covariate means (entropy balancing). 'Observed' is the estimated rate with "
                     "the programme for the target, not an observed rate; the intervals are for "
                     "the target's expected rates."]
    info.update({"estimand": "target", "se": se, "transport": {
        "n_target": n_target,
        "target_means": {n: float(v) for n, v in zip(cohort.design_columns, xbar, strict=True)}}})
    return info
