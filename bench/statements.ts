import { completeRun } from './sides.js';
import { startBenchStack } from './stack.js';

/**
 * `npm run bench:statements`: where an approved 3-step capex run's database work goes, transaction by transaction.
 * Starts the bench stack (bench/stack.ts), completes one run to warm it, then has PostgreSQL log every statement
 * (log_statement = all, each line naming its process and transaction) while one more run completes, and prints
 * each transaction of the API and the worker in order: its statements, counted and each in a few words (a Prisma
 * model query marked *). What `npm run bench` counts as "DB commits per run" is the number of these transactions
 * (the API's periodic sweeps are left out here; a read on its own is a transaction too). Counts, not timings: the
 * same on any machine.
 */

interface Transaction {
  process: string;
  statements: string[];
  /** The statements' parameters (PostgreSQL logs them on DETAIL lines), to tell the run's work from the rest. */
  parameters: string;
}

/** The log_line_prefix this script sets: a marker, the process (application_name) and the virtual transaction id. */
const PREFIX = 'STMT';
const prefixed = new RegExp(`${PREFIX} (\\S*) (\\S+)\\| (LOG|DETAIL):  (.*)$`);

/** A statement in a few words: its verb and table, enough to recognise it. */
function gist(statement: string): string {
  const text = statement.replace(/\s+/g, ' ').trim();
  if (/pg_advisory_xact_lock/.test(text)) return 'lock';
  const verb = /^(WITH RECURSIVE|WITH|SELECT|INSERT|UPDATE|DELETE)/i.exec(text)?.[1]?.toUpperCase() ?? text.slice(0, 20);
  const table = /(?:FROM|INTO|UPDATE) (?:"public"\.)?"(\w+)"/i.exec(text);
  const gist = table ? `${verb} ${table[1]}` : verb;
  return viaModelQuery(text) ? `${gist}*` : gist;
}

/** Prisma's model queries name their tables with the schema ("public"."Run"); the raw statements here never do. */
const viaModelQuery = (statement: string) => /"public"\."\w+"/.test(statement);

/** The transactions PostgreSQL logged, in order, with the statements and parameters of each. */
function transactionsIn(lines: string[]): Transaction[] {
  const transactions = new Map<string, Transaction>();
  let current: { tx: Transaction; index: number } | undefined;
  for (const text of lines) {
    const match = prefixed.exec(text);
    if (!match) {
      // A multi-line statement goes on without the prefix.
      if (current) current.tx.statements[current.index] += `\n${text}`;
      continue;
    }
    current = undefined;
    const [, application, vxid, kind, message] = match as unknown as [string, string, string, string, string];
    if (!application.startsWith('opsflow-')) continue;
    const key = `${application} ${vxid}`;
    let tx = transactions.get(key);
    if (!tx) transactions.set(key, (tx = { process: application.slice('opsflow-'.length), statements: [], parameters: '' }));
    if (kind === 'DETAIL') {
      tx.parameters += `${message}\n`;
      continue;
    }
    const statement = /^(?:statement|execute [^:]*): (.*)$/.exec(message)?.[1];
    if (statement === undefined || /^(BEGIN|COMMIT)\b/i.test(statement.trim())) continue;
    current = { tx, index: tx.statements.push(statement) - 1 };
  }
  return [...transactions.values()].filter((tx) => tx.statements.length > 0);
}

/** The run's own work, and the API key checks its requests cost; not the API's periodic sweeps. */
const isTheRuns = (runId: string) => (tx: Transaction) => tx.parameters.includes(runId) || tx.statements.some((s) => s.includes(runId) || /"ApiKey"/.test(s));

async function main(): Promise<void> {
  const logged: string[] = [];
  let recording = false;
  const stack = await startBenchStack({
    say: (text) => console.error(`[statements] ${text}`),
    postgresLog: (text) => {
      if (recording) logged.push(...text.split('\n'));
    },
  });
  try {
    await completeRun(stack, 'opsflow', 3);
    await stack.stats.query(`ALTER SYSTEM SET log_statement = 'all'`);
    await stack.stats.query(`ALTER SYSTEM SET log_line_prefix = '${PREFIX} %a %v| '`);
    await stack.stats.query('SELECT pg_reload_conf()');
    recording = true;
    const runId = await completeRun(stack, 'opsflow', 3);
    // The run's mails are in, but its last writes (the notice's `sent` mark) may follow the hand-off by a moment.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    recording = false;
    await stack.stats.query(`ALTER SYSTEM RESET log_statement`);
    await stack.stats.query('SELECT pg_reload_conf()');

    const runs = transactionsIn(logged).filter(isTheRuns(runId));
    console.log(`One approved 3-step capex run (${runId}), every transaction of the API and the worker in order:\n`);
    console.log('| # | process | statements | what |');
    console.log('|---|---|---|---|');
    for (const [i, tx] of runs.entries()) {
      console.log(`| ${i + 1} | ${tx.process} | ${tx.statements.length} | ${tx.statements.map(gist).join(', ')} |`);
    }
    const count = (process: string) => runs.filter((tx) => tx.process === process);
    const statements = (list: Transaction[]) => list.reduce((n, tx) => n + tx.statements.length, 0);
    const modelQueries = (list: Transaction[]) => list.reduce((n, tx) => n + tx.statements.filter(viaModelQuery).length, 0);
    console.log(`\nTransactions: ${runs.length} (API ${count('api').length}, worker ${count('worker').length}); statements: ${statements(runs)} (API ${statements(count('api'))}, worker ${statements(count('worker'))}).`);
    console.log(`Of those, Prisma model queries (marked *; each compiled anew by Prisma's query compiler): ${modelQueries(runs)} (API ${modelQueries(count('api'))}, worker ${modelQueries(count('worker'))}).`);
  } finally {
    await stack.stop();
  }
}

await main();
