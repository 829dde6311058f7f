"""Feedback alignment's feedback matrices B are drawn once, when training starts, and stay fixed
for every epoch after (SPEC section 4), in both implementations: the per-network reference
(wlnn/learning.py, wlnn/network.py) and the population-wide fast path (wlnn/population.py,
wlnn/graph.py).

A B drawn again each epoch trains the first epoch exactly as a fixed B does, so a test of one
epoch cannot see it: these tests train two.
"""

import numpy as np
import pytest
import torch

from evolearn.genome import Genome, add_connection, add_node, compact_layers, initial_genome
from evolearn.testing import train_config
from evolearn.wlnn.learning import Trainer, draw_batch_orders, train_genome, training_generators
from evolearn.wlnn.network import WLNNNetwork, draw_feedback_weights
from evolearn.wlnn.population import PopulationTrainer, WLNNPopulation, train_population

PATHS = ["reference", "population"]
SEED = 11


def train(path: str, genome: Genome, x, y, config, seed: int, orders):
    """One network trained by one of the two paths, with its own stream ``seed``."""
    if path == "reference":
        return train_genome(genome, x, y, config, np.random.default_rng(seed), orders)
    (result,) = train_population([genome], x, y, config, [np.random.default_rng(seed)], orders)
    return result


def drawn_feedback(genome: Genome, seed: int, draws: int = 1) -> list[np.ndarray]:
    """The feedback weights a network with stream ``seed`` draws when training starts (the
    first), and those a second, third, ... draw from the same stream would give."""
    generator = training_generators(np.random.default_rng(seed))[1]
    return [draw_feedback_weights(genome, generator).numpy() for _ in range(draws)]


def deep_network(seed: int = 4) -> Genome:
    """Two hidden layers and more, so that errors travel through B between hidden layers."""
    rng = np.random.default_rng(seed)
    genome = initial_genome(6, 4, 0.7, rng, with_weights=True)
    for _ in range(5):
        genome = add_connection(compact_layers(add_node(genome, rng)), rng)
    assert genome.num_layers >= 4
    return genome


def toy_data(n=96):
    g = torch.Generator().manual_seed(0)
    x = torch.rand(n, 6, generator=g)
    y = (x[:, 0] + x[:, 1] > x[:, 2] + x[:, 3]).long() + 2 * (x[:, 4] > 0.5).long()
    return x, y


# sgd without momentum keeps no optimizer state, so two single-epoch trainings in a row are
# two epochs of one training exactly when B is the same in both.
FA_SGD = dict(learning_rule="feedback_alignment", optimizer="sgd", lr=0.2, batch_size=16)


@pytest.mark.parametrize("path", PATHS)
def test_two_epochs_equal_one_epoch_continued_with_the_same_feedback_weights(path):
    genome = deep_network()
    x, y = toy_data()
    orders = draw_batch_orders(len(x), 16, 2, torch.Generator().manual_seed(5))
    both = train(path, genome, x, y, train_config(**FA_SGD, num_epochs=2), SEED, orders)
    one_epoch = train_config(**FA_SGD, num_epochs=1)
    first = train(path, genome, x, y, one_epoch, SEED, orders[:1])
    # The same stream draws the same B: the second epoch continues with the B of the first.
    then = genome.with_weights(first.learned_weights)
    second = train(path, then, x, y, one_epoch, SEED, orders[1:])
    np.testing.assert_array_equal(both.record.losses[0], first.record.losses[0])
    np.testing.assert_allclose(both.record.losses[1], second.record.losses[0], rtol=1e-6)
    np.testing.assert_allclose(both.learned_weights, second.learned_weights, rtol=1e-6, atol=1e-7)
    # The check bites: the second epoch with another B (another stream) ends elsewhere.
    other = train(path, then, x, y, one_epoch, SEED + 1, orders[1:])
    assert np.abs(other.learned_weights - second.learned_weights).max() > 1e-3


