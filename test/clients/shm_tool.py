#!/usr/bin/env python3
"""The Python client driven by the tests (test/clients): the same commands and
output as shm_tool.c, so every test runs both. Uses clients/python from
this checkout (or, with SHM_TOOL_INSTALLED=1, the installed package); records use the self-checking encoding
of fixtures/lib/record-codec.js (implemented in test/interop/shm_records.py)."""
import json
import os
import resource
import sys
import time
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "interop"))
# The package from this checkout, unless a test installed it and wants that one.
if not os.environ.get("SHM_TOOL_INSTALLED"):
    sys.path.insert(0, os.path.join(HERE, "..", "..", "clients", "python"))
import shm_host  # noqa: E402
from shm_records import defect, encode, record_length_for, seed_of, xorshift32  # noqa: E402


def opts(argv):
    return dict(zip(argv[::2], argv[1::2]))


def num(o, name, default):
    return int(o[name]) if name in o else default


def attach_or_die(o):
    try:
        return shm_host.attach(slots=num(o, "--slots", None), ring_size=num(o, "--ring-size", None))
    except shm_host.AttachError as err:
        code = err.format_error.code if err.format_error is not None else err.code
        print(json.dumps({"code": code, "message": str(err)}), flush=True)
        sys.exit(1)


def index_of(data):
    why = defect(data)
    if why:
        sys.stderr.write(f"python: the latest record is not intact: {why}\n")
        sys.exit(1)
    return int.from_bytes(data[:8], "little")


def fill_tail(state, seed, length):
    tail = state.tail
    s, out = seed or 1, bytearray(min(length, len(tail)))
    for k in range(len(out)):
        s = xorshift32(s)
        out[k] = s & 0xFF
    tail[:len(out)] = out
    tail.release()


def cmd_write(o):
    state = attach_or_die(o)
    count, rate = num(o, "--count", None), num(o, "--rate", 0)
    lo, hi, ack = num(o, "--min-size", 16), min(num(o, "--max-size", 1024), state.max_record_size), num(o, "--ack-every", 0)
    word = o.get("--ack", "durable")  # what an acknowledgement waits for: durable or replicated
    log = os.open(o["--log"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600) if "--log" in o else None
    if "--tail-length" in o:
        fill_tail(state, num(o, "--tail-seed", 1), num(o, "--tail-length", 0))
    latest = state.latest()
    index = index_of(latest) if latest is not None else 0
    print(f"python: resumed at {index}, write offset {state.write_offset}", flush=True)
    start, done = time.monotonic(), 0
    while count is None or done < count:
        index += 1
        offset = state.commit(encode(index, record_length_for(index, lo, hi)))
        if log is not None:
            os.write(log, b"%d\n" % index)
        if ack and index % ack == 0:
            if not (state.wait_replicated if word == "replicated" else state.wait_durable)(offset, 20):
                sys.stderr.write(f"python: record {index} not {word} within 20 s\n")
                return 1
            print(f"python: {word} {index}", flush=True)
        done += 1
        if rate:
            wait = start + done / rate - time.monotonic()
            if wait > 0:
                time.sleep(wait)
    print(f"python: committed {count} records, last index {index}, write offset {state.write_offset}", flush=True)
    state.close()
    return 0


def cmd_read(o):
    state = attach_or_die(o)
    records = []
    for r in state.records():
        why = defect(r.data)
        entry = {"offset": str(r.offset), "length": len(r.data)}
        entry.update({"defect": why} if why else {"index": int.from_bytes(r.data[:8], "little")})
        records.append(entry)
    tail = state.tail
    want = num(o, "--tail-length", 0)
    out = {
        "configured": True, "slots": state.layout.slots, "ring": state.layout.ring_size,
        "write_offset": str(state.write_offset), "records": records,
        "durable_offset": str(state.durable_offset()), "snapshot_seq": str(state.snapshot_seq()),
        "replicated_offset": str(state.replicated_offset()),
        "tail_size": len(tail), "tail_crc": zlib.crc32(tail[:want]),
    }
    tail.release()
    print(json.dumps(out, separators=(",", ":")))
    state.close()
    return 0


def cpu_ns():
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return int((ru.ru_utime + ru.ru_stime) * 1e9)


def cmd_wait(o, word):
    state = attach_or_die(o)
    read = state.replicated_offset if word == "replicated" else state.durable_offset
    print(f"waiting {read()}", flush=True)
    cpu0 = cpu_ns()
    wait = state.wait_replicated if word == "replicated" else state.wait_durable
    ok = wait(num(o, "--offset", 0), num(o, "--timeout-ms", 1000) / 1000)
    woke = time.monotonic_ns()
    print(json.dumps({word: ok, "woke_ns": str(woke), "cpu_ns": cpu_ns() - cpu0,
                      f"{word}_offset": str(read()), "code": "OK" if ok else "TIMEOUT"}), flush=True)
    state.close()
    return 0


def dbuf_version(v):
    s, out = seed_of(v), bytearray(100 + v % 900)
    for k in range(len(out)):
        s = xorshift32(s)
        out[k] = s & 0xFF
    return bytes(out)


def cmd_dbuf(o, writing):
    state = attach_or_die(o)
    region = shm_host.DoubleBuffer(state, num(o, "--capacity", 4096), num(o, "--region", 0))
    try:
        cur = region.read()
    except shm_host.FormatError as err:
        print(json.dumps({"code": err.code, "message": str(err)}))
        return 1
    version = cur.version if cur else 0
    if writing:
        for _ in range(num(o, "--count", 1)):
            version += 1
            region.write(dbuf_version(version))
        cur = region.read()
    data = bytes(cur.data) if cur else b""
    print(json.dumps({"version": cur.version if cur else 0, "length": len(data), "intact": bool(cur) and data == dbuf_version(cur.version),
                      "recovered": bool(cur) and cur.recovered, "crc": zlib.crc32(data)}))
    state.close()
    return 0


def marker():
    """close(-4242): a system call strace shows, around what must make none."""
    try:
        os.close(-4242)
    except OSError:
        pass


def cmd_burst(o):
    """N commits of 1 to 299 bytes (the ring wraps: invalidations run too) on a private
    1 MiB file, between two marker() calls: strace must show nothing between them."""
    state = shm_host.attach(standalone=1 << 20, env={})
    count = num(o, "--count", 100000)
    records = [bytes(k % 256 for k in range(n)) for n in range(1, 300)]
    marker()
    for i in range(count):
        state.commit(records[i % 299])
    marker()
    print(json.dumps({"commits": count, "write_offset": str(state.write_offset)}, separators=(",", ":")))
    state.close()
    return 0


def main(argv):
    if not argv:
        sys.stderr.write("usage: shm_tool.py write|read|check|wait-durable|wait-replicated|dbuf-write|dbuf-read|commit-burst [options]\n")
        return 2
    o = opts(argv[1:])
    cmd = argv[0]
    if cmd == "write":
        return cmd_write(o)
    if cmd == "read":
        return cmd_read(o)
    if cmd in ("wait-durable", "wait-replicated"):
        return cmd_wait(o, cmd[5:])
    if cmd in ("dbuf-write", "dbuf-read"):
        return cmd_dbuf(o, cmd == "dbuf-write")
    if cmd == "commit-burst":
        return cmd_burst(o)
    if cmd == "check":
        attach_or_die(o).close()
        print("ok")
        return 0
    sys.stderr.write(f"shm_tool.py: unknown command {cmd}\n")
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
