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
the same ``seed``. :func:`weight_changes` follows one network's weights through an episode (the
reference's steps).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from evolearn.hebbian import fused, pixels, rules
from evolearn.hebbian.network import forward_one
from evolearn.hebbian.tasks import EarlyStop, Task

#: Below this fraction of networks still running, the arrays shrink to those that run.
COMPACT_BELOW = 0.75


def _network_steps(
    task: Task,
    rule: str,
    coefficients: Sequence[np.ndarray] | None,
    weights: Sequence[np.ndarray],
    seed: int,
    conv: Sequence[np.ndarray] | None,
    normalise: bool,
) -> Iterator[tuple[float, list[np.ndarray]]]:
    """The reference episode step by step: yields each step's reward and the weights after
    its update (the last step, which ends the episode, has none: its weights are those before
    it); a reward of NaN, the last, when the outputs are not finite (the step is not taken)."""
    env = task.make()
    try:
        weights = [np.array(w) for w in weights]
        dtype = weights[0].dtype
        observation = task.observe(task.reset(env, seed), dtype)
        stop = EarlyStop(task, 1)
        while True:
            x = observation if conv is None else pixels.conv_one(conv, observation)
            activities = forward_one(weights, x, task.output_tanh)
            if not np.isfinite(activities[-1]).all():
                yield float("nan"), weights
                return
            (action,) = task.actions(activities[-1][None])
            observation, reward, terminated, truncated = task.step(env, action)
            observation = task.observe(observation, dtype)
            if stop(0, reward, terminated, truncated):
                yield reward, weights
                return
            if coefficients is not None:
                for layer, h in enumerate(coefficients):
                    pre, post = activities[layer], activities[layer + 1]
                    weights[layer] = rules.update_one(weights[layer], pre, post, h, rule)
                    if normalise:
                        weights[layer] = rules.normalise_one(weights[layer])
            yield reward, weights
    finally:
        env.close()


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
    total, steps = 0.0, 0
    for reward, _ in _network_steps(task, rule, coefficients, weights, seed, conv, normalise):
        if np.isnan(reward):
            return float("nan"), steps
        total += reward
        steps += 1
    return total, steps


@np.errstate(over="ignore", invalid="ignore")
def weight_changes(
    task: Task,
    rule: str,
    coefficients: Sequence[np.ndarray] | None,
    weights: Sequence[np.ndarray],
    seed: int,
    *,
    conv: Sequence[np.ndarray] | None = None,
    normalise: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """How one network's weights change over its episode (the reference's steps): (rewards
    ``[steps]``, changes ``[steps, layers]``), ``changes[t, l]`` the mean absolute change of
    layer l's weights by step t's update and normalisation (0 at the step that ends the
    episode, which updates nothing). A diverging rule ends the arrays where its outputs stop
    being finite."""
    before = [np.array(w, dtype=np.float64) for w in weights]
    rewards, changes = [], []
    for reward, after in _network_steps(task, rule, coefficients, weights, seed, conv, normalise):
        if np.isnan(reward):
            break
        rewards.append(reward)
        changes.append([float(np.abs(a - b).mean()) for a, b in zip(after, before, strict=True)])
        before = [np.array(w, dtype=np.float64) for w in after]
    return np.array(rewards), np.array(changes).reshape(len(rewards), len(before))


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
