"""Save and load networks as JSON.

The file layout extends the one of the thesis code, so that this toolkit reads the network files
of the thesis logs and the thesis's keys keep their meaning:

``in_size``, ``out_size``, ``num_neurons``, ``neurons_in_layer`` (list of neuron lists, input layer
first), ``connections`` (list of ``[from, to]``), ``weights`` (WLNN, one per connection, same
order), ``activation_name`` (WLNN hidden activation, always ``"relu"``), ``activation_names``
(WANN, one name per neuron). Files written here add ``format``, ``kind`` and an optional
``info`` mapping (generation, reward, ...). Unknown extra keys of old files (mutation
probabilities and the like) are ignored.
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
