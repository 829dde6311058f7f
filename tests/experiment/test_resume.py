"""Long runs survive kills, Ctrl-C, failing networks and dying workers."""

import csv
import json
import os
import pickle
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import numpy as np
import pytest
import yaml
from conftest import (
    REPO,
    comparable_scalars,
    folder_contents,
    kill_at_generation,
    read_scalars,
    run_script,
    start_script,
    wait_for_generation,
)

from evolearn.errors import ParamError, WorkerFailure
from evolearn.experiment import checkpoint, workers
from evolearn.experiment.checkpoint import read_checkpoint
from evolearn.experiment.reporting import read_streams
from evolearn.experiment.workers import WorkerPool
from evolearn.search.generations import WORST_SCORE
from evolearn.search.loop import EvolutionLoop
from evolearn.testing import SMALL_RUNS

RUNS = {
    "wann-classification": (
        "run-wann-classification.py",
        [
            "params/wann-classification/digits.yaml",
            "--num_generations",
            "6",
            "--population_size",
            "16",
            "--tournament_size",
            "4",
            "--test_every",
            "2",
        ],
    ),
    "wann-gym": (
        "run-wann-gym.py",
        [
            "params/wann-gym/CartPole-v0.yaml",
            "--env_name",
            "CartPole-v1",
            "--num_generations",
            "6",
            "--population_size",
            "12",
            "--tournament_size",
            "4",
            "--num_trials",
            "2",
            "--test_every",
            "2",
        ],
    ),
    "wlnn": (
        "run-wlnn-mnist.py",
        [
            "params/wlnn/digits-backprop.yaml",
            "--num_generations",
            "6",
            "--population_size",
            "8",
            "--tournament_size",
            "4",
            "--num_epochs",
            "1",
            "--inherit_weights",
            "yes",
        ],
    ),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(RUNS))
def test_killed_and_resumed_run_ends_as_the_uninterrupted_run(tmp_path, name, finished_run):
    script, args = RUNS[name]
    full, cut = finished_run(script, *args), tmp_path / "cut"
    kill_at_generation(script, args, cut, 3)
    resumed = run_script(script, str(cut / "params.yaml"), "--resume", str(cut))
    assert resumed.returncode == 0, resumed.stderr
    assert (cut / "champion.json").read_bytes() == (full / "champion.json").read_bytes()
    assert comparable_scalars(cut) == comparable_scalars(full)
    assert read_checkpoint(cut / "checkpoint.npz")["generation"] == 6
    log = (cut / "log.txt").read_text()
    assert "Resumed" in log and log.startswith(script)


def csv_rows(out):
    """results_summary.csv without its wall-clock column."""
    with (out / "results_summary.csv").open(newline="") as f:
        return [{k: v for k, v in row.items() if k != "seconds"} for row in csv.DictReader(f)]


def saved_networks(out):
    """The bytes of every file under networks/, by path."""
    return {
        str(p.relative_to(out)): p.read_bytes() for p in sorted((out / "networks").rglob("*.json"))
    }


def checkpoint_generation(out):
    return read_checkpoint(out / "checkpoint.npz")["generation"]


def kill_between_checkpoints(script, args, out, tries=3):
    """Start a run with a checkpoint every 3 generations and SIGKILL it once generation 4 is
    complete, so that generations after the checkpoint of generation 3 are on disk (rows,
    tensorboard steps) but in no checkpoint. Returns (checkpoint generation, last row)."""
    for _ in range(tries):
        if out.exists():
            shutil.rmtree(out)
        process = start_script(script, [*args, "--checkpoint_every", "3", "--out_dir", str(out)])
        wait_for_generation(out, 4, process, poll=0.005)
        process.send_signal(signal.SIGKILL)
        process.wait()
        checkpointed = checkpoint_generation(out)
        last_row = int(csv_rows(out)[-1]["generation"])
        if last_row > checkpointed:
            return checkpointed, last_row
    raise AssertionError("the run always reached its next checkpoint before the kill")


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(RUNS))
def test_a_run_killed_between_checkpoints_resumes_to_the_uninterrupted_run(
    tmp_path, name, finished_run
):
    script, args = RUNS[name]
    full, cut = finished_run(script, *args), tmp_path / "cut"
    checkpointed, last_row = kill_between_checkpoints(script, args, cut)
    assert checkpointed == 3 and last_row >= 4  # generations 4.. are dropped on resume
    resumed = run_script(script, str(cut / "params.yaml"), "--resume", str(cut))
    assert resumed.returncode == 0, resumed.stderr
    assert (cut / "champion.json").read_bytes() == (full / "champion.json").read_bytes()
    assert comparable_scalars(cut) == comparable_scalars(full)
    assert csv_rows(cut) == csv_rows(full)
    assert [int(r["generation"]) for r in csv_rows(cut)] == list(range(1, 7))
    # every network of every generation, once
    table = read_streams(cut / "population.csv.bz2")
    assert table == read_streams(full / "population.csv.bz2")
    generations = {int(line.split(",")[0]) for line in table.splitlines()[1:]}
    assert sorted(generations) == [1, 2, 3, 4, 5, 6]
    assert saved_networks(cut) == saved_networks(full)
    assert checkpoint_generation(cut) == 6


