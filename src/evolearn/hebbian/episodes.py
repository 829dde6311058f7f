"""Episodes of Hebbian networks in Gymnasium environments: the return of each network.

Each step, as the original: the network's forward pass on the observation, the action, the
environment's step, the reward; an episode that ends (:class:`~evolearn.hebbian.tasks.EarlyStop`)
stops before any update; otherwise every plastic layer changes by the rule with that step's
activities, then (``normalise``) is divided by its largest absolute weight. A ``static`` rule
(``coefficients`` None) keeps the weights as they are. A network whose outputs are NaN or
infinite (its rule diverged) ends its episode there with the return NaN, which the generation
loop turns into the worst score.

:func:`population_returns` steps a whole population at once (one batched product per layer,
the rule and the normalisation in one pass over the synapses: :mod:`evolearn.hebbian.fused`);
:func:`network_return` is the per-network reference, one network, plain arrays. Both reset
every network's environment with the same ``seed``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from evolearn.envs import make_env
from evolearn.hebbian import fused, rules
from evolearn.hebbian.network import forward_one
from evolearn.hebbian.tasks import ActionMap, EarlyStop

#: Below this fraction of networks still running, the arrays shrink to those that run.
COMPACT_BELOW = 0.75


@np.errstate(over="ignore", invalid="ignore")  # a diverging rule: its NaN return says it
def network_return(
    env_name: str,
    rule: str,
    coefficients: Sequence[np.ndarray] | None,
    weights: Sequence[np.ndarray],
    seed: int,
    actions: ActionMap,
    *,
    normalise: bool = True,
) -> tuple[float, int]:
    """The reference: one network's episode. ``coefficients`` per layer ``[n_in, n_out, k]``
    (None: static), ``weights`` per layer ``[n_in, n_out]``. Returns (return, steps)."""
    env = make_env(env_name)
    try:
        observation, _ = env.reset(seed=seed)
        weights = [np.array(w) for w in weights]
        dtype = weights[0].dtype
        stop = EarlyStop(env_name, 1)
        total, steps = 0.0, 0
        while True:
            activities = forward_one(weights, np.asarray(observation, dtype=dtype).ravel())
            if not np.isfinite(activities[-1]).all():
                return float("nan"), steps
            (action,) = actions(activities[-1][None])
            observation, reward, terminated, truncated, _ = env.step(action)
            total += float(reward)
            steps += 1
            if stop(0, float(reward), terminated, truncated):
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
    env_name: str,
    rule: str,
    coefficients: Sequence[np.ndarray] | None,
    weights: Sequence[np.ndarray],
    seed: int,
    actions: ActionMap,
    *,
    normalise: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """The fast path: every network's episode at once. ``coefficients`` per layer
    ``[population, n_in, n_out, k]`` (None: static), ``weights`` per layer ``[population, n_in,
    n_out]`` (not changed; the dtype of the pass). Returns (returns ``[population]``, steps
    ``[population]``)."""
    population = len(weights[0])
    dtype = weights[0].dtype
    envs = [make_env(env_name) for _ in range(population)]
    try:
        observations = np.stack(
            [np.asarray(env.reset(seed=seed)[0], dtype=dtype).ravel() for env in envs]
        )
        raws = [np.array(w) for w in weights]  # the weights are raw * scale (fused.py)
        scales = [np.ones(population, dtype=dtype) for _ in raws]
        terms = None
        if coefficients is not None:
            terms = [rules.fold(h, rule, dtype) for h in coefficients]
        stop = EarlyStop(env_name, population)
        returns = np.zeros(population)
        steps = np.zeros(population, dtype=np.int64)
        rows = np.arange(population)  # the network of each row of the arrays
        running = np.ones(population, dtype=bool)  # per row
        while running.any():
            activities = fused.forward(raws, scales, observations)
            diverged = running & ~np.isfinite(activities[-1]).all(axis=1)
            if diverged.any():
                returns[rows[diverged]] = np.nan
                running &= ~diverged
            chosen = actions(activities[-1])
            observations = observations.copy()  # activities[0] is this step's: the rule's pre
            for row in np.flatnonzero(running):
                network = rows[row]
                observation, reward, terminated, truncated, _ = envs[network].step(chosen[row])
                returns[network] += float(reward)
                steps[network] += 1
                observations[row] = np.asarray(observation, dtype=dtype).ravel()
                if stop(network, float(reward), terminated, truncated):
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
        return returns, steps
    finally:
        for env in envs:
            env.close()
