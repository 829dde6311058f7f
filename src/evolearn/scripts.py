"""The toolkit's scripts: each ``run-*.py`` at the repository root and the module that holds
its :class:`~evolearn.experiment.parsing.ScriptSpec` (``SPEC``) and its ``main``.

A new script adds its line here; the Options page (``docs/options.md``) and the tests that
hold the documentation to the code read the scripts from this table.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from evolearn.experiment.parsing import ScriptSpec

#: script file name -> the module with its SPEC and main, in the order the docs present them.
SCRIPT_MODULES: dict[str, str] = {
    "run-wlnn-mnist.py": "evolearn.wlnn.evolution",
    "run-wann-gym.py": "evolearn.wann.gym",
    "run-wann-classification.py": "evolearn.wann.classification",
    "run-wlnn-mnist-no-evolution.py": "evolearn.wlnn.baseline",
    "run-hebbian-gym.py": "evolearn.hebbian.search",
    "run-harlow-baldwin.py": "evolearn.harlow.search",
}


def script_specs() -> dict[str, ScriptSpec]:
    """script file name -> its ScriptSpec (importing the scripts' modules)."""
    return {name: importlib.import_module(module).SPEC for name, module in SCRIPT_MODULES.items()}
