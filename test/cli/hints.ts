import t from 'tap';
import { ShmHostError } from '../../src/errors.js';
import { ControlError } from '../../src/host/control/index.js';
import { DirectoryLockedError, storeIoError } from '../../src/store/index.js';
import { cliHint } from '../../src/cli/hints.js';

t.test('library hints name no flag; the command line adds the one for the option', async (t) => {
  const locked = new DirectoryLockedError('/srv/state', 42);
  t.equal(locked.hint, 'stop it or use another snapshot directory');
  t.notMatch(locked.message, /--/);
  t.equal(cliHint(locked), 'stop it or use another snapshot directory: --dir');
  const full = storeIoError('write snapshot image', '/srv/state/x', Object.assign(new Error('no space'), { code: 'ENOSPC' }));
  t.notMatch(full.message, /--/);
  t.equal(cliHint(full), 'free some space or use another snapshot directory: --dir');
});

t.test('a hint about no option, or no hint, passes through', async (t) => {
  t.equal(cliHint(new ShmHostError('X', 'something', { hint: 'do this' })), 'do this');
  t.equal(cliHint(new ShmHostError('X', 'something', { hint: 'do this', option: 'unknown' })), 'do this');
  t.equal(cliHint(new ShmHostError('X', 'something')), undefined);
});

t.test('no host on a directory: the command that starts one', async (t) => {
  const err = new ControlError('NO_HOST', 'no shm-host is running on /srv/state', { path: '/srv/state/control.sock', hint: 'start a host on that directory', option: 'dir' });
  t.equal(cliHint(err), 'start one with shm-host --dir /srv/state -- <command>');
});
