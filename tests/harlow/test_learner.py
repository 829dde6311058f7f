"""The Harlow task, the learner's lifetime and the genetic algorithm: by hand, and the batched
lifetime against the per-agent reference (the tutorial's nn.Module and torch's RMSprop)."""

import gymnasium
import numpy as np
import pytest
import torch

import evolearn  # noqa: F401  (registers Harlow-v0)
from evolearn.envs.harlow import HarlowEnv, HarlowProblems
from evolearn.harlow import genetics
from evolearn.harlow.agent import (
    GENES,
    INITIAL_HYPERPARAMETERS,
    PARAMETER_NAMES,
    Lifetime,
    actor_critic,
    initial_parameters,
    reference_lifetime,
)
from evolearn.harlow.lifetime import discounted_returns, episode_loss, learn, rmsprop_step

# --- the environment ---------------------------------------------------------------------------


def test_the_environment_draws_a_problem_then_the_sides_of_each_trial_from_its_seed():
    env = gymnasium.make("Harlow-v0").unwrapped
    obs, info = env.reset(seed=7)
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(7)))
    rewarded, punished = rng.choice(10, 2, replace=False)
    assert info["rewarded"] == rewarded
    agent = np.random.default_rng(1)
    for _ in range(30):
        left_rewarded = rng.random() < 0.5
        expected = [rewarded, punished] if left_rewarded else [punished, rewarded]
        assert obs.tolist() == expected
        action = int(agent.integers(2))  # any action; the reward says whether it was right
        obs, reward, terminated, truncated, info = env.step(action)
        right = (action == 0) == left_rewarded
        assert reward == (1.0 if right else -1.0) and info["correct"] == right
        assert not terminated and not truncated


def test_the_sides_are_drawn_for_every_trial_independently_and_a_reset_is_a_new_problem():
    env = HarlowEnv()
    obs, _ = env.reset(seed=0)
    lefts = [obs[0] == env.rewarded]
    for _ in range(4000):
        obs, *_ = env.step(0)
        lefts.append(obs[0] == env.rewarded)
    lefts = np.array(lefts)
    assert abs(lefts.mean() - 0.5) < 0.03
    # no balancing: runs of the same side as long as chance gives (3/3 lists would cap them)
    assert max(len(r) for r in "".join("L" if x else "R" for x in lefts).split("R")) > 6
    pairs = {tuple(sorted(env.reset()[0].tolist())) for _ in range(300)}
    assert len(pairs) == 45  # every unordered pair of the ten objects comes up


def test_the_vectorised_problems_are_the_environment_reset_with_each_seed():
    problems = HarlowProblems([3, 11, 3], trials=12)
    for lane, seed in enumerate([3, 11, 3]):
        env = HarlowEnv()
        obs, _ = env.reset(seed=seed)
        assert problems.rewarded[lane] == env.rewarded
        for t in range(12):
            assert problems.states[lane, t].tolist() == obs.tolist()
            obs, *_ = env.step(t % 2)
    rewards = []
    for t in range(12):
        rewards.append(problems.step(np.full(3, t % 2)))
    assert (np.array(rewards)[:, 0] == np.array(rewards)[:, 2]).all()


# --- the loss and the optimizer by hand -------------------------------------------------------


def test_discounted_returns_by_hand():
    rewards = [np.array([1.0, -1.0]), np.array([-1.0, 1.0]), np.array([1.0, 1.0])]
    returns = discounted_returns(rewards, np.array([0.5, 0.9]))
    # lane 0: Q2 = 1, Q1 = -1 + 0.5 = -0.5, Q0 = 1 - 0.25 = 0.75
    # lane 1: Q2 = 1, Q1 = 1 + 0.9 = 1.9, Q0 = -1 + 1.71 = 0.71
    np.testing.assert_allclose(returns, [[0.75, -0.5, 1.0], [0.71, 1.9, 1.0]])


def test_one_episodes_a2c_loss_and_its_gradient_by_hand():
    values = [torch.tensor([0.2], requires_grad=True), torch.tensor([0.1], requires_grad=True)]
    log_probs = [torch.tensor([-0.1], requires_grad=True), torch.tensor([-0.7], requires_grad=True)]
    entropies = [torch.tensor([0.6]), torch.tensor([0.5])]
    rewards = [np.array([1.0]), np.array([-1.0])]
    loss = episode_loss(
        log_probs, entropies, values, rewards, np.array([0.5]), torch.tensor([0.4]),
        torch.tensor([0.01]),
    )  # fmt: skip
    # Q = [1 - 0.5, -1] = [0.5, -1]; A = Q - V = [0.3, -1.1]
    # actor mean(-logp A) = (0.03 - 0.77) / 2 = -0.37; critic mean(A^2) = (0.09 + 1.21) / 2
    # = 0.65; entropy (0.6 + 0.5) / 2 = 0.55: loss = -0.37 + 0.4 * 0.65 - 0.01 * 0.55
    assert loss.item() == pytest.approx(-0.1155, abs=1e-6)
    loss.sum().backward()
    # d/dV_t = beta_v * 2 A_t / T * (-1) = -0.4 A_t (the actor's advantage is held constant)
    assert values[0].grad.item() == pytest.approx(-0.12, abs=1e-6)
    assert values[1].grad.item() == pytest.approx(0.44, abs=1e-6)
    # d/dlogp_t = -A_t / T
    assert log_probs[0].grad.item() == pytest.approx(-0.15, abs=1e-6)
    assert log_probs[1].grad.item() == pytest.approx(0.55, abs=1e-6)


