"""Mutation testing of the core modules: how many small planted bugs the fast tests catch.

    python benchmarks/mutation.py                 # run mutmut (cached in mutants/), then report
    python benchmarks/mutation.py --report-only   # report the results already in mutants/
    python benchmarks/mutation.py --rerun-survivors   # test the survivors again (new tests)

mutmut (configured in pyproject.toml, ``[tool.mutmut]``) makes one small change at a time in
the core modules (genome and mutations, activations, cross-entropy, ranking and reproduction,
the learning rules and the population trainer, the WANN forward passes, the evaluation
periods) and runs the fast tests
that cover the changed function; a change no test fails "survives". A first run takes about an
hour on 2 cores; later runs test only what changed (``rm -rf mutants`` starts afresh).

Some survivors cannot be told apart from the original by any test, or only by an error
message's wording. This script sorts them out by rules, each with its reason (EQUIVALENT
below), and reports

    score = killed / (killed + survived - equivalent)

with killed = mutants a test failed (or that hung past mutmut's timeout), and lists every
remaining survivor with its diff. Mutants of code no fast test runs ("no tests") are listed too.
"""

from __future__ import annotations

import argparse
import ast
import difflib
import json
import os
import re
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MUTANTS = ROOT / "mutants"


def _drops_argument(old: str, new: str, pattern: str) -> bool:
    """``new`` is ``old`` with one keyword argument matching ``pattern`` removed or None."""
    for match in re.finditer(pattern, old):
        arg = match.group(0)
        name = arg.split("=")[0]
        for replacement in ("", f"{name}=None"):
            for variant in (old.replace(arg, replacement), old.replace(", " + arg, replacement)):
                if re.sub(r"[\s,]", "", variant) == re.sub(r"[\s,]", "", new):
                    return True
    return False


def _drops_device(old: str, new: str) -> bool:
    """``new`` is ``old`` with a device argument (``device``, ``x.device``, ``device=...``)
    replaced by None or removed."""
    squeeze = lambda text: re.sub(r"[\s,]", "", text)  # noqa: E731
    for match in re.finditer(r"(device=)?[\w.]*device\b", old):
        arg = match.group(0)
        start, end = match.span()
        prefix = "device=" if arg.startswith("device=") else ""
        for replacement in ("", "None", prefix + "None"):
            if squeeze(old[:start] + replacement + old[end:]) == squeeze(new):
                return True
    return False


#: (name, reason, rule(old line, new line, in an error message) -> bool)
EQUIVALENT = [
    (
        "error message",
        "only the wording of an error message changes (the scientific result cannot); the "
        "parameter layer's messages are tested separately",
        lambda old, new, in_raise: in_raise,
    ),
    (
        "case of a numpy/float name",
        'numpy reads sort kinds and float() reads "inf" case-insensitively',
        lambda old, new, in_raise: (
            old != new
            and old.lower() == new.lower()
            and re.search(r'kind="|float\("', old) is not None
        ),
    ),
    (
        "copy flag",
        "astype(..., copy=...) changes only whether memory is shared, never a value",
        lambda old, new, in_raise: (
            _drops_argument(old, new, r"copy=False")
            or old.replace("copy=False", "copy=True") == new
        ),
    ),
    (
        "zip strict",
        "zip(strict=...) only raises on sequences of different lengths, which these are not",
        lambda old, new, in_raise: (
            _drops_argument(old, new, r"strict=True")
            or old.replace("strict=True", "strict=False") == new
        ),
    ),
    (
        "numpy default dtype",
        "the argument names numpy's default for these inputs (float64 for floats, int64 "
        "counts and indices on 64-bit Linux), so the numbers are the same",
        lambda old, new, in_raise: _drops_argument(
            old, new, r"dtype=(np\.)?(float64|float|int64|int32|bool)"
        ),
    ),
    (
        "device on the CPU",
        "the tests run on the CPU, the default device; the CUDA paths are tested where a GPU "
        "is lent (tests skipped here)",
        lambda old, new, in_raise: _drops_device(old, new),
    ),
    (
        "negative reshape size",
        "numpy treats any negative size in reshape as the one to infer, like -1",
        lambda old, new, in_raise: (
            "reshape(" in old
            and any(
                old[:i] + "-2" + old[i + 2 :] == new
                for i in range(len(old) - 1)
                if old.startswith("-1", i)
            )
        ),
    ),
]


