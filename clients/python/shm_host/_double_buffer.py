"""Double buffering in the tail (FORMAT.md section 6): keep state too big for a
record in the tail so that neither a crash of this process nor a snapshot that
copied a half while it was rewritten leaves the program without an intact version.

Format 2, written from now on, byte for byte the Node and C clients' format: each
half starts with a 48-byte header, and the committed record is a copy of the
header of the half it names: "SHMDBUF2", u64 region (tail offset), u64 capacity
(bytes per half, header included), u64 version, u64 length, u32 half, u32 CRC-32
of the 44 bytes before it followed by the version's bytes. Format 1 (a 32-byte
record "SHMDBUF1", version, length, half, CRC-32 of the bytes; no headers) is
still read."""
import struct
import zlib
from typing import Any, NamedTuple, Optional

from ._errors import FormatError
from ._state import SharedState, _as_bytes

HEADER_SIZE = 48
_V2 = struct.Struct("<8sQQQQII")
_V1 = struct.Struct("<8sQQII")
_PREFIX = b"SHMDBUF"


class Version(NamedTuple):
    """A version read back: its number, a view of its bytes in the tail (valid while
    the state is open and until the next write), and ``recovered``: True when the
    half the latest record names did not hold that version intact (a snapshot copied
    it while it was rewritten) and this is the newest intact version of either half."""
    version: int
    data: memoryview
    recovered: bool = False


class _Header(NamedTuple):
    format: int
    region: int
    capacity: int
    version: int
    length: int
    half: int
    crc: int


def _checksum(head: Any, data: Any) -> int:
    return zlib.crc32(data, zlib.crc32(head[:HEADER_SIZE - 4]))


def _header(region: int, capacity: int, version: int, half: int, data: Any) -> bytes:
    head = _V2.pack(b"SHMDBUF2", region, capacity, version, len(data), half, 0)
    return head[:HEADER_SIZE - 4] + struct.pack("<I", _checksum(head, data))


