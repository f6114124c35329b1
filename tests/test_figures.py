"""pbr_eval.figures: one drawing function per figure, shared by results.plot() and reports."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.axes import Axes

import pbr_eval
from pbr_eval.disclosure import DisclosurePolicy
from pbr_eval.exceptions import OptionError
from pbr_eval.figures import FIGURE_TITLES, FIGURES, draw, render_png
from pbr_eval.results.balance import BalanceTable
from pbr_eval.results.base import RESULTS_KINDS, HasFigures, _import_all_results

#: Figures drawn from something other than a results object.
NOT_FROM_RESULTS = {"price_sensitivity": "pbr_eval.pricing.plot_price_sensitivity(table)"}


def _Policy() -> DisclosurePolicy:  # noqa: N802
    return DisclosurePolicy(threshold=10)


def test_every_figure_is_drawn_from_results_or_named_here() -> None:
    _import_all_results()
    used = {name for cls in RESULTS_KINDS.values() if issubclass(cls, HasFigures)
            for name in cls.figures}
    assert used <= set(FIGURES)
    assert set(FIGURES) - used == set(NOT_FROM_RESULTS)
    assert set(FIGURE_TITLES) == set(FIGURES)


def test_unknown_figure_is_a_clear_error() -> None:
    with pytest.raises(OptionError, match=r"`name` must be one of 'love', .*got 'pie'"):
        draw("pie", {})
    with pytest.raises(OptionError, match="got 'pie'"):
        render_png("pie", {})


def test_reports_draw_through_the_same_function(tmp_path) -> None:
    """A report embeds exactly the PNG pbr_eval.figures draws from the figure's data."""
    import base64
    import re

    from pbr_eval.datasets import load_reoffending
    from pbr_eval.reporting import build, render_html

    sim = load_reoffending()
    res = pbr_eval.estimate(pbr_eval.Cohort(sim.data, **sim.cohort_args))
    rep = build(res, generated="x")
    fig = rep.section("balance").figures[0]
    html = render_html(rep)
    m = re.search(r'data-plot="love"><img src="data:image/png;base64,([^"]+)"', html)
    assert m and base64.b64decode(m.group(1)) == render_png(fig.name, fig.data, title=fig.title)


def test_draw_on_a_given_axes() -> None:
    ax = draw("misallocation", {"labels": ["A", "B"], "values": [5.0, -5.0]})
    again = draw("misallocation", {"labels": ["C"], "values": [1.0]}, ax=ax)
    assert again is ax and isinstance(ax, Axes)


def _rare_binary_balance() -> BalanceTable:
    """200 treated, 800 comparison; 'rare' is 1 for 3 treated and 60 comparison units."""
    rng = np.random.default_rng(0)
    t = np.r_[np.ones(200, bool), np.zeros(800, bool)]
    rare = np.zeros(1000)
    rare[:3] = 1
    rare[200:260] = 1
    age = rng.normal(40, 10, 1000)
    return BalanceTable([age, rare], ["age", "rare"], t, np.ones(1000), ["rare"])


def test_love_data_withholds_shares_that_reveal_small_counts() -> None:
    bal = _rare_binary_balance()
    open_view = bal.figure_data("love")
    published = bal.figure_data("love", policy=_Policy())
    assert open_view["covariates"] == published["covariates"] == ["age", "rare"]
    assert all(v is not None for v in open_view["before"] + open_view["after"])
    assert published["before"][0] is not None  # a numeric covariate is not a share
    assert published["before"][1] is None and published["after"][1] is None  # 3 people


def test_overlap_data_blanks_small_bands() -> None:
    from pbr_eval.datasets import load_reoffending

    sim = load_reoffending()
    res = pbr_eval.estimate(pbr_eval.Cohort(sim.data, **sim.cohort_args))
    open_view = res.figure_data("overlap")
    published = res.figure_data("overlap", policy=_Policy())
    assert "comparison_after" in open_view and "comparison_after" not in published
    n1 = res.balance.counts().loc["all", "treated"]
    counts = np.round(np.asarray(open_view["treated"]) * n1)
    small = (counts > 0) & (counts < 10)
    assert small.any() and published["suppressed_bins"] >= int(small.sum())
    assert all(published["treated"][i] == 0 for i in np.flatnonzero(small))
    back = pbr_eval.CounterfactualResults.from_dict(res.to_dict())
    with pytest.raises(OptionError, match="saved results file"):
        back.plot("overlap")
    assert back.plot("love").has_data()  # the Love plot needs aggregates only


# ----- labels from the data (column, group, area names) are cleaned as in the report writers
HOSTILE = "age\u202e\x07\x1b[31m$\\frac{$"  # bidi override, bell, escape, broken mathtext


def _every_text(ax: Axes) -> list[str]:
    from matplotlib.text import Text

    return [t.get_text() for t in ax.figure.findobj(Text)]


@pytest.mark.parametrize("name, data", [
    ("love", {"covariates": [HOSTILE, "sex"], "before": [0.4, -0.3], "after": [0.05, 0.02],
              "threshold": 0.1}),
    ("area_ranked", {"labels": [HOSTILE, "North"], "estimate": [0.2, 0.3],
                     "lower": [0.1, 0.2], "upper": [0.3, 0.4], "national": 0.25,
                     "outcome": HOSTILE}),
    ("misallocation", {"labels": [HOSTILE, "North"], "values": [5.0, -5.0]}),
    ("event_study", {"event_time": [0, 1], "estimate": [0.1, 0.2], "lower": [0.0, 0.1],
                     "upper": [0.2, 0.3], "band_lower": [None, None],
                     "band_upper": [None, None], "outcome": HOSTILE, "level": 0.95}),
], ids=["love", "area_ranked", "misallocation", "event_study"])
def test_control_and_bidi_characters_never_reach_figure_labels(name, data) -> None:
    from pbr_eval.io import clean_text

    ax = draw(name, data, title=f"Title {HOSTILE}")
    texts = _every_text(ax)
    shown = [t.replace("\\$", "$") for t in texts]  # an escaped $ is drawn as typed
    assert any(clean_text(HOSTILE) in t for t in shown)  # the label is shown, cleaned
    for t in texts:
        assert t == clean_text(t, max_length=None)
        assert not any(c in t for c in "\u202e\x07\x1b")
    ax.figure.savefig(__import__("io").BytesIO(), format="png")  # '$\frac{$' does not crash
    png = render_png(name, data, title=f"Title {HOSTILE}")  # the reports' path
    assert png[:4] == b"\x89PNG"


def test_the_callers_own_texts_on_a_given_axes_are_left_alone() -> None:
    ax = draw("misallocation", {"labels": ["A"], "values": [5.0]})
    mine = ax.text(0, 0, "$x^2$ \u202e")
    draw("misallocation", {"labels": [HOSTILE], "values": [1.0]}, ax=ax)
    assert mine.get_text() == "$x^2$ \u202e"


def test_figure_of_results_with_a_hostile_column_name_is_clean() -> None:
    from pbr_eval.datasets import load_reoffending

    sim = load_reoffending()
    args = dict(sim.cohort_args)
    data = sim.data.rename(columns={"age": "age\u202e\x07"})
    args["covariates"] = ["age\u202e\x07" if c == "age" else c for c in args["covariates"]]
    res = pbr_eval.estimate(pbr_eval.Cohort(data, **args))
    ax = res.plot("love")
    assert "age" in " ".join(_every_text(ax))
    assert not any("\u202e" in t or "\x07" in t for t in _every_text(ax))
