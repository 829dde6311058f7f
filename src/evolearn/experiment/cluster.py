"""Evaluating populations on a Dask cluster (``--scheduler``).

:class:`DaskPool` is the :class:`~evolearn.experiment.workers.Pool` of a run whose generations
are evaluated by the workers of a ``dask.distributed`` cluster: a ``LocalCluster`` it starts
(``--scheduler local:N``) or a running scheduler (``--scheduler tcp://HOST:8786``, or the JSON
file that ``dask scheduler --scheduler-file`` writes). :func:`open_pool
<evolearn.experiment.workers.open_pool>` imports this module (and Dask) only then.

- The shared arrays (the dataset) reach every worker once, and stay: they travel in a worker
  plugin (:class:`SharedArraysPlugin`), which the scheduler also gives every worker that joins
  later. (Scattered data would not stay: Dask's active memory manager drops the copies no task
  waits for.) Closing the pool removes the plugin and, with it, the arrays and caches from the
  workers; a pool that opens removes those of runs whose client is gone.
- Each worker thread keeps its own :class:`SharedArrays` cache (torch tensors), so tasks
  running side by side in one worker share no mutable state.
- Torch uses, in each task, the cores of the worker's machine divided by the task slots
  (``nthreads``) of all the workers on that machine.
- A population whose networks' costs vary (episodes that end early) is split into
  :data:`CHUNKS_PER_SLOT` chunks per task slot, so that a slow or lost worker holds up only a
  small part of a generation; others, whose chunks have a cost of their own (a WLNN chunk
  trains as one model, one Python step per mini-batch whatever its size), into one chunk per
  slot. Results never depend on the split: every network has its own random stream.
- A worker that dies costs only the work it was doing: the scheduler gives it to another
  worker. Such deaths are counted in :attr:`DaskPool.restarts` (``failures/worker_restarts``).
  Work that kills more workers than Dask's ``distributed.scheduler.allowed-failures``, or a
  scheduler that goes away, ends the run with :class:`WorkerFailure` or :class:`ClusterLost`;
  the generation loop then checkpoints and says how to resume.
- Ctrl-C and closing print no Dask traceback: the processes of a ``local:N`` cluster are
  started with SIGINT blocked (a terminal's Ctrl-C reaches every process of the run; the run
  stops its cluster itself) and send their Dask log messages nowhere but CRITICAL ones, one line
  each (:func:`dask_setup`); in the run's process, Dask's warnings go to the run's log, one line
  each, and the asyncio errors of the client's event loop as well (those of an interrupted
  ``gather`` are dropped).
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import logging
import os
import signal
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import CancelledError
from typing import Any

import distributed
import numpy as np
from distributed.comm import CommClosedError, get_address_host
from distributed.diagnostics.plugin import WorkerPlugin

from evolearn.errors import ClusterLost, ClusterUnreachable, WorkerFailure
from evolearn.experiment.devices import limit_torch_threads
from evolearn.experiment.workers import (
    Pool,
    SharedArrays,
    fallback_reason,
    parse_scheduler,
    torch_threads,
    usable_cores,
)

#: A population whose networks' costs vary (episodes) is split into this many chunks per task
#: slot of the cluster; others into one per slot.
CHUNKS_PER_SLOT = 4
#: How long to wait for a scheduler to answer when the pool opens (seconds).
CONNECT_TIMEOUT_S = 30
#: How long a client tries to reach its scheduler again after losing it (seconds). Work in
#: progress is lost with the connection anyway, so the run stops soon after.
RECONNECT_S = 3
#: The prefix of the worker plugins that hold the shared arrays of a pool.
PLUGIN_PREFIX = "evolearn-shared-"


# --- in the Dask workers ---------------------------------------------------------------------

#: Per worker process: the shared arrays of each pool, by its token.
_WORKER_ARRAYS: dict[str, dict[str, np.ndarray]] = {}
#: Per worker process: (pool token, thread) -> the shared arrays with that thread's cache.
_WORKER_SHARED: dict[tuple[str, int], SharedArrays] = {}
_WORKER_LOCK = threading.Lock()


class SharedArraysPlugin(WorkerPlugin):
    """Puts a pool's shared arrays into each worker process (``setup``), when the pool opens
    and when a worker joins later, and removes them and their caches (``teardown``) when the
    pool closes."""

    def __init__(self, token: str, arrays: dict[str, np.ndarray]):
        self.token, self.arrays = token, arrays

    def setup(self, worker) -> None:
        with _WORKER_LOCK:
            _WORKER_ARRAYS[self.token] = self.arrays

    def teardown(self, worker) -> None:
        with _WORKER_LOCK:
            _WORKER_ARRAYS.pop(self.token, None)
            for slot in [s for s in _WORKER_SHARED if s[0] == self.token]:
                del _WORKER_SHARED[slot]


def _worker_shared(token: str) -> SharedArrays:
    """This thread's :class:`SharedArrays` of the pool ``token``."""
    slot = (token, threading.get_ident())
    with _WORKER_LOCK:
        shared = _WORKER_SHARED.get(slot)
        if shared is None:
            if token not in _WORKER_ARRAYS:
                raise RuntimeError(f"this Dask worker has no shared arrays of pool {token}")
            shared = _WORKER_SHARED[slot] = SharedArrays(_WORKER_ARRAYS[token])
    return shared


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


