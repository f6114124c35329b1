"""Beyond memory on Dask (issue 17.3): a national pool from partitioned Parquet on a LocalCluster.

Run: python benchmarks/bench_distributed.py --treated 1000000 --comparison 10000000 \
         [--workdir DIR] [--workers 2] [--memory-limit 6GB] [--equality] [--keep] [--data-only]

Writes the pool as Parquet files of ``--chunk`` rows (10 covariates, two outcomes: a rate and
a count; seeded), starts a LocalCluster (worker processes), builds a DistributedCohort from
the files and times the cohort build and each method, with the peak resident memory summed
over this process and the workers (sampled every 0.2 s). As the reference computed in the
same run it times one plain pass over the data (the sums of one Newton iteration), so the
methods read as multiples of a pass (in wall-clock and in CPU seconds, the latter steadier on
a shared machine). Each step also reports how many passes over the
partitions it made (``DistributedCohort.passes``; on a pbr_eval without that counter, the
number of ``dask.compute`` calls) and the CPU seconds of this process and the workers. ``--equality`` also builds the in-memory Cohort of the
same rows and prints the largest absolute difference of every estimate, interval and SE
(only for sizes that fit in memory). The data is deleted at the end unless ``--keep``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import psutil

P = 10
#: What each name in ``--methods`` runs: nearest matching with replacement, and without
#: replacement within the exact cells of two binary covariates (four cells).
OPTIONS = {"nearest": {"method": "nearest", "replace": True},
           "nearest-cells": {"method": "nearest", "replace": False, "exact": ["x5", "x6"]}}


def run_options(name: str) -> dict:
    """The ``estimate`` arguments for a ``--methods`` name."""
    return {"method": name, **OPTIONS.get(name, {})}


def make_pool(folder: Path, n_treated: int, n_comparison: int, chunk: int, seed: int) -> int:
    """Write the rows as Parquet files of ``chunk`` rows; return the number of files."""
    folder.mkdir(parents=True, exist_ok=True)
    n = n_treated + n_comparison
    ss = np.random.SeedSequence(seed)
    beta = np.linspace(-0.4, 0.4, P)
    files = 0
    # treated rows are spread over the files in proportion
    for k, start in enumerate(range(0, n, chunk)):
        rng = np.random.default_rng(ss.spawn(1)[0])
        m = min(chunk, n - start)
        X = rng.normal(size=(m, P))
        X[:, 5:] = (X[:, 5:] > 0.3).astype(float)
        share = n_treated / n
        lin = np.log(share / (1 - share)) + X @ beta * 0.8
        p = 1 / (1 + np.exp(-lin))
        t = (rng.random(m) < p).astype(np.int8)
        eta = -0.8 + X @ beta[::-1] * 0.5 - 0.3 * t
        y1 = (rng.random(m) < 1 / (1 + np.exp(-eta))).astype(np.int8)
        y2 = rng.poisson(np.exp(eta)).astype(np.int16)
        df = pd.DataFrame(X, columns=[f"x{j}" for j in range(P)])
        df["treated"], df["reoffended"], df["events"] = t, y1, y2
        tmp = folder / f".part-{k:05d}.parquet.tmp"
        df.to_parquet(tmp, index=False)
        os.replace(tmp, folder / f"part-{k:05d}.parquet")
        files += 1
    return files


def manifest(n_treated: int, n_comparison: int, chunk: int, seed: int) -> str:
    """Return the text of ``pool/_MANIFEST``: what a complete pool was written from.

    (The underscore keeps Parquet readers off the file.)
    """
    return f"treated={n_treated} comparison={n_comparison} chunk={chunk} seed={seed} P={P}\n"


def ensure_pool(folder: Path, n_treated: int, n_comparison: int, chunk: int,
                seed: int) -> int:
    """Write the pool unless a complete one from the same arguments is there; return its files.

    A pool is complete once its ``_MANIFEST`` is written (after the last file, atomically), so
    an interrupted write is started again, and a pool made with other arguments is refused
    rather than silently timed as if it were this one.
    """
    mark = folder / "_MANIFEST"
    want = manifest(n_treated, n_comparison, chunk, seed)
    if mark.exists():
        found = mark.read_text()
        if found != want:
            raise SystemExit(f"{folder} holds a pool made with {found.strip()}, not "
                             f"{want.strip()}: pass the same --treated/--comparison/--chunk/"
                             "--seed, or another --workdir")
        return len(list(folder.glob("part-*.parquet")))
    if folder.exists():
        shutil.rmtree(folder)
    files = make_pool(folder, n_treated, n_comparison, chunk, seed)
    tmp = folder / "._MANIFEST.tmp"
    tmp.write_text(want)
    os.replace(tmp, mark)
    return files


class PeakRSS:
    """Peak resident memory of this process and its children, sampled in a thread."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        me = psutil.Process()
        while not self._stop.is_set():
            total = 0
            for proc in [me, *me.children(recursive=True)]:
                try:
                    total += proc.memory_info().rss
                except psutil.Error:
                    pass
            self.peak = max(self.peak, total)
            if psutil.virtual_memory().available < 6 * 2**30:
                print("STOP: free memory below 6 GB", flush=True)
                os._exit(3)
            time.sleep(0.2)

    def __enter__(self) -> PeakRSS:
        self._t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._t.join()


