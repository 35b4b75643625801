import { writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import {
  commitsPerRun,
  decisionLatency,
  endOpenRuns,
  historyCounts,
  rssPerOpenRun,
  sidesFor,
  startThroughput,
  throughput,
} from './measures.js';
import { atMost, goalTable, loadLine, median, ratioAtLeast, ratioAtMost, type MeasureRow } from './report.js';
import { pendingDecisions, serverErrors, type SideName } from './sides.js';
import { startBenchStack } from './stack.js';

/**
 * `npm run bench [-- --quick] [-- --cluster] [-- --bare-smtp-pool] [-- --reps 3] [-- --only decisions,throughput,commits,rss,starts]`:
 * starts its own stack (bench/stack.ts: the pieces `npm run dev` runs, or the real Temporal server with
 * --cluster), then measures Opsflow and the bare Temporal baseline (bench/bare) side by side, interleaved, each
 * measure repeated `reps` times, and prints the goal table of issue 18 (medians of the repetitions). The bare worker
 * opens an SMTP connection per mail, as the baseline does; --bare-smtp-pool gives it Opsflow's pooled transport,
 * so the ratios compare the rest of the path like for like.
 */
const argv = process.argv.slice(2);
const flag = (name: string) => argv.includes(`--${name}`);
const option = (name: string) => {
  const at = argv.indexOf(`--${name}`);
  return at >= 0 ? argv[at + 1] : undefined;
};
const quick = flag('quick');
const reps = Number(option('reps') ?? 3);
const only = option('only')?.split(',');
const wanted = (measure: string) => !only || only.includes(measure);

/** How much each measure does per repetition; --quick is a short pass over the same measures. */
const plan = quick
  ? { decisionSamples: 3, decisionWarmUp: 3, throughput: [{ inFlight: 16, total: 16 }, { inFlight: 64, total: 64 }], commitRuns: 2, rss: { warmUp: 20, runs: 80 }, starts: [{ inFlight: 1, total: 10 }, { inFlight: 8, total: 40 }, { inFlight: 64, total: 128 }] }
  : { decisionSamples: 5, decisionWarmUp: 8, throughput: [{ inFlight: 16, total: 24 }, { inFlight: 64, total: 64 }], commitRuns: 6, rss: { warmUp: 30, runs: 150 }, starts: [{ inFlight: 1, total: 20 }, { inFlight: 8, total: 64 }, { inFlight: 64, total: 192 }] };

const say = (line: string) => console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}`);
const perSide = (): Record<SideName, number[]> => ({ opsflow: [], bare: [] });

async function main(): Promise<void> {
  const began = Date.now();
  const loadAtStart = loadLine();
  const stack = await startBenchStack({ cluster: flag('cluster'), bareSmtpPool: flag('bare-smtp-pool'), say });
  // Ctrl-C stops what the bench started (PostgreSQL, Temporal, API, workers), not just this process.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void stack.stop().finally(() => process.exit(130)));
  const rows: MeasureRow[] = [];
  const notes: string[] = [];
  try {
    if (wanted('decisions')) {
      const answer = perSide();
      const nextMail = perSide();
      const updateAlone: number[] = [];
      // Latency in steady state, as a running API and client serve it: the first decisions on a fresh stack run code
      // V8 has not optimised yet (each side's first repetition read 5–15 ms slower), so each side decides a few
      // times, not timed, before the repetitions.
      for (const side of sidesFor(0)) await decisionLatency(stack, side, plan.decisionWarmUp);
      for (let rep = 0; rep < reps; rep++) {
        for (const side of sidesFor(rep)) {
          const figures = await decisionLatency(stack, side, plan.decisionSamples);
          answer[side].push(median(figures.answer));
          nextMail[side].push(median(figures.nextMail));
          if (side === 'opsflow') updateAlone.push(median(figures.update));
          const straight = side === 'opsflow' ? `, the Update straight to the run p50 ${median(figures.update)} ms` : '';
          say(`decisions ${side} rep ${rep + 1}: answer p50 ${median(figures.answer)} ms, next mail p50 ${median(figures.nextMail)} ms${straight}`);
        }
      }
      const note = `p50 of ${plan.decisionSamples} per repetition, after ${plan.decisionWarmUp} not timed per side`;
      rows.push({ measure: 'decision: API answer (POST /approvals/:token vs executeUpdate)', unit: 'ms', ...answer, goal: '≤ 1.3×', met: ratioAtMost(1.3), note });
      rows.push({ measure: "decision → next approver's mail accepted by SMTP", unit: 'ms', ...nextMail, goal: '≤ 1.3×', met: ratioAtMost(1.3), note });
      // Not a goal: where the answer's time goes. The workflow's share is this row's ratio; the API adds the difference.
      rows.push({ measure: "decision: the same Update sent straight to an Opsflow run (no HTTP API) vs bare's executeUpdate", unit: 'ms', opsflow: updateAlone, bare: answer.bare, goal: '', note: `p50 of ${plan.decisionSamples} more runs per repetition` });
    }

    const historyOf: Record<SideName, string[]> = { opsflow: [], bare: [] };
    if (wanted('throughput')) {
      for (const { inFlight, total } of plan.throughput) {
        const rate = perSide();
        const pendingBefore = pendingDecisions.count;
        const errorsBefore = serverErrors.count;
        for (let rep = 0; rep < reps; rep++) {
          for (const side of sidesFor(rep)) {
            const { perSecond, ids } = await throughput(stack, side, inFlight, total);
            rate[side].push(perSecond);
            historyOf[side] = ids;
            say(`throughput ${side} ${inFlight} in flight rep ${rep + 1}: ${perSecond.toFixed(2)} runs/s`);
          }
        }
        rows.push({ measure: `3-step capex completed per second, ${inFlight} in flight`, unit: '/s', ...rate, goal: '≥ 0.8×', met: ratioAtLeast(0.8), note: `${total} runs per repetition; ${pendingDecisions.count - pendingBefore} Opsflow decisions answered 202 and repeated, ${serverErrors.count - errorsBefore} POST /runs answered 5xx and retried` });
      }
      const counts = { opsflow: await historyCounts(stack, historyOf.opsflow[0]!), bare: await historyCounts(stack, historyOf.bare[0]!) };
      rows.push({ measure: 'history events per 3-step capex', unit: '', opsflow: [counts.opsflow.events], bare: [counts.bare.events], goal: '≤ 60', met: atMost(60) });
      rows.push({ measure: 'activities per 3-step capex', unit: '', opsflow: [counts.opsflow.activities], bare: [counts.bare.activities], goal: '', note: 'from the same history' });
      rows.push({ measure: 'workflow tasks per 3-step capex', unit: '', opsflow: [counts.opsflow.workflowTasks], bare: [counts.bare.workflowTasks], goal: '', note: 'from the same history' });
    }

    if (wanted('commits')) {
      const { perRun: commits, idlePerSecond } = await commitsPerRun(stack, plan.commitRuns, reps);
      say(`commits: ${commits.map((c) => c.toFixed(1)).join(', ')} per run (idle ${idlePerSecond.toFixed(2)}/s subtracted)`);
      rows.push({ measure: 'DB commits per approved 3-step capex (all processes)', unit: '', opsflow: commits, bare: [], goal: '≤ 15', met: atMost(15), note: `pg_stat_database, ${plan.commitRuns} runs per repetition; bare has no database` });
    }

    if (wanted('rss')) {
      const perRun = perSide();
      const fresh = perSide();
      const open: string[] = [];
      for (let rep = 0; rep < reps; rep++) {
        for (const side of sidesFor(rep)) {
          const { startedInMs } = await stack.restartWorker(side);
          const figures = await rssPerOpenRun(stack, side, plan.rss);
          perRun[side].push(figures.perRunMb);
          fresh[side].push(figures.freshPerRunMb);
          open.push(...figures.ids);
          say(`rss ${side} rep ${rep + 1}: ${figures.beforeMb.toFixed(0)} → ${figures.warmMb.toFixed(0)} MB after ${plan.rss.warmUp} runs → ${figures.afterMb.toFixed(0)} MB after ${plan.rss.runs} more (worker polled ${startedInMs} ms after start)`);
          await endOpenRuns(stack, stack.ownerDatabaseUrl, figures.ids);
        }
      }
      rows.push({ measure: 'worker RSS per cached open run', unit: 'MB', ...perRun, goal: '≤ 0.5 MB', met: atMost(0.5), note: `growth over ${plan.rss.runs} runs opened after ${plan.rss.warmUp} on a fresh worker` });
      rows.push({ measure: 'worker RSS growth per open run from a fresh worker (its one-time warm-up included)', unit: 'MB', ...fresh, goal: '', note: `${plan.rss.warmUp + plan.rss.runs} runs` });
    }

    if (wanted('starts')) {
      const unpolled = await stack.startUnpolledApi();
      for (const { inFlight, total } of plan.starts) {
        const rate = perSide();
        let serverErrors = 0;
        const started: string[] = [];
        for (let rep = 0; rep < reps; rep++) {
          for (const side of sidesFor(rep)) {
            const figures = await startThroughput(stack, side, unpolled, inFlight, total);
            rate[side].push(figures.perSecond);
            if (side === 'opsflow') serverErrors += figures.serverErrors;
            started.push(...figures.ids);
          }
        }
        say(`starts ${inFlight} in flight: Opsflow ${median(rate.opsflow).toFixed(1)}/s, bare ${median(rate.bare).toFixed(1)}/s, ${serverErrors} 5xx`);
        rows.push({
          measure: `POST /runs vs workflow.start, ${inFlight} in flight, no worker`,
          unit: '/s',
          ...rate,
          goal: '≥ 0.9×, no 5xx',
          met: (ops, bare) => serverErrors === 0 && ratioAtLeast(0.9)(ops, bare),
          note: `${total} starts per repetition, ${serverErrors} answered 5xx`,
        });
        await endOpenRuns(stack, stack.ownerDatabaseUrl, started);
      }
    }
  } finally {
    await stack.stop();
  }

  const header = [
    `Opsflow vs bare Temporal, ${stack.mode === 'cluster' ? 'real Temporal server (dev/temporal-cluster.ts)' : 'Temporal dev server'}, ${quick ? 'quick pass' : 'full run'}, ${reps} repetitions, interleaved${flag('bare-smtp-pool') ? ', bare with pooled SMTP as Opsflow' : ', bare with an SMTP connection per mail'}`,
    `${new Date().toISOString()} on ${cpus().length} cores; load average at start ${loadAtStart}, at end ${loadLine()}; ${((Date.now() - began) / 60_000).toFixed(1)} min`,
  ];
  const output = [...header, '', goalTable(rows), ...notes].join('\n');
  console.log(output);
  const out = option('out');
  if (out) await writeFile(out, `${output}\n`);
}

main().then(
  () => process.exit(0),
  (error: Error) => {
    console.error(error.stack ?? error.message);
    process.exit(1);
  },
);
