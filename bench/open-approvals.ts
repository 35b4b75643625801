import { inParallel, rssMb } from './measures.js';
import { loadLine, median, percentile } from './report.js';
import { approvalMail, opsflowDecideByApi, opsflowDecisionVersion, opsflowStart, uniqueTitle } from './sides.js';
import { capexApprovers, startBenchStack } from './stack.js';

/**
 * `npm run bench:open-approvals [-- --runs 10000] [-- --cluster]`: many open approvals on one worker. Opens `runs`
 * 3-step capex runs (each waiting on its first approver, its mail sent), then prints the worker's RSS, restarts
 * the worker (empty cache) and times the restart until the first decision on a random open run is applied, and
 * the decision latency on runs none of which the new worker has cached (p50/p99). The goal: 10,000 open in
 * RSS ≤ 1.5 GB, decisions ≤ 1 s p99 after a cold start, restart to first applied decision < 10 s. Default 1,000
 * runs (a few minutes); the full 10,000 takes most of an hour on two loaded cores.
 */
const argv = process.argv.slice(2);
const option = (name: string, fallback: number) => {
  const at = argv.indexOf(`--${name}`);
  return at >= 0 ? Number(argv[at + 1]) : fallback;
};
const runs = option('runs', 1_000);
const decisions = option('decisions', 40);
const say = (line: string) => console.error(`[open-approvals ${new Date().toISOString().slice(11, 19)}] ${line}`);

async function main(): Promise<void> {
  const stack = await startBenchStack({ cluster: argv.includes('--cluster'), say });
  const approver = capexApprovers[0];
  try {
    const began = Date.now();
    let opened = 0;
    const ids = await inParallel(runs, 32, async () => {
      const title = uniqueTitle('opsflow');
      const { runId, status } = await opsflowStart(stack, title, 3);
      if (!runId) throw new Error(`POST /runs answered ${status}`);
      await approvalMail(stack, title, approver);
      if (++opened % 500 === 0) say(`${opened} open (${((Date.now() - began) / 1000).toFixed(0)} s)`);
      return runId;
    });
    const rssOpen = await rssMb(stack.workerPid('opsflow'));
    say(`${runs} open in ${((Date.now() - began) / 1000).toFixed(0)} s; worker RSS ${rssOpen.toFixed(0)} MB`);

    // Each run has its own version (its facts and input: the titles differ), read before the restart as an approver's
    // page would have been, so that only the decision itself is timed.
    const pick = () => ids.splice(Math.floor(Math.random() * ids.length), 1)[0]!;
    const picked = [];
    for (let i = 0; i <= decisions; i++) {
      const runId = pick();
      picked.push({ runId, version: await opsflowDecisionVersion(stack, runId, approver) });
    }
    const [first, ...rest] = picked;
    const restartBegan = Date.now();
    const { startedInMs } = await stack.restartWorker('opsflow');
    await opsflowDecideByApi(stack, first!.runId, approver, first!.version);
    const firstDecisionMs = Date.now() - restartBegan;

    const latencies: number[] = [];
    for (const { runId, version } of rest) {
      const sent = Date.now();
      await opsflowDecideByApi(stack, runId, approver, version);
      latencies.push(Date.now() - sent);
    }
    const rssAfter = await rssMb(stack.workerPid('opsflow'));
    console.log(
      [
        `${runs} open approvals on one worker (${stack.mode}); load average ${loadLine()}`,
        '',
        '| measure | value | goal (10,000 open) |',
        '|---|---|---|',
        `| worker RSS with ${runs} open | ${rssOpen.toFixed(0)} MB | ≤ 1.5 GB |`,
        `| worker restart → polling | ${(startedInMs / 1000).toFixed(1)} s | |`,
        `| worker restart → first applied decision | ${(firstDecisionMs / 1000).toFixed(1)} s | < 10 s |`,
        `| decision on an uncached run after the restart, p50 / p99 (${decisions}) | ${median(latencies).toFixed(0)} / ${percentile(latencies, 0.99).toFixed(0)} ms | p99 ≤ 1 s |`,
        `| worker RSS after those decisions | ${rssAfter.toFixed(0)} MB | |`,
      ].join('\n'),
    );
  } finally {
    await stack.stop();
  }
}

main().then(
  () => process.exit(0),
  (error: Error) => {
    console.error(error.stack ?? error.message);
    process.exit(1);
  },
);
