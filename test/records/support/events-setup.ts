import type { DynamicServersOptions } from '../../../src/api.ts';

/** The server types both processes of the cross-process event test open with (alpha allows 3 servers). */
export const EVENTS_SETUP = {
  serverTypes: { alpha: { provider: 'local', maximum: 3 } },
  onLimitHit: 'emit',
} satisfies Omit<DynamicServersOptions, 'databaseUrl'>;
