"""Every results class has the same face (issue 13.1).

Walks every class registered in ``RESULTS_KINDS`` after ``import pbr_eval``:
a factory per kind builds a real instance from the shipped data, and the
test fails when a registered kind has no factory. Checked for each: the face
(``to_frame``, ``summary``, ``__str__``, ``_repr_html_``, ``to_dict`` /
``to_json``), the round trip ``Results.from_dict(r.to_dict()).to_dict() ==
r.to_dict()`` (and the rebuilt object's ``to_frame`` / ``summary``), every
``to_frame`` column declared with a valid kind and a plain-English label, the
dictionary carrying no unit rows, and ``plot()`` for classes with figures.

A new results kind: add a factory to ``FACTORIES`` below.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from matplotlib.axes import Axes

import pbr_eval
from pbr_eval.disclosure import DisclosurePolicy
from pbr_eval.kinds import COLUMN_KINDS, Schema
from pbr_eval.results.base import RESULTS_KINDS, HasFigures, Results, _import_all_results

KINDS_ON_IMPORT = frozenset(RESULTS_KINDS)  # registered by `import pbr_eval` alone
_import_all_results()  # and every results class defined anywhere in the package


def _Policy() -> DisclosurePolicy:  # noqa: N802
    return DisclosurePolicy(threshold=10)


@cache
def _reoffending() -> tuple[Any, Any]:
    from pbr_eval.datasets import load_reoffending

    sim = load_reoffending()
    return sim, pbr_eval.Cohort(sim.data, **sim.cohort_args)


@cache
def _matched() -> Any:
    return pbr_eval.estimate(_reoffending()[1], method="nearest")


# ----------------------------------------------------------------- one factory per kind
def _counterfactual() -> Any:
    return _matched()


def _balance() -> Any:
    return _matched().balance


@cache
def _bundle() -> dict[str, Any]:
    from pbr_eval.demo import _commissioner_bundle, _contract_price_options

    sim, cohort = _reoffending()
    rec = pbr_eval.price(_matched(), value_per_outcome=5000.0, better="lower",
                         outcomes=["reoffended"], **_contract_price_options())
    return {"price": rec, **_commissioner_bundle(rec, cohort_size=cohort.n_treated)}


def _price() -> Any:
    return _bundle()["price"]


def _payment_risk() -> Any:
    return _bundle()["simulation"]


def _cash_flow() -> Any:
    return _bundle()["cashflow"]


def _payment_statement() -> Any:
    sim, cohort = _reoffending()
    treated = sim.data[sim.data["treated"] == 1]
    claims = treated.loc[treated["reoffended"] == 0, ["person_id"]].assign(
        outcome=_bundle()["tariff"].outcomes[0])
    return _bundle()["tariff"].payments(claims, people=treated["person_id"].tolist())


def _differential_tariff() -> Any:
    from pbr_eval.pricing import differential_tariff, payment_groups

    sim, _ = _reoffending()
    d = sim.data
    # each programme participant's chance of reoffending without it: the comparison pool's
    # rate in their offence type
    p0 = d.loc[d["treated"] == 0].groupby("offence_type")["reoffended"].mean()
    treated = d.loc[d["treated"] == 1]
    chance = treated["offence_type"].map(p0).reset_index(drop=True)
    return differential_tariff(chance, payment_groups(chance, n_groups=2), effect=-0.05,
                               cost_per_participant=300.0, total_payment=60_000.0)


def _rosenbaum_bounds() -> Any:
    from pbr_eval.sensitivity import rosenbaum_bounds

    return rosenbaum_bounds(_matched(), _reoffending()[1])


def _e_values() -> Any:
    from pbr_eval.sensitivity import e_values

    return e_values(_matched())


def _tipping_point() -> Any:
    from pbr_eval.sensitivity import tipping_point

    return tipping_point(_matched(), better="lower")


def _placebo() -> Any:
    from pbr_eval.estimators import NearestNeighborMatching
    from pbr_eval.sensitivity import placebo_outcome

    return placebo_outcome(NearestNeighborMatching(), _reoffending()[1],
                           outcome="sentence_months")


@cache
def _area_rates() -> Any:
    from pbr_eval.areas import area_rates

    return area_rates(_reoffending()[1], outcome="reoffended")


def _area_tariffs() -> Any:
    from pbr_eval.areas import area_tariffs

    return area_tariffs(_area_rates(), value_per_outcome=5000.0, effect=0.05, better="lower")


EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "claims"


@cache
def _claims_validation() -> Any:
    from pbr_eval.claims import load_rules, validate_claims

    return validate_claims(pd.read_csv(EXAMPLES / "claims.csv"),
                           pd.read_csv(EXAMPLES / "records.csv"), load_rules(EXAMPLES / "rules.toml"),
                           members=pd.read_csv(EXAMPLES / "members.csv"))


def _audit_estimate() -> Any:
    from pbr_eval.claims import draw_audit_sample, estimate_invalid_rate

    checked = _claims_validation().claims
    sample = draw_audit_sample(checked, n=60, strata="authority", seed=1)
    reviewed = sample.assign(invalid=sample["status"] != "valid")
    return estimate_invalid_rate(reviewed, strata="stratum", paid_total=100_000.0)


def _rereferral() -> Any:
    from pbr_eval.claims import rereferral_rates
    from pbr_eval.datasets import load_families

    d = load_families().data
    last = d[d["period"] == d["period"].max()]
    families = pd.DataFrame({
        "claimed": last["treated"].astype(bool).to_numpy(),
        "closure_date": "2022-01-01",
        "rereferral_date": ["2022-06-01" if y else None for y in last["youth_offending"]],
    })
    return rereferral_rates(families, within_days=365, as_of="2024-01-01")


def _bootstrap() -> Any:
    # BCa, so the export's acceleration (not the jackknife) is round-tripped too
    return pbr_eval.bootstrap(_matched(), _reoffending()[1], n_boot=30, kind="cluster", ci="bca",
                              seed=3, progress=False)


def _coverage_study() -> Any:
    from pbr_eval.estimators import NearestNeighborMatching
    from pbr_eval.validation import coverage_study

    return coverage_study(NearestNeighborMatching(), "reoffending", n_reps=3, n_treated=100,
                          n_comparison=800, seed=1)


def _case_checks() -> Any:
    from pbr_eval.aggregates import reproduce

    return reproduce("jdl_city_guilds_2017")


def _evaluation() -> Any:
    return pbr_eval.evaluate(_reoffending()[1], warn=False)


def _staggered() -> Any:
    from pbr_eval.datasets import simulate_staggered

    sim = simulate_staggered(n_units=400, seed=3)
    return pbr_eval.estimate(sim.cohort(), method="staggered_did", n_boot=99,
                             seed=1).extras["staggered"]


def _imputation() -> Any:
    from pbr_eval.datasets import load_reoffending

    sim = load_reoffending()
    data = pbr_eval.add_missing(sim.data.sample(n=2000, random_state=1), ["age"], share=0.2,
                                seed=1)
    return pbr_eval.impute(data, m=2, seed=1, iterations=2, **sim.cohort_args).estimate(
        method="ipw")


def _survival() -> Any:
    from pbr_eval.datasets import load_reoffending_time

    sim = load_reoffending_time()
    return pbr_eval.estimate_survival(pbr_eval.Cohort(sim.data, **sim.cohort_args),
                                      method="ipw")


def _parallel_trends() -> Any:
    from pbr_eval.datasets import load_medicaid_event_study
    from pbr_eval.estimators.did_sensitivity import parallel_trends_sensitivity

    es = load_medicaid_event_study()
    return parallel_trends_sensitivity(es["betahat"], es["sigma"], n_pre=5, n_post=2,
                                       M=[0.0, 0.02])


def _synthetic() -> Any:
    from pbr_eval.datasets import simulate_synthetic

    sim = simulate_synthetic(n_areas=12, n_treated=2, n_periods=8, start=6, seed=3)
    return pbr_eval.estimate(sim.cohort(), method="sdid").extras["synthetic"]


def _interim_payment() -> Any:
    from pbr_eval.datasets import load_reoffending_time

    sim = load_reoffending_time()
    cohort = pbr_eval.Cohort(sim.data, **sim.cohort_args)
    return pbr_eval.interim_payment(pbr_eval.estimate_survival(cohort), cohort,
                                    pay_for="no_outcome", price=1000.0)


FACTORIES: dict[str, Callable[[], Any]] = {
    "imputation": _imputation,
    "survival": _survival,
    "interim_payment": _interim_payment,
    "counterfactual": _counterfactual,
    "bootstrap": _bootstrap,
    "balance": _balance,
    "price": _price,
    "payment_risk": _payment_risk,
    "cash_flow": _cash_flow,
    "payment_statement": _payment_statement,
    "differential_tariff": _differential_tariff,
    "rosenbaum_bounds": _rosenbaum_bounds,
    "e_values": _e_values,
    "tipping_point": _tipping_point,
    "placebo": _placebo,
    "claims_validation": _claims_validation,
    "audit_estimate": _audit_estimate,
    "rereferral": _rereferral,
    "coverage_study": _coverage_study,
    "area_rates": _area_rates,
    "area_tariffs": _area_tariffs,
    "case_checks": _case_checks,
    "staggered_did": _staggered,
    "evaluation": _evaluation,
    "synthetic_control": _synthetic,
    "parallel_trends": _parallel_trends,
}

_UNIT_ID = re.compile(r"\b[PFC]\d{6,7}\b")  # the shipped files' person, family, claim ids
_SNAKE = re.compile(r"\b[A-Za-z][A-Za-z0-9]*_[A-Za-z0-9_]+\b")
_CAMEL = re.compile(r"\b[a-z]+[A-Z][A-Za-z]*\b|\b[A-Z][a-z]+[A-Z][A-Za-z]*\b")


@cache
def _instance(kind: str) -> Any:
    return FACTORIES[kind]()


def _frame_columns(frame: pd.DataFrame) -> list[str]:
    named = [str(n) for n in frame.index.names if n is not None]
    return named + [str(c) for c in frame.columns]


def test_results_from_dict_finds_kinds_whose_module_is_not_imported_yet(tmp_path) -> None:  # noqa: ANN001
    late = sorted(set(RESULTS_KINDS) - KINDS_ON_IMPORT)  # e.g. pbr_eval.aggregates
    if not late:
        return
    paths = []
    for kind in late:
        path = tmp_path / f"{kind}.json"
        _instance(kind).to_json(path)
        paths.append(str(path))
    code = ("import sys, pbr_eval\nfrom pbr_eval.results import Results\n"
            "for p in sys.argv[1:]:\n    print(Results.from_json(p).kind)")
    out = subprocess.run([sys.executable, "-c", code, *paths], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == late


def test_every_registered_kind_has_a_factory() -> None:
    missing = sorted(set(RESULTS_KINDS) - set(FACTORIES))
    assert not missing, (f"results kinds without a factory in tests/test_results_contract.py: "
                         f"{missing}; add one building a real instance")
    unknown = sorted(set(FACTORIES) - set(RESULTS_KINDS))
    assert not unknown, f"factories for kinds that are not registered: {unknown}"


KINDS = sorted(RESULTS_KINDS)


@pytest.mark.parametrize("kind", KINDS)
def test_same_face(kind: str) -> None:
    r = _instance(kind)
    cls = RESULTS_KINDS[kind]
    assert type(r) is cls and isinstance(r, Results)
    assert cls.kind == kind
    frame = r.to_frame()
    assert isinstance(frame, pd.DataFrame) and len(frame.columns) > 0
    text = r.summary()
    assert isinstance(text, str) and text.strip()
    assert str(r) == text
    page = r._repr_html_()
    assert "<table" in page and "</table>" in page
    d = r.to_dict()
    assert d["kind"] == kind
    json.dumps(d, allow_nan=False)  # JSON-ready: no NaN, no numpy types
    assert json.loads(r.to_json()) == d
    with pytest.raises(AttributeError, match="read-only"):
        r.some_new_attribute = 1


@pytest.mark.parametrize("kind", KINDS)
def test_round_trip(kind: str, tmp_path) -> None:  # noqa: ANN001
    r = _instance(kind)
    d = r.to_dict()
    back = Results.from_dict(d)
    assert type(back) is type(r)
    assert back.to_dict() == d
    assert type(r).from_dict(d).to_dict() == d
    path = tmp_path / f"{kind}.json"
    r.to_json(path)
    assert Results.from_json(path).to_dict() == d
    assert Results.from_json(r.to_json()).to_dict() == d
    f = back.to_frame()
    assert isinstance(f, pd.DataFrame) and len(f.columns) > 0
    assert back.summary().strip()
    back.frame_schema().check_frame(_frame_columns(f))


@pytest.mark.parametrize("kind", KINDS)
def test_every_column_declared_with_a_plain_label(kind: str) -> None:
    r = _instance(kind)
    schema = r.frame_schema()
    assert isinstance(schema, Schema) and len(schema) > 0
    cols = _frame_columns(r.to_frame())
    schema.check_frame(cols)  # raises when a column has no declared kind
    for c in schema:
        assert c.kind in COLUMN_KINDS
        assert c.label.strip(), f"{kind}: column {c.name!r} has an empty label"
        assert not _SNAKE.search(c.label), f"{kind}: label {c.label!r} holds a code identifier"
        assert not _CAMEL.search(c.label), f"{kind}: label {c.label!r} holds a code identifier"
        if c.by is not None:
            assert c.by in schema, f"{kind}: column {c.name!r} reads its type from {c.by!r}"
        if isinstance(c.denominator, str):
            assert c.denominator in schema, f"{kind}: {c.name!r} denominator {c.denominator!r}"
    assert type(r).title.strip() and not _SNAKE.search(type(r).title)


@pytest.mark.parametrize("kind", KINDS)
def test_to_dict_carries_aggregates_only(kind: str) -> None:
    text = _instance(kind).to_json()
    assert not _UNIT_ID.search(text), f"{kind}: to_dict() holds a unit identifier"
    d = json.loads(text)

    def keys(obj: Any) -> set[str]:
        if isinstance(obj, dict):
            return set(obj) | set().union(*(keys(v) for v in obj.values()))
        if isinstance(obj, list):
            return set().union(*(keys(v) for v in obj)) if obj else set()
        return set()

    assert not keys(d) & {"weights", "unit_id_values", "rows_used"}


FIGURE_KINDS = [k for k in KINDS if issubclass(RESULTS_KINDS[k], HasFigures)]


@pytest.mark.parametrize("kind", FIGURE_KINDS)
def test_plot_draws_every_figure(kind: str) -> None:
    from pbr_eval.figures import FIGURES

    r = _instance(kind)
    assert r.figures and all(name in FIGURES for name in r.figures)
    for name in r.figures:
        ax = r.plot(name)
        assert isinstance(ax, Axes) and ax.has_data(), f"{kind}: figure {name!r} is empty"
        data = r.figure_data(name, policy=_Policy())
        json.dumps(data, allow_nan=False)  # plain data
        assert isinstance(r.plot(name, policy=_Policy()), Axes)
    assert isinstance(r.plot(), Axes)  # the default figure


def test_results_from_dict_rejects_unknown_kinds() -> None:
    from pbr_eval.exceptions import OptionError

    with pytest.raises(OptionError, match="must be one of"):
        Results.from_dict({"kind": "no such kind"})
    with pytest.raises(OptionError, match="not BalanceTable"):
        pbr_eval.BalanceTable.from_dict(_matched().to_dict())


@pytest.mark.parametrize("kind", [k for k in KINDS if RESULTS_KINDS[k]._legacy_keys])
def test_dictionaries_without_a_kind_still_load(kind: str) -> None:
    d = _instance(kind).to_dict()
    d.pop("kind")
    assert type(Results.from_dict(d)) is RESULTS_KINDS[kind]


def test_a_results_file_written_by_version_0_1_still_loads(tmp_path) -> None:  # noqa: ANN001
    import numpy as np

    path = Path(__file__).resolve().parent / "reference" / "legacy" / "demo_results_0_1.json"
    old = json.loads(path.read_text(encoding="utf-8"))
    prices = old.pop("prices")
    assert "kind" not in old and "kind" not in prices
    res = Results.from_dict(old)
    assert isinstance(res, pbr_eval.CounterfactualResults)
    saved = pd.DataFrame(old["estimates"])
    frame = res.to_frame()
    for c in saved.columns:  # the saved rows, reproduced from the rebuilt estimates
        if saved[c].dtype.kind in "fi":
            np.testing.assert_allclose(frame[c].to_numpy(dtype=float),
                                       saved[c].to_numpy(dtype=float), rtol=1e-13, err_msg=c)
        else:
            assert frame[c].tolist() == saved[c].tolist(), c
    rec = Results.from_dict(prices)
    again = pbr_eval.price(old, value_per_outcome=5000.0, better="lower",
                           outcomes=["reoffended"])
    np.testing.assert_allclose(again.to_frame()["ceiling"], rec.to_frame()["ceiling"],
                               rtol=1e-12)
    assert pbr_eval.report(old, tmp_path / "pilot.html")[0].exists()
