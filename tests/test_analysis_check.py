"""Issue 14: `run --check` validates everything the run would, naming file, line and key.

A corpus of malformed analysis files, one per class of mistake: each must be rejected by
`pbr-eval run --check` (exit 2, one line, "a.toml, line N: `table.key` ..."), before
anything is estimated or written. On the 0.1 code (147311e) 75 of these 93 passed the check
(and failed at run time, or ran), and only 18 were rejected naming the line and key.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pbr_eval.analysis import check_analysis, run_analysis
from pbr_eval.cli import main
from pbr_eval.exceptions import AnalysisFileError

DATA = Path(__file__).resolve().parents[1] / "data"

BASE = """\
title = "check corpus"
seed = 1
level = 0.95

[data]
source = "{reo}"

[roles]
treatment = "treated"
outcome = ["reoffended", "reconviction_events"]
covariates = ["age", "sex", "prior_offences", "offence_type"]
unit_id = "person_id"
cluster = "local_authority"
missing = "error"
min_treated = 60

[[estimate]]
name = "psm"
method = "nearest"
options = { ratio = 1 }

[pricing]
value_per_outcome = 5000
better = "lower"
outcomes = ["reoffended"]

[contract]
cost_per_participant = 300
referrals_per_month = 50
months_of_referrals = 12

[sensitivity]
hidden_bias = true
better = "lower"

[report]
outputs = ["pilot.html", "workbook.xlsx"]
threshold = 10
min_cohort = 60

[output]
folder = "out"
"""

PANEL = """\
[data]
source = "{fam}"

