import csv

import numpy as np
import pytest
import yaml
from conftest import MNIST_DIR, NEEDS_MNIST, assert_refused, read_scalars, run_script

from evolearn.experiment.parsing import parse_params
from evolearn.network_io import load_genome
from evolearn.wlnn.baseline import SPEC, baseline_genome

SCRIPT = "run-wlnn-mnist-no-evolution.py"
DIGITS = "params/wlnn-no-evolution/digits-backprop.yaml"


@pytest.mark.slow
def test_digits_run_writes_log_params_network_and_tensorboard_tags(tmp_path):
    out = tmp_path / "run"
    result = run_script(SCRIPT, DIGITS, "--num_epochs", "4", "--out_dir", str(out))
    assert result.returncode == 0, result.stderr
    assert "Epoch 4/4" in result.stdout
    log = (out / "log.txt").read_text()
    assert log.startswith(SCRIPT) and "CPU cores" in log and "Epoch 4/4" in log
    params = yaml.safe_load((out / "params.yaml").read_text())
    assert params["num_epochs"] == 4 and params["learning_rule"] == "backprop"
    scalars = read_scalars(out)
    for tag in ("train/loss", "train/acc", "test/loss", "test/acc"):
        assert [step for step, _ in scalars[tag]] == [1, 2, 3, 4], tag
    assert scalars["test/acc"][-1][1] > 0.8
    rows = list(csv.DictReader((out / "results_summary.csv").open()))
    assert len(rows) == 4
    assert float(rows[-1]["test_acc"]) == pytest.approx(scalars["test/acc"][-1][1], abs=1e-6)
    network = load_genome(out / "network.json")
    assert network.num_connections == 640


@pytest.mark.slow
def test_digits_run_is_reproducible_under_a_seed(tmp_path):
    outs = [tmp_path / "a", tmp_path / "b"]
    for out in outs:
        result = run_script(
            SCRIPT, DIGITS, "--num_epochs", "2", "--seed", "5", "--out_dir", str(out)
        )
        assert result.returncode == 0, result.stderr
    assert (outs[0] / "network.json").read_bytes() == (outs[1] / "network.json").read_bytes()
    other = tmp_path / "other_seed"
    result = run_script(SCRIPT, DIGITS, "--num_epochs", "2", "--seed", "6", "--out_dir", str(other))
    assert result.returncode == 0, result.stderr
    assert (other / "network.json").read_bytes() != (outs[0] / "network.json").read_bytes()


@pytest.mark.slow
def test_rules_differ_with_a_hidden_layer_and_only_existing_connections_change(tmp_path):
    # The network every run starts from: the script draws it from the first of two streams
    # spawned from the seed.
    params = parse_params(SPEC, [DIGITS, "--num_hidden", "20", "--out_dir", str(tmp_path / "p")])
    network_seed = np.random.SeedSequence(params.seed).spawn(2)[0]
    start = baseline_genome(params, np.random.default_rng(network_seed))
    into_hidden = start.layer[start.connections[:, 1]] < start.num_layers - 1
    assert into_hidden.sum() == 64 * 20 and (~into_hidden).sum() == 20 * 10
    start_weights = start.weights.astype(np.float32)  # the networks train in float32
    weights = {}
    for rule in ("backprop", "feedback_alignment", "hebbian", "last_layer"):
        out = tmp_path / rule
        result = run_script(
            SCRIPT,
            DIGITS,
            "--num_epochs",
            "2",
            "--num_hidden",
            "20",
            "--learning_rule",
            rule,
            "--out_dir",
            str(out),
        )
        assert result.returncode == 0, result.stderr
        network = load_genome(out / "network.json")
        assert network.num_hidden == 20 and network.num_connections == 64 * 20 + 20 * 10
        # Training changes weights only: the connections and layers are the starting ones.
        np.testing.assert_array_equal(network.connections, start.connections)
        np.testing.assert_array_equal(network.layer, start.layer)
        weights[rule] = network.weights
    for rule, learned in weights.items():
        assert not np.allclose(learned[~into_hidden], start_weights[~into_hidden]), rule
        if rule == "last_layer":  # only the output weights learn
            np.testing.assert_array_equal(learned[into_hidden], start_weights[into_hidden])
        else:
            assert not np.allclose(learned[into_hidden], start_weights[into_hidden]), rule
    assert not np.allclose(weights["backprop"], weights["feedback_alignment"])
    assert not np.allclose(weights["backprop"], weights["hebbian"])


