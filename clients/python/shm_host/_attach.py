"""attach(): find the shared file, map it, configure or validate it, resume."""
import mmap
import os
import stat
from typing import MutableMapping, Optional, Tuple, Union

from ._errors import AttachError, FormatError
from ._format import (
    DATA_MASK_AT, ENTRY_MASK_AT, MAGIC, MAGIC_AT, PAGE, WRITE_OFFSET_AT, layout_of, plan_layout,
)
from ._listen import find_shared_fd, unset_listen_environment
from ._memory import fence
from ._state import SharedState

STANDALONE_SIZE = 16 * 1024 * 1024
_MIN_FILE = 3 * PAGE


def _floor_pow2(n: int) -> int:
    return 1 << (max(1, n).bit_length() - 1)


def default_config(size: int, slots: Optional[int] = None, ring_size: Optional[int] = None) -> Tuple[int, int]:
    """(slots, ring_size) for an unconfigured file of ``size`` bytes: a ring of about
    1/8 of the file (4 KiB to 4 MiB) and one slot per 64 ring bytes (2 to 4096)."""
    ring = ring_size if ring_size is not None else min(4 << 20, max(4096, _floor_pow2(size // 8)))
    s = slots if slots is not None else min(4096, max(2, _floor_pow2(ring // 64)))
    return s, ring


def _shared_fd(fd: Optional[int], standalone: Union[bool, int], env: "MutableMapping[str, str]") -> Tuple[int, bool]:
    if fd is not None:
        return fd, False
    try:
        return find_shared_fd(env, os.getpid()), False
    except AttachError as err:
        if err.code != "NO_SHARED_FILE" or not standalone:
            raise
    size = STANDALONE_SIZE if standalone is True else int(standalone)
    own = os.memfd_create("shm-host-standalone", os.MFD_CLOEXEC)
    os.ftruncate(own, size)
    return own, True


def _file_size(fd: int) -> int:
    try:
        st = os.fstat(fd)
    except OSError as err:
        raise AttachError("BAD_FILE", f"file descriptor {fd} is not open ({os.strerror(err.errno or 0)}): the shared file was not passed to this process; start it with shm-host -- <command>") from None
    if not stat.S_ISREG(st.st_mode):
        raise AttachError("BAD_FILE", f"file descriptor {fd} is not a file: the shared file was not passed to this process; start it with shm-host -- <command>")
    return st.st_size


def attach(fd: Optional[int] = None, *, unset_environment: bool = False, slots: Optional[int] = None,
           ring_size: Optional[int] = None, standalone: Union[bool, int] = False,
           env: "Optional[MutableMapping[str, str]]" = None) -> SharedState:
    """Attaches to the shared memory file the host passed (fd 3 by systemd's
    LISTEN_FDS convention: LISTEN_PID must be this process, LISTEN_FDNAMES must
    name it SHM_SHARED_FD), configures it if no writer ever did, validates it as
    untrusted input, and resumes after its latest record.

    ``fd``: use this descriptor instead of the environment. ``unset_environment``:
    remove LISTEN_* after reading them. ``slots``, ``ring_size`` (powers of two,
    ring in bytes): the geometry when this attach configures the file; a configured
    file keeps its own. ``standalone``: with no file passed, run on a private memfd
    (True: 16 MiB, an int: that many bytes) that does not survive the process.
    ``env``: the environment to read (default os.environ).

    Raises AttachError (``code`` NO_SHARED_FILE, PID_MISMATCH, NO_SUCH_NAME,
    BAD_ENVIRONMENT, BAD_FILE; a file whose bytes break the layout is BAD_FILE
    caused by a FormatError), TypeError/ValueError for bad options.
    """
    if fd is not None and (not isinstance(fd, int) or isinstance(fd, bool) or fd < 0):
        raise TypeError(f"fd must be a file descriptor number, got {fd!r}")
    for name, v in (("slots", slots), ("ring_size", ring_size)):
        if v is not None and (not isinstance(v, int) or v < 1 or v & (v - 1)):
            raise ValueError(f"{name} must be a power of two, got {v!r}")
    if not isinstance(standalone, bool) and (not isinstance(standalone, int) or standalone < _MIN_FILE):
        raise ValueError(f"standalone must be True or a size of at least {_MIN_FILE} bytes, got {standalone!r}")
    environ = os.environ if env is None else env
    fd, owned = _shared_fd(fd, standalone, environ)
    if unset_environment:
        unset_listen_environment(environ)
    mapped = None
    try:
        size = _file_size(fd)
        if size < _MIN_FILE:
            raise AttachError("BAD_FILE", f"the shared file on fd {fd} has {size} bytes, too small for a header, an entry ring and a data ring (at least {_MIN_FILE}): give the host a larger --size")
        try:
            mapped = mmap.mmap(fd, size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
        except OSError as err:
            raise AttachError("BAD_FILE", f"cannot map the shared file on fd {fd} read-write ({os.strerror(err.errno or 0)}): it must be a memory file opened read-write, as shm-host passes it") from None
        try:
            return _open(fd, mapped, size, owned, slots, ring_size)
        except FormatError as err:
            raise AttachError("BAD_FILE", f"the shared file on fd {fd} cannot be used: {err}", err) from err
    except BaseException:
        if mapped is not None:
            mapped.close()
        if owned:
            os.close(fd)
        raise


def _open(fd: int, mapped: mmap.mmap, size: int, owned: bool, slots: Optional[int], ring_size: Optional[int]) -> SharedState:
    header = memoryview(mapped)[:PAGE].cast("Q")
    try:
        magic = header[MAGIC_AT // 8]
        if magic == 0:
            s, r = default_config(size, slots, ring_size)
            layout = plan_layout(size, s, r)
            header[ENTRY_MASK_AT // 8] = s - 1
            header[DATA_MASK_AT // 8] = r - 1
            header[WRITE_OFFSET_AT // 8] = 0
            fence()
            header[MAGIC_AT // 8] = MAGIC  # last: whoever sees the magic sees the rest
            write_offset = 0
        elif magic != MAGIC:
            raise FormatError("BAD_MAGIC", f"not a shm-host file: magic is {magic:#x}, expected {MAGIC:#x}")
        else:
            fence()
            layout = layout_of(size, header[ENTRY_MASK_AT // 8], header[DATA_MASK_AT // 8])
            write_offset = header[WRITE_OFFSET_AT // 8]
    finally:
        header.release()
    return SharedState(fd, mapped, layout, write_offset, owned)
