"""The block-sparse graph of a whole population of weight learning networks (WLNN, Rieke 2020).

Training a generation one network at a time spends its time in Python and in tiny tensor
operations. Here all networks of a population (or of a worker's chunk of it) form one graph
that is computed in one pass per mini-batch:

- every non-input neuron of every network has a row in one activity matrix ``[neurons, batch]``;
  the input rows are shared by all networks. Rows are grouped by *stage* = the layer index of the
  neuron in its own network: stage ``s`` holds the hidden neurons of layer ``s`` of every network
  and the output neurons of the networks whose output layer is layer ``s``. A network's output
  layer is thus computed at its own depth, as soon as all its sources are ready, whatever the
  depth of the others;
- a stage is computed from the rows below it by one gather (``index_select``) of the source
  activities of all its connections, a multiplication by the connection weights and one
  ``index_add`` into the targets; hidden rows then go through relu;
- all networks' weights live in two vectors, one for connections into hidden neurons and one
  for connections into outputs (:meth:`PopulationGraph.pack`), so that a learning rule can keep
  the hidden weights away from the optimizer;
- the backward pass (:class:`_PopulationPass`) sends the errors to the sources through the
  weights, or, for feedback alignment (Lillicrap et al. 2016), through fixed random feedback
  weights (one per connection); :meth:`PopulationGraph.oja_step` is Oja's rule on every hidden
  connection of every network with a batch's activities (hebbian).

A network's numbers do not depend on the networks it shares the graph with: its connections are
listed in an order that depends on the network alone, ``index_add`` adds the contributions to
a row one after the other in the order of that list, and every sum over the batch runs along a
row of its own. This holds on the CPU; CUDA's ``index_add`` adds in no fixed order. How the
population is trained on this graph (loss, optimizer, the learning rules' steps) is
:mod:`evolearn.wlnn.population`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from evolearn.genome import Genome

# relu's backward (the gradient where the activity is positive, else 0), written in place.
_threshold_backward = torch.ops.aten.threshold_backward.grad_input

# Connection groups inside a stage, in this order. Connections from inputs and into outputs
# are kept contiguous so that the backward pass can skip them where it does not need them.
_HIDDEN_FROM_INPUT = 0
_HIDDEN_FROM_HIDDEN = 1
_OUTPUT_FROM_HIDDEN = 2
_OUTPUT_FROM_INPUT = 3


@dataclass(frozen=True)
class Stage:
    """The neurons of one layer index (of all networks) and the connections into them.

    Attributes:
        offset: first row of the stage in the activity matrix.
        size: number of neurons (rows); the first ``num_hidden`` are hidden (relu), the rest
            outputs (linear).
        num_hidden: number of hidden neurons of the stage.
        src: int64 ``[C]`` activity rows of the connections' sources.
        dst: int64 ``[C]`` the connections' targets, as rows of the stage (``0 .. size-1``).
        weight_index: int64 ``[C]`` positions of the connections' weights in
            ``cat(w_hidden, w_out)``.
        hidden_sources: ``(first, last)``: connections ``first:last`` come from hidden neurons
            (the only ones that pass errors further down).
        output_targets: first connection into an output neuron (``output_targets:C``);
            connections ``0:output_targets`` go into hidden neurons.
    """

    offset: int
    size: int
    num_hidden: int
    src: torch.Tensor
    dst: torch.Tensor
    weight_index: torch.Tensor
    hidden_sources: tuple[int, int]
    output_targets: int

    @property
    def num_connections(self) -> int:
        return int(self.src.shape[0])


class PopulationGraph:
    """The compiled structure of a population: activity rows, stages and weight layout.

    All genomes must have the same number of inputs and outputs. Weights are laid out network
    by network: ``w_hidden`` holds each network's connections into hidden neurons, ``w_out``
    its connections into outputs, each in the genome's connection order.
    """

    def __init__(self, genomes: Sequence[Genome], device: torch.device | str = "cpu"):
        if len(genomes) == 0:
            raise ValueError("a population needs at least one network")
        num_inputs, num_outputs = genomes[0].num_inputs, genomes[0].num_outputs
        for g in genomes:
            if (g.num_inputs, g.num_outputs) != (num_inputs, num_outputs):
                raise ValueError("every network of a population needs the same inputs and outputs")
        self.device = torch.device(device)
        self.num_networks = len(genomes)
        self.num_inputs = num_inputs
        self.num_outputs = num_outputs
        self.num_connections = [g.num_connections for g in genomes]
        first_hidden = num_inputs + num_outputs

        # --- rows: inputs first (shared), then stage by stage; inside a stage hidden neurons
        # (network by network, by neuron number), then outputs (network by network).
        net, neuron, stage, is_output = [], [], [], []
        for p, g in enumerate(genomes):
            ids = np.arange(num_inputs, g.num_neurons)
            net.append(np.full(len(ids), p))
            neuron.append(ids)
            stage.append(g.layer[ids])
            is_output.append(ids < first_hidden)
        net, neuron, stage, is_output = (np.concatenate(a) for a in (net, neuron, stage, is_output))
        order = np.lexsort((neuron, net, is_output, stage))
        row = np.empty(len(order), dtype=np.int64)
        row[order] = num_inputs + np.arange(len(order))
        self.num_rows = num_inputs + len(order)
        rows_of = []  # per network: activity row of each of its neurons
        start = 0
        for g in genomes:
            n = g.num_neurons - num_inputs
            rows_of.append(np.concatenate([np.arange(num_inputs), row[start : start + n]]))
            start += n
        self.output_rows = torch.as_tensor(
            np.concatenate([r[num_inputs:first_hidden] for r in rows_of]), device=self.device
        )

        # --- weights: per network its hidden-target and output-target connections.
        self._hidden_masks = []
        for g in genomes:
            top = g.num_layers - 1
            self._hidden_masks.append(g.layer[g.connections[:, 1]] < top)
        hidden_counts = np.array([m.sum() for m in self._hidden_masks], dtype=np.int64)
        output_counts = np.array(self.num_connections, dtype=np.int64) - hidden_counts
        self._hidden_bounds = np.concatenate([[0], np.cumsum(hidden_counts)])
        self._output_bounds = np.concatenate([[0], np.cumsum(output_counts)])
        self.num_hidden_weights = int(self._hidden_bounds[-1])

        # --- connections of all networks, sorted by stage, group, target row, genome order.
        src, dst, weight_index, group, conn_stage, conn_index = [], [], [], [], [], []
        for p, g in enumerate(genomes):
            if g.num_connections == 0:
                continue
            hidden = self._hidden_masks[p]
            s, d = g.connections[:, 0], g.connections[:, 1]
            from_input = s < num_inputs
            position = np.empty(g.num_connections, dtype=np.int64)
            position[hidden] = self._hidden_bounds[p] + np.arange(hidden.sum())
            position[~hidden] = (
                self.num_hidden_weights + self._output_bounds[p] + np.arange((~hidden).sum())
            )
            src.append(rows_of[p][s])
            dst.append(rows_of[p][d])
            weight_index.append(position)
            group.append(
                np.where(
                    hidden,
                    np.where(from_input, _HIDDEN_FROM_INPUT, _HIDDEN_FROM_HIDDEN),
                    np.where(from_input, _OUTPUT_FROM_INPUT, _OUTPUT_FROM_HIDDEN),
                )
            )
            conn_stage.append(g.layer[d])
            conn_index.append(np.arange(g.num_connections))
        if src:
            src, dst, weight_index, group, conn_stage, conn_index = (
                np.concatenate(a) for a in (src, dst, weight_index, group, conn_stage, conn_index)
            )
        else:
            src = dst = weight_index = group = conn_stage = conn_index = np.zeros(0, np.int64)
        order = np.lexsort((conn_index, dst, group, conn_stage))
        src, dst, weight_index, group, conn_stage = (
            a[order] for a in (src, dst, weight_index, group, conn_stage)
        )

        num_stages = max(g.num_layers for g in genomes) - 1
        row_stage = np.concatenate([np.zeros(num_inputs, dtype=np.int64), np.sort(stage)])
        hidden_per_stage = np.bincount(stage[~is_output], minlength=num_stages + 1)
        self.stages: list[Stage] = []
        for s in range(1, num_stages + 1):
            offset = int(np.searchsorted(row_stage, s))
            size = int(np.searchsorted(row_stage, s, side="right")) - offset
            lo, hi = np.searchsorted(conn_stage, [s, s + 1])
            bounds = lo + np.searchsorted(group[lo:hi], np.arange(4))
            self.stages.append(
                Stage(
                    offset=offset,
                    size=size,
                    num_hidden=int(hidden_per_stage[s]),
                    src=torch.as_tensor(src[lo:hi], device=self.device),
                    dst=torch.as_tensor(dst[lo:hi] - offset, device=self.device),
                    weight_index=torch.as_tensor(weight_index[lo:hi], device=self.device),
                    hidden_sources=(
                        int(bounds[_HIDDEN_FROM_HIDDEN] - lo),
                        int(bounds[_OUTPUT_FROM_INPUT] - lo),
                    ),
                    output_targets=int(bounds[_OUTPUT_FROM_HIDDEN] - lo),
                )
            )
        # Sources of the connections that pass errors down, as rows of the error matrix
        # (which has no input rows).
        self._error_src = [
            st.src[st.hidden_sources[0] : st.hidden_sources[1]] - num_inputs for st in self.stages
        ]
        self._error_output_rows = self.output_rows - num_inputs

    # --- weights ---------------------------------------------------------------------------

    def pack(self, per_network: Sequence[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-network values in genome connection order -> (hidden, output) float32 vectors."""
        hidden = [np.asarray(v)[m] for v, m in zip(per_network, self._hidden_masks, strict=True)]
        output = [np.asarray(v)[~m] for v, m in zip(per_network, self._hidden_masks, strict=True)]

        def vector(parts):
            values = np.concatenate(parts) if parts else np.zeros(0)
            return torch.as_tensor(values.astype(np.float32), device=self.device)

        return vector(hidden), vector(output)

    def unpack(self, hidden: torch.Tensor, output: torch.Tensor) -> list[np.ndarray]:
        """The inverse of :meth:`pack`: float32 ``[num_connections]`` per network."""
        hidden = hidden.detach().cpu().numpy()
        output = output.detach().cpu().numpy()
        result = []
        for p, mask in enumerate(self._hidden_masks):
            values = np.empty(self.num_connections[p], dtype=np.float32)
            values[mask] = hidden[self._hidden_bounds[p] : self._hidden_bounds[p + 1]]
            values[~mask] = output[self._output_bounds[p] : self._output_bounds[p + 1]]
            result.append(values)
        return result

    # --- passes ----------------------------------------------------------------------------

    def forward(
        self,
        x: torch.Tensor,
        w_hidden: torch.Tensor,
        w_out: torch.Tensor,
        feedback: torch.Tensor | None = None,
        saved: dict | None = None,
        workspace: Workspace | None = None,
    ) -> torch.Tensor:
        """Logits ``[num_networks * num_outputs, batch]`` (network-major), differentiable with
        respect to ``w_hidden`` and ``w_out``.

        Args:
            x: float32 ``[num_inputs, batch]``, the inputs (shared by all networks).
            w_hidden, w_out: the weight vectors.
            feedback: ``cat(hidden, output)`` feedback weights; errors travel down through them
                instead of the weights (feedback alignment). None: backprop.
            saved: if given, receives ``"activities"`` ``[num_rows, batch]`` (after relu) and
                ``"sources"``, each stage's gathered source activities ``[C, batch]``.
            workspace: buffers to reuse from one batch to the next (training); the saved
                tensors then live in it until the next forward pass.
        """
        return _PopulationPass.apply(x, w_hidden, w_out, self, feedback, saved, workspace)

    def _forward(
        self, x: torch.Tensor, w_all: torch.Tensor, workspace: Workspace
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        batch = x.shape[1]
        activities = workspace.take("activities", (self.num_rows, batch), x)
        activities[: self.num_inputs] = x
        activities[self.num_inputs :] = 0.0
        sources = []
        for s, st in enumerate(self.stages):
            rows = activities.narrow(0, st.offset, st.size)
            x_src = workspace.take(("sources", s), (st.num_connections, batch), x)
            if st.num_connections:
                torch.index_select(activities, 0, st.src, out=x_src)
                weights = w_all.index_select(0, st.weight_index)
                product = workspace.take("product", x_src.shape, x)
                torch.mul(x_src, weights[:, None], out=product)
                rows.index_add_(0, st.dst, product)  # adds in list order, row by row
            sources.append(x_src)
            if st.num_hidden:
                rows[: st.num_hidden].relu_()
        return activities, sources

    def _backward(
        self,
        grad_logits: torch.Tensor,
        activities: torch.Tensor,
        sources: list[torch.Tensor],
        w_all: torch.Tensor,
        feedback: torch.Tensor | None,
        hidden_too: bool,
        workspace: Workspace,
    ) -> torch.Tensor:
        """Gradient of ``cat(w_hidden, w_out)``; only its output part unless ``hidden_too``
        (then errors need not travel below the output layers at all)."""
        num_inputs = self.num_inputs
        batch = activities.shape[1]
        errors = workspace.take("errors", (self.num_rows - num_inputs, batch), activities)
        errors.zero_()
        errors.index_copy_(0, self._error_output_rows, grad_logits)
        down = w_all if feedback is None else feedback
        grad = w_all.new_zeros(w_all.shape)
        for st, x_src, error_src in zip(
            reversed(self.stages), reversed(sources), reversed(self._error_src), strict=True
        ):
            first = 0 if hidden_too else st.output_targets
            if first == st.num_connections:
                continue
            delta = errors.narrow(0, st.offset - num_inputs, st.size)
            if hidden_too and st.num_hidden:
                hidden = delta[: st.num_hidden]
                hidden_activities = activities.narrow(0, st.offset, st.num_hidden)
                _threshold_backward(hidden, hidden_activities, 0.0, grad_input=hidden)  # relu'
            into = workspace.take("into", (st.num_connections - first, batch), delta)
            torch.index_select(delta, 0, st.dst[first:], out=into)  # the error at each target
            if hidden_too:
                lo, hi = st.hidden_sources
                if hi > lo:
                    down_weights = down.index_select(0, st.weight_index[lo:hi])
                    product = workspace.take("product", (hi - lo, batch), delta)
                    torch.mul(into[lo:hi], down_weights[:, None], out=product)
                    errors.index_add_(0, error_src, product)
            grad_stage = into.mul_(x_src[first:]).sum(1)
            grad.index_copy_(0, st.weight_index[first:], grad_stage)
        return grad

    @torch.no_grad()
    def oja_step(
        self,
        w_hidden: torch.Tensor,
        activities: torch.Tensor,
        sources: list[torch.Tensor],
        lr: float,
    ) -> None:
        """Oja's rule on every hidden connection of every network, in place:
        ``w += lr * (mean_batch(y x) - mean_batch(y^2) * w)``, x the source's and y the
        target's (relu) activity in the batch (as :meth:`forward` ``saved`` them)."""
        if self.num_hidden_weights == 0:
            return
        yx = w_hidden.new_zeros(w_hidden.shape)
        yy = w_hidden.new_zeros(w_hidden.shape)
        for st, x_src in zip(self.stages, sources, strict=True):
            k = st.output_targets  # connections 0:k go into hidden neurons
            if k == 0:
                continue
            y = activities.index_select(0, st.offset + st.dst[:k])
            index = st.weight_index[:k]
            yx.index_copy_(0, index, (y * x_src[:k]).mean(1))
            yy.index_copy_(0, index, (y * y).mean(1))
        w_hidden += lr * (yx - yy * w_hidden)


class Workspace:
    """Buffers by name, reused from one mini-batch to the next: large tensors allocated anew in
    every step cost more (page faults) than the arithmetic done on them."""

    def __init__(self, keep: bool = True):
        self.keep = keep
        self._buffers: dict = {}

    def take(self, name, shape: tuple[int, ...], like: torch.Tensor) -> torch.Tensor:
        """An uninitialised tensor of ``shape`` (dtype and device of ``like``)."""
        numel = int(np.prod(shape))
        buffer = self._buffers.get(name)
        if buffer is None or buffer.numel() < numel or buffer.device != like.device:
            buffer = like.new_empty(max(numel, 1))
            if self.keep:
                self._buffers[name] = buffer
        return buffer[:numel].view(shape)


class _PopulationPass(torch.autograd.Function):
    """The population's forward pass; its backward computes the weight gradients stage by stage,
    sending errors down through the weights (backprop) or the feedback weights (feedback
    alignment)."""

    @staticmethod
    def forward(ctx, x, w_hidden, w_out, graph, feedback, saved, workspace):
        w_all = torch.cat([w_hidden.detach(), w_out.detach()])
        workspace = workspace if workspace is not None else Workspace(keep=False)
        activities, sources = graph._forward(x, w_all, workspace)
        if saved is not None:
            saved["activities"] = activities
            saved["sources"] = sources
        if ctx.needs_input_grad[1] or ctx.needs_input_grad[2]:
            ctx.graph = graph
            ctx.activities = activities
            ctx.sources = sources
            ctx.w_all = w_all
            ctx.feedback = feedback
            ctx.workspace = workspace
        return activities.index_select(0, graph.output_rows)

    @staticmethod
    def backward(ctx, grad_logits):
        graph = ctx.graph
        hidden_too = ctx.needs_input_grad[1]
        grad = graph._backward(
            grad_logits.contiguous(),
            ctx.activities,
            ctx.sources,
            ctx.w_all,
            ctx.feedback,
            hidden_too,
            ctx.workspace,
        )
        h = graph.num_hidden_weights
        grad_hidden = grad[:h] if hidden_too else None
        grad_out = grad[h:] if ctx.needs_input_grad[2] else None
        return None, grad_hidden, grad_out, None, None, None, None
