"""Misspecification designs with known truth (Kang & Schafer 2007 style).

Four standard-normal covariates ``x1..x4`` are observed. Programme entry
follows a logistic model and the outcome without the programme a linear one;
either can be made *wrong* for an analyst who uses main effects of ``x1..x4``
(the default propensity and outcome models) by adding terms in
``x1**2``, ``x1*x2`` and ``exp(x3 / 2)`` that the analyst does not see. The
designs (:data:`DESIGNS`) vary which model is right, the strength of
selection (overlap), the size of the comparison pool and whether the effect
varies between people.

References
----------
Kang, J. D. Y. & Schafer, J. L. (2007). Demystifying double robustness: a
comparison of alternative strategies for estimating a population mean from
incomplete data. Statistical Science 22(4), 523-539.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
import pandas as pd

from pbr_eval.datasets._simulate import Simulation
from pbr_eval.exceptions import OptionError

__all__ = ["DESIGNS", "Design", "simulate_design"]


@dataclass(frozen=True)
class Design:
    """One simulation design.

    Attributes
    ----------
    name : str
    label : str
        Plain-English description.
    propensity_right, outcome_right : bool
        Whether a main-effects logit / linear model in ``x1..x4`` is correctly
        specified.
    selection : float
        Scale of the propensity model's slopes (larger: weaker overlap).
    pool_ratio : float
        Comparison units per programme participant.
    heterogeneous : bool
        The effect varies with ``x1`` and ``x2`` (else constant).
    """

    name: str
    label: str
    propensity_right: bool = True
    outcome_right: bool = True
    selection: float = 0.6
    pool_ratio: float = 5.0
    heterogeneous: bool = False

    @property
    def one_model_right(self) -> bool:
        """Whether at least one of the two working models is right.

        A doubly robust estimator is then consistent.
        """
        return self.propensity_right or self.outcome_right


#: The misspecification designs, by name.
DESIGNS: MappingProxyType[str, Design] = MappingProxyType({d.name: d for d in (
    Design("correct", "both models right, moderate overlap"),
    Design("weak_overlap", "both models right, weak overlap", selection=1.2),
    Design("wrong_propensity", "propensity model wrong, outcome model right",
           propensity_right=False),
    Design("wrong_outcome", "outcome model wrong, propensity model right", outcome_right=False),
    Design("both_wrong", "both models wrong", propensity_right=False, outcome_right=False),
    Design("thin_pool", "both models right, 1.5 comparison units per participant",
           pool_ratio=1.5),
    Design("heterogeneous", "effect varies between people, both models right",
           heterogeneous=True),
)})


def _index(x: np.ndarray, design: Design) -> np.ndarray:
    lin = x @ np.array([1.0, -0.5, 0.25, 0.1])
    if not design.propensity_right:
        lin = lin + 0.6 * (x[:, 0] ** 2 - 1) - 0.5 * x[:, 0] * x[:, 1] + 0.5 * np.exp(x[:, 2] / 2)
    return design.selection * lin


def _intercept(design: Design, share: float) -> float:
    """Return the intercept giving programme entry probability ``share`` (a fixed large sample)."""
    x = np.random.default_rng(12345).standard_normal((200_000, 4))
    eta = _index(x, design)
    lo, hi = -30.0, 30.0
    for _ in range(80):
        mid = (lo + hi) / 2
        if np.mean(1 / (1 + np.exp(-(mid + eta)))) > share:
            hi = mid
        else:
            lo = mid
    return (lo + hi) / 2


def simulate_design(design: str, *, n_treated: int = 300, seed: int,
                    n_comparison: int | None = None) -> Simulation:
    """Simulate one cohort of a misspecification design with known truth.

    Parameters
    ----------
    design : str
        A name in :data:`DESIGNS`.
    n_treated : int, default 300
        Programme participants (exactly this many).
    seed : int
    n_comparison : int, optional
        Comparison units (default ``n_treated * design.pool_ratio``).

    Returns
    -------
    Simulation
        ``truth`` holds the cohort's own mean outcome without the programme
        (``non_intervention``) for the outcome ``y``; ``sim.params`` the design.

    Examples
    --------
    >>> sim = simulate_design("correct", n_treated=100, seed=1)
    >>> sim.data.shape, int(sim.data["treated"].sum())
    ((600, 7), 100)
    """
    if design not in DESIGNS:
        raise OptionError(f"`design` must be one of {', '.join(map(repr, DESIGNS))}; "
                          f"got {design!r}.")
    d = DESIGNS[design]
    n1 = int(n_treated)
    n0 = int(round(n1 * d.pool_ratio)) if n_comparison is None else int(n_comparison)
    if n1 < 1 or n0 < 1:
        raise OptionError(f"`n_treated` and `n_comparison` must be positive; got {n1}, {n0}.")
    a = _intercept(d, n1 / (n1 + n0))
    rng = np.random.default_rng(seed)
    xs, ts = [], []
    got1 = got0 = 0
    while got1 < n1 or got0 < n0:  # draw from the population until both groups are full
        x = rng.standard_normal((2 * (n1 + n0), 4))
        t = rng.random(x.shape[0]) < 1 / (1 + np.exp(-(a + _index(x, d))))
        take1 = np.flatnonzero(t)[: n1 - got1]
        take0 = np.flatnonzero(~t)[: n0 - got0]
        xs += [x[take1], x[take0]]
        ts += [np.ones(take1.size, bool), np.zeros(take0.size, bool)]
        got1 += take1.size
        got0 += take0.size
    x = np.vstack(xs)
    t = np.concatenate(ts)
    mu0 = 10 + x @ np.array([2.0, 1.0, 1.0, 0.5])
    if not d.outcome_right:
        mu0 = mu0 + 1.5 * (x[:, 0] ** 2 - 1) + 1.0 * x[:, 0] * x[:, 1] + 1.5 * np.exp(x[:, 2] / 2)
    y0 = mu0 + rng.standard_normal(x.shape[0]) * 2.0
    tau = 1.0 + ((1.0 * x[:, 0] + 0.5 * x[:, 1]) if d.heterogeneous else 0.0)
    y = np.where(t, y0 + tau, y0)
    data = pd.DataFrame({"unit": np.arange(t.size), "treated": t.astype(int),
                         **{f"x{j + 1}": x[:, j] for j in range(4)}, "y": y})
    truth = pd.DataFrame({
        "observed": [float(y[t].mean())], "non_intervention": [float(y0[t].mean())],
        "effect": [float((y - y0)[t].mean())], "naive_comparison": [float(y[~t].mean())],
        "outcome_type": ["continuous"]}, index=pd.Index(["y"], name="outcome"))
    args = {"treatment": "treated", "outcome": ["y"], "covariates": ["x1", "x2", "x3", "x4"],
            "unit_id": "unit", "cluster": None, "period": None}
    return Simulation(scenario=f"design:{design}", seed=seed, data=data, cohort_args=args,
                      truth=truth, params={"design": d.name, "n_treated": n1,
                                           "n_comparison": n0, "label": d.label})
