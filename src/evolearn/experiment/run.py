"""The output folder of one run, and the reporters that write into it.

A :class:`Run` owns the folder ``params.out_dir``::

    out_dir/
        params.yaml            the merged parameters
        log.txt                everything logged to the console
        tensorboard_summary/   tensorboard event files (tensorboardX)
        ...                    whatever the script writes at run.path(name)

Use it as a context manager::

    with Run.create(params) as run:
        run.log("generation 1")
        run.scalar("best/reward", reward, step=1)
        run.mark_started()      # from now on the folder holds results worth keeping

If the run stops with a :class:`~evolearn.errors.UserError` before :meth:`Run.mark_started`,
the half-written folder is removed again (when this run created it; otherwise only the files
this run wrote, as its ``.evolearn-outputs`` records them: :mod:`evolearn.experiment.outputs`),
so a mistake never leaves a folder behind that would block the corrected run.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
import traceback
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
import yaml

from evolearn.errors import Interrupted, ParamError, UserError, WorkerFailure
from evolearn.experiment.checkpoint import (
    CHECKPOINT_FILE,
    LEGACY_CHECKPOINT_FILE,
    TEMPORARY_CHECKPOINT_FILE,
    check_resumable,
    load_checkpoint,
)
from evolearn.experiment.console import ConsoleHandler, progress
from evolearn.experiment.devices import visible_cuda_devices
from evolearn.experiment.folder_lock import FolderLock
from evolearn.experiment.outputs import RECORD_FILE, OutputRecord, recorded, remove_recorded
from evolearn.experiment.parsing import Params

#: Name of the logger every message of a run goes through; modules of the package log to
#: its children (``logging.getLogger(__name__)``), which reach the console and log.txt too.
LOGGER_NAME = "evolearn"

#: Files a run writes directly into its folder: in a folder given with --overwrite_output they
#: must be the earlier run's (recorded), never someone else's that would be written over.
RUN_FILES = (
    "params.yaml",
    "log.txt",
    "results_summary.csv",
    "population.csv.bz2",
    "checkpoint.npz",
    "checkpoint.pkl",
    "champion.json",
    "champion_trained.json",
    "network.json",
)
PARAMS_FILE = "params.yaml"
#: Options a run's params.yaml leaves out: where the run is, is the folder itself, so that a new
#: run started from the file never writes into (or, with --overwrite_output, replaces) this one.
NOT_STORED = ("out_dir", "resume")
PARAMS_FILE_HEADER = (
    "# The parameters of the {script} run in this folder. A run started with this file goes\n"
    "# to a new folder (give --out_dir); to continue this one:\n"
    "#   python {script} {folder}/params.yaml --resume {folder}\n"
)


def stored_params(params: Params) -> dict[str, Any]:
    """What a run's params.yaml holds: its parameters but :data:`NOT_STORED`."""
    return {k: v for k, v in params.to_dict().items() if k not in NOT_STORED}


def read_params_file(path: Path) -> dict[str, Any]:
    """The parameters in a run's ``params.yaml`` (UserError if it cannot be read)."""
    try:
        saved = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as err:
        raise UserError(f"{path} cannot be read ({err}).") from None
    if not isinstance(saved, dict):
        raise UserError(f"{path} does not hold a run's parameters.")
    return saved


LOG_FILE = "log.txt"
TENSORBOARD_DIR = "tensorboard_summary"


def _files_in(folder: Path) -> list[str]:
    """Every file and link under ``folder``, relative to it (links to folders not followed)."""
    found = []
    for root, dirs, files in os.walk(folder):
        here = Path(root).relative_to(folder)
        links = [d for d in dirs if (Path(root) / d).is_symlink()]
        found.extend((here / name).as_posix() for name in [*files, *links])
    return sorted(found)


def _unrecorded_event_file(name: str) -> bool:
    """A tensorboard event file: tensorboardX names it as it creates it, so a run killed in
    that instant leaves it unrecorded. It is never removed, but it does not make a folder
    someone else's."""
    parts = name.split("/")
    return len(parts) == 2 and parts[0] == TENSORBOARD_DIR and _is_event_file(parts[1])


def _is_event_file(name: str) -> bool:
    """Whether a file name in the tensorboard folder is an event file's."""
    return name.startswith("events.")


