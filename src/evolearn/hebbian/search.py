"""run-hebbian-gym.py: evolved Hebbian plasticity in random networks (Najarro & Risi 2020).

The weights of a network start random in every episode; the OpenAI evolution strategy
(:mod:`evolearn.search.es`, with the original's settings: standardised centred ranks, the L2
term 0.01 mean(theta^2) over the coefficients, lr times ``decay`` down to 0.001 and sigma
times 0.999 down to 0.01 after every generation) searches one set of Hebbian coefficients per
synapse (:mod:`evolearn.hebbian.rules`). With ``hebb_rule: static`` the same strategy evolves
the weights themselves (the paper's baseline, with the same budget); with ``init_weights:
coevolve`` the episode-start weights are evolved beside the coefficients.

The searched vector theta is the coefficients of every plastic layer, each ``[n_in, n_out, k]``
in C order, then (coevolve) the initial weights of every layer, each ``[n_in, n_out]``; for
``static`` the weights alone; for images, then the static convolution weights (each ``[out,
in, k, k]``, :mod:`evolearn.hebbian.pixels`), which no rule changes. As in the original, the
L2 term covers the coefficients only (with ``static``, every weight). With ``morphologies``
(the ant) each candidate runs its episodes on each listed body, and its score is the mean over
all of them.

A candidate is ``mean +- sigma * eps``, ``eps`` of pair ``j`` drawn from the stream (seed,
generation, NOISE, j), so a worker builds its own candidates from the mean; every candidate's
episodes of a generation use the same environment seeds, and its episode-start weights come
from the stream (seed, generation, WEIGHTS, candidate * episodes + episode; with several
bodies, episode ``b * num_trials + e`` for episode e on body b). A run's numbers do not depend
on the number of workers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import gymnasium
import numpy as np

from evolearn import streams
from evolearn.errors import ParamError, UserError
from evolearn.experiment.options import RUN_OPTIONS, layer_sizes, morphology_list
from evolearn.experiment.parsing import Params, ScriptSpec, parse_params
from evolearn.experiment.run import Run
from evolearn.experiment.workers import ChunkResults, Pool, SharedArrays
from evolearn.hebbian import episodes, pixels, rules
from evolearn.hebbian.network import layer_shapes, random_weights, split_layers, synapse_count
from evolearn.hebbian.tasks import Task, is_ant, make_task
from evolearn.search import es
from evolearn.search.es import ESState, OpenES
from evolearn.search.generations import Champion, GenerationLoop, run_evolution
from evolearn.search.strategy import Strategy

#: The original's L2 term, floors and sigma decay (evolution_strategy_hebb.py).
L2 = 0.01
LR_FLOOR = 0.001
SIGMA_DECAY = 0.999
SIGMA_FLOOR = 0.01
#: Episodes on which a generation's best is scored again before it may become champion.
CHAMPION_EPISODES = 10
#: Largest number of a chunk's networks stepped together (bounds the environments built).
MAX_PARALLEL_NETWORKS = 100
#: Base seeds are drawn below this bound so that base + episode fits into an int32.
MAX_BASE_SEED = 2**31 - 1 - 1000


def check_popsize(params: Params) -> None:
    if params.population_size < 2 or params.population_size % 2:
        raise ParamError(
            f"population_size (popsize) must be even and at least 2: the candidates are "
            f"antithetic pairs; got {params.population_size}."
        )


SPEC = ScriptSpec(
    name="run-hebbian-gym.py",
    description="Evolve Hebbian learning rules for random networks on a Gymnasium environment.",
    options=(
        "sigma",
        "decay",
        "distribution",
        "num_generations",
        "population_size",
        "num_trials",
        "hebb_rule",
        "init_weights",
        "normalise_weights",
        "lr",
        "hidden_layers",
        "env_name",
        "action_bounds",
        "morphologies",
        *RUN_OPTIONS,
    ),
    # train_hebb.py's defaults, on CartPole-v1 (an empty parameter file runs)
    defaults={"lr": 0.2, "population_size": 200, "num_generations": 300},
    checks=(check_popsize,),
    aliases={
        "environment": "env_name",
        "popsize": "population_size",
        "generations": "num_generations",
    },
)


@dataclass(frozen=True)
class Layout:
    """How theta maps onto a network: the plastic layers' shapes, the rule, the k coefficients
    per synapse (0 for static), whether the initial weights are evolved and whether the static
    convolution layers of an image task come first."""

    shapes: tuple[tuple[int, int], ...]
    rule: str
    coevolve: bool
    conv: bool = False

    @property
    def k(self) -> int:
        return 0 if self.rule == rules.STATIC else rules.coefficient_count(self.rule)

    @property
    def synapses(self) -> int:
        return synapse_count(self.shapes)

    @property
    def coefficients(self) -> int:
        return self.synapses * self.k

    @property
    def evolved_weights(self) -> int:
        """How many weights of the plastic layers theta holds (static or coevolve)."""
        return self.synapses if self.rule == rules.STATIC or self.coevolve else 0

    @property
    def conv_weights(self) -> int:
        return pixels.conv_weight_count() if self.conv else 0

    @property
    def size(self) -> int:
        return self.coefficients + self.evolved_weights + self.conv_weights

    def split(self, theta: np.ndarray) -> tuple[list | None, list | None, list | None]:
        """theta -> (coefficients per layer ``[n_in, n_out, k]`` or None, evolved weights per
        layer ``[n_in, n_out]`` or None, convolution weights per layer or None)."""
        coefficients = weights = conv = None
        end = self.coefficients + self.evolved_weights
        if self.k:
            coefficients = split_layers(theta[: self.coefficients], self.shapes, self.k)
        if self.evolved_weights:
            weights = split_layers(theta[self.coefficients : end], self.shapes)
        if self.conv:
            conv = pixels.split_conv(theta[end:])
        return coefficients, weights, conv


def initial_mean(layout: Layout, distribution: str, rng: np.random.Generator) -> np.ndarray:
    """Generation 0's theta: the coefficients (and coevolved weights) from N(0, 1) or
    U(-1, 1), as the original; a static network's weights from PyTorch's default for a linear
    layer, U(-1/sqrt(n_in), 1/sqrt(n_in)), as the original's static baseline; the convolution
    weights of an image task (last) from PyTorch's default too (:mod:`evolearn.hebbian.pixels`)."""
    plastic = layout.size - layout.conv_weights
    if layout.rule == rules.STATIC:
        mean = np.concatenate(
            [rng.uniform(-1, 1, size=a * b) / np.sqrt(a) for a, b in layout.shapes]
        )
    elif distribution == "normal":
        mean = rng.normal(size=plastic)
    else:
        mean = rng.uniform(-1.0, 1.0, size=plastic)
    if layout.conv:
        mean = np.concatenate([mean, pixels.initial_conv_weights(rng)])
    return mean


