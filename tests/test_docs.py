"""The documentation is tested: every code block of README.md and docs/*.md runs, every
output block equals what the code prints, and every figure quoted in the prose is checked.

How it works, and how to mark a block or a figure: ``tests/docs_runner.py`` and
``docs/ARCHITECTURE.md`` ("How the docs are tested"). From the shell:
``python tests/docs_runner.py docs/pricing.md``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from docs_runner import PAGES, REPO, DocsError, matches, normalise, numbers, run_page


@pytest.mark.parametrize("path", PAGES, ids=[p.relative_to(REPO).as_posix() for p in PAGES])
def test_page(path: Path, record_property) -> None:
    report = run_page(path)
    record_property("docs", report.line())
    record_property("docs_cpu", report.cpu)
    for reason in report.not_run:
        record_property("docs_not_run", reason)
    assert not report.failures, "\n\n".join(report.failures)


def test_every_page_is_found() -> None:
    names = {p.relative_to(REPO).as_posix() for p in PAGES}
    assert "README.md" in names and "docs/pricing.md" in names
    assert len(names) == 1 + len(list((REPO / "docs").glob("*.md")))


# ----------------------------------------------------------------------- the runner itself
@pytest.fixture
def page(tmp_path):
    """Write a Markdown page (outside the repository) and return its path."""
    made: list[Path] = []

    def make(text: str) -> Path:
        path = tmp_path / f"page{len(made)}.md"
        path.write_text(text, encoding="utf-8")
        made.append(path)
        return path

    return make


def test_a_wrong_output_block_fails(page) -> None:
    report = run_page(page("```python\nprint(1 + 1)\n```\n```text\n3\n```\n"))
    assert len(report.failures) == 1 and "differs" in report.failures[0]


def test_a_right_output_block_passes_with_whitespace_and_ellipsis(page) -> None:
    text = ("```python\nfor i in range(5):\n    print('row', i, '  x ')\n```\n\n"
            "```\nrow  0 x\n...\nrow 4    x\n```\n")
    report = run_page(page(text))
    assert report.failures == [] and report.compared == 1 and report.ran == 1


def test_a_failing_block_fails_and_names_the_line(page) -> None:
    report = run_page(page("Intro.\n\n```python\nx = 1\n1 / 0\n```\n"))
    assert len(report.failures) == 1
    assert "page0.md:3:" in report.failures[0] and "ZeroDivisionError" in report.failures[0]
    assert 'line 5' in report.failures[0]  # the traceback points at the Markdown line


def test_a_deprecated_call_in_an_example_fails(page) -> None:
    text = ("```python\nimport warnings\n"
            "warnings.warn('old name', DeprecationWarning, stacklevel=1)\n```\n")
    assert "DeprecationWarning" in run_page(page(text)).failures[0]


def test_an_unmarked_block_of_another_language_fails(page) -> None:
    report = run_page(page("```toml\na = 1\n```\n"))
    assert "neither run nor compared" in report.failures[0]


def test_a_text_block_after_prose_needs_a_marker(page) -> None:
    report = run_page(page("Some prose.\n\n```\nsomething the code prints\n```\n"))
    assert "does not follow a code block" in report.failures[0]


def test_skip_is_reported_with_its_reason(page) -> None:
    text = "<!-- docs-test: skip needs a database server -->\n```python\n1 / 0\n```\n"
    report = run_page(page(text))
    assert report.failures == [] and report.ran == 0
    assert report.not_run[0].endswith("needs a database server")


def test_a_skip_marker_needs_a_reason(page) -> None:
    with pytest.raises(DocsError, match="needs a reason"):
        run_page(page("<!-- docs-test: skip -->\n```python\n1\n```\n"))


def test_bash_runs_only_pbr_eval_and_python(page) -> None:
    report = run_page(page("```bash\nls data\n```\n"))
    assert "not a pbr-eval or python command" in report.failures[0]
    report = run_page(page("```bash\npython -c 'print(6 * 7)'\n```\n```text\n42\n```\n"))
    assert report.failures == [] and report.compared == 1


def test_a_failing_command_fails(page) -> None:
    report = run_page(page("```bash\npython -c 'import sys; sys.exit(3)'\n```\n"))
    assert "exited 3" in report.failures[0]


def test_console_blocks_compare_each_commands_output(page) -> None:
    ok = "```console\n$ python -c 'print(1)'\n1\n$ python -c 'print(2)'\n2\n```\n"
    assert run_page(page(ok)).failures == []
    bad = "```console\n$ python -c 'print(1)'\n2\n```\n"
    assert "differs" in run_page(page(bad)).failures[0]


def test_the_shipped_files_are_reachable_and_writes_stay_in_the_temporary_folder(page) -> None:
    text = ("```python\nimport pandas as pd\nprint(len(pd.read_csv('data/reoffending.csv')))\n"
            "open('written.txt', 'w').write('x')\n```\n```text\n12600\n```\n")
    report = run_page(page(text))
    assert report.failures == []
    assert not (REPO / "docs" / "written.txt").exists() and not (REPO / "written.txt").exists()


def test_a_figure_that_drifts_fails(page) -> None:
    good = ("```python\nx = 0.2817\n```\n\nThe rate is 28.2% here.\n"
            "<!-- docs-figure: rate is {x:.1%} -->\n")
    report = run_page(page(good))
    assert report.failures == [] and report.figures == 1 and report.numbers == 1
    drifted = good.replace("28.2%", "29.4%")
    failures = run_page(page(drifted)).failures
    assert len(failures) == 1 and "rate is 28.2%" in failures[0]


def test_an_unchecked_number_fails(page) -> None:
    report = run_page(page("The recommended price is 294 per outcome.\n"))
    assert "numbers quoted without a check: '294'" in report.failures[0]


def test_numbers_that_are_checked_elsewhere_on_the_page_pass(page) -> None:
    text = ("```python\nprint(f'{12000:,} people')\n```\n```text\n12,000 people\n```\n\n"
            "The pool has 12,000 people; the usual rule is |SMD| < 0.1 (Austin 2011).\n"
            "<!-- docs-not-figures: 0.1 -- a rule of thumb -->\n")
    report = run_page(page(text))
    assert report.failures == [] and report.numbers == 2


def test_not_figures_must_be_in_the_paragraph(page) -> None:
    text = "Nothing here.\n<!-- docs-not-figures: 0.1 -- a rule of thumb -->\n"
    assert "not in the paragraph" in run_page(page(text)).failures[0]


def test_figures_from_a_committed_file(page, tmp_path: Path) -> None:
    results = tmp_path / "RESULTS.txt"
    results.write_text("nearest: best of 3 0.71 s\n", encoding="utf-8")
    ok = f"It took 0.71 s.\n<!-- docs-figures-from: {results} -->\n"
    assert run_page(page(ok)).failures == []
    bad = ok.replace("0.71", "0.69")
    assert "'0.69'" in run_page(page(bad)).failures[0]
    results.write_text("coverage 0.95634 and 12 s\n", encoding="utf-8")
    for quoted in ("0.956", "0.96", "95.6%", "96%"):  # rounded as written
        text = f"It covers {quoted}.\n<!-- docs-figures-from: {results} -->\n"
        assert run_page(page(text)).failures == [], quoted
    for wrong in ("0.957", "95.7%", "0.95", "13"):
        text = f"It covers {wrong}.\n<!-- docs-figures-from: {results} -->\n"
        assert run_page(page(text)).failures, wrong


def test_references_and_code_are_not_figures(page) -> None:
    text = ("Use `caliper=0.25` here.\n\n## References\n\nSmith, J. (2011). *JASA* 82, "
            "171-185.\n")
    report = run_page(page(text))
    assert report.failures == [] and report.numbers == 0


def test_normalise_states_what_it_ignores(tmp_path: Path) -> None:
    text = f"  a   b \n\nwritten {tmp_path}/x.csv at 2026-11-22 10:04:55\n"
    assert normalise(text, workdir=tmp_path) == ["a b", "written ./x.csv at <timestamp>"]
    assert normalise("0.247\n") != normalise("0.248\n")
    assert matches(["a", "...", "d"], ["a", "b", "c", "d"])
    assert not matches(["a", "...", "d"], ["a", "b", "c"])
    assert numbers("12,000 and 3.5% and 1e-12 but not LA01 or x2") == ["12000", "3.5", "1e-12"]


def test_versions_are_not_figures(page) -> None:
    report = run_page(page("Deprecated in version 0.1; R's MatchIt 4.7.1 agrees.\n"))
    assert report.failures == [] and report.numbers == 0
