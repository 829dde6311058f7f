"""Real tiny runs of the evolution scripts, shared by the analysis tests (made once)."""

import pytest
from conftest import run_script

WLNN_ARGS = [
    "--num_generations", "3", "--population_size", "10", "--tournament_size", "4",
    "--num_epochs", "1", "--save_every", "2", "--seed", "5",
]  # fmt: skip
TINY_RUNS = {
    "bp": ("run-wlnn-mnist.py", ["params/wlnn/digits-backprop.yaml", *WLNN_ARGS]),
    "hebb": ("run-wlnn-mnist.py", ["params/wlnn/digits-hebbian.yaml", *WLNN_ARGS]),
    "swing": (
        "run-wann-gym.py",
        [
            "params/wann-gym/CartPoleSwingUp.yaml",
            "--num_generations",
            "3",
            "--population_size",
            "8",
            "--tournament_size",
            "2",
            "--num_trials",
            "1",
            "--test_every",
            "2",
        ],
    ),  # fmt: skip
    "digits": (
        "run-wann-classification.py",
        [
            "params/wann-classification/digits.yaml",
            "--num_generations",
            "4",
            "--population_size",
            "12",
            "--tournament_size",
            "4",
            "--test_every",
            "2",
        ],
    ),  # fmt: skip
}


@pytest.fixture(scope="session")
def tiny_runs(tmp_path_factory):
    """name -> run folder of each of TINY_RUNS."""
    root = tmp_path_factory.mktemp("tiny-runs")
    folders = {}
    for name, (script, args) in TINY_RUNS.items():
        result = run_script(script, *args, "--out_dir", str(root / name))
        assert result.returncode == 0, result.stderr
        folders[name] = root / name
    return folders
