import math

import numpy as np
import pytest
import torch
from conftest import forward_pass

from evolearn.activations import ACTIVATION_NAMES, BY_NAME, activation_index
from evolearn.genome import Genome, add_connection, add_node, change_activation, initial_genome
from evolearn.wann.network import (
    TRAIN_WEIGHT_VALUES,
    WANNNetwork,
    reference_forward,
    with_bias,
)

FORMULAS = {
    "linear": lambda x: x,
    "step": lambda x: 1.0 if x > 0 else 0.0,
    "sine": lambda x: math.sin(math.pi * x),
    "cosine": lambda x: math.cos(math.pi * x),
    "gaussian": lambda x: math.exp(-(x**2) / 2),
    "tanh": math.tanh,
    "sigmoid": lambda x: (math.tanh(x / 2) + 1) / 2,
    "inverse": lambda x: -x,
    "abs": abs,
    "relu": lambda x: max(0.0, x),
    "squared": lambda x: x * x,
}
HAND_PICKED = [-2.0, -1.5, -0.5, -0.0, 0.0, 0.25, 0.5, 1.0, 3.0]


def make(num_inputs, num_outputs, layer, connections, hidden_activations=()):
    """A WANN genome; hidden activations given by name, in neuron order."""
    activations = [0] * (num_inputs + num_outputs) + [
        activation_index(name) for name in hidden_activations
    ]
    return Genome(
        num_inputs,
        num_outputs,
        np.array(layer, dtype=np.int64),
        np.array(connections, dtype=np.int64).reshape(-1, 2),
        activations=np.array(activations, dtype=np.int64),
    )


def random_wann(rng, num_inputs, num_outputs, num_mutations, *, output_activations=False):
    """A random network; with ``output_activations`` its outputs have random activations (each
    its own), else they are linear."""
    g = initial_genome(num_inputs, num_outputs, 0.5, rng, with_activations=True)
    if output_activations:
        acts = g.activations.copy()
        acts[num_inputs:] = rng.integers(len(ACTIVATION_NAMES), size=num_outputs)
        g = Genome(num_inputs, num_outputs, g.layer, g.connections, None, acts)
    for _ in range(num_mutations):
        draw = rng.random()
        if draw < 0.45:
            g = add_node(g, rng, activations=len(ACTIVATION_NAMES))
        elif draw < 0.9:
            g = add_connection(g, rng)
        else:
            g = change_activation(g, rng, activations=len(ACTIVATION_NAMES))
    return g


def assert_close_in_float32(actual, desired, rtol):
    """Elementwise within ``rtol`` of the value, or of the largest output (for cancellations)."""
    scale = max(1.0, float(np.abs(desired).max(initial=0.0)))
    np.testing.assert_allclose(actual, desired, rtol=rtol, atol=rtol * scale)


def both_paths(genome, x, weights, connection_weights=None):
    """(numpy outputs, torch outputs as numpy), both [W, batch, num_outputs]."""
    compiled = WANNNetwork(genome, connection_weights)
    out_numpy = compiled.forward_numpy(x, weights)
    out_torch = compiled.forward_torch(torch.from_numpy(x), torch.from_numpy(np.asarray(weights)))
    return out_numpy, out_torch.numpy()


# --- activations -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ACTIVATION_NAMES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_numpy_and_torch_activations_follow_their_formulas(name, dtype):
    x = np.array(HAND_PICKED, dtype=dtype)
    expected = np.array([FORMULAS[name](float(v)) for v in x])
    got_numpy = BY_NAME[name].numpy(x)
    got_torch = BY_NAME[name].torch(torch.from_numpy(x))
    assert got_numpy.dtype == dtype and got_torch.dtype == torch.from_numpy(x).dtype
    tol = 1e-6 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(got_numpy, expected, rtol=tol, atol=tol)
    np.testing.assert_allclose(got_torch.numpy(), expected, rtol=tol, atol=tol)


