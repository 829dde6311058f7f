"""Network drawings: positions by layer, names of the task, edges by weight."""

import numpy as np
from matplotlib.collections import LineCollection

from evolearn.activations import ACTIVATION_NAMES
from evolearn.analysis.drawing import TaskNames, draw_network, layout, task_names
from evolearn.genome import Genome

from .test_architecture import hand_made


def texts(figure) -> list[str]:
    return [t.get_text() for axes in figure.axes for t in axes.texts]


def test_each_neuron_is_drawn_in_its_layer():
    g = hand_made()  # layers: inputs 0, hidden 3 in 1, hidden 4 in 2, output in 3
    positions = layout(g)
    assert positions[:, 0].tolist() == [0, 0, 3, 1, 2]
    assert positions[[0, 1], 1].tolist() == [1, 0]  # first input at the top
    assert positions[2, 1] == 0.5 and positions[3, 1] == 0.5  # alone in their layer


def test_hidden_neurons_are_ordered_by_the_height_of_their_sources():
    # 2 inputs; hidden 3 fed by the bottom input, hidden 4 by the top one: 4 above 3
    layer = np.array([0, 0, 2, 1, 1])
    connections = np.array([[1, 3], [0, 4], [3, 2], [4, 2]])
    positions = layout(Genome(2, 1, layer, connections, np.ones(4, np.float32)))
    assert positions[4, 1] > positions[3, 1]


def test_image_inputs_form_their_grid_row_by_row():
    g = Genome(4, 1, np.array([0, 0, 0, 0, 1]), np.array([[0, 4], [3, 4]]), np.ones(2, np.float32))
    positions = layout(g, input_grid=(2, 2), grid_width=1.0)
    x, y = positions[:4, 0], positions[:4, 1]
    assert x[0] == x[2] < x[1] == x[3] < 0  # columns, left of the layers
    assert y[0] == y[1] > y[2] == y[3]  # row 0 above row 1
    assert positions[4, 0] == 1


def test_cartpole_swingup_drawing_names_five_observations_and_the_action():
    names = task_names({"env_name": "CartPoleSwingUp"}, 5, 1)
    layer = np.array([0, 0, 0, 0, 0, 2, 1])
    connections = np.array([[0, 6], [6, 5], [3, 5]])
    activations = np.array([0, 0, 0, 0, 0, 0, 3])
    figure = draw_network(Genome(5, 1, layer, connections, None, activations), names)
    shown = texts(figure)
    for name in ("cart position", "cart velocity", "cos(pole angle)", "sin(pole angle)",
                 "pole angular velocity", "force"):  # fmt: skip
        assert name in shown
    # each neuron marked with its activation, in the legend too
    assert ACTIVATION_NAMES[3] in shown and ACTIVATION_NAMES[0] in shown
    legend = [t.get_text() for t in figure.axes[0].get_legend().get_texts()]
    assert ACTIVATION_NAMES[3] in legend


def test_task_names_of_the_other_tasks():
    walker = task_names({"env_name": "BipedalWalker-v3"}, 24, 4)
    assert len(walker.inputs) == 24 and walker.inputs[0] == "hull angle"
    assert walker.inputs[-1] == "lidar 10" and walker.outputs[3] == "knee 2 torque"
    cartpole = task_names({"env_name": "CartPole-v0"}, 4, 2)
    assert cartpole.outputs == ("push left", "push right")
    mnist = task_names({"dataset": "mnist"}, 256, 10)
    assert mnist.input_grid == (16, 16) and mnist.outputs[7] == "digit 7"
    assert task_names({"dataset": "digits"}, 64, 10).input_grid == (8, 8)


def test_a_bias_neuron_is_named_first():
    swingup = task_names({"env_name": "CartPoleSwingUp", "bias_input": True}, 6, 1)
    assert swingup.inputs[:2] == ("bias", "cart position") and len(swingup.inputs) == 6
    # without bias_input, six inputs do not fit the task: no names rather than wrong ones
    assert task_names({"env_name": "CartPoleSwingUp"}, 6, 1).inputs is None
    mnist = task_names({"dataset": "mnist", "bias_input": True}, 257, 10)
    assert mnist.input_grid is None and mnist.outputs[0] == "digit 0"
    # a square number of inputs with a bias neuron among them: no grid either
    assert task_names({"dataset": "digits", "bias_input": True}, 64, 10).input_grid is None


def test_weight_learning_edges_by_sign_and_size():
    g = hand_made().with_weights(np.array([1, -1, 0.5, -0.5, 2, -2, 0.1], np.float32))
    figure = draw_network(g, TaskNames())
    (lines,) = [c for c in figure.axes[0].collections if isinstance(c, LineCollection)]
    assert len(lines.get_segments()) == g.num_connections
    colours = lines.get_colors()
    red = colours[:, 0] > colours[:, 2]
    assert red.tolist() == [True, False, True, False, True, False, True]
    widths = lines.get_linewidths()
    assert widths[4] == widths[5] == max(widths) and widths[6] == min(widths)


def test_a_network_of_1500_connections_is_drawn_thin_and_faint():
    rng = np.random.default_rng(0)
    inputs, outputs, hidden = 256, 10, 300
    layer = np.concatenate([np.zeros(inputs), np.full(outputs, 3), rng.integers(1, 3, hidden)])
    pairs = set()
    while len(pairs) < 1500:
        a, b = int(rng.integers(len(layer))), int(rng.integers(len(layer)))
        if layer[a] < layer[b]:
            pairs.add((a, b))
    g = Genome(inputs, outputs, layer.astype(np.int64), np.array(sorted(pairs)),
               rng.normal(size=1500).astype(np.float32))  # fmt: skip
    figure = draw_network(g, task_names({"dataset": "mnist"}, inputs, outputs))
    (lines,) = [c for c in figure.axes[0].collections if isinstance(c, LineCollection)]
    assert len(lines.get_segments()) == 1500
    assert max(lines.get_linewidths()) <= 1.2 and max(lines.get_colors()[:, 3]) <= 0.4
    assert "digit 0" in texts(figure)