@pytest.mark.slow
@pytest.mark.parametrize(
    "name, sig", [("wann-classification", signal.SIGINT), ("wann-gym", signal.SIGTERM)]
)
def test_ctrl_c_or_sigterm_checkpoint_the_last_complete_generation_and_say_how_to_resume(
    tmp_path, name, sig
):
    script, args = RUNS[name]
    out = tmp_path / "run"
    process = start_script(
        script,
        [*args, "--num_generations", "400", "--checkpoint_every", "50", "--out_dir", str(out)],
    )
    wait_for_generation(out, 3, process)
    process.send_signal(sig)
    try:
        stdout, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 130
    assert "--resume" in stderr and "Traceback" not in stderr
    # checkpoint_every 50: only the signal's handler can have saved a generation this early.
    generation = checkpoint_generation(out)
    assert generation >= 3
    rows = (out / "results_summary.csv").read_text().strip().splitlines()
    assert int(rows[-1].split(",")[0]) >= generation
    resumed = run_script(
        script,
        str(out / "params.yaml"),
        "--resume",
        str(out),
        "--num_generations",
        str(generation + 2),
    )
    assert resumed.returncode == 0, resumed.stderr
    steps = [s for s, _ in read_scalars(out)["best/mean_reward"]]
    assert steps == list(range(1, generation + 3))


def test_resume_with_other_parameters_or_a_damaged_checkpoint_is_a_clear_error(tmp_path):
    script, args = RUNS["wann-classification"]
    out = tmp_path / "run"
    assert (
        run_script(script, *args, "--num_generations", "2", "--out_dir", str(out)).returncode == 0
    )
    before = folder_contents(out)
    assert "checkpoint.npz" in before and "champion.json" in before
    other = run_script(script, str(out / "params.yaml"), "--resume", str(out), "--seed", "9")
    assert other.returncode == 2 and "seed" in other.stderr and "Traceback" not in other.stderr
    assert folder_contents(out) == before  # the run folder is left alone
    (out / "checkpoint.npz").write_bytes(b"not a checkpoint")
    damaged = run_script(script, str(out / "params.yaml"), "--resume", str(out))
    assert damaged.returncode == 2 and "damaged" in damaged.stderr
    assert "Traceback" not in damaged.stderr
    after = folder_contents(out)
    assert after.pop("checkpoint.npz") == b"not a checkpoint"
    assert after == {k: v for k, v in before.items() if k != "checkpoint.npz"}
    none = tmp_path / "none"
    missing = run_script(script, str(out / "params.yaml"), "--resume", str(none))
    assert missing.returncode == 2 and "Traceback" not in missing.stderr
    message = " ".join(missing.stderr.split())
    assert f"resume: {str(none)!r} is not a run folder" in message
    assert not none.exists()
    assert folder_contents(out) == {**after, "checkpoint.npz": b"not a checkpoint"}


OLD_CHECKPOINT = REPO / "tests" / "data" / "checkpoint-v1"


def without_seconds(path):
    return [{k: v for k, v in row.items() if k != "seconds"} for row in csv.DictReader(open(path))]


