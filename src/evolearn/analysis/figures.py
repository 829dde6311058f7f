"""The figures of the thesis's analysis, as matplotlib figures.

Each function returns a :class:`matplotlib.figure.Figure` made outside pyplot (no display, no
backend chosen, nothing changed in a notebook's matplotlib); :func:`save` writes it as PNG and
PDF. Colours follow the learning rules (:data:`~evolearn.analysis.runs.RULE_COLOURS`).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NamedTuple

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from evolearn.analysis.runs import (
    HEBBIAN,
    RULE_COLOURS,
    RULE_LABELS,
    WANN_CLASSIFICATION,
    WLNN,
    RunFolder,
)

#: Networks per generation the evolution figure draws (the thesis: 18 of 180).
SAMPLE_PER_GENERATION = 18


def rule_colour(rule: str | None, fallback: int = 0) -> str:
    return RULE_COLOURS.get(rule, f"C{4 + fallback % 6}")


def rule_label(rule: str | None) -> str:
    return RULE_LABELS.get(rule, str(rule))


def save(
    figure,
    path_for: Callable[[str], Path],
    name: str,
    formats: Sequence[str] = ("png", "pdf"),
    dpi: int = 150,
) -> list[Path]:
    """Write ``figure`` as ``name.<format>`` for each format at ``path_for(file name)`` (for
    example :meth:`evolearn.experiment.outputs.ToolOutputs.path`), and close it."""
    paths = []
    for fmt in formats:
        path = path_for(f"{name}.{fmt}")
        # SVG text stays text (searchable, editable), not outlines
        with matplotlib.rc_context({"svg.fonttype": "none"}):
            figure.savefig(path, dpi=dpi if fmt == "png" else None, bbox_inches="tight")
        paths.append(path)
    return paths


def sample_rows(population: pd.DataFrame, per_generation: int, seed) -> pd.DataFrame:
    """``per_generation`` random rows of each generation (all of a smaller generation)."""
    rng = np.random.default_rng(seed)
    keys = rng.random(len(population))
    ranked = population.assign(_key=keys).sort_values(["generation", "_key"])
    return ranked.groupby("generation", sort=True).head(per_generation).drop(columns="_key")


def wlnn_evolution(
    runs: Sequence[RunFolder], per_generation: int = SAMPLE_PER_GENERATION, seed: int = 0
):
    """Training accuracy (left) and connections (right) of ``per_generation`` random networks
    of every generation, one colour per learning rule, the runs overlaid (the thesis's
    evolution figure). Failed networks (no accuracy) are left out of the left panel."""
    figure, (acc_axes, con_axes) = _subplots(1, 2, figsize=(11, 4), sharex=True)
    labelled = set()
    drawn, every = set(), True  # networks drawn per generation; whether each was all of it
    for number, run in enumerate(runs):
        # seeded by the run's name: its points do not depend on the order of the runs
        population = run.population
        rows = sample_rows(population, per_generation, [seed, zlib.crc32(run.name.encode())])
        sizes = population.groupby("generation").size()
        counts = rows.groupby("generation").size()
        drawn.update(counts.tolist())
        every = every and counts.equals(sizes)
        colour = rule_colour(run.rule, number)
        label = rule_label(run.rule)
        kwargs = {"s": 3, "alpha": 0.35, "color": colour, "linewidths": 0, "rasterized": True}
        ok = rows[rows["acc"].notna()]
        legend = label if label not in labelled else None
        labelled.add(label)
        acc_axes.scatter(ok["generation"], 100 * ok["acc"], label=legend, **kwargs)
        con_axes.scatter(rows["generation"], rows["connections"], label=legend, **kwargs)
    acc_axes.set_xlabel("generation")
    acc_axes.set_ylabel("training accuracy (%)")
    con_axes.set_xlabel("generation")
    con_axes.set_ylabel("connections")
    for axes in (acc_axes, con_axes):
        axes.grid(alpha=0.3)
    legend = acc_axes.legend(title="learning rule", markerscale=4, loc="lower right")
    for handle in legend.legend_handles:
        handle.set_alpha(1)
    figure.suptitle(f"Evolution: {_sample_words(drawn, every)} per generation")
    figure.tight_layout()
    return figure


def _sample_words(drawn: set[int], every: bool) -> str:
    """How many networks of each generation the evolution figure shows, in words."""
    if not drawn:
        return "no networks"
    low, high = min(drawn), max(drawn)
    count = str(low) if low == high else f"{low} to {high}"
    return f"all {count} networks" if every else f"{count} random networks"


def wann_evolution(run: RunFolder):
    """Best and champion mean and max score per generation, and the champion's tests (the
    accuracy for classification, the return for environments)."""
    summary = run.summary
    score = "acc" if run.kind == WANN_CLASSIFICATION else "reward"
    name = "accuracy" if score == "acc" else "return"
    figure, axes = _subplots(figsize=(7, 4))

    # acc_at_max_reward is the accuracy at the weight value of the best reward
    top = "max_reward" if score == "reward" else "acc_at_max_reward"

    def at_best(who: str) -> str:
        return f"{who} max {name}" if score == "reward" else f"{who}: {name} at its best weight"

    lines = [
        (f"best_mean_{score}", f"best mean {name}", "C0", "-"),
        (f"best_{top}", at_best("best"), "C0", ":"),
        (f"champion_mean_{score}", f"champion mean {name}", "C1", "-"),
        (f"champion_{top}", at_best("champion"), "C1", ":"),
    ]
    for column, label, colour, style in lines:
        axes.plot(summary["generation"], summary[column], style, color=colour, label=label)
    tests = run.champion_tests()
    for column, label, marker in (
        (f"champion_test_mean_{score}", f"champion test mean {name}", "o"),
        (f"champion_test_{top}", at_best("champion test"), "^"),
    ):
        if column in tests:
            axes.plot(tests["generation"], tests[column], marker, color="C3", label=label, ms=5)
    axes.set_xlabel("generation")
    axes.set_ylabel(
        f"{name} (mean over the shared weight values, and at the best one)"
        if score == "acc"
        else f"{name} (mean / max over the shared weight values)"
    )
    axes.set_title(run.label)
    axes.grid(alpha=0.3)
    axes.legend(fontsize="small")
    figure.tight_layout()
    return figure


def hebbian_evolution(runs: Sequence[RunFolder]):
    """run-hebbian-gym.py runs side by side (an evolved rule against the static baseline, say):
    per generation the population's mean return and the champion's return, one colour per
    run; one panel per environment."""
    environments = sorted({run.params["env_name"] for run in runs})
    figure, axes = _subplots(
        1, len(environments), figsize=(6 * len(environments), 4), squeeze=False
    )
    for panel, env_name in zip(axes[0], environments, strict=True):
        mine = [run for run in runs if run.params["env_name"] == env_name]
        for index, run in enumerate(mine):
            summary, colour = run.summary, f"C{index % 10}"
            generation = summary["generation"]
            panel.plot(generation, summary["mean_reward"], ":", color=colour,
                       label=f"{run.label}: population mean")  # fmt: skip
            panel.plot(generation, summary["champion_reward"], "-", color=colour,
                       label=f"{run.label}: champion")  # fmt: skip
        panel.set_title(env_name)
        panel.set_xlabel("generation")
        panel.set_ylabel("return (champion: mean of its 10 scoring episodes)")
        panel.grid(alpha=0.3)
        panel.legend(fontsize="small")
    figure.tight_layout()
    return figure


def hebbian_weights(run: RunFolder, rewards: np.ndarray, changes: np.ndarray, seed: int):
    """One episode of a Hebbian champion from fresh random weights: the mean absolute change of
    each plastic layer's weights at every step (log scale), and the return so far."""
    if run.kind != HEBBIAN:
        raise ValueError(f"{run.path} is not a run-hebbian-gym.py run")
    figure, (top, bottom) = _subplots(2, 1, figsize=(7, 6), sharex=True)
    steps = np.arange(1, len(rewards) + 1)
    for layer in range(changes.shape[1]):
        shown = changes[:, layer] > 0  # the last step updates nothing
        top.plot(steps[shown], changes[shown, layer], color=f"C{layer}", lw=1,
                 label=f"layer {layer + 1}")  # fmt: skip
    top.set_yscale("log")
    top.set_ylabel("mean |weight change| per step")
    top.legend(fontsize="small")
    top.grid(alpha=0.3)
    bottom.plot(steps, np.cumsum(rewards), color="C3")
    bottom.set_ylabel("return so far")
    bottom.set_xlabel("environment step")
    bottom.grid(alpha=0.3)
    top.set_title(f"champion of {run.label}: one episode, environment seed {seed}")
    figure.tight_layout()
    return figure


