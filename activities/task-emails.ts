import { formatUtc } from '../processes/format.js';
import { noticeEmail, type RenderedEmail } from './email-templates.js';

/**
 * Why a person gets a task's mail: it is offered to their group, given to them, or chased; or, `recalled`, the run
 * no longer needs what they did or were doing (a withdrawn hire's desk).
 */
export type TaskMailKind = 'offered' | 'assigned' | 'reassigned' | 'escalated' | 'handed-back' | 'follow-up' | 'overdue' | 'recalled';

export interface TaskEmailProps {
  kind: TaskMailKind;
  personName: string;
  title: string;
  instructions: string;
  processTitle: string;
  runTitle: string;
  dueAt: Date;
  /** The candidate group, for a task offered to one ("marketing"). */
  group?: string | null;
  /** Whoever had it before (handed back, escalated from), and why. */
  from?: string;
  reason?: string;
  /** Set when the person receives it for someone who is out of office. */
  onBehalfOf?: string;
  /** The run's facts, as approvers see them. */
  details: Array<{ label: string; value: string }>;
  /** The person's link to the task; a recalled task has none (its links stopped working). */
  link?: string;
  /** For `recalled`: whether they had completed it (else they held it open). */
  completed?: boolean;
}

const utc = (date: Date) => formatUtc(date.getTime());

/** A task's mails as one pure function of its props (subject, text and HTML from one source, like the approval mails). */
export function taskEmail(p: TaskEmailProps): RenderedEmail {
  const subject = {
    offered: `Task for ${p.group ?? 'your team'}: ${p.title}`,
    assigned: `Task for you: ${p.title}`,
    reassigned: `Task reassigned to you: ${p.title}`,
    escalated: `Escalated to you: ${p.title} is overdue`,
    'handed-back': p.group ? `Task available again: ${p.title}` : `Task handed on to you: ${p.title}`,
    'follow-up': `Follow-up: ${p.title} is due ${utc(p.dueAt)}`,
    overdue: `Overdue: ${p.title}`,
    recalled: `No longer needed: ${p.title}`,
  }[p.kind];
  const opening = {
    offered: `This task is for the ${p.group ?? 'team'} group: whoever takes it claims it on its page, and the others see who holds it.`,
    assigned: 'This task is yours.',
    reassigned: `The operations desk gave this task to you${p.reason ? `: ${p.reason}` : '.'}`,
    escalated: `${p.from ?? 'Its holder'} did not finish this task by its due date, so it is now yours.`,
    'handed-back': `${p.from ?? 'Its holder'} handed this task back${p.reason ? `: ${p.reason}.` : '.'} ${p.group ? 'It is open for your group again.' : 'It is now yours.'}`,
    'follow-up': 'A reminder that this task is due soon.',
    overdue: 'This task is overdue.',
    recalled: p.completed
      ? `You completed this task, and it is no longer needed: ${p.reason ?? 'the run ended'}. Undo what you did for it wherever something would otherwise stay in place.`
      : `You hold this task, and it is no longer needed: ${p.reason ?? 'the run ended'}. Stop working on it, and undo anything you already started.`,
  }[p.kind];
  return noticeEmail({
    subject: `${subject} (${p.processTitle})`,
    greeting: `Hello ${p.personName}`,
    paragraphs: [
      opening + (p.onBehalfOf ? ` You receive it on behalf of ${p.onBehalfOf}, who is out of office.` : ''),
      `${p.title}, for "${p.runTitle}" (${p.processTitle}). Due ${utc(p.dueAt)}.`,
      p.instructions,
      ...(p.link ? ['Opening the link changes nothing: claim, complete or hand the task back on its page.'] : []),
    ],
    details: p.details,
    ...(p.link ? { link: { url: p.link, label: 'Open the task' } } : {}),
  });
}
