import csv

import numpy as np
import pytest
from conftest import (
    MNIST_DIR,
    NEEDS_MNIST,
    assert_refused,
    genome_info,
    read_scalars,
    run_script,
)

from evolearn.experiment.reporting import read_streams
from evolearn.experiment.workers import SharedArrays
from evolearn.genome import Genome, initial_genome
from evolearn.network_io import load_genome
from evolearn.wann.gym import EpisodeTask, episodes_chunk
from evolearn.wann.search import mutate_wann, weight_scores

CLASSIFICATION = "run-wann-classification.py"
GYM = "run-wann-gym.py"
TINY = ["--population_size", "12", "--tournament_size", "4"]


def test_weight_scores_by_hand():
    rewards = np.array([[-3.0, -1.0, -2.0], [-0.5, -0.7, -0.6]])
    accs = np.array([[0.1, 0.7, 0.4], [0.9, 0.5, 0.6]])
    scores = weight_scores(rewards, accs)
    np.testing.assert_allclose(scores["mean_reward"], [-2.0, -0.6])
    np.testing.assert_allclose(scores["max_reward"], [-1.0, -0.5])
    np.testing.assert_allclose(scores["mean_acc"], [0.4, 2.0 / 3.0])
    np.testing.assert_allclose(scores["acc_at_max_reward"], [0.7, 0.9])  # at the best weight
    assert "max_acc" not in scores


def test_wann_mutations_follow_their_probabilities():
    rng = np.random.default_rng(0)
    genome = initial_genome(4, 2, 1.0, rng, with_activations=True)
    only_nodes = mutate_wann(
        genome, rng, p_change_activation=0.0, p_add_connection=0.0, num_mutations=3
    )
    assert only_nodes.num_hidden == 3 and only_nodes.num_connections == genome.num_connections + 3
    only_connections = mutate_wann(
        only_nodes, rng, p_change_activation=0.0, p_add_connection=1.0, num_mutations=2
    )
    assert only_connections.num_hidden == 3
    assert only_connections.num_connections == only_nodes.num_connections + 2
    changed = mutate_wann(
        only_nodes, rng, p_change_activation=1.0, p_add_connection=0.0, num_mutations=1
    )
    assert changed.num_connections == only_nodes.num_connections
    assert (changed.activations != only_nodes.activations).sum() == 1


def test_trial_seeds_are_shared_by_all_weight_values_and_all_networks():
    # A network without connections outputs zeros whatever the weight value, so with shared
    # seeds every weight value sees the same episodes and gets the same return; a copy of the
    # network in another chunk gets the same returns too.
    silent = Genome(
        4,
        2,
        np.array([0, 0, 0, 0, 1, 1]),
        np.zeros((0, 2), np.int64),
        activations=np.zeros(6, np.int64),
    )
    task = EpisodeTask(
        [silent],
        "CartPole-v1",
        (-2.0, 0.5, 1.0),
        (11, 12, 13),
        take_argmax_action=True,
        use_torch=False,
    )
    first = episodes_chunk(SharedArrays({}), task)[0]
    assert np.all(first == first[0])
    twice = EpisodeTask(
        [silent, silent],
        "CartPole-v1",
        (-2.0, 0.5, 1.0),
        (11, 12, 13),
        take_argmax_action=True,
        use_torch=False,
    )
    second = episodes_chunk(SharedArrays({}), twice)
    np.testing.assert_array_equal(second[0], first)
    np.testing.assert_array_equal(second[1], first)
    other_seeds = EpisodeTask(
        [silent], "CartPole-v1", (-2.0,), (21, 22, 23), take_argmax_action=True, use_torch=False
    )
    assert episodes_chunk(SharedArrays({}), other_seeds)[0][0] != first[0]


CLASSIFICATION_TAGS = [
    f"best/{k}" for k in ("mean_reward", "mean_acc", "max_reward", "acc_at_max_reward")
] + [
    f"champion/{k}"
    for k in (
        "mean_reward",
        "mean_acc",
        "max_reward",
        "acc_at_max_reward",
        "test_mean_reward",
        "test_mean_acc",
        "test_max_reward",
        "test_acc_at_max_reward",
        "connections",
        "neurons",
        "layers",
    )
]
GYM_TAGS = ["best/mean_reward", "best/max_reward"] + [
    f"champion/{k}"
    for k in (
        "mean_reward",
        "max_reward",
        "test_mean_reward",
        "test_max_reward",
        "connections",
        "neurons",
        "layers",
    )
]
COMMON_TAGS = [
    f"stats/{n}_{s}" for n in ("connections", "neurons", "layers") for s in ("mean", "std")
] + [
    f"times/{n}"
    for n in ("complete_generation", "evaluation", "champion_evaluation", "ranking", "reproduction")
]


