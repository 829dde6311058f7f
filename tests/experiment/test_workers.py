"""Chunks of a population through the worker pool: results in order, and a word in the log
when a chunk's fast path fell back to evaluating its networks one by one."""

import os
import pickle
from dataclasses import replace

import numpy as np
import pytest
from conftest import run_script

from evolearn import streams
from evolearn.data import load_dataset
from evolearn.experiment.workers import ChunkResults, WorkerPool, fallback_reason, worker_count
from evolearn.testing import SMALL_RUNS, make_population, make_wlnn_population, train_config
from evolearn.wann.classification import ClassifyTask, classify_chunk
from evolearn.wann.gym import EpisodeTask, episodes_chunk
from evolearn.wann.network import TRAIN_WEIGHT_VALUES
from evolearn.wlnn.evolution import TrainTask, train_chunk


def test_chunk_results_keep_their_fallback_through_pickle():
    chunk = ChunkResults([1, 2], "ValueError: no")
    again = pickle.loads(pickle.dumps(chunk))
    assert again == [1, 2] and again.fallback == "ValueError: no"
    assert ChunkResults([3]).fallback is None
    assert fallback_reason(ValueError("a\n  long\tmessage")) == "ValueError: a long message"
    assert len(fallback_reason(RuntimeError("x" * 1000))) == 300


def numbered(shared, chunk):
    first, count, fails = chunk
    return ChunkResults(range(first, first + count), "ValueError: broken" if fails else None)


@pytest.mark.parametrize("num_workers", [1, 2])
def test_map_chunks_concatenates_in_order_and_logs_each_fallback(num_workers):
    messages = []
    with WorkerPool(num_workers, {}, log=messages.append) as pool:
        results = pool.map_chunks(numbered, [(0, 3, False), (3, 2, True), (5, 1, False)])
    assert results == [0, 1, 2, 3, 4, 5]
    (message,) = messages
    assert "numbered: the fast path failed on a chunk of 2 networks (ValueError: broken)" in (
        message
    )


def broken(genome):
    """The genome with an activation index no activation has: every pass over it raises."""
    return replace(genome, activations=np.full(genome.num_neurons, 99))


def test_wann_chunks_whose_fast_path_fails_are_logged_and_the_others_keep_their_scores():
    rng = np.random.default_rng(0)
    shared = {"x_train": rng.random((40, 6)).astype(np.float32), "y_train": rng.integers(0, 3, 40)}
    genomes = make_population(4, 6, 3, 0.5, 5, seed=1)
    weights = TRAIN_WEIGHT_VALUES[:2]
    messages = []
    with WorkerPool(1, shared, log=messages.append) as pool:
        good = pool.map_chunks(
            classify_chunk,
            [ClassifyTask(genomes, "train", None, weights, use_torch=False, device="cpu")],
        )
        assert messages == []  # the fast path took the whole chunk
        mixed = genomes[:2] + [broken(genomes[2])] + genomes[3:]
        results = pool.map_chunks(
            classify_chunk,
            [ClassifyTask(mixed, "train", None, weights, use_torch=False, device="cpu")],
        )
    assert len(messages) == 1 and "classify_chunk: the fast path failed" in messages[0]
    assert np.isnan(results[2][0]).all()
    for i in (0, 1, 3):
        np.testing.assert_allclose(results[i][0], good[i][0], rtol=1e-5)
    # The swing-up fast path: the same.
    swing = make_population(3, 5, 1, 0.5, 5, seed=2)
    task = EpisodeTask(
        [swing[0], broken(swing[1]), swing[2]],
        "CartPoleSwingUp",
        (1.0,),
        (3,),
        take_argmax_action=False,
        use_torch=False,
    )
    messages.clear()
    with WorkerPool(1, {}, log=messages.append) as pool:
        returns = pool.map_chunks(episodes_chunk, [task])
    assert len(messages) == 1 and "episodes_chunk: the fast path failed" in messages[0]
    assert np.isnan(returns[1]).all() and np.isfinite(returns[0]).all()


def test_a_wlnn_chunk_whose_fast_path_fails_is_logged():
    dataset = load_dataset("digits")
    shared = {"x_train": dataset.x_train, "y_train": dataset.y_train}
    genomes = make_wlnn_population(3, 64, 10, 0, 1, p_initial_connection_enabled=0.2)
    genomes[1] = replace(genomes[1], weights=None)  # cannot be trained: the chunk falls back
    task = TrainTask(
        genomes,
        [streams.stream_entropy(0, 1, streams.TRAIN, i) for i in range(3)],
        train_config(batch_size=256, num_epochs=1),
        "cpu",
        streams.stream_entropy(0, 1, streams.BATCHES),
    )
    messages = []
    with WorkerPool(1, shared, log=messages.append) as pool:
        results = pool.map_chunks(train_chunk, [task])
    assert len(messages) == 1 and "train_chunk: the fast path failed" in messages[0]
    assert "a weight learning network needs weights" in messages[0]
    assert np.isnan(results[1][0]) and np.isfinite(results[0][0]) and np.isfinite(results[2][0])


def test_worker_count_never_exceeds_the_chunks_of_a_generation(monkeypatch):
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    assert worker_count(1, 64) == (1, ["Worker processes: none (one process)"])
    assert worker_count(2, 64) == (2, ["Worker processes: 2"])
    count, notes = worker_count(1000, 8)
    assert count == 8
    assert notes == [
        "Worker processes: 8 (--num_workers 1000, but a generation has only 8 networks to "
        "share out)",
        "Warning: 8 worker processes are more than the 2 CPU cores of this machine; they "
        "share them (slower; the results are the same).",
    ]
    assert worker_count(3, 64)[0] == 3 and len(worker_count(3, 64)[1]) == 2  # 3 > 2 cores


@pytest.mark.slow
def test_a_thousand_workers_for_two_networks_start_two_and_change_nothing(tmp_path, finished_run):
    # Two networks, not more: each worker process imports torch (a second or more of CPU).
    args = [*SMALL_RUNS["run-wlnn-mnist.py"], "--population_size", "2", "--tournament_size", "2"]
    many = tmp_path / "many"
    result = run_script("run-wlnn-mnist.py", *args, "--num_workers", "1000", "--out_dir", str(many))
    assert result.returncode == 0, result.stderr
    log = (many / "log.txt").read_text()
    assert "Worker processes: 2 (--num_workers 1000, but a generation has only 2" in log
    assert log.count("are more than the") == (1 if (os.cpu_count() or 1) < 2 else 0)
    one = finished_run("run-wlnn-mnist.py", *args)
    assert (many / "champion.json").read_bytes() == (one / "champion.json").read_bytes()