def run_on_dask_worker(fn: Callable, token: str, slots_by_host: dict[str, int], chunk: Any) -> Any:
    """A task: ``fn(the pool's shared arrays, chunk)``, torch on its share of the cores."""
    worker = distributed.get_worker()
    _set_up_worker(worker)
    slots = slots_by_host.get(get_address_host(worker.address), worker.state.nthreads)
    limit_torch_threads(torch_threads(usable_cores(), slots))
    return fn(_worker_shared(token), chunk)


class _OneLine(logging.Formatter):
    """A log line without a traceback."""

    def format(self, record: logging.LogRecord) -> str:
        return " ".join(f"{record.name} - {record.levelname} - {record.getMessage()}".split())


def dask_setup(worker: Any) -> None:
    """Preload of the workers of a cluster the run starts (``local:N``), whose output is the
    run's terminal: Ctrl-C is the run's to handle (it closes the cluster), and the workers'
    Dask log messages (a closing scheduler's lost connections) stay off the terminal but
    CRITICAL ones, one line each."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_OneLine())
    handler.setLevel(logging.CRITICAL)
    for name in ("distributed", "tornado", "asyncio"):
        logger = logging.getLogger(name)
        for h in list(logger.handlers):
            logger.removeHandler(h)
        logger.addHandler(handler)
        logger.propagate = False
    for name, logger in list(logging.Logger.manager.loggerDict.items()):
        if name.startswith(("distributed.", "tornado.")) and isinstance(logger, logging.Logger):
            for h in list(logger.handlers):
                logger.removeHandler(h)
            logger.propagate = True


@contextlib.contextmanager
def _sigint_blocked() -> Iterator[None]:
    """SIGINT blocked in this thread, and so in the threads started meanwhile (the cluster's
    event loop) and the processes they start (its workers, also those that replace a dead
    one): a Ctrl-C at the terminal reaches the run alone. A Ctrl-C meanwhile is delivered
    when the block ends."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(
        signal, "pthread_sigmask"
    ):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


# --- in the run's process --------------------------------------------------------------------


