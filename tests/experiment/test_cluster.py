"""--scheduler: generations evaluated on a Dask cluster, with real schedulers and workers.

A LocalCluster started by the run, and a ``dask scheduler`` with two ``dask worker`` processes
started here on 127.0.0.1, give the same champion, byte for byte, as one process; a worker
killed with SIGKILL costs only its work; a scheduler that goes away ends the run with its
checkpoint, and the run resumes on the local pool to the same end.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
import torch
from conftest import REPO, comparable_scalars, run_script, start_script, wait_for_generation

from evolearn.errors import ClusterUnreachable, ParamError
from evolearn.experiment import cluster
from evolearn.experiment.cluster import PLUGIN_PREFIX, DaskPool, SharedArraysPlugin
from evolearn.experiment.workers import parse_scheduler, torch_threads, usable_cores
from evolearn.testing import SMALL_RUNS

distributed = pytest.importorskip("distributed")

SCRIPTS = ("run-wann-classification.py", "run-wann-gym.py", "run-wlnn-mnist.py")


# --- the option --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, parsed",
    [
        (None, None),
        ("none", None),
        ("local:1", ("local", 1)),
        ("local:12", ("local", 12)),
        ("tcp://10.0.0.5:8786", ("address", "tcp://10.0.0.5:8786")),
        ("tls://node-3:8786", ("address", "tls://node-3:8786")),
        ("runs/scheduler.json", ("file", "runs/scheduler.json")),
    ],
)
def test_the_forms_of_the_scheduler_option(text, parsed):
    assert parse_scheduler(text) == parsed


@pytest.mark.parametrize("text", ["local:0", "local:", "local:two", "8786", "node-3:8786", ""])
def test_a_scheduler_of_no_known_form_is_refused(text):
    with pytest.raises(ValueError):
        parse_scheduler(text)


def test_a_bad_scheduler_is_a_clear_error_before_anything_is_written(tmp_path):
    out = tmp_path / "run"
    script = "run-wann-classification.py"
    result = run_script(script, *SMALL_RUNS[script], "--scheduler", "8786", "--out_dir", str(out))
    assert result.returncode == 2
    message = one_line(result.stderr)
    assert "scheduler must be local:N, a scheduler address (tcp://HOST:PORT)" in message
    assert "'8786'" in message and "Traceback" not in result.stderr
    assert not out.exists()


def test_a_missing_scheduler_file_is_a_clear_error_and_leaves_no_folder(tmp_path):
    out = tmp_path / "run"
    script = "run-wann-classification.py"
    missing = tmp_path / "scheduler.json"
    args = [*SMALL_RUNS[script], "--scheduler", str(missing), "--out_dir", str(out)]
    result = run_script(script, *args)
    assert result.returncode == 2, result.stderr
    assert f"the scheduler file {missing} does not exist" in one_line(result.stderr)
    assert "Traceback" not in result.stderr
    assert not out.exists()


def one_line(text: str) -> str:
    """A console message as one line (the console wraps long messages)."""
    return " ".join(text.split())


def test_a_file_that_is_no_scheduler_file_is_a_clear_error(tmp_path):
    out, bad = tmp_path / "run", tmp_path / "scheduler.json"
    bad.write_text("this is not JSON")
    script = "run-wann-classification.py"
    result = run_script(script, *SMALL_RUNS[script], "--scheduler", str(bad), "--out_dir", str(out))
    assert result.returncode == 2, result.stderr
    assert f"{bad} is not a scheduler file" in one_line(result.stderr)
    assert "Traceback" not in result.stderr and not out.exists()


def test_cuda_and_a_cluster_are_refused_together():
    from evolearn.experiment.parsing import parse_params
    from evolearn.wlnn.evolution import SPEC

    argv = [*SMALL_RUNS["run-wlnn-mnist.py"], "--use_cuda", "true", "--scheduler", "local:2"]
    with pytest.raises(ParamError, match="use_cuda and scheduler do not go together"):
        parse_params(SPEC, argv)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_no_scheduler_at_the_address_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(cluster, "CONNECT_TIMEOUT_S", 2)
    address = f"tcp://127.0.0.1:{free_port()}"
    with pytest.raises(ClusterUnreachable, match=f"no Dask scheduler answered at {address}"):
        DaskPool(address)


@pytest.mark.parametrize(
    "cores, slots, threads", [(2, 2, 1), (2, 1, 2), (16, 4, 4), (16, 3, 5), (4, 8, 1), (8, 0, 8)]
)
def test_torch_threads_share_a_machines_cores_among_its_task_slots(cores, slots, threads):
    assert torch_threads(cores, slots) == threads


def test_the_option_is_checked_like_every_other(tmp_path):
    from evolearn.experiment.parsing import parse_params
    from evolearn.wann.classification import SPEC

    params = tmp_path / "p.yaml"
    params.write_text("scheduler: local:2\n")
    assert parse_params(SPEC, [str(params)]).scheduler == "local:2"
    with pytest.raises(ParamError, match="scheduler must be .* got 'local:0'"):
        parse_params(SPEC, [str(params), "--scheduler", "local:0"])


# --- the pool, in this process ------------------------------------------------------------------


def probe(shared, chunk):
    """What a task sees in its worker: the shared array's sum, its process, its torch threads
    and how often this worker thread's cache was used."""
    shared.cache["calls"] = shared.cache.get("calls", 0) + 1
    return [(float(shared["x"].sum()) + c, os.getpid(), torch.get_num_threads(),
             shared.cache["calls"]) for c in chunk]  # fmt: skip


