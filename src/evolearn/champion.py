"""Evaluate a saved network again on its task, without rerunning evolution.

    python -m evolearn.champion out/2026-11-21_08-00-00                 # the run's champion.json
    python -m evolearn.champion out/BASELINE --split train   # run-wlnn-mnist-no-evolution.py's
    python -m evolearn.champion out/RUN/champions/gen-00042.json --weights -1 1 --num_trials 20
    python -m evolearn.champion out/RUN --setting all --num_trials 100   # the WANN paper's four
    python -m evolearn.champion swing.out --params params/wann-gym/CartPoleSwingUp-paper.yaml
    python -m evolearn.champion out/HARLOW --num_tasks 100 --out figures   # newbie vs experienced

The task comes from the ``params.yaml`` of the run folder the network lies in (or
``--params``). A weight agnostic network is run with each weight value (default: the train
values -2, -1, -0.5, 0.5, 1, 2): on an environment, ``--num_trials`` episodes per weight value
with seeds ``--seed``, ``--seed``+1, ...; on a dataset, the whole ``--split``. A weight learning
network is tested with its saved weights on the ``--split``; for a WLNN run's ``champion.json``
(the weights before training) ``champion_trained.json`` (after the run's long training) is
tested too. The network of a run folder is its ``champion.json``, or for a
run-wlnn-mnist-no-evolution.py run (which has no champion) its trained ``network.json``.
An option that the run's kind (environment, dataset, weight learning network) or the chosen
``--setting`` does not use is refused, not ignored.
Prints the mean and the spread (standard deviation) of the returns or the per-weight scores.
With ``--setting``, a weight agnostic network is scored as the WANN paper does instead
(:mod:`evolearn.wann.protocol`): random weights, random shared weight, tuned shared weight,
tuned weights, and for a dataset the ensemble of the weight values.
A run-harlow-baldwin.py champion learns ``--num_tasks`` new problems (environment seeds
``--seed``, ``--seed``+1, ...) each for one lifetime of its run, beside a newborn agent per
problem (:mod:`evolearn.harlow.evaluation`): their per-problem scores, and their accuracy at
each evaluation trial; with ``--out`` also the figure ``newbie-vs-experienced`` (a box plot of
the scores, the accuracy per trial) and the table ``newbie-vs-experienced.csv``.
A champion file of the WANN paper's code release (``.out``) is read too; it has a bias neuron,
so its ``--params`` must have ``bias_input: yes``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from evolearn.errors import ParamError, UserError
from evolearn.experiment.cli import ToolParser, main_wrapper, non_negative_int, positive_int
from evolearn.experiment.run import read_params_file
from evolearn.network_io import load_genome, load_genome_info, load_wann_release
from evolearn.wann.network import TRAIN_WEIGHT_VALUES, WANNNetwork
from evolearn.wann.protocol import SETTINGS

#: A network file of a run lies at most this many folders below the run folder
#: (``networks/gen-XXXXX/net-XXX.json``).
RUN_FOLDER_DEPTH = 3
#: The network of a run folder: an evolution run's champion, else the network that
#: run-wlnn-mnist-no-evolution.py trained.
RUN_NETWORKS = ("champion.json", "network.json", "champion.npz")
#: The kinds of run a network is scored on.
ENVIRONMENT, WANN_DATASET, WLNN = "environment", "wann dataset", "wlnn"
#: A run-hebbian-gym.py run: its champion's coefficients (champion.npz).
HEBBIAN = "hebbian"
#: A run-harlow-baldwin.py run: its champion learner (champion.npz).
HARLOW = "harlow"
#: The options of a run-harlow-baldwin.py champion only.
HARLOW_OPTIONS = ("num_tasks", "out")
#: The options that set the tuning of the WANN paper's settings, and the settings that use them.
TUNING_OPTIONS = {
    "tune_trials": ("tuned_shared_weight", "tuned_weights"),
    "es_iterations": ("tuned_weights",),
    "es_population": ("tuned_weights",),
    "tune_epochs": ("tuned_weights",),
}
#: The options that always apply.
ALWAYS = ("path", "params")


def _parser() -> argparse.ArgumentParser:
    parser = ToolParser(
        prog="python -m evolearn.champion",
        description="Evaluate a saved network again on the task of its run.",
    )
    parser.add_argument(
        "path",
        help="a run folder (uses its champion.json, the network.json of a "
        "run-wlnn-mnist-no-evolution.py run, or the champion.npz of a run-hebbian-gym.py run), "
        "a network JSON file, or a champion file of the WANN paper's code release (.out; give "
        "--params)",
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
    parser.add_argument(
        "--seed", type=non_negative_int, default=0, help="environment seed of the first trial"
    )
    parser.add_argument(
        "--split", choices=("test", "train"), default="test", help="dataset split (datasets)"
    )
    parser.add_argument("--data_dir", help="where MNIST is (default: the run's data_dir)")
    parser.add_argument(
        "--morphology",
        choices=("standard", "damaged_left", "damaged_right"),
        help="the ant's body to score a run-hebbian-gym.py Ant-v5 champion on, also one the "
        "run never saw (default: the run's first body)",
    )
    harlow = parser.add_argument_group("run-harlow-baldwin.py champions")
    harlow.add_argument(
        "--num_tasks",
        type=positive_int,
        default=100,
        help="new problems the champion and the newborn agents learn (environment seeds --seed, "
        "--seed+1, ...)",
    )
    harlow.add_argument(
        "--out",
        help="folder for the figure newbie-vs-experienced (PNG and PDF) and its table (CSV)",
    )
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
    """The network file (for a run folder: its champion.json, or the network.json of a
    run-wlnn-mnist-no-evolution.py run) and the run's parameters."""
    network = path
    if path.is_dir():
        network = next(
            (path / name for name in RUN_NETWORKS if (path / name).is_file()),
            path / RUN_NETWORKS[0],
        )
        if not network.is_file():
            raise UserError(
                f"no network file in the run folder {path}: neither champion.json (an evolution "
                f"run's champion) nor network.json (a run-wlnn-mnist-no-evolution.py run's "
                f"trained network)"
            )
    elif not network.is_file():
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


