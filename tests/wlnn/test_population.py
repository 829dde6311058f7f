"""The population-wide fast path (wlnn/population.py, wlnn/graph.py) against the per-network
reference (wlnn/learning.py, wlnn/network.py): same mini-batches, same feedback matrices, same
results.

Tolerance of the agreement tests: rtol 1e-4, atol 1e-5 on learned weights and per-batch losses
after two epochs (32 optimizer steps) of a tiny problem. The two paths add the same float32
terms in a different order (the reference multiplies dense per-layer matrices, the fast path
adds connection by connection), which changes the last bit or two of a sum (~1e-7 relative);
training carries such differences from step to step, and Adam divides by the root of small
second moments, which can amplify them. Observed differences are about 5e-7; the bound
leaves room for other CPUs and BLAS builds. Accuracies may differ by one example in a batch,
when two logits of an example are so close that the summation order decides which is larger.
"""

import numpy as np
import pytest
import torch

from evolearn.genome import (
    Genome,
    add_connection,
    add_node,
    check_genome,
    compact_layers,
    initial_genome,
    random_weights,
)
from evolearn.testing import train_config
from evolearn.wlnn.graph import PopulationGraph
from evolearn.wlnn.learning import LEARNING_RULES, draw_batch_orders, train_genome
from evolearn.wlnn.network import WLNNNetwork
from evolearn.wlnn.population import (
    PopulationTrainer,
    WLNNPopulation,
    evaluate_population,
    losses_and_accuracies,
    train_population,
)

NUM_INPUTS, NUM_OUTPUTS = 6, 4
RTOL, ATOL = 1e-4, 1e-5


def toy_data(n=256, num_inputs=NUM_INPUTS, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, num_inputs, generator=g)
    y = (x[:, 0] + x[:, 1] > x[:, 2] + x[:, 3]).long() + 2 * (x[:, 4] > 0.5).long()
    return x, y


def grown(rng, steps, p_connection=0.7, num_inputs=NUM_INPUTS, num_outputs=NUM_OUTPUTS):
    g = initial_genome(num_inputs, num_outputs, p_connection, rng, with_weights=True)
    for _ in range(steps):
        g = compact_layers(add_node(g, rng))
        g = add_connection(g, rng)
    return g.with_weights(random_weights(rng, g.num_connections))


def without_outputs(genome: Genome, outputs: list[int]) -> Genome:
    """The genome without its connections into the given outputs."""
    keep = ~np.isin(genome.connections[:, 1], [genome.num_inputs + o for o in outputs])
    return Genome(
        genome.num_inputs,
        genome.num_outputs,
        genome.layer,
        genome.connections[keep],
        genome.weights[keep],
    )


def mixed_population(seed=0):
    """Networks of several depths: without hidden neurons, without any connection, without
    connections into two of the outputs, and grown by mutations."""
    rng = np.random.default_rng(seed)
    genomes = [
        grown(rng, 0),  # no hidden neuron
        grown(rng, 6),
        initial_genome(NUM_INPUTS, NUM_OUTPUTS, 0.0, rng, with_weights=True),  # no connection
        without_outputs(grown(rng, 3), [1, 3]),  # outputs 1 and 3 get no input
        grown(rng, 12),
        grown(rng, 2, p_connection=0.3),
        grown(rng, 0, p_connection=0.4),
        grown(rng, 9),
    ]
    for g in genomes:
        check_genome(g)
    depths = {g.num_layers for g in genomes}
    assert min(depths) == 2 and len(depths) >= 3
    return genomes


def streams_for(genomes, seed=0):
    return [np.random.default_rng([seed, i]) for i in range(len(genomes))]


def batches(n, config, seed=3):
    generator = torch.Generator().manual_seed(seed)
    return draw_batch_orders(n, config.batch_size, config.num_epochs, generator)


def assert_same_training(fast, reference, batch_size):
    for f, r in zip(fast, reference, strict=True):
        np.testing.assert_allclose(f.learned_weights, r.learned_weights, rtol=RTOL, atol=ATOL)
        np.testing.assert_allclose(f.record.losses, r.record.losses, rtol=RTOL, atol=ATOL)
        assert np.abs(f.record.accs - r.record.accs).max() <= 1 / batch_size + 1e-7
        assert f.reward == pytest.approx(r.reward, rel=RTOL, abs=ATOL)


