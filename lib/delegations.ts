import { randomUUID } from 'node:crypto';
import type { Db } from './db.js';
import { AppError } from './errors.js';
import type { Delegation } from './generated/prisma/client.js';
import { insertAuditEntry } from './outbound-webhooks.js';

export interface DelegationRequest {
  delegateEmail: string;
  startsAt: Date;
  endsAt: Date;
  reason?: string;
}

export interface DelegationActor {
  actor: string;
  ip?: string | null;
  userAgent?: string | null;
}

const invalid = (path: string, message: string) => new AppError('validation_failed', message, { issues: [{ path, message }] });

/**
 * Records an out-of-office delegation with its audit entry (on the org chain: it belongs to no run), whether it
 * comes from the directory API or from the person's own "My approvals" page.
 */
export async function recordDelegation(db: Db, personEmail: string, request: DelegationRequest, by: DelegationActor): Promise<Delegation> {
  if (request.delegateEmail === personEmail) throw invalid('delegateEmail', 'cannot delegate to oneself');
  if (!(await db.person.findUnique({ where: { email: request.delegateEmail } }))) throw invalid('delegateEmail', 'is not in the directory');
  const id = randomUUID();
  return db.$transaction(async (tx) => {
    const created = await tx.delegation.create({ data: { id, personEmail, ...request, reason: request.reason ?? null, createdBy: by.actor } });
    await insertAuditEntry(tx, {
      eventKey: `delegation:${id}:created`, action: 'delegation.created', actor: by.actor, onBehalfOf: personEmail,
      ip: by.ip ?? null, userAgent: by.userAgent?.slice(0, 500) ?? null,
      details: { delegationId: id, delegateEmail: request.delegateEmail, startsAt: request.startsAt.toISOString(), endsAt: request.endsAt.toISOString(), reason: request.reason ?? null },
    });
    return created;
  });
}

/** Ends a delegation of this person (audited); false when they have none with that id. */
export async function removeDelegation(db: Db, personEmail: string, delegationId: string, by: DelegationActor): Promise<boolean> {
  const delegation = await db.delegation.findFirst({ where: { id: delegationId, personEmail } });
  if (!delegation) return false;
  await db.$transaction(async (tx) => {
    await tx.delegation.delete({ where: { id: delegation.id } });
    await insertAuditEntry(tx, {
      eventKey: `delegation:${delegation.id}:deleted`, action: 'delegation.deleted', actor: by.actor, onBehalfOf: personEmail, ip: by.ip ?? null, details: { delegationId: delegation.id },
    });
  });
  return true;
}
