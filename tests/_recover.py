"""An independent check of secondary suppression for the tests: which hidden cells can a
reader work out exactly? (A rank test per cell, not the module's null-space test.)"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence

import numpy as np


def rank_recoverable(relations: Iterable[tuple[Hashable | None, Sequence[Hashable]]],
                     unknown: Iterable[Hashable]) -> set:
    """Cells of ``unknown`` determined by ``relations`` (``total = sum(parts)``; a None
    total is a published one): cell j is determined when adding the unit vector e_j to
    the relations' matrix (restricted to the unknown cells) does not raise its rank."""
    idx = {c: j for j, c in enumerate(sorted(set(unknown)))}
    rows = []
    for total, parts in relations:
        row = np.zeros(len(idx))
        for c, sign in ([(total, 1.0)] if total is not None else []) + [(p, -1.0) for p in parts]:
            if c in idx:
                row[idx[c]] += sign
        if row.any():
            rows.append(row)
    if not rows:
        return set()
    a = np.array(rows)
    rank = np.linalg.matrix_rank(a)
    out = set()
    for c, j in idx.items():
        e = np.zeros(len(idx))
        e[j] = 1.0
        if np.linalg.matrix_rank(np.vstack([a, e])) == rank:
            out.add(c)
    return out
