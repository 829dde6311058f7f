"""Random streams: every random decision of a run derives from (seed, generation, purpose, index).

A network's stream depends only on the run seed, the generation and the network's index, never
on which worker process evaluates it or in which order, so the same seed gives the same run
whatever the number of workers.
"""

from __future__ import annotations

import numpy as np

# Purposes of the streams; fixed numbers, part of what makes a seed reproduce a run.
INIT = 1  # building network `index` of the initial population
TRAIN = 2  # training network `index` (batch order, feedback matrices)
MUTATE = 3  # mutating child `index` of the next population
REPRODUCE = 4  # ranking objectives and tournaments of a generation
CHAMPION = 5  # the champion's long training
EVALUATE = 6  # the shared batch / trial seeds of a generation (WANN)
BATCHES = 7  # the mini-batches every network of a generation trains on (WLNN)
NOISE = 11  # the evolution strategy's noise of antithetic pair `index` (Hebbian)
WEIGHTS = 12  # the episode-start weights of candidate x episode `index` (Hebbian)
ACTIONS = 13  # the action draws of individual x problem `index` (Harlow)
CULL = 14  # the members that leave the population of a generation (Harlow)
NEWBIE = 15  # the newborn agent of problem `index` in python -m evolearn.champion (Harlow)
# Streams of the analysis tools (python -m evolearn.random_networks, python -m evolearn.plot);
# there "generation" is the number of connections (random networks) or the saved generation.
RANDOM_NETWORK = 8  # building random network `index` of a connection count
RANDOM_TRAIN = 9  # the long training of random network `index`
RETRAIN = 10  # retraining saved network `index` of a generation (learning curves)


def stream_entropy(seed: int, generation: int, purpose: int, index: int = 0) -> tuple[int, ...]:
    """The entropy of one stream; picklable, so it can travel to a worker."""
    return (int(seed), int(generation), int(purpose), int(index))


def stream(seed: int, generation: int, purpose: int, index: int = 0) -> np.random.Generator:
    """The generator of one stream."""
    return np.random.default_rng(stream_entropy(seed, generation, purpose, index))


def episode_seeds(
    seed: int, generation: int, index: int, count: int, bound: int
) -> tuple[int, ...]:
    """``count`` consecutive environment seeds from a base drawn below ``bound`` from the
    stream (seed, generation, EVALUATE, index): the episodes every network of a generation
    shares (``bound`` leaves room for ``base + count`` in an int32)."""
    base = int(stream(seed, generation, EVALUATE, index).integers(bound))
    return tuple(range(base, base + count))
