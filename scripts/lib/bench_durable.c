/*
 * C waiter of `npm run bench:durable` (scripts/bench-durable.ts drives it).
 *   bench_durable client ROUNDS   shm_host_wait_durable(offset r) for r = 0..ROUNDS-1
 *                                 on the file at fd 3; the driver publishes r + 1
 *   bench_durable futex ROUNDS    the same wait as a bare loop: load the low word of
 *                                 durable_offset, compare, FUTEX_WAIT (the baseline)
 *   bench_durable pipe ROUNDS     read(2) of one byte from stdin (the baseline)
 *   bench_durable idle-client MS  shm_host_wait_durable on an offset never published,
 *                                 timeout MS: prints the process CPU time it used
 *   bench_durable idle-sleep MS   nanosleep for MS (the baseline of the above)
 * Prints "ready" when about to block for the first time, then after each wake-up
 * "woke NS" (CLOCK_MONOTONIC, the clock of Node's process.hrtime) before blocking again.
 *   cc -std=c11 -O2 -o bench_durable bench_durable.c
 */
#define SHM_HOST_IMPLEMENTATION
#include "../../clients/c/shm_host.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int64_t clock_ns(clockid_t id) {
  struct timespec ts;
  clock_gettime(id, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void attach_fd3(struct shm_host_state *st) {
  struct shm_host_options o = {0};
  o.fd = 3;
  if (shm_host_attach(st, &o)) { fprintf(stderr, "attach: %s\n", st->message); exit(1); }
}

int main(int argc, char **argv) {
  if (argc < 3) { fprintf(stderr, "usage: bench_durable client|futex|pipe|idle-client|idle-sleep N\n"); return 2; }
  const char *mode = argv[1];
  long n = atol(argv[2]);
  struct shm_host_state st;
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (strcmp(mode, "idle-client") == 0 || strcmp(mode, "idle-sleep") == 0) {
    int client = mode[5] == 'c';
    if (client) attach_fd3(&st);
    int64_t cpu0 = clock_ns(CLOCK_PROCESS_CPUTIME_ID), wall0 = clock_ns(CLOCK_MONOTONIC);
    if (client) {
      if (shm_host_wait_durable(&st, UINT64_MAX - 1, n * 1000000LL) != SHM_HOST_TIMEOUT) { fprintf(stderr, "%s\n", st.message); return 1; }
    } else {
      struct timespec ts = { n / 1000, (n % 1000) * 1000000L };
      while (nanosleep(&ts, &ts) != 0) {}
    }
    printf("cpu %lld wall %lld\n", (long long)(clock_ns(CLOCK_PROCESS_CPUTIME_ID) - cpu0), (long long)(clock_ns(CLOCK_MONOTONIC) - wall0));
    return 0;
  }
  int pipe_mode = strcmp(mode, "pipe") == 0, bare = strcmp(mode, "futex") == 0;
  if (!pipe_mode) attach_fd3(&st);
  printf("ready\n");
  for (long r = 0; r < n; r++) {
    if (pipe_mode) {
      char b;
      if (read(0, &b, 1) != 1) { perror("read"); return 1; }
    } else if (bare) {
      _Atomic uint32_t *low = (_Atomic uint32_t *)(void *)(st.base + 40);
      for (;;) {
        uint32_t seen = atomic_load_explicit(low, memory_order_acquire);
        if (seen > (uint32_t)r) break;
        syscall(SYS_futex, (void *)low, FUTEX_WAIT, seen, NULL, NULL, 0);
      }
    } else if (shm_host_wait_durable(&st, (uint64_t)r, -1) != SHM_HOST_OK) {
      fprintf(stderr, "wait: %s\n", st.message);
      return 1;
    }
    printf("woke %lld\n", (long long)clock_ns(CLOCK_MONOTONIC));
  }
  return 0;
}
