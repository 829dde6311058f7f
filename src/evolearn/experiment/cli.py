"""The common entry point of the experiment scripts.

Each ``run-*.py`` ends with ``main_wrapper(main)``: a :class:`~evolearn.errors.UserError`
becomes one line on stderr and its exit code (2), Ctrl-C exits with 130, and a bug still
shows its traceback.
"""

from __future__ import annotations

import argparse
import errno
import re
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn

from evolearn.errors import ParamError, UserError

#: errno values of a write that failed because of the disk or the folder, not a bug.
WRITE_ERRNOS = frozenset(
    getattr(errno, name)
    for name in ("ENOSPC", "EDQUOT", "EFBIG", "EROFS", "EACCES", "EPERM", "EIO")
    if hasattr(errno, name)
)


def format_error(err: BaseException) -> str:
    """``error: <message>`` on one line: never wrapped, so that a path in it stays whole and a
    user can copy it, and so that what a message says does not depend on the terminal."""
    message = re.sub(r"\s*\n\s*", " ", str(err)).strip() or type(err).__name__
    return f"error: {message}"


def main_wrapper(
    main: Callable[[list[str]], int | None], argv: Sequence[str] | None = None
) -> NoReturn:
    """Run ``main(argv)`` (default: ``sys.argv[1:]``) and exit with its return value."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        code = main(args)
    except UserError as err:
        sys.stdout.flush()
        print(format_error(err), file=sys.stderr)
        sys.exit(err.exit_code)
    except OSError as err:
        if err.errno not in WRITE_ERRNOS:
            raise
        sys.stdout.flush()
        where = f" {err.filename}" if err.filename else ""
        message = (
            f"cannot write{where}: {err.strerror or err}. Free some space (or choose a writable "
            f"--out_dir); a run that had written a checkpoint continues from it with "
            f"'--resume OUT_DIR'."
        )
        print(format_error(message), file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        sys.stdout.flush()
        print("\ninterrupted", file=sys.stderr)
        sys.exit(130)
    sys.exit(0 if code is None else code)


class ToolHelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """``--help`` with each option's default once: ``(default: X)`` is added only to an option
    whose help does not already say its default, and whose default is a value (not None, not
    the False of a flag)."""

    def _get_help_string(self, action):
        text = action.help or ""
        if (
            "%(default)" in text
            or "(default" in text
            or action.default is None
            or action.default is False
        ):
            return text
        return super()._get_help_string(action)


class ToolParser(argparse.ArgumentParser):
    """argparse for the ``python -m evolearn.*`` tools: a usage error is a ParamError (one
    paragraph, exit code 2), not argparse's own exit; ``--help`` shows each default once
    (:class:`ToolHelpFormatter`)."""

    def __init__(self, *args, formatter_class=ToolHelpFormatter, **kwargs):
        super().__init__(*args, formatter_class=formatter_class, **kwargs)

    def error(self, message):
        raise ParamError(f"{message} (run '{self.prog} --help').")


def _int_at_least(text: str, low: int) -> int:
    value = int(text)
    if value < low:
        raise argparse.ArgumentTypeError(f"must be at least {low}, got {value}")
    return value


def positive_int(text: str) -> int:
    """An argparse type: an int of at least 1."""
    return _int_at_least(text, 1)


def non_negative_int(text: str) -> int:
    """An argparse type: an int of at least 0 (a seed)."""
    return _int_at_least(text, 0)


def scheduler_arg(text: str) -> str:
    """An argparse type: a ``--scheduler`` value (``local:N``, an address, a file, none)."""
    from evolearn.experiment.workers import SCHEDULER_FORMS, parse_scheduler

    try:
        parse_scheduler(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"must be {SCHEDULER_FORMS}; {err}") from None
    return text
