"""The champion rule on equal scores, in each family's own loop: a network becomes champion only
when it *beats* the champion (SPEC section 6), so an equal score never replaces it. CartPole-v1
gives ties all the time (every good network scores the maximum 500), and a champion replaced on
a tie would follow the latest network rather than the one that first reached the score.

- WANN (gym and classification): the generation's best is checked again (the gym task re-runs
  it with 16 trials per weight value, classification scores it on the whole training set) only
  when it beats the champion on its generation's scores, and becomes champion only when the
  check beats the champion too.
- WLNN: the champion is the best reward ever.

Each test builds the family's real loop on a real run folder and calls its champion update
with scores made by hand.
"""

import contextlib

import numpy as np
import pytest
import torch

from evolearn.data import load_dataset
from evolearn.experiment.parsing import parse_params
from evolearn.experiment.run import Run
from evolearn.experiment.workers import WorkerPool
from evolearn.genome import Genome
from evolearn.wann import classification, gym
from evolearn.wlnn import evolution as wlnn

GENERATION = 2


@contextlib.contextmanager
def wann_gym(tmp_path):
    params = parse_params(
        gym.SPEC,
        [
            "params/wann-gym/CartPole-v0.yaml",
            "--env_name",
            "CartPole-v1",
            "--population_size",
            "4",
            "--tournament_size",
            "2",
            "--out_dir",
            str(tmp_path / "run"),
        ],
    )
    with Run.create(params) as run, WorkerPool(1, {}) as pool:
        yield gym.WANNGym(params, run, pool)


@contextlib.contextmanager
def wann_classification(tmp_path):
    params = parse_params(
        classification.SPEC,
        [
            "params/wann-classification/digits.yaml",
            "--population_size",
            "4",
            "--tournament_size",
            "2",
            "--out_dir",
            str(tmp_path / "run"),
        ],
    )
    arrays = classification.network_arrays(load_dataset("digits", progress=False), False)
    with Run.create(params) as run, WorkerPool(1, arrays) as pool:
        yield classification.WANNClassification(params, run, pool, torch.device("cpu"))


WANN_FAMILIES = {"gym": wann_gym, "classification": wann_classification}


def two_networks(evolution) -> list[Genome]:
    """Two networks of the initial population, with at least one connection each."""
    population = [g for g in evolution.initial_population() if g.num_connections]
    assert len(population) >= 2
    return population[:2]


def wann_scores(best_mean: float) -> dict[str, np.ndarray]:
    """Generation scores where network 0 is the best, with mean reward ``best_mean``."""
    return {
        "mean_reward": np.array([best_mean, best_mean - 1.0]),
        "max_reward": np.array([best_mean + 1.0, best_mean]),
    }


def champion_files(evolution) -> dict[str, bytes]:
    out = evolution.run.out_dir
    files = [out / "champion.json", *sorted((out / "champions").iterdir())]
    return {p.name: p.read_bytes() for p in files}


def assert_champion_kept(evolution, champion, files):
    assert evolution.champion is champion
    assert champion_files(evolution) == files  # no new champion.json, no champions/gen-00002


@pytest.mark.parametrize("family", sorted(WANN_FAMILIES))
def test_wann_best_that_ties_the_champion_is_not_checked_again_nor_made_champion(
    tmp_path, family, monkeypatch
):
    with WANN_FAMILIES[family](tmp_path) as evolution:
        old, best = two_networks(evolution)
        # What the check (re-run, whole training set) would give the generation's best:
        checked = evolution.champion_candidate(best, {}, GENERATION)
        # The champion scored below that check, and the best only ties it on its generation's
        # scores: a tie is no improvement, so the best is not even checked.
        level = checked["mean_reward"] - 1.0
        evolution.set_champion(old, 1, 0, {"mean_reward": level, "max_reward": level})
        champion, files = evolution.champion, champion_files(evolution)
        calls = []
        real_check = evolution.champion_candidate
        monkeypatch.setattr(
            evolution, "champion_candidate", lambda *a: calls.append(a) or real_check(*a)
        )
        assert evolution.update_champion([best, old], wann_scores(level), GENERATION) is False
        assert calls == []
        assert_champion_kept(evolution, champion, files)
        # The same best one step above the champion is checked, and wins.
        above = np.nextafter(level, np.inf)
        assert evolution.update_champion([best, old], wann_scores(above), GENERATION) is True
        assert len(calls) == 1 and evolution.champion.genome is best
        assert evolution.champion.scores["mean_reward"] == checked["mean_reward"]


