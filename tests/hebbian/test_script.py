"""run-hebbian-gym.py as a user runs it: its files, the evolution strategy's decays, the same
run on any number of workers, resume, the original's option names, and bad input."""

import json
import re

import numpy as np
import pytest
from conftest import (
    assert_refused,
    comparable_scalars,
    kill_at_generation,
    read_scalars,
    run_script,
)

from evolearn.experiment.checkpoint import read_checkpoint

SCRIPT = "run-hebbian-gym.py"
PARAMS = "params/hebbian/CartPole-v1.yaml"
TINY = [PARAMS, "--popsize", "8", "--generations", "4", "--hidden_layers", "6,4"]


def champion_arrays(out):
    with np.load(out / "champion.npz", allow_pickle=False) as f:
        return {name: f[name] for name in f.files}


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("hebbian") / "run"
    result = run_script(SCRIPT, *TINY, "--lr", "0.2", "--decay", "0.5", "--out_dir", str(out))
    assert result.returncode == 0, result.stderr
    return out, result


def test_a_run_writes_the_champions_coefficients_layer_by_layer_as_data(tiny_run):
    out, result = tiny_run
    arrays = champion_arrays(out)
    assert str(arrays["rule"]) == "ABCD_lr"
    assert list(arrays["coefficient_names"]) == ["A", "B", "C", "eta", "D"]
    # CartPole: 4 observations, 2 actions; hidden 6, 4
    assert [arrays[f"layer_{i}"].shape for i in range(3)] == [(4, 6, 5), (6, 4, 5), (4, 2, 5)]
    info = json.loads(str(arrays["info"]))
    assert info["env_name"] == "CartPole-v1" and "reward" in info
    assert "Done. Champion from generation" in (out / "log.txt").read_text()
    assert "saved as champion.npz" in result.stdout


def test_the_strategys_lr_and_sigma_decay_after_every_generation(tiny_run):
    out, _ = tiny_run
    scalars = read_scalars(out)
    lr = [v for _, v in scalars["es/lr"]]
    sigma = [v for _, v in scalars["es/sigma"]]
    np.testing.assert_allclose(lr, [0.1, 0.05, 0.025, 0.0125], rtol=1e-6)
    np.testing.assert_allclose(sigma, [0.1 * 0.999**g for g in (1, 2, 3, 4)], rtol=1e-6)
    for tag in ("best/reward", "champion/reward", "population/mean_reward"):
        assert [s for s, _ in scalars[tag]] == [1, 2, 3, 4], tag
    header = (out / "results_summary.csv").read_text().splitlines()[0].split(",")
    assert header == [
        "generation", "best_reward", "champion_generation", "champion_reward", "mean_reward",
        "seconds",
    ]  # fmt: skip


def test_the_checkpoint_holds_the_strategys_state_as_data(tiny_run):
    out, _ = tiny_run
    state = read_checkpoint(out / "checkpoint.npz")
    assert state["generation"] == 4 and state["population"] == []
    values = state["strategy"]["values"]
    assert values["lr"] == pytest.approx(0.2 * 0.5**4)
    mean = state["strategy"]["arrays"]["mean"]
    assert mean.shape == ((4 * 6 + 6 * 4 + 4 * 2) * 5,)
    assert state["champion"]["genome"].shape == mean.shape


@pytest.mark.slow
@pytest.mark.parametrize("workers", [["--num_workers", "2"], ["--scheduler", "local:2"]])
def test_the_same_seed_gives_the_same_run_on_any_number_of_workers(tmp_path, tiny_run, workers):
    out = tmp_path / "run"
    args = [*TINY, "--lr", "0.2", "--decay", "0.5", *workers, "--out_dir", str(out)]
    result = run_script(SCRIPT, *args)
    assert result.returncode == 0, result.stderr
    alone, _ = tiny_run
    for name, array in champion_arrays(alone).items():
        np.testing.assert_array_equal(champion_arrays(out)[name], array, err_msg=name)
    assert comparable_scalars(out) == comparable_scalars(alone)


