"""The fast path of a lifetime: many learners, each on its own problem (a *lane*), learn
together as one batched LSTM with per-lane weights and per-lane RMSprop state.

Lane ``l`` computes what :func:`evolearn.harlow.agent.reference_lifetime` computes for its
parameters, hyperparameters, problem and action draws: the same forward pass (PyTorch's LSTM
cell, gates in the order i, f, g, o), the same loss per episode (actor + beta_v critic - beta_e
entropy, returns discounted at the lane's gamma without bootstrap), and PyTorch's RMSprop
(alpha 0.99, eps 1e-5, no momentum, not centred) at the lane's own learning rate. The lanes'
losses are summed before the backward pass: no lane's gradient depends on another lane.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from evolearn.envs.harlow import HarlowProblems
from evolearn.harlow.agent import NUM_ACTIONS, PARAMETER_NAMES, Lifetime

RMSPROP_ALPHA = 0.99
RMSPROP_EPS = 1e-5


@dataclass
class Learned:
    """What the lanes' lifetimes gave: ``scores [lanes]`` (the evaluation's summed rewards),
    ``correct [lanes, evaluation_trials]`` and the learned ``params`` (each ``[lanes, ...]``)."""

    scores: np.ndarray
    correct: np.ndarray
    params: dict[str, np.ndarray]


class _Lanes:
    """The batched network of the lanes (torch tensors ``[lanes, ...]``)."""

    def __init__(self, params: dict):
        self.p = params
        self.hidden = params["emb.bias"].shape[1]

    def step(self, inputs, h, c):
        p = self.p
        x = _affine(p["emb.weight"], p["emb.bias"], inputs)
        gates = _affine(p["rnn.weight_ih_l0"], p["rnn.bias_ih_l0"], x) + _affine(
            p["rnn.weight_hh_l0"], p["rnn.bias_hh_l0"], h
        )
        i, f, g, o = gates.chunk(4, dim=1)
        c = f.sigmoid() * c + i.sigmoid() * g.tanh()
        h = o.sigmoid() * c.tanh()
        value = _affine(p["critic_linear.weight"], p["critic_linear.bias"], h)[:, 0]
        logits = _affine(p["actor_linear.weight"], p["actor_linear.bias"], h)
        return value, logits, h, c


def _affine(weight, bias, x):
    """``[lanes, out]``: each lane's ``weight @ x + bias``."""
    import torch

    return torch.baddbmm(bias[:, :, None], weight, x[:, :, None])[:, :, 0]


def discounted_returns(rewards: list[np.ndarray], gamma: np.ndarray) -> np.ndarray:
    """``[lanes, trials]``: ``Q_t = r_t + gamma Q_{t+1}``, 0 after the last trial (float64,
    as the tutorial's Python floats)."""
    returns = np.zeros((len(gamma), len(rewards)))
    q = np.zeros(len(gamma))
    for t in reversed(range(len(rewards))):
        q = rewards[t] + gamma * q
        returns[:, t] = q
    return returns


def episode_loss(log_probs, entropies, values, rewards, gamma, beta_v, beta_e):
    """``[lanes]``: the A2C loss of one episode per lane, each argument a list over the
    trials (tensors ``[lanes]``; ``rewards`` arrays): the actor's ``mean(-log pi(a_t) A_t)``
    with the advantage ``A_t = Q_t - V_t`` held constant, plus ``beta_v mean(A_t^2)``, less
    ``beta_e`` times the mean entropy of the policy."""
    import torch

    returns = torch.tensor(discounted_returns(rewards, gamma), dtype=torch.float32)
    advantage = returns - torch.stack(values, dim=1)
    actor_loss = (-torch.stack(log_probs, dim=1) * advantage.detach()).mean(dim=1)
    critic_loss = advantage.pow(2).mean(dim=1)
    entropy = sum(entropies[1:], entropies[0]) / len(entropies)
    return actor_loss + beta_v * critic_loss - beta_e * entropy