class CodeRunner:
    """Unpickled, it creates ``marker`` (as malicious code in a shared run folder could)."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def code_running_pickle(marker):
    """A pickle that, if it were loaded, would create ``marker``."""
    return pickle.dumps({"format_version": 2, "payload": CodeRunner(marker)})


def resume_refused(out, message):
    result = run_script(
        "run-wann-classification.py", str(out / "params.yaml"), "--resume", str(out)
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert message in " ".join(result.stderr.split())
    return result


def test_a_pickled_checkpoint_of_the_old_format_is_refused_unread(tmp_path):
    # tests/data/checkpoint-v1: a run folder of evolearn before it split into subpackages,
    # with its checkpoint.pkl (format version 1). Replaced by a pickle that would run code.
    out = tmp_path / "old"
    shutil.copytree(OLD_CHECKPOINT, out)
    before = folder_contents(out)
    resume_refused(out, "is a checkpoint of format version 1 (a pickle")
    assert folder_contents(out) == before  # nothing removed, nothing written
    marker = tmp_path / "the pickle ran"
    (out / "checkpoint.pkl").write_bytes(code_running_pickle(marker))
    resume_refused(out, "never loads a pickle")
    assert not marker.exists()


@pytest.mark.parametrize("kind", ["pickle", "pickle in an npz", "altered", "truncated", "empty"])
def test_a_damaged_or_foreign_checkpoint_is_refused_and_runs_nothing(tmp_path, kind):
    script, args = RUNS["wann-classification"]
    out = tmp_path / "run"
    assert (
        run_script(script, *args, "--num_generations", "1", "--out_dir", str(out)).returncode == 0
    )
    path = out / "checkpoint.npz"
    good = path.read_bytes()
    marker = tmp_path / "the pickle ran"
    if kind == "pickle":
        path.write_bytes(code_running_pickle(marker))
    elif kind == "pickle in an npz":  # an object array: np.load would unpickle it if allowed
        with open(path, "wb") as f:
            np.savez(f, meta=np.array([CodeRunner(marker)], dtype=object))
    elif kind == "altered":  # connections reordered: still valid networks, but the checksum
        arrays = dict(np.load(path, allow_pickle=False))
        arrays["connections"] = arrays["connections"][::-1].copy()
        with open(path, "wb") as f:
            np.savez(f, **arrays)
    elif kind == "truncated":
        path.write_bytes(good[: len(good) // 2])
    else:
        path.write_bytes(b"")
    contents = folder_contents(out)
    resume_refused(out, "is damaged or not an evolearn checkpoint")
    assert not marker.exists()
    assert folder_contents(out) == contents


def test_a_checkpoint_of_another_format_version_is_a_clear_error_naming_it(tmp_path):
    script, args = RUNS["wann-classification"]
    out = tmp_path / "run"
    assert (
        run_script(script, *args, "--num_generations", "1", "--out_dir", str(out)).returncode == 0
    )
    arrays = dict(np.load(out / "checkpoint.npz", allow_pickle=False))
    meta = json.loads(arrays["meta"].tobytes())
    meta["format_version"] = 7
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    body = {k: v for k, v in arrays.items() if k not in ("meta", "checksum")}
    checksum = checkpoint._checksum(arrays["meta"].tobytes(), body).encode()
    arrays["checksum"] = np.frombuffer(checksum, dtype=np.uint8)
    with open(out / "checkpoint.npz", "wb") as f:
        np.savez(f, **arrays)
    resume_refused(
        out,
        "has format version 7; this version of evolearn reads checkpoints of format version 2 only",
    )


def test_a_checkpoint_holds_the_state_exactly(tmp_path):
    from evolearn.search.generations import Champion
    from evolearn.testing import make_population, make_wlnn_population

    population = make_population(3, 4, 2, 0.5, 6, seed=1) + make_wlnn_population(2, 6, 3, 0, 1)
    champion = Champion(population[-1], 4, 1, {"reward": -0.123456789012345, "acc": 0.5})
    state = {
        "script": "run-x.py",
        "params": {"seed": 3, "lr": 0.01, "resume": None},
        "generation": 7,
        "population": population,
        "champion": champion,
    }
    checkpoint.save_checkpoint(tmp_path, state)
    back = read_checkpoint(tmp_path / "checkpoint.npz")
    assert back["population"] == population and back["generation"] == 7
    assert back["params"] == state["params"] and back["script"] == "run-x.py"
    assert Champion(**back["champion"]) == champion
    assert not list(tmp_path.glob("*.tmp"))


def kill_before_the_first_checkpoint(script, args, out, tries=3):
    """Start a run and SIGKILL it as soon as its folder has its params.yaml (within about a
    hundredth of a second), before its first checkpoint; try again if a checkpoint won."""
    for _ in range(tries):
        shutil.rmtree(out, ignore_errors=True)
        process = start_script(script, [*args, "--out_dir", str(out)])
        while not (out / "params.yaml").exists() and process.poll() is None:
            time.sleep(0.005)
        process.send_signal(signal.SIGKILL)
        process.wait()
        if (out / "params.yaml").exists() and not (out / "checkpoint.npz").exists():
            return
    raise AssertionError("the run wrote its first checkpoint before it could be killed")


@pytest.mark.slow
def test_a_run_killed_before_its_first_checkpoint_resumes_to_the_uninterrupted_run(tmp_path):
    script = "run-wlnn-mnist.py"
    args = [
        "params/wlnn/digits-backprop.yaml",
        "--num_generations",
        "2",
        "--population_size",
        "40",
        "--tournament_size",
        "4",
        "--num_epochs",
        "1",
    ]
    full, cut = tmp_path / "full", tmp_path / "cut"
    assert run_script(script, *args, "--out_dir", str(full)).returncode == 0
    kill_before_the_first_checkpoint(script, args, cut)
    (cut / "notes.txt").write_text("mine")  # not the toolkit's: left alone
    resumed = run_script(script, str(cut / "params.yaml"), "--resume", str(cut))
    assert resumed.returncode == 0, resumed.stderr
    assert (cut / "champion.json").read_bytes() == (full / "champion.json").read_bytes()
    assert comparable_scalars(cut) == comparable_scalars(full)
    assert csv_rows(cut) == csv_rows(full)
    assert (cut / "notes.txt").read_text() == "mine"
    assert "starts again from the beginning" in (cut / "log.txt").read_text()


def test_resume_of_a_folder_that_is_no_run_is_a_clear_error(tmp_path):
    script, args = RUNS["wann-classification"]
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "data.txt").write_text("keep")
    result = run_script(script, *args, "--resume", str(folder))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "is not a run folder" in " ".join(result.stderr.split())
    assert sorted(p.name for p in folder.iterdir()) == ["data.txt"]


@pytest.mark.slow
def test_networks_that_diverge_get_the_worst_scores_and_the_run_goes_on(tmp_path):
    # Hebbian learning with a huge learning rate drives Oja's rule to infinity and NaN.
    out = tmp_path / "run"
    result = run_script(
        "run-wlnn-mnist.py",
        "params/wlnn/digits-hebbian.yaml",
        "--num_generations",
        "2",
        "--population_size",
        "8",
        "--tournament_size",
        "4",
        "--num_epochs",
        "1",
        "--lr",
        "1e11",
        "--optimizer",
        "sgd",
        "--out_dir",
        str(out),
    )
    assert result.returncode == 0, result.stderr
    scalars = read_scalars(out)
    failures = scalars["failures/networks"]
    assert [s for s, _ in failures] == [1, 2] and max(v for _, v in failures) > 0
    log = (out / "log.txt").read_text()
    assert "NaN or infinite" in log and f"the worst possible scores ({WORST_SCORE:g})" in log
    # The failed networks got the worst score, so the best and the champion stay finite.
    for tag in ("best/reward", "champion/reward"):
        assert scalars[tag] and all(np.isfinite(v) for _, v in scalars[tag]), tag


class RecordingRun:
    """What ``EvolutionLoop.sanitize`` writes to its run."""

    def __init__(self):
        self.scalars, self.messages = [], []

    def scalar(self, tag, value, step):
        self.scalars.append((tag, value, step))

    def log(self, message):
        self.messages.append(message)


def test_sanitize_gives_every_score_of_a_failed_network_the_worst_score_and_logs_it():
    loop = object.__new__(EvolutionLoop)
    loop.run = RecordingRun()
    scores = {
        "reward": np.array([1.0, np.nan, 3.0, 4.0, 5.0, -6.0]),
        "acc": np.array([0.1, 0.2, np.inf, 0.4, 0.5, 0.6]),
        "other": np.array([7.0, 8.0, 9.0, -np.inf, 1e300, -1e300]),
    }
    copies = {k: v.copy() for k, v in scores.items()}
    sanitized = loop.sanitize(scores, 7)
    failed = [1, 2, 3]
    for key, values in sanitized.items():
        assert values[failed].tolist() == [WORST_SCORE] * 3, key
        np.testing.assert_array_equal(np.delete(values, failed), np.delete(copies[key], failed))
        np.testing.assert_array_equal(scores[key], copies[key])  # the input is not changed
    assert loop.run.scalars == [("failures/networks", 3, 7)]
    (message,) = loop.run.messages
    assert "Generation 7: 3 network(s)" in message and "[1, 2, 3]" in message
    assert f"({WORST_SCORE:g})" in message
    # Without failures: nothing changes, 0 is counted and nothing is logged.
    loop.run = RecordingRun()
    clean = {"reward": np.array([1.0, 2.0]), "acc": np.array([0.5, 0.25])}
    again = loop.sanitize(clean, 8)
    for key, values in again.items():
        np.testing.assert_array_equal(values, clean[key])
    assert loop.run.scalars == [("failures/networks", 0, 8)] and not loop.run.messages


def die_once(shared, chunk):
    marker, value = chunk
    if value == 3 and not os.path.exists(marker):
        open(marker, "w").close()
        os._exit(1)
    return value * 10


def die_always(shared, chunk):
    os._exit(1)


def test_a_dead_worker_is_replaced_and_its_work_done_again(tmp_path):
    messages = []
    with WorkerPool(2, {"x": np.zeros(3)}, log=messages.append) as pool:
        chunks = [(str(tmp_path / "marker"), v) for v in range(6)]
        assert pool.map(die_once, chunks) == [0, 10, 20, 30, 40, 50]
        assert pool.restarts == 1 and "died" in messages[0]
        with pytest.raises(WorkerFailure, match="died 3 times"):
            pool.map(die_always, [0, 1])


def test_an_output_folder_that_cannot_be_written_is_a_clear_error(tmp_path):
    script, args = RUNS["wann-classification"]
    blocker = tmp_path / "file"
    blocker.write_text("a file where a folder should be")
    result = run_script(script, *args, "--out_dir", str(blocker / "run"))
    assert result.returncode == 2 and "out_dir" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.fixture
def tiny_disk(tmp_path):
    """A real 256 KiB file system (tmpfs), where a run soon finds the disk full (after the
    networks of generation 1 and a few dozen generations)."""
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount_point)],
        capture_output=True,
    )
    if mounted.returncode != 0:
        pytest.skip("mounting a tmpfs needs root")
    yield mount_point
    subprocess.run(["umount", str(mount_point)], check=False)


@pytest.mark.slow
def test_a_full_disk_is_a_clear_error_and_keeps_the_last_checkpoint(tiny_disk):
    script, args = RUNS["wann-classification"]
    out = tiny_disk / "run"
    result = run_script(script, *args, "--num_generations", "300", "--out_dir", str(out))
    assert result.returncode == 2
    message = " ".join(result.stderr.split())
    assert "No space left on device" in message and "Traceback" not in message
    assert read_checkpoint(out / "checkpoint.npz")["generation"] >= 1
    assert not (out / "checkpoint.npz.tmp").exists()


def test_a_network_whose_evaluation_raises_gets_nan_and_the_others_their_scores():
    from dataclasses import replace

    from evolearn.testing import make_population
    from evolearn.wann.classification import ClassifyTask, classify_chunk

    rng = np.random.default_rng(0)
    x = rng.random((50, 6)).astype(np.float32)
    y = rng.integers(0, 3, 50)
    shared = {"x_train": x, "y_train": y}
    population = make_population(4, 6, 3, 0.5, 5, seed=1)
    broken = replace(population[2], activations=np.full(population[2].num_neurons, 99))
    weights = (-1.0, 1.0)
    good = classify_chunk(
        shared, ClassifyTask(population, "train", None, weights, use_torch=False, device="cpu")
    )
    mixed = classify_chunk(
        shared,
        ClassifyTask(
            population[:2] + [broken] + population[3:],
            "train",
            None,
            weights,
            use_torch=False,
            device="cpu",
        ),
    )
    assert np.isnan(mixed[2][0]).all()
    for i in (0, 1, 3):
        np.testing.assert_allclose(mixed[i][0], good[i][0], rtol=1e-5)


def worker_processes(pid: int) -> list[int]:
    """The loky worker processes of a run (children of its main process)."""
    children = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    workers = []
    for child in children.split():
        try:
            with open(f"/proc/{child}/cmdline", "rb") as f:
                if b"popen_loky_posix" in f.read():
                    workers.append(int(child))
        except OSError:
            pass
    return workers


@pytest.mark.slow
def test_a_run_whose_worker_is_killed_goes_on_and_ends_as_the_uninterrupted_run(tmp_path):
    script, args = RUNS["wann-classification"]
    args = [*args, "--num_generations", "40", "--num_workers", "2"]
    full, cut = tmp_path / "full", tmp_path / "cut"
    assert run_script(script, *args, "--out_dir", str(full)).returncode == 0
    process = start_script(script, [*args, "--out_dir", str(cut)])
    wait_for_generation(cut, 3, process)
    workers = worker_processes(process.pid)
    assert workers, "no worker processes found"
    os.kill(workers[0], signal.SIGKILL)
    _, stderr = process.communicate(timeout=300)
    assert process.returncode == 0, stderr
    assert "A worker process died" in (cut / "log.txt").read_text()
    cut_scalars, full_scalars = comparable_scalars(cut), comparable_scalars(full)
    restarts = cut_scalars.pop("failures/worker_restarts")
    assert sum(v for _, v in restarts) == 1
    assert sum(v for _, v in full_scalars.pop("failures/worker_restarts")) == 0
    assert cut_scalars == full_scalars
    assert csv_rows(cut) == csv_rows(full)
    assert [int(r["generation"]) for r in csv_rows(cut)] == list(range(1, 41))
    assert (cut / "champion.json").read_bytes() == (full / "champion.json").read_bytes()


def test_a_new_run_from_a_runs_params_yaml_never_touches_that_run(tmp_path, finished_run):
    script = "run-wann-classification.py"
    first = finished_run(script, *SMALL_RUNS[script])
    before = folder_contents(first)
    params = (first / "params.yaml").read_text()
    assert "out_dir" not in yaml.safe_load(params) and "--resume" in params  # comment: continue
    work = tmp_path / "work"
    work.mkdir()
    for extra in ([], ["--overwrite_output"]):
        again = run_script(script, str(first / "params.yaml"), *extra, cwd=work)
        assert again.returncode == 0, again.stderr
        time.sleep(1.1)  # out/<date and time> names a new folder every second
    assert folder_contents(first) == before
    assert len(list((work / "out").iterdir())) == 2  # each new run went to a folder of its own


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"  # a zombie has ended
    except OSError:
        return False


@pytest.mark.slow
def test_a_killed_run_leaves_no_process_and_no_shared_folder_behind(tmp_path):
    script, args = RUNS["wann-classification"]
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    out = tmp_path / "run"
    process = subprocess.Popen(
        [
            sys.executable,
            str(REPO / script),
            *args,
            "--num_generations",
            "500",
            "--num_workers",
            "2",
            "--out_dir",
            str(out),
        ],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "TMPDIR": str(tmp)},
    )
    wait_for_generation(out, 2, process)
    children = subprocess.run(["pgrep", "-P", str(process.pid)], capture_output=True, text=True)
    pids = [int(pid) for pid in children.stdout.split()]
    assert len(worker_processes(process.pid)) == 2
    assert [p.name for p in tmp.iterdir() if p.name.startswith("evolearn-shared-")]
    process.send_signal(signal.SIGKILL)
    process.wait()
    deadline = time.time() + 15

    def shared_folders():
        return [p for p in tmp.iterdir() if p.name.startswith("evolearn-shared-")]

    while time.time() < deadline and (any(alive(pid) for pid in pids) or shared_folders()):
        time.sleep(0.2)
    assert [pid for pid in pids if alive(pid)] == []  # workers and loky's resource tracker
    assert shared_folders() == []


def test_a_new_pool_removes_the_shared_folders_of_runs_that_are_gone(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    ).stdout.strip()
    host = workers._host()
    (tmp_path / f"evolearn-shared-{host}-{gone}-abc").mkdir()
    (tmp_path / f"evolearn-shared-{host}-{os.getpid()}-live").mkdir()  # a live run's: stays
    (tmp_path / f"evolearn-shared-otherhost-{gone}-abc").mkdir()  # another machine's: stays
    (tmp_path / f"evolearn-shared-{host}-notapid").mkdir()
    (tmp_path / "someone-else").mkdir()
    with WorkerPool(2, {"x": np.zeros(3)}):
        pass
    assert {p.name for p in tmp_path.iterdir()} == {
        f"evolearn-shared-{host}-notapid",
        f"evolearn-shared-{host}-{os.getpid()}-live",
        f"evolearn-shared-otherhost-{gone}-abc",
        "someone-else",
    }


def test_resume_never_starts_again_a_run_whose_checkpoint_is_missing_or_a_foreign_folder(
    tmp_path, finished_run
):
    script = "run-wann-classification.py"
    out = tmp_path / "run"
    shutil.copytree(finished_run(script, *SMALL_RUNS[script]), out)
    (out / "checkpoint.npz").unlink()  # lost: the run's results must not be replaced
    before = folder_contents(out)
    resume_refused(out, "wrote a checkpoint, but checkpoint.npz is missing")
    assert folder_contents(out) == before
    # A folder with a params.yaml of the user's (no record of a run): not a run to restart
    mine = tmp_path / "configs"
    mine.mkdir()
    (mine / "params.yaml").write_bytes((out / "params.yaml").read_bytes())
    resume_refused(mine, "holds no checkpoint and no record of a run")
    assert [p.name for p in mine.iterdir()] == ["params.yaml"]


@pytest.mark.parametrize(
    "option, other_value",
    [("hidden_activations", "tanh,relu"), ("bias_input", "yes"), ("output_activation", "tanh")],
)
def test_a_checkpoint_from_before_an_option_existed_resumes_with_its_old_behaviour(
    tmp_path, option, other_value
):
    from evolearn.experiment.checkpoint import check_resumable
    from evolearn.experiment.parsing import parse_params
    from evolearn.wann.gym import SPEC

    params = parse_params(SPEC, [str(REPO / "params/wann-gym/CartPoleSwingUp.yaml")])
    saved = {k: v for k, v in params.to_dict().items() if k != option}
    check_resumable(tmp_path, params.script, saved, params)  # the default is what it did then
    other = parse_params(
        SPEC,
        [str(REPO / "params/wann-gym/CartPoleSwingUp.yaml"), f"--{option}", other_value],
    )
    with pytest.raises(ParamError, match=option):
        check_resumable(tmp_path, params.script, saved, other)


def test_a_resume_while_the_run_goes_on_is_refused_and_touches_nothing(tmp_path):
    """The trap this closes: --resume (or --overwrite_output) given for a folder whose run is
    still going on would cut its results back to the checkpoint under the running process."""
    script, args = RUNS["wann-classification"]
    out = tmp_path / "run"
    process = start_script(script, [*args, "--num_generations", "400", "--out_dir", str(out)])
    try:
        wait_for_generation(out, 3, process)
        for second in (
            [str(out / "params.yaml"), "--resume", str(out)],
            [*args, "--out_dir", str(out), "--overwrite_output"],
        ):
            refused = run_script(script, *second, timeout=120)
            assert refused.returncode != 0
            assert "is in use" in refused.stderr and "Traceback" not in refused.stderr
        assert "Resumed" not in (out / "log.txt").read_text()
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.communicate(timeout=60)
        finally:
            if process.poll() is None:  # hung (as it once did, in tensorboard's queue): no leak
                process.kill()
                process.wait()
    assert process.returncode == 130  # stopped by the signal, not by the refused starts
    resumed = run_script(script, str(out / "params.yaml"), "--resume", str(out),
                         "--num_generations", str(checkpoint_generation(out) + 1))  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr
