// Explores every crash scenario with a given bound of states per crash point
// and prints the counts (the table in docs/RELIABILITY.md), with the first
// failure of each scenario. `npx tsx scripts/crash-explore.ts [perPoint [scenario]]`
import { explore } from '../test/crash/lib/explore.js';
import { scenarios } from '../test/crash/lib/scenarios.js';

const perPoint = Number(process.argv[2] ?? 24);
const only = process.argv[3];
let total = 0;
let failed = 0;
console.log(`| scenario | operations | crash states (<= ${perPoint} per point) | distinct after open | bytes past StoreFs | failing | time |`);
console.log('|---|---|---|---|---|---|---|');
for (const scenario of scenarios.filter((s) => only === undefined || s.name === only)) {
  const started = performance.now();
  const r = await explore(scenario, perPoint, 1);
  total += r.states;
  failed += r.failures.length;
  console.log(`| ${r.scenario} | ${r.operations} | ${r.states} | ${r.checkedInFull} | ${r.bypassed} | ${r.failures.length > 0 ? 'yes' : 'none'} | ${((performance.now() - started) / 1000).toFixed(1)} s |`);
  for (const f of r.failures) console.error(f);
}
console.log(`| total | | ${total} | | | | |`);
process.exitCode = failed > 0 ? 1 : 0;
