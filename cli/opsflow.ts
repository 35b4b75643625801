#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { createOpsflowClient, type DecisionBody, type OpsflowClient, type StartRunBody } from '../client/index.js';
import { CliError, ExitCode, resolveConnection } from './config.js';
import { fields, json, table } from './output.js';

/**
 * `opsflow`: the command line for ops over the Opsflow API (the typed client in client/). Table output by default,
 * `--json` for scripts; exit codes in cli/config.ts (0 ok, 1 API error, 2 usage or auth, 3 unreachable).
 */

interface GlobalOptions {
  url?: string;
  key?: string;
  profile?: string;
  json?: boolean;
}

/** What openapi-fetch gives back for every call. */
interface Answer<T> {
  data?: T;
  error?: unknown;
  response: Response;
}

function errorLine(status: number, error: unknown): string {
  const body = (error as { error?: { code?: string; message?: string; details?: { issues?: Array<{ path: string; message: string }> } } } | undefined)?.error;
  if (!body) return `${status}: ${typeof error === 'string' ? error : JSON.stringify(error)}`;
  const issues = body.details?.issues?.map((i) => `${i.path}: ${i.message}`).join('; ');
  return `${status} ${body.code}: ${body.message}${issues ? ` (${issues})` : ''}`;
}

/** The data of a successful answer; otherwise a CliError with the API's error on one line and the exit code. */
async function answer<T>(call: Promise<Answer<T>>): Promise<T> {
  let result: Answer<T>;
  try {
    result = await call;
  } catch (error) {
    throw new CliError(`cannot reach the API: ${(error as Error).cause instanceof Error ? ((error as Error).cause as Error).message : (error as Error).message}`, ExitCode.unreachable);
  }
  const { data, error, response } = result;
  if (response.ok) return data as T;
  const code = response.status === 401 || response.status === 403 ? ExitCode.usageOrAuth : ExitCode.apiError;
  throw new CliError(errorLine(response.status, error), code);
}

/** A JSON argument: inline, `@file.json`, or `-` for stdin. */
function jsonArgument(value: string, what: string): unknown {
  const source = value === '-' ? readFileSync(0, 'utf8') : value.startsWith('@') ? readFileSync(value.slice(1), 'utf8') : value;
  try {
    return JSON.parse(source);
  } catch (error) {
    throw new CliError(`${what} is not JSON: ${(error as Error).message}`, ExitCode.usageOrAuth);
  }
}

