"""The thesis's analysis of finished (or running) runs: figures, tables, random-architecture
control.

- :mod:`~evolearn.analysis.runs`: a run folder as tables and networks (reading only).
- :mod:`~evolearn.analysis.architecture`: size and degree statistics of networks (pure).
- :mod:`~evolearn.analysis.retraining`: the long training of saved or random networks in the
  worker pool (the control and the learning curves), and the random networks of the control.
- :mod:`~evolearn.analysis.figures`: the figures (matplotlib, Agg).
- :mod:`~evolearn.analysis.drawing`: network drawings in the style of the WANN paper.

The commands are ``python -m evolearn.plot`` and ``python -m evolearn.random_networks``.
"""
