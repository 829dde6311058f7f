#!/usr/bin/env python3
"""Evolve Hebbian learning rules for random networks on a Gymnasium environment.

python run-hebbian-gym.py params/hebbian/LunarLander-v3.yaml --num_workers 2
"""

from evolearn.experiment.cli import main_wrapper
from evolearn.hebbian.search import main

if __name__ == "__main__":
    main_wrapper(main)
