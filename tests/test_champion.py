"""python -m evolearn.champion on each of its branches (a Gymnasium environment, the swing-up
fast path, a dataset for a WANN, a WLNN), its printed numbers compared with the scores the run
stored for the same network on the same episodes or the same data."""

import json
import re
import subprocess
import sys

import numpy as np
import pytest
import yaml
from conftest import REPO, genome_info, read_scalars, run_script

from evolearn import streams
from evolearn.wann.gym import CHAMPION_TRIALS, MAX_BASE_SEED
from evolearn.wann.network import TRAIN_WEIGHT_VALUES

NUMBER = r"([-+]?\d+\.\d+)"


def champion_tool(*args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "evolearn.champion", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def run_to_the_end(tmp_path, script: str, params: str, *args: str, timeout: float = 300):
    """Run a script as a user would, check it ended well; returns its run folder."""
    out = tmp_path / "run"
    result = run_script(script, params, *args, "--out_dir", str(out), timeout=timeout)
    assert result.returncode == 0, result.stderr
    return out


def per_weight(stdout: str, pattern: str) -> list[tuple[float, ...]]:
    rows = re.findall(rf"weight {NUMBER}: {pattern}", stdout)
    return [tuple(float(v) for v in row) for row in rows]


def check_episodes_match_the_champion_scores(out, tool_args=()):
    """The champion became champion on CHAMPION_TRIALS trials per weight value, with the seeds
    base, base+1, ... of its generation's stream (seed, generation, EVALUATE, 1): the tool run
    on those seeds must print the same returns."""
    info = genome_info(out / "champion.json")
    seed = yaml.safe_load((out / "params.yaml").read_text())["seed"]
    rng = streams.stream(seed, info["generation"], streams.EVALUATE, 1)
    base = int(rng.integers(MAX_BASE_SEED))
    stdout = champion_tool(
        str(out), "--seed", str(base), "--num_trials", str(CHAMPION_TRIALS), *tool_args
    )
    rows = per_weight(stdout, rf"mean return\s+{NUMBER} \+-\s+{NUMBER}")
    assert [w for w, _, _ in rows] == list(TRAIN_WEIGHT_VALUES)
    means = np.array([m for _, m, _ in rows])
    assert means.max() == pytest.approx(info["max_reward"], abs=1e-3)
    (overall,) = re.findall(rf"all weights: mean return {NUMBER}", stdout)
    assert float(overall) == pytest.approx(info["mean_reward"], abs=1e-3)
    assert means.mean() == pytest.approx(info["mean_reward"], abs=1e-3)
    return stdout


@pytest.mark.slow
def test_on_a_gymnasium_environment_with_discrete_actions(tmp_path):
    args = ["--env_name", "CartPole-v1", "--num_generations", "2", "--num_trials", "2"]
    out = run_to_the_end(
        tmp_path,
        "run-wann-gym.py",
        "params/wann-gym/CartPole-v0.yaml",
        *args,
        "--population_size",
        "12",
        "--tournament_size",
        "4",
    )
    stdout = check_episodes_match_the_champion_scores(out)
    assert "CartPole-v1, 16 trials per weight value" in stdout


@pytest.mark.slow
def test_one_generation_and_the_tool_on_continuous_actions(tmp_path):
    # Pendulum-v1 from the BipedalWalker file: 3 observations, one continuous torque in
    # [-2, 2] through Gymnasium (no fast path), and the environment check of the script
    # (check_fits_env) on a real environment. (The walker itself: 100 test episodes of up to
    # 1,600 steps took 40 s here; Pendulum's episodes are 200 steps.)
    out = run_to_the_end(
        tmp_path,
        "run-wann-gym.py",
        "params/wann-gym/BipedalWalker-v3.yaml",
        "--env_name",
        "Pendulum-v1",
        "--num_inputs",
        "3",
        "--num_outputs",
        "1",
        "--p_initial_connection_enabled",
        "1.0",
        "--population_size",
        "4",
        "--tournament_size",
        "2",
        "--num_generations",
        "1",
    )
    scalars = read_scalars(out)
    assert [s for s, _ in scalars["champion/test_mean_reward"]] == [1]
    # A pendulum's return over 200 steps is in [-200 * 16.27, 0]; a random network swings.
    assert -3300 < scalars["champion/test_mean_reward"][0][1] < 0
    assert json.loads((out / "champion.json").read_text())["connections"]  # the torque is used
    check_episodes_match_the_champion_scores(out)


@pytest.mark.slow
def test_on_cartpole_swingup_through_the_vectorised_physics(tmp_path):
    out = run_to_the_end(
        tmp_path,
        "run-wann-gym.py",
        "params/wann-gym/CartPoleSwingUp.yaml",
        "--population_size",
        "6",
        "--tournament_size",
        "2",
        "--num_generations",
        "1",
        "--num_trials",
        "1",
    )
    assert [s for s, _ in read_scalars(out)["champion/test_mean_reward"]] == [1]  # the end
    stdout = check_episodes_match_the_champion_scores(out)
    assert "CartPoleSwingUp" in stdout


@pytest.mark.slow
def test_on_a_dataset_for_a_weight_agnostic_network(tmp_path):
    out = run_to_the_end(
        tmp_path,
        "run-wann-classification.py",
        "params/wann-classification/digits.yaml",
        "--population_size",
        "12",
        "--tournament_size",
        "4",
        "--num_generations",
        "2",
        "--test_every",
        "2",
    )
    info = genome_info(out / "champion.json")
    # The champion's stored scores are on the whole training set.
    train = champion_tool(str(out), "--split", "train")
    rows = per_weight(train, rf"loss {NUMBER}, accuracy {NUMBER}")
    assert [w for w, _, _ in rows] == list(TRAIN_WEIGHT_VALUES)
    losses = np.array([loss for _, loss, _ in rows])
    accs = np.array([acc for _, _, acc in rows])
    assert -losses.mean() == pytest.approx(info["mean_reward"], abs=1e-3)
    assert -losses.min() == pytest.approx(info["max_reward"], abs=1e-4)
    assert accs.mean() == pytest.approx(info["mean_acc"], abs=1e-3)
    assert accs[losses.argmin()] == pytest.approx(info["acc_at_max_reward"], abs=1e-4)
    assert "digits train set (1347 samples)" in train
    # Its test at generation 2, on the test set.
    scalars = read_scalars(out)
    test = champion_tool(str(out))
    rows = per_weight(test, rf"loss {NUMBER}, accuracy {NUMBER}")
    accs = np.array([acc for _, _, acc in rows])
    losses = np.array([loss for _, loss, _ in rows])
    assert scalars["champion/test_mean_acc"][-1][0] == 2
    assert accs.mean() == pytest.approx(scalars["champion/test_mean_acc"][-1][1], abs=1e-3)
    assert -losses.mean() == pytest.approx(scalars["champion/test_mean_reward"][-1][1], abs=1e-3)
    assert "digits test set (450 samples)" in test


@pytest.mark.slow
def test_on_a_dataset_for_a_weight_learning_network(tmp_path):
    out = run_to_the_end(
        tmp_path,
        "run-wlnn-mnist.py",
        "params/wlnn/digits-backprop.yaml",
        "--population_size",
        "8",
        "--tournament_size",
        "4",
        "--num_generations",
        "1",
        "--num_epochs",
        "1",
    )
    info = genome_info(out / "champion_trained.json")
    stdout = champion_tool(str(out / "champion_trained.json"))
    pattern = (
        rf"digits test set \(450 samples\), weights as saved: loss {NUMBER}, accuracy {NUMBER}"
    )
    ((loss, acc),) = re.findall(pattern, stdout)
    assert -float(loss) == pytest.approx(info["test_reward"], abs=1e-4)
    assert float(acc) == pytest.approx(info["test_acc"], abs=1e-4)
    assert info["test_acc"] > 0.5  # trained for 10 epochs: far above chance (0.1)
    # The run folder: champion.json (before training) is scored, and the trained one offered.
    stdout = champion_tool(str(out))
    assert "champion_trained.json holds this champion after the run's 10-epoch long" in stdout
    scores = dict(re.findall(rf"(champion\w*\.json): digits test set.*?accuracy {NUMBER}", stdout))
    assert float(scores["champion_trained.json"]) == pytest.approx(info["test_acc"], abs=1e-4)
    assert set(scores) == {"champion.json", "champion_trained.json"}


@pytest.mark.slow
def test_a_network_of_a_saved_population_finds_its_run(tmp_path):
    out = run_to_the_end(
        tmp_path,
        "run-wann-classification.py",
        "params/wann-classification/digits.yaml",
        "--population_size",
        "8",
        "--tournament_size",
        "2",
        "--num_generations",
        "1",
    )
    # where a run saves its population every 100 generations: two folders below the run
    saved = out / "networks" / "gen-00100" / "net-000.json"
    saved.parent.mkdir(parents=True)
    saved.write_bytes((out / "champion.json").read_bytes())
    stdout = champion_tool(str(out / "networks" / "gen-00100" / "net-000.json"))
    assert "digits test set (450 samples)" in stdout


def settings(stdout: str) -> dict[str, tuple[float, ...]]:
    """setting -> (mean, sd if printed) of the tool's WANN-paper lines."""
    found = {}
    for name, mean, sd in re.findall(
        rf"  (\w+) +(?:return|accuracy) {NUMBER}(?: \+- {NUMBER})?", stdout
    ):
        found[name] = (float(mean),) + ((float(sd),) if sd else ())
    return found


@pytest.mark.slow
def test_the_wann_papers_settings_on_a_dataset_champion(tmp_path, capsys):
    from evolearn.data import load_dataset
    from evolearn.network_io import load_genome
    from evolearn.wann.protocol import DatasetTask, evaluate

    out = run_to_the_end(
        tmp_path, "run-wann-classification.py", "params/wann-classification/digits.yaml",
        "--population_size", "12", "--tournament_size", "4", "--num_generations", "2",
    )  # fmt: skip
    stdout = champion_tool(str(out), "--setting", "all", "--num_trials", "5", "--seed", "7",
                           "--tune_epochs", "1")  # fmt: skip
    found = settings(stdout)
    assert sorted(found) == sorted(
        [
            "random_weights",
            "random_shared_weight",
            "tuned_shared_weight",
            "tuned_weights",
            "ensemble",
        ]
    )
    # the printed numbers are the protocol's, on the run's dataset
    digits = load_dataset("digits")
    task = DatasetTask(digits.x_train, digits.y_train, digits.x_test, digits.y_test)
    genome = load_genome(out / "champion.json")
    shared = evaluate(task, genome, "random_shared_weight", 5, 7)
    assert found["random_shared_weight"] == pytest.approx(
        (shared.scores.mean(), shared.scores.std()), abs=5e-4
    )
    assert len(found["ensemble"]) == 1 and "over 1 trial(s)" in stdout
    # what a dataset does not use is refused, not ignored
    line = refused(capsys, str(out), "--num_trials", "5")
    assert line.startswith("error: --num_trials does not apply to a weight agnostic network on a")
    assert "without --setting a dataset is scored once on the whole --split" in line
    line = refused(capsys, str(out), "--setting", "all", "--split", "train")
    assert "--split does not apply" in line and "tests on the test set" in line
    line = refused(capsys, str(out), "--setting", "all", "--es_iterations", "3")
    assert "--es_iterations does not apply" in line and "--tune_epochs" in line


@pytest.mark.slow
def test_the_wann_papers_settings_on_an_environment_champion(tmp_path):
    out = run_to_the_end(
        tmp_path, "run-wann-gym.py", "params/wann-gym/CartPoleSwingUp.yaml",
        "--population_size", "8", "--tournament_size", "2", "--num_generations", "2",
        "--num_trials", "1",
    )  # fmt: skip
    stdout = champion_tool(str(out), "--setting", "all", "--num_trials", "3", "--tune_trials",
                           "1", "--es_iterations", "1", "--es_population", "2")  # fmt: skip
    found = settings(stdout)
    assert sorted(found) == sorted(
        ["random_weights", "random_shared_weight", "tuned_shared_weight", "tuned_weights"]
    )
    assert all(len(v) == 2 for v in found.values())  # mean and sd over the 3 trials
    refused = subprocess.run(
        [sys.executable, "-m", "evolearn.champion", str(out), "--setting", "ensemble"],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert refused.returncode == 2 and "datasets only" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_a_wann_release_champion_file_with_the_papers_conventions(tmp_path):
    """A .out file whose only connection is bias -> force: every step pushes with the shared
    weight (tanh of it: the paper's swing-up output), which the tool's returns must show."""
    from evolearn.envs import make_env

    matrix = np.zeros((7, 8))
    matrix[0, 6] = 1.0
    matrix[:, 7] = [1, 1, 1, 1, 1, 1, 5]  # the output: tanh
    path = tmp_path / "push.out"
    path.write_text("\n".join(",".join(str(v) for v in row) for row in matrix))
    paper = "params/wann-gym/CartPoleSwingUp-paper.yaml"
    stdout = champion_tool(str(path), "--params", paper, "--weights", "0.5", "--num_trials", "2")
    assert "7 neurons, 1 connections, 2 layers" in stdout
    ((weight, mean, _),) = per_weight(stdout, rf"mean return\s+{NUMBER} \+-\s+{NUMBER}")
    returns = []
    for seed in (0, 1):
        env = make_env("CartPoleSwingUp")
        env.reset(seed=seed)
        total, done = 0.0, False
        while not done:
            _, reward, terminated, truncated, _ = env.step(np.array([np.tanh(0.5)], np.float32))
            total, done = total + float(reward), terminated or truncated
        returns.append(total)
    assert weight == 0.5 and mean == pytest.approx(np.mean(returns), abs=1e-3)
    # the thesis's conventions (no bias neuron): a clear error, no traceback
    refused = subprocess.run(
        [sys.executable, "-m", "evolearn.champion", str(path), "--params",
         "params/wann-gym/CartPoleSwingUp.yaml"],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert refused.returncode != 0 and "bias_input: yes" in " ".join(refused.stderr.split())
    assert "Traceback" not in refused.stderr


def refused_by_the_tool(*args: str) -> str:
    """The tool, run as a user runs it, refused its input: exit code 2, one line 'error: ...' on
    stderr, nothing on stdout (it refused before scoring anything); returns that line."""
    result = subprocess.run(
        [sys.executable, "-m", "evolearn.champion", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr and result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith("error: ")
    return line


def refused(capsys, *args: str) -> str:
    """The tool's main, in this process (no interpreter to start), refused its input before
    printing anything; returns the error line its entry point prints."""
    from evolearn.champion import main
    from evolearn.errors import UserError
    from evolearn.experiment.cli import format_error

    with pytest.raises(UserError) as caught:
        main(list(args))
    assert capsys.readouterr().out == ""
    return format_error(caught.value)


def small_run(tmp_path, script: str, *args: str):
    """The small seeded run of ``script`` (evolearn.testing.SMALL_RUNS) in tmp_path/run."""
    from evolearn.testing import SMALL_RUNS

    return run_to_the_end(tmp_path, script, *SMALL_RUNS[script], *args)


@pytest.mark.slow
def test_a_run_folder_of_the_no_evolution_script_scores_its_network_json(tmp_path, capsys):
    out = small_run(tmp_path, "run-wlnn-mnist-no-evolution.py")
    assert not (out / "champion.json").exists()
    info = genome_info(out / "network.json")
    stdout = champion_tool(str(out))
    assert f"{out / 'network.json'}: 74 neurons, 640 connections, 2 layers" in stdout
    assert f"after its {info['epochs']} epochs" in stdout
    pattern = (
        rf"network.json: digits test set \(450 samples\), weights as saved: loss {NUMBER}, "
        rf"accuracy {NUMBER}"
    )
    ((loss, acc),) = re.findall(pattern, stdout)
    # the run's own test after its last epoch, of the same weights
    assert float(loss) == pytest.approx(info["test_loss"], abs=1e-4)
    assert float(acc) == pytest.approx(info["test_acc"], abs=1e-4)
    train = champion_tool(str(out), "--split", "train")
    assert "network.json: digits train set (1347 samples), weights as saved" in train
    # what scores a weight agnostic network has no meaning here
    line = refused_by_the_tool(str(out), "--setting", "all")
    assert line == (
        "error: --setting does not apply to the network.json of a run-wlnn-mnist-no-evolution.py "
        "run (a weight learning network): a weight learning network is tested with its saved "
        "weights on the whole --split (the options that apply: --split, --data_dir, --params)"
    )
    for option in (["--num_trials", "5"], ["--weights", "1"], ["--seed", "1"]):
        line = refused(capsys, str(out), *option)
        assert f"error: {option[0]} does not apply to the network.json of a " in line


@pytest.mark.slow
def test_options_an_environment_run_does_not_use_are_refused(tmp_path, capsys):
    out = small_run(tmp_path, "run-wann-gym.py")
    line = refused_by_the_tool(str(out), "--split", "train")
    assert line == (
        "error: --split does not apply to an environment run (env_name CartPoleSwingUp): an "
        "environment has no dataset splits (its test episodes are chosen with --seed and "
        "--num_trials)"
    )
    assert "--split does not apply" in refused(capsys, str(out), "--split", "test")
    assert "--data_dir does not apply" in refused(capsys, str(out), "--data_dir", "data")
    line = refused(capsys, str(out), "--setting", "tuned_weights", "--tune_epochs", "2")
    assert "--tune_epochs does not apply" in line and "--es_iterations" in line
    line = refused(capsys, str(out), "--setting", "random_weights", "--weights", "1")
    assert "--weights does not apply" in line and "chooses the weights itself" in line
    line = refused(capsys, str(out), "--setting", "random_weights", "--tune_trials", "3")
    assert "--tune_trials does not apply" in line and "random_weights tunes nothing" in line
    assert "--tune_trials does not apply" in refused(capsys, str(out), "--tune_trials", "3")
    line = refused(capsys, str(out), "--seed", "-1")
    assert "--seed: must be at least 0, got -1" in line


@pytest.mark.slow
def test_a_seed_is_checked_against_the_tuning_seeds_of_the_chosen_settings_only(tmp_path, capsys):
    out = small_run(tmp_path, "run-wann-gym.py")
    # test seeds 999995..1000004: among the tuning seeds (from 1,000,000), which random_weights
    # does not use
    stdout = champion_tool(
        str(out), "--setting", "random_weights", "--seed", "999995", "--num_trials", "10"
    )
    assert re.search(rf"random_weights +return {NUMBER} \+- {NUMBER} over 10 trial", stdout)
    line = refused(capsys, str(out), "--setting", "all", "--seed", "999995", "--num_trials", "10")
    # all: tuned_weights tunes on the most seeds (10 + 50), so the advice suits every setting
    assert line.startswith("error: --seed 999995 with --setting all: the 10 test episodes use")
    assert "overlap the seeds 1000000..1000059 of tuned_weights's tuning episodes" in line
    assert "choose a seed of at most 999990 or at least 1000060" in line


def test_a_ragged_wann_release_file_is_refused_naming_its_line(tmp_path):
    path = tmp_path / "ragged.out"
    rows = ["0,0,0,0,0,0,1,1"] * 7
    rows[4] = "0,0,0,0,0,1"  # the fifth of the 7 rows lacks two values
    path.write_text("\n".join(rows) + "\n")
    line = refused_by_the_tool(str(path), "--params", "params/wann-gym/CartPoleSwingUp-paper.yaml")
    assert line == (
        f"error: {path} is not a WANN release network file: line 5 has 6 values, expected 8: "
        f"the file's 7 rows must form a matrix of N rows and N + 1 columns (a row per node: its "
        f"connections to the N nodes, then its activation id)"
    )
