import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';

/** Exit codes scripts can rely on (README "CLI"). */
export const ExitCode = {
  ok: 0,
  /** The API refused the request (4xx other than 401/403) or failed (5xx). */
  apiError: 1,
  /** Bad usage, no URL or key, or the key was refused (401) or lacks a scope (403). */
  usageOrAuth: 2,
  /** The API could not be reached. */
  unreachable: 3,
} as const;

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

const profileSchema = z.object({ url: z.url().optional(), key: z.string().min(1).optional() });
const configFileSchema = z.object({ profiles: z.record(z.string(), profileSchema).default({}), defaultProfile: z.string().optional() });

export interface Connection {
  url: string;
  key: string;
}

/** ~/.config/opsflow/config.json (or $XDG_CONFIG_HOME/opsflow/config.json; OPSFLOW_CONFIG names another file). */
export function configFilePath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.OPSFLOW_CONFIG) return env.OPSFLOW_CONFIG;
  return join(env.XDG_CONFIG_HOME ?? join(homedir(), '.config'), 'opsflow', 'config.json');
}

function readProfile(path: string, name: string | undefined, explicit: boolean): z.infer<typeof profileSchema> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    if (explicit) throw new CliError(`profile "${name}": no config file at ${path}`, ExitCode.usageOrAuth);
    return {};
  }
  const parsed = configFileSchema.safeParse(JSON.parse(text));
  if (!parsed.success) throw new CliError(`${path}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`, ExitCode.usageOrAuth);
  const chosen = name ?? parsed.data.defaultProfile ?? 'default';
  const profile = parsed.data.profiles[chosen];
  if (!profile && explicit) throw new CliError(`no profile "${chosen}" in ${path} (it has: ${Object.keys(parsed.data.profiles).join(', ') || 'none'})`, ExitCode.usageOrAuth);
  return profile ?? {};
}

/** Flags first, then OPSFLOW_URL / OPSFLOW_KEY, then the profile (--profile, else the file's default). */
export function resolveConnection(flags: { url?: string; key?: string; profile?: string }, env: NodeJS.ProcessEnv = process.env): Connection {
  const profile = readProfile(configFilePath(env), flags.profile ?? env.OPSFLOW_PROFILE, Boolean(flags.profile ?? env.OPSFLOW_PROFILE));
  const url = flags.url ?? env.OPSFLOW_URL ?? profile.url;
  const key = flags.key ?? env.OPSFLOW_KEY ?? profile.key;
  if (!url) throw new CliError('no API URL: set OPSFLOW_URL, pass --url, or add a profile to ' + configFilePath(env), ExitCode.usageOrAuth);
  if (!key) throw new CliError('no API key: set OPSFLOW_KEY, pass --key, or add a profile to ' + configFilePath(env), ExitCode.usageOrAuth);
  return { url, key };
}
