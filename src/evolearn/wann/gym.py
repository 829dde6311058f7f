"""run-wann-gym.py: weight agnostic networks on a Gymnasium environment (Gaier & Ha 2019).

Each generation, every network runs ``num_trials`` episodes per train weight value; the action
is the network's output, or its argmax with ``take_argmax_action``. The trials use environment
seeds base, base+1, ... drawn once per generation and shared by all weight values and all
networks of the generation (common random numbers). Reward per weight value = mean episode
return over the trials; mean reward = mean over weight values; max reward = the best weight
value. The generation's best that beats the champion is re-run with 16 trials per weight value
before it becomes champion; every ``test_every`` generations the champion is tested with 100
trials per weight value.

Environments are built inside the worker processes (once per process) and never shipped.
"""

from __future__ import annotations

from dataclasses import KW_ONLY, dataclass

import gymnasium
import numpy as np

from evolearn import streams
from evolearn.envs import SWINGUP_ID, make_env, resolve_env_id
from evolearn.errors import ParamError
from evolearn.experiment.parsing import Params, ScriptSpec, parse_params
from evolearn.experiment.workers import (
    ChunkResults,
    SharedArrays,
    each_or_failed,
    fast_or_one_by_one,
    nan_scores,
)
from evolearn.genome import Genome
from evolearn.search.generations import run_evolution
from evolearn.wann.network import TRAIN_WEIGHT_VALUES, WANNNetwork, with_bias
from evolearn.wann.population import swingup_returns
from evolearn.wann.search import (
    WANN_CHECKS,
    WANN_OPTIONS,
    WANNEvolution,
    weight_scores,
)

#: Trials per weight value when a new champion is checked, and when the champion is tested.
CHAMPION_TRIALS = 16
TEST_TRIALS = 100
#: Largest number of episodes stepped together in one worker (bounds the environments built).
MAX_PARALLEL_EPISODES = 96
#: Base seeds are drawn below this bound so that base + trial fits into an int32.
MAX_BASE_SEED = 2**31 - 1 - TEST_TRIALS

SPEC = ScriptSpec(
    name="run-wann-gym.py",
    description="Evolve weight agnostic neural networks on a Gymnasium environment.",
    options=WANN_OPTIONS + ("num_trials", "env_name", "take_argmax_action"),
    # The default environment (env_name CartPole-v1) with networks that fit it: an empty
    # parameter file runs.
    defaults={
        "num_trials": 3,
        "test_every": 50,
        "num_inputs": 4,
        "num_outputs": 2,
        "take_argmax_action": True,
    },
    checks=WANN_CHECKS,
)


def check_fits_env(params: Params) -> None:
    """num_inputs, num_outputs and take_argmax_action must fit the environment."""
    env = make_env(params.env_name)
    try:
        obs_space, action_space = env.observation_space, env.action_space
    finally:
        env.close()
    if not isinstance(obs_space, gymnasium.spaces.Box) or len(obs_space.shape) != 1:
        raise ParamError(
            f"env_name {params.env_name!r} has observations {obs_space}; only flat Box "
            f"observations can be fed to a network."
        )
    if params.num_inputs != obs_space.shape[0]:
        raise ParamError(
            f"num_inputs is {params.num_inputs} but {params.env_name} observations have "
            f"{obs_space.shape[0]} values; set num_inputs: {obs_space.shape[0]}."
        )
    if isinstance(action_space, gymnasium.spaces.Discrete):
        if not params.take_argmax_action:
            raise ParamError(
                f"env_name {params.env_name!r} has discrete actions; set take_argmax_action: "
                f"yes (the action is then the argmax of the network's outputs)."
            )
        expected = int(action_space.n)
    elif isinstance(action_space, gymnasium.spaces.Box) and len(action_space.shape) == 1:
        expected = action_space.shape[0]
        if params.take_argmax_action:
            raise ParamError(
                f"env_name {params.env_name!r} has continuous actions; set "
                f"take_argmax_action: no (the action is then the network's output)."
            )
    else:
        raise ParamError(f"env_name {params.env_name!r} has unsupported actions {action_space}.")
    if params.num_outputs != expected:
        raise ParamError(
            f"num_outputs is {params.num_outputs} but {params.env_name} takes actions of "
            f"{expected} values; set num_outputs: {expected}."
        )


