"""Evaluate a saved network again on its task, without rerunning evolution.

    python -m evolearn.champion out/2026-11-21_08-00-00                 # the run's champion.json
    python -m evolearn.champion out/RUN/champions/gen-00042.json --weights -1 1 --num_trials 20
    python -m evolearn.champion out/RUN --setting all --num_trials 100   # the WANN paper's four
    python -m evolearn.champion swing.out --params params/wann-gym/CartPoleSwingUp-paper.yaml

The task comes from the ``params.yaml`` of the run folder the network lies in (or
``--params``). A weight agnostic network is run with each weight value (default: the train
values -2, -1, -0.5, 0.5, 1, 2): on an environment, ``--num_trials`` episodes per weight value
with seeds ``--seed``, ``--seed``+1, ...; on a dataset, the whole ``--split``. A weight learning
network is tested with its saved weights on the ``--split``; for a WLNN run's ``champion.json``
(the weights before training) ``champion_trained.json`` (after the run's long training) is
tested too.
Prints the mean and the spread (standard deviation) of the returns or the per-weight scores.
With ``--setting``, a weight agnostic network is scored as the WANN paper does instead
(:mod:`evolearn.wann.protocol`): random weights, random shared weight, tuned shared weight,
tuned weights, and for a dataset the ensemble of the weight values.
A champion file of the WANN paper's code release (``.out``) is read too; it has a bias neuron,
so its ``--params`` must have ``bias_input: yes``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from types import SimpleNamespace

import torch

from evolearn.errors import UserError
from evolearn.experiment.cli import ToolParser, main_wrapper, positive_int
from evolearn.experiment.run import read_params_file
from evolearn.network_io import load_genome, load_genome_info, load_wann_release
from evolearn.wann.network import TRAIN_WEIGHT_VALUES, WANNNetwork
from evolearn.wann.protocol import SETTINGS

#: A network file of a run lies at most this many folders below the run folder
#: (``networks/gen-XXXXX/net-XXX.json``).
RUN_FOLDER_DEPTH = 3


def _parser() -> argparse.ArgumentParser:
    parser = ToolParser(
        prog="python -m evolearn.champion",
        description="Evaluate a saved network again on the task of its run.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "path",
        help="a run folder (uses its champion.json), a network JSON file, or a champion file of "
        "the WANN paper's code release (.out; give --params)",
    )
    parser.add_argument(
        "--params", help="the run's params.yaml (default: the one of the run folder the file is in)"
    )
    parser.add_argument(
        "--weights",
        type=float,
        nargs="+",
        default=list(TRAIN_WEIGHT_VALUES),
        help="shared weight values for a weight agnostic network (the train values)",
    )
    parser.add_argument(
        "--num_trials",
        type=positive_int,
        default=100,
        help="episodes per weight value (environments)",
    )
    parser.add_argument("--seed", type=int, default=0, help="environment seed of the first trial")
    parser.add_argument(
        "--split", choices=("test", "train"), default="test", help="dataset split (datasets)"
    )
    parser.add_argument("--data_dir", help="where MNIST is (default: the run's data_dir)")
    paper = parser.add_argument_group(
        "the WANN paper's settings (weight agnostic networks; see evolearn.wann.protocol)"
    )
    paper.add_argument(
        "--setting",
        choices=(*SETTINGS, "all"),
        help="score the network as the WANN paper does: random_weights (each connection its own "
        "weight from U(-2, 2) per trial), random_shared_weight (one from U(-2, 2) per trial), "
        "tuned_shared_weight (the best of -1.9, -1.8, ..., 1.9), tuned_weights (individual "
        "weights trained from it), ensemble (datasets: softmax averaged over the six train "
        "weights), or all; --num_trials test trials, seeded by --seed",
    )
    paper.add_argument(
        "--tune_trials",
        type=positive_int,
        default=10,
        help="tuning episodes per shared weight value",
    )
    paper.add_argument(
        "--es_iterations",
        type=positive_int,
        default=50,
        help="iterations of the evolution strategy (tuned_weights, environments)",
    )
    paper.add_argument(
        "--es_population",
        type=positive_int,
        default=16,
        help="episodes per iteration of the evolution strategy",
    )
    paper.add_argument(
        "--tune_epochs",
        type=positive_int,
        default=10,
        help="epochs of gradient training (tuned_weights, datasets)",
    )
    return parser


def locate(path: Path, params_path: str | None) -> tuple[Path, dict]:
    """The network file and the run's parameters."""
    network = path / "champion.json" if path.is_dir() else path
    if not network.is_file():
        raise UserError(f"no network file at {network}")
    if params_path is None:
        # the run folder: the file's own folder or one above it (champions/, networks/gen-X/)
        candidates = [folder / "params.yaml" for folder in network.parents[:RUN_FOLDER_DEPTH]]
        found = [c for c in candidates if c.is_file()]
        if not found:
            raise UserError(
                f"no params.yaml in the {RUN_FOLDER_DEPTH} folders that hold {network}; pass "
                f"--params RUN/params.yaml"
            )
        params_path = found[0]
    return network, read_params_file(Path(params_path))


