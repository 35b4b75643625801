import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resolveTemporalServer, TEMPORAL_SERVER_VERSION } from '../../dev/temporal-cluster.js';

/** A stand-in binary that answers `--version` the way Temporal's do (`temporal version 1.29.1`). */
async function fakeBinary(dir: string, name: string, versionLine: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, name);
  await writeFile(path, `#!/bin/sh\necho "${versionLine}"\n`);
  await chmod(path, 0o755);
  return path;
}

/**
 * Where the cluster harness gets the real Temporal server: TEMPORAL_SERVER_PATH, then PATH, then $GOBIN (the
 * cache CI keeps), building only when none is the version it runs; a wrong version is passed over and named.
 */
describe('resolveTemporalServer', () => {
  const wanted = TEMPORAL_SERVER_VERSION.slice(1);
  const saved = { PATH: process.env.PATH, GOBIN: process.env.GOBIN, TEMPORAL_SERVER_PATH: process.env.TEMPORAL_SERVER_PATH, TEMPORAL_SQL_TOOL_PATH: process.env.TEMPORAL_SQL_TOOL_PATH };
  let dir: string;
  let goBin: string;
  let pathDir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'temporal-binaries-'));
    goBin = join(dir, 'go-bin');
    pathDir = join(dir, 'on-path');
    // The cache holds the right version of both, so no case here ever reaches `go install`.
    await fakeBinary(goBin, 'server', `temporal version ${wanted}`);
    await fakeBinary(goBin, 'sql', `temporal-sql-tool version ${wanted}`);
    process.env.GOBIN = goBin;
    // PATH keeps `go` (for the module's sources) but none of the machine's own server binaries.
    const holdsServerBinary = (entry: string) => ['temporal-server', 'server', 'temporal-sql-tool', 'sql'].some((name) => existsSync(join(entry, name)));
    process.env.PATH = [pathDir, ...(saved.PATH ?? '').split(delimiter).filter((entry) => entry && !holdsServerBinary(entry))].join(delimiter);
    delete process.env.TEMPORAL_SERVER_PATH;
    delete process.env.TEMPORAL_SQL_TOOL_PATH;
  });
  afterEach(async () => {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    await rm(dir, { recursive: true, force: true });
  });

  it('takes a binary on PATH before the $GOBIN cache when it is the version the harness runs', async () => {
    const onPath = await fakeBinary(pathDir, 'temporal-server', `temporal version ${wanted}`);
    const resolved = await resolveTemporalServer();
    expect(resolved).toMatchObject({ server: onPath, sqlTool: join(goBin, 'sql'), sources: { server: 'PATH', sqlTool: 'go-bin' } });
  });

  it('passes over a binary of another version, saying which, and uses the cached one', async () => {
    const older = await fakeBinary(pathDir, 'temporal-server', 'temporal version 1.28.0');
    const notTemporal = await fakeBinary(pathDir, 'sql', 'usage: sql [options] file');
    const said: string[] = [];
    const resolved = await resolveTemporalServer((line) => said.push(line));
    expect(resolved).toMatchObject({ server: join(goBin, 'server'), sqlTool: join(goBin, 'sql'), sources: { server: 'go-bin', sqlTool: 'go-bin' } });
    expect(said).toEqual([`skipping ${older}: it is Temporal v1.28.0, this harness runs ${TEMPORAL_SERVER_VERSION}`, `skipping ${notTemporal}: \`${notTemporal} --version\` printed no version: usage: sql [options] file`]);
  });

  it('uses TEMPORAL_SERVER_PATH first, and refuses it, naming both versions, when it is another version', async () => {
    process.env.TEMPORAL_SERVER_PATH = await fakeBinary(join(dir, 'elsewhere'), 'temporal-server', `temporal version ${wanted}`);
    await fakeBinary(pathDir, 'temporal-server', `temporal version ${wanted}`);
    expect(await resolveTemporalServer()).toMatchObject({ server: process.env.TEMPORAL_SERVER_PATH, sources: { server: 'TEMPORAL_SERVER_PATH' } });

    const older = await fakeBinary(join(dir, 'old'), 'temporal-server', 'temporal version 1.27.2');
    process.env.TEMPORAL_SERVER_PATH = older;
    await expect(resolveTemporalServer()).rejects.toThrow(`TEMPORAL_SERVER_PATH=${older} is not Temporal ${TEMPORAL_SERVER_VERSION}: it is v1.27.2`);
  });
});
