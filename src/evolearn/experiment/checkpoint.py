"""Checkpoints of an evolution run: everything needed to continue it.

A checkpoint is written after a complete generation: the next population (with its weights),
the champion and the generation number. No
random generator state is needed: every random decision of a run derives from (seed,
generation, purpose, index) (see :mod:`evolearn.streams`).

Writing is atomic: the checkpoint goes to a temporary file that is flushed to disk and then
renamed over the previous one, so a crash during a write leaves the previous checkpoint intact.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path

from evolearn.errors import ParamError, UserError
from evolearn.experiment.parsing import Params

CHECKPOINT_FILE = "checkpoint.pkl"
FORMAT_VERSION = 1

#: Classes a checkpoint of this format names by where they lived before the package was
#: split into subpackages (evolearn 0.1.0 as first released): a checkpoint written then loads.
MOVED_CLASSES = {
    ("evolearn.evolution_loop", "Champion"): ("evolearn.search.loop", "Champion"),
}


class _Unpickler(pickle.Unpickler):
    """Reads a checkpoint, finding the classes that have moved since it was written."""

    def find_class(self, module: str, name: str):
        module, name = MOVED_CLASSES.get((module, name), (module, name))
        return super().find_class(module, name)


#: Parameters that may differ between a run and its resumption.
MAY_CHANGE_ON_RESUME = frozenset(
    {
        "num_workers",
        "use_cuda",
        "checkpoint_every",
        "resume",
        "out_dir",
        "overwrite_output",
        "num_generations",
        "data_dir",
    }
)


def save_checkpoint(out_dir: Path, state: dict) -> Path:
    """Write ``state`` to ``out_dir/checkpoint.pkl`` atomically."""
    path = Path(out_dir) / CHECKPOINT_FILE
    tmp = path.with_name(path.name + ".tmp")
    try:
        with open(tmp, "wb") as f:
            pickle.dump({"format_version": FORMAT_VERSION, **state}, f, protocol=4)
            f.flush()
            os.fsync(f.fileno())
    except OSError as err:  # a full disk: keep the previous checkpoint, drop the partial one
        tmp.unlink(missing_ok=True)
        raise OSError(err.errno, err.strerror, str(tmp)) from None
    os.replace(tmp, path)
    return path


def load_checkpoint(out_dir: Path, params: Params) -> dict:
    """The checkpoint of ``out_dir``, checked against the script and parameters given.

    Raises :class:`UserError` when it is missing or damaged, :class:`ParamError` when it was
    written by another script or with other parameters.
    """
    path = Path(out_dir) / CHECKPOINT_FILE
    if not path.is_file():
        raise UserError(
            f"resume: {path} does not exist; a run writes its checkpoint after its first "
            f"complete generation (every --checkpoint_every generations)."
        )
    try:
        with open(path, "rb") as f:
            state = _Unpickler(f).load()
        if not isinstance(state, dict) or "format_version" not in state:
            raise ValueError("unknown checkpoint format")
    except Exception as err:  # any unpickling failure means a damaged file
        raise UserError(
            f"resume: the checkpoint {path} is damaged and cannot be read ({type(err).__name__}: "
            f"{err}); the run cannot continue from it."
        ) from None
    if state["format_version"] != FORMAT_VERSION:
        raise UserError(
            f"resume: the checkpoint {path} has format version {state['format_version']!r}; "
            f"this version of evolearn reads checkpoints of format version {FORMAT_VERSION} "
            f"only. Continue the run with the version of evolearn that wrote it."
        )
    if state.get("script") != params.script:
        raise ParamError(
            f"resume: the checkpoint in {out_dir} was written by {state.get('script')}, not by "
            f"{params.script}."
        )
    saved = state.get("params", {})
    given = params.to_dict()
    differ = sorted(
        key
        for key in set(saved) | set(given)
        if key not in MAY_CHANGE_ON_RESUME and saved.get(key) != given.get(key)
    )
    if differ:
        details = ", ".join(
            f"{k}: {saved.get(k)!r} in the run, {given.get(k)!r} now" for k in differ
        )
        raise ParamError(
            f"resume: the parameters do not fit the checkpoint in {out_dir} ({details}). Give "
            f"the run's own parameter file ({Path(out_dir) / 'params.yaml'}); only "
            f"{', '.join(sorted(MAY_CHANGE_ON_RESUME))} may change."
        )
    return state
