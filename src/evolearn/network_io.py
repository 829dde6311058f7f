"""Save and load networks as JSON.

The file layout extends the one of the thesis code, so that this toolkit reads the network files
of the thesis logs and the thesis's keys keep their meaning:

``in_size``, ``out_size``, ``num_neurons``, ``neurons_in_layer`` (list of neuron lists, input layer
first), ``connections`` (list of ``[from, to]``), ``weights`` (WLNN, one per connection, same
order), ``activation_name`` (WLNN hidden activation, always ``"relu"``), ``activation_names``
(WANN, one name per neuron). Files written here add ``format``, ``kind`` and an optional
``info`` mapping (generation, reward, ...). Unknown extra keys of old files (mutation
probabilities and the like) are ignored.

:func:`load_wann_release` reads the champion files of the WANN paper's code release (``.out``),
so that its published networks can be scored next to ours.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from evolearn.activations import ACTIVATION_NAMES, activation_index
from evolearn.errors import UserError
from evolearn.genome import Genome, check_genome

FORMAT = "evolearn-network"


def genome_to_dict(genome: Genome, info: dict | None = None) -> dict:
    """A JSON-ready dict of the genome (thesis keys plus ``format``, ``kind``, ``info``)."""
    g = genome
    d = {
        "format": FORMAT,
        "kind": g.kind,
        "in_size": g.num_inputs,
        "out_size": g.num_outputs,
        "num_neurons": g.num_neurons,
        "neurons_in_layer": g.neurons_in_layer(),
        "connections": g.connections.tolist(),
    }
    if g.weights is not None:
        d["activation_name"] = "relu"
        d["weights"] = [float(w) for w in g.weights]
    if g.activations is not None:
        d["activation_names"] = [ACTIVATION_NAMES[a] for a in g.activations]
    if info:
        d["info"] = info
    return d


def genome_from_dict(d: dict) -> Genome:
    """The genome of a dict written by :func:`genome_to_dict` or by the thesis code.

    Raises ValueError when the dict does not describe a valid network.
    """
    try:
        num_inputs, num_outputs = int(d["in_size"]), int(d["out_size"])
        num_neurons = int(d["num_neurons"])
        layers = d["neurons_in_layer"]
        layer = np.full(num_neurons, -1, dtype=np.int64)
        for index, neurons in enumerate(layers):
            layer[np.asarray(neurons, dtype=np.int64)] = index
        if np.any(layer < 0):
            raise ValueError("neurons_in_layer does not list every neuron")
        connections = np.asarray(d["connections"], dtype=np.int64).reshape(-1, 2)
        weights = None
        if d.get("weights") is not None:
            weights = np.asarray(d["weights"], dtype=np.float32)
            if d.get("activation_name", "relu") != "relu":
                raise ValueError("only relu weight learning networks are supported")
        activations = None
        if d.get("activation_names") is not None:
            activations = np.array(
                [activation_index(a) for a in d["activation_names"]], dtype=np.int64
            )
            if d.get("format") != FORMAT:  # the thesis code: its outputs are always linear
                activations[num_inputs : num_inputs + num_outputs] = activation_index("linear")
    except (KeyError, TypeError, IndexError) as err:
        raise ValueError(f"not a network description ({type(err).__name__}: {err})") from None
    genome = Genome(num_inputs, num_outputs, layer, connections, weights, activations)
    check_genome(genome)
    return genome


def save_genome(genome: Genome, path: str | os.PathLike, info: dict | None = None) -> None:
    """Write the genome as JSON, atomically (a temporary file renamed into place)."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(genome_to_dict(genome, info)))
    os.replace(tmp, path)


def load_genome(path: str | os.PathLike) -> Genome:
    """Read a network file of this toolkit or of the thesis code.

    Raises :class:`UserError` naming the file when it cannot be read or is no valid network.
    """
    try:
        d = json.loads(Path(path).read_text())
        if not isinstance(d, dict):
            raise ValueError("the file does not hold a JSON object")
        return genome_from_dict(d)
    except OSError as err:
        raise UserError(f"cannot read network file {path}: {err.strerror}") from None
    except ValueError as err:  # json.JSONDecodeError is a ValueError too
        raise UserError(f"{path} is not a valid network file: {err}") from None


def load_genome_info(path: str | os.PathLike) -> dict:
    """The ``info`` mapping a run stored with a network (empty for thesis files)."""
    try:
        return dict(json.loads(Path(path).read_text()).get("info") or {})
    except OSError as err:
        raise UserError(f"cannot read network file {path}: {err.strerror}") from None
    except (ValueError, AttributeError) as err:
        raise UserError(f"{path} is not a valid network file: {err}") from None


#: The activation ids of the WANN release's files (the last column of a ``.out`` matrix).
WANN_RELEASE_ACTIVATIONS = {
    1: "linear",
    2: "step",
    3: "sine",
    4: "gaussian",
    5: "tanh",
    6: "sigmoid",
    7: "inverse",
    8: "abs",
    9: "relu",
    10: "cosine",
    11: "squared",
}


