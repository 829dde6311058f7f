"""A whole population of weight agnostic networks (Gaier & Ha 2019) evaluated as one.

:class:`~evolearn.wann.network.WANNNetwork` runs one network at a time: a Python loop over the
population, each network a few small array operations per layer. :class:`WANNPopulation`
compiles the whole population once into one set of arrays in a global neuron index space, so
that one forward pass computes every network, every weight value and every sample with a few
large array operations per layer:

- the non-input neurons of all networks are the rows of one activity array ``[neurons,
  W * samples]`` (every weight value and sample of a neuron in one row); hidden neurons are
  sorted by (layer, activation, network, neuron), so the hidden neurons of layer ``l`` of
  *all* networks are one contiguous block of rows, and each activation within it one
  contiguous run (an activation function is applied once per layer to the whole population);
- networks differ in depth, and a network's outputs lie in its own last layer: all outputs
  are computed in one last step after every hidden layer, ordered (network, output) whatever
  their activations.
  Every neuron's sources lie in lower layers of its network, hence in earlier steps;
- connections are sparse 0/1 matrices (CSR): per step one matrix from the non-input neurons
  below the step to the step's neurons, and one from the inputs to all non-input neurons (the
  inputs' part is computed once per pass; with inputs shared by all networks and weight
  values it is computed once per sample, not once per weight value).

A neuron's sum is taken in the order of its sources' rows, and the rows of one network keep
the order of :class:`~evolearn.wann.network.WANNNetwork`; each network's numbers are independent of
which other networks share the pass, so a population split into chunks (workers) gives the
same numbers bit for bit as the whole.

Fast paths built on it (the per-network code in :mod:`evolearn.wann.classification` and
:mod:`evolearn.wann.gym` stays as their reference):

- :func:`evaluate_classification`: loss and accuracy ``[P, W]`` of a population on samples;
- :func:`swingup_returns`: CartPoleSwingUp returns ``[P, W, T]`` of all episodes of a
  generation, the environment itself stepped for all of them at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import contextmanager, nullcontext
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse

if TYPE_CHECKING:  # torch is imported by the torch passes only: numpy runs start faster
    import torch

from evolearn.envs.cartpole_swingup import (
    MAX_STEPS,
    swingup_initial_state,
    swingup_observation,
    swingup_out_of_bounds,
    swingup_step,
)
from evolearn.genome import Genome, check_genome
from evolearn.losses import cross_entropy_numpy, cross_entropy_torch
from evolearn.wann.network import (
    Step,
    activation_groups,
    neuron_activations,
    sorting_activations,
)

#: Samples per pass of :func:`evaluate_classification`. A constant (never derived from the
#: population size), so that a network's numbers do not depend on how the population is split.
CLASSIFY_SAMPLES_PER_PASS = 1000
#: Largest activity array of one pass (networks x neurons x W x samples values); the population
#: is evaluated in groups of networks below it.
MAX_ACTIVITY_VALUES = 2**22
#: Observation values of CartPoleSwingUp: x, x_dot, cos(theta), sin(theta), theta_dot.
SWINGUP_INPUTS = 5


def _csr(rows: np.ndarray, cols: np.ndarray, shape: tuple[int, int]) -> scipy.sparse.csr_matrix:
    """0/1 CSR matrix with entries at (rows, cols), columns ascending within each row.

    Built from its arrays directly so that the column order, which is the order in which a
    row's sum is taken, is fixed here and never left to a conversion.
    """
    order = np.lexsort((cols, rows))
    rows, cols = rows[order], cols[order]
    indptr = np.zeros(shape[0] + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=shape[0]), out=indptr[1:])
    data = np.ones(len(cols), dtype=np.float64)
    return scipy.sparse.csr_matrix((data, cols.astype(np.int64), indptr), shape=shape)


class WANNPopulation:
    """A population of WANN genomes compiled into one set of arrays.

    All genomes must have the same numbers of inputs and outputs. Inputs come in two forms:

    - shared, ``x [S, num_inputs]``: the same samples for every network and weight value
      (classification);
    - per network and weight value, ``x [P, W, S, num_inputs]`` (environments: each episode
      sees its own observations).

    Outputs are ``[P, W, S, num_outputs]``; :meth:`output_rows_numpy` and
    :meth:`output_rows_torch` give them as ``[P, num_outputs, W, S]`` without a transposition.

    Attributes:
        num_networks, num_inputs, num_outputs: P and the genomes' I, O.
        num_rows: number of non-input neurons of all networks (rows of the activity array).
    """

    def __init__(self, genomes: Sequence[Genome]):
        if len(genomes) == 0:
            raise ValueError("a population needs at least one genome")
        num_inputs, num_outputs = genomes[0].num_inputs, genomes[0].num_outputs
        for g in genomes:
            if (g.num_inputs, g.num_outputs) != (num_inputs, num_outputs):
                raise ValueError(
                    f"all genomes need {num_inputs} inputs and {num_outputs} outputs, "
                    f"got a genome with {g.num_inputs} and {g.num_outputs}"
                )
            check_genome(g)
        self.num_networks = P = len(genomes)
        self.num_inputs = I = num_inputs
        self.num_outputs = O = num_outputs

        counts = np.array([g.num_neurons - I for g in genomes], dtype=np.int64)
        first_row = np.concatenate([[0], np.cumsum(counts)[:-1]])  # of each network, by id
        network = np.repeat(np.arange(P), counts)
        neuron = np.concatenate([np.arange(I, g.num_neurons) for g in genomes])
        layer = np.concatenate([g.layer[I:] for g in genomes])
        own_acts = [neuron_activations(g) for g in genomes]
        act = np.concatenate([a[I:] for a in own_acts])
        is_output = neuron < I + O
        hidden_layers = int(layer[~is_output].max(initial=0))
        # Outputs all in one last step, after every hidden layer of every network.
        step = np.where(is_output, hidden_layers + 1, layer)
        by_act = np.concatenate(
            [sorting_activations(g, a)[I:] for g, a in zip(genomes, own_acts, strict=True)]
        )
        order = np.lexsort((neuron, network, by_act, step))  # last key is the primary one
        self.num_rows = N = len(order)
        row_of = np.empty(N, dtype=np.int64)  # row of each neuron, by id first_row + n - I
        row_of[order] = np.arange(N)

        connections = [g.connections for g in genomes]
        conn_network = np.repeat(np.arange(P), [len(c) for c in connections])
        src, dst = np.concatenate([np.zeros((0, 2), np.int64), *connections]).T
        dst_row = row_of[first_row[conn_network] + dst - I]
        from_input = src < I
        # Inputs: column i (shared inputs) or network * I + i (inputs of their own).
        in_rows, in_src, in_net = dst_row[from_input], src[from_input], conn_network[from_input]
        self._input_connections = (in_rows, in_src, in_net)
        self._input_matrices: dict[str, scipy.sparse.csr_matrix] = {}
        hid_dst = dst_row[~from_input]
        hid_src = row_of[first_row[conn_network[~from_input]] + src[~from_input] - I]

        sorted_steps, sorted_acts = step[order], act[order]
        steps = []
        for s in range(1, hidden_layers + 2):
            start = int(np.searchsorted(sorted_steps, s, side="left"))
            stop = int(np.searchsorted(sorted_steps, s, side="right"))
            if start == stop:
                continue
            into = (hid_dst >= start) & (hid_dst < stop)
            hidden = None
            if np.any(into):
                hidden = _csr(hid_dst[into] - start, hid_src[into], (stop - start, start))
            steps.append(Step(start, stop, hidden, activation_groups(sorted_acts[start:stop])))
        self._steps = tuple(steps)
        self._numpy_cache: dict[tuple[str, np.dtype], tuple] = {}
        self._torch_cache: dict[tuple[str, torch.dtype, str], tuple] = {}

    # --- inputs ----------------------------------------------------------------------------

    def _input_kind(self, shape: tuple[int, ...], num_weights: int) -> str:
        P, I = self.num_networks, self.num_inputs
        if len(shape) == 2 and shape[1] == I:
            return "shared"
        if len(shape) == 4 and shape[0] == P and shape[1] == num_weights and shape[3] == I:
            return "own"
        raise ValueError(
            f"expected inputs of shape [samples, {I}] (shared by all networks) or "
            f"[{P} networks, {num_weights} weights, samples, {I}], got {shape}"
        )

    # --- numpy -----------------------------------------------------------------------------

    def _input_matrix(self, kind: str) -> scipy.sparse.csr_matrix:
        """0/1 CSR from the inputs to the rows: ``[N, I]`` (shared) or ``[N, P * I]`` (own)."""
        if kind not in self._input_matrices:
            rows, src, network = self._input_connections
            N, P, I = self.num_rows, self.num_networks, self.num_inputs
            if kind == "shared":
                self._input_matrices[kind] = _csr(rows, src, (N, I))
            else:
                self._input_matrices[kind] = _csr(rows, network * I + src, (N, P * I))
        return self._input_matrices[kind]

    def _numpy_matrices(self, kind: str, dtype: np.dtype) -> tuple:
        """(input matrix, hidden matrix of each step) in ``dtype``."""
        key = (kind, dtype)
        if key not in self._numpy_cache:
            self._numpy_cache[key] = (
                self._input_matrix(kind).astype(dtype),
                tuple(None if s.matrix is None else s.matrix.astype(dtype) for s in self._steps),
            )
        return self._numpy_cache[key]

    def output_rows_numpy(self, x: np.ndarray, weights: Sequence[float] | np.ndarray) -> np.ndarray:
        """Outputs ``[P, num_outputs, W, S]`` for ``W`` weight values, in numpy.

        Computes in the dtype of ``x`` (float32 or float64; other dtypes are promoted with
        float32 as numpy does).
        """
        x = np.asarray(x)
        dtype = np.result_type(x.dtype, np.float32)
        x = x.astype(dtype, copy=False)
        w = np.asarray(weights, dtype=dtype).reshape(-1)
        num_weights = len(w)
        kind = self._input_kind(x.shape, num_weights)
        N, P, I = self.num_rows, self.num_networks, self.num_inputs
        samples = x.shape[-2]
        input_matrix, hidden = self._numpy_matrices(kind, dtype)
        # Rows [W * S]: one row per neuron, so that a step's sums are one sparse product. The
        # weight values multiply whole rows ([1, W * S], long inner loops even for small S).
        activity = np.empty((N, num_weights * samples), dtype=dtype)
        w_row = np.repeat(w, samples)[None, :]
        if kind == "shared":
            # [N, 1, S]: the same for every weight value, added to rows seen as [W, S].
            from_inputs = (input_matrix @ np.ascontiguousarray(x.T))[:, None, :]
        else:
            inputs = x.transpose(0, 3, 1, 2).reshape(P * I, num_weights * samples)
            from_inputs = input_matrix @ inputs  # [N, W * S]
        shared = kind == "shared"
        for step, matrix in zip(self._steps, hidden, strict=True):
            s, e = step.start, step.stop
            block = activity[s:e]
            if matrix is None and shared:
                np.multiply(
                    from_inputs[s:e], w.reshape(1, -1, 1), out=block.reshape(e - s, -1, samples)
                )
            elif matrix is None:
                np.multiply(from_inputs[s:e], w_row, out=block)
            else:
                z = matrix @ activity[:s]
                if shared:
                    z3 = z.reshape(e - s, num_weights, samples)
                    np.add(z3, from_inputs[s:e], out=z3)
                else:
                    z += from_inputs[s:e]
                np.multiply(z, w_row, out=block)
            for activation, a, b in step.groups:
                activation.numpy_in_place(block[a:b])
        out = activity[N - P * self.num_outputs :]
        return out.reshape(P, self.num_outputs, num_weights, samples)

    def forward_numpy(self, x: np.ndarray, weights: Sequence[float] | np.ndarray) -> np.ndarray:
        """Outputs ``[P, W, S, num_outputs]`` (see :meth:`output_rows_numpy`)."""
        return self.output_rows_numpy(x, weights).transpose(0, 2, 3, 1).copy()

    # --- torch -----------------------------------------------------------------------------

    def _torch_matrices(self, kind: str, dtype: torch.dtype, device: torch.device) -> tuple:
        """As :meth:`_numpy_matrices`, torch sparse COO tensors on ``device``."""
        import torch

        key = (kind, dtype, str(device))
        if key not in self._torch_cache:

            def to_torch(matrix):
                # COO: on the CPU torch's sparse x dense product for COO is as fast as scipy's
                # CSR one (its CSR product is several times slower) and sums each row in the
                # same order, the entries' (row, column) order.
                if matrix is None:
                    return None
                rows = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
                indices = torch.as_tensor(np.stack([rows, matrix.indices]), dtype=torch.int64)
                values = torch.as_tensor(matrix.data, dtype=dtype)
                # Built sorted and without duplicates above; checking it costs more than a pass.
                coo = torch.sparse_coo_tensor(
                    indices, values, matrix.shape, is_coalesced=True, check_invariants=False
                )
                return coo.to(device)

            self._torch_cache[key] = (
                to_torch(self._input_matrix(kind)),
                tuple(to_torch(s.matrix) for s in self._steps),
            )
        return self._torch_cache[key]

    def output_rows_torch(
        self, x: torch.Tensor, weights: torch.Tensor | Sequence[float]
    ) -> torch.Tensor:
        """Outputs ``[P, num_outputs, W, S]``, as :meth:`output_rows_numpy`, on x's device.

        Computes in the dtype of ``x`` if it is a floating dtype, else in float32; no
        gradients are tracked.
        """
        import torch

        with torch.no_grad():
            return self._output_rows_torch(x, weights)

    def _output_rows_torch(self, x, weights) -> torch.Tensor:
        import torch

        x = torch.as_tensor(x)
        if not x.is_floating_point():
            x = x.to(torch.float32)
        dtype, device = x.dtype, x.device
        w = torch.as_tensor(weights, dtype=dtype, device=device).reshape(-1)
        num_weights = len(w)
        kind = self._input_kind(tuple(x.shape), num_weights)
        N, P, I = self.num_rows, self.num_networks, self.num_inputs
        samples = x.shape[-2]
        input_matrix, hidden = self._torch_matrices(kind, dtype, device)
        activity = torch.empty((N, num_weights * samples), dtype=dtype, device=device)
        w_row = w.repeat_interleave(samples)[None, :]
        shared = kind == "shared"
        if shared:
            from_inputs = torch.sparse.mm(input_matrix, x.T.contiguous())[:, None, :]
        else:
            inputs = x.permute(0, 3, 1, 2).reshape(P * I, num_weights * samples)
            from_inputs = torch.sparse.mm(input_matrix, inputs)
        for step, matrix in zip(self._steps, hidden, strict=True):
            s, e = step.start, step.stop
            block = activity[s:e]
            if matrix is None and shared:
                torch.mul(from_inputs[s:e], w.view(1, -1, 1), out=block.view(e - s, -1, samples))
            elif matrix is None:
                torch.mul(from_inputs[s:e], w_row, out=block)
            else:
                z = torch.sparse.mm(matrix, activity[:s])
                if shared:
                    z.view(e - s, num_weights, samples).add_(from_inputs[s:e])
                else:
                    z += from_inputs[s:e]
                torch.mul(z, w_row, out=block)
            for activation, a, b in step.groups:
                activation.torch_in_place(block[a:b])
        out = activity[N - P * self.num_outputs :]
        return out.view(P, self.num_outputs, num_weights, samples)

    def forward_torch(
        self, x: torch.Tensor, weights: torch.Tensor | Sequence[float]
    ) -> torch.Tensor:
        """Outputs ``[P, W, S, num_outputs]`` (see :meth:`output_rows_torch`)."""
        return self.output_rows_torch(x, weights).permute(0, 2, 3, 1).contiguous()


# --- classification --------------------------------------------------------------------------


def network_groups(
    genomes: Sequence[Genome], values_per_row: int, max_values: int = MAX_ACTIVITY_VALUES
) -> list[range]:
    """Contiguous groups of networks whose activity array stays below ``max_values`` values.

    ``values_per_row`` is W x samples of a pass; a network too large on its own gets a group
    to itself.
    """
    groups, start, total = [], 0, 0
    for i, g in enumerate(genomes):
        size = (g.num_neurons - g.num_inputs) * values_per_row
        if i > start and total + size > max_values:
            groups.append(range(start, i))
            start, total = i, 0
        total += size
    groups.append(range(start, len(genomes)))
    return [r for r in groups if len(r)]


def evaluate_classification(
    genomes: Sequence[Genome],
    x: np.ndarray,
    y: np.ndarray,
    weights: Sequence[float],
    *,
    use_torch: bool = False,
    device: str = "cpu",
) -> tuple[np.ndarray, np.ndarray]:
    """Mean cross-entropy loss ``[P, W]`` (minimised) and accuracy ``[P, W]`` on (x, y).

    The meaning of :func:`evolearn.wann.classification.classify_chunk` for every network at
    once: x ``[S, num_inputs]``, y int ``[S]``, every network and weight value on every
    sample. Samples go in passes of ``CLASSIFY_SAMPLES_PER_PASS``, networks in groups
    (:func:`network_groups`) so that one pass's activity stays below ``MAX_ACTIVITY_VALUES``.
    """
    x = np.asarray(x)
    x = x.astype(np.result_type(x.dtype, np.float32), copy=False)
    y = np.asarray(y, dtype=np.int64)
    num_samples, num_weights = len(x), len(weights)
    loss = np.zeros((len(genomes), num_weights))
    correct = np.zeros((len(genomes), num_weights), dtype=np.int64)
    passes = [
        slice(start, start + CLASSIFY_SAMPLES_PER_PASS)
        for start in range(0, num_samples, CLASSIFY_SAMPLES_PER_PASS)
    ]
    if use_torch:
        import torch

        xt = torch.as_tensor(x, device=device)
        yt = torch.as_tensor(y, device=device)
        wt = torch.tensor(weights, dtype=xt.dtype, device=device)
    values_per_row = num_weights * min(num_samples, CLASSIFY_SAMPLES_PER_PASS)
    for group in network_groups(genomes, values_per_row, MAX_ACTIVITY_VALUES):
        population = WANNPopulation([genomes[i] for i in group])
        index = slice(group.start, group.stop)
        for part in passes:
            if use_torch:
                logits = population.output_rows_torch(xt[part], wt)  # [P, O, W, S]
                l, c = cross_entropy_torch(logits, yt[part], dim=1)
                l, c = l.double().sum(-1).cpu().numpy(), c.sum(-1).cpu().numpy()
            else:
                logits = population.output_rows_numpy(x[part], weights)  # [P, O, W, S]
                l, c = cross_entropy_numpy(logits, y[part], axis=1)
                l, c = l.astype(np.float64).sum(-1), c.sum(-1)
            loss[index] += l
            correct[index] += c
    return loss / num_samples, correct / num_samples


# --- CartPoleSwingUp ---------------------------------------------------------------------------


def swingup_returns(
    genomes: Sequence[Genome],
    weights: Sequence[float],
    seeds: Sequence[int],
    *,
    use_torch: bool = False,
    max_steps: int = MAX_STEPS,
    bias_input: bool = False,
) -> np.ndarray:
    """Returns ``[P, W, T]`` (maximised) of CartPoleSwingUp episodes, all stepped together.

    Episode (p, w, t) is network p with weight value w in the episode that
    ``env.reset(seed=seeds[t])`` of ``CartPoleSwingUp-v0`` starts, exactly as
    :func:`evolearn.wann.gym.run_episodes` runs it: the network sees the environment's
    float32 observations (as float64), its float64 output becomes a float32 action, the
    physics (:func:`~evolearn.envs.cartpole_swingup.swingup_step`) clips it; an episode ends
    when the cart leaves the track (that step's reward counts) or after ``max_steps`` steps.
    With ``bias_input`` the networks' input 0 is a bias neuron (always 1).
    """
    population = WANNPopulation(genomes)
    num_inputs = SWINGUP_INPUTS + bias_input
    if population.num_inputs != num_inputs or population.num_outputs != 1:
        raise ValueError(
            f"CartPoleSwingUp networks need {num_inputs} inputs and 1 output, got "
            f"{population.num_inputs} and {population.num_outputs}"
        )
    P, W, T = len(genomes), len(weights), len(seeds)
    N = P * W * T
    weights64 = np.asarray(weights, dtype=np.float64)
    start = np.stack([swingup_initial_state(np.random.default_rng(s), 1)[0] for s in seeds])
    state = np.broadcast_to(start, (P, W, T, 4)).reshape(N, 4).copy()  # episodes (p, w, t)
    returns = np.zeros(N)
    running = np.ones(N, dtype=bool)
    # Each step's arrays are small: torch's thread pool costs more than it gains on them.
    with _torch_threads(1) if use_torch else nullcontext():
        # the networks' inputs, filled in place each step (a bias column of ones first)
        obs = np.ones((P, W, T, num_inputs))
        for _ in range(max_steps):
            obs[..., bias_input:] = swingup_observation(state).reshape(P, W, T, SWINGUP_INPUTS)
            if use_torch:
                out = population.output_rows_torch(obs, weights64).numpy()
            else:
                out = population.output_rows_numpy(obs, weights64)
            action = out.reshape(N).astype(np.float32)  # [P, 1, W, T]: already episode order
            next_state, reward = swingup_step(state, action)
            returns += np.where(running, reward, 0.0)
            # Ended episodes keep their last state, so that nothing runs away behind the mask.
            state = np.where(running[:, None], next_state, state)
            running &= ~swingup_out_of_bounds(state)
            if not running.any():
                break
    return returns.reshape(P, W, T)


@contextmanager
def _torch_threads(num_threads: int):
    """Run a block with ``num_threads`` torch threads, then restore the number."""
    import torch

    previous = torch.get_num_threads()
    if previous != num_threads:
        torch.set_num_threads(num_threads)
    try:
        yield
    finally:
        if previous != num_threads:
            torch.set_num_threads(previous)


__all__ = [
    "CLASSIFY_SAMPLES_PER_PASS",
    "WANNPopulation",
    "evaluate_classification",
    "network_groups",
    "swingup_returns",
]
