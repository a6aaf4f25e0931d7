/*
 * The C client driven by the tests (the TypeScript tests in test/clients): the same commands
 * and output as shm_tool.py, so every test runs both.
 *
 *   shm_tool write [--count N] [--rate R] [--log PATH] [--min-size A] [--max-size B]
 *                  [--slots S] [--ring-size R] [--tail-seed S --tail-length N] [--ack-every K]
 *   shm_tool read [--tail-length N]       one JSON object: header, records, host words, tail CRC
 *   shm_tool check                        attach only: "ok", or JSON {code, message} and status 1
 *   shm_tool wait-durable|wait-replicated --offset O --timeout-ms T
 *   shm_tool dbuf-write --capacity C --count N [--region R] / dbuf-read --capacity C [--region R]
 *   shm_tool commit-burst [--count N]     N commits on a private file between two close(-4242) markers
 *
 * Records use the self-checking encoding of fixtures/lib/record-codec.js.
 */
#define SHM_HOST_IMPLEMENTATION
#include "../../clients/c/shm_host.h"

#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static const char *opt(int argc, char **argv, const char *name, const char *dflt) {
  for (int i = 2; i + 1 < argc; i++)
    if (strcmp(argv[i], name) == 0) return argv[i + 1];
  return dflt;
}
static uint64_t num(int argc, char **argv, const char *name, uint64_t dflt) {
  const char *v = opt(argc, argv, name, NULL);
  return v ? strtoull(v, NULL, 10) : dflt;
}