def slow_square(shared, chunk):
    time.sleep(0.4)
    return [c * c for c in chunk]


def fails(shared, chunk):
    raise ZeroDivisionError("planted")


def arrays_on_the_workers(pool) -> list[list[str]]:
    """The pools whose shared arrays each worker holds (their tokens)."""
    return list(pool._client.run(lambda: sorted(cluster._WORKER_ARRAYS)).values())


def test_a_local_cluster_gives_each_chunks_results_in_order_with_the_arrays_sent_once():
    x = np.arange(12.0)
    with DaskPool("local:2", {"x": x}) as pool:
        assert pool.num_workers == 2
        assert pool.num_chunks(100) == 2
        assert len(pool.split(100, varying_cost=True)) == 2 * cluster.CHUNKS_PER_SLOT
        assert arrays_on_the_workers(pool) == [[pool._token], [pool._token]]
        calls = {}
        for repeat in range(3):
            results = pool.map(probe, [[0], [1], [2], [3], [4], [5]])
            assert [r[0][0] for r in results] == [66.0 + c for c in range(6)]
            for _, pid, _, used in (r[0] for r in results):
                calls[pid] = max(calls.get(pid, 0), used)
            if repeat == 0:
                time.sleep(3)  # Dask's memory manager would drop scattered copies by now
        assert len(calls) == 2 and sum(calls.values()) == 18  # one cache per worker, kept
        assert arrays_on_the_workers(pool) == [[pool._token], [pool._token]]
        # a machine's 2+ cores shared out between the two task slots on it
        assert {r[0][2] for r in results} == {torch_threads(usable_cores(), 2)}
        assert pool.map_population(probe, list(range(10)), lambda g, idx: list(idx))[3][0] == 69.0
        assert pool.restarts == 0
        # Dask's profiler, which holds the GIL every 10 ms, is stopped in workers that ran a task
        profiling = pool._client.run(
            lambda dask_worker: "profile" in dask_worker.periodic_callbacks
        )
        assert list(profiling.values()) == [False, False]


def test_a_pool_takes_its_arrays_off_the_workers_and_those_of_runs_that_are_gone():
    with (
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=1, dashboard_address=None, worker_dashboard_address=None
        ) as lasting,
        distributed.Client(lasting, set_as_default=False) as client,
    ):
        gone = "Client-0000-gone-1234abcd"  # a run killed before it could close its pool
        client.register_plugin(SharedArraysPlugin(gone, {"x": np.ones(2)}), PLUGIN_PREFIX + gone)
        messages = []
        with DaskPool(lasting.scheduler_address, {"x": np.ones(3)}, log=messages.append) as pool:
            assert arrays_on_the_workers(pool) == [[pool._token]]
            assert any("a run that is gone" in m for m in messages), messages
            assert pool.map(probe, [[1]])[0][0][0] == 4.0
        assert list(client.run(lambda: sorted(cluster._WORKER_ARRAYS)).values()) == [[]]
        assert list(client.run(lambda: len(cluster._WORKER_SHARED)).values()) == [0]


def test_one_worker_gets_all_the_cores_and_errors_come_back_as_they_are():
    with DaskPool("local:1", {"x": np.ones(3)}) as pool:
        (result,) = pool.map(probe, [[0]])
        assert result[0][2] == usable_cores()  # Dask's OMP_NUM_THREADS=1 is not kept
        with pytest.raises(ZeroDivisionError, match="planted"):
            pool.map(fails, [[0]])