@pytest.mark.slow
def test_a_killed_run_resumes_to_the_uninterrupted_run(tmp_path, finished_run):
    args = [*TINY, "--generations", "8"]
    full = finished_run(SCRIPT, *args)
    cut = tmp_path / "cut"
    kill_at_generation(SCRIPT, args, cut, 3)
    resumed = run_script(SCRIPT, str(cut / "params.yaml"), "--resume", str(cut))
    assert resumed.returncode == 0, resumed.stderr
    for name, array in champion_arrays(full).items():
        np.testing.assert_array_equal(champion_arrays(cut)[name], array, err_msg=name)
    assert comparable_scalars(cut) == comparable_scalars(full)
    assert read_checkpoint(cut / "checkpoint.npz")["generation"] == 8


def test_the_original_option_names_are_accepted(tmp_path):
    out = tmp_path / "run"
    args = [PARAMS, "--environment", "CartPole-v1", "--popsize", "4", "--generations", "1"]
    result = run_script(SCRIPT, *args, "--hidden_layers", "3", "--out_dir", str(out))
    assert result.returncode == 0, result.stderr
    saved = (out / "params.yaml").read_text()
    assert "population_size: 4" in saved and "num_generations: 1" in saved
    both = tmp_path / "both.yaml"
    both.write_text("popsize: 4\npopulation_size: 6\n")
    refused = run_script(SCRIPT, str(both), "--out_dir", str(tmp_path / "no"))
    assert_refused(refused, "popsize is another name of population_size", tmp_path / "no")


@pytest.mark.parametrize(
    "args, message",
    [
        (["--popsize", "7"], "must be even and at least 2"),
        (["--popsize", "0"], "population_size must be"),
        (["--hebb_rule", "ABCDE"], "hebb_rule must be one of: A, AD, AD_lr"),
        (["--sigma", "0"], "sigma must be a number > 0"),
        (["--lr", "-1"], "lr must be a number > 0"),
        (["--hidden_layers", "128,x"], "hidden_layers must be positive integers"),
        (["--env_name", "CartPole-v9"], "is not a Gymnasium environment id"),
        (["--env_name", "Blackjack-v1"], "observations of Blackjack-v1 are Tuple"),
        (["--morphologies", "standard,three_legs"], "morphologies must be standard, damaged_"),
        (["--morphologies", "damaged_left"], "CartPole-v1 has one body"),
        (["--init_weights", "xavier"], "init_weights must be one of: uni, normal, coevolve"),
    ],
)
def test_bad_input_is_a_one_line_error_and_writes_nothing(tmp_path, args, message):
    out = tmp_path / "run"
    result = run_script(SCRIPT, PARAMS, *args, "--out_dir", str(out))
    assert_refused(result, message, out)
    assert len(result.stderr.strip().splitlines()) == 1


def champion_tool(*args):
    from conftest import run_module

    return run_module("evolearn.champion", *args)


def test_the_champion_tool_scores_a_hebbian_run_with_fresh_weights_in_every_episode(tiny_run):
    out, _ = tiny_run
    result = champion_tool(str(out), "--num_trials", "3", "--seed", "5")
    assert result.returncode == 0, result.stderr
    assert "3 episodes (seeds 5..7), fresh random weights (uni) in every episode" in result.stdout
    (mean,) = re.findall(r"mean return (-?[\d.]+)", result.stdout)
    # the same numbers as the search's own episode code on those seeds
    from evolearn.experiment.run import read_params_file
    from evolearn.hebbian.search import score_saved

    params = read_params_file(out / "params.yaml")
    expected = score_saved(out / "champion.npz", params, 3, 5)
    assert float(mean) == pytest.approx(expected.mean(), abs=1e-3)
    refused = champion_tool(str(out), "--split", "train")
    assert refused.returncode == 2 and "--split does not apply" in refused.stderr


