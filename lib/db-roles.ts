import pg from 'pg';

/**
 * The database roles Opsflow runs with. Migrations run as the owner (it owns every table). The API and the worker
 * log in as a member of `opsflow_runtime` (created by the runtime_role migration), which may read and write the
 * read models but only INSERT and SELECT audit entries: it cannot UPDATE, DELETE or TRUNCATE them, nor ALTER the
 * table or disable its append-only trigger.
 */
export const RUNTIME_GROUP_ROLE = 'opsflow_runtime';
export const DEFAULT_RUNTIME_LOGIN = 'opsflow_app';

export interface RuntimeLogin {
  /** The LOGIN role to create or update; `opsflow_app` by default. */
  user?: string;
  password: string;
}

/** The same server and database with other credentials. */
export function withCredentials(databaseUrl: string, login: { user: string; password: string }): string {
  const url = new URL(databaseUrl);
  url.username = encodeURIComponent(login.user);
  url.password = encodeURIComponent(login.password);
  return url.toString();
}

/**
 * Creates (or updates the password and membership of) a LOGIN role that is a member of `opsflow_runtime`, using
 * the owner's connection, and returns the URL the API and worker connect with. Idempotent: every start may call
 * it. Needs a connection allowed to create roles (CREATEROLE or superuser) and the migrations applied.
 */
export async function ensureRuntimeLogin(ownerUrl: string, login: RuntimeLogin): Promise<string> {
  const user = login.user ?? DEFAULT_RUNTIME_LOGIN;
  if (!login.password) throw new Error('The runtime database login needs a password');
  const client = new pg.Client({ connectionString: ownerUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ current: string; group: boolean; existing: { super: boolean } | null }>(
      `SELECT current_user AS current,
              EXISTS (SELECT FROM pg_roles WHERE rolname = $2) AS group,
              (SELECT json_build_object('super', rolsuper) FROM pg_roles WHERE rolname = $1) AS existing`,
      [user, RUNTIME_GROUP_ROLE],
    );
    const facts = rows[0]!;
    if (!facts.group) throw new Error(`Role ${RUNTIME_GROUP_ROLE} does not exist: apply the migrations (npm run migrate) first`);
    // Never turn the owner (or any superuser) into the restricted login: that would lock the owner out of its own role.
    if (user === facts.current) throw new Error(`The runtime login must not be the owner role ${user}`);
    if (facts.existing?.super) throw new Error(`Role ${user} is a superuser: choose another name for the runtime login`);
    const role = client.escapeIdentifier(user);
    // Role DDL takes no bind parameters; the password is quoted as a literal.
    const attributes = `LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT PASSWORD ${client.escapeLiteral(login.password)}`;
    if (facts.existing) {
      await client.query(`ALTER ROLE ${role} WITH ${attributes}`);
    } else {
      await client.query(`CREATE ROLE ${role} WITH ${attributes}`).catch(async (error: { code?: string }) => {
        // Another process created it between our check and now (roles are cluster-wide): update it instead.
        if (error.code !== '42710') throw error;
        await client.query(`ALTER ROLE ${role} WITH ${attributes}`);
      });
    }
    await client.query(`GRANT ${client.escapeIdentifier(RUNTIME_GROUP_ROLE)} TO ${role}`);
  } finally {
    await client.end();
  }
  return withCredentials(ownerUrl, { user, password: login.password });
}