def cache_owner(shared, chunk):
    time.sleep(0.3)  # the two threads of the worker run side by side
    return [(threading.get_ident(), id(shared.cache))]


def test_tasks_side_by_side_in_one_worker_have_caches_of_their_own():
    """A worker of two threads: each thread its own cache (tensors are not shared between
    tasks running at once)."""
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=2, dashboard_address=None, worker_dashboard_address=None
    ) as two_threads:
        with DaskPool(two_threads.scheduler_address, {"x": np.ones(1)}) as pool:
            assert pool.num_workers == 2
            results = [r[0] for r in pool.map(cache_owner, [[i] for i in range(6)])]
    caches = {thread: {cache for t, cache in results if t == thread} for thread, _ in results}
    assert len(caches) == 2 and all(len(c) == 1 for c in caches.values())
    assert len(set.union(*caches.values())) == 2


def worker_pids(pool) -> dict[str, int]:
    return pool._client.run(os.getpid)


def kill_when_busy(pool, pids, delay=0.2):
    """Kill (SIGKILL) a worker that is running one of the pool's tasks, from a thread."""

    def kill():
        deadline = time.time() + 20
        while time.time() < deadline:
            busy = [a for a, keys in pool._client.processing().items() if keys]
            if busy:
                time.sleep(delay)
                os.kill(pids[busy[0]], signal.SIGKILL)
                return
            time.sleep(0.01)

    thread = threading.Thread(target=kill)
    thread.start()
    return thread


def test_a_worker_killed_mid_call_costs_only_its_work():
    messages = []
    with DaskPool("local:2", {"x": np.ones(2)}, log=messages.append) as pool:
        pids = worker_pids(pool)
        killer = kill_when_busy(pool, pids)
        assert pool.map(slow_square, [[i] for i in range(8)]) == [[i * i] for i in range(8)]
        killer.join()
        assert pool.restarts == 1
        assert any("1 Dask worker(s) died" in m for m in messages), messages
        assert pool.map(slow_square, [[3]]) == [[9]]  # the cluster goes on
        assert pool.restarts == 1


def slow_probe(shared, chunk):
    time.sleep(0.4)
    return probe(shared, chunk)


def test_the_only_worker_killed_mid_call_its_replacement_gets_the_arrays_and_the_work():
    messages = []
    with DaskPool("local:1", {"x": np.arange(4.0)}, log=messages.append) as pool:
        killer = kill_when_busy(pool, worker_pids(pool))
        assert [r[0][0] for r in pool.map(slow_probe, [[0], [1]])] == [6.0, 7.0]
        killer.join()
        assert pool.restarts == 1, messages


# --- the scripts ------------------------------------------------------------------------------


def champion_bytes(out) -> bytes:
    return (out / "champion.json").read_bytes()


@pytest.fixture
def one_process_champion(finished_run):
    """``one_process_champion(script)``: the champion file of the script's small run in one
    process, the run that every worker count must give (tests/wann/test_scripts.py checks it
    for local pools)."""

    def champion(script):
        return champion_bytes(finished_run(script, *SMALL_RUNS[script]))

    return champion


@pytest.mark.slow
@pytest.mark.parametrize("script", SCRIPTS)
def test_a_local_cluster_of_one_or_three_workers_gives_the_one_process_champion(
    tmp_path, script, one_process_champion
):
    # a cluster of one worker is the same for every script: the WANN scripts try it (the
    # WLNN one, whose workers each load torch and train, only the three)
    for workers in (3,) if script == "run-wlnn-mnist.py" else (1, 3):
        out = tmp_path / f"local-{workers}"
        args = [*SMALL_RUNS[script], "--scheduler", f"local:{workers}", "--out_dir", str(out)]
        result = run_script(script, *args)
        assert result.returncode == 0, result.stderr
        assert champion_bytes(out) == one_process_champion(script)
        log = (out / "log.txt").read_text()
        assert f"{workers} workers on 1 machine(s)" in log
        assert "Traceback" not in result.stderr


def start_dask(*args, log=None):
    return subprocess.Popen(
        [sys.executable, "-m", "dask", *args],
        stdout=subprocess.DEVNULL,
        stderr=log or subprocess.DEVNULL,
        cwd=REPO,
    )


