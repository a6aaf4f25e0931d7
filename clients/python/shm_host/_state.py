"""The writer's side of one shared file (docs/FORMAT.md sections 3 to 6)."""
import mmap
import os
import time
from typing import Any, Callable, Dict, List, NamedTuple, Optional

from ._errors import ClosedError
from ._format import (
    DURABLE_OFFSET_AT, EXT_MAGIC, EXT_MAGIC_AT, REPLICA_MAGIC, REPLICA_MAGIC_AT, REPLICATED_OFFSET_AT,
    SNAPSHOT_SEQ_AT, U64_MAX, WRITE_OFFSET_AT,
    Layout, check_record_set, read_slot,
)
from ._memory import ORDERED_STORES, address_of, fence, futex_wait, word_address

# Longest single futex wait: a host that does not wake waiters is still
# noticed within this long (seconds).
_WAIT_SLICE_S = 0.02


class Record(NamedTuple):
    """A committed record read back: its stream offset and a copy of its bytes."""
    offset: int
    data: bytes


def _as_bytes(data: Any) -> Any:
    """``data`` as something of byte format that slice assignment takes, or TypeError.
    Any buffer (bytes, bytearray, memoryview, array.array, mmap) commits its raw bytes;
    str does not (encode it first), nor do ints, lists or other objects."""
    if isinstance(data, str):
        raise TypeError("commit() takes bytes, not str: encode the text first, e.g. text.encode('utf-8')")
    try:
        view = memoryview(data)
    except TypeError:
        raise TypeError(f"commit() takes a bytes-like object (bytes, bytearray, memoryview, array), got {type(data).__name__}") from None
    if not view.c_contiguous:
        raise TypeError("commit() takes a contiguous buffer; copy it first, e.g. bytes(view)")
    return view.cast("B") if view.format != "B" or view.ndim != 1 else view


