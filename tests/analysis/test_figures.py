"""The figures, drawn from real tiny runs, checked through matplotlib's objects."""

import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PathCollection, PolyCollection

from evolearn.analysis import figures
from evolearn.analysis.runs import RunFolder

pytestmark = pytest.mark.slow


def scatter_points(axes) -> list[np.ndarray]:
    return [c.get_offsets() for c in axes.collections if isinstance(c, PathCollection)]


def test_evolution_figure_samples_each_generation_and_colours_by_rule(tiny_runs):
    runs = [RunFolder.open(tiny_runs["bp"]), RunFolder.open(tiny_runs["hebb"])]
    figure = figures.wlnn_evolution(runs, per_generation=4, seed=0)
    acc_axes, con_axes = figure.axes
    assert (
        acc_axes.get_xlabel() == "generation" and acc_axes.get_ylabel() == "training accuracy (%)"
    )
    assert con_axes.get_ylabel() == "connections"
    for axes in (acc_axes, con_axes):
        points = scatter_points(axes)
        assert [len(p) for p in points] == [12, 12]  # 4 of the 10 networks x 3 generations, per run
        for p in points:
            assert sorted(np.unique(p[:, 0])) == [1, 2, 3]
            assert np.bincount(p[:, 0].astype(int)).tolist() == [0, 4, 4, 4]
    colours = [c.get_facecolor()[0][:3] for c in acc_axes.collections]
    assert np.allclose(colours[0], (0.12156863, 0.46666667, 0.70588235))  # C0: backprop
    assert np.allclose(colours[1], (0.17254902, 0.62745098, 0.17254902))  # C2: Hebbian
    legend = [t.get_text() for t in acc_axes.get_legend().get_texts()]
    assert legend == ["backprop", "Hebbian"]
    # the points are the table's rows: accuracies in percent, connections as counted
    table = runs[0].population
    accs, connections = scatter_points(acc_axes)[0], scatter_points(con_axes)[0]
    for (generation, acc), (_, count) in zip(accs, connections, strict=True):
        rows = table[(table["generation"] == generation)]
        assert np.isclose(rows["acc"] * 100, acc).any()
        assert count in rows["connections"].tolist()


def test_sampling_is_seeded_and_takes_every_network_of_a_small_generation(tiny_runs):
    table = RunFolder.open(tiny_runs["bp"]).population
    a, b = figures.sample_rows(table, 4, 1), figures.sample_rows(table, 4, 1)
    assert a.equals(b)
    assert not a.equals(figures.sample_rows(table, 4, 2))
    assert len(figures.sample_rows(table, 50, 1)) == len(table)


def test_wann_evolution_figure_shows_best_champion_and_tests(tiny_runs):
    run = RunFolder.open(tiny_runs["digits"])
    figure = figures.wann_evolution(run)
    (axes,) = figure.axes
    lines = {line.get_label(): line for line in axes.get_lines()}
    assert set(lines) == {
        "best mean accuracy", "best: accuracy at its best weight", "champion mean accuracy",
        "champion: accuracy at its best weight", "champion test mean accuracy",
        "champion test: accuracy at its best weight",
    }  # fmt: skip
    assert lines["best mean accuracy"].get_xdata().tolist() == [1, 2, 3, 4]
    summary = run.summary
    assert (
        lines["champion: accuracy at its best weight"].get_ydata().tolist()
        == summary["champion_acc_at_max_reward"].tolist()
    )
    assert lines["champion test mean accuracy"].get_xdata().tolist() == [2, 4]  # test_every 2
    swing = figures.wann_evolution(RunFolder.open(tiny_runs["swing"]))
    labels = [line.get_label() for line in swing.axes[0].get_lines()]
    assert "best mean return" in labels and "champion test mean return" in labels


def control_rows():
    random = pd.DataFrame(
        {
            "rule": ["backprop"] * 6 + ["hebbian"] * 2,
            "target_connections": [100, 100, 100, 200, 200, 200, 100, 100],
            "connections": [100, 100, 100, 200, 200, 200, 100, 100],
            "test_acc": [0.5, 0.6, 0.7, 0.8, 0.8, 0.8, 0.3, 0.5],
        }
    )
    champions = pd.DataFrame(
        {"rule": ["backprop", "backprop", "hebbian"], "connections": [150, 180, 120],
         "test_acc": [0.9, 0.95, 0.7]}
    )  # fmt: skip
    return random, champions


