import type { JsonObject } from './json.ts';

/** The server type that calls without a type use. */
export const DEFAULT_SERVER_TYPE = 'default';

/** What hitting a limit does: create what fits and emit `limitHit` (`'emit'`), or refuse the whole change with ServerLimitError (`'throw'`). */
export type LimitHitPolicy = 'emit' | 'throw';

/** A server type as a change works with it: its published configuration, read inside the change's transaction. */
export interface ResolvedServerType {
  name: string;
  provider: string;
  /** The type's own limit (`maxServers`), or null for none. */
  maximum: number | null;
  /** The limit of the type's provider, all its types together, or null for none. */
  providerMaximum: number | null;
  template: JsonObject;
  templateHash: string;
}
