import { spawnSync } from 'node:child_process';
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * `npm run histories:capture`: records the golden histories test/replay/replay.test.ts replays. It runs the e2e
 * files below on the real stack with CAPTURE_HISTORIES=1; each file's stack writes up to eight executions per
 * workflow type it ran (test/support/replay.ts). Re-capture only on purpose (a new process, a new path worth
 * keeping), never to make a failing replay pass: a failing replay means runs in flight would break.
 */
const root = fileURLToPath(new URL('..', import.meta.url));
const dir = join(root, 'test/replay/histories');
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
];

for (const file of readdirSync(dir, { withFileTypes: true }).filter((f) => f.name.endsWith('.json'))) rmSync(join(dir, file.name));
const run = spawnSync(process.execPath, [join(root, 'node_modules/vitest/vitest.mjs'), 'run', ...scenarios], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, CAPTURE_HISTORIES: '1' },
});
const written = readdirSync(dir).filter((f) => f.endsWith('.json'));
console.log(`[histories] ${written.length} golden histories in test/replay/histories`);
process.exit(run.status ?? 1);
