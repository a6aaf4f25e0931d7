/*
 * shm_host.h: a child's side of shm-host in C11, in one header
 * (docs/FORMAT.md is the contract; this file follows it section by section).
 *
 *   #define SHM_HOST_IMPLEMENTATION   (in exactly one .c file, before the include,
 *                                      which comes first in that file)
 *   #include "shm_host.h"
 *
 *   struct shm_host_state st;
 *   if (shm_host_attach(&st, NULL) != SHM_HOST_OK) { fprintf(stderr, "%s\n", st.message); exit(1); }
 *   uint64_t offset;
 *   shm_host_commit(&st, bytes, n, &offset);    // the record survives a crash of this process now
 *   shm_host_wait_durable(&st, offset, 5e9);     // ... and a crash of the host or machine after this
 *   shm_host_wait_replicated(&st, offset, 30e9); // ... and the loss of the machine (--replica)
 *
 * Every function returns SHM_HOST_OK (0) or a negative error code; on an
 * error `st->message` holds one line naming the problem and the fix.
 * Nothing here allocates. shm_host_commit makes no system call and never
 * waits. Linux only (memfd, futex), little-endian 64-bit machines only.
 *
 * Memory ordering (FORMAT.md section 3): words are accessed as C11 atomics on
 * the mapping. Invalidations are followed by a release fence (a full barrier
 * on arm64: `dmb ish`; nothing on x86-64, whose stores are ordered), the
 * record's offset and length and write_offset are release stores, every
 * load of a word another process writes is an acquire load.
 *
 * Standard: C11 with <stdatomic.h>; uses unsigned __int128 for overflow-safe
 * layout checks (GCC and Clang on 64-bit targets).
 */
#ifndef SHM_HOST_H
#define SHM_HOST_H

/* The implementation needs POSIX and Linux declarations (memfd, syscall, clock_gettime)
 * that strict -std=c11 hides: include this header first in the implementing file, or
 * build with -D_GNU_SOURCE. */
#if defined(SHM_HOST_IMPLEMENTATION) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE 1
#endif

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Error codes: the same names as the Node and Python clients' `code`. */
enum {
  SHM_HOST_OK = 0,
  /* Finding the file (Node: AttachError codes). */
  SHM_HOST_NO_SHARED_FILE = -1,  /* LISTEN_FDS/LISTEN_PID not set: not started by the host */
  SHM_HOST_PID_MISMATCH = -2,    /* LISTEN_PID names another process */
  SHM_HOST_NO_SUCH_NAME = -3,    /* no descriptor named SHM_SHARED_FD */
  SHM_HOST_BAD_ENVIRONMENT = -4, /* LISTEN_FDS is not a positive number */
  SHM_HOST_BAD_FILE = -5,        /* fd not open, not a file, too small, not mappable read-write */
  /* The file's bytes (Node: FormatError codes, wrapped in AttachError BAD_FILE). */
  SHM_HOST_TOO_SMALL = -6,
  SHM_HOST_BAD_MAGIC = -7,
  SHM_HOST_BAD_ENTRY_MASK = -8,
  SHM_HOST_BAD_DATA_MASK = -9,
  SHM_HOST_RINGS_DO_NOT_FIT = -10,
  SHM_HOST_BAD_SLOT = -11,
  SHM_HOST_BAD_RECORD_SET = -12,
  SHM_HOST_BAD_CONFIG = -13,     /* options.slots / ring_size not a power of two or not fitting */
  /* Use. */
  SHM_HOST_RANGE = -14,          /* record empty or not smaller than the ring; buffer too small */
  SHM_HOST_EXHAUSTED = -15,      /* the u64 record stream would pass 2^64 */
  SHM_HOST_TIMEOUT = -16,        /* shm_host_wait_durable / _replicated: not there within the timeout */
  SHM_HOST_CLOSED = -17,         /* the state was closed (or never attached) */
  SHM_HOST_INVALID_ARGUMENT = -18, /* a NULL pointer where data was required */
  SHM_HOST_SYSTEM = -19,         /* a system call failed: st->sys_errno */
  SHM_HOST_BAD_DOUBLE_BUFFER = -20 /* shm_host_dbuf_read: the record or region does not check */
};

/* Options for shm_host_attach; zero-initialise, then set what you need. */
struct shm_host_options {
  int fd;                   /* > 0: use this descriptor instead of LISTEN_*; 0: discover (fd 0 is never the file) */
  int unset_environment;    /* remove LISTEN_PID/LISTEN_FDS/LISTEN_FDNAMES/LISTEN_PIDFDID after reading them */
  uint64_t slots;           /* entry slots when this attach configures the file (power of two; 0 = default) */
  uint64_t ring_size;       /* data ring bytes when configuring (power of two; 0 = default) */
  uint64_t standalone;      /* with no file passed: run on a private memfd of this many bytes (0 = fail) */
};

/* One attached file. Treat the fields as read-only; `message` is the last error. */
struct shm_host_state {
  unsigned char *base;      /* the mapping (NULL when closed) */
  uint64_t size;            /* file size, bytes */
  int fd;
  int owns_fd;
  uint64_t slots, ring;     /* geometry */
  uint64_t slot_mask, data_mask;
  uint64_t entry_base, data_base, tail_base; /* byte offsets in the file */
  uint64_t w;               /* stream offset of the next record */
  uint64_t latest, oldest, count; /* the run of valid slots, oldest first */
  /* The double buffer this state last wrote or read: the latest record's stream
   * offset + 1 then (0: none), its geometry, the next version, the half holding the
   * current one. */
  uint64_t dbuf_known, dbuf_region, dbuf_capacity, dbuf_next, dbuf_half;
  int sys_errno;
  char message[320];
};

/** Finds the shared file (LISTEN_* as sd_listen_fds_with_names(3) does, or options->fd),
 *  maps it, configures it if no writer ever did, validates it as untrusted input, and
 *  resumes after its latest record. options may be NULL. */
int shm_host_attach(struct shm_host_state *st, const struct shm_host_options *options);
/** Commits `len` bytes (1 .. ring-1) as one record; *offset_out (may be NULL) gets its
 *  stream offset. No system call, no wait, no allocation. */
int shm_host_commit(struct shm_host_state *st, const void *data, size_t len, uint64_t *offset_out);
/** Largest record size in bytes (ring - 1). */
uint64_t shm_host_max_record_size(const struct shm_host_state *st);
/** Number of valid records (oldest first: index 0). */
uint64_t shm_host_record_count(const struct shm_host_state *st);
/** Copies record `i` (0 = oldest) into buf[0..cap); *len gets its size (also when cap is
 *  too small: then SHM_HOST_RANGE and nothing copied). offset may be NULL. */
