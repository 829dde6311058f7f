"""Genomes: layered feed-forward network architectures as a few arrays, and their mutations.

A genome describes one network of the WANN search (Gaier & Ha 2019) or one weight learning
network (WLNN) of Rieke (2020):

- neurons are numbered inputs first, then outputs, then hidden neurons in order of creation;
- ``layer[n]`` is the layer of neuron ``n``: inputs are in layer 0, outputs in the last layer,
  hidden neurons in between; layers are numbered without gaps;
- ``connections[c] = (from, to)`` always goes from a lower layer to a higher one, and no
  connection appears twice; the order of ``connections`` is the order of ``weights``;
- ``weights[c]`` (WLNN only) is the weight of connection ``c``;
- ``activations[n]`` (WANN only) indexes :data:`evolearn.activations.ACTIVATION_NAMES`
  (inputs' are 0, linear; outputs keep the one they start with, mutations change hidden ones);
- a network with a bias neuron (the WANN paper's convention) has it as input 0.

All mutations are pure functions: they take a genome and a ``numpy.random.Generator`` and return
a new genome, leaving the old one untouched.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

#: Standard deviation of the normal distribution that WLNN weights are drawn from.
WEIGHT_INIT_STD = 0.1

#: Number of draws ``add_connection`` makes before it gives up on finding a new connection.
MAX_CONNECTION_DRAWS = 10_000


@dataclass(frozen=True, eq=False)
class Genome:
    """One network architecture (and, for a WLNN, its weights).

    Attributes:
        num_inputs: number of input neurons (neurons ``0 .. num_inputs-1``).
        num_outputs: number of output neurons (the next ``num_outputs`` neurons).
        layer: int64 ``[num_neurons]``, the layer of each neuron.
        connections: int64 ``[num_connections, 2]``, rows ``(from, to)``.
        weights: float32 ``[num_connections]`` or None (WANN genomes share one weight).
        activations: int64 ``[num_neurons]`` or None (WLNN genomes use relu for hidden neurons).
    """

    num_inputs: int
    num_outputs: int
    layer: np.ndarray
    connections: np.ndarray
    weights: np.ndarray | None = None
    activations: np.ndarray | None = field(default=None)

    @property
    def num_neurons(self) -> int:
        return int(self.layer.shape[0])

    @property
    def num_hidden(self) -> int:
        return self.num_neurons - self.num_inputs - self.num_outputs

    @property
    def num_layers(self) -> int:
        """Number of layers, input and output layer included."""
        return int(self.layer[self.num_inputs]) + 1

    @property
    def num_connections(self) -> int:
        return int(self.connections.shape[0])

    @property
    def kind(self) -> str:
        """ "wann" for a weight agnostic network (activations of its own, one shared weight
        value), "wlnn" for a weight learning network (relu hidden neurons, weights of its own)."""
        return "wann" if self.activations is not None else "wlnn"

    def neurons_in_layer(self) -> list[list[int]]:
        """The neurons of each layer, input layer first, each list in increasing order."""
        return [np.flatnonzero(self.layer == l).tolist() for l in range(self.num_layers)]

    def with_weights(self, weights: np.ndarray) -> Genome:
        """The same architecture with other weights (float32 ``[num_connections]``)."""
        weights = np.asarray(weights, dtype=np.float32)
        if weights.shape != (self.num_connections,):
            raise ValueError(f"expected {self.num_connections} weights, got {weights.shape}")
        return replace(self, weights=weights.copy())

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Genome):
            return NotImplemented

        def same(a, b):
            if a is None or b is None:
                return a is None and b is None
            return a.shape == b.shape and bool(np.array_equal(a, b))

        return (
            self.num_inputs == other.num_inputs
            and self.num_outputs == other.num_outputs
            and same(self.layer, other.layer)
            and same(self.connections, other.connections)
            and same(self.weights, other.weights)
            and same(self.activations, other.activations)
        )

    def __repr__(self) -> str:
        return (
            f"Genome({self.num_neurons} neurons, {self.num_connections} connections, "
            f"{self.num_layers} layers)"
        )


def random_weights(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` fresh WLNN weights from N(0, WEIGHT_INIT_STD^2), float32."""
    return (rng.standard_normal(n) * WEIGHT_INIT_STD).astype(np.float32)


