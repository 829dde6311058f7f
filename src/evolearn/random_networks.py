"""The thesis's random-architecture control: are evolved architectures better learners than
random ones of the same size?

    python -m evolearn.random_networks RUN_DIR [RUN_DIR ...] --connections 200 250 300 \\
        --num_networks 20 --out FIGDIR [--num_workers 2] [--seed 0]

For each run-wlnn-mnist.py run and each connection count, ``--num_networks`` random networks
are built as evolution starts a network (the initial network, the add-node pass) and mutated
at random with the run's mutation probabilities until they have that many connections
(:mod:`evolearn.analysis.retraining`); an initial network already larger is drawn again, and
a count below what the run's networks start with is refused (with the smallest count possible)
before anything is trained. Each gets the champion's long training (10 epochs with the run's
learning rule, optimizer, learning rate and batch size) and is tested.

Writes ``random_networks.csv`` (one row per random network, and one per test of the run's
champion, its long-training test accuracy) and the figure ``random_networks`` (PNG, PDF):
test accuracy against connections, one panel per rule, the random networks as small dots
with their mean and a one-standard-deviation band, the champions as large dots. Seeded: the
same seed gives the same networks and numbers, whatever ``--num_workers``.
"""

from __future__ import annotations

import time

from evolearn.errors import UserError
from evolearn.experiment.cli import ToolParser, main_wrapper
from evolearn.experiment.outputs import ToolOutputs
from evolearn.plot import (
    CONTROL_FILES,
    Datasets,
    add_control_options,
    add_retraining_options,
    control_from_args,
    control_networks,
    open_paths,
    wlnn_runs,
    write_control,
)


def _parser():
    parser = ToolParser(
        prog="python -m evolearn.random_networks",
        description="Train random networks of given sizes as a run trains its champion, "
        "against the run's evolved champions.",
    )
    parser.add_argument("runs", nargs="+", help="run folders of run-wlnn-mnist.py")
    add_control_options(parser, required=True)
    parser.add_argument("--out", required=True, help="the folder for the table and the figure")
    add_retraining_options(parser)
    return parser


def main(argv: list[str]) -> None:
    args = _parser().parse_args(argv)
    runs, files = open_paths(args.runs)
    if files:
        raise UserError(f"{files[0]} is a network file; give run folders")
    runs = wlnn_runs(runs, "python -m evolearn.random_networks")
    outputs = ToolOutputs(args.out)
    outputs.claim(*CONTROL_FILES)
    start = time.perf_counter()
    # built first: a count the networks cannot have stops the command before the training
    networks = control_networks(runs, args.connections, args.num_networks, args.seed)
    with Datasets(args.num_workers, args.data_dir, args.scheduler) as datasets:
        table = control_from_args(runs, args, datasets, networks)
    written = write_control(table, outputs, args.dpi)
    print(f"Wrote {len(written)} files to {outputs.folder} in {time.perf_counter() - start:.1f} s:")
    for path in written:
        print(f"  {path}")


if __name__ == "__main__":
    main_wrapper(main)
