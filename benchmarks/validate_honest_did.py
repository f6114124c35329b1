"""Parallel-trends sensitivity in repeated simulation: coverage when the violation is known.

Event-study coefficients drawn as ``betahat ~ N(tau + delta, Sigma)`` with ``Sigma`` the
covariance of the shipped Medicaid event study (5 pre-periods, 2 post; the standard error of
the first post coefficient is about 0.009) and true effects ``tau = (0.05, 0.07)``. The
violation ``delta`` is known:

* relative magnitudes: a straight pre-trend with steps of 0.012 a period (the largest
  pre-period step is 0.012), then after the start steps of ``Mbar_true x 0.012`` in the same
  direction, ``Mbar_true = 1``: ``delta`` is in ``Delta^RM(Mbar)`` exactly when ``Mbar >= 1``;
* smoothness: the same pre-trend, then after the start the trend's slope grows by
  ``M_true = 0.006`` a period: ``delta`` is in ``Delta^SD(M)`` exactly when ``M >= 0.006``.

For each draw: whether the 95% interval assuming parallel trends covers ``tau_1`` (it
should not, often: the bias is about the size of a standard error), and whether the honest
interval at each bound does. Relative magnitudes: the true value is tested directly (the
conditional least-favourable hybrid test, ``_accepts``), which is whether the confidence set
contains it, before any grid. Smoothness: the fixed-length interval. Monte Carlo standard
errors in brackets. One process; seeds fixed (draw ``r`` uses seed ``r`` for the test's
simulated critical value).

    python benchmarks/validate_honest_did.py [--replicates 1000]

Committed output: benchmarks/results/validate_honest_did.txt.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from pbr_eval.datasets import load_medicaid_event_study
from pbr_eval.estimators.did_relative import _accepts
from pbr_eval.estimators.did_sensitivity import smoothness_flci

TAU = np.array([0.05, 0.07])
STEP, MBAR_TRUE, M_TRUE = 0.012, 1.0, 0.006
MBARS = (0.5, 1.0, 2.0)
MS = (0.0, 0.003, 0.006, 0.012)


def violations(n_pre: int) -> dict[str, np.ndarray]:
    """Return the known delta (pre-periods, then the post-periods) of each restriction."""
    pre = STEP * np.arange(-n_pre, 0)                  # straight pre-trend, delta_0 = 0
    rm_post = MBAR_TRUE * STEP * np.arange(1, 3)       # post steps Mbar_true x largest pre step
    t = np.arange(1, 3)
    sd_post = STEP * t + M_TRUE * t * (t + 1) / 2      # slope grows by M_true each period
    return {"rm": np.r_[pre, rm_post], "sd": np.r_[pre, sd_post]}


def main() -> None:
    """Run the study and print coverage by bound."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--replicates", type=int, default=1000)
    R = ap.parse_args().replicates
    es = load_medicaid_event_study()
    S, n_pre, n_post = np.asarray(es["sigma"]), es["n_pre"], es["n_post"]
    L = np.linalg.cholesky(S)
    se1 = float(np.sqrt(S[n_pre, n_pre]))
    delta = violations(n_pre)
    rng = np.random.default_rng(20261204)
    lv = np.array([1.0, 0.0])
    t0, c0 = time.perf_counter(), time.process_time()
    cover: dict[str, list[bool]] = {}
    for r in range(R):
        z = L @ rng.standard_normal(n_pre + n_post)
        for name, d in delta.items():
            b = np.r_[np.zeros(n_pre), TAU] + d + z
            cover.setdefault(f"{name} original", []).append(
                abs(b[n_pre] - TAU[0]) <= 1.959964 * se1)
            if name == "rm":
                for mb in MBARS:
                    ok = _accepts(b, S, n_pre, n_post, lv, mb, np.array([TAU[0]]), 0.95, r,
                                  10_000)[0]
                    cover.setdefault(f"rm {mb}", []).append(bool(ok))
            else:
                for m in MS:
                    ci = smoothness_flci(b, S, n_pre=n_pre, n_post=n_post, M=m)
                    cover.setdefault(f"sd {m}", []).append(ci.lower <= TAU[0] <= ci.upper)

    def line(key: str) -> str:
        p = float(np.mean(cover[key]))
        return f"{p:.3f} ({np.sqrt(p * (1 - p) / R):.3f})"

    print(f"{R:,} simulated event studies (Medicaid covariance: 5 pre-periods, 2 post; SE of the "
          f"first effect {se1:.4f}); true first effect {TAU[0]}")
    print("coverage of the true first effect by the 95% interval (MCSE in brackets)")
    print(f"relative magnitudes, true violation Mbar = {MBAR_TRUE:g} (pre steps {STEP}):")
    print(f"  assuming parallel trends: {line('rm original')}")
    for mb in MBARS:
        inside = "inside" if mb >= MBAR_TRUE else "outside"
        print(f"  honest, Mbar = {mb:g} (truth {inside} the set): {line(f'rm {mb}')}")
    print(f"smoothness, true violation M = {M_TRUE:g} (slope change per period):")
    print(f"  assuming parallel trends: {line('sd original')}")
    for m in MS:
        inside = "inside" if m >= M_TRUE else "outside"
        print(f"  honest, M = {m:g} (truth {inside} the set): {line(f'sd {m}')}")
    print(f"run time {time.perf_counter() - t0:.0f} s wall, {time.process_time() - c0:.0f} s CPU")


if __name__ == "__main__":
    main()
