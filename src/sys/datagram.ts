// Unix datagram sockets with descriptor passing (SCM_RIGHTS), for the
// service manager's notification socket (sd_notify(3)) and its test double.
import { c, errno as lastErrno } from './libc.js';
import { SysError, check } from './errors.js';
import {
  AF_UNIX, MSG_CMSG_CLOEXEC, MSG_CTRUNC, MSG_DONTWAIT, MSG_NOSIGNAL, MSG_TRUNC, SCM_RIGHTS, SOCK_CLOEXEC, SOCK_DGRAM,
  SOCK_NONBLOCK, SOL_SOCKET, allocBlock, cmsgAlign, cmsgLen, cmsgSpace, getInt, getWord, layout, putInt, putWord,
  type NativeBlock,
} from './socket-abi.js';

const EAGAIN = 11;
const EINVAL = 22;
const ENAMETOOLONG = 36;
const EAFNOSUPPORT = 97;
const FD_BYTES = 4;

/**
 * A new unix datagram socket, close-on-exec (a child never inherits it);
 * non-blocking unless `blocking` is true, so a full receiver never stalls
 * the event loop: sends fail with EAGAIN instead. Close it with fs.closeSync.
 */
export function openDatagramSocket(options: { blocking?: boolean } = {}): number {
  const type = SOCK_DGRAM | SOCK_CLOEXEC | (options.blocking ? 0 : SOCK_NONBLOCK);
  return check('socket(AF_UNIX, SOCK_DGRAM)', c.socket(AF_UNIX, type, 0) as number, lastErrno());
}

/**
 * Encodes a socket address into struct sockaddr_un at `offset` of `block`;
 * returns its length (the socklen_t to pass). As sd_notify(3) reads
 * NOTIFY_SOCKET: `/path` is a filesystem socket (its length counts the
 * terminating NUL), `@name` an abstract one (a leading NUL instead of '@',
 * no terminating NUL: the length is the name's). Anything else is
 * EAFNOSUPPORT, a name that does not fit sun_path ENAMETOOLONG.
 */
function putAddress(block: NativeBlock, offset: number, address: string, syscall: string): number {
  const abstract = address.startsWith('@');
  if (!abstract && !address.startsWith('/')) throw new SysError(syscall, EAFNOSUPPORT, `${address}: not an absolute path or @abstract name`);
  const name = Buffer.from(abstract ? address.slice(1) : address, 'utf8');
  const pathBytes = abstract ? 1 + name.length : name.length + 1;
  if (name.length === 0) throw new SysError(syscall, EINVAL, `${address}: empty socket name`);
  if (pathBytes > layout.sockaddrUn.pathMax) throw new SysError(syscall, ENAMETOOLONG, address);
  block.view.setUint16(offset, AF_UNIX, true);
  block.bytes.set(name, offset + layout.sockaddrUn.pathOffset + (abstract ? 1 : 0));
  return layout.sockaddrUn.pathOffset + pathBytes;
}

/** Lays out msghdr + iovec + sockaddr_un + control + data in one block; returns the offsets. */
function messageBlock(dataBytes: number, controlBytes: number): { block: NativeBlock; iov: number; name: number; control: number; data: number } {
  const m = layout.msghdr.size;
  const iov = cmsgAlign(m);
  const name = cmsgAlign(iov + layout.iovec.size);
  const control = cmsgAlign(name + layout.sockaddrUn.size);
  const data = cmsgAlign(control + controlBytes);
  const block = allocBlock(data + Math.max(dataBytes, 1));
  const { view, address } = block;
  putWord(view, iov + layout.iovec.base, address + BigInt(data));
  putWord(view, iov + layout.iovec.len, BigInt(dataBytes));
  putWord(view, layout.msghdr.iov, address + BigInt(iov));
  putWord(view, layout.msghdr.iovlen, 1n);
  if (controlBytes > 0) {
    putWord(view, layout.msghdr.control, address + BigInt(control));
    putWord(view, layout.msghdr.controllen, BigInt(controlBytes));
  }
  return { block, iov, name, control, data };
}

/**
 * Sends one datagram holding `data` to the socket at `address` (`/path` or
 * `@abstract`), with the descriptors `fds` attached as SCM_RIGHTS when
 * there are any (the receiver gets its own duplicates; ours stay open).
 * MSG_NOSIGNAL: a vanished receiver is an error, never SIGPIPE.
 * Throws SysError (`sendmsg`): ENOENT/ECONNREFUSED when nothing listens
 * there, EAGAIN when the receiver's queue is full on a non-blocking socket,
 * EMSGSIZE for a datagram too large.
 */
