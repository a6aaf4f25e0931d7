"""shm_host: a child's side of shm-host, in Python (standard library only).

The host passes a shared memory file; the child commits records into it with a
protocol that makes no system call and never waits, and reads its latest record
back after a crash. docs/FORMAT.md in the shm-host repository is the contract.

    import shm_host

    with shm_host.attach() as state:           # fd 3 per LISTEN_*; configures or resumes
        last = state.latest()                  # bytes of the latest record, or None
        counter = int.from_bytes(last, "little") if last else 0
        counter += 1
        offset = state.commit(counter.to_bytes(8, "little"))  # safe from a crash of this process
        state.wait_durable(offset, timeout=5)  # ... and of the host or machine once True
"""
from ._attach import attach, default_config
from ._double_buffer import DoubleBuffer, Version
from ._errors import AttachError, ClosedError, FormatError, ShmHostError
from ._listen import SD_LISTEN_FDS_START, SHARED_FD_NAME, find_shared_fd, unset_listen_environment
from ._format import Layout
from ._state import Record, SharedState

__all__ = [
    "attach", "default_config", "DoubleBuffer", "AttachError", "ClosedError", "FormatError", "ShmHostError",
    "SD_LISTEN_FDS_START", "SHARED_FD_NAME", "find_shared_fd", "unset_listen_environment", "Layout",
    "Record", "SharedState", "Version",
]
