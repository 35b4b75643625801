import type { Request } from 'express';
import { z } from 'zod';
import { hasScope } from '../../lib/api-keys.js';
import { AppError } from '../../lib/errors.js';
import type { Person } from '../../lib/generated/prisma/client.js';
import { recordDelegation, removeDelegation } from '../../lib/delegations.js';
import { requireIdentity } from '../auth.js';
import type { ApiContext } from '../context.js';
import { parseOr422 } from '../errors.js';
import { defineRoute } from '../route-table.js';

const email = z.email('must be an e-mail address').max(320).transform((value) => value.toLowerCase());
const roles = z.array(z.string().trim().min(1).max(100).regex(/^[a-z0-9:-]+$/, 'lowercase letters, digits, ":" and "-"')).max(50);

const personFields = z.object({
  email,
  name: z.string().trim().min(1, 'required').max(200),
  department: z.string().trim().max(100).optional(),
  managerEmail: email.optional(),
  roles,
  /** For the daily digest: the person's IANA time zone and the local hour after which it is sent (null: none). */
  timeZone: z.string().refine((tz) => tz === 'UTC' || Intl.supportedValuesOf('timeZone').includes(tz), 'is not an IANA time zone such as Europe/Berlin').optional(),
  digestHour: z.number().int().min(0, 'must be 0-23').max(23, 'must be 0-23').nullable().optional(),
});
export const createPersonSchema = personFields.extend({ roles: roles.default([]) });
/** Only what is sent changes: no field has a default here, or a PATCH of one field would reset the others. */
export const updatePersonSchema = personFields.omit({ email: true }).partial().extend({ managerEmail: email.nullable().optional() });
export const delegationSchema = z
  .object({
    delegateEmail: email,
    startsAt: z.iso.datetime({ offset: true, error: 'must be an ISO date-time' }).transform((v) => new Date(v)),
    endsAt: z.iso.datetime({ offset: true, error: 'must be an ISO date-time' }).transform((v) => new Date(v)),
    reason: z.string().trim().max(500).optional(),
  })
  .refine((d) => d.endsAt > d.startsAt, { path: ['endsAt'], message: 'must be after startsAt' });

const view = (p: Person) => ({ email: p.email, name: p.name, department: p.department, managerEmail: p.managerEmail, roles: p.roles, timeZone: p.timeZone, digestHour: p.digestHour });
const invalid = (path: string, message: string) => new AppError('validation_failed', message, { issues: [{ path, message }] });

async function findPerson(ctx: ApiContext, address: string): Promise<Person> {
  const person = await ctx.db.person.findUnique({ where: { email: address.toLowerCase() } });
  if (!person) throw new AppError('not_found', `${address} is not in the directory`);
  return person;
}

/** Approvers manage their own out-of-office; `directory:write` manages anyone's. */
function assertMayDelegateFor(req: Request, personEmail: string): string {
  const identity = requireIdentity(req);
  if (identity.email !== personEmail && !hasScope(identity, 'directory:write')) {
    throw new AppError('forbidden', `Only ${personEmail} or a key with "directory:write" can change their delegations`, { requiredScope: 'directory:write' });
  }
  return identity.email;
}

/**
 * Reading the directory (who exists, their managers, roles and absences) needs `directory:read`; `directory:write`
 * and `admin` include it. Anyone may read their own entry and delegations.
 */
function assertMayReadDirectory(req: Request, personEmail?: string): void {
  const identity = requireIdentity(req);
  if (personEmail !== undefined && identity.email === personEmail) return;
  if (hasScope(identity, 'directory:read') || hasScope(identity, 'directory:write')) return;
  throw new AppError('forbidden', 'This API key lacks the "directory:read" scope', { requiredScope: 'directory:read' });
}

export const personSchema = z
  .object({
    email: z.string(),
    name: z.string(),
    department: z.string().nullable(),
    managerEmail: z.string().nullable(),
    roles: z.array(z.string()),
    timeZone: z.string().describe('IANA time zone, for the daily digest and dates shown to the person'),
    digestHour: z.number().int().nullable().describe('Local hour after which the daily digest is sent; null: none'),
  })
  .meta({ id: 'Person' });
export const delegationViewSchema = z
  .object({
    id: z.string(),
    personEmail: z.string(),
    delegateEmail: z.string(),
    startsAt: z.iso.datetime(),
    endsAt: z.iso.datetime(),
    reason: z.string().nullable(),
    createdBy: z.string(),
    createdAt: z.iso.datetime(),
  })
  .meta({ id: 'Delegation' });

const personParams = z.object({ email: z.string().meta({ example: 'morgan.lee@example.com' }) });
const READ_ACCESS = 'directory:read, or the person themself';
const DELEGATE_ACCESS = 'the person themself, or directory:write';

