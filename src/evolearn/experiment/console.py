"""What a run shows on the terminal: progress bars, and log lines that pass through them.

On a terminal a run draws tqdm progress bars (on stderr) and prints its log lines (on stdout);
:class:`ConsoleHandler` writes a line through an open bar so that the two never run into each
other. Without a terminal (output redirected to a file, a test) a bar is a silent
:class:`QuietProgress`, so logs hold lines, not bar updates.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable, Iterator
from typing import Any


def stdout_is_terminal() -> bool:
    try:
        return sys.stdout.isatty()
    except (AttributeError, ValueError):  # replaced or closed stdout
        return False


class QuietProgress:
    """Stands in for a tqdm bar when stdout is not a terminal: same methods, no output."""

    def __init__(self, iterable: Iterable[Any] | None = None, total: int | None = None) -> None:
        self.iterable = iterable
        self.total = total
        self.n = 0

    def __iter__(self) -> Iterator[Any]:
        if self.iterable is None:
            raise TypeError("this progress bar was created with a total, not an iterable")
        for item in self.iterable:
            yield item
            self.n += 1

    def update(self, n: int = 1) -> None:
        self.n += n

    def set_postfix(self, ordered_dict: dict[str, Any] | None = None, **kwargs: Any) -> None:
        pass

    def close(self) -> None:
        pass

    def __enter__(self) -> QuietProgress:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def progress(iterable_or_total: Iterable[Any] | int, desc: str = "") -> Any:
    """A tqdm bar (on stderr) when stdout is a terminal, else a silent :class:`QuietProgress`.

    ``iterable_or_total`` is what to iterate over, or the number of steps for ``update``.
    """
    if isinstance(iterable_or_total, int):
        iterable, total = None, iterable_or_total
    else:
        iterable, total = iterable_or_total, None
    if stdout_is_terminal():
        from tqdm import tqdm

        return tqdm(iterable, total=total, desc=desc, dynamic_ncols=True)
    return QuietProgress(iterable, total)


class ConsoleHandler(logging.StreamHandler):
    """Messages on stdout; while a progress bar is on the terminal, written through it (the
    bar is cleared, the line printed, the bar drawn again), so that the two never run into
    each other on one line. Records logged with ``console=False`` are left to the log file."""

    def __init__(self) -> None:
        super().__init__(sys.stdout)

    def emit(self, record: logging.LogRecord) -> None:
        if not getattr(record, "console", True):
            return
        tqdm = sys.modules.get("tqdm")
        if tqdm is not None and getattr(tqdm.tqdm, "_instances", None):
            try:
                tqdm.tqdm.write(self.format(record), file=self.stream)
            except Exception:
                self.handleError(record)
            return
        super().emit(record)
