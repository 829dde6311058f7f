"""The layering rule: the pure layers import nothing of the run and CLI layer, and importing
them changes no process-wide state.

The pure layers are the shared core (genome, activations, losses, streams, errors), ranking,
reproduction and the evolution strategy, the network and population modules of the families
(the Hebbian rules, networks and episodes included), and the environments. They
may import numpy, scipy, torch, gymnasium and numba, and each other; not :mod:`evolearn.experiment`
(parsing, run folders, reporting, checkpoints, workers, CLI), not the script modules, not the
data and file modules, and not tensorboardX, joblib, tqdm or yaml.
"""

import ast
import json
import subprocess
import sys

from conftest import REPO

SRC = REPO / "src"

PURE = (
    "evolearn.activations",
    "evolearn.errors",
    "evolearn.genome",
    "evolearn.losses",
    "evolearn.streams",
    "evolearn.search.ranking",
    "evolearn.search.reproduction",
    "evolearn.search.es",
    "evolearn.search.strategy",
    "evolearn.search.nsga2",
    "evolearn.wann.network",
    "evolearn.wann.population",
    "evolearn.wlnn.network",
    "evolearn.wlnn.learning",
    "evolearn.wlnn.graph",
    "evolearn.wlnn.population",
    "evolearn.hebbian",
    "evolearn.hebbian.rules",
    "evolearn.hebbian.network",
    "evolearn.hebbian.fused",
    "evolearn.hebbian.tasks",
    "evolearn.hebbian.episodes",
    "evolearn.hebbian.pixels",
    "evolearn.envs.ant",
    "evolearn.envs",
    "evolearn.envs.cartpole_swingup",
    "evolearn.envs.harlow",
    "evolearn.harlow",
    "evolearn.harlow.agent",
    "evolearn.harlow.lifetime",
    "evolearn.harlow.genetics",
    "evolearn.harlow.evaluation",
    "evolearn.search",
    "evolearn.wann",
    "evolearn.wlnn",
    "evolearn.analysis",
    "evolearn.analysis.architecture",
)
#: Modules of the toolkit that no pure module may import.
NOT_PURE = (
    "evolearn.experiment",
    "evolearn.search.loop",
    "evolearn.search.generations",
    "evolearn.hebbian.search",
    "evolearn.harlow.search",
    "evolearn.wann.search",
    "evolearn.wann.classification",
    "evolearn.wann.gym",
    "evolearn.wann.protocol",
    "evolearn.wlnn.evolution",
    "evolearn.wlnn.baseline",
    "evolearn.champion",
    "evolearn.data",
    "evolearn.network_io",
    "evolearn.testing",
    "evolearn.scripts",
    "evolearn.analysis.runs",
    "evolearn.analysis.retraining",
    "evolearn.analysis.figures",
    "evolearn.analysis.drawing",
    "evolearn.plot",
    "evolearn.random_networks",
)
FORBIDDEN_THIRD_PARTY = ("tensorboardX", "joblib", "tqdm", "yaml")


def module_file(name: str):
    path = SRC.joinpath(*name.split("."))
    return path / "__init__.py" if path.is_dir() else path.with_suffix(".py")


