"""Finding the shared file the way sd_listen_fds_with_names(3) does (FORMAT.md section 1)."""
from typing import MutableMapping

from ._errors import AttachError

SD_LISTEN_FDS_START = 3
SHARED_FD_NAME = "SHM_SHARED_FD"
_RUN_HINT = ("start the program under the host: shm-host -- <command>, "
             "or pass standalone=True to attach() to run without persistence")


def _digits(text: str) -> bool:
    return text != "" and all("0" <= ch <= "9" for ch in text)


def find_shared_fd(env: "MutableMapping[str, str]", pid: int) -> int:
    """The descriptor passed as SHM_SHARED_FD: LISTEN_PID must be ``pid``, the
    descriptors start at 3, LISTEN_FDNAMES names each (colon-separated).
    Without LISTEN_FDNAMES no descriptor has our name: NO_SUCH_NAME.
    Raises AttachError (NO_SHARED_FILE, PID_MISMATCH, BAD_ENVIRONMENT, NO_SUCH_NAME)."""
    listen_pid, listen_fds, names = env.get("LISTEN_PID"), env.get("LISTEN_FDS"), env.get("LISTEN_FDNAMES")
    if listen_fds is None or listen_pid is None:
        raise AttachError("NO_SHARED_FILE", f"no shared memory file was passed to this process (LISTEN_FDS is not set): {_RUN_HINT}")
    if not _digits(listen_pid) or int(listen_pid) != pid:
        raise AttachError("PID_MISMATCH", f"LISTEN_PID={listen_pid} is not this process ({pid}): the shared file was meant for another process; {_RUN_HINT}")
    if not _digits(listen_fds) or int(listen_fds) < 1:
        raise AttachError("BAD_ENVIRONMENT", f"LISTEN_FDS={listen_fds} passes no file descriptor: {_RUN_HINT}")
    count = int(listen_fds)
    listed = [] if names is None else names.split(":")
    if SHARED_FD_NAME not in listed[:count]:
        raise AttachError("NO_SUCH_NAME", f"none of the {count} passed file descriptors is named {SHARED_FD_NAME} (LISTEN_FDNAMES={names or ''}): {_RUN_HINT}")
    return SD_LISTEN_FDS_START + listed.index(SHARED_FD_NAME)


def unset_listen_environment(env: "MutableMapping[str, str]") -> None:
    """Removes LISTEN_PID, LISTEN_FDS, LISTEN_FDNAMES, LISTEN_PIDFDID (as libsystemd's unset_environment)."""
    for name in ("LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES", "LISTEN_PIDFDID"):
        env.pop(name, None)  # os.environ also unsets it in the process's C environment