class SharedState:
    """One attached shared file; its only writer. Use :func:`shm_host.attach`.

    Every offset is a stream offset (bytes since the stream began, an int
    below 2**64); every size is in bytes. A closed state raises ClosedError.
    """

    __slots__ = (
        "fd", "layout", "_map", "_buf", "_words", "_owns_fd", "_closed", "_ring", "_slots", "_mask",
        "_dmask", "_data_base", "_entry_word", "_w", "_latest", "_oldest", "_count", "_offsets",
        "_futex_words", "_lengths", "_first_length", "_fast", "_consts", "__weakref__",
    )

    def __init__(self, fd: int, mapped: mmap.mmap, layout: Layout, header_write_offset: int, owns_fd: bool) -> None:
        self.fd = fd
        self.layout = layout
        self._map = mapped
        self._buf = memoryview(mapped)
        self._words = self._buf[:layout.tail_base].cast("Q")
        # The same words as 4-byte halves; index of slot 0's length, low half.
        self._lengths = self._buf[:layout.tail_base].cast("I")
        self._first_length = layout.entry_base // 4 + 2
        self._fast = ORDERED_STORES and layout.ring_size <= 1 << 32
        self._owns_fd = owns_fd
        self._closed = False
        self._ring = layout.ring_size
        self._slots = layout.slots
        self._mask = layout.slots - 1
        self._dmask = layout.ring_size - 1
        self._data_base = layout.data_base
        self._entry_word = layout.entry_base // 8
        # ctypes words over the header's futex words, by byte position (durable_offset, replicated_offset).
        self._futex_words: Dict[int, Any] = {}
        # Each slot's offset as the writer last stored it (it is the only writer).
        try:
            self._offsets = [self._words[self._entry_word + 2 * i] for i in range(layout.slots)]
            self._resume(header_write_offset)
            # What the fast commit path reads, in one tuple (one attribute load),
            # with each slot's word indexes and successor looked up, not computed.
            n = layout.slots
            self._consts = (self._ring, n, self._dmask, self._data_base,
                            [self._entry_word + 2 * i for i in range(n)], [self._first_length + 4 * i for i in range(n)],
                            [(i + 1) & self._mask for i in range(n)], self._offsets, self._lengths, self._words, self._map)
        except BaseException:
            # Let attach() unmap: no view of the mapping may outlive a refusal.
            self._words.release()
            self._lengths.release()
            self._buf.release()
            raise

    def _resume(self, header_write_offset: int) -> None:
        """Resumes after the latest record or write_offset, whichever is further, and
        empties every valid slot outside the run that ends at the latest record."""
        words, layout = self._words, self.layout
        records = check_record_set(layout, [read_slot(words, layout, i, fence) for i in range(layout.slots)])
        self._latest, self._oldest, self._count, self._w = self._mask, 0, 0, header_write_offset
        if not records:
            return  # the first record goes to slot 0
        latest = records[-1]
        oldest, count, newer = latest.index, 1, latest
        while count < layout.slots:
            prev = read_slot(words, layout, (oldest - 1) & self._mask, fence)
            if prev.length == 0 or prev.offset + prev.length > newer.offset:
                break
            oldest, newer, count = prev.index, prev, count + 1
        run = {(oldest + k) & self._mask for k in range(count)}
        for r in records:
            if r.index not in run:
                words[self._entry_word + 2 * r.index + 1] = 0
        fence()
        self._latest, self._oldest, self._count = latest.index, oldest, count
        self._w = max(latest.offset + latest.length, header_write_offset)

    def _live(self) -> None:
        if self._closed:
            raise ClosedError()

    @property
    def max_record_size(self) -> int:
        """Bytes a record may have at most (the data ring size minus one)."""
        return self._ring - 1

    @property
    def write_offset(self) -> int:
        """Stream offset where the next record will start."""
        self._live()
        return self._w

    def commit(self, data: Any) -> int:
        """Commits ``data`` (bytes-like: its raw bytes) as one record and returns its
        stream offset. When it returns, the record survives a crash of this process.
        No system call, no wait. TypeError for str or a non-buffer (before any store),
        ValueError for 0 or more than ``max_record_size`` bytes, OverflowError past
        the end of the u64 stream, ClosedError after close()."""
        cls = type(data)
        if cls is not bytes and cls is not bytearray:
            data = _as_bytes(data)
        if not self._fast:  # also after close(): the general path refuses then
            return self._commit_general(data)
        # The fast path (x86-64, a ring below 4 GiB): stores are ordered, and a
        # length fits the low half of its word, whose high half is always 0, so
        # one 4-byte store of the low half is the whole 8-byte transition.
        # Written for CPython's speed: every attribute read once, few branches.
        n = len(data)
        w = self._w
        end = w + n
        ring, slots, dmask, data_base, offset_at, length_at, next_slot, offsets, lengths, words, mapped = self._consts
        if n == 0 or n >= ring or end > U64_MAX:
            self._refuse(n)
        count = self._count
        if count:
            # 2 and 3: empty, oldest first, each record about to be overwritten,
            # and the slot to reuse when every slot is in use.
            oldest = self._oldest
            limit = end - ring
            if count == slots or offsets[oldest] < limit:
                lengths[length_at[oldest]] = 0
                oldest = next_slot[oldest]
                count -= 1
                while count and offsets[oldest] < limit:
                    lengths[length_at[oldest]] = 0
                    oldest = next_slot[oldest]
                    count -= 1
                self._oldest = oldest
        slot = next_slot[self._latest]
        # 4: the bytes, across the ring's end if need be.
        pos = w & dmask
        at = data_base + pos
        if n <= ring - pos:
            mapped[at:at + n] = data
        else:
            self._wrap(at, pos, data)
        # 5: offset, then length: committed here. 6: write_offset.
        words[offset_at[slot]] = w
        lengths[length_at[slot]] = n
        words[3] = end
        offsets[slot] = w
        if not count:
            self._oldest = slot
        self._count = count + 1
        self._latest = slot
        self._w = end
        return w

    def _refuse(self, n: int) -> None:
        if n == 0 or n >= self._ring:
            raise ValueError(f"a record must hold 1 to {self._ring - 1} bytes (the data ring size minus one), got {n}")
        raise OverflowError(f"the record stream is exhausted: {n} more bytes would pass 2^64")

    def _wrap(self, at: int, pos: int, data: Any) -> None:
        first = self._ring - pos
        self._map[at:at + first] = data[:first]
        self._map[self._data_base:self._data_base + len(data) - first] = data[first:]

    def _commit_general(self, data: Any) -> int:
        """commit() with 8-byte stores and a fence wherever FORMAT.md section 3 needs
        ordering (weakly ordered machines, or a ring of 4 GiB or more)."""
        if self._closed:
            raise ClosedError()
        n = len(data)
        ring = self._ring
        if n == 0 or n >= ring:
            raise ValueError(f"a record must hold 1 to {ring - 1} bytes (the data ring size minus one), got {n}")
        w = self._w
        end = w + n
        if end > U64_MAX:
            raise OverflowError(f"the record stream is exhausted: {n} more bytes would pass 2^64")
        words, entry, count = self._words, self._entry_word, self._count
        offsets, limit, oldest, slots, mask = self._offsets, end - ring, self._oldest, self._slots, self._mask
        dropped = False
        while count and (offsets[oldest] < limit or count == slots):
            words[entry + 2 * oldest + 1] = 0
            oldest = (oldest + 1) & mask
            count -= 1
            dropped = True
        self._oldest = oldest
        if dropped:
            fence()  # the invalidations before any byte of the new record
        slot = (self._latest + 1) & mask
        pos = w & self._dmask
        at = self._data_base + pos
        first = min(n, ring - pos)
        self._map[at:at + first] = data[:first] if first < n else data
        if first < n:
            self._map[self._data_base:self._data_base + n - first] = data[first:]
        fence()
        words[entry + 2 * slot] = w
        fence()
        words[entry + 2 * slot + 1] = n
        fence()
        words[3] = end
        offsets[slot] = w
        if not count:
            self._oldest = slot
        self._count = count + 1
        self._latest = slot
        self._w = end
        return w

    def _copy(self, offset: int, length: int) -> bytes:
        pos = offset & self._dmask
        start = self._data_base + pos
        first = min(length, self._ring - pos)
        out = self._buf[start:start + first].tobytes()
        return out + self._buf[self._data_base:self._data_base + length - first].tobytes() if first < length else out

    def latest(self) -> Optional[bytes]:
        """A copy of the latest committed record, or None when there is none."""
        r = self.latest_record()
        return None if r is None else r.data

    def latest_record(self) -> Optional[Record]:
        """The latest record with its stream offset, or None."""
        self._live()
        if not self._count:
            return None
        s = read_slot(self._words, self.layout, self._latest, fence)
        return Record(s.offset, self._copy(s.offset, s.length))

    def records(self) -> List[Record]:
        """Every valid record, oldest first, as copies."""
        self._live()
        out = []
        for k in range(self._count):
            s = read_slot(self._words, self.layout, (self._oldest + k) & self._mask, fence)
            out.append(Record(s.offset, self._copy(s.offset, s.length)))
        return out

    @property
    def tail(self) -> memoryview:
        """The application's bytes after the data ring: a writable memoryview into the
        shared memory (writes land there directly; it is copied with every snapshot).
        While such a view is alive, close() cannot unmap the file and leaves that to
        the garbage collector, so a view never points at unmapped memory."""
        self._live()
        return self._buf[self.layout.tail_base:]

    def durable_offset(self) -> int:
        """End of the newest record the host has made durable on disk (0: none yet).
        Every record ending at or before it survives a crash of the host or machine."""
        self._live()
        words = self._words
        if words[EXT_MAGIC_AT // 8] != EXT_MAGIC:
            return 0
        fence()
        return words[DURABLE_OFFSET_AT // 8]

    def snapshot_seq(self) -> int:
        """Sequence number of a snapshot holding every record up to the
        durable_offset() read just before (0: none). FORMAT.md section 5."""
        self._live()
        words = self._words
        if words[EXT_MAGIC_AT // 8] != EXT_MAGIC:
            return 0
        fence()
        return words[SNAPSHOT_SEQ_AT // 8]

    def replicated_offset(self) -> int:
        """End of the newest record on the host's replica (``--replica``), off this
        machine: it survives the loss of the machine (0: none yet, or no replica).
        FORMAT.md section 5."""
        self._live()
        words = self._words
        if words[REPLICA_MAGIC_AT // 8] != REPLICA_MAGIC:
            return 0
        fence()
        return words[REPLICATED_OFFSET_AT // 8]

    def wait_durable(self, offset: int, timeout: Optional[float] = None) -> bool:
        """Waits until the record committed at stream ``offset`` (what commit()
        returned) is durable, i.e. durable_offset() > offset; at most ``timeout``
        seconds (None: no limit). Returns True once durable, False on timeout, like
        threading.Event.wait. Sleeps in futex(2) on durable_offset, which the host
        wakes after publishing it; costs nothing while nobody waits."""
        return self._wait_word(DURABLE_OFFSET_AT, self.durable_offset, offset, timeout)

    def wait_replicated(self, offset: int, timeout: Optional[float] = None) -> bool:
        """Waits until the record committed at stream ``offset`` is on the host's
        replica (``--replica``), off this machine, i.e. replicated_offset() > offset;
        at most ``timeout`` seconds (None: no limit). Returns True once replicated,
        False on timeout. Sleeps in futex(2) on replicated_offset, which the host
        wakes after publishing it (FORMAT.md section 10). Without a replica it
        never becomes True: pass a timeout."""
        return self._wait_word(REPLICATED_OFFSET_AT, self.replicated_offset, offset, timeout)

    def _wait_word(self, at: int, read: Callable[[], int], offset: int, timeout: Optional[float]) -> bool:
        """Waits until read() > offset, sleeping in futex(2) on the low half of the
        header word at byte ``at`` in slices of at most _WAIT_SLICE_S (a host that
        does not wake is still noticed)."""
        self._live()
        word = self._futex_words.get(at)
        if word is None:
            word = self._futex_words[at] = word_address(self._map, at)
        address = address_of(word)
        words = self._words
        deadline = None if timeout is None else time.monotonic() + max(0.0, timeout)
        while True:
            # The value seen before the check: the kernel compares it, so a publication in between is never missed.
            seen = words[at // 8] & 0xFFFFFFFF
            fence()
            if read() > offset:
                return True
            left = _WAIT_SLICE_S if deadline is None else min(_WAIT_SLICE_S, deadline - time.monotonic())
            if left <= 0:
                return False
            futex_wait(address, seen, left)

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Unmaps the file (and closes the fd if attach() created it). Safe twice.
        Memoryviews still taken from ``tail`` keep the mapping alive until they go."""
        if self._closed:
            return
        self._closed = True
        self._fast = False
        self._consts = ()
        self._futex_words = {}
        self._words.release()
        self._lengths.release()
        self._buf.release()
        try:
            self._map.close()
        except BufferError:
            pass  # a tail view is still alive: the mapping goes when it does
        if self._owns_fd:
            os.close(self.fd)

    def __enter__(self) -> "SharedState":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