int shm_host_record(struct shm_host_state *st, uint64_t i, uint64_t *offset, void *buf, size_t cap, size_t *len);
/** The latest record as shm_host_record; *len = 0 when there is none. */
int shm_host_latest(struct shm_host_state *st, uint64_t *offset, void *buf, size_t cap, size_t *len);
/** The application's bytes after the data ring (valid until close); *size gets their count. */
unsigned char *shm_host_tail(struct shm_host_state *st, uint64_t *size);
/** End of the newest record the host made durable on disk (0: none yet). */
uint64_t shm_host_durable_offset(const struct shm_host_state *st);
/** The snapshot that made it durable (0: none). Read after durable_offset: see FORMAT.md 5. */
uint64_t shm_host_snapshot_seq(const struct shm_host_state *st);
/** End of the newest record on the host's replica (--replica), off this machine (0: none). */
uint64_t shm_host_replicated_offset(const struct shm_host_state *st);
/** Waits until the record committed at stream offset `offset` is durable (durable_offset >
 *  offset), for at most timeout_ns nanoseconds (< 0: no limit). SHM_HOST_TIMEOUT when not. */
int shm_host_wait_durable(struct shm_host_state *st, uint64_t offset, int64_t timeout_ns);
/** Waits until the record committed at stream offset `offset` is on the host's replica, off
 *  this machine (replicated_offset > offset), for at most timeout_ns nanoseconds (< 0: no
 *  limit; without --replica it never comes). SHM_HOST_TIMEOUT when not. */
int shm_host_wait_replicated(struct shm_host_state *st, uint64_t offset, int64_t timeout_ns);
/* Double buffering in the tail (FORMAT.md section 6): two halves of `capacity` bytes
 * at tail[region, region + 2*capacity), each a SHM_HOST_DBUF_HEADER-byte header and up
 * to capacity - SHM_HOST_DBUF_HEADER bytes of a version. */
#define SHM_HOST_DBUF_HEADER 48
/** Writes data (at most capacity - SHM_HOST_DBUF_HEADER bytes) and its header into the
 *  half that does not hold the current version, then commits a copy of the header as a
 *  record; *offset_out (may be NULL) gets its stream offset. */
int shm_host_dbuf_write(struct shm_host_state *st, uint64_t region, uint64_t capacity, const void *data, size_t len, uint64_t *offset_out);
/** The current version: the one the latest record names when its half still holds it,
 *  else the newest intact version of either half (*recovered = 1; may be NULL). *data
 *  points into the tail (no copy), *len its size, *version its number; *data = NULL
 *  when the latest record is not a double-buffer record. SHM_HOST_BAD_DOUBLE_BUFFER
 *  when no half holds an intact version or the record is of another geometry or a
 *  newer format. */
int shm_host_dbuf_read(struct shm_host_state *st, uint64_t region, uint64_t capacity, const unsigned char **data, size_t *len, uint64_t *version, int *recovered);
/** Unmaps (and closes a standalone memfd). Safe to call twice. */
void shm_host_close(struct shm_host_state *st);
/** "BAD_MAGIC", "TIMEOUT", ...: the code's name. */
const char *shm_host_error_name(int code);

#ifdef __cplusplus
}
#endif
#endif /* SHM_HOST_H */

#ifdef SHM_HOST_IMPLEMENTATION
#ifndef SHM_HOST_IMPLEMENTED
#define SHM_HOST_IMPLEMENTED

#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__ || UINTPTR_MAX != UINT64_MAX
#error "shm_host.h needs a little-endian 64-bit machine: the shared layout is little-endian 8-byte words"
#endif

#define SHM_HOST__PAGE 4096u
#define SHM_HOST__MAGIC UINT64_C(0x96C2A6F4B68519B3)
#define SHM_HOST__EXT_MAGIC UINT64_C(0x53484D484F535401)
#define SHM_HOST__REPLICA_MAGIC UINT64_C(0x53484D484F535402)
#define SHM_HOST__DBUF_MAGIC1 UINT64_C(0x31465542444d4853) /* "SHMDBUF1" little-endian */
#define SHM_HOST__DBUF_MAGIC2 UINT64_C(0x32465542444d4853) /* "SHMDBUF2" */
#define SHM_HOST__DBUF_PREFIX UINT64_C(0x00465542444d4853) /* "SHMDBUF" in the low 7 bytes */
#define SHM_HOST__SLOT_TRIES 100
#define SHM_HOST__MAX_STRAYS 4096

__extension__ typedef unsigned __int128 shm_host__u128;

static inline _Atomic uint64_t *shm_host__word(const struct shm_host_state *st, uint64_t at) {
  return (_Atomic uint64_t *)(void *)(st->base + at);
}
static inline uint64_t shm_host__load(const struct shm_host_state *st, uint64_t at) {
  return atomic_load_explicit(shm_host__word(st, at), memory_order_acquire);
}
static inline void shm_host__store(struct shm_host_state *st, uint64_t at, uint64_t v) {
  atomic_store_explicit(shm_host__word(st, at), v, memory_order_release);
}

static int shm_host__fail(struct shm_host_state *st, int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(st->message, sizeof st->message, fmt, ap);
  va_end(ap);
  return code;
}

const char *shm_host_error_name(int code) {
  static const char *const names[] = {
    "OK", "NO_SHARED_FILE", "PID_MISMATCH", "NO_SUCH_NAME", "BAD_ENVIRONMENT", "BAD_FILE",
    "TOO_SMALL", "BAD_MAGIC", "BAD_ENTRY_MASK", "BAD_DATA_MASK", "RINGS_DO_NOT_FIT", "BAD_SLOT",
    "BAD_RECORD_SET", "BAD_CONFIG", "RANGE", "EXHAUSTED", "TIMEOUT", "CLOSED", "INVALID_ARGUMENT",
    "SYSTEM", "BAD_DOUBLE_BUFFER",
  };
  if (code > 0 || -code >= (int)(sizeof names / sizeof names[0])) return "UNKNOWN";
  return names[-code];
}

/* Decimal text of a u128 (masks + 1 may be 2^64). */
static const char *shm_host__u128s(shm_host__u128 v, char buf[48]) {
  char *p = buf + 47;
  *p = 0;
  do { *--p = (char)('0' + (int)(v % 10)); v /= 10; } while (v);
  return p;
}