def budget_of(args):
    """The tuning budget the options give."""
    from evolearn.wann.protocol import Budget

    return Budget(
        tune_trials=args.tune_trials,
        es_iterations=args.es_iterations,
        es_population=args.es_population,
        tune_epochs=args.tune_epochs,
    )


def chosen_settings(args, kind: str) -> tuple[str, ...]:
    """The settings --setting asks for on a run of ``kind`` (``all``: those defined for it)."""
    if args.setting is None:
        return ()
    if args.setting == "ensemble" and kind == ENVIRONMENT:
        raise UserError(
            "--setting ensemble is defined for datasets only; for an environment choose one of "
            + ", ".join(s for s in SETTINGS if s != "ensemble")
            + " or all"
        )
    if args.setting != "all":
        return (args.setting,)
    return tuple(s for s in SETTINGS if kind != ENVIRONMENT or s != "ensemble")


def check_setting_seeds(args, task, settings) -> None:
    """Refuse a --seed whose test episodes are among the tuning episodes of a chosen setting
    (only the tuned settings tune). Their tuning seeds all start at the same seed, so the
    setting that tunes on the most seeds is checked first: its message names a seed that suits
    every chosen setting."""
    from evolearn.wann.protocol import check_seeds, tuning_seeds

    budget = budget_of(args)
    for setting in sorted(settings, key=lambda s: -len(tuning_seeds(s, budget))):
        try:
            check_seeds(task, setting, args.num_trials, args.seed, budget)
        except ValueError as err:
            raise ParamError(f"--seed {args.seed} with --setting {args.setting}: {err}") from None


def paper_settings(args, genome, task, settings, unit: str) -> None:
    """The WANN paper's settings chosen with --setting (mean and standard deviation)."""
    from evolearn.wann.protocol import evaluate

    print(f"The WANN paper's settings (seed {args.seed}, {args.num_trials} test trials):")
    for setting in settings:
        result = evaluate(task, genome, setting, args.num_trials, args.seed, budget_of(args))
        print_setting(result, unit)


def run_kind(genome, params: dict) -> str:
    """ENVIRONMENT, WANN_DATASET or WLNN: what the network is scored on, and how."""
    if "env_name" in params:
        return ENVIRONMENT
    return WANN_DATASET if genome.kind == "wann" or genome.weights is None else WLNN


def describe_run(kind: str, network: Path, params: dict) -> str:
    """The kind of run, as an error message names it."""
    if kind == HARLOW:
        return f"a run-harlow-baldwin.py run ({params['inheritance']})"
    if kind == HEBBIAN:
        return f"a run-hebbian-gym.py run (env_name {params['env_name']})"
    if kind == ENVIRONMENT:
        return f"an environment run (env_name {params['env_name']})"
    if kind == WANN_DATASET:
        return f"a weight agnostic network on a dataset (dataset {params.get('dataset')})"
    if network.name == "network.json":
        return (
            "the network.json of a run-wlnn-mnist-no-evolution.py run (a weight learning network)"
        )
    return f"a weight learning network (dataset {params.get('dataset')})"


