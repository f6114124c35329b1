"""From a non-intervention rate to outcome prices (the pricing engine)."""

from pbr_eval.pricing.cashflow import CashFlowSchedule, cash_flow, irr, npv
from pbr_eval.pricing.deadweight import (
    Additionality,
    additionality,
    cost_per_additional_outcome,
    minimum_detectable_effect,
    trigger_probability,
)
from pbr_eval.pricing.inputs import CONTRACT_OPTION_KINDS, PRICING_OPTION_KINDS, option_problems
from pbr_eval.pricing.mechanisms import (
    AttachmentAndResults,
    AttachmentFee,
    Milestones,
    MinimumPerformanceLevel,
    PaymentMechanism,
    PerEventAvoided,
    PerOutcome,
    PerOutcomeByGroup,
    RateCard,
    SlidingScale,
    minimum_performance_level,
)
from pbr_eval.pricing.rates import (
    RateDistribution,
    RateInput,
    rate_input,
    rates_from_dict,
    rates_from_results,
)
from pbr_eval.pricing.recommend import (
    PRICE_COLUMNS,
    PriceRecommendation,
    price,
    price_from_rate,
    prob_overpay,
    provider_floor,
    value_for_money_ceiling,
)
from pbr_eval.pricing.risk import PaymentRisk, simulate_payments
from pbr_eval.pricing.segments import DifferentialTariff, differential_tariff, payment_groups
from pbr_eval.pricing.sensitivity import (
    plot_price_sensitivity,
    price_sensitivity,
    scenario_table,
    scenarios_from,
    tipping_point,
)
from pbr_eval.pricing.tariff import PaymentStatement, Tariff
from pbr_eval.pricing.time_based import TimeFreeMilestones

__all__ = [
    "CONTRACT_OPTION_KINDS",
    "PRICING_OPTION_KINDS",
    "option_problems",
    "CashFlowSchedule",
    "cash_flow",
    "irr",
    "npv",
    "plot_price_sensitivity",
    "price_sensitivity",
    "scenario_table",
    "scenarios_from",
    "tipping_point",
    "DifferentialTariff",
    "PerOutcomeByGroup",
    "differential_tariff",
    "payment_groups",
    "Additionality",
    "PaymentRisk",
    "additionality",
    "cost_per_additional_outcome",
    "minimum_detectable_effect",
    "simulate_payments",
    "trigger_probability",
    "AttachmentAndResults",
    "AttachmentFee",
    "Milestones",
    "TimeFreeMilestones",
    "MinimumPerformanceLevel",
    "PaymentMechanism",
    "PaymentStatement",
    "PerEventAvoided",
    "PerOutcome",
    "RateCard",
    "SlidingScale",
    "Tariff",
    "minimum_performance_level",
    "PRICE_COLUMNS",
    "PriceRecommendation",
    "RateDistribution",
    "RateInput",
    "price",
    "price_from_rate",
    "prob_overpay",
    "provider_floor",
    "rate_input",
    "rates_from_dict",
    "rates_from_results",
    "value_for_money_ceiling",
]
