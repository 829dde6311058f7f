"""The thesis's figures and tables of one or several runs, with one command.

    python -m evolearn.plot RUN_DIR [RUN_DIR ...] --out FIGDIR
    python -m evolearn.plot out/bp out/fa out/hebb out/ll --out figures \\
        --connections 200 300 400 --num_networks 5 --curves 1 10 30 --num_workers 2
    python -m evolearn.plot out/RUN/champions/gen-00042.json --out figures   # one drawing

Writes into FIGDIR (PNG and PDF; drawings as SVG and PNG):

- ``evolution``: WLNN runs, training accuracy and connections of ``--sample`` random networks
  per generation, one colour per learning rule; ``wann-evolution-RUN`` for each WANN run: the
  best and the champion's mean and max score per generation, with the champion's tests.
- ``hebbian-evolution``: run-hebbian-gym.py runs side by side (a rule against the static
  baseline), the population's mean and the champion's return per generation; and
  ``hebbian-weights-RUN`` for each run with a plastic rule: one episode of its champion
  (environment seed ``--seed``, the first of ``python -m evolearn.champion RUN --seed S``),
  how much its weights change at each step and the return so far.
- ``harlow-evolution``: run-harlow-baldwin.py runs side by side (Baldwinian, Lamarckian and the
  no-learning control of ``num_gradient_steps: 0``), the population's mean and the best child's
  score per generation; and ``harlow-trials`` with its table ``harlow-trials.csv``: the
  accuracy at each evaluation trial of a new problem, over the individuals a generation scored
  (generation 0: the newborns; later: the children), at generation 0 and at the quarters of the
  run (from the runs' tensorboard events), per inheritance mode.
- ``architecture.csv`` and ``architecture.md`` (WLNN and WANN runs): connections, neurons,
  layers, in-degree, out-degree and degree (mean and standard deviation) of each run's saved
  population
  (``--generation``, default the last saved), and ``degrees``: the degree histograms.
- ``drawings/champion-RUN``: each run's champion; ``drawings/NAME`` for each network file given.
- with ``--connections``: the random-architecture control of the WLNN runs
  (``random_networks.csv`` and the figure ``random_networks``), as
  ``python -m evolearn.random_networks`` makes it.
- with ``--curves G ...``: ``learning_curves.csv`` and the figure ``learning_curves``: the
  ``--curve_networks`` best networks of each of those saved generations retrained for
  ``--epochs`` epochs, the test accuracy after each epoch.

Nothing is written into the run folders. A file of FIGDIR is written over only if an evolearn
tool wrote it (FIGDIR's ``.evolearn-outputs``). A new call into the same FIGDIR first removes
the files an earlier call wrote that it does not write again (and says which), but the
control's ``random_networks.*``, which ``python -m evolearn.random_networks`` may have written
there: no other file is ever removed.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from evolearn.analysis import architecture, figures
from evolearn.analysis.drawing import draw_network, task_names
from evolearn.analysis.retraining import learning_curves, random_networks, train_random_networks
from evolearn.analysis.runs import HARLOW, HEBBIAN, WLNN, RunFolder
from evolearn.errors import UserError
from evolearn.experiment.cli import ToolParser, main_wrapper, positive_int, scheduler_arg
from evolearn.experiment.outputs import ToolOutputs, recorded, remove_recorded
from evolearn.genome import Genome
from evolearn.network_io import load_genome
from evolearn.search.generations import WORST_SCORE
from evolearn.wlnn.evolution import LONG_TRAINING_EPOCHS


def add_control_options(parser: argparse.ArgumentParser, *, required: bool) -> None:
    """The control's --connections and --num_networks (shared with random_networks)."""
    parser.add_argument(
        "--connections",
        type=positive_int,
        nargs="+",
        required=required,
        help="random-architecture control: connection counts of the random networks",
    )
    parser.add_argument(
        "--num_networks", type=positive_int, default=20, help="random networks per connection count"
    )


def add_retraining_options(
    parser: argparse.ArgumentParser, seed_help: str = "seed of the random networks"
) -> None:
    """The options of the long training and the PNG resolution (shared with
    python -m evolearn.random_networks)."""
    parser.add_argument("--dpi", type=positive_int, default=150, help="resolution of the PNG files")
    parser.add_argument(
        "--epochs",
        type=positive_int,
        default=LONG_TRAINING_EPOCHS,
        help="epochs of the long training (the run's champion gets 10)",
    )
    parser.add_argument(
        "--num_workers", type=positive_int, default=1, help="worker processes for the training"
    )
    parser.add_argument(
        "--scheduler",
        type=scheduler_arg,
        default=None,
        help="train on a Dask cluster instead: local:N, tcp://HOST:PORT or a scheduler file",
    )
    parser.add_argument("--seed", type=int, default=0, help=seed_help)
    parser.add_argument(
        "--together",
        action="store_true",
        help="control: train the random networks of one connection count as one model on "
        "shared mini-batches (as evolution trains a generation; much faster on MNIST) instead "
        "of each alone in its own random order as the run's champion",
    )
    parser.add_argument("--data_dir", help="where MNIST is (default: each run's data_dir)")


