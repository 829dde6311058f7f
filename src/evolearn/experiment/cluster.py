"""Evaluating populations on a Dask cluster (``--scheduler``).

:class:`DaskPool` is the :class:`~evolearn.experiment.workers.Pool` of a run whose generations
are evaluated by the workers of a ``dask.distributed`` cluster: a :class:`LocalCluster` it
starts (``--scheduler local:N``) or a running scheduler (``--scheduler tcp://HOST:8786``, or
the JSON file that ``dask scheduler --scheduler-file`` writes).

- The shared arrays (the dataset) are scattered to every worker once, when the pool opens; a
  worker that joins later copies them from another worker the first time it needs them. Each
  worker thread keeps its own :class:`SharedArrays` cache (torch tensors, environments), so
  tasks running side by side in one worker share no mutable state.
- Torch uses, in each task, the cores of the worker's machine divided by the task slots
  (``nthreads``) of all the workers on that machine.
- A population whose networks' costs vary (episodes that end early) is split into more chunks
  than task slots (:data:`CHUNKS_PER_SLOT`), so that a slow or lost worker holds up only a
  small part of a generation; others, whose chunks have a cost of their own (a WLNN chunk
  trains as one model), into one chunk per slot. Results never depend on the split: every
  network has its own random stream.
- A worker that dies costs only the work it was doing: the scheduler gives it to another
  worker. Such deaths are counted in :attr:`DaskPool.restarts` (``failures/worker_restarts``).
  Work that kills more workers than Dask's ``distributed.scheduler.allowed-failures``, or a
  scheduler that goes away, ends the run with :class:`WorkerFailure` or :class:`ClusterLost`;
  the generation loop then checkpoints and says how to resume.
"""

from __future__ import annotations

import ctypes
import logging
import os
import re
import threading
import time
import uuid
import weakref
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from evolearn.errors import ClusterLost, ClusterUnreachable, WorkerFailure
from evolearn.experiment.workers import Pool, SharedArrays

#: A population whose networks' costs vary (episodes) is split into this many chunks per task
#: slot of the cluster; others into one per slot (a chunk has a cost of its own: a WLNN chunk
#: trains as one model, one Python step per mini-batch whatever its size).
CHUNKS_PER_SLOT = 4
#: How long to wait for a scheduler to answer when the pool opens (seconds).
CONNECT_TIMEOUT_S = 30
#: How long a client tries to reach its scheduler again after losing it (seconds). Work in
#: progress is lost with the connection anyway, so the run stops soon after.
RECONNECT_S = 3
#: How long sending the shared arrays to the workers may take (seconds).
SCATTER_TIMEOUT_S = 3600
#: How many times the scattered dataset may be lost (all workers holding it died) and sent
#: again in one call before the run stops.
MAX_DATA_LOSSES = 2

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