@pytest.mark.slow
@pytest.mark.parametrize("use_torch", ["no", "yes"])
def test_classification_run_writes_its_tags(tmp_path, use_torch):
    out = tmp_path / "run"
    result = run_script(
        CLASSIFICATION,
        "params/wann-classification/digits.yaml",
        *TINY,
        "--num_generations",
        "4",
        "--test_every",
        "2",
        "--use_torch",
        use_torch,
        "--out_dir",
        str(out),
    )
    assert result.returncode == 0, result.stderr
    scalars = read_scalars(out)
    missing = [t for t in CLASSIFICATION_TAGS + COMMON_TAGS if t not in scalars]
    assert not missing, missing
    assert [s for s, _ in scalars["champion/test_acc_at_max_reward"]] == [2, 4]
    assert [s for s, _ in scalars["best/mean_reward"]] == [1, 2, 3, 4]
    rows = list(csv.DictReader((out / "results_summary.csv").open()))
    assert len(rows) == 4 and rows[1]["champion_test10_acc_at_max_reward"] != ""
    # the accuracy at the best weight value is named so everywhere, never max_acc
    population = read_streams(out / "population.csv.bz2").splitlines()[0].split(",")
    assert "acc_at_max_reward" in population
    champion = genome_info(out / "champion.json")
    assert "acc_at_max_reward" in champion
    for names in (population, rows[0], scalars, champion):
        assert not [name for name in names if "max_acc" in name], names


def summary_rows(out):
    """results_summary.csv without its wall-clock column."""
    with (out / "results_summary.csv").open(newline="") as f:
        return [{k: v for k, v in row.items() if k != "seconds"} for row in csv.DictReader(f)]


@pytest.mark.slow
def test_classification_runs_agree_with_numpy_and_torch(tmp_path):
    outs = []
    for use_torch in ("no", "yes"):
        out = tmp_path / use_torch
        result = run_script(
            CLASSIFICATION,
            "params/wann-classification/digits.yaml",
            *TINY,
            "--num_generations",
            "3",
            "--use_torch",
            use_torch,
            "--out_dir",
            str(out),
        )
        assert result.returncode == 0, result.stderr
        outs.append(out)
    # Every number the two backends report agrees, except wall-clock times.
    numpy_scalars, torch_scalars = (
        {k: v for k, v in read_scalars(out).items() if not k.startswith("times/")} for out in outs
    )
    assert sorted(numpy_scalars) == sorted(torch_scalars)
    assert "champion/mean_acc" in numpy_scalars and "best/acc_at_max_reward" in numpy_scalars
    for tag, events in numpy_scalars.items():
        assert [s for s, _ in events] == [s for s, _ in torch_scalars[tag]], tag
        np.testing.assert_allclose(
            [v for _, v in events], [v for _, v in torch_scalars[tag]], rtol=1e-5, err_msg=tag
        )
    numpy_rows, torch_rows = (summary_rows(out) for out in outs)
    assert len(numpy_rows) == 3
    for numpy_row, torch_row in zip(numpy_rows, torch_rows, strict=True):
        assert numpy_row.keys() == torch_row.keys()
        for key, value in numpy_row.items():
            if value == "":  # a champion test not due in this generation
                assert torch_row[key] == "", key
            else:
                np.testing.assert_allclose(
                    float(torch_row[key]), float(value), rtol=1e-5, err_msg=key
                )
    numpy_champion, torch_champion = (load_genome(out / "champion.json") for out in outs)
    np.testing.assert_array_equal(numpy_champion.connections, torch_champion.connections)
    np.testing.assert_array_equal(numpy_champion.activations, torch_champion.activations)


@pytest.mark.slow
def test_gym_run_writes_its_tags(tmp_path):  # the champion tool: tests/test_champion.py
    out = tmp_path / "run"
    result = run_script(
        GYM,
        "params/wann-gym/CartPole-v0.yaml",
        *TINY,
        "--env_name",
        "CartPole-v1",
        "--num_generations",
        "2",
        "--test_every",
        "1",
        "--num_trials",
        "2",
        "--num_workers",
        "2",
        "--out_dir",
        str(out),
    )
    assert result.returncode == 0, result.stderr
    scalars = read_scalars(out)
    missing = [t for t in GYM_TAGS + COMMON_TAGS if t not in scalars]
    assert not missing, missing
    assert [s for s, _ in scalars["champion/test_mean_reward"]] == [1, 2]


