"""Checkpoints of an evolution run: everything needed to continue it, as data only.

A checkpoint is written after a complete generation: the next population (with its weights),
the champion and the generation number. No random generator state is needed: every random
decision of a run derives from (seed, generation, purpose, index) (see :mod:`evolearn.streams`).

The file, ``checkpoint.npz``, holds arrays and one JSON document, nothing that runs code when it
is read: run folders are shared (the thesis published its logs), and resuming or inspecting a
received folder must not execute what it holds. It is read with ``numpy.load(...,
allow_pickle=False)``. The networks (the population, then the champion) are a few arrays:
each genome field of all of them concatenated (``layer``, ``connections``, ``weights``,
``activations``) with each network's numbers of inputs, outputs, neurons and connections; the
entry ``meta`` is UTF-8 JSON (format, format version, script, parameters, generation, the
champion's generation, index and scores). The entry ``checksum`` is the SHA-256 of ``meta``
and of every array's name, dtype, shape and bytes, so that a damaged or altered file is
refused, not half read.

Writing is atomic: the checkpoint goes to a temporary file that is flushed to disk and then
renamed over the previous one, so a crash during a write leaves the previous checkpoint intact.

Format version 1 was a pickle (``checkpoint.pkl``, evolearn 0.1 before it split into
subpackages). It is never loaded: loading a pickle can run code from the file.
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from evolearn.errors import ParamError, UserError
from evolearn.genome import Genome, check_genome

CHECKPOINT_FILE = "checkpoint.npz"
#: Where a checkpoint is written before it is renamed over the previous one.
TEMPORARY_CHECKPOINT_FILE = CHECKPOINT_FILE + ".tmp"
#: The pickled checkpoint of format version 1, refused unread.
LEGACY_CHECKPOINT_FILE = "checkpoint.pkl"
FORMAT = "evolearn-checkpoint"
FORMAT_VERSION = 2

#: Parameters that may differ between a run and its resumption.
MAY_CHANGE_ON_RESUME = frozenset(
    {
        "num_workers",
        "scheduler",
        "use_cuda",
        "checkpoint_every",
        "save_every",
        "resume",
        "out_dir",
        "overwrite_output",
        "num_generations",
        "data_dir",
    }
)

#: Options added after checkpoint format 2, with the value that gives the behaviour of the
#: versions before them: a checkpoint without one resumes with that value.
ADDED_SINCE_FORMAT_2 = {
    "hidden_activations": "all",
    "bias_input": False,
    "output_activation": "linear",
}

_GENOME_DTYPES = {
    "layer": np.int64,
    "connections": np.int64,
    "weights": np.float32,
    "activations": np.int64,
}


class CheckpointError(UserError):
    """A checkpoint file that is damaged, truncated, altered or not a checkpoint."""


def _checksum(meta: bytes, arrays: Mapping[str, np.ndarray]) -> str:
    digest = hashlib.sha256(meta)
    for name in sorted(arrays):
        array = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}|{array.dtype.str}|{array.shape}|".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def _pack_genomes(genomes: list[Genome]) -> dict[str, np.ndarray]:
    """The genomes as a few arrays: each field of all genomes concatenated, with the numbers
    of neurons and connections of each genome, and which genomes have weights or
    activations (a WLNN or a WANN)."""
    has_weights = np.array([g.weights is not None for g in genomes], dtype=bool)
    has_activations = np.array([g.activations is not None for g in genomes], dtype=bool)

    def joined(values, dtype, width=None):
        empty = np.zeros((0,) if width is None else (0, width), dtype=dtype)
        return np.concatenate([empty, *[np.asarray(v, dtype=dtype) for v in values]])

    return {
        "inputs_outputs": np.array([(g.num_inputs, g.num_outputs) for g in genomes], np.int64),
        "num_neurons": np.array([g.num_neurons for g in genomes], dtype=np.int64),
        "num_connections": np.array([g.num_connections for g in genomes], dtype=np.int64),
        "has_weights": has_weights,
        "has_activations": has_activations,
        "layer": joined([g.layer for g in genomes], np.int64),
        "connections": joined([g.connections for g in genomes], np.int64, 2),
        "weights": joined([g.weights for g in genomes if g.weights is not None], np.float32),
        "activations": joined(
            [g.activations for g in genomes if g.activations is not None], np.int64
        ),
    }


def _unpack_genomes(arrays: Mapping[str, np.ndarray]) -> list[Genome]:
    for name in ("layer", "connections", "weights", "activations"):
        if arrays[name].dtype != _GENOME_DTYPES[name]:
            raise ValueError(f"{name} has dtype {arrays[name].dtype}")
    neurons, connections = arrays["num_neurons"], arrays["num_connections"]
    layers = np.split(arrays["layer"], np.cumsum(neurons)[:-1])
    links = np.split(arrays["connections"], np.cumsum(connections)[:-1])
    with_weights = connections[arrays["has_weights"]]
    weights = iter(np.split(arrays["weights"], np.cumsum(with_weights)[:-1]))
    with_activations = neurons[arrays["has_activations"]]
    activations = iter(np.split(arrays["activations"], np.cumsum(with_activations)[:-1]))
    genomes = []
    for i, (num_inputs, num_outputs) in enumerate(arrays["inputs_outputs"].tolist()):
        genome = Genome(
            num_inputs,
            num_outputs,
            layers[i],
            links[i],
            next(weights) if arrays["has_weights"][i] else None,
            next(activations) if arrays["has_activations"][i] else None,
        )
        check_genome(genome)
        genomes.append(genome)
    return genomes


def _plain(value: Any) -> Any:
    """A numpy scalar as the Python number JSON writes (parameters given through the API)."""
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"a checkpoint cannot hold {type(value).__name__} {value!r}")


def encode_state(state: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """The arrays of the checkpoint file of ``state``: script, params, generation, population
    and champion, as :meth:`~evolearn.search.generations.GenerationLoop.checkpoint_state` gives them
    (the champion: anything with a genome, generation, index and scores). The champion's
    genome is stored after the population's."""
    population = list(state.get("population", ()))
    champion = state["champion"]
    # An evolution strategy's champion is a vector of numbers, not a genome.
    vector = isinstance(champion.genome, np.ndarray)
    arrays = _pack_genomes(population if vector else [*population, champion.genome])
    if vector:
        arrays["champion_vector"] = np.asarray(champion.genome)
    strategy = state.get("strategy")
    for name, array in (strategy or {}).get("arrays", {}).items():
        arrays[f"strategy_{name}"] = np.asarray(array)
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "script": state["script"],
        "params": dict(state["params"]),
        "generation": int(state["generation"]),
        "population_size": len(population),
        "champion": {
            "generation": int(champion.generation),
            "index": int(champion.index),
            "scores": {k: float(v) for k, v in champion.scores.items()},
        },
    }
    if vector:
        meta["champion_is_vector"] = True
    if strategy is not None:
        meta["strategy"] = dict(strategy.get("values", {}))
    meta_bytes = json.dumps(meta, sort_keys=True, default=_plain).encode("utf-8")
    checksum = _checksum(meta_bytes, arrays)
    arrays["meta"] = np.frombuffer(meta_bytes, dtype=np.uint8)
    arrays["checksum"] = np.frombuffer(checksum.encode("ascii"), dtype=np.uint8)
    return arrays


