#!/usr/bin/env python3
"""Evolve network architectures while their weights learn with a learning rule (the main job).

    python run-wlnn-mnist.py params/wlnn/backprop.yaml --num_workers 4
"""

from evolearn.experiment.cli import main_wrapper
from evolearn.wlnn.evolution import main

if __name__ == "__main__":
    main_wrapper(main)