def _no_checkpoint_yet(folder: Path, names: list[str]) -> bool:
    """Whether the run recorded in ``folder`` never completed a checkpoint.

    The record names ``checkpoint.npz`` before the first one is written, so a run killed while
    writing it (its ``checkpoint.npz.tmp`` there, or nothing recorded after the two) has none;
    a ``checkpoint.npz`` recorded and missing otherwise was lost, and the run's results must
    not be replaced.
    """
    if any((folder / name).exists() for name in (CHECKPOINT_FILE, LEGACY_CHECKPOINT_FILE)):
        return False
    if CHECKPOINT_FILE not in names:
        return True
    if (folder / TEMPORARY_CHECKPOINT_FILE).is_file():
        return True
    after = names[names.index(CHECKPOINT_FILE) + 1 :]
    return set(after) <= {TEMPORARY_CHECKPOINT_FILE}


def _nothing_written_yet(folder: Path) -> bool:
    """Whether ``folder`` holds nothing but a run's record and a part of its params.yaml: a
    start stopped before it wrote its parameters (a run writes them first)."""
    return set(_files_in(folder)) <= {RECORD_FILE, PARAMS_FILE + ".tmp"}


def _script_of(folder: Path, default: str) -> str:
    """The script of the run in ``folder``: the first line of its log names it."""
    log = folder / LOG_FILE
    if log.is_file():
        first = log.read_text(encoding="utf-8", errors="replace").split("\n", 1)[0].strip()
        return first or default
    return default


def params_markdown(params: Params) -> str:
    """The parameters as a markdown table ``|param|value|`` (shown by tensorboard's text tab)."""
    rows = [f"|{name}|{value}|" for name, value in params.items()]
    return "\n".join(["|param|value|", "|-|-|", *rows])