/** The approver directory (people, managers, roles) and out-of-office delegations. */
export const peopleRoutes = [
  defineRoute({
    method: 'get',
    path: '/directory/people',
    operationId: 'listPeople',
    tag: 'Directory',
    summary: 'The approver directory',
    accessNote: 'directory:read',
    request: { query: z.object({ role: z.string().optional().describe('Only people with this role, e.g. cfo') }) },
    responses: { 200: { description: 'People', schema: z.object({ items: z.array(personSchema) }) } },
    async handler(ctx, { req, query, res }) {
      assertMayReadDirectory(req);
      const people = await ctx.db.person.findMany({ where: query.role ? { roles: { has: query.role } } : {}, orderBy: { email: 'asc' } });
      res.json({ items: people.map(view) });
    },
  }),
  defineRoute({
    method: 'get',
    path: '/directory/people/:email',
    operationId: 'getPerson',
    tag: 'Directory',
    summary: 'A person in the directory',
    accessNote: READ_ACCESS,
    request: { params: personParams },
    responses: { 200: { description: 'The person', schema: personSchema } },
    errors: { 404: 'Not in the directory' },
    async handler(ctx, { req, params, res }) {
      assertMayReadDirectory(req, params.email.toLowerCase());
      res.json(view(await findPerson(ctx, params.email)));
    },
  }),
  defineRoute({
    method: 'post',
    path: '/directory/people',
    operationId: 'createPerson',
    tag: 'Directory',
    summary: 'Add a person',
    scope: 'directory:write',
    request: { body: createPersonSchema, bodyExample: { email: 'jo.bloggs@example.com', name: 'Jo Bloggs', department: 'Ops', managerEmail: 'morgan.lee@example.com', roles: [] } },
    responses: { 201: { description: 'Added', schema: personSchema, headers: { Location: 'The person' } } },
    errors: { 409: 'Already in the directory', 422: 'Invalid, or an unknown manager' },
    async handler(ctx, { body, res }) {
      if (body.managerEmail && !(await ctx.db.person.findUnique({ where: { email: body.managerEmail } }))) throw invalid('managerEmail', 'is not in the directory');
      if (body.managerEmail === body.email) throw invalid('managerEmail', 'a person cannot be their own manager');
      if (await ctx.db.person.findUnique({ where: { email: body.email } })) throw new AppError('conflict', `${body.email} is already in the directory`);
      const person = await ctx.db.person.create({ data: { id: body.email, ...body, department: body.department ?? null, managerEmail: body.managerEmail ?? null } });
      res.status(201).location(`/directory/people/${person.email}`).json(view(person));
    },
  }),
  defineRoute({
    method: 'patch',
    path: '/directory/people/:email',
    operationId: 'updatePerson',
    tag: 'Directory',
    summary: 'Edit a person',
    scope: 'directory:write',
    request: { params: personParams, body: updatePersonSchema, bodyValidation: 'handler' },
    responses: { 200: { description: 'Edited', schema: personSchema } },
    errors: { 404: 'Not in the directory', 422: 'Invalid, or an unknown manager' },
    async handler(ctx, { req, params, res }) {
      const person = await findPerson(ctx, params.email);
      const body = parseOr422(updatePersonSchema, req.body);
      if (body.managerEmail === person.email) throw invalid('managerEmail', 'a person cannot be their own manager');
      if (body.managerEmail && !(await ctx.db.person.findUnique({ where: { email: body.managerEmail } }))) throw invalid('managerEmail', 'is not in the directory');
      res.json(view(await ctx.db.person.update({ where: { email: person.email }, data: body })));
    },
  }),
  defineRoute({
    method: 'get',
    path: '/directory/people/:email/delegations',
    operationId: 'listDelegations',
    tag: 'Directory',
    summary: "A person's out-of-office delegations, latest first",
    accessNote: READ_ACCESS,
    request: { params: personParams },
    responses: { 200: { description: 'Delegations', schema: z.object({ items: z.array(delegationViewSchema) }) } },
    errors: { 404: 'Not in the directory' },
    async handler(ctx, { req, params, res }) {
      assertMayReadDirectory(req, params.email.toLowerCase());
      const person = await findPerson(ctx, params.email);
      res.json({ items: await ctx.db.delegation.findMany({ where: { personEmail: person.email }, orderBy: { startsAt: 'desc' } }) });
    },
  }),
  defineRoute({
    method: 'post',
    path: '/directory/people/:email/delegations',
    operationId: 'createDelegation',
    tag: 'Directory',
    summary: 'Out of office: route new requests to a delegate for a window',
    accessNote: DELEGATE_ACCESS,
    request: {
      params: personParams,
      body: delegationSchema,
      bodyValidation: 'handler',
      bodyExample: { delegateEmail: 'sam.okafor@example.com', startsAt: '2026-12-24T00:00:00Z', endsAt: '2027-01-04T00:00:00Z', reason: 'Holidays' },
    },
    responses: { 201: { description: 'Created', schema: delegationViewSchema } },
    errors: { 404: 'Not in the directory', 422: 'Invalid window, or an unknown delegate' },
    async handler(ctx, { req, params, res }) {
      const person = await findPerson(ctx, params.email);
      const actor = assertMayDelegateFor(req, person.email);
      const body = parseOr422(delegationSchema, req.body);
      const delegation = await recordDelegation(ctx.db, person.email, body, { actor, ip: req.ip, userAgent: req.get('user-agent') });
      res.status(201).json(delegation);
    },
  }),
  defineRoute({
    method: 'delete',
    path: '/directory/people/:email/delegations/:id',
    operationId: 'deleteDelegation',
    tag: 'Directory',
    summary: 'End a delegation',
    accessNote: DELEGATE_ACCESS,
    request: { params: personParams.extend({ id: z.string() }) },
    responses: { 204: { description: 'Deleted' } },
    errors: { 404: 'No such person or delegation' },
    async handler(ctx, { req, params, res }) {
      const person = await findPerson(ctx, params.email);
      const actor = assertMayDelegateFor(req, person.email);
      if (!(await removeDelegation(ctx.db, person.email, params.id, { actor, ip: req.ip }))) {
        throw new AppError('not_found', `No delegation ${params.id} for ${person.email}`);
      }
      res.status(204).end();
    },
  }),
];
