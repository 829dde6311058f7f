"""The WANN paper's four settings (and the ensemble) on hand-made networks whose scores are
worked out by hand, independently of the network code."""

import math

import gymnasium
import numpy as np
import pytest

import evolearn  # noqa: F401  (registers CartPoleSwingUp-v0)
from evolearn.activations import activation_index
from evolearn.genome import Genome
from evolearn.wann import protocol
from evolearn.wann.protocol import (
    TUNING_GRID,
    Budget,
    DatasetTask,
    EnvironmentTask,
    evaluate,
    gradient_training,
    setting_rng,
)

# --- a dataset task ----------------------------------------------------------------------------
# Inputs x0, x1; outputs 2 and 3; hidden 4 (tanh). Connections, in this order:
#   0 -> 4 (c0), 4 -> 2 (c1), 1 -> 3 (c2)
# logit0 = c1 * w * tanh(c0 * w * x0), logit1 = c2 * w * x1 (shared weight w, own weights c).
X = np.array([[1.0, 0.5], [1.0, 0.9], [2.0, 0.5], [0.5, 0.2], [1.5, 1.2]], dtype=np.float32)
Y = np.array([0, 1, 0, 0, 1])


def classifier() -> Genome:
    layer = np.array([0, 0, 2, 2, 1])
    connections = np.array([[0, 4], [4, 2], [1, 3]])
    activations = np.zeros(5, dtype=np.int64)
    activations[4] = activation_index("tanh")
    return Genome(2, 2, layer, connections, None, activations)


def logits_by_hand(x, w, c=(1.0, 1.0, 1.0)):
    return np.array([c[1] * w * math.tanh(c[0] * w * x[0]), c[2] * w * x[1]])


def accuracy_by_hand(w, c=(1.0, 1.0, 1.0)):
    right = 0
    for x, y in zip(X, Y, strict=True):
        logits = logits_by_hand(x.astype(np.float64), w, c)
        right += int(np.argmax(logits) == y)  # a tie goes to output 0, as numpy's argmax
    return right / len(Y)


def dataset():
    return DatasetTask(X, Y, X, Y)  # the same five examples to tune and to test


def test_random_shared_weight_draws_from_minus_two_to_two_per_trial():
    result = evaluate(dataset(), classifier(), "random_shared_weight", trials=50, seed=3)
    drawn = setting_rng(3, "random_shared_weight").uniform(-2, 2, 50)
    assert result.scores.tolist() == [accuracy_by_hand(w) for w in drawn]
    assert len(set(result.scores.tolist())) >= 3  # the accuracy depends on |w|, not only its sign


def test_random_weights_draw_every_connection_its_own_weight():
    result = evaluate(dataset(), classifier(), "random_weights", trials=30, seed=4)
    rng = setting_rng(4, "random_weights")
    expected = [accuracy_by_hand(1.0, rng.uniform(-2, 2, 3)) for _ in range(30)]
    assert result.scores.tolist() == expected


def test_tuned_shared_weight_is_the_grids_best_on_the_training_set():
    result = evaluate(dataset(), classifier(), "tuned_shared_weight", trials=1, seed=0)
    by_hand = [accuracy_by_hand(w) for w in TUNING_GRID]
    best = TUNING_GRID[int(np.argmax(by_hand))]
    assert TUNING_GRID[0] == -1.9 and TUNING_GRID[-1] == 1.9 and len(TUNING_GRID) == 39
    assert result.scores.tolist() == [max(by_hand)]
    assert f"shared weight {best:+.1f}" in result.detail


def test_ensemble_averages_the_softmax_probabilities_of_the_weight_values():
    weights = (-0.5, 0.5, 3.0)  # mean logits and mean probabilities disagree here
    result = protocol.ensemble(dataset(), classifier(), weights)
    right = 0
    for x, y in zip(X, Y, strict=True):
        probabilities = []
        for w in weights:
            z = logits_by_hand(x.astype(np.float64), w)
            probabilities.append(np.exp(z) / np.exp(z).sum())
        right += int(np.argmax(np.mean(probabilities, 0)) == y)
    assert result.scores.tolist() == [right / len(Y)]
    mean_logits = [
        int(np.argmax(np.mean([logits_by_hand(x.astype(np.float64), w) for w in weights], 0)) == y)
        for x, y in zip(X, Y, strict=True)
    ]
    assert sum(mean_logits) / len(Y) != result.scores[0]  # the test tells the two apart


