#!/usr/bin/env python3
"""The Python client's API in one process (standalone files): prints one JSON
object {check name: true or what went wrong}, for test/clients/packages.ts."""
import array
import gc
import json
import os
import sys

if not os.environ.get("SHM_TOOL_INSTALLED"):
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "clients", "python"))
import shm_host  # noqa: E402

results = {}


def check(name, fn):
    try:
        value = fn()
        results[name] = True if value is True else f"returned {value!r}"
    except Exception as err:  # noqa: BLE001
        results[name] = f"{type(err).__name__}: {err}"


def raises(kind, fn, code=None, match=""):
    try:
        fn()
    except kind as err:
        if code is not None and getattr(err, "code", None) != code:
            return f"code {getattr(err, 'code', None)}"
        return True if match in str(err) else f"message {err}"
    return "did not raise"


state = shm_host.attach(standalone=True, env={})
check("default geometry of a standalone file", lambda: (state.layout.slots, state.layout.ring_size) == (4096, 2 << 20) or state.layout)
check("default_config as Node's defaultConfig", lambda: [shm_host.default_config(n) for n in (12288, 1 << 20, 1 << 30)] == [(64, 4096), (2048, 131072), (4096, 4 << 20)] or [shm_host.default_config(n) for n in (12288, 1 << 20, 1 << 30)])
check("no records yet", lambda: (state.latest(), state.latest_record(), state.records(), state.write_offset) == (None, None, [], 0))
check("commit returns stream offsets", lambda: [state.commit(b"abc"), state.commit(bytearray(b"de"))] == [0, 3])
check("a memoryview of doubles commits its bytes", lambda: state.records()[-1:] and state.commit(memoryview(array.array("d", [1.5]))) == 5 and state.latest() == array.array("d", [1.5]).tobytes())
check("records oldest first", lambda: [r.offset for r in state.records()] == [0, 3, 5])
check("str is a TypeError", lambda: raises(TypeError, lambda: state.commit("abc"), match="encode the text first"))
check("an int is a TypeError", lambda: raises(TypeError, lambda: state.commit(3), match="got int"))
check("a dict is a TypeError", lambda: raises(TypeError, lambda: state.commit({"length": 3}), match="got dict"))
check("nothing stored by refused commits", lambda: state.write_offset == 13)
check("empty record is a ValueError", lambda: raises(ValueError, lambda: state.commit(b""), match="1 to"))
check("record as long as the ring is a ValueError", lambda: raises(ValueError, lambda: state.commit(bytes(state.max_record_size + 1))))
check("durable words are 0 standalone", lambda: (state.durable_offset(), state.snapshot_seq()) == (0, 0))
check("wait_durable times out with False", lambda: state.wait_durable(0, timeout=0.05) is False)
check("wait_replicated times out with False", lambda: state.wait_replicated(0, timeout=0.05) is False)
check("tail is a writable memoryview", lambda: isinstance(state.tail, memoryview) and not state.tail.readonly and len(state.tail) == state.layout.tail_size)
region = shm_host.DoubleBuffer(state, 1024)
check("double buffer: none yet", lambda: region.read() is None)
check("double buffer: versions alternate halves", lambda: [region.write(b"one"), region.write(b"two!")] and region.read() == (2, b"two!", False) and bytes(region.read().data) == b"two!")
check("double buffer: too big", lambda: raises(ValueError, lambda: region.write(bytes(1024 - 48 + 1)), match="at most 976 after its 48-byte header"))
check("double buffer: region outside the tail", lambda: raises(ValueError, lambda: shm_host.DoubleBuffer(state, state.layout.tail_size)))
check("double buffer: a half must hold its header", lambda: raises(ValueError, lambda: shm_host.DoubleBuffer(state, 48), match="48-byte header"))


def torn_then_fallback():
    tail = state.tail
    tail[1024 + 48] ^= 1                      # version 2 (half 1) torn
    got = region.read()
    if (got.version, bytes(got.data), got.recovered) != (1, b"one", True):
        return f"read {got}"
    region.write(b"three")                    # over the torn half, never over version 1
    got = region.read()
    if (got.version, bytes(got.data), got.recovered, bytes(tail[48:51])) != (3, b"three", False, b"one"):
        return f"after the write: {got}"
    tail[1024 + 48] ^= 1
    tail[48] ^= 1
    return raises(shm_host.FormatError, region.read, code="BAD_DOUBLE_BUFFER",
                  match="neither half of the double buffer at tail offset 0 holds an intact version: the latest record names version 3 in half 1")


check("double buffer: a torn half falls back to the intact one", torn_then_fallback)
check("double buffer: another geometry", lambda: raises(shm_host.FormatError, shm_host.DoubleBuffer(state, 512).read, code="BAD_DOUBLE_BUFFER", match="2 x 1024 bytes at tail offset 0, not 2 x 512 at 0"))
check("double buffer: a newer format is refused", lambda: state.commit(b"SHMDBUF3" + bytes(56)) is not None and raises(
    shm_host.FormatError, lambda: region.write(b"x"), code="BAD_DOUBLE_BUFFER", match="format 3, which this client does not read"))


def new_series():
    state.tail[1024 + 48] ^= 1                # version 3 (half 1) intact again
    state.commit(b"own")                      # the program's own record ends the series
    region.write(b"new")
    got = region.read()
    if (got.version, bytes(got.data)) != (1, b"new"):
        return f"read {got}"
    state.tail[48] ^= 1
    return raises(shm_host.FormatError, region.read, code="BAD_DOUBLE_BUFFER", match="neither half")


check("double buffer: a new series never falls back to an earlier one's version", new_series)
view = state.tail
view[0:4] = b"keep"
state.close()
check("close with a live tail view keeps it readable", lambda: bytes(view[0:4]) == b"keep")
view.release()
gc.collect()
check("closed state refuses use", lambda: raises(shm_host.ClosedError, lambda: state.commit(b"x"), code="CLOSED"))
check("closed state refuses reads", lambda: raises(shm_host.ClosedError, state.latest))
check("close twice is harmless", lambda: state.close() is None and state.closed)
with shm_host.attach(standalone=16384, env={}, slots=4, ring_size=4096) as small:
    check("geometry options configure", lambda: (small.layout.slots, small.layout.ring_size, small.layout.tail_size) == (4, 4096, 4096))
check("context manager closes", lambda: small.closed)
env = {"LISTEN_PID": str(os.getpid()), "LISTEN_FDS": "1", "LISTEN_FDNAMES": "SHM_SHARED_FD", "OTHER": "x"}
check("find_shared_fd", lambda: shm_host.find_shared_fd(env, os.getpid()) == 3)
shm_host.unset_listen_environment(env)
check("unset_environment removes LISTEN_*", lambda: env == {"OTHER": "x"})
check("no shared file without standalone", lambda: raises(shm_host.AttachError, lambda: shm_host.attach(env={}), code="NO_SHARED_FILE"))
check("slots must be a power of two", lambda: raises(ValueError, lambda: shm_host.attach(standalone=True, env={}, slots=3)))
check("fd must be a number", lambda: raises(TypeError, lambda: shm_host.attach("3")))
check("standalone size too small", lambda: raises(ValueError, lambda: shm_host.attach(standalone=100, env={})))
check("a ring that does not fit is BAD_FILE caused by RINGS_DO_NOT_FIT", lambda: raises(shm_host.AttachError, lambda: shm_host.attach(standalone=16384, env={}, ring_size=1 << 20), code="BAD_FILE", match="need a file of at least"))
print(json.dumps(results))
