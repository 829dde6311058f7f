"""Network drawings in the style of the WANN paper: inputs on the left, outputs on the right,
hidden neurons by layer in between.

A weight agnostic network marks each neuron with its activation (colour, and its name while
the network has few enough hidden neurons to read them); a weight learning network draws each
connection by the sign (red positive, blue negative) and size of its weight. Inputs and outputs
carry the task's names (:func:`task_names`): the observations and actions of CartPoleSwingUp,
CartPole and BipedalWalker; image inputs are laid out as their pixel grid (16 x 16 for MNIST,
8 x 8 for digits) and outputs named by their digit.

Connections are drawn as one :class:`~matplotlib.collections.LineCollection`, thinner and
fainter the more there are, so that a network of 1,500 connections stays readable.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure

from evolearn.activations import ACTIVATION_NAMES
from evolearn.genome import Genome

_CARTPOLE_SWINGUP = (
    (
        "cart position",
        "cart velocity",
        "cos(pole angle)",
        "sin(pole angle)",
        "pole angular velocity",
    ),
    ("force",),
)
_LEG = ("hip {0} angle", "hip {0} speed", "knee {0} angle", "knee {0} speed", "leg {0} contact")
#: Observation and action names of the environments (by ``env_name``).
ENVIRONMENT_NAMES = {
    "CartPoleSwingUp": _CARTPOLE_SWINGUP,
    "CartPoleSwingUp-v0": _CARTPOLE_SWINGUP,
    "CartPole-v0": (
        ("cart position", "cart velocity", "pole angle", "pole angular velocity"),
        ("push left", "push right"),
    ),
    "CartPole-v1": (
        ("cart position", "cart velocity", "pole angle", "pole angular velocity"),
        ("push left", "push right"),
    ),
    "BipedalWalker-v3": (
        (
            "hull angle",
            "hull angular velocity",
            "horizontal velocity",
            "vertical velocity",
            *[name.format(leg) for leg in (1, 2) for name in _LEG],
            *[f"lidar {i}" for i in range(1, 11)],
        ),
        ("hip 1 torque", "knee 1 torque", "hip 2 torque", "knee 2 torque"),
    ),
}


@dataclass(frozen=True)
class TaskNames:
    """What a drawing calls the inputs and outputs: names, or a pixel grid for the inputs."""

    inputs: tuple[str, ...] | None = None
    outputs: tuple[str, ...] | None = None
    input_grid: tuple[int, int] | None = None


def task_names(params: dict, num_inputs: int, num_outputs: int) -> TaskNames:
    """The names of the run's task (``params``: its params.yaml); a bias neuron (``bias_input``)
    is input 0, named "bias" (a dataset's inputs are then drawn as a column, not a grid)."""
    env = params.get("env_name")
    bias = bool(params.get("bias_input", False))
    if env in ENVIRONMENT_NAMES:
        inputs, outputs = ENVIRONMENT_NAMES[env]
        inputs = ("bias", *inputs) if bias else inputs
        if len(inputs) == num_inputs and len(outputs) == num_outputs:
            return TaskNames(inputs, outputs)
        return TaskNames()
    if params.get("dataset") is not None:
        side = math.isqrt(num_inputs)
        grid = (side, side) if side * side == num_inputs and not bias else None
        return TaskNames(None, tuple(f"digit {d}" for d in range(num_outputs)), grid)
    return TaskNames()


#: Inches per layer of a drawing (of at most 13 layers), and the height of an input grid in
#: the drawing's y units.
INCHES_PER_LAYER = 1.6
GRID_HEIGHT = 0.6
MARGIN = 0.04


def layout(
    genome: Genome, input_grid: tuple[int, int] | None = None, grid_width: float = 1.0
) -> np.ndarray:
    """``[num_neurons, 2]`` positions: x is the neuron's layer (inputs 0, outputs the last);
    in each layer the neurons are spread over y in [0, 1], a hidden layer ordered by the mean
    height of the neurons feeding it (fewer crossings). With ``input_grid`` (rows, columns)
    the inputs form that grid, ``grid_width`` wide and :data:`GRID_HEIGHT` high, left of
    x = 0, row 0 at the top."""
    g = genome
    positions = np.zeros((g.num_neurons, 2))
    positions[:, 0] = g.layer
    inputs = np.arange(g.num_inputs)
    if input_grid is not None:
        rows, columns = input_grid
        column, row = inputs % columns, inputs // columns
        positions[inputs, 0] = -0.2 - grid_width + column / max(1, columns - 1) * grid_width
        positions[inputs, 1] = 0.5 + GRID_HEIGHT * (0.5 - row / max(1, rows - 1))
    else:
        positions[inputs, 1] = _spread(len(inputs))[::-1]
    sources_of = [[] for _ in range(g.num_neurons)]
    for a, b in g.connections:
        sources_of[b].append(a)
    for layer, neurons in enumerate(g.neurons_in_layer()):
        if layer == 0:
            continue
        neurons = np.asarray(neurons)
        if layer < g.num_layers - 1:  # hidden: by the height of the sources
            heights = [
                np.mean(positions[sources_of[n], 1]) if sources_of[n] else 0.5 for n in neurons
            ]
            neurons = neurons[np.argsort(heights, kind="stable")]
        positions[neurons, 1] = _spread(len(neurons))
    outputs = np.arange(g.num_inputs, g.num_inputs + g.num_outputs)
    positions[outputs, 1] = _spread(len(outputs))[::-1]  # first output at the top
    return positions


def _spread(n: int) -> np.ndarray:
    return np.array([0.5]) if n == 1 else np.linspace(0.0, 1.0, n)


def draw_network(genome: Genome, names: TaskNames = TaskNames(), title: str | None = None):
    """The drawing of ``genome`` as a :class:`~matplotlib.figure.Figure`."""
    g = genome
    height = 6 if g.num_neurons < 60 else 9
    # The axes fill the figure but its margins (names, title and legend lie outside them;
    # save with bbox_inches="tight"), INCHES_PER_LAYER inches per x unit and 1.16 y units
    # high, so that an input grid is drawn square.
    # deep networks get narrower layers, down to half
    per_layer = INCHES_PER_LAYER * min(1.0, max(0.5, 12 / max(1, g.num_layers - 1)))
    axes_height = height * (1 - 2 * MARGIN)
    grid_inches = GRID_HEIGHT * axes_height / 1.16 if names.input_grid else 0.0
    positions = layout(g, names.input_grid, grid_inches / per_layer)
    many = g.num_connections > 300
    x_range = positions[:, 0].max() - positions[:, 0].min() + 0.6
    figure = Figure(figsize=(per_layer * x_range / (1 - 2 * MARGIN), height))
    figure.subplots_adjust(left=MARGIN, right=1 - MARGIN, bottom=MARGIN, top=1 - MARGIN)
    axes = figure.subplots()
    segments = positions[g.connections]  # [C, 2 (from, to), 2 (x, y)]
    if g.weights is not None:
        weights = np.asarray(g.weights, dtype=np.float64)
        scale = float(np.abs(weights).max()) or 1.0
        colours = np.where(weights[:, None] >= 0, [[0.84, 0.15, 0.16]], [[0.12, 0.47, 0.71]])
        widths = (0.15 if many else 0.4) + (1.0 if many else 2.0) * np.abs(weights) / scale
        alphas = np.full(len(weights), 0.35 if many else 0.7)
        lines = LineCollection(
            segments, colors=np.column_stack([colours, alphas]), linewidths=widths, zorder=1
        )
    else:
        lines = LineCollection(
            segments,
            colors=[(0.3, 0.3, 0.3, 0.3 if many else 0.7)],
            linewidths=0.4 if many else 1.0,
            zorder=1,
        )
    lines.set_label("connections")
    axes.add_collection(lines)

    inputs = np.arange(g.num_inputs)
    outputs = np.arange(g.num_inputs, g.num_inputs + g.num_outputs)
    hidden = np.arange(g.num_inputs + g.num_outputs, g.num_neurons)
    connected = np.zeros(g.num_neurons, dtype=bool)
    connected[g.connections.ravel()] = True
    marker = "s" if names.input_grid else "o"
    size = 12 if names.input_grid else 40
    axes.scatter(
        *positions[inputs].T,
        s=size,
        marker=marker,
        zorder=2,
        label="inputs",
        c=np.where(connected[inputs], "0.15", "0.85"),
        edgecolors="none",
    )
    if g.activations is not None:  # WANN: a colour per activation of hidden and output neurons
        shown = np.concatenate([hidden, outputs])
        for number, act in enumerate(sorted(set(g.activations[shown].tolist()))):
            of_act = shown[g.activations[shown] == act]
            axes.scatter(
                *positions[of_act].T,
                s=70,
                color=f"C{number % 10}",
                zorder=3,
                edgecolors="black",
                linewidths=0.5,
                label=ACTIVATION_NAMES[act],
            )
        if len(hidden) <= 40:
            for n in shown:
                axes.annotate(
                    ACTIVATION_NAMES[g.activations[n]],
                    positions[n],
                    fontsize=6,
                    xytext=(0, 6),
                    textcoords="offset points",
                    ha="center",
                )
    else:
        axes.scatter(
            *positions[hidden].T,
            s=25 if many else 45,
            color="0.5",
            zorder=3,
            edgecolors="black",
            linewidths=0.4,
            label="hidden (relu)",
        )
        axes.scatter(
            *positions[outputs].T,
            s=60,
            color="white",
            zorder=3,
            edgecolors="black",
            linewidths=0.8,
            label="outputs",
        )
    if names.inputs:
        for n, name in zip(inputs, names.inputs, strict=True):
            axes.annotate(
                name,
                positions[n],
                xytext=(-8, 0),
                textcoords="offset points",
                ha="right",
                va="center",
                fontsize=8,
            )
    if names.outputs:
        for n, name in zip(outputs, names.outputs, strict=True):
            axes.annotate(
                name,
                positions[n],
                xytext=(8, 0),
                textcoords="offset points",
                ha="left",
                va="center",
                fontsize=8,
            )
    axes.set_xlim(positions[:, 0].min() - 0.3, positions[:, 0].max() + 0.3)
    axes.set_ylim(-0.08, 1.08)
    axes.set_axis_off()
    kind = "weight agnostic" if g.activations is not None else "weight learning"
    axes.set_title(
        title
        or f"{kind} network: {g.num_connections} connections, {g.num_hidden} hidden neurons, "
        f"{g.num_layers} layers"
    )
    axes.legend(
        loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=6, fontsize="small", frameon=False
    )
    return figure
