"""evolearn: evolve neural network architectures together with learning rules.

Reference implementation of "Biologically Plausible Deep Learning through Neuroevolution"
(J. Rieke, TU Berlin 2020) and of the Weight Agnostic Neural Networks search it builds on
(A. Gaier and D. Ha, NeurIPS 2019).
"""

__version__ = "0.1.0"

# Importing the package registers CartPoleSwingUp-v0 with Gymnasium (the thesis's environment),
# so that gymnasium.make("CartPoleSwingUp-v0") works after a plain "import evolearn".
from evolearn import envs as _envs  # noqa: E402, F401