export function buildProgram(print: (text: string) => void): Command {
  const program = new Command('opsflow')
    .description('Start and follow Opsflow runs, decide approvals, route events, manage policies and keys')
    .option('--url <url>', 'API base URL (else OPSFLOW_URL, else the profile)')
    .option('--key <key>', 'API key (else OPSFLOW_KEY, else the profile)')
    .option('--profile <name>', 'profile in ~/.config/opsflow/config.json (else OPSFLOW_PROFILE, else its default)')
    .option('--json', 'print JSON (what the API answered) instead of a table')
    .showHelpAfterError()
    .exitOverride();

  const globals = (command: Command) => command.optsWithGlobals<GlobalOptions>();
  const client = (command: Command): OpsflowClient => {
    const { url, key } = resolveConnection(globals(command));
    return createOpsflowClient({ baseUrl: url, apiKey: key });
  };
  /** Prints JSON under --json, the table otherwise. */
  const show = (command: Command, data: unknown, render: () => string) => print(globals(command).json ? json(data) : render());

  const runs = program.command('runs').description('Runs of a process');
  runs
    .command('start <process>')
    .description('Start a run')
    .requiredOption('--input <json>', 'the input as JSON, @file.json or - (stdin)')
    .option('--settings <json>', 'per-run policy overrides (needs runs:configure)')
    .option('--idempotency-key <key>', 'the same key and input give the same run')
    .action(async (process: string, options: { input: string; settings?: string; idempotencyKey?: string }, command: Command) => {
      const body = { process, input: jsonArgument(options.input, '--input'), ...(options.settings ? { settings: jsonArgument(options.settings, '--settings') } : {}) } as StartRunBody;
      const started = await answer(
        client(command).POST('/runs', { body, ...(options.idempotencyKey ? { headers: { 'Idempotency-Key': options.idempotencyKey } } : {}) }),
      );
      show(command, started, () => fields({ run: started.runId, status: started.status }));
    });
  runs
    .command('list')
    .description('Runs, newest first')
    .option('--process <key>')
    .addOption(new Option('--status <status>').choices(['running', 'completed', 'rejected', 'expired', 'cancelled', 'failed']))
    .option('--limit <n>', 'at most this many (1-100)', '20')
    .option('--cursor <cursor>', 'the next page, as a previous page printed it')
    .action(async (options: { process?: string; status?: 'running'; limit: string; cursor?: string }, command: Command) => {
      const page = await answer(
        client(command).GET('/runs', { params: { query: { process: options.process, status: options.status, limit: Number(options.limit), cursor: options.cursor } } }),
      );
      show(command, page, () => {
        const rows = page.items.map((r) => ({ run: r.runId, process: r.process, status: r.status, step: r.currentStep, amount: r.amount === null ? null : `${r.amount} ${r.currency ?? ''}`.trim(), title: r.title, started: r.startedAt }));
        return table(rows, ['run', 'process', 'status', 'step', 'amount', 'started', 'title']) + (page.nextCursor ? `\nnext page: --cursor ${page.nextCursor}` : '');
      });
    });
  runs
    .command('show <runId>')
    .description('A run: status, facts, approvals and timeline')
    .action(async (runId: string, _options: unknown, command: Command) => {
      const run = await answer(client(command).GET('/runs/{id}', { params: { path: { id: runId } } }));
      show(command, run, () =>
        [
          fields({ run: run.runId, process: run.processTitle, title: run.title, status: run.status, outcome: run.outcome, step: run.currentStep, requester: `${run.requester.name} <${run.requester.email}>`, started: run.startedAt, closed: run.closedAt, health: run.health.status, version: run.version }),
          '',
          table(run.facts.map((f) => ({ fact: f.label, value: f.value })), ['fact', 'value']),
          '',
          table(run.approvals.map((a) => ({ step: a.step, approver: a.approver.email, state: a.state, decided: a.decidedAt, comment: a.comment })), ['step', 'approver', 'state', 'decided', 'comment']),
        ].join('\n'),
      );
    });
  runs
    .command('cancel <runId>')
    .description('Cancel a running run')
    .requiredOption('--reason <text>', 'why (the requester and the audit log see it)')
    .action(async (runId: string, options: { reason: string }, command: Command) => {
      const cancelled = await answer(client(command).POST('/runs/{id}/cancel', { params: { path: { id: runId } }, body: { reason: options.reason } }));
      show(command, cancelled, () => fields({ run: cancelled.runId, status: cancelled.status }));
    });

  const approvals = program.command('approvals').description("The key's person's approval requests");
  approvals
    .command('list')
    .description('Open requests waiting on you, oldest first')
    .action(async (_options: unknown, command: Command) => {
      const open = await answer(client(command).GET('/decisions'));
      show(command, open, () =>
        table(open.items.map((a) => ({ run: a.runId, step: a.step, title: a.runTitle, process: a.process, 'on behalf of': a.onBehalfOf, expires: a.expiresAt })), ['run', 'step', 'process', 'expires', 'on behalf of', 'title']),
      );
    });
  approvals
    .command('decide <runId> <decision>')
    .description('Decide your open request on a run: approve, reject or request-changes')
    .option('--comment <text>', 'required to reject or request changes')
    .option('--version <version>', 'the version you decide on (default: the current one, as GET /runs/:id/decisions shows it)')
    .option('--request-id <id>', 'which request, when several wait on you')
    .action(async (runId: string, decision: string, options: { comment?: string; version?: string; requestId?: string }, command: Command) => {
      const decisions = { approve: 'approve', reject: 'reject', 'request-changes': 'request_changes', request_changes: 'request_changes' } as const;
      const chosen = decisions[decision as keyof typeof decisions];
      if (!chosen) throw new CliError(`decision must be approve, reject or request-changes, not "${decision}"`, ExitCode.usageOrAuth);
      const api = client(command);
      const version = options.version ?? (await answer(api.GET('/runs/{id}/decisions', { params: { path: { id: runId } } }))).version;
      const body: DecisionBody = { decision: chosen, version, ...(options.comment ? { comment: options.comment } : {}), ...(options.requestId ? { requestId: options.requestId } : {}) };
      const { data, error, response } = await api.POST('/runs/{id}/decisions', { params: { path: { id: runId } }, body });
      if (response.status === 202) return show(command, data, () => 'sent; the run has not confirmed it yet (repeating is safe)');
      const decided = await answer(Promise.resolve({ data, error, response }));
      show(command, decided, () => fields({ run: runId, request: 'requestId' in decided ? decided.requestId : null, decision: 'decision' in decided ? decided.decision : null }));
    });

  const events = program.command('events').description('Inbound events and their routing');
  events
    .command('list')
    .description('Received events, newest first')
    .addOption(new Option('--status <status>').choices(['received', 'applied', 'started', 'unmatched', 'invalid']))
    .option('--source <source>')
    .option('--type <type>')
    .option('--run <runId>')
    .option('--limit <n>', 'at most this many (1-500)', '50')
    .action(async (options: { status?: 'received'; source?: string; type?: string; run?: string; limit: string }, command: Command) => {
      const list = await answer(
        client(command).GET('/events', { params: { query: { status: options.status, source: options.source, type: options.type, runId: options.run, limit: Number(options.limit) } } }),
      );
      show(command, list, () =>
        table(list.items.map((e) => ({ event: e.eventId, source: e.source, type: e.type, status: e.status, run: e.runId, received: e.receivedAt, reason: e.reason })), ['event', 'source', 'type', 'status', 'run', 'received', 'reason']),
      );
    });
  events
    .command('route <eventId>')
    .description('Route an unmatched or invalid event again')
    .action(async (eventId: string, _options: unknown, command: Command) => {
      const routed = await answer(client(command).POST('/events/{id}/route', { params: { path: { id: eventId } } }));
      show(command, routed, () => fields({ event: routed.eventId, status: routed.status, run: routed.runId, reason: routed.reason }));
    });

  const policy = program.command('policy').description("A process's policy");
  policy
    .command('show <process>')
    .description('The policy in force')
    .action(async (process: string, _options: unknown, command: Command) => {
      const current = await answer(client(command).GET('/processes/{key}/policy', { params: { path: { key: process } } }));
      show(command, current, () => [fields({ process: current.process, version: current.version, by: current.createdBy, at: current.createdAt, reason: current.reason }), '', json(current.policy)].join('\n'));
    });
  policy
    .command('set <process>')
    .description('Save a new version of the policy')
    .requiredOption('--file <path>', 'the whole policy as JSON (as `policy show --json` prints it under "policy"), or - for stdin')
    .requiredOption('--reason <text>', 'why it changes (audited)')
    .option('--based-on <version>', 'the version you edited; refused if someone changed it since')
    .action(async (process: string, options: { file: string; reason: string; basedOn?: string }, command: Command) => {
      const policyBody = jsonArgument(options.file === '-' ? '-' : `@${options.file}`, '--file') as Record<string, unknown>;
      const saved = await answer(
        client(command).PUT('/processes/{key}/policy', {
          params: { path: { key: process } },
          body: { policy: policyBody, reason: options.reason, ...(options.basedOn ? { basedOn: Number(options.basedOn) } : {}) },
        }),
      );
      show(command, saved, () => fields({ process: saved.process, version: saved.version, by: saved.createdBy, reason: saved.reason }));
    });

  const keys = program.command('keys').description('API keys (scope admin)');
  keys
    .command('create')
    .description('Make a key for a person in the directory; it is shown once')
    .requiredOption('--name <name>', 'what the key is for')
    .requiredOption('--email <email>', 'the person the key acts as')
    .requiredOption('--scopes <scopes>', 'comma-separated, e.g. decisions:write,runs:read')
    .action(async (options: { name: string; email: string; scopes: string }, command: Command) => {
      const scopes = options.scopes.split(',').map((s) => s.trim()).filter(Boolean);
      const made = await answer(client(command).POST('/keys', { body: { name: options.name, email: options.email, scopes } }));
      show(command, made, () => `${fields({ id: made.id, person: made.personEmail, scopes: made.scopes.join(',') })}\n\nStore it now; it is not shown again:\n${made.key}`);
    });
  keys
    .command('list')
    .description('Keys, never their secrets')
    .action(async (_options: unknown, command: Command) => {
      const list = await answer(client(command).GET('/keys'));
      show(command, list, () =>
        table(list.items.map((k) => ({ id: k.id, person: k.personEmail, state: k.revokedAt ? 'revoked' : 'active', scopes: k.scopes.join(','), 'last used': k.lastUsedAt, name: k.name })), ['id', 'person', 'state', 'last used', 'scopes', 'name']),
      );
    });
  keys
    .command('revoke <id>')
    .description('Revoke a key at once')
    .action(async (id: string, _options: unknown, command: Command) => {
      const revoked = await answer(client(command).DELETE('/keys/{id}', { params: { path: { id } } }));
      show(command, revoked, () => fields({ id: revoked.id, revoked: revoked.revokedAt }));
    });

  return program;
}

/** Runs the CLI; the exit code is the answer's (see ExitCode). Errors are one line on stderr. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram((text) => process.stdout.write(`${text}\n`));
  try {
    await program.parseAsync(argv);
    return ExitCode.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.code === 'commander.helpDisplayed' || error.code === 'commander.help' || error.code === 'commander.version' ? ExitCode.ok : ExitCode.usageOrAuth;
    }
    if (error instanceof CliError) {
      process.stderr.write(`opsflow: ${error.message}\n`);
      return error.exitCode;
    }
    process.stderr.write(`opsflow: ${(error as Error).message}\n`);
    return ExitCode.apiError;
  }
}

process.exitCode = await main(process.argv);
