/*
 * C rows of `npm run bench:commit`: nanoseconds per shm_host_commit() of a
 * record of SIZE bytes into a standalone 16 MiB file, against the least any
 * code keeping the protocol does: memcpy of the same bytes into an ordinary
 * buffer as large as the ring, at advancing positions, plus the protocol's
 * stores (one relaxed invalidation, a release fence, three release stores).
 * Rounds interleaved; medians printed as one JSON line, with the median ratio
 * of adjacent rounds.
 *   cc -O2 -o bench bench_commit.c && ./bench SIZE ROUNDS ROUND_MS
 */
#define SHM_HOST_IMPLEMENTATION
#include "../../clients/c/shm_host.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int64_t now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static struct shm_host_state st;
static unsigned char data[1 << 16];
static unsigned char *floor_buf;
static _Atomic uint64_t words[1024];
static uint64_t ring, size, pos, word;
static volatile uint64_t sink;

static void commits(uint64_t n) {
  uint64_t off = 0;
  for (uint64_t i = 0; i < n; i++)
    if (shm_host_commit(&st, data, size, &off)) { fprintf(stderr, "%s\n", st.message); exit(1); }
  sink = off;
}

static void copies(uint64_t n) {
  uint64_t p = pos, k = word;
  for (uint64_t i = 0; i < n; i++) {
    atomic_store_explicit(&words[k], 0, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
    memcpy(floor_buf + p, data, size);
    atomic_store_explicit(&words[k + 1], p, memory_order_release);
    atomic_store_explicit(&words[k + 2], size, memory_order_release);
    atomic_store_explicit(&words[k + 3], p + size, memory_order_release);
    p += size;
    if (p >= ring) p -= ring;
    k = (k + 4) & 1023;
  }
  pos = p;
  word = k;
}

static uint64_t calibrate(void (*fn)(uint64_t), double round_ms) {
  for (uint64_t n = 1;; n *= 2) {
    int64_t t0 = now();
    fn(n);
    double ms = (double)(now() - t0) / 1e6;
    if (ms >= round_ms / 4) return (uint64_t)((double)n * round_ms / (ms > 0.001 ? ms : 0.001)) + 1;
  }
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
  if (argc < 4) { fprintf(stderr, "usage: bench SIZE ROUNDS ROUND_MS\n"); return 2; }
  size = strtoull(argv[1], NULL, 10);
  int rounds = atoi(argv[2]);
  double round_ms = atof(argv[3]);
  struct shm_host_options o = {0};
  o.standalone = 16u << 20;
  if (shm_host_attach(&st, &o)) { fprintf(stderr, "%s\n", st.message); return 1; }
  ring = st.ring;
  floor_buf = calloc(1, ring + size);
  for (uint64_t i = 0; i < size; i++) data[i] = (unsigned char)(i * 31 + 7);
  uint64_t nc = calibrate(commits, round_ms), nb = calibrate(copies, round_ms);
  double *a = calloc((size_t)rounds, sizeof *a), *b = calloc((size_t)rounds, sizeof *b);
  for (int r = 0; r < rounds; r++) {
    int64_t t0 = now();
    commits(nc);
    a[r] = (double)(now() - t0) / (double)nc;
    t0 = now();
    copies(nb);
    b[r] = (double)(now() - t0) / (double)nb;
  }
  /* Ratios of adjacent rounds: a neighbour's burst slows both sides of a pair alike. */
  double *q = calloc((size_t)rounds, sizeof *q);
  for (int r = 0; r < rounds; r++) q[r] = a[r] / b[r];
  qsort(a, (size_t)rounds, sizeof *a, cmp);
  qsort(b, (size_t)rounds, sizeof *b, cmp);
  qsort(q, (size_t)rounds, sizeof *q, cmp);
  printf("{\"commit_ns\":%.3f,\"copy_ns\":%.3f,\"ratio\":%.4f}\n", a[rounds / 2], b[rounds / 2], q[rounds / 2]);
  shm_host_close(&st);
  return 0;
}
