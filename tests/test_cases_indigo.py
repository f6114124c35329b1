"""INDIGO data standard import/export of the published cases."""

from __future__ import annotations

import json

import pytest

from pbr_eval.datasets.cases import list_case_names, load_case
from pbr_eval.datasets.cases.indigo import (
    INDIGO_VERSION,
    from_indigo,
    read_indigo,
    to_indigo,
    write_indigo,
)
from pbr_eval.exceptions import DataError, OptionError


def _values_wrapped(obj, path=""):
    """Every leaf of an INDIGO export sits in a {'value': ...} wrapper (or is an id/notes/status)."""
    if isinstance(obj, dict):
        if "value" in obj:
            assert isinstance(obj["value"], (str, float, int)), path
            return
        for k, v in obj.items():
            if k in ("id", "notes", "status") and isinstance(v, str):
                continue
            _values_wrapped(v, f"{path}/{k}")
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            _values_wrapped(v, f"{path}[{i}]")
    else:
        raise AssertionError(f"bare value at {path}: {obj!r}")


@pytest.mark.parametrize("name", list_case_names())
def test_export_is_wrapped_and_round_trips(name, tmp_path):
    case = load_case(name)
    p = to_indigo(case)
    _values_wrapped(p)
    assert INDIGO_VERSION == "4.1.0"
    path = write_indigo(case, tmp_path / f"{name}.json")
    back = read_indigo(path)
    assert back.name == case.title
    assert len(back.sources) == len(case.sources)
    assert list(back.sources["url"]) == [s.url for s in case.sources]
    assert back.outcomes.loc[0, "outcomes_achieved"] == case.decision


def test_money_and_prices_survive():
    essex = from_indigo(to_indigo(load_case("essex_mst_sib")))
    assert (essex.investment, essex.currency, essex.stage) == (3_100_000.0, "GBP", "Complete")
    assert essex.outcomes.loc[0, "engaged"] == 388
    tf = from_indigo(to_indigo(load_case("troubled_families_phase1_tariff")))
    assert tf.outcomes.loc[0, "price_per_unit"] == 4000


def test_reads_a_project_with_results_counts():
    project = {"data": {
        "name": {"value": "Example outcomes-fund project"},
        "overall_project_finance": {"maximum_potential_outcome_payment_v2": {
            "currency": {"value": "GBP"}, "amount": {"value": 1200000}}},
        "outcome_metrics": [{"id": "om1", "definition": {"value": "sustained accommodation"}},
                            {"id": "om2", "definition": {"value": "entry to work"}}],
        "outcome_pricings": [{"outcome_metric_id": {"value": "om1"}, "currency": {"value": "GBP"},
                              "price_per_unit": {"amount": {"value": 1500}}}],
        "results": [{"outcome_metric_id": {"value": "om1"}, "result_type": {"value": "Interim"},
                     "number_engaged_in_impact_bond": {"value": 400},
                     "number_with_positive_social_outcomes": {"value": 220}}],
    }}
    p = from_indigo(project)
    assert p.max_outcome_payment == 1_200_000 and p.currency == "GBP"
    rates = p.observed_rates()
    assert list(rates["outcome_metric"]) == ["om1"]
    assert rates.loc[0, "observed_rate"] == pytest.approx(0.55)
    assert p.outcomes.set_index("outcome_metric").loc["om2", "definition"] == "entry to work"


def test_bad_input_errors(tmp_path):
    with pytest.raises(DataError, match="has no name"):
        from_indigo({"outcome_metrics": []})
    with pytest.raises(DataError, match="must be a plain number"):
        from_indigo({"name": {"value": "x"}, "results": [
            {"outcome_metric_id": {"value": "a"},
             "number_engaged_in_impact_bond": {"value": "1,000"}}]})
    with pytest.raises(OptionError, match="`data` must be a mapping"):
        from_indigo([1, 2])
    with pytest.raises(OptionError, match="readable INDIGO JSON file"):
        read_indigo(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(DataError, match="is not valid JSON"):
        read_indigo(bad)


def test_export_json_serialisable():
    for name in list_case_names():
        json.dumps(to_indigo(load_case(name)))
