"""The pools that evaluate chunks of a population: :class:`Pool` (what a run asks of its
workers), :class:`WorkerPool` (this machine's processes) and :func:`open_pool`, which picks it
or :class:`~evolearn.experiment.cluster.DaskPool` (a Dask cluster, ``--scheduler``).

One pool serves a whole run (joblib's loky backend keeps its processes between calls). Large
read-only arrays (the dataset) travel to each worker once: they are written to a temporary
folder as ``.npy`` files when the pool starts, and each worker process loads them the first
time it needs them and keeps them for the rest of the run. Each worker limits torch to its
share of the cores, so that N workers do not fight over the same cores.

With ``num_workers == 1`` everything runs in the calling process, on the same arrays.

No process of a run outlives it: a main process that ends normally or by an error stops its
workers and removes the shared folder; one killed with SIGKILL cannot, so each worker watches
its parent and ends (removing the folder) within ``PARENT_CHECK_S`` of its death, and the next
pool removes any shared folder left by a run that is gone.
Results never depend on the number of workers: the callers give every network its own random
stream, derived from the run seed, the generation and the network's index.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from evolearn.errors import WorkerFailure
from evolearn.experiment.devices import limit_torch_threads


class SharedArrays(dict):
    """Read-only arrays by name, plus a per-process scratch cache (``cache``) for derived data
    such as torch tensors on a device."""

    def __init__(self, arrays: dict[str, np.ndarray]):
        super().__init__(arrays)
        self.cache: dict[Any, Any] = {}


class ChunkResults(list):
    """The results of one chunk of networks, and why its fast path was not used.

    ``fallback`` is None when the whole chunk went through the fast path; otherwise the error
    that made it fall back to evaluating the networks one by one (correct, but slower), which
    :meth:`WorkerPool.map_chunks` logs.
    """

    def __init__(self, items=(), fallback: str | None = None):
        super().__init__(items)
        self.fallback = fallback


def fallback_reason(error: BaseException) -> str:
    """The error a fast path raised, in one short line for the log."""
    return " ".join(f"{type(error).__name__}: {error}".split())[:300]


def fast_or_one_by_one(
    fast: Callable[[], Iterable[Any]] | None, one_by_one: Callable[[], Iterable[Any]]
) -> ChunkResults:
    """A chunk's results from its fast path ``fast()`` (the whole chunk at once); when there is
    none (None) or it raises, from ``one_by_one()`` (network by network, so that a failing
    network costs only itself), with the fast path's error as the ``fallback``."""
    fallback = None
    if fast is not None:
        try:
            return ChunkResults(fast())
        except Exception as error:
            fallback = fallback_reason(error)
    return ChunkResults(one_by_one(), fallback)


# Per worker process: the shared arrays of each pool folder, loaded once.
_SHARED_OBJECTS: dict[str, SharedArrays] = {}


def _load_shared(folder: str) -> SharedArrays:
    if folder not in _SHARED_OBJECTS:
        names = sorted(f[:-4] for f in os.listdir(folder) if f.endswith(".npy"))
        arrays = {name: np.load(os.path.join(folder, name + ".npy")) for name in names}
        _SHARED_OBJECTS[folder] = SharedArrays(arrays)
    return _SHARED_OBJECTS[folder]


#: How often a worker checks that the run's main process is still there (seconds).
PARENT_CHECK_S = 0.5
SHARED_PREFIX = "evolearn-shared-"
#: In a worker: the run's main process it watches, and the shared folders it has seen.
_WATCHED_PARENT: list[int] = []
_SEEN_FOLDERS: set[str] = set()


def _watch_parent(parent: int, folder: str) -> None:
    """In a worker: end this process soon after the run's main process ``parent`` is gone.

    A main process killed with SIGKILL cannot stop its workers; they see it when they are
    handed to another parent, and remove the shared folders they have served (a reused worker
    serves the pools of several runs of one process). Nothing is watched when the task runs
    in the calling process itself (joblib may run it there).
    """
    if os.getpid() == parent or os.getppid() != parent:
        return
    _SEEN_FOLDERS.add(folder)
    if _WATCHED_PARENT:
        return
    _WATCHED_PARENT.append(parent)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_CHECK_S)
        for seen in list(_SEEN_FOLDERS):
            shutil.rmtree(seen, ignore_errors=True)
        os._exit(1)

    threading.Thread(target=watch, name="evolearn-watch-parent", daemon=True).start()


