"""Shared fixtures."""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd
import pytest

# The scripts that made the committed reference values are run by hand, each installing its
# own reference tool (doubleml, R packages, ports); pytest neither imports nor doctests them
# (tests that need one of their constants load it by path).
collect_ignore_glob = ["reference/*/*.py"]

matplotlib.use("Agg")


def pytest_terminal_summary(terminalreporter) -> None:
    """What the documentation test ran, and what it did not run and why (tests/test_docs.py)."""
    lines, not_run, cpu = [], [], 0.0
    for key in ("passed", "failed"):
        for rep in terminalreporter.stats.get(key, []):
            for name, value in getattr(rep, "user_properties", []):
                if name == "docs":
                    lines.append(value)
                elif name == "docs_not_run":
                    not_run.append(value)
                elif name == "docs_cpu":
                    cpu += value
    if lines:
        terminalreporter.section("documentation (tests/test_docs.py)")
        for line in sorted(lines):
            terminalreporter.line(line)
        terminalreporter.line(f"{len(lines)} pages, {cpu:.0f} s CPU in all")
        for line in sorted(not_run):
            terminalreporter.line(f"not run: {line}")


@pytest.fixture
def small_frame() -> pd.DataFrame:
    """A small valid cohort frame: 60 treated, 140 comparison."""
    rng = np.random.default_rng(42)
    n = 200
    t = np.r_[np.ones(60, dtype=int), np.zeros(140, dtype=int)]
    return pd.DataFrame(
        {
            "id": [f"U{i:04d}" for i in range(n)],
            "treated": t,
            "age": rng.normal(35, 10, n).round(1),
            "sex": rng.choice(["F", "M"], n),
            "priors": rng.poisson(2, n),
            "la": rng.choice(["LA1", "LA2", "LA3"], n),
            "reoffended": rng.integers(0, 2, n),
            "events": rng.poisson(1.0, n),
            "earnings": rng.normal(1000, 200, n),
        }
    )


@pytest.fixture
def roles() -> dict:
    return {
        "treatment": "treated",
        "outcome": ["reoffended", "events"],
        "covariates": ["age", "sex", "priors"],
        "unit_id": "id",
        "cluster": "la",
    }