def test_a_coefficient_file_of_the_wrong_shape_is_a_clear_error(tiny_run, tmp_path):
    out, _ = tiny_run
    arrays = champion_arrays(out)
    arrays["layer_1"] = arrays["layer_1"][:, :3]
    run = tmp_path / "run"
    run.mkdir()
    (run / "params.yaml").write_text((out / "params.yaml").read_text())
    np.savez(run / "champion.npz", **arrays)
    result = champion_tool(str(run))
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "layer_1 should have the shape (6, 4, 5)" in result.stderr
    assert "but has (6, 3, 5)" in result.stderr


def test_car_racing_evolves_its_convolutions_beside_the_rule_and_saves_them(tmp_path):
    out = tmp_path / "car"
    args = [PARAMS, "--env_name", "CarRacing-v3", "--popsize", "2", "--generations", "1"]
    result = run_script(SCRIPT, *args, "--hidden_layers", "4", "--out_dir", str(out))
    assert result.returncode == 0, result.stderr
    log = (out / "log.txt").read_text()
    assert "84x84 RGB frames -> 2 static convolution layers (1362 weights) -> 648 -> 4 -> 3" in log
    arrays = champion_arrays(out)
    assert [arrays[f"layer_{i}"].shape for i in range(2)] == [(648, 4, 5), (4, 3, 5)]
    assert arrays["conv_0"].shape == (6, 3, 3, 3) and arrays["conv_1"].shape == (8, 6, 5, 5)
    # theta: the coefficients, then the convolutions; the L2 term leaves these out
    mean = read_checkpoint(out / "checkpoint.npz")["strategy"]["arrays"]["mean"]
    assert mean.shape == ((648 * 4 + 4 * 3) * 5 + 1362,)
    scored = champion_tool(str(out), "--num_trials", "1")
    assert scored.returncode == 0, scored.stderr
    assert "on CarRacing-v3, 1 episodes" in scored.stdout


ANT = [
    "params/hebbian/Ant-v5.yaml", "--popsize", "2", "--generations", "1", "--hidden_layers", "4",
]  # fmt: skip


@pytest.mark.slow
def test_the_ant_trains_on_its_bodies_the_same_on_two_workers_and_is_scored_on_an_unseen_one(
    tmp_path,
):
    pytest.importorskip("mujoco")
    one, two = tmp_path / "one", tmp_path / "two"
    result = run_script(SCRIPT, *ANT, "--out_dir", str(one))
    assert result.returncode == 0, result.stderr
    assert "each candidate runs on the bodies standard, damaged_left" in result.stdout
    again = run_script(SCRIPT, *ANT, "--num_workers", "2", "--out_dir", str(two))
    assert again.returncode == 0, again.stderr
    for name, array in champion_arrays(one).items():
        np.testing.assert_array_equal(champion_arrays(two)[name], array, err_msg=name)
    scores = {}
    for body in ("standard", "damaged_left", "damaged_right"):
        scored = champion_tool(str(one), "--num_trials", "2", "--morphology", body)
        assert scored.returncode == 0, scored.stderr
        seen = "never seen in training" if body == "damaged_right" else "trained on"
        assert f"(body {body}, {seen})" in scored.stdout
        scores[body] = re.findall(r"mean return (-?[\d.]+)", scored.stdout)[0]
    assert len(set(scores.values())) == 3  # each body walks otherwise
    refused = champion_tool(str(one), "--morphology", "three_legs")
    assert refused.returncode == 2 and "invalid choice: 'three_legs'" in refused.stderr


def test_a_missing_mujoco_says_how_to_install_it(tmp_path):
    fake = tmp_path / "no_mujoco" / "mujoco"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError('No module named mujoco')\n")
    import os

    path = os.pathsep.join([str(fake.parent), os.environ.get("PYTHONPATH", "")])
    out = tmp_path / "run"
    result = run_script(SCRIPT, *ANT, "--out_dir", str(out), env={"PYTHONPATH": path})
    assert_refused(result, 'pip install "gymnasium[mujoco]"', out)
    assert len(result.stderr.strip().splitlines()) == 1