def print_setting(result, unit: str) -> None:
    scores = result.scores
    spread = f" +- {scores.std():.3f}" if len(scores) > 1 else ""
    detail = f"  [{result.detail}]" if result.detail else ""
    count = f"over {len(scores)} trial(s)"
    print(f"  {result.setting:<21} {unit} {scores.mean():.3f}{spread} {count}{detail}")


def paper_settings(args, genome, task, unit: str) -> None:
    """The WANN paper's settings chosen with --setting (mean and standard deviation)."""
    from evolearn.wann.protocol import SETTINGS, Budget, DatasetTask, evaluate

    budget = Budget(
        tune_trials=args.tune_trials,
        es_iterations=args.es_iterations,
        es_population=args.es_population,
        tune_epochs=args.tune_epochs,
    )
    chosen = SETTINGS if args.setting == "all" else (args.setting,)
    if not isinstance(task, DatasetTask):
        if args.setting == "ensemble":
            raise UserError("--setting ensemble is defined for datasets only")
        chosen = [s for s in chosen if s != "ensemble"]
    print(f"The WANN paper's settings (seed {args.seed}, {args.num_trials} test trials):")
    for setting in chosen:
        try:
            result = evaluate(task, genome, setting, args.num_trials, args.seed, budget)
        except ValueError as err:
            raise UserError(f"--seed: {err}") from None
        print_setting(result, unit)


def _task_params(params: dict, **defaults) -> SimpleNamespace:
    """The task's parameters as attributes (for the scripts' checks that the networks fit it),
    ``defaults`` where the file has none."""
    return SimpleNamespace(**{**defaults, **params})


def read_network(network: Path, params: dict):
    """The genome of a network file (a WANN release ``.out`` file with the task's inputs and
    outputs from ``params``), checked against the task's number of inputs."""
    num_inputs, num_outputs = params.get("num_inputs"), params.get("num_outputs")
    if network.suffix == ".out":
        if num_inputs is None or num_outputs is None:
            raise UserError(f"--params must give num_inputs and num_outputs to read {network}")
        genome = load_wann_release(network, int(num_inputs), int(num_outputs))
    else:
        genome = load_genome(network)
    bias = bool(params.get("bias_input", False))
    if num_inputs is not None and genome.num_inputs != int(num_inputs) + bias:
        has = "with" if bias else "without"
        hint = (
            " (a network of the WANN release has a bias neuron: its --params need bias_input: yes)"
            if genome.num_inputs == int(num_inputs) + 1
            else ""
        )
        raise UserError(
            f"{network} has {genome.num_inputs} inputs, but the run's task has "
            f"{int(num_inputs) + bias} (num_inputs {num_inputs}, {has} a bias neuron){hint}"
        )
    return genome


