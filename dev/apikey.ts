import { Command } from 'commander';
import { createApiKey, revokeApiKey, scopeSchemaHint, unknownScopes } from '../lib/api-keys.js';
import { createDb } from '../lib/db.js';
import { processes } from '../processes/index.js';

/**
 * `npm run apikey -- create --name "Ops desk" --email alex.rivera@example.com --scopes runs:start:*,runs:read`
 * prints a new key once. `list` and `revoke <id>` manage them. Uses DATABASE_URL.
 */
const url = process.env.DATABASE_URL;
if (!url) {
  console.error('DATABASE_URL is not set (npm run dev prints it; the embedded database is under .data/)');
  process.exit(1);
}
const db = createDb(url);
const program = new Command('apikey').description('Manage Opsflow API keys');

program
  .command('create')
  .requiredOption('--name <name>', 'what the key is for, e.g. "Slack approvals bot"')
  .requiredOption('--email <email>', 'the person the key acts as (must be in the directory)')
  .requiredOption('--scopes <scopes>', `comma-separated: ${scopeSchemaHint}`)
  .action(async (options: { name: string; email: string; scopes: string }) => {
    const person = await db.person.findUnique({ where: { email: options.email.toLowerCase() } });
    if (!person) throw new Error(`${options.email} is not in the directory`);
    const scopes = options.scopes.split(',').map((s) => s.trim()).filter(Boolean);
    // A misspelt scope would make a key that silently cannot do what it was made for.
    const unknown = unknownScopes(scopes, processes.map((p) => p.key));
    if (scopes.length === 0) throw new Error(`--scopes: name at least one of ${scopeSchemaHint}`);
    if (unknown.length > 0) throw new Error(`--scopes: unknown scope${unknown.length > 1 ? 's' : ''} ${unknown.map((s) => `"${s}"`).join(', ')}; known: ${scopeSchemaHint} (processes: ${processes.map((p) => p.key).join(', ')})`);
    const { id, key } = await createApiKey(db, { name: options.name, personEmail: person.email, scopes });
    console.log(`Created key ${id} for ${person.email} with ${scopes.join(', ')}.\nStore it now; it is not shown again:\n\n  ${key}\n`);
  });

program.command('list').action(async () => {
  for (const key of await db.apiKey.findMany({ orderBy: { createdAt: 'asc' } })) {
    console.log(`${key.id}  ${key.revokedAt ? 'revoked' : 'active '}  ${key.personEmail}  ${key.scopes.join(',')}  ${key.name}`);
  }
});

program
  .command('revoke <id>')
  .action(async (id: string) => {
    await revokeApiKey(db, id);
    console.log(`Revoked ${id}`);
  });

try {
  await program.parseAsync();
} catch (error) {
  console.error((error as Error).message);
  process.exitCode = 1;
} finally {
  await db.$disconnect();
}
