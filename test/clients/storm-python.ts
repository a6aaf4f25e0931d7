// SIGKILL storm of the Python client under the real shm-host (100 kills;
// SHM_HOST_CLIENT_KILLS changes it): nothing committed is lost, no record is
// torn, and a new host resumes the child where it stopped.
import t from 'tap';
import { scratch } from '../host/harness.js';
import { killStorm, pythonTool } from './helpers.js';

const KILLS = Number(process.env.SHM_HOST_CLIENT_KILLS ?? 100);

t.test(`${KILLS} SIGKILLs of the Python client under shm-host`, async (t) => {
  const tool = pythonTool();
  if (typeof tool === 'string') return t.skip(tool);
  await killStorm(t, tool, KILLS, scratch(t));
});
