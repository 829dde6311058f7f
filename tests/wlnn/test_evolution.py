import csv

import numpy as np
import pytest
import torch
from conftest import MNIST_DIR, NEEDS_MNIST, assert_refused, genome_info, read_scalars, run_script

from evolearn import streams
from evolearn.data import load_dataset
from evolearn.experiment.parsing import parse_params
from evolearn.experiment.run import Run
from evolearn.experiment.workers import WorkerPool
from evolearn.genome import check_genome, compact_layers, split_connection
from evolearn.network_io import load_genome
from evolearn.search.generations import WORST_SCORE
from evolearn.testing import make_wlnn_population, train_config
from evolearn.wlnn import evolution as wlnn_evolution
from evolearn.wlnn.evolution import (
    SPEC,
    WLNNEvolution,
    generation_batch_orders,
    initial_network,
    mutate,
    train_generation,
)
from evolearn.wlnn.learning import EVALUATION_PERIODS, TrainConfig
from evolearn.wlnn.network import WLNNNetwork
from evolearn.wlnn.population import train_population

SCRIPT = "run-wlnn-mnist.py"
DIGITS = "params/wlnn/digits-backprop.yaml"
TINY = ["--population_size", "10", "--tournament_size", "4", "--num_epochs", "1"]


def digits_params(tmp_path, *args):
    return parse_params(SPEC, [DIGITS, *TINY, "--out_dir", str(tmp_path / "run"), *args])


def outputs(genome, x):
    return WLNNNetwork(genome).forward(torch.as_tensor(x, dtype=torch.float32))[0].numpy()


def test_initial_networks_split_about_half_of_their_connections(tmp_path):
    params = digits_params(tmp_path, "--p_initial_connection_enabled", "0.5")
    genome = initial_network(params, np.random.default_rng(0))
    check_genome(genome)
    initial_connections = genome.num_connections - genome.num_hidden
    assert 0.35 < genome.num_hidden / initial_connections < 0.65
    assert genome.num_layers == 3  # compaction keeps every new neuron in one hidden layer


def test_add_node_with_kept_weights_changes_outputs_only_through_the_new_path():
    rng = np.random.default_rng(1)
    x = rng.random((20, 6))
    from evolearn.genome import initial_genome

    parent = initial_genome(6, 3, 0.8, rng, with_weights=True)
    for index in range(parent.num_connections):
        child = split_connection(parent, index, rng)
        # Silence the new path n->b in the child, and the split connection a->b in the parent:
        # both networks then compute the same outputs.
        silenced_child = child.with_weights(np.append(child.weights[:-1], 0))
        weights = parent.weights.copy()
        weights[index] = 0
        np.testing.assert_allclose(
            outputs(silenced_child, x), outputs(parent.with_weights(weights), x), atol=1e-6
        )
        assert child.weights[index] == parent.weights[index]  # a->n keeps the old weight


def test_compaction_changes_no_output():
    rng = np.random.default_rng(2)
    x = rng.random((20, 6))
    params_like = {"num_inputs": 6, "num_outputs": 3}
    from evolearn.genome import add_connection, add_node, initial_genome

    genome = initial_genome(params_like["num_inputs"], 3, 0.7, rng, with_weights=True)
    for _ in range(25):
        genome = add_connection(add_node(genome, rng), rng, only_hidden=True)
        compacted = compact_layers(genome)
        assert compacted.num_layers <= genome.num_layers
        np.testing.assert_allclose(outputs(compacted, x), outputs(genome, x), atol=1e-5)
        genome = compacted


def test_baldwinian_children_get_new_weights_lamarckian_children_keep_them():
    rng = np.random.default_rng(3)
    from evolearn.genome import initial_genome

    parent = initial_genome(8, 3, 0.6, rng, with_weights=True)
    kw = {"p_add_node": 0.5, "num_mutations": 3}
    lamarck = mutate(parent, np.random.default_rng(4), inherit_weights=True, **kw)
    np.testing.assert_array_equal(lamarck.weights[: parent.num_connections], parent.weights)
    baldwin = mutate(parent, np.random.default_rng(4), inherit_weights=False, **kw)
    assert baldwin.connections.tolist() == lamarck.connections.tolist()
    assert not np.any(baldwin.weights[: parent.num_connections] == parent.weights)


