// A directory the product creates (mkdir -p of --dir, for a host or an
// import) must be durable in its parent before anything in it is
// acknowledged: otherwise a power loss right after the first acknowledged
// capture can take the whole snapshot directory with it.
import t from 'tap';
import { explore } from './lib/explore.js';
import { scenarios } from './lib/scenarios.js';

for (const name of ['first-capture', 'import-new-dir']) {
  const scenario = scenarios.find((s) => s.name === name)!;
  t.test(`${name}: every crash state keeps what was acknowledged`, async (t) => {
    const result = await explore(scenario, 4096);
    t.ok(result.states > 100, `${result.states} crash states explored`);
    t.same(result.failures, [], 'no acknowledged generation is lost with the directories that held it');
  });
}
