import { formatUtc } from '../processes/format.js';
import { noticeEmail, type RenderedEmail } from './email-templates.js';

/** An incident's mails as pure functions of their props (subject, text and HTML from one source). */

export interface IncidentPageEmailProps {
  personName: string;
  /** The run's title ("SEV1 supply: Resin supplier stopped deliveries"). */
  runTitle: string;
  /** Why this person is paged: "on call for supply", "next on the supply rota", "head of supply", "coo". */
  as: string;
  acknowledgeWithin: string;
  /** Who was paged before and did not acknowledge, when the page escalated to this person. */
  escalatedFrom: string[];
  /** Set when the person receives it for someone who is out of office. */
  onBehalfOf?: string;
  details: Array<{ label: string; value: string }>;
  link: string;
}

export function incidentPageEmail(p: IncidentPageEmailProps): RenderedEmail {
  const escalated = p.escalatedFrom.length > 0;
  return noticeEmail({
    subject: `${escalated ? 'Escalated incident' : 'Incident'}: ${p.runTitle}: acknowledge within ${p.acknowledgeWithin}`,
    greeting: `Hello ${p.personName}`,
    paragraphs: [
      escalated
        ? `Nobody acknowledged this incident in time (${p.escalatedFrom.join(', ')} ${p.escalatedFrom.length === 1 ? 'was' : 'were'} paged), so it is paged to you as ${p.as}.`
        : `You are paged as ${p.as}.`,
      ...(p.onBehalfOf ? [`You receive it on behalf of ${p.onBehalfOf}, who is out of office.`] : []),
      `Acknowledge it within ${p.acknowledgeWithin}, or it goes to the next person in the chain. Whoever acknowledges first owns it: they declare the impact, post the status and resolve it.`,
    ],
    details: p.details,
    link: { url: p.link, label: 'Open the incident to acknowledge it' },
  });
}

export interface IncidentUpdateEmailProps {
  personName: string;
  runTitle: string;
  /** The n-th scheduled update, or the last one, at the resolution. */
  kind: 'scheduled' | 'resolved';
  number: number;
  /** "Acknowledged by Ivan Petrov (owner)", "Not acknowledged yet: paged to Grace Huang (head of supply)". */
  state: string;
  /** The status the owner posted since the last update, if any. */
  newStatus?: { text: string; by: string; at: number };
  /** When the last update went out (or the incident opened). */
  since: number;
  tasks: string[];
  resolution?: { summary: string; by: string; at: number };
  details: Array<{ label: string; value: string }>;
}

export function incidentUpdateEmail(p: IncidentUpdateEmailProps): RenderedEmail {
  if (p.kind === 'resolved' && p.resolution) {
    return noticeEmail({
      subject: `Resolved: ${p.runTitle}`,
      greeting: `Hello ${p.personName}`,
      paragraphs: [`${p.resolution.by} resolved this incident at ${formatUtc(p.resolution.at)}:`, p.resolution.summary, 'A post-incident review follows; its actions become tasks.'],
      details: withTasks(p),
    });
  }
  const status = p.newStatus
    ? `Status from ${p.newStatus.by} at ${formatUtc(p.newStatus.at)}: ${p.newStatus.text}`
    : `No new status was posted since the last update (${formatUtc(p.since)}).`;
  return noticeEmail({
    subject: `Status update ${p.number}: ${p.runTitle}`,
    greeting: `Hello ${p.personName}`,
    paragraphs: [p.state, status],
    details: withTasks(p),
  });
}

/** The run's facts, then where its tasks stand, one line each. */
function withTasks(p: Pick<IncidentUpdateEmailProps, 'details' | 'tasks'>): Array<{ label: string; value: string }> {
  return p.tasks.length ? [...p.details, { label: 'Tasks', value: p.tasks.join('\n') }] : p.details;
}