@pytest.mark.slow
@pytest.mark.parametrize(
    "script, params",
    [
        (CLASSIFICATION, "params/wann-classification/digits.yaml"),
        (GYM, "params/wann-gym/CartPoleSwingUp.yaml"),
    ],
)
def test_runs_do_not_depend_on_the_number_of_workers(tmp_path, script, params):
    # The fast paths evaluate each worker's chunk of the population as a whole; a network's
    # numbers must not depend on which networks share its chunk.
    tables = []
    for num_workers in ("1", "2"):
        out = tmp_path / num_workers
        result = run_script(
            script,
            params,
            "--population_size",
            "10",
            "--tournament_size",
            "2",
            "--num_generations",
            "3",
            "--test_every",
            "2",
            "--num_workers",
            num_workers,
            *(["--num_trials", "1"] if script == GYM else []),
            "--out_dir",
            str(out),
        )
        assert result.returncode == 0, result.stderr
        rows = list(csv.DictReader((out / "results_summary.csv").open()))
        tables.append([{k: v for k, v in row.items() if k != "seconds"} for row in rows])
    assert len(tables[0]) == 3
    assert tables[0] == tables[1]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--env_name", "NoSuchEnv-v0"], "env_name"),
        (["--env_name", "BipedalWalker-v2"], "BipedalWalker-v3"),
        (["--num_inputs", "5"], "num_inputs"),
        (["--take_argmax_action", "no"], "take_argmax_action"),
        (["--p_change_activation", "0.6"], "p_change_activation"),
        (["--hidden_activations", "sine,bogus"], "unknown name(s) 'bogus'"),
        (["--hidden_activations", "sine"], "at least two different names"),
    ],
)
def test_bad_gym_parameters_exit_2_without_output(tmp_path, args, message):
    out = tmp_path / "run"
    result = run_script(GYM, "params/wann-gym/CartPole-v0.yaml", *args, "--out_dir", str(out))
    assert_refused(result, message, out)


@pytest.mark.slow
@pytest.mark.skipif(MNIST_DIR is None, reason=NEEDS_MNIST)
def test_mnist_classification_run_goes_to_the_end(tmp_path):
    out = tmp_path / "run"
    result = run_script(
        CLASSIFICATION,
        "params/wann-classification/mnist.yaml",
        "--num_generations",
        "2",
        "--population_size",
        "16",
        "--tournament_size",
        "4",
        "--data_dir",
        str(MNIST_DIR),
        "--out_dir",
        str(out),
        env={"EVOLEARN_CACHE_DIR": str(tmp_path / "cache")},
    )
    assert result.returncode == 0, result.stderr
    assert "champion/test_acc_at_max_reward" in read_scalars(out)


@pytest.mark.slow
def test_hidden_neurons_get_only_the_allowed_activations(tmp_path):
    out = tmp_path / "run"
    result = run_script(
        "run-wann-classification.py", "params/wann-classification/digits.yaml",
        "--num_generations", "6", "--population_size", "12", "--tournament_size", "4",
        "--p_change_activation", "0.5", "--p_add_node", "0.5", "--p_add_connection", "0",
        "--hidden_activations", "tanh, relu", "--save_every", "6", "--out_dir", str(out),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    names = set()
    for path in (out / "networks" / "gen-00006").glob("net-*.json"):
        g = load_genome(path)
        names |= {int(a) for a in g.activations[g.num_inputs + g.num_outputs :]}
    from evolearn.activations import activation_index

    assert names == {activation_index("tanh"), activation_index("relu")}


@pytest.mark.slow
def test_a_run_of_a_version_that_wrote_max_acc_resumes_under_the_new_name(tmp_path):
    from evolearn.experiment.checkpoint import read_checkpoint, save_checkpoint
    from evolearn.search.generations import Champion
    from evolearn.testing import SMALL_RUNS

    out = tmp_path / "run"
    args = [*SMALL_RUNS[CLASSIFICATION], "--num_generations", "2", "--out_dir", str(out)]
    assert run_script(CLASSIFICATION, *args).returncode == 0
    # The folder as an older version left it: the score named max_acc in the checkpoint's
    # champion and in the tables' headers.
    state = read_checkpoint(out / "checkpoint.npz")
    scores = state["champion"]["scores"]
    scores["max_acc"] = scores.pop("acc_at_max_reward")
    save_checkpoint(out, {**state, "champion": Champion(**state["champion"])})
    summary = out / "results_summary.csv"
    summary.write_text(summary.read_text().replace("acc_at_max_reward", "max_acc"))
    result = run_script(
        CLASSIFICATION, str(out / "params.yaml"), "--resume", str(out), "--num_generations", "3"
    )
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(summary.open()))
    assert [r["generation"] for r in rows] == ["1", "2", "3"]
    assert all(r["champion_acc_at_max_reward"] for r in rows)
    assert "max_acc" not in summary.read_text()
    assert [s for s, _ in read_scalars(out)["champion/acc_at_max_reward"]] == [1, 2, 3]
