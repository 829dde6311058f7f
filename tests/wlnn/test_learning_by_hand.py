"""The learning rules on examples small enough to compute by hand, in both implementations: the
per-network reference (wlnn/learning.py, wlnn/network.py) and the population-wide fast path
(wlnn/population.py, wlnn/graph.py).

Each example is chosen so that a plausible wrong formula gives another number:

- Oja's rule with two hidden layers, neurons of different activities and a relu that cuts:
  ``mean(y x)`` differs from ``mean(y) mean(x)``, ``mean(y^2)`` from ``mean(y)^2``, and the
  decay is per connection;
- feedback alignment with two hidden layers: the error that reaches the first hidden layer
  travels through the hidden feedback weight, which differs from the forward weight;
- mini-batch counts where ``floor(N / B)``, ``floor((N - 1) / B)`` and ``ceil(N / B)`` differ.
"""

import numpy as np
import pytest
import torch

from evolearn.experiment.options import OPTIONS
from evolearn.genome import Genome
from evolearn.testing import train_config
from evolearn.wlnn.learning import TrainConfig, Trainer, draw_batch_orders, train_genome
from evolearn.wlnn.network import WLNNNetwork
from evolearn.wlnn.population import WLNNPopulation, train_population

PATHS = ["reference", "population"]


def oja_network() -> Genome:
    """Inputs 0, 1; output 2; hidden 3, 4 (layer 1) and 5 (layer 2).

    Connections (genome order): 0->3 (0.5), 1->3 (0.25), 0->4 (-0.5), 1->4 (1.0),
    3->5 (0.5), 4->5 (1.0), 5->2 (1.0), 3->2 (0.5).
    """
    return Genome(
        2,
        1,
        np.array([0, 0, 3, 1, 1, 2]),
        np.array([[0, 3], [1, 3], [0, 4], [1, 4], [3, 5], [4, 5], [5, 2], [3, 2]]),
        np.array([0.5, 0.25, -0.5, 1.0, 0.5, 1.0, 1.0, 0.5], dtype=np.float32),
    )


OJA_X = [[1.0, 2.0], [2.0, 0.0], [3.0, 1.0]]


def oja_by_hand(lr: float) -> np.ndarray:
    """The weights after one Oja step on the batch OJA_X, worked out by hand."""
    # y3 = relu(0.5 x0 + 0.25 x1)  = [1.0, 1.0, 1.75]
    # y4 = relu(-0.5 x0 + 1.0 x1)  = [1.5, 0.0, 0.0]    (-0.5 * 3 + 1 = -0.5 is cut)
    # y5 = relu(0.5 y3 + 1.0 y4)   = [2.0, 0.5, 0.875]
    # dW = lr * (mean(y x) - mean(y^2) * W), over the batch of three
    mean_y3y3 = (1 + 1 + 1.75**2) / 3  # 1.6875
    mean_y4y4 = (1.5**2 + 0 + 0) / 3  # 0.75
    mean_y5y5 = (2.0**2 + 0.5**2 + 0.875**2) / 3  # 1.671875
    dw = [
        (1 * 1 + 1 * 2 + 1.75 * 3) / 3 - mean_y3y3 * 0.5,  # 0->3: 2.75 - 0.84375
        (1 * 2 + 1 * 0 + 1.75 * 1) / 3 - mean_y3y3 * 0.25,  # 1->3: 1.25 - 0.421875
        (1.5 * 1 + 0 * 2 + 0 * 3) / 3 - mean_y4y4 * -0.5,  # 0->4: 0.5 + 0.375
        (1.5 * 2 + 0 * 0 + 0 * 1) / 3 - mean_y4y4 * 1.0,  # 1->4: 1.0 - 0.75
        (2.0 * 1 + 0.5 * 1 + 0.875 * 1.75) / 3 - mean_y5y5 * 0.5,  # 3->5: 1.34375 - 0.8359375
        (2.0 * 1.5 + 0.5 * 0 + 0.875 * 0) / 3 - mean_y5y5 * 1.0,  # 4->5: 1.0 - 1.671875
        0.0,  # 5->2: an output weight, not Oja's
        0.0,  # 3->2: an output weight
    ]
    return oja_network().weights + lr * np.array(dw)