def control(random_rows: pd.DataFrame, champion_rows: pd.DataFrame):
    """The random-architecture control: test accuracy against connections, one panel per
    rule; random networks as small dots with their mean and a one-standard-deviation band
    over each connection count, the evolved champions (long training, every test of the
    run) as large dots."""
    rules = list(dict.fromkeys([*random_rows["rule"], *champion_rows["rule"]]))
    figure, panels = _subplots(
        1, len(rules), figsize=(4.2 * len(rules), 3.8), sharey=True, squeeze=False
    )
    for number, (rule, axes) in enumerate(zip(rules, panels[0], strict=True)):
        colour = rule_colour(rule, number)
        random = random_rows[random_rows["rule"] == rule]
        if len(random):
            axes.scatter(
                random["connections"],
                100 * random["test_acc"],
                s=8,
                color="0.45",
                label="random networks",
            )
            by_count = random.groupby("target_connections")
            stats = pd.DataFrame(
                {
                    "connections": by_count["connections"].mean(),
                    "mean": 100 * by_count["test_acc"].mean(),
                    "std": 100 * by_count["test_acc"].std(ddof=0),
                }
            ).sort_values("connections")
            axes.plot(stats["connections"], stats["mean"], color="0.2", label="random: mean")
            axes.fill_between(
                stats["connections"],
                stats["mean"] - stats["std"],
                stats["mean"] + stats["std"],
                color="0.6",
                alpha=0.3,
                label="random: mean ± 1 sd",
            )
        champions = champion_rows[champion_rows["rule"] == rule]
        if len(champions):
            axes.scatter(
                champions["connections"],
                100 * champions["test_acc"],
                s=45,
                color=colour,
                edgecolors="black",
                linewidths=0.5,
                label="evolved champions",
                zorder=3,
            )
        axes.set_title(rule_label(rule))
        axes.set_xlabel("connections")
        axes.grid(alpha=0.3)
        axes.legend(fontsize="small", loc="best")
    epochs = sorted(set(random_rows.get("epochs", pd.Series(dtype=int)).dropna().astype(int)))
    trained = f"{epochs[0]} epochs" if len(epochs) == 1 else "long training"
    panels[0][0].set_ylabel(f"test accuracy after {trained} (%)")
    figure.tight_layout()
    return figure