class Passes:
    """Count passes: the cohort's own counter, else the ``dask.compute`` calls (older pbr_eval)."""

    def __init__(self) -> None:
        import dask

        self.calls = 0
        self._compute = dask.compute

        def counted(*args, **kw):
            self.calls += 1
            return self._compute(*args, **kw)

        dask.compute = counted

    def now(self, dc) -> int:
        return self.calls if dc is None or not hasattr(dc, "passes") else dc.passes


def cpu_seconds() -> float:
    """User + system CPU seconds of this process and its children (the workers) so far."""
    me = psutil.Process()
    total = 0.0
    for proc in [me, *me.children(recursive=True)]:
        try:
            c = proc.cpu_times()
            total += c.user + c.system
        except psutil.Error:
            pass
    return total


def _warm_up() -> None:
    import dask.dataframe  # noqa: F401
    import pyarrow.parquet  # noqa: F401

    import pbr_eval.distributed  # noqa: F401


def one_pass(part: dict) -> dict:
    X = part["X"]
    v = np.full(X.shape[0], 0.25)
    return {"H": (X * v[:, None]).T @ X, "g": X.T @ v}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--treated", type=int, default=1_000_000)
    ap.add_argument("--comparison", type=int, default=10_000_000)
    ap.add_argument("--chunk", type=int, default=1_000_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--memory-limit", default="6GB")
    ap.add_argument("--workdir", default=None)
    ap.add_argument("--methods", default="ipw,aipw")
    ap.add_argument("--equality", action="store_true")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--data-only", action="store_true",
                    help="write the pool (kept) and stop; a later run with the same --workdir "
                         "and sizes reads it instead of writing it again")
    ap.add_argument("--seed", type=int, default=17)
    a = ap.parse_args()

    import distributed

    import pbr_eval

    work = Path(a.workdir or tempfile.mkdtemp(prefix="pbr_bench_dist_"))
    folder = work / "pool"
    n = a.treated + a.comparison
    print(f"pool: {a.treated:,} treated + {a.comparison:,} comparison = {n:,} rows, "
          f"{P} covariates, 2 outcomes; LocalCluster {a.workers} worker processes x 1 thread, "
          f"memory limit {a.memory_limit} each")
    t0 = time.perf_counter()
    files = ensure_pool(folder, a.treated, a.comparison, a.chunk, a.seed)
    size = sum(f.stat().st_size for f in folder.glob("part-*.parquet"))
    print(f"data: {files} Parquet files, {size / 2**30:.2f} GB on disk "
          f"(written or found in {time.perf_counter() - t0:.0f} s)")
    if a.data_only:
        return
    roles = dict(treatment="treated", outcome=["reoffended", "events"],
                 covariates=[f"x{j}" for j in range(P)])
    rows: list[tuple[str, float, float, int]] = []
    print(f"load average at the start: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    try:
        with PeakRSS() as mem, distributed.LocalCluster(
                n_workers=a.workers, threads_per_worker=1, memory_limit=a.memory_limit,
                dashboard_address=None) as cluster, distributed.Client(cluster) as client:
            t0 = time.perf_counter()
            client.run(_warm_up)  # the workers' first imports, timed apart from the build
            print(f"workers' imports (pbr_eval, pandas, pyarrow): {time.perf_counter() - t0:.1f} s")
            counter = Passes()
            t0, c0 = time.perf_counter(), cpu_seconds()
            dc = pbr_eval.DistributedCohort.from_parquet(folder, scheduler=client, **roles)
            n_build = counter.now(dc) if hasattr(dc, "passes") else counter.calls
            rows.append(("cohort (read, check, persist)", time.perf_counter() - t0,
                         cpu_seconds() - c0, n_build))
            print(dc, flush=True)
            passes, cpus = [], []
            for _ in range(3):
                t0, c0 = time.perf_counter(), cpu_seconds()
                dc.reduce(one_pass)
                passes.append(time.perf_counter() - t0)
                cpus.append(cpu_seconds() - c0)
            ref, ref_cpu = float(np.median(passes)), float(np.median(cpus))
            rows.append(("one pass (reference, median of 3)", ref, ref_cpu, 1))
            results = {}
            for m in a.methods.split(","):
                k0 = counter.now(dc)
                t0, c0 = time.perf_counter(), cpu_seconds()
                results[m] = pbr_eval.estimate(dc, **run_options(m))
                rows.append((m, time.perf_counter() - t0, cpu_seconds() - c0,
                             counter.now(dc) - k0))
                print(f"{m}: {rows[-1][1]:.1f} s", flush=True)
            peak = mem.peak
        print()
        print(f"{'step':<36}{'seconds':>9}{'CPU s':>9}{'passes':>8}{'s/pass':>8}"
              f"{'x ref':>8}{'CPU x ref':>11}")
        for name, sec, cpu, k in rows:
            print(f"{name:<36}{sec:>9.1f}{cpu:>9.1f}{k:>8d}{sec / max(k, 1):>8.2f}"
                  f"{sec / ref:>8.1f}{cpu / ref_cpu:>11.1f}")
        print("(passes: passes over the partitions; s/pass: seconds per pass; x ref: seconds "
              "as a multiple of the reference pass; CPU x ref: CPU seconds (this process and "
              "the workers) as a multiple of the reference pass's)")
        print(f"peak RSS (this process + workers): {peak / 2**30:.2f} GB")
        for m, res in results.items():
            f = res.to_frame()
            print(f"{m}: " + "; ".join(
                f"{r.outcome} {r.non_intervention:.5f} (SE {r.non_intervention_se:.5f})"
                for r in f.itertuples()))
        if a.equality:
            data = pd.read_parquet(folder)
            cohort = pbr_eval.Cohort(data, **roles)
            for m, res in results.items():
                t0 = time.perf_counter()
                mem_res = pbr_eval.estimate(cohort, **run_options(m))
                tm = time.perf_counter() - t0
                fa = mem_res.to_frame().select_dtypes("number")
                fb = res.to_frame().select_dtypes("number")
                extra = ""
                if m.startswith("nearest"):
                    mm_a, mm_b = mem_res.extras["match_matrix"], res.extras["match_matrix"]
                    extra = (f"; matched comparison unit differs for {int((mm_a != mm_b).sum()):,} "
                             f"of {mm_a.shape[0]:,} participants")
                print(f"{m}: in memory {tm:.1f} s; largest absolute difference of the "
                      f"numeric columns {float((fa - fb).abs().max().max()):.2e}{extra}")
    finally:
        print(f"load average at the end: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
        if not a.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
