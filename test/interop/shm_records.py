#!/usr/bin/env python3
"""A writer and a reader of the shm-host shared file, written from the
format description alone (docs/FORMAT.md), in another language than the
client library, to prove the two agree on every byte.

    python3 shm_records.py write --count N [--slots S] [--ring-size R] [--log PATH] [--rate N]
    python3 shm_records.py read

Both find the shared file the way the host hands it over: fd 3, with
LISTEN_FDS=1, LISTEN_FDNAMES=SHM_SHARED_FD, LISTEN_PID=<our pid>.

`write` configures an unconfigured file (masks and write_offset, magic
last), or validates a configured one and resumes after its latest record,
then commits self-checking records (the encoding of
fixtures/lib/record-codec.js) with the commit protocol: invalidate what
will be overwritten, data, offset, length, write_offset. It prints
    python: resumed at <index>, write offset <offset>
    python: committed <count> records, last index <index>, write offset <offset>

With --log, each committed index is appended to PATH (one line, one
write(2) on an O_APPEND file) after its commit, as fixtures/lib/commit-log.js
does: after a SIGKILL the latest record is the last logged index or the
one after it. --count 0 commits until killed; --rate N commits about N
records a second (default: as fast as it can).

`read` prints one JSON object: the header, every valid record (slot,
offset, length, and its index or why it is not intact) oldest first, and
the host's extension words.

A note on atomicity: the protocol wants 8-byte loads and stores. Indexing a
memoryview cast to 'Q' at an aligned position does one 8-byte access in
CPython on the machines we run on; these tests never race a second writer.
"""
import json
import mmap
import os
import sys
import time
import zlib

PAGE = 4096
MAGIC = 0x96C2A6F4B68519B3
EXT_MAGIC = 0x53484D484F535401
MIN_RECORD = 16
M32 = 0xFFFFFFFF
M64 = (1 << 64) - 1


def fail(message):
    sys.stderr.write(f"python: {message}\n")
    sys.exit(1)


def shared_fd():
    if os.environ.get("LISTEN_PID") != str(os.getpid()):
        fail(f"LISTEN_PID={os.environ.get('LISTEN_PID')} is not this process ({os.getpid()})")
    count = int(os.environ.get("LISTEN_FDS", "0"))
    names = os.environ.get("LISTEN_FDNAMES", "").split(":")
    if "SHM_SHARED_FD" not in names[:count]:
        fail("no file descriptor named SHM_SHARED_FD was passed")
    return 3 + names.index("SHM_SHARED_FD")


def pages(n):
    return (n + PAGE - 1) // PAGE * PAGE


def is_mask(m):
    return m & (m + 1) == 0


