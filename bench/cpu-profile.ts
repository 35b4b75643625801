import { readFileSync } from 'node:fs';

/**
 * `npx tsx bench/cpu-profile.ts <file.cpuprofile> [--top 30]`: where a process spent its CPU, from a V8 CPU profile
 * (`BENCH_CPU_PROF_DIR=/tmp/prof npm run bench -- --only decisions` writes one per child process): self time by
 * function and by package or project directory, as shares of the busy (non-idle) time.
 */
interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

const [file, ...rest] = process.argv.slice(2);
if (!file) {
  console.error('usage: tsx bench/cpu-profile.ts <file.cpuprofile> [--top N]');
  process.exit(2);
}
const top = Number(rest[rest.indexOf('--top') + 1]) || 30;
const profile = JSON.parse(readFileSync(file, 'utf8')) as { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] };

const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const selfMicros = new Map<number, number>();
profile.samples.forEach((id, i) => selfMicros.set(id, (selfMicros.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));

/** Where a frame's code lives: a package under node_modules, a project directory, or what V8 calls it. */
function placeOf(url: string): string {
  if (!url) return '(native)';
  const inPackage = url.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/);
  if (inPackage) return inPackage[1]!;
  const inProject = url.match(/\/work\/[^/]+\/([^/]+)\//) ?? url.match(/file:\/\/\/.*?\/(api|worker|activities|workflows|lib|processes|bench)\//);
  if (inProject) return inProject[1]!;
  return url.startsWith('node:') ? 'node' : url;
}

const byFunction = new Map<string, number>();
const byPlace = new Map<string, number>();
let busy = 0;
for (const [id, micros] of selfMicros) {
  const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
  if (functionName === '(idle)' || functionName === '(program)') continue;
  busy += micros;
  const name = `${functionName || '(anonymous)'} ${url.split('/').slice(-2).join('/')}:${lineNumber + 1}`;
  byFunction.set(name, (byFunction.get(name) ?? 0) + micros);
  const place = functionName === '(garbage collector)' ? '(gc)' : placeOf(url);
  byPlace.set(place, (byPlace.get(place) ?? 0) + micros);
}

const table = (title: string, entries: Map<string, number>) => {
  console.log(`\n${title}`);
  for (const [name, micros] of [...entries].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`${((micros / busy) * 100).toFixed(1).padStart(5)} %  ${(micros / 1000).toFixed(0).padStart(7)} ms  ${name}`);
  }
};
console.log(`${file}: busy ${(busy / 1000).toFixed(0)} ms`);
table('self time by package or directory', byPlace);
table('self time by function', byFunction);