def _parser() -> argparse.ArgumentParser:
    parser = ToolParser(
        prog="python -m evolearn.plot",
        description="Figures and tables of runs: evolution, architecture, drawings, and "
        "(with --connections, --curves) the random-architecture control and learning curves.",
    )
    parser.add_argument("paths", nargs="+", help="run folders, or network JSON files to draw")
    parser.add_argument("--out", required=True, help="the folder for the figures and tables")
    parser.add_argument(
        "--sample",
        type=positive_int,
        default=figures.SAMPLE_PER_GENERATION,
        help="networks per generation in the evolution figure",
    )
    parser.add_argument(
        "--generation",
        type=positive_int,
        help="saved generation of the architecture table (default: each run's last saved)",
    )
    add_control_options(parser, required=False)
    parser.add_argument(
        "--curves",
        type=positive_int,
        nargs="+",
        metavar="GENERATION",
        help="learning curves of networks saved at these generations",
    )
    parser.add_argument(
        "--curve_networks",
        type=positive_int,
        default=5,
        help="networks per generation in the learning curves (the best by reward)",
    )
    add_retraining_options(
        parser,
        "seed of the random networks, and the environment seed of a Hebbian champion's "
        "episode (hebbian-weights)",
    )
    return parser


# --- pieces shared with python -m evolearn.random_networks ---------------------------------


def open_paths(paths: Sequence[str]) -> tuple[list[RunFolder], list[Path]]:
    """The run folders and the network files among ``paths`` (UserError for anything else)."""
    runs, files = [], []
    for text in paths:
        path = Path(text)
        if path.is_file() and path.suffix == ".json":
            files.append(path)
        elif path.is_dir():
            runs.append(RunFolder.open(path))
        else:
            raise UserError(f"{path} is neither a run folder nor a network JSON file")
    names = [run.name for run in runs]
    if len(set(names)) != len(names):
        raise UserError(f"two run folders have the same name ({names}); rename one")
    return runs, files


def wlnn_runs(runs: Sequence[RunFolder], what: str) -> list[RunFolder]:
    chosen = [run for run in runs if run.kind == WLNN]
    if not chosen:
        raise UserError(f"{what} needs run-wlnn-mnist.py runs; none of the folders is one")
    return chosen


class Datasets:
    """Each run's dataset and worker pool, loaded once per (dataset, data_dir)."""

    def __init__(self, num_workers: int, data_dir: str | None, scheduler: str | None = None):
        self.num_workers, self.data_dir, self.scheduler = num_workers, data_dir, scheduler
        self._pools: dict = {}

    def pool(self, run: RunFolder):
        from evolearn.data import load_dataset
        from evolearn.experiment.workers import open_pool

        data_dir = self.data_dir or run.params.get("data_dir")
        key = (run.params["dataset"], data_dir)
        if key not in self._pools:
            dataset = load_dataset(run.params["dataset"], data_dir, progress=False)
            self._pools[key] = open_pool(
                self.num_workers, dataset.arrays(), print, scheduler=self.scheduler
            )
        return self._pools[key]

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        for pool in self._pools.values():
            pool.close()


def control_table(
    runs: Sequence[RunFolder],
    connections: Sequence[int],
    num_networks: int,
    seed: int,
    epochs: int,
    datasets: Datasets,
    together: bool = False,
    networks: dict[str, dict[int, list[Genome]]] | None = None,
) -> pd.DataFrame:
    """The random networks of each run (kind "random") and the run's tested champions (kind
    "champion": the long-training test accuracy of every test of the run). ``networks``: run
    name -> the random networks of :func:`control_networks` (built here when not given)."""
    if networks is None:
        networks = control_networks(runs, connections, num_networks, seed)
    rows = []
    for run in runs:
        start = time.perf_counter()
        trained = train_random_networks(
            datasets.pool(run),
            run.params,
            connections,
            num_networks,
            seed,
            epochs,
            together=together,
            networks=networks[run.name],
        )
        rows += [
            {"kind": "random", "run": run.name, "rule": run.rule, "epochs": epochs, **r}
            for r in trained
        ]
        for _, test in run.champion_tests().iterrows():
            rows.append(
                {
                    "kind": "champion",
                    "run": run.name,
                    "rule": run.rule,
                    "epochs": LONG_TRAINING_EPOCHS,
                    "generation": int(test["generation"]),
                    "connections": int(test["champion_connections"]),
                    "test_acc": float(test["champion_test_acc"]),
                }
            )
        print(
            f"{run.name}: {len(trained)} random networks trained for {epochs} epochs in "
            f"{time.perf_counter() - start:.1f} s"
        )
    columns = ["kind", "run", "rule", "epochs", "generation", "target_connections", "index"]
    columns += ["connections", "neurons", "layers", "test_acc"]
    integers = [
        "epochs",
        "generation",
        "target_connections",
        "index",
        "connections",
        "neurons",
        "layers",
    ]
    return pd.DataFrame(rows, columns=columns).astype(dict.fromkeys(integers, "Int64"))


