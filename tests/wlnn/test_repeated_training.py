"""Training is a function of its inputs: two trainings in a row with the same networks, data,
options, streams and mini-batches give bit for bit the same result, in the population-wide
fast path (``train_population``, what every worker calls once per generation) and in the
per-network reference (``train_genome``). Nothing of one training (optimizer state: Adam's
moments and step count, Adadelta's running averages; buffers; weights changed in place) may
reach the next, nor may training change the genomes it was given.
"""

import numpy as np
import pytest
import torch

from evolearn.genome import add_connection, add_node, compact_layers, initial_genome
from evolearn.testing import train_config
from evolearn.wlnn.learning import LEARNING_RULES, OPTIMIZERS, draw_batch_orders, train_genome
from evolearn.wlnn.population import train_population

#: Every rule and every optimizer, the stateful ones (Adam's moments and step count,
#: Adadelta's running averages) with the rules that train hidden weights.
CASES = [
    ("backprop", "adam"),
    ("feedback_alignment", "adam"),
    ("hebbian", "adadelta"),
    ("last_layer", "sgd"),
]


def population(seed=0, size=4):
    rng = np.random.default_rng(seed)
    genomes = []
    for _ in range(size):
        genome = initial_genome(6, 4, 0.7, rng, with_weights=True)
        for _ in range(3):
            genome = add_connection(compact_layers(add_node(genome, rng)), rng)
        genomes.append(genome)
    return genomes


def toy_data(n=48):
    g = torch.Generator().manual_seed(0)
    x = torch.rand(n, 6, generator=g)
    y = (x[:, 0] + x[:, 1] > x[:, 2] + x[:, 3]).long() + 2 * (x[:, 4] > 0.5).long()
    return x, y


def fast(genomes, x, y, config, orders):
    rngs = [np.random.default_rng([7, i]) for i in range(len(genomes))]
    return train_population(genomes, x, y, config, rngs, orders)


def reference(genomes, x, y, config, orders):
    return [
        train_genome(g, x, y, config, np.random.default_rng([7, i]), orders)
        for i, g in enumerate(genomes)
    ]


def assert_identical(a, b):
    assert len(a) == len(b)
    for f, r in zip(a, b, strict=True):
        np.testing.assert_array_equal(f.learned_weights, r.learned_weights)
        np.testing.assert_array_equal(f.record.losses, r.record.losses)
        np.testing.assert_array_equal(f.record.accs, r.record.accs)
        assert (f.reward, f.acc) == (r.reward, r.acc)


@pytest.mark.parametrize("train", [fast, reference], ids=["population", "reference"])
@pytest.mark.parametrize("rule, optimizer", CASES)
def test_two_trainings_in_a_row_give_the_same_result(train, optimizer, rule):
    genomes = population()
    weights = [g.weights.copy() for g in genomes]
    x, y = toy_data()
    config = train_config(
        learning_rule=rule, optimizer=optimizer, lr=0.05, batch_size=16, num_epochs=2
    )
    orders = draw_batch_orders(len(x), 16, 2, torch.Generator().manual_seed(1))
    first = train(genomes, x, y, config, orders)
    second = train(genomes, x, y, config, orders)
    assert_identical(first, second)
    for genome, before in zip(genomes, weights, strict=True):  # the genomes were not changed
        np.testing.assert_array_equal(genome.weights, before)
    # The networks did learn, so a state carried over would have had something to carry.
    changes = [np.abs(r.learned_weights - w).max() for r, w in zip(first, weights, strict=True)]
    assert max(changes) > 1e-3


def test_the_cases_cover_every_rule_and_optimizer():
    assert {r for r, _ in CASES} == set(LEARNING_RULES)
    assert {o for _, o in CASES} == set(OPTIMIZERS)


def test_a_training_in_between_changes_nothing_of_the_next():
    # As in a worker: one generation's chunk after another's, with another population, other
    # options and other batches in between.
    x, y = toy_data()
    config = train_config(
        learning_rule="backprop", optimizer="adam", lr=0.05, batch_size=16, num_epochs=2
    )
    orders = draw_batch_orders(len(x), 16, 2, torch.Generator().manual_seed(1))
    alone = fast(population(0), x, y, config, orders)
    other = train_config(
        learning_rule="feedback_alignment", optimizer="adam", lr=0.5, batch_size=8, num_epochs=1
    )
    fast(population(1, size=7), x, y, other, draw_batch_orders(len(x), 8, 1, torch.Generator()))
    fast(population(0), x, y, config, orders[[1, 0]])
    assert_identical(fast(population(0), x, y, config, orders), alone)