def initial_genome(
    num_inputs: int,
    num_outputs: int,
    p_connection: float,
    rng: np.random.Generator,
    *,
    with_weights: bool = False,
    with_activations: bool = False,
    output_activation: int = 0,
) -> Genome:
    """A network without hidden neurons; each input->output connection exists with ``p_connection``.

    Connections are listed input-major (``(0, I), (0, I+1), ..., (1, I), ...``). With
    activations, the inputs are linear (0) and the outputs get ``output_activation``.
    """
    layer = np.concatenate(
        [np.zeros(num_inputs, dtype=np.int64), np.ones(num_outputs, dtype=np.int64)]
    )
    src, dst = np.meshgrid(
        np.arange(num_inputs), np.arange(num_inputs, num_inputs + num_outputs), indexing="ij"
    )
    candidates = np.stack([src.ravel(), dst.ravel()], axis=1).astype(np.int64)
    enabled = rng.random(len(candidates)) < p_connection
    connections = candidates[enabled]
    weights = random_weights(rng, len(connections)) if with_weights else None
    activations = None
    if with_activations:
        activations = np.zeros(num_inputs + num_outputs, dtype=np.int64)
        activations[num_inputs:] = output_activation
    return Genome(num_inputs, num_outputs, layer, connections, weights, activations)


def check_genome(genome: Genome) -> None:
    """Raise ValueError unless the genome is a valid layered feed-forward network."""
    g = genome
    n_io = g.num_inputs + g.num_outputs
    if g.layer.ndim != 1 or g.num_neurons < n_io:
        raise ValueError("layer must list every neuron")
    if np.any(g.layer[: g.num_inputs] != 0):
        raise ValueError("inputs must be in layer 0")
    top = g.num_layers - 1
    if top < 1 or np.any(g.layer[g.num_inputs : n_io] != top):
        raise ValueError("outputs must all be in the last layer")
    hidden = g.layer[n_io:]
    if np.any(hidden < 1) or np.any(hidden >= top):
        raise ValueError("hidden neurons must lie strictly between input and output layer")
    if set(np.unique(g.layer).tolist()) != set(range(top + 1)):
        raise ValueError("layers must be numbered without gaps (no empty layer)")
    c = g.connections
    if c.ndim != 2 or c.shape[1] != 2:
        raise ValueError("connections must be an array of shape [num_connections, 2]")
    if len(c):
        if c.min() < 0 or c.max() >= g.num_neurons:
            raise ValueError("a connection names a neuron that does not exist")
        if np.any(g.layer[c[:, 0]] >= g.layer[c[:, 1]]):
            raise ValueError("a connection does not go from a lower to a higher layer")
        if len(np.unique(c[:, 0] * g.num_neurons + c[:, 1])) != len(c):
            raise ValueError("a connection appears twice")
    if g.weights is not None and g.weights.shape != (len(c),):
        raise ValueError("there must be one weight per connection")
    if g.activations is not None and g.activations.shape != (g.num_neurons,):
        raise ValueError("there must be one activation per neuron")


def allowed_activations(activations: int | Sequence[int]) -> tuple[int, ...]:
    """The activation indices a mutation may give a hidden neuron: ``range(n)`` for an int
    ``n``, else the given indices (at least one, no repeats)."""
    allowed = tuple(range(activations)) if isinstance(activations, int) else tuple(activations)
    if not allowed or len(set(allowed)) != len(allowed):
        raise ValueError(f"the allowed activations must be distinct and not empty, got {allowed}")
    return allowed


def add_node(
    genome: Genome, rng: np.random.Generator, *, activations: int | Sequence[int] | None = None
) -> Genome:
    """Split a random connection with a new neuron (see :func:`split_connection`).

    A genome without connections is returned unchanged.
    """
    if genome.num_connections == 0:
        return genome
    index = int(rng.integers(genome.num_connections))
    return split_connection(genome, index, rng, activations=activations)


def split_connection(
    genome: Genome,
    index: int,
    rng: np.random.Generator,
    *,
    activations: int | Sequence[int] | None = None,
) -> Genome:
    """Split connection ``index`` (a->b) into a->n and n->b with a new neuron n.

    n goes into the layer just above a's layer if b lies more than one layer above a; otherwise
    a new layer is inserted just above a's layer. a->n keeps the connection's index and weight,
    n->b is appended with a fresh weight (WLNN); n gets a random activation out of
    ``activations`` (WANN: a count ``n`` for indices ``0..n-1``, or the allowed indices).
    """
    g = genome
    a, b = (int(v) for v in g.connections[index])
    new = g.num_neurons
    layer = g.layer.copy()
    above_a = layer[a] + 1
    if layer[b] <= above_a:
        layer[layer >= above_a] += 1  # open a new layer just above a
    layer = np.append(layer, above_a)
    connections = g.connections.copy()
    connections[index, 1] = new
    connections = np.vstack([connections, [[new, b]]])
    weights = None
    if g.weights is not None:
        weights = np.append(g.weights, random_weights(rng, 1))
    new_activations = None
    if g.activations is not None:
        if activations is None:
            raise ValueError("a genome with activations needs the activations to draw from")
        allowed = allowed_activations(activations)
        new_activations = np.append(g.activations, allowed[int(rng.integers(len(allowed)))])
    return replace(
        g, layer=layer, connections=connections, weights=weights, activations=new_activations
    )