def control_networks(
    runs: Sequence[RunFolder], connections: Sequence[int], num_networks: int, seed: int
) -> dict[str, dict[int, list[Genome]]]:
    """Run name -> count -> the control's random networks of the run; a ParamError naming
    the run for a count below the size its networks start with (built before anything is
    written or trained)."""
    return {
        run.name: random_networks(
            run.params, connections, num_networks, seed, who=f"run {run.path}"
        )
        for run in runs
    }


def control_from_args(
    runs: Sequence[RunFolder], args: argparse.Namespace, datasets, networks=None
) -> pd.DataFrame:
    """:func:`control_table` with the options of :func:`add_control_options` and
    :func:`add_retraining_options` (both tools read them the same way)."""
    return control_table(
        runs,
        args.connections,
        args.num_networks,
        args.seed,
        args.epochs,
        datasets,
        args.together,
        networks,
    )


def write_control(table: pd.DataFrame, outputs: ToolOutputs, dpi: int = 150) -> list[Path]:
    table.to_csv(outputs.path("random_networks.csv"), index=False)
    figure = figures.control(table[table["kind"] == "random"], table[table["kind"] == "champion"])
    return [
        outputs.folder / "random_networks.csv",
        *figures.save(figure, outputs.path, "random_networks", dpi=dpi),
    ]


CONTROL_FILES = ("random_networks.csv", "random_networks.png", "random_networks.pdf")


# --- the rest of the figures ---------------------------------------------------------------


def architecture_table(runs: Sequence[RunFolder], generation: int | None):
    """(table rows, degrees of hidden neurons per run) of each run's saved population."""
    rows, degrees = [], {}
    for run in runs:
        saved = run.saved_generations()
        if not saved:
            raise UserError(f"{run.path} has no saved networks (networks/)")
        chosen = generation if generation is not None else saved[-1]
        genomes = [genome for genome, _ in run.networks(chosen)]
        stats = architecture.architecture_stats(genomes)
        rows.append(
            {
                "run": run.name,
                "kind": run.kind,
                "rule": run.rule or "",
                "generation": chosen,
                "networks": len(genomes),
                **stats,
            }
        )
        degrees[run.name] = figures.degree_panel(
            run, np.concatenate([architecture.degrees(g)[2] for g in genomes])
        )
    return pd.DataFrame(rows), degrees