def test_two_rmsprop_steps_by_hand_each_lane_at_its_own_learning_rate():
    param = torch.tensor([[0.0], [0.0]])
    square = torch.zeros(2, 1)
    lr = torch.tensor([0.1, 0.01])
    rmsprop_step(param, torch.tensor([[2.0], [2.0]]), square, lr)
    # square = 0.01 * 4 = 0.04; step = lr * 2 / (0.2 + 1e-5)
    np.testing.assert_allclose(square.numpy(), [[0.04], [0.04]], rtol=1e-6)
    np.testing.assert_allclose(
        param.numpy()[:, 0], [-0.1 * 2 / 0.20001, -0.01 * 2 / 0.20001], rtol=1e-6
    )
    before = param.clone()
    rmsprop_step(param, torch.tensor([[1.0], [1.0]]), square, lr)
    # square = 0.99 * 0.04 + 0.01 * 1 = 0.0496
    np.testing.assert_allclose(square.numpy()[:, 0], [0.0496, 0.0496], rtol=1e-6)
    expected = before.numpy()[:, 0] - lr.numpy() / (np.sqrt(0.0496) + 1e-5)
    np.testing.assert_allclose(param.numpy()[:, 0], expected, rtol=1e-6)


def test_the_rmsprop_step_is_torchs():
    rng = np.random.default_rng(1)
    weight = torch.tensor(rng.normal(size=(3, 4)), dtype=torch.float32, requires_grad=True)
    optimizer = torch.optim.RMSprop([weight], lr=0.003, eps=1e-5)
    mine, square = weight.detach().clone()[None], torch.zeros(1, 3, 4)
    for _ in range(3):
        grad = torch.tensor(rng.normal(size=(3, 4)), dtype=torch.float32)
        weight.grad = grad.clone()
        optimizer.step()
        rmsprop_step(mine, grad[None], square, torch.tensor([0.003]))
    np.testing.assert_allclose(mine[0].numpy(), weight.detach().numpy(), atol=1e-6)


# --- the batched lifetime against the reference ----------------------------------------------


def _lanes(count, hidden=6, seed=0):
    rng = np.random.default_rng(seed)
    members = [initial_parameters(hidden, rng) for _ in range(count)]
    hyper = np.array([INITIAL_HYPERPARAMETERS] * count) * rng.uniform(0.5, 8, (count, 4))
    hyper[:, 1] = np.clip(hyper[:, 1], 0.6, 0.99)
    return members, hyper, rng


@pytest.mark.parametrize("forced", [True, False], ids=["same actions", "same draws"])
def test_the_batched_lifetime_is_the_references_lane_by_lane(forced):
    lifetime = Lifetime(gradient_steps=6, trials=4, evaluation_trials=7)
    members, hyper, rng = _lanes(5)
    seeds = [21, 22, 23, 21, 30]
    draws = rng.random((5, lifetime.draws))
    actions = rng.integers(2, size=(5, lifetime.draws)) if forced else None
    batched = learn(
        genetics.stack(members), hyper, HarlowProblems(seeds, lifetime.draws), draws, lifetime,
        actions=actions,
    )  # fmt: skip
    for lane in range(5):
        env = HarlowEnv()
        env.reset(seed=seeds[lane])
        score, correct, learned = reference_lifetime(
            members[lane], hyper[lane], env, draws[lane], lifetime,
            actions=None if actions is None else actions[lane],
        )  # fmt: skip
        assert batched.scores[lane] == score
        assert (batched.correct[lane] == correct).all()
        assert correct.sum() * 2 - len(correct) == score
        for name in PARAMETER_NAMES:
            np.testing.assert_allclose(batched.params[name][lane], learned[name], atol=2e-6)
        # it learned: every parameter moved
        assert all(not np.array_equal(learned[n], members[lane][n]) for n in PARAMETER_NAMES)


def test_a_lane_gives_the_same_bits_whatever_lanes_run_beside_it():
    lifetime = Lifetime(gradient_steps=3, trials=6, evaluation_trials=5)
    members, hyper, rng = _lanes(6, hidden=20)
    draws = rng.random((6, lifetime.draws))
    seeds = list(range(6))
    every = learn(genetics.stack(members), hyper, HarlowProblems(seeds, 200), draws, lifetime)
    two = learn(
        genetics.stack(members[2:4]), hyper[2:4], HarlowProblems(seeds[2:4], 200), draws[2:4],
        lifetime,
    )  # fmt: skip
    assert np.array_equal(every.scores[2:4], two.scores)
    assert all(np.array_equal(every.params[k][2:4], two.params[k]) for k in PARAMETER_NAMES)