def add_connection(
    genome: Genome, rng: np.random.Generator, *, only_hidden: bool = False
) -> Genome:
    """Add a connection from a random source to a random neuron in a layer above it.

    Sources come from every layer but the output layer; with ``only_hidden`` (used by
    run-wlnn-mnist.py) from every layer but the last hidden and the output layer, with targets in
    hidden layers only. A connection that exists already is drawn again, up to
    ``MAX_CONNECTION_DRAWS`` times; then (or when there is no valid pair) the genome is returned
    unchanged. A new WLNN connection gets a fresh weight.
    """
    g = genome
    top = g.num_layers - 1
    highest_source = top - 2 if only_hidden else top - 1
    highest_target = top - 1 if only_hidden else top
    sources = np.flatnonzero(g.layer <= highest_source)
    if len(sources) == 0 or highest_target < 1:
        return g
    # Neurons sorted by layer, so that "every neuron in a layer above l" is a suffix.
    order = np.argsort(g.layer, kind="stable")
    sorted_layers = g.layer[order]
    stop = np.searchsorted(sorted_layers, highest_target, side="right")
    existing = set((g.connections[:, 0] * g.num_neurons + g.connections[:, 1]).tolist())
    for _ in range(MAX_CONNECTION_DRAWS):
        a = int(sources[rng.integers(len(sources))])
        start = np.searchsorted(sorted_layers, g.layer[a], side="right")
        b = int(order[start + rng.integers(stop - start)])
        if a * g.num_neurons + b not in existing:
            break
    else:
        return g
    connections = np.vstack([g.connections, [[a, b]]])
    weights = None if g.weights is None else np.append(g.weights, random_weights(rng, 1))
    return replace(g, connections=connections, weights=weights)


def change_activation(
    genome: Genome, rng: np.random.Generator, *, activations: int | Sequence[int]
) -> Genome:
    """Give a random hidden neuron a different random activation (WANN only), one of
    ``activations`` (a count ``n`` for indices ``0..n-1``, or the allowed indices, at least
    two). A neuron whose activation is not among them gets any of them."""
    g = genome
    allowed = allowed_activations(activations)
    if len(allowed) < 2:
        raise ValueError("changing an activation needs at least two to choose from")
    first_hidden = g.num_inputs + g.num_outputs
    if g.num_hidden == 0:
        return g
    neuron = int(rng.integers(first_hidden, g.num_neurons))
    current = int(g.activations[neuron])
    new_activations = g.activations.copy()
    if current in allowed:
        shift = int(rng.integers(1, len(allowed)))  # any activation but the current one
        new_activations[neuron] = allowed[(allowed.index(current) + shift) % len(allowed)]
    else:
        new_activations[neuron] = allowed[int(rng.integers(len(allowed)))]
    return replace(g, activations=new_activations)


def compact_layers(genome: Genome) -> Genome:
    """Move hidden neurons down as far as their inputs allow; drop empty layers.

    From the second hidden layer up, a hidden neuron with no connection from the layer directly
    below moves one layer down, repeatedly, until no neuron can move; then empty layers vanish.
    This changes no computation, only the layer arrangement.
    """
    g = genome
    layer = g.layer.copy()
    src, dst = g.connections[:, 0], g.connections[:, 1]
    hidden = np.arange(g.num_inputs + g.num_outputs, g.num_neurons)
    while True:
        # feeds_from_below[n]: n has a connection from the layer directly below it.
        feeds_from_below = np.zeros(g.num_neurons, dtype=bool)
        feeds_from_below[dst[layer[src] == layer[dst] - 1]] = True
        movable = hidden[(layer[hidden] >= 2) & ~feeds_from_below[hidden]]
        if len(movable) == 0:
            break
        layer[movable] -= 1
    used = np.unique(layer)
    layer = np.searchsorted(used, layer).astype(np.int64)
    return replace(g, layer=layer)
