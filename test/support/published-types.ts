// Tests configure server types the way a deployment does: by publishing them to the registry (the same path
// `dynamic-servers publish` takes after reading the stack files), here from definitions written in the test.
import pg from 'pg';
import { EngineRecords } from '../../src/records/engine-records.ts';
import { WORK_CHANNEL } from '../../src/records/event-feed.ts';
import type { JsonObject } from '../../src/records/json.ts';
import type { DrainSettings, FailurePolicy } from '../../src/records/config.ts';
import type { RolloutPolicy } from '../../src/records/rollout-policy.ts';
import { DEFAULT_TYPE_SETTINGS, type PublishReport, type TypeTimeouts } from '../../src/records/registry.ts';

/** A server type as a test defines it. */
export interface TestServerType {
  provider: string;
  maximum?: number;
  template?: JsonObject;
  timeouts?: Partial<TypeTimeouts>;
  hangingServers?: FailurePolicy;
  erroredServers?: FailurePolicy;
  rollout?: RolloutPolicy;
  drain?: Partial<DrainSettings>;
  undrainedServers?: FailurePolicy;
  /** Offering names in order of preference (a provider would derive them from the template). */
  offerings?: string[];
  prices?: Record<string, number>;
  /** Money per hour (`budgetPerHour`). */
  budget?: number;
  unavailableOfferingSeconds?: number;
}

/** Publishes exactly `serverTypes` (others are retired) and the provider limits `providers` to the database at `databaseUrl`. */
export async function publishTypes(
  databaseUrl: string,
  serverTypes: Record<string, TestServerType>,
  providers: Record<string, { maximum?: number; budget?: number }> = {},
): Promise<PublishReport> {
  const records = await EngineRecords.openForEngine({ databaseUrl, poolSize: 1 });
  try {
    return await records.publish({
      serverTypes: Object.entries(serverTypes).map(([name, type]) => ({
        name,
        provider: type.provider,
        template: type.template ?? {},
        settings: {
          maxServers: type.maximum ?? null,
          timeouts: { ...DEFAULT_TYPE_SETTINGS.timeouts, ...type.timeouts },
          hangingServers: type.hangingServers ?? DEFAULT_TYPE_SETTINGS.hangingServers,
          erroredServers: type.erroredServers ?? DEFAULT_TYPE_SETTINGS.erroredServers,
          rollout: type.rollout ?? DEFAULT_TYPE_SETTINGS.rollout,
          drain: { ...DEFAULT_TYPE_SETTINGS.drain, ...type.drain },
          undrainedServers: type.undrainedServers ?? DEFAULT_TYPE_SETTINGS.undrainedServers,
          offerings: type.offerings ?? [],
          prices: type.prices ?? {},
          budgetPerHour: type.budget ?? null,
          unavailableOfferingSeconds: type.unavailableOfferingSeconds ?? DEFAULT_TYPE_SETTINGS.unavailableOfferingSeconds,
        },
        source: `test:${name}`,
      })),
      providers: Object.fromEntries(Object.entries(providers).map(([name, limits]) => [name, { maxServers: limits.maximum ?? null, budgetPerHour: limits.budget ?? null }])),
    });
  } finally {
    await records.close();
  }
}

/** Records the server types changes wake (the WORK_CHANNEL notifications), in the order they were committed. */
export class WakeRecorder {
  /** Every server type woken so far. */
  readonly wakes: string[] = [];
  readonly #client: pg.Client;
  readonly #markers = new Map<string, () => void>();

  private constructor(client: pg.Client) {
    this.#client = client;
  }

  /** Starts listening on `databaseUrl`; changes committed from now on are recorded. */
  static async start(databaseUrl: string): Promise<WakeRecorder> {
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    const recorder = new WakeRecorder(client);
    client.on('notification', (message) => {
      const payload = message.payload ?? '';
      const marker = recorder.#markers.get(payload);
      if (marker) marker();
      else recorder.wakes.push(payload);
    });
    await client.query(`listen ${WORK_CHANNEL}`);
    return recorder;
  }

  /**
   * Resolves once every wake committed before the call has been recorded: PostgreSQL delivers notifications in
   * commit order, so a marker sent now arrives after them.
   */
  async settle(): Promise<string[]> {
    const marker = `marker-${Math.random().toString(36).slice(2)}`;
    const arrived = new Promise<void>((resolve) => this.#markers.set(marker, resolve));
    await this.#client.query('select pg_notify($1, $2)', [WORK_CHANNEL, marker]);
    await arrived;
    this.#markers.delete(marker);
    return this.wakes;
  }

  /** Stops listening. */
  async stop(): Promise<void> {
    await this.#client.end().catch(() => {});
  }
}
