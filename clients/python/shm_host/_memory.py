"""8-byte words of the shared mapping, and the fences the commit protocol needs.

CPython stores an item of a memoryview cast to 'Q' with one fixed-size 8-byte
memcpy (Objects/memoryobject.c, PACK_SINGLE), which C compilers emit as a
single 8-byte move; at an 8-aligned address that is a single-copy atomic
store on x86-64 and arm64, and loads likewise. Between two such stores the
interpreter runs opaque C calls, so the compiler cannot reorder them.

The CPU can, on weakly ordered machines. x86-64 keeps stores in program
order (TSO), so ``fence`` does nothing there. Elsewhere (arm64) ``fence``
releases and re-acquires a private POSIX spin lock through ctypes: glibc
implements unlock as a release store and lock as an acquire exchange, and
an arm64 release followed by an acquire orders everything before it against
everything after it, which is the full barrier FORMAT.md section 3 asks for.
(The arm64 path is not exercised by this project's CI machines, which are x86-64.)
"""
import os
import sys
from typing import Any, Callable, Optional

if sys.byteorder != "little":
    raise ImportError("shm_host needs a little-endian machine: the shared layout is little-endian")

MACHINE = os.uname().machine.lower()
ORDERED_STORES = MACHINE in ("x86_64", "amd64")
if not ORDERED_STORES and MACHINE not in ("aarch64", "arm64"):
    raise ImportError(f"shm_host supports x86-64 and arm64 (64-bit atomic words, known ordering); this machine is {MACHINE}")

# ctypes is loaded on first use (a futex wait, or the arm64 fence), so that a
# child that never waits does not pay for importing it at start-up.
_libc: Optional[Any] = None
_timespec: Optional[Any] = None


def _c() -> Any:
    global _libc, _timespec
    if _libc is None:
        import ctypes

        class Timespec(ctypes.Structure):
            _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]

        _timespec = Timespec
        _libc = ctypes.CDLL(None, use_errno=True)
        _libc.syscall.restype = ctypes.c_long
    return _libc


def _no_fence() -> None:
    return None


def _spin_lock_fence() -> Callable[[], None]:
    import ctypes
    libc = _c()
    lock = ctypes.c_int(0)
    ref = ctypes.byref(lock)
    libc.pthread_spin_init(ref, 0)
    libc.pthread_spin_lock(ref)
    unlock, relock = libc.pthread_spin_unlock, libc.pthread_spin_lock

    def fence() -> None:
        unlock(ref)
        relock(ref)

    fence.lock = lock  # type: ignore[attr-defined]  # keeps the lock alive
    return fence


fence: Callable[[], None] = _no_fence if ORDERED_STORES else _spin_lock_fence()

# futex(2): FUTEX_WAIT without FUTEX_PRIVATE_FLAG, so that the host's wake
# through its own mapping of the same file reaches us.
_SYS_FUTEX = 202 if ORDERED_STORES else 98
FUTEX_WAIT = 0


def word_address(mapped: Any, offset: int) -> Any:
    """A ctypes object over the 4-byte word at ``offset`` of ``mapped`` (it holds an
    export of the mapping until dropped); ``address_of`` gives its address."""
    import ctypes
    return ctypes.c_uint32.from_buffer(mapped, offset)


def address_of(word: Any) -> int:
    import ctypes
    return ctypes.addressof(word)


def futex_wait(address: int, expected: int, timeout_s: float) -> None:
    """Sleeps while the 4-byte word at ``address`` holds ``expected``, at most
    ``timeout_s`` seconds (a wake, a changed word, a signal or the timeout end
    it; the caller re-checks). Raises OSError on any other failure."""
    import ctypes

    libc = _c()
    ts = _timespec(int(timeout_s), int((timeout_s % 1) * 1e9))
    r = libc.syscall(ctypes.c_long(_SYS_FUTEX), ctypes.c_void_p(address), ctypes.c_int(FUTEX_WAIT),
                     ctypes.c_uint32(expected), ctypes.byref(ts), None, ctypes.c_int(0))
    if r != 0:
        err = ctypes.get_errno()
        if err not in (11, 110, 4):  # EAGAIN (the word changed), ETIMEDOUT, EINTR
            raise OSError(err, f"futex wait failed: {os.strerror(err)}")
