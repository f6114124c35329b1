"""docs/cases.md: every python code block runs, in order, in one namespace.

The blocks assert the figures the page quotes, so a changed number fails here.
(Helper "docs" is building a runner for every page; this test covers this page
until then, and keeps doing so after.)
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

PAGE = Path(__file__).resolve().parents[1] / "docs" / "cases.md"
BLOCK = re.compile(r"^([ \t]*)```python\n(.*?)^\1```", re.S | re.M)


def _blocks() -> list[str]:
    return [textwrap.dedent(m.group(2)) for m in BLOCK.finditer(PAGE.read_text("utf-8"))]


def test_page_has_code_blocks():
    assert len(_blocks()) >= 6


def test_page_code_runs(capsys):
    namespace: dict = {}
    for i, code in enumerate(_blocks()):
        exec(compile(code, f"{PAGE.name} block {i + 1}", "exec"), namespace)  # noqa: S102
    out = capsys.readouterr().out
    assert "32 of 32 published statistics" in out


def test_page_table_lists_every_case():
    from pbr_eval.datasets.cases import list_case_names

    text = PAGE.read_text("utf-8")
    for name in list_case_names():
        assert f"`{name}`" in text, name
