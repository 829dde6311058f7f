"""evolearn: evolve neural network architectures together with learning rules.

Reference implementation of "Biologically Plausible Deep Learning through Neuroevolution"
(J. Rieke, TU Berlin 2020) and of the Weight Agnostic Neural Networks search it builds on
(A. Gaier and D. Ha, NeurIPS 2019).
"""

__version__ = "0.1.0"