def pair_noise(seed: int, generation: int, pairs, dims: int) -> np.ndarray:
    """``[len(pairs), dims]``: the noise of each antithetic pair, from its own stream."""
    return np.stack(
        [streams.stream(seed, generation, streams.NOISE, int(j)).normal(size=dims) for j in pairs]
    )


@dataclass(frozen=True)
class Candidates:
    """The candidates of one generation, built on demand: ``candidates[c]`` is candidate c's
    theta (``mean + sigma * eps_c`` for c below popsize / 2, then the mirror images)."""

    mean: np.ndarray
    sigma: float
    seed: int
    generation: int
    popsize: int

    def __len__(self) -> int:
        return self.popsize

    def pair(self, c: int) -> tuple[int, float]:
        half = self.popsize // 2
        return (c, 1.0) if c < half else (c - half, -1.0)

    def vectors(self, indices) -> np.ndarray:
        """``[len(indices), dims]``: the thetas of these candidates."""
        indices = list(indices)
        pairs = sorted({self.pair(c)[0] for c in indices})
        drawn = pair_noise(self.seed, self.generation, pairs, len(self.mean))
        noise = dict(zip(pairs, drawn, strict=True))
        return np.stack(
            [self.mean + sign * self.sigma * noise[j] for j, sign in map(self.pair, indices)]
        )

    def __getitem__(self, c: int) -> np.ndarray:
        return self.vectors([c])[0]