static int shm_host__digits(const char *s, uint64_t *out) {
  uint64_t v = 0;
  if (!s || !*s) return 0;
  for (; *s; s++) {
    if (*s < '0' || *s > '9' || v > (UINT64_MAX - 9) / 10) return 0;
    v = v * 10 + (uint64_t)(*s - '0');
  }
  *out = v;
  return 1;
}

#define SHM_HOST__RUN_HINT "start the program under the host: shm-host -- <command>, or set options.standalone to run without persistence"

/* FORMAT.md section 1, as sd_listen_fds_with_names(3). */
static int shm_host__find_fd(struct shm_host_state *st, int *fd) {
  const char *pid_s = getenv("LISTEN_PID"), *fds_s = getenv("LISTEN_FDS"), *names = getenv("LISTEN_FDNAMES");
  uint64_t pid, count;
  if (!pid_s || !fds_s)
    return shm_host__fail(st, SHM_HOST_NO_SHARED_FILE, "no shared memory file was passed to this process (LISTEN_FDS is not set): %s", SHM_HOST__RUN_HINT);
  if (!shm_host__digits(pid_s, &pid) || pid != (uint64_t)getpid())
    return shm_host__fail(st, SHM_HOST_PID_MISMATCH, "LISTEN_PID=%.40s is not this process (%ld): the shared file was meant for another process; %s", pid_s, (long)getpid(), SHM_HOST__RUN_HINT);
  if (!shm_host__digits(fds_s, &count) || count < 1)
    return shm_host__fail(st, SHM_HOST_BAD_ENVIRONMENT, "LISTEN_FDS=%.40s passes no file descriptor: %s", fds_s, SHM_HOST__RUN_HINT);
  if (names) {
    uint64_t index = 0;
    const char *p = names;
    for (;;) {
      const char *end = strchr(p, ':');
      size_t n = end ? (size_t)(end - p) : strlen(p);
      if (n == 13 && memcmp(p, "SHM_SHARED_FD", 13) == 0 && index < count) {
        *fd = 3 + (int)index;
        return SHM_HOST_OK;
      }
      if (!end) break;
      p = end + 1;
      index++;
    }
  }
  return shm_host__fail(st, SHM_HOST_NO_SUCH_NAME, "none of the %llu passed file descriptors is named SHM_SHARED_FD (LISTEN_FDNAMES=%.60s): %s",
                        (unsigned long long)count, names ? names : "", SHM_HOST__RUN_HINT);
}

static uint64_t shm_host__floor_pow2(uint64_t n) {
  uint64_t p = 1;
  while (p <= n / 2) p *= 2;
  return p;
}

static uint64_t shm_host__pages(shm_host__u128 n, int *overflow) {
  shm_host__u128 r = (n + SHM_HOST__PAGE - 1) / SHM_HOST__PAGE * SHM_HOST__PAGE;
  if (r > UINT64_MAX) *overflow = 1;
  return (uint64_t)r;
}

/* FORMAT.md section 2: the header, validated as untrusted input. */
static int shm_host__layout(struct shm_host_state *st, uint64_t entry_mask, uint64_t data_mask) {
  char a[48], b[48], c[48];
  int overflow = 0;
  if (entry_mask & (entry_mask + 1))
    return shm_host__fail(st, SHM_HOST_BAD_ENTRY_MASK, "invalid layout: entry_mask 0x%llx is not a power of two minus one", (unsigned long long)entry_mask);
  if (data_mask & (data_mask + 1))
    return shm_host__fail(st, SHM_HOST_BAD_DATA_MASK, "invalid layout: data_mask 0x%llx is not a power of two minus one", (unsigned long long)data_mask);
  shm_host__u128 slots = (shm_host__u128)entry_mask + 1, ring = (shm_host__u128)data_mask + 1;
  shm_host__u128 needed = (shm_host__u128)SHM_HOST__PAGE + ((slots * 16 + SHM_HOST__PAGE - 1) / SHM_HOST__PAGE * SHM_HOST__PAGE) +
                          ((ring + SHM_HOST__PAGE - 1) / SHM_HOST__PAGE * SHM_HOST__PAGE);
  if (needed > st->size)
    return shm_host__fail(st, SHM_HOST_RINGS_DO_NOT_FIT, "invalid layout: %s entry slots and a %s-byte data ring need %s bytes, but the file has %llu",
                          shm_host__u128s(slots, a), shm_host__u128s(ring, b), shm_host__u128s(needed, c), (unsigned long long)st->size);
  if (ring < 2) return shm_host__fail(st, SHM_HOST_BAD_DATA_MASK, "invalid layout: a data ring of 1 byte cannot hold a record");
  st->slots = (uint64_t)slots;
  st->ring = (uint64_t)ring;
  st->slot_mask = entry_mask;
  st->data_mask = data_mask;
  st->entry_base = SHM_HOST__PAGE;
  st->data_base = st->entry_base + shm_host__pages(slots * 16, &overflow);
  st->tail_base = st->data_base + shm_host__pages(ring, &overflow);
  return SHM_HOST_OK;
}

/* One consistent (offset, length): offset, length, offset again (FORMAT.md section 4). */
static int shm_host__slot(struct shm_host_state *st, uint64_t i, uint64_t *offset, uint64_t *length) {
  uint64_t at = st->entry_base + i * 16;
  uint64_t o = shm_host__load(st, at), l = shm_host__load(st, at + 8);
  int tries = 0;
  for (uint64_t again = shm_host__load(st, at); again != o; again = shm_host__load(st, at)) {
    if (++tries > SHM_HOST__SLOT_TRIES) { *offset = again; *length = 0; return SHM_HOST_OK; }
    o = again;
    l = shm_host__load(st, at + 8);
  }
  *offset = o;
  *length = l;
  if (l == 0) return SHM_HOST_OK;
  if (l >= st->ring)
    return shm_host__fail(st, SHM_HOST_BAD_SLOT, "invalid layout: slot %llu holds a %llu-byte record, but the data ring has only %llu bytes",
                          (unsigned long long)i, (unsigned long long)l, (unsigned long long)st->ring);
  if (o > UINT64_MAX - l)
    return shm_host__fail(st, SHM_HOST_BAD_SLOT, "invalid layout: slot %llu record at offset %llu of %llu bytes runs past the end of the u64 stream",
                          (unsigned long long)i, (unsigned long long)o, (unsigned long long)l);
  return SHM_HOST_OK;
}