def test_learned_weights_come_back_from_workers_and_lamarckian_children_inherit_them(tmp_path):
    params = digits_params(tmp_path, "--inherit_weights", "yes", "--num_workers", "2")
    dataset = load_dataset("digits")
    shared = {
        "x_train": dataset.x_train,
        "y_train": dataset.y_train,
        "x_test": dataset.x_test,
        "y_test": dataset.y_test,
    }
    with Run.create(params) as run, WorkerPool(2, shared) as pool:
        evolution = WLNNEvolution(params, run, pool, torch.device("cpu"))
        population = [
            initial_network(params, streams.stream(params.seed, 0, streams.INIT, i))
            for i in range(params.population_size)
        ]
        rewards, _, learned = evolution.train_population(population, 1)
        # The worker's result equals training the same network here, alone, on the
        # generation's mini-batches with its own stream: bit for bit, since a network's result
        # does not depend on the networks trained with it.
        x, y = torch.as_tensor(dataset.x_train), torch.as_tensor(dataset.y_train)
        orders = generation_batch_orders(
            len(x), evolution.config, streams.stream_entropy(params.seed, 1, streams.BATCHES)
        )
        (here,) = train_population(
            [population[7]],
            x,
            y,
            evolution.config,
            [streams.stream(params.seed, 1, streams.TRAIN, 7)],
            orders,
        )
        np.testing.assert_array_equal(learned[7], here.learned_weights)
        assert rewards[7] == here.reward
        assert not np.array_equal(learned[7], population[7].weights)
        trained = [g.with_weights(w) for g, w in zip(population, learned, strict=True)]
        children = evolution.new_strategy().next_population(trained, {"reward": rewards}, 1)
    assert len(children) == len(population)
    # Elites are the trained networks themselves; every child starts from a parent's learned
    # weights on the parent's connections.
    n_elite = int(params.population_size * params.elite_ratio)
    for child in children[:n_elite]:
        assert any(child is parent for parent in trained)
    for child in children[n_elite:]:
        assert any(
            np.array_equal(child.weights[: p.num_connections], p.weights)
            and np.array_equal(child.connections[: p.num_connections, 0], p.connections[:, 0])
            for p in trained
        )


def test_make_wlnn_population_is_seeded_and_grows_by_mutation():
    first = make_wlnn_population(6, 64, 10, 3, 0)
    again = make_wlnn_population(6, 64, 10, 3, 0)
    assert all(a == b for a, b in zip(first, again, strict=True))
    grown = make_wlnn_population(6, 64, 10, 3, 4)
    for genome in grown:
        check_genome(genome)
    mean = np.mean([g.num_connections for g in grown])
    assert mean > np.mean([g.num_connections for g in first]) + 10  # 5 mutations a generation
    assert max(g.num_layers for g in grown) > 3


