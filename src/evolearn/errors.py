"""Errors caused by what the user asked for, as opposed to bugs.

Every script catches :class:`UserError`, prints its message as one paragraph on stderr and
exits with code 2, without a traceback.
"""


class UserError(Exception):
    """A problem with the user's input or environment that the user can fix."""

    exit_code = 2


class ParamError(UserError):
    """A parameter file or command-line option is missing, malformed or out of range."""


class DataError(UserError):
    """A dataset cannot be found, downloaded or read."""


class Interrupted(UserError):
    """The run was stopped by Ctrl-C or SIGTERM after writing a checkpoint."""

    exit_code = 130


class WorkerFailure(UserError):
    """Worker processes kept dying; the run stopped after writing a checkpoint."""

    exit_code = 3

    #: What the resume command needs on top of ``--resume`` (none for dying workers).
    resume_options = ""


class ClusterLost(WorkerFailure):
    """The Dask scheduler went away during the run; it stopped after writing a checkpoint."""

    resume_options = (
        " --scheduler none (to go on with this machine's worker processes, --num_workers N; "
        "or --scheduler ADDRESS for another cluster)"
    )


class ClusterUnreachable(UserError):
    """No Dask scheduler answers at the address (or scheduler file) given."""