class HandStartedCluster:
    """``dask scheduler`` and ``dask worker`` processes on 127.0.0.1, as a user starts them."""

    def __init__(self, folder, workers=2):
        self.port = free_port()
        self.address = f"tcp://127.0.0.1:{self.port}"
        self.log = open(folder / "dask.log", "w")  # noqa: SIM115
        self.scheduler = start_dask(
            "scheduler", "--host", "127.0.0.1", "--port", str(self.port),
            "--dashboard-address", "127.0.0.1:0", log=self.log,
        )  # fmt: skip
        self.workers = [
            start_dask(
                "worker",
                self.address,
                "--nthreads",
                "1",
                "--host",
                "127.0.0.1",
                "--dashboard-address",
                "127.0.0.1:0",
                log=self.log,
            )  # fmt: skip
            for _ in range(workers)
        ]
        with distributed.Client(self.address, timeout=60) as client:
            client.wait_for_workers(workers, timeout=60)

    def client(self):
        return distributed.Client(self.address, timeout=30, set_as_default=False)

    def close(self):
        for process in [*self.workers, self.scheduler]:
            if process.poll() is None:
                process.kill()
            process.wait()
        self.log.close()


@pytest.fixture(scope="module")
def hand_started(tmp_path_factory):
    cluster_ = HandStartedCluster(tmp_path_factory.mktemp("dask"))
    yield cluster_
    cluster_.close()


@pytest.mark.slow
@pytest.mark.parametrize("script", SCRIPTS)
def test_a_hand_started_scheduler_and_workers_give_the_one_process_champion(
    tmp_path, script, hand_started, one_process_champion
):
    out = tmp_path / "run"
    args = [*SMALL_RUNS[script], "--scheduler", hand_started.address, "--out_dir", str(out)]
    result = run_script(script, *args)
    assert result.returncode == 0, result.stderr
    assert champion_bytes(out) == one_process_champion(script)
    assert "2 workers on 1 machine(s), 2 task slots" in (out / "log.txt").read_text()


LONGER_WLNN = [*SMALL_RUNS["run-wlnn-mnist.py"], "--num_generations", "8", "--num_epochs", "2"]


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    """The run of LONGER_WLNN on the local pool of 2, left alone: its folder."""
    full = tmp_path_factory.mktemp("uninterrupted") / "run"
    result = run_script("run-wlnn-mnist.py", *LONGER_WLNN, "--num_workers", "2", "--out_dir",
                        str(full))  # fmt: skip
    assert result.returncode == 0, result.stderr
    return full


@pytest.mark.slow
def test_a_worker_killed_mid_generation_costs_its_work_and_the_run_ends_as_without(
    tmp_path, hand_started, uninterrupted
):
    script, full, cut = "run-wlnn-mnist.py", uninterrupted, tmp_path / "cut"
    process = start_script(script, [*LONGER_WLNN, "--scheduler", hand_started.address, "--out_dir",
                             str(cut)])  # fmt: skip
    with hand_started.client() as client:
        pids = client.run(os.getpid)
        wait_for_generation(cut, 2, process)
        deadline = time.time() + 60
        while time.time() < deadline:  # a worker in the middle of one of the run's chunks
            busy = [a for a, keys in client.processing().items()
                    if any("evolearn-train_chunk" in str(k) for k in keys)]  # fmt: skip
            if busy:
                os.kill(pids[busy[0]], signal.SIGKILL)
                break
            time.sleep(0.005)
        else:
            raise AssertionError("no worker was ever busy with the run's work")
        _, stderr = process.communicate(timeout=300)
        assert process.returncode == 0, stderr
        client.wait_for_workers(2, timeout=60)  # the worker's nanny started a new one
    assert "Dask worker(s) died" in (cut / "log.txt").read_text()
    cut_scalars, full_scalars = comparable_scalars(cut), comparable_scalars(full)
    assert sum(v for _, v in cut_scalars.pop("failures/worker_restarts")) == 1
    assert sum(v for _, v in full_scalars.pop("failures/worker_restarts")) == 0
    assert cut_scalars == full_scalars
    assert champion_bytes(cut) == champion_bytes(full)


