// The C side of unix datagram sockets: the libc calls and the byte layout of
// struct msghdr, iovec, cmsghdr and sockaddr_un, taken from koffi's view of
// the platform ABI (glibc on LP64 Linux: x86_64 and aarch64 lay them out the
// same). Node has datagram sockets for UDP only and cannot pass descriptors
// (SCM_RIGHTS) at all, so sendmsg/recvmsg go through here.
// The libc functions themselves are declared in libc.ts with the others.
import koffi from 'koffi';
import { endianness } from 'node:os';

// <sys/socket.h> and <bits/socket_type.h> values shared by x86_64 and
// aarch64 (mips, sparc and alpha number SOCK_NONBLOCK differently).
export const AF_UNIX = 1;
export const SOCK_DGRAM = 2;
export const SOCK_CLOEXEC = 0o2000000;
export const SOCK_NONBLOCK = 0o4000;
export const SOL_SOCKET = 1;
export const SCM_RIGHTS = 1;
export const MSG_CTRUNC = 0x8;
export const MSG_TRUNC = 0x20;
export const MSG_DONTWAIT = 0x40;
export const MSG_NOSIGNAL = 0x4000;
export const MSG_CMSG_CLOEXEC = 0x40000000;

// Layouts as the C compiler would make them; koffi applies the ABI's
// alignment and padding (msg_namelen is followed by 4 bytes of padding on LP64).
const iovec = koffi.struct('shm_host_iovec', { iov_base: 'void *', iov_len: 'size_t' });
const msghdr = koffi.struct('shm_host_msghdr', {
  msg_name: 'void *', msg_namelen: 'uint32_t', msg_iov: 'void *', msg_iovlen: 'size_t',
  msg_control: 'void *', msg_controllen: 'size_t', msg_flags: 'int',
});
const cmsghdr = koffi.struct('shm_host_cmsghdr', { cmsg_len: 'size_t', cmsg_level: 'int', cmsg_type: 'int' });

const WORD = koffi.sizeof('size_t');
const LITTLE = endianness() === 'LE';

/** Offsets and sizes of the structs sendmsg(2) and recvmsg(2) read, in bytes. */
export const layout = {
  word: WORD,
  msghdr: {
    size: koffi.sizeof(msghdr),
    name: koffi.offsetof(msghdr, 'msg_name'),
    namelen: koffi.offsetof(msghdr, 'msg_namelen'),
    iov: koffi.offsetof(msghdr, 'msg_iov'),
    iovlen: koffi.offsetof(msghdr, 'msg_iovlen'),
    control: koffi.offsetof(msghdr, 'msg_control'),
    controllen: koffi.offsetof(msghdr, 'msg_controllen'),
    flags: koffi.offsetof(msghdr, 'msg_flags'),
  },
  iovec: { size: koffi.sizeof(iovec), base: koffi.offsetof(iovec, 'iov_base'), len: koffi.offsetof(iovec, 'iov_len') },
  cmsghdr: {
    size: koffi.sizeof(cmsghdr),
    len: koffi.offsetof(cmsghdr, 'cmsg_len'),
    level: koffi.offsetof(cmsghdr, 'cmsg_level'),
    type: koffi.offsetof(cmsghdr, 'cmsg_type'),
  },
  /** struct sockaddr_un: sa_family_t (2 bytes), then sun_path[108]. */
  sockaddrUn: { size: 110, pathOffset: 2, pathMax: 108 },
};

/** CMSG_ALIGN from <sys/socket.h>: control data is aligned to size_t. */
export const cmsgAlign = (n: number): number => (n + WORD - 1) & ~(WORD - 1);
/** CMSG_LEN(n): the cmsg_len of a control message carrying n bytes. */
export const cmsgLen = (n: number): number => cmsgAlign(layout.cmsghdr.size) + n;
/** CMSG_SPACE(n): the room that control message takes in msg_control. */
export const cmsgSpace = (n: number): number => cmsgAlign(layout.cmsghdr.size) + cmsgAlign(n);

/** Writes a pointer- or size_t-sized word in the platform's byte order. */
export function putWord(view: DataView, offset: number, value: bigint): void {
  if (WORD === 8) view.setBigUint64(offset, value, LITTLE);
  else view.setUint32(offset, Number(value), LITTLE);
}

export function getWord(view: DataView, offset: number): number {
  return WORD === 8 ? Number(view.getBigUint64(offset, LITTLE)) : view.getUint32(offset, LITTLE);
}

export const putInt = (view: DataView, offset: number, value: number): void => view.setInt32(offset, value, LITTLE);
export const getInt = (view: DataView, offset: number): number => view.getInt32(offset, LITTLE);

/** A block of C memory with its address and a byte view; freed by `free`. */
export interface NativeBlock {
  readonly ptr: unknown;
  readonly address: bigint;
  readonly view: DataView;
  readonly bytes: Uint8Array;
  free(): void;
}

export function allocBlock(size: number): NativeBlock {
  const ptr = koffi.alloc('uint8_t', size);
  const buffer = koffi.view(ptr, size);
  const bytes = new Uint8Array(buffer);
  bytes.fill(0);
  return { ptr, address: koffi.address(ptr), view: new DataView(buffer), bytes, free: () => koffi.free(ptr) };
}
