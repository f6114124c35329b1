"""Shared example for multiple imputation, and R mice's pooled figures for it.

Run from the repository root (needs R with mice: ``apt-get install -y r-base-core r-cran-mice``)::

    python tests/reference/r_mice/make_reference.py

1. Builds the shared example (:func:`shared_example`): 2,000 rows of the shipped
   reoffending data, with about 20% of ``age`` and ``prior_offences`` made missing
   at random (the chance depends on the treatment and the outcome).
2. Imputes it with :func:`pbr_eval.impute` (m = 5, seed 20261203) and writes the
   imputed cells to ``imputed_cells.csv`` (row, covariate, one column per imputation),
   the "same imputations" the test imports with :func:`pbr_eval.imputation.from_completed`.
3. Writes the 5 completed data sets to a temporary CSV and runs ``pool_regression.R``:
   R fits regression adjustment itself (glm on the comparison group, logistic for
   ``reoffended`` and Poisson for ``reconviction_events``; mean prediction over the
   participants; influence-function standard errors from the glm's own pieces) in each
   completed data set, and pools with ``mice::pool.scalar`` (Rubin's rules,
   Barnard-Rubin degrees of freedom, n - k as pbr_eval's default). Output:
   ``pooled.csv`` and ``per_imputation.csv``.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
M = 5
SEED = 20261203
ROLES = {"treatment": "treated", "outcome": ["reoffended", "reconviction_events"],
         "covariates": ["age", "sex", "prior_offences", "offence_type", "sentence_months"],
         "unit_id": "person_id"}


def shared_example() -> pd.DataFrame:
    """2,000 rows of the reoffending data with about 20% of two covariates missing at random."""
    import pbr_eval
    from pbr_eval.datasets import load_reoffending

    data = load_reoffending().data.sample(n=2000, random_state=11).reset_index(drop=True)
    return pbr_eval.add_missing(data, ["age", "prior_offences"], share=0.2, seed=12,
                                depends_on=["treated", "reoffended"])


def completed_from_cells(data: pd.DataFrame, cells: pd.DataFrame) -> list[pd.DataFrame]:
    """The completed data sets from ``imputed_cells.csv``'s rows."""
    out = []
    for j in range(1, M + 1):
        f = data.copy()
        for c, part in cells.groupby("covariate"):
            f.loc[part["row"].to_numpy(), c] = part[f"imp{j}"].to_numpy()
        out.append(f)
    return out


def main() -> None:
    import pbr_eval

    data = shared_example()
    imp = pbr_eval.impute(data, m=M, seed=SEED, **ROLES)
    rows = []
    for c in imp.settings["imputed_columns"]:
        gone = data.index[data[c].isna()]
        part = {"row": gone, "covariate": c}
        for j, coh in enumerate(imp.cohorts, start=1):
            part[f"imp{j}"] = coh.data.loc[gone, c].to_numpy()
        rows.append(pd.DataFrame(part))
    cells = pd.concat(rows, ignore_index=True)
    cells.to_csv(HERE / "imputed_cells.csv", index=False)  # noqa: PBR001 (reference file)
    completed = completed_from_cells(data, cells)
    long = pd.concat([f.assign(imputation=j) for j, f in enumerate(completed, start=1)])
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "completed.csv"
        long.to_csv(path, index=False)  # noqa: PBR001 (temporary input for R)
        subprocess.run(["Rscript", str(HERE / "pool_regression.R"), str(path), str(HERE)],
                       check=True)
    print((HERE / "pooled.csv").read_text(), file=sys.stderr)


if __name__ == "__main__":
    main()
