"""The learner of the Harlow task: the tutorial's actor-critic LSTM, its genome, and the
per-agent reference lifetime (one ``nn.Module``, one problem at a time, as the tutorial).

The network: ``emb = Linear(5, H)`` -> ``rnn = LSTM(H, H)`` -> ``critic_linear = Linear(H, 1)``
and ``actor_linear = Linear(H, 2)``. Its input at a trial is ``[left_id, right_id,
previous_reward, previous_action one-hot (2)]`` (the ids as floats; zeros for the reward and
the action at the first trial of an episode).

A genome is the network's parameters by PyTorch's own names (:data:`PARAMETER_NAMES`, so that
a saved champion loads into the tutorial's ``ActorCritic`` with ``load_state_dict``) and four
hyperparameters (:data:`HYPERPARAMETERS`). Crossover works on four genes, the layers
(:data:`GENES`): the LSTM's four tensors move together.

Random numbers: an action is sampled from a uniform draw ``u`` in [0, 1): right (1) when
``u >= p(left)``, else left. Both paths take their draws from outside, so that the batched path
(:mod:`evolearn.harlow.lifetime`) and this reference can be fed the same ones.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

NUM_INPUTS = 5
NUM_ACTIONS = 2

#: The parameters of the network, in PyTorch's names and order.
PARAMETER_NAMES = (
    "emb.weight",
    "emb.bias",
    "rnn.weight_ih_l0",
    "rnn.weight_hh_l0",
    "rnn.bias_ih_l0",
    "rnn.bias_hh_l0",
    "critic_linear.weight",
    "critic_linear.bias",
    "actor_linear.weight",
    "actor_linear.bias",
)

#: The genes of crossover: each layer's parameters move together.
GENES = {
    "emb": ("emb.weight", "emb.bias"),
    "rnn": ("rnn.weight_ih_l0", "rnn.weight_hh_l0", "rnn.bias_ih_l0", "rnn.bias_hh_l0"),
    "critic_linear": ("critic_linear.weight", "critic_linear.bias"),
    "actor_linear": ("actor_linear.weight", "actor_linear.bias"),
}

#: The hyperparameters every individual carries, in this order (the tutorial's names).
HYPERPARAMETERS = (
    "learning_rate",
    "discount_factor",
    "state_value_estimate_cost",
    "entropy_cost",
)
#: The tutorial's initial values.
INITIAL_HYPERPARAMETERS = (0.00075, 0.91, 0.4, 0.001)


def parameter_shapes(hidden: int) -> dict[str, tuple[int, ...]]:
    h = hidden
    return {
        "emb.weight": (h, NUM_INPUTS),
        "emb.bias": (h,),
        "rnn.weight_ih_l0": (4 * h, h),
        "rnn.weight_hh_l0": (4 * h, h),
        "rnn.bias_ih_l0": (4 * h,),
        "rnn.bias_hh_l0": (4 * h,),
        "critic_linear.weight": (1, h),
        "critic_linear.bias": (1,),
        "actor_linear.weight": (NUM_ACTIONS, h),
        "actor_linear.bias": (NUM_ACTIONS,),
    }


def fan_in(name: str, hidden: int) -> int:
    """What PyTorch's default initialisation divides by: the layer's inputs (the LSTM: H)."""
    return NUM_INPUTS if name.startswith("emb.") else hidden


def initial_parameters(hidden: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """A newborn's parameters, PyTorch's default initialisation of each layer: every weight
    and bias from U(-1/sqrt(fan_in), 1/sqrt(fan_in)), float32."""
    params = {}
    for name, shape in parameter_shapes(hidden).items():
        bound = 1.0 / np.sqrt(fan_in(name, hidden))
        params[name] = rng.uniform(-bound, bound, size=shape).astype(np.float32)
    return params


@dataclass(frozen=True)
class Lifetime:
    """The sizes of a lifetime on one problem: ``gradient_steps`` episodes of ``trials``
    trials, each followed by one update, then ``evaluation_trials`` trials without updates."""

    gradient_steps: int = 25
    trials: int = 6
    evaluation_trials: int = 20

    @property
    def draws(self) -> int:
        """Action draws (and trials) of one problem."""
        return self.gradient_steps * self.trials + self.evaluation_trials


# --- the reference: one nn.Module, one problem at a time -------------------------------------


def actor_critic(hidden: int, params: dict[str, np.ndarray] | None = None):
    """The tutorial's ``ActorCritic`` as an ``nn.Module`` (its parameters from ``params``)."""
    import torch
    from torch import nn

    class ActorCritic(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Linear(NUM_INPUTS, hidden)
            self.rnn = nn.LSTM(hidden, hidden)
            self.critic_linear = nn.Linear(hidden, 1)
            self.actor_linear = nn.Linear(hidden, NUM_ACTIONS)

        def forward(self, state, h, c):
            x = self.emb(state.unsqueeze(0))
            x, (h, c) = self.rnn(x.unsqueeze(0), (h, c))
            x = x.squeeze(0).squeeze(0)
            return self.critic_linear(x), self.actor_linear(x), (h, c)

    module = ActorCritic()
    if params is not None:
        module.load_state_dict({k: torch.from_numpy(np.asarray(v)) for k, v in params.items()})
    return module


def reference_lifetime(
    params: dict[str, np.ndarray],
    hyper,
    env,
    draws: np.ndarray,
    lifetime: Lifetime,
    actions: np.ndarray | None = None,
) -> tuple[float, np.ndarray, dict[str, np.ndarray]]:
    """One problem learned as the tutorial's ``train_evaluate_agent`` does, by a fresh module
    and a fresh ``torch.optim.RMSprop(lr, eps=1e-5)``; ``env`` is a :class:`HarlowEnv` just
    reset (its observation is the first trial's pair), ``draws`` the ``[lifetime.draws]``
    uniform draws of the actions (or ``actions`` forces them).

    Returns (the evaluation score, ``[evaluation_trials]`` whether each evaluation trial was
    correct, the learned parameters)."""
    import torch

    hidden = np.asarray(params["emb.bias"]).shape[0]
    agent = actor_critic(hidden, params)
    lr, gamma, beta_v, beta_e = (float(x) for x in hyper)
    optimizer = torch.optim.RMSprop(agent.parameters(), lr=lr, eps=1e-5)
    state = env.state.copy()
    draw = 0

    def trial(h, c, previous_reward, previous_action):
        nonlocal state, draw
        full = torch.cat(
            [torch.from_numpy(state).float(), previous_reward, previous_action]
        )  # fmt: skip
        value, logits, (h, c) = agent(full, h, c)
        dist = torch.distributions.Categorical(logits=logits)
        if actions is not None:
            action = int(actions[draw])
        else:
            action = int(draws[draw] >= float(dist.probs[0].detach()))
        draw += 1
        state, reward, _, _, info = env.step(action)
        action_t = torch.tensor(action)
        out = (dist.log_prob(action_t), dist.entropy(), value.squeeze(0), reward, info["correct"])
        one_hot = torch.nn.functional.one_hot(action_t, NUM_ACTIONS).float()
        return (h, c, torch.tensor([float(reward)]), one_hot), out

    def zero_state():
        zeros = torch.zeros(1, 1, hidden)
        return zeros, zeros.clone(), torch.zeros(1), torch.zeros(NUM_ACTIONS)

    for _ in range(lifetime.gradient_steps):
        carry = zero_state()
        log_probs, values, rewards, entropy = [], [], [], torch.tensor(0.0)
        for _ in range(lifetime.trials):
            carry, (log_prob, ent, value, reward, _) = trial(*carry)
            log_probs.append(log_prob)
            values.append(value)
            rewards.append(reward)
            entropy = entropy + ent
        q, returns = 0.0, torch.zeros(len(rewards))
        for t in reversed(range(len(rewards))):
            q = rewards[t] + gamma * q
            returns[t] = q
        advantage = returns - torch.stack(values)
        actor_loss = (-torch.stack(log_probs) * advantage.detach()).mean()
        critic_loss = advantage.pow(2).mean()
        loss = actor_loss + beta_v * critic_loss - beta_e * (entropy / lifetime.trials)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    score, correct = 0.0, []
    with torch.no_grad():
        carry = zero_state()
        for _ in range(lifetime.evaluation_trials):
            carry, (_, _, _, reward, right) = trial(*carry)
            score += reward
            correct.append(right)
    learned = {k: v.detach().numpy().copy() for k, v in agent.state_dict().items()}
    return score, np.array(correct), learned


def flatten(params: dict[str, np.ndarray]) -> np.ndarray:
    """The parameters as one float32 vector, in :data:`PARAMETER_NAMES` order (each C order);
    with a leading axis of members, ``[members, size]``."""
    first = np.asarray(params[PARAMETER_NAMES[0]])
    lead = first.shape[:-2] if first.ndim > 2 else ()
    return np.concatenate(
        [np.asarray(params[k], np.float32).reshape(*lead, -1) for k in PARAMETER_NAMES], axis=-1
    )


def unflatten(vector: np.ndarray, hidden: int) -> dict[str, np.ndarray]:
    """:func:`flatten`'s inverse (a leading axis of members stays)."""
    vector = np.asarray(vector, dtype=np.float32)
    lead = vector.shape[:-1]
    params, start = {}, 0
    for name, shape in parameter_shapes(hidden).items():
        size = int(np.prod(shape))
        params[name] = vector[..., start : start + size].reshape(*lead, *shape).copy()
        start += size
    if start != vector.shape[-1]:
        raise ValueError(
            f"{vector.shape[-1]} numbers do not make a network of hidden size {hidden}"
        )
    return params


def parameter_count(hidden: int) -> int:
    return sum(int(np.prod(s)) for s in parameter_shapes(hidden).values())
