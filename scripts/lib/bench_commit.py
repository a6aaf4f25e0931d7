#!/usr/bin/env python3
"""Python rows of `npm run bench:commit`: nanoseconds per commit() of a record
of SIZE bytes into a standalone 16 MiB file, against a plain slice assignment
of the same bytes into a bytearray as large as the ring, at advancing
positions (the copy floor in Python), and, for transparency, the same slice
assignment into an anonymous shared mmap (the kind of memory commit writes,
where CPython's slice assignment is cheaper). Rounds interleaved, medians
printed as one JSON line, with the median ratio of adjacent rounds. Usage: bench_commit.py SIZE ROUNDS ROUND_MS [PACKAGE_DIR]"""
import json
import mmap
import statistics
import sys
import time

size, rounds, round_ms = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
if len(sys.argv) > 4:
    sys.path.insert(0, sys.argv[4])
import shm_host  # noqa: E402

state = shm_host.attach(standalone=True, env={})
ring = state.layout.ring_size
data = bytes((i * 31 + 7) & 0xFF for i in range(size))
floor = bytearray(ring + size)
mapped = mmap.mmap(-1, ring + size)
pos = 0


def commits(n):
    commit = state.commit
    for _ in range(n):
        commit(data)


def slice_copies(buf):
    """n slice assignments of the record into ``buf`` at advancing positions, wrapping at the ring size."""
    def run(n):
        global pos
        p = pos
        for _ in range(n):
            buf[p:p + size] = data
            p += size
            if p >= ring:
                p -= ring
        pos = p
    return run


copies, mmap_copies = slice_copies(floor), slice_copies(mapped)


def calibrate(fn):
    n = 1
    while True:
        t0 = time.perf_counter_ns()
        fn(n)
        ms = (time.perf_counter_ns() - t0) / 1e6
        if ms >= round_ms / 4:
            return max(1, int(n * round_ms / max(ms, 0.001)))
        n *= 2


cases = [[commits, calibrate(commits), []], [copies, calibrate(copies), []], [mmap_copies, calibrate(mmap_copies), []]]
for _ in range(rounds):
    for fn, n, samples in cases:
        t0 = time.perf_counter_ns()
        fn(n)
        samples.append((time.perf_counter_ns() - t0) / n)
state.close()
commit, copy, mcopy = (c[2] for c in cases)
# Ratios of adjacent rounds: a neighbour's burst slows both sides of a pair alike.
print(json.dumps({
    "commit_ns": statistics.median(commit), "copy_ns": statistics.median(copy), "mmap_copy_ns": statistics.median(mcopy),
    "ratio": statistics.median(a / b for a, b in zip(commit, copy)),
    "mmap_ratio": statistics.median(a / b for a, b in zip(commit, mcopy)),
    "python": sys.version.split()[0],
}))
