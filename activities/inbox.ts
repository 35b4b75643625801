import { ApplicationFailure } from '@temporalio/activity';
import { FailureType } from '../processes/failures.js';
import { hashToken, mintLinkToken, tokenKeyRing } from '../lib/tokens.js';
import type { ActivityDeps } from './deps.js';
import { linkFor } from './approvals.js';
import { digestEmail, signInEmail, type DigestLine } from './email-templates.js';
import { sendEmailOnce } from './email.js';

/** A person's local hour and date in their directory time zone (an unknown zone counts as UTC). */
export function localClock(at: Date, timeZone: string): { hour: number; date: string } {
  const zone = Intl.supportedValuesOf('timeZone').includes(timeZone) || timeZone === 'UTC' ? timeZone : 'UTC';
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', hourCycle: 'h23' }).formatToParts(at);
  const part = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
  return { hour: Number(part('hour')), date: `${part('year')}-${part('month')}-${part('day')}` };
}

/** Whether a person's digest is due at `at`: they want one, and their local time has passed their digest hour. */
export function digestDue(person: { digestHour: number | null; timeZone: string }, at: Date): { due: false } | { due: true; localDate: string } {
  if (person.digestHour === null) return { due: false };
  const clock = localClock(at, person.timeZone);
  return clock.hour >= person.digestHour ? { due: true, localDate: clock.date } : { due: false };
}

/** Activities of the person-facing mails that belong to no run: sign-in links and the daily digest. */
export function createInboxActivities(deps: ActivityDeps) {
  const base = () => deps.settings.publicBaseUrl.replace(/\/$/, '');

  return {
    /**
     * Mints the link's token from its nonce (the ring's newest key, or the key that minted it on a retry), stores
     * only its hash, and mails it once.
     */
    async sendSignInLink(linkId: string): Promise<{ sent: boolean }> {
      const link = await deps.db.signInLink.findUnique({ where: { id: linkId } });
      if (!link) throw ApplicationFailure.nonRetryable(`No sign-in link ${linkId}`, FailureType.signInLinkMissing);
      if (link.usedAt || link.expiresAt <= new Date()) return { sent: false };
      const ring = tokenKeyRing(deps.settings.tokenSecrets);
      const key = ring.find((k) => k.id === link.keyId) ?? ring[0]!;
      const token = mintLinkToken(key, link.id, link.nonce);
      if (link.tokenHash !== hashToken(token)) {
        await deps.db.signInLink.update({ where: { id: link.id }, data: { tokenHash: hashToken(token), keyId: key.id } });
      }
      const person = await deps.db.person.findUnique({ where: { email: link.email } });
      return sendEmailOnce(deps, {
        idempotencyKey: `sign-in:${link.id}`,
        kind: 'sign-in',
        to: link.email,
        email: signInEmail({ name: person?.name ?? link.email, link: `${base()}/me/sign-in/${token}`, expiresAt: link.expiresAt }),
      });
    },

    /**
     * Mails each approver with open requests one digest per local day, once their local time has passed their
     * digest hour (a schedule that missed an hour catches up on the next). Nobody with nothing open gets a mail.
     */
    async sendDueDigests(atIso: string): Promise<{ sent: number; due: number }> {
      const at = new Date(atIso);
      const open = await deps.db.approvalRequest.findMany({
        where: { kind: 'decision', usedAt: null, revokedAt: null, expiresAt: { gt: at }, run: { status: 'running' } },
        include: { run: true },
        orderBy: { createdAt: 'asc' },
      });
      const byApprover = new Map<string, typeof open>();
      for (const request of open) byApprover.set(request.approverEmail, [...(byApprover.get(request.approverEmail) ?? []), request]);
      const people = await deps.db.person.findMany({ where: { email: { in: [...byApprover.keys()] } } });
      let sent = 0;
      let due = 0;
      for (const person of people) {
        const when = digestDue(person, at);
        if (!when.due) continue;
        due += 1;
        const lines: DigestLine[] = [];
        for (const request of byApprover.get(person.email) ?? []) {
          lines.push({ runTitle: request.run.title, stepTitle: request.stepTitle, requesterName: request.run.requesterName, waitingSince: request.createdAt, link: await linkFor(deps, request) });
        }
        const result = await sendEmailOnce(deps, {
          idempotencyKey: `digest:${person.email}:${when.localDate}`,
          kind: 'digest',
          to: person.email,
          email: digestEmail({ name: person.name, lines, reviewAllLink: `${base()}/me` }),
        });
        if (result.sent) sent += 1;
      }
      return { sent, due };
    },
  };
}