class DaskPool(Pool):
    """:class:`~evolearn.experiment.workers.Pool` on the workers of a Dask cluster.

    ``scheduler`` is ``local:N``, a scheduler address or a scheduler file
    (:func:`~evolearn.experiment.workers.parse_scheduler`). A cluster this pool starts
    (``local:N``) ends with it.
    """

    def __init__(
        self,
        scheduler: str,
        shared: dict[str, np.ndarray] | None = None,
        log: Callable[[str], None] | None = None,
    ):
        self.log = log or (lambda message: None)
        self.restarts = 0
        self.scheduler = scheduler
        self._shared_local = SharedArrays(dict(shared or {}))
        self._cluster = None
        self._client = None
        self._plugin: str | None = None
        self._counting = True
        self._logging = _DaskLogging.forward_to(self.log)
        try:
            kind, value = parse_scheduler(scheduler) or ("", None)
            if kind == "local":
                with _sigint_blocked():
                    self._cluster = distributed.LocalCluster(
                        n_workers=value,
                        threads_per_worker=1,
                        processes=True,
                        dashboard_address=None,
                        worker_dashboard_address=None,
                        silence_logs=logging.ERROR,
                        preload=[__name__],
                    )
                    self._client = distributed.Client(self._cluster, set_as_default=False)
            else:
                self._client = _connect(kind, value)
            self._quiet_event_loop()
            with self._connection():
                self._remove_plugins_of_runs_that_are_gone()
                token = f"{self._client.id}-{uuid.uuid4().hex[:8]}"
                name = PLUGIN_PREFIX + token
                self._client.register_plugin(
                    SharedArraysPlugin(token, dict(self._shared_local)), name=name
                )
                self._plugin, self._token = name, token
                self.log(self._describe(self._slots_by_host()))
        except ClusterLost as err:  # before the run started: nothing to resume
            self.close()
            raise ClusterUnreachable(str(err)) from None
        except BaseException:
            self.close()
            raise

    # --- the cluster ---------------------------------------------------------------------

    def _quiet_event_loop(self) -> None:
        """The asyncio errors of the client's event loop (printed by asyncio with a traceback
        when a task's error is never retrieved) as one line in the run's log while the pool
        is open, dropped after; the AllExit of an interrupted ``gather`` (its way to stop
        waiting) always."""
        loop = getattr(self._client.loop, "asyncio_loop", None)
        if loop is None:
            return
        pool = self

        def handle(loop, context: dict) -> None:
            error = context.get("exception")
            if isinstance(error, distributed.client.AllExit) or pool._logging is None:
                return
            text = str(context.get("message", ""))
            if error is not None:
                text += f": {type(error).__name__}: {error}"
            logging.getLogger("distributed.client").warning("%s", " ".join(text.split()))

        loop.set_exception_handler(handle)

    @contextlib.contextmanager
    def _connection(self) -> Iterator[None]:
        """Turn the errors of a scheduler that went away into :class:`ClusterLost`."""
        try:
            yield
        except (CommClosedError, OSError, TimeoutError, CancelledError) as err:
            lost = isinstance(err, CommClosedError) or "scheduler-connection-lost" in str(err)
            if not (lost or self._client.status != "running"):
                raise
            reason = "scheduler-connection-lost" if lost else fallback_reason(err)
            raise ClusterLost(
                f"the connection to the Dask scheduler {self.scheduler} was lost ({reason}); "
                f"the run stops"
            ) from None

    def _slots_by_host(self) -> dict[str, int]:
        """The task slots (worker threads) of each machine of the cluster now; waits for a
        worker when there is none (batch jobs that ended: new ones may come)."""
        workers = self._client.scheduler_info(n_workers=-1)["workers"]
        if not workers:
            self.log(f"The Dask scheduler {self.scheduler} has no workers; waiting for one.")
            self._client.wait_for_workers(1)
            workers = self._client.scheduler_info(n_workers=-1)["workers"]
        slots: dict[str, int] = {}
        for address, info in workers.items():
            host = get_address_host(address)
            slots[host] = slots.get(host, 0) + int(info["nthreads"])
        return slots

    @property
    def num_workers(self) -> int:
        """The task slots of the cluster now (the sum of its workers' ``nthreads``)."""
        with self._connection():
            return sum(self._slots_by_host().values())

    def num_chunks(self, num_networks: int, varying_cost: bool = False) -> int:
        return max(1, (CHUNKS_PER_SLOT if varying_cost else 1) * self.num_workers)

    def _describe(self, slots: dict[str, int]) -> str:
        size = sum(a.nbytes for a in self._shared_local.values()) / 1e6
        data = f"; the shared arrays ({size:.1f} MB) are on every worker" if size else ""
        workers = len(self._client.scheduler_info(n_workers=-1)["workers"])
        return (
            f"Dask cluster {self._client.scheduler.address} ({self.scheduler}): "
            f"{workers} workers on {len(slots)} machine(s), {sum(slots.values())} task slots"
            f"{data}."
        )

    def _remove_plugins_of_runs_that_are_gone(self) -> None:
        """The shared arrays of runs whose client is gone (killed before closing) leave the
        workers and the scheduler."""

        def stale(dask_scheduler, prefix):  # runs on the scheduler (pickled by value)
            return [
                name
                for name in dask_scheduler.worker_plugins
                if name.startswith(prefix)
                and name[len(prefix) :].rsplit("-", 1)[0] not in dask_scheduler.clients
            ]

        for name in self._client.run_on_scheduler(stale, prefix=PLUGIN_PREFIX):
            self._client.unregister_worker_plugin(name)
            self.log(f"Removed the shared arrays of a run that is gone ({name}) from the workers.")

    @property
    def shared(self) -> SharedArrays:
        return self._shared_local

    # --- the work ------------------------------------------------------------------------

    def map(self, fn: Callable[[SharedArrays, Any], Any], chunks: Sequence[Any]) -> list[Any]:
        chunks = list(chunks)
        if not chunks:
            return []
        futures: list = []
        try:
            with self._connection():
                slots = self._slots_by_host()
                name = f"evolearn-{fn.__name__}-{uuid.uuid4().hex[:12]}"
                futures = [
                    self._client.submit(
                        run_on_dask_worker,
                        fn,
                        self._token,
                        slots,
                        chunk,
                        key=f"{name}-{i}",
                        pure=False,
                    )  # fmt: skip
                    for i, chunk in enumerate(chunks)
                ]
                return self._client.gather(futures)  # a task's own error comes out as raised
        except distributed.KilledWorker as err:
            raise WorkerFailure(
                f"Dask workers died more than distributed.scheduler.allowed-failures times "
                f"while evaluating the same chunk of work ({err}); the run stops."
            ) from None
        finally:
            self._count_lost_workers(futures)

    def _count_lost_workers(self, futures: list) -> None:
        """Count (and log) the workers that died while running any of ``futures``."""
        keys = [f.key for f in futures]
        for f in futures:
            f.release()
        if not keys or not self._counting or self._client.status != "running":
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
        except (CommClosedError, OSError, TimeoutError, CancelledError):
            return  # the scheduler went away: the next call says so
        except Exception as err:  # a scheduler that runs no functions sent to it
            self._counting = False
            self.log(f"Dask worker deaths cannot be counted on this scheduler ({err}).")
            return
        if lost:
            self.restarts += len(lost)
            self.log(
                f"{len(lost)} Dask worker(s) died while evaluating ({', '.join(map(str, lost))}); "
                f"the scheduler gave their work to other workers."
            )

    def terminate(self) -> None:
        """Nothing to stop: the chunks of an interrupted call are released when the call
        ends (the scheduler cancels those not started), and the workers stay."""

    def close(self) -> None:
        client, cluster, self._client, self._cluster = self._client, self._cluster, None, None
        try:
            if client is not None:
                if self._plugin is not None and client.status == "running":
                    client.unregister_worker_plugin(self._plugin)
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
            self._logging.close()
            self._logging = None


