#!/usr/bin/env python3
"""Evolve weight agnostic neural networks on an image classification dataset.

    python run-wann-classification.py params/wann-classification/digits.yaml [--option value ...]
"""

from evolearn.experiment.cli import main_wrapper
from evolearn.wann.classification import main

if __name__ == "__main__":
    main_wrapper(main)
