// Finding SHM_SHARED_FD the way sd_listen_fds_with_names(3) does.
import t from 'tap';
import { AttachError, SHARED_FD_NAME, findSharedFd, unsetListenEnvironment } from '../../src/format/index.js';

const code = (f: () => unknown): string | undefined => {
  try {
    f();
    return undefined;
  } catch (err) {
    return err instanceof AttachError ? err.code : `not an AttachError: ${String(err)}`;
  }
};

t.test('the named descriptor is 3 + its position in LISTEN_FDNAMES', async (t) => {
  t.equal(findSharedFd({ LISTEN_PID: '10', LISTEN_FDS: '1', LISTEN_FDNAMES: SHARED_FD_NAME }, 10), 3);
  t.equal(findSharedFd({ LISTEN_PID: '10', LISTEN_FDS: '3', LISTEN_FDNAMES: `a:b:${SHARED_FD_NAME}` }, 10), 5);
});

t.test('each way of being started wrong has its own code', async (t) => {
  t.equal(code(() => findSharedFd({}, 10)), 'NO_SHARED_FILE');
  t.equal(code(() => findSharedFd({ LISTEN_FDS: '1' }, 10)), 'NO_SHARED_FILE');
  t.equal(code(() => findSharedFd({ LISTEN_PID: '11', LISTEN_FDS: '1', LISTEN_FDNAMES: SHARED_FD_NAME }, 10)), 'PID_MISMATCH');
  t.equal(code(() => findSharedFd({ LISTEN_PID: '10x', LISTEN_FDS: '1', LISTEN_FDNAMES: SHARED_FD_NAME }, 10)), 'PID_MISMATCH');
  t.equal(code(() => findSharedFd({ LISTEN_PID: '10', LISTEN_FDS: '0', LISTEN_FDNAMES: SHARED_FD_NAME }, 10)), 'BAD_ENVIRONMENT');
  t.equal(code(() => findSharedFd({ LISTEN_PID: '10', LISTEN_FDS: '-1', LISTEN_FDNAMES: SHARED_FD_NAME }, 10)), 'BAD_ENVIRONMENT');
  t.equal(code(() => findSharedFd({ LISTEN_PID: '10', LISTEN_FDS: '1', LISTEN_FDNAMES: 'other' }, 10)), 'NO_SUCH_NAME');
  // A name past the count of passed descriptors names nothing that was passed.
  t.equal(code(() => findSharedFd({ LISTEN_PID: '10', LISTEN_FDS: '1', LISTEN_FDNAMES: `a:${SHARED_FD_NAME}` }, 10)), 'NO_SUCH_NAME');
});

t.test('the socket-activation variables are removed, nothing else', async (t) => {
  const env: NodeJS.ProcessEnv = { LISTEN_PID: '1', LISTEN_FDS: '1', LISTEN_FDNAMES: 'x', LISTEN_PIDFDID: '2', PATH: '/bin' };
  unsetListenEnvironment(env);
  t.same(env, { PATH: '/bin' });
});
