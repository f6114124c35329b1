"""Checking Payment-by-Results claims: outcome rules, validation runs, audit samples and baseline-to-closure tracking.

See ``docs/claims.md`` for a worked example.
"""

from __future__ import annotations

from pbr_eval.claims.audit import (
    AuditEstimate,
    draw_audit_sample,
    estimate_invalid_rate,
    proportion_ci,
    sample_size_for_precision,
    sample_size_for_tolerance,
)
from pbr_eval.claims.duplicates import find_duplicates
from pbr_eval.claims.evaluation import evaluate_rule
from pbr_eval.claims.records import RecordStore
from pbr_eval.claims.rules import (
    AllOf,
    AnyOf,
    ChangeFromBaseline,
    RuleSet,
    Sustained,
    Threshold,
    load_rules,
    rules_from_dict,
)
from pbr_eval.claims.simulate import ClaimsSimulation, simulate_claims, troubled_families_rules
from pbr_eval.claims.tracking import (
    RereferralComparison,
    needs_progress,
    rereferral_rates,
    to_cohort,
)
from pbr_eval.claims.validate import (
    ClaimsValidation,
    claim_payments,
    claims_report_tables,
    claims_summary,
    tariff_value_at_stake,
    validate_claims,
    validate_files,
)

__all__ = [
    "AuditEstimate",
    "ClaimsSimulation",
    "ClaimsValidation",
    "RereferralComparison",
    "claim_payments",
    "claims_report_tables",
    "claims_summary",
    "draw_audit_sample",
    "estimate_invalid_rate",
    "find_duplicates",
    "needs_progress",
    "proportion_ci",
    "rereferral_rates",
    "sample_size_for_precision",
    "sample_size_for_tolerance",
    "simulate_claims",
    "tariff_value_at_stake",
    "to_cohort",
    "troubled_families_rules",
    "validate_claims",
    "validate_files",
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
