import { durationMs } from './duration.js';

/**
 * When human tasks are due and followed up, from the policy's durations: pure (no zod, no Node), so a workflow
 * computes them from the policy it carries and a test can compute them again.
 */

const DAY_MS = 86_400_000;

/** 0 Sunday … 6 Saturday, in UTC (the calendar every date of a run is read in). */
const isWeekend = (dayStart: number) => [0, 6].includes(new Date(dayStart).getUTCDay());

/**
 * The moment `ms` of working time before `moment`: Saturdays and Sundays (UTC) are not counted, so five days
 * before Monday 00:00 is the Monday before, and one day before it is Friday 00:00. Sub-day amounts are counted the
 * same way (an hour before Monday 00:00 is Friday 23:00).
 */
export function workingTimeBefore(moment: number, ms: number): number {
  let cursor = moment;
  let remaining = ms;
  while (remaining > 0) {
    // The day the instant just before the cursor falls in.
    const dayStart = Math.floor((cursor - 1) / DAY_MS) * DAY_MS;
    if (isWeekend(dayStart)) {
      cursor = dayStart;
      continue;
    }
    const available = cursor - dayStart;
    if (remaining <= available) return cursor - remaining;
    remaining -= available;
    cursor = dayStart;
  }
  return cursor;
}

/**
 * A task's due date with its follow-up `followUpBeforeDue` ahead of it (in working time when the due date is
 * counted so), when that moment is still ahead.
 */
export function withFollowUp(dueAt: number, followUpBeforeDue: string, now: number, counted: 'calendar' | 'working' = 'calendar'): { dueAt: number; followUpAt?: number } {
  const ahead = durationMs(followUpBeforeDue);
  const followUpAt = counted === 'working' ? workingTimeBefore(dueAt, ahead) : dueAt - ahead;
  return followUpAt > now ? { dueAt, followUpAt } : { dueAt };
}
