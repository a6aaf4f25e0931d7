// Power loss at every operation of every scenario (see lib/): the next host
// must open the directory, restore the newest acknowledged generation or a
// newer one, byte for byte, and capture again. CRASH_STATES_PER_POINT
// raises the bound per crash point (npm run test:crash).
import t from 'tap';
import { explore } from './lib/explore.js';
import { scenarios } from './lib/scenarios.js';

const PER_POINT = Number(process.env.CRASH_STATES_PER_POINT ?? 128);
const MIN_TOTAL = 10_000;

let total = 0;
for (const scenario of scenarios) {
  t.test(scenario.name, async (t) => {
    const result = await explore(scenario, PER_POINT);
    total += result.states;
    t.comment(`${scenario.name}: ${result.operations} operations, ${result.states} crash states`);
    t.equal(result.bypassed, 0, 'every byte the store wrote went through its StoreFs (so the model saw it)');
    t.same(result.failures, [], `no crash state of ${scenario.name} breaks a promise`);
  });
}

t.test('enough crash states were explored', async (t) => {
  t.ok(total >= MIN_TOTAL, `${total} crash states explored (at least ${MIN_TOTAL})`);
});