def test_the_reference_trainer_keeps_the_feedback_weights_drawn_at_the_start():
    genome = deep_network()
    x, y = toy_data()
    model = WLNNNetwork(genome)
    trainer = Trainer(model, train_config(**FA_SGD, num_epochs=3), np.random.default_rng(SEED))
    (expected,) = drawn_feedback(genome, SEED)
    start_hidden, start_out = model.feedback_hidden, model.feedback_out
    for _ in range(3):
        trainer.train_epoch(x, y)
        assert model.feedback_hidden is start_hidden and model.feedback_out is start_out
        b = torch.cat([model.feedback_hidden, model.feedback_out]).numpy()
        np.testing.assert_array_equal(b, expected[model._perm])  # kept in layer-sorted order


def test_the_population_trainer_keeps_the_feedback_weights_it_was_given():
    genomes = [deep_network(4), deep_network(5)]
    x, y = toy_data()
    population = WLNNPopulation(genomes)
    population.set_feedback([drawn_feedback(g, SEED + i)[0] for i, g in enumerate(genomes)])
    start = population.feedback
    values = start.clone()
    trainer = PopulationTrainer(population, train_config(**FA_SGD, num_epochs=3))
    orders = draw_batch_orders(len(x), 16, 3, torch.Generator().manual_seed(5))
    for order in orders:
        trainer.train_epoch(x, y, order)
        assert population.feedback is start
        assert torch.equal(population.feedback, values)


# --- by hand -------------------------------------------------------------------------------


def one_hidden_neuron() -> Genome:
    """Input 0 -> hidden 3 (0.5) -> outputs 1 (0.3) and 2 (-0.2)."""
    return Genome(
        1,
        2,
        np.array([0, 2, 2, 1]),
        np.array([[0, 3], [3, 1], [3, 2]]),
        np.array([0.5, 0.3, -0.2], dtype=np.float32),
    )


def sgd_epochs_by_hand(feedbacks: list[np.ndarray], lr: float, x: float) -> np.ndarray:
    """Weights (genome order) after one sgd step per epoch on the example (x, label 0), epoch
    t sending the error down through ``feedbacks[t]`` (genome order: b03, b31, b32).

    a = relu(w03 x); logits (w31 a, w32 a); p = softmax; the logit errors are
    (p1 - 1, p2) = (-p2, p2); the output weights step by -lr * error * a; the error at the
    hidden neuron is -p2 b31 + p2 b32 = p2 (b32 - b31), and w03 steps by -lr * that * x.
    """
    w03, w31, w32 = 0.5, 0.3, -0.2
    for b in feedbacks:
        a = max(w03 * x, 0.0)
        assert a > 0  # the relu lets the error through
        logits = np.array([w31 * a, w32 * a])
        p2 = np.exp(logits[1]) / np.exp(logits).sum()
        hidden_error = p2 * (b[2] - b[1])
        w03, w31, w32 = w03 - lr * hidden_error * x, w31 + lr * p2 * a, w32 - lr * p2 * a
    return np.array([w03, w31, w32])


@pytest.mark.parametrize("path", PATHS)
def test_two_epochs_of_feedback_alignment_by_hand_use_the_first_b_twice(path):
    genome = one_hidden_neuron()
    x, y = torch.tensor([[2.0]]), torch.tensor([0])
    config = train_config(
        learning_rule="feedback_alignment", optimizer="sgd", lr=1.0, batch_size=1, num_epochs=2
    )
    orders = torch.zeros((2, 1, 1), dtype=torch.int64)  # the one example, every epoch
    result = train(path, genome, x, y, config, SEED, orders)
    first, again = drawn_feedback(genome, SEED, draws=2)
    expected = sgd_epochs_by_hand([first, first], lr=1.0, x=2.0)
    np.testing.assert_allclose(result.learned_weights, expected, rtol=1e-5, atol=1e-6)
    # The example tells a fixed B from one drawn again for the second epoch.
    redrawn = sgd_epochs_by_hand([first, again], lr=1.0, x=2.0)
    assert abs(redrawn[0] - expected[0]) > 0.05