static int shm_host__overlap_error(struct shm_host_state *st, uint64_t i, uint64_t oi, uint64_t j, uint64_t oj) {
  if (oj < oi) { uint64_t t = i; i = j; j = t; t = oi; oi = oj; oj = t; }
  return shm_host__fail(st, SHM_HOST_BAD_RECORD_SET, "invalid layout: records in slots %llu and %llu overlap (offsets %llu and %llu)",
                        (unsigned long long)i, (unsigned long long)j, (unsigned long long)oi, (unsigned long long)oj);
}

static int shm_host__in_run(const struct shm_host_state *st, uint64_t i) {
  return st->count && ((i - st->oldest) & st->slot_mask) < st->count;
}

/* FORMAT.md section 4: validate the record set, find the run ending at the latest record,
 * empty every valid slot outside it, resume after it. */
static int shm_host__resume(struct shm_host_state *st, uint64_t header_w) {
  uint64_t latest = 0, latest_off = 0, latest_len = 0, valid = 0, o, l;
  int rc;
  for (uint64_t i = 0; i < st->slots; i++) {
    if ((rc = shm_host__slot(st, i, &o, &l))) return rc;
    if (l && (!valid || o > latest_off)) { latest = i; latest_off = o; latest_len = l; }
    if (l) valid++;
  }
  st->count = 0;
  st->latest = st->slot_mask; /* the first record goes to slot 0 */
  st->oldest = 0;
  st->w = header_w;
  if (!valid) return SHM_HOST_OK;
  uint64_t latest_end = latest_off + latest_len;
  uint64_t oldest = latest, count = 1, newer_off = latest_off;
  while (count < st->slots) {
    uint64_t prev = (oldest - 1) & st->slot_mask;
    if ((rc = shm_host__slot(st, prev, &o, &l))) return rc;
    if (l == 0 || o + l > newer_off) break;
    oldest = prev;
    newer_off = o;
    count++;
  }
  st->latest = latest;
  st->oldest = oldest;
  st->count = count;
  /* Every valid record: inside the window of the latest record's writer, and, outside
   * the run, overlapping no other record (against the run by binary search, which is in
   * offset order, and against the others outside the run pairwise). Only a foreign
   * writer leaves records outside the run; without memory to sort them, more than
   * SHM_HOST__MAX_STRAYS of them are refused rather than compared pairwise. */
  uint64_t strays = 0;
  for (uint64_t i = 0; i < st->slots; i++) {
    if ((rc = shm_host__slot(st, i, &o, &l))) return rc;
    if (!l) continue;
    if (latest_end > st->ring && o < latest_end - st->ring)
      return shm_host__fail(st, SHM_HOST_BAD_RECORD_SET, "invalid layout: slot %llu record at offset %llu lies in ring bytes overwritten by the record ending at %llu",
                            (unsigned long long)i, (unsigned long long)o, (unsigned long long)latest_end);
    if (shm_host__in_run(st, i)) continue;
    if (++strays > SHM_HOST__MAX_STRAYS)
      return shm_host__fail(st, SHM_HOST_BAD_RECORD_SET, "invalid layout: more than %d valid records lie outside the run that ends at the latest record (a foreign writer's slots)",
                            SHM_HOST__MAX_STRAYS);
    uint64_t lo = 0, hi = count; /* first run position whose offset > o */
    while (lo < hi) {
      uint64_t mid = lo + (hi - lo) / 2, ro, rl;
      if ((rc = shm_host__slot(st, (oldest + mid) & st->slot_mask, &ro, &rl))) return rc;
      if (ro <= o) lo = mid + 1; else hi = mid;
    }
    for (uint64_t k = lo ? lo - 1 : 0; k <= lo && k < count; k++) {
      uint64_t s = (oldest + k) & st->slot_mask, ro, rl;
      if ((rc = shm_host__slot(st, s, &ro, &rl))) return rc;
      if (rl && o < ro + rl && ro < o + l) return shm_host__overlap_error(st, i, o, s, ro);
    }
    for (uint64_t j = i + 1; j < st->slots; j++) {
      uint64_t jo, jl;
      if (shm_host__in_run(st, j)) continue;
      if ((rc = shm_host__slot(st, j, &jo, &jl))) return rc;
      if (jl && o < jo + jl && jo < o + l) return shm_host__overlap_error(st, i, o, j, jo);
    }
  }
  for (uint64_t i = 0; i < st->slots; i++)
    if (!shm_host__in_run(st, i) && shm_host__load(st, st->entry_base + i * 16 + 8)) shm_host__store(st, st->entry_base + i * 16 + 8, 0);
  st->w = latest_end > header_w ? latest_end : header_w;
  return SHM_HOST_OK;
}

static int shm_host__open_fd(struct shm_host_state *st, const struct shm_host_options *opt) {
  int rc;
  if (opt->fd > 0) { st->fd = opt->fd; return SHM_HOST_OK; }
  rc = shm_host__find_fd(st, &st->fd);
  if (rc != SHM_HOST_NO_SHARED_FILE || !opt->standalone) return rc;
  int fd = (int)syscall(SYS_memfd_create, "shm-host-standalone", 1u /* MFD_CLOEXEC */);
  if (fd < 0) { st->sys_errno = errno; return shm_host__fail(st, SHM_HOST_SYSTEM, "memfd_create failed: %s", strerror(errno)); }
  if (ftruncate(fd, (off_t)opt->standalone) != 0) {
    st->sys_errno = errno;
    close(fd);
    return shm_host__fail(st, SHM_HOST_SYSTEM, "ftruncate of the standalone memfd failed: %s", strerror(st->sys_errno));
  }
  st->fd = fd;
  st->owns_fd = 1;
  return SHM_HOST_OK;
}

static int shm_host__config(struct shm_host_state *st, const struct shm_host_options *opt) {
  uint64_t ring = opt->ring_size, slots = opt->slots;
  if (!ring) {
    ring = shm_host__floor_pow2(st->size / 8 ? st->size / 8 : 1);
    if (ring < 4096) ring = 4096;
    if (ring > (4u << 20)) ring = 4u << 20;
  }
  if (!slots) {
    slots = shm_host__floor_pow2(ring / 64 ? ring / 64 : 1);
    if (slots < 2) slots = 2;
    if (slots > 4096) slots = 4096;
  }
  int overflow = 0;
  shm_host__u128 needed = (shm_host__u128)SHM_HOST__PAGE + shm_host__pages((shm_host__u128)slots * 16, &overflow) + shm_host__pages(ring, &overflow);
  if (needed > st->size || overflow)
    return shm_host__fail(st, SHM_HOST_RINGS_DO_NOT_FIT, "%llu slots and a %llu-byte ring need a file of at least %llu bytes, but it has %llu",
                          (unsigned long long)slots, (unsigned long long)ring, (unsigned long long)needed, (unsigned long long)st->size);
  int rc = shm_host__layout(st, slots - 1, ring - 1);
  if (rc) return rc;
  shm_host__store(st, 8, slots - 1);
  shm_host__store(st, 16, ring - 1);
  shm_host__store(st, 24, 0);
  shm_host__store(st, 0, SHM_HOST__MAGIC); /* last: whoever sees the magic sees the rest */
  return SHM_HOST_OK;
}

