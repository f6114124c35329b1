"""The tools hold the house rules (issue 13.8): import layers, types, docstrings.

Each check runs the real tool on the installed source tree, and the layer check is shown to
fail on a copy of the package with one upward import added, so a circle or an upward arrow
cannot land unnoticed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "pbr_eval"


def _tool(name: str) -> str:
    exe = Path(sys.executable).parent / name
    if not exe.exists():  # installed by the test extra; say so rather than skip
        pytest.fail(f"`{name}` is not installed: pip install -e '.[test]'")
    return str(exe)


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(cwd)}
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=900)


def test_import_layers_are_kept():
    out = _run([_tool("lint-imports"), "--no-cache"], ROOT)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    assert "2 kept, 0 broken" in out.stdout


@pytest.mark.parametrize("module,upward", [
    ("kinds.py", "pbr_eval.cli"),                 # a low layer reaching the top
    ("results/base.py", "pbr_eval.reporting"),   # results calling into reports
    ("estimators/base.py", "pbr_eval.pricing"),  # a circle: pricing imports estimators
    # the circle mended in issue 17: the ATT glue reaching up into the regression estimator
    ("estimators/_population.py", "pbr_eval.estimators.regression"),
])
def test_an_upward_import_breaks_the_layer_contract(tmp_path, module, upward):
    shutil.copytree(PACKAGE, tmp_path / "pbr_eval",
                    ignore=shutil.ignore_patterns("__pycache__", "_data", "*.json", "*.csv"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    target = tmp_path / "pbr_eval" / module
    target.write_text(target.read_text() + f"\nimport {upward}  # deliberately upward\n")
    out = _run([_tool("lint-imports"), "--no-cache"], tmp_path)
    assert out.returncode != 0
    assert "BROKEN" in out.stdout
    assert upward in out.stdout
def test_mypy_reports_no_errors():
    out = _run([sys.executable, "-m", "mypy", "pbr_eval", "--no-incremental"], ROOT)
    assert out.returncode == 0, out.stdout[-4000:]


def test_docstrings_follow_numpydoc_rules():
    """Ruff's rules of pyproject.toml, pydocstyle's numpy convention among them, hold."""
    out = _run([_tool("ruff"), "check", "pbr_eval", "--output-format", "concise"], ROOT)
    assert out.returncode == 0, out.stdout[-4000:]
    config = (ROOT / "pyproject.toml").read_text()
    assert '"D"]' in config and 'convention = "numpy"' in config  # the rules are switched on


def test_architecture_file_map_names_every_module():
    """docs/ARCHITECTURE.md's file map names every module (by path, or by file name in its
    package's row), so the map cannot fall behind the code."""
    text = (ROOT / "docs" / "ARCHITECTURE.md").read_text()
    missing = [str(p.relative_to(ROOT)) for p in sorted(PACKAGE.rglob("*.py"))
               if str(p.relative_to(ROOT)) not in text and p.name not in text
               and p.name != "__init__.py"]
    assert not missing, f"add these modules to the file map of docs/ARCHITECTURE.md: {missing}"