def learning_curves(curves: pd.DataFrame, num_epochs: dict[str, int]):
    """Test accuracy after each epoch of the long training, a grid of runs (rows) by saved
    generations (columns); one line per network, a vertical line at the run's ``num_epochs``
    (what evolution trained each network for)."""
    runs = list(dict.fromkeys(curves["run"]))
    generations = sorted(set(curves["generation"]))
    figure, grid = _subplots(
        len(runs),
        len(generations),
        figsize=(3.2 * len(generations), 2.6 * len(runs)),
        sharex=True,
        sharey=True,
        squeeze=False,
    )
    for row, run in enumerate(runs):
        of_run = curves[curves["run"] == run]
        rule = of_run["rule"].iloc[0]
        for column, generation in enumerate(generations):
            axes = grid[row][column]
            of_generation = of_run[of_run["generation"] == generation]
            for _, network in of_generation.groupby("index"):
                axes.plot(
                    network["epoch"],
                    100 * network["test_acc"],
                    color=rule_colour(rule, row),
                    alpha=0.7,
                    lw=1,
                )
            axes.axvline(num_epochs[run], color="black", ls="--", lw=0.8)
            axes.grid(alpha=0.3)
            if row == 0:
                axes.set_title(f"generation {generation}")
            if row == len(runs) - 1:
                axes.set_xlabel("epoch")
            if column == 0:
                axes.set_ylabel(f"{rule_label(rule)}\ntest accuracy (%)")
    figure.tight_layout()
    return figure