def assert_identical(a, b):
    for f, r in zip(a, b, strict=True):
        np.testing.assert_array_equal(f.learned_weights, r.learned_weights)
        np.testing.assert_array_equal(f.record.losses, r.record.losses)
        np.testing.assert_array_equal(f.record.accs, r.record.accs)
        assert f.reward == r.reward and f.acc == r.acc


# --- forward pass and evaluation ---------------------------------------------------------


def test_population_logits_equal_each_network_alone():
    genomes = mixed_population()
    x, _ = toy_data(32)
    logits = WLNNPopulation(genomes).forward(x)
    assert logits.shape == (32, len(genomes), NUM_OUTPUTS)
    for p, g in enumerate(genomes):
        alone, _ = WLNNNetwork(g).forward(x)
        np.testing.assert_allclose(logits[:, p].detach(), alone.detach(), rtol=1e-5, atol=1e-6)
    # Outputs without any connection stay exactly 0.
    assert not logits[:, 2].any() and not logits[:, 3, [1, 3]].any()


def test_evaluation_of_the_population_equals_each_network_alone():
    genomes = mixed_population(1)
    x, y = toy_data(300)
    losses, accs = evaluate_population(genomes, x, y, batch_size=128)
    for p, g in enumerate(genomes):
        loss, acc = WLNNNetwork(g).evaluate(x, y, 128)
        assert losses[p] == pytest.approx(loss, rel=1e-5)
        assert accs[p] == acc


def test_accuracy_takes_the_first_largest_logit_as_argmax_does():
    # Network 0: all logits tie (argmax 0); network 1: outputs 1 and 2 tie (argmax 1).
    logits = torch.tensor([[0.0, 0.0, 0.0], [0.1, 0.5, 0.5]]).view(2, 3, 1)
    for label, expected in ((0, [1.0, 0.0]), (1, [0.0, 1.0]), (2, [0.0, 0.0])):
        _, accs = losses_and_accuracies(logits, torch.tensor([label]))
        assert accs.tolist() == expected


# --- the fast path agrees with the per-network reference ---------------------------------

AGREEMENT_CASES = [
    ("backprop", "adam", False),
    ("backprop", "sgd", False),
    ("backprop", "adadelta", False),
    ("backprop", "adam", True),
    ("feedback_alignment", "adam", False),
    ("feedback_alignment", "sgd", True),
    ("hebbian", "sgd", False),
    ("hebbian", "adam", True),
    ("last_layer", "adadelta", False),
    ("last_layer", "adam", False),
]


@pytest.mark.parametrize("rule, optimizer, only_outputs", AGREEMENT_CASES)
def test_fast_path_learns_the_same_weights_and_records_as_the_reference(
    rule, optimizer, only_outputs
):
    genomes = mixed_population(2)
    x, y = toy_data()
    config = train_config(
        learning_rule=rule,
        optimizer=optimizer,
        lr=0.01,
        batch_size=16,
        num_epochs=2,
        train_only_outputs=only_outputs,
    )
    orders = batches(len(x), config)
    fast = train_population(genomes, x, y, config, streams_for(genomes), orders)
    reference = [
        train_genome(g, x, y, config, rng, orders)
        for g, rng in zip(genomes, streams_for(genomes), strict=True)
    ]
    assert_same_training(fast, reference, config.batch_size)


def test_every_rule_is_covered_by_the_agreement_test():
    assert {rule for rule, _, _ in AGREEMENT_CASES} == set(LEARNING_RULES)
    assert {opt for _, opt, _ in AGREEMENT_CASES} == {"sgd", "adam", "adadelta"}


@pytest.mark.parametrize("rule", sorted(LEARNING_RULES))
def test_only_existing_connections_change_and_frozen_weights_stay(rule):
    genomes = mixed_population(3)
    x, y = toy_data()
    config = train_config(learning_rule=rule, batch_size=32, num_epochs=1)
    results = train_population(genomes, x, y, config, streams_for(genomes), batches(256, config))
    for g, r in zip(genomes, results, strict=True):
        assert r.learned_weights.shape == g.weights.shape
        into_hidden = g.layer[g.connections[:, 1]] < g.num_layers - 1
        changed = r.learned_weights != g.weights
        from_input = g.connections[:, 0] < g.num_inputs
        assert changed[~into_hidden & from_input].all()  # every rule trains the output weights
        if rule == "last_layer":
            np.testing.assert_array_equal(r.learned_weights[into_hidden], g.weights[into_hidden])
        # The learned network computes with exactly its own connections.
        trained = g.with_weights(r.learned_weights)
        logits = WLNNPopulation([trained]).forward(x[:8])[:, 0]
        np.testing.assert_allclose(
            logits.detach(), WLNNNetwork(trained).forward(x[:8])[0].detach(), rtol=1e-5, atol=1e-6
        )


