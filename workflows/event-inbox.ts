import type { Duration } from '@temporalio/common';
import { ApplicationFailure, condition, defineUpdate, setHandler } from '@temporalio/workflow';
import { APPLY_EVENT_UPDATE, eventKind, type AppliedEvent, type InboundEventMessage } from '../processes/event-messages.js';
import { FailureType } from '../processes/failures.js';

export const applyEventUpdate = defineUpdate<AppliedEvent, [InboundEventMessage]>(APPLY_EVENT_UPDATE);

/**
 * Where a run receives the inbound events it consumes. It takes an event kind only between `accept` and
 * `stopAccepting`; anything else is refused by the validator, so the router records it as unmatched instead of
 * the run silently dropping it. Accepted events queue up until the workflow takes them with `next`.
 */
export class EventInbox {
  private readonly accepting = new Set<string>();
  private readonly checks = new Map<string, (data: Record<string, unknown>) => string | undefined>();
  private readonly queued: InboundEventMessage[] = [];

  /**
   * `accepting` must be given here, not by a later `accept`: an update that arrived with the run's start is
   * validated the moment the handler is set, before the next line runs.
   */
  constructor(accepting: string[] = []) {
    this.accept(...accepting);
    setHandler(
      applyEventUpdate,
      (event) => {
        this.queued.push(event);
        return { eventId: event.eventId, appliedAt: Date.now() };
      },
      {
        validator: (event) => {
          if (!this.accepting.has(eventKind(event.source, event.type))) {
            throw ApplicationFailure.nonRetryable(`the run is not waiting for ${event.type} from ${event.source}`, FailureType.eventNotAwaited);
          }
          const problem = this.checks.get(eventKind(event.source, event.type))?.(event.data);
          if (problem) throw ApplicationFailure.nonRetryable(`${event.type} refused: ${problem}`, FailureType.eventInvalid);
        },
      },
    );
  }

  accept(...kinds: string[]): void {
    for (const kind of kinds) this.accepting.add(kind);
  }

  /** Accepts one kind whose data must pass `check` (which returns what is wrong, or undefined). */
  acceptChecked(kind: string, check: (data: Record<string, unknown>) => string | undefined): void {
    this.checks.set(kind, check);
    this.accepting.add(kind);
  }

  stopAccepting(...kinds: string[]): void {
    for (const kind of kinds) this.accepting.delete(kind);
  }

  /** The oldest queued event of these kinds, waiting up to `timeout`; undefined when the time ran out. */
  async next(kinds: string[], timeout?: Duration): Promise<InboundEventMessage | undefined> {
    const index = () => this.queued.findIndex((e) => kinds.includes(eventKind(e.source, e.type)));
    const arrived = timeout === undefined ? (await condition(() => index() >= 0), true) : await condition(() => index() >= 0, timeout);
    if (!arrived) return undefined;
    return this.queued.splice(index(), 1)[0];
  }
}
