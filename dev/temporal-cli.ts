import { execFile, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';

/** The CLI release built from source when nothing else is found; later releases refuse `go install`. */
export const TEMPORAL_CLI_VERSIONS = ['v1.5.1', 'v1.5.0', 'v1.4.1'] as const;

export type CliSource = 'TEMPORAL_CLI_PATH' | 'PATH' | 'go-bin' | 'go-install';

export interface ResolvedCli {
  path: string;
  source: CliSource;
}

export function goBinDir(): string {
  const gobin = process.env.GOBIN;
  if (gobin) return gobin;
  const gopath = process.env.GOPATH?.split(delimiter)[0] ?? join(homedir(), 'go');
  return join(gopath, 'bin');
}

export function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && existsSync(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

/**
 * Finds the `temporal` CLI without building anything: TEMPORAL_CLI_PATH, then PATH, then $GOBIN or
 * $HOME/go/bin (where `go install` puts it, and what CI caches).
 */
export function findTemporalCli(): ResolvedCli | undefined {
  const explicit = process.env.TEMPORAL_CLI_PATH;
  if (explicit) {
    if (!existsSync(explicit)) throw new Error(`TEMPORAL_CLI_PATH=${explicit} does not exist`);
    return { path: explicit, source: 'TEMPORAL_CLI_PATH' };
  }
  const fromPath = onPath('temporal');
  if (fromPath) return { path: fromPath, source: 'PATH' };
  const goBin = join(goBinDir(), 'temporal');
  if (existsSync(goBin)) return { path: goBin, source: 'go-bin' };
  return undefined;
}

function hasGo(): boolean {
  return spawnSync('go', ['version'], { stdio: 'ignore' }).status === 0;
}

/**
 * Builds the CLI from the Go module proxy, trying the known-good releases in order. Returns undefined when Go
 * is not installed; throws with every attempt's error when all fail.
 */
export async function installTemporalCli(log: (line: string) => void = console.log): Promise<ResolvedCli | undefined> {
  if (!hasGo()) return undefined;
  const failures: string[] = [];
  for (const version of TEMPORAL_CLI_VERSIONS) {
    log(`Building the Temporal CLI ${version} with go install (a few minutes, once)...`);
    try {
      await promisify(execFile)('go', ['install', `github.com/temporalio/cli/cmd/temporal@${version}`], {
        maxBuffer: 64 * 1024 * 1024,
      });
      const path = join(goBinDir(), 'temporal');
      if (existsSync(path)) return { path, source: 'go-install' };
      failures.push(`${version}: go install succeeded but ${path} is missing`);
    } catch (error) {
      failures.push(`${version}: ${(error as Error).message.split('\n').slice(-3).join(' ')}`);
    }
  }
  throw new Error(`Could not build the Temporal CLI:\n  ${failures.join('\n  ')}`);
}

/** Everything but the SDK's own download, which is left to `TestWorkflowEnvironment` where internet exists. */
export async function resolveTemporalCli(log?: (line: string) => void): Promise<ResolvedCli | undefined> {
  return findTemporalCli() ?? (await installTemporalCli(log));
}

// `npm run temporal:install`: resolve (building if needed) and print the path; CI calls this before the tests.
if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/'))) {
  resolveTemporalCli()
    .then((cli) => {
      if (!cli) {
        console.error('No temporal CLI found and Go is not installed. Install Go, or set TEMPORAL_CLI_PATH.');
        process.exit(1);
      }
      console.log(`temporal CLI: ${cli.path} (${cli.source})`);
    })
    .catch((error: Error) => {
      console.error(error.message);
      process.exit(1);
    });
}