def test_fast_and_reference_generations_train_on_the_same_batches_and_agree(monkeypatch):
    dataset = load_dataset("digits")
    shared = {"x_train": dataset.x_train, "y_train": dataset.y_train}
    population = make_wlnn_population(6, 64, 10, 0, 2, p_initial_connection_enabled=0.3)
    config = train_config(learning_rule="feedback_alignment", batch_size=64, num_epochs=1)
    reference_calls = []
    real_train_genome = wlnn_evolution.train_genome

    def no_fallback(*args, **kwargs):
        raise AssertionError("the fast path fell back to the per-network reference")

    def counted(*args, **kwargs):
        reference_calls.append(1)
        return real_train_genome(*args, **kwargs)

    # One worker trains in this process, so the patches reach train_chunk: the fast side is
    # the fast path itself (a fallback would give NaN scores), the reference the reference.
    with WorkerPool(1, shared) as pool:
        monkeypatch.setattr(wlnn_evolution, "train_genome", no_fallback)
        fast = train_generation(pool, population, config, 5, 1, fast=True)
        monkeypatch.setattr(wlnn_evolution, "train_genome", counted)
        reference = train_generation(pool, population, config, 5, 1, fast=False)
    assert len(reference_calls) == len(population)
    for result in (fast, reference):
        assert np.isfinite(result[0]).all() and np.isfinite(result[1]).all(), "NaN: a fallback"
        assert all(np.isfinite(w).all() for w in result[2])
    np.testing.assert_allclose(fast[0], reference[0], rtol=1e-4, atol=1e-5)  # rewards
    np.testing.assert_allclose(fast[1], reference[1], atol=1 / 64 + 1e-7)  # accuracies
    for a, b in zip(fast[2], reference[2], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_a_generation_where_every_network_failed_is_reported_without_an_accuracy_histogram(
    tmp_path,
):
    params = digits_params(tmp_path)
    with Run.create(params) as run, WorkerPool(1, {}) as pool:
        evolution = WLNNEvolution(params, run, pool, torch.device("cpu"))
        population = [
            initial_network(params, streams.stream(params.seed, 0, streams.INIT, i))
            for i in range(3)
        ]
        failed = np.full(3, WORST_SCORE)
        evolution.extra_reporting(population, {"reward": failed, "acc": failed}, 1)
        scores = {"reward": failed, "acc": np.array([WORST_SCORE, 0.5, 0.25])}
        evolution.extra_reporting(population, scores, 2)
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(
        str(run.out_dir / "tensorboard_summary"), size_guidance={"histograms": 0}
    )
    events.Reload()
    accs = events.Histograms("population/acc")
    # Generation 1 (all failed) has no accuracy histogram; generation 2 only the two networks
    # whose training worked.
    assert [h.step for h in accs] == [2]
    assert (accs[0].histogram_value.min, accs[0].histogram_value.max) == (0.25, 0.5)
    assert accs[0].histogram_value.num == 2
    assert [h.step for h in events.Histograms("population/connections")] == [1, 2]


WLNN_TAGS = [
    "best/reward",
    "best/acc",
    "champion/reward",
    "champion/acc",
    "champion/long_training_reward",
    "champion/long_training_acc",
    "champion/test_reward",
    "champion/test_acc",
    "champion/connections",
    "stats/connections_mean",
    "stats/connections_std",
    "stats/neurons_mean",
    "stats/neurons_std",
    "stats/layers_mean",
    "stats/layers_std",
    "times/complete_generation",
    "times/evaluation",
    "times/champion_evaluation",
    "times/ranking",
    "times/reproduction",
]


@pytest.mark.slow
def test_digits_run_writes_every_tag_the_champion_and_the_results_table(tmp_path):
    out = tmp_path / "run"
    result = run_script(SCRIPT, DIGITS, *TINY, "--num_generations", "3", "--out_dir", str(out))
    assert result.returncode == 0, result.stderr
    scalars = read_scalars(out)
    missing = [tag for tag in WLNN_TAGS if tag not in scalars]
    assert not missing, missing
    assert [s for s, _ in scalars["best/acc"]] == [1, 2, 3]
    assert [s for s, _ in scalars["champion/reward"]] == [0, 1, 2, 3]  # 0: untrained
    assert [s for s, _ in scalars["champion/test_acc"]] == [3]  # the last generation
    champion_rewards = [v for _, v in scalars["champion/reward"]]
    assert champion_rewards == sorted(champion_rewards)  # the best reward ever
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(out / "tensorboard_summary"))
    acc.Reload()
    assert {"population/acc", "population/connections"} <= set(acc.Tags()["histograms"])
    champion = load_genome(out / "champion.json")
    info = genome_info(out / "champion.json")
    assert info["reward"] == pytest.approx(champion_rewards[-1], abs=1e-6)
    saved = out / "champions" / f"gen-{info['generation']:05d}.json"
    assert load_genome(saved) == champion and genome_info(saved) == info
    assert load_genome(out / "champion_trained.json").connections.tolist() == (
        champion.connections.tolist()
    )
    rows = list(csv.DictReader((out / "results_summary.csv").open()))
    assert [int(r["generation"]) for r in rows] == [1, 2, 3]
    assert rows[-1]["champion_test_acc"] != "" and rows[0]["champion_test_acc"] == ""


@pytest.mark.slow
def test_same_seed_gives_the_same_champion_with_one_or_two_workers(tmp_path):
    files = []
    for workers in ("1", "2"):
        out = tmp_path / f"w{workers}"
        result = run_script(
            SCRIPT,
            DIGITS,
            *TINY,
            "--num_generations",
            "3",
            "--seed",
            "1",
            "--num_workers",
            workers,
            "--out_dir",
            str(out),
        )
        assert result.returncode == 0, result.stderr
        files.append((out / "champion.json").read_bytes())
        files.append((out / "champion_trained.json").read_bytes())
    assert files[0] == files[2] and files[1] == files[3]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--p_add_node", "0.7"], "p_add_node"),
        (["--tournament_size", "40"], "tournament_size"),
        (["--evaluation_period", "sometimes"], "evaluation_period"),
        (["--cull_ratio", "-0.1"], "cull_ratio"),
    ],
)
def test_bad_evolution_parameters_exit_2_without_output(tmp_path, args, message):
    out = tmp_path / "run"
    result = run_script(SCRIPT, DIGITS, *TINY, *args, "--out_dir", str(out))
    assert_refused(result, message, out)


