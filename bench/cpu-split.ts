import { readdir, readFile } from 'node:fs/promises';
import { throughput } from './measures.js';
import { startBenchStack } from './stack.js';
import type { SideName } from './sides.js';

/**
 * `npm run bench:cpu [-- --runs 24 --in-flight 16 --reps 2]`: CPU time per completed 3-step capex run, by process,
 * for Opsflow and the bare baseline, during the throughput measure (Temporal dev server). Each side runs alone while
 * it is measured, so the processes the other side owns show only their idle cost. Read from /proc (user + system
 * time of every thread), before and after each side's runs; PostgreSQL is the bench's own server and its backends
 * (those that ended included). Each worker's time is also split by thread (workerThreads): which of its threads the
 * difference between the two workers is in says which work to shrink (activities and their clients on the main
 * thread, workflow code in the workflow thread, allocation in V8's helper threads).
 */
const argv = process.argv.slice(2);
const option = (name: string, fallback: number) => {
  const at = argv.indexOf(`--${name}`);
  return at >= 0 ? Number(argv[at + 1]) : fallback;
};
const runs = option('runs', 24);
const inFlight = option('in-flight', 16);
const reps = option('reps', 2);
const say = (line: string) => console.error(`[bench:cpu ${new Date().toISOString().slice(11, 19)}] ${line}`);

const TICKS_PER_SECOND = 100;

interface ProcessStat {
  pid: number;
  parent: number;
  cpuSeconds: number;
  /** What its children that have ended used (once it has waited for them): a PostgreSQL backend's, when it closes. */
  endedChildrenCpuSeconds: number;
  command: string;
}

async function processes(): Promise<ProcessStat[]> {
  const found: ProcessStat[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8');
      // The command name is in parentheses and may hold spaces: the fields that follow are counted from its end.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const command = (await readFile(`/proc/${entry}/cmdline`, 'utf8')).replace(/\0/g, ' ').trim();
      found.push({
        pid: Number(entry),
        parent: Number(fields[1]),
        cpuSeconds: (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND,
        endedChildrenCpuSeconds: (Number(fields[13]) + Number(fields[14])) / TICKS_PER_SECOND,
        command,
      });
    } catch {
      // The process ended while it was read.
    }
  }
  return found;
}

const WORKERS = ['Opsflow worker', 'bare worker'];

/**
 * A worker's CPU by kind of thread. Node names none of its threads, so they are told apart by name and start time:
 * the process's own thread runs activities and the SDK's client side; Temporal core's threads are the Rust runtime's
 * (not named "node"); Node threads started after core's runtime are the SDK's workflow threads (it starts them once
 * its runtime is up); the Node threads started before it are V8's platform threads (garbage collection, compilation)
 * and the loader's and libuv's.
 */
