"""Episodes of Hebbian networks in Gymnasium environments: the return of each network.

Each step, as the original: the network's forward pass on the observation (an image through
the static convolution layers first), the action, the environment's step, the reward; an
episode that ends (:class:`~evolearn.hebbian.tasks.EarlyStop`) stops before any update;
otherwise every plastic layer changes by the rule with that step's activities, then
(``normalise``) is divided by its largest absolute weight. A ``static`` rule (``coefficients``
None) keeps the weights as they are. A network whose outputs are NaN or infinite (its rule
diverged) ends its episode there with the return NaN, which the generation loop turns into the
worst score. What the network sees, the actions and the rewards are the
:class:`~evolearn.hebbian.tasks.Task`'s.

:func:`population_returns` steps a whole population at once (one batched product per layer,
the rule and the normalisation in one pass over the synapses: :mod:`evolearn.hebbian.fused`;
the convolutions in one pass: :mod:`evolearn.hebbian.pixels`); :func:`network_return` is the
per-network reference, one network, plain arrays. Both reset every network's environment with
the same ``seed``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from evolearn.hebbian import fused, pixels, rules
from evolearn.hebbian.network import forward_one
from evolearn.hebbian.tasks import EarlyStop, Task

#: Below this fraction of networks still running, the arrays shrink to those that run.
COMPACT_BELOW = 0.75


@np.errstate(over="ignore", invalid="ignore")  # a diverging rule: its NaN return says it
def network_return(
    task: Task,
    rule: str,
    coefficients: Sequence[np.ndarray] | None,
    weights: Sequence[np.ndarray],
    seed: int,
    *,
    conv: Sequence[np.ndarray] | None = None,
    normalise: bool = True,
) -> tuple[float, int]:
    """The reference: one network's episode. ``coefficients`` per layer ``[n_in, n_out, k]``
    (None: static), ``weights`` per layer ``[n_in, n_out]``, ``conv`` the convolution weights
    of an image task. Returns (return, steps)."""
    env = task.make()
    try:
        weights = [np.array(w) for w in weights]
        dtype = weights[0].dtype
        observation = task.observe(task.reset(env, seed), dtype)
        stop = EarlyStop(task, 1)
        total, steps = 0.0, 0
        while True:
            x = observation if conv is None else pixels.conv_one(conv, observation)
            activities = forward_one(weights, x, task.output_tanh)
            if not np.isfinite(activities[-1]).all():
                return float("nan"), steps
            (action,) = task.actions(activities[-1][None])
            observation, reward, terminated, truncated = task.step(env, action)
            observation = task.observe(observation, dtype)
            total += reward
            steps += 1
            if stop(0, reward, terminated, truncated):
                return total, steps
            if coefficients is None:
                continue
            for layer, h in enumerate(coefficients):
                pre, post = activities[layer], activities[layer + 1]
                weights[layer] = rules.update_one(weights[layer], pre, post, h, rule)
                if normalise:
                    weights[layer] = rules.normalise_one(weights[layer])
    finally:
        env.close()


@np.errstate(over="ignore", invalid="ignore")
def population_returns(
    task: Task,
    rule: str,
    coefficients: Sequence[np.ndarray] | None,
    weights: Sequence[np.ndarray],
    seed: int,
    *,
    conv: Sequence[np.ndarray] | None = None,
    normalise: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """The fast path: every network's episode at once. ``coefficients`` per layer
    ``[population, n_in, n_out, k]`` (None: static), ``weights`` per layer ``[population, n_in,
    n_out]`` (not changed; the dtype of the pass), ``conv`` per convolution layer
    ``[population, out, in, k, k]`` (image tasks). Returns (returns ``[population]``, steps
    ``[population]``)."""
    population = len(weights[0])
    dtype = weights[0].dtype
    envs = [task.make() for _ in range(population)]
    try:
        observations = np.stack([task.observe(task.reset(env, seed), dtype) for env in envs])
        front = None if conv is None else pixels.PixelFront([np.asarray(c) for c in conv])
        raws = [np.array(w) for w in weights]  # the weights are raw * scale (fused.py)
        scales = [np.ones(population, dtype=dtype) for _ in raws]
        terms = None
        if coefficients is not None:
            terms = [rules.fold(h, rule, dtype) for h in coefficients]
        stop = EarlyStop(task, population)
        returns = np.zeros(population)
        steps = np.zeros(population, dtype=np.int64)
        rows = np.arange(population)  # the network of each row of the arrays
        running = np.ones(population, dtype=bool)  # per row
        while running.any():
            x = observations if front is None else front(observations)
            activities = fused.forward(raws, scales, x, task.output_tanh)
            diverged = running & ~np.isfinite(activities[-1]).all(axis=1)
            if diverged.any():
                returns[rows[diverged]] = np.nan
                running &= ~diverged
            chosen = task.actions(activities[-1])
            if front is None:
                observations = observations.copy()  # activities[0] is this step's: the pre
            for row in np.flatnonzero(running):
                network = rows[row]
                observation, reward, terminated, truncated = task.step(envs[network], chosen[row])
                returns[network] += reward
                steps[network] += 1
                observations[row] = task.observe(observation, dtype)
                if stop(network, reward, terminated, truncated):
                    running[row] = False
            if terms is not None:
                for layer, layer_terms in enumerate(terms):
                    pre, post = activities[layer], activities[layer + 1]
                    fused.step_layer(raws[layer], scales[layer], pre, post, layer_terms, normalise)
            if running.sum() < COMPACT_BELOW * len(rows):
                keep = np.flatnonzero(running)
                rows, running, observations = rows[keep], running[keep], observations[keep]
                raws = [w[keep] for w in raws]
                scales = [s[keep] for s in scales]
                if terms is not None:
                    terms = [t.select(keep) for t in terms]
                if front is not None:
                    front = front.select(keep)
        return returns, steps
    finally:
        for env in envs:
            env.close()
