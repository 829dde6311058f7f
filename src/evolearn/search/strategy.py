"""A search as the generation loop drives it: ask for the generation's candidates, tell it their
scores (the shape of evosax's ``ask``/``tell``, EvoTorch's searchers and pycma).

Two strategies: :class:`~evolearn.search.nsga2.NSGA2Search` (network genomes ranked by
non-dominated sorting, reproduced by tournaments and mutation: the WANN and WLNN scripts) and
:class:`~evolearn.hebbian.search.ESSearch` (the OpenAI evolution strategy of
:mod:`evolearn.search.es`: run-hebbian-gym.py).
"""

from __future__ import annotations

import numpy as np


class Strategy:
    """A search: :meth:`ask` gives the candidates of the next generation to evaluate (the same
    list until :meth:`tell`), :meth:`tell` gives it their scores by name, each ``[candidates]``,
    maximised."""

    def ask(self) -> list:
        raise NotImplementedError

    def tell(self, candidates: list, scores: dict[str, np.ndarray], generation: int) -> None:
        raise NotImplementedError
