#!/usr/bin/env python3
"""Train one network with a learning rule, no evolution (the baseline of the thesis).

    python run-wlnn-mnist-no-evolution.py params/wlnn-no-evolution/backprop.yaml \\
        [--option value ...]
"""

from evolearn.experiment.cli import main_wrapper
from evolearn.wlnn.baseline import main

if __name__ == "__main__":
    main_wrapper(main)