int shm_host_attach(struct shm_host_state *st, const struct shm_host_options *options) {
  static const struct shm_host_options defaults;
  const struct shm_host_options *opt = options ? options : &defaults;
  struct stat sb;
  int rc;
  memset(st, 0, sizeof *st);
  st->fd = -1;
  for (int k = 0; k < 2; k++) {
    uint64_t v = k ? opt->ring_size : opt->slots;
    if (v & (v - 1)) return shm_host__fail(st, SHM_HOST_BAD_CONFIG, "options.%s must be a power of two, got %llu", k ? "ring_size" : "slots", (unsigned long long)v);
  }
  if ((rc = shm_host__open_fd(st, opt))) return rc;
  if (opt->unset_environment) {
    unsetenv("LISTEN_PID"); unsetenv("LISTEN_FDS"); unsetenv("LISTEN_FDNAMES"); unsetenv("LISTEN_PIDFDID");
  }
  if (fstat(st->fd, &sb) != 0) {
    rc = shm_host__fail(st, SHM_HOST_BAD_FILE, "file descriptor %d is not open (%s): the shared file was not passed to this process; start it with shm-host -- <command>", st->fd, strerror(errno));
    goto fail;
  }
  if (!S_ISREG(sb.st_mode)) {
    rc = shm_host__fail(st, SHM_HOST_BAD_FILE, "file descriptor %d is not a file: the shared file was not passed to this process; start it with shm-host -- <command>", st->fd);
    goto fail;
  }
  st->size = (uint64_t)sb.st_size;
  if (st->size < 3 * SHM_HOST__PAGE) {
    rc = shm_host__fail(st, SHM_HOST_BAD_FILE, "the shared file on fd %d has %llu bytes, too small for a header, an entry ring and a data ring (at least %u): give the host a larger --size",
                        st->fd, (unsigned long long)st->size, 3 * SHM_HOST__PAGE);
    goto fail;
  }
  void *p = mmap(NULL, (size_t)st->size, PROT_READ | PROT_WRITE, MAP_SHARED, st->fd, 0);
  if (p == MAP_FAILED) {
    st->sys_errno = errno;
    rc = shm_host__fail(st, SHM_HOST_BAD_FILE, "cannot map the shared file on fd %d read-write (%s): it must be a memory file opened read-write, as shm-host passes it", st->fd, strerror(errno));
    goto fail;
  }
  st->base = (unsigned char *)p;
  uint64_t magic = shm_host__load(st, 0);
  if (magic == 0) {
    rc = shm_host__config(st, opt);
  } else if (magic != SHM_HOST__MAGIC) {
    rc = shm_host__fail(st, SHM_HOST_BAD_MAGIC, "not a shm-host file: magic is 0x%llx, expected 0x%llx", (unsigned long long)magic, (unsigned long long)SHM_HOST__MAGIC);
  } else {
    rc = shm_host__layout(st, shm_host__load(st, 8), shm_host__load(st, 16));
  }
  if (!rc) rc = shm_host__resume(st, shm_host__load(st, 24));
  if (rc) {
    char inner[sizeof st->message];
    memcpy(inner, st->message, sizeof inner);
    shm_host__fail(st, rc, "the shared file on fd %d cannot be used: %s", st->fd, inner);
    goto fail;
  }
  return SHM_HOST_OK;
fail:
  if (st->base) munmap(st->base, (size_t)st->size);
  st->base = NULL;
  if (st->owns_fd) close(st->fd);
  st->owns_fd = 0;
  return rc;
}

/* FORMAT.md section 3. */
int shm_host_commit(struct shm_host_state *st, const void *data, size_t len, uint64_t *offset_out) {
  if (!st->base) return shm_host__fail(st, SHM_HOST_CLOSED, "this shared state is closed");
  if (!data && len) return shm_host__fail(st, SHM_HOST_INVALID_ARGUMENT, "commit: data is NULL");
  if (len == 0 || len >= st->ring)
    return shm_host__fail(st, SHM_HOST_RANGE, "a record must hold 1 to %llu bytes (the data ring size minus one), got %zu", (unsigned long long)(st->ring - 1), len);
  uint64_t w = st->w;
  if (w > UINT64_MAX - len) return shm_host__fail(st, SHM_HOST_EXHAUSTED, "the record stream is exhausted: %zu more bytes would pass 2^64", len);
  uint64_t end = w + len;
  unsigned char *entries = st->base + st->entry_base;
  /* 2 and 3: empty, oldest first, every record about to be overwritten, and the slot
   * to reuse when all are in use (the valid slots are the run ending at the latest). */
  int dropped = 0;
  while (st->count &&
         (st->count == st->slots ||
          (end > st->ring && atomic_load_explicit((_Atomic uint64_t *)(void *)(entries + st->oldest * 16), memory_order_relaxed) < end - st->ring))) {
    atomic_store_explicit((_Atomic uint64_t *)(void *)(entries + st->oldest * 16 + 8), 0, memory_order_relaxed);
    st->oldest = (st->oldest + 1) & st->slot_mask;
    st->count--;
    dropped = 1;
  }
  /* The invalidations become visible before any byte of the new record. */
  if (dropped) atomic_thread_fence(memory_order_release);
  uint64_t slot = (st->latest + 1) & st->slot_mask;
  /* 4: the bytes, across the ring's end if need be. */
  uint64_t pos = w & st->data_mask, first = st->ring - pos;
  unsigned char *ring = st->base + st->data_base;
  if (len <= first) {
    memcpy(ring + pos, data, len);
  } else {
    memcpy(ring + pos, data, (size_t)first);
    memcpy(ring, (const unsigned char *)data + first, len - (size_t)first);
  }
  /* 5: offset, then length (release: the bytes before it); committed here. 6: write_offset. */
  atomic_store_explicit((_Atomic uint64_t *)(void *)(entries + slot * 16), w, memory_order_release);
  atomic_store_explicit((_Atomic uint64_t *)(void *)(entries + slot * 16 + 8), (uint64_t)len, memory_order_release);
  atomic_store_explicit((_Atomic uint64_t *)(void *)(st->base + 24), end, memory_order_release);
  if (!st->count) st->oldest = slot;
  st->count++;
  st->latest = slot;
  st->w = end;
  if (offset_out) *offset_out = w;
  return SHM_HOST_OK;
}