def test_the_oja_example_tells_the_right_formula_from_the_product_of_means():
    # The example is a test only if the wrong formulas give other numbers.
    right = oja_by_hand(0.1)
    y3, x0 = np.array([1.0, 1.0, 1.75]), np.array([1.0, 2.0, 3.0])
    assert (y3 * x0).mean() != pytest.approx(y3.mean() * x0.mean())
    assert (y3**2).mean() != pytest.approx(y3.mean() ** 2)
    np.testing.assert_allclose(
        right[:6], [0.690625, 0.3328125, -0.4125, 1.025, 0.55078125, 0.9328125]
    )


def oja_step(path: str, genome: Genome, x: torch.Tensor, lr: float) -> np.ndarray:
    if path == "reference":
        model = WLNNNetwork(genome)
        _, activities = model.forward(x)
        model.oja_step(activities, lr)
        return model.learned_weights()
    population = WLNNPopulation([genome])
    saved: dict = {}
    population.forward(x, saved)
    population.graph.oja_step(population.w_hidden, saved["activities"], saved["sources"], lr)
    return population.learned_weights()[0]


@pytest.mark.parametrize("path", PATHS)
def test_oja_rule_by_hand_with_two_hidden_layers(path):
    learned = oja_step(path, oja_network(), torch.tensor(OJA_X), lr=0.1)
    np.testing.assert_allclose(learned, oja_by_hand(0.1), rtol=1e-6, atol=1e-7)


def hebbian_network() -> Genome:
    """The network of oja_network with a second output (neuron 3): hidden 3, 4, 5 become
    4, 5, 6; outputs 2 (from 6) and 3 (from 4)."""
    return Genome(
        2,
        2,
        np.array([0, 0, 3, 3, 1, 1, 2]),
        np.array([[0, 4], [1, 4], [0, 5], [1, 5], [4, 6], [5, 6], [6, 2], [4, 3]]),
        np.array([0.5, 0.25, -0.5, 1.0, 0.5, 1.0, 1.0, 0.5], dtype=np.float32),
    )


@pytest.mark.parametrize("path", PATHS)
def test_hebbian_training_step_by_hand(path):
    # One hebbian batch with sgd: the optimizer moves only the output weights (by the
    # cross-entropy gradient), then Oja moves the hidden ones with the batch's activities,
    # which were computed before the step.
    genome = hebbian_network()
    x = torch.tensor(OJA_X)
    y = torch.tensor([0, 1, 0])
    config = train_config(
        learning_rule="hebbian", optimizer="sgd", lr=0.1, batch_size=3, num_epochs=1
    )
    orders = torch.tensor([[[0, 1, 2]]])
    if path == "reference":
        learned = train_genome(genome, x, y, config, np.random.default_rng(0), orders)
    else:
        (learned,) = train_population([genome], x, y, config, [np.random.default_rng(0)], orders)
    # Hidden: same activities as in oja_by_hand (neurons renumbered).
    expected_hidden = oja_by_hand(0.1)[:6]
    # Outputs: logits l2 = 1.0 * y6, l3 = 0.5 * y4, with y6 = [2, 0.5, 0.875], y4 = [1, 1, 1.75].
    y6 = np.array([2.0, 0.5, 0.875])
    y4 = np.array([1.0, 1.0, 1.75])
    logits = np.stack([1.0 * y6, 0.5 * y4], axis=1)
    p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    target = np.eye(2)[[0, 1, 0]]
    delta = (p - target) / 3  # d mean cross-entropy / d logits
    grad_62 = (delta[:, 0] * y6).sum()
    grad_43 = (delta[:, 1] * y4).sum()
    expected = np.concatenate([expected_hidden, [1.0 - 0.1 * grad_62, 0.5 - 0.1 * grad_43]])
    np.testing.assert_allclose(learned.learned_weights, expected, rtol=1e-5, atol=1e-6)
    assert learned.record.losses[0, 0] == pytest.approx(-np.log(p[[0, 1, 2], [0, 1, 0]]).mean())


def fa_network() -> Genome:
    """Input 0; output 1; hidden 2, 3 (layer 1) and 4 (layer 2).

    Connections: 0->2 (0.5), 0->3 (-1.0), 2->4 (0.4), 3->4 (2.0), 4->1 (0.3), 2->1 (0.7).
    Neuron 3 is cut by relu (its input is -2), so its weights get no error.
    """
    return Genome(
        1,
        1,
        np.array([0, 3, 1, 1, 2]),
        np.array([[0, 2], [0, 3], [2, 4], [3, 4], [4, 1], [2, 1]]),
        np.array([0.5, -1.0, 0.4, 2.0, 0.3, 0.7], dtype=np.float32),
    )


