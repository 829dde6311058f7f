"""A network whose evaluation fails (NaN or infinity: a diverged Hebbian network, an evaluation
that raised) gets the worst possible scores. These tests check what that must mean, beyond the
scores being finite: the failed network ranks below every working one in the NSGA-II ranking,
whatever the objectives (1 / complexity too: a failed network with the fewest connections is
not spared), never passes as an elite, never wins a tournament, and never becomes champion.

Each test runs the family's real loop (objectives, ranking, reproduction, champion update) on
a real run folder, with scores made by hand.
"""

import contextlib
import dataclasses

import numpy as np
import pytest
import torch

from evolearn.experiment.parsing import parse_params
from evolearn.experiment.run import Run
from evolearn.experiment.workers import WorkerPool
from evolearn.search.generations import WORST_SCORE
from evolearn.search.ranking import rank_by_dominance
from evolearn.search.reproduction import reproduce
from evolearn.wann import gym
from evolearn.wlnn import evolution as wlnn

SIZE = 10
SELECTION = ["--population_size", str(SIZE), "--tournament_size", "3", "--cull_ratio", "0"]
SELECTION += ["--elite_ratio", "0.2"]


@contextlib.contextmanager
def family_loop(tmp_path, family: str, *args: str):
    out = ["--out_dir", str(tmp_path / "run")]
    if family == "wann-gym":
        params = parse_params(
            gym.SPEC,
            [
                "params/wann-gym/CartPole-v0.yaml",
                "--env_name",
                "CartPole-v1",
                *SELECTION,
                *args,
                *out,
            ],
        )
        with Run.create(params) as run, WorkerPool(1, {}) as pool:
            yield gym.WANNGym(params, run, pool)
    else:
        params = parse_params(
            wlnn.SPEC, ["params/wlnn/digits-backprop.yaml", *SELECTION, *args, *out]
        )
        with Run.create(params) as run, WorkerPool(1, {}) as pool:
            yield wlnn.WLNNEvolution(params, run, pool, torch.device("cpu"))


def raw_scores(family: str, failed: list[int], generation: int) -> dict[str, np.ndarray]:
    """Distinct finite scores, NaN or infinity for the ``failed`` networks."""
    rng = np.random.default_rng(generation)
    reward = -rng.permutation(SIZE).astype(float) - 1.0
    second = reward + rng.random(SIZE)
    bad = np.array([np.nan, np.inf, -np.inf] * SIZE)[: len(failed)]
    reward[failed] = bad
    if family == "wann-gym":
        return {"mean_reward": reward, "max_reward": second}
    return {"reward": reward, "acc": np.clip(second / 20 + 1, 0, 1)}


def simplest_first(population):
    """The population with its first network replaced by one without any connection: strictly
    the best in 1 / complexity (every other network has at least two connections)."""
    first = population[0]
    empty = dataclasses.replace(
        first,
        connections=first.connections[:0],
        weights=None if first.weights is None else first.weights[:0],
    )
    assert min(g.num_connections for g in population[1:]) >= 2
    return [empty, *population[1:]]


FAMILIES = ["wann-gym", "wlnn"]


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("p_complexity", ["0", "1"])
def test_failed_networks_rank_below_every_working_network(tmp_path, family, p_complexity):
    with family_loop(tmp_path, family, "--p_complexity_objective", p_complexity) as evolution:
        population = simplest_first(evolution.initial_population())
        failed = [0, 6]  # the simplest network among them: first in 1 / complexity
        for generation in range(1, 6):
            scores = evolution.sanitize(raw_scores(family, failed, generation), generation)
            objectives = evolution.ranking_objectives(population, scores, generation)
            ranks = rank_by_dominance(objectives)
            assert sorted(ranks[failed]) == [SIZE - 2, SIZE - 1], (generation, ranks)


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("p_complexity", ["0", "1"])
def test_failed_networks_are_never_elites_nor_tournament_winners(
    tmp_path, family, p_complexity, monkeypatch
):
    with family_loop(tmp_path, family, "--p_complexity_objective", p_complexity) as evolution:
        population = simplest_first(evolution.initial_population())
        parents = []
        # Children as copies of their parent, to see who won each tournament.
        monkeypatch.setattr(
            evolution, "mutate", lambda genome, rng: parents.append(genome) or genome
        )
        n_elite = int(SIZE * evolution.params.elite_ratio)
        for generation in range(1, 21):
            failed = [0, generation % (SIZE - 1) + 1]
            scores = evolution.sanitize(raw_scores(family, failed, generation), generation)
            parents.clear()
            following = evolution.new_strategy().next_population(population, scores, generation)
            assert len(following) == SIZE and len(parents) == SIZE - n_elite
            chosen = {id(g) for g in following}
            assert not chosen & {id(population[i]) for i in failed}, generation
            # The working networks did breed: the tournaments were held among them.
            assert len(chosen) >= 3


def test_a_tournament_between_a_failed_and_a_working_network_goes_to_the_working_one():
    # Ranks as the loop gives them: the failed network (index 1) last. Tournaments of two
    # from the whole population: every tournament holding it is won by the other member.
    ranks = np.array([1, 3, 0, 2])
    for seed in range(20):
        elites, parents = reproduce(
            ranks,
            cull_ratio=0.0,
            elite_ratio=0.25,
            tournament_size=2,
            rng=np.random.default_rng(seed),
        )
        assert 1 not in elites.tolist() and 1 not in parents.tolist()


@pytest.mark.parametrize("family", FAMILIES)
def test_a_failed_network_never_becomes_champion(tmp_path, family):
    with family_loop(tmp_path, family) as evolution:
        population = evolution.initial_population()
        key = evolution.CHAMPION_KEY
        if family == "wlnn":  # its first champion is the best untrained network
            evolution.set_champion(population[5], 0, 5, {"reward": -50.0, "acc": 0.0})
        # Generation 1: network 0 failed; the others work.
        scores = evolution.sanitize(raw_scores(family, [0], 1), 1)
        evolution.update_champion(population, scores, 1)
        champion = evolution.champion
        working_best = int(np.argmax(np.where(np.arange(SIZE) == 0, -np.inf, scores[key])))
        assert champion.genome is population[working_best] and champion.index == working_best
        assert np.isfinite(champion.scores[key]) and champion.scores[key] > WORST_SCORE
        # Generation 2: every network failed; the champion stays.
        scores = evolution.sanitize(raw_scores(family, list(range(SIZE)), 2), 2)
        assert (scores[key] == WORST_SCORE).all()
        assert evolution.update_champion(population, scores, 2) is False
        assert evolution.champion is champion


def test_the_worst_score_is_below_any_score_a_network_can_get():
    # Rewards are minus a loss (WLNN, WANN classification) or a return (gym): a float64
    # far below any of them, but finite so that sums and tables stay finite.
    assert np.isfinite(WORST_SCORE) and WORST_SCORE <= -1e30