uint64_t shm_host_max_record_size(const struct shm_host_state *st) { return st->ring - 1; }
uint64_t shm_host_record_count(const struct shm_host_state *st) { return st->base ? st->count : 0; }

int shm_host_record(struct shm_host_state *st, uint64_t i, uint64_t *offset, void *buf, size_t cap, size_t *len) {
  uint64_t o, l;
  int rc;
  if (!st->base) return shm_host__fail(st, SHM_HOST_CLOSED, "this shared state is closed");
  if (!len || (!buf && cap)) return shm_host__fail(st, SHM_HOST_INVALID_ARGUMENT, "record: len or buf is NULL");
  if (i >= st->count) return shm_host__fail(st, SHM_HOST_RANGE, "record %llu does not exist: there are %llu", (unsigned long long)i, (unsigned long long)st->count);
  if ((rc = shm_host__slot(st, (st->oldest + i) & st->slot_mask, &o, &l))) return rc;
  *len = (size_t)l;
  if (offset) *offset = o;
  if (l > cap) return shm_host__fail(st, SHM_HOST_RANGE, "the record has %llu bytes, the buffer only %zu", (unsigned long long)l, cap);
  uint64_t pos = o & st->data_mask, first = st->ring - pos;
  if (first > l) first = l;
  memcpy(buf, st->base + st->data_base + pos, (size_t)first);
  memcpy((unsigned char *)buf + first, st->base + st->data_base, (size_t)(l - first));
  return SHM_HOST_OK;
}

int shm_host_latest(struct shm_host_state *st, uint64_t *offset, void *buf, size_t cap, size_t *len) {
  if (!st->base) return shm_host__fail(st, SHM_HOST_CLOSED, "this shared state is closed");
  if (!len) return shm_host__fail(st, SHM_HOST_INVALID_ARGUMENT, "latest: len is NULL");
  if (!st->count) { *len = 0; return SHM_HOST_OK; }
  return shm_host_record(st, st->count - 1, offset, buf, cap, len);
}

unsigned char *shm_host_tail(struct shm_host_state *st, uint64_t *size) {
  if (size) *size = st->base ? st->size - st->tail_base : 0;
  return st->base ? st->base + st->tail_base : NULL;
}

/* FORMAT.md section 5: ext_magic, then durable_offset, then snapshot_seq. */
uint64_t shm_host_durable_offset(const struct shm_host_state *st) {
  if (!st->base || shm_host__load(st, 32) != SHM_HOST__EXT_MAGIC) return 0;
  return shm_host__load(st, 40);
}
uint64_t shm_host_snapshot_seq(const struct shm_host_state *st) {
  if (!st->base || shm_host__load(st, 32) != SHM_HOST__EXT_MAGIC) return 0;
  return shm_host__load(st, 48);
}
/* FORMAT.md section 5: replica_magic (56), then replicated_offset (64). */
uint64_t shm_host_replicated_offset(const struct shm_host_state *st) {
  if (!st->base || shm_host__load(st, 56) != SHM_HOST__REPLICA_MAGIC) return 0;
  return shm_host__load(st, 64);
}

/* Longest single futex wait: a host that does not wake waiters (before the wake was
 * added) is still noticed within this long. */
#define SHM_HOST__WAIT_SLICE_NS 20000000LL

/* Waits until read(st) > offset, sleeping in futex(2) on the low half of the header
 * word at byte `at` (durable_offset 40, replicated_offset 64): the host wakes it
 * (FUTEX_WAKE, shared) after publishing; the kernel compares the word with what we
 * saw first, so a publication between our load and the wait is never missed. */
static int shm_host__wait_word(struct shm_host_state *st, uint64_t offset, int64_t timeout_ns, size_t at,
                               uint64_t (*read)(const struct shm_host_state *), const char *what) {
  struct timespec now, ts;
  if (!st->base) return shm_host__fail(st, SHM_HOST_CLOSED, "this shared state is closed");
  clock_gettime(CLOCK_MONOTONIC, &now);
  int64_t start = (int64_t)now.tv_sec * 1000000000LL + now.tv_nsec;
  for (;;) {
    uint32_t seen = atomic_load_explicit((_Atomic uint32_t *)(void *)(st->base + at), memory_order_acquire);
    if (read(st) > offset) return SHM_HOST_OK;
    clock_gettime(CLOCK_MONOTONIC, &now);
    int64_t elapsed = (int64_t)now.tv_sec * 1000000000LL + now.tv_nsec - start;
    if (timeout_ns >= 0 && elapsed >= timeout_ns)
      return shm_host__fail(st, SHM_HOST_TIMEOUT, "the record at offset %llu was not %s within %lld ns (%s_offset is %llu)",
                            (unsigned long long)offset, what, (long long)timeout_ns, what, (unsigned long long)read(st));
    int64_t slice = timeout_ns >= 0 && timeout_ns - elapsed < SHM_HOST__WAIT_SLICE_NS ? timeout_ns - elapsed : SHM_HOST__WAIT_SLICE_NS;
    ts.tv_sec = (time_t)(slice / 1000000000LL);
    ts.tv_nsec = (long)(slice % 1000000000LL);
    if (syscall(SYS_futex, st->base + at, FUTEX_WAIT, seen, &ts, NULL, 0) != 0 && errno != EAGAIN && errno != ETIMEDOUT && errno != EINTR) {
      st->sys_errno = errno;
      return shm_host__fail(st, SHM_HOST_SYSTEM, "futex wait on %s_offset failed: %s", what, strerror(errno));
    }
  }
}

int shm_host_wait_durable(struct shm_host_state *st, uint64_t offset, int64_t timeout_ns) {
  return shm_host__wait_word(st, offset, timeout_ns, 40, shm_host_durable_offset, "durable");
}

int shm_host_wait_replicated(struct shm_host_state *st, uint64_t offset, int64_t timeout_ns) {
  return shm_host__wait_word(st, offset, timeout_ns, 64, shm_host_replicated_offset, "replicated");
}

