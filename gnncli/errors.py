"""The project's exception types.

Domain code raises these; only the CLI layer turns them into a red line and an exit code.
"""

from __future__ import annotations


class GnnError(Exception):
    """An error a user can act on. ``exit_code`` is what the command exits with."""

    exit_code: int = 1


class InputError(GnnError):
    """Bad data: a file that is missing, empty, malformed or unusable for the task."""

    exit_code = 1


class UsageError(GnnError):
    """Options that do not fit together, or a value out of range."""

    exit_code = 2


class CheckpointError(GnnError):
    """A run folder or checkpoint that is missing, corrupt or incompatible."""

    exit_code = 1


class OutputError(GnnError):
    """An output that cannot be written: a missing or read-only folder, a full disk, a folder
    where a file was expected. The message names the path as the user gave it."""

    exit_code = 1