def imported_modules(name: str) -> set[str]:
    """Every module ``name``'s source imports, at the top or inside a function."""
    tree = ast.parse(module_file(name).read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def is_within(module: str, packages) -> bool:
    return any(module == p or module.startswith(p + ".") for p in packages)


def test_every_module_is_either_pure_or_named_as_not_pure():
    modules = {
        ".".join(path.relative_to(SRC).with_suffix("").parts).removesuffix(".__init__")
        for path in (SRC / "evolearn").rglob("*.py")
    }
    unclassified = [
        m for m in modules if m != "evolearn" and m not in PURE and not is_within(m, NOT_PURE)
    ]
    assert not unclassified, f"add these modules to PURE or NOT_PURE: {unclassified}"


def test_the_pure_layers_import_nothing_of_the_run_and_cli_layer():
    for name in PURE:
        imports = imported_modules(name)
        wrong = sorted(m for m in imports if is_within(m, NOT_PURE + FORBIDDEN_THIRD_PARTY))
        assert not wrong, f"{name} imports {wrong}"
        impure = sorted(
            m
            for m in imports
            if m.startswith("evolearn.")
            and m not in PURE
            and not is_within(m, PURE)
            and m.rsplit(".", 1)[0] not in PURE
        )
        assert not impure, f"{name} imports {impure}, which is not a pure module"


STATE = r"""
import json, logging, os, signal, sys, threading, warnings
# The dependencies the pure layers may use come first: what importing them changes is theirs.
import gymnasium, numba, numpy as np, scipy.sparse, torch, torch.nn.functional

def state():
    return {
        "gymnasium environments": sorted(gymnasium.registry),
        "threading.excepthook": repr(threading.excepthook),
        "sys.excepthook": repr(sys.excepthook),
        "SIGINT": repr(signal.getsignal(signal.SIGINT)),
        "SIGTERM": repr(signal.getsignal(signal.SIGTERM)),
        "torch threads": torch.get_num_threads(),
        "torch seed": torch.initial_seed(),
        "torch default dtype": str(torch.get_default_dtype()),
        "numpy random": np.random.get_state()[1][:5].tolist(),
        "numpy errors": np.geterr(),
        "warning filters": len(warnings.filters),
        "root log handlers": len(logging.getLogger().handlers),
        "environment": sorted(os.environ.items()),
        "sys.path": list(sys.path),
        "cwd": os.getcwd(),
    }

before = state()
loaded_before = set(sys.modules)
import importlib
for name in sys.argv[1:]:
    importlib.import_module(name)
after = state()
print(json.dumps({
    "changed": {k: [before[k], after[k]] for k in before if before[k] != after[k]},
    "modules": sorted(set(sys.modules) - loaded_before),
}))
"""


def test_importing_the_pure_layers_changes_no_process_wide_state():
    result = subprocess.run(
        [sys.executable, "-c", STATE, *PURE], capture_output=True, text=True, check=True
    )
    report = json.loads(result.stdout)
    changed = report["changed"]
    # The one change on purpose: evolearn.envs registers the thesis's environment.
    before, after = changed.pop("gymnasium environments")
    assert set(after) - set(before) == {"CartPoleSwingUp-v0", "Harlow-v0"} and set(before) <= set(
        after
    )
    assert changed == {}
    # modules the pure layers brought in themselves, beyond what their dependencies load
    loaded = [m for m in report["modules"] if is_within(m, NOT_PURE + FORBIDDEN_THIRD_PARTY)]
    assert loaded == []


#: Modules whose runs compute with numpy (the WANN scripts without use_torch, the Hebbian
#: script, the champion tool on those runs): importing them must not import torch, which
#: costs each process about two seconds.
WITHOUT_TORCH = (
    "evolearn.wann.gym",
    "evolearn.wann.classification",
    "evolearn.wann.protocol",
    "evolearn.hebbian.search",
    "evolearn.champion",
    "evolearn.experiment.run",
    "evolearn.experiment.workers",
    "evolearn.experiment.cluster",
)

NO_TORCH = r"""
import sys, importlib
for name in sys.argv[1:]:
    importlib.import_module(name)
from evolearn.experiment.devices import limit_torch_threads, visible_cuda_devices
from evolearn.experiment.run import summary_writer_class
visible_cuda_devices()
summary_writer_class()  # tensorboardX imports torch where it can
print("torch" in sys.modules)
limit_torch_threads(1)  # torch not loaded: through OMP_NUM_THREADS
import torch
print(torch.get_num_threads())
limit_torch_threads(2)  # loaded: set at once
print(torch.get_num_threads())
"""


def test_numpy_runs_start_without_torch_and_a_late_torch_keeps_the_thread_limit():
    result = subprocess.run(
        [sys.executable, "-c", NO_TORCH, *WITHOUT_TORCH], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "1", "2"]