def _connect(kind: str, value: str) -> distributed.Client:
    """A Client of the running scheduler at ``value`` (an address or a scheduler file)."""
    if kind == "file":
        address = _scheduler_file_address(value)
    else:
        address = value
    # Dask's client uses one timeout for connecting and reconnecting: a short one, tried again
    # until CONNECT_TIMEOUT_S.
    deadline = time.monotonic() + CONNECT_TIMEOUT_S
    while True:
        try:
            return distributed.Client(address, timeout=RECONNECT_S, set_as_default=False)
        except (OSError, TimeoutError) as err:
            if time.monotonic() + RECONNECT_S > deadline:
                error = err
                break
    raise ClusterUnreachable(
        f"scheduler: no Dask scheduler answered at {address} within {CONNECT_TIMEOUT_S} s "
        f"({type(error).__name__}). Start one (dask scheduler) and its workers (dask worker "
        f"ADDRESS), or use --scheduler local:N for a cluster on this machine."
    )


def _scheduler_file_address(path: str) -> str:
    """The scheduler's address in a scheduler file (ClusterUnreachable if it has none)."""
    try:
        with open(path, encoding="utf-8") as f:
            address = json.load(f).get("address")
    except FileNotFoundError:
        raise ClusterUnreachable(
            f"scheduler: the scheduler file {path} does not exist (dask scheduler "
            f"--scheduler-file {path} writes it)."
        ) from None
    except (OSError, ValueError, AttributeError) as err:
        raise ClusterUnreachable(
            f"scheduler: {path} is not a scheduler file ({fallback_reason(err)})."
        ) from None
    if not isinstance(address, str) or parse_scheduler(address) is None:
        raise ClusterUnreachable(f"scheduler: the scheduler file {path} names no address.")
    return address


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


class _DaskLogging:
    """The warnings of Dask's loggers in this process go to the logs of the open pools, one
    line each, instead of tracebacks on the console, while any pool is open.

    Dask gives ``distributed`` and some of its children (``distributed.client``) handlers of
    their own: while a pool is open the children pass their records up instead, and
    ``distributed`` forwards them. The loggers are restored when the last pool closes.
    """

    _open: list[_DaskLogging] = []
    _saved: list = []

    def __init__(self, handler: logging.Handler):
        self.handler = handler

    @classmethod
    def forward_to(cls, log: Callable[[str], None]) -> _DaskLogging:
        top = logging.getLogger("distributed")
        if not cls._open:
            loggers = [top] + [
                logger
                for name, logger in logging.Logger.manager.loggerDict.items()
                if name.startswith("distributed.") and isinstance(logger, logging.Logger)
            ]
            cls._saved = [(lg, list(lg.handlers), lg.propagate, lg.level) for lg in loggers]
            for logger in loggers:
                for h in list(logger.handlers):
                    logger.removeHandler(h)
                logger.propagate = logger is not top
                if logger.level and logger.level < logging.WARNING:
                    logger.setLevel(logging.WARNING)
            top.setLevel(logging.WARNING)
        forwarding = cls(_ForwardToLog(log))
        top.addHandler(forwarding.handler)
        cls._open.append(forwarding)
        return forwarding

    def close(self) -> None:
        logging.getLogger("distributed").removeHandler(self.handler)
        self._open.remove(self)
        if not self._open:
            for logger, handlers, propagate, level in self._saved:
                for h in handlers:
                    logger.addHandler(h)
                logger.propagate = propagate
                logger.setLevel(level)
            self._saved.clear()