@dataclass(frozen=True)
class EpisodeTask:
    """Episodes of a chunk of networks: every weight value with every trial seed.

    ``fast``: on CartPoleSwingUp, all episodes of the chunk at once in the vectorised physics
    (:func:`evolearn.wann.population.swingup_returns`); other environments, and False, go
    network by network through Gymnasium environments (the reference).
    """

    genomes: list[Genome]
    env_name: str
    weights: tuple[float, ...]
    seeds: tuple[int, ...]
    _: KW_ONLY
    take_argmax_action: bool
    use_torch: bool
    bias_input: bool = False
    fast: bool = True


def has_fast_path(env_name: str, *, take_argmax_action: bool) -> bool:
    """Whether :func:`episodes_chunk` steps a task's episodes all at once (CartPoleSwingUp)."""
    return resolve_env_id(env_name) == SWINGUP_ID and not take_argmax_action


def run_episodes(
    compiled: WANNNetwork,
    envs: list[gymnasium.Env],
    weights: np.ndarray,
    seeds: list[int],
    *,
    take_argmax_action: bool,
    use_torch: bool,
    bias_input: bool = False,
) -> np.ndarray:
    """Returns ``[W, T]``: the return of an episode for each weight value and trial seed.

    All W x T episodes are stepped together, one forward pass per step for all of them. With
    ``bias_input`` the network's input 0 is a bias neuron (always 1), before the observation.
    """
    num_weights, num_trials = len(weights), len(seeds)
    obs = np.stack(
        [
            envs[w * num_trials + t].reset(seed=s)[0]
            for w in range(num_weights)
            for t, s in enumerate(seeds)
        ]
    ).astype(np.float64)
    obs = obs.reshape(num_weights, num_trials, -1)
    if bias_input:
        obs = with_bias(obs)
    first = int(bias_input)  # the observation's first column
    returns = np.zeros((num_weights, num_trials))
    running = np.ones((num_weights, num_trials), dtype=bool)
    weights64 = np.asarray(weights, dtype=np.float64)
    while running.any():
        if use_torch:
            out = compiled.forward_torch(obs, weights64).numpy()
        else:
            out = compiled.forward_numpy(obs, weights)
        for w, t in zip(*np.nonzero(running), strict=True):
            env = envs[w * num_trials + t]
            action = (
                int(np.argmax(out[w, t])) if take_argmax_action else out[w, t].astype(np.float32)
            )
            observation, reward, terminated, truncated, _ = env.step(action)
            returns[w, t] += float(reward)
            obs[w, t, first:] = observation
            if terminated or truncated:
                running[w, t] = False
    return returns


def fresh_episodes(
    compiled: WANNNetwork, env_name: str, weights: np.ndarray, seeds: list[int], **options
) -> np.ndarray:
    """:func:`run_episodes` (with its keyword ``options``) in environments made for these
    episodes alone, closed after.

    An environment reset with a seed does not always replay the same episode after other
    episodes (BipedalWalker's Box2D world keeps state across resets: a network's returns
    changed with the networks evaluated before it in the same process). Making one costs about
    0.1 ms, a reset of BipedalWalker 1.7 ms."""
    envs = [make_env(env_name) for _ in range(len(weights) * len(seeds))]
    try:
        return run_episodes(compiled, envs, weights, seeds, **options)
    finally:
        for env in envs:
            env.close()


