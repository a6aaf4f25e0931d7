/*
 * A complete child in C: an 8-byte little-endian counter that survives
 * crashes, plus a "receipt" it prints only once the count is durable on
 * disk (the pattern for anything you cannot take back: a reply, a message).
 *
 *   cc -std=c11 -O2 -o counter clients/c/example.c
 *   shm-host --dir ./state -- ./counter
 *   ./counter --standalone          (no host: a private file that does not survive)
 *   ./counter --no-wait             (never wait for durability)
 */
#define SHM_HOST_IMPLEMENTATION
#include "shm_host.h"

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv) {
  struct shm_host_options options = {0};
  int wait = 1;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--standalone") == 0) options.standalone = 1 << 20;
    else if (strcmp(argv[i], "--no-wait") == 0) wait = 0;
  }
  struct shm_host_state st;
  if (shm_host_attach(&st, &options) != SHM_HOST_OK) {
    fprintf(stderr, "counter: %s\n", st.message);
    return 1;
  }
  unsigned char record[8];
  size_t len = 0;
  uint64_t counter = 0;
  if (shm_host_latest(&st, NULL, record, sizeof record, &len) == SHM_HOST_OK && len == 8) memcpy(&counter, record, 8);
  printf("counter: resumed at %llu\n", (unsigned long long)counter);
  for (int i = 0; i < 1000; i++) {
    counter++;
    memcpy(record, &counter, 8); /* the layout is little-endian, and so is this machine */
    uint64_t offset;
    if (shm_host_commit(&st, record, sizeof record, &offset) != SHM_HOST_OK) {
      fprintf(stderr, "counter: %s\n", st.message);
      return 1;
    }
    /* Every 100th value: wait (up to 10 s) until the host has it on disk
     * (standalone, no host ever writes it: st.owns_fd says we made the file). */
    if (wait && counter % 100 == 0 && !st.owns_fd) {
      int rc = shm_host_wait_durable(&st, offset, 10000000000LL);
      if (rc == SHM_HOST_OK) printf("counter: %llu is durable\n", (unsigned long long)counter);
      else printf("counter: %llu not durable yet (%s)\n", (unsigned long long)counter, shm_host_error_name(rc));
    }
  }
  shm_host_close(&st);
  return 0;
}