class _StrictFileHandler(logging.FileHandler):
    """A log file handler whose failed writes (a full disk) raise instead of printing a
    traceback and going on, so the run stops with a clear error."""

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 (logging's name)
        raise  # re-raises the OSError being handled


_WRITER_THREAD_ERRORS: list[BaseException] = []
_previous_excepthook = threading.excepthook


def _record_writer_thread_error(args: threading.ExceptHookArgs) -> None:
    """Errors of tensorboard's writer thread are kept and raised by Run.flush (in the main
    thread, as a clear error), instead of a traceback printed by a dying thread."""
    if type(args.thread).__name__ == "_EventLoggerThread" and isinstance(args.exc_value, OSError):
        _WRITER_THREAD_ERRORS.append(args.exc_value)
    else:
        _previous_excepthook(args)


def _install_writer_thread_hook() -> None:
    """Route the writer thread's errors to :func:`_record_writer_thread_error`: done when the
    first run folder is opened, not on import (importing the toolkit changes no process-wide
    state)."""
    global _previous_excepthook
    if threading.excepthook is not _record_writer_thread_error:
        _previous_excepthook = threading.excepthook
        threading.excepthook = _record_writer_thread_error


def _raise_writer_thread_error() -> None:
    if _WRITER_THREAD_ERRORS:
        raise _WRITER_THREAD_ERRORS.pop()


def _sync_tensorboard(writer: Any) -> None:
    """Write every queued tensorboard event to disk before returning.

    tensorboardX's ``flush()`` leaves events in the queue of its writer thread, so a kill right
    after it can lose the last events although a checkpoint says they were written. Here the
    writer thread is stopped (it drains its queue first), the file flushed, and a new thread
    started on the same queue and file. Falls back to ``flush()`` where tensorboardX's
    internals differ.
    """
    try:
        from tensorboardX.event_file_writer import _EventLoggerThread

        for file_writer in writer.all_writers.values():
            events = file_writer.event_writer
            events._worker.stop()
            events._ev_writer.flush()
            events._worker = _EventLoggerThread(
                events._event_queue, events._ev_writer, events._flush_secs
            )
            events._worker.start()
    except (ImportError, AttributeError):
        writer.flush()


def event_file_suffix(existing) -> str:
    """The end of a new tensorboard event file's name, after the files ``existing`` in its
    folder: ``.0000`` for a new run's, ``.0001`` for its first resume's, and so on.

    tensorboardX names the file by the second it opens it and the host, and opens it for
    writing: a resume that starts in the same second as the killed run it continues would
    replace that run's file with its own. The counter keeps the names new, and in the order
    the files were written (tensorboard reads a folder's files in the order of their names).
    """
    count = sum(1 for path in existing if _is_event_file(Path(path).name))
    return f".{count:04d}"


def summary_writer_class():
    """tensorboardX's ``SummaryWriter``, imported without torch where torch is not loaded yet:
    tensorboardX imports torch only to name its tensor type in annotations, and a run that
    computes with numpy would pay two seconds for it."""
    if "torch" in sys.modules:
        from tensorboardX import SummaryWriter

        return SummaryWriter
    sys.modules["torch"] = None  # "import torch" raises ImportError, which tensorboardX takes
    try:
        from tensorboardX import SummaryWriter
    finally:
        del sys.modules["torch"]
    return SummaryWriter


class Run:
    """One run's output folder, log and tensorboard writer. Create with :meth:`create`.

    While it is open the run holds its folder (:class:`FolderLock`): a second run or resume
    in the same folder is refused until it closes.
    """

    def __init__(
        self,
        params: Params,
        script_name: str,
        out_dir: Path,
        created: bool,
        lock: FolderLock | None = None,
    ) -> None:
        self.params = params
        self.script_name = script_name
        self.out_dir = out_dir
        self.logger = logging.getLogger(LOGGER_NAME)
        self.writer: Any = None
        self._created = created
        self._started = False
        self._closed = False
        self._handlers: list[logging.Handler] = []
        self._saved_logger_state = (self.logger.level, self.logger.propagate)
        self.resume_state: dict | None = None
        self._lock = lock or FolderLock(None)
        self.outputs = OutputRecord(out_dir)
        #: Recorded files a failed start leaves in place (a restart's params.yaml).
        self._keep: frozenset[str] = frozenset()
        _install_writer_thread_hook()

    # ----------------------------------------------------------------------------------------
    # creation and teardown

    @classmethod
    def create(cls, params: Params, script_name: str | None = None) -> Run:
        """Prepare ``params.out_dir`` and open the log and the tensorboard writer.

        The folder must not exist or be empty; otherwise, with ``params.overwrite_output``
        the toolkit's own outputs in it are removed (nothing else), and without it a
        ParamError is raised and the folder is left untouched. A folder whose run was stopped
        before its first checkpoint (killed as it started: the folder holds nothing but what
        its record lists) is taken over without ``overwrite_output`` by the same command
        (:meth:`_take_over`).
        """
        script_name = script_name or params.script
        if params.get("resume"):
            # the run's folder is where it continues, whatever out_dir says
            params = params.replace(out_dir=str(params.resume))
            return cls._resume(params, script_name)
        out_dir = Path(params.out_dir)
        created = not out_dir.exists()
        lock = FolderLock(None)
        note = None
        if not created:
            lock = FolderLock.acquire(out_dir) if out_dir.is_dir() else lock
            try:
                overwrite = bool(params.get("overwrite_output", False))
                note = cls._clear_existing(out_dir, overwrite, params, script_name)
            except BaseException:
                lock.release()
                raise
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise ParamError(
                f"out_dir {str(out_dir)!r} cannot be created: {err.strerror or err}; "
                f"choose another --out_dir."
            ) from None
        if created:
            lock = FolderLock.acquire(out_dir)
        return cls._start(params, script_name, out_dir, created, lock, note)

    @classmethod
    def _start(
        cls,
        params: Params,
        script_name: str,
        out_dir: Path,
        created: bool,
        lock: FolderLock,
        note: str | None = None,
    ) -> Run:
        """Open a new run in ``out_dir`` (empty, or holding only files that are not a run's)
        and log ``note`` after its header."""
        run = cls(params, script_name, out_dir, created, lock)
        try:
            run._open()
            if note:
                run.log(note)
        except BaseException:
            run.close()
            run._discard()
            raise
        return run

    @classmethod
    def _resume(cls, params: Params, script_name: str) -> Run:
        """Reopen the folder of an interrupted run: append to its log, tensorboard files and
        results; ``run.resume_state`` holds its checkpoint. A run killed before its first
        checkpoint starts again in its folder (:meth:`_restart`)."""
        out_dir = Path(params.resume)
        if not out_dir.is_dir():
            raise ParamError(f"resume: {str(out_dir)!r} is not a run folder.")
        lock = FolderLock.acquire(out_dir)
        try:
            return cls._resume_locked(params, script_name, out_dir, lock)
        except BaseException:
            lock.release()  # idempotent: a run that was opened released it already
            raise

    @classmethod
    def _resume_locked(
        cls, params: Params, script_name: str, out_dir: Path, lock: FolderLock
    ) -> Run:
        if not any(
            (out_dir / name).is_file() for name in (CHECKPOINT_FILE, LEGACY_CHECKPOINT_FILE)
        ):
            names = recorded(out_dir)
            if names is None and not any(out_dir.iterdir()):
                # killed as it made the folder: the parameters given start the run
                return cls._start(
                    params, script_name, out_dir, False, lock,
                    f"{out_dir} was empty: the run was stopped right after it made the folder, "
                    f"before it wrote anything. It starts now, with the parameters given.",
                )  # fmt: skip
            if names is not None and PARAMS_FILE not in names and _nothing_written_yet(out_dir):
                remove_recorded(out_dir)  # its record, a part of its params.yaml
                return cls._start(
                    params, script_name, out_dir, False, lock,
                    f"The run in {out_dir} was stopped as it started, before it wrote its "
                    f"{PARAMS_FILE}. It starts now, with the parameters given.",
                )  # fmt: skip
            if names is None or PARAMS_FILE not in names:
                raise ParamError(
                    f"resume: {str(out_dir)!r} holds no checkpoint and no record of a run "
                    f"({PARAMS_FILE} in its .evolearn-outputs), so it is not a run folder this "
                    f"version can continue; nothing was touched."
                )
            if not _no_checkpoint_yet(out_dir, names):
                raise UserError(
                    f"resume: the run in {out_dir} wrote a checkpoint, but {CHECKPOINT_FILE} is "
                    f"missing; put it back to continue the run (nothing was touched). Starting "
                    f"the run again would replace its results."
                )
            return cls._restart(params, script_name, out_dir, lock)
        state = load_checkpoint(out_dir, params)
        run = cls(params, script_name, out_dir, created=False, lock=lock)
        run.resume_state = state
        run._started = True  # the folder holds results: never remove it
        try:
            run._open(resume_step=state["generation"] + 1)
        except BaseException:
            run.close()
            raise
        return run

    @classmethod
    def _restart(cls, params: Params, script_name: str, out_dir: Path, lock: FolderLock) -> Run:
        """Start afresh, in its own folder, a run that was killed before its first checkpoint.

        The folder must hold the run's ``params.yaml``, and ``params`` must fit it as for a
        checkpoint; what the killed start wrote (its log, tensorboard files, results, but its
        ``params.yaml``) is removed, nothing else, and the run begins at generation 1: the same
        seed gives the run that was never interrupted.
        """
        saved_params = out_dir / PARAMS_FILE
        if not saved_params.is_file():
            if _nothing_written_yet(out_dir):  # killed before its params.yaml was renamed
                remove_recorded(out_dir)
                return cls._start(
                    params, script_name, out_dir, False, lock,
                    f"The run in {out_dir} was stopped as it started, before it wrote its "
                    f"{PARAMS_FILE}. It starts now, with the parameters given.",
                )  # fmt: skip
            raise ParamError(
                f"resume: {str(out_dir)!r} has no checkpoint, and the {PARAMS_FILE} of its run "
                f"is missing; put it back to start the run again in it (nothing was touched)."
            )
        try:
            saved = read_params_file(saved_params)
        except UserError as err:
            raise UserError(f"resume: {err}") from None
        check_resumable(out_dir, _script_of(out_dir, script_name), saved, params)
        remove_recorded(out_dir, keep=frozenset({PARAMS_FILE}))
        run = cls(params, script_name, out_dir, created=False, lock=lock)
        run._keep = frozenset({PARAMS_FILE})  # a failed restart leaves the run resumable
        try:
            run._open(write_params=False)
        except BaseException:
            run.close()
            raise
        every = params.get("checkpoint_every", 1)
        run.log(
            f"No checkpoint in {out_dir}: the run was stopped before its first checkpoint (one "
            f"is written every {every} generation(s)), so it starts again from the beginning "
            f"(same seed, same run)."
        )
        return run

    @staticmethod
    def _clear_existing(
        out_dir: Path, overwrite: bool, params: Params, script_name: str
    ) -> str | None:
        """Make room for a new run in the existing ``out_dir``; returns what to log about it."""
        if not out_dir.is_dir():
            raise ParamError(
                f"out_dir {str(out_dir)!r} exists and is not a folder; choose another --out_dir."
            )
        if not any(out_dir.iterdir()):
            return None
        if not overwrite:
            note = Run._take_over(out_dir, params, script_name)
            if note is not None:
                return note
            raise ParamError(
                f"out_dir {str(out_dir)!r} exists and is not empty; pass --overwrite_output "
                f"to replace the run in it (only the files that run wrote are removed) or "
                f"choose another --out_dir."
            )
        if recorded(out_dir) is not None:
            remove_recorded(out_dir)
        # What is left is not a run's: a file of those names would be written over.
        in_the_way = [name for name in RUN_FILES if (out_dir / name).exists()]
        if in_the_way:
            raise ParamError(
                f"out_dir {str(out_dir)!r} holds {', '.join(in_the_way)}, which no run recorded "
                f"as its own (.evolearn-outputs): --overwrite_output removes only what a run "
                f"recorded, and a new run would write over these. Choose another --out_dir, or "
                f"move them yourself."
            )
        return None

    @staticmethod
    def _take_over(out_dir: Path, params: Params, script_name: str) -> str | None:
        """Remove what an earlier start of this run left in ``out_dir`` when it was stopped
        before its first checkpoint, and say so; None (touching nothing) when the folder
        holds anything else.

        Taken over is a folder holding only files its record lists (and a tensorboard event
        file being created at the kill), no checkpoint, and either no ``params.yaml`` and
        nothing but a part of one (the start was stopped before it wrote its parameters) or a
        ``params.yaml`` that ``params`` fits as for ``--resume``: starting again from the
        beginning gives that run, and nothing else is lost.
        """
        names = recorded(out_dir)
        if names is None or not _no_checkpoint_yet(out_dir, names):
            return None
        known = {*names, RECORD_FILE}
        if any(n not in known and not _unrecorded_event_file(n) for n in _files_in(out_dir)):
            return None
        if _nothing_written_yet(out_dir):
            remove_recorded(out_dir)
            return (
                f"A start of a run in {out_dir} was stopped before it wrote its {PARAMS_FILE}; "
                f"this run takes the folder over."
            )
        saved = out_dir / PARAMS_FILE
        if PARAMS_FILE not in names or not saved.is_file():
            return None
        try:
            check_resumable(
                out_dir, _script_of(out_dir, script_name), read_params_file(saved), params
            )
        except UserError:  # another run's parameters (or unreadable): not ours to replace
            return None
        remove_recorded(out_dir)
        return (
            f"The run started earlier in {out_dir} with these parameters was stopped before "
            f"its first checkpoint; it starts again from the beginning (same seed, same run)."
        )

    def _open(self, resume_step: int | None = None, write_params: bool = True) -> None:
        if resume_step is None and write_params:
            # Atomically: a run killed while writing it leaves no half a params.yaml behind
            # (--resume reads the run's parameters from it).
            tmp = self.path(PARAMS_FILE + ".tmp")
            with open(tmp, "w", encoding="utf-8") as f:
                # the folder relative to the working directory, where the command is run
                folder = os.path.relpath(self.out_dir)
                f.write(PARAMS_FILE_HEADER.format(script=self.script_name, folder=folder))
                yaml.safe_dump(stored_params(self.params), f, sort_keys=False)
            os.replace(tmp, self.path(PARAMS_FILE))

        console = ConsoleHandler()
        mode = "w" if resume_step is None else "a"
        log_file = _StrictFileHandler(self.path(LOG_FILE), mode=mode, encoding="utf-8")
        for handler in (console, log_file):
            handler.setFormatter(logging.Formatter("%(message)s"))
            self.logger.addHandler(handler)
            self._handlers.append(handler)
        self.logger.setLevel(logging.INFO)
        # The run's handlers show every message once; a root handler would print it again.
        self.logger.propagate = False

        SummaryWriter = summary_writer_class()

        # On resume, tensorboard drops what the interrupted run wrote after its checkpoint.
        events = self.out_dir / TENSORBOARD_DIR
        before = set(events.iterdir()) if events.is_dir() else set()
        self.writer = SummaryWriter(
            str(events),
            flush_secs=30,
            purge_step=resume_step,
            filename_suffix=event_file_suffix(before),
        )
        # The writer names its event file itself: record what it created.
        self.record(*(p.relative_to(self.out_dir) for p in sorted(set(events.iterdir()) - before)))
        if resume_step is None:
            self._log_header()
            self.writer.add_text("params", params_markdown(self.params), 0)
        else:
            self.log(
                f"Resumed {self.script_name} at {datetime.now():%Y-%m-%d %H:%M:%S} from the "
                f"checkpoint of generation {resume_step - 1} ({os.cpu_count()} CPU cores)"
            )

    def _log_header(self) -> None:
        self.log(self.script_name)
        self.log(f"Started: {datetime.now():%Y-%m-%d %H:%M:%S}")
        self.log(f"CPU cores: {os.cpu_count()}")
        self.log(f"CUDA devices: {visible_cuda_devices()}")
        self.log(f"Output folder: {self.out_dir}")
        if self.params.params_file is not None:
            self.log(f"Parameter file: {self.params.params_file}")
        self.log("Parameters:")
        for name, value in self.params.items():
            self.log(f"  {name}: {value}")
        for note in self.params.notes:
            self.log(f"Note: {note}")
        if self.params.ignored:
            self.log(
                f"Note: {self.script_name} does not use these keys of the parameter file, "
                f"they are ignored: {', '.join(self.params.ignored)}"
            )

    def mark_started(self) -> None:
        """Say that the folder now holds results: from now on a failure keeps the folder."""
        self._started = True

    def flush(self) -> None:
        """Put everything reported so far on disk (before a checkpoint is written).

        Raises the OSError of a failed write (a full disk), also one that happened in
        tensorboard's writer thread.
        """
        if self.writer is not None:
            _sync_tensorboard(self.writer)
            _raise_writer_thread_error()
        for handler in self._handlers:
            handler.flush()

    def close(self) -> None:
        """Flush and close the tensorboard writer and the log file, and release the folder
        (idempotent).

        Never raises for a failed write: closing runs while another error (a full disk) is
        already on its way to the user.
        """
        if self._closed:
            return
        self._closed = True
        try:
            self._close_writers()
        finally:
            self._lock.release()

    def _close_writers(self) -> None:
        if self.writer is not None:
            with contextlib.suppress(OSError):
                self.writer.flush()
                self.writer.close()
        for handler in self._handlers:
            self.logger.removeHandler(handler)
            with contextlib.suppress(OSError):
                handler.close()
        self._handlers.clear()
        self.logger.setLevel(self._saved_logger_state[0])
        self.logger.propagate = self._saved_logger_state[1]

    def _discard(self) -> None:
        """Remove what this run wrote: the whole folder if this run created it."""
        if not self.out_dir.is_dir():
            return
        remove_recorded(self.out_dir, keep=self._keep)
        if self._created:  # the folder this run made, unless someone put files into it since
            with contextlib.suppress(OSError):
                self.out_dir.rmdir()

    def __enter__(self) -> Run:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool:
        # Interrupted and WorkerFailure come after the run said how to resume: keep the folder.
        stopped = isinstance(exc, Interrupted | WorkerFailure)
        discard = isinstance(exc, UserError) and not stopped and not self._started
        self.close()
        if discard:
            self._discard()
        elif exc is not None and not stopped:  # a stopped run logged its message itself
            self._append_error_to_log(exc)
        return False

    def _append_error_to_log(self, exc: BaseException) -> None:
        # The console shows the error through main_wrapper (or Python); the log file needs it.
        if isinstance(exc, UserError):
            text = f"error: {exc}\n"
        elif isinstance(exc, KeyboardInterrupt):
            text = "interrupted\n"
        else:
            text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        try:
            with open(self.path(LOG_FILE), "a", encoding="utf-8") as f:
                f.write(text)
        except OSError:
            pass

    # ----------------------------------------------------------------------------------------
    # reporters

    def path(self, name: str | os.PathLike, *, atomic: bool = False) -> Path:
        """``out_dir / name``, a file the run is about to write: recorded as the run's
        (:mod:`evolearn.experiment.outputs`), its folder created. ``atomic``: the file is
        written as ``name.tmp`` first and renamed (network files, tables cut on resume), so
        that name is recorded too: a kill in between leaves nothing unrecorded."""
        if atomic:
            self.record(f"{name}.tmp")
        self.record(name)
        path = self.out_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def record(self, *names: str | os.PathLike) -> None:
        """Record files (relative to the run folder) as written by this run."""
        for name in names:
            self.outputs.add(name)

    def log(self, msg: object, *, console: bool = True) -> None:
        """Print ``msg`` on stdout and append it to log.txt (only the latter without
        ``console``: a message the console gets as an error instead)."""
        self.logger.info(str(msg), extra={"console": console})

    def scalar(self, tag: str, value: float, step: int) -> None:
        self.writer.add_scalar(tag, float(value), step)

    def histogram(self, tag: str, values: Any, step: int) -> None:
        self.writer.add_histogram(tag, np.asarray(values, dtype=np.float64), step)

    def progress(self, iterable_or_total: Iterable[Any] | int, desc: str = "") -> Any:
        """See :func:`evolearn.experiment.console.progress`."""
        return progress(iterable_or_total, desc)