class ESSearch(Strategy):
    """The evolution strategy as the loop drives it: ``ask`` gives the generation's
    :class:`Candidates`, ``tell`` their returns."""

    def __init__(self, strategy: OpenES, state: ESState, seed: int, generation: int):
        self.es = strategy
        self.state = state
        self.seed = seed
        self.generation = generation  # the generation ask gives

    def ask(self) -> Candidates:
        return Candidates(
            self.state.mean, self.state.sigma, self.seed, self.generation, self.es.popsize
        )

    def tell(self, candidates: Candidates, scores: dict[str, np.ndarray], generation: int):
        noise = pair_noise(self.seed, generation, range(self.es.half), len(self.state.mean))
        self.state = es.step(self.es, self.state, noise, scores["reward"])
        self.generation = generation + 1


@dataclass(frozen=True)
class EpisodesTask:
    """Episodes of a chunk of candidates: each with the same environment seeds, on each body
    of ``morphologies``, each episode from weights of its own stream."""

    candidates: Candidates
    indices: range
    layout: Layout
    env: Task
    seeds: tuple[int, ...]
    weight_stream: tuple[int, int, int]  # seed, generation, purpose of the episode weights
    init_weights: str
    normalise: bool
    morphologies: tuple[str, ...] = ("standard",)


def episode_returns(task: EpisodesTask, thetas: np.ndarray) -> np.ndarray:
    """``[len(thetas), bodies * episodes]``: the return of every candidate's episodes (body
    by body, each body's episodes in the order of the seeds)."""
    layout = task.layout
    trials = len(task.seeds)
    returns = np.zeros((len(thetas), len(task.morphologies) * trials))
    for start in range(0, len(thetas), MAX_PARALLEL_NETWORKS):
        block = range(start, min(start + MAX_PARALLEL_NETWORKS, len(thetas)))
        split = [layout.split(thetas[i]) for i in block]
        coefficients = _stacked(split, 0, np.float64)
        evolved = _stacked(split, 1, np.float32)  # static or coevolve: the same in every episode
        conv = _stacked(split, 2, np.float32)
        for b, body in enumerate(task.morphologies):
            env = task.env.with_morphology(body)
            for e, seed in enumerate(task.seeds):
                episode = b * trials + e
                weights = evolved
                if weights is None:
                    drawn = [
                        random_weights(
                            task.init_weights, layout.shapes, _weight_rng(task, i, episode)
                        )
                        for i in block
                    ]
                    weights = [np.stack(layer) for layer in zip(*drawn, strict=True)]
                returns[block, episode] = episodes.population_returns(
                    env, layout.rule, coefficients, weights, seed, conv=conv,
                    normalise=task.normalise,
                )[0]  # fmt: skip
    return returns


def _stacked(split: list[tuple], part: int, dtype) -> list[np.ndarray] | None:
    """Part ``part`` of the networks' :meth:`Layout.split`, layer by layer, stacked over the
    networks (None where the layout has no such part)."""
    if split[0][part] is None:
        return None
    layers = zip(*(s[part] for s in split), strict=True)
    return [np.stack(layer).astype(dtype, copy=False) for layer in layers]


def _weight_rng(task: EpisodesTask, i: int, episode: int) -> np.random.Generator:
    seed, generation, purpose = task.weight_stream
    candidate = task.indices[i]
    per_candidate = len(task.seeds) * len(task.morphologies)
    return streams.stream(seed, generation, purpose, candidate * per_candidate + episode)


def episodes_chunk(shared: SharedArrays, task: EpisodesTask) -> ChunkResults:
    """Mean return over its episodes of each candidate of the chunk."""
    thetas = task.candidates.vectors(task.indices)
    return ChunkResults(episode_returns(task, thetas).mean(axis=1).tolist())