@pytest.mark.parametrize("family", sorted(WANN_FAMILIES))
def test_wann_best_whose_check_ties_the_champion_does_not_replace_it(tmp_path, family):
    with WANN_FAMILIES[family](tmp_path) as evolution:
        old, best = two_networks(evolution)
        checked = evolution.champion_candidate(best, {}, GENERATION)
        tie = checked["mean_reward"]
        # The champion scored exactly what the check gives the best; the best beats it on its
        # generation's scores (a lucky batch or lucky trials), but its check only ties it.
        evolution.set_champion(old, 1, 0, {"mean_reward": tie, "max_reward": tie})
        champion, files = evolution.champion, champion_files(evolution)
        assert evolution.update_champion([best, old], wann_scores(tie + 5.0), GENERATION) is False
        assert_champion_kept(evolution, champion, files)
        # A champion a step below the check is replaced by the best.
        below = np.nextafter(tie, -np.inf)
        evolution.set_champion(old, 1, 0, {"mean_reward": below, "max_reward": below})
        assert evolution.update_champion([best, old], wann_scores(tie + 5.0), GENERATION) is True
        assert evolution.champion.genome is best and evolution.champion.generation == GENERATION
        assert (evolution.run.out_dir / f"champions/gen-{GENERATION:05d}.json").exists()


def test_wann_gym_check_is_the_re_run_with_16_trials_per_weight_value(tmp_path):
    # The check the tests above tie: 16 trials per weight value, seeds of its own stream.
    with wann_gym(tmp_path) as evolution:
        _, best = two_networks(evolution)
        seeds = evolution._seeds(GENERATION, 1, gym.CHAMPION_TRIALS)
        assert gym.CHAMPION_TRIALS == 16 and len(seeds) == 16
        expected = evolution._evaluate_one(best, seeds)
        assert evolution.champion_candidate(best, {}, GENERATION) == expected
        assert expected != evolution._evaluate_one(best, evolution._seeds(GENERATION, 0, 3))


@contextlib.contextmanager
def wlnn_evolution(tmp_path):
    params = parse_params(
        wlnn.SPEC,
        [
            "params/wlnn/digits-backprop.yaml",
            "--population_size",
            "4",
            "--tournament_size",
            "2",
            "--out_dir",
            str(tmp_path / "run"),
        ],
    )
    with Run.create(params) as run, WorkerPool(1, {}) as pool:
        yield wlnn.WLNNEvolution(params, run, pool, torch.device("cpu"))


def test_wlnn_network_whose_reward_ties_the_champion_does_not_replace_it(tmp_path):
    with wlnn_evolution(tmp_path) as evolution:
        old, best = evolution.initial_population()[:2]
        evolution.set_champion(old, 0, 0, {"reward": -0.5, "acc": 0.5})
        champion, files = evolution.champion, champion_files(evolution)
        # Equal reward, better accuracy: the reward decides, and a tie is no improvement.
        tie = {"reward": np.array([-0.5, -0.75]), "acc": np.array([0.9, 0.2])}
        assert evolution.update_champion([best, old], tie, GENERATION) is False
        assert_champion_kept(evolution, champion, files)
        # One step better in reward wins, with the scores of the generation.
        above = {"reward": np.array([np.nextafter(-0.5, 0.0), -0.75]), "acc": tie["acc"]}
        assert evolution.update_champion([best, old], above, GENERATION) is True
        assert evolution.champion.genome is best
        assert evolution.champion.scores == {"reward": np.nextafter(-0.5, 0.0), "acc": 0.9}
