"""The scale record (issue 17): every fast-path estimator against references timed in the same run.

For each size (treated x comparison units, 10 covariates, two outcomes: one binary, one
continuous) it times building the Cohort (with its provenance fingerprint, which the first
estimate computes and every later one reuses) and ``estimate(cohort, method=m)`` for ipw,
regression, aipw, ipwra, entropy and nearest (median of ``--repeat`` runs, wall and CPU),
and two references on the same rows in the same run:

- one plain numpy Newton logistic fit of the treatment on ``[1, X]`` (from zero, until
  the largest step is below 1e-8; the design built beforehand, untimed);
- one sort (``numpy.sort``) of as many float64 scores as there are rows.

Each estimator's time is printed as a ratio to the logistic fit (the issue's bar: at most
2), nearest's also to the sort and to MatchIt's recorded time (``MATCHIT_SECONDS``: the
issue's measurement of MatchIt 4 on the 20,000 x 1,000,000 design; MatchIt is not
re-timed here). Memory: each estimator runs in a forked child, timed, then once more
under ``tracemalloc`` (numpy reports its buffers to it): the growth is the peak of what
the estimator allocates, printed as a multiple of the Cohort's role columns
(``cohort.data``: the issue's "about 3x" bar); peak MB adds the parent's resident size at
the fork (the data frame, the Cohort and the interpreter).

Run when the machine is quiet (``uptime``), one size at a time::

    python benchmarks/bench_scale.py --size 20000x1000000 [--repeat 5] [--write]

``--write`` adds (or replaces) the size's section in ``benchmarks/RESULTS.md`` with the
date, machine and load; the docs quote that file (``tests/test_docs.py`` checks the
figures against it, never re-timing them).
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing as mp
import os
import platform
import re
import statistics
import time
import tracemalloc
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit

from pbr_eval import Cohort, estimate

#: MatchIt's time for nearest matching on the 20,000 x 1,000,000 design (issue 17's record).
MATCHIT_SECONDS = {(20_000, 1_000_000): 5.0}
#: Issue 17's acceptance bars by size: seconds per estimator (and as a multiple of the
#: logistic fit), seconds for the Cohort build plus nearest matching, peak memory (MB).
BARS: dict[tuple[int, int], dict[str, Any]] = {
    (20_000, 1_000_000): {"methods": ("ipw", "regression", "aipw", "ipwra", "entropy"),
                          "seconds": 1.0, "x_logit": 2.0, "cohort_nearest": 0.5,
                          "peak_mb": 1.5 * 1024},
    (100_000, 10_000_000): {"methods": ("ipw", "aipw"), "seconds": 6.0, "x_logit": None,
                            "cohort_nearest": 6.0, "peak_mb": 4 * 1024},
}
METHODS = ("ipw", "regression", "aipw", "ipwra", "entropy", "nearest")
RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def make_data(n1: int, n0: int, p: int = 10, seed: int = 0) -> pd.DataFrame:
    """Simulate the design: 8 continuous and 2 binary covariates, a binary and a continuous outcome."""
    rng = np.random.default_rng(seed)
    n = n1 + n0
    X = rng.normal(size=(n, p))
    X[:, -2:] = (X[:, -2:] > 0).astype(float)
    X[:n1, :4] += 0.5  # the treated differ on four covariates
    eta = -1.0 + X @ np.linspace(0.3, -0.3, p)
    df = pd.DataFrame(X, columns=[f"x{j}" for j in range(p)])
    df["treated"] = np.r_[np.ones(n1, dtype=np.int8), np.zeros(n0, dtype=np.int8)]
    df["y"] = (rng.random(n) < expit(eta)).astype(np.int8)
    df["z"] = 0.5 * X[:, 0] - 0.2 * X[:, 1] + rng.normal(size=n)
    return df


def plain_logit_seconds(Z: np.ndarray, t: np.ndarray) -> tuple[float, float]:
    """Time one textbook Newton logistic fit (no warm start, no line search): wall and CPU."""
    t0, c0 = time.perf_counter(), time.process_time()
    b = np.zeros(Z.shape[1])
    for _ in range(50):
        p = expit(Z @ b)
        H = (Z * (p * (1 - p))[:, None]).T @ Z
        step = np.linalg.solve(H, Z.T @ (t - p))
        b += step
        if np.abs(step).max() < 1e-8:
            break
    return time.perf_counter() - t0, time.process_time() - c0


def rss_mb() -> float:
    """Current resident size of this process (MB)."""
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _child(cohort: Cohort, method: str, repeat: int, out: Any) -> None:
    walls, cpus = [], []
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = estimate(cohort, method=method)
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    del res
    # one more run, traced: the peak of what the estimator allocates (numpy's buffers too)
    tracemalloc.start()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        estimate(cohort, method=method)
    growth = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    out.send((walls, cpus, growth))
    out.close()


def run(n1: int, n0: int, repeat: int, methods: list[str]) -> list[str]:
    """Time one size; return the lines of its section."""
    load0 = os.getloadavg()
    df = make_data(n1, n0)
    covs = [f"x{j}" for j in range(10)]
    builds, build_cpus = [], []
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        cohort = Cohort(df, treatment="treated", outcome=["y", "z"], covariates=covs)
        # the provenance fingerprint (sha256 of the role columns) is computed once per
        # Cohort, by the first estimate: a user pays it, so the build's time includes it
        cohort.fingerprint  # noqa: B018
        builds.append(time.perf_counter() - t0)
        build_cpus.append(time.process_time() - c0)
    role_mb = cohort.data.memory_usage(deep=True).sum() / 2**20
    Z = np.column_stack([np.ones(cohort.n), cohort.X])
    t = cohort.t.astype(float)
    fits = [plain_logit_seconds(Z, t) for _ in range(repeat)]
    logit = statistics.median(f[0] for f in fits)
    logit_cpu = statistics.median(f[1] for f in fits)
    del Z
    scores = np.random.default_rng(1).random(cohort.n)
    sorts = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        np.sort(scores)
        sorts.append(time.perf_counter() - t0)
    sort = statistics.median(sorts)
    base_mb = rss_mb()
    matchit = MATCHIT_SECONDS.get((n1, n0))
    build = statistics.median(builds)
    build_cpu = statistics.median(build_cpus)
    lines = [
        f"## {n1:,} treated x {n0:,} comparison units, 10 covariates, two outcomes",
        "",
        f"References in this run (median of {repeat}): one plain numpy Newton logistic fit "
        f"{logit:.2f} s ({logit_cpu:.2f} s CPU); one sort of {cohort.n:,} scores {sort:.3f} s; building the Cohort "
        f"with its provenance fingerprint {build:.2f} s ({build_cpu:.2f} s CPU). Role columns {role_mb:,.0f} MB; the parent process (data frame and "
        f"Cohort) {base_mb:,.0f} MB at the fork.",
        "",
        "| method | median wall s | CPU s | x logistic fit (wall) | x logistic fit (CPU) "
        "| x MatchIt | peak MB | growth MB | growth / role columns |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    ctx = mp.get_context("fork")
    measured: dict[str, tuple[float, float, float]] = {}
    for method in methods:
        recv, send = ctx.Pipe(duplex=False)
        proc = ctx.Process(target=_child, args=(cohort, method, repeat, send))
        proc.start()
        walls, cpus, growth = recv.recv()
        proc.join()
        wall = statistics.median(walls)
        vs_matchit = (f"{(wall + build) / matchit:.2f} (with the Cohort)"
                      if matchit and method == "nearest" else "")
        cpu = statistics.median(cpus)
        measured[method] = (wall, cpu, base_mb + growth)
        lines.append(
            f"| {method} | {wall:.2f} | {cpu:.2f} | {wall / logit:.2f} | {cpu / logit_cpu:.2f} | "
            f"{vs_matchit} | {base_mb + growth:,.0f} | {growth:,.0f} | "
            f"{growth / role_mb:.1f} |")
        if method == "nearest":
            lines.append(f"| Cohort + nearest | {wall + build:.2f} | {cpu + build_cpu:.2f} | | "
                         "| | | | |")
    bars = BARS.get((n1, n0))
    if bars:
        lines += ["", acceptance(bars, measured, build, build_cpu, logit, logit_cpu)]
    load1 = os.getloadavg()
    lines += ["", f"Load average (1, 5, 15 min) before: {', '.join(f'{x:.1f}' for x in load0)}; "
              f"after: {', '.join(f'{x:.1f}' for x in load1)} on {os.cpu_count()} CPUs.", ""]
    return lines


def acceptance(bars: dict[str, Any], measured: dict[str, tuple[float, float, float]],
               build: float, build_cpu: float, logit: float, logit_cpu: float) -> str:
    """One paragraph: each of issue 17's bars for this size, its figure (wall and CPU) and met or not.

    The bars are wall seconds on an idle machine; on a loaded one read the CPU figures.
    """
    def verdict(ok: bool) -> str:
        return "met" if ok else "NOT met"

    parts = []
    for m in bars["methods"]:
        if m not in measured:
            continue
        wall, cpu, _ = measured[m]
        text = (f"{m} {wall:.2f} s wall / {cpu:.2f} s CPU (bar {bars['seconds']:g} s: "
                f"{verdict(wall <= bars['seconds'])} wall, {verdict(cpu <= bars['seconds'])} CPU")
        if bars["x_logit"]:
            text += (f"; {cpu / logit_cpu:.2f}x the logistic fit's CPU, bar {bars['x_logit']:g}x: "
                     f"{verdict(cpu / logit_cpu <= bars['x_logit'])}")
        parts.append(text + ")")
    if "nearest" in measured:
        wall, cpu, _ = measured["nearest"]
        parts.append(f"Cohort + nearest {wall + build:.2f} s wall / {cpu + build_cpu:.2f} s CPU "
                     f"(bar {bars['cohort_nearest']:g} s: "
                     f"{verdict(wall + build <= bars['cohort_nearest'])} wall, "
                     f"{verdict(cpu + build_cpu <= bars['cohort_nearest'])} CPU)")
    if measured:
        peak = max(v[2] for v in measured.values())
        parts.append(f"largest peak {peak:,.0f} MB (bar {bars['peak_mb']:,.0f} MB: "
                     f"{verdict(peak <= bars['peak_mb'])})")
    return "Acceptance (issue 17): " + "; ".join(parts) + "."


def machine() -> str:
    """CPU model, cores and memory."""
    model = platform.processor() or "unknown CPU"
    try:
        text = Path("/proc/cpuinfo").read_text()
        model = re.search(r"model name\s*:\s*(.+)", text).group(1)  # type: ignore[union-attr]
        mem = Path("/proc/meminfo").read_text().split()[1]
        return f"{model}, {os.cpu_count()} CPUs, {int(mem) / 2**20:.0f} GB"
    except (OSError, AttributeError):
        return f"{model}, {os.cpu_count()} CPUs"


def write(section: list[str], n1: int, n0: int, command: str) -> None:
    """Replace this size's section of RESULTS.md (keeping the others)."""
    head = f"## {n1:,} treated x {n0:,} comparison units"
    old = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else ""
    parts = re.split(r"(?m)^(?=## )", old)
    intro = ("# Scale benchmark record (issue 17)\n\nWritten by `benchmarks/bench_scale.py "
             "--write` (see its docstring); each section is one run of one size. Quote "
             "medians and ratios: the 2-core machine is shared.\n\n")
    kept = [p for p in parts[1:] if not p.startswith(head)]
    threads = os.environ.get("OPENBLAS_NUM_THREADS")
    if threads:
        command = f"OPENBLAS_NUM_THREADS={threads} {command}"
    stamp = (f"`{command}` on {dt.datetime.now().isoformat(timespec='minutes')}, "
             f"{machine()}, Python {platform.python_version()}, numpy {np.__version__}.\n\n")
    body = section[0] + "\n\n" + stamp + "\n".join(section[2:]) + "\n"
    sections = sorted([*kept, body], key=lambda s: [int(x.replace(",", "")) for x in
                                                    re.findall(r"\d[\d,]*", s[:60])][:2])
    # complete or not at all: a temporary file beside it, then renamed over it
    tmp = RESULTS.with_name(RESULTS.name + ".tmp")
    tmp.write_text(intro + "".join(s if s.endswith("\n\n") else s + "\n" for s in sections),
                   encoding="utf-8")
    os.replace(tmp, RESULTS)


def main() -> None:
    """Parse the arguments, run one size, print (and optionally write) its section."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="20000x1000000", help="TREATEDxCOMPARISON")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--write", action="store_true", help="update benchmarks/RESULTS.md")
    a = ap.parse_args()
    n1, n0 = (int(x) for x in a.size.split("x"))
    section = run(n1, n0, a.repeat, a.methods.split(","))
    print("\n".join(section))
    if a.write:
        cmd = (f"python benchmarks/bench_scale.py --size {a.size} --repeat {a.repeat}"
               + (f" --methods {a.methods}" if a.methods != ",".join(METHODS) else ""))
        write(section, n1, n0, cmd)


if __name__ == "__main__":
    main()