@pytest.mark.parametrize(
    "args, message",
    [
        (["--learning_rule", "magic"], "learning_rule"),
        (["--optimizer", "rmsprop"], "optimizer"),
        (["--dataset", "cifar"], "dataset"),
        (["--lr", "abc"], "lr"),
        (["--p_initial_connection_enabled", "1.5"], "p_initial_connection_enabled"),
        (["--num_inputs", "256"], "num_inputs"),
        (["--batch_size", "5000"], "batch_size"),
        (["--no_such_option", "1"], "no_such_option"),
    ],
)
def test_bad_input_exits_2_with_a_clear_message_and_no_output_folder(tmp_path, args, message):
    out = tmp_path / "run"
    result = run_script(SCRIPT, DIGITS, *args, "--out_dir", str(out))
    assert_refused(result, message, out)


def test_missing_parameter_file_is_a_clear_error(tmp_path):
    result = run_script(SCRIPT, str(tmp_path / "nope.yaml"), "--out_dir", str(tmp_path / "o"))
    assert result.returncode == 2 and "nope.yaml" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_mnist_that_no_mirror_has_tells_where_to_put_the_files(tmp_path, server):
    # The download code runs for real, against a mirror on this machine that has no files
    # (the same answer an offline machine gets from every mirror).
    _, base = server
    result = run_script(
        SCRIPT,
        "params/wlnn-no-evolution/backprop.yaml",
        "--data_dir",
        str(tmp_path / "none"),
        "--out_dir",
        str(tmp_path / "o"),
        env={
            "EVOLEARN_CACHE_DIR": str(tmp_path / "cache"),
            "EVOLEARN_MNIST_MIRRORS": f"{base}/empty/",
        },
        timeout=120,
    )
    assert result.returncode == 2
    assert "train-images-idx3-ubyte" in result.stderr and str(tmp_path / "none") in result.stderr
    assert f"{base}/empty/ (HTTP Error 404" in " ".join(result.stderr.split())
    assert "Traceback" not in result.stderr and not (tmp_path / "o").exists()


@pytest.mark.slow
@pytest.mark.skipif(MNIST_DIR is None, reason=NEEDS_MNIST)
def test_mnist_one_epoch_reaches_ninety_percent(tmp_path):
    out = tmp_path / "run"
    result = run_script(
        SCRIPT,
        "params/wlnn-no-evolution/backprop.yaml",
        "--num_epochs",
        "1",
        "--data_dir",
        str(MNIST_DIR),
        "--out_dir",
        str(out),
        env={"EVOLEARN_CACHE_DIR": str(tmp_path / "cache")},
    )
    assert result.returncode == 0, result.stderr
    assert read_scalars(out)["test/acc"][-1][1] > 0.9


@pytest.mark.slow
def test_seconds_is_what_each_epoch_took_and_elapsed_seconds_the_time_since_the_start(tmp_path):
    # seconds means what it means in the evolution scripts' tables: the row's own time
    out = tmp_path / "run"
    result = run_script(SCRIPT, DIGITS, "--num_epochs", "3", "--out_dir", str(out))
    assert result.returncode == 0, result.stderr
    with (out / "results_summary.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == [
        "epoch",
        "train_loss",
        "train_acc",
        "test_loss",
        "test_acc",
        "seconds",
        "elapsed_seconds",
    ]
    seconds = [float(r["seconds"]) for r in rows]
    elapsed = [float(r["elapsed_seconds"]) for r in rows]
    assert all(s > 0 for s in seconds) and elapsed == sorted(elapsed)
    # each epoch's seconds fit between the elapsed times of its row and the one before
    # (0.02: all three are rounded to hundredths, each by up to 0.005)
    for before, now, took in zip([0.0, *elapsed], elapsed, seconds, strict=False):
        assert took <= now - before + 0.02
    assert sum(seconds) <= elapsed[-1] + 0.01 * len(rows)