def torch_threads(cores: int, slots_on_host: int) -> int:
    """Torch threads per task: a machine's cores shared out among the task slots of all the
    workers on it (at least 1)."""
    return max(1, cores // max(1, slots_on_host))


def _cores() -> int:
    """The cores this process may run on (a batch system's allocation, where it sets one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


# --- in the Dask workers ---------------------------------------------------------------------


class SharedPayload:
    """The shared arrays as they are scattered to the workers, with the token of their pool."""

    def __init__(self, arrays: dict[str, np.ndarray], token: str):
        self.arrays, self.token = arrays, token


#: Per worker process: (pool token, thread) -> (the payload, weakly; the shared arrays with
#: that thread's cache).
_WORKER_SHARED: dict[tuple[str, int], tuple[weakref.ref, SharedArrays]] = {}
_WORKER_LOCK = threading.Lock()


def _worker_shared(payload: SharedPayload) -> SharedArrays:
    """This thread's :class:`SharedArrays` for ``payload``; the caches of payloads the worker
    no longer holds (finished runs) are dropped."""
    slot = (payload.token, threading.get_ident())
    with _WORKER_LOCK:
        entry = _WORKER_SHARED.get(slot)
        if entry is None or entry[0]() is not payload:
            for stale in [s for s, (ref, _) in _WORKER_SHARED.items() if ref() is None]:
                del _WORKER_SHARED[stale]
            entry = _WORKER_SHARED[slot] = (weakref.ref(payload), SharedArrays(payload.arrays))
    return entry[1]


#: glibc's mallopt parameters, and the thresholds its dynamic ones reach on 64-bit machines.
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_MMAP_THRESHOLD_MAX = 32 * 1024 * 1024
#: In a worker process: whether :func:`_set_up_worker` has run.
_WORKER_SET_UP: list[bool] = []


def _set_up_worker(worker: Any) -> None:
    """Once per worker process, two of Dask's defaults that slow the toolkit's tasks down
    (a WLNN generation of 60 networks on MNIST, measured here):

    - Dask's nanny starts workers with ``MALLOC_TRIM_THRESHOLD_=65536``, which also turns off
      glibc's dynamic thresholds: every buffer over 128 KiB (a mini-batch's activations) is
      then mapped and unmapped again at each step (the local pool with that setting: 25 %
      slower). The thresholds the dynamic ones reach are set instead.
    - The worker's statistical profiler (for the dashboard's profile page) samples every
      thread's stack every 10 ms, holding the GIL in the middle of the training's Python
      loop (3 %). It is stopped.
    """
    if _WORKER_SET_UP:
        return
    _WORKER_SET_UP.append(True)
    if "MALLOC_TRIM_THRESHOLD_" in os.environ:
        try:
            libc = ctypes.CDLL("libc.so.6")
            libc.mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD_MAX)
            libc.mallopt(_M_TRIM_THRESHOLD, 2 * _MMAP_THRESHOLD_MAX)
        except (OSError, AttributeError):  # not glibc
            pass

    def stop_profiling() -> None:
        for name in ("profile", "profile-cycle"):
            callback = worker.periodic_callbacks.pop(name, None)
            if callback is not None:
                callback.stop()

    worker.loop.add_callback(stop_profiling)


def _run_on_dask_worker(
    fn: Callable, payload: SharedPayload, slots_by_host: dict[str, int], chunk: Any
) -> Any:
    import torch
    from distributed import get_worker

    worker = get_worker()
    _set_up_worker(worker)
    host = worker.address.rsplit(":", 1)[0]
    slots = slots_by_host.get(host, worker.state.nthreads)
    threads = torch_threads(_cores(), slots)
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    return fn(_worker_shared(payload), chunk)


# --- in the run's process --------------------------------------------------------------------


class _ForwardToLog(logging.Handler):
    """Dask's warnings in the run's process, one line each in the run's log."""

    def __init__(self, log: Callable[[str], None]):
        super().__init__(logging.WARNING)
        self._log = log

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = " ".join(record.getMessage().split())[:400]
            self._log(f"Dask ({record.name}): {line}")
        except Exception:  # logging must never break the run
            pass