[roles]
treatment = "treated"
outcome = ["adult_employed"]
covariates = ["n_children", "lone_parent"]
unit_id = "family_id"
period = "period"
at_period = 1
"""


def _sub(old: str, new: str, base: str = BASE) -> str:
    assert old in base, old
    return base.replace(old, new, 1)


def _add(after: str, line: str, base: str = BASE) -> str:
    return _sub(after, after + "\n" + line)


# (id, analysis-file text, the key the error must name)
CORPUS: list[tuple[str, str, str]] = [
    # top level
    ("level-95", _sub("level = 0.95", "level = 95"), "level"),
    ("level-0", _sub("level = 0.95", "level = 0"), "level"),
    ("level-1.5", _sub("level = 0.95", "level = 1.5"), "level"),
    ("level-text", _sub("level = 0.95", 'level = "95%"'), "level"),
    ("seed-negative", _sub("seed = 1", "seed = -1"), "seed"),
    ("seed-float", _sub("seed = 1", "seed = 1.5"), "seed"),
    ("title-number", _sub('title = "check corpus"', "title = 3"), "title"),
    ("unknown-top-key", _add("seed = 1", "sed = 2"), "sed"),
    # [data]
    ("source-missing-file", _sub('source = "{reo}"', 'source = "no-such-file.csv"'),
     "data.source"),
    ("source-empty", _sub('source = "{reo}"', 'source = ""'), "data.source"),
    ("source-bad-suffix", _sub('source = "{reo}"', 'source = "data.json"'), "data.source"),
    ("source-a-folder", _sub('source = "{reo}"', 'source = "{dir}"'), "data.source"),
    ("query-for-a-file", _add('source = "{reo}"', 'query = "SELECT 1"'), "data.query"),
    ("database-without-query", _sub('source = "{reo}"', 'source = "sqlite:///{dir}/x.db"'),
     "data.query"),
    ("unknown-data-key", _add('source = "{reo}"', 'sheet = "x"'), "data.sheet"),
    # [roles]
    ("treatment-misspelt", _sub('treatment = "treated"', 'treatment = "treat"'),
     "roles.treatment"),
    ("treatment-not-0-1", _sub('treatment = "treated"', 'treatment = "sentence_months"'),
     "roles.treatment"),
    ("treatment-empty", _sub('treatment = "treated"', 'treatment = ""'), "roles.treatment"),
    ("treatment-also-covariate",
     _sub('covariates = ["age", "sex", "prior_offences", "offence_type"]',
          'covariates = ["age", "treated"]'), "roles.covariates"),
    ("outcome-misspelt", _sub('outcome = ["reoffended", "reconviction_events"]',
                              'outcome = ["reoffended", "reconviction_event"]'), "roles.outcome"),
    ("outcome-empty", _sub('outcome = ["reoffended", "reconviction_events"]', "outcome = []"),
     "roles.outcome"),
    ("outcome-text-column", _sub('"prior_offences", "offence_type"]', '"prior_offences"]',
                                 _sub('outcome = ["reoffended", "reconviction_events"]',
                                      'outcome = ["reoffended", "offence_type"]')),
     "roles.outcome"),
    ("outcome-also-covariate", _sub('covariates = ["age", "sex", "prior_offences", '
                                    '"offence_type"]', 'covariates = ["age", "reoffended"]'),
     "roles.covariates"),
    ("covariate-misspelt", _sub('"offence_type"]', '"offense_type"]'), "roles.covariates"),
    ("covariates-empty", _sub('covariates = ["age", "sex", "prior_offences", "offence_type"]',
                              "covariates = []"), "roles.covariates"),
    ("covariates-numbers", _sub('covariates = ["age", "sex", "prior_offences", "offence_type"]',
                                "covariates = [1, 2]"), "roles.covariates"),
    ("covariates-repeated", _sub('covariates = ["age", "sex", "prior_offences", "offence_type"]',
                                 'covariates = ["age", "age"]'), "roles.covariates"),
    ("covariates-a-string", _sub('covariates = ["age", "sex", "prior_offences", "offence_type"]',
                                 'covariates = "age"'), "roles.covariates"),
    ("unit-id-misspelt", _sub('unit_id = "person_id"', 'unit_id = "person"'), "roles.unit_id"),
    ("unit-id-not-unique", _sub('unit_id = "person_id"', 'unit_id = "local_authority"'),
     "roles.unit_id"),
    ("cluster-misspelt", _sub('cluster = "local_authority"', 'cluster = "authority"'),
     "roles.cluster"),
    ("missing-unknown", _sub('missing = "error"', 'missing = "skip"'), "roles.missing"),
    ("min-treated-0", _sub("min_treated = 60", "min_treated = 0"), "roles.min_treated"),
    ("min-treated-too-many", _sub("min_treated = 60", "min_treated = 100000"),
     "roles.min_treated"),
    ("min-treated-float", _sub("min_treated = 60", "min_treated = 60.5"), "roles.min_treated"),
    ("outcome-type-unknown", _add("min_treated = 60", 'outcome_types = { reoffended = "binomial" }'),
     "roles.outcome_types.reoffended"),
    ("outcome-type-not-outcome", _add("min_treated = 60", 'outcome_types = { age = "count" }'),
     "roles.outcome_types.age"),
    ("period-without-unit-id", _sub('unit_id = "family_id"\n', "", PANEL.replace(
        "{reo}", "{fam}")), "roles.period"),
    ("at-period-without-period", _sub('period = "period"\n', "", PANEL), "roles.at_period"),
    ("at-period-not-in-data", _sub("at_period = 1", "at_period = 7", PANEL), "roles.at_period"),
    ("unknown-role", _add("min_treated = 60", "weights = \"w\""), "roles.weights"),
    # [[estimate]]
    ("method-unknown", _sub('method = "nearest"', 'method = "nn"'), "estimate.method"),
    ("option-unknown", _sub("options = { ratio = 1 }", "options = { ratio = 1, bogus = 2 }"),
     "estimate.options.bogus"),
    ("option-misspelt", _sub("options = { ratio = 1 }", "options = { calipr = 0.2 }"),
     "estimate.options.calipr"),
    ("caliper-negative", _sub("options = { ratio = 1 }", "options = { caliper = -0.2 }"),
     "estimate.options.caliper"),
    ("caliper-text", _sub("options = { ratio = 1 }", 'options = { caliper = "wide" }'),
     "estimate.options.caliper"),
    ("ratio-0", _sub("options = { ratio = 1 }", "options = { ratio = 0 }"),
     "estimate.options.ratio"),
    ("estimand-unknown", _sub("options = { ratio = 1 }", 'options = { estimand = "ATX" }'),
     "estimate.options.estimand"),
    ("replace-text", _sub("options = { ratio = 1 }", 'options = { replace = "yes" }'),
     "estimate.options.replace"),
    ("exact-not-a-covariate", _sub("options = { ratio = 1 }", 'options = { exact = ["agee"] }'),
     "estimate.options.exact"),
    ("caliper-on-text-covariate", _sub("options = { ratio = 1 }",
                                       "options = { caliper = { offence_type = 0.1 } }"),
     "estimate.options.caliper"),
    ("options-not-a-table", _sub("options = { ratio = 1 }", "options = 3"), "estimate.options"),
    ("estimate-key-unknown", _add('method = "nearest"', "ratio = 2"), "estimate.ratio"),
    ("estimate-without-method", _sub('method = "nearest"\n', ""), "[estimate]"),
    ("estimate-names-repeated", _add("options = { ratio = 1 }", '\n[[estimate]]\nname = "psm"\n'
                                     'method = "ipw"'), "estimate.name"),
    ("second-estimate-bad-option", _add("options = { ratio = 1 }", '\n[[estimate]]\n'
                                        'method = "ipw"\noptions = { clip = 2 }'),
     "estimate.options.clip"),
    # [pricing]
    ("value-negative", _sub("value_per_outcome = 5000", "value_per_outcome = -5000"),
     "pricing.value_per_outcome"),
    ("value-zero", _sub("value_per_outcome = 5000", "value_per_outcome = 0"),
     "pricing.value_per_outcome"),
    ("value-text", _sub("value_per_outcome = 5000", 'value_per_outcome = "5000"'),
     "pricing.value_per_outcome"),
    ("value-table-negative", _sub("value_per_outcome = 5000",
                                  "value_per_outcome = { reoffended = -1 }"),
     "pricing.value_per_outcome"),
    ("value-table-not-outcome", _sub("value_per_outcome = 5000",
                                     "value_per_outcome = { reoffended = 5000, age = 3 }"),
     "pricing.value_per_outcome.age"),
    ("value-table-missing-outcome", _sub("value_per_outcome = 5000",
                                         "value_per_outcome = { reconviction_events = 10 }"),
     "pricing.value_per_outcome"),
    ("expected-rate-80-percent", _add("value_per_outcome = 5000", "expected_rate = 80"),
     "pricing.expected_rate"),
    ("expected-rate-1.2-binary", _add("value_per_outcome = 5000", "expected_rate = 1.2"),
     "pricing.expected_rate"),
    # better = "higher": the type of 'reoffended' (yes/no) is known only from the data
    ("expected-rate-1.2-known-from-data", _sub('better = "lower"\noutcomes',
                                               'better = "higher"\nexpected_rate = 1.2\n'
                                               'outcomes'), "pricing.expected_rate"),
    ("expected-rate-negative", _add("value_per_outcome = 5000", "expected_rate = -0.1"),
     "pricing.expected_rate"),
    ("better-unknown", _sub('better = "lower"\noutcomes', 'better = "less"\noutcomes'),
     "pricing.better"),
    ("priced-outcome-unknown", _sub('outcomes = ["reoffended"]', 'outcomes = ["reoffend"]'),
     "pricing.outcomes"),
    ("pricing-level-95", _add("value_per_outcome = 5000", "level = 95.0"), "pricing.level"),
    ("rule-unknown", _add("value_per_outcome = 5000", 'rule = "max"'), "pricing.rule"),
    ("cost-negative", _add("value_per_outcome = 5000", "cost_per_participant = -300"),
     "pricing.cost_per_participant"),
    ("fee-negative", _add("value_per_outcome = 5000", "attachment_fee = -100"),
     "pricing.attachment_fee"),
    ("cohort-size-0", _add("value_per_outcome = 5000", "cohort_size = 0"), "pricing.cohort_size"),
    ("budget-negative", _add("value_per_outcome = 5000", "budget = -10"), "pricing.budget"),
    ("pricing-without-value", _sub("value_per_outcome = 5000\n", ""), "[pricing]"),
    # [contract]
    ("referrals-negative", _sub("referrals_per_month = 50", "referrals_per_month = -5"),
     "contract.referrals_per_month"),
    ("months-negative", _sub("months_of_referrals = 12", "months_of_referrals = -1"),
     "contract.months_of_referrals"),
    ("contract-cost-negative", _sub("cost_per_participant = 300", "cost_per_participant = -1"),
     "contract.cost_per_participant"),
    ("contract-fee-negative", _add("months_of_referrals = 12", "attachment_fee = -5"),
     "contract.attachment_fee"),
    ("draws-0", _add("months_of_referrals = 12", "draws = 0"), "contract.draws"),
    ("payment-lag-negative", _add("months_of_referrals = 12", "payment_lag = -1"),
     "contract.payment_lag"),
    ("outcome-lag-negative", _add("months_of_referrals = 12", "outcome_lag = -3"),
     "contract.outcome_lag"),
    # [sensitivity]
    ("sensitivity-better-unknown", _sub('hidden_bias = true\nbetter = "lower"',
                                        'hidden_bias = true\nbetter = "down"'),
     "sensitivity.better"),
    ("hidden-bias-text", _sub("hidden_bias = true", 'hidden_bias = "yes"'),
     "sensitivity.hidden_bias"),
    # [report]
    ("threshold-0", _sub("threshold = 10", "threshold = 0"), "report.threshold"),
    ("threshold-negative", _sub("threshold = 10", "threshold = -5"), "report.threshold"),
    ("min-cohort-0", _sub("min_cohort = 60", "min_cohort = 0"), "report.min_cohort"),
    ("report-level-95", _add("min_cohort = 60", "level = 95.0"), "report.level"),
    ("outputs-repeated", _sub('outputs = ["pilot.html", "workbook.xlsx"]',
                              'outputs = ["pilot.html", "Pilot.HTML"]'), "report.outputs"),
    ("outputs-escape", _sub('outputs = ["pilot.html", "workbook.xlsx"]',
                            'outputs = ["../../pilot.html"]'), "report.outputs"),
    ("outputs-pdf", _sub('outputs = ["pilot.html", "workbook.xlsx"]', 'outputs = ["r.pdf"]'),
     "report.outputs"),
    # [output]
    ("folder-outside", _sub('folder = "out"', 'folder = "../elsewhere"'), "output.folder"),
    ("folder-absolute", _sub('folder = "out"', 'folder = "/tmp/pbr-anywhere"'), "output.folder"),
    ("folder-itself", _sub('folder = "out"', 'folder = "."'), "output.folder"),
    # [dask]
    ("dask-scheduler-unknown", _sub('folder = "out"', 'folder = "out"\n\n[dask]\nscheduler = "yarn"'),
     "dask.scheduler"),
    ("dask-partitions-0", _sub('folder = "out"', 'folder = "out"\n\n[dask]\nscheduler = "local"\n'
                                                 'partitions = 0'), "dask.partitions"),
    ("dask-without-scheduler", _sub('folder = "out"', 'folder = "out"\n\n[dask]\npartitions = 4'),
     "[dask]"),
]


def _materialise(tmp_path: Path, text: str) -> Path:
    (tmp_path / "a folder").mkdir(exist_ok=True)
    text = (text.replace("{reo}", (DATA / "reoffending.csv").as_posix())
                .replace("{fam}", (DATA / "families.csv").as_posix())
                .replace("{dir}", (tmp_path / "a folder").as_posix()))
    p = tmp_path / "a.toml"
    p.write_text(text, encoding="utf-8")
    return p


def test_the_corpus_base_file_passes_the_check(tmp_path, capsys):
    assert main(["run", str(_materialise(tmp_path, BASE)), "--check"]) == 0
    assert main(["run", str(_materialise(tmp_path, PANEL)), "--check"]) == 0
    assert len(CORPUS) >= 56 and len({c[0] for c in CORPUS}) == len(CORPUS)


@pytest.mark.parametrize("text, key", [c[1:] for c in CORPUS], ids=[c[0] for c in CORPUS])
def test_run_check_rejects_every_malformed_analysis_file_with_file_line_key(
        tmp_path, capsys, text, key):
    p = _materialise(tmp_path, text)
    code = main(["run", str(p), "--check"])
    err = capsys.readouterr().err
    assert code == 2, f"--check passed it: {err}"
    assert err.count("\n") == 1 and "Traceback" not in err
    assert re.match(rf"pbr-eval: error: a\.toml, line \d+: `{re.escape(key)}` ", err), err
    assert not (tmp_path / "out").exists()


def test_the_line_points_at_the_key(tmp_path):
    text = _add("options = { ratio = 1 }", '\n[[estimate]]\nmethod = "ipw"\noptions = { clip = 2 }')
    p = _materialise(tmp_path, text)
    with pytest.raises(AnalysisFileError) as info:
        check_analysis(p)
    line = int(re.search(r"line (\d+)", str(info.value)).group(1))
    assert "clip = 2" in p.read_text().splitlines()[line - 1]


def test_run_fails_as_check_does_before_writing(tmp_path):
    p = _materialise(tmp_path, _add("value_per_outcome = 5000", "expected_rate = 80"))
    with pytest.raises(AnalysisFileError, match=r"line \d+: `pricing.expected_rate` must be a "
                                                r"share above 0 and at most 1 for a yes/no "
                                                r"outcome; got 80"):
        run_analysis(p)
    assert not (tmp_path / "out").exists()
    assert not [e for e in tmp_path.iterdir() if e.name.startswith(".")]  # no staging left


def test_a_failure_only_the_run_can_find_names_the_file_line_and_table(tmp_path, capsys):
    # a constant outcome passes the check (its data are valid) but cannot be priced: the run
    # stops before writing, naming the [pricing] table and its line
    import pandas as pd

    data = pd.read_csv(DATA / "reoffending.csv")
    data["reoffended"] = 1
    data.to_csv(tmp_path / "constant.csv", index=False)
    p = _materialise(tmp_path, BASE.replace("{reo}", (tmp_path / "constant.csv").as_posix()))
    assert main(["run", str(p), "--check"]) == 0
    capsys.readouterr()
    assert main(["run", str(p)]) == 2
    err = capsys.readouterr().err
    line = int(re.match(r"pbr-eval: error: a\.toml, line (\d+): \[pricing\] of \[\[estimate\]\] "
                        r"'psm': ", err).group(1))
    assert p.read_text().splitlines()[line - 1] == "[pricing]"
    assert sorted(e.name for e in tmp_path.iterdir()) == ["a folder", "a.toml", "constant.csv"]