#: Feedback weights, one per connection in genome order: different from the forward weights.
FA_FEEDBACK = np.array([7.0, 5.0, 3.0, -4.0, -2.0, 1.5], dtype=np.float32)


def gradients(path: str, genome: Genome, x: torch.Tensor, feedback) -> np.ndarray:
    """Gradient of the sum of the logits with respect to every weight, in genome order."""
    hidden = genome.layer[genome.connections[:, 1]] < genome.num_layers - 1
    grads = np.empty(genome.num_connections)
    if path == "reference":
        model = WLNNNetwork(genome)
        if feedback is not None:
            b = torch.as_tensor(feedback)[torch.as_tensor(model._perm)]
            model.feedback_hidden = b[: model.num_hidden_connections]
            model.feedback_out = b[model.num_hidden_connections :]
        model.w_hidden.requires_grad_(True)
        model.w_out.requires_grad_(True)
        logits, _ = model.forward(x)
        logits.sum().backward()
        by_layer = torch.cat([model.w_hidden.grad, model.w_out.grad]).numpy()
        grads[model._perm] = by_layer
        return grads
    population = WLNNPopulation([genome])
    if feedback is not None:
        population.set_feedback([feedback])
    population.w_hidden.requires_grad_(True)
    population.w_out.requires_grad_(True)
    population.forward(x).sum().backward()
    grads[hidden] = population.w_hidden.grad.numpy()
    grads[~hidden] = population.w_out.grad.numpy()
    return grads


# Forward pass at x = 2: z2 = 1.0, a2 = 1.0; z3 = -2, a3 = 0 (cut); z4 = 0.4 * 1 + 2 * 0 = 0.4,
# a4 = 0.4; logit = 0.3 * 0.4 + 0.7 * 1.0 = 0.82. The error at the logit is 1.
BACKPROP_BY_HAND = [
    # 0->2: error at 2 = 1 * w21 + (1 * w41 * relu'(z4)) * w24 = 0.7 + 0.3 * 0.4 = 0.82; * x
    (0.7 + 0.3 * 0.4) * 2.0,
    0.0,  # 0->3: relu'(z3) = 0
    0.3 * 1.0,  # 2->4: error at 4 = w41 = 0.3, times a2
    0.3 * 0.0,  # 3->4: a3 = 0
    0.4,  # 4->1: a4
    1.0,  # 2->1: a2
]
FEEDBACK_ALIGNMENT_BY_HAND = [
    # 0->2: error at 2 = 1 * b21 + (1 * b41 * relu'(z4)) * b24 = 1.5 + (-2) * 3 = -4.5; * x
    (1.5 + (-2.0) * 3.0) * 2.0,
    0.0,  # 0->3: cut by relu
    -2.0 * 1.0,  # 2->4: error at 4 = b41 = -2, times a2
    0.0,  # 3->4: a3 = 0
    0.4,  # 4->1: the output weights see the true error: a4
    1.0,  # 2->1: a2
]


