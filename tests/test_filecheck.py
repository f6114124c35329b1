"""pbr_eval.filecheck: a CSV file checked block by block finds what Cohort.check finds.

Each case writes a file (the shipped data, or a hostile variant of it), then compares
``check_csv`` (small blocks, so every check crosses block boundaries) with
``Cohort.check`` on the whole file read at once: the same typed errors with the same
messages in the same order, the same warnings and, when the data can be used, the same
counts. The command line is compared too: ``pbr-eval validate`` prints the same report
through both paths.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import pbr_eval
from pbr_eval.datasets import load_reoffending
from pbr_eval.filecheck import check_csv
from pbr_eval.io import read_data

BLOCK = 1_000  # 13 blocks for the shipped 12,600 rows
COVS = ["age", "sex", "prior_offences", "offence_type", "sentence_months"]
ROLES = {"treatment": "treated", "outcome": ["reoffended", "reconviction_events"],
         "covariates": COVS, "unit_id": "person_id", "cluster": "local_authority"}


@pytest.fixture(scope="module")
def base() -> pd.DataFrame:
    return load_reoffending().data


def _same(path: Path, **roles):
    whole = pbr_eval.Cohort.check(read_data(path), **roles)
    blocks = check_csv(path, block_rows=BLOCK, **roles)
    assert [(type(e).__name__, str(e)) for e in blocks.errors] == [
        (type(e).__name__, str(e)) for e in whole.errors]
    assert blocks.warnings == whole.warnings
    if whole.cohort is not None:
        c = whole.cohort
        assert blocks.summary == {"n_treated": int(c.n_treated),
                                  "n_comparison": int(c.n_comparison),
                                  "rows_dropped": int(c.n_dropped),
                                  "outcome_types": dict(c.outcome_types)}
        assert blocks.rows == c.n_input_rows
    else:
        assert not blocks.ok and blocks.summary == {}
    return blocks


def _write(tmp_path: Path, frame: pd.DataFrame, name: str = "data.csv") -> Path:
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path


def _late(frame: pd.DataFrame, col: str, value, rows=(9_000,)) -> pd.DataFrame:
    d = frame.copy()
    d[col] = d[col].astype(object)
    for r in rows:
        d.loc[d.index[r], col] = value
    return d


def test_the_shipped_data_give_the_same_report(base, tmp_path):
    path = Path(pbr_eval.__file__).parents[1] / "data" / "reoffending.csv"
    found = _same(path, **ROLES)
    assert found.ok and found.passes == 1 and found.rows == 12_600
    _same(path, treatment="treated", outcome="reoffended", covariates=["age", "sex"],
          missing="drop")


def _dirty(base):
    d = base.copy()
    rng = np.random.default_rng(1)
    d["offence_type"] = d["offence_type"].where(rng.random(len(d)) > 0.1,
                                                d["offence_type"].str.capitalize())
    d["age"] = d["age"].astype(str)
    d.loc[d.index[7], "age"] = "unknown"
    d["birthweight"] = rng.normal(3300, 500, len(d)).round().astype(int)
    d["notes"] = np.nan
    return d


def _panel(base, *, labels=("pre", "post")):
    a = base.assign(wave=labels[0])
    b = base.assign(wave=labels[1], reoffended=1 - base["reoffended"])
    return pd.concat([a, b], ignore_index=True)


HOSTILE = {
    # name: (make the frame, roles)
    "dirty": (_dirty, dict(ROLES, outcome=["reoffended", "birthweight"],
                           covariates=["age", "sex", "offence_type", "prior_offences", "notes"],
                           missing="drop")),
    "missing-error": (lambda b: b.assign(age=b["age"].where(b.index % 97 != 3)), ROLES),
    "missing-drop": (lambda b: b.assign(age=b["age"].where(b.index % 97 != 3),
                                        sex=b["sex"].where(b.index % 89 != 5)),
                     dict(ROLES, missing="drop")),
    "missing-only-late": (lambda b: b.assign(prior_offences=b["prior_offences"].where(
        b.index != 11_000)), dict(ROLES, missing="drop")),
    "text-only-late": (lambda b: _late(b, "prior_offences", "n/k"), ROLES),
    "empty-in-first-blocks": (lambda b: b.assign(sentence_months=b["sentence_months"].where(
        b.index >= 5_000)), dict(ROLES, missing="drop")),
    "all-missing-column": (lambda b: b.assign(sentence_months=np.nan), ROLES),
    "treatment-2": (lambda b: _late(b, "treated", 2, rows=(10, 9_000)), ROLES),
    "treatment-text": (lambda b: b.assign(treated=b["treated"].map({1: "yes", 0: "no"})), ROLES),
    "treatment-bool-with-gap": (lambda b: _late(b.assign(treated=b["treated"] == 1), "treated",
                                                np.nan), ROLES),
    "one-group": (lambda b: b.assign(treated=0), ROLES),
    "infinite": (lambda b: _late(b.assign(age=b["age"].astype(float)), "age", np.inf,
                                 rows=(3, 9_000)), ROLES),
    "constant": (lambda b: b.assign(region=7), dict(ROLES, covariates=[*COVS, "region"])),
    "duplicate-covariate": (lambda b: b.assign(age2=b["age"]),
                            dict(ROLES, covariates=[*COVS, "age2"])),
    "indicator-duplicate": (lambda b: b.assign(male=(b["sex"] == "M").astype(int)),
                            dict(ROLES, covariates=[*COVS, "male"])),
    "collinear": (lambda b: b.assign(total=b["age"] + 2 * b["prior_offences"]),
                  dict(ROLES, covariates=[*COVS, "total"])),
    "name-clash": (lambda b: b.assign(**{"sex[M]": (b["sex"] == "M") * 2.0}),
                   dict(ROLES, covariates=[*COVS, "sex[M]"])),
    "repeated-ids": (lambda b: b.assign(person_id=b["person_id"].where(
        (b.index < 12_000) | (b["treated"] == 1), "P000001")), ROLES),
    "contamination": (lambda b: pd.concat([b, b.iloc[:3].assign(treated=1 - b["treated"][:3])],
                                          ignore_index=True), ROLES),
    "too-many-levels": (lambda b: b, dict(ROLES, max_levels=3)),
    "id-as-covariate": (lambda b: b.assign(code="c" + b["person_id"].str[-4:]),
                        dict(ROLES, covariates=[*COVS, "code"])),
    "small": (lambda b: b, dict(ROLES, min_treated=601)),
    "outcome-text": (lambda b: b.assign(reoffended=b["reoffended"].map({1: "yes", 0: "no"})),
                     ROLES),
    "outcome-numbers-as-text": (lambda b: _late(b, "reconviction_events", "3 events"), ROLES),
    "outcome-forced-wrong": (lambda b: b, dict(ROLES, outcome_types={
        "reconviction_events": "binary", "nope": "count"})),
    "grams-with-zero-late": (lambda b: _late(b.assign(
        w=(b["age"] * 97 + 1000).astype(int)), "w", 0), dict(ROLES, outcome=["w"])),
    "every-row-missing": (lambda b: b.assign(age=b["age"].where(b.index % 2 == 0),
                                             sex=b["sex"].where(b.index % 2 == 1)), ROLES),
    "header-only": (lambda b: b.iloc[:0], ROLES),
    "missing-column": (lambda b: b.drop(columns=["sex"]), ROLES),
    "panel-text-periods": (_panel, dict(ROLES, period="wave")),
    "panel-ordered": (_panel, dict(ROLES, period="wave", period_order=["pre", "post"])),
    "panel-order-lacks": (lambda b: _panel(b, labels=("pre", "mid")),
                          dict(ROLES, period="wave", period_order=["pre", "post"])),
    "panel-numbers": (lambda b: _panel(b, labels=(2019, 2020)), dict(ROLES, period="wave")),
    "panel-repeated": (lambda b: pd.concat([_panel(b), _panel(b).iloc[[5, 20_000]]],
                                           ignore_index=True), dict(ROLES, period="wave")),
    "panel-switching": (lambda b: _panel(b).assign(treated=lambda d: np.where(
        (d["wave"] == "post") & (d.index % 1000 == 1), 1 - d["treated"], d["treated"])),
                        dict(ROLES, period="wave", period_order=["pre", "post"])),
}


#: What each hostile file is refused for (so a case cannot silently stop testing its check).
EXPECTED = {
    "dirty": ["MissingValueError", "CovariateError", "CovariateError"],
    "missing-error": ["MissingValueError"], "all-missing-column": ["MissingValueError"],
    "text-only-late": ["CovariateError"], "treatment-2": ["TreatmentError"],
    "treatment-text": ["TreatmentError"],
    "treatment-bool-with-gap": ["MissingValueError", "TreatmentError"],
    "one-group": ["TreatmentError"], "infinite": ["InfiniteValueError"],
    "constant": ["CovariateError"], "duplicate-covariate": ["CovariateError"],
    "indicator-duplicate": ["CovariateError"], "collinear": ["CollinearityError"],
    "name-clash": ["CovariateError"], "repeated-ids": ["DuplicateIdError"],
    "contamination": ["ContaminationError"], "too-many-levels": ["CovariateError"],
    "id-as-covariate": ["CovariateError"], "small": ["SmallCohortError"],
    "outcome-text": ["OutcomeTypeError"], "outcome-numbers-as-text": ["OutcomeTypeError"],
    "outcome-forced-wrong": ["OptionError", "OutcomeTypeError"],
    "every-row-missing": ["MissingValueError", "MissingValueError"],
    "header-only": ["DataError"], "missing-column": ["MissingColumnError"],
    "panel-order-lacks": ["PeriodOrderError"], "panel-repeated": ["DuplicateIdError"],
    "panel-switching": ["ContaminationError"],
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_files_give_the_same_report(base, tmp_path, name):
    make, roles = HOSTILE[name]
    found = _same(_write(tmp_path, make(base)), **roles)
    assert [type(e).__name__ for e in found.errors] == EXPECTED.get(name, [])


def test_a_type_changing_late_is_read_again(base, tmp_path):
    found = _same(_write(tmp_path, _late(base, "prior_offences", "n/k")), **ROLES)
    assert found.passes == 2


def _cli(argv, capsys):
    from pbr_eval.cli import main

    code = main(argv)
    return code, capsys.readouterr().out


@pytest.mark.parametrize("name", ["dirty", "repeated-ids", "missing-drop", "panel-ordered"])
def test_validate_prints_the_same_through_both_paths(base, tmp_path, capsys, monkeypatch, name):
    import pbr_eval.cli as cli

    make, roles = HOSTILE[name]
    path = _write(tmp_path, make(base))
    argv = ["validate", str(path), "--treatment", roles["treatment"],
            *[a for o in roles["outcome"] for a in ("--outcome", o)],
            "--covariates", ",".join(roles["covariates"]), "--unit-id", roles["unit_id"],
            "--missing", roles.get("missing", "error")]
    if "period" in roles:
        argv += ["--period", roles["period"]]
    if "period_order" in roles:
        argv += ["--period-order", ",".join(roles["period_order"])]
    blockwise = [_cli(argv, capsys), _cli([*argv, "--json"], capsys)]
    monkeypatch.setattr(cli, "_BLOCKWISE_ROLES", set())  # today's path: the whole file read
    whole = [_cli(argv, capsys), _cli([*argv, "--json"], capsys)]
    assert blockwise == whole
    assert json.loads(blockwise[1][1])["summary"]["rows"] == len(make(base))
