import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadCompose, resolveComposeConfig, type ComposeProject, type ComposeService } from '../../dev/compose-config.js';
import { configSchema } from '../../lib/config.js';
import { searchAttributeFlags } from '../../processes/search-attributes.js';

/**
 * docker-compose.yml as Docker reads it: loaded and normalized by compose-go (dev/compose-config, the loader behind
 * `docker compose config`), then checked for what production needs. The Dockerfile's stages are read as text.
 */
const composeFile = fileURLToPath(new URL('../../docker-compose.yml', import.meta.url));
const composeText = readFileSync(composeFile, 'utf8');
const dockerfileText = readFileSync(new URL('../../Dockerfile', import.meta.url), 'utf8');

/** Variables compose must refuse to start without (`${VAR:?message}`), each given a random value here. */
const requiredVariables = [...new Set([...composeText.matchAll(/\$\{([A-Z0-9_]+):\?/g)].map((m) => m[1]!))];
const secretName = /SECRET|PASSWORD|_API_KEY$|TOKEN/;
const requiredEnv = () => Object.fromEntries(requiredVariables.map((name) => [name, name.endsWith('_EVENTS_SECRET') ? `whsec_${randomBytes(36).toString('base64')}` : randomBytes(24).toString('hex')]));

const opsflowServices = ['migrate', 'worker', 'api'] as const;
/** Read by dev/db-roles.ts, which the migrate job runs after the migrations; not engine settings. */
const migrateOnly = new Set(['OPSFLOW_DB_RUNTIME_PASSWORD']);

interface DockerStage {
  name?: string;
  base: string;
  instructions: Array<{ keyword: string; args: string }>;
}

/** The Dockerfile's stages, with continuation lines joined and ARG defaults substituted into FROM. */
function dockerStages(text: string): DockerStage[] {
  const lines = text.replace(/\\\n\s*/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  const args = new Map<string, string>();
  const stages: DockerStage[] = [];
  for (const line of lines) {
    const [, keyword = '', rest = ''] = /^(\S+)\s*(.*)$/.exec(line) ?? [];
    if (keyword === 'ARG' && stages.length === 0) {
      const [name, value = ''] = rest.split('=');
      args.set(name!, value);
    } else if (keyword === 'FROM') {
      const [image = '', , name] = rest.replace(/\$\{(\w+)\}/g, (_, arg: string) => args.get(arg) ?? '').split(/\s+/);
      stages.push({ base: image, name, instructions: [] });
    } else {
      stages.at(-1)?.instructions.push({ keyword, args: rest });
    }
  }
  return stages;
}

describe('docker-compose.yml, as compose-go loads it', () => {
  let env: Record<string, string>;
  let project: ComposeProject;
  let services: Array<[string, ComposeService]>;
  beforeAll(async () => {
    await resolveComposeConfig();
    env = requiredEnv();
    const loaded = await loadCompose(composeFile, env);
    if (!loaded.ok) throw new Error(`compose-go refused docker-compose.yml: ${loaded.error}`);
    project = loaded.project;
    services = Object.entries(project.services);
  }, 180_000);

  it('is accepted, and refuses to load while any required secret is missing, naming it', async () => {
    expect(Object.keys(project.services).sort()).toEqual(['api', 'mailpit', 'migrate', 'postgres', 'simulators', 'temporal', 'temporal-namespace', 'temporal-schema', 'temporal-ui', 'worker']);
    const secrets = requiredVariables.filter((name) => secretName.test(name));
    expect(secrets).toEqual(expect.arrayContaining(['POSTGRES_PASSWORD', 'OPSFLOW_DB_PASSWORD', 'OPSFLOW_DB_RUNTIME_PASSWORD', 'TEMPORAL_DB_PASSWORD', 'TOKEN_SECRETS', 'ERP_API_KEY', 'ATS_EVENTS_SECRET']));
    for (const name of secrets) {
      const { [name]: _missing, ...withoutIt } = env;
      const refused = await loadCompose(composeFile, withoutIt);
      expect(refused.ok, `loaded without ${name}`).toBe(false);
      if (!refused.ok) expect(refused.error).toContain(`required variable ${name} is missing a value`);
    }
  });

  it('gives no secret a default: every secret-named variable it reads is ${VAR:?message}', () => {
    const read = [...composeText.matchAll(/\$\{([A-Z0-9_]+)([^}]*)\}/g)].map(([, name, modifier]) => ({ name: name!, modifier: modifier! }));
    const secretsRead = read.filter((v) => secretName.test(v.name));
    expect(secretsRead.length).toBeGreaterThan(10);
    expect(secretsRead.filter((v) => !v.modifier.startsWith(':?'))).toEqual([]);
    // No literal secret either: each secret's value, and each database URL's password, comes from the environment.
    const given = Object.values(env);
    for (const [name, service] of services) {
      for (const [variable, value] of Object.entries(service.environment ?? {})) {
        if (secretName.test(variable)) expect(given.reduce((rest, v) => rest.split(v).join(''), value ?? ''), `${name} ${variable}`).toMatch(/^[a-z,=]*$/);
        if (/DATABASE_URL$/.test(variable)) expect(given, `${name} ${variable}`).toContain(new URL(value!).password);
      }
    }
  });

  it('pins every image to a version (never untagged or :latest); built services name a Dockerfile stage', () => {
    const stages = dockerStages(dockerfileText).map((s) => s.name);
    for (const [name, service] of services) {
      if (service.build) {
        expect(stages, `${name} builds target ${service.build.target}`).toContain(service.build.target);
        continue;
      }
      const tag = /^[^@]+:([^/:@]+)$/.exec(service.image ?? '')?.[1];
      expect(tag, `${name}: ${service.image} names no tag`).toBeDefined();
      expect(tag, `${name}: ${service.image}`).not.toBe('latest');
      expect(tag, `${name}: ${service.image} is a floating major`).toMatch(/\d+\.\d+/);
    }
    const server = project.services.temporal!.image!;
    expect(server).toBe('temporalio/server:1.29.1');
    // The schema tool and the CLI come from the admin-tools build of the same server version.
    for (const job of ['temporal-schema', 'temporal-namespace']) expect(project.services[job]!.image, job).toMatch(/^temporalio\/admin-tools:1\.29\.1-/);
  });

  it('runs long-lived services with a health check and restart: unless-stopped, one-shot jobs with restart: "no" that others wait to complete', () => {
    const oneShot = services.filter(([, s]) => s.restart === 'no').map(([name]) => name);
    expect(oneShot.sort()).toEqual(['migrate', 'temporal-namespace', 'temporal-schema']);
    for (const [name, service] of services) {
      if (oneShot.includes(name)) continue;
      expect(service.restart, name).toBe('unless-stopped');
      expect(service.healthcheck?.disable ?? false, name).toBe(false);
      expect(service.healthcheck?.test?.length ?? 0, `${name} has a healthcheck`).toBeGreaterThan(0);
    }
    let waits = 0;
    for (const [name, service] of services) {
      for (const [dependency, { condition }] of Object.entries(service.depends_on ?? {})) {
        waits += 1;
        expect(condition, `${name} → ${dependency}`).toBe(oneShot.includes(dependency) ? 'service_completed_successfully' : 'service_healthy');
      }
    }
    expect(waits).toBeGreaterThanOrEqual(8);
    // The comment on running several workers is there, and workers publish no host port (so they can be scaled).
    expect(composeText).toMatch(/--scale worker=3/);
    expect(project.services.worker!.ports ?? []).toEqual([]);
  });

  it('runs the compiled engine (node dist/…, no tsx) and gives it only variables lib/config.ts reads, every required one included', () => {
    const known = new Set(Object.keys(configSchema.shape));
    for (const name of opsflowServices) {
      const service = project.services[name]!;
      expect(service.build?.target, name).toBe('runtime');
      const command = (service.command ?? []).join(' ');
      expect(command, name).toMatch(/\bnode\b.* dist\/[\w/-]+\.js/);
      expect(command, name).not.toMatch(/tsx|\.ts\b/);
      const environment = Object.fromEntries(Object.entries(service.environment ?? {}).map(([k, v]) => [k, v ?? '']));
      expect(Object.keys(environment).filter((key) => !known.has(key) && !(name === 'migrate' && migrateOnly.has(key))), name).toEqual([]);
      const parsed = configSchema.safeParse(environment);
      expect(parsed.success, `${name}: ${parsed.error?.message}`).toBe(true);
    }
    expect(project.services.migrate!.command!.join(' ')).toMatch(/prisma migrate deploy && node dist\/dev\/db-roles\.js$/);
    for (const name of ['worker', 'api'] as const) {
      expect(project.services[name]!.environment?.DATABASE_URL, name).toBe(`postgresql://opsflow_app:${env.OPSFLOW_DB_RUNTIME_PASSWORD}@postgres:5432/opsflow`);
    }
  });

  it('makes metrics reachable on the compose network and registers every Opsflow search attribute', () => {
    const worker = project.services.worker!;
    expect(worker.environment).toMatchObject({ WORKER_METRICS_HOST: '0.0.0.0', WORKER_METRICS_PORT: '9464', TEMPORAL_SDK_METRICS_PORT: '9465' });
    expect(worker.expose).toEqual(expect.arrayContaining(['9464', '9465']));
    expect(worker.healthcheck?.test?.join(' ')).toContain('http://127.0.0.1:9464/healthz');
    expect(project.services.temporal!.environment?.PROMETHEUS_ENDPOINT).toBe('0.0.0.0:8000');
    expect(project.services.api!.healthcheck?.test?.join(' ')).toContain('/healthz');
    const registered = project.services['temporal-namespace']!.command ?? [];
    expect([...registered].sort()).toEqual(searchAttributeFlags().sort());
  });
});

describe('Dockerfile', () => {
  const stages = dockerStages(dockerfileText);
  const final = stages.at(-1)!;
  const lines = (keyword: string) => final.instructions.filter((i) => i.keyword === keyword).map((i) => i.args);

  it('builds in one stage and runs from a final stage on a pinned Node LTS with production dependencies only', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    expect(final.base).toMatch(/^node:(22|24)\.\d+\.\d+-[a-z]+-slim$/);
    expect(lines('RUN').join('\n')).toMatch(/npm ci --omit=dev/);
    expect(stages[0]!.instructions.some((i) => i.keyword === 'RUN' && /npm run build/.test(i.args))).toBe(true);
  });

  it('final stage: node dist/… as a non-root user, a HEALTHCHECK, no tsx, and nothing copied but the build output and migrations', () => {
    const [cmd] = lines('CMD');
    const argv = JSON.parse(cmd!) as string[];
    expect(argv[0]).toBe('node');
    expect(argv.some((arg) => /^dist\/.+\.js$/.test(arg))).toBe(true);
    // prisma.config.ts is read by the Prisma CLI itself (the migrate job); no other TypeScript, no tsx or test tools.
    expect(final.instructions.map((i) => `${i.keyword} ${i.args}`).join('\n').replaceAll('prisma.config.ts', '')).not.toMatch(/tsx|\.ts\b|vitest|--include=dev/);
    expect(lines('ENTRYPOINT')).toEqual([]);
    const [user] = lines('USER');
    expect(user).toBeDefined();
    expect(user).not.toMatch(/^(root|0)(:|$)/);
    expect(final.instructions.findIndex((i) => i.keyword === 'USER')).toBeLessThan(final.instructions.findIndex((i) => i.keyword === 'CMD'));
    expect(lines('HEALTHCHECK').join(' ')).toMatch(/CMD \["node", "dist\/lib\/healthcheck\.js"\]/);
    for (const copy of lines('COPY')) {
      const sources = copy.replace(/--from=\S+\s*/, '').split(/\s+/).slice(0, -1);
      for (const source of sources) expect(source, copy).toMatch(/^(package(-lock)?\.json|\/app\/dist|prisma|prisma\.config\.ts)$/);
    }
  });
});
