"""Plant the bugs a reviewer once planted in the learning rules and the loop, one at a time in
a copy of the repository, and check that the test suite catches each.

    python benchmarks/planted_bugs.py            # every bug, with the tests that must catch it
    python benchmarks/planted_bugs.py --all-fast # each bug against the whole fast suite
    python benchmarks/planted_bugs.py --only tie feedback  # the bugs whose names hold a word

Each bug is a small text change of one source file, or a few changes (of one or more files)
that make one bug together. For each, the script copies the
repository to a temporary folder, applies the change, runs pytest there (the copy's ``src``
first on ``PYTHONPATH``, so scripts and worker processes use the planted code too) and reports
whether at least one test failed. Exit status 1 if a bug survived.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: train_population's epochs, and the same epochs drawing new feedback weights after each.
FEEDBACK_EPOCHS = "    epochs = [trainer.train_epoch(x, y, order) for order in batch_orders]\n"
FEEDBACK_REDRAWN = (
    "    epochs = []\n"
    "    for order in batch_orders:\n"
    "        epochs.append(trainer.train_epoch(x, y, order))\n"
    "        if population.feedback is not None:\n"
    "            population.set_feedback(\n"
    "                [draw_feedback_weights(g, b) for g, b in zip(genomes, feedback_generators)]\n"
    "            )\n"
)

#: (name, file, original text, planted text, tests that must catch it); a bug of several
#: changes gives file, original and planted as tuples of one length (change i: file[i],
#: original[i] -> planted[i]).
BUGS = [
    (
        "Oja's rule as mean(y) * mean(x), per-network path",
        "src/evolearn/wlnn/network.py",
        "self.w_hidden += lr * ((y * x).mean(0) - (y * y).mean(0) * self.w_hidden)",
        "self.w_hidden += lr * (y.mean(0) * x.mean(0) - (y * y).mean(0) * self.w_hidden)",
        ["tests/wlnn/test_learning_by_hand.py"],
    ),
    (
        "Oja's rule as mean(y) * mean(x), population path",
        "src/evolearn/wlnn/graph.py",
        "yx.index_copy_(0, index, (y * x_src[:k]).mean(1))",
        "yx.index_copy_(0, index, y.mean(1) * x_src[:k].mean(1))",
        ["tests/wlnn/test_learning_by_hand.py"],
    ),
    (
        "feedback alignment through W between hidden layers, per-network path",
        "src/evolearn/wlnn/network.py",
        "feedback = self.feedback_out if is_output else self.feedback_hidden",
        "feedback = self.feedback_out if is_output else None",
        ["tests/wlnn/test_learning_by_hand.py"],
    ),
    (
        "feedback alignment through W between hidden layers, population path",
        "src/evolearn/wlnn/graph.py",
        "down_weights = down.index_select(0, st.weight_index[lo:hi])",
        "down_weights = (w_all if st.output_targets else down).index_select("
        "0, st.weight_index[lo:hi])",
        ["tests/wlnn/test_learning_by_hand.py"],
    ),
    (
        "Lamarckian inheritance switched off in the generation loop",
        "src/evolearn/wlnn/evolution.py",
        "        if not self.params.inherit_weights:\n            return population",
        "        if True:\n            return population",
        ["tests/wlnn/test_evolution.py", "-m", "not slow"],
    ),
    (
        "TrainConfig.from_params ignoring evaluation_period",
        "src/evolearn/wlnn/learning.py",
        "                values[f.name] = params[f.name]\n",
        '                values[f.name] = "last_epoch" if f.name == "evaluation_period" else '
        "params[f.name]\n",
        ["tests/wlnn/test_evolution.py", "-m", "not slow"],
    ),
    # the analysis (python -m evolearn.plot, python -m evolearn.random_networks)
    (
        "degree of a hidden neuron counting only its inputs",
        "src/evolearn/analysis/architecture.py",
        "return into[receiving], out_of[sending], into[hidden] + out_of[hidden]",
        "return into[receiving], out_of[sending], into[hidden]",
        ["tests/analysis/test_architecture.py"],
    ),
    (
        "random networks grown one mutation past the connections asked for",
        "src/evolearn/analysis/retraining.py",
        "while genome.num_connections < min_connections:",
        "while genome.num_connections <= min_connections:",
        ["tests/analysis/test_retraining.py", "-m", "not slow"],
    ),
    (
        "the control's band from the sample standard deviation",
        "src/evolearn/analysis/figures.py",
        'by_count["test_acc"].std(ddof=0)',
        'by_count["test_acc"].std()',
        ["tests/analysis/test_figures.py", "-k", "control"],
    ),
    (
        "the long training tested before each epoch instead of after",
        "src/evolearn/analysis/retraining.py",
        "        trainer.train_epoch(x, y)\n"
        "        accuracies.append(model.evaluate(x_test, y_test, batch_size_eval)[1])",
        "        accuracies.append(model.evaluate(x_test, y_test, batch_size_eval)[1])\n"
        "        trainer.train_epoch(x, y)",
        ["tests/analysis/test_retraining.py", "-k", "champion"],
    ),
    (
        "the population table keeping a failed network's worst score",
        "src/evolearn/experiment/reporting.py",
        'if v[index] > failed_below else ""',
        'if v[index] >= failed_below else ""',
        ["tests/experiment/test_reporting.py"],
    ),
    (
        "resume keeping the population rows of the generation after the checkpoint",
        "src/evolearn/experiment/reporting.py",
        "if _first_generation(text) <= generation",
        "if _first_generation(text) <= generation + 1",
        ["tests/experiment/test_reporting.py"],
    ),
    # the WANN paper's conventions and its champion files
    (
        "outputs forced linear whatever their activation",
        "src/evolearn/wann/network.py",
        "        acts[g.num_inputs :] = g.activations[g.num_inputs :]",
        "        first = g.num_inputs + g.num_outputs\n"
        "        acts[first:] = g.activations[first:]",
        ["tests/wann/test_network.py", "-k", "bias"],
    ),
    (
        "the bias neuron's value 0 instead of 1",
        "src/evolearn/wann/network.py",
        "np.concatenate([np.ones((*x.shape[:-1], 1), dtype=x.dtype), x], axis=-1)",
        "np.concatenate([np.zeros((*x.shape[:-1], 1), dtype=x.dtype), x], axis=-1)",
        ["tests/wann/test_network.py", "-k", "bias"],
    ),
    (
        "a release file's rows read as destinations",
        "src/evolearn/network_io.py",
        "src, dst = np.nonzero(np.isfinite(values) & (values != 0))",
        "dst, src = np.nonzero(np.isfinite(values) & (values != 0))",
        ["tests/test_network_io.py", "-k", "release"],
    ),
    (
        "the release's activation ids one off (3 read as cosine)",
        "src/evolearn/network_io.py",
        '    3: "sine",\n    4: "gaussian",',
        '    3: "cosine",\n    4: "gaussian",',
        ["tests/test_network_io.py", "-k", "release"],
    ),
    (
        "Gymnasium environments reused across networks (BipedalWalker keeps state)",
        "src/evolearn/wann/gym.py",
        "    envs = [make_env(env_name) for _ in range(len(weights) * len(seeds))]\n"
        "    try:\n        return run_episodes(compiled, envs, weights, seeds, **options)\n"
        "    finally:\n        for env in envs:\n            env.close()",
        "    reused = globals().setdefault('_REUSED', {})\n"
        "    key = (env_name, len(weights) * len(seeds))\n"
        "    envs = reused.setdefault(key, [make_env(env_name) for _ in range(key[1])])\n"
        "    return run_episodes(compiled, envs, weights, seeds, **options)",
        ["tests/wann/test_population.py", "-k", "bipedal"],
    ),
    (
        "Dask tasks keep torch at the worker's OMP_NUM_THREADS=1",
        "src/evolearn/experiment/cluster.py",
        "        torch.set_num_threads(threads)\n    return fn(",
        "        pass\n    return fn(",
        ["tests/experiment/test_cluster.py", "-k", "cores"],
    ),
    (
        "Dask worker deaths not counted in failures/worker_restarts",
        "src/evolearn/experiment/cluster.py",
        "            self.restarts += len(lost)",
        "            self.restarts += 0",
        ["tests/experiment/test_cluster.py", "-k", "killed_mid_call"],
    ),
    # the champion rule on equal scores (CartPole-v1 ties at 500 all the time)
    (
        "the generation's best that ties the champion checked again (WANN) and made champion",
        "src/evolearn/search/generations.py",
        "not scores[key][best] > self.champion.scores[key]",
        "not scores[key][best] >= self.champion.scores[key]",
        ["tests/search/test_champion_update.py", "-k", "wann"],
    ),
    (
        "a WANN best whose check (16 trials, whole training set) ties the champion made champion",
        "src/evolearn/search/generations.py",
        "not candidate[key] > self.champion.scores[key]",
        "not candidate[key] >= self.champion.scores[key]",
        ["tests/search/test_champion_update.py", "-k", "wann"],
    ),
    (
        "a WLNN network whose reward ties the champion made champion (both comparisons >=)",
        ("src/evolearn/search/generations.py", "src/evolearn/search/generations.py"),
        (
            "not scores[key][best] > self.champion.scores[key]",
            "not candidate[key] > self.champion.scores[key]",
        ),
        (
            "not scores[key][best] >= self.champion.scores[key]",
            "not candidate[key] >= self.champion.scores[key]",
        ),
        ["tests/search/test_champion_update.py", "-k", "wlnn"],
    ),
    # feedback alignment's B: drawn once, fixed for every epoch
    (
        "feedback matrices drawn again every epoch, per-network path",
        ("src/evolearn/wlnn/learning.py", "src/evolearn/wlnn/learning.py"),
        (
            "            model.draw_feedback(feedback_generator)\n        self.oja",
            "            accs[i] = acc\n        return losses.numpy(), accs.numpy()",
        ),
        (
            "            model.draw_feedback(feedback_generator)\n"
            "        self._feedback_generator = feedback_generator\n        self.oja",
            "            accs[i] = acc\n        if self.model.feedback_out is not None:\n"
            "            self.model.draw_feedback(self._feedback_generator)\n"
            "        return losses.numpy(), accs.numpy()",
        ),
        ["tests/wlnn/test_feedback_fixed.py", "-k", "reference"],
    ),
    (
        "feedback matrices drawn again every epoch, population path",
        "src/evolearn/wlnn/population.py",
        FEEDBACK_EPOCHS,
        FEEDBACK_REDRAWN,
        ["tests/wlnn/test_feedback_fixed.py", "-k", "population"],
    ),
    (
        "feedback matrices drawn again every epoch, in both paths (so both still agree)",
        (
            "src/evolearn/wlnn/learning.py",
            "src/evolearn/wlnn/learning.py",
            "src/evolearn/wlnn/population.py",
        ),
        (
            "            model.draw_feedback(feedback_generator)\n        self.oja",
            "            accs[i] = acc\n        return losses.numpy(), accs.numpy()",
            FEEDBACK_EPOCHS,
        ),
        (
            "            model.draw_feedback(feedback_generator)\n"
            "        self._feedback_generator = feedback_generator\n        self.oja",
            "            accs[i] = acc\n        if self.model.feedback_out is not None:\n"
            "            self.model.draw_feedback(self._feedback_generator)\n"
            "        return losses.numpy(), accs.numpy()",
            FEEDBACK_REDRAWN,
        ),
        ["tests/wlnn/test_feedback_fixed.py"],
    ),
    # a failed (diverged) network's worst score
    (
        "a failed network's worst score +1e30 (finite, but the best of all)",
        "src/evolearn/search/generations.py",
        "WORST_SCORE = -1e30",
        "WORST_SCORE = 1e30",
        ["tests/search/test_failed_networks.py"],
    ),
    (
        "a failed network ranked by its complexity (spared when it has the fewest connections)",
        "src/evolearn/search/loop.py",
        "        return np.where(failed[:, None], WORST_SCORE, objectives)",
        "        return objectives",
        ["tests/search/test_failed_networks.py"],
    ),
    # one training must not leak into the next
    (
        "optimizer state carried from one train_population call to the next",
        ("src/evolearn/wlnn/population.py", "src/evolearn/wlnn/population.py"),
        ("    trainer = PopulationTrainer(population, config)\n", FEEDBACK_EPOCHS),
        (
            "    trainer = PopulationTrainer(population, config)\n"
            "    kept = globals().setdefault('_KEPT_STATE', {})\n"
            "    key = (config.optimizer, population.w_hidden.shape, population.w_out.shape)\n"
            "    if key in kept:\n"
            "        trainer.optimizer.load_state_dict(kept[key])\n",
            FEEDBACK_EPOCHS + "    kept[key] = trainer.optimizer.state_dict()\n",
        ),
        ["tests/wlnn/test_repeated_training.py", "-k", "population"],
    ),
    (
        "the ES step divided by half the population instead of all of it",
        "src/evolearn/search/es.py",
        "gradient = (r[: es.half] - r[es.half :]) @ noise / es.popsize",
        "gradient = (r[: es.half] - r[es.half :]) @ noise / es.half",
        ["tests/search/test_es.py"],
    ),
    (
        "the ES's L2 term over the whole vector, not only the coefficients",
        "src/evolearn/search/es.py",
        "part = candidates(state, noise)[:, : es.penalised]",
        "part = candidates(state, noise)",
        ["tests/search/test_es.py"],
    ),
    (
        "the ES's lr decaying once more at its floor",
        "src/evolearn/search/es.py",
        "lr = state.lr * es.lr_decay if state.lr > es.lr_floor else state.lr",
        "lr = state.lr * es.lr_decay if state.lr >= es.lr_floor else state.lr",
        ["tests/search/test_es.py"],
    ),
    (
        "ABCD_lr's eta and D swapped",
        "src/evolearn/hebbian/rules.py",
        '"ABCD_lr": ("A", "B", "C", "eta", "D"),',
        '"ABCD_lr": ("A", "B", "C", "D", "eta"),',
        ["tests/hebbian/test_rules.py"],
    ),
    (
        "the fused Hebbian step forgetting the normalisation factor",
        "src/evolearn/hebbian/fused.py",
        "row[j] = row[j] * s + ai[j] * (x * y[j])",
        "row[j] = row[j] + ai[j] * (x * y[j])",
        ["tests/hebbian/test_rules.py"],
    ),
    (
        "the fused Hebbian step's B term on the postsynaptic activity",
        "src/evolearn/hebbian/fused.py",
        "+ bi[j] * x + ci[j] * y[j] + di[j]",
        "+ bi[j] * y[j] + ci[j] * y[j] + di[j]",
        ["tests/hebbian/test_rules.py"],
    ),
    (
        "the Hebbian update seeing the next observation as its presynaptic activity",
        "src/evolearn/hebbian/episodes.py",
        "observations = observations.copy()  # activities[0] is this step's: the pre",
        "pass",
        ["tests/hebbian/test_episodes.py"],
    ),
    (
        "episode weights drawn by a candidate's place in its chunk, not its index",
        "src/evolearn/hebbian/search.py",
        "    candidate = task.indices[i]\n",
        "    candidate = i\n",
        ["tests/hebbian/test_script.py"],
    ),
    (
        "the ant's negative progress counted from its first step, not after step 200",
        "src/evolearn/hebbian/tasks.py",
        "            if before <= ANT_GRACE_STEPS:\n                return False\n",
        "            if before <= ANT_GRACE_STEPS and terminated:\n                return False\n",
        ["tests/hebbian/test_tasks.py"],
    ),
    (
        "the ant without its 40 zero-action steps",
        "src/evolearn/hebbian/tasks.py",
        "ANT_BURN_IN = 40",
        "ANT_BURN_IN = 0",
        ["tests/hebbian/test_tasks.py"],
    ),
    (
        "the ant scored by Gymnasium's reward, not its progress along x",
        "src/evolearn/hebbian/tasks.py",
        '            reward = float(info["x_velocity"]) * env.unwrapped.dt\n',
        "",
        ["tests/hebbian/test_tasks.py"],
    ),
    (
        "the damaged left body shortening the front right leg",
        "src/evolearn/envs/ant.py",
        '"damaged_left": "left_ankle_geom",',
        '"damaged_left": "right_ankle_geom",',
        ["tests/hebbian/test_tasks.py"],
    ),
    (
        "a resume's tensorboard file named as the killed run's when it starts in the same second",
        "src/evolearn/experiment/run.py",
        '    return f".{count:04d}"\n',
        '    return ""\n',
        ["tests/experiment/test_run.py"],
    ),
    (
        "the pixel front's pooling taking the smallest value",
        "src/evolearn/hebbian/pixels.py",
        "if q > m or q != q:",
        "if q < m or q != q:",
        ["tests/hebbian/test_tasks.py"],
    ),
    (
        "the pixel front's convolution without its stride",
        "src/evolearn/hebbian/pixels.py",
        "row[xx * stride + dj]",
        "row[xx + dj]",
        ["tests/hebbian/test_tasks.py"],
    ),
    (
        "a candidate's episodes on its second body drawing the next candidate's weights",
        "src/evolearn/hebbian/search.py",
        "    per_candidate = len(task.seeds) * len(task.morphologies)\n",
        "    per_candidate = len(task.seeds)\n",
        ["tests/hebbian/test_tasks.py"],
    ),
    (
        "the traced weight changes measured from the episode's first weights",
        "src/evolearn/hebbian/episodes.py",
        "        before = [np.array(w, dtype=np.float64) for w in after]\n",
        "",
        ["tests/analysis/test_hebbian.py"],
    ),
    (
        "Ctrl-C raised at once outside an evaluation",
        "src/evolearn/search/generations.py",
        "            if self._interruptible:\n",
        "            if True:\n",
        ["tests/search/test_interrupts.py"],
    ),
    (
        "the course's clipping: every hyperparameter clipped to the discount factor's range",
        "src/evolearn/harlow/genetics.py",
        "hyper[j] = min(max(value, mutation.low[j]), mutation.high[j])",
        "hyper[j] = min(max(value, mutation.low[1]), mutation.high[1])",
        ["tests/harlow/test_learner.py"],
    ),
    (
        "the course's aliasing: a child's noise added in place to its parent's arrays",
        "src/evolearn/harlow/genetics.py",
        "params[name] = (params[name] + noise).astype(np.float32)",
        "params[name] += noise.astype(np.float32)",
        ["tests/harlow/test_learner.py"],
    ),
    (
        "RMSprop's eps inside the square root",
        "src/evolearn/harlow/lifetime.py",
        "grad / (square.sqrt() + RMSPROP_EPS)",
        "grad / (square + RMSPROP_EPS).sqrt()",
        ["tests/harlow/test_learner.py"],
    ),
    (
        "returns discounted once too often (Q_t = gamma (r_t + Q_t+1))",
        "src/evolearn/harlow/lifetime.py",
        "q = rewards[t] + gamma * q",
        "q = gamma * (rewards[t] + q)",
        ["tests/harlow/test_learner.py"],
    ),
    (
        "the Harlow environment's sides drawn before the choice is judged",
        "src/evolearn/envs/harlow.py",
        "        correct = bool(self.state[action] == self.rewarded)\n        self._draw_sides()\n",
        "        self._draw_sides()\n        correct = bool(self.state[action] == self.rewarded)\n",
        ["tests/harlow/test_learner.py"],
    ),
    (
        "Lamarckian runs passing the initial weights on",
        "src/evolearn/harlow/search.py",
        'if self.params.inheritance == "lamarckian":\n            return np.stack',
        'if self.params.inheritance == "lamarck":\n            return np.stack',
        ["tests/harlow/test_script.py"],
    ),
    (
        "the newbies learning with the champion's hyperparameters",
        "src/evolearn/harlow/evaluation.py",
        "initial = np.tile(np.array(INITIAL_HYPERPARAMETERS), (n, 1))",
        "initial = hyper",
        ["tests/harlow/test_analysis.py"],
    ),
]


def copy_repository(destination: Path) -> None:
    for name in ("src", "tests", "params", "benchmarks", "pyproject.toml"):
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(
                source, destination / name, ignore=shutil.ignore_patterns("__pycache__")
            )
        else:
            shutil.copy2(source, destination / name)
    for script in ROOT.glob("run-*.py"):
        shutil.copy2(script, destination / script.name)


def run_with_bug(bug, pytest_args: list[str]) -> tuple[bool, str]:
    _, paths, originals, planted_texts, _ = bug
    if isinstance(paths, str):
        paths, originals, planted_texts = (paths,), (originals,), (planted_texts,)
    with tempfile.TemporaryDirectory(prefix="evolearn-planted-") as folder:
        copy = Path(folder)
        copy_repository(copy)
        for path, original, planted in zip(paths, originals, planted_texts, strict=True):
            source = copy / path
            text = source.read_text()
            if text.count(original) != 1:
                return False, f"the original text of {path} was not found once: update this script"
            source.write_text(text.replace(original, planted))
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(copy / "src")])}
        result = subprocess.run(
            # -n 0: in one process (with pytest-xdist's workers, -x ends in exit code 2,
            # "Interrupted", and a caught bug read as one that survived)
            [
                sys.executable,
                "-m",
                "pytest",
                "-q",
                "-x",
                "-n",
                "0",
                "-p",
                "no:cacheprovider",
                *pytest_args,
            ],
            cwd=copy,
            env=env,
            capture_output=True,
            text=True,
        )
        failed = [line for line in result.stdout.splitlines() if line.startswith("FAILED")]
        return result.returncode == 1, (failed[0] if failed else result.stdout.strip()[-300:])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--all-fast", action="store_true", help="run the whole fast suite")
    parser.add_argument(
        "--only",
        nargs="+",
        metavar="WORD",
        help="plant only the bugs whose names contain one of these words (case ignored)",
    )
    args = parser.parse_args()
    bugs = BUGS
    if args.only:
        words = [w.lower() for w in args.only]
        unmatched = [w for w in words if not any(w in bug[0].lower() for bug in BUGS)]
        if unmatched:
            parser.error(f"--only: no bug's name contains {', '.join(map(repr, unmatched))}")
        bugs = [bug for bug in BUGS if any(w in bug[0].lower() for w in words)]
    survived = 0
    for bug in bugs:
        tests = ["tests", "-m", "not slow"] if args.all_fast else bug[4]
        caught, detail = run_with_bug(bug, tests)
        survived += not caught
        print(f"{'caught  ' if caught else 'SURVIVED'} {bug[0]}\n         {detail}")
    return 1 if survived else 0


if __name__ == "__main__":
    sys.exit(main())