# --- a network's result does not depend on its neighbours --------------------------------


@pytest.mark.parametrize(
    "rule, optimizer",
    [("backprop", "adam"), ("feedback_alignment", "adadelta"), ("hebbian", "sgd")],
)
def test_a_network_trains_bit_for_bit_the_same_alone_in_a_chunk_or_in_the_population(
    rule, optimizer
):
    genomes = mixed_population(4)
    x, y = toy_data()
    config = train_config(learning_rule=rule, optimizer=optimizer, batch_size=16, num_epochs=2)
    orders = batches(len(x), config)
    rngs = streams_for(genomes)
    whole = train_population(genomes, x, y, config, rngs, orders)
    for chunk in ([0, 1, 2], [3, 4], [5, 6, 7], [4], [7]):
        part = train_population(
            [genomes[i] for i in chunk],
            x,
            y,
            config,
            [streams_for(genomes)[i] for i in chunk],
            orders,
        )
        assert_identical(part, [whole[i] for i in chunk])


def test_results_do_not_depend_on_the_chunk_nor_on_the_number_of_threads():
    # Large enough that torch splits the work between threads.
    rng = np.random.default_rng(5)
    genomes = [grown(rng, int(rng.integers(0, 8)), 0.5, num_inputs=32) for _ in range(24)]
    x, y = toy_data(512, num_inputs=32)
    config = train_config(batch_size=128, num_epochs=1)
    orders = batches(len(x), config)
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        whole = train_population(genomes, x, y, config, streams_for(genomes), orders)
        torch.set_num_threads(1)
        halves = [
            r
            for chunk in (range(0, 11), range(11, 24))
            for r in train_population(
                [genomes[i] for i in chunk],
                x,
                y,
                config,
                [streams_for(genomes)[i] for i in chunk],
                orders,
            )
        ]
    finally:
        torch.set_num_threads(threads)
    assert_identical(halves, whole)


# --- the learning rules on hand-computed examples -----------------------------------------


def one_hidden_neuron(w_in, w_out):
    """Input 0 -> hidden 2 -> output 1."""
    return Genome(
        1,
        1,
        np.array([0, 2, 1]),
        np.array([[0, 2], [2, 1]]),
        np.array([w_in, w_out], dtype=np.float32),
    )


def test_feedback_alignment_sends_errors_through_the_feedback_weights():
    # As in test_learning: the hidden weight's gradient is delta_out * b * relu'(z) * x with the
    # feedback weight b = -2 instead of the output weight; a second network trains alongside.
    genomes = [one_hidden_neuron(0.5, 0.3), one_hidden_neuron(0.25, 0.1)]
    population = WLNNPopulation(genomes)
    population.set_feedback([np.array([7.0, -2.0]), np.array([1.0, 3.0])])
    population.w_hidden.requires_grad_(True)
    population.w_out.requires_grad_(True)
    logits = population.forward(torch.tensor([[2.0]]))  # [1, 2, 1]
    logits.sum().backward()
    # Network 0: z = 1 > 0: grad = 1 * (-2) * 1 * 2 = -4. Network 1: 1 * 3 * 1 * 2 = 6.
    np.testing.assert_allclose(population.w_hidden.grad.numpy(), [-4.0, 6.0])
    np.testing.assert_allclose(population.w_out.grad.numpy(), [1.0, 0.5])  # hidden activities


def test_hebbian_applies_oja_after_the_optimizer_step_for_every_network():
    # Inputs 0, 1 -> hidden 3 (weights 0.5, 0.25) -> output 2 (weight 1.0); one output, so the
    # loss is 0 and only Oja's rule moves weights: dW = lr * ([1.5, 1.0] - 1 * [0.5, 0.25]).
    g = Genome(
        2,
        1,
        np.array([0, 0, 2, 1]),
        np.array([[0, 3], [1, 3], [3, 2]]),
        np.array([0.5, 0.25, 1.0], dtype=np.float32),
    )
    no_hidden = Genome(2, 1, np.array([0, 0, 1]), np.array([[0, 2]]), np.array([0.3], np.float32))
    x = torch.tensor([[1.0, 2.0], [2.0, 0.0]])
    y = torch.tensor([0, 0])
    config = train_config(learning_rule="hebbian", optimizer="sgd", lr=0.1, batch_size=2)
    population = WLNNPopulation([g, no_hidden, g])
    PopulationTrainer(population, config).train_epoch(x, y, torch.tensor([[0, 1]]))
    learned = population.learned_weights()
    for weights in (learned[0], learned[2]):
        np.testing.assert_allclose(weights, [0.6, 0.325, 1.0], rtol=1e-6)
    np.testing.assert_array_equal(learned[1], no_hidden.weights)


