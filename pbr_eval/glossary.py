"""The human vocabulary: every word a report, workbook or page shows instead of a code name.

One mapping, in one place. Reports (HTML, Markdown, the table workbook, built
by :mod:`pbr_eval.reporting.build`), the live tariff workbook and the what-if
page turn code names into words only through this module:

* :data:`METHOD_WORDS` - each estimator's ``method=`` name;
* :data:`OPTION_WORDS` and :func:`option_value` - estimator options and their values
  (``std_caliper=True`` -> "caliper in standard deviations: yes");
* :data:`SE_WORDS` - each ``se=`` name (:data:`pbr_eval.options.SE_DESCRIPTIONS`);
* :data:`PROVENANCE_WORDS` - provenance fields (the machine-readable copy keeps
  the keys, in a separate block: JSON in the HTML, an HTML comment in Markdown,
  a hidden sheet in the workbook);
* :func:`plain_name` - names from the user's data (outcomes, covariates,
  categories, rule names): ``offence_type[drugs]`` -> "offence type: drugs",
  ``reconviction_events`` -> "reconviction events".

A name missing from a mapping still reads as words (underscores become spaces),
so no code identifier reaches a reader; the mappings make the words better.
``tests/test_report_labels.py`` renders every report on the shipped data and fails
on any identifier left in the visible text.

Examples
--------
>>> plain_name("offence_type[drugs]"), plain_name("reconviction_events"), plain_name("age")
('offence type: drugs', 'reconviction events', 'age')
>>> method_words("nearest")
'nearest-neighbour matching on the propensity score'
>>> options_text({"ratio": 1, "replace": False, "caliper": None, "std_caliper": True})
'comparisons per person: 1; with replacement: no; caliper: none; caliper in standard deviations: yes'
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from pbr_eval.options import SE_DESCRIPTIONS

__all__ = [
    "METHOD_WORDS",
    "OPTION_WORDS",
    "VALUE_WORDS",
    "SE_WORDS",
    "PROVENANCE_WORDS",
    "plain_name",
    "method_words",
    "option_value",
    "options_text",
    "provenance_label",
    "is_identifier",
]

#: Each estimator's ``method=`` name in words (every registered estimator has one:
#: ``tests/test_report_labels.py`` checks).
METHOD_WORDS: dict[str, str] = {
    "nearest": "nearest-neighbour matching on the propensity score",
    "optimal": "optimal matching",
    "exact": "exact matching",
    "cem": "coarsened exact matching",
    "subclass": "subclassification on the propensity score",
    "ipw": "inverse probability weighting",
    "entropy": "entropy balancing",
    "regression": "regression adjustment",
    "aipw": "augmented inverse probability weighting (doubly robust)",
    "ipwra": "inverse probability weighted regression adjustment (doubly robust)",
    "did": "difference-in-differences",
    "staggered_did": "difference-in-differences for a staggered roll-out",
    "baseline": "historical baseline",
    "synthetic_control": "synthetic control (weighted comparison areas)",
    "sdid": "synthetic difference-in-differences",
}

#: Estimator option names in words.
OPTION_WORDS: dict[str, str] = {
    "distance": "distance measure",
    "propensity": "propensity model",
    "ratio": "comparisons per person",
    "replace": "with replacement",
    "caliper": "caliper",
    "std_caliper": "caliper in standard deviations",
    "order": "matching order",
    "exact": "matched exactly on",
    "mahvars": "covariate distance on",
    "discard": "people discarded outside the common support",
    "estimand": "estimand",
    "se": "standard errors",
    "adjust": "regression adjustment after matching",
    "seed": "random seed",
    "cutpoints": "cut-points",
    "grouping": "category groupings",
    "subclass": "subclasses",
    "min_n": "fewest people per subclass",
    "clip": "propensity scores clipped at",
    "trim": "propensity scores trimmed at",
    "moments": "moments balanced",
    "outcome_model": "outcome model",
    "model": "model",
    "trend": "trend",
    "post": "programme periods",
    "programme_period": "programme period",
    "comparison": "comparison group",
    "anticipation": "periods of anticipation",
    "base_period": "base period",
    "aggregation": "aggregation",
    "cross_checks": "cross-checks",
    "multiplier": "multiplier",
    "n_boot": "bootstrap replicates",
    "restriction": "how parallel trends may fail",
    "bounds": "bounds tried",
    "target": "effect examined",
}

#: Option values and other code words in words (values not listed read as themselves).
VALUE_WORDS: dict[str, str] = {
    "glm": "propensity score",
    "logit": "logistic regression",
    "probit": "probit regression",
    "mahalanobis": "covariate (Mahalanobis) distance",
    "none": "none",
    "ATT": "average effect on the people in the programme (ATT)",
    "ATE": "average effect on everyone (ATE)",
    "ATC": "average effect on the comparison group (ATC)",
    "auto": "the method's recommended choice",
    "never_treated": "never treated",
    "not_yet_treated": "not yet treated",
    "largest": "largest score first",
    "smallest": "smallest score first",
    "random": "random",
    "data": "data order",
    "relative_magnitudes": "relative magnitudes: after the start, the difference in trends moves "
                           "by at most a multiple (Mbar) of its largest move before the start",
    "smoothness": "smoothness: the difference in trends changes slope by at most M a period",
    "universal": "one base period for every effect",
    "varying": "the period just before, for each effect",
    "first": "the first period from the start",
    "average": "the average of the periods after the start",
}

#: Each ``se=`` name in words (the same descriptions the docs' estimator tables show).
SE_WORDS: dict[str, str] = dict(SE_DESCRIPTIONS)

#: Provenance fields in words (the machine-readable block keeps the keys).
PROVENANCE_WORDS: dict[str, str] = {
    "generated": "Generated",
    "pbr_eval": "pbr-eval version",
    "versions": "Software versions",
    "data_fingerprint": "Data fingerprint (SHA-256 of the rows used)",
    "fingerprint": "Data fingerprint (SHA-256 of the rows used)",
    "seed": "Random seed",
    "method": "Method",
    "options": "Method settings",
    "analysis_file": "Analysis file",
    "analysis_sha256": "Analysis file fingerprint (SHA-256)",
    "data_file": "Data file",
    "data_sha256": "Data file fingerprint (SHA-256)",
}

_IDENT = re.compile(r"^[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)+(?:\[[^\]]*\])?$|"
                    r"^[A-Za-z][A-Za-z0-9_]*\[[^\]]*\]$")


def is_identifier(text: Any) -> bool:
    """Return True when ``text`` is one code-like name (``snake_case`` or ``name[level]``).

    Parameters
    ----------
    text : object

    Returns
    -------
    bool

    Examples
    --------
    >>> is_identifier("prior_offences"), is_identifier("sex[M]"), is_identifier("age")
    (True, True, False)
    """
    return isinstance(text, str) and bool(_IDENT.match(text.strip()))


def _words(name: str) -> str:
    return " ".join(name.replace("_", " ").split())


def plain_name(name: Any) -> Any:
    """Return a name from the data (outcome, covariate, category, rule) as words.

    Underscores become spaces and a design column ``variable[level]`` reads
    ``variable: level``; anything else (text with spaces, numbers, the
    disclosure marker) is returned as it is.

    Parameters
    ----------
    name : object

    Returns
    -------
    object
        The words, or ``name`` unchanged when it is not a code-like name.

    Examples
    --------
    >>> plain_name("sentence_months"), plain_name("sex[M]"), plain_name("not reoffended")
    ('sentence months', 'sex: M', 'not reoffended')
    """
    if not is_identifier(name):
        return name
    text = str(name).strip()
    m = re.match(r"^(.*)\[(.*)\]$", text)
    if m:
        return f"{_words(m.group(1))}: {_words(m.group(2))}"
    return _words(text)


def method_words(method: Any) -> str:
    """Return an estimator's ``method=`` name in words.

    Parameters
    ----------
    method : str

    Returns
    -------
    str

    Examples
    --------
    >>> method_words("ipw"), method_words("my_method")
    ('inverse probability weighting', 'my method')
    """
    return METHOD_WORDS.get(str(method), str(plain_name(str(method))))


def option_value(value: Any, *, name: str | None = None) -> str:
    """Return an option's value in words (yes/no, none, a list joined, code words mapped).

    Parameters
    ----------
    value : object
    name : str, optional
        The option's name (``se`` values read through :data:`SE_WORDS`).

    Returns
    -------
    str

    Examples
    --------
    >>> option_value(True), option_value(None), option_value(["age", "prior_offences"])
    ('yes', 'none', 'age, prior offences')
    >>> option_value("matched_set", name="se")[:36]
    'cluster-robust by matched set or sub'
    """
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None:
        return "none"
    if isinstance(value, Mapping):
        return ", ".join(f"{plain_name(str(k))} {option_value(v)}" for k, v in value.items()) \
            or "none"
    if isinstance(value, (list, tuple, set)):
        return ", ".join(option_value(v) for v in value) or "none"
    if isinstance(value, str):
        if name == "se" and value in SE_WORDS:
            return SE_WORDS[value]
        return VALUE_WORDS.get(value, str(plain_name(value)))
    return str(value)


def options_text(options: Mapping[str, Any]) -> str:
    """Return estimator options as one line of words: ``label: value; ...``.

    Parameters
    ----------
    options : mapping
        Option name -> value (a results object's ``info["options"]``).

    Returns
    -------
    str

    Examples
    --------
    >>> options_text({"estimand": "ATT", "se": "auto"})
    "estimand: average effect on the people in the programme (ATT); standard errors: the method's recommended choice"
    """
    return "; ".join(f"{OPTION_WORDS.get(str(k), _words(str(k)))}: {option_value(v, name=str(k))}"
                     for k, v in options.items())


def provenance_label(key: Any) -> str:
    """Return a provenance field's label (:data:`PROVENANCE_WORDS`, else its words).

    Parameters
    ----------
    key : str

    Returns
    -------
    str

    Examples
    --------
    >>> provenance_label("data_fingerprint")[:16], provenance_label("run_id")
    ('Data fingerprint', 'Run id')
    """
    k = str(key)
    if k in PROVENANCE_WORDS:
        return PROVENANCE_WORDS[k]
    words = _words(k)
    return words[:1].upper() + words[1:]


def names_text(names: Iterable[Any]) -> str:
    """Return data names as words, joined by commas (``"not recorded"`` when there are none).

    Parameters
    ----------
    names : iterable of str

    Returns
    -------
    str

    Examples
    --------
    >>> names_text(["age", "prior_offences"])
    'age, prior offences'
    """
    out = ", ".join(str(plain_name(str(n))) for n in names)
    return out or "not recorded"


_QUOTED = re.compile(r"(['`])([A-Za-z][A-Za-z0-9_]*(?:\[[^\]`']*\])?)\1")


def plain_text(text: str) -> str:
    """Return an engine's sentence with the quoted names in it as words.

    Notes and reasons written by the engines quote names from the data or
    options (``'adult_employed'``, ```cost_per_participant```); in a report
    they read as words, quoted: ``'adult employed'``.

    Parameters
    ----------
    text : str

    Returns
    -------
    str

    Examples
    --------
    >>> plain_text("Expected rate for 'adult_employed' taken as observed; give `cost_per_participant`.")
    "Expected rate for 'adult employed' taken as observed; give 'cost per participant'."
    >>> plain_text("a baseline uses the cohort's own history (use method='did' to use them)")
    "a baseline uses the cohort's own history (use the method difference-in-differences to use them)"
    """
    def words(m: re.Match[str]) -> str:
        name = m.group(2)
        return f"'{plain_name(name)}'" if is_identifier(name) else m.group(0)

    def setting(m: re.Match[str]) -> str:
        key, value = m.group(1), m.group(3)
        if key == "method":
            return f"the method {method_words(value)}"
        return f"{OPTION_WORDS.get(key, _words(key))} {option_value(value, name=key)}"

    text = _SETTING.sub(setting, text)
    return _WARNING_CLASS.sub(warning_words, _QUOTED.sub(words, text))


_SETTING = re.compile(r"`?\b([a-z][a-z0-9_]*)=(['\"])([A-Za-z0-9_.]+)\2`?")


_WARNING_CLASS = re.compile(r"\b((?:[A-Z][a-z0-9]+)+)Warning\b")


def warning_words(m: re.Match[str] | str) -> str:
    """Return a warning's class name as words: ``PropensitySpecificationWarning`` -> "propensity specification".

    Parameters
    ----------
    m : str or re.Match
        The class name (or a match of it, as :func:`plain_text` passes).

    Returns
    -------
    str

    Examples
    --------
    >>> warning_words("DisagreementWarning"), warning_words("PropensitySpecificationWarning")
    ('disagreement', 'propensity specification')
    >>> plain_text("Warning (DisagreementWarning): the panel differs.")
    'Warning (disagreement): the panel differs.'
    """
    name = m if isinstance(m, str) else m.group(0)
    name = name[:-len("Warning")] if name.endswith("Warning") and name != "Warning" else name
    return " ".join(w.lower() for w in re.findall(r"[A-Z][a-z0-9]*", name)) or name


#: Front doors and helpers a "not available" reason may name, as a reader says them
#: (others read as their words: ``estimate_survival`` -> "estimate survival").
CALL_WORDS: dict[str, str] = {
    "evaluate": "the design-first evaluation (pbr-eval evaluate)",
    "estimate": "an estimate (pbr-eval estimate)",
    "estimate_survival": "a time-to-event estimate",
    "commissioner_bundle": "an analysis file's contract table",
    "price": "a price recommendation (pbr-eval price)",
    "parallel_trends": "a parallel-trends sensitivity analysis",
}
_CALL = re.compile(r"`?\bpbr_eval((?:\.[A-Za-z_]\w*)+)(?:\([^()]*\))?`?")
_KEYWORD = re.compile(r"`?\b([A-Za-z_]\w*)=(?:\.\.\.)?`?(?=[\s,.;:)]|$)")
_KEYWORD_VALUE = re.compile(r"`?\b([A-Za-z_]\w*)=(?=[A-Za-z])")
_BARE = re.compile(r"`?\b([A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)+)(?:\(\))?`?")
_PAREN_REPEAT = re.compile(r"(\b[\w -]+) \(the \1 \(([^()]*)\)\)")


def plain_reason(text: str) -> str:
    """Return a sentence written for a programmer (a "not available" reason) in a reader's words.

    Quoted names read as words (:func:`plain_text`); a call such as
    ``pbr_eval.evaluate`` or ``estimate_survival(...)`` reads through
    :data:`CALL_WORDS`; a keyword ``survival=`` reads ``'survival'`` (given a
    value, ``name=value`` reads ``'name' with value``); any other
    ``snake_case`` name reads as its words.

    Parameters
    ----------
    text : str
        The reason as a section's code wrote it.

    Returns
    -------
    str
        The same sentence with no code name left in it.

    Examples
    --------
    >>> plain_reason("not from the design-first evaluation (pbr_eval.evaluate)")
    'not from the design-first evaluation (pbr-eval evaluate)'
    >>> plain_reason("pass survival= with the results of estimate_survival")
    "pass 'survival' with the results of a time-to-event estimate"
    >>> plain_reason("pass parallel_trends=pbr_eval.parallel_trends(results, ...) for a DiD")
    "pass 'parallel trends' with a parallel-trends sensitivity analysis for a DiD"
    """
    def call(m: re.Match[str]) -> str:
        name = m.group(1).rsplit(".", 1)[-1]
        return CALL_WORDS.get(name, _words(name))

    def bare(m: re.Match[str]) -> str:
        return CALL_WORDS.get(m.group(1), _words(m.group(1)))

    text = _CALL.sub(call, plain_text(text))
    text = _KEYWORD.sub(lambda m: f"'{_words(m.group(1))}'", text)
    text = _KEYWORD_VALUE.sub(lambda m: f"'{_words(m.group(1))}' with ", text)
    text = _BARE.sub(bare, text)
    # "the design-first evaluation (the design-first evaluation (pbr-eval evaluate))"
    return _PAREN_REPEAT.sub(r"\1 (\2)", text)


__all__ += ["names_text", "plain_text", "plain_reason", "warning_words", "CALL_WORDS"]
