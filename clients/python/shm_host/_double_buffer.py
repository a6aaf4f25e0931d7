"""Double buffering in the tail (FORMAT.md section 6): keep state too big for a
record in the tail without ever leaving the only copy half-written."""
import struct
import zlib
from typing import Any, NamedTuple, Optional

from ._errors import FormatError
from ._state import SharedState, _as_bytes

# "SHMDBUF1", version, length, half, CRC-32 of the half's first `length` bytes.
_RECORD = struct.Struct("<8sQQII")
_MAGIC = b"SHMDBUF1"


class Version(NamedTuple):
    """The current version of a double buffer: its number and a view of its bytes
    in the tail (valid while the state is open and until the next write)."""
    version: int
    data: memoryview


class DoubleBuffer:
    """Two halves of ``capacity`` bytes each at tail[offset, offset + 2 * capacity).
    write() copies the new version into the half the latest record does not point
    at, then commits a 32-byte record pointing at it: a crash during the copy leaves
    the previous version and its record intact. The record must be the state's
    latest (a program that also commits other records keeps their meaning in it)."""

    def __init__(self, state: SharedState, capacity: int, offset: int = 0) -> None:
        tail = state.layout.tail_size
        if capacity < 1 or offset < 0 or offset + 2 * capacity > tail:
            raise ValueError(f"a double buffer of 2 x {capacity} bytes at tail offset {offset} does not fit the {tail}-byte tail")
        self.state, self.capacity, self.offset = state, capacity, offset

    def _current(self) -> Optional[tuple]:
        latest = self.state.latest()
        if latest is None or len(latest) != _RECORD.size or latest[:8] != _MAGIC:
            return None
        return _RECORD.unpack(latest)[1:]

    def read(self) -> Optional[Version]:
        """The current version, or None when the latest record is not one of ours.
        FormatError BAD_DOUBLE_BUFFER when the record or its half does not check
        (a snapshot copied the half while it was being rewritten)."""
        cur = self._current()
        if cur is None:
            return None
        version, length, half, crc = cur
        if half > 1 or length > self.capacity:
            raise FormatError("BAD_DOUBLE_BUFFER", f"the latest double-buffer record names half {half} of {length} bytes, the region has 2 halves of {self.capacity}")
        start = self.offset + half * self.capacity
        data = self.state.tail[start:start + length]
        if zlib.crc32(data) != crc:
            raise FormatError("BAD_DOUBLE_BUFFER", f"version {version} of the double buffer does not match its checksum: its half was written after its record (a snapshot copied it mid-write)")
        return Version(version, data)

    def write(self, data: Any) -> int:
        """Writes ``data`` (bytes-like, at most ``capacity`` bytes) as the next version
        and commits its record; returns the record's stream offset (for wait_durable)."""
        if type(data) is not bytes and type(data) is not bytearray:
            data = _as_bytes(data)
        if len(data) > self.capacity:
            raise ValueError(f"{len(data)} bytes do not fit a double-buffer half of {self.capacity} bytes")
        cur = self._current()
        half, version = (0, 1) if cur is None else ((cur[2] & 1) ^ 1, cur[0] + 1)
        start = self.offset + half * self.capacity
        tail = self.state.tail
        try:
            tail[start:start + len(data)] = data
        finally:
            tail.release()
        return self.state.commit(_RECORD.pack(_MAGIC, version, len(data), half, zlib.crc32(data)))
