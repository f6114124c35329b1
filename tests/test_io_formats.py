"""One reader for CSV, Parquet and Excel (issue 2, point 10)."""

from __future__ import annotations

import pandas as pd
import pytest

from pbr_eval.cli import main
from pbr_eval.datasets import load_reoffending
from pbr_eval.exceptions import DataError, OptionError
from pbr_eval.io import read_data


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".xlsx"])
def test_round_trip_each_format(tmp_path, suffix, capsys):
    df = load_reoffending().data.head(400)
    path = tmp_path / f"extract{suffix}"
    if suffix == ".csv":
        df.to_csv(path, index=False)
    elif suffix == ".parquet":
        df.to_parquet(path, index=False)
    else:
        df.to_excel(path, index=False)
    back = read_data(path, columns=["person_id", "treated", "age"])
    assert list(back.columns) == ["person_id", "treated", "age"]
    assert len(back) == 400
    pd.testing.assert_series_equal(back["age"], df["age"].reset_index(drop=True),
                                   check_dtype=False)


def test_missing_file_and_bad_suffix(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        read_data(tmp_path / "nope.csv")
    with pytest.raises(OptionError, match=r"must be a CSV \(.csv, .tsv\), Parquet \(.parquet, .pq\), Excel \(.xlsx, .xls\), Stata \(.dta\), SPSS \(.sav, .zsav\) file; got 'x.json'"):
        read_data(tmp_path / "x.json")


def test_unknown_column_is_a_data_error(tmp_path):
    path = tmp_path / "d.csv"
    pd.DataFrame({"a": [1, 2]}).to_csv(path, index=False)
    with pytest.raises(DataError, match="d.csv"):
        read_data(path, columns=["a", "zzz"])


def test_cli_estimate_reads_parquet(tmp_path, capsys):
    path = tmp_path / "extract.parquet"
    load_reoffending().data.to_parquet(path, index=False)
    assert main(["estimate", str(path), "--treatment", "treated", "--outcome", "reoffended",
                 "--covariates", "age,sex,prior_offences,offence_type,sentence_months"]) == 0
    assert "non-intervention" in capsys.readouterr().out
