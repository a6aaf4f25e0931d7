#!/usr/bin/env python3
"""Python waiter of `npm run bench:durable` (scripts/bench-durable.ts drives it).
Usage: bench_durable.py MODE N PACKAGE_DIR, MODE one of
  client       state.wait_durable(r) for r = 0..N-1 on the file at fd 3 (the driver publishes r + 1)
  futex        the same wait as a bare loop through ctypes: read the low word of
               durable_offset, compare, FUTEX_WAIT (the baseline)
  pipe         os.read of one byte from stdin (the baseline)
  idle-client  wait_durable on an offset never published, timeout N ms: prints the CPU time used
  idle-sleep   time.sleep for N ms (the baseline of the above)
Prints "ready" when about to block for the first time, then after each wake-up
"woke NS" (time.monotonic_ns: CLOCK_MONOTONIC, the clock of Node's process.hrtime)."""
import ctypes
import mmap
import os
import platform
import sys
import time

mode, n = sys.argv[1], int(sys.argv[2])
sys.path.insert(0, sys.argv[3])
import shm_host  # noqa: E402

DURABLE_OFFSET_AT = 40


def cpu_ns():
    return time.process_time_ns()


if mode.startswith("idle-"):
    state = shm_host.attach(3, env={}) if mode == "idle-client" else None
    if state is not None:
        state.wait_durable(-1, 0)  # loads ctypes first, as any earlier wait would have
    cpu0, wall0 = cpu_ns(), time.monotonic_ns()
    if state is not None:
        if state.wait_durable(2**63, n / 1000):
            sys.exit("an offset never published became durable")
    else:
        time.sleep(n / 1000)
    print(f"cpu {cpu_ns() - cpu0} wall {time.monotonic_ns() - wall0}", flush=True)
    sys.exit(0)

if mode == "client":
    state = shm_host.attach(3, env={})
    wait = state.wait_durable
    state.wait_durable(-1, 0)  # loads ctypes, as any earlier wait would have
elif mode == "futex":
    libc = ctypes.CDLL(None, use_errno=True)
    mapped = mmap.mmap(3, mmap.PAGESIZE)
    word = ctypes.c_uint32.from_buffer(mapped, DURABLE_OFFSET_AT)
    address = ctypes.addressof(word)
    sys_futex = 98 if platform.machine() in ("aarch64", "arm64") else 202
    syscall = libc.syscall

    def wait(r):
        while True:
            seen = word.value
            if seen > r:
                return
            syscall(sys_futex, ctypes.c_void_p(address), 0, ctypes.c_uint32(seen), None, None, 0)
elif mode == "pipe":
    def wait(r):
        if os.read(0, 1) != b"x":
            sys.exit("the driver closed the pipe")
else:
    sys.exit(f"unknown mode {mode}")

print("ready", flush=True)
now = time.monotonic_ns
for r in range(n):
    wait(r)
    woke = now()
    print(f"woke {woke}", flush=True)
