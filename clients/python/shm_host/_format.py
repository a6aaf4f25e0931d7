"""The layout of the shared file as pure checks over its words (docs/FORMAT.md
section 2). Every word read here is untrusted: a check fails with a
FormatError before any index derived from it is used."""
from typing import List, NamedTuple, Sequence

from ._errors import FormatError

PAGE = 4096
MAGIC = 0x96C2A6F4B68519B3
EXT_MAGIC = 0x53484D484F535401
REPLICA_MAGIC = 0x53484D484F535402
U64_MAX = (1 << 64) - 1
# Byte offsets of the header words.
MAGIC_AT, ENTRY_MASK_AT, DATA_MASK_AT, WRITE_OFFSET_AT = 0, 8, 16, 24
EXT_MAGIC_AT, DURABLE_OFFSET_AT, SNAPSHOT_SEQ_AT = 32, 40, 48
REPLICA_MAGIC_AT, REPLICATED_OFFSET_AT, REPLICATED_SEQ_AT = 56, 64, 72
_UNSTABLE_SLOT_TRIES = 100


def pages(n: int) -> int:
    """``n`` bytes rounded up to whole 4096-byte pages."""
    return (n + PAGE - 1) // PAGE * PAGE


def _is_mask(m: int) -> bool:
    return m & (m + 1) == 0


class Layout(NamedTuple):
    """Where everything lives in a configured file; every size and offset in bytes."""
    file_size: int
    slots: int
    ring_size: int
    entry_base: int
    data_base: int
    tail_base: int

    @property
    def tail_size(self) -> int:
        return self.file_size - self.tail_base


class Slot(NamedTuple):
    """One entry slot read as a consistent pair; valid when ``length`` > 0."""
    index: int
    offset: int
    length: int


def minimum_file_size(slots: int, ring_size: int) -> int:
    """Bytes needed for a header page, ``slots`` entries and a ring of ``ring_size`` (no tail)."""
    return PAGE + pages(slots * 16) + pages(ring_size)


def layout_of(file_size: int, entry_mask: int, data_mask: int) -> Layout:
    """Checks the masks of a configured header against a file of ``file_size`` bytes."""
    if not _is_mask(entry_mask):
        raise FormatError("BAD_ENTRY_MASK", f"invalid layout: entry_mask {entry_mask:#x} is not a power of two minus one")
    if not _is_mask(data_mask):
        raise FormatError("BAD_DATA_MASK", f"invalid layout: data_mask {data_mask:#x} is not a power of two minus one")
    slots, ring = entry_mask + 1, data_mask + 1
    needed = minimum_file_size(slots, ring)
    if needed > file_size:
        raise FormatError("RINGS_DO_NOT_FIT", f"invalid layout: {slots} entry slots and a {ring}-byte data ring need {needed} bytes, but the file has {file_size}")
    if ring < 2:
        raise FormatError("BAD_DATA_MASK", "invalid layout: a data ring of 1 byte cannot hold a record")
    data_base = PAGE + pages(slots * 16)
    return Layout(file_size, slots, ring, PAGE, data_base, data_base + pages(ring))


def plan_layout(file_size: int, slots: int, ring_size: int) -> Layout:
    """Checks a configuration a writer wants to apply (FormatError BAD_CONFIG / RINGS_DO_NOT_FIT)."""
    for name, v in (("slots", slots), ("ring_size", ring_size)):
        if v < 1 or not _is_mask(v - 1):
            raise FormatError("BAD_CONFIG", f"{name} must be a power of two, got {v}")
    if ring_size < 2:
        raise FormatError("BAD_CONFIG", f"ring_size must be at least 2 bytes, got {ring_size}")
    needed = minimum_file_size(slots, ring_size)
    if needed > file_size:
        raise FormatError("RINGS_DO_NOT_FIT", f"{slots} slots and a {ring_size}-byte ring need a file of at least {needed} bytes, but it has {file_size}")
    return layout_of(file_size, slots - 1, ring_size - 1)


def read_slot(words: Sequence[int], layout: Layout, index: int, fence) -> Slot:
    """Slot ``index`` as one consistent (offset, length): offset, length, then the
    offset again (a slot's offset only grows). A slot that never holds still
    reads as empty. FormatError BAD_SLOT for a length that cannot be a record."""
    at = (layout.entry_base + index * 16) // 8
    offset = words[at]
    fence()
    length = words[at + 1]
    fence()
    tries = 0
    again = words[at]
    while again != offset:
        tries += 1
        if tries > _UNSTABLE_SLOT_TRIES:
            return Slot(index, again, 0)
        offset = again
        fence()
        length = words[at + 1]
        fence()
        again = words[at]
    if length == 0:
        return Slot(index, offset, 0)
    if length >= layout.ring_size:
        raise FormatError("BAD_SLOT", f"invalid layout: slot {index} holds a {length}-byte record, but the data ring has only {layout.ring_size} bytes")
    if offset > U64_MAX - length:
        raise FormatError("BAD_SLOT", f"invalid layout: slot {index} record at offset {offset} of {length} bytes runs past the end of the u64 stream")
    return Slot(index, offset, length)


def check_record_set(layout: Layout, slots: Sequence[Slot]) -> List[Slot]:
    """The valid records oldest first, after checking that the commit protocol can
    leave them behind: none overlaps another, none lies in ring bytes the latest
    record's writer had already overwritten (FormatError BAD_RECORD_SET)."""
    records = sorted((s for s in slots if s.length), key=lambda s: s.offset)
    if not records:
        return records
    latest_end = records[-1].offset + records[-1].length
    oldest_allowed = latest_end - layout.ring_size
    for i, r in enumerate(records):
        if r.offset < oldest_allowed:
            raise FormatError("BAD_RECORD_SET", f"invalid layout: slot {r.index} record at offset {r.offset} lies in ring bytes overwritten by the record ending at {latest_end}")
        if i + 1 < len(records) and r.offset + r.length > records[i + 1].offset:
            n = records[i + 1]
            raise FormatError("BAD_RECORD_SET", f"invalid layout: records in slots {r.index} and {n.index} overlap (offsets {r.offset} and {n.offset})")
    return records
