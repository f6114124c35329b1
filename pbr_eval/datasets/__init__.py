"""Seeded simulators with known truth, and the shipped example datasets."""

from __future__ import annotations

from pbr_eval.datasets._areas import area_truth
from pbr_eval.datasets._load import (
    PROP99_COHORT_ARGS,
    load_families,
    load_medicaid_event_study,
    load_prop99,
    load_reoffending,
)
from pbr_eval.datasets._reoffending_time import (
    TimeToEventSimulation,
    load_reoffending_time,
    simulate_reoffending_interim,
    simulate_reoffending_time,
)
from pbr_eval.datasets._simulate import SCENARIOS, Simulation, simulate, simulate_areas
from pbr_eval.datasets._staggered import (
    StaggeredSimulation,
    simulate_staggered,
    staggered_truth,
)
from pbr_eval.datasets._synthetic import SyntheticSimulation, simulate_synthetic

__all__ = [
    "SCENARIOS",
    "Simulation",
    "StaggeredSimulation",
    "TimeToEventSimulation",
    "SyntheticSimulation",
    "area_truth",
    "PROP99_COHORT_ARGS",
    "load_families",
    "load_medicaid_event_study",
    "load_prop99",
    "load_reoffending",
    "load_reoffending_time",
    "simulate",
    "simulate_areas",
    "simulate_reoffending_interim",
    "simulate_reoffending_time",
    "simulate_staggered",
    "simulate_synthetic",
    "staggered_truth",
]
