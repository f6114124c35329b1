"""pbr_eval.disclosure: one marker, one threshold, secondary suppression that holds.

The recoverability check here is written independently of the module's (a
rank test per hidden cell instead of one null space), so the two check each
other.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import pytest
from _recover import rank_recoverable

from pbr_eval import options
from pbr_eval.disclosure import (
    MARKER,
    Cell,
    DisclosurePolicy,
    Link,
    Relation,
    is_hidden,
    recoverable,
)
from pbr_eval.kinds import Column, Schema


def _rank(relations, hidden):
    return rank_recoverable(((r.total, r.parts) for r in relations), hidden)


@dataclass
class T:
    name: str
    schema: Schema
    rows: list
    totals: tuple = ()
    sums: tuple = ()


def test_one_marker_and_one_threshold():
    assert MARKER == "[c]"
    assert DisclosurePolicy().threshold == options.DEFAULT_DISCLOSURE_THRESHOLD == 10
    p = DisclosurePolicy()
    hidden = [p.count(3), p.rate(0.05, 100), p.value(0.9, "mean", denominator=4), p.count(0)]
    assert set(hidden) == {MARKER}
    for legacy in ("[w]", "<10", "<15", "suppressed", "[c]"):
        assert is_hidden(legacy)
    assert not is_hidden("reoffended") and not is_hidden(3)


def test_values_by_kind():
    p = DisclosurePolicy(threshold=10)
    assert p.value(5, "planned_count") == 5           # a contract input, not people
    assert p.value(4000.0, "money") == 4000.0
    assert p.value(1.54, "ratio") == 1.54
    assert p.value(0.25, "rate", denominator=100) == 0.25
    assert p.value(0.25, "rate", denominator=MARKER) == MARKER
    assert p.value(0.25, "rate") == 0.25             # no denominator: a model rate


CLAIMS = Schema((Column("rule", "text", "Rule"),
                 Column("valid", "count", "Valid"),
                 Column("invalid", "count", "Invalid"),
                 Column("unevidenced", "count", "Unevidenced"),
                 Column("total", "count", "Total"),
                 Column("share_valid", "rate", "Share valid", denominator="total",
                        derived_from=("valid",))))


def test_row_total_cannot_recover_a_small_cell():
    p = DisclosurePolicy(threshold=10, suppress_zeros=False)
    rows = [{"rule": "a", "valid": 30, "invalid": 4, "unevidenced": 26, "total": 60,
             "share_valid": 0.5}]
    out = p.protect_rows(CLAIMS, rows, totals=(("total", ("valid", "invalid", "unevidenced")),))
    r = out[0]
    assert r["invalid"] == MARKER
    hidden = [k for k, v in r.items() if v == MARKER]
    assert len(hidden) >= 2 and r["total"] == 60
    # the share of valid claims would give valid = share x total: hidden with it
    if r["valid"] == MARKER:
        assert r["share_valid"] == MARKER


def test_rates_withheld_with_their_hidden_denominator():
    p = DisclosurePolicy(threshold=10)
    schema = Schema((Column("area", "text", "Area"), Column("n", "count", "People"),
                     Column("rate", "rate", "Rate", denominator="n")))
    rows = [{"area": "A", "n": 40, "rate": 0.5}, {"area": "B", "n": 5, "rate": 0.6},
            {"area": "C", "n": 50, "rate": 0.3}]
    out = p.protect_rows(schema, rows, public_sums=("n",))
    # B's count is small; the published total (95) would give it back, so a second count
    # goes too, and the rate of each hidden count with it (rate x n = people)
    hidden_n = [r["area"] for r in out if r["n"] == MARKER]
    assert "B" in hidden_n and len(hidden_n) == 2 and "A" in hidden_n   # A: smallest other
    assert all(r["rate"] == MARKER for r in out if r["n"] == MARKER)
    assert out[2] == rows[2]


def test_links_across_tables_and_money():
    """Money = count x price in another table: hidden with its count, and the other way."""
    p = DisclosurePolicy(threshold=10, suppress_zeros=False)

    counts = T("counts", CLAIMS.select(["rule", "valid", "invalid", "unevidenced", "total"]),
               [{"rule": "a", "valid": 30, "invalid": 4, "unevidenced": 26, "total": 60}],
               totals=(("total", ("valid", "invalid", "unevidenced")),))
    money_schema = Schema((Column("rule", "text", "Rule"),
                           *(Column(c, "money", c) for c in ("valid", "invalid", "unevidenced",
                                                             "total", "at_risk"))))
    money = T("money", money_schema,
              [{"rule": "a", "valid": 3000.0, "invalid": 400.0, "unevidenced": 2600.0,
                "total": 6000.0, "at_risk": 3000.0}],
              totals=(("total", ("valid", "invalid", "unevidenced")),
                      ("at_risk", ("invalid", "unevidenced"))))
    links = [Link(Cell("counts", 0, c), Cell("money", 0, c))
             for c in ("valid", "invalid", "unevidenced", "total")]
    prot = p.protect([counts, money], links=links)
    for c in ("valid", "invalid", "unevidenced", "total"):
        assert (prot.rows["counts"][0][c] == MARKER) == (prot.rows["money"][0][c] == MARKER)
    # nothing hidden can be worked out from what is shown, in either table
    rels = [Relation(Cell("counts", 0, "total"), tuple(Cell("counts", 0, c) for c in
                                                        ("valid", "invalid", "unevidenced"))),
            Relation(Cell("money", 0, "total"), tuple(Cell("money", 0, c) for c in
                                                       ("valid", "invalid", "unevidenced"))),
            Relation(Cell("money", 0, "at_risk"), (Cell("money", 0, "invalid"),
                                                   Cell("money", 0, "unevidenced")))]
    assert _rank(rels, prot.primary | prot.secondary) == set()


def _random_table(rng, n_rows, n_cols):
    vals = rng.choice([0, 1, 2, 3, 5, 8, 12, 15, 20, 40, 80], size=(n_rows, n_cols))
    cols = [f"c{j}" for j in range(n_cols)]
    schema = Schema((Column("k", "text", "Key"), *(Column(c, "count", c) for c in cols),
                     Column("total", "count", "Total")))
    rows = [{"k": f"r{i}", **{c: int(v) for c, v in zip(cols, vals[i], strict=True)},
             "total": int(vals[i].sum())} for i in range(n_rows)]
    return schema, rows, cols


@pytest.mark.parametrize("seed", range(25))
def test_random_tables_nothing_recoverable(seed):
    """Row totals and published column totals: no hidden cell is ever determined."""
    rng = np.random.default_rng(seed)
    schema, rows, cols = _random_table(rng, int(rng.integers(1, 7)), int(rng.integers(2, 5)))
    p = DisclosurePolicy(threshold=10, suppress_zeros=bool(seed % 2))

    prot = p.protect([T("t", schema, rows, totals=(("total", tuple(cols)),),
                        sums=tuple((c, None) for c in [*cols, "total"]))])
    hidden = prot.primary | prot.secondary
    rels = [Relation(Cell("t", i, "total"), tuple(Cell("t", i, c) for c in cols))
            for i in range(len(rows))]
    rels += [Relation(None, tuple(Cell("t", i, c) for i in range(len(rows))))
             for c in [*cols, "total"]]
    got = _rank(rels, hidden)
    assert got <= prot.unprotectable, (rows, prot.rows["t"])
    # every small count is hidden
    for i, r in enumerate(rows):
        for c in [*cols, "total"]:
            if p.count_is_small(r[c]):
                assert prot.rows["t"][i][c] == MARKER
    # the module's own check agrees with the rank test
    values = {Cell("t", i, c): rows[i][c] for i in range(len(rows)) for c in [*cols, "total"]}
    assert recoverable(rels, hidden, values) == got


def test_recoverable_finds_chains():
    """x is recovered through two relations, not one (a + b = 20 shown, b + c = 15, c shown)."""
    a, b, c, t1, t2 = (Cell("t", 0, k) for k in ("a", "b", "c", "t1", "t2"))
    rels = [Relation(t1, (a, b)), Relation(t2, (b, c))]
    values = {a: 5, b: 15, c: 0, t1: 20, t2: 15}
    assert recoverable(rels, {a, b}, values) == {a, b}
    assert recoverable(rels, {a, b, c}, values) == set()
    for hid in itertools.combinations([a, b, c], 2):
        assert recoverable(rels, set(hid), values) == _rank(rels, set(hid))