def decode_state(arrays: Mapping[str, np.ndarray]) -> dict:
    """The state of a checkpoint's arrays; ValueError when anything does not fit. The champion
    comes back as a mapping of the fields of :class:`~evolearn.search.generations.Champion`."""
    if "meta" not in arrays or "checksum" not in arrays:
        raise ValueError("not an evolearn checkpoint (no meta or checksum entry)")
    meta_bytes = arrays["meta"].tobytes()
    body = {k: v for k, v in arrays.items() if k not in ("meta", "checksum")}
    if arrays["checksum"].tobytes().decode("ascii") != _checksum(meta_bytes, body):
        raise ValueError("its checksum does not match its contents")
    meta = json.loads(meta_bytes.decode("utf-8"))
    if meta.get("format") != FORMAT:
        raise ValueError("not an evolearn checkpoint")
    genomes = _unpack_genomes(body)
    vector = bool(meta.get("champion_is_vector", False))
    if len(genomes) != meta["population_size"] + (0 if vector else 1):
        raise ValueError("the number of networks does not fit the population size")
    if vector and "champion_vector" not in body:
        raise ValueError("it names a champion vector but holds none")
    info = meta["champion"]
    state = {
        "format_version": meta["format_version"],
        "script": meta["script"],
        "params": meta["params"],
        "generation": meta["generation"],
        "population": genomes if vector else genomes[:-1],
        "champion": {
            "genome": body["champion_vector"] if vector else genomes[-1],
            "generation": info["generation"],
            "index": info["index"],
            "scores": dict(info["scores"]),
        },
    }
    if "strategy" in meta:
        prefix = "strategy_"
        state["strategy"] = {
            "values": dict(meta["strategy"]),
            "arrays": {k[len(prefix) :]: v for k, v in body.items() if k.startswith(prefix)},
        }
    return state