@pytest.mark.parametrize("name", ACTIVATION_NAMES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_in_place_activations_give_the_plain_ones_bit_for_bit(name, dtype):
    x = np.random.default_rng(0).normal(0, 3, 257).astype(dtype)
    x[:4] = [0.0, -0.0, 1.0, -1.0]
    activation = BY_NAME[name]
    in_place = x.copy()
    activation.numpy_in_place(in_place)
    np.testing.assert_array_equal(in_place, activation.numpy(x))
    in_place_torch = torch.from_numpy(x.copy())
    activation.torch_in_place(in_place_torch)
    np.testing.assert_array_equal(in_place_torch.numpy(), activation.torch(torch.from_numpy(x)))


def test_activations_take_their_landmark_values():
    x = np.array([0.0, 0.5, 1.0, -3.0])
    act = {name: a.numpy for name, a in BY_NAME.items()}
    np.testing.assert_array_equal(act["step"](x), [0, 1, 1, 0])  # step(0) is 0
    np.testing.assert_allclose(act["sine"](x), [0, 1, 0, 0], atol=1e-15)
    np.testing.assert_allclose(act["cosine"](x), [1, 0, -1, -1], atol=1e-15)
    np.testing.assert_allclose(act["gaussian"](x)[0], 1.0)
    np.testing.assert_allclose(act["sigmoid"](x)[0], 0.5)
    np.testing.assert_array_equal(act["relu"](x), [0, 0.5, 1, 0])
    np.testing.assert_array_equal(act["abs"](x), [0, 0.5, 1, 3])
    np.testing.assert_array_equal(act["inverse"](x), [0, -0.5, -1, 3])


@pytest.mark.parametrize("name", ACTIVATION_NAMES)
def test_forward_applies_a_hidden_neurons_activation_to_the_weighted_sum(name):
    # input 0 -> hidden 2 (activation) -> output 1: output = w * act(w * x).
    g = make(1, 1, [0, 2, 1], [(0, 2), (2, 1)], [name])
    x = np.array(HAND_PICKED[1:], dtype=np.float64).reshape(-1, 1)
    weights = [1.0, -0.5]
    expected = np.array([[w * FORMULAS[name](w * float(v)) for v in x[:, 0]] for w in weights])
    out_numpy, out_torch = both_paths(g, x, weights)
    np.testing.assert_allclose(out_numpy[:, :, 0], expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(out_torch[:, :, 0], expected, rtol=1e-12, atol=1e-12)


# --- hand-built network ----------------------------------------------------------------------


def hand_built_network():
    """2 inputs (0, 1), 1 output (2), hidden 3 (abs, layer 2) and 4 (tanh, layer 1).

    The neuron created last (4) lies in the lower layer, so layer order differs from creation
    order. Skip connections: 0 -> 3 (layer 0 -> 2), 1 -> 2 (0 -> 3), 4 -> 2 (1 -> 3).
    """
    return make(
        2,
        1,
        [0, 0, 3, 2, 1],
        [(0, 4), (1, 4), (4, 3), (0, 3), (1, 2), (3, 2), (4, 2)],
        ["abs", "tanh"],
    )


def test_hand_built_network_gives_hand_computed_outputs():
    g = hand_built_network()
    x = np.array([[0.5, -1.0], [0.0, 0.0]])
    # w = 1, x = (0.5, -1):
    #   h4 = tanh(1 * (0.5 - 1)) = tanh(-0.5) = -0.46211716
    #   h3 = |1 * (h4 + 0.5)| = 0.03788284
    #   out = 1 * (x1 + h3 + h4) = -1 + 0.03788284 - 0.46211716 = -1.42423432
    # w = -2, x = (0.5, -1):
    #   h4 = tanh(-2 * (0.5 - 1)) = tanh(1) = 0.76159416
    #   h3 = |-2 * (h4 + 0.5)| = 2.52318831
    #   out = -2 * (-1 + 2.52318831 + 0.76159416) = -2 * 2.28478247 = -4.56956494
    # x = (0, 0): every sum is 0, tanh(0) = |0| = 0, so the output is 0 for both w.
    expected = np.array([[[-1.42423432], [0.0]], [[-4.56956494], [0.0]]])
    out_numpy, out_torch = both_paths(g, x, [1.0, -2.0])
    np.testing.assert_allclose(out_numpy, expected, atol=1e-8)
    np.testing.assert_allclose(out_torch, expected, atol=1e-8)
    np.testing.assert_allclose(reference_forward(g, x, 1.0), expected[0], atol=1e-8)
    np.testing.assert_allclose(reference_forward(g, x, -2.0), expected[1], atol=1e-8)


def test_connections_with_weights_of_their_own_by_hand():
    g = hand_built_network()  # connections (0,4) (1,4) (4,3) (0,3) (1,2) (3,2) (4,2)
    own = np.array([2.0, 1.0, -1.0, 0.5, 3.0, 1.0, -2.0])
    x = np.array([[0.5, -1.0]])
    # shared weight 1: h4 = tanh(2 * 0.5 + 1 * -1) = tanh(0) = 0
    #   h3 = |-1 * h4 + 0.5 * 0.5| = 0.25
    #   out = 3 * -1 + 1 * h3 - 2 * h4 = -2.75
    # shared weight 2 multiplies every sum as well:
    #   h4 = tanh(2 * 0) = 0; h3 = |2 * 0.25| = 0.5; out = 2 * (-3 + 0.5) = -5
    expected = np.array([[[-2.75]], [[-5.0]]])
    network = WANNNetwork(g, own)
    np.testing.assert_allclose(network.forward_numpy(x, [1.0, 2.0]), expected, atol=1e-12)
    torch_out = network.forward_torch(torch.as_tensor(x), [1.0, 2.0]).numpy()
    np.testing.assert_allclose(torch_out, expected, atol=1e-12)
    np.testing.assert_allclose(reference_forward(g, x, 1.0, own), expected[0], atol=1e-12)
    np.testing.assert_allclose(reference_forward(g, x, 2.0, own), expected[1], atol=1e-12)
    # all ones is the weight agnostic network
    ones = WANNNetwork(g, np.ones(7)).forward_numpy(x, [1.0, -2.0])
    np.testing.assert_allclose(ones, WANNNetwork(g).forward_numpy(x, [1.0, -2.0]))
    with pytest.raises(ValueError, match="7 connection weights"):
        WANNNetwork(g, np.ones(6))


def test_connection_weights_agree_with_the_reference_on_random_networks():
    rng = np.random.default_rng(99)
    for _ in range(20):
        g = random_wann(rng, 3, 2, int(rng.integers(0, 25)))
        own = rng.uniform(-2, 2, g.num_connections)
        x = rng.uniform(-1, 1, size=(8, 3))
        expected = np.stack([reference_forward(g, x, w, own) for w in (1.0, -0.5)])
        out_numpy, out_torch = both_paths(g, x, [1.0, -0.5], connection_weights=own)
        np.testing.assert_allclose(out_numpy, expected, rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(out_torch, expected, rtol=1e-9, atol=1e-9)


def test_the_trainable_pass_gives_the_weighted_network_and_its_gradient():
    g = hand_built_network()
    own = np.array([2.0, 1.0, -1.0, 0.5, 3.0, 1.0, -2.0])
    x = np.array([[0.5, -1.0], [0.3, 0.2]])
    cw = torch.tensor(own, requires_grad=True)
    network = WANNNetwork(g)  # built with weights 1: forward_trainable uses cw instead
    out = network.forward_trainable(torch.as_tensor(x), cw)
    assert out.shape == (2, 1)
    np.testing.assert_allclose(
        out.detach().numpy(), [[-2.75], [reference_forward(g, x[1:], 1.0, own)[0, 0]]]
    )
    out.sum().backward()
    # d out[0] / d own[4] (the skip connection 1 -> 2) is x1 = -1, plus the same for row 2
    # (x1 = 0.2): -0.8; the rest against central differences
    assert cw.grad[4].item() == pytest.approx(-0.8)
    for k in range(7):
        step = np.zeros(7)
        step[k] = 1e-6
        plus = reference_forward(g, x, 1.0, own + step).sum()
        minus = reference_forward(g, x, 1.0, own - step).sum()
        assert cw.grad[k].item() == pytest.approx((plus - minus) / 2e-6, rel=1e-5, abs=1e-7)


def test_outputs_come_in_neuron_order():
    # 3 inputs, 3 outputs (3, 4, 5); output 3 + k gets input 2 - k, output 5 also a hidden relu.
    g = make(3, 3, [0, 0, 0, 2, 2, 2, 1], [(2, 3), (1, 4), (0, 5), (0, 6), (6, 5)], ["relu"])
    x = np.array([[1.0, 2.0, 3.0]])
    out_numpy, out_torch = both_paths(g, x, [0.5])
    # out5 = 0.5 * (1 + relu(0.5 * 1)) = 0.75
    expected = [[[1.5, 1.0, 0.75]]]
    np.testing.assert_allclose(out_numpy, expected)
    np.testing.assert_allclose(out_torch, expected)


def test_a_bias_neuron_and_tanh_outputs_by_hand():
    # inputs: 0 the bias, 1 the observation; outputs 2 (tanh) and 3 (sine); hidden 4 (relu).
    # connections 0->2, 1->4, 4->2, 1->3
    g = make(2, 2, [0, 0, 2, 2, 1], [(0, 2), (1, 4), (4, 2), (1, 3)], ["relu"])
    acts = g.activations.copy()
    acts[2], acts[3] = activation_index("tanh"), activation_index("sine")
    g = Genome(2, 2, g.layer, g.connections, None, acts)
    x = with_bias(np.array([[3.0], [-1.0]]))
    np.testing.assert_array_equal(x, [[1.0, 3.0], [1.0, -1.0]])
    # w = 0.5, obs 3: h4 = relu(1.5) = 1.5; out2 = tanh(0.5 * (1 + 1.5)) = tanh(1.25)
    #   = 0.84828364 (a linear output would give 1.25); out3 = sin(pi * 1.5) = -1
    # w = 0.5, obs -1: h4 = 0; out2 = tanh(0.5 * 1) = 0.46211716; out3 = sin(-pi / 2) = -1
    # w = -2, obs 3: h4 = relu(-6) = 0; out2 = tanh(-2 * 1) = -0.96402758; out3 = sin(-6 pi) = 0
    # w = -2, obs -1: h4 = relu(2) = 2; out2 = tanh(-2 * (1 + 2)) = -0.99998771;
    #   out3 = sin(2 pi) = 0
    expected = np.array(
        [[[0.84828364, -1.0], [0.46211716, -1.0]], [[-0.96402758, 0.0], [-0.99998771, 0.0]]]
    )
    out_numpy, out_torch = both_paths(g, x, [0.5, -2.0])
    np.testing.assert_allclose(out_numpy, expected, atol=1e-8)
    np.testing.assert_allclose(out_torch, expected, atol=1e-8)
    for k, w in enumerate((0.5, -2.0)):
        np.testing.assert_allclose(reference_forward(g, x, w), expected[k], atol=1e-8)


# --- agreement -------------------------------------------------------------------------------


def test_numpy_torch_and_reference_agree_on_random_networks():
    rng = np.random.default_rng(1234)
    weights = np.array([*TRAIN_WEIGHT_VALUES, -1.5, -0.25, 0.0, 0.3, 1.7])
    num_hidden = []
    for _ in range(40):
        num_inputs, num_outputs = int(rng.integers(1, 6)), int(rng.integers(1, 4))
        g = random_wann(rng, num_inputs, num_outputs, int(rng.integers(0, 30)))
        num_hidden.append(g.num_hidden)
        x64 = rng.uniform(-1, 1, size=(16, num_inputs))
        reference = np.stack([reference_forward(g, x64, w) for w in weights])

        out_numpy, out_torch = both_paths(g, x64, weights)
        np.testing.assert_allclose(out_numpy, reference, rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(out_torch, reference, rtol=1e-9, atol=1e-9)

        x32 = x64.astype(np.float32)
        out_numpy32, out_torch32 = both_paths(g, x32, weights.astype(np.float32))
        assert out_numpy32.dtype == np.float32 and out_torch32.dtype == np.float32
        # Up to 14 layers deep: a 1-ulp difference (summation order, sin/cos) grows by up to
        # |w| * pi per sine layer, so float32 agreement is looser here than for shallow networks
        # (next test); float64 above shows the computation itself is the same.
        assert_close_in_float32(out_numpy32, out_torch32, rtol=1e-4)
        reference32 = np.stack([reference_forward(g, x32, w) for w in weights.astype(np.float32)])
        assert_close_in_float32(out_numpy32, reference32, rtol=1e-4)
    assert max(num_hidden) >= 5  # the networks are not all trivial


def test_outputs_of_any_activation_agree_with_the_reference_on_random_networks():
    rng = np.random.default_rng(4321)
    weights = np.array([*TRAIN_WEIGHT_VALUES, 0.3])
    seen = set()
    for _ in range(30):
        num_inputs, num_outputs = int(rng.integers(1, 6)), int(rng.integers(2, 5))
        g = random_wann(
            rng, num_inputs, num_outputs, int(rng.integers(0, 30)), output_activations=True
        )
        seen.update(g.activations[num_inputs : num_inputs + num_outputs].tolist())
        x = rng.uniform(-1, 1, size=(16, num_inputs))
        reference = np.stack([reference_forward(g, x, w) for w in weights])
        out_numpy, out_torch = both_paths(g, x, weights)
        np.testing.assert_allclose(out_numpy, reference, rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(out_torch, reference, rtol=1e-9, atol=1e-9)
    assert seen == set(range(len(ACTIVATION_NAMES)))  # every activation on an output


@pytest.mark.parametrize("seed", range(4))
def test_numpy_and_torch_agree_on_wide_networks_in_float32(seed):
    rng = np.random.default_rng(seed)
    g = random_wann(rng, 64, 10, 120)
    assert g.num_hidden >= 40 and g.num_connections >= 400
    x = rng.uniform(0, 1, size=(50, 64)).astype(np.float32)
    out_numpy, out_torch = both_paths(g, x, np.array(TRAIN_WEIGHT_VALUES, dtype=np.float32))
    assert_close_in_float32(out_numpy, out_torch, rtol=1e-5)


def test_step_of_an_exact_zero_is_zero_in_both_paths():
    # output 2 = w * step(w * (x0 + x1)) through hidden 3; x1 = -x0 makes the sum exactly 0.
    g = make(2, 1, [0, 0, 2, 1], [(0, 3), (1, 3), (3, 2)], ["step"])
    for dtype in (np.float32, np.float64):
        x = np.array([[0.3, -0.3], [0.0, 0.0], [-0.0, 0.0], [0.5, -0.25]], dtype=dtype)
        out_numpy, out_torch = both_paths(g, x, np.array(TRAIN_WEIGHT_VALUES, dtype=dtype))
        expected = np.array(TRAIN_WEIGHT_VALUES)[:, None] * np.array([0, 0, 0, 1])
        expected[np.array(TRAIN_WEIGHT_VALUES) < 0, 3] = 0  # step(w * 0.25) = 0 for w < 0
        np.testing.assert_array_equal(out_numpy[:, :, 0], expected)
        np.testing.assert_array_equal(out_torch[:, :, 0], expected)


def test_stacked_weight_values_equal_separate_passes():
    rng = np.random.default_rng(3)
    g = random_wann(rng, 5, 3, 25)
    compiled = WANNNetwork(g)
    for dtype in (np.float32, np.float64):
        x = rng.uniform(-1, 1, size=(20, 5)).astype(dtype)
        a, b = dtype(-1.5), dtype(0.5)
        stacked = compiled.forward_numpy(x, [a, b])
        separate = np.concatenate([compiled.forward_numpy(x, [a]), compiled.forward_numpy(x, [b])])
        np.testing.assert_allclose(stacked, separate, rtol=1e-6, atol=1e-7)
        xt = torch.from_numpy(x)
        stacked_t = compiled.forward_torch(xt, torch.tensor([a, b]))
        separate_t = torch.cat(
            [compiled.forward_torch(xt, torch.tensor([a])), compiled.forward_torch(xt, [b])]
        )
        np.testing.assert_allclose(stacked_t.numpy(), separate_t.numpy(), rtol=1e-6, atol=1e-7)


def test_network_without_connections_outputs_zeros():
    g = initial_genome(4, 3, 0.0, np.random.default_rng(0), with_activations=True)
    assert g.num_connections == 0
    x = np.random.default_rng(1).uniform(-1, 1, size=(5, 4))
    for use_torch in (False, True):
        out = forward_pass(WANNNetwork(g), x, TRAIN_WEIGHT_VALUES, use_torch=use_torch)
        assert out.shape == (6, 5, 3)
        np.testing.assert_array_equal(out, 0.0)
    # A cosine neuron without inputs is cos(0) = 1, but reaches no output.
    g = make(1, 1, [0, 2, 1], [], ["cosine"])
    np.testing.assert_array_equal(forward_pass(WANNNetwork(g), x[:, :1], [1.0, 2.0]), 0.0)


# --- interface -------------------------------------------------------------------------------


def test_outputs_have_shape_weights_batch_outputs_and_the_dtype_of_x():
    g = hand_built_network()
    compiled = WANNNetwork(g)
    for dtype, torch_dtype in ((np.float32, torch.float32), (np.float64, torch.float64)):
        x = np.zeros((7, 2), dtype=dtype)
        out = compiled.forward_numpy(x, TRAIN_WEIGHT_VALUES)
        assert out.shape == (6, 7, 1) and out.dtype == dtype
        out_t = compiled.forward_torch(torch.from_numpy(x), torch.tensor(TRAIN_WEIGHT_VALUES))
        assert out_t.shape == (6, 7, 1) and out_t.dtype == torch_dtype
    assert compiled.forward_numpy(np.zeros((3, 2)), []).shape == (0, 3, 1)


def test_forward_compiles_and_runs_with_either_backend():
    g = hand_built_network()
    x = np.array([[0.5, -1.0]], dtype=np.float32)
    out_numpy = forward_pass(WANNNetwork(g), x, [1.0, -2.0])
    out_torch = forward_pass(WANNNetwork(g), x, [1.0, -2.0], use_torch=True)
    assert isinstance(out_torch, np.ndarray) and out_torch.dtype == np.float32
    np.testing.assert_allclose(out_numpy[:, 0, 0], [-1.42423432, -4.56956494], rtol=1e-6)
    np.testing.assert_allclose(out_torch, out_numpy, rtol=1e-6)


def test_inputs_of_the_wrong_width_are_rejected():
    compiled = WANNNetwork(hand_built_network())
    with pytest.raises(ValueError, match=r"\[batch, 2\]"):
        compiled.forward_numpy(np.zeros((4, 3)), [1.0])
    with pytest.raises(ValueError, match=r"\[batch, 2\]"):
        compiled.forward_torch(torch.zeros(4), torch.ones(1))


def test_hidden_neurons_without_activations_are_rejected():
    g = hand_built_network()
    g = Genome(g.num_inputs, g.num_outputs, g.layer, g.connections, activations=None)
    with pytest.raises(ValueError, match="activations"):
        WANNNetwork(g)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_torch_on_cuda_agrees_with_numpy():
    rng = np.random.default_rng(11)
    g = random_wann(rng, 16, 4, 60)
    x = rng.uniform(0, 1, size=(100, 16)).astype(np.float32)
    compiled = WANNNetwork(g)
    weights = np.array(TRAIN_WEIGHT_VALUES, dtype=np.float32)
    out_cuda = compiled.forward_torch(torch.from_numpy(x).cuda(), torch.from_numpy(weights))
    assert out_cuda.device.type == "cuda"
    out_numpy = compiled.forward_numpy(x, weights)
    np.testing.assert_allclose(out_cuda.cpu().numpy(), out_numpy, rtol=1e-5, atol=1e-5)


def test_inputs_of_their_own_per_weight_value_match_separate_passes():
    rng = np.random.default_rng(21)
    genome = initial_genome(5, 2, 0.8, rng, with_activations=True)
    for _ in range(6):
        genome = add_connection(add_node(genome, rng, activations=10), rng)
    compiled = WANNNetwork(genome)
    weights = np.array([-1.5, 0.5, 2.0])
    x = rng.uniform(-1, 1, (3, 7, 5))
    together = compiled.forward_numpy(x, weights)
    together_torch = compiled.forward_torch(torch.from_numpy(x), torch.from_numpy(weights))
    for i, w in enumerate(weights):
        alone = compiled.forward_numpy(x[i], [w])[0]
        np.testing.assert_allclose(together[i], alone, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(together_torch[i].numpy(), alone, rtol=1e-9, atol=1e-9)


def test_forward_keeps_float64_inputs_and_float32_weights_do_not_upcast():
    g = initial_genome(3, 2, 1.0, np.random.default_rng(0), with_activations=True)
    x64 = np.random.default_rng(1).random((4, 3))
    for use_torch in (False, True):
        out64 = forward_pass(WANNNetwork(g), x64, [0.5, -1.0], use_torch=use_torch)
        assert out64.dtype == np.float64
        out32 = forward_pass(
            WANNNetwork(g), x64.astype(np.float32), [0.5, -1.0], use_torch=use_torch
        )
        assert out32.dtype == np.float32  # weights given as Python floats do not upcast
        ints = forward_pass(WANNNetwork(g), (x64 * 10).astype(np.int64), [0.5], use_torch=use_torch)
        assert ints.dtype == np.float64  # numpy: int64 and float32 make float64
        np.testing.assert_allclose(
            ints[0], reference_forward(g, (x64 * 10).astype(np.int64), 0.5), rtol=1e-5
        )
    np.testing.assert_array_equal(
        forward_pass(WANNNetwork(g), x64, [0.5]),
        forward_pass(WANNNetwork(g), x64, [0.5], use_torch=False),
    )


def test_inputs_are_linear_and_outputs_have_the_activation_the_genome_lists():
    from evolearn.wann.network import neuron_activations

    g = add_node(
        initial_genome(2, 2, 1.0, np.random.default_rng(0), with_activations=True),
        np.random.default_rng(1),
        activations=10,
    )
    listed = np.full(g.num_neurons, activation_index("sine"))
    listed[3] = activation_index("tanh")
    acts = neuron_activations(Genome(2, 2, g.layer, g.connections, None, listed))
    linear, sine, tanh = (activation_index(n) for n in ("linear", "sine", "tanh"))
    assert acts.tolist() == [linear, linear, sine, tanh, sine]
    for bad in (-1, len(ACTIVATION_NAMES)):
        listed[4] = bad
        with pytest.raises(ValueError, match=f"must lie in 0..{len(ACTIVATION_NAMES) - 1}"):
            neuron_activations(Genome(2, 2, g.layer, g.connections, None, listed))


def test_inputs_per_weight_value_must_match_the_number_of_weight_values():
    g = initial_genome(3, 2, 1.0, np.random.default_rng(0), with_activations=True)
    compiled = WANNNetwork(g)
    compiled.forward_numpy(np.zeros((2, 5, 3)), [1.0, 2.0])  # [W, batch, inputs]
    for shape in ((3, 5, 3), (2, 5, 4), (5,), (1, 2, 5, 3)):
        with pytest.raises(ValueError, match="expected inputs of shape"):
            compiled.forward_numpy(np.zeros(shape), [1.0, 2.0])


def test_compiled_networks_pickle_and_give_the_same_outputs():
    import pickle

    from evolearn.wann.population import WANNPopulation

    rng = np.random.default_rng(4)
    g = initial_genome(3, 2, 1.0, rng, with_activations=True)
    for _ in range(6):
        g = add_node(g, rng, activations=len(ACTIVATION_NAMES))
        g = change_activation(g, rng, activations=len(ACTIVATION_NAMES))
    x = rng.normal(size=(5, 3))
    for compiled in (WANNNetwork(g), WANNPopulation([g, g])):
        again = pickle.loads(pickle.dumps(compiled))
        np.testing.assert_array_equal(
            again.forward_numpy(x, [0.5, -1.0]), compiled.forward_numpy(x, [0.5, -1.0])
        )


def test_the_search_draws_the_thesis_ten_unless_squared_is_named():
    from evolearn.experiment.checks import hidden_activation_indices

    names = ("linear", "step", "sine", "cosine", "gaussian")
    names += ("tanh", "sigmoid", "inverse", "abs", "relu")
    assert [ACTIVATION_NAMES[i] for i in hidden_activation_indices("all")] == list(names)
    assert ACTIVATION_NAMES[-1] == "squared"  # last: earlier indices keep their meaning
    chosen = hidden_activation_indices("squared, relu")
    assert [ACTIVATION_NAMES[i] for i in chosen] == ["relu", "squared"]
