import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const projectRoot = fileURLToPath(new URL('..', import.meta.url));
const prismaBin = fileURLToPath(new URL('../node_modules/prisma/build/index.js', import.meta.url));

/** `prisma migrate deploy` against a database: applies the committed migrations in prisma/migrations. */
export async function migrateDeploy(databaseUrl: string): Promise<string> {
  const { stdout } = await promisify(execFile)(process.execPath, [prismaBin, 'migrate', 'deploy'], {
    cwd: projectRoot,
    env: { ...process.env, DATABASE_URL: databaseUrl, PRISMA_HIDE_UPDATE_MESSAGE: '1' },
  });
  return stdout;
}

// `npm run migrate` applies migrations to DATABASE_URL.
if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/'))) {
  const url = process.env.DATABASE_URL;
  if (!url) {
    console.error('DATABASE_URL is not set');
    process.exit(1);
  }
  migrateDeploy(url).then(
    (out) => console.log(out),
    (error: Error) => {
      console.error(error.message);
      process.exit(1);
    },
  );
}