@pytest.mark.parametrize("path", PATHS)
def test_backprop_gradients_by_hand_with_two_hidden_layers(path):
    grads = gradients(path, fa_network(), torch.tensor([[2.0]]), None)
    np.testing.assert_allclose(grads, BACKPROP_BY_HAND, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("path", PATHS)
def test_feedback_alignment_sends_errors_between_hidden_layers_through_the_feedback_weights(
    path,
):
    grads = gradients(path, fa_network(), torch.tensor([[2.0]]), FA_FEEDBACK)
    np.testing.assert_allclose(grads, FEEDBACK_ALIGNMENT_BY_HAND, rtol=1e-6, atol=1e-7)
    # Errors sent through W between the hidden layers would give 0->2 another gradient:
    # (1.5 + (-2) * 0.4) * 2 = 1.4.
    assert grads[0] != pytest.approx((1.5 + (-2.0) * 0.4) * 2.0)


@pytest.mark.parametrize("path", PATHS)
def test_feedback_alignment_gradients_on_a_batch_add_up_over_the_examples(path):
    # Two examples, x = 2 and x = -1: at x = -1, neuron 2 is cut (z2 = -0.5), neuron 3 is on
    # (z3 = 1, a3 = 1), z4 = 2 * 1 = 2; logit errors 1 each.
    grads = gradients(path, fa_network(), torch.tensor([[2.0], [-1.0]]), FA_FEEDBACK)
    second = [
        0.0,  # 0->2: cut at x = -1
        (-2.0 * -4.0) * -1.0,  # 0->3: error at 3 = b41 * b34 = 8, times x = -1
        0.0,  # 2->4: a2 = 0
        -2.0 * 1.0,  # 3->4: error at 4 (-2) times a3 (1)
        2.0,  # 4->1: a4
        0.0,  # 2->1: a2
    ]
    np.testing.assert_allclose(
        grads, np.add(FEEDBACK_ALIGNMENT_BY_HAND, second), rtol=1e-6, atol=1e-6
    )


# --- mini-batches ------------------------------------------------------------------------

# (examples, batch size, full batches): floor(N / B); floor((N - 1) / B) and ceil(N / B) give
# one less or one more on each of these.
BATCH_COUNTS = [(100, 25, 4), (101, 25, 4), (99, 33, 3), (24, 25, 0), (50, 7, 7)]


@pytest.mark.parametrize("n, batch_size, expected", BATCH_COUNTS)
def test_batch_orders_have_floor_n_over_b_full_batches(n, batch_size, expected):
    orders = draw_batch_orders(n, batch_size, 2, torch.Generator().manual_seed(0))
    assert orders.shape == (2, expected, batch_size)
    for epoch in orders:
        assert len(set(epoch.reshape(-1).tolist())) == expected * batch_size


@pytest.mark.parametrize("n, batch_size, expected", [c for c in BATCH_COUNTS if c[2] > 0])
def test_every_path_trains_floor_n_over_b_batches_an_epoch(n, batch_size, expected):
    genome = fa_network()
    x = torch.linspace(-1, 2, n)[:, None]
    y = torch.zeros(n, dtype=torch.long)
    config = train_config(batch_size=batch_size, num_epochs=2)
    model = WLNNNetwork(genome)
    losses, _ = Trainer(model, config, np.random.default_rng(0)).train_epoch(x, y)
    assert losses.shape == (expected,)
    own = train_genome(genome, x, y, config, np.random.default_rng(0))
    assert own.record.losses.shape == (2, expected)
    orders = draw_batch_orders(n, batch_size, 2, torch.Generator().manual_seed(1))
    (fast,) = train_population([genome], x, y, config, [np.random.default_rng(0)], orders)
    assert fast.record.losses.shape == (2, expected)


@pytest.mark.parametrize("path", PATHS)
def test_oja_rule_on_a_network_with_a_single_hidden_connection(path):
    # Input 0 -> hidden 2 (w = 0.5) -> output 1 (1.0); x = [2, 4]: y = [1, 2];
    # dW = lr * (mean(y x) - mean(y^2) w) = 0.1 * ((2 + 8) / 2 - (1 + 4) / 2 * 0.5) = 0.375
    genome = Genome(
        1,
        1,
        np.array([0, 2, 1]),
        np.array([[0, 2], [2, 1]]),
        np.array([0.5, 1.0], dtype=np.float32),
    )
    learned = oja_step(path, genome, torch.tensor([[2.0], [4.0]]), lr=0.1)
    np.testing.assert_allclose(learned, [0.5 + 0.1 * (5.0 - 2.5 * 0.5), 1.0], rtol=1e-6)


def test_train_config_from_params_takes_each_training_option_and_refuses_a_missing_one():
    given = {
        "learning_rule": "feedback_alignment",
        "optimizer": "sgd",
        "lr": 0.5,
        "batch_size": 7,
        "num_epochs": 3,
        "train_only_outputs": True,
        "evaluation_period": "integral",
        "population_size": 10,  # not a training option: ignored
    }
    assert TrainConfig.from_params(given) == TrainConfig(
        learning_rule="feedback_alignment",
        optimizer="sgd",
        lr=0.5,
        batch_size=7,
        num_epochs=3,
        train_only_outputs=True,
        evaluation_period="integral",
    )
    for name in given:
        if name in ("population_size", "evaluation_period"):
            continue
        partial = {k: v for k, v in given.items() if k != name}
        with pytest.raises(ValueError, match=f"lack the training option '{name}'"):
            TrainConfig.from_params(partial)
    # A script that does not score its training has no evaluation period.
    without_period = {k: v for k, v in given.items() if k != "evaluation_period"}
    assert TrainConfig.from_params(without_period).evaluation_period is None


def test_train_config_of_the_tests_takes_the_option_defaults():
    config = train_config(lr=0.5)
    assert config.lr == 0.5
    for name in ("learning_rule", "optimizer", "batch_size", "num_epochs", "evaluation_period"):
        assert getattr(config, name) == OPTIONS[name].default, name
    assert config.num_epochs == 1  # the option's default (TrainConfig once said 5)


def test_connections_sorted_by_target_layer_keep_their_order_within_a_layer():
    from evolearn.genome import add_node, compact_layers, initial_genome
    from evolearn.wlnn.learning import torch_generator
    from evolearn.wlnn.network import layer_sorted_connections

    rng = np.random.default_rng(0)
    g = initial_genome(8, 4, 0.9, rng, with_weights=True)
    for _ in range(15):
        g = compact_layers(add_node(g, rng))
    assert g.num_connections > 40  # long enough for an unstable sort to reorder ties
    target_layer = g.layer[g.connections[:, 1]]
    stable = sorted(range(g.num_connections), key=lambda c: target_layer[c])  # Python: stable
    assert layer_sorted_connections(g).tolist() == stable
    # The torch streams are seeded with one draw below 2**63 - 1 from the network's stream.
    seed = int(np.random.default_rng(4).integers(2**63 - 1))
    assert seed > 2**40  # a draw from the whole range
    assert torch_generator(np.random.default_rng(4)).initial_seed() == seed


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("period", ["last_epoch", "first_ten_batches"])
def test_a_training_result_scores_its_record_by_the_period(path, period):
    genome = hebbian_network()
    x = torch.stack([torch.linspace(-1, 2, 96), torch.linspace(2, 0, 96)], dim=1)
    y = (x[:, 0] > 0.5).long()
    config = train_config(batch_size=8, num_epochs=2, evaluation_period=period)
    orders = draw_batch_orders(96, 8, 2, torch.Generator().manual_seed(2))
    if path == "reference":
        result = train_genome(genome, x, y, config, np.random.default_rng(0), orders)
    else:
        (result,) = train_population([genome], x, y, config, [np.random.default_rng(0)], orders)
    losses, accs = result.record.losses, result.record.accs
    assert losses.shape == (2, 12)
    first, last = slice(0, 10), slice(12, 24)
    part = first if period == "first_ten_batches" else last
    assert result.reward == pytest.approx(-losses.reshape(-1)[part].mean(), rel=1e-6)
    assert result.acc == pytest.approx(accs.reshape(-1)[part].mean(), rel=1e-6)
    assert 0.0 <= result.acc <= 1.0


def test_population_losses_and_accuracies_are_means_over_the_batch_by_default():
    from evolearn.wlnn.population import losses_and_accuracies

    # Two networks, two outputs, three examples with labels 0, 1, 1.
    logits = torch.tensor([[[2.0, 0.0, 1.0], [0.0, 1.0, 0.0]], [[0.0, 0.0, 0.0], [1.0, 1.0, 1.0]]])
    y = torch.tensor([0, 1, 1])
    loss, acc = losses_and_accuracies(logits, y)
    ce = lambda a, b: np.log(np.exp(a) + np.exp(b)) - a  # noqa: E731  (-log softmax of a)
    expected_0 = (ce(2.0, 0.0) + ce(1.0, 0.0) + ce(0.0, 1.0)) / 3
    expected_1 = (ce(0.0, 1.0) + ce(1.0, 0.0) + ce(1.0, 0.0)) / 3
    np.testing.assert_allclose(loss.detach().numpy(), [expected_0, expected_1], rtol=1e-6)
    # Network 0 answers 0, 1, 0 (the third is wrong); network 1 answers 1, 1, 1.
    np.testing.assert_allclose(acc.numpy(), [2 / 3, 2 / 3], rtol=1e-6)
    total, correct = losses_and_accuracies(logits, y, "sum")
    np.testing.assert_allclose(total.detach().numpy(), 3 * loss.detach().numpy(), rtol=1e-6)
    assert correct.tolist() == [2.0, 2.0]
