"""Every figure of the report draws for any run, labelled with units."""

from __future__ import annotations

import io

import matplotlib
import pytest
from matplotlib.axes import Axes
from matplotlib.colors import to_hex
from matplotlib.figure import Figure

import qsim
from qsim.plots import COLORS, FIGURES, plot

BASE = {
    "duration": "2m",
    "workload": {"rate": 20, "poison_fraction": 0.05},
    "backend": {"outages": [{"start": "40s", "duration": "20s"}]},
    "queue": {"visibility_timeout": "10s", "max_receive_count": 2},
    "function": {"timeout": "1s", "report_batch_item_failures": True},
}
TOPOLOGIES = {"both": ["sync", "async"], "sync": ["sync"], "async": ["async"]}


@pytest.fixture(scope="module")
def results():
    """One short run per topology set, shared by the module."""
    return {
        key: qsim.run({**BASE, "name": f"plots-{key}", "topologies": value}, seed=7)
        for key, value in TOPOLOGIES.items()
    }


def _axes() -> Axes:
    return Figure(figsize=(9, 3.8), layout="constrained").add_subplot()


@pytest.mark.parametrize("topologies", TOPOLOGIES)
@pytest.mark.parametrize("name", FIGURES)
def test_every_figure_draws_with_units(results, name, topologies):
    ax = _axes()

    drawn = plot(results[topologies], name, ax=ax)

    assert drawn is ax
    drawn.figure.savefig(io.BytesIO(), format="png", dpi=30)
    assert drawn.get_title(loc="left")
    if name == "cost":
        assert drawn.get_xlabel() == "cost per 30-day month (USD)"
    else:
        assert drawn.get_xlabel().startswith("simulated time (")
        labels = [a.get_ylabel() for a in drawn.figure.axes if a.get_ylabel()]
        assert labels and all(_has_unit(label) for label in labels), labels


def _has_unit(label: str) -> bool:
    return label.endswith(")") and "(" in label


def test_both_topologies_share_the_axes_in_their_colours(results):
    ax = plot(results["both"], "availability", ax=_axes())

    colours = {line.get_label(): to_hex(line.get_color()) for line in ax.get_lines()}

    assert colours == {
        "sync (A → B)": COLORS["sync"].lower(),
        "async (SQS + Lambda)": COLORS["async"].lower(),
    }


def test_outage_windows_are_shaded(results):
    ax = plot(results["both"], "availability", ax=_axes())

    labels = [patch.get_label() for patch in ax.patches]

    assert "backend down" in labels


def test_async_only_figures_explain_a_sync_only_run(results):
    ax = plot(results["sync"], "queue", ax=_axes())

    texts = [text.get_text() for text in ax.texts]

    assert any("No async topology" in text for text in texts)


def test_result_plot_returns_axes_on_a_new_figure(results):
    matplotlib.use("Agg")  # headless, whatever the user's default is
    import matplotlib.pyplot as plt

    try:
        ax = results["both"].plot("queue")
        assert isinstance(ax, Axes)
        assert ax.figure is not None
    finally:
        plt.close("all")


def test_unknown_figure_names_the_valid_ones(results):
    with pytest.raises(
        ValueError,
        match=r"unknown figure 'qeue'; choose one of: "
        r"throughput, latency, queue",
    ):
        results["both"].plot("qeue")