class DaskPool(Pool):
    """:class:`~evolearn.experiment.workers.Pool` on the workers of a Dask cluster.

    ``scheduler`` is ``local:N``, a scheduler address or a scheduler file
    (:func:`parse_scheduler`). A cluster this pool starts (``local:N``) ends with it.
    """

    def __init__(
        self,
        scheduler: str,
        shared: dict[str, np.ndarray] | None = None,
        log: Callable[[str], None] | None = None,
    ):
        import distributed

        self.log = log or (lambda message: None)
        self.restarts = 0
        self.scheduler = scheduler
        self._shared_local = SharedArrays(dict(shared or {}))
        self._cluster = None
        self._client = None
        self._logging = _quiet_dask_logging(self.log)
        try:
            kind, value = parse_scheduler(scheduler) or ("", None)
            if kind == "local":
                self._cluster = distributed.LocalCluster(
                    n_workers=value,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=None,
                    worker_dashboard_address=None,
                    silence_logs=logging.ERROR,
                )
                self._client = distributed.Client(self._cluster, set_as_default=False)
            else:
                self._client = _connect(kind, value)
            self._wait_for_a_worker()
            self._scatter()
            self.log(self._describe())
        except BaseException:
            self.close()
            raise

    # --- the cluster ---------------------------------------------------------------------

    def _workers(self) -> dict[str, dict]:
        return self._client.scheduler_info(n_workers=-1)["workers"]

    def _slots_by_host(self) -> dict[str, int]:
        slots: dict[str, int] = {}
        for address, info in self._workers().items():
            host = address.rsplit(":", 1)[0]
            slots[host] = slots.get(host, 0) + int(info["nthreads"])
        return slots

    @property
    def num_workers(self) -> int:
        """The task slots of the cluster now (the sum of its workers' ``nthreads``)."""
        return sum(self._slots_by_host().values())

    def num_chunks(self, num_networks: int, varying_cost: bool = False) -> int:
        self._wait_for_a_worker()  # all may be gone (batch jobs that ended): wait for new ones
        return max(1, (CHUNKS_PER_SLOT if varying_cost else 1) * self.num_workers)

    def _wait_for_a_worker(self) -> None:
        if not self._workers():
            self.log(f"The Dask scheduler {self.scheduler} has no workers; waiting for one.")
            self._client.wait_for_workers(1)

    def _scatter(self) -> None:
        """Send the shared arrays to every worker (once; hash=False: this pool's own copy)."""
        payload = SharedPayload(dict(self._shared_local), uuid.uuid4().hex)
        self._data = self._client.scatter(
            [payload], broadcast=True, hash=False, timeout=SCATTER_TIMEOUT_S
        )[0]

    def _describe(self) -> str:
        workers = self._workers()
        hosts = {address.rsplit(":", 1)[0] for address in workers}
        size = sum(a.nbytes for a in self._shared_local.values()) / 1e6
        data = f"; the shared arrays ({size:.1f} MB) are on every worker" if size else ""
        return (
            f"Dask cluster {self._client.scheduler.address} ({self.scheduler}): "
            f"{len(workers)} workers on {len(hosts)} machine(s), {self.num_workers} task slots"
            f"{data}."
        )

    @property
    def shared(self) -> SharedArrays:
        return self._shared_local

    # --- the work ------------------------------------------------------------------------

    def map(self, fn: Callable[[SharedArrays, Any], Any], chunks: Sequence[Any]) -> list[Any]:
        from distributed import KilledWorker

        chunks = list(chunks)
        if not chunks:
            return []
        for attempt in range(MAX_DATA_LOSSES + 1):
            futures = []
            try:
                slots = self._slots_by_host()
                name = f"evolearn-{fn.__name__}-{uuid.uuid4().hex[:12]}"
                futures = [
                    self._client.submit(
                        _run_on_dask_worker,
                        fn,
                        self._data,
                        slots,
                        chunk,
                        key=f"{name}-{i}",
                        pure=False,
                    )
                    for i, chunk in enumerate(chunks)
                ]
                return self._client.gather(futures)
            except KilledWorker as err:
                raise WorkerFailure(
                    f"Dask workers died more than distributed.scheduler.allowed-failures times "
                    f"while evaluating the same chunk of work ({err}); the run stops."
                ) from None
            except Exception as err:
                if not self._lost_the_data(err):
                    raise
                if attempt == MAX_DATA_LOSSES:
                    raise WorkerFailure(
                        f"the Dask workers holding the shared arrays died {attempt + 1} times "
                        f"in a row; the run stops."
                    ) from None
                self.log(
                    "The Dask workers holding the shared arrays died; sending them again and "
                    "evaluating the work again."
                )
                self._scatter()
            finally:
                self._count_lost_workers(futures)
        raise AssertionError("unreachable")

    def _lost_the_data(self, err: Exception) -> bool:
        """Whether ``err`` says the scattered arrays were lost with their workers (they are
        sent again); raises :class:`ClusterLost` when it says the scheduler is gone."""
        from concurrent.futures import CancelledError

        from distributed.comm import CommClosedError

        connection_lost = isinstance(err, (OSError, CommClosedError, TimeoutError)) or (
            isinstance(err, CancelledError) and "scheduler-connection-lost" in str(err)
        )
        if connection_lost or self._client.status != "running":
            reason = " ".join(f"{type(err).__name__}: {err}".split())[:300]
            if "scheduler-connection-lost" in reason:
                reason = "scheduler-connection-lost"
            raise ClusterLost(
                f"the connection to the Dask scheduler {self.scheduler} was lost ({reason}); "
                f"the run stops"
            ) from None
        return isinstance(err, CancelledError) and self._data.status != "finished"

    def _count_lost_workers(self, futures: list) -> None:
        """Count (and log) the workers that died while running any of ``futures``."""
        keys = [f.key for f in futures]
        for f in futures:
            f.release()
        if not keys or self._client.status != "running":
            return

        def lost_workers(dask_scheduler, keys):  # runs on the scheduler (pickled by value)
            keys = set(keys)
            return [
                event.get("worker")
                for _, event in dask_scheduler.get_events("all")
                if isinstance(event, dict)
                and event.get("action") == "remove-worker"
                and not event.get("expected")
                and keys & set(event.get("processing-tasks", ()))
            ]

        try:
            lost = self._client.run_on_scheduler(lost_workers, keys=keys)
        except Exception:  # the scheduler went away; the next call says so
            return
        if lost:
            self.restarts += len(lost)
            self.log(
                f"{len(lost)} Dask worker(s) died while evaluating ({', '.join(map(str, lost))}); "
                f"the scheduler gave their work to other workers."
            )

    def terminate(self) -> None:
        """Cancel the work in progress (the workers stay; a started cluster ends on close)."""

    def close(self) -> None:
        client, cluster, self._client, self._cluster = self._client, self._cluster, None, None
        try:
            if client is not None:
                client.close(timeout=10)
                # a client that lost its scheduler ends its reconnection attempts first
                deadline = time.monotonic() + RECONNECT_S + 2
                while client.status != "closed" and time.monotonic() < deadline:
                    time.sleep(0.05)
        except Exception:  # the scheduler may be gone
            pass
        try:
            if cluster is not None:
                cluster.close(timeout=20)
        except Exception:
            pass
        if self._logging is not None:
            self._logging()
            self._logging = None