/* CRC-32 with zlib's polynomial, continuing from `crc` as zlib's crc32(crc, p, n) does. */
static uint32_t shm_host__crc32_more(uint32_t crc, const unsigned char *p, uint64_t n) {
  uint32_t table[256];
  for (uint32_t i = 0; i < 256; i++) {
    uint32_t c = i;
    for (int k = 0; k < 8; k++) c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    table[i] = c;
  }
  crc ^= 0xFFFFFFFFu;
  for (uint64_t i = 0; i < n; i++) crc = table[(crc ^ p[i]) & 0xFF] ^ (crc >> 8);
  return crc ^ 0xFFFFFFFFu;
}
static uint32_t shm_host__crc32(const unsigned char *p, uint64_t n) { return shm_host__crc32_more(0, p, n); }

static void shm_host__le64(unsigned char *p, uint64_t v) { for (int k = 0; k < 8; k++) p[k] = (unsigned char)(v >> (8 * k)); }
static uint64_t shm_host__rd64(const unsigned char *p) { uint64_t v = 0; for (int k = 7; k >= 0; k--) v = v << 8 | p[k]; return v; }
static uint32_t shm_host__rd32(const unsigned char *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }

static int shm_host__dbuf_region(struct shm_host_state *st, uint64_t region, uint64_t capacity) {
  uint64_t tail = st->size - st->tail_base;
  if (!capacity || capacity > tail / 2 || region > tail - 2 * capacity)
    return shm_host__fail(st, SHM_HOST_RANGE, "a double buffer of 2 x %llu bytes at tail offset %llu does not fit the %llu-byte tail",
                          (unsigned long long)capacity, (unsigned long long)region, (unsigned long long)tail);
  if (capacity <= SHM_HOST_DBUF_HEADER)
    return shm_host__fail(st, SHM_HOST_RANGE, "a double-buffer half of %llu bytes cannot hold its %d-byte header and a version",
                          (unsigned long long)capacity, SHM_HOST_DBUF_HEADER);
  return SHM_HOST_OK;
}

/* A version as a header (format 2) or a record (format 1 or 2) names it. */
struct shm_host__dbuf_hdr { int format; uint64_t region, capacity, version, length; uint32_t half, crc; };

static uint32_t shm_host__dbuf_crc(const unsigned char *head, const unsigned char *data, uint64_t len) {
  return shm_host__crc32_more(shm_host__crc32(head, SHM_HOST_DBUF_HEADER - 4), data, len);
}

/* The latest record as a double-buffer record: 1 with *h filled, 0 when it is not one
 * (none, or the program's own), or a negative error for one this buffer cannot use. */
static int shm_host__dbuf_record(struct shm_host_state *st, uint64_t region, uint64_t capacity, struct shm_host__dbuf_hdr *h, uint64_t *at) {
  unsigned char rec[SHM_HOST_DBUF_HEADER];
  size_t n = 0;
  if (!st->count) return 0;
  int rc = shm_host_latest(st, at, rec, sizeof rec, &n);
  if (rc == SHM_HOST_RANGE) /* longer than ours: its first 8 bytes tell a newer format */
    for (int k = 0; k < 8; k++) rec[k] = st->base[st->data_base + ((*at + (uint64_t)k) & st->data_mask)];
  else if (rc) return rc;
  if (n < 8 || (shm_host__rd64(rec) & UINT64_C(0x00FFFFFFFFFFFFFF)) != SHM_HOST__DBUF_PREFIX) return 0;
  uint64_t magic = shm_host__rd64(rec);
  unsigned char tag = rec[7];
  if (magic == SHM_HOST__DBUF_MAGIC1 && n == 32) {
    *h = (struct shm_host__dbuf_hdr){1, region, capacity, shm_host__rd64(rec + 8), shm_host__rd64(rec + 16), shm_host__rd32(rec + 24), shm_host__rd32(rec + 28)};
    if (h->half > 1 || h->length > capacity)
      return shm_host__fail(st, SHM_HOST_BAD_DOUBLE_BUFFER, "the latest double-buffer record names half %u of %llu bytes, the halves hold at most %llu",
                            h->half, (unsigned long long)h->length, (unsigned long long)capacity);
    return 1;
  }
  if (magic == SHM_HOST__DBUF_MAGIC2 && n == SHM_HOST_DBUF_HEADER) {
    *h = (struct shm_host__dbuf_hdr){2, shm_host__rd64(rec + 8), shm_host__rd64(rec + 16), shm_host__rd64(rec + 24), shm_host__rd64(rec + 32), shm_host__rd32(rec + 40), shm_host__rd32(rec + 44)};
    if (h->region != region || h->capacity != capacity)
      return shm_host__fail(st, SHM_HOST_BAD_DOUBLE_BUFFER, "the latest record belongs to a double buffer of 2 x %llu bytes at tail offset %llu, not 2 x %llu at %llu: open it as it was written",
                            (unsigned long long)h->capacity, (unsigned long long)h->region, (unsigned long long)capacity, (unsigned long long)region);
    if (h->half > 1 || h->length > capacity - SHM_HOST_DBUF_HEADER)
      return shm_host__fail(st, SHM_HOST_BAD_DOUBLE_BUFFER, "the latest double-buffer record names half %u of %llu bytes, the halves hold at most %llu",
                            h->half, (unsigned long long)h->length, (unsigned long long)(capacity - SHM_HOST_DBUF_HEADER));
    return 1;
  }
  if (tag >= '3' && tag <= '9')
    return shm_host__fail(st, SHM_HOST_BAD_DOUBLE_BUFFER, "the latest record is a double-buffer record of format %c, which this client does not read: upgrade the shm-host client", tag);
  return 0;
}

/* The format-2 header of half `index` when it is intact: this buffer's magic, region,
 * capacity and half, and a CRC-32 matching its fields and bytes. */
static int shm_host__dbuf_intact(struct shm_host_state *st, uint64_t region, uint64_t capacity, uint32_t index, struct shm_host__dbuf_hdr *h) {
  const unsigned char *p = st->base + st->tail_base + region + index * capacity;
  if (shm_host__rd64(p) != SHM_HOST__DBUF_MAGIC2) return 0;
  *h = (struct shm_host__dbuf_hdr){2, shm_host__rd64(p + 8), shm_host__rd64(p + 16), shm_host__rd64(p + 24), shm_host__rd64(p + 32), shm_host__rd32(p + 40), shm_host__rd32(p + 44)};
  if (h->region != region || h->capacity != capacity || h->half != index || h->length > capacity - SHM_HOST_DBUF_HEADER) return 0;
  return shm_host__dbuf_crc(p, p + SHM_HOST_DBUF_HEADER, h->length) == h->crc;
}

/* Where the version to read is: 1 with *found (and *recovered = 1 when it is not the
 * version the record names), or 0 when no half holds one intact. */