#: Survivors reviewed one by one and found equivalent: (function, line before, line after,
#: why no test can tell them apart). Matched on the changed line, so they stay listed when
#: the line numbers move.
REVIEWED = [
    (
        "crowding_distance",
        "if num_points <= 2:",
        "if num_points < 2:",
        "with two points both are ends of the front and get an infinite distance either way",
    ),
    (
        "nondominated_fronts",
        "dominator_count[front] = -1",
        "*",
        "a sorted point must only never count 0 again; no later front dominates it, so any "
        "non-zero mark stays non-zero",
    ),
    (
        "nondominated_fronts",
        "num_points = dominates.shape[0]",
        "num_points = dominates.shape[1]",
        "the domination matrix is square",
    ),
    (
        "rank_by_dominance_reference",
        "for k in range(1, len(by_m) - 1):",
        "for k in range(len(by_m) - 1):",
        "the first point of the order is an end, whose infinite distance the loop skips",
    ),
    (
        "reproduce",
        "members = np.argpartition(keys, tournament_size - 1, axis=1)[:, :tournament_size]",
        "members = np.argpartition(keys, tournament_size - 1, )[:, :tournament_size]",
        "numpy's default axis is the last one, axis 1 of the 2-D keys",
    ),
    (
        "_FeedbackAlignmentMatmul",
        "grad_* = * if ctx.needs_input_grad[*] else None",
        "*",
        "computes a gradient autograd does not use, or skips one it never asks for: the "
        "activities need a gradient only when the weights below train, and then the "
        "weights above train too",
    ),
    (
        "cross_entropy_numpy",
        "num_top = np.zeros(top.shape, dtype=np.min_scalar_type(len(outputs)))",
        "*",
        "the tie counter counts up to the number of outputs in any integer or float type",
    ),
    (
        "cross_entropy_numpy",
        "*out=*",
        "*",
        "out= only reuses memory",
    ),
    (
        "cross_entropy_numpy",
        "unsure = (correct & (num_top > 1)) | np.isnan(top)",
        "*",
        "more answers are checked again by argmax, which gives the same answers (slower)",
    ),
    (
        "cross_entropy_numpy",
        "answers = np.moveaxis(logits, axis, -1)[unsure].argmax(-1)",
        "answers = np.moveaxis(logits, axis, -1)[unsure].argmax(+1)",
        "the selected logits are 2-D [answers, outputs]: axis 1 is the last axis",
    ),
    (
        "*",
        "*.astype(np.float64)*",
        "*.astype(None)*",
        "astype(None) is float64",
    ),
    (
        "evaluate_classification",
        "*values_per_row*",
        "*",
        "changes only how networks are grouped into passes (memory); a network's numbers do "
        "not depend on its group (tested bit for bit)",
    ),
    (
        "evaluate_classification",
        "for group in network_groups(genomes, values_per_row, MAX_ACTIVITY_VALUES):",
        "*",
        "changes only how networks are grouped into passes (memory); a network's numbers do "
        "not depend on its group (tested bit for bit)",
    ),
    (
        "network_groups",
        "if i > start and total + size > max_values:",
        "if i >= start and total + size > max_values:",
        "the group that would end before the first network is empty and dropped",
    ),
    (
        "swingup_returns",
        "start = np.stack([swingup_initial_state(np.random.default_rng(s), 1)[0] for s in seeds])",
        "*",
        "the first of two start states drawn from a fresh generator is the one state drawn",
    ),
    (
        "swingup_returns",
        "with _torch_threads(1) if use_torch else nullcontext():",
        "*",
        "the number of torch threads changes the speed of these small per-step passes, not "
        "their numbers (tested bit for bit against the numpy path's episodes)",
    ),
    (
        "swingup_returns",
        "running &= ~swingup_out_of_bounds(state)",
        "running = ~swingup_out_of_bounds(state)",
        "an ended episode keeps its last state, which stays out of bounds",
    ),
    # The weight learning networks: memory reuse, bookkeeping that no index reaches, and the
    # gradients autograd never asks for.
    (
        "*",
        "self.device = torch.device(device)",
        "self.device = None",
        "None stands for the CPU, where the tests run",
    ),
    (
        "*",
        "*zero_grad(set_to_none=True)",
        "*",
        "every step's backward pass sets a fresh gradient for every trained tensor, so zeroed "
        "and unset gradients give the same step",
    ),
    (
        "WLNNNetwork*__init__",
        "starts = np.searchsorted(g.layer[order], np.arange(g.num_layers + 1))",
        "*",
        "an extra layer start past the last layer is never read",
    ),
    (
        "WLNNNetwork*forward",
        "h = torch.cat([h, z if is_output else torch.relu(z)], dim=1)",
        "*",
        "the output layer is the last: its activities (relu or not) feed nothing, the "
        "logits are taken before",
    ),
    (
        "WLNNNetwork*__init__",
        "self.layers.append((rows, cols, first - h, last - h, shape))",
        "self.layers.append((rows, cols, first - h, last + h, shape))",
        "last - h is the end of the output weights; a slice past the end stops there too",
    ),
    (
        "WLNNNetwork*forward",
        "logits = None",
        "*",
        "the initial value is overwritten by the output layer",
    ),
    (
        "PopulationGraph*__init__",
        "from_input = s < num_inputs",
        "from_input = s <= num_inputs",
        "neuron num_inputs is the first output, which is never a source",
    ),
    (
        "PopulationGraph*__init__",
        "src = dst = weight_index = group = conn_stage = conn_index = np.zeros(0, np.int64)",
        "*np.zeros(0, *)",
        "the arrays of a population without connections are empty and never used as indices",
    ),
    (
        "PopulationGraph*__init__",
        "hidden_per_stage = np.bincount(stage[~is_output], minlength=num_stages + 1)",
        "*",
        "an extra count past the last stage is never read",
    ),
    (
        "PopulationGraph*__init__",
        "bounds = lo + np.searchsorted(group[lo:hi], np.arange(4))",
        "bounds = lo + np.searchsorted(group[lo:hi], np.arange(5))",
        "an extra group bound past the four groups is never read",
    ),
    (
        "PopulationGraph*_backward",
        "first = 0 if hidden_too else st.output_targets",
        "*",
        "computes hidden-weight gradients that autograd does not ask for (slower, same result)",
    ),
    (
        "PopulationGraph*_backward",
        "if hidden_too and st.num_hidden:",
        "if hidden_too or st.num_hidden:",
        "applies relu' to hidden errors that are not used when only output weights train",
    ),
    (
        "PopulationGraph*pack",
        "values = np.concatenate(parts) if parts else np.zeros(0)",
        "*",
        "a population has at least one network, so the list of parts is never empty",
    ),
    (
        "PopulationTrainer*train_epoch",
        "self.workspace,*",
        "*",
        "without the workspace every pass allocates its buffers anew (memory, not values)",
    ),
    (
        "PopulationTrainer*train_epoch",
        'loss, acc = losses_and_accuracies(logits, yb, "mean")',
        "loss, acc = losses_and_accuracies(logits, yb, )",
        'the default reduction is "mean"',
    ),
    (
        "Workspace*take",
        "*",
        "*",
        "the workspace only reuses memory: a larger or unkept buffer holds the same values",
    ),
    (
        "_PopulationPass*forward",
        "workspace = workspace if workspace is not None else Workspace(keep=False)",
        "*",
        "which workspace holds the buffers changes memory reuse, not values",
    ),
    (
        "_PopulationPass*forward",
        "if ctx.needs_input_grad[1] or ctx.needs_input_grad[2]:",
        "if ctx.needs_input_grad[2] or ctx.needs_input_grad[2]:",
        "the output weights always train, so needs_input_grad[2] alone decides",
    ),
    # More of the population trainer: buffers, broadcasting, gradients nobody asks for.
    (
        "PopulationGraph*",
        "* = workspace.take(*",
        "*",
        "only the name or size of a scratch buffer changes (memory reuse, not values)",
    ),
    (
        "PopulationGraph*forward",
        "return _PopulationPass.apply(x, w_hidden, w_out, self, feedback, saved, workspace)",
        "return _PopulationPass.apply(x, w_hidden, w_out, self, feedback, saved, None)",
        "without a workspace the pass allocates its buffers anew (memory, not values)",
    ),
    (
        "PopulationTrainer*__init__",
        "self.workspace = Workspace()",
        "self.workspace = None",
        "without a workspace every pass allocates its buffers anew (memory, not values)",
    ),
    (
        "Workspace*__init__",
        "*",
        "*",
        "whether buffers are kept changes memory reuse, not values",
    ),
    (
        "PopulationGraph*_backward",
        "if hi > lo:",
        "if hi >= lo:",
        "with hi == lo the skipped work is on empty tensors",
    ),
    (
        "_PopulationPass*backward",
        "grad_* = grad[*] if * else None",
        "*",
        "returns a gradient for a weight vector that does not train; autograd drops it",
    ),
    (
        "_PopulationPass*backward",
        "hidden_too = ctx.needs_input_grad[1]",
        "hidden_too = ctx.needs_input_grad[2]",
        "the output weights always train: computes hidden gradients autograd then drops",
    ),
    # Genomes and the WANN passes.
    (
        "change_activation",
        "allowed[(allowed.index(current) + shift) % len(allowed)]",
        "allowed[(allowed.index(current) - shift) % len(allowed)]",
        "a uniform shift of 1 .. n-1 backwards gives the same distribution over the other "
        "activations",
    ),
    (
        "initial_genome",
        "enabled = rng.random(len(candidates)) < p_connection",
        "enabled = rng.random(len(candidates)) <= p_connection",
        "differs only when a uniform draw equals p_connection exactly (probability ~2**-53)",
    ),
    (
        "torch_generator",
        "return torch.Generator().manual_seed(int(rng.integers(2**63 - 1)))",
        "return torch.Generator().manual_seed(int(rng.integers(2**63 - 2)))",
        "a seed drawn below 2**63 - 2 instead of 2**63 - 1: the same draw but for one value",
    ),
    (
        "WANNNetwork*__init__",
        "position = np.full(g.num_neurons, -1, dtype=np.int64)",
        "*",
        "the marker for inputs is never read: inputs enter through the input matrix",
    ),
    (
        "WANNNetwork*__init__",
        "from_input = src < g.num_inputs",
        "from_input = src <= g.num_inputs",
        "neuron num_inputs is the first output, which is never a source",
    ),
    (
        "WANNNetwork*__init__",
        'start = int(np.searchsorted(sorted_layers, l, side="left"))',
        "start = int(np.searchsorted(sorted_layers, l, ))",
        'side="left" is numpy\'s default',
    ),
    (
        "_csr",
        "return scipy.sparse.csr_matrix((data, cols.astype(np.int64), indptr), shape=shape)",
        "*",
        "scipy casts the column indices to its own index type",
    ),
]


