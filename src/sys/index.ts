// Every libc call Node lacks, typed, with errors that carry the errno name;
// and the one other C function called through koffi, the image digest.
export { SysError, errnoName } from './errors.js';
export {
  memfdCreate, addSeals, getSeals,
  MFD_CLOEXEC, MFD_ALLOW_SEALING, F_SEAL_SEAL, F_SEAL_SHRINK, F_SEAL_GROW, F_SEAL_WRITE,
} from './memfd.js';
export { Mapping, MappingWindows, MAX_VIEW_BYTES, WINDOW_BYTES } from './mmap.js';
export { tryLockExclusive, unlock } from './flock.js';
export {
  setChildSubreaper, setParentDeathSignal, reapGroup, reapChild, childPids, processGroupOf, processState, isAlive, livingGroupMembers, ancestors,
} from './process.js';
export { seekData, seekHole, sendfile, copyFileRange, copyFileRangeSync, startWriteback } from './file.js';
export {
  open, close, fsync, fstat, ftruncate, rename, unlink, readdir, readFully, writeFully, removeIfPresent, fsyncDirectory,
  readFullyWith, writeFullyWith, type PositionedIo,
} from './io.js';
export { RunCursor, dataRuns, noHoleBelow, type Run } from './data-runs.js';
export { memfdHolders, commandName } from './holders.js';
export { openDatagramSocket, sendDatagram, bindDatagram, receiveDatagram, type ReceivedDatagram } from './datagram.js';
export { isCloseOnExec, setCloseOnExec } from './fd-flags.js';
export { futexWake } from './futex.js';
export { XXH3_LONG_INPUT, xxh3, xxh3Blocks, xxh3Library, xxh3Wide, type Xxh3Library } from './xxh3.js';