async function workerThreads(pid: number, part: string): Promise<Map<string, number>> {
  const threads: Array<{ tid: number; name: string; startedAt: number; cpuSeconds: number }> = [];
  for (const entry of await readdir(`/proc/${pid}/task`)) {
    try {
      const stat = await readFile(`/proc/${pid}/task/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      threads.push({ tid: Number(entry), name, startedAt: Number(fields[19]), cpuSeconds: (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND });
    } catch {
      // The thread ended while it was read.
    }
  }
  const coreStarted = Math.min(...threads.filter((t) => t.name !== 'node').map((t) => t.startedAt));
  const kindOf = (t: (typeof threads)[number]) =>
    t.tid === pid ? 'main thread (activities)' : t.name !== 'node' ? 'Temporal core (Rust)' : t.startedAt > coreStarted ? 'workflow thread' : 'V8 and Node helper threads (GC...)';
  const kinds = new Map<string, number>();
  for (const t of threads) kinds.set(`${part}: ${kindOf(t)}`, (kinds.get(`${part}: ${kindOf(t)}`) ?? 0) + t.cpuSeconds);
  return kinds;
}

/** Which part of the bench a process is, or undefined for the rest of the machine. */
function partOf(p: ProcessStat, all: Map<number, ProcessStat>): string | undefined {
  if (p.pid === process.pid) return 'bench driver (mail sink, simulators, clients)';
  if (p.command.includes('worker/main.ts')) return 'Opsflow worker';
  if (p.command.includes('api/server.ts')) return 'Opsflow API';
  if (p.command.includes('bench/bare/worker.ts')) return 'bare worker';
  if (p.command.includes('server start-dev')) return 'Temporal dev server';
  if (isBenchPostmaster(p) || isBenchPostmaster(all.get(p.parent))) return 'PostgreSQL';
  return undefined;
}

const isBenchPostmaster = (candidate?: ProcessStat) => Boolean(candidate?.command.includes('opsflow-bench-') && candidate.command.includes('postgres'));

async function cpuByPart(): Promise<Map<string, number>> {
  const all = await processes();
  const byPid = new Map(all.map((p) => [p.pid, p]));
  const parts = new Map<string, number>();
  for (const p of all) {
    const part = partOf(p, byPid);
    // Backends come and go with the pools' connections: the postmaster holds what the ended ones used.
    const seconds = p.cpuSeconds + (isBenchPostmaster(p) ? p.endedChildrenCpuSeconds : 0);
    if (part) parts.set(part, (parts.get(part) ?? 0) + seconds);
    if (part && WORKERS.includes(part)) for (const [kind, kindSeconds] of await workerThreads(p.pid, part)) parts.set(kind, kindSeconds);
  }
  return parts;
}

const stack = await startBenchStack({ say });
try {
  const results: Record<SideName, Array<Map<string, number>>> = { opsflow: [], bare: [] };
  say('warming up both sides');
  await throughput(stack, 'opsflow', 4, 8);
  await throughput(stack, 'bare', 4, 8);
  for (let rep = 0; rep < reps; rep++) {
    for (const side of (rep % 2 === 0 ? ['opsflow', 'bare'] : ['bare', 'opsflow']) as SideName[]) {
      const before = await cpuByPart();
      const { perSecond } = await throughput(stack, side, inFlight, runs);
      const after = await cpuByPart();
      const perRun = new Map([...after].map(([part, seconds]) => [part, ((seconds - (before.get(part) ?? 0)) * 1000) / runs]));
      results[side].push(perRun);
      say(`${side} rep ${rep + 1}: ${perSecond.toFixed(2)} runs/s`);
    }
  }
  const parts = [...new Set([...results.opsflow, ...results.bare].flatMap((m) => [...m.keys()]))];
  const cell = (side: SideName, part: string) => results[side].map((m) => (m.get(part) ?? 0).toFixed(0)).join(' / ');
  // A worker's threads are already in its own row.
  const isThreadRow = (part: string) => part.includes(': ');
  const total = (side: SideName) =>
    results[side].map((m) => [...m].filter(([part]) => !isThreadRow(part)).reduce((sum, [, ms]) => sum + ms, 0).toFixed(0)).join(' / ');
  console.log(`CPU ms per completed 3-step capex run, ${inFlight} in flight, ${runs} runs per repetition, ${reps} repetitions (each figure one repetition)`);
  console.log(`${new Date().toISOString()}; load average at end ${(await readFile('/proc/loadavg', 'utf8')).split(' ').slice(0, 3).join(', ')}\n`);
  console.log('| process | while Opsflow runs | while bare runs |');
  console.log('|---|---|---|');
  for (const part of parts.filter((p) => !isThreadRow(p))) {
    console.log(`| ${part} | ${cell('opsflow', part)} | ${cell('bare', part)} |`);
    for (const thread of parts.filter((p) => p.startsWith(`${part}: `)).sort()) console.log(`| ${thread.replace(`${part}: `, '&nbsp;&nbsp;')} | ${cell('opsflow', thread)} | ${cell('bare', thread)} |`);
  }
  console.log(`| all of these | ${total('opsflow')} | ${total('bare')} |`);
} finally {
  await stack.stop();
}
process.exit(0);