@pytest.mark.slow
@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_a_lost_scheduler_ends_the_run_with_its_checkpoint_and_it_resumes_on_the_local_pool(
    tmp_path, stop, uninterrupted
):
    script, full, cut = "run-wlnn-mnist.py", uninterrupted, tmp_path / "cut"
    lost = HandStartedCluster(tmp_path)
    try:
        args = [*LONGER_WLNN, "--scheduler", lost.address, "--out_dir", str(cut)]
        process = start_script(script, args)
        wait_for_generation(cut, 3, process)
        lost.scheduler.send_signal(stop)  # the scheduler stops, or is killed
        _, stderr = process.communicate(timeout=120)
    finally:
        lost.close()
    assert process.returncode == 3, stderr
    message = one_line(stderr)
    assert f"the connection to the Dask scheduler {lost.address} was lost" in message
    assert "Traceback" not in stderr
    assert f"--resume {cut} --scheduler none" in message
    assert (cut / "checkpoint.npz").is_file()
    # on one local process: the champion is the same on any local pool
    resumed = run_script(
        script, str(cut / "params.yaml"), "--resume", str(cut), "--scheduler", "none"
    )
    assert resumed.returncode == 0, resumed.stderr
    assert champion_bytes(cut) == champion_bytes(full)
    cut_scalars, full_scalars = comparable_scalars(cut), comparable_scalars(full)
    assert cut_scalars == full_scalars


@pytest.mark.slow
def test_a_run_of_a_local_cluster_killed_with_sigkill_leaves_no_process_behind(tmp_path):
    import psutil

    script = "run-wann-classification.py"
    out = tmp_path / "run"
    args = [*SMALL_RUNS[script], "--num_generations", "2000", "--scheduler", "local:2"]
    process = start_script(script, [*args, "--out_dir", str(out)])
    wait_for_generation(out, 2, process)
    children = psutil.Process(process.pid).children(recursive=True)
    assert len(children) >= 2  # the two workers (and multiprocessing's helpers)
    process.send_signal(signal.SIGKILL)
    process.wait()
    _, alive = psutil.wait_procs(children, timeout=20)
    assert alive == []


# --- SLURM through dask-jobqueue (examples/slurm_cluster.py) -------------------------------------

SLURM_EXAMPLE = [sys.executable, str(REPO / "examples" / "slurm_cluster.py"), "--host", "127.0.0.1"]


def test_the_docs_slurm_job_script_is_the_one_the_example_submits():
    import re

    pytest.importorskip("dask_jobqueue")
    result = subprocess.run(
        [*SLURM_EXAMPLE, "--jobs", "4", "--cores", "16", "--memory", "64GB", "--walltime",
         "24:00:00", "--queue", "cpu", "--python", "/home/me/evolearn/.venv/bin/python",
         "--port", "0", "--print_job_script"],
        capture_output=True, text=True, timeout=120, cwd=REPO,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    printed = re.sub(r"tcp://127\.0\.0\.1:\d+", "tcp://LOGIN-NODE:8786", result.stdout).strip()
    page = (REPO / "docs" / "cluster.md").read_text()
    assert f"```bash\n{printed}\n```" in page
    assert "--nworkers 16" in printed and "--nthreads 1" in printed and "#SBATCH -p cpu" in printed


@pytest.mark.slow
def test_the_slurm_example_writes_a_scheduler_file_that_a_run_uses_and_removes_it(
    tmp_path, one_process_champion
):
    """The example with no jobs (no SLURM here) and one worker started by hand instead."""
    pytest.importorskip("dask_jobqueue")
    port = free_port()
    scheduler_file = tmp_path / "scheduler.json"
    example = subprocess.Popen(
        [*SLURM_EXAMPLE, "--jobs", "0", "--port", str(port), "--scheduler_file",
         str(scheduler_file)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=REPO,
    )  # fmt: skip
    worker = None
    try:
        assert "written to" in example.stdout.readline()
        assert json.loads(scheduler_file.read_text())["address"] == f"tcp://127.0.0.1:{port}"
        worker = start_dask("worker", f"tcp://127.0.0.1:{port}", "--nthreads", "1", "--host",
                            "127.0.0.1", "--dashboard-address", "127.0.0.1:0")  # fmt: skip
        script, out = "run-wann-classification.py", tmp_path / "run"
        args = [*SMALL_RUNS[script], "--scheduler", str(scheduler_file), "--out_dir", str(out)]
        result = run_script(script, *args)
        assert result.returncode == 0, result.stderr
        assert champion_bytes(out) == one_process_champion(script)
    finally:
        example.send_signal(signal.SIGINT)  # Ctrl-C ends the cluster
        assert example.wait(timeout=60) == 0
        if worker is not None:
            worker.kill()
            worker.wait()
    assert not scheduler_file.exists()
