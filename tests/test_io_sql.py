"""SQL through SQLAlchemy (tested on SQLite) and column-pruned Parquet reads."""

from __future__ import annotations

import sqlite3

import pandas as pd
import pytest

from pbr_eval.datasets import load_reoffending
from pbr_eval.exceptions import DataError, OptionError
from pbr_eval.io import read_data


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    path = tmp_path_factory.mktemp("db") / "cohort.db"
    df = load_reoffending().data.head(500)
    with sqlite3.connect(path) as con:
        df.to_sql("people", con, index=False)
    return f"sqlite:///{path}", df


def test_table_with_columns_reads_only_those(db):
    url, df = db
    out = read_data(url, query="people", columns=["treated", "age", "reoffended"])
    assert list(out.columns) == ["treated", "age", "reoffended"]
    pd.testing.assert_frame_equal(out, df[["treated", "age", "reoffended"]].reset_index(drop=True),
                                  check_dtype=False)


def test_select_statement(db):
    url, df = db
    out = read_data(url, query="SELECT person_id, age FROM people WHERE treated = 1")
    assert len(out) == int(df["treated"].sum()) and list(out.columns) == ["person_id", "age"]


@pytest.mark.parametrize("kw, err, msg", [
    ({"query": None}, OptionError, r"`query` must name a table or give a SELECT statement"),
    ({"query": "nosuchtable"}, DataError, r"The query on sqlite:///.*failed"),
    ({"query": "people", "columns": ["age", "zzz"]}, DataError,
     r"Table 'people' in sqlite:///.* has no column 'zzz'"),
    ({"query": "SELECT age FROM people", "columns": ["treated"]}, DataError,
     r"returned no column 'treated'"),
])
def test_sql_errors(db, kw, err, msg):
    url, _ = db
    with pytest.raises(err, match=msg):
        read_data(url, **kw)


def test_password_is_never_printed():
    with pytest.raises(DataError) as e:
        read_data("postgresql+nosuchdriver://user:s3cret@localhost/db", query="t")
    assert "s3cret" not in str(e.value) and "***" in str(e.value)


def test_query_with_a_file_is_an_error(tmp_path):
    with pytest.raises(OptionError, match=r"`query` is only for a database URL"):
        read_data(tmp_path / "x.csv", query="people")


def test_parquet_reads_only_the_needed_columns(tmp_path, monkeypatch):
    path = tmp_path / "wide.parquet"
    load_reoffending().data.head(100).to_parquet(path, index=False)
    seen = {}
    real = pd.read_parquet

    def spy(p, columns=None, **kw):
        seen["columns"] = columns
        return real(p, columns=columns, **kw)

    monkeypatch.setattr(pd, "read_parquet", spy)
    out = read_data(path, columns=["treated", "age"])
    assert seen["columns"] == ["treated", "age"] and list(out.columns) == ["treated", "age"]
