"""Published cases: every published statistic and decision rebuilt from the published inputs."""

from __future__ import annotations

import math

import pytest

from pbr_eval.aggregates import (
    CHECKS,
    RECOMMENDATION_COLUMNS,
    CaseChecks,
    case_recommendations,
    recommend_case,
    reproduce,
)
from pbr_eval.datasets.cases import case_from_dict, list_case_names, list_cases, load_case
from pbr_eval.exceptions import DataError, OptionError
from pbr_eval.pricing import AttachmentAndResults, PerEventAvoided, Tariff
from pbr_eval.results.base import Results

NAMES = list_case_names()


def test_at_least_twelve_cases_each_with_sources():
    assert len(NAMES) >= 12
    table = list_cases()
    assert list(table["name"]) == NAMES
    for name in NAMES:
        case = load_case(name)
        assert case.sources, name
        for s in case.sources:
            assert s.publisher and s.title and s.date and s.url.startswith("http"), (name, s.id)
        for f in case.figures.values():
            assert case.source(f.source)  # every figure cites a source of the case
        assert any(c.published is not None for c in case.checks), name


@pytest.mark.parametrize("name", NAMES)
def test_every_published_statistic_is_rebuilt(name):
    checks = reproduce(name)
    assert checks.counted, f"{name} has no published statistic to rebuild"
    for r in checks.counted:
        assert r.agrees, f"{name}: {r.statement} published {r.published}, rebuilt {r.rebuilt}"


def test_count_of_rebuilt_statistics():
    checks = reproduce()
    assert checks.all_agree
    assert len(checks.counted) >= 30
    assert len({r.case for r in checks.counted}) == len(NAMES)


def test_peterborough_cohort1_trigger_not_met():
    case = load_case("peterborough_cohort1")
    t, m = case.figure("treated_frequency").value, case.figure("comparison_frequency").value
    fall = (m - t) / m
    assert round(fall, 3) == 0.084
    assert fall < case.figure("cohort_threshold").value
    by_id = {r.check: r for r in reproduce(case).counted}
    assert by_id["cohort_trigger_met"].rebuilt is False
    assert by_id["cohort_trigger_met"].spread is True  # not met at any rounding of 142 and 155
    assert case.paid == "not paid"
    # the pricing engine's Peterborough mechanism on the published rates pays nothing
    mech = PerEventAvoided("events", 1000.0, comparison_rate=m, threshold=0.10)
    import pandas as pd
    people = pd.DataFrame({"events": [1] * 42 + [2] * 50 + [0] * 8})  # 142 events per 100
    assert people["events"].mean() == pytest.approx(t)
    assert float(mech.payments(people)["total"].sum()) == 0.0


def test_peterborough_final_paid():
    case = load_case("peterborough_final")
    by_id = {r.check: r for r in reproduce(case).counted}
    assert by_id["pooled_trigger_met"].rebuilt is True
    assert by_id["pooled_trigger_met"].spread is True  # 9% +/- 0.5 is above 7.5% throughout
    assert case.paid == "paid"


def test_troubled_families_tariff_through_the_pricing_engine():
    """pbr_eval's phase-1 mechanism pays the published 3,200 / 2,400 / 1,600 attachment fees."""
    import pandas as pd
    case = load_case("troubled_families_phase1_tariff")
    tariff = Tariff([AttachmentAndResults.troubled_families_phase1("turned_around")])
    people = pd.DataFrame({"person_id": ["a", "b", "c"], "year": [1, 2, 3]})
    claims = pd.DataFrame({"person_id": ["a", "b", "c"], "outcome": ["turned_around"] * 3,
                           "value": [1, 1, 1]})
    bp = tariff.payments(claims, people=people).by_person
    for pid, year in (("a", 1), ("b", 2), ("c", 3)):
        assert bp.loc[pid, "attachment"] == case.figure(f"attachment_y{year}").value
        assert bp.loc[pid, "results"] == case.figure(f"results_y{year}").value
        assert bp.loc[pid, "total"] == case.figure("maximum_per_family").value


def test_case_checks_is_a_results_object():
    checks = reproduce("jdl_pet_2014")
    assert isinstance(checks, Results)
    frame = checks.to_frame()
    assert list(frame.columns) == list(CaseChecks.schema.names)
    again = Results.from_dict(checks.to_dict())
    assert again.to_dict() == checks.to_dict()
    assert "2 of 2 published statistics" in checks.summary()
    assert "<table>" in checks._repr_html_()


def test_recommendations_table():
    table = case_recommendations()
    assert list(table.columns) == RECOMMENDATION_COLUMNS
    assert len(table) == len(NAMES)
    assert table["account"].str.len().min() > 20  # every case says what it can or cannot support
    wp = recommend_case("work_programme_year1")
    assert wp["deadweight_share"] > 1 and wp["ceiling_share"] == 0
    pet = recommend_case("jdl_pet_2014")
    assert 0 < pet["recommended_share"] < pet["ceiling_share"] < 1
    assert pet["band_lower_share"] == pytest.approx(pet["recommended_share"])
    assert pet["band_lower_share"] < pet["ceiling_share"] < pet["band_upper_share"]
    assert pet["prob_overpay"] == pytest.approx(0.025, abs=1e-6)
    assert pet["non_intervention_ci_lower"] < pet["non_intervention"] < pet[
        "non_intervention_ci_upper"]
    pb = recommend_case("peterborough_cohort1")
    assert 0 < pb["prob_no_additional"] < 0.05
    assert 0 < pb["trigger_probability_no_effect"] < 0.05
    none = recommend_case("troubled_families_phase1_tariff")
    assert math.isnan(none["recommended_share"]) and none["account"].startswith("Not priced")


def test_unknown_names_and_bad_data_raise():
    with pytest.raises(OptionError, match="`name` must be one of"):
        load_case("peterborough")
    data = load_case("jdl_pet_2014").to_dict()
    data["figures"]["treated_rate"]["source"] = "nowhere"
    with pytest.raises(DataError, match="cites source 'nowhere'"):
        case_from_dict(data)
    data = load_case("jdl_pet_2014").to_dict()
    data["checks"][0]["params"]["treated"] = "missing_figure"
    with pytest.raises(DataError, match="refers to figure 'missing_figure'"):
        case_from_dict(data)
    data = load_case("jdl_pet_2014").to_dict()
    del data["sources"]
    with pytest.raises(DataError, match="lacks the field 'sources'"):
        case_from_dict(data)


def test_case_round_trips_through_its_dict():
    for name in NAMES:
        case = load_case(name)
        assert case_from_dict(case.to_dict()) == case


def test_check_kinds_are_registered():
    used = {c.kind for n in NAMES for c in load_case(n).checks}
    assert used <= set(CHECKS)
