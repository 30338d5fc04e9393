import type { PendingEvent } from './events.ts';
import type { ServerWork } from './work-queue.ts';

/** What a change leaves to do once its transaction has committed: work to enqueue and events to emit. */
export interface Effects {
  work: ServerWork[];
  events: PendingEvent[];
}

/** Empty effects, to fill during a transaction. */
export function noEffects(): Effects {
  return { work: [], events: [] };
}
