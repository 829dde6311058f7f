"""Real tiny runs of the evolution scripts, shared by the analysis tests (made once): the small
runs of :data:`evolearn.testing.SMALL_RUNS`, with a saved population every 2 generations and
the WANN champions tested every 2 (later options win)."""

import pytest
from conftest import made_once, run_script

from evolearn.testing import SMALL_RUNS

WLNN = SMALL_RUNS["run-wlnn-mnist.py"]
EVERY_2 = ["--save_every", "2", "--test_every", "2"]
TINY_RUNS = {
    "bp": ("run-wlnn-mnist.py", [*WLNN, "--save_every", "2", "--seed", "5"]),
    "hebb": (
        "run-wlnn-mnist.py",
        ["params/wlnn/digits-hebbian.yaml", *WLNN[1:], "--save_every", "2", "--seed", "5"],
    ),
    "swing": (
        "run-wann-gym.py",
        [*SMALL_RUNS["run-wann-gym.py"], "--num_generations", "3", *EVERY_2],
    ),
    "digits": ("run-wann-classification.py", [*SMALL_RUNS["run-wann-classification.py"], *EVERY_2]),
}


@pytest.fixture(scope="session")
def tiny_runs(tmp_path_factory):
    """name -> run folder of each of TINY_RUNS (made once for the test session)."""
    folders = {}
    for name, (script, args) in TINY_RUNS.items():

        def make(folder, name=name, script=script, args=args):
            result = run_script(script, *args, "--out_dir", str(folder / name))
            assert result.returncode == 0, result.stderr

        key = "tiny-run\0" + "\0".join((script, *args))
        folders[name] = made_once(tmp_path_factory, key, make) / name
    return folders
