"""Typed errors whose messages name the problem and the fix.

Every error the CLI can report derives from ToolkitError; its `exit_code` is the
process exit status the CLI returns (documented in README.md).
"""

EXIT_OK = 0
EXIT_PARITY_FAILED = 1
EXIT_USAGE = 2
EXIT_EXPORT_FAILED = 3


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
