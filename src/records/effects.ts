import type { PendingEvent } from './events.ts';

/**
 * What a change announces when its transaction commits: the events it fired, and the server types whose workers
 * must act (a reconcile applies the new desired state). Both travel as PostgreSQL notifications sent inside the
 * transaction, so they are delivered exactly when it commits.
 */
export interface Effects {
  events: PendingEvent[];
  /** Server types with new work for the workers. */
  wake: string[];
}

/** Empty effects, to fill during a transaction. */
export function noEffects(): Effects {
  return { events: [], wake: [] };
}