class SharedFile:
    def __init__(self, fd, writable):
        self.size = os.fstat(fd).st_size
        prot = mmap.PROT_READ | (mmap.PROT_WRITE if writable else 0)
        self.map = mmap.mmap(fd, self.size, mmap.MAP_SHARED, prot)
        self.words = memoryview(self.map).cast("Q")

    def word(self, at):
        return self.words[at // 8]

    def set_word(self, at, value):
        self.words[at // 8] = value

    def layout(self):
        """Validates the header as the format requires; returns False when unconfigured."""
        if self.size < PAGE:
            fail(f"the file has {self.size} bytes, less than a header page")
        magic = self.word(0)
        if magic == 0:
            return False
        if magic != MAGIC:
            fail(f"foreign magic {magic:#x}")
        entry_mask, data_mask = self.word(8), self.word(16)
        if not is_mask(entry_mask) or not is_mask(data_mask) or data_mask < 1:
            fail("a mask is not a power of two minus one")
        self.slots, self.ring = entry_mask + 1, data_mask + 1
        self.entry_base = PAGE
        self.data_base = PAGE + pages(self.slots * 16)
        if self.data_base + pages(self.ring) > self.size:
            fail("the rings do not fit the file")
        return True

    def configure(self, slots, ring):
        self.set_word(8, slots - 1)
        self.set_word(16, ring - 1)
        self.set_word(24, 0)
        self.set_word(0, MAGIC)  # last: a reader that sees it sees the rest
        self.layout()

    def slot(self, i):
        """One consistent (offset, length): offset, length, offset again."""
        at = self.entry_base + 16 * i
        while True:
            offset = self.word(at)
            length = self.word(at + 8)
            if self.word(at) == offset:
                break
        if length >= self.ring or offset + length > M64:
            fail(f"slot {i} holds an impossible record ({offset}+{length})")
        return offset, length

    def valid(self):
        out = []
        for i in range(self.slots):
            offset, length = self.slot(i)
            if length:
                out.append((offset, length, i))
        return sorted(out)

    def copy(self, offset, length):
        start = self.data_base + (offset & (self.ring - 1))
        first = min(length, self.data_base + self.ring - start)
        return self.map[start:start + first] + self.map[self.data_base:self.data_base + length - first]

    def write_stream(self, offset, data):
        start = self.data_base + (offset & (self.ring - 1))
        first = min(len(data), self.data_base + self.ring - start)
        self.map[start:start + first] = data[:first]
        self.map[self.data_base:self.data_base + len(data) - first] = data[first:]


# The self-checking record encoding (fixtures/lib/record-codec.js).
def seed_of(index):
    s = ((index & M32) ^ (((index >> 32) * 0x85EBCA6B) & M32) ^ 0x9E3779B9) & M32
    return s or 1


def xorshift32(s):
    s ^= (s << 13) & M32
    s ^= s >> 17
    s ^= (s << 5) & M32
    return s


def record_length_for(index, low=MIN_RECORD, high=1024):
    h = xorshift32(xorshift32(seed_of(index)))
    span = high - low + 1
    rng = span if h & 3 == 0 else max(1, span // 8)
    return low + ((h >> 2) % rng)


def payload(index, length):
    s, out = seed_of(index), bytearray(length - 16)
    for k in range(len(out)):
        s = xorshift32(s)
        out[k] = s & 0xFF
    return bytes(out)


def encode(index, length):
    body = index.to_bytes(8, "little") + length.to_bytes(4, "little") + payload(index, length)
    return body + zlib.crc32(body).to_bytes(4, "little")


def defect(data):
    """None for an intact record, else why not."""
    if len(data) < MIN_RECORD:
        return "too short"
    if int.from_bytes(data[8:12], "little") != len(data):
        return "length field mismatch"
    if zlib.crc32(data[:-4]) != int.from_bytes(data[-4:], "little"):
        return "checksum mismatch"
    if data[12:-4] != payload(int.from_bytes(data[:8], "little"), len(data)):
        return "payload mismatch"
    return None


def write(count, slots, ring, log=None, rate=0):
    f = SharedFile(shared_fd(), writable=True)
    if not f.layout():
        f.configure(slots, ring)
    records = f.valid()
    latest_slot, index = f.slots - 1, 0
    w = f.word(24)
    if records:
        offset, length, latest_slot = records[-1]
        data = f.copy(offset, length)
        if defect(data):
            fail(f"the latest record is not intact: {defect(data)}")
        index = int.from_bytes(data[:8], "little")
        w = max(w, offset + length)
    print(f"python: resumed at {index}, write offset {w}", flush=True)
    entry = lambda i: f.entry_base + 16 * i
    log_fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600) if log else None
    done = 0
    while count == 0 or done < count:
        done += 1
        index += 1
        data = encode(index, min(record_length_for(index), f.ring - 1))
        end = w + len(data)
        if end > M64:
            fail("the stream is exhausted")
        # Invalidate every record whose bytes are about to be overwritten.
        for i in range(f.slots):
            offset, length = f.slot(i)
            if length and offset < end - f.ring:
                f.set_word(entry(i) + 8, 0)
        # The slot after the latest; empty it first if it is still valid.
        slot = (latest_slot + 1) % f.slots
        if f.slot(slot)[1]:
            f.set_word(entry(slot) + 8, 0)
        f.write_stream(w, data)
        f.set_word(entry(slot), w)
        f.set_word(entry(slot) + 8, len(data))
        f.set_word(24, end)
        latest_slot, w = slot, end
        if log_fd is not None:
            os.write(log_fd, f"{index}\n".encode())
        if rate > 0:
            time.sleep(1 / rate)
    print(f"python: committed {count} records, last index {index}, write offset {w}", flush=True)


def read():
    f = SharedFile(shared_fd(), writable=False)
    if not f.layout():
        print(json.dumps({"configured": False}))
        return
    out = []
    for offset, length, slot in f.valid():
        data = f.copy(offset, length)
        problem = defect(data)
        entry = {"slot": slot, "offset": str(offset), "length": length}
        if problem:
            entry["defect"] = problem
        else:
            entry["index"] = int.from_bytes(data[:8], "little")
        out.append(entry)
    ext = f.word(32) == EXT_MAGIC
    print(json.dumps({
        "configured": True,
        "slots": f.slots,
        "ring": f.ring,
        "write_offset": str(f.word(24)),
        "records": out,
        "durable_offset": str(f.word(40) if ext else 0),
        "snapshot_seq": str(f.word(48) if ext else 0),
    }))


def main(argv):
    if not argv or argv[0] not in ("write", "read"):
        fail("usage: shm_records.py write --count N [--slots S] [--ring-size R] | read")
    opts = dict(zip(argv[1::2], argv[2::2]))
    if argv[0] == "read":
        read()
    else:
        write(int(opts.get("--count", "100")), int(opts.get("--slots", "64")), int(opts.get("--ring-size", "65536")), opts.get("--log"), float(opts.get("--rate", "0")))


if __name__ == "__main__":
    main(sys.argv[1:])
