"""Shared pieces of the simulators: validation, parameter merging, sampling.

Private module; the public surface is :mod:`pbr_eval.datasets`.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit

from pbr_eval.exceptions import OptionError

Arrays = dict[str, np.ndarray]


def _fmt(value: Any) -> str:
    return repr(value) if isinstance(value, str) else str(value)


def check_count(name: str, value: Any) -> int:
    """Return ``value`` as an int if it is a positive integer, else raise."""
    ok = isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))
    if not ok or int(value) < 1:
        raise OptionError(f"`{name}` must be a positive integer; got {_fmt(value)}.")
    return int(value)


def check_seed(value: Any) -> int:
    """Return ``value`` as an int if it is a non-negative integer, else raise."""
    ok = isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))
    if not ok or int(value) < 0:
        raise OptionError(f"`seed` must be a non-negative integer; got {_fmt(value)}.")
    return int(value)


def check_real(name: str, value: Any) -> float:
    """Return ``value`` as a float if it is a finite real number, else raise."""
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
        value, (bool, np.bool_)
    )
    if not ok or not math.isfinite(float(value)):
        raise OptionError(f"`{name}` must be a finite number; got {_fmt(value)}.")
    return float(value)


def merge_params(defaults: Mapping[str, Any], overrides: Mapping[str, Any], path: str = "") -> dict:
    """Deep-merge ``overrides`` into a copy of ``defaults``; unknown keys raise.

    A dict-valued default is updated key by key, so ``selection={"age": 0.05}``
    changes one coefficient and keeps the others.
    """
    out = copy.deepcopy(dict(defaults))
    for key, value in overrides.items():
        where = f"{path}[{key!r}]" if path else key
        if key not in out:
            allowed = ", ".join(repr(k) for k in out)
            if path:
                raise OptionError(f"`{path}` has no key {key!r}; allowed keys are {allowed}.")
            raise OptionError(
                f"`{key}` is not a parameter of this scenario; allowed parameters are {allowed}."
            )
        if isinstance(out[key], dict):
            if not isinstance(value, Mapping):
                raise OptionError(f"`{where}` must be a dict; got {_fmt(value)}.")
            out[key] = merge_params(out[key], value, where)
        elif isinstance(out[key], int):
            out[key] = check_count(where, value)
        else:
            out[key] = check_real(where, value)
    return out


def resolve_effect(
    effect: Any, defaults: Mapping[str, float], bounds: Mapping[str, tuple[float, float]]
) -> dict[str, float]:
    """Turn ``effect`` (None, a number, or a dict per outcome) into a dict per outcome.

    ``bounds[outcome] = (low, high)`` are exclusive limits on the effect.
    """
    if effect is None:
        out = dict(defaults)
    elif isinstance(effect, Mapping):
        unknown = [k for k in effect if k not in defaults]
        if unknown:
            allowed = ", ".join(repr(k) for k in defaults)
            raise OptionError(f"`effect` has no outcome {unknown[0]!r}; outcomes are {allowed}.")
        out = dict(defaults)
        for key, value in effect.items():
            out[key] = check_real(f"effect[{key!r}]", value)
    else:
        value = check_real("effect", effect)
        out = {key: value for key in defaults}
    for key, value in out.items():
        low, high = bounds[key]
        if not low < value < high:
            if isinstance(effect, Mapping):
                where, which = f"effect[{key!r}]", ""
            else:
                where, which = "effect", f" for {key!r}"
            raise OptionError(
                f"`{where}` must lie strictly between {low:g} and {high:g}{which}; got {value:g}."
            )
    return out


def draw_choice_sample(
    rng: np.random.Generator,
    draw_covariates: Callable[[np.random.Generator, int], Arrays],
    selection_eta: Callable[[Arrays], np.ndarray],
    n_treated: int,
    n_comparison: int,
    share_guess: float,
) -> tuple[Arrays, np.ndarray, dict[str, float]]:
    """Draw a population where ``T | X`` is logit and keep fixed numbers per group.

    The population is drawn in chunks until it holds at least ``n_treated``
    treated and ``n_comparison`` comparison units; the first ``n_treated``
    treated and the first ``n_comparison`` comparison units (in draw order, so
    simple random samples of each group) are kept in draw order. Such
    choice-based sampling leaves ``P(T=1 | X)`` logistic with the same slopes;
    only the intercept moves by ``log(n_t / N_t) - log(n_c / N_c)``.

    Returns the kept covariates, the kept treatment indicator and a dict with
    the population size drawn and its treated share.
    """
    chunks: list[Arrays] = []
    flags: list[np.ndarray] = []
    got_t = got_c = 0
    need_t, need_c = n_treated, n_comparison
    while need_t > 0 or need_c > 0:
        size = int(max(need_t / share_guess, need_c / (1.0 - share_guess)) * 1.05) + 1000
        cov = draw_covariates(rng, size)
        t = rng.random(size) < expit(selection_eta(cov))
        chunks.append(cov)
        flags.append(t)
        n_t = int(t.sum())
        got_t += n_t
        got_c += size - n_t
        need_t, need_c = n_treated - got_t, n_comparison - got_c
    if len(chunks) == 1:
        cov, t = chunks[0], flags[0]
    else:
        cov = {k: np.concatenate([c[k] for c in chunks]) for k in chunks[0]}
        t = np.concatenate(flags)
    idx_t = np.flatnonzero(t)[:n_treated]
    idx_c = np.flatnonzero(~t)[:n_comparison]
    keep = np.sort(np.concatenate([idx_t, idx_c]))
    info = {"population_size": int(t.size), "population_treated_share": float(t.mean())}
    return {k: v[keep] for k, v in cov.items()}, t[keep], info


def area_labels(
    rng: np.random.Generator, n: int, n_areas: int, concentration: float
) -> tuple[np.ndarray, np.ndarray]:
    """Assign ``n`` units to areas 'LA01', 'LA02', ... with shares proportional to k**-concentration.

    Returns the area codes (0-based ints) and the label array (object dtype).
    """
    k = np.arange(1, n_areas + 1, dtype=float)
    share = k**-concentration
    share /= share.sum()
    codes = np.searchsorted(np.cumsum(share), rng.random(n), side="right")
    codes = np.minimum(codes, n_areas - 1)
    width = max(2, len(str(n_areas)))
    labels = np.array([f"LA{i:0{width}d}" for i in range(1, n_areas + 1)], dtype=object)
    return codes, labels


def categorical(rng: np.random.Generator, n: int, shares: Mapping[str, float]) -> np.ndarray:
    """Draw ``n`` codes (0-based, in the order of ``shares``) with the given shares."""
    p = np.array(list(shares.values()), dtype=float)
    p /= p.sum()
    codes = np.searchsorted(np.cumsum(p), rng.random(n), side="right")
    return np.minimum(codes, p.size - 1)


def make_ids(prefix: str, n: int, width: int) -> pd.Series:
    """Return identifiers ``prefix`` + zero-padded 1..n, e.g. 'P0000001'."""
    width = max(width, len(str(n)))
    return prefix + pd.Series(np.arange(1, n + 1)).astype(str).str.zfill(width)


def poisson_coupled(
    rng: np.random.Generator, n0: np.ndarray, rate0: np.ndarray, rate1: np.ndarray
) -> np.ndarray:
    """Given ``n0 ~ Poisson(rate0)``, return ``n1 ~ Poisson(rate1)`` coupled to ``n0``.

    Adds an independent Poisson(rate1 - rate0) where the rate rises, thins
    binomially where it falls, so ``n1`` moves with ``n0``.
    """
    up = rate1 >= rate0
    n1 = np.empty_like(n0)
    n1[up] = n0[up] + rng.poisson(rate1[up] - rate0[up])
    down = ~up
    keep = np.divide(rate1[down], rate0[down], out=np.zeros(down.sum()), where=rate0[down] > 0)
    n1[down] = rng.binomial(n0[down], np.clip(keep, 0.0, 1.0))
    return n1


def truth_table(
    outcomes: Mapping[str, tuple[str, np.ndarray, np.ndarray]], treated: np.ndarray
) -> pd.DataFrame:
    """Build the truth table from observed and non-intervention outcomes.

    ``outcomes[name] = (outcome_type, y_observed, y0)`` over the same rows as
    ``treated`` (a boolean array).
    """
    rows = {}
    for name, (kind, y, y0) in outcomes.items():
        observed = float(np.mean(y[treated]))
        non_int = float(np.mean(y0[treated]))
        rows[name] = {
            "observed": observed,
            "non_intervention": non_int,
            "effect": observed - non_int,
            "naive_comparison": float(np.mean(y[~treated])),
            "outcome_type": kind,
        }
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.index.name = "outcome"
    return frame