static uint32_t seed_of(uint64_t index) {
  uint32_t s = (uint32_t)index ^ (uint32_t)((index >> 32) * 0x85EBCA6Bu) ^ 0x9E3779B9u;
  return s ? s : 1;
}
static uint32_t xorshift32(uint32_t s) { s ^= s << 13; s ^= s >> 17; s ^= s << 5; return s; }
static uint64_t record_length_for(uint64_t index, uint64_t lo, uint64_t hi) {
  uint32_t h = xorshift32(xorshift32(seed_of(index)));
  uint64_t span = hi - lo + 1, range = (h & 3) == 0 ? span : (span / 8 ? span / 8 : 1);
  return lo + ((h >> 2) % range);
}
static void encode(uint64_t index, uint64_t length, unsigned char *out) {
  memcpy(out, &index, 8);
  uint32_t l32 = (uint32_t)length;
  memcpy(out + 8, &l32, 4);
  uint32_t s = seed_of(index);
  for (uint64_t k = 12; k < length - 4; k++) { s = xorshift32(s); out[k] = (unsigned char)(s & 0xFF); }
  uint32_t crc = shm_host__crc32(out, length - 4);
  memcpy(out + length - 4, &crc, 4);
}
/* NULL when intact, else why not. */
static const char *defect(const unsigned char *p, size_t n, uint64_t *index) {
  uint32_t l32, crc;
  if (n < 16) return "too short";
  memcpy(&l32, p + 8, 4);
  if (l32 != n) return "length field mismatch";
  memcpy(&crc, p + n - 4, 4);
  if (shm_host__crc32(p, n - 4) != crc) return "checksum mismatch";
  memcpy(index, p, 8);
  uint32_t s = seed_of(*index);
  for (size_t k = 12; k < n - 4; k++) { s = xorshift32(s); if (p[k] != (s & 0xFF)) return "payload mismatch"; }
  return NULL;
}

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}
static int64_t cpu_ns(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ((int64_t)ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000LL + ((int64_t)ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000;
}

static unsigned char buf[1 << 22];

static int attach_or_die(struct shm_host_state *st, int argc, char **argv) {
  struct shm_host_options o = {0};
  o.slots = num(argc, argv, "--slots", 0);
  o.ring_size = num(argc, argv, "--ring-size", 0);
  int rc = shm_host_attach(st, &o);
  if (rc) {
    printf("{\"code\":\"%s\",\"message\":\"", shm_host_error_name(rc));
    for (const char *m = st->message; *m; m++) {
      if (*m == '"' || *m == '\\') putchar('\\');
      putchar(*m);
    }
    printf("\"}\n");
    exit(1);
  }
  return rc;
}

static uint64_t latest_index(struct shm_host_state *st) {
  size_t n;
  uint64_t index = 0;
  if (shm_host_latest(st, NULL, buf, sizeof buf, &n) || n == 0) return 0;
  const char *why = defect(buf, n, &index);
  if (why) { fprintf(stderr, "c: the latest record is not intact: %s\n", why); exit(1); }
  return index;
}

static void fill_tail(struct shm_host_state *st, uint32_t seed, uint64_t length) {
  uint64_t size;
  unsigned char *tail = shm_host_tail(st, &size);
  uint32_t s = seed ? seed : 1;
  for (uint64_t k = 0; k < length && k < size; k++) { s = xorshift32(s); tail[k] = (unsigned char)s; }
}

static int cmd_write(int argc, char **argv) {
  struct shm_host_state st;
  attach_or_die(&st, argc, argv);
  uint64_t count = num(argc, argv, "--count", UINT64_MAX), rate = num(argc, argv, "--rate", 0);
  uint64_t lo = num(argc, argv, "--min-size", 16), hi = num(argc, argv, "--max-size", 1024), ack = num(argc, argv, "--ack-every", 0);
  if (hi > shm_host_max_record_size(&st)) hi = shm_host_max_record_size(&st);
  const char *log_path = opt(argc, argv, "--log", NULL);
  int replicated = strcmp(opt(argc, argv, "--ack", "durable"), "replicated") == 0; /* what an acknowledgement waits for */
  int log = log_path ? open(log_path, O_WRONLY | O_APPEND | O_CREAT, 0600) : -1;
  if (opt(argc, argv, "--tail-length", NULL)) fill_tail(&st, (uint32_t)num(argc, argv, "--tail-seed", 1), num(argc, argv, "--tail-length", 0));
  uint64_t index = latest_index(&st);
  printf("c: resumed at %" PRIu64 ", write offset %" PRIu64 "\n", index, st.w);
  fflush(stdout);
  int64_t start = now_ns();
  for (uint64_t done = 0; done < count; done++) {
    index++;
    uint64_t len = record_length_for(index, lo, hi), offset;
    encode(index, len, buf);
    if (shm_host_commit(&st, buf, len, &offset)) { fprintf(stderr, "c: %s\n", st.message); return 1; }
    if (log >= 0) {
      char line[32];
      int n = snprintf(line, sizeof line, "%" PRIu64 "\n", index);
      if (write(log, line, (size_t)n) != n) { perror("c: log"); return 1; }
    }
    if (ack && index % ack == 0) {
      int rc = replicated ? shm_host_wait_replicated(&st, offset, 20000000000LL) : shm_host_wait_durable(&st, offset, 20000000000LL);
      if (rc) { fprintf(stderr, "c: %s\n", st.message); return 1; }
      printf("c: %s %" PRIu64 "\n", replicated ? "replicated" : "durable", index);
      fflush(stdout);
    }
    if (rate) {
      int64_t due = start + (int64_t)((done + 1) * 1000000000ULL / rate), wait = due - now_ns();
      if (wait > 0) { struct timespec ts = { wait / 1000000000LL, wait % 1000000000LL }; nanosleep(&ts, NULL); }
    }
  }
  printf("c: committed %" PRIu64 " records, last index %" PRIu64 ", write offset %" PRIu64 "\n", count, index, st.w);
  shm_host_close(&st);
  return 0;
}

static int cmd_read(int argc, char **argv) {
  struct shm_host_state st;
  attach_or_die(&st, argc, argv);
  printf("{\"configured\":true,\"slots\":%" PRIu64 ",\"ring\":%" PRIu64 ",\"write_offset\":\"%" PRIu64 "\",\"records\":[", st.slots, st.ring, st.w);
  for (uint64_t i = 0; i < shm_host_record_count(&st); i++) {
    uint64_t offset, index;
    size_t n;
    if (shm_host_record(&st, i, &offset, buf, sizeof buf, &n)) { fprintf(stderr, "c: %s\n", st.message); return 1; }
    const char *why = defect(buf, n, &index);
    printf("%s{\"offset\":\"%" PRIu64 "\",\"length\":%zu,", i ? "," : "", offset, n);
    if (why) printf("\"defect\":\"%s\"}", why); else printf("\"index\":%" PRIu64 "}", index);
  }
  uint64_t tail_size, want = num(argc, argv, "--tail-length", 0);
  unsigned char *tail = shm_host_tail(&st, &tail_size);
  printf("],\"durable_offset\":\"%" PRIu64 "\",\"snapshot_seq\":\"%" PRIu64 "\",\"replicated_offset\":\"%" PRIu64 "\",\"tail_size\":%" PRIu64 ",\"tail_crc\":%u}\n",
         shm_host_durable_offset(&st), shm_host_snapshot_seq(&st), shm_host_replicated_offset(&st), tail_size, shm_host__crc32(tail, want < tail_size ? want : tail_size));
  shm_host_close(&st);
  return 0;
}

static int cmd_wait(int argc, char **argv, int replicated) {
  struct shm_host_state st;
  attach_or_die(&st, argc, argv);
  uint64_t offset = num(argc, argv, "--offset", 0);
  int64_t timeout = (int64_t)num(argc, argv, "--timeout-ms", 1000) * 1000000LL;
  uint64_t (*read)(const struct shm_host_state *) = replicated ? shm_host_replicated_offset : shm_host_durable_offset;
  const char *word = replicated ? "replicated" : "durable";
  printf("waiting %" PRIu64 "\n", read(&st));
  fflush(stdout);
  int64_t cpu0 = cpu_ns();
  int rc = replicated ? shm_host_wait_replicated(&st, offset, timeout) : shm_host_wait_durable(&st, offset, timeout);
  int64_t woke = now_ns();
  printf("{\"%s\":%s,\"woke_ns\":\"%" PRId64 "\",\"cpu_ns\":%" PRId64 ",\"%s_offset\":\"%" PRIu64 "\",\"code\":\"%s\"}\n",
         word, rc == SHM_HOST_OK ? "true" : "false", woke, cpu_ns() - cpu0, word, read(&st), shm_host_error_name(rc));
  shm_host_close(&st);
  return rc == SHM_HOST_OK || rc == SHM_HOST_TIMEOUT ? 0 : 1;
}

/* Version v of a double buffer: 100 + v % 900 bytes from a generator seeded by v. */
static size_t dbuf_version(uint64_t v, unsigned char *out) {
  size_t n = 100 + (size_t)(v % 900);
  uint32_t s = seed_of(v);
  for (size_t k = 0; k < n; k++) { s = xorshift32(s); out[k] = (unsigned char)s; }
  return n;
}

static int cmd_dbuf(int argc, char **argv, int writing) {
  struct shm_host_state st;
  attach_or_die(&st, argc, argv);
  uint64_t cap = num(argc, argv, "--capacity", 4096), region = num(argc, argv, "--region", 0);
  const unsigned char *data;
  size_t len;
  uint64_t version;
  int recovered;
  int rc = shm_host_dbuf_read(&st, region, cap, &data, &len, &version, &recovered);
  if (rc) { printf("{\"code\":\"%s\",\"message\":\"%s\"}\n", shm_host_error_name(rc), st.message); return 1; }
  if (writing) {
    uint64_t count = num(argc, argv, "--count", 1);
    for (uint64_t k = 0; k < count; k++) {
      size_t n = dbuf_version(++version, buf);
      if ((rc = shm_host_dbuf_write(&st, region, cap, buf, n, NULL))) { fprintf(stderr, "c: %s\n", st.message); return 1; }
    }
    rc = shm_host_dbuf_read(&st, region, cap, &data, &len, &version, &recovered);
  }
  int intact = data && len == dbuf_version(version, buf) && memcmp(data, buf, len) == 0;
  printf("{\"version\":%" PRIu64 ",\"length\":%zu,\"intact\":%s,\"recovered\":%s,\"crc\":%u}\n", version, len, intact ? "true" : "false", recovered ? "true" : "false",
         (unsigned)shm_host__crc32(data ? data : buf, len));
  shm_host_close(&st);
  return 0;
}

/* The API's edge cases on a standalone file: one JSON object {check: true | "what happened"}. */
static int cmd_api(void) {
  struct shm_host_state st;
  struct shm_host_options o = {0};
  o.standalone = 1 << 20;
  o.slots = 16;
  o.ring_size = 8192;
  int first = 1;
#define CHECK(name, cond) do { printf("%s\"%s\":%s", first ? "{" : ",", name, (cond) ? "true" : "\"false\""); first = 0; } while (0)
  unsetenv("LISTEN_FDS");
  unsetenv("LISTEN_PID");
  int rc = shm_host_attach(&st, &o);
  CHECK("standalone attach with geometry", rc == SHM_HOST_OK && st.slots == 16 && st.ring == 8192);
  size_t n = 99;
  uint64_t off = 7;
  CHECK("no latest record: len 0", shm_host_latest(&st, &off, buf, sizeof buf, &n) == SHM_HOST_OK && n == 0);
  CHECK("commit NULL data", shm_host_commit(&st, NULL, 5, &off) == SHM_HOST_INVALID_ARGUMENT);
  CHECK("empty record", shm_host_commit(&st, buf, 0, &off) == SHM_HOST_RANGE && strstr(st.message, "1 to 8191 bytes"));
  CHECK("record as long as the ring", shm_host_commit(&st, buf, 8192, &off) == SHM_HOST_RANGE);
  CHECK("nothing committed by refusals", st.w == 0 && shm_host_record_count(&st) == 0);
  memcpy(buf, "hello", 5);
  CHECK("commit returns offsets", shm_host_commit(&st, buf, 5, &off) == SHM_HOST_OK && off == 0 && shm_host_commit(&st, buf, 3, &off) == SHM_HOST_OK && off == 5);
  CHECK("a buffer too small: RANGE, needed length", shm_host_latest(&st, &off, buf, 2, &n) == SHM_HOST_RANGE && n == 3);
  CHECK("record index past the end", shm_host_record(&st, 2, &off, buf, sizeof buf, &n) == SHM_HOST_RANGE);
  CHECK("durable words are 0 standalone", shm_host_durable_offset(&st) == 0 && shm_host_snapshot_seq(&st) == 0);
  CHECK("wait times out", shm_host_wait_durable(&st, 0, 30000000) == SHM_HOST_TIMEOUT && strstr(st.message, "not durable within"));
  CHECK("wait for replication times out", shm_host_wait_replicated(&st, 0, 30000000) == SHM_HOST_TIMEOUT && strstr(st.message, "not replicated within") && strstr(st.message, "replicated_offset is 0"));
  uint64_t tail_size;
  unsigned char *tail = shm_host_tail(&st, &tail_size);
  CHECK("tail after the ring", tail == st.base + st.tail_base && tail_size == st.size - st.tail_base);
  const unsigned char *data;
  uint64_t version;
  int recovered;
  CHECK("double buffer that does not fit", shm_host_dbuf_read(&st, 0, tail_size, &data, &n, &version, &recovered) == SHM_HOST_RANGE);
  CHECK("double buffer: a half must hold its header", shm_host_dbuf_read(&st, 0, SHM_HOST_DBUF_HEADER, &data, &n, &version, NULL) == SHM_HOST_RANGE && strstr(st.message, "48-byte header"));
  CHECK("double buffer: none yet", shm_host_dbuf_read(&st, 0, 1024, &data, &n, &version, &recovered) == SHM_HOST_OK && data == NULL);
  CHECK("double buffer: two versions", shm_host_dbuf_write(&st, 0, 1024, "one", 3, NULL) == SHM_HOST_OK && shm_host_dbuf_write(&st, 0, 1024, "four", 4, NULL) == SHM_HOST_OK &&
        shm_host_dbuf_read(&st, 0, 1024, &data, &n, &version, &recovered) == SHM_HOST_OK && version == 2 && n == 4 && memcmp(data, "four", 4) == 0 &&
        data == tail + 1024 + SHM_HOST_DBUF_HEADER && !recovered);
  tail[1024 + SHM_HOST_DBUF_HEADER] ^= 1;
  CHECK("double buffer: a torn half falls back to the other", shm_host_dbuf_read(&st, 0, 1024, &data, &n, &version, &recovered) == SHM_HOST_OK &&
        version == 1 && n == 3 && memcmp(data, "one", 3) == 0 && recovered);
  CHECK("double buffer: the next version goes over the torn half", shm_host_dbuf_write(&st, 0, 1024, "three", 5, NULL) == SHM_HOST_OK &&
        shm_host_dbuf_read(&st, 0, 1024, &data, &n, &version, &recovered) == SHM_HOST_OK && version == 3 && !recovered && data == tail + 1024 + SHM_HOST_DBUF_HEADER &&
        memcmp(tail + SHM_HOST_DBUF_HEADER, "one", 3) == 0);
  tail[1024 + SHM_HOST_DBUF_HEADER] ^= 1;
  tail[SHM_HOST_DBUF_HEADER] ^= 1;
  CHECK("double buffer: both halves torn", shm_host_dbuf_read(&st, 0, 1024, &data, &n, &version, &recovered) == SHM_HOST_BAD_DOUBLE_BUFFER &&
        strstr(st.message, "neither half of the double buffer at tail offset 0 holds an intact version: the latest record names version 3 in half 1"));
  CHECK("double buffer: another geometry", shm_host_dbuf_read(&st, 0, 512, &data, &n, &version, &recovered) == SHM_HOST_BAD_DOUBLE_BUFFER &&
        strstr(st.message, "2 x 1024 bytes at tail offset 0, not 2 x 512 at 0") && shm_host_dbuf_write(&st, 0, 512, "x", 1, NULL) == SHM_HOST_BAD_DOUBLE_BUFFER);
  CHECK("double buffer: too big", shm_host_dbuf_write(&st, 0, 1024, buf, 1024 - SHM_HOST_DBUF_HEADER + 1, NULL) == SHM_HOST_RANGE);
  memcpy(buf, "SHMDBUF3", 8);
  memset(buf + 8, 0, 56);
  CHECK("double buffer: a newer format is refused", shm_host_commit(&st, buf, 64, NULL) == SHM_HOST_OK &&
        shm_host_dbuf_read(&st, 0, 1024, &data, &n, &version, &recovered) == SHM_HOST_BAD_DOUBLE_BUFFER && strstr(st.message, "format 3, which this client does not read") &&
        shm_host_dbuf_write(&st, 0, 1024, "x", 1, NULL) == SHM_HOST_BAD_DOUBLE_BUFFER);
  tail[1024 + SHM_HOST_DBUF_HEADER] ^= 1; /* version 3 (half 1) intact again */
  CHECK("double buffer: a new series never falls back to an earlier one's version", shm_host_commit(&st, "own", 3, NULL) == SHM_HOST_OK &&
        shm_host_dbuf_write(&st, 0, 1024, "new", 3, NULL) == SHM_HOST_OK && shm_host_dbuf_read(&st, 0, 1024, &data, &n, &version, &recovered) == SHM_HOST_OK &&
        version == 1 && (tail[SHM_HOST_DBUF_HEADER] ^= 1) && shm_host_dbuf_read(&st, 0, 1024, &data, &n, &version, &recovered) == SHM_HOST_BAD_DOUBLE_BUFFER);
  shm_host_close(&st);
  shm_host_close(&st);
  CHECK("closed: commit refused", shm_host_commit(&st, "x", 1, &off) == SHM_HOST_CLOSED);
  CHECK("closed: reads refused", shm_host_latest(&st, &off, buf, sizeof buf, &n) == SHM_HOST_CLOSED && shm_host_record_count(&st) == 0);
  CHECK("error names", strcmp(shm_host_error_name(SHM_HOST_BAD_RECORD_SET), "BAD_RECORD_SET") == 0 && strcmp(shm_host_error_name(-99), "UNKNOWN") == 0);
  o.slots = 3;
  CHECK("slots must be a power of two", shm_host_attach(&st, &o) == SHM_HOST_BAD_CONFIG);
  o.slots = 16;
  o.ring_size = 1 << 20;
  CHECK("a ring that does not fit", shm_host_attach(&st, &o) == SHM_HOST_RINGS_DO_NOT_FIT && strstr(st.message, "need a file of at least"));
  o.standalone = 0;
  CHECK("no shared file", shm_host_attach(&st, &o) == SHM_HOST_NO_SHARED_FILE);
  printf("}\n");
  return 0;
}

/* N commits of 1 to 299 bytes (the ring wraps: invalidations run too) on a private 1 MiB
 * file, between two marker system calls, close(-4242), that strace shows: nothing may
 * appear between them. */
static int cmd_burst(int argc, char **argv) {
  struct shm_host_options o = {0};
  struct shm_host_state st;
  unsigned char data[299];
  uint64_t count = num(argc, argv, "--count", 100000), offset = 0;
  int rc = 0;
  o.standalone = 1 << 20;
  if (shm_host_attach(&st, &o)) { fprintf(stderr, "shm_tool: %s\n", st.message); return 1; }
  for (int i = 0; i < 299; i++) data[i] = (unsigned char)i;
  close(-4242);
  for (uint64_t i = 0; i < count && !rc; i++) rc = shm_host_commit(&st, data, 1 + (size_t)(i % 299), &offset);
  close(-4242);
  if (rc) { fprintf(stderr, "shm_tool: %s\n", st.message); return 1; }
  printf("{\"commits\":%" PRIu64 ",\"write_offset\":\"%" PRIu64 "\"}\n", count, st.w);
  shm_host_close(&st);
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 2) { fprintf(stderr, "usage: shm_tool write|read|check|wait-durable|wait-replicated|dbuf-write|dbuf-read|commit-burst [options]\n"); return 2; }
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (strcmp(argv[1], "api") == 0) return cmd_api();
  if (strcmp(argv[1], "write") == 0) return cmd_write(argc, argv);
  if (strcmp(argv[1], "read") == 0) return cmd_read(argc, argv);
  if (strcmp(argv[1], "wait-durable") == 0) return cmd_wait(argc, argv, 0);
  if (strcmp(argv[1], "wait-replicated") == 0) return cmd_wait(argc, argv, 1);
  if (strcmp(argv[1], "dbuf-write") == 0) return cmd_dbuf(argc, argv, 1);
  if (strcmp(argv[1], "dbuf-read") == 0) return cmd_dbuf(argc, argv, 0);
  if (strcmp(argv[1], "commit-burst") == 0) return cmd_burst(argc, argv);
  if (strcmp(argv[1], "check") == 0) {
    struct shm_host_state st;
    attach_or_die(&st, argc, argv);
    printf("ok\n");
    return 0;
  }
  fprintf(stderr, "shm_tool: unknown command %s\n", argv[1]);
  return 2;
}