def _match(text: str, pattern: str) -> bool:
    """``pattern`` with ``*`` for any text, every other character literal."""
    regex = ".*".join(re.escape(part) for part in pattern.split("*"))
    return re.fullmatch(regex, text) is not None


def _reviewed(mutant: str, old: str, new: str) -> str | None:
    """The reason a reviewed entry gives for this change of one line, or None."""
    function = mutant.rsplit(".", 1)[1].rsplit("__mutmut_", 1)[0]
    for name, before, after, reason in REVIEWED:
        if _match(function, f"*{name}*") and _match(old, before) and _match(new, after):
            return reason
    return None


def function_sources(path: Path) -> dict[str, tuple[list[str], list[tuple[int, int]]]]:
    """Mutated module -> {function name: (source lines, raise statement line spans)}."""
    tree = ast.parse(path.read_text())
    text = path.read_text().splitlines()
    found = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and "__mutmut_" in node.name:
            lines = text[node.lineno - 1 : node.end_lineno]
            spans = [
                (n.lineno - node.lineno, n.end_lineno - node.lineno)
                for n in ast.walk(node)
                if isinstance(n, ast.Raise)
            ]
            found[node.name] = (lines, spans)
    return found


def mutant_diff(functions, mutant: str) -> tuple[list[str], list[str], bool]:
    """(removed lines, added lines, all changes inside raise statements) of a mutant."""
    name = mutant.rsplit(".", 1)[1]
    base = name.rsplit("__mutmut_", 1)[0]
    orig, spans = functions[base + "__mutmut_orig"]
    mutated, _ = functions[name]
    mutated = [line.replace(name, base + "__mutmut_orig") for line in mutated]
    removed, added, in_raise = [], [], True
    matcher = difflib.SequenceMatcher(a=orig, b=mutated, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        removed += [line.strip() for line in orig[i1:i2]]
        added += [line.strip() for line in mutated[j1:j2]]
        changed = range(i1, max(i2, i1 + 1))
        if not all(any(a <= k <= b for a, b in spans) for k in changed):
            in_raise = False
    return removed, added, in_raise


def classify(
    mutant: str, removed: list[str], added: list[str], in_raise: bool
) -> tuple[str, str] | None:
    """(kind, reason) of an equivalent mutant, or None."""
    if not removed:
        return None
    if len(removed) != len(added):  # a change that joined lines: compare the statements
        removed, added = [" ".join(removed)], [" ".join(added)]
    reasons = [_reviewed(mutant, o, n) for o, n in zip(removed, added, strict=True)]
    if all(reasons):
        return "reviewed", reasons[0]
    for name, reason, rule in EQUIVALENT:
        if all(rule(o, n, in_raise) for o, n in zip(removed, added, strict=True)):
            return name, reason
    return None


def load_results() -> tuple[dict[str, tuple[str, str]], dict[str, dict]]:
    """mutant -> (status, mutated module), and each mutated module's functions."""
    from mutmut.stats import status_by_exit_code

    results, functions = {}, {}
    for meta in sorted(MUTANTS.glob("src/**/*.py.meta")):
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        module = meta.with_suffix("")
        functions[str(module)] = function_sources(module)
        for mutant, code in codes.items():
            results[mutant] = (status_by_exit_code[code], str(module))
    return results, functions


Diff = tuple[str, list[str], list[str]]  # mutant, removed lines, added lines


def survivors(results, functions) -> tuple[list[Diff], dict[str, list[tuple[Diff, str]]]]:
    """The surviving mutants that are not equivalent, and the equivalent ones by kind, each
    with its reason."""
    equivalent: dict[str, list[tuple[Diff, str]]] = defaultdict(list)
    remaining: list[Diff] = []
    for mutant, (status, module) in sorted(results.items()):
        if status != "survived":
            continue
        removed, added, in_raise = mutant_diff(functions[module], mutant)
        found = classify(mutant, removed, added, in_raise)
        if found:
            equivalent[found[0]].append(((mutant, removed, added), found[1]))
        else:
            remaining.append((mutant, removed, added))
    return remaining, equivalent


def report() -> int:
    results, functions = load_results()
    if not results:
        print("no mutmut results in mutants/: run without --report-only first")
        return 1
    by_status = Counter(status for status, _ in results.values())
    remaining, equivalent = survivors(results, functions)
    killed = by_status["killed"] + by_status["timeout"]
    num_equivalent = sum(len(v) for v in equivalent.values())
    counted = killed + by_status["survived"] - num_equivalent
    print(f"mutants: {len(results)}; " + ", ".join(f"{k} {v}" for k, v in by_status.items()))
    print(f"equivalent survivors: {num_equivalent}")
    for name, reason, _ in EQUIVALENT:
        if equivalent[name]:
            print(f"  {name}: {len(equivalent[name])} ({reason})")
    if equivalent["reviewed"]:
        print(f"  reviewed one by one: {len(equivalent['reviewed'])}")
        for (mutant, removed, added), why in equivalent["reviewed"]:
            before, after = " ".join(removed), " ".join(added)
            print(f"    {mutant}: {before}  ->  {after}\n      ({why})")
    print(f"remaining survivors: {len(remaining)}")
    per_module = Counter(m.split(".")[1] for m, _, _ in remaining)
    for module, count in sorted(per_module.items()):
        print(f"  {module}: {count}")
    if counted:
        print(
            f"mutation score: {killed} / {counted} = {killed / counted:.1%} of non-equivalent "
            f"mutants (plain mutmut score {killed / (killed + by_status['survived']):.1%})"
        )
    print("\nremaining survivors:")
    for mutant, removed, added in remaining:
        print(f"  {mutant}")
        for line in removed:
            print(f"    - {line}")
        for line in added:
            print(f"    + {line}")
    no_tests = sorted(m for m, (s, _) in results.items() if s == "no tests")
    if no_tests:
        print(f"\nmutants of code no fast test runs ({len(no_tests)}):")
        for mutant in no_tests:
            print(f"  {mutant}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--report-only", action="store_true", help="do not run mutmut")
    parser.add_argument(
        "--rerun-survivors", action="store_true", help="run mutmut again on the survivors only"
    )
    parser.add_argument("--max-children", type=int, default=2, help="parallel mutants")
    args = parser.parse_args()
    command = [sys.executable, "-m", "mutmut", "run", "--max-children", str(args.max_children)]
    # One torch thread per mutant: two mutants run at once on two cores.
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    if not args.report_only:  # new and changed code first
        subprocess.run(command, cwd=ROOT, check=False, env=env)
    if args.rerun_survivors:  # the timeouts too (a busy machine), and those without tests
        results, functions = load_results()
        again = [m for m, _, _ in survivors(results, functions)[0]] + [
            m for m, (s, _) in results.items() if s in ("timeout", "no tests")
        ]
        if again:
            subprocess.run(command + again, cwd=ROOT, check=False, env=env)
    return report()


if __name__ == "__main__":
    sys.exit(main())
