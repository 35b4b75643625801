/**
 * Whether an error means a dependency is unavailable for now (PostgreSQL down or out of connections, Temporal
 * unreachable or overloaded) rather than a bug: the API answers those with 503 and Retry-After, never 500. One
 * classifier for every shape these errors take: Prisma's (with @prisma/adapter-pg's driver error inside), pg's
 * own (pool timeouts, dropped connections), Node's socket errors, and gRPC statuses from @temporalio/client.
 */
export type UnavailableDependency = 'database' | 'workflow engine';

export interface Unavailability {
  dependency: UnavailableDependency;
  /** Short, safe to show: no hosts, ports or SQL. */
  reason: string;
}

/** Prisma codes that mean the database could not be used now: unreachable, timed out, closed, pool or transaction wait. */
const PRISMA_UNAVAILABLE: Record<string, string> = {
  P1001: 'the database server cannot be reached',
  P1002: 'the database server did not answer in time',
  P1008: 'a database operation timed out',
  P1017: 'the database server closed the connection',
  P2024: 'no database connection was free in time',
  P2028: 'a database transaction could not start or finish in time',
};

/** @prisma/adapter-pg's DriverAdapterError kinds for the same conditions. */
const DRIVER_KIND_UNAVAILABLE: Record<string, string> = {
  DatabaseNotReachable: 'the database server cannot be reached',
  ConnectionClosed: 'the database server closed the connection',
  SocketTimeout: 'the database server did not answer in time',
  TooManyConnections: 'the database has no free connections',
};

/**
 * PostgreSQL SQLSTATEs: class 08 (connection exception), 53300 (too many connections), 57P01-57P03 (shutting
 * down, crashed, starting up), 40P01 is not here: a deadlock is a conflict the caller may retry, but it is no outage.
 */
function postgresStateReason(state: string): string | undefined {
  if (state.startsWith('08')) return 'the database connection failed';
  if (state === '53300') return 'the database has no free connections';
  if (state === '57P01' || state === '57P02') return 'the database server is shutting down';
  if (state === '57P03') return 'the database server is starting up';
  return undefined;
}

const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

/** pg's own messages (node-postgres throws plain Errors for these): pool wait, dropped or refused connections. */
const PG_MESSAGES: Array<[RegExp, string]> = [
  [/timeout exceeded when trying to connect/i, 'no database connection was free in time'],
  [/Connection terminated (unexpectedly|due to connection timeout)/i, 'the database server closed the connection'],
  [/Client has encountered a connection error and is not queryable/i, 'the database connection failed'],
  [/Can't reach database server/i, 'the database server cannot be reached'],
];

/** gRPC status codes (@grpc/grpc-js) that mean the Temporal frontend is unreachable, too slow or shedding load. */
const GRPC_UNAVAILABLE: Record<number, string> = {
  4: 'the workflow engine did not answer in time',
  8: 'the workflow engine is overloaded',
  14: 'the workflow engine cannot be reached',
};

interface ErrorLike {
  name?: unknown;
  code?: unknown;
  message?: unknown;
  cause?: unknown;
  meta?: { driverAdapterError?: { cause?: { kind?: unknown; code?: unknown; originalCode?: unknown } } };
  syscall?: unknown;
}

function classifyOne(error: ErrorLike, insideTemporal: boolean): Unavailability | undefined {
  const { code } = error;
  const name = typeof error.name === 'string' ? error.name : '';
  const message = typeof error.message === 'string' ? error.message : '';
  const database = (reason: string): Unavailability => ({ dependency: 'database', reason });
  const temporal = (reason: string): Unavailability => ({ dependency: 'workflow engine', reason });

  const prismaReason = typeof code === 'string' && name.startsWith('PrismaClient') ? PRISMA_UNAVAILABLE[code] : undefined;
  if (prismaReason) return database(prismaReason);
  const driver = error.meta?.driverAdapterError?.cause;
  if (driver) {
    const kindReason = typeof driver.kind === 'string' ? DRIVER_KIND_UNAVAILABLE[driver.kind] : undefined;
    if (kindReason) return database(kindReason);
    const state = typeof driver.code === 'string' ? driver.code : typeof driver.originalCode === 'string' ? driver.originalCode : undefined;
    const reason = state ? postgresStateReason(state) : undefined;
    if (reason) return database(reason);
  }
  if (name === 'PrismaClientInitializationError') return database('the database could not be reached');
  // A pg DatabaseError carries the SQLSTATE as a 5-character code and a severity.
  if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && 'severity' in error) {
    const reason = postgresStateReason(code);
    if (reason) return database(reason);
  }
  for (const [pattern, reason] of PG_MESSAGES) if (pattern.test(message)) return database(reason);

  // A gRPC status: raw from workflowService calls, or the cause of a ServiceError from the Temporal client.
  const grpcReason = typeof code === 'number' ? GRPC_UNAVAILABLE[code] : undefined;
  if (grpcReason && (insideTemporal || 'details' in error || /^\d+ [A-Z_]+:/.test(message))) return temporal(grpcReason);
  if (name === 'TransportError' || /Failed to connect before the deadline/.test(message)) return temporal('the workflow engine cannot be reached');
  if (typeof code === 'string' && SOCKET_CODES.has(code) && typeof error.syscall === 'string') {
    return insideTemporal ? temporal('the workflow engine cannot be reached') : database('a connection to a dependency failed');
  }
  return undefined;
}

/** The dependency an error says is unavailable, following `cause` chains; undefined for every other error. */
export function classifyUnavailable(error: unknown): Unavailability | undefined {
  let insideTemporal = false;
  const seen = new Set<unknown>();
  for (let current = error; current && typeof current === 'object' && !seen.has(current); current = (current as ErrorLike).cause) {
    seen.add(current);
    const found = classifyOne(current as ErrorLike, insideTemporal);
    if (found) return found;
    // @temporalio/client wraps gRPC failures in ServiceError (and friends): what sits inside came from Temporal.
    const name = (current as ErrorLike).name;
    if (name === 'ServiceError') insideTemporal = true;
  }
  return undefined;
}