def episodes_chunk(shared: SharedArrays, task: EpisodeTask) -> ChunkResults:
    """Mean return per weight value ``[W]`` of each network of the chunk.

    A network's numbers do not depend on the other networks of its chunk (fast path
    included), so they do not depend on the number of workers.
    """
    weights = np.asarray(task.weights, dtype=np.float64)

    def whole_chunk():
        returns = swingup_returns(
            task.genomes,
            task.weights,
            task.seeds,
            use_torch=task.use_torch,
            bias_input=task.bias_input,
        )
        return (r.mean(axis=1) for r in returns)

    def one_by_one():
        # Step at most MAX_PARALLEL_EPISODES episodes together: trials in blocks.
        block = max(1, MAX_PARALLEL_EPISODES // len(weights))

        def one(genome: Genome) -> np.ndarray:
            compiled = WANNNetwork(genome)
            returns = np.concatenate(
                [
                    fresh_episodes(
                        compiled,
                        task.env_name,
                        weights,
                        list(task.seeds[start : start + block]),
                        take_argmax_action=task.take_argmax_action,
                        use_torch=task.use_torch,
                        bias_input=task.bias_input,
                    )
                    for start in range(0, len(task.seeds), block)
                ],
                axis=1,
            )
            return returns.mean(axis=1)

        return each_or_failed(one, task.genomes, nan_scores((len(weights),)))

    fast = task.fast and has_fast_path(task.env_name, take_argmax_action=task.take_argmax_action)
    return fast_or_one_by_one(whole_chunk if fast else None, one_by_one)


class WANNGym(WANNEvolution):
    def champion_test_keys(self) -> tuple[str, ...]:
        return ("test_mean_reward", "test_max_reward")

    def _seeds(self, generation: int, index: int, count: int) -> tuple[int, ...]:
        return streams.episode_seeds(self.params.seed, generation, index, count, MAX_BASE_SEED)

    def _task(self, genomes, seeds) -> EpisodeTask:
        p = self.params
        return EpisodeTask(
            genomes,
            p.env_name,
            TRAIN_WEIGHT_VALUES,
            seeds,
            take_argmax_action=p.take_argmax_action,
            use_torch=p.use_torch,
            bias_input=p.bias_input,
        )

    def evaluate(self, population: list[Genome], generation: int) -> dict[str, np.ndarray]:
        seeds = self._seeds(generation, 0, self.params.num_trials)
        rewards = np.array(
            self.pool.map_population(
                episodes_chunk,
                population,
                lambda genomes, _: self._task(genomes, seeds),
                varying_cost=True,  # an episode ends early when the walker falls
            )
        )
        return weight_scores(rewards)

    def _evaluate_one(self, genome: Genome, seeds) -> dict[str, float]:
        rewards = episodes_chunk(self.pool.shared, self._task([genome], seeds))[0]
        return {k: float(v) for k, v in weight_scores(rewards).items()}

    def champion_candidate(self, genome, scores, generation):
        """The candidate's scores over CHAMPION_TRIALS trials per weight value."""
        return self._evaluate_one(genome, self._seeds(generation, 1, CHAMPION_TRIALS))

    def champion_test_scores(self, generation: int) -> dict[str, float]:
        scores = self._evaluate_one(self.champion.genome, self._seeds(generation, 2, TEST_TRIALS))
        return {f"test_{k}": v for k, v in scores.items()}


def main(argv: list[str]) -> None:
    params = parse_params(SPEC, argv)
    check_fits_env(params)
    how = (
        "the whole population at once in the vectorised physics"
        if has_fast_path(params.env_name, take_argmax_action=params.take_argmax_action)
        else "network by network"
    )
    run_evolution(
        params,
        lambda run, pool: WANNGym(params, run, pool),
        notes=[
            "use_cuda has no effect in run-wann-gym.py: one sample per step runs on the CPU"
            if params.use_cuda
            else None,
            f"Environment {params.env_name}, episodes {how}; forward passes with "
            f"{'torch' if params.use_torch else 'numpy'}",
        ],
    )