static int shm_host__dbuf_locate(struct shm_host_state *st, uint64_t region, uint64_t capacity, const struct shm_host__dbuf_hdr *rec, struct shm_host__dbuf_hdr *found, int *recovered) {
  *recovered = 0;
  if (rec->format == 1) {
    *found = *rec;
    return shm_host__crc32(st->base + st->tail_base + region + rec->half * capacity, rec->length) == rec->crc;
  }
  struct shm_host__dbuf_hdr own, other;
  int has_own = shm_host__dbuf_intact(st, region, capacity, rec->half, &own);
  if (has_own && own.version == rec->version && own.length == rec->length && own.crc == rec->crc) { *found = own; return 1; }
  int has_other = shm_host__dbuf_intact(st, region, capacity, rec->half ^ 1, &other);
  if (!has_own && !has_other) return 0;
  *found = has_own && (!has_other || own.version > other.version) ? own : other;
  *recovered = 1;
  return 1;
}

int shm_host_dbuf_read(struct shm_host_state *st, uint64_t region, uint64_t capacity, const unsigned char **data, size_t *len, uint64_t *version, int *recovered) {
  struct shm_host__dbuf_hdr rec, found;
  uint64_t at = 0;
  int rc, rescued;
  *data = NULL;
  *len = 0;
  *version = 0;
  if (recovered) *recovered = 0;
  if (!st->base) return shm_host__fail(st, SHM_HOST_CLOSED, "this shared state is closed");
  if ((rc = shm_host__dbuf_region(st, region, capacity))) return rc;
  st->dbuf_known = 0;
  if ((rc = shm_host__dbuf_record(st, region, capacity, &rec, &at)) <= 0) return rc;
  if (!shm_host__dbuf_locate(st, region, capacity, &rec, &found, &rescued)) {
    if (rec.format == 1)
      return shm_host__fail(st, SHM_HOST_BAD_DOUBLE_BUFFER, "version %llu of the double buffer (format 1, written by an older client) does not match its checksum: a snapshot copied its half while it was rewritten, and format 1 keeps no second version to fall back on",
                            (unsigned long long)rec.version);
    return shm_host__fail(st, SHM_HOST_BAD_DOUBLE_BUFFER, "neither half of the double buffer at tail offset %llu holds an intact version: the latest record names version %llu in half %u (a snapshot copied both halves while they were rewritten)",
                          (unsigned long long)region, (unsigned long long)rec.version, rec.half);
  }
  st->dbuf_known = at + 1;
  st->dbuf_region = region;
  st->dbuf_capacity = capacity;
  st->dbuf_next = (found.version > rec.version ? found.version : rec.version) + 1;
  st->dbuf_half = found.half;
  *data = st->base + st->tail_base + region + found.half * capacity + (found.format == 1 ? 0 : SHM_HOST_DBUF_HEADER);
  *len = (size_t)found.length;
  *version = found.version;
  if (recovered) *recovered = rescued;
  return SHM_HOST_OK;
}

int shm_host_dbuf_write(struct shm_host_state *st, uint64_t region, uint64_t capacity, const void *data, size_t len, uint64_t *offset_out) {
  struct shm_host__dbuf_hdr rec, found;
  uint64_t at = 0, version, offset;
  uint32_t target;
  int rc, rescued;
  if (!st->base) return shm_host__fail(st, SHM_HOST_CLOSED, "this shared state is closed");
  if ((rc = shm_host__dbuf_region(st, region, capacity))) return rc;
  if (len > capacity - SHM_HOST_DBUF_HEADER)
    return shm_host__fail(st, SHM_HOST_RANGE, "%zu bytes do not fit a double-buffer half of %llu bytes (at most %llu after its %d-byte header)",
                          len, (unsigned long long)capacity, (unsigned long long)(capacity - SHM_HOST_DBUF_HEADER), SHM_HOST_DBUF_HEADER);
  if (!data && len) return shm_host__fail(st, SHM_HOST_INVALID_ARGUMENT, "dbuf_write: data is NULL");
  unsigned char *tail = st->base + st->tail_base + region;
  uint64_t latest_len;
  if (st->count && st->dbuf_known && st->dbuf_region == region && st->dbuf_capacity == capacity && shm_host__slot(st, (st->oldest + st->count - 1) & st->slot_mask, &at, &latest_len) == SHM_HOST_OK && at + 1 == st->dbuf_known) {
    /* This state wrote or read the latest record: no checksum pass needed. */
    version = st->dbuf_next;
    target = (uint32_t)st->dbuf_half ^ 1;
  } else if ((rc = shm_host__dbuf_record(st, region, capacity, &rec, &at)) < 0) {
    return rc;
  } else if (rc == 0) {
    /* A new series: a header left in half 1 by an earlier one must never be taken for
     * a version of this one. */
    version = 1;
    target = 0;
    memset(tail + capacity, 0, SHM_HOST_DBUF_HEADER);
  } else if (!shm_host__dbuf_locate(st, region, capacity, &rec, &found, &rescued)) {
    version = rec.version + 1;
    target = rec.half ^ 1;
  } else {
    version = (found.version > rec.version ? found.version : rec.version) + 1;
    target = found.half ^ 1;
  }
  unsigned char *half = tail + target * capacity;
  unsigned char head[SHM_HOST_DBUF_HEADER];
  if (len) memcpy(half + SHM_HOST_DBUF_HEADER, data, len);
  shm_host__le64(head, SHM_HOST__DBUF_MAGIC2);
  shm_host__le64(head + 8, region);
  shm_host__le64(head + 16, capacity);
  shm_host__le64(head + 24, version);
  shm_host__le64(head + 32, len);
  shm_host__le64(head + 40, (uint64_t)target); /* the checksum covers the half too */
  shm_host__le64(head + 40, (uint64_t)target | (uint64_t)shm_host__dbuf_crc(head, half + SHM_HOST_DBUF_HEADER, len) << 32);
  memcpy(half, head, sizeof head);
  if ((rc = shm_host_commit(st, head, sizeof head, &offset))) return rc;
  st->dbuf_known = offset + 1;
  st->dbuf_region = region;
  st->dbuf_capacity = capacity;
  st->dbuf_next = version + 1;
  st->dbuf_half = target;
  if (offset_out) *offset_out = offset;
  return SHM_HOST_OK;
}

void shm_host_close(struct shm_host_state *st) {
  if (!st->base) return;
  munmap(st->base, (size_t)st->size);
  st->base = NULL;
  if (st->owns_fd) close(st->fd);
  st->owns_fd = 0;
}

#endif /* SHM_HOST_IMPLEMENTED */
#endif /* SHM_HOST_IMPLEMENTATION */