class DoubleBuffer:
    """Two halves of ``capacity`` bytes each at tail[offset, offset + 2 * capacity),
    each a 48-byte header and up to ``capacity - 48`` bytes of a version. write()
    puts the new version and its header into the half that does not hold the
    current version, then commits a copy of the header as a record; read() returns
    the version the latest record names when its half still holds it, else the
    newest intact version in either half. The record must be the state's latest (a
    program that also commits records of its own keeps their meaning in the buffer)."""

    def __init__(self, state: SharedState, capacity: int, offset: int = 0) -> None:
        tail = state.layout.tail_size
        if capacity < 1 or offset < 0 or offset + 2 * capacity > tail:
            raise ValueError(f"a double buffer of 2 x {capacity} bytes at tail offset {offset} does not fit the {tail}-byte tail")
        if capacity <= HEADER_SIZE:
            raise ValueError(f"a double-buffer half of {capacity} bytes cannot hold its {HEADER_SIZE}-byte header and a version")
        self.state, self.capacity, self.offset = state, capacity, offset
        self.max_version_size = capacity - HEADER_SIZE
        # (stream offset of the latest record then, next version, half holding the
        # current one) after this object's last write or read: while that record is
        # still the latest, write() needs no checksum pass.
        self._known: Optional[tuple] = None

    def _half(self, index: int) -> memoryview:
        start = self.offset + index * self.capacity
        return self.state.tail[start:start + self.capacity]

    def _record(self, data: Optional[bytes]) -> Optional[_Header]:
        if data is None or data[:7] != _PREFIX or len(data) < 8:
            return None
        tag = data[7:8]
        if tag == b"1" and len(data) == _V1.size:
            _, version, length, half, crc = _V1.unpack(data)
            if half > 1 or length > self.capacity:
                raise FormatError("BAD_DOUBLE_BUFFER", f"the latest double-buffer record names half {half} of {length} bytes, the halves hold at most {self.capacity}")
            return _Header(1, -1, -1, version, length, half, crc)
        if tag == b"2" and len(data) == HEADER_SIZE:
            h = _Header(2, *_V2.unpack(data)[1:])
            if (h.region, h.capacity) != (self.offset, self.capacity):
                raise FormatError("BAD_DOUBLE_BUFFER", f"the latest record belongs to a double buffer of 2 x {h.capacity} bytes at tail offset {h.region}, not 2 x {self.capacity} at {self.offset}: open it as it was written")
            if h.half > 1 or h.length > self.max_version_size:
                raise FormatError("BAD_DOUBLE_BUFFER", f"the latest double-buffer record names half {h.half} of {h.length} bytes, the halves hold at most {self.max_version_size}")
            return h
        if b"3" <= tag <= b"9":
            raise FormatError("BAD_DOUBLE_BUFFER", f"the latest record is a double-buffer record of format {tag.decode()}, which this client does not read: upgrade the shm-host client")
        return None

    def _intact(self, index: int) -> Optional[_Header]:
        half = self._half(index)
        head = bytes(half[:HEADER_SIZE])
        if head[:8] != b"SHMDBUF2":
            return None
        h = _Header(2, *_V2.unpack(head)[1:])
        if h.region != self.offset or h.capacity != self.capacity or h.half != index or h.length > self.max_version_size:
            return None
        return h if _checksum(head, half[HEADER_SIZE:HEADER_SIZE + h.length]) == h.crc else None

    def _locate(self, rec: _Header) -> Optional[tuple]:
        """(version, half, start, length, recovered) of the version to read, or None."""
        if rec.format == 1:
            data = self._half(rec.half)[:rec.length]
            return (rec.version, rec.half, 0, rec.length, False) if zlib.crc32(data) == rec.crc else None
        own = self._intact(rec.half)
        if own is not None and own[3:] == rec[3:]:
            return (own.version, own.half, HEADER_SIZE, own.length, False)
        other = self._intact(rec.half ^ 1)
        best = own if own is not None and (other is None or own.version > other.version) else other
        return None if best is None else (best.version, best.half, HEADER_SIZE, best.length, True)

    def read(self) -> Optional[Version]:
        """The current version, or None when the latest record is not a double-buffer
        record. FormatError BAD_DOUBLE_BUFFER when the record is of another geometry or
        a newer format, or when no half holds an intact version (one line each)."""
        self._known = None
        latest = self.state.latest_record()
        rec = self._record(None if latest is None else latest.data)
        if latest is None or rec is None:
            return None
        found = self._locate(rec)
        if found is None:
            if rec.format == 1:
                raise FormatError("BAD_DOUBLE_BUFFER", f"version {rec.version} of the double buffer (format 1, written by an older client) does not match its checksum: a snapshot copied its half while it was rewritten, and format 1 keeps no second version to fall back on")
            raise FormatError("BAD_DOUBLE_BUFFER", f"neither half of the double buffer at tail offset {self.offset} holds an intact version: the latest record names version {rec.version} in half {rec.half} (a snapshot copied both halves while they were rewritten)")
        version, half, start, length, recovered = found
        self._known = (latest.offset, max(version, rec.version) + 1, half)
        return Version(version, self._half(half)[start:start + length], recovered)

    def write(self, data: Any) -> int:
        """Writes ``data`` (bytes-like, at most ``capacity - 48`` bytes) as the next
        version into the half that does not hold the current one and commits its
        record; returns the record's stream offset (for wait_durable). ValueError when
        too big; FormatError as read() for a record of another geometry or format."""
        if type(data) is not bytes and type(data) is not bytearray:
            data = _as_bytes(data)
        if len(data) > self.max_version_size:
            raise ValueError(f"{len(data)} bytes do not fit a double-buffer half of {self.capacity} bytes (at most {self.max_version_size} after its {HEADER_SIZE}-byte header)")
        latest = self.state.latest_record()
        known = self._known
        if latest is not None and known is not None and known[0] == latest.offset:
            version, target = known[1], known[2] ^ 1
        else:
            rec = self._record(None if latest is None else latest.data)
            found = None if rec is None else self._locate(rec)
            if rec is None:
                # A new series: a header left in half 1 by an earlier one must never
                # be taken for a version of this one.
                version, target = 1, 0
                self._put(1, bytes(HEADER_SIZE), 0)
            elif found is None:
                version, target = rec.version + 1, rec.half ^ 1
            else:
                version, target = max(found[0], rec.version) + 1, found[1] ^ 1
        self._put(target, data, HEADER_SIZE)
        header = _header(self.offset, self.capacity, version, target, data)
        self._put(target, header, 0)
        offset = self.state.commit(header)
        self._known = (offset, version + 1, target)
        return offset

    def _put(self, index: int, data: Any, at: int) -> None:
        half = self._half(index)
        try:
            half[at:at + len(data)] = data
        finally:
            half.release()