def test_gradient_training_takes_adam_steps_on_the_cross_entropy():
    start = np.array([0.7, 0.7, 0.7])
    budget = Budget(tune_epochs=1, tune_batch_size=len(X), tune_lr=0.01)
    trained = gradient_training(dataset(), classifier(), start, budget, np.random.default_rng(0))

    def loss(c):
        total = 0.0
        for x, y in zip(X, Y, strict=True):
            z = logits_by_hand(x.astype(np.float64), 1.0, c)
            total += np.log(np.exp(z).sum()) - z[y]
        return total / len(Y)

    gradient = [(loss(start + step) - loss(start - step)) / 2e-6 for step in np.eye(3) * 1e-6]
    # Adam's first step moves each weight by the learning rate against its gradient's sign
    np.testing.assert_allclose(trained, start - 0.01 * np.sign(gradient), atol=1e-7)


def test_tuned_weights_on_a_dataset_start_from_the_tuned_shared_weight_and_improve_it():
    genome = classifier()
    shared = evaluate(dataset(), genome, "tuned_shared_weight", trials=1, seed=0)
    tuned = evaluate(
        dataset(), genome, "tuned_weights", trials=1, seed=0,
        budget=Budget(tune_epochs=200, tune_batch_size=len(X), tune_lr=0.05),
    )  # fmt: skip
    assert tuned.scores[0] >= shared.scores[0]
    assert tuned.scores[0] == 1.0
    assert (
        shared.detail.split(" (")[0].replace("shared weight", "from shared weight") in tuned.detail
    )


# --- an environment task ----------------------------------------------------------------------
# CartPoleSwingUp with one connection: sin(pole angle) -> force, so the action is
# w * c * sin(theta) (shared weight w, own weight c).


def swinger() -> Genome:
    return Genome(
        5, 1, np.array([0, 0, 0, 0, 0, 1]), np.array([[3, 5]]), None, np.zeros(6, np.int64)
    )


def episode_by_hand(gain: float, seed: int) -> float:
    """The episode's return with action gain * sin(theta), stepped in Gymnasium by hand."""
    env = gymnasium.make("CartPoleSwingUp-v0")
    obs, _ = env.reset(seed=seed)
    total, done = 0.0, False
    while not done:
        action = np.array([gain * float(obs[3])], dtype=np.float32)
        obs, reward, terminated, truncated, _ = env.step(action)
        total += float(reward)
        done = terminated or truncated
    env.close()
    return total


SWINGUP = EnvironmentTask({"env_name": "CartPoleSwingUp"})


@pytest.mark.slow
def test_environment_settings_against_episodes_stepped_by_hand():
    genome = swinger()
    shared = evaluate(SWINGUP, genome, "random_shared_weight", trials=3, seed=10)
    drawn = setting_rng(10, "random_shared_weight").uniform(-2, 2, 3)
    expected = [episode_by_hand(w, 10 + t) for t, w in enumerate(drawn)]
    np.testing.assert_allclose(shared.scores, expected, rtol=1e-9)

    own = evaluate(SWINGUP, genome, "random_weights", trials=2, seed=20)
    rng = setting_rng(20, "random_weights")
    expected = [episode_by_hand(rng.uniform(-2, 2, 1)[0], 20 + t) for t in range(2)]
    np.testing.assert_allclose(own.scores, expected, rtol=1e-9)