class DegreePanel(NamedTuple):
    """One panel of :func:`degree_histograms`: the degrees of hidden neurons of one run."""

    heading: str  #: the first line of the title: the learning rule, or "WANN" and the task
    kind: str  #: panels of one kind share their y axis (their counts have one scale)
    values: np.ndarray
    rule: str | None = None  #: the colour's learning rule


def degree_panel(run: RunFolder, values: np.ndarray) -> DegreePanel:
    """The panel of ``run``: headed by its learning rule (WLNN) or its task (WANN)."""
    if run.kind == WLNN:
        return DegreePanel(rule_label(run.rule), run.kind, values, run.rule)
    task = run.params.get("env_name") or run.params.get("dataset") or run.kind
    return DegreePanel(f"WANN {task}", run.kind, values)


def degree_histograms(degrees: dict[str, DegreePanel]):
    """Histogram of the degrees of hidden neurons of a population, one panel per run
    (``degrees``: run name -> its panel). Panels of one kind of run share their y axis; a
    WANN run's few hidden neurons get an axis of their own, not the scale of a WLNN run's
    thousands."""
    names = list(degrees)
    figure, panels = _subplots(1, len(names), figsize=(3.6 * len(names), 3.2), squeeze=False)
    first_of_kind: dict[str, object] = {}
    for number, (name, axes) in enumerate(zip(names, panels[0], strict=True)):
        panel = degrees[name]
        values = panel.values
        top = int(values.max()) if len(values) else 1
        axes.hist(values, bins=np.arange(0.5, top + 1.5), color=rule_colour(panel.rule, number))
        axes.set_title(f"{panel.heading}\n{name}", fontsize="medium")
        axes.set_xlabel("degree of a hidden neuron")
        axes.yaxis.set_major_locator(MaxNLocator(integer=True))  # counts of neurons
        axes.grid(alpha=0.3)
        if panel.kind in first_of_kind:
            axes.sharey(first_of_kind[panel.kind])
        else:
            first_of_kind[panel.kind] = axes
            axes.set_ylabel("hidden neurons")
    figure.tight_layout()
    return figure


#: The colour of each inheritance mode of run-harlow-baldwin.py (and of its no-learning control).
INHERITANCE_COLOURS = {"baldwinian": "C0", "lamarckian": "C1", "no learning": "C7"}


def harlow_mode(run: RunFolder) -> str:
    """How the Harlow figures group a run: its inheritance, or "no learning" (the control of
    ``num_gradient_steps: 0``)."""
    return (
        "no learning" if int(run.params["num_gradient_steps"]) == 0 else run.params["inheritance"]
    )


def harlow_evolution(runs: Sequence[RunFolder]):
    """run-harlow-baldwin.py runs side by side: per generation the population's mean score
    and the best score of the generation's children, one colour per inheritance mode (the
    no-learning control grey), one line per run."""
    figure, (mean_axes, best_axes) = _subplots(1, 2, figsize=(12, 4.5))
    labelled: set[str] = set()
    for run in runs:
        mode, summary = harlow_mode(run), run.summary
        colour = INHERITANCE_COLOURS[mode]
        label = None if mode in labelled else mode
        labelled.add(mode)
        mean_axes.plot(summary["generation"], summary["mean_score"], color=colour, alpha=0.8,
                       linewidth=1, label=label)  # fmt: skip
        best_axes.plot(summary["generation"], summary["best_score"], color=colour, alpha=0.5,
                       linewidth=0.6, label=label)  # fmt: skip
    top = max(
        int(run.params["num_tasks"]) * int(run.params["num_evaluation_trials"]) for run in runs
    )
    for axes, title in ((mean_axes, "population mean score"), (best_axes, "best child's score")):
        axes.set_title(f"{title} ({len(runs)} runs)")
        axes.set_xlabel("generation")
        axes.set_ylabel(f"score (sum over the new problems, at most {top})")
        axes.grid(alpha=0.3)
        axes.legend(fontsize="small")
    figure.tight_layout()
    return figure


