"""Seeded simulators with known truth, and the shipped example datasets."""

from __future__ import annotations

from pbr_eval.datasets._areas import area_truth
from pbr_eval.datasets._load import load_families, load_reoffending
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
    "area_truth",
    "load_families",
    "load_reoffending",
    "simulate",
    "simulate_areas",
    "simulate_staggered",
    "staggered_truth",
]