@pytest.mark.slow
def test_tuned_shared_weight_on_an_environment_tunes_on_seeds_apart_from_the_tests():
    genome = swinger()
    budget = Budget(tune_trials=2)
    result = evaluate(SWINGUP, genome, "tuned_shared_weight", trials=2, seed=0, budget=budget)
    tuning = [
        np.mean([episode_by_hand(w, protocol.TUNING_SEED + k) for k in range(2)])
        for w in TUNING_GRID
    ]
    best = TUNING_GRID[int(np.argmax(tuning))]
    assert f"shared weight {best:+.1f}" in result.detail
    np.testing.assert_allclose(result.scores, [episode_by_hand(best, t) for t in (0, 1)], rtol=1e-9)


@pytest.mark.slow
def test_the_evolution_strategy_without_iterations_is_the_tuned_shared_weight():
    genome = swinger()
    budget = Budget(tune_trials=2, es_iterations=0)
    shared = evaluate(SWINGUP, genome, "tuned_shared_weight", trials=2, seed=0, budget=budget)
    tuned = evaluate(SWINGUP, genome, "tuned_weights", trials=2, seed=0, budget=budget)
    np.testing.assert_allclose(tuned.scores, shared.scores, rtol=1e-9)
    more = Budget(tune_trials=2, es_iterations=3, es_population=4)
    once = evaluate(SWINGUP, genome, "tuned_weights", trials=2, seed=0, budget=more)
    again = evaluate(SWINGUP, genome, "tuned_weights", trials=2, seed=0, budget=more)
    assert once.scores.tolist() == again.scores.tolist()  # seeded
    assert "3 iterations x 4 episodes" in once.detail


def test_the_ensemble_is_for_datasets_only():
    with pytest.raises(ValueError, match="datasets only"):
        evaluate(SWINGUP, swinger(), "ensemble", trials=1, seed=0)


def test_only_the_tuned_settings_keep_their_test_seeds_off_their_tuning_seeds():
    """The untuned settings use no tuning seeds: their test episodes may take any seeds; a tuned
    setting's may not overlap the seeds it tunes on (tune_trials episodes per grid value, then
    one per iteration of the evolution strategy), below or above them."""
    budget = Budget(tune_trials=3, es_iterations=4)
    start = protocol.TUNING_SEED
    for setting in ("random_weights", "random_shared_weight"):
        protocol.check_seeds(SWINGUP, setting, trials=100, seed=start - 5, budget=budget)
    assert protocol.tuning_seeds("tuned_shared_weight", budget) == range(start, start + 3)
    assert protocol.tuning_seeds("tuned_weights", budget) == range(start, start + 7)
    for setting, stop in (("tuned_shared_weight", start + 3), ("tuned_weights", start + 7)):
        protocol.check_seeds(SWINGUP, setting, trials=10, seed=start - 10, budget=budget)
        protocol.check_seeds(SWINGUP, setting, trials=10, seed=stop, budget=budget)
        for seed in (start - 9, start, stop - 1):
            with pytest.raises(ValueError, match=f"choose a seed of at most {start - 10} or at "
                               f"least {stop}"):  # fmt: skip
                protocol.check_seeds(SWINGUP, setting, trials=10, seed=seed, budget=budget)
    # a dataset has no seeds to keep apart
    protocol.check_seeds(dataset(), "tuned_weights", trials=10, seed=start, budget=budget)


@pytest.mark.slow
def test_random_weights_just_below_the_tuning_seeds_is_evaluated():
    seed = protocol.TUNING_SEED - 5
    result = evaluate(SWINGUP, swinger(), "random_weights", trials=10, seed=seed)
    rng = setting_rng(seed, "random_weights")
    # the last of the 10 episodes, on a seed the tuned settings tune on
    for _ in range(9):
        rng.uniform(-2, 2, 1)
    last = episode_by_hand(rng.uniform(-2, 2, 1)[0], seed + 9)
    assert len(result.scores) == 10 and result.scores[-1] == pytest.approx(last, rel=1e-9)
    with pytest.raises(ValueError, match="overlap"):
        evaluate(SWINGUP, swinger(), "tuned_shared_weight", trials=10, seed=seed)
