"""The analysis of run-hebbian-gym.py runs: how a champion's weights change over one episode
(by hand on its first step), and the plot tool's Hebbian figures, read back through
matplotlib's objects."""

import shutil
import subprocess
import sys

import gymnasium
import numpy as np
import pytest
from conftest import REPO

from evolearn.analysis import figures
from evolearn.analysis.runs import HEBBIAN, RunFolder
from evolearn.experiment.run import read_params_file
from evolearn.hebbian import episodes, rules
from evolearn.hebbian.network import forward_one, layer_shapes, random_weights
from evolearn.hebbian.search import score_saved, trace_saved
from evolearn.hebbian.tasks import make_task

SCRIPT = "run-hebbian-gym.py"
TINY = ["params/hebbian/CartPole-v1.yaml", "--popsize", "6", "--generations", "3",
        "--hidden_layers", "5,3"]  # fmt: skip


@pytest.fixture
def runs(finished_run):
    plastic = finished_run(SCRIPT, *TINY)
    static = finished_run(SCRIPT, *TINY, "--hebb_rule", "static")
    return plastic, static


def network(rule, seed):
    shapes = layer_shapes(4, (5,), 2)
    rng = np.random.default_rng(seed)
    weights = random_weights("uni", shapes, rng, np.float64)
    k = rules.coefficient_count(rule)
    coefficients = [rng.normal(size=(a, b, k)) for a, b in shapes]
    return coefficients, weights


def test_the_weight_changes_of_the_first_step_by_hand_and_the_episodes_return():
    task = make_task("CartPole-v1")
    coefficients, weights = network("ABCD_lr", seed=1)
    rewards, changes = episodes.weight_changes(task, "ABCD_lr", coefficients, weights, 3)
    total, steps = episodes.network_return(task, "ABCD_lr", coefficients, weights, 3)
    assert len(rewards) == steps and rewards.sum() == pytest.approx(total)
    assert changes.shape == (steps, 2) and (changes[-1] == 0).all()  # the last step: no update
    env = gymnasium.make("CartPole-v1")
    observation, _ = env.reset(seed=3)
    for step in range(3):  # each step's change from the weights before it
        activities = forward_one(weights, np.asarray(observation, dtype=np.float64))
        new = [
            rules.normalise_one(rules.update_one(
                weights[layer], activities[layer], activities[layer + 1], coefficients[layer],
                "ABCD_lr",
            ))
            for layer in range(2)
        ]  # fmt: skip
        for layer in range(2):
            change = np.abs(new[layer] - weights[layer]).mean()
            assert changes[step, layer] == pytest.approx(change, rel=1e-12), (step, layer)
        observation, *_ = env.step(int(np.argmax(activities[-1])))
        weights = new
    # the static baseline's weights never change
    _, static = episodes.weight_changes(task, rules.STATIC, None, weights, 3)
    assert (static == 0).all()


def test_a_saved_champions_traced_episode_is_the_first_the_champion_tool_scores(runs):
    plastic, _ = runs
    params = read_params_file(plastic / "params.yaml")
    rewards, changes = trace_saved(plastic / "champion.npz", params, seed=4)
    (first,) = score_saved(plastic / "champion.npz", params, 1, 4)
    assert rewards.sum() == pytest.approx(first, rel=1e-4)
    assert changes.shape[1] == 3 and (changes[:-1] > 0).all()  # hidden layers 5, 3


def test_the_hebbian_figures_show_each_runs_curves_and_the_champions_episode(runs):
    plastic, static = map(RunFolder.open, runs)
    assert plastic.kind == HEBBIAN and plastic.label.startswith("ABCD_lr on CartPole-v1")
    figure = figures.hebbian_evolution([plastic, static])
    (axes,) = figure.axes
    assert axes.get_title() == "CartPole-v1"
    lines = {line.get_label(): line for line in axes.get_lines()}
    assert len(lines) == 4
    for run in (plastic, static):
        mean = lines[f"{run.label}: population mean"]
        np.testing.assert_array_equal(mean.get_ydata(), run.summary["mean_reward"])
        champion = lines[f"{run.label}: champion"]
        np.testing.assert_array_equal(champion.get_ydata(), run.summary["champion_reward"])
        np.testing.assert_array_equal(champion.get_xdata(), [1, 2, 3])
    rewards, changes = np.array([1.0, 1.0, 1.0]), np.array([[0.5, 0.2], [0.1, 0.05], [0, 0]])
    top, bottom = figures.hebbian_weights(plastic, rewards, changes, 4).axes
    assert top.get_yscale() == "log" and "environment seed 4" in top.get_title()
    assert [line.get_label() for line in top.get_lines()] == ["layer 1", "layer 2"]
    np.testing.assert_array_equal(top.get_lines()[1].get_ydata(), [0.2, 0.05])  # no 0 shown
    np.testing.assert_array_equal(bottom.get_lines()[0].get_ydata(), [1, 2, 3])  # the return


@pytest.mark.slow
def test_the_plot_tool_draws_hebbian_runs_and_no_genome_figures_for_them(runs, tmp_path):
    folders = [tmp_path / "abcd", tmp_path / "static"]  # the plot tool wants two names
    for run, folder in zip(runs, folders, strict=True):
        shutil.copytree(run, folder)
    out = tmp_path / "figures"
    result = subprocess.run(
        [sys.executable, "-m", "evolearn.plot", *map(str, folders), "--out", str(out)],
        capture_output=True, text=True, cwd=REPO, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    names = sorted(p.name for p in out.iterdir() if not p.name.startswith("."))
    assert names == sorted(
        [f"hebbian-evolution.{f}" for f in ("png", "pdf")]
        + [f"hebbian-weights-abcd.{f}" for f in ("png", "pdf")]
    )
