// The one place that loads libc through koffi. Everything else in the
// project reaches the C library through the typed wrappers in src/sys.
import koffi from 'koffi';

const libc = koffi.load('libc.so.6');

// Pointers stay opaque JS values; we only ever hand them back to libc or to
// koffi.view, and compare them to MAP_FAILED through koffi.address.
export const c = {
  memfd_create: libc.func('int memfd_create(const char *name, unsigned int flags)'),
  fcntl_int: libc.func('int fcntl(int fd, int cmd, int arg)'),
  mmap: libc.func('void *mmap(void *addr, size_t length, int prot, int flags, int fd, int64_t offset)'),
  munmap: libc.func('int munmap(void *addr, size_t length)'),
  flock: libc.func('int flock(int fd, int operation)'),
  prctl: libc.func('int prctl(int option, unsigned long arg2, unsigned long arg3, unsigned long arg4, unsigned long arg5)'),
  lseek: libc.func('int64_t lseek(int fd, int64_t offset, int whence)'),
  waitid: libc.func('int waitid(int idtype, int id, _Out_ uint8_t *infop, int options)'),
  sendfile: libc.func('intptr_t sendfile(int out_fd, int in_fd, _Inout_ int64_t *offset, size_t count)'),
  copy_file_range: libc.func('intptr_t copy_file_range(int fd_in, _Inout_ int64_t *off_in, int fd_out, _Inout_ int64_t *off_out, size_t len, unsigned int flags)'),
  sync_file_range: libc.func('int sync_file_range(int fd, int64_t offset, int64_t nbytes, unsigned int flags)'),
  // Unix datagram sockets with SCM_RIGHTS (socket-abi.ts lays out the structs).
  socket: libc.func('int socket(int domain, int type, int protocol)'),
  bind: libc.func('int bind(int fd, void *addr, uint32_t len)'),
  sendmsg: libc.func('intptr_t sendmsg(int fd, void *msg, int flags)'),
  recvmsg: libc.func('intptr_t recvmsg(int fd, void *msg, int flags)'),
  // futex(2) has no libc wrapper: syscall(SYS_futex, uaddr, op, val, timeout, uaddr2, val3).
  syscall_futex: libc.func('long syscall(long number, uintptr_t uaddr, int op, int val, void *timeout, void *uaddr2, int val3)'),
};

export const errno = (): number => koffi.errno();
export const address = (ptr: unknown): bigint => koffi.address(ptr);
// `ptr` may be a pointer or a raw address (a bigint), so a window can start inside a mapping.
export const view = (ptr: unknown, length: number): ArrayBuffer => koffi.view(ptr, length);