def test_the_parameters_have_pytorchs_names_and_load_into_the_module():
    params = initial_parameters(20, np.random.default_rng(0))
    module = actor_critic(20)
    assert tuple(module.state_dict()) == PARAMETER_NAMES
    assert {k: tuple(v.shape) for k, v in module.state_dict().items()} == {
        k: v.shape for k, v in params.items()
    }
    assert sum(v.size for v in params.values()) == 3543  # the tutorial's agent at H = 20
    # PyTorch's default initialisation: U(-1/sqrt(fan_in), 1/sqrt(fan_in))
    assert np.abs(params["emb.weight"]).max() <= 1 / np.sqrt(5)
    assert np.abs(params["emb.weight"]).max() > 1 / np.sqrt(20)
    assert np.abs(params["rnn.weight_hh_l0"]).max() <= 1 / np.sqrt(20)


# --- the genetic algorithm ---------------------------------------------------------------------


def _parents():
    rng = np.random.default_rng(5)
    first = (initial_parameters(4, rng), np.array([0.001, 0.9, 0.4, 0.001]))
    second = (initial_parameters(4, rng), np.array([0.002, 0.8, 0.5, 0.002]))
    return first, second


def test_a_child_takes_each_layer_whole_from_one_parent_with_noise_on_every_weight():
    first, second = _parents()
    mutation = genetics.Mutation()
    sources, noises = set(), []
    for seed in range(40):
        params, _ = genetics.make_child(first, second, mutation, np.random.default_rng(seed))
        for gene, names in GENES.items():
            diffs = [
                (np.abs(params[n] - first[0][n]).max(), np.abs(params[n] - second[0][n]).max())
                for n in names
            ]
            # the noise (sd 0.02) is far smaller than the parents' distance: each layer comes
            # whole from the parent it is close to
            near_first = [a < 0.1 for a, _ in diffs]
            assert all(near_first) or not any(near_first), gene
            sources.add((gene, near_first[0]))
            noise = np.concatenate(
                [(params[n] - (first if near_first[0] else second)[0][n]).ravel() for n in names]
            )
            assert (noise != 0).all()
            noises.append(noise)
    assert len(sources) == 8  # every gene came from each parent at least once
    assert np.concatenate(noises).std() == pytest.approx(0.02, rel=0.05)


def test_a_child_never_shares_memory_with_a_parent_and_the_parents_stay_as_they_were():
    first, second = _parents()
    before = [{k: v.copy() for k, v in p[0].items()} for p in (first, second)]
    for seed in range(10):
        params, hyper = genetics.make_child(
            first, second, genetics.Mutation(), np.random.default_rng(seed)
        )
        for parent in (first, second):
            assert not any(np.shares_memory(params[k], parent[0][k]) for k in params)
            assert not np.shares_memory(hyper, parent[1])
    for parent, saved in zip((first, second), before, strict=True):
        assert all(np.array_equal(parent[0][k], saved[k]) for k in saved)


def test_each_hyperparameter_is_clipped_to_its_own_range():
    first, second = _parents()
    low, high = (1e-4, 0.6, 0.1, 1e-4), (1e-2, 0.99, 0.7, 0.05)
    wide = genetics.Mutation(noise=(1.0, 1.0, 1.0, 1.0), low=low, high=high)
    hypers = np.array(
        [genetics.make_child(first, second, wide, np.random.default_rng(s))[1] for s in range(200)]
    )
    for j in range(4):
        assert hypers[:, j].min() == low[j] and hypers[:, j].max() == high[j]
    # small noise: beta_e stays near its parents' values (the course's clip made it 0.05)
    calm = np.array(
        [
            genetics.make_child(first, second, genetics.Mutation(), np.random.default_rng(s))[1]
            for s in range(200)
        ]
    )
    assert calm[:, 3].max() < 0.01 and calm[:, 2].max() < 0.7
    assert 0.2 < calm[:, 2].mean() < 0.6


def test_an_empty_or_reversed_range_is_refused():
    with pytest.raises(ValueError, match="entropy_cost"):
        genetics.Mutation(low=(1e-4, 0.6, 0.1, 0.05), high=(1e-2, 0.99, 0.7, 0.05))


def test_parents_come_from_the_top_and_replacement_keeps_the_size():
    rng = np.random.default_rng(0)
    members = [initial_parameters(2, rng) for _ in range(10)]
    scores = np.array([5, 1, 9, 9, 0, 3, 7, 2, 8, 4], dtype=float)
    population = genetics.Population(genetics.stack(members), np.zeros((10, 4)), scores)
    assert population.top(4).tolist() == [2, 3, 8, 6]  # ties in member order
    chosen = genetics.parents(population, 4, 200, np.random.default_rng(1))
    assert set(chosen.tolist()) == {2, 3, 8, 6}
    new = {k: v[:3] + 100 for k, v in population.params.items()}
    after = genetics.replace(population, new, np.ones((3, 4)), np.array([50.0, 51, 52]), rng)
    assert len(after) == 10 and after.scores[-3:].tolist() == [50, 51, 52]
    assert np.array_equal(after.params["emb.bias"][-3:], new["emb.bias"])
    assert len(set(after.scores[:7].tolist()) - set(scores.tolist())) == 0