class HebbianLoop(GenerationLoop):
    """The generation loop of run-hebbian-gym.py: an :class:`ESSearch` over theta."""

    POPULATION_COLUMNS = ("mean_reward",)
    CHAMPION_FILE = "champion.npz"

    def __init__(self, params: Params, run: Run, pool: Pool, layout: Layout, env: Task):
        super().__init__(params, run, pool)
        self.layout = layout
        self.env = env
        penalised = layout.coefficients if layout.k else None
        self.es = OpenES(
            popsize=params.population_size,
            standardise=True,
            lr_decay=params.decay,
            lr_floor=LR_FLOOR,
            sigma_decay=SIGMA_DECAY,
            sigma_floor=SIGMA_FLOOR,
            l2=L2,
            penalised=penalised,
        )

    def new_strategy(self) -> ESSearch:
        p = self.params
        mean = initial_mean(self.layout, p.distribution, streams.stream(p.seed, 0, streams.INIT))
        return ESSearch(self.es, ESState(mean, p.lr, p.sigma), p.seed, 1)

    def restore_strategy(self, state: dict) -> ESSearch:
        saved = state["strategy"]
        es_state = ESState.from_dict({**saved["values"], "mean": saved["arrays"]["mean"]})
        return ESSearch(self.es, es_state, self.params.seed, state["generation"] + 1)

    def checkpoint_state(self, generation: int) -> dict:
        es_state = self.strategy.state
        return {
            "script": self.params.script,
            "params": self.params.to_dict(),
            "generation": generation,
            "champion": self.champion,
            "strategy": {
                "arrays": {"mean": es_state.mean},
                "values": {"lr": es_state.lr, "sigma": es_state.sigma},
            },
        }

    def _task(self, candidates: Candidates, indices: range, seeds, purpose: int) -> EpisodesTask:
        p = self.params
        return EpisodesTask(
            candidates,
            indices,
            self.layout,
            self.env,
            seeds,
            (p.seed, candidates.generation, purpose),
            p.init_weights,
            p.normalise_weights,
            morphology_list(p.morphologies),
        )

    def _seeds(self, generation: int, index: int, count: int) -> tuple[int, ...]:
        return streams.episode_seeds(self.params.seed, generation, index, count, MAX_BASE_SEED)

    def evaluate(self, candidates: Candidates, generation: int) -> dict[str, np.ndarray]:
        seeds = self._seeds(generation, 0, self.params.num_trials)
        chunks = self.pool.split(len(candidates), varying_cost=True)
        tasks = [self._task(candidates, chunk, seeds, streams.WEIGHTS) for chunk in chunks]
        return {"reward": np.array(self.pool.map_chunks(episodes_chunk, tasks))}

    def champion_candidate(self, theta, scores, generation):
        """The generation's best, scored again on CHAMPION_EPISODES episodes of other seeds
        with fresh weights: its mean return decides."""
        seeds = self._seeds(generation, 1, CHAMPION_EPISODES)
        one = Candidates(np.asarray(theta), 0.0, self.params.seed, generation, 2)
        task = self._task(one, range(1), seeds, streams.CHAMPION)
        returns = episode_returns(task, np.asarray(theta)[None])[0]
        return {"reward": float(returns.mean()), "evaluation_reward": scores["reward"]}

    def population_summary(self, generation, candidates, scores) -> dict[str, float]:
        state = self.strategy.state  # told already: the next generation's lr and sigma
        self.run.scalar("es/lr", state.lr, generation)
        self.run.scalar("es/sigma", state.sigma, generation)
        rewards = scores["reward"]
        mean = float(np.mean(rewards))
        self.run.scalar("population/mean_reward", mean, generation)
        self.run.histogram("population/reward", rewards, generation)
        return {"mean_reward": mean}

    def save_champion_files(self, champion: Champion) -> None:
        save_coefficients(
            self.run.path(self.CHAMPION_FILE, atomic=True), self.layout, champion.genome,
            {**champion.info(), "env_name": self.params.env_name},
        )  # fmt: skip

    def champion_description(self) -> str:
        if self.layout.k:
            return f"rule {self.layout.rule}, {self.layout.coefficients} coefficients"
        return f"static, {self.layout.synapses} weights"


