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