def unused_because(
    option: str, kind: str, setting: str | None, env_name: str | None = None
) -> str | None:
    """Why ``option`` plays no part in scoring a network of a ``kind`` run with ``setting``
    (None: it does play a part)."""
    if option in ALWAYS:
        return None
    if kind == HARLOW:
        if option in (*HARLOW_OPTIONS, "seed"):
            return None
        return (
            "a Harlow learner is scored by learning --num_tasks new problems from --seed (the "
            "options that apply: --num_tasks, --seed, --out, --params)"
        )
    if option in HARLOW_OPTIONS:
        return "only a run-harlow-baldwin.py champion learns new problems"
    if option == "morphology" and kind != HEBBIAN:
        return "only the ant of a run-hebbian-gym.py run has bodies to choose"
    if kind == HEBBIAN:
        if option in ("num_trials", "seed"):
            return None
        if option == "morphology":
            from evolearn.hebbian.tasks import is_ant

            if is_ant(env_name or ""):
                return None
            return f"{env_name} has one body (the damaged bodies are the ant's)"
        return (
            "a Hebbian network is scored on --num_trials episodes from --seed, each with fresh "
            "random weights (the options that apply: --num_trials, --seed, --params, and "
            "--morphology for the ant)"
        )
    if kind == WLNN:
        if option in ("split", "data_dir"):
            return None
        return (
            "a weight learning network is tested with its saved weights on the whole --split "
            "(the options that apply: --split, --data_dir, --params)"
        )
    if kind == ENVIRONMENT:
        if option == "split":
            return (
                "an environment has no dataset splits (its test episodes are chosen with "
                "--seed and --num_trials)"
            )
        if option == "data_dir":
            return "an environment reads no dataset"
        if option == "tune_epochs":
            return (
                "it sets the gradient training of tuned_weights on a dataset (on an environment "
                "the evolution strategy's --es_iterations and --es_population)"
            )
    if kind == WANN_DATASET and option in ("tune_trials", "es_iterations", "es_population"):
        return (
            "it sets the tuning episodes on an environment (a dataset is tuned on its training "
            "set: --tune_epochs)"
        )
    if setting is None:
        if option in TUNING_OPTIONS:
            return f"it sets the tuning of --setting {' and '.join(TUNING_OPTIONS[option])}"
        if kind == WANN_DATASET and option in ("num_trials", "seed"):
            return (
                "without --setting a dataset is scored once on the whole --split, with no trials "
                "or seeds"
            )
        return None
    if option == "weights":
        return f"--setting {setting} chooses the weights itself"
    if option == "split":
        return f"--setting {setting} tests on the test set (and tunes on the training set)"
    if option in TUNING_OPTIONS and setting != "all" and setting not in TUNING_OPTIONS[option]:
        return (
            f"--setting {setting} tunes nothing; it applies to "
            f"{' and '.join(TUNING_OPTIONS[option])} (or all)"
        )
    return None


def given_options(args: argparse.Namespace, argv: list[str]) -> list[str]:
    """The options ``argv`` gives (in the parser's order), not those left at their defaults."""
    # argparse sets no default on an attribute the namespace already has: an option still
    # ``unset`` after parsing was not given
    unset = object()
    given = _parser().parse_args(argv, argparse.Namespace(**dict.fromkeys(vars(args), unset)))
    return [name for name, value in vars(given).items() if value is not unset]


def check_options_apply(args, argv, kind: str, network: Path, params: dict) -> None:
    """Refuse an option that scoring this network does not use, instead of ignoring it."""
    for option in given_options(args, argv):
        why = unused_because(option, kind, args.setting, params.get("env_name"))
        if why is not None:
            raise ParamError(
                f"--{option} does not apply to {describe_run(kind, network, params)}: {why}"
            )


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
    if network.suffix == ".npz" and "inheritance" in params:
        score_harlow(args, argv, network, params)
        return
    if network.suffix == ".npz":
        score_hebbian(args, argv, network, params)
        return
    genome = read_network(network, params)
    kind = run_kind(genome, params)
    if kind == ENVIRONMENT and genome.kind == "wlnn":
        raise UserError(f"{network} is not a weight agnostic network")
    check_options_apply(args, argv, kind, network, params)
    settings = chosen_settings(args, kind)
    if kind == ENVIRONMENT:
        from evolearn.wann.protocol import EnvironmentTask

        task = EnvironmentTask(params)
        check_setting_seeds(args, task, settings)
    print(
        f"{network}: {genome.num_neurons} neurons, {genome.num_connections} connections, "
        f"{genome.num_layers} layers"
    )
    if kind == ENVIRONMENT:
        from evolearn.wann.gym import check_fits_env

        check_fits_env(_task_params(params, take_argmax_action=False))
        if settings:
            paper_settings(args, genome, task, settings, "return")
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
    if kind == WANN_DATASET:
        from evolearn.wann.classification import classify, network_arrays

        arrays = network_arrays(dataset, bool(params.get("bias_input", False)))
        x = arrays[f"x_{args.split}"]
        if settings:
            from evolearn.wann.protocol import DatasetTask

            paper_settings(args, genome, DatasetTask(**arrays), settings, "accuracy")
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
    import torch

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
    elif network.name == "network.json":
        info = load_genome_info(network)
        if "epochs" in info:
            print(
                f"  (network.json holds the network run-wlnn-mnist-no-evolution.py trained, "
                f"after its {info['epochs']} epochs)"
            )
    for path, net in networks:
        loss, acc = WLNNNetwork(net).evaluate(torch.as_tensor(x), torch.as_tensor(y), 1000)
        print(
            f"{path.name}: {params['dataset']} {args.split} set ({len(x)} samples), weights as "
            f"saved: loss {loss:.4f}, accuracy {acc:.4f}"
        )


