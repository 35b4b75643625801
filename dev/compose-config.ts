import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { resolveGoTool } from './go-tool.js';

/**
 * compose-go, the loader behind `docker compose config`, as a small Go program in dev/compose-config (built once
 * into $HOME/go/bin like dev/promlint), so a compose file is checked the way Docker reads it on a machine that has no
 * Docker engine or compose plugin.
 */
const source = fileURLToPath(new URL('./compose-config/', import.meta.url));

export function resolveComposeConfig(): Promise<string> {
  return resolveGoTool(source, 'opsflow-compose-config', process.env.COMPOSE_CONFIG_PATH);
}

export type ComposeLoad = { ok: true; project: ComposeProject } | { ok: false; error: string };

/** The normalized model compose-go prints (the fields Opsflow's checks read). */
export interface ComposeProject {
  name: string;
  services: Record<string, ComposeService>;
}

export interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile?: string; target?: string };
  command?: string[] | null;
  entrypoint?: string[] | null;
  environment?: Record<string, string | null>;
  restart?: string;
  healthcheck?: { test?: string[]; disable?: boolean; interval?: string };
  depends_on?: Record<string, { condition: string; required?: boolean }>;
  ports?: Array<{ target: number; published?: string }>;
  expose?: string[];
  volumes?: Array<{ type: string; source?: string; target: string; read_only?: boolean }>;
  labels?: Record<string, string>;
}

/** Loads `file` with exactly `env` as the environment (no .env file, nothing inherited). */
export async function loadCompose(file: string, env: Record<string, string>): Promise<ComposeLoad> {
  const tool = await resolveComposeConfig();
  try {
    const { stdout } = await promisify(execFile)(tool, [file], { env, maxBuffer: 16 * 1024 * 1024 });
    return { ok: true, project: JSON.parse(stdout) as ComposeProject };
  } catch (error) {
    const failed = error as { stderr?: string; message: string };
    return { ok: false, error: (failed.stderr || failed.message).trim() };
  }
}
