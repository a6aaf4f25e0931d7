"""Errors of the shm_host package: each has a ``code`` (the same names as the
Node and C clients) and a one-line message naming the problem and the fix."""
from typing import Optional


class ShmHostError(Exception):
    """Base of every error this package raises on purpose; ``code`` names the case."""

    code: str

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class AttachError(ShmHostError):
    """No usable shared file: ``code`` is NO_SHARED_FILE, PID_MISMATCH,
    NO_SUCH_NAME, BAD_ENVIRONMENT or BAD_FILE. A file whose bytes break the
    layout is BAD_FILE with the FormatError as ``__cause__`` (and ``format_error``)."""

    def __init__(self, code: str, message: str, format_error: "Optional[FormatError]" = None) -> None:
        super().__init__(code, message)
        self.format_error = format_error


class FormatError(ShmHostError, ValueError):
    """The file's bytes break the layout (docs/FORMAT.md section 2): ``code`` is
    TOO_SMALL, BAD_MAGIC, BAD_ENTRY_MASK, BAD_DATA_MASK, RINGS_DO_NOT_FIT,
    BAD_SLOT, BAD_RECORD_SET, BAD_CONFIG or BAD_DOUBLE_BUFFER."""


class ClosedError(ShmHostError, ValueError):
    """The state was closed: its memory is no longer mapped."""

    def __init__(self) -> None:
        super().__init__("CLOSED", "this shared state is closed")