# --- structure ----------------------------------------------------------------------------


def test_each_network_output_layer_is_computed_at_its_own_depth():
    genomes = mixed_population()
    graph = PopulationGraph(genomes)
    assert len(graph.stages) == max(g.num_layers for g in genomes) - 1
    outputs_per_stage = [st.size - st.num_hidden for st in graph.stages]
    for s, count in enumerate(outputs_per_stage, start=1):
        assert count == NUM_OUTPUTS * sum(g.num_layers - 1 == s for g in genomes)
    hidden = sum(g.num_hidden for g in genomes)
    assert graph.num_rows == NUM_INPUTS + hidden + NUM_OUTPUTS * len(genomes)
    assert sum(st.num_connections for st in graph.stages) == sum(g.num_connections for g in genomes)


def test_pack_and_unpack_keep_each_network_weights_in_genome_order():
    genomes = mixed_population()
    graph = PopulationGraph(genomes)
    unpacked = graph.unpack(*graph.pack([g.weights for g in genomes]))
    for g, weights in zip(genomes, unpacked, strict=True):
        np.testing.assert_array_equal(weights, g.weights)


def test_networks_must_share_inputs_and_outputs():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="same inputs and outputs"):
        PopulationGraph([grown(rng, 0), grown(rng, 0, num_outputs=3)])


# --- edge cases found by mutation testing (benchmarks/mutation.py) -------------------------


def single_connection(source: int, output: int) -> Genome:
    """A network whose only connection goes from input ``source`` to output ``output``."""
    layer = np.array([0] * NUM_INPUTS + [1] * NUM_OUTPUTS)
    return Genome(
        NUM_INPUTS,
        NUM_OUTPUTS,
        layer,
        np.array([[source, NUM_INPUTS + output]]),
        np.array([0.7], dtype=np.float32),
    )


@pytest.mark.parametrize("rule", ["backprop", "hebbian"])
def test_networks_with_a_single_connection_or_none_at_all_train_as_alone(rule):
    empty = initial_genome(
        NUM_INPUTS, NUM_OUTPUTS, 0.0, np.random.default_rng(0), with_weights=True
    )
    cases = [
        [single_connection(2, 1)],
        [single_connection(0, 3), *mixed_population(4)[:3]],
        [empty],
        [empty, empty],  # no network has a connection
    ]
    x, y = toy_data(64)
    config = train_config(learning_rule=rule, batch_size=16, num_epochs=1)
    orders = batches(len(x), config)
    for genomes in cases:
        logits = WLNNPopulation(genomes).forward(x).detach()
        for p, g in enumerate(genomes):
            alone, _ = WLNNNetwork(g).forward(x)
            np.testing.assert_allclose(logits[:, p], alone.detach(), rtol=1e-6, atol=1e-7)
        fast = train_population(genomes, x, y, config, streams_for(genomes), orders)
        reference = [
            train_genome(g, x, y, config, rng, orders)
            for g, rng in zip(genomes, streams_for(genomes), strict=True)
        ]
        assert_same_training(fast, reference, config.batch_size)
    # The single connection learns; an output without connections stays at 0.
    (result,) = train_population(cases[0], x, y, config, streams_for(cases[0]), orders)
    assert result.learned_weights[0] != np.float32(0.7)
    assert not WLNNPopulation(cases[2]).forward(x).any()


def test_learned_weights_are_float32_in_genome_order_in_both_paths():
    genomes = mixed_population(5)
    model = WLNNNetwork(genomes[1])
    assert model.learned_weights().dtype == np.float32
    np.testing.assert_array_equal(model.learned_weights(), genomes[1].weights)
    for weights, g in zip(WLNNPopulation(genomes).learned_weights(), genomes, strict=True):
        assert weights.dtype == np.float32
        np.testing.assert_array_equal(weights, g.weights)
