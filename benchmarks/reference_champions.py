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

from evolearn.testing import SMALL_RUNS

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "benchmarks" / "reference-champions"

#: reference file name -> script (its arguments: evolearn.testing.SMALL_RUNS)
RUNS = {
    "wlnn": "run-wlnn-mnist.py",
    "wann-classification": "run-wann-classification.py",
    "wann-gym": "run-wann-gym.py",
}


def main() -> int:
    failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        for name, script in RUNS.items():
            out = Path(tmp) / name
            subprocess.run(
                [sys.executable, script, *SMALL_RUNS[script], "--out_dir", str(out)],
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
