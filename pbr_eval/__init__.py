"""pbr_eval: what an outcome is worth paying for.

Estimate the non-intervention rate of a programme cohort from comparison
cohorts, and turn it into outcome prices for Payment by Results.

>>> import pbr_eval
>>> "nearest" in pbr_eval.ESTIMATORS
True
"""

from pbr_eval import claims  # noqa: F401  (its results kinds register on import pbr_eval)
from pbr_eval._version import __version__
from pbr_eval.api import bootstrap, estimate, evaluate, price, report
from pbr_eval.areas import AreaRates, AreaTariffs, area_rates, area_tariffs
from pbr_eval.cohort import Cohort, DroppedRows
from pbr_eval.diagnostics.balance import BalanceTable
from pbr_eval.distributed import DistributedCohort
from pbr_eval.estimators import (
    ESTIMATORS,
    AugmentedIPW,
    CoarsenedExactMatching,
    DifferenceInDifferences,
    EntropyBalancing,
    ExactMatching,
    HistoricalBaseline,
    InverseProbabilityWeighting,
    IPWRegressionAdjustment,
    NearestNeighborMatching,
    OptimalMatching,
    RegressionAdjustment,
    StaggeredDiD,
    Subclassification,
)
from pbr_eval.estimators.synthetic import SyntheticControl, SyntheticDiD
from pbr_eval.estimators.transport import transport
from pbr_eval.exceptions import PbrEvalError, PbrEvalWarning
from pbr_eval.imputation import ImputedCohorts, add_missing, from_completed, impute
from pbr_eval.pricing import (
    DifferentialTariff,
    PaymentRisk,
    Tariff,
    cash_flow,
    differential_tariff,
    simulate_payments,
)
from pbr_eval.pricing.recommend import PriceRecommendation
from pbr_eval.results.bootstrap import BootstrapResults
from pbr_eval.results.counterfactual import CounterfactualResults
from pbr_eval.results.evaluation import EvaluationResults
from pbr_eval.results.imputation import ImputedResults
from pbr_eval.results.survival import SurvivalResults
from pbr_eval.sensitivity import parallel_trends
from pbr_eval.survival import estimate_survival, interim_payment, weighted_curves
from pbr_eval.time_to_event import TimeToEvent
from pbr_eval.validation import CoverageStudy, coverage_study

__all__ = [
    "__version__",
    "Cohort",
    "DistributedCohort",
    "DroppedRows",
    "TimeToEvent",
    "weighted_curves",
    "estimate_survival",
    "interim_payment",
    "SurvivalResults",
    "estimate",
    "evaluate",
    "EvaluationResults",
    "impute",
    "add_missing",
    "from_completed",
    "ImputedCohorts",
    "ImputedResults",
    "price",
    "report",
    "ESTIMATORS",
    "NearestNeighborMatching",
    "ExactMatching",
    "CoarsenedExactMatching",
    "Subclassification",
    "OptimalMatching",
    "InverseProbabilityWeighting",
    "RegressionAdjustment",
    "AugmentedIPW",
    "IPWRegressionAdjustment",
    "EntropyBalancing",
    "DifferenceInDifferences",
    "HistoricalBaseline",
    "StaggeredDiD",
    "transport",
    "parallel_trends",
    "SyntheticControl",
    "SyntheticDiD",
    "CounterfactualResults",
    "BalanceTable",
    "PriceRecommendation",
    "Tariff",
    "simulate_payments",
    "PaymentRisk",
    "differential_tariff",
    "DifferentialTariff",
    "cash_flow",
    "area_rates",
    "area_tariffs",
    "AreaRates",
    "AreaTariffs",
    "bootstrap",
    "BootstrapResults",
    "coverage_study",
    "CoverageStudy",
    "PbrEvalError",
    "PbrEvalWarning",
]
