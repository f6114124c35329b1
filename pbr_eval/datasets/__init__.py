"""Seeded simulators with known truth, and the shipped example datasets."""

from __future__ import annotations

from pbr_eval.datasets._areas import area_truth
from pbr_eval.datasets._load import load_families, load_reoffending
from pbr_eval.datasets._reoffending_time import (
    TimeToEventSimulation,
    load_reoffending_time,
    simulate_reoffending_time,
)
from pbr_eval.datasets._simulate import SCENARIOS, Simulation, simulate, simulate_areas
from pbr_eval.datasets._staggered import (
    StaggeredSimulation,
    simulate_staggered,
    staggered_truth,
)

__all__ = [
    "SCENARIOS",
    "Simulation",
    "StaggeredSimulation",
    "TimeToEventSimulation",
    "area_truth",
    "load_families",
    "load_reoffending",
    "load_reoffending_time",
    "simulate",
    "simulate_areas",
    "simulate_reoffending_time",
    "simulate_staggered",
    "staggered_truth",
]
