"""Errors and warnings raised by pbr_eval.

Every error a user can cause is a subclass of :class:`PbrEvalError`, so a
script can catch them all in one place, and every message names the column or
option at fault, says what was expected, what was found and how to fix it.

The data errors also subclass :class:`ValueError` (or :class:`KeyError` for a
missing column) so that generic handlers keep working.
"""

from __future__ import annotations

__all__ = [
    "PbrEvalError",
    "OptionError",
    "AnalysisFileError",
    "DataError",
    "MissingColumnError",
    "TreatmentError",
    "MissingValueError",
    "InfiniteValueError",
    "OutcomeTypeError",
    "CovariateError",
    "CollinearityError",
    "DuplicateIdError",
    "ContaminationError",
    "SmallCohortError",
    "PeriodOrderError",
    "TimeToEventError",
    "EstimationError",
    "OverlapError",
    "NotViableError",
    "RuleError",
    "ClaimError",
    "OutputError",
    "PbrEvalWarning",
    "IgnoredOptionWarning",
    "EstimationWarning",
    "InfeasibleBalanceError",
    "OverlapWarning",
    "PreTrendWarning",
    "DataQualityWarning",
    "FragilityWarning",
    "LackOfComparablesWarning",
    "SmallSampleWarning",
    "DisagreementWarning",
    "ExtremeWeightsWarning",
    "CohortChangedWarning",
]


class PbrEvalError(Exception):
    """Base class of every error pbr_eval raises on purpose."""


class OptionError(PbrEvalError, ValueError):
    """An option (keyword argument, CLI flag or analysis-file key) is invalid."""


class AnalysisFileError(OptionError):
    """An analysis (TOML) file is malformed or has an invalid key; the message names the file, the line and the key."""


class DataError(PbrEvalError, ValueError):
    """The data given to :class:`pbr_eval.Cohort` cannot be used as it is."""


class MissingColumnError(DataError, KeyError):
    """A role names a column that is not in the data."""

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return str(self.args[0]) if self.args else ""


class TreatmentError(DataError):
    """The treatment column is not 0/1 or boolean, or has only one group."""


class MissingValueError(DataError):
    """Missing values were found and ``missing="error"`` was chosen."""


class InfiniteValueError(DataError):
    """A numeric column holds +inf or -inf."""


class OutcomeTypeError(DataError):
    """An outcome column is not numeric."""


class CovariateError(DataError):
    """A covariate is constant, duplicates another, or has an unusable type."""


class CollinearityError(CovariateError):
    """Covariates are perfectly collinear: one is an exact linear combination of others."""


class DuplicateIdError(DataError):
    """A unit identifier appears more than once."""


class ContaminationError(DuplicateIdError):
    """A unit identifier appears in both the treated and the comparison group."""


class SmallCohortError(DataError):
    """Fewer treated units than the configured minimum."""


class PeriodOrderError(DataError):
    """The time order of the ``period`` labels is unknown (text labels such as "pre"/"post") or contradicts ``period_order``."""


class TimeToEventError(DataError):
    """A time-to-event outcome's columns cannot be used.

    Negative times, events after the end of follow-up, dates that are not
    dates, or a window nobody in the comparison pool is followed for.
    """


class EstimationError(PbrEvalError, RuntimeError):
    """A model could not be estimated (separation, no overlap, singular design)."""


class OverlapError(EstimationError):
    """The treated and comparison groups do not overlap enough to compare."""


class NotViableError(PbrEvalError, ValueError):
    """The pricing inputs leave nothing to pay for (no additional outcomes)."""


class ClaimError(PbrEvalError, ValueError):
    """Outcome claims name a person or an outcome the tariff does not know."""


class RuleError(OptionError):
    """A claims outcome rule (pbr_eval.claims) is badly declared or unknown."""


class OutputError(PbrEvalError, OSError):
    """An output cannot be written (full disk, no permission) or would replace a folder pbr_eval did not make; nothing at the destination was changed."""


class PbrEvalWarning(UserWarning):
    """Base class of pbr_eval's warnings."""


class IgnoredOptionWarning(PbrEvalWarning):
    """An option was set that the chosen method does not use."""


class EstimationWarning(PbrEvalWarning):
    """An estimate was computed but deserves caution (e.g. weak overlap)."""


class InfeasibleBalanceError(EstimationError):
    """Entropy balancing found no weights meeting the balance constraints."""


class OverlapWarning(EstimationWarning):
    """Weak overlap: extreme propensity scores or weights (estimate deserves caution)."""


class PreTrendWarning(EstimationWarning):
    """Difference-in-differences pre-period trends differ between the groups."""


class DataQualityWarning(PbrEvalWarning):
    """The data can be used, but something in it looks wrong (e.g. an outcome recorded in whole units typed as a measurement); the message says how to override the choice."""


class FragilityWarning(EstimationWarning):
    """An estimate is fragile: the design-first workflow found a reason not to trust it.

    :func:`pbr_eval.evaluate` raises one subclass per reason; the results keep them all
    (``EvaluationResults.flags``).
    """


class LackOfComparablesWarning(FragilityWarning, OverlapWarning):
    """Programme participants have no comparable comparison person.

    Their propensity scores are further than the caliper from every comparison person's.
    """


class SmallSampleWarning(FragilityWarning):
    """The effective number of comparison people is small: a few people carry the estimate."""


class DisagreementWarning(FragilityWarning):
    """Estimators that should agree when the design is sound disagree.

    They differ beyond the headline's uncertainty (or one of them could not be computed).
    """


class ExtremeWeightsWarning(FragilityWarning):
    """Weights are extreme: one comparison person carries a large share of the weight.

    Entropy balancing's diagnostic is its weights, since its balance is exact by design.
    """


class PropensitySpecificationWarning(FragilityWarning):
    """The main-effects propensity model leaves out terms the data support.

    A likelihood-ratio test against a model with squares and pairwise products of the
    covariates rejects it: matching and weighting on the score may leave the groups unlike
    each other on those terms.
    """


class CohortChangedWarning(FragilityWarning):
    """The estimate describes fewer people than the cohort given.

    A caliper, coarsened exact matching or a discard rule left participants out.
    """
