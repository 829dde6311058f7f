"""The analysis of run-harlow-baldwin.py runs: newbie against experienced (python -m
evolearn.champion) against the reference lifetime, and the plot tool's curves and trial
accuracies against what the runs logged."""

import numpy as np
import pandas as pd
import pytest
from conftest import REPO, read_scalars, run_module, run_script

from evolearn import streams
from evolearn.analysis import figures
from evolearn.analysis.runs import RunFolder
from evolearn.envs.harlow import HarlowEnv
from evolearn.harlow.agent import (
    INITIAL_HYPERPARAMETERS,
    Lifetime,
    initial_parameters,
    parameter_count,
    reference_lifetime,
    unflatten,
)
from evolearn.harlow.evaluation import Outcome, newbie_and_experienced
from evolearn.harlow.search import load_individual

SCRIPT = "run-harlow-baldwin.py"
SIZES = [
    "--population_size", "6", "--tournament_size", "3", "--num_parents", "2",
    "--num_children", "2", "--num_tasks", "2", "--num_gradient_steps", "3",
    "--num_episode_trials", "2", "--num_evaluation_trials", "4", "--hidden_size", "3",
    "--num_generations", "4",
]  # fmt: skip


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A Baldwinian run and its no-learning control."""
    folder = tmp_path_factory.mktemp("harlow-runs")
    made = {}
    for name, extra in (("baldwin", []), ("control", ["--num_gradient_steps", "0"])):
        out = folder / name
        result = run_script(SCRIPT, "params/harlow/baldwin.yaml", *SIZES, *extra,
                            "--out_dir", str(out))  # fmt: skip
        assert result.returncode == 0, result.stderr
        made[name] = out
    return made


def test_newbie_and_experienced_are_the_reference_lifetimes_on_the_same_draws():
    hidden, lifetime, seed = 3, Lifetime(4, 3, 5), 7
    champion = initial_parameters(hidden, np.random.default_rng(1))
    hyper = np.array([0.01, 0.8, 0.3, 0.01])
    genome = np.concatenate([np.concatenate([v.ravel() for v in champion.values()]), hyper])
    newbie, experienced = newbie_and_experienced(genome, hidden, lifetime, [11, 12, 13], seed)
    for p, problem in enumerate([11, 12, 13]):
        draws = streams.stream(seed, 0, streams.ACTIONS, p).random(lifetime.draws)
        newborn = initial_parameters(hidden, streams.stream(seed, 0, streams.NEWBIE, p))
        for outcome, params, h in (
            (experienced, champion, hyper),
            (newbie, newborn, INITIAL_HYPERPARAMETERS),
        ):
            env = HarlowEnv()
            env.reset(seed=problem)
            score, correct, _ = reference_lifetime(params, h, env, draws, lifetime)
            assert outcome.scores[p] == score
            np.testing.assert_array_equal(outcome.correct[p], correct)
    assert newbie.trial_accuracy.shape == (5,)
    np.testing.assert_allclose(newbie.trial_accuracy, newbie.correct.mean(axis=0))


def test_the_champion_tool_compares_the_runs_best_with_newborns_and_writes_the_figure(
    runs, tmp_path
):
    out = tmp_path / "figures"
    result = run_module(
        "evolearn.champion", str(runs["baldwin"]), "--num_tasks", "6", "--seed", "3",
        "--out", str(out),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "6 new problems (seeds 3..8)" in result.stdout
    assert "trial  4:" in result.stdout and "trial  5:" not in result.stdout
    table = pd.read_csv(out / "newbie-vs-experienced.csv")
    genome = load_individual(runs["baldwin"] / "champion.npz", 3)
    newbie, experienced = newbie_and_experienced(genome, 3, Lifetime(3, 2, 4), range(3, 9), 3)
    assert list(table["problem_seed"]) == list(range(3, 9))
    np.testing.assert_array_equal(table["experienced_score"], experienced.scores)
    np.testing.assert_array_equal(table["newbie_score"], newbie.scores)
    assert (out / "newbie-vs-experienced.png").stat().st_size > 0
    mean = experienced.scores.mean()
    assert f"experienced  score per problem {mean:6.2f}" in result.stdout


def test_the_comparison_figure_shows_the_scores_and_the_accuracy_per_trial():
    newbie = Outcome(np.array([-2.0, 0.0, 4.0]), np.array([[0, 1], [1, 0], [1, 1]], dtype=bool))
    experienced = Outcome(np.array([4.0, 4.0, 2.0]), np.array([[1, 1], [1, 1], [0, 1]], dtype=bool))
    figure = figures.newbie_vs_experienced(newbie, experienced, "run")
    box, trials = figure.axes
    medians = {line.get_gid(): set(line.get_ydata()) for line in box.lines if line.get_gid()}
    assert medians == {"median-newbie": {0.0}, "median-experienced": {4.0}}
    assert [t.get_text() for t in box.get_xticklabels()] == ["newbie", "experienced"]
    curves = {line.get_label(): line.get_ydata() for line in trials.lines}
    np.testing.assert_allclose(curves["newbie"], [2 / 3, 2 / 3])
    np.testing.assert_allclose(curves["experienced"], [2 / 3, 1.0])


def test_the_champion_tool_refuses_what_a_harlow_learner_does_not_use_and_a_wrong_shape(
    runs, tmp_path
):
    refused = run_module("evolearn.champion", str(runs["baldwin"]), "--num_trials", "3")
    assert refused.returncode == 2 and "--num_trials does not apply" in refused.stderr
    assert "Traceback" not in refused.stderr
    other = tmp_path / "other"
    other.mkdir()
    text = (runs["baldwin"] / "params.yaml").read_text().replace("hidden_size: 3", "hidden_size: 4")
    (other / "params.yaml").write_text(text)
    (other / "champion.npz").write_bytes((runs["baldwin"] / "champion.npz").read_bytes())
    wrong = run_module("evolearn.champion", str(other), "--num_tasks", "2")
    assert wrong.returncode != 0 and "Traceback" not in wrong.stderr
    assert "emb.weight should have the shape (4, 5) for hidden_size 4" in wrong.stderr


def test_the_plot_tool_draws_the_runs_curves_and_each_trials_accuracy_as_logged(runs, tmp_path):
    out = tmp_path / "figures"
    result = run_module(
        "evolearn.plot", str(runs["baldwin"]), str(runs["control"]), "--out", str(out)
    )
    assert result.returncode == 0, result.stderr
    for name in ("harlow-evolution.png", "harlow-trials.png", "harlow-trials.csv"):
        assert (out / name).is_file(), name
    table = pd.read_csv(out / "harlow-trials.csv")
    assert set(table["mode"]) == {"baldwinian", "no learning"}
    assert sorted(set(table["generation"])) == [0, 1, 2, 3, 4]
    logged = dict(read_scalars(runs["control"])["trial_accuracy/trial_03"])
    rows = table[(table["run"] == "control") & (table["trial"] == 3)]
    for generation, accuracy in zip(rows["generation"], rows["accuracy"], strict=True):
        assert accuracy == pytest.approx(logged[generation])
    folders = [RunFolder.open(runs["baldwin"]), RunFolder.open(runs["control"])]
    figure = figures.harlow_evolution(folders)
    mean_axes, best_axes = figure.axes
    labelled = {line.get_label(): line for line in mean_axes.lines}
    summary = pd.read_csv(runs["control"] / "results_summary.csv")
    np.testing.assert_allclose(labelled["no learning"].get_ydata(), summary["mean_score"])
    assert labelled["no learning"].get_color() == figures.INHERITANCE_COLOURS["no learning"]
    assert len(best_axes.lines) == 2
    panels = figures.harlow_trials(table).axes
    assert [panel.get_title() for panel in panels] == [
        "baldwinian (1 runs)",
        "no learning (1 runs)",
    ]


def test_a_lamarckian_champion_is_what_it_learned(tmp_path):
    out = tmp_path / "run"
    result = run_script(SCRIPT, "params/harlow/baldwin.yaml", *SIZES, "--inheritance",
                        "lamarckian", "--out_dir", str(out))  # fmt: skip
    assert result.returncode == 0, result.stderr
    genome = load_individual(out / "champion.npz", 3)
    size = parameter_count(3)
    # no newborn of the run holds these weights: a Lamarckian genome is what was learned
    for i in range(6):
        born = initial_parameters(3, streams.stream(0, 0, streams.INIT, i))
        assert not np.array_equal(unflatten(genome[:size], 3)["emb.weight"], born["emb.weight"])
    assert REPO.is_dir()
