"""Checking Payment-by-Results claims: outcome rules, validation runs, audit
samples and baseline-to-closure tracking.

See ``docs/claims.md`` for a worked example.
"""

from __future__ import annotations

from pbr_eval.claims.rules import (
    AllOf,
    AnyOf,
    ChangeFromBaseline,
    RecordStore,
    RuleSet,
    Sustained,
    Threshold,
    evaluate_rule,
    load_rules,
    rules_from_dict,
)

__all__ = [
    "AllOf",
    "AnyOf",
    "ChangeFromBaseline",
    "RecordStore",
    "RuleSet",
    "Sustained",
    "Threshold",
    "evaluate_rule",
    "load_rules",
    "rules_from_dict",
]