@pytest.mark.slow
@pytest.mark.skipif(MNIST_DIR is None, reason=NEEDS_MNIST)
def test_mnist_run_goes_to_the_end(tmp_path):
    out = tmp_path / "run"
    result = run_script(
        SCRIPT,
        "params/wlnn/backprop.yaml",
        "--num_generations",
        "1",
        "--population_size",
        "4",
        "--tournament_size",
        "2",
        "--num_epochs",
        "1",
        "--data_dir",
        str(MNIST_DIR),
        "--out_dir",
        str(out),
        env={"EVOLEARN_CACHE_DIR": str(tmp_path / "cache")},
    )
    assert result.returncode == 0, result.stderr
    assert "champion/test_acc" in read_scalars(out)


class RecordingEvolution(WLNNEvolution):
    """The real generation loop, recording what each generation trained and learned."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.trained: dict[int, list] = {}  # generation -> the networks as evaluated
        self.learned: dict[int, list] = {}  # generation -> the weights they learned

    def evaluate(self, population, generation):
        scores = super().evaluate(population, generation)
        self.trained[generation] = list(population)
        self.learned[generation] = list(self._learned)
        return scores


def evolve_two_generations(tmp_path, inherit: str) -> RecordingEvolution:
    params = digits_params(
        tmp_path,
        "--inherit_weights",
        inherit,
        "--num_generations",
        "2",
        "--p_add_node",
        "0.5",
        "--p_add_connection",
        "0.5",
    )
    dataset = load_dataset("digits")
    with Run.create(params) as run, WorkerPool(1, dataset.arrays()) as pool:
        evolution = RecordingEvolution(params, run, pool, torch.device("cpu"))
        evolution.evolve()
    return evolution


def parent_of(child, parents):
    """The networks of ``parents`` whose connections the child starts with, in order (a
    connection split by add node keeps its place and its source, its target is the new
    neuron)."""
    found = []
    for p, parent in enumerate(parents):
        n = parent.num_connections
        if child.num_connections < n or child.num_neurons < parent.num_neurons:
            continue
        old, new = parent.connections, child.connections[:n]
        split = new[:, 1] >= parent.num_neurons
        if np.array_equal(new[:, 0], old[:, 0]) and np.array_equal(new[~split], old[~split]):
            found.append(p)
    return found


@pytest.mark.parametrize("inherit", ["yes", "no"])
def test_weights_through_the_generation_loop_lamarckian_and_baldwinian(tmp_path, inherit):
    evolution = evolve_two_generations(tmp_path, inherit)
    params = evolution.params
    first, second = evolution.trained[1], evolution.trained[2]
    learned = evolution.learned[1]
    n_elite = int(params.population_size * params.elite_ratio)
    for index, network in enumerate(second):
        candidates = parent_of(network, first)
        assert candidates, index
        if index < n_elite:  # an elite: the network itself, with ...
            reference = learned if inherit == "yes" else [g.weights for g in first]
            # ... the weights it learned (Lamarckian) or started with (Baldwinian)
            assert any(
                network.num_connections == first[p].num_connections
                and np.array_equal(network.weights, reference[p])
                for p in candidates
            ), index
        elif inherit == "yes":
            # A child: its parent's learned weights, and fresh ones for its new connections.
            assert any(
                np.array_equal(network.weights[: len(learned[p])], learned[p]) for p in candidates
            ), index
            assert network.num_connections > min(first[p].num_connections for p in candidates)
        else:
            # A child: only the architecture is inherited, every weight is drawn anew.
            for p in candidates:
                old = first[p].num_connections
                assert not np.any(network.weights[:old] == first[p].weights), index
                assert not np.any(network.weights[:old] == learned[p]), index
    # Learning changed the weights, so the two cases are told apart above.
    assert not np.array_equal(learned[0], first[0].weights)


@pytest.mark.parametrize("inherit", ["yes", "no"])
def test_champion_json_holds_the_weights_the_champion_was_evaluated_with(tmp_path, inherit):
    evolution = evolve_two_generations(tmp_path, inherit)
    out = evolution.run.out_dir
    champion = load_genome(out / "champion.json")
    info = genome_info(out / "champion.json")
    generation, index = info["generation"], info["index"]
    assert generation in (1, 2)  # a trained network beats the untrained ones of generation 0
    evaluated = evolution.trained[generation][index]
    np.testing.assert_array_equal(champion.weights, evaluated.weights)
    assert not np.array_equal(champion.weights, evolution.learned[generation][index])
    # Training it again as its generation did gives its reward and accuracy.
    dataset = load_dataset("digits")
    x, y = torch.as_tensor(dataset.x_train), torch.as_tensor(dataset.y_train)
    config = evolution.config
    orders = generation_batch_orders(
        len(x), config, streams.stream_entropy(evolution.params.seed, generation, streams.BATCHES)
    )
    rng = streams.stream(evolution.params.seed, generation, streams.TRAIN, index)
    (again,) = train_population([champion], x, y, config, [rng], orders)
    assert again.reward == pytest.approx(info["reward"], abs=1e-6)
    assert again.acc == pytest.approx(info["acc"], abs=1e-6)


def test_train_config_takes_every_training_option_from_the_parameters(tmp_path):
    params = digits_params(
        tmp_path,
        "--learning_rule",
        "hebbian",
        "--optimizer",
        "adadelta",
        "--lr",
        "0.125",
        "--batch_size",
        "17",
        "--num_epochs",
        "3",
        "--train_only_outputs",
        "--evaluation_period",
        "first_ten_batches",
    )
    assert TrainConfig.from_params(params) == train_config(
        learning_rule="hebbian",
        optimizer="adadelta",
        lr=0.125,
        batch_size=17,
        num_epochs=3,
        train_only_outputs=True,
        evaluation_period="first_ten_batches",
    )


def by_hand(period, losses):
    """A period's loss from a record [epochs, batches], written out for each period."""
    flat = losses.reshape(-1)
    return {
        "integral": flat.sum() / flat.size,
        "last_epoch": losses[-1].sum() / losses.shape[1],
        "last_batch": flat[-1],
        "last_ten_batches": flat[-10:].sum() / 10,
        "first_ten_batches": flat[:10].sum() / 10,
    }[period]


