#!/usr/bin/env python3
"""Evolve learners of the Harlow task: the Baldwin effect (or Lamarckian inheritance).

python run-harlow-baldwin.py params/harlow/baldwin.yaml --num_workers 2
"""

from evolearn.experiment.cli import main_wrapper
from evolearn.harlow.search import main

if __name__ == "__main__":
    main_wrapper(main)