export function sendDatagram(fd: number, address: string, data: string | Uint8Array, fds: readonly number[] = []): number {
  const payload = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  const controlBytes = fds.length > 0 ? cmsgSpace(fds.length * FD_BYTES) : 0;
  const msg = messageBlock(payload.length, controlBytes);
  try {
    const { view, bytes, address: base } = msg.block;
    putWord(view, layout.msghdr.name, base + BigInt(msg.name));
    putInt(view, layout.msghdr.namelen, putAddress(msg.block, msg.name, address, 'sendmsg'));
    bytes.set(payload, msg.data);
    if (fds.length > 0) {
      putWord(view, msg.control + layout.cmsghdr.len, BigInt(cmsgLen(fds.length * FD_BYTES)));
      putInt(view, msg.control + layout.cmsghdr.level, SOL_SOCKET);
      putInt(view, msg.control + layout.cmsghdr.type, SCM_RIGHTS);
      fds.forEach((f, i) => putInt(view, msg.control + cmsgLen(0) + i * FD_BYTES, f));
    }
    const sent = Number(c.sendmsg(fd, msg.block.ptr, MSG_NOSIGNAL));
    return check('sendmsg', sent, lastErrno(), address);
  } finally {
    msg.block.free();
  }
}

/** Binds `fd` to `address` (`/path` or `@abstract`), for a receiving socket. */
export function bindDatagram(fd: number, address: string): void {
  const block = allocBlock(layout.sockaddrUn.size);
  try {
    const length = putAddress(block, 0, address, 'bind');
    check('bind', c.bind(fd, block.ptr, length) as number, lastErrno(), address);
  } finally {
    block.free();
  }
}

/** One received datagram: its bytes and the descriptors it carried (close-on-exec, now owned by the caller). */
export interface ReceivedDatagram {
  readonly data: Buffer;
  readonly fds: number[];
  /** The datagram was longer than the buffer (MSG_TRUNC): `data` is its start. */
  readonly truncated: boolean;
  /** Some control data did not fit (MSG_CTRUNC): descriptors beyond `maxFds` were closed by the kernel. */
  readonly controlTruncated: boolean;
}

/**
 * Receives one datagram without blocking (MSG_DONTWAIT), or null when none
 * is queued. Room for `maxBytes` of data and `maxFds` descriptors; received
 * descriptors are close-on-exec (MSG_CMSG_CLOEXEC). Throws SysError (`recvmsg`).
 */
export function receiveDatagram(fd: number, maxBytes = 4096, maxFds = 16): ReceivedDatagram | null {
  const controlBytes = cmsgSpace(maxFds * FD_BYTES);
  const msg = messageBlock(maxBytes, controlBytes);
  try {
    const n = Number(c.recvmsg(fd, msg.block.ptr, MSG_DONTWAIT | MSG_CMSG_CLOEXEC));
    if (n < 0) {
      const e = lastErrno();
      if (e === EAGAIN) return null;
      throw new SysError('recvmsg', e);
    }
    const { view, bytes } = msg.block;
    const flags = getInt(view, layout.msghdr.flags);
    const data = Buffer.from(bytes.subarray(msg.data, msg.data + Math.min(n, maxBytes)));
    return { data, fds: controlFds(view, msg.control, getWord(view, layout.msghdr.controllen)), truncated: (flags & MSG_TRUNC) !== 0, controlTruncated: (flags & MSG_CTRUNC) !== 0 };
  } finally {
    msg.block.free();
  }
}

/** The descriptors in the SCM_RIGHTS messages of a control buffer (CMSG_FIRSTHDR/CMSG_NXTHDR). */
function controlFds(view: DataView, start: number, length: number): number[] {
  const fds: number[] = [];
  let at = 0;
  while (at + layout.cmsghdr.size <= length) {
    const len = getWord(view, start + at + layout.cmsghdr.len);
    if (len < cmsgLen(0) || at + len > length) break;
    if (getInt(view, start + at + layout.cmsghdr.level) === SOL_SOCKET && getInt(view, start + at + layout.cmsghdr.type) === SCM_RIGHTS) {
      for (let i = 0; i < Math.floor((len - cmsgLen(0)) / FD_BYTES); i++) fds.push(getInt(view, start + at + cmsgLen(0) + i * FD_BYTES));
    }
    at += cmsgAlign(len);
  }
  return fds;
}