def harlow_trials(rows: pd.DataFrame):
    """The accuracy at each evaluation trial of a new problem (x) at a few generations, over
    the individuals each generation scored (generation 0: the newborns; later: the children),
    one panel per inheritance mode, one line per generation, averaged over the mode's runs;
    ``rows``: mode, generation, trial, accuracy (one row per run, generation and trial)."""
    modes = [m for m in INHERITANCE_COLOURS if m in set(rows["mode"])]
    figure, axes = _subplots(1, len(modes), figsize=(5 * len(modes), 4), squeeze=False)
    for panel, mode in zip(axes[0], modes, strict=True):
        mine = rows[rows["mode"] == mode]
        generations = sorted(set(mine["generation"]))
        for index, generation in enumerate(generations):
            curve = mine[mine["generation"] == generation].groupby("trial")["accuracy"].mean()
            shade = 0.25 + 0.75 * index / max(1, len(generations) - 1)
            panel.plot(curve.index, curve.values, "o-", markersize=3,
                       color=matplotlib.colormaps["viridis"](1 - shade),
                       label=f"generation {generation}")  # fmt: skip
        runs = mine.groupby("generation")["run"].nunique().max()
        panel.set_title(f"{mode} ({runs} runs)")
        _accuracy_per_trial(panel, "evaluation trial of a new problem",
                            "accuracy of the generation's scored individuals")  # fmt: skip
    figure.tight_layout()
    return figure


def _accuracy_per_trial(axes, xlabel: str, ylabel: str) -> None:
    """The frame of an accuracy-per-trial panel: integer trials, accuracy from 0 to 1."""
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    axes.set_ylim(0, 1.02)
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.grid(alpha=0.3)
    axes.legend(fontsize="small")


def newbie_vs_experienced(newbie, experienced, title: str):
    """The tutorial's comparison: a box plot of the per-problem scores of newborn agents and of
    the evolved learner, and their accuracy at each evaluation trial (``newbie``,
    ``experienced``: :class:`evolearn.harlow.evaluation.Outcome`)."""
    figure, (box_axes, trial_axes) = _subplots(1, 2, figsize=(11, 4.2))
    names = ["newbie", "experienced"]
    parts = box_axes.boxplot([newbie.scores, experienced.scores], tick_labels=names)
    for name, median in zip(names, parts["medians"], strict=True):
        median.set_gid(f"median-{name}")  # found by name (tests, a reader of the SVG)
    box_axes.set_ylabel("score on a new problem (+1 right, -1 wrong per trial)")
    box_axes.set_title(f"{title}: {len(newbie.scores)} new problems")
    box_axes.grid(alpha=0.3)
    trials = np.arange(1, len(newbie.trial_accuracy) + 1)
    trial_axes.plot(trials, newbie.trial_accuracy, "o-", color="C7", label="newbie")
    trial_axes.plot(trials, experienced.trial_accuracy, "o-", color="C0", label="experienced")
    trial_axes.axhline(0.5, color="k", linewidth=0.6, linestyle=":", label="chance")
    _accuracy_per_trial(trial_axes, "evaluation trial", "accuracy over the problems")
    figure.tight_layout()
    return figure


def _subplots(*args, figsize, **kwargs):
    """A figure and its axes, like ``pyplot.subplots`` but outside pyplot: no backend, no
    global figure list (a notebook's own matplotlib settings stay as they are)."""
    figure = Figure(figsize=figsize)
    return figure, figure.subplots(*args, **kwargs)