def score_hebbian(args, argv, network: Path, params: dict) -> None:
    """A run-hebbian-gym.py champion: its returns over episodes with fresh random weights."""
    from evolearn.hebbian.search import score_saved

    check_options_apply(args, argv, HEBBIAN, network, params)
    returns = score_saved(network, params, args.num_trials, args.seed, args.morphology)
    weights = (
        "its evolved weights"
        if params["hebb_rule"] == "static" or params["init_weights"] == "coevolve"
        else f"fresh random weights ({params['init_weights']}) in every episode"
    )
    from evolearn.hebbian.search import morphology_list
    from evolearn.hebbian.tasks import is_ant

    body = ""
    if is_ant(params["env_name"]):
        trained = morphology_list(params.get("morphologies", "standard"))
        chosen = args.morphology or trained[0]
        seen = "trained on" if chosen in trained else "never seen in training"
        body = f" (body {chosen}, {seen})"
    print(
        f"{network}: rule {params['hebb_rule']} on {params['env_name']}{body}, "
        f"{args.num_trials} episodes (seeds {args.seed}..{args.seed + args.num_trials - 1}), "
        f"{weights}:"
    )
    print(
        f"  mean return {returns.mean():.3f} +- {returns.std():.3f} (min {returns.min():.3f}, "
        f"max {returns.max():.3f})"
    )


def score_harlow(args, argv, network: Path, params: dict) -> None:
    """A run-harlow-baldwin.py champion against newborn agents on the same new problems."""
    check_options_apply(args, argv, HARLOW, network, params)
    from evolearn.experiment.outputs import ToolOutputs
    from evolearn.harlow.evaluation import newbie_and_experienced
    from evolearn.harlow.search import lifetime_of, load_individual

    outputs = None
    names = ("newbie-vs-experienced.png", "newbie-vs-experienced.pdf", "newbie-vs-experienced.csv")
    if args.out is not None:
        outputs = ToolOutputs(args.out)
        outputs.claim(*names)
    hidden, lifetime = int(params["hidden_size"]), lifetime_of(params)
    genome = load_individual(network, hidden)
    seeds = range(args.seed, args.seed + args.num_tasks)
    newbie, experienced = newbie_and_experienced(genome, hidden, lifetime, seeds, args.seed)
    print(
        f"{network}: {params['inheritance']} learner of hidden size {hidden}; "
        f"{args.num_tasks} new problems (seeds {seeds[0]}..{seeds[-1]}), each learned for "
        f"{lifetime.gradient_steps} gradient steps of {lifetime.trials} trials, then scored "
        f"on {lifetime.evaluation_trials} trials (+1 right, -1 wrong):"
    )
    for name, outcome in (("newbie", newbie), ("experienced", experienced)):
        s = outcome.scores
        print(
            f"  {name:<12} score per problem {s.mean():6.2f} +- {s.std():5.2f} (median "
            f"{np.median(s):.0f}, min {s.min():.0f}, max {s.max():.0f}); accuracy "
            f"{outcome.correct.mean():.3f}"
        )
    print("  accuracy at each evaluation trial (newbie / experienced):")
    pairs = zip(newbie.trial_accuracy, experienced.trial_accuracy, strict=True)
    for t, (a, b) in enumerate(pairs, 1):
        print(f"    trial {t:2d}: {a:.3f} / {b:.3f}")
    if outputs is None:
        return
    import pandas as pd

    from evolearn.analysis import figures

    table = pd.DataFrame(
        {
            "problem_seed": list(seeds),
            "newbie_score": newbie.scores,
            "experienced_score": experienced.scores,
        }
    )
    table.to_csv(outputs.path(names[2]), index=False)
    figure = figures.newbie_vs_experienced(newbie, experienced, f"{network.parent.name}")
    written = [*figures.save(figure, outputs.path, "newbie-vs-experienced"), outputs.path(names[2])]
    print(f"Wrote {len(written)} files to {outputs.folder}:")
    for path in written:
        print(f"  {path}")


if __name__ == "__main__":
    main_wrapper(main, sys.argv[1:])