def main(argv: list[str]) -> None:
    args = _parser().parse_args(argv)
    network, params = locate(Path(args.path), args.params)
    genome = read_network(network, params)
    print(
        f"{network}: {genome.num_neurons} neurons, {genome.num_connections} connections, "
        f"{genome.num_layers} layers"
    )
    if "env_name" in params:
        if genome.kind == "wlnn":
            raise UserError(f"{network} is not a weight agnostic network")
        from evolearn.wann.gym import check_fits_env
        from evolearn.wann.protocol import EnvironmentTask

        check_fits_env(_task_params(params, take_argmax_action=False))

        task = EnvironmentTask(params)
        if args.setting:
            paper_settings(args, genome, task, "return")
            return
        seeds = range(args.seed, args.seed + args.num_trials)
        returns = task.returns(genome, args.weights, seeds)
        print(
            f"{params['env_name']}, {args.num_trials} trials per weight value "
            f"(seeds {args.seed}..{args.seed + args.num_trials - 1}):"
        )
        for w, r in zip(args.weights, returns, strict=True):
            print(f"  weight {w:+.3f}: mean return {r.mean():10.3f} +- {r.std():8.3f}")
        print(
            f"  all weights: mean return {returns.mean():.3f} +- {returns.std():.3f}; "
            f"best weight {args.weights[int(returns.mean(1).argmax())]:+.3f}"
        )
        return
    from evolearn.data import check_fits_dataset, load_dataset

    dataset = load_dataset(params["dataset"], args.data_dir or params.get("data_dir"))
    check_fits_dataset(_task_params(params, batch_size=1), dataset)
    x = getattr(dataset, f"x_{args.split}")
    y = getattr(dataset, f"y_{args.split}")
    if genome.kind == "wann" or genome.weights is None:
        from evolearn.wann.classification import classify, network_arrays

        arrays = network_arrays(dataset, bool(params.get("bias_input", False)))
        x = arrays[f"x_{args.split}"]
        if args.setting:
            from evolearn.wann.protocol import DatasetTask

            paper_settings(args, genome, DatasetTask(**arrays), "accuracy")
            return

        loss, correct = classify(
            WANNNetwork(genome), x, y, tuple(args.weights), use_torch=False, device="cpu"
        )
        loss, acc = loss / len(x), correct / len(x)
        print(f"{params['dataset']} {args.split} set ({len(x)} samples):")
        for w, l, a in zip(args.weights, loss, acc, strict=True):
            print(f"  weight {w:+.3f}: loss {l:.4f}, accuracy {a:.4f}")
        print(
            f"  all weights: accuracy {acc.mean():.4f} +- {acc.std():.4f}; best weight "
            f"{args.weights[int(loss.argmin())]:+.3f} with accuracy {acc[loss.argmin()]:.4f}"
        )
        return
    if args.setting:
        raise UserError(
            f"--setting scores weight agnostic networks; {network} is a weight learning network"
        )
    from evolearn.wlnn.evolution import LONG_TRAINING_EPOCHS
    from evolearn.wlnn.network import WLNNNetwork

    networks = [(network, genome)]
    trained = network.with_name("champion_trained.json")
    if network.name == "champion.json" and trained.is_file():
        # the same champion (its generation and index), or an earlier one's training
        trained_info, info = load_genome_info(trained), load_genome_info(network)
        same = all(trained_info.get(key) == info.get(key) for key in ("generation", "index"))
        which = "this champion" if same else "an earlier champion (the current one is untrained)"
        print(
            f"  (champion.json holds the champion's weights before training, as it was "
            f"evaluated; champion_trained.json holds {which} after the run's "
            f"{LONG_TRAINING_EPOCHS}-epoch long training)"
        )
        networks.append((trained, load_genome(trained)))
    for path, net in networks:
        loss, acc = WLNNNetwork(net).evaluate(torch.as_tensor(x), torch.as_tensor(y), 1000)
        print(
            f"{path.name}: {params['dataset']} {args.split} set ({len(x)} samples), weights as "
            f"saved: loss {loss:.4f}, accuracy {acc:.4f}"
        )


if __name__ == "__main__":
    main_wrapper(main, sys.argv[1:])
