"""Ctrl-C and closing a Dask pool print no Dask traceback, on stdout or stderr.

A real ``--scheduler local:2`` run is interrupted mid-generation as a terminal's Ctrl-C does
(SIGINT to every process of the run) and with SIGINT to the run's process alone; pools whose
workers went away (SIGKILL) are closed.
"""

import os
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest
from conftest import REPO, wait_for_generation

from evolearn.experiment.cluster import DaskPool

distributed = pytest.importorskip("distributed")

SCRIPT = "run-wann-classification.py"
ARGS = [
    "params/wann-classification/digits.yaml",
    "--num_generations", "400", "--population_size", "16", "--tournament_size", "4",
    "--scheduler", "local:2",
]  # fmt: skip
NO_DASK_TRACEBACK = ("Traceback", "AllExit", "Task exception", "CommClosedError")


def assert_no_dask_traceback(text: str) -> None:
    for word in NO_DASK_TRACEBACK:
        assert word not in text, text


@pytest.mark.slow
@pytest.mark.parametrize("to", ["every process of the run", "the run's process"])
def test_ctrl_c_on_a_local_cluster_run_stops_it_with_its_checkpoint_and_no_traceback(tmp_path, to):
    out = tmp_path / "run"
    process = subprocess.Popen(
        [sys.executable, str(REPO / SCRIPT), *ARGS, "--out_dir", str(out)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a terminal gives a command
    )
    try:
        wait_for_generation(out, 2, process)
        time.sleep(0.2)  # mid-generation
        if to == "every process of the run":
            os.killpg(process.pid, signal.SIGINT)
        else:
            process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    assert process.returncode == 130, stderr
    assert_no_dask_traceback(stdout + stderr)
    assert "Interrupted: the checkpoint of generation" in stderr
    assert (out / "checkpoint.npz").is_file()


def square(shared, chunk):
    return chunk * chunk


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_closing_a_local_cluster_pool_whose_workers_were_killed_prints_no_traceback(capfd):
    messages = []
    pool = DaskPool("local:2", {"x": np.ones(2)}, log=messages.append)
    try:
        assert pool.map(square, [1, 2, 3]) == [1, 4, 9]
        for pid in pool._client.run(os.getpid).values():
            os.kill(pid, signal.SIGKILL)
        time.sleep(0.5)
    finally:
        pool.close()
    captured = capfd.readouterr()
    assert_no_dask_traceback(captured.out + captured.err)


def test_closing_a_pool_whose_cluster_went_away_prints_no_traceback(tmp_path, capfd):
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"

    def dask(*args):
        return subprocess.Popen(
            [sys.executable, "-m", "dask", *args, "--dashboard-address", "127.0.0.1:0"],
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,  # the workers import this module for its task
        )

    path = os.environ.get("PYTHONPATH", "")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "tests"), path])}
    processes = [dask("scheduler", "--host", "127.0.0.1", "--port", str(port))]
    try:
        processes += [dask("worker", address, "--nthreads", "1", "--host", "127.0.0.1")]
        with distributed.Client(address, timeout=60) as client:
            client.wait_for_workers(1, timeout=60)
        pool = DaskPool(address, {"x": np.ones(2)})
        try:
            assert pool.map(square, [2]) == [4]
            for process in reversed(processes):  # the workers, then the scheduler
                process.kill()
                process.wait()
            time.sleep(0.5)
        finally:
            pool.close()
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    captured = capfd.readouterr()
    assert_no_dask_traceback(captured.out + captured.err)
