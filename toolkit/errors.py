"""Typed errors whose messages name the problem and the fix, and the one way to print one on a line.

Every error the CLI can report derives from ToolkitError; its `exit_code` is the
process exit status the CLI returns (documented in README.md).
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_PARITY_FAILED = 1
EXIT_USAGE = 2
EXIT_EXPORT_FAILED = 3
EXIT_INTERRUPTED = 130


class ToolkitError(Exception):
    """Base class: a failure the user can act on; str(error) is one line."""

    exit_code = EXIT_USAGE


class UsageError(ToolkitError):
    """Bad arguments: unknown model, target, runtime or option."""


class ModelLoadError(ToolkitError):
    """A model file is missing, unreadable, unsafe or needs custom objects."""


class InputsError(ToolkitError):
    """An --inputs or --calibration file does not match the model's inputs."""


class OutputLocationError(ToolkitError):
    """The output folder cannot be written, or an artifact exists without --force."""


class ExportError(ToolkitError):
    """A converter failed or the artifact it wrote does not load in its runtime."""

    exit_code = EXIT_EXPORT_FAILED


class UnsupportedOpError(ExportError):
    """The model uses an op the target lacks and no exact rewrite exists."""


class RuntimeUnavailableError(ToolkitError):
    """A runtime cannot start here (for example Node packages or a GPU missing)."""

    exit_code = EXIT_EXPORT_FAILED


class InferenceError(ToolkitError):
    """A runtime loaded the artifact but refused or failed to run it (a kernel it lacks, a crash)."""

    exit_code = EXIT_PARITY_FAILED


class InferenceTimeoutError(InferenceError):
    """A runtime did not answer within its time limit; it was stopped."""


def one_line(error: BaseException, limit: int = 400) -> str:
    """`Type: message` on one line, at most `limit` characters of message: how every row reports an error."""
    return f"{type(error).__name__}: {' '.join(str(error).split())[:limit]}"


# How a failure reads in a result row, by kind: the row says which stage failed, then why.
FAILURE_KINDS = (
    (RuntimeUnavailableError, "unavailable", "runtime unavailable"),
    (InferenceTimeoutError, "timeout", "runtime timed out"),
    (InferenceError, "runtime", "runtime error"),
    (InputsError, "inputs", "bad inputs"),
    (ExportError, "export", "export failed"),
)


def describe_failure(error: BaseException) -> tuple[str, str]:
    """(kind, one line) for a row: kind is unavailable, timeout, runtime, inputs or export."""
    for error_type, kind, prefix in FAILURE_KINDS:
        if isinstance(error, error_type):
            return kind, f"{prefix}: {' '.join(str(error).split())[:400]}"
    return "runtime", f"runtime error: {one_line(error)}"
