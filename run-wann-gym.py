#!/usr/bin/env python3
"""Evolve weight agnostic neural networks on a Gymnasium environment.

    python run-wann-gym.py params/wann-gym/CartPoleSwingUp.yaml --num_workers 4
"""

from evolearn.experiment.cli import main_wrapper
from evolearn.wann.gym import main

if __name__ == "__main__":
    main_wrapper(main)
