"""Forward passes of weight agnostic neural networks (WANN; Gaier & Ha 2019), numpy and torch.

Every connection of a WANN shares one weight value ``w``. A neuron's activity is
``act(w * sum of its inputs' activities)``, computed layer by layer; inputs are linear, hidden
neurons and outputs use ``genome.activations[n]`` (an index into
:data:`evolearn.activations.ACTIVATION_NAMES`; the outputs' is the run's ``output_activation``,
linear in the thesis). With ``bias_input`` (the WANN paper's convention) input 0 is a bias
neuron whose activity is always 1: callers prepend it to the inputs with :func:`with_bias`.

A network is judged on several weight values; a forward pass computes all of them at once by
stacking them along the batch: ``x [batch, num_inputs]`` and ``weights [W]`` give outputs
``[W, batch, num_outputs]``.

:class:`WANNNetwork` turns a genome once into per-layer matrices; :func:`reference_forward` is
the slow neuron-by-neuron version that the tests hold the fast one against.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # torch is imported by the torch passes only: numpy runs start faster
    import torch

from evolearn.activations import ACTIVATION_NAMES, ACTIVATIONS, LINEAR, Activation
from evolearn.genome import Genome, check_genome

#: The shared weight values a WANN is evaluated with during the search (Gaier & Ha 2019).
TRAIN_WEIGHT_VALUES = (-2.0, -1.0, -0.5, 0.5, 1.0, 2.0)


def neuron_activations(genome: Genome) -> np.ndarray:
    """int64 ``[num_neurons]``: the activation index of every neuron; inputs linear, the others
    as the genome says (all linear for a genome without activations and hidden neurons).

    Raises ValueError for a genome with hidden neurons but no activations, or an unknown index.
    """
    g = genome
    acts = np.full(g.num_neurons, LINEAR, dtype=np.int64)
    if g.activations is not None:
        acts[g.num_inputs :] = g.activations[g.num_inputs :]
    elif g.num_hidden:
        raise ValueError("a WANN genome with hidden neurons needs activations")
    if np.any(acts < 0) or np.any(acts >= len(ACTIVATION_NAMES)):
        raise ValueError(
            f"activation indices must lie in 0..{len(ACTIVATION_NAMES) - 1} "
            f"({', '.join(ACTIVATION_NAMES)})"
        )
    return acts


def sorting_activations(genome: Genome, activations: np.ndarray) -> np.ndarray:
    """The activation indices that order the rows of a pass: the neurons' own, but one value
    for all outputs, so that the outputs keep their neuron order whatever their activations."""
    is_output = np.zeros(genome.num_neurons, dtype=bool)
    is_output[genome.num_inputs : genome.num_inputs + genome.num_outputs] = True
    return np.where(is_output, LINEAR, activations)


def with_bias(x: np.ndarray) -> np.ndarray:
    """``x [..., n]`` with a first column of ones, ``[..., n + 1]`` in its dtype: the inputs of
    a network with a bias neuron (``bias_input``), which is its input 0."""
    x = np.asarray(x)
    return np.concatenate([np.ones((*x.shape[:-1], 1), dtype=x.dtype), x], axis=-1)


@dataclass(frozen=True)
class Step:
    """One step of a layer-by-layer WANN pass: the activity rows ``start:stop``, computed from
    the rows below them. Shared by :class:`WANNNetwork` (a step is a layer >= 1 of one network)
    and :class:`~evolearn.wann.population.WANNPopulation` (a hidden layer of all networks, or
    all their outputs).

    Attributes:
        start, stop: the step's rows in the activity array of the non-input neurons.
        matrix: the 0/1 connections from the rows ``0 .. start-1`` into the step's rows, or
            None when there are none: a dense float64 ``[start, stop - start]`` array in
            :class:`WANNNetwork`, a CSR ``[stop - start, start]`` matrix in the population.
        groups: ``(activation, first, stop)`` row ranges relative to ``start``, one per run of
            rows with one activation (:func:`activation_groups`).
    """

    start: int
    stop: int
    matrix: Any
    groups: tuple[tuple[Activation, int, int], ...]


def activation_groups(step_activations: np.ndarray) -> tuple[tuple[Activation, int, int], ...]:
    """``(activation, first, stop)`` for each run of equal indices in ``step_activations``
    (the activation index of each row of a step, sorted so that equal ones are adjacent)."""
    bounds = np.flatnonzero(np.diff(step_activations)) + 1
    firsts, stops = [0, *bounds.tolist()], [*bounds.tolist(), len(step_activations)]
    return tuple(
        (ACTIVATIONS[step_activations[a]], a, b) for a, b in zip(firsts, stops, strict=True)
    )


class WANNNetwork:
    """A genome compiled once into per-layer arrays.

    A forward pass fills an activity array ``[non-input neurons, W, batch]``: one row per
    neuron, every weight value stacked along the batch. The non-input neurons are sorted by
    (layer, activation, neuron number), so that the neurons below layer ``l`` are a prefix of the
    rows, and each layer's neurons with one activation are a contiguous block of rows (each
    activation function is applied once per layer, to contiguous memory, not once per neuron).
    The outputs, all in the last layer, end up as the last ``num_outputs`` rows, in neuron order
    (they are not sorted by activation).

    Connections from the inputs are kept apart in one 0/1 matrix ``[num_inputs, non-input
    neurons]``: the inputs' activities do not depend on the weight value, so their contribution
    is computed once per batch, not once per weight value. For each layer ``l >= 1`` a 0/1 matrix
    ``[non-input neurons below l, neurons in l]`` holds the other connections.

    Attributes:
        num_inputs, num_outputs: as in the genome.
        order: int64 ``[num_neurons - num_inputs]``, the neuron in each activity row.
    """

    def __init__(self, genome: Genome, connection_weights: np.ndarray | None = None):
        """``connection_weights`` (``[num_connections]``, optional): a weight of its own for
        each connection, in the genome's connection order, instead of 1; a pass with the
        shared weight value 1 is then the network with those weights (the WANN paper's
        "random weights" and "tuned weights" settings)."""
        check_genome(genome)
        g = genome
        values = np.ones(g.num_connections)
        if connection_weights is not None:
            values = np.asarray(connection_weights, dtype=np.float64)
            if values.shape != (g.num_connections,):
                raise ValueError(
                    f"expected {g.num_connections} connection weights, got shape {values.shape}"
                )
        self.num_inputs = g.num_inputs
        self.num_outputs = g.num_outputs
        acts = neuron_activations(g)
        by_act = sorting_activations(g, acts)
        non_input = np.arange(g.num_inputs, g.num_neurons)
        # lexsort: last key is the primary one.
        self.order = non_input[np.lexsort((non_input, by_act[non_input], g.layer[non_input]))]
        self._num_computed = len(self.order)
        position = np.full(g.num_neurons, -1, dtype=np.int64)
        position[self.order] = np.arange(self._num_computed)

        src, dst = g.connections[:, 0], g.connections[:, 1]
        from_input = src < g.num_inputs
        self._input_matrix = np.zeros((g.num_inputs, self._num_computed))
        self._input_matrix[src[from_input], position[dst[from_input]]] = values[from_input]
        # where each connection sits in the matrices (for forward_trainable)
        self._input_connections = np.flatnonzero(from_input)
        self._input_slots = (src[from_input], position[dst[from_input]])
        hidden_connections = np.flatnonzero(~from_input)
        self._hidden_slots = []

        hidden_src, hidden_dst = position[src[~from_input]], position[dst[~from_input]]
        hidden_values = values[~from_input]
        sorted_layers = g.layer[self.order]
        sorted_acts = acts[self.order]
        layers = []
        for l in range(1, g.num_layers):
            start = int(np.searchsorted(sorted_layers, l, side="left"))
            stop = int(np.searchsorted(sorted_layers, l, side="right"))
            into = (hidden_dst >= start) & (hidden_dst < stop)
            hidden_matrix = None
            if np.any(into):
                hidden_matrix = np.zeros((start, stop - start))
                hidden_matrix[hidden_src[into], hidden_dst[into] - start] = hidden_values[into]
            self._hidden_slots.append(
                (hidden_connections[into], hidden_src[into], hidden_dst[into] - start)
            )
            layers.append(
                Step(start, stop, hidden_matrix, activation_groups(sorted_acts[start:stop]))
            )
        self._layers = tuple(layers)
        self._numpy_cache: dict[np.dtype, tuple] = {}
        self._torch_cache: dict[tuple, tuple] = {}

    def _check_input(self, shape: tuple[int, ...], num_weights: int) -> None:
        ok = shape[-1:] == (self.num_inputs,) and (
            len(shape) == 2 or (len(shape) == 3 and shape[0] == num_weights)
        )
        if not ok:
            raise ValueError(
                f"expected inputs of shape [batch, {self.num_inputs}] or [{num_weights} weights, "
                f"batch, {self.num_inputs}], got {shape}"
            )

    def forward_numpy(self, x: np.ndarray, weights: Sequence[float] | np.ndarray) -> np.ndarray:
        """Outputs ``[W, batch, num_outputs]`` for ``W`` weight values.

        ``x`` is ``[batch, num_inputs]`` (the same inputs for every weight value) or
        ``[W, batch, num_inputs]`` (inputs of their own per weight value, e.g. observations of
        one environment per weight value). Computes in the dtype of ``x`` (float32 or float64;
        other dtypes are promoted with float32 by numpy's rules: integers to float64, float16
        to float32).
        """
        x = np.asarray(x)
        dtype = np.result_type(x.dtype, np.float32)
        x = x.astype(dtype, copy=False)
        w = np.asarray(weights, dtype=dtype).reshape(1, -1, 1)
        num_weights = w.shape[1]
        self._check_input(x.shape, num_weights)
        batch = x.shape[-2]
        input_matrix, hidden_matrices = self._numpy_matrices(dtype)
        # [non-input neurons, 1 or W, batch]
        if x.ndim == 2:
            from_inputs = (input_matrix.T @ x.T)[:, None, :]
        else:
            from_inputs = (x.reshape(-1, self.num_inputs) @ input_matrix).T.reshape(
                self._num_computed, num_weights, batch
            )
        activity = np.empty((self._num_computed, num_weights, batch), dtype=dtype)
        flat = activity.reshape(self._num_computed, num_weights * batch)
        for layer, hidden_matrix in zip(self._layers, hidden_matrices, strict=True):
            s, e = layer.start, layer.stop
            if hidden_matrix is None:
                z = from_inputs[s:e] * w
            else:
                z = (hidden_matrix.T @ flat[:s]).reshape(e - s, num_weights, batch)
                z += from_inputs[s:e]
                z *= w
            for activation, a, b in layer.groups:
                activity[s + a : s + b] = activation.numpy(z[a:b])
        return activity[self._num_computed - self.num_outputs :].transpose(1, 2, 0).copy()

    def _numpy_matrices(self, dtype: np.dtype) -> tuple:
        if dtype not in self._numpy_cache:
            self._numpy_cache[dtype] = (
                self._input_matrix.astype(dtype),
                tuple(
                    None if layer.matrix is None else layer.matrix.astype(dtype)
                    for layer in self._layers
                ),
            )
        return self._numpy_cache[dtype]

    def _torch_matrices(self, dtype: torch.dtype, device: torch.device) -> tuple:
        import torch

        key = (dtype, str(device))
        if key not in self._torch_cache:
            self._torch_cache[key] = (
                torch.as_tensor(self._input_matrix, dtype=dtype, device=device),
                tuple(
                    None
                    if layer.matrix is None
                    else torch.as_tensor(layer.matrix, dtype=dtype, device=device)
                    for layer in self._layers
                ),
            )
        return self._torch_cache[key]

    def forward_torch(
        self, x: torch.Tensor, weights: torch.Tensor | Sequence[float]
    ) -> torch.Tensor:
        """Outputs ``[W, batch, num_outputs]``, as :meth:`forward_numpy`, on the device of ``x``.

        No gradients are tracked (a WANN's weights are not learned). Computes in the dtype of
        ``x`` if it is a floating dtype, else in float32.
        """
        import torch

        with torch.no_grad():
            x = torch.as_tensor(x)
            if not x.is_floating_point():
                x = x.to(torch.float32)
            return self._forward_torch(x, weights, self._torch_matrices(x.dtype, x.device))

    def forward_trainable(self, x: torch.Tensor, connection_weights: torch.Tensor) -> torch.Tensor:
        """Outputs ``[batch, num_outputs]`` of the network with ``connection_weights``
        (``[num_connections]``, in the genome's order, replacing the weights the network was
        built with), differentiable with respect to them: gradient training of a WANN's
        weights (the WANN paper's "tuned weights" on MNIST). Computes in the dtype of the
        weights."""
        import torch

        cw = connection_weights
        x = torch.as_tensor(x, dtype=cw.dtype, device=cw.device)
        rows, cols = (torch.as_tensor(a, device=cw.device) for a in self._input_slots)
        input_matrix = torch.zeros(self._input_matrix.shape, dtype=cw.dtype, device=cw.device)
        input_matrix = input_matrix.index_put((rows, cols), cw[self._input_connections])
        hidden_matrices = []
        for layer, slots in zip(self._layers, self._hidden_slots, strict=True):
            if layer.matrix is None:
                hidden_matrices.append(None)
                continue
            connections, rows, cols = (torch.as_tensor(a, device=cw.device) for a in slots)
            matrix = torch.zeros(layer.matrix.shape, dtype=cw.dtype, device=cw.device)
            hidden_matrices.append(matrix.index_put((rows, cols), cw[connections]))
        from_inputs = (input_matrix.T @ x.T)[:, None, :]  # [non-input neurons, 1, batch]
        rows: list[torch.Tensor] = []  # built by concatenation: autograd needs no in-place
        for layer, matrix in zip(self._layers, hidden_matrices, strict=True):
            s, e = layer.start, layer.stop
            z = from_inputs[s:e, 0]
            if matrix is not None:
                z = z + matrix.T @ torch.cat(rows)
            rows += [activation.torch(z[a:b]) for activation, a, b in layer.groups]
        return torch.cat(rows)[self._num_computed - self.num_outputs :].T

    def _forward_torch(self, x: torch.Tensor, weights, matrices: tuple) -> torch.Tensor:
        import torch

        dtype, device = x.dtype, x.device
        w = torch.as_tensor(weights, dtype=dtype, device=device).reshape(1, -1, 1)
        num_weights = w.shape[1]
        self._check_input(tuple(x.shape), num_weights)
        batch = x.shape[-2]
        input_matrix, hidden_matrices = matrices
        if x.dim() == 2:
            from_inputs = (input_matrix.T @ x.T)[:, None, :]
        else:
            from_inputs = (x.reshape(-1, self.num_inputs) @ input_matrix).T.reshape(
                self._num_computed, num_weights, batch
            )
        activity = torch.empty((self._num_computed, num_weights, batch), dtype=dtype, device=device)
        flat = activity.view(self._num_computed, num_weights * batch)
        for layer, hidden_matrix in zip(self._layers, hidden_matrices, strict=True):
            s, e = layer.start, layer.stop
            if hidden_matrix is None:
                z = from_inputs[s:e] * w
            else:
                z = (hidden_matrix.T @ flat[:s]).view(e - s, num_weights, batch)
                z = (z + from_inputs[s:e]) * w
            for activation, a, b in layer.groups:
                activity[s + a : s + b] = activation.torch(z[a:b])
        return activity[self._num_computed - self.num_outputs :].permute(1, 2, 0).contiguous()


def reference_forward(
    genome: Genome, x: np.ndarray, weight: float, connection_weights: np.ndarray | None = None
) -> np.ndarray:
    """Outputs ``[batch, num_outputs]`` for one weight value, neuron by neuron, in float64;
    with ``connection_weights``, each connection's input is multiplied by its own weight too.

    Slow and plain on purpose: the tests hold the fast passes of :class:`WANNNetwork` against it.
    """
    g = genome
    x = np.asarray(x, dtype=np.float64)
    acts = neuron_activations(g)
    own = np.ones(g.num_connections) if connection_weights is None else connection_weights
    incoming: dict[int, list[tuple[int, float]]] = {n: [] for n in range(g.num_neurons)}
    for (a, b), value in zip(g.connections.tolist(), own, strict=True):
        incoming[b].append((a, float(value)))
    activity = np.zeros((x.shape[0], g.num_neurons))
    activity[:, : g.num_inputs] = x
    for neurons in g.neurons_in_layer()[1:]:
        for n in neurons:
            total = np.zeros(x.shape[0])
            for a, value in incoming[n]:
                total = total + value * activity[:, a]
            activity[:, n] = ACTIVATIONS[acts[n]].numpy(weight * total)
    return activity[:, g.num_inputs : g.num_inputs + g.num_outputs]
