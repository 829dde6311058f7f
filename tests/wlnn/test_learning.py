import numpy as np
import pytest
import torch

from evolearn.genome import Genome, add_node, compact_layers, initial_genome, random_weights
from evolearn.testing import train_config
from evolearn.wlnn.learning import (
    EVALUATION_PERIODS,
    LEARNING_RULES,
    Trainer,
    TrainingRecord,
    draw_batch_orders,
    train_genome,
    training_generators,
)
from evolearn.wlnn.network import WLNNNetwork, draw_feedback_weights, layer_sorted_connections


def toy_data(n=256, num_inputs=6, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, num_inputs, generator=g)
    y = (x[:, 0] + x[:, 1] > x[:, 2] + x[:, 3]).long() + 2 * (x[:, 4] > 0.5).long()
    return x, y


def deep_genome(seed=0, num_inputs=6, num_outputs=4, steps=12):
    rng = np.random.default_rng(seed)
    g = initial_genome(num_inputs, num_outputs, 0.8, rng, with_weights=True)
    for _ in range(steps):
        g = compact_layers(add_node(g, rng))
    assert g.num_hidden > 0
    return g.with_weights(random_weights(rng, g.num_connections))


def reference_forward(genome: Genome, x: np.ndarray) -> np.ndarray:
    """Neuron by neuron, straight from the definition: relu hidden, linear outputs."""
    act = np.zeros((len(x), genome.num_neurons))
    act[:, : genome.num_inputs] = x
    for l in range(1, genome.num_layers):
        for n in np.flatnonzero(genome.layer == l):
            into = genome.connections[:, 1] == n
            z = act[:, genome.connections[into, 0]] @ genome.weights[into]
            act[:, n] = z if l == genome.num_layers - 1 else np.maximum(z, 0)
    return act[:, genome.num_inputs : genome.num_inputs + genome.num_outputs]


def hidden_mask(genome):
    return genome.layer[genome.connections[:, 1]] < genome.num_layers - 1