def save_coefficients(path, layout: Layout, theta: np.ndarray, info: dict) -> None:
    """A candidate as ``.npz``, data only: ``layer_<l>`` the coefficients ``[n_in, n_out, k]``
    of plastic layer l (static: its weights ``[n_in, n_out]``), ``coefficient_names`` their
    order, ``initial_weights_<l>`` (coevolve), ``conv_<c>`` the weights ``[out, in, k, k]`` of
    convolution layer c (images), ``rule`` and ``info`` (JSON), written atomically (``path`` is
    where the run records it: ``name.tmp`` first)."""
    path = Path(path)
    coefficients, weights, conv = layout.split(np.asarray(theta))
    arrays = {"rule": np.array(layout.rule), "info": np.array(json.dumps(info))}
    if coefficients is not None:
        arrays["coefficient_names"] = np.array(rules.RULES[layout.rule])
        arrays.update({f"layer_{i}": c for i, c in enumerate(coefficients)})
        if weights is not None:
            arrays.update({f"initial_weights_{i}": w for i, w in enumerate(weights)})
    else:
        arrays.update({f"layer_{i}": w for i, w in enumerate(weights)})
    if conv is not None:
        arrays.update({f"conv_{i}": w for i, w in enumerate(conv)})
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        np.savez(f, **arrays)
    tmp.replace(path)


def network_layout(params) -> tuple[Layout, Task, str]:
    """The layout and the task for the environment of ``params`` (the script's Params, or a
    run's params.yaml as a mapping) and a note for the log; ParamError when the environment
    cannot be made, its spaces do not fit a network, or a body is not the environment's."""
    params = SimpleNamespace(**params)
    bodies = morphology_list(getattr(params, "morphologies", "standard"))
    if bodies != ("standard",) and not is_ant(params.env_name):
        raise ParamError(
            f"morphologies {params.morphologies!r}: {params.env_name} has one body; the "
            f"damaged bodies are the ant's (Ant-v5)"
        )
    try:
        # each body made once: a body that cannot be made says so before the run
        env = [make_task(params.env_name, params.action_bounds, body) for body in bodies][0]
    except gymnasium.error.DependencyNotInstalled as err:
        raise ParamError(
            f"env_name {params.env_name!r} needs a package that is not installed ({err}); "
            f'for MuJoCo environments such as Ant-v5: pip install "gymnasium[mujoco]"'
        ) from None
    except ValueError as err:
        raise ParamError(f"env_name {params.env_name!r}: {err}") from None
    shapes = tuple(layer_shapes(env.num_inputs, layer_sizes(params.hidden_layers), env.num_outputs))
    layout = Layout(
        shapes, params.hebb_rule, params.init_weights == "coevolve", env.inputs == "pixels"
    )
    what = (
        f"{layout.coefficients} coefficients ({layout.k} per synapse)"
        if layout.k
        else f"{layout.synapses} weights (static)"
    )
    sizes = " -> ".join(str(n) for n in (shapes[0][0], *(b for _, b in shapes)))
    front = ""
    if layout.conv:
        front = (
            f"84x84 RGB frames -> 2 static convolution layers ({layout.conv_weights} weights) -> "
        )
    elif env.inputs == "one_hot":
        front = "one-hot observations -> "
    note = f"Network {front}{sizes} ({layout.synapses} plastic synapses); the search evolves {what}"
    if layout.coevolve:
        note += f" and {layout.synapses} initial weights"
    if layout.conv:
        note += f" and the {layout.conv_weights} convolution weights"
    if len(bodies) > 1 or bodies != ("standard",):
        note += f"; each candidate runs on the bodies {', '.join(bodies)}"
    return layout, env, note + f": {layout.size} numbers."