def _run_in_worker(
    fn: Callable, folder: str, num_threads: int, chunk: Any, parent: int | None = None
) -> Any:
    if parent is not None:
        _watch_parent(parent, folder)
    limit_torch_threads(num_threads)
    return fn(_load_shared(folder), chunk)


def remove_stale_shared_folders(directory: str | None = None) -> list[str]:
    """Remove the shared folders (``evolearn-shared-<host>-<pid>-*``) of this machine's runs
    whose main process is gone (killed before it could clean up); returns them. Folders of
    live runs, and of other machines or containers sharing the folder, stay."""
    directory = directory or tempfile.gettempdir()
    mine = f"{SHARED_PREFIX}{_host()}-"
    removed = []
    for name in os.listdir(directory):
        if not name.startswith(mine):
            continue
        pid = name[len(mine) :].split("-", 1)[0]
        if not pid.isdigit() or _alive(int(pid)):
            continue
        shutil.rmtree(os.path.join(directory, name), ignore_errors=True)
        removed.append(name)
    return removed


def _host() -> str:
    """This machine's name, as it may appear in a folder name."""
    return "".join(c if c.isalnum() else "_" for c in socket.gethostname()) or "host"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def usable_cores() -> int:
    """The cores this process may run on (a batch system's allocation, where it sets one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def torch_threads(cores: int, slots: int) -> int:
    """Torch threads per task: a machine's cores shared out among the tasks that run on it at
    once (at least 1)."""
    return max(1, cores // max(1, slots))


#: What ``--scheduler`` takes, in words (its errors).
SCHEDULER_FORMS = (
    "local:N (a LocalCluster of N worker processes on this machine), a scheduler address "
    "such as tcp://HOST:8786, a scheduler file (.json, from dask scheduler --scheduler-file), "
    "or none (this machine's worker processes, --num_workers)"
)
_ADDRESS = re.compile(r"^(tcp|tls|ws|wss|ucx|inproc)://\S+$")


def parse_scheduler(text: str | None) -> tuple[str, Any] | None:
    """``--scheduler`` as ``("local", N)``, ``("address", ADDRESS)`` or ``("file", PATH)``;
    None for the local pool (None or ``"none"``). Raises ValueError for anything else."""
    if text is None or text == "none":
        return None
    if text.startswith("local:"):
        count = text[len("local:") :]
        if count.isdigit() and int(count) >= 1:
            return ("local", int(count))
        raise ValueError(f"local:N needs a number of workers N >= 1, got {text!r}")
    if _ADDRESS.match(text):
        return ("address", text)
    if text.endswith(".json"):
        return ("file", text)
    raise ValueError(f"{text!r} is none of them")


def worker_count(requested: int, num_networks: int) -> tuple[int, list[str]]:
    """How many worker processes to start for ``requested`` (``--num_workers``) when a
    generation has ``num_networks`` networks to share out, and what to log about it.

    Never more workers than chunks of work: a generation is split into one contiguous chunk
    per worker, and a worker without a chunk would only cost its start. Asking for more
    workers than CPU cores gets a warning (they share the cores: slower, the same results).
    """
    count = max(1, min(requested, num_networks))
    line = f"Worker processes: {count}" if count > 1 else "Worker processes: none (one process)"
    if count < requested:
        line += (
            f" (--num_workers {requested}, but a generation has only {num_networks} networks "
            f"to share out)"
        )
    notes = [line]
    cores = os.cpu_count() or 1
    if count > cores:
        notes.append(
            f"Warning: {count} worker processes are more than the {cores} CPU cores of this "
            f"machine; they share them (slower; the results are the same)."
        )
    return count, notes


def split_evenly(n: int, parts: int) -> list[range]:
    """Split ``range(n)`` into at most ``parts`` contiguous, nearly equal, non-empty ranges."""
    parts = max(1, min(parts, n))
    bounds = np.linspace(0, n, parts + 1).round().astype(int)
    return [range(bounds[i], bounds[i + 1]) for i in range(parts) if bounds[i] < bounds[i + 1]]


class Pool:
    """What a run asks of its workers: ``fn(shared, chunk)`` for chunks of a population.

    :class:`WorkerPool` (this machine's processes) and
    :class:`~evolearn.experiment.cluster.DaskPool` (a Dask cluster, ``--scheduler``) are the
    two kinds; :func:`open_pool` picks one. ``fn`` must be a module-level function (it is
    pickled by reference) and must not modify the shared arrays. Use as a context manager, or
    call :meth:`close`.
    """

    #: How often dead workers were replaced during the run (``failures/worker_restarts``).
    restarts: int = 0
    log: Callable[[str], None]

    @property
    def shared(self) -> SharedArrays:
        """The shared arrays as the calling process sees them."""
        raise NotImplementedError

    def num_chunks(self, num_networks: int, varying_cost: bool = False) -> int:
        """How many chunks a population of ``num_networks`` is split into; ``varying_cost``:
        the networks' costs vary (episodes of different lengths), so finer chunks even out
        the workers' loads."""
        raise NotImplementedError

    def split(self, num_networks: int, varying_cost: bool = False) -> list[range]:
        """A population's indices in contiguous chunks, one task each. Results never depend
        on the split: every network has its own random stream."""
        return split_evenly(num_networks, self.num_chunks(num_networks, varying_cost))

    def map(self, fn: Callable[[SharedArrays, Any], Any], chunks: Sequence[Any]) -> list[Any]:
        """``[fn(shared, chunk) for chunk in chunks]``, in the workers."""
        raise NotImplementedError

    def map_population(
        self,
        fn: Callable[[SharedArrays, Any], Sequence[Any]],
        genomes: Sequence[Any],
        make_task: Callable[[list, range], Any],
        *,
        varying_cost: bool = False,
    ) -> list[Any]:
        """``fn`` over a population in contiguous chunks (:meth:`split`), results in
        population order. ``make_task(the chunk's genomes, their indices)`` builds each
        chunk's task; see :meth:`map_chunks`."""
        chunks = self.split(len(genomes), varying_cost)
        tasks = [make_task([genomes[i] for i in chunk], chunk) for chunk in chunks]
        return self.map_chunks(fn, tasks)

    def map_chunks(
        self, fn: Callable[[SharedArrays, Any], Sequence[Any]], chunks: Sequence[Any]
    ) -> list[Any]:
        """The results of :meth:`map` for chunks of a population, concatenated in order.

        A chunk whose fast path failed (its :class:`ChunkResults` ``fallback``) is logged: its
        networks were evaluated one by one, which gives the same numbers, only slower.
        """
        results: list[Any] = []
        for chunk in self.map(fn, chunks):
            fallback = getattr(chunk, "fallback", None)
            if fallback:
                self.log(
                    f"{fn.__name__}: the fast path failed on a chunk of {len(chunk)} networks "
                    f"({fallback}); they were evaluated one by one instead (slower)."
                )
            results.extend(chunk)
        return results

    def terminate(self) -> None:
        """Stop the work in progress now (it is lost)."""

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Pool:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class WorkerPool(Pool):
    """:class:`Pool` on ``num_workers`` processes of this machine, one contiguous chunk of a
    population per worker."""

    #: A call whose workers die is tried again with new workers this many times.
    MAX_RESTARTS = 2

    def __init__(
        self,
        num_workers: int,
        shared: dict[str, np.ndarray] | None = None,
        log: Callable[[str], None] | None = None,
    ):
        self.num_workers = int(num_workers)
        self.log = log or (lambda message: None)
        self.restarts = 0
        self._shared_local = SharedArrays(dict(shared or {}))
        self._folder: str | None = None
        self._parallel = None
        if self.num_workers > 1:
            remove_stale_shared_folders()
            self._folder = tempfile.mkdtemp(prefix=f"{SHARED_PREFIX}{_host()}-{os.getpid()}-")
            for name, array in self._shared_local.items():
                np.save(os.path.join(self._folder, name + ".npy"), np.ascontiguousarray(array))
            self._threads = torch_threads(usable_cores(), self.num_workers)
            self._start()

    def _start(self) -> None:
        import joblib

        self._parallel = joblib.Parallel(n_jobs=self.num_workers, backend="loky")
        self._parallel.__enter__()

    @property
    def shared(self) -> SharedArrays:
        return self._shared_local

    def num_chunks(self, num_networks: int, varying_cost: bool = False) -> int:
        return self.num_workers  # one per worker: joblib hands them out as they come

    def map(self, fn: Callable[[SharedArrays, Any], Any], chunks: Sequence[Any]) -> list[Any]:
        if self.num_workers == 1:
            return [fn(self._shared_local, chunk) for chunk in chunks]
        import joblib
        from joblib.externals.loky.process_executor import BrokenProcessPool

        for attempt in range(self.MAX_RESTARTS + 1):
            if self._parallel is None:
                self._start()
            try:
                return self._parallel(
                    joblib.delayed(_run_in_worker)(
                        fn, self._folder, self._threads, chunk, os.getpid()
                    )
                    for chunk in chunks
                )
            except BrokenProcessPool as err:  # a worker died (killed, out of memory, crash)
                if attempt == self.MAX_RESTARTS:
                    raise WorkerFailure(
                        f"worker processes died {attempt + 1} times in a row while evaluating "
                        f"the same work ({type(err).__name__}: {err}); the run stops."
                    ) from None
                self.restarts += 1
                self.log(
                    f"A worker process died ({type(err).__name__}); starting new workers and "
                    f"evaluating its work again."
                )
                self.terminate()
        raise AssertionError("unreachable")

    def terminate(self) -> None:
        """Stop the worker processes now (their current work is lost)."""
        if self._parallel is None:
            return
        try:
            from joblib.externals.loky import get_reusable_executor

            get_reusable_executor().shutdown(wait=False, kill_workers=True)
        except Exception:  # the workers may be gone already
            pass
        try:
            self._parallel.__exit__(None, None, None)
        except Exception:
            pass
        self._parallel = None

    def close(self) -> None:
        if self._parallel is not None:
            self._parallel.__exit__(None, None, None)
            self._parallel = None
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = None


def open_pool(
    num_workers: int,
    shared: dict[str, np.ndarray] | None = None,
    log: Callable[[str], None] | None = None,
    scheduler: str | None = None,
) -> Pool:
    """The pool of a run: ``num_workers`` local processes, or with ``scheduler``
    (``--scheduler``: ``local:N``, a scheduler address or file) a Dask cluster, where
    ``num_workers`` is not used. ``scheduler`` None or ``"none"`` is the local pool."""
    if parse_scheduler(scheduler) is None:
        return WorkerPool(num_workers, shared, log)
    from evolearn.experiment.cluster import DaskPool

    return DaskPool(scheduler, shared, log)


def each_or_failed(
    fn: Callable[[Any], Any], items: Iterable[Any], failed: Callable[[Any], Any]
) -> list:
    """``[fn(item) for item in items]``, where an item whose ``fn`` raises gives
    ``failed(item)`` instead (NaN scores): one failing network costs that network, not the
    generation (the generation loop gives NaN scores the worst score, counts and logs them)."""
    results = []
    for item in items:
        try:
            results.append(fn(item))
        except Exception:
            results.append(failed(item))
    return results


def nan_scores(shape: tuple[int, ...]) -> Callable[[Any], np.ndarray]:
    """``failed`` for :func:`each_or_failed`: NaN scores of ``shape`` for any item."""
    return lambda item: np.full(shape, np.nan)
