import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * `npm run histories:capture [-- <test files>]`: records the golden histories test/replay/replay.test.ts replays.
 * It runs e2e files on the real stack with CAPTURE_HISTORIES=1; each file's stack writes up to eight executions
 * per workflow type it ran (test/support/replay.ts), named after the file, into this capture's generation folder
 * (`test/replay/histories/<date>/`, or HISTORIES_GENERATION). Only that generation's histories of the files run are
 * replaced: histories recorded by older code (earlier generations, e.g. before a patch) stay, and keep proving the
 * old path.
 * Re-capture only on purpose (a new process, a new path worth keeping), never to make a failing replay pass: a
 * failing replay means runs in flight would break.
 */
const root = fileURLToPath(new URL('..', import.meta.url));
// The same default as test/support/replay.ts: the capture's date.
const generation = process.env.HISTORIES_GENERATION ?? new Date().toISOString().slice(0, 10);
const dir = join(root, 'test/replay/histories', generation);
mkdirSync(dir, { recursive: true });
const scenarios = [
  'test/e2e/capex-approved.test.ts',
  'test/e2e/changes-requested.test.ts',
  'test/e2e/capex-reject-and-expiry.test.ts',
  'test/e2e/approval-integrity.test.ts',
  'test/e2e/delegation-reassign.test.ts',
  'test/e2e/approval-shapes.test.ts',
  'test/e2e/hiring.test.ts',
  'test/e2e/supplier-onboarding.test.ts',
  'test/e2e/event-routing.test.ts',
  'test/e2e/schedules.test.ts',
  'test/e2e/outbound-webhooks.test.ts',
  'test/e2e/less-travelled-paths.test.ts',
  'test/e2e/escalation-rules.test.ts',
  'test/e2e/human-tasks.test.ts',
  'test/e2e/launch-readiness.test.ts',
  'test/e2e/incident.test.ts',
];

const chosen = process.argv.slice(2).length ? process.argv.slice(2) : scenarios;
const prefixes = chosen.map((file) => `${basename(file).replace(/\.test\.ts$/, '')}--`);
for (const file of readdirSync(dir).filter((f) => f.endsWith('.json') && prefixes.some((prefix) => f.startsWith(prefix)))) rmSync(join(dir, file));
const run = spawnSync(process.execPath, [join(root, 'node_modules/vitest/vitest.mjs'), 'run', ...chosen], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, CAPTURE_HISTORIES: '1', HISTORIES_GENERATION: generation },
});
const written = readdirSync(dir).filter((f) => f.endsWith('.json'));
console.log(`[histories] ${written.length} golden histories in test/replay/histories/${generation}`);
process.exit(run.status ?? 1);