def genome_from_wann_matrix(matrix: np.ndarray, num_inputs: int, num_outputs: int) -> Genome:
    """The genome of a WANN release network matrix ``[N, N + 1]``.

    Node 0 is the bias, nodes ``1 .. num_inputs`` the inputs, the last ``num_outputs`` nodes the
    outputs and the nodes between them hidden. Entry ``[a, b]`` (a row is a source, a column a
    destination) is a connection a -> b when it is finite and not zero (the release sets every
    connection to the shared weight, so the entries' own values do not matter; a NaN is no
    connection); the last column holds each node's activation id
    (:data:`WANN_RELEASE_ACTIVATIONS`).

    The genome has ``num_inputs + 1`` inputs, the bias first (run it with ``bias_input``), then
    the outputs, then the hidden nodes in file order. Each hidden node's layer is one above its
    highest source (1 without sources); the outputs form the last layer. ValueError for a matrix
    of another shape, an unknown activation id of a hidden node or an output, a connection into
    the bias or an input, out of an output, or from a hidden node to one that is not after it in
    the file (the release computes the nodes in file order).
    """
    matrix = np.asarray(matrix, dtype=np.float64)
    if matrix.ndim != 2 or matrix.shape[1] != matrix.shape[0] + 1:
        raise ValueError(f"expected a matrix of N rows and N + 1 columns, got {matrix.shape}")
    n = matrix.shape[0]
    first_output = n - num_outputs
    num_in = num_inputs + 1  # bias and inputs
    if first_output < num_in:
        raise ValueError(
            f"{n} nodes cannot hold a bias, {num_inputs} inputs and {num_outputs} outputs"
        )
    ids = matrix[:, n]
    known = np.isin(ids[num_in:], list(WANN_RELEASE_ACTIVATIONS))  # the bias' and inputs' unused
    if not known.all():
        node = num_in + int(np.flatnonzero(~known)[0])
        raise ValueError(
            f"node {node} has activation id {ids[node]}; known ids: "
            + ", ".join(f"{k} {v}" for k, v in WANN_RELEASE_ACTIVATIONS.items())
        )
    values = matrix[:, :n]
    src, dst = np.nonzero(np.isfinite(values) & (values != 0))
    if np.any(dst < num_in):
        raise ValueError("a connection goes into the bias or an input")
    if np.any(src >= first_output):
        raise ValueError("a connection leaves an output")
    backward = (src >= num_in) & (src >= dst)
    if np.any(backward):
        a, b = int(src[backward][0]), int(dst[backward][0])
        raise ValueError(
            f"hidden node {a} feeds node {b}, which is not after it: the release computes the "
            f"nodes in file order"
        )
    # file node -> genome neuron: bias and inputs, outputs, then the hidden nodes
    neuron = np.concatenate(
        [
            np.arange(num_in),
            num_in + num_outputs + np.arange(first_output - num_in),
            num_in + np.arange(num_outputs),
        ]
    )
    # a hidden node's layer: one above its highest source (all earlier in the file)
    layer = np.zeros(n, dtype=np.int64)
    for node in range(num_in, first_output):
        layer[node] = 1 + layer[src[dst == node]].max(initial=0)
    layer[first_output:] = layer[num_in:first_output].max(initial=0) + 1
    genome_layer = np.empty(n, dtype=np.int64)
    genome_layer[neuron] = layer
    activations = np.full(n, activation_index("linear"), dtype=np.int64)  # bias and inputs
    activations[neuron[num_in:]] = [
        activation_index(WANN_RELEASE_ACTIVATIONS[int(i)]) for i in ids[num_in:]
    ]
    connections = np.stack([neuron[src], neuron[dst]], axis=1).astype(np.int64).reshape(-1, 2)
    genome = Genome(num_in, num_outputs, genome_layer, connections, None, activations)
    check_genome(genome)
    return genome


def read_release_matrix(text: str) -> np.ndarray:
    """The matrix of a ``.out`` file's text: one comma-separated row per non-blank line.

    Raises ValueError naming the first line (counted from 1, blank lines included) that holds
    a value that is not a number, or a number of values other than N + 1 (N the file's rows).
    """
    lines = [(number, line) for number, line in enumerate(text.splitlines(), 1) if line.strip()]
    rows = []
    for number, line in lines:
        row = []
        for place, value in enumerate(line.split(","), 1):
            try:
                row.append(float(value))
            except ValueError:
                raise ValueError(
                    f"line {number}, value {place}: {value.strip()!r} is not a number"
                ) from None
        rows.append(row)
    if not rows:
        raise ValueError("the file holds no rows")
    expected = len(rows) + 1
    for (number, _), row in zip(lines, rows, strict=True):
        if len(row) != expected:
            raise ValueError(
                f"line {number} has {len(row)} values, expected {expected}: the file's "
                f"{len(rows)} rows must form a matrix of N rows and N + 1 columns (a row per "
                f"node: its connections to the N nodes, then its activation id)"
            )
    return np.array(rows, dtype=np.float64).reshape(len(rows), expected)


def load_wann_release(path: str | os.PathLike, num_inputs: int, num_outputs: int) -> Genome:
    """Read a WANN release champion file (``.out``: the comma-separated matrix of
    :func:`genome_from_wann_matrix`) for a task of ``num_inputs`` inputs and ``num_outputs``
    outputs. Raises :class:`UserError` naming the file when it cannot be read or is invalid."""
    try:
        matrix = read_release_matrix(Path(path).read_text())
        return genome_from_wann_matrix(matrix, num_inputs, num_outputs)
    except OSError as err:
        raise UserError(f"cannot read network file {path}: {err.strerror}") from None
    except ValueError as err:
        raise UserError(f"{path} is not a WANN release network file: {err}") from None
