"""run-wlnn-mnist-no-evolution.py: train one network with a learning rule, no evolution.

The baseline of Rieke (2020): a network with every input-output connection
(``p_initial_connection_enabled: 1``) trained by backprop, feedback alignment, Hebbian or
last-layer learning; train and test loss and accuracy are reported after every epoch.
``num_hidden`` adds one fully connected relu hidden layer (not in the thesis), under which the
learning rules differ.
"""

from __future__ import annotations

import time

import numpy as np
import torch

from evolearn.data import check_fits_dataset, dataset_notes, load_dataset
from evolearn.experiment.devices import select_device
from evolearn.experiment.parsing import Params, ScriptSpec, parse_params
from evolearn.experiment.reporting import ResultsTable
from evolearn.experiment.run import Run
from evolearn.genome import Genome, initial_genome, random_weights
from evolearn.network_io import save_genome
from evolearn.wlnn.learning import TrainConfig, Trainer
from evolearn.wlnn.network import WLNNNetwork

SPEC = ScriptSpec(
    name="run-wlnn-mnist-no-evolution.py",
    description=(
        "Train the weights of one network on an image classification dataset with a learning "
        "rule (backprop, feedback alignment, Hebbian or last-layer learning); no evolution."
    ),
    options=(
        "batch_size",
        "batch_size_eval",
        "learning_rule",
        "lr",
        "num_epochs",
        "optimizer",
        "train_only_outputs",
        "num_inputs",
        "num_outputs",
        "p_initial_connection_enabled",
        "num_hidden",
        "dataset",
        "data_dir",
        "use_cuda",
        "seed",
        "out_dir",
        "overwrite_output",
    ),
    defaults={
        "p_initial_connection_enabled": 1.0,
        "num_epochs": 100,
    },
)


def baseline_genome(params: Params, rng: np.random.Generator) -> Genome:
    """The trained network: inputs to outputs, or through one full hidden layer."""
    genome = initial_genome(
        params.num_inputs,
        params.num_outputs,
        params.p_initial_connection_enabled,
        rng,
        with_weights=True,
    )
    if params.num_hidden == 0:
        return genome
    num_io = params.num_inputs + params.num_outputs
    hidden = np.arange(num_io, num_io + params.num_hidden)
    outputs = np.arange(params.num_inputs, num_io)
    into_hidden = np.stack(np.meshgrid(np.arange(params.num_inputs), hidden, indexing="ij"), -1)
    into_outputs = np.stack(np.meshgrid(hidden, outputs, indexing="ij"), -1)
    connections = np.concatenate([into_hidden.reshape(-1, 2), into_outputs.reshape(-1, 2)])
    layer = np.concatenate(
        [np.zeros(params.num_inputs), np.full(params.num_outputs, 2), np.ones(params.num_hidden)]
    ).astype(np.int64)
    return Genome(
        params.num_inputs,
        params.num_outputs,
        layer,
        connections.astype(np.int64),
        random_weights(rng, len(connections)),
    )


def main(argv: list[str]) -> None:
    params = parse_params(SPEC, argv)
    dataset = load_dataset(params.dataset, params.data_dir)
    check_fits_dataset(params, dataset)
    device, device_note = select_device(params.use_cuda)
    network_rng, training_rng = (
        np.random.default_rng(s) for s in np.random.SeedSequence(params.seed).spawn(2)
    )
    with Run.create(params) as run:
        if device_note:
            run.log(device_note)
        run.log(f"Device: {device}")
        for note in dataset_notes(dataset, params.data_dir):
            run.log(note)
        genome = baseline_genome(params, network_rng)
        run.log(
            f"Network: {genome.num_neurons} neurons, {genome.num_connections} connections, "
            f"{genome.num_layers} layers"
        )
        x_train = torch.as_tensor(dataset.x_train, device=device)
        y_train = torch.as_tensor(dataset.y_train, device=device)
        x_test = torch.as_tensor(dataset.x_test, device=device)
        y_test = torch.as_tensor(dataset.y_test, device=device)
        model = WLNNNetwork(genome, device)
        trainer = Trainer(model, TrainConfig.from_params(params), training_rng)
        test_loss, test_acc = model.evaluate(x_test, y_test, params.batch_size_eval)
        run.log(f"Before training: test loss {test_loss:.4f}, test acc {test_acc:.4f}")

        # seconds: what the row's epoch took, as in the evolution scripts' tables (a
        # generation's seconds); elapsed_seconds: since the first epoch began
        columns = (
            "epoch",
            "train_loss",
            "train_acc",
            "test_loss",
            "test_acc",
            "seconds",
            "elapsed_seconds",
        )
        table = ResultsTable(run.path("results_summary.csv"), columns, lineterminator="\n")
        bar = run.progress(params.num_epochs, desc="epochs")
        start = time.perf_counter()
        for epoch in range(1, params.num_epochs + 1):
            epoch_start = time.perf_counter()
            losses, accs = trainer.train_epoch(x_train, y_train)
            train_loss, train_acc = float(losses.mean()), float(accs.mean())
            test_loss, test_acc = model.evaluate(x_test, y_test, params.batch_size_eval)
            now = time.perf_counter()
            seconds, elapsed = now - epoch_start, now - start
            for tag, value in (
                ("train/loss", train_loss),
                ("train/acc", train_acc),
                ("test/loss", test_loss),
                ("test/acc", test_acc),
            ):
                run.scalar(tag, value, epoch)
            table.append(
                {
                    "epoch": epoch,
                    "train_loss": train_loss,
                    "train_acc": train_acc,
                    "test_loss": test_loss,
                    "test_acc": test_acc,
                    "seconds": f"{seconds:.2f}",
                    "elapsed_seconds": f"{elapsed:.2f}",
                }
            )
            run.mark_started()
            run.log(
                f"Epoch {epoch}/{params.num_epochs}: train loss {train_loss:.4f}, "
                f"train acc {train_acc:.4f} | test loss {test_loss:.4f}, test acc {test_acc:.4f} "
                f"({seconds:.1f} s, {elapsed:.1f} s in all)"
            )
            bar.update(1)
            bar.set_postfix({"test_acc": f"{test_acc:.4f}"})
        bar.close()
        save_genome(
            genome.with_weights(model.learned_weights()),
            run.path("network.json", atomic=True),
            info={"epochs": params.num_epochs, "test_loss": test_loss, "test_acc": test_acc},
        )
        run.log(f"Final test accuracy {test_acc:.4f}; trained network saved to network.json")
