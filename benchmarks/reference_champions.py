#!/usr/bin/env python3
"""Run the three small seeded runs of benchmarks/reference-champions and compare champions.

    python benchmarks/reference_champions.py

Each run's champion.json must equal, byte for byte, the file recorded before the package was
reorganised (see benchmarks/reference-champions/README.md). Exits 1 if any differs.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "benchmarks" / "reference-champions"

RUNS = {
    "wlnn": [
        "run-wlnn-mnist.py",
        "params/wlnn/digits-backprop.yaml",
        "--num_generations",
        "3",
        "--population_size",
        "10",
        "--tournament_size",
        "4",
        "--num_epochs",
        "1",
        "--seed",
        "3",
    ],
    "wann-classification": [
        "run-wann-classification.py",
        "params/wann-classification/digits.yaml",
        "--num_generations",
        "4",
        "--population_size",
        "12",
        "--tournament_size",
        "4",
        "--seed",
        "3",
    ],
    "wann-gym": [
        "run-wann-gym.py",
        "params/wann-gym/CartPoleSwingUp.yaml",
        "--num_generations",
        "2",
        "--population_size",
        "8",
        "--tournament_size",
        "2",
        "--num_trials",
        "1",
        "--seed",
        "3",
    ],
}


def main() -> int:
    failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        for name, args in RUNS.items():
            out = Path(tmp) / name
            subprocess.run(
                [sys.executable, *args, "--out_dir", str(out)],
                cwd=ROOT,
                check=True,
                stdout=subprocess.DEVNULL,
            )
            same = (out / "champion.json").read_bytes() == (REFERENCE / f"{name}.json").read_bytes()
            print(f"{name}: {'same' if same else 'DIFFERENT'}")
            failed += not same
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