def test_control_figure_has_a_panel_per_rule_with_dots_mean_band_and_champions():
    figure = figures.control(*control_rows())
    backprop, hebbian = figure.axes
    assert backprop.get_title() == "backprop" and hebbian.get_title() == "Hebbian"
    small, large = scatter_points(backprop)
    assert len(small) == 6 and len(large) == 2
    assert large[:, 1].tolist() == [90, 95]
    (mean,) = backprop.get_lines()
    assert mean.get_xdata().tolist() == [100, 200]
    assert np.allclose(mean.get_ydata(), [60, 80])
    (band,) = [c for c in backprop.collections if isinstance(c, PolyCollection)]
    vertices = band.get_paths()[0].vertices
    sd = 100 * np.std([0.5, 0.6, 0.7])  # population standard deviation
    assert np.isclose(vertices[:, 1].max(), 80) and np.isclose(vertices[:, 1].min(), 60 - sd)
    legend = [t.get_text() for t in backprop.get_legend().get_texts()]
    assert sorted(legend) == sorted(
        ["random networks", "random: mean", "random: mean ± 1 sd", "evolved champions"]
    )
    assert backprop.get_xlabel() == "connections"
    assert "test accuracy" in backprop.get_ylabel()


def test_learning_curves_grid_of_runs_by_generations_with_the_training_epochs_marked():
    rows = []
    for run, rule in (("a", "backprop"), ("b", "last_layer")):
        for generation in (1, 10, 30):
            for index in (0, 1):
                for epoch in range(1, 11):
                    rows.append((run, rule, generation, index, epoch, epoch / 20 + index / 10))
    curves = pd.DataFrame(rows, columns=["run", "rule", "generation", "index", "epoch", "test_acc"])
    figure = figures.learning_curves(curves, {"a": 3, "b": 5})
    assert len(figure.axes) == 6
    grid = np.array(figure.axes).reshape(2, 3)
    assert [axes.get_title() for axes in grid[0]] == [
        "generation 1",
        "generation 10",
        "generation 30",
    ]
    assert grid[1][0].get_ylabel().startswith("last-layer")
    for row, epochs in ((0, 3), (1, 5)):
        for axes in grid[row]:
            lines = axes.get_lines()
            curves_drawn, marker = lines[:-1], lines[-1]
            assert len(curves_drawn) == 2
            assert curves_drawn[0].get_xdata().tolist() == list(range(1, 11))
            assert list(marker.get_xdata()) == [epochs, epochs]


def test_evolution_title_says_how_many_networks_were_drawn(tiny_runs):
    runs = [RunFolder.open(tiny_runs["bp"]), RunFolder.open(tiny_runs["hebb"])]
    # generations of 10 networks: a sample of 18 is all of them, not 18
    assert figures.wlnn_evolution(runs, per_generation=18).get_suptitle() == (
        "Evolution: all 10 networks per generation"
    )
    assert figures.wlnn_evolution(runs, per_generation=4).get_suptitle() == (
        "Evolution: 4 random networks per generation"
    )


def test_degree_panels_of_wann_runs_have_a_title_and_their_own_y_axis(tiny_runs):
    from evolearn.plot import architecture_table

    runs = [RunFolder.open(tiny_runs[name]) for name in ("bp", "hebb", "swing")]
    _, degrees = architecture_table(runs, None)
    figure = figures.degree_histograms(degrees)
    bp, hebb, swing = figure.axes
    assert [axes.get_title() for axes in figure.axes] == [
        "backprop\nbp",
        "Hebbian\nhebb",
        "WANN CartPoleSwingUp\nswing",
    ]
    # the WLNN panels share their scale; the WANN panel's y axis fits its own few neurons
    assert bp.get_ylim() == hebb.get_ylim()
    tallest = {a: max(p.get_height() for p in a.patches) for a in figure.axes}
    assert tallest[bp] > 20 * tallest[swing] > 0
    assert tallest[swing] <= swing.get_ylim()[1] <= 1.1 * tallest[swing]
    assert swing.get_ylabel() == bp.get_ylabel() == "hidden neurons"


def test_degree_histograms_count_every_hidden_neuron():
    degrees = {
        "a": figures.DegreePanel("backprop", "wlnn", np.array([1, 1, 2, 5]), "backprop"),
        "b": figures.DegreePanel("Hebbian", "wlnn", np.array([3]), "hebbian"),
    }
    figure = figures.degree_histograms(degrees)
    first, second = figure.axes
    heights = [p.get_height() for p in first.patches]
    assert heights == [2, 1, 0, 0, 1]  # degrees 1..5
    assert sum(p.get_height() for p in second.patches) == 1
    assert first.get_xlabel() == "degree of a hidden neuron"