def rmsprop_step(param, grad, square, lr) -> None:
    """PyTorch's RMSprop step in place, each lane (first axis) at its own ``lr [lanes]``:
    ``square <- alpha square + (1 - alpha) grad^2``, ``param <- param - lr grad /
    (sqrt(square) + eps)``."""
    square.mul_(RMSPROP_ALPHA).addcmul_(grad, grad, value=1 - RMSPROP_ALPHA)
    shape = (len(lr),) + (1,) * (param.dim() - 1)
    param.sub_(lr.view(shape) * grad / (square.sqrt() + RMSPROP_EPS))


def learn(
    params: dict[str, np.ndarray],
    hyper: np.ndarray,
    problems: HarlowProblems,
    draws: np.ndarray,
    lifetime: Lifetime,
    actions: np.ndarray | None = None,
) -> Learned:
    """Every lane learns its problem for one lifetime: ``params`` each ``[lanes, ...]``,
    ``hyper [lanes, 4]``, ``problems`` at its first trial, ``draws [lanes, lifetime.draws]``
    (or ``actions`` of the same shape forces the actions)."""
    import torch

    lanes = len(hyper)
    tensors = {k: torch.tensor(np.asarray(params[k]), requires_grad=True) for k in PARAMETER_NAMES}
    net = _Lanes(tensors)
    hidden = net.hidden
    hyper = np.asarray(hyper, dtype=np.float64)
    lr = torch.tensor(hyper[:, 0], dtype=torch.float32)
    gamma = hyper[:, 1]
    beta_v = torch.tensor(hyper[:, 2], dtype=torch.float32)
    beta_e = torch.tensor(hyper[:, 3], dtype=torch.float32)
    square = {k: torch.zeros_like(v) for k, v in tensors.items()}
    rows = torch.arange(lanes)
    draw = 0

    def trial(h, c, previous):
        nonlocal draw
        ids = torch.from_numpy(problems.observation()).float()
        value, logits, h, c = net.step(torch.cat([ids, previous], dim=1), h, c)
        log_p = torch.log_softmax(logits, dim=1)
        if actions is not None:
            action = np.asarray(actions[:, draw], dtype=np.int64)
        else:
            p_left = torch.softmax(logits.detach(), dim=1)[:, 0].numpy()
            action = (draws[:, draw] >= p_left).astype(np.int64)
        draw += 1
        reward = problems.step(action)
        action_t = torch.from_numpy(action)
        one_hot = torch.nn.functional.one_hot(action_t, NUM_ACTIONS).float()
        previous = torch.cat([torch.from_numpy(reward).float()[:, None], one_hot], dim=1)
        entropy = -(log_p.exp() * log_p).sum(dim=1)
        return h, c, previous, (log_p[rows, action_t], entropy, value, reward)

    def zero_state():
        return (
            torch.zeros(lanes, hidden),
            torch.zeros(lanes, hidden),
            torch.zeros(lanes, 1 + NUM_ACTIONS),
        )

    for _ in range(lifetime.gradient_steps):
        h, c, previous = zero_state()
        log_probs, entropies, values, rewards = [], [], [], []
        for _ in range(lifetime.trials):
            h, c, previous, (log_prob, entropy, value, reward) = trial(h, c, previous)
            log_probs.append(log_prob)
            entropies.append(entropy)
            values.append(value)
            rewards.append(reward)
        loss = episode_loss(log_probs, entropies, values, rewards, gamma, beta_v, beta_e)
        for v in tensors.values():
            v.grad = None
        loss.sum().backward()
        with torch.no_grad():
            for k, v in tensors.items():
                rmsprop_step(v, v.grad, square[k], lr)

    scores = np.zeros(lanes)
    correct = np.zeros((lanes, lifetime.evaluation_trials), dtype=bool)
    with torch.no_grad():
        h, c, previous = zero_state()
        for t in range(lifetime.evaluation_trials):
            h, c, previous, (_, _, _, reward) = trial(h, c, previous)
            scores += reward
            correct[:, t] = reward > 0
    learned = {k: v.detach().numpy().copy() for k, v in tensors.items()}
    return Learned(scores, correct, learned)