@pytest.mark.parametrize(
    "period", ["integral", "last_epoch", "last_batch", "last_ten_batches", "first_ten_batches"]
)
def test_a_real_generation_scores_each_network_by_the_evaluation_period(tmp_path, period):
    params = digits_params(
        tmp_path, "--evaluation_period", period, "--num_epochs", "2", "--batch_size", "96"
    )
    dataset = load_dataset("digits")
    population = [
        initial_network(params, streams.stream(params.seed, 0, streams.INIT, i)) for i in range(4)
    ]
    with Run.create(params) as run, WorkerPool(2, dataset.arrays()) as pool:
        evolution = WLNNEvolution(params, run, pool, torch.device("cpu"))
        scores = evolution.evaluate(population, 1)
    # The same networks trained here on the generation's batches give the record to score.
    x, y = torch.as_tensor(dataset.x_train), torch.as_tensor(dataset.y_train)
    config = train_config(batch_size=96, num_epochs=2, evaluation_period=period)
    orders = generation_batch_orders(
        len(x), config, streams.stream_entropy(params.seed, 1, streams.BATCHES)
    )
    rngs = [streams.stream(params.seed, 1, streams.TRAIN, i) for i in range(4)]
    results = train_population(population, x, y, config, rngs, orders)
    assert results[0].record.losses.shape == (2, 1347 // 96)  # 14 batches an epoch
    for i, result in enumerate(results):
        losses, accs = result.record.losses, result.record.accs
        assert scores["reward"][i] == pytest.approx(-by_hand(period, losses), rel=1e-6)
        assert scores["acc"][i] == pytest.approx(by_hand(period, accs), rel=1e-6)
        # The periods differ on this record, so the test tells them apart.
        assert len({by_hand(p, losses) for p in EVALUATION_PERIODS}) == len(EVALUATION_PERIODS)
