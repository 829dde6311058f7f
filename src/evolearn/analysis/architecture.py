"""Size and degree statistics of networks, for the architecture table and the histograms.

Degrees count a network's connections at each neuron:

- *in-degree*: connections into a neuron that can receive (hidden and output neurons);
- *out-degree*: connections out of a neuron that can send (input and hidden neurons);
- *degree*: in-degree plus out-degree of a hidden neuron (the neurons evolution adds).

Statistics of a population pool the values of all its networks: ``connections_mean`` is the
mean over networks, ``in_degree_mean`` the mean over every receiving neuron of every network.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from evolearn.genome import Genome

#: The statistics of :func:`architecture_stats`, each as ``<name>_mean`` and ``<name>_std``.
STATS = ("connections", "neurons", "layers", "in_degree", "out_degree", "degree")


def degrees(genome: Genome) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(in-degrees of hidden and output neurons, out-degrees of input and hidden neurons,
    degrees of hidden neurons), each in neuron order."""
    n = genome.num_neurons
    sources, targets = genome.connections[:, 0], genome.connections[:, 1]
    into = np.bincount(targets, minlength=n)
    out_of = np.bincount(sources, minlength=n)
    inputs, outputs = genome.num_inputs, genome.num_outputs
    hidden = np.arange(inputs + outputs, n)
    receiving = np.arange(inputs, n)  # outputs, then hidden
    sending = np.concatenate([np.arange(inputs), hidden])
    return into[receiving], out_of[sending], into[hidden] + out_of[hidden]


def architecture_stats(genomes: Sequence[Genome]) -> dict[str, float]:
    """Mean and standard deviation of each of :data:`STATS` over a population."""
    if not genomes:
        raise ValueError("no networks")
    per_network = {
        "connections": [g.num_connections for g in genomes],
        "neurons": [g.num_neurons for g in genomes],
        "layers": [g.num_layers for g in genomes],
    }
    pooled = [degrees(g) for g in genomes]
    values = {
        **per_network,
        "in_degree": np.concatenate([d[0] for d in pooled]),
        "out_degree": np.concatenate([d[1] for d in pooled]),
        "degree": np.concatenate([d[2] for d in pooled]),
    }
    stats = {}
    for name in STATS:
        v = np.asarray(values[name], dtype=np.float64)
        stats[f"{name}_mean"] = float(v.mean()) if len(v) else float("nan")
        stats[f"{name}_std"] = float(v.std()) if len(v) else float("nan")
    return stats