def markdown_table(table: pd.DataFrame) -> str:
    """The architecture table as Markdown, each statistic as ``mean ± sd``."""
    header = ["run", "rule", "generation", "networks"] + [
        name.replace("_", " ") for name in architecture.STATS
    ]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for _, row in table.iterrows():
        cells = [
            row["run"],
            row["rule"] or row["kind"],
            str(row["generation"]),
            str(row["networks"]),
        ]
        cells += [
            f"{row[f'{name}_mean']:.1f} ± {row[f'{name}_std']:.1f}" for name in architecture.STATS
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def curves_table(
    runs: Sequence[RunFolder],
    generations: Sequence[int],
    per_generation: int,
    seed: int,
    epochs: int,
    datasets: Datasets,
) -> pd.DataFrame:
    rows = []
    for run in runs:
        start = time.perf_counter()
        chosen: list[tuple[int, int, Genome]] = []
        for generation in generations:
            networks = run.networks(generation)
            best = sorted(
                range(len(networks)),
                key=lambda i: -_finite(networks[i][1].get("reward", float("-inf"))),
            )[:per_generation]
            chosen += [
                (generation, int(networks[i][1].get("index", i)), networks[i][0]) for i in best
            ]
        accuracies = learning_curves(datasets.pool(run), run.params, chosen, seed, epochs)
        for (generation, index, _), curve in zip(chosen, accuracies, strict=True):
            for epoch, acc in enumerate(curve, start=1):
                rows.append(
                    {
                        "run": run.name,
                        "rule": run.rule,
                        "generation": generation,
                        "index": index,
                        "epoch": epoch,
                        "test_acc": acc,
                    }
                )
        print(
            f"{run.name}: {len(chosen)} networks retrained for {epochs} epochs in "
            f"{time.perf_counter() - start:.1f} s"
        )
    return pd.DataFrame(rows)


def _finite(value: float) -> float:
    """A saved score, or -inf for a failed network's (NaN or the loop's worst score)."""
    return value if np.isfinite(value) and value > WORST_SCORE else float("-inf")


def draw(
    genome: Genome, params: dict, title: str, outputs: ToolOutputs, name: str, dpi: int = 150
) -> list[Path]:
    names = task_names(params, genome.num_inputs, genome.num_outputs)
    return figures.save(
        draw_network(genome, names, title), outputs.path, name, ("svg", "png"), dpi=dpi
    )


def params_of_network(path: Path) -> dict:
    """The parameters of the run a network file lies in; none (a drawing without the task's
    names) for a file outside a run folder."""
    from evolearn.champion import locate

    try:
        return locate(path, None)[1]
    except UserError:
        print(f"{path}: not inside a run folder, drawn without the task's names")
        return {}


def harlow_trial_rows(runs: Sequence[RunFolder]) -> pd.DataFrame:
    """One row per run, generation and evaluation trial: the accuracy at that trial of the
    individuals the generation scored (the ``trial_accuracy/trial_NN`` scalars), at generation
    0 and at the quarters of the last generation the run logged."""
    rows = []
    for run in runs:
        scalars = run.scalars("trial_accuracy/")
        if not scalars:
            raise UserError(f"{run.path} logged no trial_accuracy scalars in tensorboard_summary")
        last = max(step for values in scalars.values() for step, _ in values)
        chosen = sorted({0, *(round(last * q / 4) for q in (1, 2, 3, 4))})
        for tag, values in scalars.items():
            trial = int(tag.rsplit("_", 1)[1])
            by_step = dict(values)
            rows += [
                {"run": run.name, "mode": figures.harlow_mode(run), "generation": g,
                 "trial": trial, "accuracy": by_step[g]}
                for g in chosen
                if g in by_step
            ]  # fmt: skip
    return pd.DataFrame(rows).sort_values(["mode", "run", "generation", "trial"])


def remove_earlier(outputs: ToolOutputs, keep: set[str]) -> ToolOutputs:
    """Remove the files an earlier call wrote into the output folder (as its record lists
    them) but those in ``keep``, say which, and return the folder's outputs anew. A file no
    evolearn tool wrote is never removed."""
    names = recorded(outputs.folder)
    if not names:
        return outputs
    removed = remove_recorded(outputs.folder, keep=frozenset(keep))
    files = [p for p in removed if p.relative_to(outputs.folder).as_posix() in names]
    if files:
        print(f"Removed {len(files)} files an earlier call wrote to {outputs.folder}:")
        for path in files:
            print(f"  {path}")
    return ToolOutputs(outputs.folder)


def main(argv: list[str]) -> None:
    args = _parser().parse_args(argv)
    runs, files = open_paths(args.paths)
    outputs = ToolOutputs(args.out)
    hebbian = [run for run in runs if run.kind == HEBBIAN]
    plastic = [run for run in hebbian if run.params["hebb_rule"] != "static"]
    harlow = [run for run in runs if run.kind == HARLOW]
    runs = [run for run in runs if run.kind not in (HEBBIAN, HARLOW)]  # the genome runs
    wlnn = [run for run in runs if run.kind == WLNN]
    wann = [run for run in runs if run.kind != WLNN]
    if args.connections:
        wlnn_runs(runs, "--connections")
    if args.generation is not None:
        for run in runs:
            if args.generation not in run.saved_generations():
                raise UserError(
                    f"--generation: {run.path} saved no networks of generation "
                    f"{args.generation} (saved: {run.saved_generations()})"
                )
    if args.curves:
        wlnn_runs(runs, "--curves")
        for run in wlnn:
            missing = sorted(set(args.curves) - set(run.saved_generations()))
            if missing:
                raise UserError(
                    f"--curves: {run.path} saved no networks of generation(s) {missing} "
                    f"(saved: {run.saved_generations()})"
                )
    # every name first, so that a file in the way stops the command before it writes
    planned = []
    if wlnn:
        planned += ["evolution.png", "evolution.pdf"]
    planned += [f"wann-evolution-{run.name}.{fmt}" for run in wann for fmt in ("png", "pdf")]
    if hebbian:
        planned += ["hebbian-evolution.png", "hebbian-evolution.pdf"]
    planned += [f"hebbian-weights-{r.name}.{fmt}" for r in plastic for fmt in ("png", "pdf")]
    if harlow:
        planned += ["harlow-evolution.png", "harlow-evolution.pdf"]
        planned += ["harlow-trials.png", "harlow-trials.pdf", "harlow-trials.csv"]
    if runs:
        planned += ["architecture.csv", "architecture.md", "degrees.png", "degrees.pdf"]
    planned += [f"drawings/champion-{r.name}.{fmt}" for r in runs for fmt in ("svg", "png")]
    planned += [f"drawings/{f.stem}.{fmt}" for f in files for fmt in ("svg", "png")]
    if args.connections:
        planned += list(CONTROL_FILES)
    if args.curves:
        planned += ["learning_curves.csv", "learning_curves.png", "learning_curves.pdf"]
    if len(set(planned)) != len(planned):
        twice = sorted({name for name in planned if planned.count(name) > 1})
        raise UserError(
            f"two of the paths would be drawn into the same file ({twice[0]}); "
            f"give them one at a time, with different --out folders"
        )
    outputs.claim(*planned)
    network_params = {f: params_of_network(f) for f in files}
    # the control's random networks next: a count they cannot have stops the command here
    networks = None
    if args.connections:
        networks = control_networks(wlnn, args.connections, args.num_networks, args.seed)

    # The pools first: a scheduler that cannot be reached stops the command before it writes.
    with Datasets(args.num_workers, args.data_dir, args.scheduler) as datasets:
        if args.connections or args.curves:
            for run in wlnn:
                datasets.pool(run)
        start = time.perf_counter()
        # the control may be python -m evolearn.random_networks's: kept when not made again
        outputs = remove_earlier(outputs, {*planned, *CONTROL_FILES})
        written: list[Path] = []

        def save(figure, name: str) -> None:
            written.extend(figures.save(figure, outputs.path, name, dpi=args.dpi))

        if wlnn:
            save(figures.wlnn_evolution(wlnn, args.sample, args.seed), "evolution")
        for run in wann:
            save(figures.wann_evolution(run), f"wann-evolution-{run.name}")
        if hebbian:
            save(figures.hebbian_evolution(hebbian), "hebbian-evolution")
        for run in plastic:
            from evolearn.hebbian.search import trace_saved

            rewards, changes = trace_saved(run.path / "champion.npz", run.params, args.seed)
            save(figures.hebbian_weights(run, rewards, changes, args.seed),
                 f"hebbian-weights-{run.name}")  # fmt: skip
        if harlow:
            save(figures.harlow_evolution(harlow), "harlow-evolution")
            trials = harlow_trial_rows(harlow)
            trials.to_csv(outputs.path("harlow-trials.csv"), index=False)
            written.append(outputs.folder / "harlow-trials.csv")
            save(figures.harlow_trials(trials), "harlow-trials")
        if runs:
            table, degrees = architecture_table(runs, args.generation)
            table.to_csv(outputs.path("architecture.csv"), index=False)
            outputs.path("architecture.md").write_text(markdown_table(table))
            written += [outputs.folder / "architecture.csv", outputs.folder / "architecture.md"]
            save(figures.degree_histograms(degrees), "degrees")
        for run in runs:
            champion = load_genome(run.path / "champion.json")
            title = f"champion of {run.label}"
            written += draw(
                champion, run.params, title, outputs, f"drawings/champion-{run.name}", args.dpi
            )
        for path in files:
            name = f"drawings/{path.stem}"
            written += draw(
                load_genome(path), network_params[path], str(path), outputs, name, args.dpi
            )
        if args.connections or args.curves:
            print(f"{len(written)} files without retraining in {time.perf_counter() - start:.1f} s")
        if args.connections:
            table = control_from_args(wlnn, args, datasets, networks)
            written += write_control(table, outputs, args.dpi)
        if args.curves:
            curves = curves_table(
                wlnn, args.curves, args.curve_networks, args.seed, args.epochs, datasets
            )
            curves.to_csv(outputs.path("learning_curves.csv"), index=False)
            written.append(outputs.folder / "learning_curves.csv")
            num_epochs = {run.name: int(run.params["num_epochs"]) for run in wlnn}
            save(figures.learning_curves(curves, num_epochs), "learning_curves")
        seconds = time.perf_counter() - start
        print(f"Wrote {len(written)} files to {outputs.folder} in {seconds:.1f} s:")
        for path in written:
            print(f"  {path}")


if __name__ == "__main__":
    main_wrapper(main)
