"""The record of what a run wrote into its folder, so that only that is ever removed.

Every file a run writes is listed, as a path relative to the run folder, in the folder's
``.evolearn-outputs``, one per line, appended (and flushed) when the file is first written: a run
killed at any moment leaves a complete record. ``--overwrite_output``, a start that fails before
its first result, and a restart of a run killed before its first checkpoint remove the recorded
files and the folders that become empty, nothing else: a file of the user's in the folder, even
one named like a run's (``notes.json``, ``checkpoints_old/``), stays.

A record may come with a folder from elsewhere; an entry that would lead outside the folder
(an absolute path, ``..``, a link) is never followed.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

from evolearn.errors import UserError

RECORD_FILE = ".evolearn-outputs"


def _inside(folder: Path, relative: str) -> Path | None:
    """``folder / relative`` if it names a path inside ``folder`` without a link on the way."""
    parts = PurePosixPath(relative).parts
    if not parts or PurePosixPath(relative).is_absolute() or ".." in parts:
        return None
    path = folder
    for part in parts:
        path = path / part
        if path.is_symlink():
            return None
    return path


class OutputRecord:
    """The ``.evolearn-outputs`` of a run folder, appended as the run writes."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        if (self.folder / RECORD_FILE).is_symlink():
            raise UserError(
                f"{self.folder / RECORD_FILE} is a link; a run's record must be a file of its "
                f"own folder."
            )
        self._known = set(recorded(self.folder) or ())

    def add(self, relative: str | os.PathLike) -> None:
        """Record ``relative`` (a file of the run, relative to the folder) once."""
        name = PurePosixPath(Path(relative)).as_posix()
        if name in self._known:
            return
        with open(self.folder / RECORD_FILE, "a", encoding="utf-8") as f:
            f.write(name + "\n")
            f.flush()
        self._known.add(name)


def recorded(folder: Path) -> list[str] | None:
    """The paths recorded in ``folder``'s record, in order; None when it has no record."""
    path = Path(folder) / RECORD_FILE
    if not path.is_file() or path.is_symlink():
        return None
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    return list(dict.fromkeys(line for line in lines if line.strip()))


def remove_recorded(folder: Path, keep: frozenset[str] = frozenset()) -> list[Path]:
    """Remove the files recorded in ``folder`` (but those in ``keep``), then the folders inside
    ``folder`` that this leaves empty, then the record itself unless something is kept.

    Returns what was removed. Entries that lead outside the folder are skipped.
    """
    folder = Path(folder)
    removed = []
    parents = set()
    names = recorded(folder) or []
    keep = frozenset(name for name in keep if name in names)  # only the run's own files
    for name in names:
        if name in keep:
            continue
        path = _inside(folder, name)
        if path is None or not (path.is_file() or path.is_symlink()):
            continue
        path.unlink()
        removed.append(path)
        parents.update(p for p in path.parents if folder in p.parents)
    for parent in sorted(parents, key=lambda p: len(p.parts), reverse=True):
        try:
            parent.rmdir()  # only when empty: a folder holding the user's files stays
            removed.append(parent)
        except OSError:
            pass
    record = folder / RECORD_FILE
    if record.is_symlink():
        return removed
    if keep:
        record.write_text("".join(f"{name}\n" for name in sorted(keep)), encoding="utf-8")
    else:
        record.unlink(missing_ok=True)
    return removed


class ToolOutputs:
    """The output folder of an analysis tool (``python -m evolearn.plot --out FIGDIR``).

    The folder may hold other files: a file the tool would write is written over only when
    the folder's record says a tool wrote it earlier; any other file of that name is a
    UserError, raised before anything is written when :meth:`claim` is called first for every
    name.
    """

    def __init__(self, folder: str | os.PathLike):
        self.folder = Path(folder)
        if self.folder.exists() and not self.folder.is_dir():
            raise UserError(f"--out {str(self.folder)!r} exists and is not a folder")
        self._ours = set(recorded(self.folder) or ())
        self._record: OutputRecord | None = None

    def claim(self, *names: str) -> None:
        """Check that every name may be written (UserError naming those that may not)."""
        taken = [n for n in names if (self.folder / n).exists() and n not in self._ours]
        if taken:
            raise UserError(
                f"--out {self.folder} already holds {', '.join(taken)}, which no evolearn tool "
                f"wrote there (its {RECORD_FILE} does not list them); choose another --out or "
                f"move them: nothing was written"
            )

    def path(self, name: str) -> Path:
        """``folder / name``, recorded as the tool's; its folder created."""
        self.claim(name)
        path = self.folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if self._record is None:
            self._record = OutputRecord(self.folder)
        self._record.add(name)
        self._ours.add(name)
        return path
