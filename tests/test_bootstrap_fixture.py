"""Replicates are bit-identical to those made before the bootstrap moved (issue 13.5).

``tests/reference/bootstrap/replicates.json`` was written by
``tests/reference/bootstrap/make_replicates.py`` with the code of commit
147311e (the bootstrap then in ``pbr_eval/inference/bootstrap.py``, its fast
path on private attributes). Every case is re-run with today's code and must
give the same numbers, value for value, to 1e-12 (relative; 1e-15 absolute near 0):
since issue 17 the GLM fits sum their score and information over blocks of rows
(``pbr_eval.inference.design``), which moves the last bit of some replicates.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

HERE = Path(__file__).resolve().parent / "reference" / "bootstrap"


def _maker():
    spec = importlib.util.spec_from_file_location("make_replicates", HERE / "make_replicates.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


MAKER = _maker()
SAVED = json.loads((HERE / "replicates.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def cohorts():
    return MAKER.cohorts()


def test_every_case_is_saved():
    assert set(SAVED["cases"]) == set(MAKER.CASES)
    assert SAVED["meta"]["n_boot"] == MAKER.N_BOOT and SAVED["meta"]["seed"] == MAKER.SEED


@pytest.mark.parametrize("name", list(MAKER.CASES))
def test_replicates_equal_the_saved_ones(name, cohorts):
    now = MAKER.run(name, cohorts[MAKER.CASES[name][0]])
    saved = SAVED["cases"][name]
    assert set(now) == set(saved)
    for key, values in saved.items():
        np.testing.assert_allclose(np.array(now[key], dtype=float),
                                   np.array(values, dtype=float), rtol=1e-12, atol=1e-15,
                                   err_msg=f"{name}: {key}")
