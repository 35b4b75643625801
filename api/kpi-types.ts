import type { RecordedChannel } from '../processes/approval-messages.js';

/** The figures `GET /kpis` returns and the dashboard draws. Durations in seconds; rates between 0 and 1. */
export interface Kpis {
  window: { from: string; to: string };
  process: string | null;
  /** Runs started in the window, by their current status. */
  runs: { started: number; running: number; completed: number; rejected: number; expired: number; failed: number; cancelled: number };
  /** Start to close, for runs closed in the window. */
  cycleTime: { count: number; p50: number | null; p90: number | null };
  /** Cycle-time trend: runs closed per ISO week with their p50. */
  cycleTimeByWeek: Array<{ weekStart: string; count: number; p50: number | null }>;
  /** Decision time (request to decision) per step, for requests opened in the window. */
  steps: Array<{ step: string; decided: number; p50: number | null; p90: number | null; open: number; requests: number; breaches: number; breachRate: number }>;
  approvers: Array<{ email: string; name: string; decided: number; p50: number | null; p90: number | null; open: number }>;
  /**
   * Decisions per channel (link, API, Slack, e-mail reply, inbox, or the policy at the deadline), for requests opened
   * in the window: how many, and the median time from request to decision (for a decision by policy, from the first
   * request it closed). Most used first.
   */
  channels: Array<{ channel: RecordedChannel; decided: number; p50: number | null }>;
  reminders: number;
  escalations: number;
  /** The bottleneck list: approval requests waiting longest right now. */
  oldestOpen: Array<{ requestId: string; runId: string; runTitle: string; process: string; step: string; stepTitle: string; approverEmail: string; approverName: string; waitingSeconds: number; expiresAt: string }>;
  /**
   * Human tasks opened in the window, per candidate group ("(assigned)" for tasks given to a person): time to claim
   * (opened to first claim) and time to complete (opened to completed), how many are still open and how many escalated.
   */
  tasks: Array<{
    group: string;
    opened: number;
    claimed: number;
    timeToClaim: { p50: number | null; p90: number | null };
    completed: number;
    timeToComplete: { p50: number | null; p90: number | null };
    open: number;
    escalated: number;
  }>;
  /**
   * Incidents opened in the window, per severity: time to acknowledge and time to resolve (from when each opened),
   * breaches (acknowledged later than the severity's acknowledgement time, or not by then), escalated pages, and how
   * many are still open.
   */
  incidents: Array<{
    severity: string;
    opened: number;
    acknowledged: number;
    timeToAcknowledge: { p50: number | null; p90: number | null };
    breaches: number;
    escalated: number;
    resolved: number;
    timeToResolve: { p50: number | null; p90: number | null };
    open: number;
  }>;
  /** Runs started and completed per ISO week (Monday, UTC). */
  weeklyThroughput: Array<{ weekStart: string; started: number; completed: number }>;
}
