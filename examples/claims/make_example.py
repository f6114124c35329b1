"""Make the small example claims files from the seeded simulator.

Run from the repository root: python examples/claims/make_example.py
The true status of each claim (and which edge case it is) goes to truth.csv; three claims
are repeated under new claim ids (two on the same date, one a day later): true status
"duplicate".
"""

from __future__ import annotations

from pathlib import Path

from pbr_eval.claims.simulate import simulate_claims

HERE = Path(__file__).parent

sim = simulate_claims(60, invalid_share=0.15, unevidenced_share=0.10, seed=3, duplicate_share=0.05)
sim.claims.to_csv(HERE / "claims.csv", index=False)
sim.records.to_csv(HERE / "records.csv", index=False)
sim.members.to_csv(HERE / "members.csv", index=False)
sim.truth.to_csv(HERE / "truth.csv", index=False)
print(sim.truth["status"].value_counts().to_dict())
