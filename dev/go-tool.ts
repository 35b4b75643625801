import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { goBinDir } from './temporal-cli.js';

/**
 * A small Go program of dev/ (dev/promlint, dev/compose-config), built once from the Go module proxy into
 * $HOME/go/bin under a name carrying its sources' hash (a changed tool is rebuilt, an unchanged one reused by every
 * run after). `overridePath` (e.g. PROMLINT_PATH) names a binary built elsewhere.
 */
export async function resolveGoTool(sourceDir: string, name: string, overridePath?: string): Promise<string> {
  if (overridePath) return overridePath;
  const hash = createHash('sha256');
  for (const file of ['main.go', 'go.mod', 'go.sum']) hash.update(readFileSync(join(sourceDir, file)));
  const path = join(goBinDir(), `${name}-${hash.digest('hex').slice(0, 12)}`);
  if (!existsSync(path)) await promisify(execFile)('go', ['build', '-o', path, '.'], { cwd: sourceDir, timeout: 600_000 });
  return path;
}