def _connect(kind: str, value: str):
    """A Client of the running scheduler at ``value`` (an address or a scheduler file)."""
    import distributed

    where = {"address": value} if kind == "address" else {"scheduler_file": value}
    if kind == "file" and not os.path.isfile(value):
        raise ClusterUnreachable(
            f"scheduler: the scheduler file {value} does not exist (dask scheduler "
            f"--scheduler-file {value} writes it)."
        )
    # Dask's client uses one timeout for connecting and reconnecting: a short one, tried again
    # until CONNECT_TIMEOUT_S.
    deadline = time.monotonic() + CONNECT_TIMEOUT_S
    while True:
        try:
            return distributed.Client(**where, timeout=RECONNECT_S, set_as_default=False)
        except (OSError, TimeoutError) as err:
            if time.monotonic() + RECONNECT_S > deadline:
                error = err
                break
    raise ClusterUnreachable(
        f"scheduler: no Dask scheduler answered at {value} within {CONNECT_TIMEOUT_S} s "
        f"({type(error).__name__}). Start one (dask scheduler) and its workers (dask worker "
        f"ADDRESS), or use --scheduler local:N for a cluster on this machine."
    )


def _quiet_dask_logging(log: Callable[[str], None]) -> Callable[[], None]:
    """Send the warnings of Dask's loggers in this process to the run's log, one line each,
    instead of tracebacks on the console; returns the function that undoes it.

    Dask gives ``distributed`` and some of its children (``distributed.client``) handlers of
    their own: the children pass their records up instead, and ``distributed`` forwards them.
    """
    top = logging.getLogger("distributed")
    loggers = [top] + [
        logger
        for name, logger in logging.Logger.manager.loggerDict.items()
        if name.startswith("distributed.") and isinstance(logger, logging.Logger)
    ]
    saved = [(logger, list(logger.handlers), logger.propagate, logger.level) for logger in loggers]
    for logger in loggers:
        for h in list(logger.handlers):
            logger.removeHandler(h)
        logger.propagate = logger is not top
        if logger.level and logger.level < logging.WARNING:
            logger.setLevel(logging.WARNING)
    handler = _ForwardToLog(log)
    top.addHandler(handler)
    top.setLevel(logging.WARNING)

    def restore() -> None:
        top.removeHandler(handler)
        for logger, handlers, propagate, level in saved:
            for h in handlers:
                logger.addHandler(h)
            logger.propagate, logger.level = propagate, level

    return restore