def load_coefficients(path: Path, layout: Layout) -> np.ndarray:
    """The theta of a file :func:`save_coefficients` wrote, checked against ``layout``.

    Raises:
        UserError: the file cannot be read, or its arrays do not fit the run's network.
    """
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {name: f[name] for name in f.files}
    except (OSError, ValueError) as err:
        raise UserError(f"{path} is not a coefficient file of run-hebbian-gym.py ({err})") from None
    rule = str(arrays.get("rule", ""))
    if rule != layout.rule:
        raise UserError(f"{path} holds the rule {rule!r}, but its run used {layout.rule!r}")
    k = (layout.k,) if layout.k else ()
    parts = [(f"layer_{i}", shape + k) for i, shape in enumerate(layout.shapes)]
    if layout.k and layout.coevolve:
        parts += [(f"initial_weights_{i}", shape) for i, shape in enumerate(layout.shapes)]
    if layout.conv:
        parts += [(f"conv_{i}", shape) for i, shape in enumerate(pixels.conv_shapes())]
    theta = []
    for key, shape in parts:
        if key not in arrays or arrays[key].shape != tuple(shape):
            got = arrays[key].shape if key in arrays else "nothing"
            raise UserError(
                f"{path}: {key} should have the shape {tuple(shape)} for the run's network "
                f"{' -> '.join(str(a) for a, _ in layout.shapes)} -> {layout.shapes[-1][1]}, "
                f"but has {got}"
            )
        theta.append(arrays[key].ravel())
    return np.concatenate(theta).astype(np.float64)


def score_saved(
    path: Path, params, trials: int, seed: int, morphology: str | None = None
) -> np.ndarray:
    """``[trials]``: the returns of the saved candidate at ``path`` (a run's ``params.yaml`` as
    ``params``) on episodes with environment seeds ``seed``, ``seed`` + 1, ..., each with fresh
    episode-start weights from the stream (seed, 0, WEIGHTS, trial); on the body
    ``morphology`` (the ant; any body, also one the run never saw), else the run's first."""
    params, layout, env, theta = _saved(path, params, morphology)
    task = EpisodesTask(
        Candidates(theta, 0.0, seed, 0, 2),
        range(1),
        layout,
        env,
        tuple(range(seed, seed + trials)),
        (seed, 0, streams.WEIGHTS),
        params["init_weights"],
        params["normalise_weights"],
        morphology_list(params.get("morphologies", "standard"))[:1],
    )
    return episode_returns(task, theta[None])[0]


def _saved(path: Path, params, morphology: str | None):
    """(params with the body chosen, the layout, the task, theta) of a saved candidate."""
    params = dict(params)
    if morphology is not None:
        params["morphologies"] = morphology
    layout, env, _ = network_layout(params)
    return params, layout, env, load_coefficients(path, layout)


def trace_saved(
    path: Path, params, seed: int, morphology: str | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """One episode of the saved candidate at ``path``, the first that :func:`score_saved`
    with ``seed`` scores (the same environment seed and episode-start weights), step by step:
    (rewards ``[steps]``, the mean absolute change of each plastic layer's weights at each
    step ``[steps, layers]``; see :func:`evolearn.hebbian.episodes.weight_changes`)."""
    params, layout, env, theta = _saved(path, params, morphology)
    coefficients, evolved, conv = layout.split(theta)
    weights = evolved
    if weights is None:
        rng = streams.stream(seed, 0, streams.WEIGHTS, 0)
        weights = random_weights(params["init_weights"], layout.shapes, rng)
    else:
        weights = [w.astype(np.float32) for w in weights]
    if conv is not None:
        conv = [c.astype(np.float32) for c in conv]
    body = morphology_list(params.get("morphologies", "standard"))[0]
    return episodes.weight_changes(
        env.with_morphology(body), layout.rule, coefficients, weights, seed, conv=conv,
        normalise=params["normalise_weights"],
    )  # fmt: skip


def main(argv: list[str]) -> None:
    params = parse_params(SPEC, argv)
    layout, env, note = network_layout(params)
    run_evolution(
        params, lambda run, pool: HebbianLoop(params, run, pool, layout, env), notes=[note]
    )