def save_checkpoint(out_dir: Path, state: Mapping[str, Any]) -> Path:
    """Write ``state`` to ``out_dir/checkpoint.npz`` atomically."""
    path = Path(out_dir) / CHECKPOINT_FILE
    tmp = Path(out_dir) / TEMPORARY_CHECKPOINT_FILE
    try:
        # The temporary file first: a run killed from here on, before its first checkpoint is
        # in place, leaves it as the sign that it had none (Run.create).
        with open(tmp, "wb") as f:
            np.savez(f, **encode_state(state))
            f.flush()
            os.fsync(f.fileno())
    except OSError as err:  # a full disk: keep the previous checkpoint, drop the partial one
        tmp.unlink(missing_ok=True)
        raise OSError(err.errno, err.strerror, str(tmp)) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, path)
    return path


def read_checkpoint(path: str | os.PathLike) -> dict:
    """The state stored in the checkpoint file ``path``, without running anything it holds.

    Raises :class:`CheckpointError` for a damaged, truncated, altered or foreign file.
    """
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
        state = decode_state(arrays)
    except Exception as err:  # anything unreadable means a damaged or foreign file
        what = " ".join(str(err).split()) or type(err).__name__
        if isinstance(err, zipfile.BadZipFile | EOFError):
            what = f"truncated or not a zip archive ({what})"
        raise CheckpointError(
            f"resume: the checkpoint {path} is damaged or not an evolearn checkpoint ({what}); "
            f"the run cannot continue from it."
        ) from None
    return state


def load_checkpoint(out_dir: Path, params) -> dict:
    """The checkpoint of ``out_dir``, checked against the script and parameters given.

    Raises :class:`UserError` when it is missing, damaged or of another format,
    :class:`ParamError` when it was written by another script or with other parameters.
    """
    path = Path(out_dir) / CHECKPOINT_FILE
    legacy = Path(out_dir) / LEGACY_CHECKPOINT_FILE
    if not path.is_file() and legacy.is_file():
        raise UserError(
            f"resume: {legacy} is a checkpoint of format version 1 (a pickle, written by "
            f"evolearn before version {FORMAT_VERSION} of the format); this version reads "
            f"data-only checkpoints of format version {FORMAT_VERSION} and never loads a pickle, "
            f"since loading one can run code from the file. Continue the run with the evolearn "
            f"that wrote it, or start it again."
        )
    if not path.is_file():
        raise UserError(
            f"resume: {path} does not exist; a run writes its checkpoint after its first "
            f"complete generation (every --checkpoint_every generations)."
        )
    state = read_checkpoint(path)
    if state["format_version"] != FORMAT_VERSION:
        raise UserError(
            f"resume: the checkpoint {path} has format version {state['format_version']!r}; "
            f"this version of evolearn reads checkpoints of format version {FORMAT_VERSION} "
            f"only. Continue the run with the version of evolearn that wrote it."
        )
    check_resumable(out_dir, state.get("script"), state.get("params", {}), params)
    return state


def check_resumable(out_dir: Path, script: str | None, saved: Mapping, params) -> None:
    """ParamError unless a run of ``script`` with parameters ``saved`` may be continued with
    ``params`` (only :data:`MAY_CHANGE_ON_RESUME` may differ)."""
    if script != params.script:
        raise ParamError(
            f"resume: the run in {out_dir} was written by {script}, not by {params.script}."
        )
    given = params.to_dict()
    # a run from before an option existed had its default (for the scripts that use it)
    saved = {**{k: v for k, v in ADDED_SINCE_FORMAT_2.items() if k in given}, **saved}
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
            f"resume: the parameters do not fit the run in {out_dir} ({details}). Give "
            f"the run's own parameter file ({Path(out_dir) / 'params.yaml'}); only "
            f"{', '.join(sorted(MAY_CHANGE_ON_RESUME))} may change."
        )
