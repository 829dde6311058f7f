"""Environments: the thesis's CartPoleSwingUp, the Harlow task and a checked front door to
Gymnasium.

Importing this package registers ``CartPoleSwingUp-v0`` and ``Harlow-v0`` with Gymnasium
(once, however often it is imported). :func:`make_env` accepts every registered Gymnasium id
plus the thesis names of :data:`THESIS_NAMES`, and turns an unknown name into a
:class:`~evolearn.errors.ParamError` that suggests valid ones.
"""

from __future__ import annotations

import difflib
import importlib

import gymnasium
from gymnasium.envs.registration import parse_env_id

from evolearn.errors import ParamError

SWINGUP_ID = "CartPoleSwingUp-v0"
HARLOW_ID = "Harlow-v0"

THESIS_NAMES = {"CartPoleSwingUp": SWINGUP_ID}
"""Names the thesis's parameter files use -> Gymnasium ids."""

EXAMPLE_IDS = ("CartPole-v1", "CartPoleSwingUp", "BipedalWalker-v3")
"""Listed in the error message when nothing closer to a misspelled name exists."""

if SWINGUP_ID not in gymnasium.registry:
    # No max_episode_steps: the environment truncates itself at step 1000, and a TimeLimit
    # wrapper on top would only say the same thing a second time.
    gymnasium.register(
        id=SWINGUP_ID,
        entry_point="evolearn.envs.cartpole_swingup:CartPoleSwingUpEnv",
        max_episode_steps=None,
    )

if HARLOW_ID not in gymnasium.registry:
    # a problem never ends by itself: the learner decides how many trials it takes
    gymnasium.register(
        id=HARLOW_ID, entry_point="evolearn.envs.harlow:HarlowEnv", max_episode_steps=None
    )


def resolve_env_id(env_name: str) -> str:
    """The Gymnasium id for ``env_name`` (a thesis name or already an id)."""
    return THESIS_NAMES.get(env_name, env_name)


def env_exists(env_name: str) -> bool:
    """Whether :func:`make_env` knows ``env_name``: a thesis name or a registered id.

    The id must carry its version (``CartPole-v1``, not ``CartPole``) so that a run names the
    environment it used. ``"module:Id-v0"`` imports ``module`` first, as ``gymnasium.make``
    does, and is False when the module cannot be found.
    """
    env_id = resolve_env_id(env_name)
    if ":" in env_id:
        module, env_id = env_id.split(":", 1)
        try:
            importlib.import_module(module)
        except ModuleNotFoundError:
            return False
    return env_id in gymnasium.registry


def make_env(env_name: str, **kwargs) -> gymnasium.Env:
    """``gymnasium.make`` for a thesis name or Gymnasium id; ``kwargs`` go to the environment.

    Raises:
        ParamError: ``env_name`` is not known; the message suggests valid names.
    """
    if not env_exists(env_name):
        raise ParamError(_unknown_env_message(env_name))
    return gymnasium.make(resolve_env_id(env_name), **kwargs)


def _unknown_env_message(env_name: str) -> str:
    head = f"env_name {env_name!r} is not a Gymnasium environment id"
    known = sorted(gymnasium.registry)
    module = ""
    env_id = env_name
    if ":" in env_name:
        module, env_id = env_name.split(":", 1)
        try:
            importlib.import_module(module)
        except ModuleNotFoundError:
            return f"{head}: the module {module!r} before the ':' cannot be imported."
        module += ":"
    try:
        namespace, name, version = parse_env_id(env_id)
    except gymnasium.error.Error:
        namespace, name, version = None, None, None

    if name is not None:
        same_name = sorted(
            (spec.version, spec.id)
            for spec in gymnasium.registry.values()
            if spec.namespace == namespace and spec.name == name and spec.version is not None
        )
        if same_name:
            latest = module + same_name[-1][1]
            versions = ", ".join(module + i for _, i in same_name)
            if version is None:
                return f"{head}: give the version, e.g. {latest!r} (available: {versions})."
            if version < same_name[-1][0]:
                return (
                    f"{head}: version v{version} of {name} no longer exists in Gymnasium "
                    f"{gymnasium.__version__}; use {latest!r} (available: {versions})."
                )
            return f"{head}: {name} has no version v{version}; use {latest!r}."

    candidates = known + sorted(THESIS_NAMES)
    by_case = [c for c in candidates if c.lower() == env_id.lower()]
    close = by_case or difflib.get_close_matches(env_id, candidates, n=5, cutoff=0.6)
    if close:
        return f"{head}. Did you mean {', '.join(repr(module + c) for c in close)}?"
    return (
        f"{head}. Valid names are, for example, {', '.join(repr(c) for c in EXAMPLE_IDS)}; "
        f"gymnasium.registry.keys() lists all {len(known)} ids (plus the thesis names "
        f"{', '.join(sorted(THESIS_NAMES))})."
    )


__all__ = ["HARLOW_ID", "SWINGUP_ID", "THESIS_NAMES", "env_exists", "make_env", "resolve_env_id"]
