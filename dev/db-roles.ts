import { DEFAULT_RUNTIME_LOGIN, ensureRuntimeLogin } from '../lib/db-roles.js';

/**
 * `node --import tsx dev/db-roles.ts`, after `prisma migrate deploy` (the compose migrate job does both): creates or
 * updates the restricted login the API and the worker connect with, using DATABASE_URL (the owner's connection).
 *   OPSFLOW_DB_RUNTIME_USER      the login's name (default opsflow_app)
 *   OPSFLOW_DB_RUNTIME_PASSWORD  its password (required)
 */
const ownerUrl = process.env.DATABASE_URL;
const user = process.env.OPSFLOW_DB_RUNTIME_USER || DEFAULT_RUNTIME_LOGIN;
const password = process.env.OPSFLOW_DB_RUNTIME_PASSWORD ?? '';

function fail(message: string): never {
  console.error(`[db-roles] ${message}`);
  process.exit(1);
}

if (!ownerUrl) fail('DATABASE_URL (the owner, as for migrations) is not set');
if (password.length < 16) fail('OPSFLOW_DB_RUNTIME_PASSWORD must be set, at least 16 characters');
// The API's and worker's DATABASE_URL carry the password verbatim (docker-compose.yml): no characters a URL would need escaped.
if (!/^[A-Za-z0-9._~-]+$/.test(password)) fail('OPSFLOW_DB_RUNTIME_PASSWORD may only use A-Z a-z 0-9 . _ ~ - (it is written into a URL as is), e.g. `openssl rand -hex 24`');

try {
  await ensureRuntimeLogin(ownerUrl, { user, password });
  console.log(`[db-roles] login ${user} is ready (member of opsflow_runtime: no UPDATE, DELETE or TRUNCATE on the audit log)`);
} catch (error) {
  fail(`could not create the runtime login ${user}: ${(error as Error).message}`);
}