def test_forward_pass_matches_the_neuron_by_neuron_definition():
    g = deep_genome()
    x, _ = toy_data(32)
    logits, _ = WLNNNetwork(g).forward(x)
    expected = reference_forward(g, x.double().numpy())
    np.testing.assert_allclose(logits.numpy(), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("rule", sorted(LEARNING_RULES))
def test_every_rule_changes_only_existing_connections(rule):
    g = deep_genome(1)
    x, y = toy_data()
    model = WLNNNetwork(g)
    trainer = Trainer(
        model, train_config(learning_rule=rule, batch_size=32), np.random.default_rng(0)
    )
    trainer.train_epoch(x, y)
    # Every dense matrix the forward pass uses is non-zero only where a connection exists.
    for values, layers in ((model.w_hidden, model.layers[:-1]), (model.w_out, model.layers[-1:])):
        for layer in layers:
            rows, cols, _, _, shape = layer
            allowed = torch.zeros(shape, dtype=torch.bool)
            allowed[rows, cols] = True
            assert not model._matrix(values.detach(), layer)[~allowed].any()
    learned = model.learned_weights()
    assert learned.shape == g.weights.shape
    changed = learned != g.weights
    hidden = hidden_mask(g)
    from_input = g.connections[:, 0] < g.num_inputs
    assert changed[~hidden & from_input].all()  # every rule trains the output weights
    if rule == "last_layer":
        assert not changed[hidden].any()
    else:
        assert changed[hidden].any()


@pytest.mark.parametrize("rule", ["backprop", "feedback_alignment", "hebbian"])
def test_train_only_outputs_freezes_hidden_weights_for_every_rule(rule):
    g = deep_genome(2)
    x, y = toy_data()
    config = train_config(learning_rule=rule, batch_size=32, num_epochs=1, train_only_outputs=True)
    result = train_genome(g, x, y, config, np.random.default_rng(0))
    hidden = hidden_mask(g)
    np.testing.assert_array_equal(result.learned_weights[hidden], g.weights[hidden])
    from_input = g.connections[:, 0] < g.num_inputs
    changed = result.learned_weights != g.weights
    assert changed[~hidden & from_input].all()


def test_feedback_alignment_equals_backprop_without_hidden_layer():
    g = initial_genome(6, 4, 0.7, np.random.default_rng(0), with_weights=True)
    x, y = toy_data()
    runs = [
        train_genome(
            g,
            x,
            y,
            train_config(learning_rule=rule, batch_size=32, num_epochs=2),
            np.random.default_rng(7),
        )
        for rule in ("backprop", "feedback_alignment")
    ]
    np.testing.assert_array_equal(runs[0].learned_weights, runs[1].learned_weights)
    np.testing.assert_array_equal(runs[0].record.losses, runs[1].record.losses)


def test_feedback_alignment_differs_from_backprop_with_a_hidden_layer():
    g = deep_genome(3)
    x, y = toy_data()
    runs = [
        train_genome(
            g,
            x,
            y,
            train_config(learning_rule=rule, batch_size=32, num_epochs=1),
            np.random.default_rng(7),
        )
        for rule in ("backprop", "feedback_alignment")
    ]
    hidden = hidden_mask(g)
    assert not np.allclose(runs[0].learned_weights[hidden], runs[1].learned_weights[hidden])


def test_feedback_alignment_sends_errors_through_the_feedback_matrix():
    # Input 0 -> hidden 2 -> output 1. With FA the hidden weight's gradient is
    # delta_out * b * relu'(z) * x, with b the feedback weight instead of the output weight.
    g = Genome(
        1,
        1,
        np.array([0, 2, 1]),
        np.array([[0, 2], [2, 1]]),
        np.array([0.5, 0.3], dtype=np.float32),
    )
    model = WLNNNetwork(g)
    model.feedback_hidden = torch.tensor([7.0])  # sends errors to the inputs: no effect here
    model.feedback_out = torch.tensor([-2.0])
    model.w_hidden.requires_grad_(True)
    model.w_out.requires_grad_(True)
    x = torch.tensor([[2.0]])
    logits, _ = model.forward(x)
    logits.sum().backward()  # d logits / d logits = 1
    # z_hidden = 0.5 * 2 = 1 > 0, so relu' = 1: grad = 1 * (-2) * 1 * 2 = -4 (backprop: 0.6).
    assert model.w_hidden.grad.item() == pytest.approx(-4.0)
    assert model.w_out.grad.item() == pytest.approx(1.0)  # = hidden activity


def test_oja_rule_on_a_hand_computed_example():
    # Inputs 0, 1 -> hidden 3 (weights 0.5, 0.25) -> output 2 (weight 1.0).
    g = Genome(
        2,
        1,
        np.array([0, 0, 2, 1]),
        np.array([[0, 3], [1, 3], [3, 2]]),
        np.array([0.5, 0.25, 1.0], dtype=np.float32),
    )
    model = WLNNNetwork(g)
    x = torch.tensor([[1.0, 2.0], [2.0, 0.0]])
    _, activities = model.forward(x)
    # y = relu(0.5 x0 + 0.25 x1) = [1.0, 1.0]
    # mean(y x) = [(1*1 + 1*2)/2, (1*2 + 1*0)/2] = [1.5, 1.0]; mean(y^2) = 1
    # dW = lr * ([1.5, 1.0] - 1 * [0.5, 0.25]) = lr * [1.0, 0.75]
    model.oja_step(activities, lr=0.1)
    np.testing.assert_allclose(model.learned_weights(), [0.6, 0.325, 1.0], rtol=1e-6)


def test_hebbian_training_applies_oja_after_the_optimizer_step_on_the_batch_activities():
    g = Genome(
        2,
        1,
        np.array([0, 0, 2, 1]),
        np.array([[0, 3], [1, 3], [3, 2]]),
        np.array([0.5, 0.25, 1.0], dtype=np.float32),
    )
    x = torch.tensor([[1.0, 2.0], [2.0, 0.0]])
    y = torch.tensor([0, 0])
    config = train_config(learning_rule="hebbian", optimizer="sgd", lr=0.1, batch_size=2)
    model = WLNNNetwork(g)
    Trainer(model, config, np.random.default_rng(0)).train_epoch(x, y)
    # One output: cross-entropy is 0 and the output weight keeps its value; Oja as above.
    np.testing.assert_allclose(model.learned_weights(), [0.6, 0.325, 1.0], rtol=1e-6)


def test_evaluation_periods_on_a_hand_made_record():
    losses = np.array([[4.0, 3.0, 2.0, 1.0], [0.8, 0.6, 0.4, 0.2], [0.5, 0.5, 0.5, 0.1]])
    accs = 1 - losses / 10
    record = TrainingRecord(losses, accs)
    expected_losses = {
        "integral": losses.mean(),
        "last_epoch": 0.4,
        "last_batch": 0.1,
        "last_ten_batches": (2 + 1 + 0.8 + 0.6 + 0.4 + 0.2 + 0.5 + 0.5 + 0.5 + 0.1) / 10,
        "first_ten_batches": (4 + 3 + 2 + 1 + 0.8 + 0.6 + 0.4 + 0.2 + 0.5 + 0.5) / 10,
    }
    assert set(EVALUATION_PERIODS) == set(expected_losses)
    for period, loss in expected_losses.items():
        reward, acc = record.score(period)
        assert reward == pytest.approx(-loss), period
        assert acc == pytest.approx(1 - loss / 10), period


def test_training_is_reproducible_under_the_same_random_stream():
    g = deep_genome(4)
    x, y = toy_data()
    config = train_config(learning_rule="feedback_alignment", batch_size=16, num_epochs=2)
    a = train_genome(g, x, y, config, np.random.default_rng(11))
    b = train_genome(g, x, y, config, np.random.default_rng(11))
    np.testing.assert_array_equal(a.learned_weights, b.learned_weights)
    assert a.reward == b.reward
    other = train_genome(g, x, y, config, np.random.default_rng(12))  # another stream
    assert not np.array_equal(a.learned_weights, other.learned_weights)


def test_an_epoch_uses_floor_n_over_batch_size_full_batches():
    g = deep_genome(5)
    x, y = toy_data(100)
    result = train_genome(
        g, x, y, train_config(batch_size=30, num_epochs=3), np.random.default_rng(0)
    )
    assert result.record.losses.shape == (3, 3)


def test_backprop_learns_the_toy_task():
    g = deep_genome(6)
    x, y = toy_data(512)
    result = train_genome(
        g, x, y, train_config(batch_size=32, num_epochs=15, lr=0.03), np.random.default_rng(0)
    )
    first_epoch_loss = result.record.losses[0].mean()
    assert -result.reward < 0.85 * first_epoch_loss  # last_epoch loss


def test_batch_orders_are_full_batches_of_a_new_permutation_each_epoch():
    orders = draw_batch_orders(100, 30, 3, torch.Generator().manual_seed(0))
    assert orders.shape == (3, 3, 30)
    for epoch in orders:
        assert len(set(epoch.reshape(-1).tolist())) == 90  # no example twice in an epoch
        assert epoch.min() >= 0 and epoch.max() < 100
    assert not torch.equal(orders[0], orders[1])


def test_given_batches_train_like_the_batches_the_trainer_draws_itself():
    g = deep_genome(7)
    x, y = toy_data(200)
    config = train_config(learning_rule="feedback_alignment", batch_size=32, num_epochs=2)
    own = train_genome(g, x, y, config, np.random.default_rng(3))
    batch_generator, _ = training_generators(np.random.default_rng(3))
    orders = draw_batch_orders(len(x), config.batch_size, config.num_epochs, batch_generator)
    given = train_genome(g, x, y, config, np.random.default_rng(3), orders)
    np.testing.assert_array_equal(own.learned_weights, given.learned_weights)
    np.testing.assert_array_equal(own.record.losses, given.record.losses)
    other = draw_batch_orders(len(x), config.batch_size, config.num_epochs, torch.Generator())
    moved = train_genome(g, x, y, config, np.random.default_rng(3), other)
    assert not np.array_equal(own.record.losses, moved.record.losses)


def test_batch_orders_must_cover_every_epoch():
    g = deep_genome(8)
    x, y = toy_data(64)
    orders = draw_batch_orders(64, 16, 1, torch.Generator())
    with pytest.raises(ValueError, match="epochs"):
        train_genome(
            g, x, y, train_config(batch_size=16, num_epochs=2), np.random.default_rng(), orders
        )


def test_feedback_weights_are_one_per_connection_drawn_in_layer_sorted_order():
    g = deep_genome(9)
    model = WLNNNetwork(g)
    model.draw_feedback(torch.Generator().manual_seed(5))
    in_genome_order = draw_feedback_weights(g, torch.Generator().manual_seed(5))
    assert in_genome_order.shape == (g.num_connections,)
    perm = layer_sorted_connections(g)
    drawn = torch.randn(g.num_connections, generator=torch.Generator().manual_seed(5))
    np.testing.assert_array_equal(in_genome_order.numpy()[perm], drawn.numpy())
    np.testing.assert_array_equal(
        torch.cat([model.feedback_hidden, model.feedback_out]).numpy(), drawn.numpy()
    )
