// SIGKILL storm of the C client under the real shm-host (100 kills;
// SHM_HOST_CLIENT_KILLS changes it): nothing committed is lost, no record is
// torn, and a new host resumes the child where it stopped.
import t from 'tap';
import { scratch } from '../host/harness.js';
import { cTool, killStorm } from './helpers.js';

const KILLS = Number(process.env.SHM_HOST_CLIENT_KILLS ?? 100);

t.test(`${KILLS} SIGKILLs of the C client under shm-host`, async (t) => {
  const tool = cTool(t);
  if (typeof tool === 'string') return t.skip(tool);
  await killStorm(t, tool, KILLS, scratch(t));
});
